//! Linking: imports resolved by name or position, type checks naming the
//! import, registered instances, instantiation failures and start functions.

mod common;

use common::*;
use kiln_abi::metadata::*;
use kiln_abi::types::{ConstExpr, ConstOp, GlobalType};
use kiln_loader::{
    Engine, Error, Extern, Func, Global, Instance, LinkErrorKind, Linker, Memory, Module, Store, Table, Val,
};

const IMPORTER: &str = include_str!("fixtures/importer.c");

fn importer(start: Option<&str>, extra_data: Option<(i32, &[u8])>) -> ModuleBuilder {
    let mut m = ModuleBuilder::new();
    basic::types(&mut m);
    m.import("env", "f", ImportKind::Func(0));
    m.import("env", "mem", ImportKind::Memory(memory(1, Some(2))));
    m.import("env", "tab", ImportKind::Table(table(2, None)));
    m.import("env", "g", ImportKind::Global(GlobalType { content: I32, mutable: false }));
    m.import("env", "gm", ImportKind::Global(GlobalType { content: I64, mutable: true }));
    m.func(1, "read_mem", true);
    let read_g = m.func(3, "read_g", true);
    m.func(0, "call_f", true);
    m.func(1, "grow_mem", true);
    if let Some(name) = start {
        m.meta.start = Some(m.func(2, name, false));
    }
    m.meta.elements.push(ElementSegment {
        mode: active(0, 1),
        element_type: kiln_abi::RefType::FUNCREF,
        items: ElementItems::Functions(vec![read_g]),
    });
    // Offset from the imported global `g`.
    let at_g = SegmentMode::Active(ActiveSegment { index: 0, offset: ConstExpr::single(ConstOp::GlobalGet(0)) });
    m.meta.data.push(DataSegment { mode: at_g, bytes: b"abcd".to_vec() });
    if let Some((offset, bytes)) = extra_data {
        m.meta.data.push(DataSegment { mode: active(0, offset), bytes: bytes.to_vec() });
    }
    m
}

fn build(m: &ModuleBuilder) -> Library {
    m.build(&format!("{}\n{IMPORTER}", basic::TRAMPOLINES))
}

/// Host definitions of everything `importer` needs.
fn host_env(store: &mut Store) -> Linker {
    let mut linker = Linker::new(store.engine());
    let f = Func::wrap(&mut *store, |a: i32, b: i32| a - b);
    let mem = Memory::new(&mut *store, memory(1, Some(2))).unwrap();
    let tab = Table::new(&mut *store, table(3, Some(5)), Val::FuncRef(None)).unwrap();
    let g = Global::new(&mut *store, GlobalType { content: I32, mutable: false }, Val::I32(16)).unwrap();
    let gm = Global::new(&mut *store, GlobalType { content: I64, mutable: true }, Val::I64(0)).unwrap();
    linker
        .define("env", "f", f)
        .define("env", "mem", mem)
        .define("env", "tab", tab)
        .define("env", "g", g)
        .define("env", "gm", gm);
    linker
}

fn setup(m: &ModuleBuilder) -> (Store, Linker, Module, Library) {
    let lib = build(m);
    let engine = Engine::default();
    let module = Module::from_file(&engine, &lib.path).unwrap();
    let mut store = Store::new(&engine);
    let linker = host_env(&mut store);
    (store, linker, module, lib)
}

#[test]
fn imports_are_wired_through() {
    let (mut store, linker, module, _lib) = setup(&importer(None, None));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let mem = linker.get("env", "mem").unwrap().into_memory().unwrap();
    assert_eq!(&mem.data(&store).unwrap()[16..20], b"abcd", "data segment at global.get offset");
    let read_mem = instance.get_typed_func::<i32, i32>(&store, "read_mem").unwrap();
    assert_eq!(read_mem.call(&mut store, 16).unwrap(), i32::from_le_bytes(*b"abcd"));
    let call_f = instance.get_typed_func::<(i32, i32), i32>(&store, "call_f").unwrap();
    assert_eq!(call_f.call(&mut store, (10, 3)).unwrap(), 7);

    // The imported memory grows from wasm and the host sees it.
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow_mem").unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(mem.size(&store).unwrap(), 2);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    mem.data_mut(&mut store).unwrap()[65536] = 5;
    assert_eq!(read_mem.call(&mut store, 65536).unwrap(), 5);
    assert_eq!(
        common::trap_code(&read_mem.call(&mut store, 2 * 65536).unwrap_err()),
        kiln_loader::TrapCode::MemoryOutOfBounds
    );

    // The element segment wrote into the imported table.
    let tab = linker.get("env", "tab").unwrap().into_table().unwrap();
    let Val::FuncRef(Some(read_g)) = tab.get(&store, 1).unwrap() else { panic!("table[1] is set") };
    let mut out = [Val::I32(0)];
    read_g.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out, [Val::I32(16)]);
}

#[test]
fn registered_instances_satisfy_imports() {
    // An exporter module whose exports are registered under "env".
    let mut exporter = ModuleBuilder::new();
    basic::types(&mut exporter);
    exporter.func(0, "add", false);
    exporter.export("f", ExternKind::Func, 0);
    exporter.meta.memories.push(memory(1, Some(2)));
    exporter.export("mem", ExternKind::Memory, 0);
    exporter.meta.tables.push(TableInfo { ty: table(2, None), init: None });
    exporter.export("tab", ExternKind::Table, 0);
    exporter.meta.globals.push(GlobalInfo { ty: GlobalType { content: I32, mutable: false }, init: i32_const(100) });
    exporter.meta.globals.push(GlobalInfo {
        ty: GlobalType { content: I64, mutable: true },
        init: ConstExpr::single(ConstOp::I64Const(1)),
    });
    exporter.export("g", ExternKind::Global, 0);
    exporter.export("gm", ExternKind::Global, 1);
    let exporter_lib = exporter.build(&format!(
        "{}\n{}",
        basic::TRAMPOLINES,
        "WASM int32_t add(void *v, void *c, int32_t a, int32_t b) { (void)v, (void)c; return a + b; }"
    ));

    let (mut store, _, module, _lib) = setup(&importer(Some("start"), None));
    let exporter = Module::from_file(store.engine(), &exporter_lib.path).unwrap();
    let exporter = Instance::new(&mut store, &exporter, &[]).unwrap();
    let mut linker = Linker::new(store.engine());
    linker.instance(&store, "env", exporter).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();

    // A wasm-to-wasm call across instances, and shared memory and globals.
    let call_f = instance.get_typed_func::<(i32, i32), i32>(&store, "call_f").unwrap();
    assert_eq!(call_f.call(&mut store, (10, 3)).unwrap(), 13);
    let mem = exporter.get_memory(&store, "mem").unwrap();
    assert_eq!(&mem.data(&store).unwrap()[100..104], b"abcd");
    let gm = exporter.get_global(&store, "gm").unwrap();
    assert_eq!(gm.get(&store).unwrap(), Val::I64(99), "the start function ran");
    // Re-exported import: the importer's `f` is a reference into its own
    // VM context that still calls the exporter.
    let read_g = instance.get_typed_func::<(), i32>(&store, "read_g").unwrap();
    assert_eq!(read_g.call(&mut store, ()).unwrap(), 100);
}

fn link_error(linker: &Linker, store: &mut Store, module: &Module) -> kiln_loader::LinkError {
    match linker.instantiate(store, module) {
        Err(Error::Link(e)) => e,
        Err(e) => panic!("expected a link error, got {e}"),
        Ok(_) => panic!("expected a link error, instantiation succeeded"),
    }
}

#[test]
fn link_errors_name_the_import_and_the_reason() {
    let (mut store, linker, module, _lib) = setup(&importer(None, None));
    let check = |store: &mut Store, name: &str, value: Extern, kind: LinkErrorKind, reason: &str| {
        let mut l = linker.clone();
        l.define("env", name, value);
        let e = link_error(&l, store, &module);
        assert_eq!(e.kind, kind, "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("incompatible import type for \"env\".\"{name}\"")), "{msg}");
        assert!(msg.contains(reason), "{msg}");
    };

    let mut missing = Linker::new(store.engine());
    missing.define("env", "f", linker.get("env", "f").unwrap());
    let e = link_error(&missing, &mut store, &module);
    assert_eq!(e.to_string(), "unknown import \"env\".\"mem\"");

    let mem = linker.get("env", "mem").unwrap();
    check(&mut store, "f", mem, LinkErrorKind::Incompatible, "expected a function, found a memory");
    let wrong_sig = Func::wrap(&mut store, |a: i32| a);
    check(
        &mut store,
        "f",
        wrong_sig.into(),
        LinkErrorKind::Incompatible,
        "expected (func (param i32 i32) (result i32)), found (func (param i32) (result i32))",
    );
    let unbounded = Memory::new(&mut store, memory(1, None)).unwrap();
    check(
        &mut store,
        "mem",
        unbounded.into(),
        LinkErrorKind::Incompatible,
        "memory limits {min 1, no max} do not fit the declared {min 1, max 2}",
    );
    let small = Memory::new(&mut store, memory(0, Some(2))).unwrap();
    check(&mut store, "mem", small.into(), LinkErrorKind::Incompatible, "memory limits");
    let short = Table::new(&mut store, table(1, None), Val::FuncRef(None)).unwrap();
    check(&mut store, "tab", short.into(), LinkErrorKind::Incompatible, "table limits");
    let externs = Table::new(
        &mut store,
        kiln_abi::types::TableType { element: kiln_abi::RefType::EXTERNREF, limits: limits(2, None), table64: false },
        Val::ExternRef(None),
    )
    .unwrap();
    check(
        &mut store,
        "tab",
        externs.into(),
        LinkErrorKind::Incompatible,
        "expected a table of funcref, found a table of externref",
    );
    let mutable = Global::new(&mut store, GlobalType { content: I32, mutable: true }, Val::I32(0)).unwrap();
    check(&mut store, "g", mutable.into(), LinkErrorKind::Incompatible, "expected immutable i32, found mutable i32");
    let other = Global::new(&mut store, GlobalType { content: I64, mutable: true }, Val::I64(0)).unwrap();
    check(&mut store, "g", other.into(), LinkErrorKind::Incompatible, "expected immutable i32, found mutable i64");

    // Positional imports: wrong count, wrong store.
    let e = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(matches!(e, Error::ImportCount { expected: 5, given: 0 }), "{e}");
    let mut other_store = Store::new(store.engine());
    let e = linker.instantiate(&mut other_store, &module).unwrap_err();
    assert!(matches!(e, Error::WrongStore(_)), "{e}");
    let e = linker.instantiate(&mut Store::new(&Engine::default()), &module).unwrap_err();
    assert!(matches!(e, Error::WrongEngine), "{e}");
}

#[test]
fn a_failing_segment_keeps_earlier_writes() {
    // Second data segment does not fit the one-page memory.
    let (mut store, linker, module, _lib) = setup(&importer(None, Some((65534, b"wxyz"))));
    let e = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(common::trap_code(&e), kiln_loader::TrapCode::MemoryOutOfBounds);
    let mem = linker.get("env", "mem").unwrap().into_memory().unwrap();
    assert_eq!(&mem.data(&store).unwrap()[16..20], b"abcd", "the first segment was written");
    assert_eq!(&mem.data(&store).unwrap()[65534..], &[0, 0], "bulk memory writes nothing of a failing segment");
    // The element segment ran before: the failed instance's function is in
    // the table and still works.
    let tab = linker.get("env", "tab").unwrap().into_table().unwrap();
    let Val::FuncRef(Some(f)) = tab.get(&store, 1).unwrap() else { panic!("table[1] is set") };
    let mut out = [Val::I32(0)];
    f.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out, [Val::I32(16)]);
}

#[test]
fn start_functions_run_and_may_trap() {
    let (mut store, linker, module, _lib) = setup(&importer(Some("start"), None));
    linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(linker.get("env", "gm").unwrap().into_global().unwrap().get(&store).unwrap(), Val::I64(99));

    let (mut store, linker, module, _lib) = setup(&importer(Some("trap_start"), None));
    let e = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(common::trap_code(&e), kiln_loader::TrapCode::UnreachableCodeReached);
}

#[test]
fn a_shared_memory_without_maximum_is_an_error_not_a_crash() {
    let mut m = ModuleBuilder::new();
    m.meta.memories.push(kiln_abi::types::MemoryType { shared: true, ..kiln_abi::types::MemoryType::new(limits(1, None)) });
    let lib = m.build(basic::TRAMPOLINES);
    let engine = Engine::default();
    let module = Module::from_file(&engine, &lib.path).unwrap();
    let mut store = Store::new(&engine);
    let e = Instance::new(&mut store, &module, &[]).unwrap_err();
    // Validation refuses such a module; metadata that says so anyway is an
    // error, not a memory without bounds.
    assert!(matches!(e, Error::TypeMismatch(_)), "{e}");
    assert!(e.to_string().contains("a shared memory must have a maximum"), "{e}");
}
