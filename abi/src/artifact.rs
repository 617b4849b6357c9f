//! The metadata blob's framing: a fixed header followed by the rkyv archive.
//!
//! ```text
//! offset 0   magic            b"KILNMETA"
//!        8   format_version   u32 LE   (FORMAT_VERSION)
//!       12   reserved         u32      (zero)
//!       16   payload_len      u64 LE
//!       24   checksum         u64 LE   (XXH3-64 of the payload)
//!       32   payload          rkyv archive of ModuleMetadata
//! ```
//!
//! The blob is placed 16-byte aligned, so the payload is too, and rkyv can
//! read it in place. The version is checked before anything else so that a
//! future layout change is reported as such rather than as corruption; the
//! checksum is checked before rkyv's validation so that a damaged library is
//! reported as damaged.

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
/// Version 4: the `raise_trap_at` builtin (a trap that names a table
/// element), which generated code calls for a null `call_indirect` element.
pub const FORMAT_VERSION: u32 = 4;

/// First bytes of every metadata blob.
pub const MAGIC: [u8; 8] = *b"KILNMETA";

/// Size of the header before the payload.
pub const HEADER_SIZE: usize = 32;

/// Required alignment of the blob.
pub const ALIGN: usize = 16;

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
    #[error("artifact format version {found} is not supported (this kiln reads version {FORMAT_VERSION}); recompile the module with this kiln")]
    UnsupportedVersion {
        /// The version in the artifact.
        found: u32,
    },
    /// A header field that must be zero is not.
    #[error("metadata header is damaged (reserved field is {0:#x}, must be 0)")]
    BadHeader(u32),
    /// The payload is shorter than its header says.
    #[error("metadata is truncated: header announces {expected} payload bytes, {found} present")]
    Truncated {
        /// Announced payload length.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The payload does not match its checksum.
    #[error("metadata checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): the library is damaged")]
    ChecksumMismatch {
        /// Checksum in the header.
        stored: u64,
        /// Checksum of the bytes present.
        computed: u64,
    },
    /// The payload is not 16-byte aligned in memory.
    #[error("metadata is not {ALIGN}-byte aligned in memory")]
    Misaligned,
    /// rkyv rejected the archive.
    #[error("metadata failed validation: {0}")]
    Invalid(String),
}

/// The parsed header of a metadata blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Artifact format version.
    pub format_version: u32,
    /// Length of the payload after the header.
    pub payload_len: u64,
    /// XXH3-64 of the payload.
    pub checksum: u64,
}

impl Header {
    /// Total blob size: header plus payload.
    pub fn blob_len(&self) -> u64 {
        HEADER_SIZE as u64 + self.payload_len
    }
}

/// Serializes metadata into a blob (header + archive). Deterministic: the
/// same metadata always gives the same bytes.
pub fn encode(metadata: &ModuleMetadata) -> Vec<u8> {
    let payload = rkyv::to_bytes::<rkyv::rancor::Error>(metadata)
        .expect("serializing plain owned metadata into memory cannot fail");
    let mut blob = Vec::with_capacity(HEADER_SIZE + payload.len());
    blob.extend_from_slice(&MAGIC);
    blob.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    blob.extend_from_slice(&0u32.to_le_bytes());
    blob.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    blob.extend_from_slice(&checksum(&payload).to_le_bytes());
    blob.extend_from_slice(&payload);
    blob
}

/// The checksum stored in the header.
pub fn checksum(payload: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(payload)
}

/// Parses and checks the header: magic and format version.
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
    if u32_at(12) != 0 {
        return Err(MetadataError::BadHeader(u32_at(12)));
    }
    Ok(Header { format_version, payload_len: u64_at(16), checksum: u64_at(24) })
}

/// Checks a blob's header and checksum and returns its payload.
pub fn verified_payload(blob: &[u8]) -> Result<&[u8], MetadataError> {
    let header = read_header(blob)?;
    let present = (blob.len() - HEADER_SIZE) as u64;
    if present < header.payload_len {
        return Err(MetadataError::Truncated { expected: header.payload_len, found: present });
    }
    let payload = &blob[HEADER_SIZE..HEADER_SIZE + header.payload_len as usize];
    let computed = checksum(payload);
    if computed != header.checksum {
        return Err(MetadataError::ChecksumMismatch { stored: header.checksum, computed });
    }
    Ok(payload)
}

/// Validates a blob in place and returns a view of the archived metadata,
/// without copying. The blob must be 16-byte aligned (as it is inside a
/// library kiln linked).
pub fn decode(blob: &[u8]) -> Result<&ArchivedModuleMetadata, MetadataError> {
    let payload = verified_payload(blob)?;
    if !(payload.as_ptr() as usize).is_multiple_of(ALIGN) {
        return Err(MetadataError::Misaligned);
    }
    rkyv::access::<ArchivedModuleMetadata, rkyv::rancor::Error>(payload)
        .map_err(|e| MetadataError::Invalid(e.to_string()))
}

/// Metadata copied out of an arbitrary byte buffer (for example a library
/// file read from disk, where alignment is not guaranteed).
pub struct OwnedMetadata {
    payload: AlignedVec<ALIGN>,
}

impl OwnedMetadata {
    /// Checks a blob and copies its payload into aligned storage.
    pub fn from_blob(blob: &[u8]) -> Result<OwnedMetadata, MetadataError> {
        let bytes = verified_payload(blob)?;
        let mut payload = AlignedVec::<ALIGN>::with_capacity(bytes.len());
        payload.extend_from_slice(bytes);
        rkyv::access::<ArchivedModuleMetadata, rkyv::rancor::Error>(&payload)
            .map_err(|e| MetadataError::Invalid(e.to_string()))?;
        Ok(OwnedMetadata { payload })
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

    fn sample() -> ModuleMetadata {
        ModuleMetadata {
            compiler_version: "test".into(),
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
        let blob = aligned(&encode(&sample()));
        let meta = decode(&blob).unwrap();
        assert_eq!(meta.exports[0].name.as_str(), "add");
        assert_eq!(meta.types[0].ty.to_native(), sample().types[0].ty);
        assert_eq!(meta.shape(), sample().shape());
        assert_eq!(meta.shape().num_defined_funcs, 1);
    }

    #[test]
    fn encoding_is_deterministic() {
        assert_eq!(encode(&sample()), encode(&sample()));
    }

    #[test]
    fn every_corruption_is_detected() {
        let blob = encode(&sample());
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x10;
            let bad = aligned(&bad);
            assert!(decode(&bad).is_err(), "flipping a bit of byte {i} went unnoticed");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let blob = encode(&sample());
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
}
