//! Runs wasm compiled for other Linux architectures under qemu-user and
//! checks it: the portable fixture against the same module compiled for
//! x86_64 (on aarch64 and riscv64), the spec's SIMD and relaxed SIMD
//! scripts against their own expectations (on aarch64 with NEON; on
//! riscv64, where SIMD is lowered as generic vector IR without the V
//! extension, a selection of the scripts for the operations with
//! target-specific lowering elsewhere), the threads proposal's atomics
//! script (on both), and every relaxed SIMD operator's results against
//! the sets the spec allows (`kiln_tests::relaxed`).
//!
//! The x86_64 library runs through kiln's loader. A foreign library runs
//! under `qemu-<arch>` in a small C harness, cross-built with Debian's
//! `<arch>-linux-gnu-gcc` (one generator for every [`Emulated`] target),
//! that does what the loader does for a module without imports: lay out
//! the VM context (offsets from `kiln_abi` computed for the target), fill
//! type ids, function references, the table, globals, the memories and
//! their data segments, and call exports through their array-call trampolines
//! with a `sigsetjmp`-based trap builtin and fault handler.
//!
//! The harness prints raw result bits. Comparing with x86_64, NaN results
//! are compared by class (canonical, arithmetic, signalling), since the
//! spec lets their sign and payload differ between machines; the fixture's
//! SIMD functions return integer vectors as raw `v128` bits and float
//! vectors lane by lane as `f32`/`f64` results, so their NaNs compare by
//! class too. Against the spec scripts, results are matched with the
//! scripts' own patterns (`nan:canonical` lanes and the like), as the spec
//! runner does on x86_64.

use kiln::wast::values::{self, Value};
use kiln::{CompileOptions, Emit};
use kiln_abi::metadata::{ArchivedElementItems, ArchivedSegmentMode, ArchivedModuleMetadata};
use kiln_abi::target::Target;
use kiln_abi::types::ArchivedConstOp;
use kiln_abi::{Builtin, FuncType, PtrSize, TrapCode, VMOffsets, ValType};
use kiln_loader::{Engine, Linker, Module, Store, Val};
use kiln_tests::{relaxed, testsuite_dir, testsuite_set};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use wast::{WastDirective, WastExecute, WastRet};

#[path = "qemu/harness.rs"]
mod harness;

use harness::{describe, run_emulated};

const F32_SNAN: u32 = 0x7fa0_0000;
const F64_SNAN: u64 = 0x7ff4_0000_0000_0000;

/// A Linux target whose code runs under qemu-user.
struct Emulated {
    triple: &'static str,
    /// Debian's cross compiler for the harness.
    gcc: &'static str,
    qemu: &'static str,
    /// Where the target's C library lives (qemu's `-L`).
    sysroot: &'static str,
}

const AARCH64: Emulated = Emulated {
    triple: "aarch64-unknown-linux-gnu",
    gcc: "aarch64-linux-gnu-gcc",
    qemu: "qemu-aarch64",
    sysroot: "/usr/aarch64-linux-gnu",
};

const RISCV64: Emulated = Emulated {
    triple: "riscv64gc-unknown-linux-gnu",
    gcc: "riscv64-linux-gnu-gcc",
    qemu: "qemu-riscv64",
    sysroot: "/usr/riscv64-linux-gnu",
};

/// A call: export name and arguments.
type Call = (String, Vec<Val>);

/// What a call did: its results, or the code of its trap.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Returned(Vec<Val>),
    Trapped(u32),
}

/// The calls to make on the portable fixture.
fn calls() -> Vec<(&'static str, Vec<Val>)> {
    use Val::*;
    let f32s = |a: f32, b: f32| vec![Val::from_f32(a), Val::from_f32(b)];
    let mut calls = vec![
        ("dispatch", vec![I32(0), I32(7), I32(5)]),
        ("dispatch", vec![I32(1), I32(i32::MIN), I32(1)]),
        ("dispatch", vec![I32(2), I32(-3), I32(0x4000_0001)]),
        ("dispatch", vec![I32(3), I32(-7), I32(2)]),
        ("dispatch", vec![I32(3), I32(7), I32(0)]),
        ("dispatch", vec![I32(3), I32(i32::MIN), I32(-1)]),
        ("dispatch", vec![I32(4), I32(1), I32(1)]),
        ("dispatch", vec![I32(-1), I32(1), I32(1)]),
        ("i32_bits", vec![I32(0x8000_00f1u32 as i32), I32(33)]),
        ("i32_bits", vec![I32(0), I32(-1)]),
        ("i32_bits", vec![I32(0x7f), I32(31)]),
        ("i64_arith", vec![I64(0x0123_4567_89ab_cdef), I64(-2)]),
        ("i64_arith", vec![I64(i64::MIN), I64(64)]),
        ("i64_arith", vec![I64(-1), I64(0)]),
        ("div_s64", vec![I64(i64::MIN), I64(-1)]),
        ("div_s64", vec![I64(-9), I64(2)]),
        ("rem_s32", vec![I32(i32::MIN), I32(-1)]),
        ("rem_s32", vec![I32(-7), I32(0)]),
        ("f32_arith", f32s(1.5, -0.25)),
        ("f32_arith", f32s(f32::INFINITY, f32::INFINITY)),
        ("f32_arith", f32s(0.0, 0.0)),
        ("f32_arith", vec![F32(F32_SNAN), Val::from_f32(1.0)]),
        ("f32_arith", f32s(f32::MIN_POSITIVE, 0.5)),
        ("f32_minmax", f32s(-0.0, 0.0)),
        ("f32_minmax", f32s(0.0, -0.0)),
        ("f32_minmax", vec![F32(F32_SNAN), Val::from_f32(2.0)]),
        ("f32_minmax", f32s(3.0, f32::NAN)),
        ("f32_minmax", f32s(-1.0, 5.0)),
        ("quiet", vec![F32(F32_SNAN), F64(F64_SNAN)]),
        ("quiet", vec![Val::from_f32(-0.0), Val::from_f64(-0.0)]),
    ];
    for x in [2.5, -2.5, 3.5, -0.5, 0.49999999999999994, 1e300, -1e-300, f64::INFINITY, -0.0, 4503599627370497.0] {
        calls.push(("f64_round", vec![Val::from_f64(x)]));
    }
    calls.push(("f64_round", vec![F64(F64_SNAN)]));
    calls.push(("f64_round", vec![Val::from_f64(-2.0)]));
    for x in [0.0, -1.5, 2147483647.9, 2147483648.0, -2147483648.9, 1.8446744073709552e19, f64::NAN, -f64::INFINITY, 3.4028235677973366e38] {
        calls.push(("convert", vec![Val::from_f64(x)]));
    }
    for x in [-2147483648.9, 2147483647.5, 2147483648.0, f64::NAN, -2147483649.0] {
        calls.push(("trunc", vec![Val::from_f64(x)]));
    }
    calls.extend([
        ("fib", vec![I32(20)]),
        ("switch", vec![I32(0)]),
        ("switch", vec![I32(2)]),
        ("switch", vec![I32(3)]),
        ("switch", vec![I32(-5)]),
        ("memory", vec![I32(100), I64(0x8877_6655_4433_22f1u64 as i64)]),
        ("memory", vec![I32(65525), I64(-2)]),
        ("memory", vec![I32(65526), I64(1)]),
        ("second_memory", vec![I32(100), I32(7)]),
        ("second_memory", vec![I32(65532), I32(-9)]),
        ("second_memory", vec![I32(131068), I32(5)]),
        ("second_memory", vec![I32(131069), I32(6)]),
        ("wide_memory", vec![I64(100), I32(11)]),
        ("wide_memory", vec![I64(65524), I32(12)]),
        ("wide_memory", vec![I64(65525), I32(13)]),
        ("wide_memory", vec![I64(1 << 32), I32(14)]),
        ("wide_memory", vec![I64(-8), I32(15)]),
        ("wide_memory", vec![I64(-1), I32(16)]),
        ("checksum", vec![I32(1000)]),
        ("bulk", vec![I32(200), I32(100), I32(8)]),
        ("bulk", vec![I32(102), I32(100), I32(5)]),
        ("bulk", vec![I32(98), I32(100), I32(3)]),
        ("bulk", vec![I32(65530), I32(300), I32(7)]),
        ("bulk", vec![I32(400), I32(65535), I32(2)]),
        ("bulk", vec![I32(500), I32(600), I32(0)]),
        ("elements", vec![I32(0)]),
        ("elements", vec![I32(3)]),
        ("elements", vec![I32(4)]),
        ("oob", vec![I32(65532)]),
        ("oob", vec![I32(65533)]),
        ("oob", vec![I32(-1)]),
        ("unreachable", vec![]),
        ("recurse", vec![I32(0)]),
    ]);
    calls.extend(simd_calls());
    calls
}

/// A `v128` from eight 16-bit lanes.
fn i16x8(lanes: [u16; 8]) -> Val {
    Val::V128(lanes.iter().rev().fold(0, |v, &l| (v << 16) | u128::from(l)))
}

/// A `v128` from sixteen byte lanes.
fn i8x16(lanes: [u8; 16]) -> Val {
    Val::V128(u128::from_le_bytes(lanes))
}

/// A `v128` from four 32-bit lanes (integers or `f32` bits).
fn i32x4(lanes: [u32; 4]) -> Val {
    Val::V128(lanes.iter().rev().fold(0, |v, &l| (v << 32) | u128::from(l)))
}

/// A `v128` from two 64-bit lanes (integers or `f64` bits).
fn i64x2(lanes: [u64; 2]) -> Val {
    Val::V128(u128::from(lanes[0]) | u128::from(lanes[1]) << 64)
}

fn f32x4(lanes: [f32; 4]) -> Val {
    i32x4(lanes.map(f32::to_bits))
}

fn f64x2(lanes: [f64; 2]) -> Val {
    i64x2(lanes.map(f64::to_bits))
}

/// The SIMD calls: every operation of the SIMD exports on inputs with the
/// edge cases of its kind (saturation bounds, out-of-range swizzle
/// indices, `0x8000 * 0x8000`, NaNs and signed zeros in every lane
/// position, conversion bounds, shift counts beyond the lane width,
/// out-of-bounds lane accesses).
fn simd_calls() -> Vec<(&'static str, Vec<Val>)> {
    use Val::*;
    let mut calls = Vec::new();
    let pairs = [
        (
            i16x8([0x8000, 0x7fff, 0xffff, 0x0001, 0x8000, 0x4000, 0x0080, 0xff7f]),
            i16x8([0x8000, 0x8000, 0x7fff, 0x0002, 0x7fff, 0x4000, 0xff01, 0x012c]),
        ),
        (
            i8x16([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
            i8x16([0x0f, 0x10, 0x1f, 0x70, 0x8f, 0xf0, 3, 7, 0xef, 0x6f, 0x11, 14, 0, 0x80, 9, 0xff]),
        ),
    ];
    for (a, b) in &pairs {
        for op in 0..32 {
            calls.push(("simd_int", vec![I32(op), *a, *b]));
        }
    }
    let unary = [
        i8x16([0x80, 0x7f, 0xff, 0x00, 0x01, 0xfe, 0x81, 0x40, 0x80, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0x7f]),
        f32x4([2147483648.0, 2147483520.0, -2147483904.0, f32::NAN]),
        f32x4([4294967296.0, -1.0, 4294967040.0, -0.9]),
        f64x2([1e10, -2147483649.5]),
        f64x2([f64::NAN, 4294967295.7]),
        f64x2([-0.9, 2147483647.9]),
        i32x4([0xffff_ffff, 0x8000_0001, 16_777_217, 0xffff_ff80]),
    ];
    for a in &unary {
        for op in 0..17 {
            calls.push(("simd_int_unary", vec![I32(op), *a]));
        }
    }
    let shifted = i8x16([0x80, 0x7f, 0xff, 0x01, 0xc3, 0x3c, 0x00, 0x80, 0x01, 0x02, 0x40, 0x80, 0xfe, 0xef, 0x10, 0x88]);
    for n in [1, 7, 9, 17, 33, 67, -1] {
        calls.push(("simd_shift", vec![shifted, I32(n)]));
    }
    for a in [&unary[0], &i8x16([0; 16]), &i8x16([0xff; 16]), &i64x2([0x0101_0101_0101_0101, 0x0101_0101_0001_0101])] {
        calls.push(("simd_tests", vec![*a]));
    }
    let snan32 = f32::from_bits(F32_SNAN);
    let f32_pairs = [
        (f32x4([-0.0, 0.0, snan32, 3.0]), f32x4([0.0, -0.0, 2.0, f32::from_bits(0x7fc0_0001)])),
        (f32x4([1.5, -2.5, 0.5, 1e30]), f32x4([-0.25, 2.5, -0.5, f32::INFINITY])),
        (f32x4([2.5, -3.5, -0.5, 8388609.0]), f32x4([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY])),
        (f32x4([f32::INFINITY, -0.0, 0.49999997, -1e-40]), f32x4([f32::INFINITY, 0.0, 1e-40, snan32])),
    ];
    for (a, b) in &f32_pairs {
        for op in 0..16 {
            calls.push(("simd_f32x4", vec![I32(op), *a, *b]));
        }
    }
    let snan64 = f64::from_bits(F64_SNAN);
    let f64_pairs = [
        (f64x2([-0.0, snan64]), f64x2([0.0, 2.0])),
        (f64x2([2.5, f64::NEG_INFINITY]), f64x2([-0.0, f64::NEG_INFINITY])),
        (f64x2([4503599627370497.0, 1e300]), f64x2([f64::NAN, 1e-300])),
        (f32_pairs[0].0, f64x2([-1.5, 0.0])),
        (i32x4([0xffff_ffff, 0x8000_0000, 7, 9]), f64x2([-3.5, 3.5])),
    ];
    for (a, b) in &f64_pairs {
        for op in 0..12 {
            calls.push(("simd_f64x2", vec![I32(op), *a, *b]));
        }
    }
    let v = i8x16(std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(0x81)));
    for addr in [100, 65504, 65505, -1] {
        calls.push(("simd_memory", vec![I32(addr), v]));
    }
    for c in [0, 1, 0] {
        calls.push(("simd_flow", vec![I32(c), pairs[0].0, pairs[1].1]));
    }
    calls
}

/// One result, as both sides print it: integers and float bits in hex,
/// NaNs by class, a `v128` as 32 hex digits (most significant first).
fn show(ty: ValType, value: &Val) -> String {
    let bits = match value {
        Val::V128(v) => return format!("{v:032x}"),
        other => val_bits(other),
    };
    match ty {
        ValType::I32 | ValType::F32 if ty == ValType::F32 && is_nan32(bits as u32) => nan_class(bits & 0x7f_ffff, 0x40_0000),
        ValType::F64 if is_nan64(bits) => nan_class(bits & 0xf_ffff_ffff_ffff, 0x8_0000_0000_0000),
        ValType::I32 | ValType::F32 => format!("{:08x}", bits as u32),
        _ => format!("{bits:016x}"),
    }
}

/// Whether the spec lets the lines `x` and `a` of a call with `args`
/// differ: when an operand is a NaN that is not canonical, a NaN result may
/// be any arithmetic NaN, canonical included, so `nan:canonical` on one
/// side may meet `nan:arithmetic` on the other (x86 `min`/`max`
/// canonicalize NaN lanes, AArch64 `fmin`/`fmax` quiet the operand's).
fn allowed_difference(x: &str, a: &str, args: &[Val]) -> bool {
    let quiet = |t: &str| t == "nan:canonical" || t == "nan:arithmetic";
    let (xs, as_): (Vec<&str>, Vec<&str>) = (x.split(' ').collect(), a.split(' ').collect());
    xs.len() == as_.len()
        && xs.iter().zip(&as_).all(|(p, q)| p == q || (quiet(p) && quiet(q)))
        && args.iter().any(holds_noncanonical_nan)
}

/// Whether `v`, or a lane of it read as `f32` or `f64`, is a NaN that is
/// not canonical.
fn holds_noncanonical_nan(v: &Val) -> bool {
    let f32_lane = |b: u32| is_nan32(b) && b & 0x7f_ffff != 0x40_0000;
    let f64_lane = |b: u64| is_nan64(b) && b & 0xf_ffff_ffff_ffff != 0x8_0000_0000_0000;
    match *v {
        Val::F32(b) => f32_lane(b),
        Val::F64(b) => f64_lane(b),
        Val::V128(b) => {
            (0..4).any(|i| f32_lane((b >> (32 * i)) as u32)) || (0..2).any(|i| f64_lane((b >> (64 * i)) as u64))
        }
        _ => false,
    }
}

fn is_nan32(b: u32) -> bool {
    b & 0x7f80_0000 == 0x7f80_0000 && b & 0x7f_ffff != 0
}

fn is_nan64(b: u64) -> bool {
    b & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000 && b & 0xf_ffff_ffff_ffff != 0
}

fn nan_class(payload: u64, quiet: u64) -> String {
    if payload == quiet {
        "nan:canonical".into()
    } else if payload & quiet != 0 {
        "nan:arithmetic".into()
    } else {
        format!("nan:signalling:{payload:x}")
    }
}

fn val_bits(v: &Val) -> u64 {
    match *v {
        Val::I32(x) => x as u32 as u64,
        Val::I64(x) => x as u64,
        Val::F32(b) => b as u64,
        Val::F64(b) => b,
        _ => panic!("a scalar number"),
    }
}

/// An argument as the 64-bit words the harness copies into its slot: one,
/// or two (low, high) for a `v128`.
fn arg_words(v: &Val) -> Vec<u64> {
    match *v {
        Val::V128(b) => vec![b as u64, (b >> 64) as u64],
        ref scalar => vec![val_bits(scalar)],
    }
}

fn label(name: &str, args: &[Val]) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|a| match a {
            Val::V128(b) => format!("{b:x}"),
            scalar => format!("{:x}", val_bits(scalar)),
        })
        .collect();
    format!("{name}({})", args.join(","))
}

fn compile(wat: &Path, triple: &str, dir: &Path) -> std::path::PathBuf {
    let out = dir.join(format!("portable-{triple}.so"));
    let opts = CompileOptions { target: Target::parse(triple).unwrap(), ..CompileOptions::default() };
    kiln::compile_file(wat, &opts, Emit::SharedLibrary, &out).unwrap_or_else(|e| panic!("compiling for {triple}: {e}"));
    out
}

/// Compiles the text module `wat` for `target` into `dir/NAME.so`.
fn compile_text(wat: &str, name: &str, target: &Emulated, dir: &Path) -> std::path::PathBuf {
    let opts = CompileOptions { target: Target::parse(target.triple).unwrap(), ..CompileOptions::default() };
    let lib = dir.join(format!("{name}.so"));
    let wasm = wat::parse_str(wat).unwrap();
    kiln::compile_to_file(&wasm, Path::new(&format!("{name}.wat")), &opts, Emit::SharedLibrary, &lib).unwrap();
    lib
}

/// Runs `calls` on this machine through the loader.
fn run_native(lib: &Path, calls: &[Call]) -> Vec<Outcome> {
    let engine = Engine::default();
    let module = Module::from_file(&engine, lib).unwrap();
    let mut store = Store::new(&engine);
    let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    let mut out = Vec::new();
    for (name, args) in calls {
        let func = instance.get_func(&store, name).unwrap();
        let ty = func.ty(&store).unwrap();
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        out.push(match func.call(&mut store, args, &mut results) {
            Ok(()) => Outcome::Returned(results),
            Err(e) => Outcome::Trapped(e.as_trap().expect("a trap").code().as_u32()),
        });
    }
    out
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn require_tools(target: &Emulated) {
    for t in [target.qemu, target.gcc] {
        assert!(tool(t), "{t} is missing; scripts/setup.sh installs it");
    }
}

/// Runs the portable fixture on `target` under qemu and on x86_64 through
/// the loader, and compares every call.
fn portable_fixture_matches_x86_64(target: &Emulated) {
    require_tools(target);
    let dir = tempfile::tempdir().unwrap();
    let wat = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portable.wat");
    let native = compile(&wat, "x86_64-unknown-linux-gnu", dir.path());
    let foreign = compile(&wat, target.triple, dir.path());
    let calls: Vec<Call> = calls().into_iter().map(|(name, args)| (name.to_string(), args)).collect();
    let describe_all = |outcomes: Vec<Outcome>| -> Vec<String> {
        calls.iter().zip(&outcomes).map(|(call, outcome)| describe(call, outcome)).collect()
    };
    let emulated = describe_all(run_emulated(target, &foreign, &calls, dir.path()));
    let expected = describe_all(run_native(&native, &calls));
    let mismatches: Vec<String> = expected
        .iter()
        .zip(&emulated)
        .zip(&calls)
        .filter(|((x, a), (_, args))| x != a && !allowed_difference(x, a, args))
        .map(|((x, a), _)| format!("x86_64: {x}\n{}: {a}", target.triple))
        .collect();
    assert!(mismatches.is_empty(), "{} of {} calls differ:\n{}", mismatches.len(), expected.len(), mismatches.join("\n"));
    // The comparison is only meaningful if traps and NaNs were exercised.
    assert!(expected.iter().filter(|l| l.contains(": trap ")).count() >= 8, "{expected:#?}");
    assert!(expected.iter().any(|l| l.contains("nan:canonical")) && expected.iter().any(|l| l.contains("nan:arithmetic")));
    let simd: Vec<&String> = expected.iter().filter(|l| l.starts_with("simd_")).collect();
    assert!(simd.len() >= 300, "{} SIMD calls", simd.len());
    for kind in ["simd_f32x4", "simd_f64x2"] {
        assert!(simd.iter().any(|l| l.starts_with(kind) && l.contains("nan:canonical")), "{kind} never made a NaN");
    }
    assert!(simd.iter().filter(|l| l.contains(": trap ")).count() == 2, "{simd:#?}");
    println!("{} calls ({} of them SIMD) agree on x86_64 and {}", expected.len(), simd.len(), target.triple);
}

#[test]
fn aarch64_library_under_qemu_matches_x86_64() {
    portable_fixture_matches_x86_64(&AARCH64);
}

#[test]
fn riscv64_library_under_qemu_matches_x86_64() {
    portable_fixture_matches_x86_64(&RISCV64);
}

/// One module of a spec script and the calls the script makes on it, each
/// with the results it expects (`None`: a trap).
struct ScriptModule<'a> {
    wasm: Vec<u8>,
    calls: Vec<Call>,
    expected: Vec<Expected<'a>>,
}

/// What a script expects of a call.
enum Expected<'a> {
    /// These results.
    Results(Vec<WastRet<'a>>),
    /// A trap.
    Trap,
    /// Anything but a trap (a plain `invoke`, made for its effect).
    Returns,
}

/// The modules of a script with the `assert_return`/`assert_trap` calls
/// and plain `invoke`s made on each (unnamed modules and plain arguments
/// only).
fn script_modules<'a>(script: wast::Wast<'a>) -> Vec<ScriptModule<'a>> {
    let mut modules: Vec<ScriptModule> = Vec::new();
    let mut current = false;
    for directive in script.directives {
        let (invoke, expected) = match directive {
            WastDirective::Module(mut module) => {
                let encoded = module.encode();
                current = encoded.is_ok();
                modules.extend(encoded.map(|wasm| ScriptModule { wasm, calls: Vec::new(), expected: Vec::new() }));
                continue;
            }
            WastDirective::AssertReturn { exec: WastExecute::Invoke(invoke), results, .. } => {
                (invoke, Expected::Results(results))
            }
            WastDirective::AssertTrap { exec: WastExecute::Invoke(invoke), .. } => (invoke, Expected::Trap),
            WastDirective::Invoke(invoke) => (invoke, Expected::Returns),
            _ => continue,
        };
        let Some(module) = modules.last_mut().filter(|_| current && invoke.module.is_none()) else { continue };
        let args: Result<Vec<Value>, _> = invoke.args.iter().map(values::arg).collect();
        module.calls.push((invoke.name.to_string(), args.unwrap().into_iter().map(to_val).collect()));
        module.expected.push(expected);
    }
    modules
}

fn to_val(value: Value) -> Val {
    match value {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(b) => Val::F32(b),
        Value::F64(b) => Val::F64(b),
        Value::V128(b) => Val::V128(b),
        other => panic!("SIMD scripts pass numbers and vectors, not {other}"),
    }
}

fn to_value(val: &Val) -> Value {
    match *val {
        Val::I32(v) => Value::I32(v),
        Val::I64(v) => Value::I64(v),
        Val::F32(b) => Value::F32(b),
        Val::F64(b) => Value::F64(b),
        Val::V128(b) => Value::V128(b),
        ref other => panic!("no {other:?} results in SIMD scripts"),
    }
}

/// Runs every `assert_return` and `assert_trap` of the SIMD and relaxed
/// SIMD `scripts`
/// (all of the testsuite's when `None`) on `target`'s code under qemu and
/// checks it against the script (the spec test checks the same on x86_64),
/// and returns how many calls it checked. Skipped: modules with imports
/// (`simd_linking`) and calls on named modules.
fn spec_simd_scripts_hold(target: &Emulated, scripts: Option<&[&str]>) -> usize {
    let simd = |f: &String| f.starts_with("simd_") && f != "simd_memory-multi.wast";
    let mut files: Vec<String> = testsuite_set("wasm-2.0").into_iter().filter(simd).collect();
    files.extend(testsuite_set("wasm-3.0-core-a").into_iter().filter(|f| f.contains("relaxed")));
    assert!(files.len() >= 57 + 7, "{files:?}");
    let files: Vec<String> = match scripts {
        Some(wanted) => {
            let chosen: Vec<String> = files.into_iter().filter(|f| wanted.contains(&f.as_str())).collect();
            assert_eq!(chosen.len(), wanted.len(), "not in the testsuite: {wanted:?} vs {chosen:?}");
            chosen
        }
        None => files,
    };
    spec_scripts_hold(target, &files)
}

/// Runs every `assert_return`, `assert_trap` and plain `invoke` of the
/// testsuite's scripts `files` on `target`'s code under qemu, checks each
/// against the script, and returns how many calls it checked. Skipped:
/// modules with imports and calls on named modules.
fn spec_scripts_hold(target: &Emulated, files: &[String]) -> usize {
    require_tools(target);
    let dir = tempfile::tempdir().unwrap();
    let opts = CompileOptions { target: Target::parse(target.triple).unwrap(), ..CompileOptions::default() };
    let (mut checked, mut wrong) = (0, Vec::new());
    for (f, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(testsuite_dir().join(file)).unwrap();
        let buffer = wast::parser::ParseBuffer::new(&text).unwrap();
        let script: wast::Wast = wast::parser::parse(&buffer).unwrap();
        for (m, module) in script_modules(script).into_iter().enumerate() {
            if module.calls.is_empty() {
                continue;
            }
            let lib = dir.path().join(format!("spec-{f}-{m}.so"));
            kiln::compile_to_file(&module.wasm, Path::new(file), &opts, Emit::SharedLibrary, &lib).unwrap();
            if !kiln_loader::read_metadata(&lib).unwrap().get().imports.is_empty() {
                continue;
            }
            let outcomes = run_emulated(target, &lib, &module.calls, dir.path());
            for ((call, expected), outcome) in module.calls.iter().zip(&module.expected).zip(&outcomes) {
                checked += 1;
                let ok = match (expected, outcome) {
                    (Expected::Trap, Outcome::Trapped(_)) | (Expected::Returns, Outcome::Returned(_)) => true,
                    (Expected::Results(expected), Outcome::Returned(results)) => {
                        results.len() == expected.len()
                            && results.iter().zip(expected).all(|(r, e)| values::matches(&to_value(r), e) == Ok(true))
                    }
                    _ => false,
                };
                if !ok {
                    let expected = match expected {
                        Expected::Results(results) => format!("{results:?}"),
                        Expected::Trap => "a trap".to_string(),
                        Expected::Returns => "no trap".to_string(),
                    };
                    wrong.push(format!("{file}: {}: got {outcome:?}, expected {expected}", label(&call.0, &call.1)));
                }
            }
        }
    }
    let shown = wrong[..wrong.len().min(30)].join("\n");
    assert!(wrong.is_empty(), "{} of {checked} calls wrong on {}:\n{shown}", wrong.len(), target.triple);
    checked
}

#[test]
fn spec_simd_scripts_hold_on_aarch64() {
    let checked = spec_simd_scripts_hold(&AARCH64, None);
    assert!(checked > 20_000, "only {checked} calls checked");
    println!("{checked} calls of the SIMD scripts agree with the spec on aarch64");
}

/// The scripts whose operations kiln lowers with target instructions on
/// x86 or AArch64 and generically elsewhere (swizzle, Q15 multiply,
/// saturating truncation, narrowing, float min/max and pmin/pmax,
/// extended multiply and pairwise add, lane tests), plus float rounding,
/// which riscv64 without the V extension does lane by lane.
const RISCV64_SIMD_SCRIPTS: &[&str] = &[
    "simd_i8x16_arith2.wast",
    "simd_i16x8_q15mulr_sat_s.wast",
    "simd_conversions.wast",
    "simd_f32x4_pmin_pmax.wast",
    "simd_f64x2_pmin_pmax.wast",
    "simd_f32x4.wast",
    "simd_f64x2.wast",
    "simd_f32x4_rounding.wast",
    "simd_f64x2_rounding.wast",
    "simd_i32x4_trunc_sat_f32x4.wast",
    "simd_i32x4_trunc_sat_f64x2.wast",
    "simd_i16x8_extmul_i8x16.wast",
    "simd_i16x8_extadd_pairwise_i8x16.wast",
    "simd_boolean.wast",
    "simd_lane.wast",
    "i8x16_relaxed_swizzle.wast",
    "i16x8_relaxed_q15mulr_s.wast",
    "relaxed_dot_product.wast",
    "relaxed_laneselect.wast",
    "relaxed_madd_nmadd.wast",
    "relaxed_min_max.wast",
];

#[test]
fn spec_simd_scripts_hold_on_riscv64() {
    let checked = spec_simd_scripts_hold(&RISCV64, Some(RISCV64_SIMD_SCRIPTS));
    assert!(checked > 5_000, "only {checked} calls checked");
}

/// The threads proposal's atomics script on `target`: every atomic load,
/// store, read-modify-write and compare-exchange of every width (LL/SC
/// loops on riscv64 for the narrow ones, LSE or exclusive pairs on
/// aarch64), the unaligned traps, and wait/notify without another thread
/// (the harness's builtins answer "not equal", "timed out" and 0 woken).
fn spec_atomics_hold(target: &Emulated) {
    let files: Vec<String> = testsuite_set("wasm-3.0-core-a").into_iter().filter(|f| f.ends_with("threads/atomic.wast")).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let checked = spec_scripts_hold(target, &files);
    assert!(checked >= 200, "only {checked} calls checked");
    println!("{checked} calls of the atomics script agree with the spec on {}", target.triple);
}

#[test]
fn spec_atomics_hold_on_aarch64() {
    spec_atomics_hold(&AARCH64);
}

#[test]
fn spec_atomics_hold_on_riscv64() {
    spec_atomics_hold(&RISCV64);
}

/// Every relaxed SIMD operator's results on `target` under qemu lie in
/// the sets the spec allows, one behaviour per operator (the same check
/// `tests/relaxed_simd.rs` makes of x86_64 code on this machine).
fn relaxed_simd_results_are_allowed(target: &Emulated) {
    require_tools(target);
    let dir = tempfile::tempdir().unwrap();
    let opts = CompileOptions { target: Target::parse(target.triple).unwrap(), ..CompileOptions::default() };
    let lib = dir.path().join("relaxed.so");
    let wasm = wat::parse_str(relaxed::MODULE).unwrap();
    kiln::compile_to_file(&wasm, Path::new("relaxed.wat"), &opts, Emit::SharedLibrary, &lib).unwrap();
    let mut calls: Vec<(Call, Vec<u128>)> = Vec::new();
    for &(name, params) in relaxed::OPERATORS {
        for args in relaxed::inputs(name, params, 200, 2) {
            calls.push(((name.to_string(), args.iter().map(|&a| Val::V128(a)).collect()), args));
        }
    }
    let plain: Vec<Call> = calls.iter().map(|(call, _)| call.clone()).collect();
    let outcomes = run_emulated(target, &lib, &plain, dir.path());
    assert_eq!(outcomes.len(), calls.len(), "on {}", target.triple);
    let mut choices = relaxed::Choices::default();
    for ((call, args), outcome) in calls.iter().zip(&outcomes) {
        let Outcome::Returned(results) = outcome else { panic!("{}", describe(call, outcome)) };
        let [Val::V128(result)] = results[..] else { panic!("{}", describe(call, outcome)) };
        if let Err(e) = choices.check(&call.0, args, result) {
            panic!("on {}: {e}", target.triple);
        }
    }
}

#[test]
fn relaxed_simd_results_are_allowed_on_aarch64() {
    relaxed_simd_results_are_allowed(&AARCH64);
}

#[test]
fn relaxed_simd_results_are_allowed_on_riscv64() {
    relaxed_simd_results_are_allowed(&RISCV64);
}

/// Mutual recursion by `return_call` of one signature, and a cycle of
/// tail calls through three signatures.
const TAIL_CALLS: &str = r#"(module
  (func $even (export "even") (param $n i64) (result i32)
    (if (result i32) (i64.eqz (local.get $n))
      (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get $n) (i64.const 1))))))
  (func $odd (param $n i64) (result i32)
    (if (result i32) (i64.eqz (local.get $n))
      (then (i32.const 0))
      (else (return_call $even (i64.sub (local.get $n) (i64.const 1))))))
  (func $a (export "cycle") (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.const 7))
      (else (return_call $b (local.get $n) (f64.const 0.5) (i32.const 3)))))
  (func $b (param $n i64) (param f64) (param i32) (result i64)
    (return_call $c (i32.wrap_i64 (local.get $n)) (i64.sub (local.get $n) (i64.const 1))))
  (func $c (param i32) (param $n i64) (result i64)
    (return_call $a (local.get $n))))"#;

/// Runs tail-call chains a hundred million calls deep on `target` under
/// qemu: they finish, so each call reused its caller's frame (the
/// harness's stack holds a few hundred thousand frames at most); and a
/// chain between different signatures, which keeps its frames, for its
/// results.
fn tail_calls_run_in_constant_stack(target: &Emulated) {
    require_tools(target);
    let dir = tempfile::tempdir().unwrap();
    let lib = compile_text(TAIL_CALLS, "tail", target, dir.path());
    let calls: Vec<Call> = vec![
        ("even".into(), vec![Val::I64(100_000_000)]),
        ("even".into(), vec![Val::I64(100_000_001)]),
        ("cycle".into(), vec![Val::I64(1000)]),
    ];
    let outcomes = run_emulated(target, &lib, &calls, dir.path());
    let expected = [
        Outcome::Returned(vec![Val::I32(1)]),
        Outcome::Returned(vec![Val::I32(0)]),
        Outcome::Returned(vec![Val::I64(7)]),
    ];
    assert_eq!(outcomes, expected, "on {}", target.triple);
}

#[test]
fn tail_calls_run_in_constant_stack_on_aarch64() {
    tail_calls_run_in_constant_stack(&AARCH64);
}

#[test]
fn tail_calls_run_in_constant_stack_on_riscv64() {
    tail_calls_run_in_constant_stack(&RISCV64);
}

/// Exceptions thrown across a thousand frames and caught by tag, a pair
/// payload, `catch_ref` then `throw_ref` to an outer handler, a legacy
/// `try` with `delegate`, an exception no handler takes, and a trap inside
/// a `try_table` (not caught).
const EXCEPTIONS: &str = r#"(module
  (tag $e (param i32))
  (tag $f (param i64 f64))
  (func $thrower (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 7))))
    (call $thrower (i32.sub (local.get 0) (i32.const 1))))
  (func (export "deep") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $thrower (local.get 0)))
      (i32.const -1)))
  (func $throw-pair (param i64 f64) (throw $f (local.get 0) (local.get 1)))
  (func (export "pair") (param i64) (result i64)
    (local $x f64)
    (block $h (result i64 f64)
      (try_table (catch $f $h) (call $throw-pair (local.get 0) (f64.const 2.5)))
      (return (i64.const -1)))
    (local.set $x)
    (i64.add (i64.trunc_f64_s (local.get $x))))
  (func (export "rethrow") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (catch $e $outer)
        (block $inner (result i32 exnref)
          (try_table (catch_ref $e $inner) (call $thrower (local.get 0)))
          (return (i32.const -1)))
        (throw_ref)
        (drop))
      (i32.const -2)))
  (func (export "legacy") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0
        call $thrower
        i32.const -1
      delegate 0
    catch $e
      i32.const 100
      i32.add
    end)
  (func (export "uncaught") (call $thrower (i32.const 5)))
  (func (export "trap-in-try") (result i32)
    (block $h
      (try_table (catch_all $h) (unreachable)))
    (i32.const 1)))"#;

/// Runs [`EXCEPTIONS`] on `target` under qemu, with the harness's
/// exception builtins (the system unwinder of the target's C library).
fn exceptions_unwind(target: &Emulated) {
    require_tools(target);
    let dir = tempfile::tempdir().unwrap();
    let lib = compile_text(EXCEPTIONS, "exceptions", target, dir.path());
    let calls: Vec<Call> = vec![
        ("deep".into(), vec![Val::I32(1000)]),
        ("pair".into(), vec![Val::I64(5)]),
        ("rethrow".into(), vec![Val::I32(10)]),
        ("legacy".into(), vec![Val::I32(3)]),
        ("uncaught".into(), vec![]),
        ("trap-in-try".into(), vec![]),
        ("deep".into(), vec![Val::I32(0)]),
    ];
    let outcomes = run_emulated(target, &lib, &calls, dir.path());
    let expected = [
        Outcome::Returned(vec![Val::I32(7)]),
        Outcome::Returned(vec![Val::I64(7)]),
        Outcome::Returned(vec![Val::I32(7)]),
        Outcome::Returned(vec![Val::I32(107)]),
        Outcome::Trapped(kiln_abi::exceptions::THROW_CODE),
        Outcome::Trapped(TrapCode::UnreachableCodeReached.as_u32()),
        Outcome::Returned(vec![Val::I32(7)]),
    ];
    assert_eq!(outcomes, expected, "on {}", target.triple);
}

#[test]
fn exceptions_unwind_on_aarch64() {
    exceptions_unwind(&AARCH64);
}

#[test]
fn exceptions_unwind_on_riscv64() {
    exceptions_unwind(&RISCV64);
}
