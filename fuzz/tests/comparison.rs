//! The differential comparison fails when engines disagree: kiln runs a
//! module that differs from the reference's in one place, and each kind
//! of difference must be reported as its kind; the unchanged module must
//! pass.

use kiln::{CompileOptions, OptLevel};
use kiln_abi::metadata::BoundsChecks;
use kiln_fuzz::differential::{Differential, DivergenceKind};
use kiln_fuzz::engines::kiln::KilnEngine;
use kiln_fuzz::engines::wasmi::WasmiEngine;
use kiln_fuzz::engines::{Engine, Started};
use kiln_fuzz::state::Value;
use kiln_fuzz::target::Verdict;

/// The reference module; `$CHANGE` marks where variants differ.
const MODULE: &str = r#"(module
  (memory (export "mem") 1 2)
  (memory $other (export "other") 1 1)
  (global (export "kiln-fuzz:fuel") (mut i32) (i32.const 0))
  (global $g (export "g") (mut i32) (i32.const 0))
  (table $t (export "t") 2 funcref)
  (func $one (export "one") (result i32) (i32.const 1))
  (func (export "write_then_trap") (param i32)
    (global.set $g (i32.const 5))
    (i32.store (i32.const 8) (i32.const 7))
    (table.set $t (i32.const 1) (ref.func $one))
    (drop (i32.load (local.get 0))))
  (func (export "divide") (param i32) (result i32) (i32.div_s (i32.const 10) (local.get 0)))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#;

/// kiln running its own module, whatever it is asked to run.
struct Substituted {
    kiln: KilnEngine,
    wasm: Vec<u8>,
}

impl Engine for Substituted {
    fn name(&self) -> String {
        format!("{} (substituted)", self.kiln.name())
    }

    fn start(&self, _wasm: &[u8]) -> Started {
        self.kiln.start(&self.wasm)
    }
}

fn kiln() -> KilnEngine {
    KilnEngine::new(CompileOptions {
        opt_level: OptLevel::O0,
        bounds_checks: BoundsChecks::Explicit,
        ..CompileOptions::default()
    })
}

fn plan() -> Vec<(String, Vec<Value>)> {
    vec![
        ("one".into(), vec![]),
        ("write_then_trap".into(), vec![Value::I32(70000)]),
        ("write_then_trap".into(), vec![Value::I32(100)]),
        ("divide".into(), vec![Value::I32(0)]),
        ("divide".into(), vec![Value::I32(3)]),
        ("grow".into(), vec![]),
    ]
}

/// The verdict of wasmi on `MODULE` against kiln on `MODULE` with `from`
/// replaced by `to`.
fn run(from: &str, to: &str) -> Verdict {
    assert!(MODULE.contains(from), "{from}");
    let reference = wat::parse_str(MODULE).unwrap();
    let variant = wat::parse_str(MODULE.replacen(from, to, 1)).unwrap();
    let differential = Differential::with_engines(
        Box::new(WasmiEngine::default()),
        vec![Box::new(kiln()), Box::new(Substituted { kiln: kiln(), wasm: variant })],
    );
    differential.run_module(&reference, &plan())
}

fn assert_diverges(from: &str, to: &str, kind: DivergenceKind, detail: &str) {
    match run(from, to) {
        Verdict::Fail(message) => {
            assert!(message.starts_with(&format!("{kind}:")), "{from} -> {to}: expected {kind}, got: {message}");
            assert!(message.contains(detail), "{from} -> {to}: `{detail}` not in: {message}");
        }
        other => panic!("{from} -> {to}: expected {kind}, got {other:?}"),
    }
}

#[test]
fn the_same_module_passes() {
    assert_eq!(run("(i32.const 1))", "(i32.const 1))"), Verdict::Pass(kiln_fuzz::target::Pass { calls: 6, traps: 2 }));
}

#[test]
fn another_result_is_found() {
    assert_diverges("(i32.const 1))", "(i32.const 2))", DivergenceKind::Results, "i32:2");
}

#[test]
fn a_missing_trap_is_found() {
    assert_diverges("(drop (i32.load (local.get 0)))", "(nop)", DivergenceKind::MissingTrap, "call 1");
}

#[test]
fn a_spurious_trap_is_found() {
    assert_diverges(
        "(i32.const 10) (local.get 0)",
        "(i32.const 10) (i32.const 0)",
        DivergenceKind::SpuriousTrap,
        "call 4",
    );
}

#[test]
fn another_trap_is_found() {
    assert_diverges(
        "(i32.div_s (i32.const 10) (local.get 0))",
        "(unreachable)",
        DivergenceKind::TrapKind,
        "Unreachable",
    );
}

#[test]
fn a_lost_global_write_before_a_trap_is_found() {
    assert_diverges("(global.set $g (i32.const 5))", "", DivergenceKind::StateAfterTrap, "global `g`");
}

#[test]
fn a_lost_store_before_a_trap_is_found() {
    assert_diverges("(i32.store (i32.const 8) (i32.const 7))", "", DivergenceKind::StateAfterTrap, "byte 0x8");
}

#[test]
fn a_store_to_another_memory_is_found() {
    assert_diverges(
        "(i32.store (i32.const 8) (i32.const 7))",
        "(i32.store $other (i32.const 8) (i32.const 7))",
        DivergenceKind::StateAfterTrap,
        "memory `mem` differs from byte 0x8",
    );
}

#[test]
fn a_lost_table_write_before_a_trap_is_found() {
    assert_diverges("(table.set $t (i32.const 1) (ref.func $one))", "", DivergenceKind::StateAfterTrap, "element 1");
}

#[test]
fn another_memory_size_is_found() {
    assert_diverges(
        "(memory.grow (i32.const 1))",
        "(i32.const 1)",
        DivergenceKind::StateAfterReturn,
        "2 pages against 1",
    );
}

#[test]
fn a_different_instantiation_is_found() {
    assert_diverges(
        "(memory (export \"mem\") 1 2)",
        "(memory (export \"mem\") 1 2) (data (i32.const 65535) \"ab\")",
        DivergenceKind::Instantiation,
        "MemoryOutOfBounds",
    );
}

#[test]
fn different_initial_state_is_found() {
    assert_diverges(
        "(mut i32) (i32.const 0))\n  (table",
        "(mut i32) (i32.const 9))\n  (table",
        DivergenceKind::StateAfterInstantiation,
        "global `g`",
    );
}
