//! `add_to_linker`: every function of `wasi_snapshot_preview1` as a kiln
//! host function.
//!
//! The context lives in an `Arc<Mutex<WasiCtx>>` that each host closure
//! captures, so a call can hold the context and the guest's memory (the
//! calling instance's `memory` export, borrowed from the store through the
//! [`Caller`]) at the same time. Each closure converts the wasm arguments
//! (`i32` reinterpreted as `u32`, `i64` as `u64` except `fd_seek`'s signed
//! offset) and returns the errno as the function's `i32` result.

use crate::ctx::{WasiCtx, lock};
use crate::errno::WasiResult;
use crate::error::WasiError;
use crate::memory::GuestMemory;
use crate::{args_env, clocks_random, fd, path, poll, proc, readdir, sock};
use kiln_loader::{Caller, Error, Extern, Func, Linker, Store};
use std::sync::{Arc, Mutex};

/// The module name every function is defined under.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Runs one WASI function with the context and the caller's memory and
/// turns its outcome into the errno result.
fn dispatch(
    caller: &mut Caller<'_>,
    ctx: &Mutex<WasiCtx>,
    f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> WasiResult<()>,
) -> Result<i32, Error> {
    let outcome = match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => {
            let bytes = memory.data_mut(caller)?;
            f(&mut lock(ctx), &mut GuestMemory::new(bytes))
        }
        _ => {
            let mut mem = GuestMemory::missing();
            let outcome = f(&mut lock(ctx), &mut mem);
            if mem.was_missing() {
                return Err(Error::host(WasiError::MissingMemory));
            }
            outcome
        }
    };
    Ok(match outcome {
        Ok(()) => 0,
        Err(errno) => i32::from(errno.raw()),
    })
}

/// Defines `$family::$name` for each listed function: the wasm parameter
/// types, and the host type each one is reinterpreted as.
macro_rules! define {
    ($linker:ident, $store:ident, $ctx:ident: $($family:ident::$name:ident($($arg:ident: $wasm:ty => $host:ty),*);)*) => {
        $({
            let ctx = Arc::clone(&$ctx);
            let func = Func::wrap(&mut *$store, move |mut caller: Caller<'_>, $($arg: $wasm),*| -> Result<i32, Error> {
                dispatch(&mut caller, &ctx, |cx, mem| $family::$name(cx, mem, $($arg as $host),*))
            });
            $linker.define(MODULE, stringify!($name), func);
        })*
    };
}

/// Defines every `wasi_snapshot_preview1` function in `linker`, as host
/// functions of `store` sharing `ctx`.
pub fn add_to_linker(linker: &mut Linker, store: &mut Store, ctx: WasiCtx) -> Result<(), Error> {
    add_to_linker_shared(linker, store, Arc::new(Mutex::new(ctx)))
}

/// [`add_to_linker`] over a context other stores share: under
/// wasi-threads each thread has a store of its own, and all of them one
/// process's arguments, environment and descriptors. A call holds the
/// context for its duration, so the threads' WASI calls run one at a time.
pub fn add_to_linker_shared(linker: &mut Linker, store: &mut Store, ctx: Arc<Mutex<WasiCtx>>) -> Result<(), Error> {
    define!(linker, store, ctx:
        args_env::args_get(argv: i32 => u32, buf: i32 => u32);
        args_env::args_sizes_get(argc: i32 => u32, size: i32 => u32);
        args_env::environ_get(environ: i32 => u32, buf: i32 => u32);
        args_env::environ_sizes_get(count: i32 => u32, size: i32 => u32);
        clocks_random::clock_res_get(id: i32 => u32, out: i32 => u32);
        clocks_random::clock_time_get(id: i32 => u32, precision: i64 => u64, out: i32 => u32);
        clocks_random::random_get(buf: i32 => u32, len: i32 => u32);
        fd::fd_advise(fd: i32 => u32, offset: i64 => u64, len: i64 => u64, advice: i32 => u32);
        fd::fd_allocate(fd: i32 => u32, offset: i64 => u64, len: i64 => u64);
        fd::fd_close(fd: i32 => u32);
        fd::fd_datasync(fd: i32 => u32);
        fd::fd_fdstat_get(fd: i32 => u32, out: i32 => u32);
        fd::fd_fdstat_set_flags(fd: i32 => u32, flags: i32 => u32);
        fd::fd_fdstat_set_rights(fd: i32 => u32, base: i64 => u64, inheriting: i64 => u64);
        fd::fd_filestat_get(fd: i32 => u32, out: i32 => u32);
        fd::fd_filestat_set_size(fd: i32 => u32, size: i64 => u64);
        fd::fd_filestat_set_times(fd: i32 => u32, atim: i64 => u64, mtim: i64 => u64, flags: i32 => u32);
        fd::fd_pread(fd: i32 => u32, iovs: i32 => u32, iovs_len: i32 => u32, offset: i64 => u64, out: i32 => u32);
        fd::fd_prestat_get(fd: i32 => u32, out: i32 => u32);
        fd::fd_prestat_dir_name(fd: i32 => u32, path: i32 => u32, len: i32 => u32);
        fd::fd_pwrite(fd: i32 => u32, iovs: i32 => u32, iovs_len: i32 => u32, offset: i64 => u64, out: i32 => u32);
        fd::fd_read(fd: i32 => u32, iovs: i32 => u32, iovs_len: i32 => u32, out: i32 => u32);
        readdir::fd_readdir(fd: i32 => u32, buf: i32 => u32, len: i32 => u32, cookie: i64 => u64, out: i32 => u32);
        fd::fd_renumber(fd: i32 => u32, to: i32 => u32);
        fd::fd_seek(fd: i32 => u32, offset: i64 => i64, whence: i32 => u32, out: i32 => u32);
        fd::fd_sync(fd: i32 => u32);
        fd::fd_tell(fd: i32 => u32, out: i32 => u32);
        fd::fd_write(fd: i32 => u32, iovs: i32 => u32, iovs_len: i32 => u32, out: i32 => u32);
        path::path_create_directory(fd: i32 => u32, path: i32 => u32, len: i32 => u32);
        path::path_filestat_get(fd: i32 => u32, flags: i32 => u32, path: i32 => u32, len: i32 => u32, out: i32 => u32);
        path::path_filestat_set_times(
            fd: i32 => u32, flags: i32 => u32, path: i32 => u32, len: i32 => u32,
            atim: i64 => u64, mtim: i64 => u64, fst: i32 => u32
        );
        path::path_link(
            old_fd: i32 => u32, old_flags: i32 => u32, old_path: i32 => u32, old_len: i32 => u32,
            new_fd: i32 => u32, new_path: i32 => u32, new_len: i32 => u32
        );
        path::path_open(
            fd: i32 => u32, dirflags: i32 => u32, path: i32 => u32, len: i32 => u32, oflags: i32 => u32,
            base: i64 => u64, inheriting: i64 => u64, fdflags: i32 => u32, out: i32 => u32
        );
        path::path_readlink(
            fd: i32 => u32, path: i32 => u32, len: i32 => u32, buf: i32 => u32, buf_len: i32 => u32, out: i32 => u32
        );
        path::path_remove_directory(fd: i32 => u32, path: i32 => u32, len: i32 => u32);
        path::path_rename(
            fd: i32 => u32, old_path: i32 => u32, old_len: i32 => u32,
            new_fd: i32 => u32, new_path: i32 => u32, new_len: i32 => u32
        );
        path::path_symlink(old_path: i32 => u32, old_len: i32 => u32, fd: i32 => u32, new_path: i32 => u32, new_len: i32 => u32);
        path::path_unlink_file(fd: i32 => u32, path: i32 => u32, len: i32 => u32);
        poll::poll_oneoff(subs: i32 => u32, events: i32 => u32, nsubs: i32 => u32, out: i32 => u32);
        proc::proc_raise(signal: i32 => u32);
        proc::sched_yield();
        sock::sock_accept(fd: i32 => u32, flags: i32 => u32, out: i32 => u32);
        sock::sock_recv(
            fd: i32 => u32, iovs: i32 => u32, iovs_len: i32 => u32, flags: i32 => u32, datalen: i32 => u32, oflags: i32 => u32
        );
        sock::sock_send(fd: i32 => u32, iovs: i32 => u32, iovs_len: i32 => u32, flags: i32 => u32, datalen: i32 => u32);
        sock::sock_shutdown(fd: i32 => u32, how: i32 => u32);
    );
    let exit = Func::wrap(&mut *store, |code: i32| -> Result<(), Error> { Err(proc::proc_exit(code as u32)) });
    linker.define(MODULE, "proc_exit", exit);
    Ok(())
}
