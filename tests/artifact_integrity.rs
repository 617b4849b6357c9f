//! A library kiln compiled, damaged every way a file can be: any flipped
//! byte (its seal catches it), any flipped byte of its metadata in a
//! library sealed again (its checksum catches it), a cut at any length, a
//! missing seal, or a compiler build patched to another one (checksum and
//! seal fixed up). Each is an error naming the problem; none crashes or
//! loads.

mod pipeline;

use kiln::CompileOptions;
use kiln_abi::MetadataError;
use kiln_abi::artifact::{self, HEADER_SIZE};
use kiln_abi::seal::{self, SealError};
use kiln_loader::{Engine, LoadErrorKind, Module};
use object::{Object, ObjectSection, ObjectSymbol};
use pipeline::wat_library;
use std::path::Path;

const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 7))
  (table 2 funcref) (elem (i32.const 0) $add $get)
  (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $get (export "get") (result i32) (global.get $g))
  (data (i32.const 16) "kiln"))"#;

/// The file range of the metadata blob.
fn blob_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let file = object::File::parse(bytes).unwrap();
    let symbol = file.dynamic_symbols().find(|s| s.name() == Ok(kiln_abi::symbols::METADATA)).unwrap();
    let section = file.section_by_index(symbol.section_index().unwrap()).unwrap();
    let (offset, _) = section.file_range().unwrap();
    let start = (offset + symbol.address() - section.address()) as usize;
    start..start + symbol.size() as usize
}

fn load(path: &Path) -> Result<Module, kiln_loader::LoadError> {
    Module::from_file(&Engine::default(), path)
}

/// `bytes`, a sealed library, with its seal made anew for its content.
fn sealed_again(bytes: &[u8]) -> Vec<u8> {
    let mut content = bytes[..bytes.len() - seal::SIZE].to_vec();
    seal::seal(&mut content);
    content
}

#[test]
fn every_flipped_byte_breaks_the_seal() {
    let library = wat_library(MODULE, &CompileOptions::default());
    let bytes = std::fs::read(&library.path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.so");
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 1 << (at % 8);
        std::fs::write(&path, &damaged).unwrap();
        let e = load(&path).expect_err(&format!("byte {at} of {} flipped", bytes.len()));
        let expected = if (bytes.len() - seal::SIZE..bytes.len() - 8).contains(&at) {
            matches!(e.kind, LoadErrorKind::Seal(SealError::Missing))
        } else {
            matches!(e.kind, LoadErrorKind::Seal(SealError::Mismatch { .. }))
        };
        assert!(expected, "byte {at}: {e}");
    }
}

#[test]
fn a_library_without_its_seal_is_refused_for_that() {
    let library = wat_library(MODULE, &CompileOptions::default());
    let bytes = std::fs::read(&library.path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsealed.so");
    std::fs::write(&path, &bytes[..bytes.len() - seal::SIZE]).unwrap();
    let e = load(&path).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::Seal(SealError::Missing)), "{e}");
    assert!(e.to_string().contains("compile the module again"), "{e}");
    // `kiln inspect` still reads it.
    kiln_loader::read_metadata(&path).expect("the metadata of an unsealed library");
}

/// Each flipped metadata byte in a library sealed again: the seal passes,
/// the metadata's own checks must catch it.
#[test]
fn every_flipped_metadata_byte_is_an_error() {
    let library = wat_library(MODULE, &CompileOptions::default());
    load(&library.path).expect("the intact library loads");
    let bytes = std::fs::read(&library.path).unwrap();
    let range = blob_range(&bytes);
    assert!(range.len() > HEADER_SIZE + 100, "{range:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.so");
    for at in range.clone() {
        for bit in [0x01u8, 0x80] {
            let mut damaged = bytes.clone();
            damaged[at] ^= bit;
            std::fs::write(&path, sealed_again(&damaged)).unwrap();
            let e = load(&path).expect_err(&format!("byte {} of the metadata flipped ({bit:#x})", at - range.start));
            assert!(matches!(e.kind, LoadErrorKind::Metadata(_)), "byte {}: {e}", at - range.start);
            assert!(
                !matches!(e.kind, LoadErrorKind::Metadata(MetadataError::OtherBuild { .. })),
                "damage taken for another build: {e}"
            );
        }
    }
}

/// Every length short of the whole file, so every structural boundary
/// (ELF header, program and section headers, each section, the metadata's
/// header, build and payload) is cut somewhere.
#[test]
fn every_truncation_is_an_error() {
    let library = wat_library(MODULE, &CompileOptions::default());
    let bytes = std::fs::read(&library.path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.so");
    for len in 0..bytes.len() {
        std::fs::write(&path, &bytes[..len]).unwrap();
        let e = load(&path).expect_err(&format!("truncated to {len} of {} bytes", bytes.len()));
        assert!(e.to_string().contains("truncated.so"), "{e}");
    }
}

/// An intact library from another build of kiln: the build string is
/// patched in place and the checksum and seal recomputed, as a genuine
/// artifact of that build would have them.
#[test]
fn another_compiler_build_is_refused_naming_both() {
    let library = wat_library(MODULE, &CompileOptions::default());
    let mut bytes = std::fs::read(&library.path).unwrap();
    let range = blob_range(&bytes);
    let header = artifact::read_header(&bytes[range.clone()]).unwrap();
    let build = range.start + HEADER_SIZE..range.start + HEADER_SIZE + header.build_len as usize;
    let ours = std::str::from_utf8(&bytes[build.clone()]).unwrap().to_string();
    assert_eq!(ours, kiln_loader::COMPILER_BUILD);
    // Another version of the same length: 0.1.0 becomes 9.1.0.
    bytes[build.start] = if bytes[build.start] == b'9' { b'8' } else { b'9' };
    let other = std::str::from_utf8(&bytes[build]).unwrap().to_string();
    let sum = artifact::checksum(&bytes[range.start..range.start + header.blob_len() as usize]);
    bytes[range.start + 24..range.start + 32].copy_from_slice(&sum.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.so");
    std::fs::write(&path, sealed_again(&bytes)).unwrap();

    let e = load(&path).unwrap_err();
    let expected = MetadataError::OtherBuild { found: other.clone(), expected: ours.clone() };
    assert!(matches!(&e.kind, LoadErrorKind::Metadata(m) if *m == expected), "{e}");
    let message = e.to_string();
    assert!(
        message.contains(&format!("compiled by kiln {other}")) && message.contains(&format!("this is kiln {ours}")),
        "{message}"
    );
    // `kiln inspect` still reads it.
    assert_eq!(kiln_loader::read_metadata(&path).unwrap().compiler_build(), other);
}
