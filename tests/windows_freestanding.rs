//! The functions a Windows artifact defines for itself, run here.
//!
//! A kiln DLL links no C runtime, so the module defines `memcpy`,
//! `memmove`, `memset` and the `__chkstk` stack probe itself
//! (`llvm-backend/src/codegen/freestanding.rs`). No Windows machine runs
//! the tests, but those four are position-independent x86_64 code with no
//! relocations, so their machine code can run on this x86_64 host: the
//! code section of a Windows static archive's object is mapped executable
//! and the functions are called with the Win64 convention (Rust's
//! `extern "win64"`). Results are checked against Rust's own copies and
//! fills over every length up to 300 bytes, every alignment, and
//! overlaps in both directions.

#![cfg(all(target_arch = "x86_64", unix))]

use kiln::{CompileOptions, Emit};
use kiln_abi::target::Target;
use object::read::archive::ArchiveFile;
use object::{Object, ObjectSection, ObjectSymbol, SectionKind};
use std::path::Path;

type Copy = unsafe extern "win64" fn(*mut u8, *const u8, usize) -> *mut u8;
type Fill = unsafe extern "win64" fn(*mut u8, i32, usize) -> *mut u8;

/// The `.text` of the archive's code object, mapped executable, and the
/// offsets of the four functions in it.
struct Mapped {
    code: *mut u8,
    len: usize,
    offsets: Vec<(String, usize)>,
}

impl Mapped {
    fn load() -> Mapped {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("portable.lib");
        let opts = CompileOptions {
            target: Target::parse("x86_64-pc-windows-msvc").unwrap(),
            symbol_prefix: Some("portable".into()),
            ..CompileOptions::default()
        };
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portable.wat");
        kiln::compile_file(&fixture, &opts, Emit::StaticLibrary, &lib).unwrap();
        let data = std::fs::read(&lib).unwrap();
        let archive = ArchiveFile::parse(&*data).unwrap();
        for member in archive.members() {
            let file = object::File::parse(member.unwrap().data(&*data).unwrap()).unwrap();
            let Some(text) = file.sections().find(|s| s.kind() == SectionKind::Text) else { continue };
            let bytes = text.data().unwrap();
            // Every symbol in the section, by address: a function ends
            // where the next begins.
            let mut starts: Vec<(u64, String)> = file
                .symbols()
                .filter(|s| s.section_index() == Some(text.index()))
                .map(|s| (s.address(), s.name().unwrap().to_string()))
                .collect();
            starts.sort();
            let relocations: Vec<u64> = text.relocations().map(|(offset, _)| offset).collect();
            let mut offsets = Vec::new();
            for name in ["memcpy", "memmove", "memset", "__chkstk"] {
                let i = starts.iter().position(|(_, n)| n == name).unwrap_or_else(|| panic!("`{name}` not in the object"));
                let start = starts[i].0;
                let end = starts[i + 1..].iter().map(|(a, _)| *a).find(|&a| a > start).unwrap_or(bytes.len() as u64);
                assert!(
                    !relocations.iter().any(|r| (start..end).contains(r)),
                    "`{name}` has relocations; it cannot run unlinked"
                );
                offsets.push((name.to_string(), start as usize));
            }
            return Mapped { code: map_executable(bytes), len: bytes.len(), offsets };
        }
        panic!("no code object in the archive");
    }

    fn address(&self, name: &str) -> usize {
        let offset = self.offsets.iter().find(|(n, _)| n == name).unwrap().1;
        self.code as usize + offset
    }

    fn copy(&self, name: &str) -> Copy {
        // SAFETY: the address is the start of the named function in the
        // mapped code, which has this Win64 signature.
        unsafe { std::mem::transmute::<usize, Copy>(self.address(name)) }
    }

    fn fill(&self) -> Fill {
        // SAFETY: as in `copy`, for `memset`.
        unsafe { std::mem::transmute::<usize, Fill>(self.address("memset")) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `map_executable` made.
        unsafe { libc::munmap(self.code.cast(), self.len) };
    }
}

/// Copies `bytes` into a fresh mapping and makes it read-only and
/// executable.
fn map_executable(bytes: &[u8]) -> *mut u8 {
    // SAFETY: a fresh anonymous private mapping, written only within its
    // length before it is made executable.
    unsafe {
        let map = libc::mmap(
            std::ptr::null_mut(),
            bytes.len(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(map, libc::MAP_FAILED);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), map.cast::<u8>(), bytes.len());
        assert_eq!(libc::mprotect(map, bytes.len(), libc::PROT_READ | libc::PROT_EXEC), 0);
        map.cast()
    }
}

/// A buffer with a different value in every byte.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn memcpy_memmove_and_memset_agree_with_rust() {
    let code = Mapped::load();
    let (memcpy, memmove, memset) = (code.copy("memcpy"), code.copy("memmove"), code.fill());
    const LEN: usize = 400;
    for len in 0..=300 {
        for (dst_at, src_at) in [(0, 0), (1, 0), (0, 3), (5, 7), (8, 16), (13, 2)] {
            for (name, f) in [("memcpy", memcpy), ("memmove", memmove)] {
                let src = pattern(LEN, 1);
                let mut dst = pattern(LEN, 99);
                let mut want = dst.clone();
                want[dst_at..dst_at + len].copy_from_slice(&src[src_at..src_at + len]);
                // SAFETY: both ranges lie inside their buffers.
                let ret = unsafe { f(dst.as_mut_ptr().add(dst_at), src.as_ptr().add(src_at), len) };
                assert_eq!(ret, dst.as_mut_ptr().wrapping_add(dst_at), "{name} returns its destination");
                assert!(dst == want, "{name} len {len} dst+{dst_at} src+{src_at}");
            }
            let mut buf = pattern(LEN, 7);
            let mut want = buf.clone();
            want[dst_at..dst_at + len].fill(0xA5);
            // SAFETY: the range lies inside the buffer; only the low byte of
            // the value counts.
            let ret = unsafe { memset(buf.as_mut_ptr().add(dst_at), 0x1A5, len) };
            assert_eq!(ret, buf.as_mut_ptr().wrapping_add(dst_at));
            assert!(buf == want, "memset len {len} dst+{dst_at}");
        }
        // Overlapping moves, forwards and backwards.
        for shift in [1usize, 2, 7, 8, 15, 16, 31, 33] {
            for forward in [true, false] {
                let mut buf = pattern(LEN, 3);
                let (from, to) = if forward { (40, 40 + shift) } else { (40 + shift, 40) };
                let mut want = buf.clone();
                want.copy_within(from..from + len, to);
                // SAFETY: both ranges lie inside the buffer; memmove allows overlap.
                unsafe { memmove(buf.as_mut_ptr().add(to), buf.as_ptr().add(from), len) };
                assert!(buf == want, "memmove len {len} from {from} to {to}");
            }
        }
    }
}

#[test]
fn chkstk_probes_and_preserves_registers() {
    let code = Mapped::load();
    let chkstk = code.address("__chkstk");
    for size in [0u64, 8, 4095, 4096, 4097, 3 * 4096 + 5, 16 * 4096] {
        let (rax, rcx, before, after): (u64, u64, u64, u64);
        // SAFETY: `__chkstk` reads one byte in each page from the stack
        // pointer down to `rsp - size`, all inside this thread's stack (far
        // larger than 64 KiB), and changes no register but flags; the block
        // may use the stack (no `nostack`), so the call is aligned and
        // nothing lives in the red zone.
        unsafe {
            std::arch::asm!(
                "mov {before}, rsp",
                "call {f}",
                "mov {after}, rsp",
                f = in(reg) chkstk,
                before = out(reg) before,
                after = out(reg) after,
                inout("rax") size => rax,
                inout("rcx") 0x1234_5678_u64 => rcx,
            );
        }
        assert_eq!((rax, rcx), (size, 0x1234_5678), "size {size}: rax and rcx preserved");
        assert_eq!(before, after, "size {size}: stack pointer unchanged");
    }
}
