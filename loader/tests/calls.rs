//! Instantiating the basic module and calling into it: typed and untyped
//! calls, memories, tables, globals, segments and the builtins.

mod common;

use common::basic;
use kiln_loader::*;

struct Env {
    store: Store,
    instance: Instance,
    _lib: common::Library,
}

fn host_linker(store: &mut Store) -> Linker {
    let mut linker = Linker::new(store.engine());
    let add = Func::wrap(&mut *store, |a: i32, b: i32| a.wrapping_add(b) * 10);
    let reenter = Func::wrap(&mut *store, |mut caller: Caller<'_>, x: i32| -> Result<i32, Error> {
        let div = caller.get_export("div_s").and_then(Extern::into_func).unwrap();
        let div = div.typed::<(i32, i32), i32>(&caller)?;
        // A trap in the nested call comes back here; the outer call goes on.
        Ok(div.call(&mut caller, (100, x)).unwrap_or(-1))
    });
    let fail = Func::new(&mut *store, FuncType::new([], []), |_, _, _| Err(Error::msg("boom")));
    linker.define("host", "add", add).define("host", "reenter", reenter).define("host", "fail", fail);
    linker
}

fn env() -> Env {
    let lib = basic::build();
    let engine = Engine::default();
    let module = Module::from_file(&engine, &lib.path).unwrap();
    let mut store = Store::new(&engine);
    let linker = host_linker(&mut store);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    Env { store, instance, _lib: lib }
}

#[test]
fn typed_and_untyped_calls() {
    let Env { mut store, instance, .. } = env();
    let add = instance.get_typed_func::<(i32, i32), i32>(&store, "add").unwrap();
    assert_eq!(add.call(&mut store, (1, 2)).unwrap(), 3);
    assert_eq!(add.call(&mut store, (i32::MAX, 1)).unwrap(), i32::MIN);

    let div = instance.get_func(&store, "div_s").unwrap();
    let mut out = [Val::I32(0)];
    div.call(&mut store, &[Val::I32(-9), Val::I32(2)], &mut out).unwrap();
    assert_eq!(out, [Val::I32(-4)]);
    assert_eq!(div.ty(&store).unwrap(), FuncType::new([ValType::I32, ValType::I32], [ValType::I32]));

    let swap = instance.get_typed_func::<(i64, f64), (f64, i64)>(&store, "swap").unwrap();
    assert_eq!(swap.call(&mut store, (7, 2.5)).unwrap(), (2.5, 7));
    let mut two = [Val::I32(0), Val::I32(0)];
    let swap = swap.func();
    swap.call(&mut store, &[Val::I64(-1), Val::from_f64(-0.0)], &mut two).unwrap();
    assert_eq!(two, [Val::F64((-0.0f64).to_bits()), Val::I64(-1)]);
}

#[test]
fn calls_are_type_checked() {
    let Env { mut store, instance, .. } = env();
    let e = instance.get_typed_func::<i32, i32>(&store, "add").unwrap_err();
    assert!(e.to_string().contains("(func (param i32 i32) (result i32))"), "{e}");
    assert!(matches!(instance.get_typed_func::<(), ()>(&store, "nope"), Err(Error::ExportNotFound(_))));
    let add = instance.get_func(&store, "add").unwrap();
    let mut out = [Val::I32(0)];
    let e = add.call(&mut store, &[Val::I32(1), Val::I64(2)], &mut out).unwrap_err();
    assert!(matches!(e, Error::TypeMismatch(_)), "{e}");
    let e = add.call(&mut store, &[Val::I32(1)], &mut out).unwrap_err();
    assert!(matches!(e, Error::TypeMismatch(_)), "{e}");
}

#[test]
fn data_segments_and_memory_access() {
    let Env { mut store, instance, .. } = env();
    let memory = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(&memory.data(&store).unwrap()[8..13], b"hello");
    assert_eq!(memory.size(&store).unwrap(), 1);
    let load = instance.get_typed_func::<i32, i32>(&store, "load").unwrap();
    let store_fn = instance.get_typed_func::<(i32, i32), i32>(&store, "store").unwrap();
    store_fn.call(&mut store, (65532, 0x1234_5678)).unwrap();
    assert_eq!(load.call(&mut store, 65532).unwrap(), 0x1234_5678);
    assert_eq!(&memory.data(&store).unwrap()[65532..], &0x1234_5678i32.to_le_bytes());
    memory.data_mut(&mut store).unwrap()[100] = 9;
    assert_eq!(load.call(&mut store, 100).unwrap(), 9);
}

#[test]
fn memory_grows_in_place_and_importers_see_it() {
    let Env { mut store, instance, .. } = env();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    let load = instance.get_typed_func::<i32, i32>(&store, "load").unwrap();
    let memory = instance.get_memory(&store, "memory").unwrap();
    let base = memory.data(&store).unwrap().as_ptr();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(load.call(&mut store, 65536).unwrap(), 0);
    assert_eq!(memory.size(&store).unwrap(), 2);
    assert_eq!(grow.call(&mut store, 3).unwrap(), -1, "past the maximum of 4 pages");
    assert_eq!(memory.grow(&mut store, 2).unwrap(), 2);
    assert!(matches!(memory.grow(&mut store, 1), Err(Error::Grow(_))));
    assert_eq!(grow.call(&mut store, 0).unwrap(), 4);
    assert_eq!(memory.data(&store).unwrap().as_ptr(), base, "the base never moves");
    assert_eq!(load.call(&mut store, 4 * 65536 - 4).unwrap(), 0);
}

#[test]
fn tables_and_indirect_calls() {
    let Env { mut store, instance, .. } = env();
    let call = instance.get_typed_func::<i32, i32>(&store, "call_indirect").unwrap();
    assert_eq!(call.call(&mut store, 1).unwrap(), 42);
    assert_eq!(call.call(&mut store, 2).unwrap(), 7);
    let code = |r: Result<i32, Error>| common::trap_code(&r.unwrap_err());
    assert_eq!(code(call.call(&mut store, 0)), TrapCode::UninitializedElement);
    assert_eq!(code(call.call(&mut store, 4)), TrapCode::UndefinedElement);

    let table = instance.get_table(&store, "table").unwrap();
    assert_eq!(table.size(&store).unwrap(), 4);
    let Val::FuncRef(Some(f)) = table.get(&store, 1).unwrap() else { panic!("element 1 is set") };
    let mut out = [Val::I32(0)];
    f.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out, [Val::I32(42)]);
    assert_eq!(table.get(&store, 0).unwrap(), Val::FuncRef(None));

    // A function of another type: the signature check traps.
    let add = instance.get_func(&store, "add").unwrap();
    table.set(&mut store, 3, Val::FuncRef(Some(add))).unwrap();
    assert_eq!(code(call.call(&mut store, 3)), TrapCode::IndirectCallTypeMismatch);

    // A host function of the right type, never imported by any module: it
    // is called through the module's wasm-to-host trampoline of its type.
    let host = Func::wrap(&mut store, || 1234);
    table.set(&mut store, 0, Val::FuncRef(Some(host))).unwrap();
    assert_eq!(call.call(&mut store, 0).unwrap(), 1234);
    assert!(matches!(table.set(&mut store, 4, Val::FuncRef(None)), Err(Error::OutOfBounds(_))));
    assert!(matches!(table.set(&mut store, 0, Val::I32(1)), Err(Error::TypeMismatch(_))));
}

#[test]
fn bulk_builtins() {
    let Env { mut store, instance, .. } = env();
    let init_data = instance.get_typed_func::<i32, i32>(&store, "init_data").unwrap();
    let memory = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(common::trap_code(&init_data.call(&mut store, 65530).unwrap_err()), TrapCode::MemoryOutOfBounds);
    init_data.call(&mut store, 32).unwrap();
    assert_eq!(&memory.data(&store).unwrap()[32..40], b"passive!");
    // Dropped: the segment is now empty, so copying 8 bytes is out of bounds.
    assert_eq!(common::trap_code(&init_data.call(&mut store, 32).unwrap_err()), TrapCode::MemoryOutOfBounds);

    let init_elem = instance.get_typed_func::<i32, i32>(&store, "init_elem").unwrap();
    let call = instance.get_typed_func::<i32, i32>(&store, "call_indirect").unwrap();
    assert_eq!(common::trap_code(&init_elem.call(&mut store, 4).unwrap_err()), TrapCode::TableOutOfBounds);
    init_elem.call(&mut store, 3).unwrap();
    assert_eq!(call.call(&mut store, 3).unwrap(), 7);
    assert_eq!(common::trap_code(&init_elem.call(&mut store, 3).unwrap_err()), TrapCode::TableOutOfBounds);

    let grow_table = instance.get_typed_func::<i32, i32>(&store, "grow_table").unwrap();
    assert_eq!(grow_table.call(&mut store, 2).unwrap(), 4);
    assert_eq!(common::trap_code(&call.call(&mut store, 5).unwrap_err()), TrapCode::UninitializedElement);
    assert_eq!(grow_table.call(&mut store, 5).unwrap(), -1, "past the maximum of 10");
    let table = instance.get_table(&store, "table").unwrap();
    assert_eq!(table.grow(&mut store, 4, Val::FuncRef(None)).unwrap(), 6);
    assert_eq!(table.size(&store).unwrap(), 10);
}

#[test]
fn globals() {
    let Env { mut store, instance, .. } = env();
    let g = instance.get_global(&store, "g").unwrap();
    let g64 = instance.get_global(&store, "g64").unwrap();
    assert_eq!(g.get(&store).unwrap(), Val::I32(100));
    assert_eq!(g64.get(&store).unwrap(), Val::I64(6), "extended constant expression");
    let set = instance.get_typed_func::<i32, ()>(&store, "set_g").unwrap();
    let get = instance.get_typed_func::<(), i32>(&store, "get_g").unwrap();
    set.call(&mut store, 5).unwrap();
    assert_eq!(g.get(&store).unwrap(), Val::I32(5));
    g.set(&mut store, Val::I32(7)).unwrap();
    assert_eq!(get.call(&mut store, ()).unwrap(), 7);
    assert!(matches!(g64.set(&mut store, Val::I64(1)), Err(Error::ImmutableGlobal)));
    assert!(matches!(g.set(&mut store, Val::I64(1)), Err(Error::TypeMismatch(_))));
    assert!(!g64.ty(&store).unwrap().mutable);
}

#[test]
fn host_functions() {
    let Env { mut store, instance, .. } = env();
    let call_add = instance.get_typed_func::<(i32, i32), i32>(&store, "call_add").unwrap();
    assert_eq!(call_add.call(&mut store, (2, 3)).unwrap(), 50);
    let reenter = instance.get_typed_func::<i32, i32>(&store, "call_reenter").unwrap();
    assert_eq!(reenter.call(&mut store, 5).unwrap(), 21);
    assert_eq!(reenter.call(&mut store, 0).unwrap(), 0, "the inner trap was handled by the host");
    let fail = instance.get_typed_func::<(), ()>(&store, "call_fail").unwrap();
    let e = fail.call(&mut store, ()).unwrap_err();
    let trap = e.as_trap().unwrap();
    assert_eq!(trap.code(), TrapCode::HostError);
    assert_eq!(trap.host_error().unwrap().to_string(), "boom");
    assert_eq!(e.to_string(), "host function error: boom");
    // The store is fine afterwards.
    assert_eq!(call_add.call(&mut store, (1, 1)).unwrap(), 20);
}

#[test]
fn exports_are_listed_and_modules_described() {
    let Env { store, instance, .. } = env();
    let exports = instance.exports(&store).unwrap();
    assert!(exports.iter().any(|(n, e)| n == "memory" && matches!(e, Extern::Memory(_))));
    let module = instance.module(&store).unwrap();
    let imports: Vec<_> = module.imports().map(|(m, n, _)| format!("{m}.{n}")).collect();
    assert_eq!(imports, ["host.add", "host.reenter", "host.fail"]);
}

#[test]
fn thread_safety_of_the_types() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Store>();
    send_sync::<Engine>();
    send_sync::<Module>();
    send_sync::<(Func, Memory, Table, Global, Instance, ExternRef, Val, TypedFunc<i32, i32>)>();
    send_sync::<Error>();
}

#[test]
fn host_functions_called_from_the_host() {
    let mut store = Store::new(&Engine::default());
    let f = Func::wrap(
        &mut store,
        |a: i32,
         b: i64,
         c: f32,
         d: f64,
         e: u32,
         f: u64,
         g: i32,
         h: i32,
         i: i32,
         j: i32,
         k: i32,
         l: i32|
         -> (i64, f64) { (a as i64 + b + e as i64 + f as i64 + (g + h + i + j + k + l) as i64, c as f64 + d) },
    );
    type Params = (i32, i64, f32, f64, u32, u64, i32, i32, i32, i32, i32, i32);
    let typed = f.typed::<Params, (i64, f64)>(&store).unwrap();
    assert_eq!(typed.call(&mut store, (1, 2, 0.5, 0.25, 3, 4, 1, 1, 1, 1, 1, 1)).unwrap(), (16, 0.75));

    let no_caller = Func::wrap(&mut store, |caller: Caller<'_>| -> i32 { caller.instance().is_none().into() });
    assert_eq!(no_caller.typed::<(), i32>(&store).unwrap().call(&mut store, ()).unwrap(), 1);

    let wrong = Func::new(&mut store, FuncType::new([], [ValType::I32]), |_, _, results| {
        results[0] = Val::I64(1);
        Ok(())
    });
    let e = wrong.call(&mut store, &[], &mut [Val::I32(0)]).unwrap_err();
    assert!(matches!(e, Error::TypeMismatch(_)), "{e}");

    let failing = Func::wrap(&mut store, || -> Result<(), Error> { Err(Error::msg("no")) });
    let e = failing.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(e.to_string(), "no", "called from the host, the error comes back as is");
}

#[test]
fn external_references() {
    let mut store = Store::new(&Engine::default());
    let r = ExternRef::new(&mut store, String::from("hello"));
    let ty = GlobalType { content: ValType::EXTERNREF, mutable: true };
    let g = Global::new(&mut store, ty, Val::ExternRef(Some(r))).unwrap();
    let Val::ExternRef(Some(back)) = g.get(&store).unwrap() else { panic!("the reference is stored") };
    assert_eq!(back, r);
    assert_eq!(back.data(&store).unwrap().downcast_ref::<String>().unwrap(), "hello");
    g.set(&mut store, Val::ExternRef(None)).unwrap();
    assert!(g.get(&store).unwrap().is_null());
    let other = Store::new(&Engine::default());
    assert!(matches!(r.data(&other), Err(Error::WrongStore(_))));
}
