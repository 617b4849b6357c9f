//! Whether this host has a CPU feature, by its LLVM name.

/// `Some(true/false)` for features this loader can check on this host,
/// `None` for the others.
pub(crate) fn host_has(feature: &str) -> Option<bool> {
    arch::host_has(feature)
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use std::arch::is_x86_feature_detected as has;

    pub(super) fn host_has(feature: &str) -> Option<bool> {
        Some(match feature {
            // The x86_64 baseline.
            "64bit" | "cmov" | "cx8" | "fxsr" | "mmx" | "sse" | "sse2" | "x87" => true,
            "sse3" => has!("sse3"),
            "ssse3" => has!("ssse3"),
            "sse4.1" => has!("sse4.1"),
            "sse4.2" | "crc32" => has!("sse4.2"),
            "sse4a" => has!("sse4a"),
            "popcnt" => has!("popcnt"),
            "cx16" => has!("cmpxchg16b"),
            "sahf" => lahf_sahf(),
            "avx" => has!("avx"),
            "avx2" => has!("avx2"),
            "bmi" => has!("bmi1"),
            "bmi2" => has!("bmi2"),
            "fma" => has!("fma"),
            "f16c" => has!("f16c"),
            "lzcnt" => has!("lzcnt"),
            "movbe" => has!("movbe"),
            "xsave" => has!("xsave"),
            "xsaveopt" => has!("xsaveopt"),
            "xsavec" => has!("xsavec"),
            "xsaves" => has!("xsaves"),
            "aes" => has!("aes"),
            "pclmul" => has!("pclmulqdq"),
            "rdrnd" => has!("rdrand"),
            "rdseed" => has!("rdseed"),
            "sha" => has!("sha"),
            "adx" => has!("adx"),
            "tbm" => has!("tbm"),
            "gfni" => has!("gfni"),
            "vaes" => has!("vaes"),
            "vpclmulqdq" => has!("vpclmulqdq"),
            "avx512f" => has!("avx512f"),
            "avx512bw" => has!("avx512bw"),
            "avx512cd" => has!("avx512cd"),
            "avx512dq" => has!("avx512dq"),
            "avx512vl" => has!("avx512vl"),
            "avx512ifma" => has!("avx512ifma"),
            "avx512vbmi" => has!("avx512vbmi"),
            "avx512vbmi2" => has!("avx512vbmi2"),
            "avx512vnni" => has!("avx512vnni"),
            "avx512bitalg" => has!("avx512bitalg"),
            "avx512vpopcntdq" => has!("avx512vpopcntdq"),
            "avx512bf16" => has!("avx512bf16"),
            "avx512fp16" => has!("avx512fp16"),
            "avxvnni" => has!("avxvnni"),
            _ => return None,
        })
    }

    /// LAHF/SAHF in 64-bit mode: CPUID 0x8000_0001, ECX bit 0 (the standard
    /// library has no name for it).
    fn lahf_sahf() -> bool {
        use std::arch::x86_64::__cpuid;
        let max_extended = __cpuid(0x8000_0000).eax;
        max_extended >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & 1 != 0
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use std::arch::is_aarch64_feature_detected as has;

    pub(super) fn host_has(feature: &str) -> Option<bool> {
        Some(match feature {
            // The AArch64 baseline kiln targets.
            "neon" | "fp-armv8" | "v8a" => true,
            "fullfp16" => has!("fp16"),
            "crc" => has!("crc"),
            "lse" => has!("lse"),
            "rdm" => has!("rdm"),
            "rcpc" => has!("rcpc"),
            "dotprod" => has!("dotprod"),
            "aes" => has!("aes"),
            "sha2" => has!("sha2"),
            "sha3" => has!("sha3"),
            "sve" => has!("sve"),
            "sve2" => has!("sve2"),
            "bf16" => has!("bf16"),
            "i8mm" => has!("i8mm"),
            "jsconv" => has!("jsconv"),
            "complxnum" => has!("fcma"),
            _ => return None,
        })
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    pub(super) fn host_has(_feature: &str) -> Option<bool> {
        None
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn baseline_and_unknown_features() {
        assert_eq!(host_has("sse2"), Some(true));
        assert_eq!(host_has("no-such-feature"), None);
        assert_eq!(host_has("sahf"), Some(true), "every x86_64 CPU kiln runs on has LAHF/SAHF");
    }
}
