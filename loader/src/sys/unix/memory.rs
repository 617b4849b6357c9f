//! Address-space reservations for linear memories: reserved inaccessible up
//! front, made readable and writable page range by page range as memories
//! grow, so their base never moves.

use std::io;
use std::ptr::NonNull;

/// The host's page size in bytes.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
}

/// A range of reserved address space, inaccessible except where made
/// accessible; unmapped on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a reservation is a plain owned mapping; nothing in it is tied to a
// thread.
unsafe impl Send for Reservation {}
// SAFETY: `&Reservation` only exposes the addresses.
unsafe impl Sync for Reservation {}

impl Reservation {
    /// Reserves `len` bytes (a multiple of the page size) of inaccessible
    /// address space. No memory is committed.
    pub(crate) fn new(len: usize) -> io::Result<Reservation> {
        // SAFETY: a fresh anonymous mapping at an address the kernel picks
        // cannot alias anything.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Reservation { base, len })
    }

    /// The first byte.
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base
    }

    /// Size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Makes `[offset, offset + len)` readable and writable. Both must be
    /// multiples of the page size and lie inside the reservation. Newly
    /// accessible pages read as zero.
    pub(crate) fn make_accessible(&self, offset: usize, len: usize) -> io::Result<()> {
        let end = offset.checked_add(len).filter(|&end| end <= self.len);
        if end.is_none() || !offset.is_multiple_of(page_size()) || !len.is_multiple_of(page_size()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "range outside the reservation or unaligned"));
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (checked above);
        // making it writable cannot invalidate any reference, since Rust
        // code only ever reads the accessible prefix.
        let rc =
            unsafe { libc::mprotect(self.base.as_ptr().add(offset).cast(), len, libc::PROT_READ | libc::PROT_WRITE) };
        if rc != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // SAFETY: we own the mapping and nothing refers to it any more (its
        // owner, a linear memory, is being dropped with its store).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_become_accessible_and_zeroed() {
        let page = page_size();
        let r = Reservation::new(16 * page).unwrap();
        r.make_accessible(0, 2 * page).unwrap();
        // SAFETY: the first two pages were just made accessible.
        let bytes = unsafe { std::slice::from_raw_parts_mut(r.base().as_ptr(), 2 * page) };
        assert!(bytes.iter().all(|&b| b == 0));
        bytes[2 * page - 1] = 7;
        assert!(r.make_accessible(page + 1, page).is_err());
        assert!(r.make_accessible(15 * page, 2 * page).is_err());
    }
}
