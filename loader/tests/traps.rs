//! Traps: every way out of wasm, nested entries, stack limits, panics, and
//! faults the runtime must not claim.

mod common;

use common::{basic, trap_code};
use kiln_loader::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

type Reenter = Arc<dyn Fn(Caller<'_>, i32) -> Result<i32, Error> + Send + Sync>;

/// The basic module with `host.reenter` running `reenter`, and `host.fail`
/// panicking.
fn instantiate(engine: &Engine, reenter: Reenter) -> (Store, Instance, common::Library) {
    let lib = basic::build();
    let module = Module::from_file(engine, &lib.path).unwrap();
    let mut store = Store::new(engine);
    let mut linker = Linker::new(engine);
    let add = Func::wrap(&mut store, |a: i32, b: i32| a + b);
    let reenter = Func::wrap(&mut store, move |caller: Caller<'_>, x: i32| reenter(caller, x));
    let fail = Func::wrap(&mut store, || -> () { panic!("host function panicked") });
    linker.define("host", "add", add).define("host", "reenter", reenter).define("host", "fail", fail);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance, lib)
}

fn simple() -> (Store, Instance, common::Library) {
    instantiate(&Engine::default(), Arc::new(|_, x| Ok(x)))
}

#[test]
fn out_of_bounds_memory_access_traps() {
    let (mut store, instance, _lib) = simple();
    let load = instance.get_typed_func::<i32, i32>(&store, "load").unwrap();
    let base = instance.get_memory(&store, "memory").unwrap().data(&store).unwrap().as_ptr() as usize;
    for addr in [65536, 65533, -1, i32::MIN] {
        let e = load.call(&mut store, addr).unwrap_err();
        assert_eq!(trap_code(&e), TrapCode::MemoryOutOfBounds, "address {addr:#x}");
        assert_eq!(e.to_string(), "out of bounds memory access");
        let fault = e.as_trap().unwrap().fault_address().unwrap();
        assert!(fault >= base + 65536 && fault < base + (1 << 33), "fault at {fault:#x}, base {base:#x}");
        assert!(e.as_trap().unwrap().pc().is_some());
    }
    assert_eq!(load.call(&mut store, 65532).unwrap(), 0);
}

#[test]
fn explicit_traps_carry_the_spec_message() {
    let (mut store, instance, _lib) = simple();
    let div = instance.get_typed_func::<(i32, i32), i32>(&store, "div_s").unwrap();
    let e = div.call(&mut store, (1, 0)).unwrap_err();
    assert_eq!(trap_code(&e), TrapCode::IntegerDivisionByZero);
    assert_eq!(e.to_string(), "integer divide by zero");
    assert_eq!(div.call(&mut store, (i32::MIN, -1)).unwrap_err().to_string(), "integer overflow");
    let unreachable = instance.get_typed_func::<(), ()>(&store, "unreachable").unwrap();
    assert_eq!(unreachable.call(&mut store, ()).unwrap_err().to_string(), "unreachable");
    assert_eq!(div.call(&mut store, (9, 3)).unwrap(), 3);
}

#[test]
fn stack_exhaustion_traps_and_the_store_stays_usable() {
    let (mut store, instance, _lib) = simple();
    let recurse = instance.get_typed_func::<i32, i32>(&store, "recurse").unwrap();
    let load = instance.get_typed_func::<i32, i32>(&store, "load").unwrap();
    for _ in 0..20 {
        let e = recurse.call(&mut store, i32::MAX).unwrap_err();
        assert_eq!(trap_code(&e), TrapCode::StackOverflow);
        assert_eq!(e.to_string(), "call stack exhausted");
        assert_eq!(trap_code(&load.call(&mut store, -4).unwrap_err()), TrapCode::MemoryOutOfBounds);
        assert_eq!(recurse.call(&mut store, 100).unwrap(), 0);
    }
}

#[test]
fn the_wasm_stack_limit_is_configurable() {
    let mut config = Config::new();
    config.max_wasm_stack(64 * 1024);
    let (mut store, instance, _lib) = instantiate(&Engine::new(&config), Arc::new(|_, x| Ok(x)));
    let recurse = instance.get_typed_func::<i32, i32>(&store, "recurse").unwrap();
    // Each frame takes at least 64 bytes of padding: 4096 frames need more
    // than 64 KiB, 100 frames much less.
    assert_eq!(trap_code(&recurse.call(&mut store, 4096).unwrap_err()), TrapCode::StackOverflow);
    assert_eq!(recurse.call(&mut store, 100).unwrap(), 0);
}

#[test]
fn a_small_thread_stack_lowers_the_limit() {
    // 1 MiB of wasm stack is asked for, on a 256 KiB thread: the limit is
    // clamped above the thread's stack bottom instead of crashing.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let (mut store, instance, _lib) = simple();
            let recurse = instance.get_typed_func::<i32, i32>(&store, "recurse").unwrap();
            assert_eq!(trap_code(&recurse.call(&mut store, i32::MAX).unwrap_err()), TrapCode::StackOverflow);
            assert_eq!(recurse.call(&mut store, 10).unwrap(), 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn nested_entries_unwind_to_the_innermost_and_keep_the_outer_limit() {
    let depth_traps = Arc::new(AtomicUsize::new(0));
    let seen = depth_traps.clone();
    let reenter: Reenter = Arc::new(move |mut caller, x| {
        let recurse = caller.get_export("recurse").unwrap().into_func().unwrap();
        let recurse = recurse.typed::<i32, i32>(&caller)?;
        match recurse.call(&mut caller, x) {
            Ok(v) => Ok(v),
            Err(e) => {
                assert_eq!(trap_code(&e), TrapCode::StackOverflow);
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(-100)
            }
        }
    });
    let (mut store, instance, _lib) = instantiate(&Engine::default(), reenter);
    let outer = instance.get_typed_func::<i32, i32>(&store, "call_reenter").unwrap();
    assert_eq!(outer.call(&mut store, 10).unwrap(), 1);
    // The inner recursion overflows, the host handles it, the outer call
    // returns normally.
    assert_eq!(outer.call(&mut store, i32::MAX).unwrap(), -99);
    assert_eq!(depth_traps.load(Ordering::SeqCst), 1);
    assert_eq!(outer.call(&mut store, 3).unwrap(), 1);
}

#[test]
fn a_trap_returned_by_a_host_function_propagates_unchanged() {
    let reenter: Reenter = Arc::new(|mut caller, x| {
        let div = caller.get_export("div_s").unwrap().into_func().unwrap();
        div.typed::<(i32, i32), i32>(&caller)?.call(&mut caller, (1, x))
    });
    let (mut store, instance, _lib) = instantiate(&Engine::default(), reenter);
    let outer = instance.get_typed_func::<i32, i32>(&store, "call_reenter").unwrap();
    let e = outer.call(&mut store, 0).unwrap_err();
    assert_eq!(trap_code(&e), TrapCode::IntegerDivisionByZero);
    assert_eq!(outer.call(&mut store, 1).unwrap(), 2);
}

#[test]
fn host_panics_resume_in_the_host_after_wasm_unwinds() {
    let (mut store, instance, _lib) = simple();
    let fail = instance.get_typed_func::<(), ()>(&store, "call_fail").unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fail.call(&mut store, ())));
    let payload = result.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"host function panicked"));
    let add = instance.get_typed_func::<(i32, i32), i32>(&store, "call_add").unwrap();
    assert_eq!(add.call(&mut store, (2, 2)).unwrap(), 4);
}

#[test]
fn stores_move_between_threads() {
    let (mut store, instance, lib) = simple();
    let load = instance.get_typed_func::<i32, i32>(&store, "load").unwrap();
    assert_eq!(trap_code(&load.call(&mut store, -1).unwrap_err()), TrapCode::MemoryOutOfBounds);
    let store = std::thread::spawn(move || {
        let mut store = store;
        assert_eq!(trap_code(&load.call(&mut store, -1).unwrap_err()), TrapCode::MemoryOutOfBounds);
        assert_eq!(load.call(&mut store, 8).unwrap(), i32::from_le_bytes(*b"hell"));
        store
    })
    .join()
    .unwrap();
    drop((store, lib));
}

#[test]
fn handles_of_another_store_are_rejected() {
    let engine = Engine::default();
    let (store_a, instance_a, _lib) = instantiate(&engine, Arc::new(|_, x| Ok(x)));
    let (mut store_b, _instance_b, _lib_b) = instantiate(&engine, Arc::new(|_, x| Ok(x)));
    let memory = instance_a.get_memory(&store_a, "memory").unwrap();
    assert!(matches!(memory.data(&store_b), Err(Error::WrongStore("memory"))));
    let f = instance_a.get_func(&store_a, "add").unwrap();
    let e = f.call(&mut store_b, &[Val::I32(1), Val::I32(2)], &mut [Val::I32(0)]).unwrap_err();
    assert!(matches!(e, Error::WrongStore(_)), "{e}");
    assert!(instance_a.get_export(&store_b, "add").is_none());
    let table = instance_a.get_table(&store_a, "table").unwrap();
    assert!(table.size(&store_b).is_err());
}

/// Runs `test` in a child process (this test binary, filtered to `test`)
/// with `KILN_CHILD` set, and returns how it ended.
fn run_child(test: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("KILN_CHILD", "1")
        .output()
        .unwrap()
}

fn in_child() -> bool {
    std::env::var_os("KILN_CHILD").is_some()
}

fn died_of(output: &std::process::Output, signal: i32) -> bool {
    use std::os::unix::process::ExitStatusExt;
    output.status.signal() == Some(signal)
}

#[test]
fn faults_outside_linear_memory_are_not_claimed() {
    if in_child() {
        let (mut store, instance, _lib) = simple();
        let peek = instance.get_typed_func::<i32, i32>(&store, "peek").unwrap();
        let _ = peek.call(&mut store, 16);
        unreachable!("reading address 16 must kill the process");
    }
    let out = run_child("faults_outside_linear_memory_are_not_claimed");
    assert!(died_of(&out, libc::SIGSEGV), "{:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
}

#[test]
fn faults_in_host_code_reach_the_previous_handler() {
    if in_child() {
        let (_store, _instance, _lib) = simple();
        // SAFETY: deliberately crashes the child process.
        unsafe { std::ptr::null_mut::<i32>().write_volatile(1) };
        unreachable!();
    }
    let out = run_child("faults_in_host_code_reach_the_previous_handler");
    assert!(died_of(&out, libc::SIGSEGV), "{:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
}

#[test]
fn rust_stack_overflow_is_still_reported_by_rust() {
    if in_child() {
        let _engine = Engine::default();
        fn recurse(n: u64) -> u64 {
            let pad = std::hint::black_box([n; 64]);
            if n == 0 { 0 } else { recurse(n - 1) + pad[3] }
        }
        std::thread::Builder::new().stack_size(64 * 1024).spawn(|| recurse(u64::MAX)).unwrap().join().unwrap();
        unreachable!();
    }
    let out = run_child("rust_stack_overflow_is_still_reported_by_rust");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has overflowed its stack"), "{:?}\n{stderr}", out.status);
}
