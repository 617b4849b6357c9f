//! `clock_res_get`, `clock_time_get`, `random_get`: host clocks and the
//! host's entropy source.

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::types::clockid;
use rustix::time::{ClockId, Timespec};

/// The host clock behind a WASI clock id; `EINVAL` for unknown ids.
pub(crate) fn host_clock(id: u32) -> WasiResult<ClockId> {
    match id {
        clockid::REALTIME => Ok(ClockId::Realtime),
        clockid::MONOTONIC => Ok(ClockId::Monotonic),
        clockid::PROCESS_CPUTIME => Ok(ClockId::ProcessCPUTime),
        clockid::THREAD_CPUTIME => Ok(ClockId::ThreadCPUTime),
        _ => Err(Errno::Inval),
    }
}

/// A timespec in nanoseconds (clocks never report negative times here;
/// those clamp to 0).
pub(crate) fn nanos(ts: Timespec) -> u64 {
    let ns = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
}

/// The current time of WASI clock `id` in nanoseconds.
pub(crate) fn now(id: u32) -> WasiResult<u64> {
    Ok(nanos(rustix::time::clock_gettime(host_clock(id)?)))
}

/// `clock_res_get(id, resolution_ptr)`.
pub fn clock_res_get(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, id: u32, out: u32) -> WasiResult<()> {
    let res = nanos(rustix::time::clock_getres(host_clock(id)?)).max(1);
    mem.write_u64(out, res)
}

/// `clock_time_get(id, precision, time_ptr)`; the precision hint is
/// ignored (the host clock is read at its best precision).
pub fn clock_time_get(
    _: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    out: u32,
) -> WasiResult<()> {
    let time = now(id)?;
    mem.write_u64(out, time)
}

/// `random_get(buf, buf_len)`: fills the buffer from the host's
/// cryptographic random source.
pub fn random_get(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, buf: u32, len: u32) -> WasiResult<()> {
    getrandom::fill(mem.slice_mut(buf, len)?).map_err(|_| Errno::Io)
}
