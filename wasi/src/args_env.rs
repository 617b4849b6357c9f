//! `args_*` and `environ_*`: the guest's command line and environment.
//!
//! Both use the same encoding: a table of `u32` pointers, one per string,
//! and a buffer of NUL-terminated strings they point into. The `*_sizes_get`
//! functions tell the guest how much room to allocate.

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;

/// Writes `strings` as a pointer table at `table` and a string buffer at
/// `buf`.
fn write_strings<'s>(
    mem: &mut GuestMemory<'_>,
    strings: impl Iterator<Item = Vec<u8>> + 's,
    table: u32,
    buf: u32,
) -> WasiResult<()> {
    let (mut slot, mut at) = (table, buf);
    for mut string in strings {
        string.push(0);
        mem.write_u32(slot, at)?;
        mem.write(at, &string)?;
        slot = slot.checked_add(4).ok_or(Errno::Fault)?;
        at = u32::try_from(string.len()).ok().and_then(|n| at.checked_add(n)).ok_or(Errno::Fault)?;
    }
    Ok(())
}

/// Writes the count of `strings` and their total size with NULs.
fn write_sizes(
    mem: &mut GuestMemory<'_>,
    lens: impl Iterator<Item = usize>,
    count_ptr: u32,
    size_ptr: u32,
) -> WasiResult<()> {
    let (mut count, mut size) = (0u64, 0u64);
    for len in lens {
        count += 1;
        size += len as u64 + 1;
    }
    mem.write_u32(count_ptr, u32::try_from(count).map_err(|_| Errno::Overflow)?)?;
    mem.write_u32(size_ptr, u32::try_from(size).map_err(|_| Errno::Overflow)?)
}

fn env_strings(ctx: &WasiCtx) -> impl Iterator<Item = Vec<u8>> + '_ {
    ctx.env.iter().map(|(k, v)| format!("{k}={v}").into_bytes())
}

/// `args_get(argv, argv_buf)`.
pub fn args_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, argv: u32, argv_buf: u32) -> WasiResult<()> {
    write_strings(mem, ctx.args.iter().map(|a| a.clone().into_bytes()), argv, argv_buf)
}

/// `args_sizes_get(argc_ptr, argv_buf_size_ptr)`.
pub fn args_sizes_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, argc: u32, size: u32) -> WasiResult<()> {
    write_sizes(mem, ctx.args.iter().map(String::len), argc, size)
}

/// `environ_get(environ, environ_buf)`.
pub fn environ_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, environ: u32, buf: u32) -> WasiResult<()> {
    write_strings(mem, env_strings(ctx), environ, buf)
}

/// `environ_sizes_get(count_ptr, buf_size_ptr)`.
pub fn environ_sizes_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, count: u32, size: u32) -> WasiResult<()> {
    write_sizes(mem, ctx.env.iter().map(|(k, v)| k.len() + 1 + v.len()), count, size)
}
