//! Target (c): the loader on mutated artifacts never crashes.
//!
//! A few libraries are compiled once per process (modules with every kind
//! of export, segments, a table of functions). An input picks one and a
//! mutation: bytes of the metadata payload overwritten with its checksum
//! recomputed and the library sealed again (so rkyv's validation and the
//! loader's consistency checks see the damage, not just the checksum or
//! the seal), the metadata header, bytes anywhere in the file, bytes in
//! the first pages (ELF, program and dynamic headers), or a truncation. The result is written to a fresh
//! file, read with `read_metadata` (what `kiln inspect` does) and loaded
//! with `Module::from_file`; a module that loads is instantiated unless
//! its metadata names a start function (the code is trusted, the loader
//! cannot check it, and mutated metadata could call it with the wrong
//! signature). Every outcome must be a value or an error; a panic or a
//! crash is the bug. One property is also checked: a library with any
//! byte changed or cut short, and not sealed again, must be refused.

use crate::target::{Pass, Verdict};
use arbitrary::Unstructured;
use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::artifact::{self, HEADER_SIZE, MAGIC};
use kiln_abi::seal;
use kiln_loader::{Engine, Linker, Module, Store};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// The modules whose libraries are mutated.
const BASES: [&str; 3] = [
    r#"(module
  (type $t (func (param i32) (result i32)))
  (import "env" "f" (func $imp (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (table (export "tab") 4 8 funcref)
  (global $g (export "g") (mut i32) (i32.const 42))
  (global (export "h") f64 (f64.const 1.5))
  (func $a (export "a") (type $t) (i32.add (local.get 0) (global.get $g)))
  (func $b (export "b") (param i64 f32) (result f64 i64)
    (f64.promote_f32 (local.get 1)) (local.get 0))
  (func (export "c") (result i32) (call_indirect (type $t) (i32.const 1) (i32.const 0)))
  (elem (i32.const 0) $a $b)
  (elem declare func $imp)
  (data (i32.const 16) "hello")
  (data "passive"))"#,
    r#"(module
  (memory 0)
  (func $s (i32.store (i32.const 0) (i32.const 1)))
  (func (export "run") (result v128) (v128.const i32x4 1 2 3 4))
  (start $s))"#,
    r#"(module
  (global (export "e") (mut externref) (ref.null extern))
  (table (export "t") 2 externref)
  (func (export "id") (param externref) (result externref) (local.get 0)))"#,
];

/// A compiled library and where its metadata blob lies in the file.
struct Base {
    bytes: Vec<u8>,
    /// Offset of the metadata blob in the file.
    blob: usize,
}

/// The loader target: base libraries, an engine, a scratch directory.
pub struct LoaderTarget {
    bases: Vec<Base>,
    engine: Engine,
    dir: tempfile::TempDir,
    /// Libraries written so far, to name each one afresh.
    loads: std::sync::atomic::AtomicU64,
}

impl LoaderTarget {
    /// Compiles the base libraries.
    pub fn new() -> Result<LoaderTarget, String> {
        let dir = tempfile::Builder::new().prefix("kiln-fuzz-loader-").tempdir().map_err(|e| e.to_string())?;
        let mut bases = Vec::new();
        for (i, wat) in BASES.iter().enumerate() {
            let wasm = wat::parse_str(wat).map_err(|e| format!("base module {i}: {e}"))?;
            let path = dir.path().join(format!("base{i}.so"));
            let opts = CompileOptions { opt_level: OptLevel::O1, ..CompileOptions::default() };
            kiln::compile_to_file(&wasm, Path::new("base.wat"), &opts, Emit::SharedLibrary, &path)
                .map_err(|e| format!("base module {i}: {e}"))?;
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            let blob = find(&bytes, &MAGIC).ok_or_else(|| format!("base module {i}: no metadata in the library"))?;
            bases.push(Base { bytes, blob });
        }
        Ok(LoaderTarget { bases, engine: Engine::default(), dir, loads: Default::default() })
    }

    /// The mutant library an input describes: which base it comes from,
    /// its bytes, and whether the loader must refuse it.
    pub fn mutant(&self, data: &[u8]) -> arbitrary::Result<(usize, Vec<u8>, bool)> {
        let mut u = Unstructured::new(data);
        let index = u.choose_index(self.bases.len())?;
        let (bytes, must_fail) = mutate(&mut u, &self.bases[index])?;
        Ok((index, bytes, must_fail))
    }

    /// Runs one input.
    pub fn run(&self, data: &[u8]) -> Verdict {
        let (index, bytes, must_fail) = match self.mutant(data) {
            Ok(m) => m,
            Err(e) => return Verdict::Skip(format!("input too short: {e}")),
        };
        // A new file (and inode) each time: the dynamic loader hands back
        // an already loaded library for a path and inode it knows.
        let n = self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.dir.path().join(format!("mutant-{}-{n}.so", std::process::id()));
        if let Err(e) = std::fs::write(&path, &bytes) {
            return Verdict::Fail(format!("io: cannot write {}: {e}", path.display()));
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| self.load(&path)));
        let _ = std::fs::remove_file(&path);
        match outcome {
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                Verdict::Fail(format!("panic: loading a mutant of base {index}: {message}"))
            }
            Ok(loaded) if loaded && must_fail => Verdict::Fail(format!(
                "accepted: a mutant of base {index} that does not match its checksum or seal was loaded"
            )),
            Ok(loaded) => Verdict::Pass(Pass { calls: 1, traps: u64::from(!loaded) }),
        }
    }

    /// Reads and loads the library at `path`; whether it loaded.
    fn load(&self, path: &Path) -> bool {
        let _ = kiln_loader::read_metadata(path);
        let Ok(module) = Module::from_file(&self.engine, path) else { return false };
        if module.metadata().start.is_none() {
            let mut store = Store::new(&self.engine);
            let _ = Linker::new(&self.engine).instantiate(&mut store, &module);
        }
        true
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A mutant of `base`, and whether the loader must refuse it.
///
/// Only a payload mutation with the checksum fixed and the library
/// sealed again gets past the seal: it is how rkyv's validation and the
/// loader's consistency checks are reached. Every other changed byte and
/// every truncation must be refused (by the seal).
fn mutate(u: &mut Unstructured<'_>, base: &Base) -> arbitrary::Result<(Vec<u8>, bool)> {
    let mut bytes = base.bytes.clone();
    let header = artifact::read_header(&bytes[base.blob..]).expect("the base library's own header");
    let blob = base.blob..base.blob + header.blob_len() as usize;
    let payload = base.blob + header.payload_offset() as usize..blob.end;
    let edits = u.int_in_range(1..=8u8)?;
    let range = match u.int_in_range(0..=5u8)? {
        // The payload, checksum fixed and sealed again: what rkyv and the
        // loader's consistency checks must catch.
        0 | 1 => {
            for _ in 0..edits {
                overwrite(u, &mut bytes, payload.clone())?;
            }
            let checksum = artifact::checksum(&bytes[blob.clone()]);
            bytes[base.blob + 24..base.blob + 32].copy_from_slice(&checksum.to_le_bytes());
            bytes.truncate(bytes.len() - seal::SIZE);
            seal::seal(&mut bytes);
            return Ok((bytes, false));
        }
        // The payload, checksum and seal left alone.
        2 => payload,
        // The header.
        3 => base.blob..base.blob + HEADER_SIZE,
        // The first pages: ELF header, program headers, dynamic section,
        // symbol and string tables.
        4 => 0..bytes.len().min(0x2000),
        _ if u.arbitrary()? => 0..bytes.len(),
        _ => {
            let keep = u.int_in_range(0..=bytes.len() - 1)?;
            bytes.truncate(keep);
            0..0
        }
    };
    for _ in 0..edits {
        overwrite(u, &mut bytes, range.clone())?;
    }
    let changed = bytes != base.bytes;
    Ok((bytes, changed))
}

/// Overwrites bytes at a place in `range`: one random byte, a bit flip,
/// or a little-endian word of a boundary value (lengths, offsets and
/// indices are what validation must bound).
fn overwrite(u: &mut Unstructured<'_>, bytes: &mut [u8], range: std::ops::Range<usize>) -> arbitrary::Result<()> {
    if range.is_empty() {
        return Ok(());
    }
    let at = u.int_in_range(range.start..=range.end - 1)?;
    match u.int_in_range(0..=2u8)? {
        0 => bytes[at] = u.arbitrary()?,
        1 => bytes[at] ^= 1 << u.int_in_range(0..=7u8)?,
        _ => {
            let word: u32 = *u.choose(&[0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fff_ffff, 0x8000_0000, u32::MAX])?;
            for (i, b) in word.to_le_bytes().into_iter().enumerate() {
                if at + i < range.end {
                    bytes[at + i] = b;
                }
            }
        }
    }
    Ok(())
}

impl LoaderTarget {
    /// Where `mutant` differs from base `base`: byte ranges, each with the
    /// ELF section that holds it, and the length if it was truncated.
    pub fn describe_mutant(&self, base: usize, mutant: &[u8]) -> String {
        let original = &self.bases[base].bytes;
        let sections: Vec<(String, std::ops::Range<u64>)> = match object::File::parse(original.as_slice()) {
            Ok(file) => {
                use object::{Object, ObjectSection};
                file.sections()
                    .filter_map(|s| {
                        let (start, len) = s.file_range()?;
                        Some((s.name().unwrap_or("?").to_string(), start..start + len))
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        let section_of = |at: usize| {
            sections.iter().find(|(_, r)| r.contains(&(at as u64))).map_or("headers or padding", |(n, _)| n.as_str())
        };
        let mut parts = Vec::new();
        let mut at = 0;
        let common = original.len().min(mutant.len());
        while at < common {
            if original[at] == mutant[at] {
                at += 1;
                continue;
            }
            let start = at;
            while at < common && original[at] != mutant[at] {
                at += 1;
            }
            parts.push(format!(
                "{start:#x}..{at:#x} in {}: {:02x?} -> {:02x?}",
                section_of(start),
                &original[start..at],
                &mutant[start..at]
            ));
        }
        if mutant.len() < original.len() {
            parts.push(format!("truncated to {:#x} of {:#x} bytes", mutant.len(), original.len()));
        }
        if parts.is_empty() { "unchanged".into() } else { parts.join("; ") }
    }
}
