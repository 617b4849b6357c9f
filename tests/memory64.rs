//! 64-bit memories (memory64) on real compiled code, at -O0 and -O2 and in
//! both bounds-check modes: `i64` addresses and offsets up to 2^64 - 1,
//! accesses past 4 GiB in a memory grown there, out-of-bounds and
//! wrapping addresses that trap without writing, `memory.size` and
//! `memory.grow` in `i64`, the bulk instructions (a copy between a 32-bit
//! and a 64-bit memory takes an `i32` length), data segments at `i64`
//! offsets, and 64-bit memories exported and imported between instances;
//! and 64-bit tables (table64): `i64` indices for every table instruction
//! and `call_indirect`, element segments at `i64` offsets.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::metadata::BoundsChecks;
use kiln_loader::{Engine, Instance, Linker, Memory, Store, TrapCode, Val};
use pipeline::{assert_trap, call, configurations, describe, instantiate, llvm_ir, load, wat_library};

/// A 64-bit memory of one page (grows without a declared maximum) beside a
/// 32-bit one, with accessors for each.
const MODULE: &str = r#"(module
  (memory $m (export "m") i64 1)
  (memory $n (export "n") 1 1)
  (data (memory $m) (i64.const 0x100) "\01\02\03\04")
  (data $passive "hello")
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load_far") (param i64) (result i32) (i32.load offset=0xffff_ffff_ffff_fff0 (local.get 0)))
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "store8") (param i64 i32) (i32.store8 offset=0x1_0000_0000 (local.get 0) (local.get 1)))
  (func (export "store_far") (param i64 i32) (i32.store offset=0xffff_ffff_ffff_fff0 (local.get 0) (local.get 1)))
  (func (export "v128") (param i64) (result i64) (i64x2.extract_lane 1 (v128.load (local.get 0))))
  (func (export "size") (result i64) (memory.size $m))
  (func (export "grow") (param i64) (result i64) (memory.grow $m (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill $m (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64) (memory.copy $m $m (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_in") (param i64 i32 i32) (memory.copy $m $n (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_out") (param i32 i64 i32) (memory.copy $n $m (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (memory.init $m $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "store_n") (param i32 i32) (i32.store $n (local.get 0) (local.get 1))))"#;

/// Every test runs at these levels, in both bounds-check modes.
fn each_configuration(test: impl Fn(&str, &mut Store, &Instance)) {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        test(&describe(&opts), &mut store, &instance);
    }
}

fn memory(store: &Store, instance: &Instance, name: &str) -> Memory {
    instance.get_memory(store, name).unwrap_or_else(|| panic!("no memory `{name}`"))
}

/// `len` bytes of `memory` from `at`.
fn bytes(store: &Store, memory: Memory, at: u64, len: usize) -> Vec<u8> {
    let at = usize::try_from(at).unwrap();
    memory.data(store).expect("the store's memory")[at..at + len].to_vec()
}

fn i64s(values: Vec<Val>) -> Vec<i64> {
    values.iter().map(|v| v.i64().expect("an i64 result")).collect()
}

const PAGE: u64 = 65536;

#[test]
fn addresses_are_64_bit_and_data_lands_at_i64_offsets() {
    each_configuration(|what, store, instance| {
        let m = memory(store, instance, "m");
        assert_eq!(bytes(store, m, 0x100, 4), [1, 2, 3, 4], "{what}: the data segment");
        call(store, instance, "store", &[Val::I64(8), Val::I64(0x1122_3344_5566_7788)]).unwrap();
        assert_eq!(i64s(call(store, instance, "load", &[Val::I64(8)]).unwrap()), [0x1122_3344_5566_7788], "{what}");
        assert_eq!(i64s(call(store, instance, "v128", &[Val::I64(0)]).unwrap()), [0x1122_3344_5566_7788], "{what}");
        // An address past 2^32 whose low half is in bounds is not wrapped.
        let result = call(store, instance, "load", &[Val::I64((1 << 32) + 8)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: load at 2^32 + 8"));
        let result = call(store, instance, "store8", &[Val::I64(16), Val::I32(1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store at 16 + 2^32"));
        assert_eq!(bytes(store, m, 16, 1), [0], "{what}: the store at 16 + 2^32 wrote at 16");
    });
}

#[test]
fn out_of_bounds_and_wrapping_accesses_trap_without_writing() {
    each_configuration(|what, store, instance| {
        let m = memory(store, instance, "m");
        let end = PAGE as i64;
        assert!(call(store, instance, "load", &[Val::I64(end - 8)]).is_ok(), "{what}: the last word");
        for at in [end - 7, end, -8, -1, i64::MAX] {
            let result = call(store, instance, "load", &[Val::I64(at)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: load at {at:#x}"));
        }
        // A store straddling the end writes none of its bytes.
        let result = call(store, instance, "store", &[Val::I64(end - 4), Val::I64(-1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store across the end"));
        assert_eq!(bytes(store, m, PAGE - 4, 4), [0; 4], "{what}: the trapping store wrote");
        // address + offset wraps around 2^64 to a small address: a trap,
        // not an access at the wrapped address.
        for at in [0x20i64, 0x10, -1] {
            let result = call(store, instance, "store_far", &[Val::I64(at), Val::I32(-1)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store_far at {at:#x}"));
            let result = call(store, instance, "load_far", &[Val::I64(at)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: load_far at {at:#x}"));
        }
        assert_eq!(bytes(store, m, 0, 32), [0; 32], "{what}: a wrapped store wrote");
        let result = call(store, instance, "v128", &[Val::I64(end - 15)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: v128 across the end"));
    });
}

#[test]
fn size_and_grow_are_i64_and_reach_past_four_gibibytes() {
    each_configuration(|what, store, instance| {
        assert_eq!(i64s(call(store, instance, "size", &[]).unwrap()), [1], "{what}");
        // To 4 GiB and one page more: the pages are reserved and made
        // accessible, and only the ones touched below cost memory.
        let grown = 1 << 16;
        assert_eq!(i64s(call(store, instance, "grow", &[Val::I64(grown)]).unwrap()), [1], "{what}");
        assert_eq!(i64s(call(store, instance, "size", &[]).unwrap()), [grown + 1], "{what}");
        let m = memory(store, instance, "m");
        assert_eq!(m.size(&*store).unwrap(), grown as u64 + 1, "{what}: as the host sees it");
        for at in [(1i64 << 32) - 4, 1 << 32, (1 << 32) + PAGE as i64 - 8] {
            call(store, instance, "store", &[Val::I64(at), Val::I64(at)]).unwrap();
            assert_eq!(i64s(call(store, instance, "load", &[Val::I64(at)]).unwrap()), [at], "{what}: at {at:#x}");
        }
        assert_eq!(bytes(store, m, 1 << 32, 8), [0, 0, 0, 0, 1, 0, 0, 0], "{what}: 2^32, little-endian");
        call(store, instance, "store8", &[Val::I64(3), Val::I32(0x5a)]).unwrap();
        assert_eq!(bytes(store, m, (1 << 32) + 3, 1), [0x5a], "{what}: offset 2^32");
        let end = (1i64 << 32) + PAGE as i64;
        let result = call(store, instance, "load", &[Val::I64(end - 7)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: past the grown end"));
        // Failing growth is -1 and changes nothing.
        for delta in [1i64 << 48, -1, 1 << 40] {
            assert_eq!(i64s(call(store, instance, "grow", &[Val::I64(delta)]).unwrap()), [-1], "{what}: {delta:#x}");
        }
        assert_eq!(i64s(call(store, instance, "size", &[]).unwrap()), [grown + 1], "{what}");
    });
}

#[test]
fn bulk_instructions_take_i64_operands_and_check_without_wrapping() {
    each_configuration(|what, store, instance| {
        let (m, n) = (memory(store, instance, "m"), memory(store, instance, "n"));
        call(store, instance, "init", &[Val::I64(0x200), Val::I32(1), Val::I32(4)]).unwrap();
        assert_eq!(bytes(store, m, 0x200, 4), *b"ello", "{what}");
        call(store, instance, "fill", &[Val::I64(0x300), Val::I32(0x2a), Val::I64(3)]).unwrap();
        assert_eq!(bytes(store, m, 0x2ff, 5), [0, 0x2a, 0x2a, 0x2a, 0], "{what}");
        call(store, instance, "copy", &[Val::I64(0x301), Val::I64(0x200), Val::I64(4)]).unwrap();
        assert_eq!(bytes(store, m, 0x300, 5), *b"*ello", "{what}");
        // Between the 32-bit and the 64-bit memory, the length is an i32.
        call(store, instance, "store_n", &[Val::I32(40), Val::I32(0x0403_0201)]).unwrap();
        call(store, instance, "copy_in", &[Val::I64(0x400), Val::I32(40), Val::I32(4)]).unwrap();
        assert_eq!(bytes(store, m, 0x400, 4), [1, 2, 3, 4], "{what}");
        call(store, instance, "copy_out", &[Val::I32(80), Val::I64(0x300), Val::I32(5)]).unwrap();
        assert_eq!(bytes(store, n, 80, 5), *b"*ello", "{what}");
        // Ranges that wrap around 2^64 or pass the end trap and write
        // nothing.
        let end = PAGE as i64;
        for (dst, len) in [(-2i64, 4i64), (end - 2, 4), (2, -1), (end + 1, 0)] {
            let result = call(store, instance, "fill", &[Val::I64(dst), Val::I32(7), Val::I64(len)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: fill {len:#x} at {dst:#x}"));
            let result = call(store, instance, "copy", &[Val::I64(dst), Val::I64(0), Val::I64(len)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: copy {len:#x} to {dst:#x}"));
            let result = call(store, instance, "copy", &[Val::I64(0), Val::I64(dst), Val::I64(len)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: copy {len:#x} from {dst:#x}"));
        }
        for at in [-2i64, end - 2, 1 << 32] {
            let result = call(store, instance, "init", &[Val::I64(at), Val::I32(0), Val::I32(4)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: init at {at:#x}"));
            let result = call(store, instance, "copy_in", &[Val::I64(at), Val::I32(0), Val::I32(4)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: copy_in at {at:#x}"));
        }
        let result = call(store, instance, "copy_out", &[Val::I32(0), Val::I64(-2), Val::I32(4)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: copy_out from -2"));
        assert_eq!(bytes(store, m, 0, 4), [0; 4], "{what}: a failing operation wrote");
        assert_eq!(bytes(store, m, PAGE - 2, 2), [0; 2], "{what}: a failing operation wrote");
        assert_eq!(bytes(store, n, 0, 4), [0; 4], "{what}: a failing operation wrote");
    });
}

/// Exports a 64-bit memory and reads it.
const PROVIDER: &str = r#"(module
  (memory (export "wide") i64 1 4)
  (func (export "load") (param i64) (result i32) (i32.load (local.get 0))))"#;

/// Imports the provider's memory as a 64-bit memory, writes it and grows it.
const CONSUMER: &str = r#"(module
  (import "provider" "wide" (memory $wide i64 1))
  (data (memory $wide) (i64.const 0x10) "\07")
  (func (export "store") (param i64 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "size") (result i64) (memory.size)))"#;

#[test]
fn a_64_bit_memory_is_shared_between_instances() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let engine = Engine::default();
        let libraries = [wat_library(PROVIDER, &opts), wat_library(CONSUMER, &opts)];
        let mut store = Store::new(&engine);
        let mut linker = Linker::new(&engine);
        let provider = linker.instantiate(&mut store, &load(&engine, &libraries[0])).expect("the provider");
        linker.instance(&store, "provider", provider).unwrap();
        let consumer = linker.instantiate(&mut store, &load(&engine, &libraries[1])).expect("the consumer");
        let store = &mut store;
        let load_at = |store: &mut Store, at: i64| call(store, &provider, "load", &[Val::I64(at)]);
        assert_eq!(load_at(store, 0x10).unwrap()[0].i32(), Some(7), "{what}: the consumer's data segment");
        call(store, &consumer, "store", &[Val::I64(0x20), Val::I32(-5)]).unwrap();
        assert_eq!(load_at(store, 0x20).unwrap()[0].i32(), Some(-5), "{what}");
        assert_trap(load_at(store, PAGE as i64), TrapCode::MemoryOutOfBounds, &what);
        // The importer checks against the exporter's length: no guard
        // region stands behind a 64-bit memory.
        let result = call(store, &consumer, "store", &[Val::I64(PAGE as i64), Val::I32(1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store through the import"));
        assert_eq!(i64s(call(store, &consumer, "grow", &[Val::I64(2)]).unwrap()), [1], "{what}");
        assert_eq!(load_at(store, PAGE as i64).unwrap()[0].i32(), Some(0), "{what}: grown through the import");
        assert_eq!(i64s(call(store, &consumer, "grow", &[Val::I64(2)]).unwrap()), [-1], "{what}: past the maximum");
        assert_eq!(i64s(call(store, &consumer, "size", &[]).unwrap()), [3], "{what}");
        let result = call(store, &consumer, "store", &[Val::I64(3 * PAGE as i64 - 3), Val::I32(1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store past the grown import"));
    }
}

#[test]
fn a_64_bit_memory_does_not_link_as_a_32_bit_one() {
    let opts = CompileOptions::default();
    let engine = Engine::default();
    let provider = wat_library(PROVIDER, &opts);
    let narrow = wat_library(r#"(module (import "provider" "wide" (memory 1)))"#, &opts);
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let instance = linker.instantiate(&mut store, &load(&engine, &provider)).unwrap();
    linker.instance(&store, "provider", instance).unwrap();
    let error = linker.instantiate(&mut store, &load(&engine, &narrow)).expect_err("a link error");
    assert!(error.to_string().contains("wide"), "{error}");
}

/// With guard regions, a 32-bit memory's checks are handed to the hardware
/// where the access follows them; a 64-bit memory has no guard region, so
/// every one of its checks stays.
#[test]
fn a_64_bit_memory_keeps_its_checks_with_guard_regions() {
    let opts = CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() };
    let narrow = llvm_ir(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load (local.get 0))))"#,
        &opts,
        Emit::LlvmIr,
    );
    let wide = llvm_ir(
        r#"(module (memory i64 1) (func (export "f") (param i64) (result i32) (i32.load (local.get 0))))"#,
        &opts,
        Emit::LlvmIr,
    );
    // The block that raises "out of bounds memory access" goes with the
    // last check that branches to it.
    assert!(!narrow.contains("trap.bounds:"), "{narrow}");
    assert!(wide.contains("trap.bounds:"), "{wide}");
}

/// A 64-bit table of functions beside a 32-bit one.
const TABLES: &str = r#"(module
  (type $f (func (result i32)))
  (table $t (export "t") i64 4 8 funcref)
  (table $u 2 funcref)
  (func $one (type $f) (i32.const 1))
  (func $two (type $f) (i32.const 2))
  (elem (table $t) (i64.const 1) func $one $two)
  (elem $passive func $two $one)
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $f) (local.get 0)))
  (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "set") (param i64) (table.set $t (local.get 0) (ref.func $two)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "fill") (param i64 i64) (table.fill $t (local.get 0) (ref.func $one) (local.get 1)))
  (func (export "copy") (param i64 i64 i64) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_in") (param i64 i32 i32) (table.copy $t $u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (table.init $t $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_u") (param i32 i32 i32) (table.init $u $passive (local.get 0) (local.get 1) (local.get 2))))"#;

#[test]
fn table64_takes_i64_indices_everywhere() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let (mut store, instance, _library) = instantiate(TABLES, &opts);
        let store = &mut store;
        let i32_of = |results: Vec<Val>| results[0].i32().expect("an i32 result");
        let at = |i: i64| [Val::I64(i)];
        // The active segment, at an i64 offset.
        assert_eq!(i32_of(call(store, &instance, "call", &at(1)).unwrap()), 1, "{what}");
        assert_eq!(i32_of(call(store, &instance, "call", &at(2)).unwrap()), 2, "{what}");
        assert_trap(call(store, &instance, "call", &at(0)), TrapCode::UninitializedElement, &what);
        for index in [4i64, 1 << 32, -1] {
            let result = call(store, &instance, "call", &at(index));
            assert_trap(result, TrapCode::UndefinedElement, &format!("{what}: call_indirect at {index:#x}"));
            let result = call(store, &instance, "is_null", &at(index));
            assert_trap(result, TrapCode::TableOutOfBounds, &format!("{what}: table.get at {index:#x}"));
            let result = call(store, &instance, "set", &at(index));
            assert_trap(result, TrapCode::TableOutOfBounds, &format!("{what}: table.set at {index:#x}"));
        }
        call(store, &instance, "set", &at(3)).unwrap();
        assert_eq!(i32_of(call(store, &instance, "call", &at(3)).unwrap()), 2, "{what}");
        // size and grow in i64; growth past the maximum is -1.
        assert_eq!(i64s(call(store, &instance, "size", &[]).unwrap()), [4], "{what}");
        assert_eq!(i64s(call(store, &instance, "grow", &at(2)).unwrap()), [4], "{what}");
        assert_eq!(i64s(call(store, &instance, "grow", &at(3)).unwrap()), [-1], "{what}");
        assert_eq!(i64s(call(store, &instance, "grow", &at(-1)).unwrap()), [-1], "{what}");
        assert_eq!(i64s(call(store, &instance, "size", &[]).unwrap()), [6], "{what}");
        assert_eq!(i32_of(call(store, &instance, "is_null", &at(5)).unwrap()), 1, "{what}");
        // fill, copy and init with i64 operands; ranges that pass the end or
        // wrap around 2^64 trap and change nothing.
        call(store, &instance, "fill", &[Val::I64(4), Val::I64(2)]).unwrap();
        assert_eq!(i32_of(call(store, &instance, "call", &at(5)).unwrap()), 1, "{what}");
        call(store, &instance, "init", &[Val::I64(4), Val::I32(0), Val::I32(1)]).unwrap();
        assert_eq!(i32_of(call(store, &instance, "call", &at(4)).unwrap()), 2, "{what}");
        call(store, &instance, "copy", &[Val::I64(0), Val::I64(4), Val::I64(1)]).unwrap();
        assert_eq!(i32_of(call(store, &instance, "call", &at(0)).unwrap()), 2, "{what}");
        for (start, len) in [(-2i64, 4i64), (5, 2), (2, -1), (7, 0)] {
            let result = call(store, &instance, "fill", &[Val::I64(start), Val::I64(len)]);
            assert_trap(result, TrapCode::TableOutOfBounds, &format!("{what}: fill {len:#x} at {start:#x}"));
            let result = call(store, &instance, "copy", &[Val::I64(start), Val::I64(0), Val::I64(len)]);
            assert_trap(result, TrapCode::TableOutOfBounds, &format!("{what}: copy {len:#x} to {start:#x}"));
            let result = call(store, &instance, "copy", &[Val::I64(0), Val::I64(start), Val::I64(len)]);
            assert_trap(result, TrapCode::TableOutOfBounds, &format!("{what}: copy {len:#x} from {start:#x}"));
        }
        let result = call(store, &instance, "init", &[Val::I64(-1), Val::I32(0), Val::I32(2)]);
        assert_trap(result, TrapCode::TableOutOfBounds, &format!("{what}: init at -1"));
        assert_eq!(i32_of(call(store, &instance, "call", &at(0)).unwrap()), 2, "{what}: a failing operation wrote");
        assert_eq!(i32_of(call(store, &instance, "call", &at(1)).unwrap()), 1, "{what}: a failing operation wrote");
        // From the 32-bit table, the length is an i32.
        call(store, &instance, "init_u", &[Val::I32(0), Val::I32(0), Val::I32(2)]).unwrap();
        call(store, &instance, "copy_in", &[Val::I64(2), Val::I32(1), Val::I32(1)]).unwrap();
        assert_eq!(i32_of(call(store, &instance, "call", &at(2)).unwrap()), 1, "{what}");
        let result = call(store, &instance, "copy_in", &[Val::I64(-1), Val::I32(0), Val::I32(1)]);
        assert_trap(result, TrapCode::TableOutOfBounds, &format!("{what}: copy_in at -1"));
    }
}

// ---- loops over a 64-bit memory against a model of wasm semantics ----

/// A comparison of the loop test: the wasm instruction, and what it
/// computes.
type Comparison64 = (&'static str, fn(u64, u64) -> bool);

/// The comparisons a loop over a 64-bit memory may go on by.
const COMPARISONS64: [Comparison64; 9] = [
    ("i64.lt_s", |a, b| (a as i64) < (b as i64)),
    ("i64.lt_u", |a, b| a < b),
    ("i64.le_s", |a, b| (a as i64) <= (b as i64)),
    ("i64.le_u", |a, b| a <= b),
    ("i64.gt_s", |a, b| (a as i64) > (b as i64)),
    ("i64.gt_u", |a, b| a > b),
    ("i64.ge_s", |a, b| (a as i64) >= (b as i64)),
    ("i64.ge_u", |a, b| a >= b),
    ("i64.ne", |a, b| a != b),
];

/// A loop over a 64-bit memory with an `i64` counter `i`, storing it at
/// `base + i * stride` (`stride` a parameter, or the constant 8), counting
/// its iterations in global `n`, and going on while `i CMP bound` (tested
/// after the body).
fn loop64(name: &str, cmp: &str, step: i64, constant_stride: bool) -> String {
    let stride = if constant_stride { "(i64.const 8)" } else { "(local.get $stride)" };
    format!(
        "(func (export \"{name}\") (param $i i64) (param $bound i64) (param $base i64) (param $stride i64)
           (loop $l
             (i64.store (i64.add (local.get $base) (i64.mul (local.get $i) {stride})) (local.get $i))
             (global.set $n (i32.add (global.get $n) (i32.const 1)))
             (local.set $i (i64.add (local.get $i) (i64.const {step})))
             (br_if $l ({cmp} (local.get $i) (local.get $bound)))))\n"
    )
}

/// What wasm does: the memory written, the final count, and whether it
/// trapped; `None` if the loop runs longer than a test should wait.
fn model64(cmp: fn(u64, u64) -> bool, step: i64, args: [u64; 4], memory: &mut [u8]) -> Option<(u32, bool)> {
    let [mut i, bound, base, stride] = args;
    for n in 1..=3000 {
        let address = base.wrapping_add(i.wrapping_mul(stride));
        let Some(at) = usize::try_from(address).ok().filter(|&a| a <= memory.len().saturating_sub(8)) else {
            return Some((n - 1, true));
        };
        memory[at..at + 8].copy_from_slice(&i.to_le_bytes());
        i = i.wrapping_add(step as u64);
        if !cmp(i, bound) {
            return Some((n, false));
        }
    }
    None
}

/// Counter values near where comparisons, wrap-around and the limits of
/// the test before a versioned loop (2^62) change.
const EDGES64: [u64; 12] = [
    0,
    1,
    100,
    1000,
    8191,
    (1 << 62) - 8,
    1 << 62,
    (1 << 62) + 8,
    (1 << 63) - 4,
    1 << 63,
    u64::MAX - 8,
    u64::MAX,
];
/// Bases near the ends of the one page of memory, and ones that wrap.
const BASES64: [u64; 6] = [0, 4096, PAGE - 400, PAGE - 8, 1 << 62, u64::MAX - 15];
/// Strides in bytes per step of `i`.
const STRIDES64: [u64; 6] = [8, u64::MAX - 7, 1, 0, 24, 1 << 61];

/// Loops over a 64-bit memory run checked and, where the test before them
/// admits it, without checks: whichever copy runs, the stores, the count
/// and the trap are what wasm says, for every comparison, step, stride,
/// and starts, bounds and bases at the edges of that test.
#[test]
fn loops_over_a_64_bit_memory_match_the_model() {
    let mut functions = String::new();
    let mut cases = Vec::new();
    for (cmp_index, (cmp, _)) in COMPARISONS64.iter().enumerate() {
        for step in [1i64, -1, 2, -3, 8] {
            for constant_stride in [false, true] {
                let name = format!("f{}", cases.len());
                functions.push_str(&loop64(&name, cmp, step, constant_stride));
                cases.push((name, cmp_index, step, constant_stride));
            }
        }
    }
    let module = format!(
        "(module (memory (export \"memory\") i64 1 1) (global $n (export \"n\") (mut i32) (i32.const 0))\n{functions})"
    );
    let random = pipeline::xorshift(8 * 24 * cases.len(), 0x64_1005);
    let mut picks = random.into_iter();
    let mut pick = |choices: &[u64]| choices[(picks.next().expect("enough numbers") % choices.len() as u64) as usize];
    let mut runs = Vec::new();
    for (index, &(_, cmp_index, step, constant_stride)) in cases.iter().enumerate() {
        for _ in 0..24 {
            let bound = pick(&EDGES64);
            let steps_before = pick(&[1, 2, 3, 17, 40, 999]) as i64;
            let start = bound.wrapping_sub(steps_before.wrapping_mul(step) as u64);
            let start = if pick(&[0, 1]) == 0 { start } else { pick(&EDGES64) };
            let stride = if constant_stride { 8 } else { pick(&STRIDES64) };
            let args = [start, bound, pick(&BASES64), stride];
            let mut memory = vec![0u8; PAGE as usize];
            if let Some((n, trapped)) = model64(COMPARISONS64[cmp_index].1, step, args, &mut memory) {
                runs.push((index, args, memory, n, trapped));
            }
        }
    }
    assert!(runs.len() > 1000, "only {} runs terminate", runs.len());
    assert!(runs.iter().any(|r| r.4) && runs.iter().any(|r| !r.4 && r.3 > 100), "both outcomes occur");

    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(&module, &opts);
        let memory = memory(&store, &instance, "memory");
        let n = instance.get_global(&store, "n").expect("n");
        for (index, args, want_memory, want_n, trapped) in &runs {
            let (name, cmp, step, _) = &cases[*index];
            let what = format!("{name} ({} step {step}) with {args:x?} at {at}", COMPARISONS64[*cmp].0);
            memory.data_mut(&mut store).expect("memory").fill(0);
            n.set(&mut store, Val::I32(0)).expect("n is mutable");
            let result = call(&mut store, &instance, name, &args.map(|a| Val::I64(a as i64)));
            if *trapped {
                assert_trap(result, TrapCode::MemoryOutOfBounds, &what);
            } else {
                result.unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            let count = n.get(&store).expect("n").i32().expect("an i32");
            assert_eq!(count, *want_n as i32, "iterations of {what}");
            assert!(memory.data(&store).expect("memory") == want_memory.as_slice(), "memory after {what}");
        }
    }
}

/// A loop over a 64-bit memory is versioned like one over a 32-bit memory:
/// one test before it, and a copy without checks (its blocks are named
/// `fast...`) beside the checked copy that runs when the test fails.
#[test]
fn a_loop_over_a_64_bit_memory_is_checked_once() {
    // `row[j] += x * y[j]`, unrolled twice, as clang emits it.
    const AXPY: &str = r#"(module (memory i64 1)
      (func (export "axpy") (param $row i64) (param $y i64) (param $x f64) (local $j i64) (local $p i64)
        (loop $l
          (local.set $p (i64.add (local.get $row) (local.get $j)))
          (f64.store (local.get $p) (f64.add (f64.load (local.get $p))
            (f64.mul (local.get $x) (f64.load (i64.add (local.get $y) (local.get $j))))))
          (f64.store offset=8 (local.get $p) (f64.add (f64.load offset=8 (local.get $p))
            (f64.mul (local.get $x) (f64.load offset=8 (i64.add (local.get $y) (local.get $j))))))
          (local.set $j (i64.add (local.get $j) (i64.const 16)))
          (br_if $l (i64.ne (local.get $j) (i64.const 6400))))))"#;
    for bounds_checks in [BoundsChecks::Guard, BoundsChecks::Explicit] {
        let opts = CompileOptions { opt_level: OptLevel::O2, bounds_checks, ..CompileOptions::default() };
        let ir = llvm_ir(AXPY, &opts, Emit::LlvmIr);
        // Blocks: a label line, then instructions up to an empty line.
        let blocks: Vec<&str> = ir.split("\n\n").collect();
        let fast: Vec<&&str> = blocks.iter().filter(|b| b.starts_with("fast")).collect();
        assert!(!fast.is_empty(), "no unchecked copy ({bounds_checks:?}):\n{ir}");
        assert!(fast.iter().any(|b| b.contains("store")), "the unchecked copy stores nothing:\n{ir}");
        assert!(fast.iter().all(|b| !b.contains("!kiln.bounds")), "a check in the unchecked copy:\n{ir}");
        assert!(ir.contains("!kiln.bounds"), "the checked loop is gone ({bounds_checks:?}):\n{ir}");
    }
}

/// Differential fuzzing seeds 7003482 and 7502848: an unused load at the
/// address 2^63 (computed, so that only the optimizer folds it) in a loop
/// over an empty 64-bit memory. LLVM merged its check into `length <
/// 2^63 + 2`, whose constant the loop versioning read back as a negative
/// end that any test admits, so the unchecked copy ran and the trap was
/// lost (the loop ran out of fuel at `unreachable` instead).
#[test]
fn a_check_merged_past_2_63_is_kept_in_a_loop() {
    const LOOP: &str = r#"(module (memory i64 0 1) (global $fuel (mut i32) (i32.const 1000))
      (func (export "f")
        (loop $l
          (if (i32.eqz (global.get $fuel)) (then unreachable))
          (global.set $fuel (i32.sub (global.get $fuel) (i32.const 1)))
          (drop (i32.load16_s (i64.trunc_sat_f64_u (f64.convert_i64_u
            (i64.trunc_sat_f64_s (f64.const 0x1.a70075ff972ecp+63))))))
          (br $l))))"#;
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (mut store, instance, _library) = instantiate(LOOP, &opts);
        let result = call(&mut store, &instance, "f", &[]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &describe(&opts));
    }
}
