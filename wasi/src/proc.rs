//! `proc_exit`, `proc_raise`, `sched_yield`.
//!
//! `proc_exit` does not return to the guest: its host function fails with
//! [`I32Exit`], which the loader turns into a trap that unwinds the wasm
//! frames back to whoever called into wasm (see [`crate::exit_code`]).

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::error::I32Exit;
use crate::memory::GuestMemory;

/// `proc_exit(code)`: the error that ends the guest's run.
pub fn proc_exit(code: u32) -> kiln_loader::Error {
    kiln_loader::Error::host(I32Exit(code as i32))
}

/// `proc_raise(signal)`: WASI has no signal delivery (the function was
/// dropped from later snapshots), so this is `ENOSYS`.
pub fn proc_raise(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _signal: u32) -> WasiResult<()> {
    Err(Errno::NoSys)
}

/// `sched_yield()`.
pub fn sched_yield(_: &mut WasiCtx, _: &mut GuestMemory<'_>) -> WasiResult<()> {
    std::thread::yield_now();
    Ok(())
}
