//! The metadata blob's framing: a fixed header, the identity of the
//! compiler build that wrote it, and the rkyv archive.
//!
//! ```text
//! offset 0   magic            b"KILNMETA"
//!        8   format_version   u32 LE   (FORMAT_VERSION)
//!       12   build_len        u32 LE   (bytes of the compiler build, 1 to MAX_BUILD_LEN)
//!       16   payload_len      u64 LE
//!       24   checksum         u64 LE   (XXH3-64 of every other byte of the blob)
//!       32   compiler build   build_len bytes of UTF-8, zero-padded to a multiple of 16
//!   32 + B   payload          rkyv archive of ModuleMetadata
//! ```
//!
//! The blob is placed 16-byte aligned, so the payload is too, and rkyv can
//! read it in place. The checks run in an order that names the real
//! problem: magic (is it a kiln artifact at all), format version (a layout
//! this kiln cannot read is reported as such, not as damage), lengths,
//! checksum (every byte but the checksum itself, so any damage is reported
//! as damage), then the compiler build (an intact artifact of another
//! build is reported as that, naming both builds), and only then rkyv's
//! validation of the payload.
//!
//! The compiler build is the identity of the kiln build that wrote the
//! artifact (`kiln_loader::COMPILER_BUILD`: version, git commit, and a
//! digest of the sources when the work tree was modified). The runtime
//! runs only artifacts of its own build: an artifact is code generated
//! against one build's VM context layout, calling conventions and
//! builtins, which another build may have changed without a format
//! version bump.

use crate::metadata::{ArchivedModuleMetadata, ModuleMetadata};
use rkyv::util::AlignedVec;

/// Version of the artifact format (header, metadata schema, VM context
/// layout, calling conventions). Bump on any incompatible change.
///
/// Version 2: wasm functions with several results return them through a
/// return area instead of a struct (see the crate docs).
///
/// Version 3: reference-typed values (one pointer each) in signatures,
/// globals and tables; the `NullFunctionReference` trap code; generated
/// code performs `table.*` and `memory.copy`/`memory.fill` inline and
/// calls the segment builtins for `table.init`, `memory.init` and the drops.
///
/// Version 4: the header records the compiler build and its checksum
/// covers the header; the metadata no longer holds a compiler version.
/// Version 5: the `raise_trap_at` builtin (a trap that names a table
/// element), which generated code calls for a null `call_indirect` element.
///
/// Version 6: an ELF shared library ends in a seal, a digest of all its
/// other bytes ([`crate::seal`]), which the loader checks before anything
/// else.
///
/// Version 7: wasm functions used LLVM's `tailcc` convention on x86_64 and
/// aarch64 (stack arguments popped by the callee), for guaranteed tail
/// calls between any two signatures.
///
/// Version 8: wasm functions use the C convention on every target again
/// (`tailcc` made call-heavy programs 2–7 % slower on x86_64).
///
/// Version 9: memory types carry their page size (custom page sizes).
///
/// Version 10: exception handling (tags in the metadata and at the end of
/// the VM context, the `exn_new` and `throw_ref` builtins, unwind tables
/// on every target).
///
/// Version 11: the threads proposal: the `memory_atomic_wait32`,
/// `memory_atomic_wait64` and `memory_atomic_notify` builtins, the
/// `ExpectedSharedMemory` trap code, shared memories in artifacts.
pub const FORMAT_VERSION: u32 = 11;

/// First bytes of every metadata blob.
pub const MAGIC: [u8; 8] = *b"KILNMETA";

/// Size of the fixed part of the header, before the compiler build.
pub const HEADER_SIZE: usize = 32;

/// Required alignment of the blob.
pub const ALIGN: usize = 16;

/// The longest compiler build string a header may hold.
pub const MAX_BUILD_LEN: usize = 256;

/// Offset of the checksum field, which the checksum does not cover.
const CHECKSUM_AT: usize = 24;

/// Why a metadata blob was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    /// Fewer bytes than a header.
    #[error("metadata is truncated: {len} bytes, the header alone needs {HEADER_SIZE}")]
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// The magic number is wrong: not a kiln artifact.
    #[error("no kiln metadata found (bad magic number); is this a library compiled by kiln?")]
    BadMagic,
    /// Written by an incompatible version of kiln.
    #[error(
        "artifact format version {found} is not supported (this kiln reads version {FORMAT_VERSION}); recompile the module with this kiln"
    )]
    UnsupportedVersion {
        /// The version in the artifact.
        found: u32,
    },
    /// A header field is out of range.
    #[error("metadata header is damaged: {0}")]
    BadHeader(String),
    /// The blob is shorter than its header says.
    #[error("metadata is truncated: header announces {expected} bytes, {found} present")]
    Truncated {
        /// Announced blob length.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The blob does not match its checksum.
    #[error("metadata checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): the library is damaged")]
    ChecksumMismatch {
        /// Checksum in the header.
        stored: u64,
        /// Checksum of the bytes present.
        computed: u64,
    },
    /// Intact, but written by another build of kiln.
    #[error(
        "compiled by kiln {found}, but this is kiln {expected}; an artifact runs only with the kiln build that compiled it: recompile the module"
    )]
    OtherBuild {
        /// The build recorded in the artifact.
        found: String,
        /// The build of this runtime.
        expected: String,
    },
    /// The payload is not 16-byte aligned in memory.
    #[error("metadata is not {ALIGN}-byte aligned in memory")]
    Misaligned,
    /// rkyv rejected the archive.
    #[error("metadata failed validation: {0}")]
    Invalid(String),
}

/// The parsed fixed part of a metadata header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Artifact format version.
    pub format_version: u32,
    /// Length of the compiler build string.
    pub build_len: u32,
    /// Length of the payload.
    pub payload_len: u64,
    /// XXH3-64 of the blob without this field.
    pub checksum: u64,
}

impl Header {
    /// Where the payload starts: after the header and the padded build.
    pub fn payload_offset(&self) -> u64 {
        HEADER_SIZE as u64 + padded(self.build_len as usize) as u64
    }

    /// Total blob size: header, compiler build and payload.
    pub fn blob_len(&self) -> u64 {
        self.payload_offset() + self.payload_len
    }
}

/// `len` rounded up to the blob's alignment.
fn padded(len: usize) -> usize {
    len.div_ceil(ALIGN) * ALIGN
}

/// An intact blob: its checksum matched.
#[derive(Clone, Copy, Debug)]
pub struct Verified<'a> {
    /// The header.
    pub header: Header,
    /// The compiler build that wrote it.
    pub compiler_build: &'a str,
    /// The rkyv archive.
    pub payload: &'a [u8],
}

/// Serializes metadata into a blob (header, compiler build, archive) for
/// the kiln build `compiler_build` (1 to [`MAX_BUILD_LEN`] bytes).
/// Deterministic: the same input always gives the same bytes.
pub fn encode(metadata: &ModuleMetadata, compiler_build: &str) -> Vec<u8> {
    assert!(
        (1..=MAX_BUILD_LEN).contains(&compiler_build.len()),
        "a compiler build is 1 to {MAX_BUILD_LEN} bytes, `{compiler_build}` is not"
    );
    let payload = rkyv::to_bytes::<rkyv::rancor::Error>(metadata)
        .expect("serializing plain owned metadata into memory cannot fail");
    let mut blob = Vec::with_capacity(HEADER_SIZE + padded(compiler_build.len()) + payload.len());
    blob.extend_from_slice(&MAGIC);
    blob.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    blob.extend_from_slice(&(compiler_build.len() as u32).to_le_bytes());
    blob.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    blob.extend_from_slice(&0u64.to_le_bytes());
    blob.extend_from_slice(compiler_build.as_bytes());
    blob.resize(HEADER_SIZE + padded(compiler_build.len()), 0);
    blob.extend_from_slice(&payload);
    let sum = checksum(&blob);
    blob[CHECKSUM_AT..CHECKSUM_AT + 8].copy_from_slice(&sum.to_le_bytes());
    blob
}

/// The checksum of a whole blob: XXH3-64 of every byte except the
/// checksum field itself.
pub fn checksum(blob: &[u8]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&blob[..CHECKSUM_AT.min(blob.len())]);
    hasher.update(blob.get(CHECKSUM_AT + 8..).unwrap_or_default());
    hasher.digest()
}

/// Parses and checks the fixed part of the header: magic, format version
/// and the compiler build's length.
pub fn read_header(bytes: &[u8]) -> Result<Header, MetadataError> {
    if bytes.len() < HEADER_SIZE {
        return Err(MetadataError::TooShort { len: bytes.len() });
    }
    if bytes[..8] != MAGIC {
        return Err(MetadataError::BadMagic);
    }
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let format_version = u32_at(8);
    if format_version != FORMAT_VERSION {
        return Err(MetadataError::UnsupportedVersion { found: format_version });
    }
    let build_len = u32_at(12);
    if build_len == 0 || build_len as usize > MAX_BUILD_LEN {
        return Err(MetadataError::BadHeader(format!(
            "the compiler build is {build_len} bytes long, it must be 1 to {MAX_BUILD_LEN}"
        )));
    }
    Ok(Header { format_version, build_len, payload_len: u64_at(16), checksum: u64_at(CHECKSUM_AT) })
}

/// Checks a blob's header, length and checksum; the blob may be longer
/// than the header announces (a symbol up to its section's end).
pub fn verify(blob: &[u8]) -> Result<Verified<'_>, MetadataError> {
    let header = read_header(blob)?;
    let len = header.blob_len();
    if (blob.len() as u64) < len {
        return Err(MetadataError::Truncated { expected: len, found: blob.len() as u64 });
    }
    let blob = &blob[..len as usize];
    let computed = checksum(blob);
    if computed != header.checksum {
        return Err(MetadataError::ChecksumMismatch { stored: header.checksum, computed });
    }
    let build = &blob[HEADER_SIZE..HEADER_SIZE + header.build_len as usize];
    let compiler_build =
        std::str::from_utf8(build).map_err(|_| MetadataError::BadHeader("the compiler build is not UTF-8".into()))?;
    Ok(Verified { header, compiler_build, payload: &blob[header.payload_offset() as usize..] })
}

/// Checks a blob's header and checksum and returns its payload, whatever
/// build wrote it.
pub fn verified_payload(blob: &[u8]) -> Result<&[u8], MetadataError> {
    verify(blob).map(|v| v.payload)
}

/// Checks that an intact blob was written by `expected`, the build of the
/// runtime that is to run it.
pub fn check_build(verified: &Verified<'_>, expected: &str) -> Result<(), MetadataError> {
    if verified.compiler_build == expected {
        Ok(())
    } else {
        Err(MetadataError::OtherBuild { found: verified.compiler_build.to_string(), expected: expected.to_string() })
    }
}

/// Validates the payload of an intact blob in place, without copying. The
/// payload must be 16-byte aligned (as it is inside a library kiln linked).
fn access(verified: Verified<'_>) -> Result<&ArchivedModuleMetadata, MetadataError> {
    if !(verified.payload.as_ptr() as usize).is_multiple_of(ALIGN) {
        return Err(MetadataError::Misaligned);
    }
    rkyv::access::<ArchivedModuleMetadata, rkyv::rancor::Error>(verified.payload)
        .map_err(|e| MetadataError::Invalid(e.to_string()))
}

/// Validates a blob in place and returns a view of the archived metadata,
/// whatever build wrote it (to inspect an artifact, not to run it). The
/// blob must be 16-byte aligned.
pub fn decode(blob: &[u8]) -> Result<&ArchivedModuleMetadata, MetadataError> {
    access(verify(blob)?)
}

/// [`decode`] for a runtime of build `expected`: the compiler build is
/// checked before the payload is interpreted.
pub fn decode_for_build<'a>(blob: &'a [u8], expected: &str) -> Result<&'a ArchivedModuleMetadata, MetadataError> {
    let verified = verify(blob)?;
    check_build(&verified, expected)?;
    access(verified)
}

/// Metadata copied out of an arbitrary byte buffer (for example a library
/// file read from disk, where alignment is not guaranteed).
pub struct OwnedMetadata {
    compiler_build: String,
    payload: AlignedVec<ALIGN>,
}

impl OwnedMetadata {
    /// Checks a blob and copies its payload into aligned storage.
    pub fn from_blob(blob: &[u8]) -> Result<OwnedMetadata, MetadataError> {
        let verified = verify(blob)?;
        let mut payload = AlignedVec::<ALIGN>::with_capacity(verified.payload.len());
        payload.extend_from_slice(verified.payload);
        rkyv::access::<ArchivedModuleMetadata, rkyv::rancor::Error>(&payload)
            .map_err(|e| MetadataError::Invalid(e.to_string()))?;
        Ok(OwnedMetadata { compiler_build: verified.compiler_build.to_string(), payload })
    }

    /// [`OwnedMetadata::from_blob`] for a runtime of build `expected`.
    pub fn from_blob_for_build(blob: &[u8], expected: &str) -> Result<OwnedMetadata, MetadataError> {
        check_build(&verify(blob)?, expected)?;
        OwnedMetadata::from_blob(blob)
    }

    /// The kiln build that compiled the artifact.
    pub fn compiler_build(&self) -> &str {
        &self.compiler_build
    }

    /// The archived metadata.
    pub fn get(&self) -> &ArchivedModuleMetadata {
        // SAFETY: `from_blob` validated exactly these bytes, and they are
        // never mutated afterwards.
        unsafe { rkyv::access_unchecked::<ArchivedModuleMetadata>(&self.payload) }
    }

    /// The metadata as an ordinary value (a copy).
    pub fn to_metadata(&self) -> Result<ModuleMetadata, MetadataError> {
        rkyv::deserialize::<ModuleMetadata, rkyv::rancor::Error>(self.get())
            .map_err(|e| MetadataError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::*;
    use crate::types::*;

    const BUILD: &str = "0.1.0+0123456789abcdef0123456789abcdef01234567";

    fn sample() -> ModuleMetadata {
        ModuleMetadata {
            target: TargetInfo {
                triple: "x86_64-unknown-linux-gnu".into(),
                cpu: "x86-64-v2".into(),
                features: vec!["sse4.1".into()],
                pointer_size: 8,
            },
            types: vec![SignatureInfo {
                ty: FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
                array_call: 1,
                wasm_to_host: 2,
            }],
            functions: vec![FunctionInfo { type_index: 0, wasm_call: Some(0) }],
            exports: vec![Export { name: "add".into(), kind: ExternKind::Func, index: 0 }],
            data: vec![DataSegment {
                mode: SegmentMode::Active(ActiveSegment { index: 0, offset: ConstExpr::single(ConstOp::I32Const(8)) }),
                bytes: b"hello".to_vec(),
            }],
            ..Default::default()
        }
    }

    fn aligned(blob: &[u8]) -> AlignedVec<ALIGN> {
        let mut v = AlignedVec::<ALIGN>::new();
        v.extend_from_slice(blob);
        v
    }

    #[test]
    fn round_trips_in_place() {
        let blob = aligned(&encode(&sample(), BUILD));
        let meta = decode_for_build(&blob, BUILD).unwrap();
        assert_eq!(meta.exports[0].name.as_str(), "add");
        assert_eq!(meta.types[0].ty.to_native(), sample().types[0].ty);
        assert_eq!(meta.shape(), sample().shape());
        assert_eq!(meta.shape().num_defined_funcs, 1);
        assert_eq!(verify(&blob).unwrap().compiler_build, BUILD);
        assert_eq!(read_header(&blob).unwrap().payload_offset() % ALIGN as u64, 0);
    }

    #[test]
    fn encoding_is_deterministic() {
        assert_eq!(encode(&sample(), BUILD), encode(&sample(), BUILD));
    }

    /// Any damaged byte, header and build included, is reported as an
    /// error, and never as another build.
    #[test]
    fn every_corruption_is_detected() {
        let blob = encode(&sample(), BUILD);
        for i in 0..blob.len() {
            for bit in [0x01, 0x10, 0x80] {
                let mut bad = blob.clone();
                bad[i] ^= bit;
                let bad = aligned(&bad);
                match decode_for_build(&bad, BUILD) {
                    Ok(_) => panic!("flipping bit {bit:#x} of byte {i} went unnoticed"),
                    Err(MetadataError::OtherBuild { .. }) => panic!("damage at byte {i} taken for another build"),
                    Err(_) => {}
                }
            }
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let blob = encode(&sample(), BUILD);
        for len in 0..blob.len() {
            assert!(decode(&aligned(&blob[..len])).is_err(), "truncated to {len} bytes");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let blob = encode(&sample(), BUILD);
        assert_eq!(decode(&aligned(&blob[..10])).unwrap_err(), MetadataError::TooShort { len: 10 });
        assert!(matches!(decode(&aligned(&blob[..40])), Err(MetadataError::Truncated { .. })));
        let mut v2 = blob.clone();
        v2[8] = 99;
        assert_eq!(decode(&aligned(&v2)).unwrap_err(), MetadataError::UnsupportedVersion { found: 99 });
        let mut flipped = blob.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(decode(&aligned(&flipped)), Err(MetadataError::ChecksumMismatch { .. })));
        assert!(OwnedMetadata::from_blob(&blob).is_ok());
    }

    /// An intact artifact of another build is refused by name, both builds
    /// in the message; reading it regardless of build still works.
    #[test]
    fn another_build_is_named() {
        let other = "0.1.0+fedcba9876543210fedcba9876543210fedcba98.modified-1234abcd5678ef90";
        let blob = aligned(&encode(&sample(), other));
        let e = decode_for_build(&blob, BUILD).unwrap_err();
        assert_eq!(e, MetadataError::OtherBuild { found: other.into(), expected: BUILD.into() });
        let text = e.to_string();
        assert!(text.contains(other) && text.contains(BUILD), "{text}");
        assert!(decode(&blob).is_ok());
        let owned = OwnedMetadata::from_blob(&blob).unwrap();
        assert_eq!(owned.compiler_build(), other);
        assert!(OwnedMetadata::from_blob_for_build(&blob, BUILD).is_err());
    }
}
