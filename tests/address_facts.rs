//! The translator's path facts (`llvm-backend/src/translate/path.rs`):
//! after an access at `a` succeeds, `a + c` (small constant `c`) is an
//! `add nuw`, and a known local value is reused instead of reloaded. Both
//! hold only on paths the access or the write dominates; everywhere else
//! an address must still wrap around 2^32 as wasm says.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::TrapCode;
use kiln_loader::Val;
use pipeline::{assert_trap, call, configurations, describe, instantiate, llvm_ir};

const MODULE: &str = r#"(module
  (memory 1)
  (data (i32.const 0) "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00")
  ;; An access at a, then at a + 4: the second add cannot wrap.
  (func (export "pair") (param $a i32) (result i32)
    (i32.add (i32.load (local.get $a)) (i32.load (i32.add (local.get $a) (i32.const 4)))))
  ;; The access at a happens in one arm only; after the `if`, a + 8 may
  ;; wrap. `a` is read before the `if` and stays on the operand stack, so
  ;; the arm's access is to the very SSA value the add uses afterwards.
  (func (export "then_arm") (param $a i32) (param $c i32) (result i32)
    (local.get $a)
    (if (local.get $c) (then (drop (i32.load (local.get $a)))))
    (i32.load (i32.add (i32.const 8))))
  (func (export "else_arm") (param $a i32) (param $c i32) (result i32)
    (local.get $a)
    (if (local.get $c) (then (drop (i32.load (local.get $a)))) (else (nop)))
    (i32.load (i32.add (i32.const 8))))
  ;; A branch out of the block skips the access.
  (func (export "skipped") (param $a i32) (param $c i32) (result i32)
    (local.get $a)
    (block (br_if 0 (local.get $c)) (drop (i32.load (local.get $a))))
    (i32.load (i32.add (i32.const 8))))
  ;; a is proven before the loop, then changes inside it and wraps below
  ;; zero: a + 4 then wraps back to address 0.
  (func (export "loop_local") (param $a i32) (result i32)
    (local $i i32) (local $s i32)
    (drop (i32.load (local.get $a)))
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (i32.add (local.get $a) (i32.const 4)))))
      (local.set $a (i32.sub (local.get $a) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (local.get $s))
  ;; A local written in one arm: after the `if`, its value is a merge.
  (func (export "merged_local") (param $a i32) (param $c i32) (result i32)
    (drop (i32.load (local.get $a)))
    (if (local.get $c) (then (local.set $a (i32.const -4))))
    (i32.load (i32.add (local.get $a) (i32.const 4)))))"#;

fn expect(store: &mut kiln_loader::Store, instance: &kiln_loader::Instance, at: &str, name: &str, args: &[i32], want: i32) {
    let vals: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
    let got = call(store, instance, name, &vals).unwrap_or_else(|e| panic!("{name}{args:?} at {at}: {e}"));
    assert_eq!(got, [Val::I32(want)], "{name}{args:?} at {at}");
}

fn expect_trap(store: &mut kiln_loader::Store, instance: &kiln_loader::Instance, at: &str, name: &str, args: &[i32]) {
    let vals: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
    assert_trap(call(store, instance, name, &vals), TrapCode::MemoryOutOfBounds, &format!("{name}{args:?} at {at}"));
}

#[test]
fn addresses_wrap_wherever_no_access_proved_otherwise() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2, OptLevel::O3]) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        let s = &mut store;
        expect(s, &instance, &at, "pair", &[0], 3);
        expect(s, &instance, &at, "pair", &[8], 7);
        expect_trap(s, &instance, &at, "pair", &[65532]);
        // -8 + 8 wraps to 0, which holds 1.
        expect(s, &instance, &at, "then_arm", &[-8, 0], 1);
        expect_trap(s, &instance, &at, "then_arm", &[-8, 1]);
        expect(s, &instance, &at, "then_arm", &[4, 1], 4);
        expect(s, &instance, &at, "else_arm", &[-8, 0], 1);
        expect(s, &instance, &at, "skipped", &[-8, 1], 1);
        expect_trap(s, &instance, &at, "skipped", &[-8, 0]);
        // Loads at 8, 4 and (-4 + 4 =) 0: 3 + 2 + 1.
        expect(s, &instance, &at, "loop_local", &[4], 6);
        expect(s, &instance, &at, "merged_local", &[0, 0], 2);
        expect(s, &instance, &at, "merged_local", &[0, 1], 1);
    }
}

/// The functions of `MODULE`, in the order they are defined.
const NAMES: [&str; 6] = ["pair", "then_arm", "else_arm", "skipped", "loop_local", "merged_local"];

/// The IR of each function of `MODULE` (kiln names them `kiln_func_N`
/// in index order), with its name.
fn functions(ir: &str) -> Vec<(&'static str, String)> {
    let bodies = ir.split("\ndefine ").skip(1).filter(|b| b.contains("@kiln_func_"));
    NAMES.into_iter().zip(bodies).map(|(name, body)| (name, body.to_string())).collect()
}

#[test]
fn only_an_add_after_an_access_is_marked_as_not_wrapping() {
    let opts = CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() };
    let ir = llvm_ir(MODULE, &opts, Emit::LlvmIrUnoptimized);
    let functions = functions(&ir);
    assert_eq!(functions.len(), 6, "one definition per export:\n{ir}");
    for (name, body) in &functions {
        let marked = body.contains("add nuw i32");
        assert_eq!(marked, *name == "pair", "{name}:\n{body}");
    }
}
