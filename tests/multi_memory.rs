//! Multi-memory on real compiled code, at -O0 and -O2 and in both
//! bounds-check modes: each memory of a module keeps its own bytes, its own
//! size and its own bounds (a trap at one memory's end says nothing about
//! another's), `memory.grow`, `memory.fill`, `memory.init` and
//! `memory.copy` act on the memories they name (a copy between two
//! memories checks both ranges before it writes), memories are exported
//! and imported under any index and shared between instances, and memory
//! 0's code is the same whatever other memories the module has.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_loader::{Engine, Instance, Linker, Memory, Store, TrapCode, Val};
use pipeline::{Library, assert_trap, call, configurations, describe, instantiate, llvm_ir, load, wat_library};

/// Three memories of 1, 2 and 3 pages (at most 4), with data in the second
/// and third, and accessors for each.
const THREE: &str = r#"(module
  (memory $a (export "a") 1 4)
  (memory $b (export "b") 2 4)
  (memory $c (export "c") 3 4)
  (data (memory $b) (i32.const 8) "\01\02\03\04")
  (data (memory $c) (i32.const 0x20000) "\ff")
  (data $passive "hello")
  (func (export "load_a") (param i32) (result i32) (i32.load $a (local.get 0)))
  (func (export "load_b") (param i32) (result i32) (i32.load $b (local.get 0)))
  (func (export "load_c") (param i32) (result i32) (i32.load $c (local.get 0)))
  (func (export "store_a") (param i32 i32) (i32.store $a (local.get 0) (local.get 1)))
  (func (export "store_c") (param i32 i32) (i32.store $c offset=1 (local.get 0) (local.get 1)))
  (func (export "v128_c") (param i32) (result i32)
    (i32x4.extract_lane 3 (v128.load $c (local.get 0))))
  (func (export "lane_store_b") (param i32 i32)
    (v128.store32_lane $b 2 (local.get 0) (i32x4.splat (local.get 1))))
  (func (export "sizes") (result i32 i32 i32) (memory.size $a) (memory.size $b) (memory.size $c))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "copy_ca") (param i32 i32 i32) (memory.copy $c $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_bb") (param i32 i32 i32) (memory.copy $b $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill_c") (param i32 i32 i32) (memory.fill $c (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_c") (param i32 i32 i32) (memory.init $c $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $passive)))"#;

fn i32s(values: Vec<Val>) -> Vec<i32> {
    values.iter().map(|v| v.i32().expect("an i32 result")).collect()
}

/// The three memories' exports of an instance of [`THREE`].
fn memories(store: &Store, instance: &Instance) -> [Memory; 3] {
    ["a", "b", "c"].map(|name| instance.get_memory(store, name).unwrap_or_else(|| panic!("no memory `{name}`")))
}

/// `len` bytes of `memory` from `at`.
fn bytes(store: &Store, memory: Memory, at: usize, len: usize) -> Vec<u8> {
    memory.data(store).expect("the store's memory")[at..at + len].to_vec()
}

/// Every test runs at these levels, in both bounds-check modes.
fn each_configuration(test: impl Fn(&CompileOptions, &mut Store, &Instance)) {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (mut store, instance, _library) = instantiate(THREE, &opts);
        test(&opts, &mut store, &instance);
    }
}

#[test]
fn a_store_to_one_memory_leaves_the_others_alone() {
    each_configuration(|opts, store, instance| {
        let what = describe(opts);
        let [a, b, c] = memories(store, instance);
        assert_eq!(bytes(store, b, 8, 4), [1, 2, 3, 4], "{what}: memory 1's data segment");
        assert_eq!(bytes(store, c, 0x20000, 1), [0xff], "{what}: memory 2's data segment");
        assert_eq!(bytes(store, a, 8, 4), [0; 4], "{what}: memory 0 got no segment");
        call(store, instance, "store_c", &[Val::I32(100), Val::I32(0x1122_3344)]).unwrap();
        assert_eq!(bytes(store, c, 101, 4), [0x44, 0x33, 0x22, 0x11], "{what}");
        assert_eq!(i32s(call(store, instance, "load_c", &[Val::I32(101)]).unwrap()), [0x1122_3344], "{what}");
        for (name, memory) in [("load_a", a), ("load_b", b)] {
            assert_eq!(i32s(call(store, instance, name, &[Val::I32(101)]).unwrap()), [0], "{what}: {name}");
            assert_eq!(bytes(store, memory, 96, 16), [0; 16], "{what}: {name}'s memory");
        }
        call(store, instance, "lane_store_b", &[Val::I32(40), Val::I32(-2)]).unwrap();
        assert_eq!(bytes(store, b, 40, 4), [0xfe, 0xff, 0xff, 0xff], "{what}");
        assert_eq!(bytes(store, a, 40, 4), [0; 4], "{what}");
        assert_eq!(bytes(store, c, 40, 4), [0; 4], "{what}");
    });
}

#[test]
fn each_memory_traps_at_its_own_size() {
    each_configuration(|opts, store, instance| {
        let what = describe(opts);
        for (name, pages) in [("load_a", 1), ("load_b", 2), ("load_c", 3)] {
            let last = pages * 65536 - 4;
            assert!(call(store, instance, name, &[Val::I32(last)]).is_ok(), "{what}: {name} at {last}");
            for at in [last + 1, pages * 65536, -1] {
                let result = call(store, instance, name, &[Val::I32(at)]);
                assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: {name} at {at}"));
            }
        }
        // A store past memory 2's end, with its offset, writes nothing.
        let c = memories(store, instance)[2];
        let end = 3 * 65536;
        call(store, instance, "store_c", &[Val::I32(end - 5), Val::I32(-1)]).unwrap();
        let result = call(store, instance, "store_c", &[Val::I32(end - 4), Val::I32(0x0102_0304)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: store_c at the end"));
        assert_eq!(bytes(store, c, end as usize - 4, 4), [0xff; 4], "{what}: the trapping store wrote");
        // SIMD accesses: a whole vector, and one lane.
        assert!(call(store, instance, "v128_c", &[Val::I32(end - 16)]).is_ok(), "{what}");
        assert_trap(call(store, instance, "v128_c", &[Val::I32(end - 15)]), TrapCode::MemoryOutOfBounds, &what);
        assert!(call(store, instance, "lane_store_b", &[Val::I32(2 * 65536 - 4), Val::I32(1)]).is_ok(), "{what}");
        let result = call(store, instance, "lane_store_b", &[Val::I32(2 * 65536 - 3), Val::I32(1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &what);
    });
}

#[test]
fn growing_one_memory_leaves_the_others_alone() {
    each_configuration(|opts, store, instance| {
        let what = describe(opts);
        assert_eq!(i32s(call(store, instance, "sizes", &[]).unwrap()), [1, 2, 3], "{what}");
        assert_trap(call(store, instance, "load_b", &[Val::I32(2 * 65536)]), TrapCode::MemoryOutOfBounds, &what);
        assert_eq!(i32s(call(store, instance, "grow_b", &[Val::I32(1)]).unwrap()), [2], "{what}");
        assert_eq!(i32s(call(store, instance, "sizes", &[]).unwrap()), [1, 3, 3], "{what}");
        assert_eq!(i32s(call(store, instance, "load_b", &[Val::I32(2 * 65536)]).unwrap()), [0], "{what}");
        assert_trap(call(store, instance, "load_a", &[Val::I32(65536)]), TrapCode::MemoryOutOfBounds, &what);
        // Past memory 1's maximum of 4 pages: -1, and nothing changes.
        assert_eq!(i32s(call(store, instance, "grow_b", &[Val::I32(2)]).unwrap()), [-1], "{what}");
        assert_eq!(i32s(call(store, instance, "sizes", &[]).unwrap()), [1, 3, 3], "{what}");
        let [a, b, c] = memories(store, instance);
        let pages: Vec<u64> = [a, b, c].iter().map(|m| m.size(&*store).unwrap()).collect();
        assert_eq!(pages, [1, 3, 3], "{what}: as the host sees them");
    });
}

#[test]
fn memory_copy_between_memories_checks_both_ranges() {
    each_configuration(|opts, store, instance| {
        let what = describe(opts);
        let [a, b, c] = memories(store, instance);
        call(store, instance, "store_a", &[Val::I32(0), Val::I32(0x0d0c_0b0a)]).unwrap();
        call(store, instance, "copy_ca", &[Val::I32(10), Val::I32(0), Val::I32(4)]).unwrap();
        assert_eq!(bytes(store, c, 10, 4), [0x0a, 0x0b, 0x0c, 0x0d], "{what}: copied into memory 2");
        assert_eq!(bytes(store, a, 10, 4), [0; 4], "{what}: memory 0 is only the source");
        // Overlapping ranges in one memory copy as if through a buffer.
        call(store, instance, "copy_bb", &[Val::I32(9), Val::I32(8), Val::I32(4)]).unwrap();
        assert_eq!(bytes(store, b, 8, 5), [1, 1, 2, 3, 4], "{what}: forward overlap");
        call(store, instance, "copy_bb", &[Val::I32(8), Val::I32(9), Val::I32(4)]).unwrap();
        assert_eq!(bytes(store, b, 8, 5), [1, 2, 3, 4, 4], "{what}: backward overlap");
        // Each range against its own memory's size: the destination's three
        // pages do not make room for a source past memory 0's one page.
        let c_end = 3 * 65536;
        for (dst, src, len) in [(c_end - 3, 0, 4), (0, 65533, 4), (c_end + 1, 0, 0), (0, 65537, 0)] {
            let result = call(store, instance, "copy_ca", &[Val::I32(dst), Val::I32(src), Val::I32(len)]);
            assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: copy {len} from {src} to {dst}"));
        }
        assert_eq!(bytes(store, c, 0, 4), [0; 4], "{what}: a failing copy wrote");
        assert_eq!(bytes(store, c, c_end as usize - 3, 3), [0; 3], "{what}: a failing copy wrote");
        call(store, instance, "copy_ca", &[Val::I32(c_end), Val::I32(65536), Val::I32(0)]).unwrap();
        call(store, instance, "copy_ca", &[Val::I32(c_end - 4), Val::I32(65532), Val::I32(4)]).unwrap();
    });
}

#[test]
fn fill_and_init_write_the_memory_they_name() {
    each_configuration(|opts, store, instance| {
        let what = describe(opts);
        let [a, b, c] = memories(store, instance);
        call(store, instance, "init_c", &[Val::I32(5), Val::I32(0), Val::I32(5)]).unwrap();
        assert_eq!(bytes(store, c, 5, 5), *b"hello", "{what}");
        call(store, instance, "fill_c", &[Val::I32(6), Val::I32(0x2a), Val::I32(2)]).unwrap();
        assert_eq!(bytes(store, c, 5, 5), *b"h**lo", "{what}");
        assert_eq!(bytes(store, a, 0, 16), [0; 16], "{what}");
        assert_eq!(bytes(store, b, 0, 8), [0; 8], "{what}");
        let end = 3 * 65536;
        let result = call(store, instance, "init_c", &[Val::I32(end - 4), Val::I32(0), Val::I32(5)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: init past memory 2"));
        let result = call(store, instance, "fill_c", &[Val::I32(end - 1), Val::I32(1), Val::I32(2)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: fill past memory 2"));
        assert_eq!(bytes(store, c, end as usize - 4, 4), [0; 4], "{what}: a failing fill or init wrote");
        call(store, instance, "drop", &[]).unwrap();
        let result = call(store, instance, "init_c", &[Val::I32(0), Val::I32(0), Val::I32(1)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: init of a dropped segment"));
    });
}

/// Exports two memories; reads them.
const PROVIDER: &str = r#"(module
  (memory (export "small") 1 3)
  (memory (export "large") 2)
  (func (export "load_small") (param i32) (result i32) (i32.load 0 (local.get 0)))
  (func (export "load_large") (param i32) (result i32) (i32.load 1 (local.get 0))))"#;

/// Imports the provider's memories in the other order, and the small one a
/// second time, then defines one of its own: memory 0 is the provider's
/// large memory, 1 and 2 its small one, 3 the consumer's.
const CONSUMER: &str = r#"(module
  (import "provider" "large" (memory $large 2))
  (import "provider" "small" (memory $small 1 3))
  (import "provider" "small" (memory $again 1))
  (memory $own (export "own") 1)
  (data (memory $small) (i32.const 0) "\07")
  (data (memory $own) (i32.const 0) "\2a\00\00\00")
  (func (export "store_small") (param i32 i32) (i32.store $small (local.get 0) (local.get 1)))
  (func (export "store_large") (param i32 i32) (i32.store $large (local.get 0) (local.get 1)))
  (func (export "load_again") (param i32) (result i32) (i32.load $again (local.get 0)))
  (func (export "grow_small") (param i32) (result i32) (memory.grow $small (local.get 0)))
  (func (export "size_again") (result i32) (memory.size $again))
  (func (export "own_to_large") (param i32) (memory.copy $large $own (local.get 0) (i32.const 0) (i32.const 4)))
  (func (export "small_to_again") (param i32 i32 i32)
    (memory.copy $again $small (local.get 0) (local.get 1) (local.get 2))))"#;

/// The provider and the consumer in one store, linked.
fn linked(opts: &CompileOptions) -> (Store, Instance, Instance, [Library; 2]) {
    let engine = Engine::default();
    let libraries = [wat_library(PROVIDER, opts), wat_library(CONSUMER, opts)];
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let provider = linker.instantiate(&mut store, &load(&engine, &libraries[0])).expect("the provider");
    linker.instance(&store, "provider", provider).unwrap();
    let consumer = linker.instantiate(&mut store, &load(&engine, &libraries[1])).expect("the consumer");
    (store, provider, consumer, libraries)
}

#[test]
fn imported_memories_are_shared_under_any_index() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let (mut store, provider, consumer, _libraries) = linked(&opts);
        let store = &mut store;
        // The consumer's data segment went into the provider's memory.
        assert_eq!(i32s(call(store, &provider, "load_small", &[Val::I32(0)]).unwrap()), [7], "{what}");
        call(store, &consumer, "store_small", &[Val::I32(16), Val::I32(-5)]).unwrap();
        call(store, &consumer, "store_large", &[Val::I32(65536 + 16), Val::I32(99)]).unwrap();
        assert_eq!(i32s(call(store, &provider, "load_small", &[Val::I32(16)]).unwrap()), [-5], "{what}");
        assert_eq!(i32s(call(store, &provider, "load_large", &[Val::I32(65536 + 16)]).unwrap()), [99], "{what}");
        assert_eq!(i32s(call(store, &consumer, "load_again", &[Val::I32(16)]).unwrap()), [-5], "{what}");
        // The consumer's own memory into the provider's large one.
        call(store, &consumer, "own_to_large", &[Val::I32(400)]).unwrap();
        assert_eq!(i32s(call(store, &provider, "load_large", &[Val::I32(400)]).unwrap()), [42], "{what}");
        // One memory under two indices: an overlapping copy between them
        // is a copy within one memory.
        call(store, &consumer, "store_small", &[Val::I32(32), Val::I32(0x0403_0201)]).unwrap();
        call(store, &consumer, "small_to_again", &[Val::I32(33), Val::I32(32), Val::I32(4)]).unwrap();
        let small = provider.get_memory(&*store, "small").unwrap();
        assert_eq!(bytes(store, small, 32, 5), [1, 1, 2, 3, 4], "{what}: overlap through two indices");
        // Growth through one index is seen through the other and by the
        // provider; its bounds follow.
        assert_trap(call(store, &consumer, "load_again", &[Val::I32(65536)]), TrapCode::MemoryOutOfBounds, &what);
        assert_eq!(i32s(call(store, &consumer, "grow_small", &[Val::I32(1)]).unwrap()), [1], "{what}");
        assert_eq!(i32s(call(store, &consumer, "size_again", &[]).unwrap()), [2], "{what}");
        assert_eq!(small.size(&*store).unwrap(), 2, "{what}");
        assert_eq!(i32s(call(store, &consumer, "load_again", &[Val::I32(65536)]).unwrap()), [0], "{what}");
        assert_eq!(i32s(call(store, &provider, "load_small", &[Val::I32(2 * 65536 - 4)]).unwrap()), [0], "{what}");
        let result = call(store, &provider, "load_large", &[Val::I32(2 * 65536 - 3)]);
        assert_trap(result, TrapCode::MemoryOutOfBounds, &format!("{what}: the large memory did not grow"));
    }
}

#[test]
fn an_import_must_fit_its_declared_limits() {
    let opts = CompileOptions::default();
    let engine = Engine::default();
    let provider = wat_library(PROVIDER, &opts);
    let wants_more = wat_library(
        r#"(module (import "provider" "small" (memory 1)) (import "provider" "large" (memory 3)))"#,
        &opts,
    );
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let instance = linker.instantiate(&mut store, &load(&engine, &provider)).unwrap();
    linker.instance(&store, "provider", instance).unwrap();
    let error = linker.instantiate(&mut store, &load(&engine, &wants_more)).expect_err("a link error");
    assert!(error.to_string().contains("large"), "{error}");
}

/// A function that uses only memory 0.
const MEMORY0_FUNCTION: &str = r#"
  (func (export "sum") (param $p i32) (param $n i32) (result i32)
    (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.load offset=4 (local.get $p))))
      (i32.store8 (local.get $p) (local.get $s))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s))"#;

/// The body of the first wasm function in `ir`.
fn first_function(ir: &str) -> &str {
    let start = ir.find("@kiln_func_0(").expect("the function");
    let rest = &ir[start..];
    &rest[..rest.find("\n}\n").expect("its end")]
}

/// Memory 0 is where it is in a module with one memory, so the code of a
/// function that uses only memory 0 does not change when more memories
/// follow: multi-memory costs single-memory code nothing.
#[test]
fn memory_zero_code_does_not_depend_on_other_memories() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let one = format!("(module (memory 1) {MEMORY0_FUNCTION})");
        let three = format!("(module (memory 1) (memory 2) (memory 0 1) {MEMORY0_FUNCTION})");
        let single = llvm_ir(&one, &opts, Emit::LlvmIr);
        let several = llvm_ir(&three, &opts, Emit::LlvmIr);
        assert_eq!(first_function(&single), first_function(&several), "{}", describe(&opts));
        assert!(first_function(&single).contains("load"), "{}", describe(&opts));
    }
}
