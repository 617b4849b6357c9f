//! The `fd_*` functions on open descriptors (directory listing is in
//! `readdir`): reading, writing, seeking, flags, status, rights, sync,
//! preopen names, closing and renumbering.
//!
//! Each function looks its descriptor up with the rights it needs
//! (`EBADF` when closed, `ENOTCAPABLE` when the right is missing) and
//! only then looks at what kind of descriptor it is: a right a
//! descriptor's type cannot use is never granted, so the kind checks that
//! follow are for rights granted on purpose (seeking stdio is `ESPIPE`).

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::{GuestMemory, IoVec, MAX_TRANSFER, total_len};
use crate::table::{Descriptor, FileDesc};
use crate::types::{self, Fdstat, Filestat, Filetype, fdflags, fstflags, rights, whence};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

/// Reads with `read` into the guest buffers `iovs`: straight into guest
/// memory for one buffer, through a bounded host buffer for several (they
/// may overlap, so they cannot all be lent out at once).
fn read_into(
    mem: &mut GuestMemory<'_>,
    iovs: &[IoVec],
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
) -> WasiResult<u32> {
    let n = match iovs {
        [] => 0,
        [iov] => {
            let buf = mem.slice_mut(iov.ptr, iov.len)?;
            let len = buf.len().min(MAX_TRANSFER);
            read(&mut buf[..len])?
        }
        _ => {
            let mut buf = vec![0; total_len(iovs).min(MAX_TRANSFER as u64) as usize];
            let n = read(&mut buf)?.min(buf.len());
            mem.scatter(iovs, &buf[..n])?;
            n
        }
    };
    // At most MAX_TRANSFER.
    Ok(n as u32)
}

/// Writes the guest buffers `iovs` with `write`, which returns how many
/// bytes it took.
fn write_from(
    mem: &GuestMemory<'_>,
    iovs: &[IoVec],
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> WasiResult<u32> {
    let n = match iovs {
        [] => 0,
        [iov] => {
            let data = mem.slice(iov.ptr, iov.len)?;
            write(&data[..data.len().min(MAX_TRANSFER)])?
        }
        _ => write(&mem.gather(iovs)?)?,
    };
    Ok(n as u32)
}

/// `fd_read(fd, iovs, iovs_len, nread_ptr)`.
pub fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_READ)?;
    let iovs = mem.read_iovecs(iovs, iovs_len)?;
    let n = match &entry.desc {
        Descriptor::File(f) => read_into(mem, &iovs, |buf| io::Read::read(&mut &f.file, buf))?,
        Descriptor::Stdin(input) => read_into(mem, &iovs, |buf| input.read(buf))?,
        Descriptor::Dir(_) => return Err(Errno::IsDir),
        Descriptor::Stdout(_) => return Err(Errno::Badf),
    };
    mem.write_u32(nread, n)
}

/// `fd_pread(fd, iovs, iovs_len, offset, nread_ptr)`: reads at `offset`
/// without moving the file position.
pub fn fd_pread(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_READ | rights::FD_SEEK)?;
    let iovs = mem.read_iovecs(iovs, iovs_len)?;
    let n = match &entry.desc {
        Descriptor::File(f) => read_into(mem, &iovs, |buf| f.file.read_at(buf, offset))?,
        Descriptor::Dir(_) => return Err(Errno::IsDir),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => return Err(Errno::Spipe),
    };
    mem.write_u32(nread, n)
}

/// `fd_write(fd, iovs, iovs_len, nwritten_ptr)`.
pub fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_WRITE)?;
    let iovs = mem.read_iovecs(iovs, iovs_len)?;
    let n = match &entry.desc {
        Descriptor::File(f) => write_from(mem, &iovs, |data| (&f.file).write(data))?,
        Descriptor::Stdout(out) => write_from(mem, &iovs, |data| out.write(data).map(|()| data.len()))?,
        Descriptor::Dir(_) => return Err(Errno::IsDir),
        Descriptor::Stdin(_) => return Err(Errno::Badf),
    };
    mem.write_u32(nwritten, n)
}

/// `fd_pwrite(fd, iovs, iovs_len, offset, nwritten_ptr)`.
pub fn fd_pwrite(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_WRITE | rights::FD_SEEK)?;
    let iovs = mem.read_iovecs(iovs, iovs_len)?;
    let n = match &entry.desc {
        Descriptor::File(f) => write_from(mem, &iovs, |data| f.file.write_at(data, offset))?,
        Descriptor::Dir(_) => return Err(Errno::IsDir),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => return Err(Errno::Spipe),
    };
    mem.write_u32(nwritten, n)
}

/// The file behind an entry whose other kinds cannot seek.
fn seekable(desc: &Descriptor) -> WasiResult<&FileDesc> {
    match desc {
        Descriptor::File(f) => Ok(f),
        Descriptor::Dir(_) => Err(Errno::IsDir),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => Err(Errno::Spipe),
    }
}

/// `fd_seek(fd, offset, whence, newoffset_ptr)`. Asking for the current
/// position (offset 0 from `cur`) needs only `fd_tell`.
pub fn fd_seek(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: i64,
    how: u32,
    out: u32,
) -> WasiResult<()> {
    let needed = if offset == 0 && how == whence::CUR { rights::FD_TELL } else { rights::FD_SEEK | rights::FD_TELL };
    let entry = ctx.table.get_with(fd, needed)?;
    let pos = match how {
        whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        whence::CUR => SeekFrom::Current(offset),
        whence::END => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    let new = (&seekable(&entry.desc)?.file).seek(pos)?;
    mem.write_u64(out, new)
}

/// `fd_tell(fd, offset_ptr)`.
pub fn fd_tell(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, out: u32) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_TELL)?;
    let pos = (&seekable(&entry.desc)?.file).stream_position()?;
    mem.write_u64(out, pos)
}

/// `fd_close(fd)`. Any descriptor can be closed, preopens and stdio too.
pub fn fd_close(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32) -> WasiResult<()> {
    ctx.table.remove(fd).map(drop)
}

/// `fd_renumber(from, to)`: `to` is closed and `from` takes its number;
/// both must be open.
pub fn fd_renumber(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, from: u32, to: u32) -> WasiResult<()> {
    ctx.table.renumber(from, to)
}

/// `fd_datasync(fd)`.
pub fn fd_datasync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_DATASYNC)?;
    match &entry.desc {
        Descriptor::File(f) => Ok(f.file.sync_data()?),
        Descriptor::Dir(d) => Ok(rustix::fs::fdatasync(&d.dir)?),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => Err(Errno::Inval),
    }
}

/// `fd_sync(fd)`.
pub fn fd_sync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_SYNC)?;
    match &entry.desc {
        Descriptor::File(f) => Ok(f.file.sync_all()?),
        Descriptor::Dir(d) => Ok(rustix::fs::fsync(&d.dir)?),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => Err(Errno::Inval),
    }
}

/// The `fdflags` a file has on the host.
fn host_fdflags(file: &std::fs::File) -> WasiResult<u16> {
    use rustix::fs::OFlags;
    let host = rustix::fs::fcntl_getfl(file)?;
    let mut flags = 0;
    for (o, w) in [
        (OFlags::APPEND, fdflags::APPEND),
        (OFlags::DSYNC, fdflags::DSYNC),
        (OFlags::NONBLOCK, fdflags::NONBLOCK),
        (OFlags::RSYNC, fdflags::RSYNC),
        (OFlags::SYNC, fdflags::SYNC),
    ] {
        if host.contains(o) {
            flags |= w;
        }
    }
    // O_SYNC includes the O_DSYNC bit on Linux; report what was asked.
    if flags & fdflags::SYNC != 0 {
        flags &= !(fdflags::DSYNC | fdflags::RSYNC);
    }
    Ok(flags)
}

/// `fd_fdstat_get(fd, fdstat_ptr)`: needs no rights.
pub fn fd_fdstat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, out: u32) -> WasiResult<()> {
    let entry = ctx.table.get(fd)?;
    let (filetype, flags) = match &entry.desc {
        Descriptor::File(f) => (f.filetype, host_fdflags(&f.file)?),
        Descriptor::Dir(_) => (Filetype::Directory, entry.flags),
        Descriptor::Stdin(input) => (input.filestat()?.filetype, entry.flags),
        Descriptor::Stdout(output) => (output.filestat()?.filetype, entry.flags),
    };
    let stat = Fdstat { filetype, flags, rights_base: entry.base, rights_inheriting: entry.inheriting };
    mem.write(out, &stat.encode())
}

/// `fd_fdstat_set_flags(fd, flags)`: `append` and `nonblock` can change on
/// files; the synchronized-I/O flags are fixed at open (`ENOTSUP`). For
/// stdio and directories the flags are only recorded: the host's own stdio
/// is never switched to non-blocking under its feet.
pub fn fd_fdstat_set_flags(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32, flags: u32) -> WasiResult<()> {
    let entry = ctx.table.get_mut_with(fd, rights::FD_FDSTAT_SET_FLAGS)?;
    let flags = u16::try_from(flags).ok().filter(|f| f & !fdflags::ALL == 0).ok_or(Errno::Inval)?;
    if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
        return Err(Errno::NotSup);
    }
    match &entry.desc {
        Descriptor::File(f) => {
            use rustix::fs::OFlags;
            let mut host = rustix::fs::fcntl_getfl(&f.file)?;
            host.set(OFlags::APPEND, flags & fdflags::APPEND != 0);
            host.set(OFlags::NONBLOCK, flags & fdflags::NONBLOCK != 0);
            rustix::fs::fcntl_setfl(&f.file, host)?;
        }
        _ => entry.flags = flags,
    }
    Ok(())
}

/// `fd_fdstat_set_rights(fd, base, inheriting)`: rights can only be
/// dropped.
pub fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> WasiResult<()> {
    let entry = ctx.table.get_mut(fd)?;
    if base & !entry.base != 0 || inheriting & !entry.inheriting != 0 {
        return Err(Errno::NotCapable);
    }
    entry.base = base;
    entry.inheriting = inheriting;
    Ok(())
}

/// `fd_filestat_get(fd, filestat_ptr)`.
pub fn fd_filestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, out: u32) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_FILESTAT_GET)?;
    let stat = match &entry.desc {
        Descriptor::File(f) => Filestat::from_std(&f.file.metadata()?),
        Descriptor::Dir(d) => Filestat::from_cap(&d.dir.dir_metadata()?),
        Descriptor::Stdin(input) => input.filestat()?,
        Descriptor::Stdout(output) => output.filestat()?,
    };
    mem.write(out, &stat.encode())
}

/// `fd_filestat_set_size(fd, size)`.
pub fn fd_filestat_set_size(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32, size: u64) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_FILESTAT_SET_SIZE)?;
    match &entry.desc {
        Descriptor::File(f) => Ok(f.file.set_len(size)?),
        Descriptor::Dir(_) => Err(Errno::IsDir),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => Err(Errno::Inval),
    }
}

/// One timestamp of a `*_set_times` call: `None` leaves it, else the time
/// to set (`None` inside for "now"). Setting a value and "now" at once is
/// `EINVAL`.
pub(crate) fn time_change(flags: u32, value: u64, set: u16, now: u16) -> WasiResult<Option<Option<u64>>> {
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    let all = fstflags::ATIM | fstflags::ATIM_NOW | fstflags::MTIM | fstflags::MTIM_NOW;
    if flags & !all != 0 {
        return Err(Errno::Inval);
    }
    match (flags & set != 0, flags & now != 0) {
        (true, true) => Err(Errno::Inval),
        (true, false) => Ok(Some(Some(value))),
        (false, true) => Ok(Some(None)),
        (false, false) => Ok(None),
    }
}

/// A change as the `utimensat` timespec.
fn host_timespec(change: Option<Option<u64>>) -> rustix::fs::Timespec {
    match change {
        None => rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_OMIT },
        Some(None) => rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_NOW },
        Some(Some(ns)) => {
            rustix::fs::Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as _ }
        }
    }
}

/// `fd_filestat_set_times(fd, atim, mtim, fst_flags)`.
pub fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_FILESTAT_SET_TIMES)?;
    let times = rustix::fs::Timestamps {
        last_access: host_timespec(time_change(flags, atim, fstflags::ATIM, fstflags::ATIM_NOW)?),
        last_modification: host_timespec(time_change(flags, mtim, fstflags::MTIM, fstflags::MTIM_NOW)?),
    };
    match &entry.desc {
        Descriptor::File(f) => Ok(rustix::fs::futimens(&f.file, &times)?),
        Descriptor::Dir(d) => Ok(rustix::fs::futimens(&d.dir, &times)?),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => Err(Errno::Inval),
    }
}

/// `fd_advise(fd, offset, len, advice)`.
pub fn fd_advise(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> WasiResult<()> {
    use rustix::fs::Advice;
    let entry = ctx.table.get_with(fd, rights::FD_ADVISE)?;
    let advice = match advice {
        0 => Advice::Normal,
        1 => Advice::Sequential,
        2 => Advice::Random,
        3 => Advice::WillNeed,
        4 => Advice::DontNeed,
        5 => Advice::NoReuse,
        _ => return Err(Errno::Inval),
    };
    match &entry.desc {
        Descriptor::File(f) => Ok(rustix::fs::fadvise(&f.file, offset, std::num::NonZeroU64::new(len), advice)?),
        Descriptor::Dir(_) => Err(Errno::IsDir),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => Err(Errno::Spipe),
    }
}

/// `fd_allocate(fd, offset, len)`: makes sure the file has room for the
/// range (`posix_fallocate`).
pub fn fd_allocate(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, fd: u32, offset: u64, len: u64) -> WasiResult<()> {
    let entry = ctx.table.get_with(fd, rights::FD_ALLOCATE)?;
    match &entry.desc {
        Descriptor::File(f) => {
            offset.checked_add(len).filter(|&end| end <= i64::MAX as u64).ok_or(Errno::Fbig)?;
            Ok(rustix::fs::fallocate(&f.file, rustix::fs::FallocateFlags::empty(), offset, len)?)
        }
        Descriptor::Dir(_) => Err(Errno::IsDir),
        Descriptor::Stdin(_) | Descriptor::Stdout(_) => Err(Errno::Spipe),
    }
}

/// `fd_prestat_get(fd, prestat_ptr)`. `EBADF` for anything that is not a
/// preopen: wasi-libc probes fds from 3 upwards until it sees `EBADF`.
pub fn fd_prestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, out: u32) -> WasiResult<()> {
    let name = preopen_name(ctx, fd)?;
    let len = u32::try_from(name.len()).map_err(|_| Errno::NameTooLong)?;
    mem.write(out, &types::encode_prestat_dir(len))
}

/// `fd_prestat_dir_name(fd, path, path_len)`: the guest name of a
/// preopen, without NUL.
pub fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let name = preopen_name(ctx, fd)?;
    if (path_len as usize) < name.len() {
        return Err(Errno::NameTooLong);
    }
    mem.write(path, name.as_bytes())
}

fn preopen_name(ctx: &WasiCtx, fd: u32) -> WasiResult<&str> {
    match &ctx.table.get(fd)?.desc {
        Descriptor::Dir(d) => d.preopen.as_deref().ok_or(Errno::Badf),
        _ => Err(Errno::Badf),
    }
}
