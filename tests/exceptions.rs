//! Exception handling across the host boundary, on real compiled code:
//! an exception no handler catches comes back to the host with its tag and
//! payload, which the host reads and can raise again; a host function
//! raises an exception that wasm catches by tag; a handler for another tag
//! (another instance's tag of the same module included) does not catch
//! it; a trap inside a `try_table` is not caught; `exnref`s live in
//! tables and globals and pass between host and wasm.

mod pipeline;

use kiln::OptLevel;
use kiln_loader::{
    Engine, Error, Exception, Extern, Func, FuncType, Instance, Linker, Store, Tag, TrapCode, Val, ValType,
};
use pipeline::{Library, assert_trap, call, configurations, describe, load, wat_library};

/// Throws its own tag `$e` from `throw` (directly, or several frames down
/// from `deep`); `catch` calls the imported `thrower` and says which of
/// its handlers caught: the payload for its own `$e`, 0 for `catch_all`,
/// -1 when `thrower` returned.
const MODULE: &str = r#"(module
  (tag $e (export "e") (param i32 f64))
  (tag $other (export "other") (param i32))
  (import "env" "thrower" (func $thrower))
  (func $throw (export "throw") (param i32 f64) (throw $e (local.get 0) (local.get 1)))
  (func $down (param i32)
    (if (i32.eqz (local.get 0)) (then (call $throw (i32.const 42) (f64.const 0.5))))
    (call $down (i32.sub (local.get 0) (i32.const 1))))
  (func (export "deep") (param i32) (call $down (local.get 0)))
  (func (export "catch") (result i32)
    (block $all
      (block $mine (result i32 f64)
        (try_table (catch $e $mine) (catch_all $all) (call $thrower))
        (return (i32.const -1)))
      (drop)
      (return))
    (i32.const 0))
  (func (export "catch-other-only") (result i32)
    (block $mine (result i32)
      (try_table (catch $other $mine) (call $thrower))
      (return (i32.const -1)))
    (return))
  (func (export "trap-in-try") (result i32)
    (block $all
      (try_table (catch_all $all) (unreachable))
      (return (i32.const -1)))
    (i32.const 0)))"#;

/// One instance of [`MODULE`] whose `thrower` is `thrower`.
fn instance(store: &mut Store, library: &Library, thrower: Func) -> Instance {
    let engine = store.engine().clone();
    let mut linker = Linker::new(&engine);
    linker.define("env", "thrower", thrower);
    linker.instantiate(&mut *store, &load(&engine, library)).expect("instantiation")
}

/// For `opts`: a description, [`MODULE`] compiled, a store, and an
/// instance whose `thrower` does nothing.
fn setup(opts: &kiln::CompileOptions) -> (String, Library, Store, Instance) {
    let library = wat_library(MODULE, opts);
    let mut store = Store::new(&Engine::default());
    let thrower = Func::new(&mut store, FuncType::new([], []), |_, _, _| Ok(()));
    let a = instance(&mut store, &library, thrower);
    (describe(opts), library, store, a)
}

fn tag(store: &Store, instance: &Instance, name: &str) -> Tag {
    match instance.get_export(store, name) {
        Some(Extern::Tag(t)) => t,
        other => panic!("export `{name}` is {other:?}, not a tag"),
    }
}

fn exception(result: Result<Vec<Val>, Error>, what: &str) -> Exception {
    match result {
        Err(Error::Exception(exn)) => exn,
        Err(e) => panic!("{what}: not an exception: {e}"),
        Ok(v) => panic!("{what}: returned {v:?}"),
    }
}

#[test]
fn an_uncaught_exception_reaches_the_host_with_its_tag_and_payload() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (what, _library, mut store, a) = setup(&opts);
        let (e, other) = (tag(&store, &a, "e"), tag(&store, &a, "other"));

        let exn = exception(call(&mut store, &a, "throw", &[Val::I32(7), Val::from(2.5f64)]), &what);
        assert_eq!(exn.tag(&store).unwrap(), e, "{what}");
        assert!(!exn.is(&store, &other).unwrap(), "{what}");
        assert_eq!(exn.payload(&store).unwrap(), [Val::I32(7), Val::from(2.5f64)], "{what}");
        assert_eq!(e.ty(&store).unwrap(), FuncType::new([ValType::I32, ValType::F64], []), "{what}");

        // Through 1000 frames without handlers.
        let exn = exception(call(&mut store, &a, "deep", &[Val::I32(1000)]), &what);
        assert_eq!(exn.payload(&store).unwrap(), [Val::I32(42), Val::from(0.5f64)], "{what}");
        // The store still works afterwards.
        assert_eq!(call(&mut store, &a, "catch", &[]).unwrap(), [Val::I32(-1)], "{what}");
    }
}

#[test]
fn a_host_function_raises_an_exception_that_wasm_catches_by_tag() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (what, library, mut store, a) = setup(&opts);
        let (e, other) = (tag(&store, &a, "e"), tag(&store, &a, "other"));

        // `b`'s thrower raises an exception of `a`'s `$e`: a foreign tag to
        // `b`, so only its `catch_all` takes it.
        let raise_e = Func::new(&mut store, FuncType::new([], []), move |mut caller, _, _| {
            Err(Error::Exception(Exception::new(&mut caller, &e, &[Val::I32(9), Val::from(1.0f64)])?))
        });
        let b = instance(&mut store, &library, raise_e);
        assert_eq!(call(&mut store, &b, "catch", &[]).unwrap(), [Val::I32(0)], "{what}");
        // No handler of `b` for `$other` either: it reaches the host.
        let exn = exception(call(&mut store, &b, "catch-other-only", &[]), &what);
        assert_eq!(exn.tag(&store).unwrap(), e, "{what}");
        assert_eq!(exn.payload(&store).unwrap(), [Val::I32(9), Val::from(1.0f64)], "{what}");

        // Likewise `a`'s `$other` raised into `c`: `c`'s handler for its own
        // `$other` does not take it.
        let raise_other = Func::new(&mut store, FuncType::new([], []), move |mut caller, _, _| {
            Err(Error::Exception(Exception::new(&mut caller, &other, &[Val::I32(5)])?))
        });
        let c = instance(&mut store, &library, raise_other);
        let exn = exception(call(&mut store, &c, "catch-other-only", &[]), &what);
        assert!(exn.is(&store, &other).unwrap(), "{what}: `c`'s `$other` is not `a`'s");
        assert_eq!(call(&mut store, &c, "catch", &[]).unwrap(), [Val::I32(0)], "{what}");
    }
}

#[test]
fn an_instance_catches_its_own_tag_raised_by_the_host_and_the_host_can_raise_again() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let library = wat_library(MODULE, &opts);
        let mut store = Store::new(&Engine::default());
        // The host function raises whatever exception the host saved.
        let saved: std::sync::Arc<std::sync::Mutex<Option<Exception>>> = Default::default();
        let slot = saved.clone();
        let rethrow = Func::new(&mut store, FuncType::new([], []), move |_, _, _| {
            match *slot.lock().unwrap() {
                Some(exn) => Err(Error::Exception(exn)),
                None => Ok(()),
            }
        });
        let a = instance(&mut store, &library, rethrow);
        assert_eq!(call(&mut store, &a, "catch", &[]).unwrap(), [Val::I32(-1)], "{what}: nothing raised yet");
        let exn = exception(call(&mut store, &a, "throw", &[Val::I32(31), Val::from(0.25f64)]), &what);
        *saved.lock().unwrap() = Some(exn);
        // The host raises the caught exception again from inside `catch`:
        // `a`'s handler for `$e` takes it and returns the payload's i32.
        assert_eq!(call(&mut store, &a, "catch", &[]).unwrap(), [Val::I32(31)], "{what}");
        // A handler for `$other` only does not.
        let again = exception(call(&mut store, &a, "catch-other-only", &[]), &what);
        assert_eq!(again, exn, "{what}: the same exception comes back");
    }
}

#[test]
fn a_host_made_tag_is_imported_and_matched() {
    const IMPORTER: &str = r#"(module
      (import "host" "tag" (tag $t (param i64)))
      (import "host" "raise" (func $raise (param i64)))
      (func (export "roundtrip") (param i64) (result i64)
        (block $caught (result i64)
          (try_table (catch $t $caught) (call $raise (local.get 0)))
          (i64.const -1)))
      (func (export "throw") (param i64) (throw $t (local.get 0))))"#;
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let engine = Engine::default();
        let library = wat_library(IMPORTER, &opts);
        let mut store = Store::new(&engine);
        let host_tag = Tag::new(&mut store, &FuncType::new([ValType::I64], [])).unwrap();
        let stranger = Tag::new(&mut store, &FuncType::new([ValType::I64], [])).unwrap();
        let raise = Func::new(&mut store, FuncType::new([ValType::I64], []), move |mut caller, args, _| {
            let tag = if args[0].i64() == Some(0) { stranger } else { host_tag };
            Err(Error::Exception(Exception::new(&mut caller, &tag, &[args[0]])?))
        });
        let mut linker = Linker::new(&engine);
        linker.define("host", "tag", host_tag).define("host", "raise", raise);
        let module = load(&engine, &library);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        assert_eq!(call(&mut store, &instance, "roundtrip", &[Val::I64(12)]).unwrap(), [Val::I64(12)], "{what}");
        // Same type, other tag: not caught.
        let exn = exception(call(&mut store, &instance, "roundtrip", &[Val::I64(0)]), &what);
        assert_eq!(exn.tag(&store).unwrap(), stranger, "{what}");
        // Wasm throws the host's tag; the host sees its own tag.
        let exn = exception(call(&mut store, &instance, "throw", &[Val::I64(77)]), &what);
        assert!(exn.is(&store, &host_tag).unwrap(), "{what}");
        assert_eq!(exn.payload(&store).unwrap(), [Val::I64(77)], "{what}");
        // A tag of another type does not satisfy the import.
        let wrong = Tag::new(&mut store, &FuncType::new([ValType::I32], [])).unwrap();
        let mut linker = Linker::new(&engine);
        linker.define("host", "tag", wrong).define("host", "raise", raise);
        assert!(matches!(linker.instantiate(&mut store, &module), Err(Error::Link(_))), "{what}");
        // A payload of the wrong type is refused when the host makes it.
        assert!(Exception::new(&mut store, &host_tag, &[Val::I32(1)]).is_err(), "{what}");
    }
}

#[test]
fn a_trap_inside_try_table_is_not_caught() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let (what, library, mut store, a) = setup(&opts);
        assert_trap(call(&mut store, &a, "trap-in-try", &[]), TrapCode::UnreachableCodeReached, &what);
        // A host function's trap passes through handlers too.
        let trapping = Func::new(&mut store, FuncType::new([], []), |_, _, _| {
            Err(Error::Trap(kiln_loader::Trap::new(TrapCode::IntegerDivisionByZero)))
        });
        let b = instance(&mut store, &library, trapping);
        assert_trap(call(&mut store, &b, "catch", &[]), TrapCode::IntegerDivisionByZero, &what);
    }
}

#[test]
fn exnrefs_live_in_tables_globals_and_cross_the_host_boundary() {
    const MODULE: &str = r#"(module
      (tag $e (export "e") (param i32))
      (table $t 2 exnref)
      (global $g (mut exnref) (ref.null exn))
      (func $catch (param i32) (result exnref)
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $e (local.get 0)))
          (unreachable)))
      (func (export "stash") (param i32)
        (table.set $t (i32.const 1) (call $catch (local.get 0)))
        (global.set $g (call $catch (i32.add (local.get 0) (i32.const 1)))))
      (func $payload (param exnref) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (throw_ref (local.get 0)))
          (i32.const -1)))
      (func (export "from-table") (result i32) (call $payload (table.get $t (i32.const 1))))
      (func (export "from-global") (result i32) (call $payload (global.get $g)))
      (func (export "payload") (param exnref) (result i32) (call $payload (local.get 0)))
      (func (export "get") (result exnref) (table.get $t (i32.const 1)))
      (func (export "null-slot") (result i32) (ref.is_null (table.get $t (i32.const 0))))
      (func (export "throw-null") (throw_ref (table.get $t (i32.const 0)))))"#;
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let (mut store, instance, _library) = pipeline::instantiate(MODULE, &opts);
        assert_eq!(call(&mut store, &instance, "null-slot", &[]).unwrap(), [Val::I32(1)], "{what}");
        call(&mut store, &instance, "stash", &[Val::I32(42)]).unwrap();
        assert_eq!(call(&mut store, &instance, "from-table", &[]).unwrap(), [Val::I32(42)], "{what}");
        assert_eq!(call(&mut store, &instance, "from-global", &[]).unwrap(), [Val::I32(43)], "{what}");
        // An exnref comes out to the host and goes back in as a parameter.
        let [Val::ExnRef(Some(exn))] = call(&mut store, &instance, "get", &[]).unwrap()[..] else {
            panic!("{what}: `get` returned no exception")
        };
        assert_eq!(exn.payload(&store).unwrap(), [Val::I32(42)], "{what}");
        assert_eq!(call(&mut store, &instance, "payload", &[Val::ExnRef(Some(exn))]).unwrap(), [Val::I32(42)], "{what}");
        // One the host made, of the instance's tag.
        let e = tag(&store, &instance, "e");
        let made = Exception::new(&mut store, &e, &[Val::I32(5)]).unwrap();
        assert_eq!(call(&mut store, &instance, "payload", &[Val::ExnRef(Some(made))]).unwrap(), [Val::I32(5)], "{what}");
        assert_trap(call(&mut store, &instance, "throw-null", &[]), TrapCode::NullExceptionReference, &what);
    }
}

/// A host function that calls back into wasm gets the inner call's
/// uncaught exception as an error and returns it: the outer wasm code
/// catches it, so an exception crosses two host-to-wasm entries.
#[test]
fn an_exception_crosses_nested_entries() {
    const MODULE: &str = r#"(module
      (tag $e (export "e") (param i32))
      (import "host" "reenter" (func $reenter (param i32)))
      (func (export "throw") (param i32) (throw $e (local.get 0)))
      (func (export "outer") (param i32) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (call $reenter (local.get 0)))
          (i32.const -1))))"#;
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let engine = Engine::default();
        let library = wat_library(MODULE, &opts);
        let mut store = Store::new(&engine);
        let reenter = Func::new(&mut store, FuncType::new([ValType::I32], []), |mut caller, args, _| {
            let Some(Extern::Func(inner)) = caller.get_export("throw") else {
                return Err(Error::msg("no export `throw`"));
            };
            // The inner call raises; its error is returned as it is.
            inner.call(&mut caller, &[Val::I32(args[0].i32().unwrap_or(0) * 2)], &mut [])
        });
        let mut linker = Linker::new(&engine);
        linker.define("host", "reenter", reenter);
        let instance = linker.instantiate(&mut store, &load(&engine, &library)).unwrap();
        assert_eq!(call(&mut store, &instance, "outer", &[Val::I32(21)]).unwrap(), [Val::I32(42)], "{what}");
    }
}
