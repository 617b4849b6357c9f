//! `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`.
//!
//! Preview 1 cannot create sockets; a guest can only use sockets the host
//! preopens, and this crate preopens none. So every descriptor is either
//! closed (`EBADF`) or not a socket (`ENOTSOCK`), which is what the spec
//! asks for.

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;

/// `EBADF` for a closed fd, else `ENOTSOCK`.
fn not_a_socket(ctx: &WasiCtx, fd: u32) -> WasiResult<()> {
    ctx.table.get(fd)?;
    Err(Errno::NotSock)
}

/// `sock_accept(fd, flags, fd_ptr)`.
pub fn sock_accept(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32, _flags: u32, _out: u32) -> WasiResult<()> {
    not_a_socket(ctx, fd)
}

/// `sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_ptr, ro_flags_ptr)`.
pub fn sock_recv(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _flags: u32,
    _datalen: u32,
    _oflags: u32,
) -> WasiResult<()> {
    not_a_socket(ctx, fd)
}

/// `sock_send(fd, si_data, si_data_len, si_flags, so_datalen_ptr)`.
pub fn sock_send(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _flags: u32,
    _datalen: u32,
) -> WasiResult<()> {
    not_a_socket(ctx, fd)
}

/// `sock_shutdown(fd, how)`.
pub fn sock_shutdown(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32, _how: u32) -> WasiResult<()> {
    not_a_socket(ctx, fd)
}
