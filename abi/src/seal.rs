//! The seal at the end of every ELF shared library kiln links: 16 bytes
//! appended after the linker's output.
//!
//! ```text
//! end - 16   magic    b"KILNSEAL"
//! end -  8   digest   u64 LE   (XXH3-64 of every byte before the seal)
//! ```
//!
//! The metadata checksum covers the metadata; the seal covers everything
//! else the dynamic loader reads and the code it maps. `dlopen` trusts
//! its input: a damaged hash table, program header or relocation can make
//! `ld.so` itself crash or run arbitrary code before the loader gets its
//! handle back, and a damaged instruction crashes the process the first
//! time it runs. The loader checks the seal before it reads anything else,
//! so a library with any byte changed, or cut short anywhere, is refused
//! as damaged instead. The seal detects damage, not forgery: a library is
//! native code, trusted as its file is.
//!
//! The dynamic loader ignores bytes past an ELF file's last section, so a
//! sealed library is an ordinary shared library for every other tool.
//! Tools that rewrite a library (`strip`, `patchelf`) break the seal; the
//! loader then asks for the module to be compiled again. Mach-O and PE
//! libraries are not sealed: the loader does not run them, and a Mach-O
//! library's code signature must stay its last bytes.

/// First bytes of the seal.
pub const MAGIC: [u8; 8] = *b"KILNSEAL";

/// Size of the seal.
pub const SIZE: usize = 16;

/// Why a file's seal was rejected.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The file does not end in a seal: not linked by kiln, rewritten by
    /// another tool, or cut short.
    #[error(
        "it does not end in kiln's seal: it was not linked by kiln, or was cut short or rewritten (e.g. by strip) after kiln linked it; compile the module again"
    )]
    Missing,
    /// The seal does not match the bytes before it.
    #[error(
        "it is damaged: its seal records digest {stored:#018x}, its bytes give {computed:#018x}; compile the module again"
    )]
    Mismatch {
        /// The digest in the seal.
        stored: u64,
        /// The digest of the bytes present.
        computed: u64,
    },
}

/// The digest a seal records for `content`.
pub fn digest(content: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(content)
}

/// Appends the seal for the bytes in `file`.
pub fn seal(file: &mut Vec<u8>) {
    let digest = digest(file);
    file.extend_from_slice(&MAGIC);
    file.extend_from_slice(&digest.to_le_bytes());
}

/// Checks the seal at the end of `file` and returns the bytes it covers.
pub fn unseal(file: &[u8]) -> Result<&[u8], SealError> {
    let Some(content_len) = file.len().checked_sub(SIZE) else { return Err(SealError::Missing) };
    let (content, seal) = file.split_at(content_len);
    if seal[..8] != MAGIC {
        return Err(SealError::Missing);
    }
    let stored = u64::from_le_bytes(seal[8..].try_into().expect("a seal ends in 8 bytes"));
    let computed = digest(content);
    if stored != computed {
        return Err(SealError::Mismatch { stored, computed });
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(content: &[u8]) -> Vec<u8> {
        let mut file = content.to_vec();
        seal(&mut file);
        file
    }

    #[test]
    fn a_sealed_file_unseals_to_its_content() {
        let file = sealed(b"\x7fELF and the rest of a library");
        assert_eq!(file.len(), 30 + SIZE);
        assert_eq!(unseal(&file), Ok(&b"\x7fELF and the rest of a library"[..]));
        assert_eq!(unseal(&sealed(b"")), Ok(&b""[..]));
    }

    #[test]
    fn every_changed_byte_breaks_the_seal() {
        let file = sealed(&(0..=255u8).collect::<Vec<_>>());
        for at in 0..file.len() {
            let mut damaged = file.clone();
            damaged[at] ^= 0x10;
            let error = unseal(&damaged).expect_err("a changed byte is found");
            if at < file.len() - SIZE || at >= file.len() - 8 {
                assert!(matches!(error, SealError::Mismatch { .. }), "byte {at}: {error:?}");
            } else {
                assert_eq!(error, SealError::Missing, "byte {at}");
            }
        }
    }

    #[test]
    fn every_truncation_breaks_the_seal() {
        let file = sealed(b"a library that is a little longer than a seal");
        for len in 0..file.len() {
            assert!(unseal(&file[..len]).is_err(), "cut to {len} bytes");
        }
    }
}
