//! Divergences the fuzzers found, minimized, each checked the way the
//! differential target checks it (wasmi against kiln at -O0 and -O2) in
//! both bounds-check modes, and against the result the specification
//! gives.

use kiln_abi::metadata::BoundsChecks;
use kiln_fuzz::differential::Differential;
use kiln_fuzz::engines::wasmi::WasmiEngine;
use kiln_fuzz::engines::{Engine, Started};
use kiln_fuzz::state::{Outcome, TrapKind, Value};
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
    let Started::Ready(mut instance) = WasmiEngine::default().start(&wat::parse_str(wat).unwrap()) else {
        panic!("the reference cannot instantiate the module");
    };
    instance.call(name, args)
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
        assert_eq!(reference(wat, name, &[out.clone()]), Outcome::Trapped(TrapKind::MemoryOutOfBounds), "{name}");
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
