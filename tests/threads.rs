//! The threads proposal through the runtime API: OS threads, each with a
//! store of its own, run instances that import one [`SharedMemory`].
//!
//! Every result checked here is deterministic whatever the interleaving:
//! totals of atomic increments, a counter guarded by a lock built from
//! `cmpxchg`, `wait32` and `notify`, the set of values `rmw.add` handed
//! out, wait results, and how many waiters notifies woke in all.

mod pipeline;

use kiln::{CompileOptions, OptLevel};
use kiln_loader::{Engine, Instance, Limits, Linker, Memory, MemoryType, Module, SharedMemory, Store, TrapCode, Val};
use pipeline::{Library, assert_trap, call, configurations, describe, load, wat_library};
use std::sync::Barrier;

/// Works on the imported shared memory: a counter at 0 (atomic), a lock
/// at 8 guarding a plain counter at 16, a waiting cell at 24, and from
/// 4096 one byte per value `rmw.add` returned.
const MODULE: &str = r#"(module
  (import "env" "memory" (memory 1 4 shared))
  (func (export "atomic_add") (param $n i32)
    (local $old i32)
    (loop $next
      (local.set $old (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      ;; Each value handed out is marked once.
      (drop (i32.atomic.rmw8.add_u offset=4096 (local.get $old) (i32.const 1)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func $lock
    (block $taken
      (loop $retry
        (br_if $taken (i32.eqz (i32.atomic.rmw.cmpxchg (i32.const 8) (i32.const 0) (i32.const 1))))
        (drop (memory.atomic.wait32 (i32.const 8) (i32.const 1) (i64.const -1)))
        (br $retry))))
  (func $unlock
    (i32.atomic.store (i32.const 8) (i32.const 0))
    (drop (memory.atomic.notify (i32.const 8) (i32.const 1))))
  (func (export "locked_add") (param $n i32)
    (loop $next
      (call $lock)
      ;; Not atomic: only the lock keeps increments from being lost.
      (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
      (call $unlock)
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "wait") (param $expected i32) (param $timeout i64) (result i32)
    (memory.atomic.wait32 (i32.const 24) (local.get $expected) (local.get $timeout)))
  (func (export "wait64") (param $expected i64) (param $timeout i64) (result i32)
    (memory.atomic.wait64 (i32.const 24) (local.get $expected) (local.get $timeout)))
  (func (export "notify") (param $count i32) (result i32)
    (memory.atomic.notify (i32.const 24) (local.get $count)))
  (func (export "load") (param $at i32) (result i32) (i32.atomic.load (local.get $at)))
  (func (export "unaligned") (result i32) (i32.atomic.load offset=1 (i32.const 0)))
  (func (export "past_end") (param $at i32) (result i32) (i32.atomic.rmw.add (local.get $at) (i32.const 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param $pages i32) (result i32) (memory.grow (local.get $pages))))"#;

const THREADS: usize = 4;

fn shared_memory() -> SharedMemory {
    SharedMemory::new(MemoryType { shared: true, ..MemoryType::new(Limits { min: 1, max: Some(4) }) })
        .expect("a shared memory")
}

/// A store of its own with an instance of `module` importing `memory`.
fn instantiate(engine: &Engine, module: &Module, memory: &SharedMemory) -> (Store, Instance) {
    let mut store = Store::new(engine);
    let imported = Memory::from_shared(&mut store, memory).expect("the shared memory in this store");
    let mut linker = Linker::new(engine);
    linker.define("env", "memory", imported);
    let instance = linker.instantiate(&mut store, module).expect("instantiation");
    (store, instance)
}

/// Runs `body` on `THREADS` threads at once, each with its own store and
/// instance over `memory`, and returns what each returned.
fn on_threads<T: Send>(
    engine: &Engine,
    module: &Module,
    memory: &SharedMemory,
    body: impl Fn(usize, &mut Store, &Instance) -> T + Sync,
) -> Vec<T> {
    let start = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (start, body) = (&start, &body);
                scope.spawn(move || {
                    let (mut store, instance) = instantiate(engine, module, memory);
                    start.wait();
                    body(i, &mut store, &instance)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a thread panicked")).collect()
    })
}

fn each_configuration(test: impl Fn(&CompileOptions, &Engine, &Module)) {
    let engine = Engine::default();
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let library = wat_library(MODULE, &opts);
        let module = load(&engine, &library);
        test(&opts, &engine, &module);
    }
}

fn o2() -> CompileOptions {
    CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() }
}

/// `wat` compiled at -O2 and loaded; the library must outlive the module.
fn at_o2(wat: &str) -> (Engine, Module, Library) {
    let engine = Engine::default();
    let library = wat_library(wat, &o2());
    let module = load(&engine, &library);
    (engine, module, library)
}

fn i32_of(results: Vec<Val>) -> i32 {
    results[0].i32().expect("an i32 result")
}

/// `len` bytes of `memory` from `at`, read through a store of its own.
fn bytes(memory: &SharedMemory, at: usize, len: usize) -> Vec<u8> {
    let mut store = Store::new(&Engine::default());
    let view = Memory::from_shared(&mut store, memory).unwrap();
    view.data(&store).unwrap()[at..at + len].to_vec()
}

fn word(memory: &SharedMemory, at: usize) -> u32 {
    u32::from_le_bytes(bytes(memory, at, 4).try_into().unwrap())
}

/// A fresh shared memory after every thread called `export(each)`.
fn after_calls_on_threads(engine: &Engine, module: &Module, export: &str, each: i32) -> SharedMemory {
    let memory = shared_memory();
    on_threads(engine, module, &memory, |_, store, instance| {
        call(store, instance, export, &[Val::I32(each)]).unwrap_or_else(|e| panic!("{export}: {e}"));
    });
    memory
}

#[test]
fn atomic_increments_from_every_thread_add_up() {
    const EACH: i32 = 5000;
    each_configuration(|opts, engine, module| {
        let memory = after_calls_on_threads(engine, module, "atomic_add", EACH);
        let total = THREADS * EACH as usize;
        assert_eq!(word(&memory, 0), total as u32, "{}", describe(opts));
        // Every value from 0 to total - 1 was handed out exactly once.
        let marks = bytes(&memory, 4096, total);
        let wrong: Vec<usize> = marks.iter().enumerate().filter(|(_, m)| **m != 1).map(|(i, _)| i).collect();
        assert!(wrong.is_empty(), "{}: values handed out other than once: {:?}", describe(opts), &wrong[..wrong.len().min(10)]);
    });
}

#[test]
fn a_lock_made_of_cmpxchg_wait_and_notify_keeps_a_plain_counter_exact() {
    const EACH: i32 = 2000;
    each_configuration(|opts, engine, module| {
        let memory = after_calls_on_threads(engine, module, "locked_add", EACH);
        assert_eq!(word(&memory, 16), THREADS as u32 * EACH as u32, "{}", describe(opts));
        assert_eq!(word(&memory, 8), 0, "{}: the lock is free at the end", describe(opts));
    });
}

#[test]
fn wait_returns_not_equal_or_timed_out() {
    let (engine, module, _library) = at_o2(MODULE);
    let memory = shared_memory();
    let (mut store, instance) = instantiate(&engine, &module, &memory);
    // The cell holds 0: another value is "not equal" at once.
    assert_eq!(i32_of(call(&mut store, &instance, "wait", &[Val::I32(1), Val::I64(-1)]).unwrap()), 1);
    assert_eq!(i32_of(call(&mut store, &instance, "wait64", &[Val::I64(1 << 32), Val::I64(-1)]).unwrap()), 1);
    // The expected value with a timeout: "timed out" (1 ms, then 0 ns).
    assert_eq!(i32_of(call(&mut store, &instance, "wait", &[Val::I32(0), Val::I64(1_000_000)]).unwrap()), 2);
    assert_eq!(i32_of(call(&mut store, &instance, "wait64", &[Val::I64(0), Val::I64(0)]).unwrap()), 2);
    // Nobody waits: nobody is woken.
    assert_eq!(i32_of(call(&mut store, &instance, "notify", &[Val::I32(10)]).unwrap()), 0);
}

#[test]
fn notify_counts_the_waiters_it_wakes() {
    let (engine, module, _library) = at_o2(MODULE);
    let memory = shared_memory();
    let (mut store, instance) = instantiate(&engine, &module, &memory);
    let waiters = THREADS - 1;
    let woken = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..waiters)
            .map(|_| {
                let (engine, module, memory) = (&engine, &module, &memory);
                scope.spawn(move || {
                    let (mut store, instance) = instantiate(engine, module, memory);
                    // Without a timeout: only a notify ends it.
                    i32_of(call(&mut store, &instance, "wait", &[Val::I32(0), Val::I64(-1)]).unwrap())
                })
            })
            .collect();
        // Wake one at a time until every waiter is accounted for: a notify
        // before a thread parks wakes nobody and says so.
        let mut woken = 0;
        while woken < waiters {
            let n = i32_of(call(&mut store, &instance, "notify", &[Val::I32(1)]).unwrap());
            assert!(n == 0 || n == 1, "notify(1) woke {n}");
            woken += n as usize;
            std::thread::yield_now();
        }
        let results: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results, vec![0; waiters], "every waiter was woken (\"ok\")");
        woken
    });
    assert_eq!(woken, waiters);
    assert_eq!(i32_of(call(&mut store, &instance, "notify", &[Val::I32(-1)]).unwrap()), 0, "nobody is left");
}

#[test]
fn atomic_accesses_trap_unaligned_and_out_of_bounds() {
    each_configuration(|opts, engine, module| {
        let what = describe(opts);
        let memory = shared_memory();
        let (mut store, instance) = instantiate(engine, module, &memory);
        assert_trap(call(&mut store, &instance, "unaligned", &[]), TrapCode::HeapMisaligned, &what);
        assert_trap(call(&mut store, &instance, "past_end", &[Val::I32(65536)]), TrapCode::MemoryOutOfBounds, &what);
        // Unaligned comes first, as the spec orders the checks.
        assert_trap(call(&mut store, &instance, "past_end", &[Val::I32(65537)]), TrapCode::HeapMisaligned, &what);
        assert_eq!(i32_of(call(&mut store, &instance, "past_end", &[Val::I32(65532)]).unwrap()), 0, "{what}");
    });
}

#[test]
fn growth_in_one_thread_is_seen_by_every_store() {
    let (engine, module, _library) = at_o2(MODULE);
    let memory = shared_memory();
    let (mut store, instance) = instantiate(&engine, &module, &memory);
    // Every thread grows by one page at once: the growths are serialized,
    // so the old sizes are 1, 2 and 3 in some order, and the fourth fails.
    let mut old: Vec<i32> = on_threads(&engine, &module, &memory, |_, store, instance| {
        i32_of(call(store, instance, "grow", &[Val::I32(1)]).unwrap())
    });
    old.sort();
    assert_eq!(old, [-1, 1, 2, 3]);
    assert_eq!(memory.pages(), 4);
    assert_eq!(i32_of(call(&mut store, &instance, "size", &[]).unwrap()), 4, "another store sees the growth");
    // The new pages are usable from this store's code.
    assert_eq!(i32_of(call(&mut store, &instance, "past_end", &[Val::I32(4 * 65536 - 4)]).unwrap()), 0);
    assert_eq!(i32_of(call(&mut store, &instance, "load", &[Val::I32(4 * 65536 - 4)]).unwrap()), 1);
}

#[test]
fn a_module_defined_shared_memory_is_exported_to_other_threads() {
    let wat = r#"(module
      (memory (export "memory") 1 1 shared)
      (func (export "bump") (result i32) (i32.atomic.rmw.add (i32.const 64) (i32.const 1))))"#;
    let (engine, module, _library) = at_o2(wat);
    let mut store = Store::new(&engine);
    let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    let exported = instance.get_memory(&store, "memory").unwrap();
    let shared = exported.shared(&store).unwrap().expect("a shared memory");
    assert!(Memory::new(&mut store, MemoryType { shared: false, ..shared.ty() }).unwrap().shared(&store).unwrap().is_none());
    let importer = r#"(module
      (import "env" "memory" (memory 1 1 shared))
      (func (export "bump") (result i32) (i32.atomic.rmw.add (i32.const 64) (i32.const 1))))"#;
    let importer_library = wat_library(importer, &o2());
    let importer = load(&engine, &importer_library);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let (mut store, instance) = instantiate(&engine, &importer, &shared);
                for _ in 0..100 {
                    call(&mut store, &instance, "bump", &[]).unwrap();
                }
            });
        }
    });
    assert_eq!(i32_of(call(&mut store, &instance, "bump", &[]).unwrap()), 300);
}

#[test]
fn only_shared_types_make_shared_memories() {
    let unshared = MemoryType::new(Limits { min: 1, max: Some(1) });
    assert!(SharedMemory::new(unshared).is_err());
    let unbounded = MemoryType { shared: true, ..MemoryType::new(Limits { min: 1, max: None }) };
    assert!(SharedMemory::new(unbounded).is_err());
}

/// Atomics of a shared 64-bit memory (memory 1: `i64` addresses, offsets
/// near 2^64) beside an unshared 32-bit memory 0.
const TWO_MEMORIES: &str = r#"(module
  (memory $plain 1)
  (memory $wide i64 1 2 shared)
  (func (export "add64") (param i64 i64) (result i64) (i64.atomic.rmw.add $wide (local.get 0) (local.get 1)))
  (func (export "cmpxchg") (param i64 i32 i32) (result i32)
    (i32.atomic.rmw.cmpxchg $wide (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load_far") (param i64) (result i32) (i32.atomic.load $wide offset=0xffff_ffff_ffff_fff0 (local.get 0)))
  (func (export "store8") (param i64 i32) (i32.atomic.store8 $wide offset=1 (local.get 0) (local.get 1)))
  (func (export "load8") (param i64) (result i32) (i32.atomic.load8_u $wide (local.get 0)))
  (func (export "wait64") (param i64) (result i32) (memory.atomic.wait64 $wide (local.get 0) (i64.const 7) (i64.const 0)))
  (func (export "grow") (result i64) (memory.grow $wide (i64.const 1)))
  (func (export "plain_add") (param i32 i32) (result i32) (i32.atomic.rmw.add $plain (local.get 0) (local.get 1)))
  (func (export "plain_wait") (result i32) (memory.atomic.wait32 $plain (i32.const 0) (i32.const 0) (i64.const 0)))
  (func (export "plain_notify") (result i32) (memory.atomic.notify $plain (i32.const 0) (i32.const 5))))"#;

#[test]
fn atomics_take_i64_addresses_and_any_memory() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let (mut store, instance, _library) = pipeline::instantiate(TWO_MEMORIES, &opts);
        let mut call = |name: &str, args: &[Val]| call(&mut store, &instance, name, args);
        let i64_of = |r: Vec<Val>| r[0].i64().expect("an i64 result");
        assert_eq!(i64_of(call("add64", &[Val::I64(8), Val::I64(5)]).unwrap()), 0, "{what}");
        assert_eq!(i64_of(call("add64", &[Val::I64(8), Val::I64(1)]).unwrap()), 5, "{what}");
        assert_eq!(i64_of(call("add64", &[Val::I64(65528), Val::I64(1)]).unwrap()), 0, "{what}");
        assert_trap(call("add64", &[Val::I64(65536), Val::I64(1)]), TrapCode::MemoryOutOfBounds, &what);
        assert_trap(call("add64", &[Val::I64(4), Val::I64(1)]), TrapCode::HeapMisaligned, &what);
        // address + offset = 2^64: out of bounds, not address 0.
        assert_trap(call("load_far", &[Val::I64(0x10)]), TrapCode::MemoryOutOfBounds, &what);
        assert_trap(call("load_far", &[Val::I64(0x11)]), TrapCode::HeapMisaligned, &what);
        assert_trap(call("store8", &[Val::I64(0xffff), Val::I32(7)]), TrapCode::MemoryOutOfBounds, &what);
        call("store8", &[Val::I64(0xfffe), Val::I32(0x107)]).unwrap();
        assert_eq!(i32_of(call("load8", &[Val::I64(0xffff)]).unwrap()), 7, "{what}: the low byte");
        assert_eq!(i32_of(call("cmpxchg", &[Val::I64(16), Val::I32(0), Val::I32(9)]).unwrap()), 0, "{what}");
        assert_eq!(i32_of(call("cmpxchg", &[Val::I64(16), Val::I32(0), Val::I32(3)]).unwrap()), 9, "{what}");
        assert_eq!(i32_of(call("load8", &[Val::I64(16)]).unwrap()), 9, "{what}: the failed exchange wrote nothing");
        // Growth makes the next page reachable.
        assert_eq!(i64_of(call("grow", &[]).unwrap()), 1, "{what}");
        assert_eq!(i64_of(call("add64", &[Val::I64(65536), Val::I64(7)]).unwrap()), 0, "{what}");
        assert_eq!(i32_of(call("wait64", &[Val::I64(65536)]).unwrap()), 2, "{what}: equal, timed out");
        assert_eq!(i32_of(call("wait64", &[Val::I64(8)]).unwrap()), 1, "{what}: not equal");
        // Memory 0 is another memory, and unshared.
        assert_eq!(i32_of(call("plain_add", &[Val::I32(8), Val::I32(2)]).unwrap()), 0, "{what}");
        assert_eq!(i32_of(call("plain_add", &[Val::I32(8), Val::I32(0)]).unwrap()), 2, "{what}");
        assert_trap(call("plain_wait", &[]), TrapCode::ExpectedSharedMemory, &what);
        assert_eq!(i32_of(call("plain_notify", &[]).unwrap()), 0, "{what}");
    }
}
