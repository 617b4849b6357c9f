//! The `path_*` functions: everything that names a file by a path
//! relative to a directory descriptor.
//!
//! Confinement rests on cap-std: every path is resolved by a
//! `cap_std::fs::Dir` (the preopen, or a directory opened through it),
//! which never lets resolution leave that directory — not through `..`,
//! not through an absolute path, not through a symlink pointing outside
//! (on Linux with `openat2(RESOLVE_BENEATH)` where available, else by
//! resolving component by component in user space). Such an attempt fails
//! with `PermissionDenied` and no OS errno, which the errno mapping turns
//! into `ENOTCAPABLE`. Paths are never joined into host paths, and no
//! ambient (`std::fs`) path function is called here.
//!
//! Symlinks in the last component are followed only when the guest passes
//! `lookupflags::symlink_follow`; otherwise the link itself is acted on (or
//! opening it fails with `ELOOP`). Symlinks in earlier components are
//! always followed, inside the sandbox.

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::fd::time_change;
use crate::memory::GuestMemory;
use crate::table::{Descriptor, DirDesc, FdEntry, FileDesc, rights_for};
use crate::types::{Filestat, Filetype, fdflags, fstflags, lookupflags, oflags, rights};
use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt, SystemTimeSpec,
};
use std::os::unix::ffi::OsStrExt;

/// Whether `flags` (a `lookupflags`) asks to follow a final symlink;
/// unknown bits are `EINVAL`.
fn follow(flags: u32) -> WasiResult<bool> {
    if flags & !lookupflags::SYMLINK_FOLLOW != 0 {
        return Err(Errno::Inval);
    }
    Ok(flags & lookupflags::SYMLINK_FOLLOW != 0)
}

/// `path_open(fd, dirflags, path, path_len, oflags, rights_base,
/// rights_inheriting, fdflags, fd_ptr)`.
///
/// The new descriptor's rights are what the guest asks for, cut down to the
/// directory's inheriting rights and to what the opened file's type can
/// use. The host file is opened for reading unless only writing was asked
/// for, and for writing when the descriptor gets `fd_write` or when
/// `creat` or `trunc` need it (the host cannot create or truncate
/// otherwise); without `fd_write` the guest still cannot write through it,
/// so a program may create or truncate a file it will only read, as with
/// POSIX `open(O_RDONLY | O_CREAT)`. (Unlike POSIX, and as under the
/// reference runtime, `creat` on an existing file the host user may not
/// write fails with `EACCES`.) `append` is set on the host file after
/// it is opened, so `trunc` and `append` combine as in POSIX.
/// A directory cannot be opened with `fd_write` (`EISDIR`), also with
/// `oflags::directory`.
pub fn path_open(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    oflags: u32,
    base: u64,
    inheriting: u64,
    fdflags: u32,
    out: u32,
) -> WasiResult<()> {
    let follow = follow(dirflags)?;
    let oflags = u16::try_from(oflags).ok().filter(|o| o & !oflags::ALL == 0).ok_or(Errno::Inval)?;
    let fdflags = u16::try_from(fdflags).ok().filter(|f| f & !fdflags::ALL == 0).ok_or(Errno::Inval)?;
    let mut needed = rights::PATH_OPEN;
    if oflags & oflags::CREAT != 0 {
        needed |= rights::PATH_CREATE_FILE;
    }
    if oflags & oflags::TRUNC != 0 {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let (dir, dir_entry) = ctx.table.dir(fd, needed)?;
    let path = mem.read_str(path, path_len)?;
    let base = base & dir_entry.inheriting;
    let inheriting = inheriting & dir_entry.inheriting;
    let write = base & rights::FD_WRITE != 0;

    let desc = if oflags & oflags::DIRECTORY != 0 {
        if oflags & (oflags::CREAT | oflags::EXCL | oflags::TRUNC) != 0 {
            return Err(Errno::Inval);
        }
        let opened = if follow { dir.dir.open_dir(path)? } else { dir.dir.open_dir_nofollow(path)? };
        if write {
            return Err(Errno::IsDir);
        }
        Descriptor::Dir(DirDesc { dir: opened, preopen: None, listing: None })
    } else {
        let modifies = oflags & (oflags::CREAT | oflags::TRUNC) != 0;
        let mut options = cap_std::fs::OpenOptions::new();
        options
            .read(base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write)
            .write(write || modifies)
            .create(oflags & oflags::CREAT != 0)
            .create_new(oflags & (oflags::CREAT | oflags::EXCL) == oflags::CREAT | oflags::EXCL)
            .truncate(oflags & oflags::TRUNC != 0)
            .follow(if follow { FollowSymlinks::Yes } else { FollowSymlinks::No })
            .maybe_dir(true)
            .dsync(fdflags & fdflags::DSYNC != 0)
            .sync(fdflags & fdflags::SYNC != 0)
            .rsync(fdflags & fdflags::RSYNC != 0);
        if fdflags & fdflags::NONBLOCK != 0 {
            use cap_std::fs::OpenOptionsExt;
            options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
        }
        let file = dir.dir.open_with(path, &options)?.into_std();
        if fdflags & fdflags::APPEND != 0 {
            let host = rustix::fs::fcntl_getfl(&file)?;
            rustix::fs::fcntl_setfl(&file, host | rustix::fs::OFlags::APPEND)?;
        }
        let filetype = Filetype::from_std(file.metadata()?.file_type());
        if filetype == Filetype::Directory {
            Descriptor::Dir(DirDesc { dir: cap_std::fs::Dir::from_std_file(file), preopen: None, listing: None })
        } else {
            Descriptor::File(FileDesc { file, filetype })
        }
    };
    let filetype = if matches!(desc, Descriptor::Dir(_)) { Filetype::Directory } else { Filetype::RegularFile };
    let mask = rights_for(filetype);
    let new_fd = ctx.table.push(FdEntry::new(desc, base & mask, inheriting))?;
    mem.write_u32(out, new_fd)
}

/// `path_create_directory(fd, path, path_len)`.
pub fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> WasiResult<()> {
    let (dir, _) = ctx.table.dir(fd, rights::PATH_CREATE_DIRECTORY)?;
    Ok(dir.dir.create_dir(mem.read_str(path, len)?)?)
}

/// `path_remove_directory(fd, path, path_len)`.
pub fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> WasiResult<()> {
    let (dir, _) = ctx.table.dir(fd, rights::PATH_REMOVE_DIRECTORY)?;
    Ok(dir.dir.remove_dir(mem.read_str(path, len)?)?)
}

/// `path_unlink_file(fd, path, path_len)`.
pub fn path_unlink_file(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, path: u32, len: u32) -> WasiResult<()> {
    let (dir, _) = ctx.table.dir(fd, rights::PATH_UNLINK_FILE)?;
    Ok(dir.dir.remove_file(mem.read_str(path, len)?)?)
}

/// `path_filestat_get(fd, flags, path, path_len, filestat_ptr)`.
pub fn path_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    out: u32,
) -> WasiResult<()> {
    let (dir, _) = ctx.table.dir(fd, rights::PATH_FILESTAT_GET)?;
    let path = mem.read_str(path, len)?;
    let meta = if follow(flags)? { dir.dir.metadata(path)? } else { dir.dir.symlink_metadata(path)? };
    mem.write(out, &Filestat::from_cap(&meta).encode())
}

/// A `*_set_times` change as cap-std's time spec (`EINVAL` for a time the
/// host cannot represent).
fn time_spec(change: Option<Option<u64>>) -> WasiResult<Option<SystemTimeSpec>> {
    Ok(match change {
        None => None,
        Some(None) => Some(SystemTimeSpec::SymbolicNow),
        Some(Some(ns)) => {
            let time = std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_nanos(ns)).ok_or(Errno::Inval)?;
            Some(SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(time)))
        }
    })
}

/// `path_filestat_set_times(fd, flags, path, path_len, atim, mtim,
/// fst_flags)`.
pub fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> WasiResult<()> {
    let (dir, _) = ctx.table.dir(fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let path = mem.read_str(path, len)?;
    let atime = time_spec(time_change(fst, atim, fstflags::ATIM, fstflags::ATIM_NOW)?)?;
    let mtime = time_spec(time_change(fst, mtim, fstflags::MTIM, fstflags::MTIM_NOW)?)?;
    if follow(flags)? {
        Ok(dir.dir.set_times(path, atime, mtime)?)
    } else {
        Ok(dir.dir.set_symlink_times(path, atime, mtime)?)
    }
}

/// `path_link(old_fd, old_flags, old_path, old_path_len, new_fd, new_path,
/// new_path_len)`: the link is made to the path as named. Linking the
/// target of a symlink (`symlink_follow`) is refused with `EINVAL`, as the
/// reference runtime does, before anything is looked up.
pub fn path_link(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult<()> {
    let (old_dir, _) = ctx.table.dir(old_fd, rights::PATH_LINK_SOURCE)?;
    let (new_dir, _) = ctx.table.dir(new_fd, rights::PATH_LINK_TARGET)?;
    if follow(old_flags)? {
        return Err(Errno::Inval);
    }
    let (old_path, new_path) = (mem.read_str(old_path, old_len)?, mem.read_str(new_path, new_len)?);
    Ok(old_dir.dir.hard_link(old_path, &new_dir.dir, new_path)?)
}

/// `path_rename(fd, old_path, old_path_len, new_fd, new_path,
/// new_path_len)`.
pub fn path_rename(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult<()> {
    let (old_dir, _) = ctx.table.dir(old_fd, rights::PATH_RENAME_SOURCE)?;
    let (new_dir, _) = ctx.table.dir(new_fd, rights::PATH_RENAME_TARGET)?;
    let (old_path, new_path) = (mem.read_str(old_path, old_len)?, mem.read_str(new_path, new_len)?);
    Ok(old_dir.dir.rename(old_path, &new_dir.dir, new_path)?)
}

/// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len)`:
/// creates `new_path` pointing at `old_path`. An absolute target is
/// refused (`ENOTCAPABLE`): it could never be followed inside the sandbox.
pub fn path_symlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_path: u32,
    old_len: u32,
    fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult<()> {
    let (dir, _) = ctx.table.dir(fd, rights::PATH_SYMLINK)?;
    let (target, link) = (mem.read_str(old_path, old_len)?, mem.read_str(new_path, new_len)?);
    Ok(dir.dir.symlink(target, link)?)
}

/// `path_readlink(fd, path, path_len, buf, buf_len, bufused_ptr)`: the
/// link's contents as stored, cut to the buffer like `readlink(2)`.
pub fn path_readlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> WasiResult<()> {
    let (dir, _) = ctx.table.dir(fd, rights::PATH_READLINK)?;
    let target = dir.dir.read_link_contents(mem.read_str(path, len)?)?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(buf_len as usize);
    mem.write(buf, &bytes[..n])?;
    // At most `buf_len`.
    mem.write_u32(bufused, n as u32)
}
