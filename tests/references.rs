//! Reference types, tables, bulk memory and linking between instances on
//! real compiled code: what one instance writes to a shared memory, table
//! or global the other sees; externrefs travel from the host through wasm
//! and back; tables are used from both sides; a failing instantiation keeps
//! the writes of the segments before the failing one; imports are checked
//! with reference subtyping.

mod pipeline;

use kiln::{CompileOptions, OptLevel};
use kiln_loader::{
    Engine, Error, ExternRef, Func, FuncType, Global, GlobalType, HeapType, Instance, Limits, Linker, Memory,
    MemoryType, Module, RefType, Store, Table, TableType, TrapCode, Val, ValType,
};
use pipeline::{Library, call, configurations, describe, load, wat_library};

/// Exports a memory, a growable table, a mutable and an immutable global
/// and functions that read them.
const PROVIDER: &str = r#"(module
  (type $get (func (result i32)))
  (memory (export "memory") 1 2)
  (table $table (export "table") 2 10 funcref)
  (global $counter (export "counter") (mut i32) (i32.const 5))
  (global (export "seven") i32 (i32.const 7))
  (func $seven (export "seven-fn") (type $get) (i32.const 7))
  (elem (table $table) (i32.const 0) func $seven)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "counter-value") (result i32) (global.get $counter))
  (func (export "call") (param i32) (result i32) (call_indirect $table (type $get) (local.get 0)))
  (func (export "size") (result i32) (table.size $table)))"#;

/// Imports all of the provider's exports and writes to them.
const CONSUMER: &str = r#"(module
  (type $get (func (result i32)))
  (import "provider" "memory" (memory 1))
  (import "provider" "table" (table $table 2 funcref))
  (import "provider" "counter" (global $counter (mut i32)))
  (import "provider" "seven" (global $seven i32))
  (import "provider" "seven-fn" (func $seven (type $get)))
  (func $eleven (type $get) (i32.const 11))
  (elem declare func $eleven $seven)
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "bump") (global.set $counter (i32.add (global.get $counter) (global.get $seven))))
  (func (export "install") (param i32) (table.set $table (local.get 0) (ref.func $eleven)))
  (func (export "grow") (param i32) (result i32) (table.grow $table (ref.func $seven) (local.get 0)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"#;

fn i32s(values: Vec<Val>) -> Vec<i32> {
    values.iter().map(|v| v.i32().expect("an i32 result")).collect()
}

/// Both modules instantiated in one store, the consumer linked to the
/// provider's exports.
struct Pair {
    store: Store,
    provider: Instance,
    consumer: Instance,
    _libraries: [Library; 2],
}

fn pair(opts: &CompileOptions) -> Pair {
    let engine = Engine::default();
    let libraries = [wat_library(PROVIDER, opts), wat_library(CONSUMER, opts)];
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let provider = linker.instantiate(&mut store, &load(&engine, &libraries[0])).unwrap();
    linker.instance(&store, "provider", provider).unwrap();
    let consumer = linker.instantiate(&mut store, &load(&engine, &libraries[1])).unwrap();
    Pair { store, provider, consumer, _libraries: libraries }
}

#[test]
fn instances_share_memories_tables_and_globals() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let Pair { mut store, provider, consumer, .. } = pair(&opts);
        let s = &mut store;

        // Memory: the consumer's stores and bulk operations, seen by the
        // provider and the host.
        call(s, &consumer, "store", &[Val::I32(16), Val::I32(0x0403_0201)]).unwrap();
        assert_eq!(i32s(call(s, &provider, "load", &[Val::I32(16)]).unwrap()), [0x0403_0201], "{what}");
        call(s, &consumer, "copy", &[Val::I32(100), Val::I32(16), Val::I32(4)]).unwrap();
        call(s, &consumer, "fill", &[Val::I32(104), Val::I32(0xAB), Val::I32(2)]).unwrap();
        let memory = provider.get_memory(&*s, "memory").unwrap();
        assert_eq!(&memory.data(&*s).unwrap()[100..107], &[1, 2, 3, 4, 0xAB, 0xAB, 0], "{what}");

        // Globals: the mutable one is one storage location for both.
        call(s, &consumer, "bump", &[]).unwrap();
        assert_eq!(i32s(call(s, &provider, "counter-value", &[]).unwrap()), [12], "{what}");
        provider.get_global(&*s, "counter").unwrap().set(&mut *s, Val::I32(100)).unwrap();
        call(s, &consumer, "bump", &[]).unwrap();
        assert_eq!(counter(s, &provider), 107, "{what}");

        // Tables: an element the consumer installs is called by the
        // provider; growth by one is seen by the other.
        assert_eq!(i32s(call(s, &provider, "call", &[Val::I32(0)]).unwrap()), [7], "{what}");
        call(s, &consumer, "install", &[Val::I32(1)]).unwrap();
        assert_eq!(i32s(call(s, &provider, "call", &[Val::I32(1)]).unwrap()), [11], "{what}");
        assert_eq!(i32s(call(s, &consumer, "grow", &[Val::I32(3)]).unwrap()), [2], "{what}");
        assert_eq!(i32s(call(s, &provider, "size", &[]).unwrap()), [5], "{what}");
        assert_eq!(i32s(call(s, &provider, "call", &[Val::I32(4)]).unwrap()), [7], "{what}");
        assert_eq!(i32s(call(s, &consumer, "grow", &[Val::I32(6)]).unwrap()), [-1], "{what}: past the maximum");
        let err = call(s, &provider, "call", &[Val::I32(5)]).unwrap_err();
        assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::UndefinedElement), "{what}");

        // A failing bulk operation traps and writes nothing.
        let err = call(s, &consumer, "fill", &[Val::I32(65530), Val::I32(1), Val::I32(7)]).unwrap_err();
        assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::MemoryOutOfBounds), "{what}");
        assert!(memory.data(&*s).unwrap()[65530..].iter().all(|&b| b == 0), "{what}");
    }
}

fn counter(store: &Store, provider: &Instance) -> i32 {
    provider.get_global(store, "counter").unwrap().get(store).unwrap().i32().unwrap()
}

const EXTERNREFS: &str = r#"(module
  (import "host" "echo" (func $echo (param externref) (result externref)))
  (table $refs (export "refs") 4 externref)
  (global $last (export "last") (mut externref) (ref.null extern))
  (func (export "keep") (param i32 externref)
    (table.set $refs (local.get 0) (local.get 1))
    (global.set $last (local.get 1)))
  (func (export "get") (param i32) (result externref) (table.get $refs (local.get 0)))
  (func (export "through-host") (param externref) (result externref) (call $echo (local.get 0)))
  (func (export "is-null") (param externref) (result i32) (ref.is_null (local.get 0)))
  (func (export "fill") (param i32 externref i32) (table.fill $refs (local.get 0) (local.get 1) (local.get 2))))"#;

#[test]
fn externrefs_travel_from_the_host_through_wasm_and_back() {
    let engine = Engine::default();
    let library = wat_library(EXTERNREFS, &CompileOptions::default());
    let module = load(&engine, &library);
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let echo_ty = FuncType::new([ValType::EXTERNREF], [ValType::EXTERNREF]);
    linker.define(
        "host",
        "echo",
        Func::new(&mut store, echo_ty, |_, params, results| {
            results[0] = params[0];
            Ok(())
        }),
    );
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let s = &mut store;
    let hello = ExternRef::new(&mut *s, String::from("hello"));
    let number = ExternRef::new(&mut *s, 42u64);

    call(s, &instance, "keep", &[Val::I32(2), Val::ExternRef(Some(hello))]).unwrap();
    let back = call(s, &instance, "get", &[Val::I32(2)]).unwrap();
    assert_eq!(back, [Val::ExternRef(Some(hello))]);
    let Val::ExternRef(Some(r)) = back[0] else { unreachable!() };
    assert_eq!(r.data(&*s).unwrap().downcast_ref::<String>().map(String::as_str), Some("hello"));
    assert_eq!(instance.get_global(&*s, "last").unwrap().get(&*s).unwrap(), Val::ExternRef(Some(hello)));
    assert_eq!(call(s, &instance, "get", &[Val::I32(0)]).unwrap(), [Val::ExternRef(None)]);

    // Through a host function called by wasm.
    let echoed = call(s, &instance, "through-host", &[Val::ExternRef(Some(number))]).unwrap();
    assert_eq!(echoed, [Val::ExternRef(Some(number))]);
    assert_eq!(call(s, &instance, "is-null", &[Val::ExternRef(None)]).unwrap(), [Val::I32(1)]);
    assert_eq!(call(s, &instance, "is-null", &[Val::ExternRef(Some(number))]).unwrap(), [Val::I32(0)]);

    // The exported table, from the host: what wasm wrote, and the other way.
    let refs = instance.get_table(&*s, "refs").unwrap();
    assert_eq!(refs.get(&*s, 2).unwrap(), Val::ExternRef(Some(hello)));
    refs.set(&mut *s, 3, Val::ExternRef(Some(number))).unwrap();
    assert_eq!(call(s, &instance, "get", &[Val::I32(3)]).unwrap(), [Val::ExternRef(Some(number))]);
    call(s, &instance, "fill", &[Val::I32(0), Val::ExternRef(Some(number)), Val::I32(2)]).unwrap();
    assert_eq!(refs.get(&*s, 1).unwrap(), Val::ExternRef(Some(number)));
    let err = call(s, &instance, "fill", &[Val::I32(3), Val::ExternRef(None), Val::I32(2)]).unwrap_err();
    assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::TableOutOfBounds));
    assert_eq!(refs.get(&*s, 3).unwrap(), Val::ExternRef(Some(number)), "a failing fill writes nothing");

    // Wrong kinds of value are refused before wasm runs.
    assert!(matches!(
        call(s, &instance, "keep", &[Val::I32(0), Val::FuncRef(None)]),
        Err(Error::TypeMismatch(_))
    ));
    let mut other = Store::new(&engine);
    let foreign = ExternRef::new(&mut other, 1u8);
    assert!(matches!(
        call(s, &instance, "keep", &[Val::I32(0), Val::ExternRef(Some(foreign))]),
        Err(Error::WrongStore(_))
    ));
}

const HOST_TABLE: &str = r#"(module
  (type $binop (func (param i32 i32) (result i32)))
  (import "host" "table" (table $t 2 funcref))
  (func $sub (export "sub") (type $binop) (i32.sub (local.get 0) (local.get 1)))
  (func (export "apply") (param i32 i32 i32) (result i32)
    (call_indirect $t (type $binop) (local.get 1) (local.get 2) (local.get 0)))
  (func (export "dup") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "size") (result i32) (table.size $t)))"#;

#[test]
fn host_tables_hold_functions_of_both_sides() {
    let engine = Engine::default();
    let library = wat_library(HOST_TABLE, &CompileOptions::default());
    let module = load(&engine, &library);
    let mut store = Store::new(&engine);
    let ty = TableType { element: RefType::FUNCREF, limits: Limits { min: 2, max: Some(8) }, table64: false };
    let table = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
    let add = Func::wrap(&mut store, |a: i32, b: i32| a + b);
    table.set(&mut store, 0, Val::FuncRef(Some(add))).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("host", "table", table);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let s = &mut store;

    assert_eq!(i32s(call(s, &instance, "apply", &[Val::I32(0), Val::I32(5), Val::I32(3)]).unwrap()), [8]);
    let sub = instance.get_func(&*s, "sub").unwrap();
    assert_eq!(table.grow(&mut *s, 2, Val::FuncRef(Some(sub))).unwrap(), 2);
    assert_eq!(i32s(call(s, &instance, "size", &[]).unwrap()), [4]);
    assert_eq!(i32s(call(s, &instance, "apply", &[Val::I32(3), Val::I32(5), Val::I32(3)]).unwrap()), [2]);
    call(s, &instance, "dup", &[Val::I32(1), Val::I32(0), Val::I32(3)]).unwrap();
    assert_eq!(i32s(call(s, &instance, "apply", &[Val::I32(1), Val::I32(5), Val::I32(3)]).unwrap()), [8]);
    assert_eq!(i32s(call(s, &instance, "apply", &[Val::I32(3), Val::I32(5), Val::I32(3)]).unwrap()), [2]);
    assert_eq!(table.get(&*s, 2).unwrap(), Val::FuncRef(None), "copied over by the null of element 1");
    let Val::FuncRef(Some(f)) = table.get(&*s, 1).unwrap() else { panic!("element 1 is null") };
    assert_eq!(f.ty(&*s).unwrap(), FuncType::new([ValType::I32, ValType::I32], [ValType::I32]));
    let err = call(s, &instance, "dup", &[Val::I32(3), Val::I32(0), Val::I32(2)]).unwrap_err();
    assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::TableOutOfBounds));

    // A function of another type in the table fails the signature check.
    let unary = Func::wrap(&mut *s, |a: i32| a);
    table.set(&mut *s, 1, Val::FuncRef(Some(unary))).unwrap();
    let err = call(s, &instance, "apply", &[Val::I32(1), Val::I32(5), Val::I32(3)]).unwrap_err();
    assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::IndirectCallTypeMismatch));
    assert!(table.set(&mut *s, 1, Val::ExternRef(None)).is_err(), "an externref in a funcref table");
}

/// Writes a table element, then two data segments of which the second
/// does not fit.
const PARTIAL: &str = r#"(module
  (type $get (func (result i32)))
  (import "host" "memory" (memory 1))
  (import "host" "table" (table 4 funcref))
  (func $forty-two (type $get) (i32.const 42))
  (elem (i32.const 1) func $forty-two)
  (data (i32.const 10) "first")
  (data (i32.const 65534) "too long"))"#;

#[test]
fn a_failed_instantiation_keeps_earlier_writes() {
    let engine = Engine::default();
    let library = wat_library(PARTIAL, &CompileOptions::default());
    let module = load(&engine, &library);
    let mut store = Store::new(&engine);
    let memory_type = MemoryType::new(Limits { min: 1, max: None });
    let memory = Memory::new(&mut store, memory_type).unwrap();
    let ty = TableType { element: RefType::FUNCREF, limits: Limits { min: 4, max: None }, table64: false };
    let table = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("host", "memory", memory).define("host", "table", table);

    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::MemoryOutOfBounds), "{err}");
    assert_eq!(&memory.data(&store).unwrap()[10..15], b"first");
    assert!(memory.data(&store).unwrap()[65534..].iter().all(|&b| b == 0), "the failing segment writes nothing");
    // The element written before the failure stays callable.
    let Val::FuncRef(Some(f)) = table.get(&store, 1).unwrap() else { panic!("element 1 is null") };
    let mut result = [Val::I32(0)];
    f.call(&mut store, &[], &mut result).unwrap();
    assert_eq!(result, [Val::I32(42)]);
}

/// Exports typed references: a function type, an immutable global of a
/// non-nullable reference to it, a mutable funcref global and a table.
const TYPED: &str = r#"(module
  (type $unop (func (param i32) (result i32)))
  (func $double (type $unop) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $double)
  (global (export "double") (ref $unop) (ref.func $double))
  (global (export "mutable") (mut funcref) (ref.null func))
  (table (export "ops") 1 (ref null $unop))
  (func (export "apply") (param (ref null $unop) i32) (result i32) (call_ref $unop (local.get 1) (local.get 0)))
  (func (export "f") (type $unop) (local.get 0)))"#;

fn importer(import: &str) -> String {
    format!(r#"(module (type $other (func)) (type $unop (func (param i32) (result i32))) {import})"#)
}

#[test]
fn imports_are_checked_with_reference_subtyping() {
    let engine = Engine::default();
    let opts = CompileOptions::default();
    let exporter = wat_library(TYPED, &opts);
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let typed = linker.instantiate(&mut store, &load(&engine, &exporter)).unwrap();
    linker.instance(&store, "typed", typed).unwrap();

    let link = |store: &mut Store, import: &str| -> Result<Instance, Error> {
        let library = wat_library(&importer(import), &opts);
        let module: Module = load(&engine, &library);
        linker.instantiate(store, &module)
    };
    // Accepted: the same type through another module's numbering, and
    // supertypes of an immutable global's type.
    for ok in [
        r#"(import "typed" "double" (global (ref $unop)))"#,
        r#"(import "typed" "double" (global (ref null $unop)))"#,
        r#"(import "typed" "double" (global funcref))"#,
        r#"(import "typed" "double" (global (ref func)))"#,
        r#"(import "typed" "mutable" (global (mut funcref)))"#,
        r#"(import "typed" "ops" (table 1 (ref null $unop)))"#,
        r#"(import "typed" "f" (func (type $unop)))"#,
    ] {
        link(&mut store, ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    // Refused, naming the import.
    for (bad, name) in [
        (r#"(import "typed" "double" (global (ref $other)))"#, "double"),
        (r#"(import "typed" "double" (global externref))"#, "double"),
        (r#"(import "typed" "double" (global (mut (ref $unop))))"#, "double"),
        (r#"(import "typed" "mutable" (global (mut (ref null $unop))))"#, "mutable"),
        (r#"(import "typed" "mutable" (global funcref))"#, "mutable"),
        (r#"(import "typed" "ops" (table 1 funcref))"#, "ops"),
        (r#"(import "typed" "ops" (table 2 (ref null $unop)))"#, "ops"),
        (r#"(import "typed" "f" (func (type $other)))"#, "f"),
        (r#"(import "typed" "f" (table 1 funcref))"#, "f"),
        (r#"(import "typed" "missing" (func))"#, "missing"),
    ] {
        let err = link(&mut store, bad).expect_err(bad);
        let message = err.to_string();
        assert!(matches!(err, Error::Link(_)), "{bad}: {message}");
        assert!(message.contains(&format!("\"typed\".\"{name}\"")), "{bad}: {message}");
    }
}

#[test]
fn typed_references_from_the_host() {
    let engine = Engine::default();
    let library = wat_library(TYPED, &CompileOptions::default());
    let mut store = Store::new(&engine);
    let instance = Linker::new(&engine).instantiate(&mut store, &load(&engine, &library)).unwrap();
    let s = &mut store;
    let double = instance.get_global(&*s, "double").unwrap();
    let Val::FuncRef(Some(double_fn)) = double.get(&*s).unwrap() else { panic!("null") };
    let ValType::Ref(RefType { nullable: false, heap: HeapType::Concrete(id) }) = double.ty(&*s).unwrap().content else {
        panic!("the global's type is a non-null concrete reference")
    };
    assert!(!double.ty(&*s).unwrap().mutable);
    // Concrete types are reported by engine-wide signature: the function's.
    assert_eq!(double_fn.ty(&*s).unwrap(), FuncType::new([ValType::I32], [ValType::I32]));
    let param = instance.get_func(&*s, "apply").unwrap().ty(&*s).unwrap().params[0];
    assert_eq!(param, ValType::Ref(RefType { nullable: true, heap: HeapType::Concrete(id) }));

    assert_eq!(i32s(call(s, &instance, "apply", &[Val::FuncRef(Some(double_fn)), Val::I32(21)]).unwrap()), [42]);
    let host = Func::wrap(&mut *s, |x: i32| x + 1);
    assert_eq!(i32s(call(s, &instance, "apply", &[Val::FuncRef(Some(host)), Val::I32(1)]).unwrap()), [2]);
    let err = call(s, &instance, "apply", &[Val::FuncRef(None), Val::I32(1)]).unwrap_err();
    assert_eq!(err.as_trap().map(|t| t.code()), Some(TrapCode::NullFunctionReference));
    assert_eq!(err.to_string(), "null function reference");
    let wrong = Func::wrap(&mut *s, |x: i64| x);
    let result = call(s, &instance, "apply", &[Val::FuncRef(Some(wrong)), Val::I32(1)]);
    assert!(matches!(result, Err(Error::TypeMismatch(_))), "a function of another type");

    let ops = instance.get_table(&*s, "ops").unwrap();
    ops.set(&mut *s, 0, Val::FuncRef(Some(host))).unwrap();
    assert!(ops.set(&mut *s, 0, Val::FuncRef(Some(wrong))).is_err());
    let ty = GlobalType { content: ValType::Ref(RefType { nullable: false, heap: HeapType::Func }), mutable: false };
    assert!(Global::new(&mut *s, ty, Val::FuncRef(None)).is_err(), "null is no (ref func)");
    assert!(Global::new(&mut *s, ty, Val::FuncRef(Some(wrong))).is_ok());
}
