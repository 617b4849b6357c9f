//! Deterministic fuzz inputs: the bytes for seed `n` are the same on every
//! run and every machine, so a failure found by a seeded run is reproduced
//! by its seed alone.

/// `len` bytes derived from `seed` (SplitMix64, whose every output depends
/// on all bits of the seed, so neighbouring seeds give unrelated inputs).
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The input length for `seed`: varied, so that wasm-smith runs out of
/// input at different points and makes modules of different sizes.
pub fn len(seed: u64, max: usize) -> usize {
    let first = bytes(seed ^ 0x5eed_1e57, 8);
    let n = u64::from_le_bytes(first.try_into().expect("8 bytes"));
    (max / 8) + (n % (max as u64 - max as u64 / 8)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        assert_eq!(bytes(7, 100), bytes(7, 100));
        assert_ne!(bytes(7, 100), bytes(8, 100));
        assert_eq!(&bytes(7, 100)[..50], &bytes(7, 50)[..]);
        let l = len(3, 4096);
        assert!((512..4096).contains(&l), "{l}");
    }
}
