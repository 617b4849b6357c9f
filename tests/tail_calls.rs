//! Tail calls end to end: `return_call`, `return_call_indirect` and
//! `return_call_ref` chains far deeper than any native stack run to the
//! end at every optimization level and in both bounds-check modes — in
//! constant stack, or they would trap with stack exhaustion long before —
//! with several results, stack-passed arguments and imported callees;
//! tail calls between different signatures give the right results (they
//! keep their frames: see `translate/tail_calls.rs`); and the checks of
//! the indirect forms trap as their plain forms do.

mod pipeline;

use kiln::{CompileOptions, OptLevel};
use kiln_abi::TrapCode;
use kiln_loader::{Engine, Func, FuncType, Linker, Store, Val, ValType};
use pipeline::{assert_trap, call, configurations, describe, instantiate, load, wat_library};

/// Deep chains of every kind of tail call.
const CHAINS: &str = r#"(module
  (type $i64_to_i32 (func (param i64) (result i32)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $even_indirect $odd_indirect)
  (elem declare func $even_ref $odd_ref)

  ;; Mutual recursion of one signature.
  (func $even (export "even") (param $n i64) (result i32)
    (if (result i32) (i64.eqz (local.get $n))
      (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get $n) (i64.const 1))))))
  (func $odd (export "odd") (param $n i64) (result i32)
    (if (result i32) (i64.eqz (local.get $n))
      (then (i32.const 0))
      (else (return_call $even (i64.sub (local.get $n) (i64.const 1))))))

  ;; The same through the table and through references.
  (func $even_indirect (export "even_indirect") (type $i64_to_i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call_indirect $t (type $i64_to_i32) (i64.sub (local.get 0) (i64.const 1)) (i32.const 1)))))
  (func $odd_indirect (type $i64_to_i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call_indirect $t (type $i64_to_i32) (i64.sub (local.get 0) (i64.const 1)) (i32.const 0)))))
  (func $even_ref (export "even_ref") (type $i64_to_i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call_ref $i64_to_i32 (i64.sub (local.get 0) (i64.const 1)) (ref.func $odd_ref)))))
  (func $odd_ref (type $i64_to_i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call_ref $i64_to_i32 (i64.sub (local.get 0) (i64.const 1)) (ref.func $even_ref)))))

  ;; Three signatures in a cycle: (i64) -> (i64 f64 i32) -> (i32 i64) -> (i64)
  ;; (not constant-stack: different prototypes).
  (func $a (export "cycle") (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.const 7))
      (else (return_call $b (local.get $n) (f64.const 0.5) (i32.const 3)))))
  (func $b (param $n i64) (param f64) (param i32) (result i64)
    (return_call $c (i32.wrap_i64 (local.get $n)) (i64.sub (local.get $n) (i64.const 1))))
  (func $c (param i32) (param $n i64) (result i64)
    (return_call $a (local.get $n)))

  ;; Ten i64 parameters (some on the stack on every target) and the sum
  ;; carried along.
  (func $many (export "many")
    (param $n i64) (param $s i64) (param i64 i64 i64 i64 i64 i64 i64) (param $k i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.add (local.get $s) (local.get $k)))
      (else (return_call $many (i64.sub (local.get $n) (i64.const 1)) (i64.add (local.get $s) (local.get 2))
        (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8)
        (local.get $k)))))

  ;; Several results, through the return area, after a long chain.
  (func $pair (export "pair") (param $n i64) (result i64 i32 f64)
    (if (result i64 i32 f64) (i64.eqz (local.get $n))
      (then (i64.const -1) (i32.const 42) (f64.const 2.5))
      (else (return_call $pair (i64.sub (local.get $n) (i64.const 1))))))

  ;; The checks of the indirect forms.
  (func (export "undefined_element") (result i32)
    (return_call_indirect $t (type $i64_to_i32) (i64.const 0) (i32.const 5)))
  (func (export "wrong_type") (result i64)
    (return_call_indirect $t (param i64) (result i64) (i64.const 0) (i32.const 0)))
  (func (export "null_ref") (result i32)
    (return_call_ref $i64_to_i32 (i64.const 0) (ref.null $i64_to_i32))))"#;

/// Far beyond what any native stack holds if each call kept a frame.
const DEEP: i64 = 100_000_000;

fn i32s(values: Vec<Val>) -> Vec<i32> {
    values.into_iter().map(|v| v.i32().unwrap()).collect()
}

fn i64s(values: Vec<Val>) -> Vec<i64> {
    values.into_iter().map(|v| v.i64().unwrap()).collect()
}

#[test]
fn deep_chains_run_in_constant_stack() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (mut store, instance, _library) = instantiate(CHAINS, &opts);
        let at = describe(&opts);
        let mut run = |name: &str, args: &[Val]| {
            call(&mut store, &instance, name, args).unwrap_or_else(|e| panic!("{name} at {at}: {e}"))
        };
        assert_eq!(i32s(run("even", &[Val::I64(DEEP)])), [1], "{at}");
        assert_eq!(i32s(run("odd", &[Val::I64(DEEP + 1)])), [1], "{at}");
        assert_eq!(i32s(run("even", &[Val::I64(DEEP + 1)])), [0], "{at}");
        assert_eq!(i32s(run("even_indirect", &[Val::I64(DEEP / 10)])), [1], "{at}");
        assert_eq!(i32s(run("even_ref", &[Val::I64(DEEP / 10 + 1)])), [0], "{at}");
        assert_eq!(i64s(run("cycle", &[Val::I64(1000)])), [7], "{at}");
        let sum = run("many", &[Val::I64(DEEP / 10), Val::I64(0), Val::I64(3), Val::I64(0), Val::I64(0),
            Val::I64(0), Val::I64(0), Val::I64(0), Val::I64(0), Val::I64(11)]);
        assert_eq!(i64s(sum), [3 * (DEEP / 10) + 11], "{at}");
        let pair = run("pair", &[Val::I64(DEEP / 10)]);
        assert_eq!(pair.len(), 3, "{at}");
        assert_eq!((pair[0].i64(), pair[1].i32(), pair[2].f64()), (Some(-1), Some(42), Some(2.5)), "{at}");
    }
}

#[test]
fn indirect_tail_calls_check_like_plain_ones() {
    let (mut store, instance, _library) = instantiate(CHAINS, &CompileOptions::default());
    assert_trap(call(&mut store, &instance, "undefined_element", &[]), TrapCode::UndefinedElement, "element 5");
    assert_trap(call(&mut store, &instance, "wrong_type", &[]), TrapCode::IndirectCallTypeMismatch, "wrong type");
    assert_trap(call(&mut store, &instance, "null_ref", &[]), TrapCode::NullFunctionReference, "null reference");
}

/// A tail call to an imported function ends the caller: the host
/// function's result is the caller's, whether the host returns or fails.
#[test]
fn tail_calls_reach_imported_functions() {
    let engine = Engine::default();
    let library = wat_library(
        r#"(module
          (import "env" "twice" (func $twice (param i64) (result i64)))
          (import "other" "count" (func $count (param i64) (result i64)))
          (func (export "host") (param i64) (result i64) (return_call $twice (local.get 0)))
          (func (export "wasm") (param i64) (result i64) (return_call $count (local.get 0))))"#,
        &CompileOptions::default(),
    );
    let other = wat_library(
        r#"(module
          (func $count (export "count") (param $n i64) (result i64)
            (if (result i64) (i64.eqz (local.get $n))
              (then (i64.const 99))
              (else (return_call $count (i64.sub (local.get $n) (i64.const 1)))))))"#,
        &CompileOptions::default(),
    );
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let ty = FuncType::new(vec![ValType::I64], vec![ValType::I64]);
    let twice = Func::new(&mut store, ty, |_, params, results| {
        let n = params[0].i64().unwrap();
        if n < 0 {
            return Err(kiln_loader::Error::msg("negative"));
        }
        results[0] = Val::I64(2 * n);
        Ok(())
    });
    linker.define("env", "twice", twice);
    let other = linker.instantiate(&mut store, &load(&engine, &other)).unwrap();
    linker.instance(&mut store, "other", other).unwrap();
    let instance = linker.instantiate(&mut store, &load(&engine, &library)).unwrap();
    assert_eq!(i64s(call(&mut store, &instance, "host", &[Val::I64(21)]).unwrap()), [42]);
    assert!(call(&mut store, &instance, "host", &[Val::I64(-1)]).is_err());
    assert_eq!(i64s(call(&mut store, &instance, "wasm", &[Val::I64(DEEP / 10)]).unwrap()), [99]);
}
