//! With guard regions, an out-of-bounds load must trap even when wasm
//! discards its value — dropped, or written to a local nothing reads —
//! and even when the load sits in a callee that LLVM inlines.

mod pipeline;

use kiln::{CompileOptions, OptLevel};
use kiln_abi::TrapCode;
use kiln_loader::Val;
use pipeline::{call, configurations, describe, instantiate};

const MODULE: &str = r#"(module
  (memory 1)
  (func $g (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "h") (param i32) (local i32) (local.set 1 (call $g (local.get 0))))
  (func (export "dropped_call") (param i32) (drop (call $g (local.get 0))))
  (func (export "tee") (param i32) (result i32) (local i32)
    (i32.mul (local.tee 1 (call $g (local.get 0))) (i32.const 0)))
  (func (export "unread_float") (param i32) (local f64) (local.set 1 (f64.load (local.get 0))))
  (func (export "dropped_float") (param i32) (drop (f32.load offset=4 (local.get 0)))))"#;

const EXPORTS: [&str; 5] = ["h", "dropped_call", "tee", "unread_float", "dropped_float"];

/// One page of memory; 70000 is past it.
const OUT_OF_BOUNDS: i32 = 70000;

fn check(opts: &CompileOptions) {
    let at = describe(opts);
    let (mut store, instance, _library) = instantiate(MODULE, opts);
    for name in EXPORTS {
        call(&mut store, &instance, name, &[Val::I32(16)]).unwrap_or_else(|e| panic!("{name}(16) at {at}: {e}"));
        let error = match call(&mut store, &instance, name, &[Val::I32(OUT_OF_BOUNDS)]) {
            Ok(results) => panic!("{name}({OUT_OF_BOUNDS}) at {at} returned {results:?} instead of trapping"),
            Err(e) => e,
        };
        let trap = error.as_trap().unwrap_or_else(|| panic!("{name} at {at}: not a trap: {error}"));
        assert_eq!(trap.code(), TrapCode::MemoryOutOfBounds, "{name} at {at}");
        assert!(error.to_string().contains("out of bounds memory access"), "{name} at {at}: {error}");
    }
}

#[test]
fn discarded_loads_trap_at_o2_with_guard_regions() {
    check(&CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() });
}

#[test]
fn discarded_loads_trap_in_every_configuration() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3, OptLevel::Os]) {
        check(&opts);
    }
}
