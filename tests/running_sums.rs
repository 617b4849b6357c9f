//! Float running sums lose their NaN markers before optimization when the
//! sum provably never needs them (`llvm-backend/src/running_sums.rs`), so
//! the loop vectorizer can keep them as in-order reductions. Every result
//! must stay exactly wasm's: the sum of the same values in the same order,
//! and a quiet NaN whenever a NaN comes out, also when a signalling NaN
//! goes in and also where the sum starts from a value that lets LLVM fold
//! an addition away (`-0.0 + x` is `x`).

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_loader::Val;
use pipeline::{call, configurations, describe, instantiate, llvm_ir};
use std::ops::{Add, Div, Sub};

/// A signalling NaN (quiet bit clear, payload 1) of each width.
const SNAN64: u64 = 0x7ff0_0000_0000_0001;
const SNAN32: u32 = 0x7f80_0001;

/// The f64 values in memory from address 0 (the f32 ones are the same
/// values rounded, from address 1024); `SNAN_AT` holds a signalling NaN.
const VALUES: [f64; 8] = [1.5, -0.25, 3.0e10, 7.0, -2.0, 0.125, 1.0e-3, 9.0];
const SNAN_AT: usize = 5;

fn data() -> String {
    let escape = |bytes: &[u8]| bytes.iter().map(|b| format!("\\{b:02x}")).collect::<String>();
    let f64s: Vec<u8> = (0..VALUES.len()).flat_map(|i| bits64(i).to_le_bytes()).collect();
    let f32s: Vec<u8> = (0..VALUES.len()).flat_map(|i| bits32(i).to_le_bytes()).collect();
    format!("(data (i32.const 0) \"{}\") (data (i32.const 1024) \"{}\")", escape(&f64s), escape(&f32s))
}

fn bits64(i: usize) -> u64 {
    if i == SNAN_AT { SNAN64 } else { VALUES[i].to_bits() }
}

fn bits32(i: usize) -> u32 {
    if i == SNAN_AT { SNAN32 } else { (VALUES[i] as f32).to_bits() }
}

/// Each function sums the first `$n` values (`$n` up to 8) in a loop; the
/// `step` says how a term is taken into the sum `$s`, which starts at
/// `start`.
fn sum_function(name: &str, ty: &str, start: &str, step: &str) -> String {
    let (size, base) = if ty == "f64" { (8, 0) } else { (4, 1024) };
    format!(
        "(func (export \"{name}\") (param $n i32) (result {ty}) (local $i i32) (local $s {ty}) (local $x {ty})
           (local.set $s ({ty}.const {start}))
           (block $done
             (loop $next
               (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
               (local.set $x ({ty}.load offset={base} (i32.mul (local.get $i) (i32.const {size}))))
               (local.set $s {step})
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br $next)))
           (local.get $s))\n"
    )
}

/// How each export takes a term `x` into its sum `s`.
#[derive(Clone, Copy)]
enum Step {
    /// `s + x`
    Add,
    /// `s + 1 / x`
    AddReciprocal,
    /// `x + s`
    AddFromRight,
    /// `s - x`
    Subtract,
    /// `x - s` (the sum on the right: `x - 0.0` folds to `x`)
    SubtractFrom,
}

const EXPORTS: &[(&str, &str, &str, Step)] = &[
    ("sum64", "f64", "0", Step::Add),
    ("sum32", "f32", "0", Step::Add),
    ("reciprocals64", "f64", "0", Step::AddReciprocal),
    ("reciprocals32", "f32", "0", Step::AddReciprocal),
    ("from_right64", "f64", "2.5", Step::AddFromRight),
    ("difference64", "f64", "100", Step::Subtract),
    ("from_minus_zero64", "f64", "-0", Step::Add),
    ("from_minus_zero32", "f32", "-0", Step::Add),
    ("alternating64", "f64", "0", Step::SubtractFrom),
    ("alternating32", "f32", "0", Step::SubtractFrom),
];

fn module() -> String {
    let mut funcs = String::new();
    for &(name, ty, start, step) in EXPORTS {
        let (s, x) = ("(local.get $s)", "(local.get $x)");
        let step = match step {
            Step::Add => format!("({ty}.add {s} {x})"),
            Step::AddReciprocal => format!("({ty}.add {s} ({ty}.div ({ty}.const 1) {x}))"),
            Step::AddFromRight => format!("({ty}.add {x} {s})"),
            Step::Subtract => format!("({ty}.sub {s} {x})"),
            Step::SubtractFrom => format!("({ty}.sub {x} {s})"),
        };
        funcs.push_str(&sum_function(name, ty, start, &step));
    }
    // Sums LLVM sees whole (a constant trip count of one) from a start
    // that lets it fold the addition away: `-0.0 + x` and `x - 0.0` are
    // `x`, here a signalling NaN.
    for ty in ["f64", "f32"] {
        let (size, base) = if ty == "f64" { (8, 0) } else { (4, 1024) };
        let offset = base + SNAN_AT * size;
        for (name, start, step) in [("plus", "-0", "(T.add (local.get $s) X)"), ("minus", "0", "(T.sub X (local.get $s))")] {
            let step = step.replace('T', ty).replace('X', &format!("({ty}.load offset={offset} (local.get $i))"));
            funcs.push_str(&format!(
                "(func (export \"{name}_{ty}\") (result {ty}) (local $i i32) (local $s {ty})
                   (local.set $s ({ty}.const {start}))
                   (loop $next
                     (local.set $s {step})
                     (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br_if $next (i32.lt_u (local.get $i) (i32.const 1))))
                   (local.get $s))\n"
            ));
        }
    }
    format!("(module (memory 1) {} {funcs})", data())
}

/// The sum of the first `n` terms (`term(i)`) taken in by `step`, in
/// Rust's float arithmetic (which, like wasm's, rounds each step).
fn expected<T>(start: T, step: Step, n: usize, term: impl Fn(usize) -> T) -> T
where
    T: Copy + Add<Output = T> + Sub<Output = T> + Div<Output = T> + From<f32>,
{
    (0..n).fold(start, |s, i| {
        let x = term(i);
        match step {
            Step::Add => s + x,
            Step::AddReciprocal => s + T::from(1.0) / x,
            Step::AddFromRight => x + s,
            Step::Subtract => s - x,
            Step::SubtractFrom => x - s,
        }
    })
}

/// Asserts that `got` is `want` bit for bit, or, when `want` is a NaN, a
/// quiet NaN (wasm leaves sign and payload open).
fn assert_same(got: u64, want: u64, quiet_bit: u64, is_nan: bool, what: &str) {
    if is_nan {
        assert!(got & quiet_bit != 0, "{what}: {got:#x} is not a quiet NaN");
    } else {
        assert_eq!(got, want, "{what}: got {got:#x}, want {want:#x}");
    }
}

#[test]
fn running_sums_keep_wasm_results_and_quiet_nans() {
    let wat = module();
    for opts in configurations(&[OptLevel::O0, OptLevel::O2, OptLevel::O3]) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(&wat, &opts);
        for &(name, ty, start, step) in EXPORTS {
            for n in 0..=VALUES.len() {
                let what = format!("{name}({n}) at {at}");
                let got = call(&mut store, &instance, name, &[Val::I32(n as i32)]).unwrap_or_else(|e| panic!("{what}: {e}"));
                let start: f64 = start.parse().expect("a start value");
                match (ty, got.as_slice()) {
                    ("f64", [Val::F64(bits)]) => {
                        let want = expected(start, step, n, |i| f64::from_bits(bits64(i)));
                        assert_same(*bits, want.to_bits(), 1 << 51, want.is_nan(), &what);
                    }
                    ("f32", [Val::F32(bits)]) => {
                        let want = expected(start as f32, step, n, |i| f32::from_bits(bits32(i)));
                        assert_same(u64::from(*bits), u64::from(want.to_bits()), 1 << 22, want.is_nan(), &what);
                    }
                    _ => panic!("{what}: returned {got:?}"),
                }
            }
        }
        for name in ["plus_f64", "minus_f64", "plus_f32", "minus_f32"] {
            let what = format!("{name} at {at}");
            match call(&mut store, &instance, name, &[]).unwrap_or_else(|e| panic!("{what}: {e}")).as_slice() {
                [Val::F64(bits)] => assert_same(*bits, 0, 1 << 51, true, &what),
                [Val::F32(bits)] => assert_same(u64::from(*bits), 0, 1 << 22, true, &what),
                other => panic!("{what}: returned {other:?}"),
            }
        }
    }
}

/// The sum of reciprocals (spectralnorm's and nbody's shape: a division
/// per term, the terms added in order) is vectorized at -O2: two
/// divisions per instruction, an in-order reduction adding the lanes.
#[test]
fn a_sum_of_quotients_is_vectorized_in_order() {
    let opts = CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() };
    let ir = llvm_ir(&module(), &opts, Emit::LlvmIr);
    let body = |name: &str| {
        let index = EXPORTS.iter().position(|e| e.0 == name).expect("an export");
        let marker = format!("double @kiln_func_{index}(");
        let start = ir.find(&marker).unwrap_or_else(|| panic!("no {marker} in:\n{ir}"));
        let end = ir[start..].find("\n}\n").map_or(ir.len(), |e| start + e);
        ir[start..end].to_string()
    };
    let reciprocals = body("reciprocals64");
    assert!(reciprocals.contains("fdiv <2 x double>"), "{reciprocals}");
    assert!(reciprocals.contains("@llvm.vector.reduce.fadd.v2f64"), "{reciprocals}");
}
