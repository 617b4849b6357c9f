//! Traps are exact, in both bounds-check modes and at every -O level: an
//! out-of-bounds access traps exactly where wasm semantics put it, every
//! effect before it (memory, globals, tables) is visible afterwards, and
//! none after it is.
//!
//! Three ways an optimizer makes a trap inexact, each with its own module:
//! a load whose value is discarded is deleted or sunk past a later trap or
//! branch; a store before a faulting load is dropped as dead or kept in a
//! register through a loop; a vectorized loop loads a group of elements
//! before storing any of them. Then a family of loops, run against a model
//! of wasm semantics written here, checks that the test which lets a loop
//! run without checks (`kiln_llvm`'s loop versioning) admits exactly the
//! loops that stay in bounds, whatever the exit condition, step, stride and
//! wrap-around.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::TrapCode;
use kiln_abi::metadata::BoundsChecks;
use kiln_loader::{Instance, Store, Val};
use pipeline::{assert_trap, call, configurations, describe, instantiate, llvm_ir, xorshift};

/// Every level, both modes.
fn all_configurations() -> Vec<CompileOptions> {
    configurations(&[OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3, OptLevel::Os])
}

/// One page of memory; 70000 is past it.
const OUT_OF_BOUNDS: i32 = 70000;

// ---- (a) loads whose value is discarded ----

const DISCARDED: &str = r#"(module
  (memory 1)
  (func $g (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "h") (param i32) (param i32) (local i32) (local.set 2 (call $g (local.get 0))))
  (func (export "dropped_call") (param i32) (param i32) (drop (call $g (local.get 0))))
  (func (export "tee") (param i32) (param i32) (result i32) (local i32)
    (i32.mul (local.tee 2 (call $g (local.get 0))) (i32.const 0)))
  (func (export "unread_float") (param i32) (param i32) (local f64) (local.set 2 (f64.load (local.get 0))))
  (func (export "dropped_float") (param i32) (param i32) (drop (f32.load offset=4 (local.get 0))))
  (func (export "returned") (param i32) (param i32) (result i32)
    (i32.load (local.get 0)) (return (i32.const 1)))
  (func (export "br") (param i32) (param i32) (result i32)
    (block (result i32) (i32.load (local.get 0)) (i32.const 1) (br 0)))
  (func (export "br_if") (param i32) (param i32) (result i32)
    (block (result i32) (i32.load (local.get 0)) (i32.const 1) (br_if 0 (i32.const 1)) (drop) (drop) (i32.const 2)))
  (func (export "br_table") (param i32) (param i32) (result i32)
    (block (result i32) (i32.load (local.get 0)) (i32.const 1) (br_table 0 0 (local.get 1))))
  (func (export "unreachable") (param i32) (param i32) (result i32)
    (i32.load (local.get 0)) (unreachable))
  (func (export "before_division") (param i32) (param i32) (result i32)
    (i32.add (i32.load (local.get 0)) (i32.div_u (i32.const 1) (local.get 1))))
  (func (export "folded_br_table") (param i32) (param i32)
    (block (br_table 0 0 (i32.clz (i64.eqz (i64.load32_s (local.get 0)))))))
  (func (export "folded_if") (param i32) (param i32) (result i32)
    (if (result i32) (i32.load (local.get 0)) (then (i32.const 3)) (else (i32.const 3))))
  (func (export "used_on_one_path") (param i32) (param i32) (result i32) (local i32)
    (local.set 2 (i32.load (local.get 0)))
    (if (local.get 1) (then (return (local.get 2))))
    (i32.const 7)))"#;

/// Exports of [`DISCARDED`], each called as `f(address, 0)`. In the
/// `folded_*` ones the loaded value only chooses between branches that go
/// to the same place, so CFG simplification folds the branch and deletes
/// what computed its condition, the load included.
const DISCARDING: [&str; 14] = [
    "h",
    "dropped_call",
    "tee",
    "unread_float",
    "dropped_float",
    "returned",
    "br",
    "br_if",
    "br_table",
    "unreachable",
    "before_division",
    "folded_br_table",
    "folded_if",
    "used_on_one_path",
];

#[test]
fn discarded_loads_trap() {
    for opts in all_configurations() {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(DISCARDED, &opts);
        for name in DISCARDING {
            // In bounds: no trap, except the one `unreachable` and the
            // division by zero raise.
            let ok = call(&mut store, &instance, name, &[Val::I32(16), Val::I32(0)]);
            match name {
                "unreachable" => assert_trap(ok, TrapCode::UnreachableCodeReached, &format!("{name}(16) at {at}")),
                "before_division" => assert_trap(ok, TrapCode::IntegerDivisionByZero, &format!("{name}(16) at {at}")),
                _ => drop(ok.unwrap_or_else(|e| panic!("{name}(16) at {at}: {e}"))),
            }
            let result = call(&mut store, &instance, name, &[Val::I32(OUT_OF_BOUNDS), Val::I32(0)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{name}({OUT_OF_BOUNDS}) at {at}"));
        }
    }
}

// ---- (b) effects before a faulting access ----

const EFFECTS: &str = r#"(module
  (memory (export "memory") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (table $t (export "t") 1 funcref)
  (func $f)
  (elem declare func $f)
  (func (export "global") (param $p i32)
    (global.set $g (i32.const 1)) (drop (i32.load (local.get $p))) (global.set $g (i32.const 2)))
  (func (export "stored") (param $p i32)
    (i32.store (i32.const 0) (i32.const 1)) (drop (i32.load (local.get $p))) (i32.store (i32.const 0) (i32.const 2)))
  (func (export "table") (param $p i32)
    (table.set $t (i32.const 0) (ref.func $f)) (drop (i32.load (local.get $p))) (table.set $t (i32.const 0) (ref.null func)))
  (func (export "counted") (param $p i32)
    (loop $l
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (drop (i32.load (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $p) (i32.const 70000)))))
  (func (export "summed") (param $p i32)
    (loop $l
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (br_if $l (i32.ne (i32.add (i32.load (local.get $p)) (i32.load offset=4 (local.get $p)))
                        (local.tee $p (i32.add (local.get $p) (i32.const 8))))))))"#;

fn global(store: &Store, instance: &Instance, name: &str) -> i32 {
    instance.get_global(store, name).expect("the global").get(store).expect("its value").i32().expect("an i32")
}

#[test]
fn effects_before_a_trap_stay_and_none_after_it_happen() {
    for opts in all_configurations() {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(EFFECTS, &opts);
        let g = instance.get_global(&store, "g").expect("g");
        let memory = instance.get_memory(&store, "memory").expect("memory");
        let table = instance.get_table(&store, "t").expect("t");
        let p = [Val::I32(OUT_OF_BOUNDS)];

        assert_trap(call(&mut store, &instance, "global", &p), TrapCode::MemoryOutOfBounds, &at);
        assert_eq!(global(&store, &instance, "g"), 1, "global.set before the trap, at {at}");

        assert_trap(call(&mut store, &instance, "stored", &p), TrapCode::MemoryOutOfBounds, &at);
        assert_eq!(&memory.data(&store).expect("memory")[..4], &1i32.to_le_bytes(), "store before the trap, at {at}");

        assert_trap(call(&mut store, &instance, "table", &p), TrapCode::MemoryOutOfBounds, &at);
        let Val::FuncRef(entry) = table.get(&store, 0).expect("t[0]") else { panic!("t[0] is not a funcref") };
        assert!(entry.is_some(), "table.set before the trap, at {at}");

        // The 11th load, at 65536, traps: ten increments before it and
        // the eleventh, which comes first in its iteration.
        g.set(&mut store, Val::I32(0)).expect("g is mutable");
        let start = [Val::I32(65536 - 40)];
        assert_trap(call(&mut store, &instance, "counted", &start), TrapCode::MemoryOutOfBounds, &at);
        assert_eq!(global(&store, &instance, "g"), 11, "increments before the trap, at {at}");

        // The same, where the loop needs what it loads: the optimizer keeps
        // `g` in a register and writes it back on the way out, the trap
        // path included. Memory is zero, so the loop runs until the pair at
        // 65536, the sixth, traps.
        g.set(&mut store, Val::I32(0)).expect("g is mutable");
        assert_trap(call(&mut store, &instance, "summed", &start), TrapCode::MemoryOutOfBounds, &at);
        assert_eq!(global(&store, &instance, "g"), 6, "increments before the trap, at {at}");
    }
}

// ---- (c) vectorized loops ----

const ADD_ONE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "add1") (param $dst i32) (param $src i32) (param $n i32) (local $i i32)
    (loop $l
      (i32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (i32.add (i32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 1)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))))"#;

#[test]
fn a_loop_that_runs_out_of_bounds_writes_every_element_before_the_fault() {
    const N: usize = 64;
    for opts in all_configurations() {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(ADD_ONE, &opts);
        let memory = instance.get_memory(&store, "memory").expect("memory");
        for (src, in_bounds) in [(1024usize, N), (65536 - 40, 10), (65536 - 4 * N, N)] {
            let data = memory.data_mut(&mut store).expect("memory");
            data.fill(0);
            for k in 0..in_bounds {
                data[src + 4 * k..src + 4 * k + 4].copy_from_slice(&(100 + k as u32).to_le_bytes());
            }
            let result = call(&mut store, &instance, "add1", &[0, src, N].map(|v| Val::I32(v as i32)));
            if in_bounds < N {
                assert_trap(result, TrapCode::MemoryOutOfBounds, &at);
            } else {
                result.unwrap_or_else(|e| panic!("add1 at {at}: {e}"));
            }
            let data = memory.data(&store).expect("memory");
            for k in 0..N {
                let got = u32::from_le_bytes(data[4 * k..4 * k + 4].try_into().expect("4 bytes"));
                let want = if k < in_bounds { 101 + k as u32 } else { 0 };
                assert_eq!(got, want, "dst[{k}] with the source at {src}, at {at}");
            }
        }
    }
}

/// The in-bounds copy of the loop is vectorized as it would be without
/// checks: checked loops cost nothing in speed when they stay in bounds.
/// The copy that runs when they do not is still there.
#[test]
fn a_checked_loop_still_vectorizes() {
    for bounds_checks in [BoundsChecks::Guard, BoundsChecks::Explicit] {
        let opts = CompileOptions { opt_level: OptLevel::O2, bounds_checks, ..CompileOptions::default() };
        let ir = llvm_ir(ADD_ONE, &opts, Emit::LlvmIr);
        assert!(ir.contains("load <4 x i32>") && ir.contains("store <4 x i32>"), "{bounds_checks:?}:\n{ir}");
        // The checked loop is still there: with its checks, or with guard
        // regions, with accesses that fault in place.
        let checked = match bounds_checks {
            BoundsChecks::Guard => "load volatile i32",
            BoundsChecks::Explicit => "!kiln.bounds",
        };
        assert!(ir.contains(checked), "the checked loop is gone ({bounds_checks:?}):\n{ir}");
    }
}

// ---- loops against a model of wasm semantics ----

/// A comparison of the loop test: the wasm instruction, and what it
/// computes.
type Comparison = (&'static str, fn(u32, u32) -> bool);

/// The comparisons a loop may go on by.
const COMPARISONS: [Comparison; 10] = [
    ("i32.lt_s", |a, b| (a as i32) < (b as i32)),
    ("i32.lt_u", |a, b| a < b),
    ("i32.le_s", |a, b| (a as i32) <= (b as i32)),
    ("i32.le_u", |a, b| a <= b),
    ("i32.gt_s", |a, b| (a as i32) > (b as i32)),
    ("i32.gt_u", |a, b| a > b),
    ("i32.ge_s", |a, b| (a as i32) >= (b as i32)),
    ("i32.ge_u", |a, b| a >= b),
    ("i32.ne", |a, b| a != b),
    ("i32.eq", |a, b| a == b),
];

const STEPS: [i32; 6] = [1, -1, 4, -4, 3, -5];

/// Where the test sits: after the body (`do ... while`) or before it.
#[derive(Clone, Copy, Debug)]
enum Form {
    DoWhile,
    While,
}

/// A loop storing `i` at `base + i * stride` (`stride` a parameter, or the
/// constant 4) and counting its iterations in global `n`, then stepping `i`
/// and going on while `i CMP bound`.
fn loop_function(name: &str, cmp: &str, step: i32, form: Form, constant_stride: bool) -> String {
    let stride = if constant_stride { "(i32.const 4)" } else { "(local.get $stride)" };
    let body = format!(
        "(i32.store (i32.add (local.get $base) (i32.mul (local.get $i) {stride})) (local.get $i))
         (global.set $n (i32.add (global.get $n) (i32.const 1)))
         (local.set $i (i32.add (local.get $i) (i32.const {step})))"
    );
    let test = format!("({cmp} (local.get $i) (local.get $bound))");
    let looped = match form {
        Form::DoWhile => format!("(loop $l {body} (br_if $l {test}))"),
        Form::While => format!("(block $done (loop $l (br_if $done (i32.eqz {test})) {body} (br $l)))"),
    };
    format!(
        "(func (export \"{name}\") (param $i i32) (param $bound i32) (param $base i32) (param $stride i32) {looped})\n"
    )
}

/// What wasm does: the memory written, the final count, and whether it
/// trapped; `None` if the loop runs longer than a test should wait.
fn model(cmp: fn(u32, u32) -> bool, step: i32, form: Form, args: [u32; 4], memory: &mut [u8]) -> Option<(u32, bool)> {
    let [mut i, bound, base, stride] = args;
    let mut n = 0u32;
    for _ in 0..3000 {
        if matches!(form, Form::While) && !cmp(i, bound) {
            return Some((n, false));
        }
        let address = base.wrapping_add(i.wrapping_mul(stride)) as usize;
        if address + 4 > memory.len() {
            return Some((n, true));
        }
        memory[address..address + 4].copy_from_slice(&i.to_le_bytes());
        n += 1;
        i = i.wrapping_add(step as u32);
        if matches!(form, Form::DoWhile) && !cmp(i, bound) {
            return Some((n, false));
        }
    }
    None
}

/// Start and bound values near where comparisons and wrap-around change.
const EDGES: [u32; 12] = [0, 1, 7, 100, 1000, 0x7fff_fff0, 0x8000_0000, 0x8000_0005, 0xffff_fff0, 0xffff_ffff, 16383, 16384];
/// Bases near the ends of the one page of memory, and one that wraps.
const BASES: [u32; 6] = [0, 4096, 65536 - 400, 65536 - 4, 65533, 0xffff_fff0];
/// Strides in bytes per step of `i`.
const STRIDES: [u32; 6] = [4, 0xffff_fffc, 1, 0, 12, 4096];

#[test]
fn loops_match_the_model() {
    let mut functions = String::new();
    let mut cases = Vec::new();
    for (cmp_index, (cmp, _)) in COMPARISONS.iter().enumerate() {
        for step in STEPS {
            for form in [Form::DoWhile, Form::While] {
                for constant_stride in [false, true] {
                    let name = format!("f{}", cases.len());
                    functions.push_str(&loop_function(&name, cmp, step, form, constant_stride));
                    cases.push((name, cmp_index, step, form, constant_stride));
                }
            }
        }
    }
    let module = format!(
        "(module (memory (export \"memory\") 1) (global $n (export \"n\") (mut i32) (i32.const 0))\n{functions})"
    );
    // Arguments from a fixed pseudo-random sequence; a start is sometimes
    // a bound moved by a few steps, so that loops of every length occur.
    let random = xorshift(8 * 24 * cases.len(), 0x5eed_1005);
    let mut picks = random.into_iter();
    let mut pick = |choices: &[u32]| choices[(picks.next().expect("enough numbers") % choices.len() as u64) as usize];
    let mut runs = Vec::new();
    for (index, &(_, cmp_index, step, form, constant_stride)) in cases.iter().enumerate() {
        for _ in 0..24 {
            let bound = pick(&EDGES);
            let steps_before = pick(&[0, 1, 2, 3, 17, 40, 999]) as i32;
            let start = bound.wrapping_sub(steps_before.wrapping_mul(step) as u32);
            let start = if pick(&[0, 1]) == 0 { start } else { pick(&EDGES) };
            let stride = if constant_stride { 4 } else { pick(&STRIDES) };
            let args = [start, bound, pick(&BASES), stride];
            let mut memory = vec![0u8; 65536];
            if let Some((n, trapped)) = model(COMPARISONS[cmp_index].1, step, form, args, &mut memory) {
                runs.push((index, args, memory, n, trapped));
            }
        }
    }
    assert!(runs.len() > 2000, "only {} runs terminate", runs.len());
    assert!(runs.iter().any(|r| r.4) && runs.iter().any(|r| !r.4 && r.3 > 100), "both outcomes occur");

    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(&module, &opts);
        let memory = instance.get_memory(&store, "memory").expect("memory");
        let n = instance.get_global(&store, "n").expect("n");
        for (index, args, want_memory, want_n, trapped) in &runs {
            let (name, cmp, step, form, _) = &cases[*index];
            let what = format!("{name} ({} step {step}, {form:?}) with {args:x?} at {at}", COMPARISONS[*cmp].0);
            memory.data_mut(&mut store).expect("memory").fill(0);
            n.set(&mut store, Val::I32(0)).expect("n is mutable");
            let result = call(&mut store, &instance, name, &args.map(|a| Val::I32(a as i32)));
            if *trapped {
                assert_trap(result, TrapCode::MemoryOutOfBounds, &what);
            } else {
                result.unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            assert_eq!(global(&store, &instance, "n"), *want_n as i32, "iterations of {what}");
            assert!(memory.data(&store).expect("memory") == want_memory.as_slice(), "memory after {what}");
        }
    }
}
