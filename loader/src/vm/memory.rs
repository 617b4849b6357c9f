//! Linear memories under the guard-region strategy.
//!
//! Each 32-bit memory reserves [`GUARD_RESERVATION`] bytes of inaccessible
//! address space once; its first `pages * 64 KiB` are made readable and
//! writable, and growing makes more of the reservation accessible in place.
//! The base never moves, which is what lets generated code load it once per
//! function and skip bounds checks: any access past the accessible length
//! lands in the reservation and faults. The whole reservation is registered
//! for the fault handler.
//!
//! A 64-bit memory (memory64) cannot have a guard region covering its
//! address space: generated code checks every access of it explicitly.
//! It reserves room for its declared maximum, at most
//! [`WASM64_MEMORY_LIMIT_PAGES`], and grows in place inside that, so its
//! base never moves either. Nothing in it may fault, so it is not
//! registered for the fault handler.
//!
//! A memory of one-byte pages (custom page sizes) may end anywhere inside
//! a host page, so no fault can mark its end: generated code checks its
//! accesses explicitly, whatever its address width. Its accessible bytes
//! are its length rounded up to whole host pages.

use crate::registry::{self, RangeKind, Registration};
use crate::sys::{Reservation, page_size};
use kiln_abi::types::MemoryType;
use kiln_abi::{GUARD_RESERVATION, WASM_PAGE_SIZE};

/// Why a memory could not be created.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MemoryError {
    #[error("memory minimum of {min} pages exceeds its maximum of {max} pages")]
    MinAboveMax { min: u64, max: u64 },
    #[error("memory minimum of {min} pages exceeds kiln's limit of {limit} pages ({bytes})")]
    AboveLimit { min: u64, limit: u64, bytes: &'static str },
    #[error("host page size {0} is larger than a wasm page")]
    PageSize(usize),
    #[error("cannot reserve address space for a linear memory: {0}")]
    Reserve(std::io::Error),
}

/// A linear memory's storage.
#[derive(Debug)]
pub(crate) struct LinearMemory {
    reservation: Reservation,
    /// Bytes the memory has: `pages << page_size_log2`.
    len: usize,
    /// Bytes made accessible: `len` rounded up to whole host pages. Those
    /// past `len` (only in a memory of one-byte pages) stay zero, since
    /// every access checks against `len`.
    accessible: usize,
    max_pages: u64,
    page_size_log2: u8,
    /// The fault handler's claim on a 32-bit memory's reservation.
    _registration: Option<Registration>,
}

impl LinearMemory {
    /// Creates a memory of `min` pages that may grow to `max`, or to
    /// kiln's limit ([`MemoryType::limit_pages`]): 64 KiB short of 4 GiB
    /// for a 32-bit memory, 64 GiB for a 64-bit one.
    pub(crate) fn new(ty: &MemoryType) -> Result<LinearMemory, MemoryError> {
        let limit = ty.limit_pages();
        if ty.limits.min > limit {
            let bytes = if ty.memory64 { "64 GiB" } else { "64 KiB short of 4 GiB" };
            return Err(MemoryError::AboveLimit { min: ty.limits.min, limit, bytes });
        }
        let max_pages = ty.limits.max.unwrap_or(limit).min(limit);
        if ty.limits.min > max_pages {
            return Err(MemoryError::MinAboveMax { min: ty.limits.min, max: max_pages });
        }
        if ty.guarded() && page_size() as u64 > WASM_PAGE_SIZE {
            return Err(MemoryError::PageSize(page_size()));
        }
        let (reservation, registration) = if ty.memory64 {
            // Checked explicitly: room for the maximum and no guard region.
            let bytes = (max_pages << ty.page_size_log2).next_multiple_of(page_size() as u64).max(WASM_PAGE_SIZE);
            (Reservation::new(bytes as usize).map_err(MemoryError::Reserve)?, None)
        } else {
            // A 32-bit memory of one-byte pages is checked explicitly too,
            // but keeps the guard region as a second line of defence.
            let reservation = Reservation::new(GUARD_RESERVATION as usize).map_err(MemoryError::Reserve)?;
            let start = reservation.base().as_ptr() as usize;
            let registration = registry::register(RangeKind::Memory, std::iter::once(start..start + reservation.len()));
            (reservation, Some(registration))
        };
        let mut memory = LinearMemory {
            reservation,
            len: 0,
            accessible: 0,
            max_pages,
            page_size_log2: ty.page_size_log2,
            _registration: registration,
        };
        if memory.grow(ty.limits.min).is_none() {
            return Err(MemoryError::Reserve(std::io::Error::last_os_error()));
        }
        Ok(memory)
    }

    /// The first byte; fixed for the memory's lifetime.
    pub(crate) fn base(&self) -> *mut u8 {
        self.reservation.base().as_ptr()
    }

    /// Accessible bytes.
    pub(crate) fn byte_len(&self) -> usize {
        self.len
    }

    /// Current size in wasm pages.
    pub(crate) fn pages(&self) -> u64 {
        (self.len >> self.page_size_log2) as u64
    }

    /// Grows by `delta` pages; returns the previous size in pages, or `None`
    /// (and changes nothing) if that exceeds the maximum or the OS refuses.
    pub(crate) fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta).filter(|&n| n <= self.max_pages)?;
        let new_len = usize::try_from(new.checked_mul(1 << self.page_size_log2)?).ok()?;
        let accessible = new_len.next_multiple_of(page_size());
        if accessible > self.accessible {
            self.reservation.make_accessible(self.accessible, accessible - self.accessible).ok()?;
            self.accessible = accessible;
        }
        self.len = new_len;
        Some(old)
    }

    /// The accessible bytes.
    #[cfg(test)]
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `[base, base + len)` is mapped readable and writable, and
        // only changes through `&mut self` or by generated code of the
        // owning store, which does not run while this borrow is alive.
        unsafe { std::slice::from_raw_parts(self.base(), self.len) }
    }

    /// The accessible bytes, mutably.
    #[cfg(test)]
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, with exclusive access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::WASM64_MEMORY_LIMIT_PAGES;
    use kiln_abi::types::Limits;

    fn ty(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType::new(Limits { min, max })
    }

    #[test]
    fn grows_in_place_up_to_its_maximum() {
        let mut m = LinearMemory::new(&ty(1, Some(3))).unwrap();
        let base = m.base();
        assert_eq!(m.byte_len(), 65536);
        m.data_mut()[65535] = 1;
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.base(), base);
        assert_eq!(m.data()[65535], 1);
        assert_eq!(m.data()[3 * 65536 - 1], 0);
        assert_eq!(m.grow(1), None);
        assert_eq!(m.grow(0), Some(3));
        assert!(registry::contains(RangeKind::Memory, base as usize + (1 << 32)));
    }

    #[test]
    fn can_grow_to_one_page_short_of_four_gibibytes() {
        let mut m = LinearMemory::new(&ty(0, None)).unwrap();
        assert_eq!(m.grow(65536), None);
        assert_eq!(m.grow(65535), Some(0));
        assert_eq!(m.byte_len() as u64, (1 << 32) - 65536);
        assert_eq!(m.grow(1), None);
        let mut declared = LinearMemory::new(&ty(0, Some(65536))).unwrap();
        assert_eq!(declared.grow(65536), None);
        assert!(matches!(LinearMemory::new(&ty(65536, None)), Err(MemoryError::AboveLimit { min: 65536, .. })));
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        assert!(matches!(LinearMemory::new(&ty(2, Some(1))), Err(MemoryError::MinAboveMax { .. })));
    }

    fn ty64(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType { memory64: true, ..ty(min, max) }
    }

    #[test]
    fn a_64_bit_memory_grows_in_place_past_four_gibibytes() {
        let mut m = LinearMemory::new(&ty64(1, None)).unwrap();
        let base = m.base();
        m.data_mut()[65535] = 7;
        // Past 4 GiB: the pages are only reserved and made accessible, never
        // touched, so this costs no memory.
        assert_eq!(m.grow(65536), Some(1));
        assert_eq!(m.byte_len() as u64, (1 << 32) + 65536);
        assert_eq!(m.base(), base);
        assert_eq!(m.data()[65535], 7);
        assert_eq!(m.grow(WASM64_MEMORY_LIMIT_PAGES), None);
        assert_eq!(m.grow(u64::MAX), None);
        assert_eq!(m.pages(), 65537);
        // Nothing in it may fault: the fault handler does not claim it.
        assert!(!registry::contains(RangeKind::Memory, base as usize));
    }

    #[test]
    fn a_64_bit_memory_reserves_its_maximum_up_to_kilns_limit() {
        let mut small = LinearMemory::new(&ty64(0, Some(2))).unwrap();
        assert_eq!(small.reservation.len() as u64, 2 * WASM_PAGE_SIZE);
        assert_eq!(small.grow(3), None);
        assert_eq!(small.grow(2), Some(0));
        let huge = LinearMemory::new(&ty64(0, Some(1 << 48))).unwrap();
        assert_eq!(huge.reservation.len() as u64, WASM64_MEMORY_LIMIT_PAGES * WASM_PAGE_SIZE);
        let too_big = ty64(WASM64_MEMORY_LIMIT_PAGES + 1, None);
        assert!(matches!(LinearMemory::new(&too_big), Err(MemoryError::AboveLimit { .. })));
    }

    fn bytes(min: u64, max: Option<u64>, memory64: bool) -> MemoryType {
        MemoryType { page_size_log2: 0, memory64, ..ty(min, max) }
    }

    #[test]
    fn a_memory_of_one_byte_pages_grows_byte_by_byte() {
        let mut m = LinearMemory::new(&bytes(3, None, false)).unwrap();
        assert_eq!((m.pages(), m.byte_len()), (3, 3));
        m.data_mut()[2] = 9;
        assert_eq!(m.grow(1), Some(3));
        assert_eq!((m.pages(), m.data()), (4, &[0, 0, 9, 0][..]));
        // Past the first host page.
        assert_eq!(m.grow(page_size() as u64), Some(4));
        assert_eq!(m.byte_len(), page_size() + 4);
        assert!(m.data().iter().filter(|&&b| b != 0).eq([&9]));
        // 64 KiB short of 4 GiB, as for 64 KiB pages.
        assert_eq!(m.grow((1 << 32) - 65536 - m.pages()), Some(page_size() as u64 + 4));
        assert_eq!(m.grow(1), None);
        let too_big = bytes((1 << 32) - 65535, None, false);
        assert!(matches!(LinearMemory::new(&too_big), Err(MemoryError::AboveLimit { .. })));
    }

    #[test]
    fn a_64_bit_memory_of_one_byte_pages_reserves_whole_host_pages() {
        let mut m = LinearMemory::new(&bytes(0, Some(5), true)).unwrap();
        assert_eq!(m.grow(6), None);
        assert_eq!(m.grow(5), Some(0));
        assert_eq!(m.data(), &[0; 5]);
        assert_eq!(m.grow(1), None);
    }
}
