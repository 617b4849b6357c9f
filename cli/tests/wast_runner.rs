//! The spec-script runner (`kiln::wast`) itself: scripts whose assertions
//! are wrong must be reported as failures, with the reason; directives that
//! depend on a broken module fail, those that depend on an unsupported one
//! are unsupported; nothing is skipped.

use kiln::CompileOptions;
use kiln::wast::{Report, run_script};

fn run(script: &str) -> Report {
    run_script("t.wast", script, &CompileOptions::default())
}

/// Asserts the counts, and that every failure message (in order) contains
/// the given text.
#[track_caller]
fn expect(report: &Report, passed: u32, unsupported: &[(&str, u32)], failures: &[&str]) {
    let messages: Vec<String> = report.failures.iter().map(|f| report.describe(f)).collect();
    assert_eq!(report.passed, passed, "passed; failures: {messages:#?}");
    assert_eq!(report.failed as usize, failures.len(), "failed: {messages:#?}");
    for (message, wanted) in messages.iter().zip(failures) {
        assert!(message.contains(wanted), "`{message}` should contain `{wanted}`");
    }
    let unsupported: Vec<(String, u32)> = unsupported.iter().map(|(f, n)| (f.to_string(), *n)).collect();
    assert_eq!(report.unsupported.clone().into_iter().collect::<Vec<_>>(), unsupported);
}

const DIV: &str = r#"(module
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "seven") (result i32) (i32.const 7)))
"#;

#[test]
fn a_wrong_value_fails() {
    let report = run(&format!(
        "{DIV}(assert_return (invoke \"seven\") (i32.const 7))
         (assert_return (invoke \"seven\") (i32.const 8))
         (assert_return (invoke \"seven\") (i64.const 7))
         (assert_return (invoke \"seven\"))"
    ));
    expect(
        &report,
        2,
        &[],
        &[
            "t.wast:5:11: result 0: got i32:7, expected i32.const 8",
            "result 0: got i32:7, expected i64.const 7",
            "expected 0 results",
        ],
    );
}

#[test]
fn a_trap_message_must_start_with_the_expected_text() {
    let report = run(&format!(
        "{DIV}(assert_trap (invoke \"div\" (i32.const 1) (i32.const 0)) \"integer divide by zero\")
         (assert_trap (invoke \"div\" (i32.const 1) (i32.const 0)) \"integer divide\")
         (assert_trap (invoke \"div\" (i32.const 1) (i32.const 0)) \"integer overflow\")
         (assert_trap (invoke \"div\" (i32.const 1) (i32.const 0)) \"integer divide by zero 0\")
         (assert_trap (invoke \"div\" (i32.const 1) (i32.const 0)) \"divide by zero\")"
    ));
    expect(
        &report,
        3,
        &[],
        &[
            "expected trap `integer overflow`, got trap `integer divide by zero`",
            "expected trap `integer divide by zero 0`",
            "expected trap `divide by zero`",
        ],
    );
}

#[test]
fn a_missing_trap_fails() {
    let report = run(&format!(
        "{DIV}(assert_trap (invoke \"div\" (i32.const 6) (i32.const 3)) \"integer divide by zero\")
         (assert_trap (invoke \"seven\") \"unreachable\")"
    ));
    expect(
        &report,
        1,
        &[],
        &["expected trap `integer divide by zero`, got results [i32:2]", "expected trap `unreachable`, got results"],
    );
}

#[test]
fn exhaustion_is_a_trap_with_the_spec_message() {
    let report = run(r#"(module (func $f (export "f") (call $f)))
        (assert_exhaustion (invoke "f") "call stack exhausted")
        (assert_exhaustion (invoke "f") "stack overflow")"#);
    expect(&report, 2, &[], &["expected trap `stack overflow`, got trap `call stack exhausted`"]);
}

#[test]
fn a_valid_module_under_assert_invalid_fails() {
    let report = run(r#"(assert_invalid (module (func (result i32) (i32.const 1))) "type mismatch")
        (assert_invalid (module (func (result i32) (i64.const 1))) "type mismatch")"#);
    expect(&report, 1, &[], &["kiln accepted the module; expected it invalid: `type mismatch`"]);
}

#[test]
fn rejections_must_come_from_the_named_phase() {
    // Bytes cut short (malformed) and a function returning the wrong type
    // (invalid), each under both assertions; a quoted module whose text
    // does not parse is malformed.
    let report = run(r#"
        (assert_malformed (module binary "\00asm\01\00\00\00\01") "unexpected end")
        (assert_invalid (module binary "\00asm\01\00\00\00\01") "unexpected end")
        (assert_invalid (module binary
          "\00asm\01\00\00\00\01\05\01\60\00\01\7f\03\02\01\00\0a\06\01\04\00\42\01\0b") "type mismatch")
        (assert_malformed (module binary
          "\00asm\01\00\00\00\01\05\01\60\00\01\7f\03\02\01\00\0a\06\01\04\00\42\01\0b") "type mismatch")
        (assert_malformed (module quote "(func (i32.frobnicate))") "unknown operator")
        (assert_invalid (module quote "(func (i32.frobnicate))") "unknown operator")"#);
    expect(
        &report,
        3,
        &[],
        &[
            "kiln rejected the module while decoding",
            "kiln decoded the module and rejected it in validation",
            "the module text does not assemble",
        ],
    );
}

#[test]
fn a_different_reason_passes_and_is_kept() {
    let report = run(r#"(assert_invalid (module (func (result i32) (i64.const 1))) "type mismatch")
        (assert_invalid (module (func (result i32) (i64.const 1))) "the wrong type")"#);
    expect(&report, 2, &[], &[]);
    assert_eq!(report.rewordings.len(), 1, "{:?}", report.rewordings);
    assert_eq!(report.rewordings[0].line, 2);
    assert_eq!(report.rewordings[0].expected, "the wrong type");
    assert!(report.rewordings[0].actual.starts_with("type mismatch"), "{:?}", report.rewordings);
}

/// A tag with results is valid only with stack switching, a proposal past
/// wasm 3.0: invalid in the standard kiln implements, so `assert_invalid`
/// holds, while the same module to be run is unsupported, and a GC module
/// (GC is part of 3.0) under `assert_invalid` stays unsupported.
#[test]
fn a_module_that_needs_a_proposal_past_wasm_3_is_invalid() {
    let report = run(r#"(assert_invalid (module (tag (result i32))) "non-empty tag result type")
        (module (tag (result i32)))
        (assert_invalid (module (type (struct)) (func (result i32) (struct.new 0))) "type mismatch")"#);
    expect(&report, 1, &[("GC", 1), ("stack switching", 1)], &[]);
    assert!(report.rewordings[0].actual.contains("stack switching"), "{:?}", report.rewordings);
}

#[test]
fn unlinkable_means_a_link_error() {
    let report = run(r#"
        (assert_unlinkable (module (import "spectest" "nothing" (func))) "unknown import")
        (assert_unlinkable (module (import "spectest" "print_i32" (func))) "incompatible import type")
        (assert_unlinkable (module (import "spectest" "print_i32" (func (param i32)))) "unknown import")
        (assert_unlinkable (module (func $s unreachable) (start $s)) "unknown import")"#);
    expect(
        &report,
        2,
        &[],
        &["the module instantiated; expected a link error", "trapped during instantiation (`unreachable`)"],
    );
}

#[test]
fn a_trap_while_instantiating_is_checked_like_any_trap() {
    let report = run(r#"
        (assert_trap (module (func $s unreachable) (start $s)) "unreachable")
        (assert_trap (module (func $s unreachable) (start $s)) "out of bounds memory access")
        (assert_trap (module (func $s) (start $s)) "unreachable")"#);
    expect(&report, 1, &[], &["got trap `unreachable`", "expected trap `unreachable`, got a normal return"]);
}

#[test]
fn a_failed_module_makes_its_dependants_fail() {
    let report = run(r#"(module $m (func (export "f") (call $nowhere)))
        (assert_return (invoke $m "f"))
        (invoke "f")
        (register "m" $m)
        (module (import "m" "f" (func)))
        (module binary "\00asm\01\00\00\00\01\05\01\60\00\01\7f\03\02\01\00\07\05\01\01\67\00\00\0a\06\01\04\00\42\01\0b")
        (assert_return (invoke "g") (i32.const 1))"#);
    expect(
        &report,
        0,
        &[],
        &[
            "t.wast:1:2: the module text does not assemble",
            "depends on the module of line 1, which failed",
            "depends on the module of line 1",
            "depends on the module of line 1",
            "depends on the module of line 1",
            "t.wast:6:10: kiln rejected it as invalid: type mismatch",
            "depends on the module of line 6",
        ],
    );
}

#[test]
fn an_unsupported_module_makes_its_dependants_unsupported() {
    let report = run(r#"(module $t (func $f (export "f") (drop (ref.i31 (i32.const 0)))))
        (assert_return (invoke $t "f"))
        (register "t" $t)
        (module (import "t" "f" (func)))
        (assert_trap (invoke "f") "unreachable")
        (module (func (export "g") (result i32) (i32.const 1)))
        (assert_return (invoke "g") (i32.const 1))"#);
    expect(&report, 2, &[("GC", 5)], &[]);
}

#[test]
fn what_an_unsupported_module_would_have_changed_is_unsupported() {
    // $mem is registered; a module kiln cannot compile (it needs GC)
    // imports its memory and would have written to it.
    let report = run(r#"(module $mem (memory (export "m") 1)
          (func (export "load") (result i32) (i32.load8_u (i32.const 0))))
        (register "mem" $mem)
        (assert_return (invoke $mem "load") (i32.const 0))
        (module (import "mem" "m" (memory 1)) (data (i32.const 0) "\2a") (func (drop (ref.i31 (i32.const 0)))))
        (assert_return (invoke $mem "load") (i32.const 42))
        (module $user (import "mem" "m" (memory 1)) (func (export "load") (result i32) (i32.load8_u (i32.const 0))))
        (assert_return (invoke $user "load") (i32.const 42))"#);
    expect(&report, 4, &[("GC", 3)], &[]);
}

#[test]
fn a_script_that_does_not_parse_fails() {
    let report = run("(module)\n(assert_return (invoke \"f\") (i32.const 1)\n");
    expect(&report, 0, &[], &["cannot parse the script"]);
    let report = run("(module)\n(assert_everything)");
    expect(&report, 0, &[], &["t.wast:2:2: cannot parse the script"]);
}

#[test]
fn missing_exports_and_instances_fail() {
    let report = run(r#"(invoke "f")
        (module $m (func (export "f")))
        (invoke "g")
        (invoke $n "f")
        (assert_return (get "x") (i32.const 1))
        (register "r" $n)"#);
    expect(
        &report,
        1,
        &[],
        &[
            "no module instantiated yet",
            "no exported function `g`",
            "no instance named $n",
            "no exported global `x`",
            "register: no instance $n",
        ],
    );
}

#[test]
fn legacy_folded_try_runs() {
    // The legacy scripts write `try` folded, which the runner rewrites
    // into the flat form before it reaches kiln.
    let report = run(r#"(module
          (tag $e)
          (func (export "f") (result i32)
            (try (result i32) (do (throw $e)) (catch $e (i32.const 1)))))
        (assert_return (invoke "f") (i32.const 1))"#);
    expect(&report, 2, &[], &[]);
}

/// Message passing between two script threads over a shared memory, as
/// the threads proposal's scripts write it: one stores the message and a
/// flag and notifies, the other waits for the flag and reads the message.
const MESSAGE_PASSING: &str = r#"(module $Mem (memory (export "shared") 1 1 shared))
(thread $Writer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.atomic.store (i32.const 0) (i32.const 42))
      (i32.atomic.store (i32.const 4) (i32.const 1))
      (drop (memory.atomic.notify (i32.const 4) (i32.const 1)))))
  (invoke "run"))
(thread $Reader (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (block $done
        (loop $again
          (br_if $done (i32.atomic.load (i32.const 4)))
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $again)))
      (i32.atomic.load (i32.const 0))))
  (assert_return (invoke "run") (i32.const MESSAGE)))
(wait $Writer)
(wait $Reader)
"#;

#[test]
fn threads_share_memories_and_report_their_own_directives() {
    // The module, two threads of register, module and a call each, two waits.
    let right = run(&MESSAGE_PASSING.replace("MESSAGE", "42"));
    expect(&right, 1 + 2 * 4 + 2, &[], &[]);
    let wrong = run(&MESSAGE_PASSING.replace("MESSAGE", "43"));
    expect(&wrong, 10, &[], &["t.wast:22:4: result 0: got i32:42, expected i32.const 43"]);
    let unknown = run("(module) (wait $Nobody)");
    expect(&unknown, 1, &[], &["no thread $Nobody is running"]);
}
