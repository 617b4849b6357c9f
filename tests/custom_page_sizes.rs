//! Memories of one-byte pages (the custom page sizes proposal) on real
//! compiled code, at -O0 and -O2 and in both bounds-check modes. Such a
//! memory may end anywhere inside a host page, where no guard region can
//! mark its end, so the byte just past it must trap even when it shares a
//! host page with the last byte that does not, in a 32-bit memory too;
//! `memory.size` and `memory.grow` count bytes; and an import must name
//! the exporter's page size.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_loader::{Engine, Instance, Linker, Store, TrapCode, Val};
use pipeline::{assert_trap, call, configurations, describe, instantiate, llvm_ir, load, wat_library};

/// A 32-bit memory of 5 000 one-byte pages (not a multiple of any host
/// page size) beside a 64-bit one of 3 bytes and a default one.
const MODULE: &str = r#"(module
  (memory $b (export "b") 5000 (pagesize 1))
  (memory $w i64 3 5 (pagesize 1))
  (memory $d 1)
  (data (memory $b) (i32.const 4996) "\01\02\03\04")
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "store32_at_4998") (param i32) (i32.store offset=4998 (i32.const 0) (local.get 0)))
  (func (export "v128_at") (param i32) (result i64) (i64x2.extract_lane 0 (v128.load (local.get 0))))
  (func (export "size") (result i32) (memory.size $b))
  (func (export "grow") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "fill") (param i32 i32) (memory.fill $b (local.get 0) (i32.const 0xaa) (local.get 1)))
  (func (export "wide_load8") (param i64) (result i32) (i32.load8_u $w (local.get 0)))
  (func (export "wide_size") (result i64) (memory.size $w))
  (func (export "wide_grow") (param i64) (result i64) (memory.grow $w (local.get 0)))
  (func (export "default_size") (result i32) (memory.size $d)))"#;

fn each_configuration(test: impl Fn(&str, &mut Store, &Instance)) {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        test(&describe(&opts), &mut store, &instance);
    }
}

fn i32s(values: Vec<Val>) -> Vec<i32> {
    values.iter().map(|v| v.i32().expect("an i32 result")).collect()
}

fn i64s(values: Vec<Val>) -> Vec<i64> {
    values.iter().map(|v| v.i64().expect("an i64 result")).collect()
}

#[test]
fn the_byte_past_the_end_traps_inside_a_host_page() {
    each_configuration(|what, store, instance| {
        let load8 = |store: &mut Store, at: i32| call(store, instance, "load8", &[Val::I32(at)]);
        assert_eq!(i32s(load8(store, 4999).unwrap()), [4], "{what}: the last byte");
        assert_trap(load8(store, 5000), TrapCode::MemoryOutOfBounds, &format!("{what}: load8 at 5000"));
        let result = call(store, instance, "load32", &[Val::I32(4997)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: load32 straddling the end"));
        assert_eq!(i32s(call(store, instance, "load32", &[Val::I32(4996)]).unwrap()), [0x0403_0201], "{what}");
        let result = call(store, instance, "v128_at", &[Val::I32(4990)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: v128.load straddling the end"));
        let result = call(store, instance, "store32_at_4998", &[Val::I32(-1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store straddling the end"));
        assert_eq!(i32s(load8(store, 4998).unwrap()), [3], "{what}: a trapping store wrote");
        let result = call(store, instance, "store8", &[Val::I32(5000), Val::I32(1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store8 at 5000"));
        let result = call(store, instance, "fill", &[Val::I32(4990), Val::I32(11)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: fill past the end"));
        assert_eq!(i32s(load8(store, 4990).unwrap()), [0], "{what}: a trapping fill wrote");
    });
}

#[test]
fn size_and_grow_count_bytes() {
    each_configuration(|what, store, instance| {
        assert_eq!(i32s(call(store, instance, "size", &[]).unwrap()), [5000], "{what}");
        assert_eq!(i32s(call(store, instance, "grow", &[Val::I32(3)]).unwrap()), [5000], "{what}");
        assert_eq!(i32s(call(store, instance, "size", &[]).unwrap()), [5003], "{what}");
        // The grown bytes are zero and accessible, the next one is not.
        assert_eq!(i32s(call(store, instance, "load8", &[Val::I32(5002)]).unwrap()), [0], "{what}");
        let result = call(store, instance, "load8", &[Val::I32(5003)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: past the grown end"));
        // Past kiln's limit for a 32-bit memory, 64 KiB short of 4 GiB.
        let result = call(store, instance, "grow", &[Val::I32(-65536 - 5003 + 1)]);
        assert_eq!(i32s(result.unwrap()), [-1], "{what}: past the limit");
        assert_eq!(i64s(call(store, instance, "wide_size", &[]).unwrap()), [3], "{what}");
        assert_eq!(i64s(call(store, instance, "wide_grow", &[Val::I64(3)]).unwrap()), [-1], "{what}: past 5");
        assert_eq!(i64s(call(store, instance, "wide_grow", &[Val::I64(2)]).unwrap()), [3], "{what}");
        assert_eq!(i32s(call(store, instance, "wide_load8", &[Val::I64(4)]).unwrap()), [0], "{what}");
        let result = call(store, instance, "wide_load8", &[Val::I64(5)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: the 64-bit memory's end"));
        assert_eq!(i32s(call(store, instance, "default_size", &[]).unwrap()), [1], "{what}: 64 KiB pages");
    });
}

/// The host sees the memory's length in bytes and its type with its page
/// size.
#[test]
fn the_host_sees_bytes() {
    let (store, instance, _library) = instantiate(MODULE, &CompileOptions::default());
    let memory = instance.get_memory(&store, "b").expect("memory b");
    assert_eq!(memory.data(&store).unwrap().len(), 5000);
    assert_eq!(memory.size(&store).unwrap(), 5000);
    assert_eq!(memory.ty(&store).unwrap().to_string(), "(memory 5000 (pagesize 1))");
}

const PROVIDER: &str = r#"(module (memory (export "bytes") 10 (pagesize 1)) (memory (export "pages") 1))"#;

fn link(consumer: &str) -> Result<(), String> {
    let opts = CompileOptions::default();
    let engine = Engine::default();
    let libraries = [wat_library(PROVIDER, &opts), wat_library(consumer, &opts)];
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let provider = linker.instantiate(&mut store, &load(&engine, &libraries[0])).expect("the provider");
    linker.instance(&store, "provider", provider).unwrap();
    linker.instantiate(&mut store, &load(&engine, &libraries[1])).map(drop).map_err(|e| e.to_string())
}

#[test]
fn an_import_names_the_exporters_page_size() {
    link(r#"(module (import "provider" "bytes" (memory 10 (pagesize 1))))"#).expect("same page size");
    link(r#"(module (import "provider" "pages" (memory 1 (pagesize 65536))))"#).expect("the default, spelled out");
    let error = link(r#"(module (import "provider" "bytes" (memory 0)))"#).expect_err("64 KiB pages declared");
    assert!(error.contains("page size 1 differs from the declared 65536"), "{error}");
    let error = link(r#"(module (import "provider" "pages" (memory 0 (pagesize 1))))"#).expect_err("bytes declared");
    assert!(error.contains("page size 65536 differs from the declared 1"), "{error}");
}

/// With guard regions, a 32-bit memory of 64 KiB pages has its checks
/// handed to the hardware; one of one-byte pages keeps them.
#[test]
fn a_memory_of_one_byte_pages_keeps_its_checks_with_guard_regions() {
    let opts = CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() };
    let ir = |memory: &str| {
        let wat = format!("(module {memory} (func (export \"f\") (param i32) (result i32) (i32.load (local.get 0))))");
        llvm_ir(&wat, &opts, Emit::LlvmIr)
    };
    let pages = ir("(memory 1)");
    let bytes = ir("(memory 1 (pagesize 1))");
    assert!(!pages.contains("trap.bounds:"), "{pages}");
    assert!(bytes.contains("trap.bounds:"), "{bytes}");
}
