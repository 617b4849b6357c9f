//! Divergences the fuzzers found, minimized, each checked the way the
//! differential target checks it (wasmi against kiln at -O0 and -O2) in
//! both bounds-check modes, and against the result the specification
//! gives.

use kiln_abi::metadata::BoundsChecks;
use kiln_fuzz::differential::Differential;
use kiln_fuzz::engines::wasmi::WasmiEngine;
use kiln_fuzz::engines::{Engine, Started};
use kiln_fuzz::state::{Outcome, Snapshot, TrapKind, Value};
use kiln_fuzz::target::Verdict;

const MODES: [BoundsChecks; 2] = [BoundsChecks::Guard, BoundsChecks::Explicit];

/// Runs `wat` with `plan` on every engine in both modes; all must agree.
fn agree(wat: &str, plan: &[(&str, Vec<Value>)]) {
    let wasm = wat::parse_str(wat).unwrap();
    let plan: Vec<(String, Vec<Value>)> = plan.iter().map(|(n, a)| (n.to_string(), a.clone())).collect();
    let mut failures = Vec::new();
    for mode in MODES {
        let verdict = kiln_fuzz::driver::on_big_stack({
            let (wasm, plan) = (wasm.clone(), plan.clone());
            move || Differential::new(mode).run_module(&wasm, &plan)
        });
        if let Verdict::Fail(message) = verdict {
            failures.push(format!("{mode:?} bounds checks: {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What the reference alone gives for one call.
fn reference(wat: &str, name: &str, args: &[Value]) -> Outcome {
    reference_after(wat, name, args).0
}

/// The reference's outcome of one call and its state afterwards.
fn reference_after(wat: &str, name: &str, args: &[Value]) -> (Outcome, Snapshot) {
    let Started::Ready(mut instance) = WasmiEngine::default().start(&wat::parse_str(wat).unwrap()) else {
        panic!("the reference cannot instantiate the module");
    };
    let outcome = instance.call(name, args);
    (outcome, instance.snapshot().unwrap())
}

/// wasmi 2.0.0 took the first operand of this `select` whenever the
/// condition was an `i32.eqz` of the second (seed 1001200 of the first
/// explicit-mode campaign; wasm-smith guards divisions this way, so it
/// reported divisions by zero that do not happen). The specification
/// picks the second operand when the condition is 0: `f(5)` is 5, and
/// `7 % f(5)` is 2.
#[test]
fn select_on_an_eqz_condition() {
    let wat = r#"(module
      (func (export "select") (param i32) (result i32)
        (select (i32.const 1) (local.get 0) (i32.eqz (local.get 0))))
      (func (export "rem") (param i32) (result i32)
        (i32.rem_u (i32.const 7) (select (i32.const 1) (local.get 0) (i32.eqz (local.get 0))))))"#;
    assert_eq!(reference(wat, "select", &[Value::I32(5)]), Outcome::Returned(vec![Value::I32(5)]));
    assert_eq!(reference(wat, "select", &[Value::I32(0)]), Outcome::Returned(vec![Value::I32(1)]));
    assert_eq!(reference(wat, "rem", &[Value::I32(5)]), Outcome::Returned(vec![Value::I32(2)]));
    agree(wat, &[("select", vec![Value::I32(5)]), ("select", vec![Value::I32(0)]), ("rem", vec![Value::I32(5)])]);
}

/// A load whose value a branch discards (`return` or `br` leaves it on
/// the operand stack) still traps out of bounds (seeds 35 and 14 of the
/// bounded guard-mode run; kiln -O0 with guard regions returned).
#[test]
fn loads_discarded_by_a_branch_trap() {
    let wat = r#"(module
      (memory 1)
      (func (export "by_return") (param i32)
        local.get 0
        i32.load
        return)
      (func (export "by_br") (param i32)
        block
          local.get 0
          i32.load
          br 0
        end)
      (func (export "under_a_result") (param i32) (result f64)
        local.get 0
        i64.load
        f64.const 1
        return))"#;
    let out = Value::I32(70000);
    for name in ["by_return", "by_br", "under_a_result"] {
        assert_eq!(
            reference(wat, name, std::slice::from_ref(&out)),
            Outcome::Trapped(TrapKind::MemoryOutOfBounds),
            "{name}"
        );
    }
    agree(
        wat,
        &[
            ("by_return", vec![Value::I32(8)]),
            ("by_return", vec![out.clone()]),
            ("by_br", vec![out.clone()]),
            ("under_a_result", vec![out]),
        ],
    );
}

/// A global written in every iteration of a loop that faults in its
/// fifth keeps the value of the fifth write: 5 (with guard regions LLVM
/// kept the global in a register and stored it after the loop, which the
/// trap skipped; -O1 and up).
#[test]
fn global_writes_in_a_faulting_loop_are_kept() {
    let wat = r#"(module
      (memory (export "mem") 1 1)
      (global $g (export "g") (mut i32) (i32.const 0))
      (func (export "f") (param $p i32) (result i32) (local $i i32) (local $s i32)
        (loop $l
          (global.set $g (i32.add (global.get $g) (i32.const 1)))
          (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 16384)))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 10))))
        (local.get $s)))"#;
    let (outcome, state) = reference_after(wat, "f", &[Value::I32(0)]);
    assert_eq!(outcome, Outcome::Trapped(TrapKind::MemoryOutOfBounds));
    assert_eq!(state.globals, [("g".to_string(), Value::I32(5))]);
    agree(wat, &[("f", vec![Value::I32(0)])]);
}

/// A loop storing `i` at `p + 4i` from 40 bytes below the end of memory
/// stores 0..=9 and traps on the eleventh store; the stores before the
/// fault stay (with guard regions the vectorized loop lost the stores of
/// 8 and 9, which share a vector with the faulting one; -O2 and up).
#[test]
fn vectorized_stores_before_a_fault_are_kept() {
    let wat = r#"(module
      (memory (export "mem") 1 1)
      (func (export "f") (param $p i32) (param $n i32) (local $i i32)
        (loop $l
          (i32.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))) (local.get $i))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))))"#;
    let args = vec![Value::I32(65536 - 40), Value::I32(64)];
    let (outcome, state) = reference_after(wat, "f", &args);
    assert_eq!(outcome, Outcome::Trapped(TrapKind::MemoryOutOfBounds));
    let tail: Vec<u8> = (0..10u32).flat_map(u32::to_le_bytes).collect();
    assert_eq!(&state.memories[0].1.bytes[65536 - 40..], &tail[..]);
    agree(wat, &[("f", args)]);
}

/// An out-of-bounds `table.copy` traps (seed 1011372 of the explicit-mode
/// campaign: wasmi 1.1 reports it as an error without a trap code, which
/// the fuzzer read as a failure of the reference; it is mapped now).
#[test]
fn table_copy_out_of_bounds_traps() {
    let wat = r#"(module
      (table $t (export "t") 4 funcref)
      (func $f (export "f"))
      (elem (table $t) (i32.const 0) func $f $f)
      (func (export "copy") (param i32)
        (table.copy $t $t (local.get 0) (i32.const 0) (i32.const 2))))"#;
    let args = vec![Value::I32(3)];
    assert_eq!(reference(wat, "copy", &args), Outcome::Trapped(TrapKind::TableOutOfBounds));
    agree(wat, &[("copy", vec![Value::I32(1)]), ("copy", args)]);
}

/// A loop that writes a global before each of two dependent loads: the
/// optimizer keeps the global in a register and stores it on the way to
/// the trap, from either load's check (seed 5 of the bounded guard-mode
/// run: kiln -O1 crashed removing one of those checks, and would have
/// lost the store). `f(0)` follows 0 -> 8 -> 16 -> 70000 and traps on the
/// fourth load, after four writes: 96.
#[test]
fn global_stored_on_the_way_to_a_trap() {
    let wat = r#"(module
      (memory (export "mem") 1 1)
      (global $g (export "g") (mut i32) (i32.const 100))
      (data (i32.const 0) "\08")
      (data (i32.const 12) "\10\00\00\00\70\11\01\00")
      (func (export "f") (param $p i32) (result i32)
        (loop $l
          (global.set $g (i32.sub (global.get $g) (i32.const 1)))
          (local.set $p (i32.load (local.get $p)))
          (global.set $g (i32.sub (global.get $g) (i32.const 1)))
          (local.set $p (i32.load offset=4 (local.get $p)))
          (br_if $l (local.get $p)))
        (global.get $g)))"#;
    let (outcome, state) = reference_after(wat, "f", &[Value::I32(0)]);
    assert_eq!(outcome, Outcome::Trapped(TrapKind::MemoryOutOfBounds));
    assert_eq!(state.globals, [("g".to_string(), Value::I32(96))]);
    agree(wat, &[("f", vec![Value::I32(0)])]);
}
