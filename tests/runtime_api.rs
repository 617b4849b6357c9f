//! The runtime API on real compiled code: host closures as imports, typed
//! and untyped calls, exported memory and globals seen from both sides, and
//! a store that keeps working after a trap.

use kiln::{CompileOptions, Emit};
use kiln_loader::{Engine, Error, Func, FuncType, Linker, Module, Store, TrapCode, Val, ValType};
use std::sync::{Arc, Mutex};

const MODULE: &str = r#"(module
  (import "env" "log" (func $log (param i32 i64)))
  (import "env" "scale" (func $scale (param f64) (result f64)))
  (memory (export "memory") 1 4)
  (global $counter (export "counter") (mut i32) (i32.const 10))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (call $log (global.get $counter) (i64.const -7))
    (global.get $counter))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "scaled") (param f64) (result f64) (f64.add (call $scale (local.get 0)) (f64.const 0.5))))"#;

fn load(dir: &std::path::Path, engine: &Engine) -> Module {
    let wat = dir.join("api.wat");
    std::fs::write(&wat, MODULE).unwrap();
    let lib = dir.join("api.so");
    kiln::compile_file(&wat, &CompileOptions::default(), Emit::SharedLibrary, &lib).unwrap();
    Module::from_file(engine, &lib).unwrap()
}

#[test]
fn host_and_wasm_share_calls_memory_and_globals() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::default();
    let module = load(dir.path(), &engine);
    let mut store = Store::new(&engine);
    let logged = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&logged);
    let mut linker = Linker::new(&engine);
    linker.define("env", "log", Func::wrap(&mut store, move |a: i32, b: i64| sink.lock().unwrap().push((a, b))));
    linker.define("env", "scale", Func::wrap(&mut store, |x: f64| x * 3.0));
    let instance = linker.instantiate(&mut store, &module).unwrap();

    let add = instance.get_typed_func::<(i32, i32), i32>(&store, "add").unwrap();
    assert_eq!(add.call(&mut store, (40, 2)).unwrap(), 42);
    assert_eq!(add.call(&mut store, (i32::MAX, 1)).unwrap(), i32::MIN);
    let scaled = instance.get_typed_func::<f64, f64>(&store, "scaled").unwrap();
    assert_eq!(scaled.call(&mut store, 2.0).unwrap(), 6.5);

    // Untyped calls check their arguments.
    let div = instance.get_func(&store, "div").unwrap();
    let mut out = [Val::I32(0)];
    div.call(&mut store, &[Val::I32(9), Val::I32(2)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(4));
    assert!(div.call(&mut store, &[Val::I64(9), Val::I32(2)], &mut out).is_err());

    // A trap is an error with its code, and the store keeps working.
    let err = div.call(&mut store, &[Val::I32(1), Val::I32(0)], &mut out).unwrap_err();
    assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::IntegerDivisionByZero));
    assert_eq!(err.to_string(), "integer divide by zero");
    let peek = instance.get_typed_func::<i32, i32>(&store, "peek").unwrap();
    let err = peek.call(&mut store, 65533).unwrap_err();
    assert!(matches!(&err, Error::Trap(t) if t.code() == TrapCode::MemoryOutOfBounds), "{err}");
    assert_eq!(add.call(&mut store, (1, 2)).unwrap(), 3);

    // Globals: wasm's writes are visible to the host and the other way round.
    let counter = instance.get_global(&store, "counter").unwrap();
    let bump = instance.get_typed_func::<(), i32>(&store, "bump").unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 11);
    assert_eq!(counter.get(&store).unwrap(), Val::I32(11));
    counter.set(&mut store, Val::I32(100)).unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 101);
    assert_eq!(*logged.lock().unwrap(), vec![(11, -7), (101, -7)]);

    // Memory: host writes are read by wasm; growth from the host is seen.
    let memory = instance.get_memory(&store, "memory").unwrap();
    memory.data_mut(&mut store).unwrap()[100..104].copy_from_slice(&0x0102_0304u32.to_le_bytes());
    assert_eq!(peek.call(&mut store, 100).unwrap(), 0x0102_0304);
    let pages = instance.get_typed_func::<(), i32>(&store, "pages").unwrap();
    assert_eq!(memory.grow(&mut store, 2).unwrap(), 1);
    assert_eq!(pages.call(&mut store, ()).unwrap(), 3);
    assert_eq!(peek.call(&mut store, 3 * 65536 - 4).unwrap(), 0);
    assert!(memory.grow(&mut store, 2).is_err(), "the maximum is 4 pages");
}

#[test]
fn missing_and_mistyped_imports_name_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::default();
    let module = load(dir.path(), &engine);
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(err.to_string().contains("\"env\".\"log\""), "{err}");
    linker.define("env", "log", Func::wrap(&mut store, |_: i32| {}));
    linker.define("env", "scale", Func::wrap(&mut store, |x: f64| x));
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(err.to_string().contains("\"env\".\"log\"") && err.to_string().contains("incompatible"), "{err}");
}

/// `v128` values through a host function (parameters and two results, so
/// through the host trampoline's return area), an exported global seen
/// from both sides, and untyped calls.
#[test]
fn v128_values_cross_host_calls_globals_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("simd.wat");
    std::fs::write(
        &wat,
        r#"(module
          (import "env" "split" (func $split (param v128 i32) (result v128 v128)))
          (global $last (export "last") (mut v128) (v128.const i64x2 0 0))
          (func (export "twice") (param $v v128) (result v128 i32)
            (local $lo v128)
            (call $split (local.get $v) (i32.const 8))
            (global.set $last)
            (local.set $lo)
            (i32x4.add (local.get $lo) (global.get $last))
            (i8x16.bitmask (local.get $v))))"#,
    )
    .unwrap();
    let lib = dir.path().join("simd.so");
    kiln::compile_file(&wat, &CompileOptions::default(), Emit::SharedLibrary, &lib).unwrap();
    let engine = Engine::default();
    let module = Module::from_file(&engine, &lib).unwrap();
    let mut store = Store::new(&engine);
    let ty = FuncType::new(vec![ValType::V128, ValType::I32], vec![ValType::V128, ValType::V128]);
    let split = Func::new(&mut store, ty, |_, params, results| {
        let (Val::V128(v), Val::I32(bytes)) = (params[0], params[1]) else { panic!("{params:?}") };
        let bits = 8 * bytes as u32;
        results[0] = Val::V128(v & ((1u128 << bits) - 1));
        results[1] = Val::V128(v >> bits);
        Ok(())
    });
    let mut linker = Linker::new(&engine);
    linker.define("env", "split", split);
    let instance = linker.instantiate(&mut store, &module).unwrap();

    let v = 0x8000_0001_7fff_ffff_0000_0002_ffff_fffe_u128;
    let twice = instance.get_func(&store, "twice").unwrap();
    let mut out = [Val::V128(0), Val::I32(0)];
    twice.call(&mut store, &[Val::V128(v)], &mut out).unwrap();
    let lanes = |x: u128| -> [u32; 4] { std::array::from_fn(|i| (x >> (32 * i)) as u32) };
    let (low, high) = (lanes(v & u128::from(u64::MAX)), lanes(v >> 64));
    let sum: [u32; 4] = std::array::from_fn(|i| low[i].wrapping_add(high[i]));
    assert_eq!(out[0], Val::V128(sum.iter().rev().fold(0, |acc, &l| (acc << 32) | u128::from(l))));
    assert_eq!(out[1], Val::I32(0b1000_0111_0000_1111));
    let last = instance.get_global(&store, "last").unwrap();
    assert_eq!(last.get(&store).unwrap(), Val::V128(v >> 64));
    last.set(&mut store, Val::V128(u128::MAX)).unwrap();
    assert_eq!(last.get(&store).unwrap(), Val::V128(u128::MAX));
}

/// A null element reached by `call_indirect` traps with the element's
/// index, in `Trap::index` and in the message, as the specification's
/// reference interpreter words it; other traps name no element. Both for a
/// table that may grow and for one that cannot (whose calls the compiler
/// resolves through a constant copy of its slots).
#[test]
fn a_null_table_element_trap_names_the_element() {
    for table in ["(table 8 funcref)", "(table 8 8 funcref)"] {
        let dir = tempfile::tempdir().unwrap();
        let wat = dir.path().join("table.wat");
        let text = format!(
            r#"(module
              (type $v (func))
              {table}
              (elem (i32.const 1) func $f)
              (func $f)
              (func (export "call") (param i32) (call_indirect (type $v) (local.get 0))))"#
        );
        std::fs::write(&wat, text).unwrap();
        let lib = dir.path().join("table.so");
        kiln::compile_file(&wat, &CompileOptions::default(), Emit::SharedLibrary, &lib).unwrap();
        let engine = Engine::default();
        let module = Module::from_file(&engine, &lib).unwrap();
        let mut store = Store::new(&engine);
        let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
        let call = instance.get_typed_func::<i32, ()>(&store, "call").unwrap();
        call.call(&mut store, 1).unwrap();
        for index in [0, 2, 7] {
            let err = call.call(&mut store, index).unwrap_err();
            let trap = err.as_trap().unwrap_or_else(|| panic!("{table}: {err}"));
            assert_eq!((trap.code(), trap.index()), (TrapCode::UninitializedElement, Some(index as u64)), "{table}");
            assert_eq!(err.to_string(), format!("uninitialized element {index}"), "{table}");
        }
        let err = call.call(&mut store, 8).unwrap_err();
        assert_eq!(err.as_trap().map(|t| (t.code(), t.index())), Some((TrapCode::UndefinedElement, None)), "{table}");
        assert_eq!(err.to_string(), "undefined element", "{table}");
    }
}
