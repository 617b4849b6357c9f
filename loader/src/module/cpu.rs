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
            other => return cpuid_feature(other),
        })
    }

    /// Features the standard library has no name for, read from CPUID:
    /// `(leaf, subleaf, register, bit)` per LLVM feature name. `--cpu
    /// native` records every feature of the host, these included.
    const CPUID_FEATURES: &[(&str, u32, u32, Reg, u32)] = &[
        ("fsgsbase", 7, 0, Reg::Ebx, 0),
        ("sgx", 7, 0, Reg::Ebx, 2),
        ("invpcid", 7, 0, Reg::Ebx, 10),
        ("clflushopt", 7, 0, Reg::Ebx, 23),
        ("clwb", 7, 0, Reg::Ebx, 24),
        ("prefetchwt1", 7, 0, Reg::Ecx, 0),
        ("pku", 7, 0, Reg::Ecx, 3),
        ("waitpkg", 7, 0, Reg::Ecx, 5),
        ("shstk", 7, 0, Reg::Ecx, 7),
        ("rdpid", 7, 0, Reg::Ecx, 22),
        ("kl", 7, 0, Reg::Ecx, 23),
        ("cldemote", 7, 0, Reg::Ecx, 25),
        ("movdiri", 7, 0, Reg::Ecx, 27),
        ("movdir64b", 7, 0, Reg::Ecx, 28),
        ("enqcmd", 7, 0, Reg::Ecx, 29),
        ("uintr", 7, 0, Reg::Edx, 5),
        ("avx512vp2intersect", 7, 0, Reg::Edx, 8),
        ("serialize", 7, 0, Reg::Edx, 14),
        ("tsxldtrk", 7, 0, Reg::Edx, 16),
        ("amx-bf16", 7, 0, Reg::Edx, 22),
        ("amx-tile", 7, 0, Reg::Edx, 24),
        ("amx-int8", 7, 0, Reg::Edx, 25),
        ("hreset", 7, 1, Reg::Eax, 22),
        ("prfchw", 0x8000_0001, 0, Reg::Ecx, 8),
        ("xop", 0x8000_0001, 0, Reg::Ecx, 11),
        ("lwp", 0x8000_0001, 0, Reg::Ecx, 15),
        ("fma4", 0x8000_0001, 0, Reg::Ecx, 16),
        ("mwaitx", 0x8000_0001, 0, Reg::Ecx, 29),
        ("clzero", 0x8000_0008, 0, Reg::Ebx, 0),
        ("rdpru", 0x8000_0008, 0, Reg::Ebx, 4),
        ("wbnoinvd", 0x8000_0008, 0, Reg::Ebx, 9),
    ];

    #[derive(Clone, Copy)]
    enum Reg {
        Eax,
        Ebx,
        Ecx,
        Edx,
    }

    fn cpuid_feature(feature: &str) -> Option<bool> {
        use std::arch::x86_64::{__cpuid, __cpuid_count};
        let &(_, leaf, subleaf, reg, bit) = CPUID_FEATURES.iter().find(|f| f.0 == feature)?;
        // A leaf above the highest one the CPU reports is not there at all.
        let max = __cpuid(leaf & 0x8000_0000).eax;
        if leaf > max || (leaf == 7 && subleaf > __cpuid_count(7, 0).eax) {
            return Some(false);
        }
        let r = __cpuid_count(leaf, subleaf);
        let value = match reg {
            Reg::Eax => r.eax,
            Reg::Ebx => r.ebx,
            Reg::Ecx => r.ecx,
            Reg::Edx => r.edx,
        };
        Some(value >> bit & 1 != 0)
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

    /// What `--cpu native` records is exactly what LLVM reports for this
    /// host, so every feature LLVM says the host has must be checkable
    /// and present (`/proc/cpuinfo` is a second, independent witness for
    /// the CPUID-only ones).
    #[test]
    fn cpuid_only_features_agree_with_proc_cpuinfo() {
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else { return };
        let flags: Vec<&str> = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .map(|l| l.split_whitespace().skip(2).collect())
            .unwrap_or_default();
        for (llvm, linux) in [
            // Flags the kernel reports as CPUID does (no boot option
            // hides them).
            ("prfchw", "3dnowprefetch"),
            ("clflushopt", "clflushopt"),
            ("clwb", "clwb"),
            ("rdpid", "rdpid"),
            ("clzero", "clzero"),
            ("movdiri", "movdiri"),
        ] {
            assert_eq!(host_has(llvm), Some(flags.contains(&linux)), "{llvm} vs /proc/cpuinfo's {linux}");
        }
    }
}
