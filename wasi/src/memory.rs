//! Guest memory access: every read and write of a guest pointer goes
//! through here and is bounds-checked.
//!
//! A guest pointer is a `u32` offset into the calling instance's exported
//! `memory`; lengths come from the guest too. Ranges are computed in `u64`
//! (so `ptr + len` cannot wrap) and checked against the memory's current
//! size; anything outside is `EFAULT`. Values are encoded little endian byte
//! by byte, so unaligned guest pointers are accepted rather than trapping.
//! Nothing here panics or holds a reference past the call.

use crate::errno::{Errno, WasiResult};
use crate::types::IOVEC_SIZE;

/// The guest's linear memory for the duration of one WASI call.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
    /// Set when the caller exports no memory and a function tried to use
    /// it anyway: the call then traps instead of returning `EFAULT`.
    missing: Option<std::cell::Cell<bool>>,
}

/// One `iovec`/`ciovec` of the guest: a buffer it named, already checked
/// to lie inside memory.
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    /// Start offset.
    pub ptr: u32,
    /// Length in bytes.
    pub len: u32,
}

impl<'a> GuestMemory<'a> {
    /// Wraps the memory's bytes.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes, missing: None }
    }

    /// Stands in for the memory of a caller that exports none: functions
    /// without pointer arguments still work, the others fail and
    /// [`GuestMemory::was_missing`] says so.
    pub fn missing() -> GuestMemory<'static> {
        GuestMemory { bytes: &mut [], missing: Some(std::cell::Cell::new(false)) }
    }

    /// Whether a function needed the memory the caller does not export.
    pub fn was_missing(&self) -> bool {
        self.missing.as_ref().is_some_and(std::cell::Cell::get)
    }

    /// The byte range `ptr..ptr + len`, if it lies inside memory.
    fn range(&self, ptr: u32, len: u64) -> WasiResult<std::ops::Range<usize>> {
        if let Some(missing) = &self.missing {
            missing.set(true);
        }
        let start = u64::from(ptr);
        let end = start.checked_add(len).ok_or(Errno::Fault)?;
        if end > self.bytes.len() as u64 {
            return Err(Errno::Fault);
        }
        // Both fit in usize: they are at most the slice's length.
        Ok(start as usize..end as usize)
    }

    /// The guest bytes `ptr..ptr + len`.
    pub fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let range = self.range(ptr, u64::from(len))?;
        Ok(&self.bytes[range])
    }

    /// The guest bytes `ptr..ptr + len`, mutably.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let range = self.range(ptr, u64::from(len))?;
        Ok(&mut self.bytes[range])
    }

    /// Copies `data` to `ptr`.
    pub fn write(&mut self, ptr: u32, data: &[u8]) -> WasiResult<()> {
        let range = self.range(ptr, data.len() as u64)?;
        self.bytes[range].copy_from_slice(data);
        Ok(())
    }

    /// Reads `N` bytes at `ptr`.
    fn read_array<const N: usize>(&self, ptr: u32) -> WasiResult<[u8; N]> {
        let range = self.range(ptr, N as u64)?;
        let mut out = [0; N];
        out.copy_from_slice(&self.bytes[range]);
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn read_u8(&self, ptr: u32) -> WasiResult<u8> {
        Ok(self.read_array::<1>(ptr)?[0])
    }

    /// Reads a little-endian `u16`.
    pub fn read_u16(&self, ptr: u32) -> WasiResult<u16> {
        Ok(u16::from_le_bytes(self.read_array(ptr)?))
    }

    /// Reads a little-endian `u32`.
    pub fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        Ok(u32::from_le_bytes(self.read_array(ptr)?))
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        Ok(u64::from_le_bytes(self.read_array(ptr)?))
    }

    /// Writes a little-endian `u32`.
    pub fn write_u32(&mut self, ptr: u32, value: u32) -> WasiResult<()> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Writes a little-endian `u64`.
    pub fn write_u64(&mut self, ptr: u32, value: u64) -> WasiResult<()> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Reads a guest string (`ptr`, `len`); WASI strings are UTF-8, so
    /// anything else is `EILSEQ`.
    pub fn read_str(&self, ptr: u32, len: u32) -> WasiResult<&str> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    /// Reads an array of `count` iovecs at `ptr`, checking that each
    /// buffer lies inside memory.
    pub fn read_iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<IoVec>> {
        let table = self.slice(ptr, count.checked_mul(IOVEC_SIZE).ok_or(Errno::Fault)?)?;
        let iovs: Vec<IoVec> = table
            .chunks_exact(IOVEC_SIZE as usize)
            .map(|raw| IoVec {
                ptr: u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]),
                len: u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]),
            })
            .collect();
        for iov in &iovs {
            self.range(iov.ptr, u64::from(iov.len))?;
        }
        Ok(iovs)
    }

    /// The guest buffers of `iovs`, concatenated (what a write sends), at
    /// most [`MAX_TRANSFER`] bytes: a longer write is a short write, which
    /// callers repeat.
    pub fn gather(&self, iovs: &[IoVec]) -> WasiResult<Vec<u8>> {
        let mut out = Vec::with_capacity(total_len(iovs).min(MAX_TRANSFER as u64) as usize);
        for iov in iovs {
            let room = MAX_TRANSFER - out.len();
            if room == 0 {
                break;
            }
            let data = self.slice(iov.ptr, iov.len)?;
            out.extend_from_slice(&data[..data.len().min(room)]);
        }
        Ok(out)
    }

    /// Spreads `data` over the guest buffers of `iovs` in order (what a
    /// read delivers); buffers may overlap, the later one wins.
    pub fn scatter(&mut self, iovs: &[IoVec], mut data: &[u8]) -> WasiResult<()> {
        for iov in iovs {
            if data.is_empty() {
                break;
            }
            let n = data.len().min(iov.len as usize);
            self.write(iov.ptr, &data[..n])?;
            data = &data[n..];
        }
        Ok(())
    }
}

/// The most bytes one read or write moves through a host buffer: iovecs
/// may overlap, so their total length is no bound on what the guest can ask.
pub const MAX_TRANSFER: usize = 16 << 20;

/// The total length of `iovs`, in `u64` (it may exceed 4 GiB when buffers
/// overlap).
pub fn total_len(iovs: &[IoVec]) -> u64 {
    iovs.iter().map(|iov| u64::from(iov.len)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_fault() {
        let mut bytes = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_u32(12).unwrap(), 0);
        assert_eq!(mem.read_u32(13), Err(Errno::Fault));
        assert_eq!(mem.read_u64(u32::MAX), Err(Errno::Fault));
        assert_eq!(mem.write(16, &[]), Ok(()));
        assert_eq!(mem.write(17, &[]), Err(Errno::Fault));
        assert_eq!(mem.slice(u32::MAX, u32::MAX).err(), Some(Errno::Fault));
        assert_eq!(mem.read_iovecs(0, u32::MAX).err(), Some(Errno::Fault));
        mem.write_u32(0, 8).unwrap();
        mem.write_u32(4, 9).unwrap();
        assert_eq!(mem.read_iovecs(0, 1).err(), Some(Errno::Fault));
        mem.write_u32(4, 8).unwrap();
        assert_eq!(mem.read_iovecs(0, 1).unwrap()[0].len, 8);
        assert_eq!(mem.read_str(0, 1), Ok("\u{8}"));
    }

    #[test]
    fn scatter_and_gather() {
        let mut bytes = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        let iovs = [IoVec { ptr: 0, len: 2 }, IoVec { ptr: 8, len: 4 }];
        mem.scatter(&iovs, b"abcde").unwrap();
        assert_eq!(mem.gather(&iovs).unwrap(), b"ab\0\0\0\0"[..2].iter().chain(b"cde\0").copied().collect::<Vec<_>>());
        assert_eq!(total_len(&iovs), 6);
    }
}
