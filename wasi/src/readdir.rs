//! `fd_readdir`: directory listings with cookies.
//!
//! A listing is `.` and `..` followed by the directory's entries in the
//! order the host file system returns them, as the reference runtime
//! (Wasmtime) and a native program see them; WASI leaves the order open,
//! and programs that print a listing unsorted should print the same under
//! both. The cookie of an entry is its index plus one (`d_next`: where the
//! next call continues); cookie 0 starts over and takes a fresh snapshot,
//! which later cookies index, so a listing read in several calls has every
//! entry exactly once even if the directory changes meanwhile.
//!
//! The guest's buffer is filled completely: entries (a 24-byte `dirent`
//! header, then the name without NUL) are written one after another and
//! the last one is cut off where the buffer ends. `bufused < buf_len` thus
//! means "end of directory"; a full buffer tells wasi-libc to look at the
//! last entry and, if it is cut, call again from that entry's cookie with
//! a bigger buffer.

use crate::ctx::WasiCtx;
use crate::errno::WasiResult;
use crate::memory::GuestMemory;
use crate::table::Listed;
use crate::types::{Filetype, encode_dirent, rights};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirEntryExt;

/// `.`, `..` and the entries of `dir`, in the host's order.
fn list(dir: &cap_std::fs::Dir) -> WasiResult<Vec<Listed>> {
    use cap_std::fs::MetadataExt;
    let own = dir.dir_metadata()?.ino();
    // `..` of a preopen lies outside the sandbox and cannot be asked
    // about; it reports the directory's own inode then (never 0, which
    // wasi-libc would try to look up by name).
    let parent = dir.metadata("..").map(|m| m.ino()).unwrap_or(own);
    let mut entries = Vec::new();
    for entry in dir.entries()? {
        let entry = entry?;
        // An entry removed while listing is simply left out.
        let Ok(ty) = entry.file_type() else { continue };
        entries.push(Listed {
            name: entry.file_name().as_bytes().to_vec(),
            ino: entry.ino(),
            filetype: Filetype::from_cap(ty),
        });
    }
    let dots = [(&b"."[..], own), (&b".."[..], parent)].map(|(name, ino)| Listed {
        name: name.to_vec(),
        ino,
        filetype: Filetype::Directory,
    });
    Ok(dots.into_iter().chain(entries).collect())
}

/// Serializes `listing` from index `start` into `buf`, stopping when it is
/// full (the last entry possibly cut); returns the bytes used.
fn fill(listing: &[Listed], start: usize, buf: &mut [u8]) -> usize {
    let mut used = 0;
    for (index, entry) in listing.iter().enumerate().skip(start) {
        // Names longer than 4 GiB cannot exist on any host.
        let header = encode_dirent(index as u64 + 1, entry.ino, entry.name.len() as u32, entry.filetype);
        for part in [&header[..], &entry.name[..]] {
            let n = part.len().min(buf.len() - used);
            buf[used..used + n].copy_from_slice(&part[..n]);
            used += n;
            if used == buf.len() {
                return used;
            }
        }
    }
    used
}

/// `fd_readdir(fd, buf, buf_len, cookie, bufused_ptr)`.
pub fn fd_readdir(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> WasiResult<()> {
    let dir = ctx.table.dir_mut(fd, rights::FD_READDIR)?;
    if cookie == 0 || dir.listing.is_none() {
        dir.listing = Some(list(&dir.dir)?);
    }
    let listing = dir.listing.as_deref().unwrap_or_default();
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    let used = fill(listing, start, mem.slice_mut(buf, buf_len)?);
    // At most `buf_len`.
    mem.write_u32(bufused, used as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(n: usize) -> Vec<Listed> {
        (0..n)
            .map(|i| Listed { name: format!("f{i}").into_bytes(), ino: i as u64 + 10, filetype: Filetype::RegularFile })
            .collect()
    }

    #[test]
    fn fills_to_the_brim() {
        let l = listing(3);
        let mut buf = vec![0; 30];
        assert_eq!(fill(&l, 0, &mut buf), 30);
        assert_eq!(buf[0], 1);
        assert_eq!(&buf[24..26], b"f0");
        assert_eq!(buf[26], 2, "the second entry starts, cut");
        let mut big = vec![0; 200];
        assert_eq!(fill(&l, 1, &mut big), 2 * 26);
        assert_eq!(big[0], 2, "d_next of the entry at index 1");
        assert_eq!(fill(&l, 3, &mut big), 0);
        assert_eq!(fill(&l, usize::MAX, &mut big), 0);
        assert_eq!(fill(&l, 0, &mut []), 0);
    }
}
