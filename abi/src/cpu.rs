//! What each CPU feature an artifact may require asks of the host that
//! runs it.
//!
//! An artifact records the LLVM feature names its code may use (the
//! closure of its CPU and `--features`, less what every host of the target
//! has). The loader must decide, for each name, whether this host has it.
//! LLVM's feature lists mix very different things under one kind of name:
//! instruction set extensions (`avx2`, `sve`, `zba`), umbrellas that stand
//! for others (`v8.2a`, `rva22u64`, `crypto`), tuning hints (`fast-lzcnt`,
//! `fuse-aes`), code generation options (`retpoline`, `reserve-x18`),
//! pseudo features (`evex512`) and system extensions only a kernel uses
//! (`vh`, `svinval`). This module classifies every name LLVM 19 knows for
//! each architecture kiln targets, as data, so it is the same on every
//! host and can be tested anywhere (a test in the compiler checks that
//! the tables name exactly LLVM's features, and that every CPU LLVM knows
//! implies only features classified here):
//!
//! * [`Need::Baseline`]: every host of the architecture has it;
//! * [`Need::Detect`]: the host must have it, and [`Detection`] says how
//!   the loader finds out (CPUID bits and the register state the OS must
//!   have enabled on x86; the auxiliary vector's `AT_HWCAP`/`AT_HWCAP2`
//!   bits on AArch64 Linux; `riscv_hwprobe` on RISC-V Linux);
//! * [`Need::Undetectable`]: the host must have it and Linux offers no way
//!   to tell (vendor extensions, mostly): an artifact that requires it is
//!   refused;
//! * [`Need::NotRequired`]: not something code needs of the hardware, for
//!   the [`Reason`] given; the compiler does not record it and the loader
//!   ignores it.
//!
//! Detection follows what LLVM's own host detection (`-mcpu=native`)
//! tests, so that what LLVM finds on a host is what the loader finds
//! there, and is stricter where the operating system must also enable a
//! feature (AVX-512 and AMX state in XCR0, FSGSBASE, APX): a feature the
//! OS has not enabled would fault at its first instruction, so it counts
//! as absent.

use target_lexicon::Architecture;

mod aarch64;
mod riscv64;
mod x86_64;

/// What a CPU feature asks of the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Every host of the architecture has it.
    Baseline,
    /// The host must have it; the loader detects it as described.
    Detect(Detection),
    /// The host must have it, and the loader has no way to detect it on
    /// Linux: an artifact that requires it is refused.
    Undetectable,
    /// Not a requirement on the host.
    NotRequired(Reason),
}

/// How the loader tells whether a host has a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// x86: every listed CPUID bit is set, and the OS has enabled what the
    /// instructions need.
    Cpuid(&'static [CpuidBit], OsSupport),
    /// AArch64 Linux: every listed bit of the auxiliary vector is set.
    Hwcap(&'static [HwcapBit]),
    /// RISC-V Linux: every listed bit of `riscv_hwprobe`'s
    /// `RISCV_HWPROBE_KEY_IMA_EXT_0` value is set.
    Hwprobe(&'static [u8]),
    /// RISC-V: the vector registers hold at least this many bits (`vlenb`
    /// times 8, with a vector extension present).
    VectorLength(u32),
    /// RISC-V: misaligned scalar (or vector) accesses work, as
    /// `riscv_hwprobe` reports them (emulated counts for scalar ones).
    MisalignedAccess {
        /// Vector rather than scalar accesses.
        vector: bool,
    },
}

/// One CPUID output bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuidBit {
    /// The leaf (`EAX` input).
    pub leaf: u32,
    /// The subleaf (`ECX` input).
    pub subleaf: u32,
    /// The output register.
    pub reg: CpuidReg,
    /// The bit in it.
    pub bit: u8,
}

/// A CPUID output register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuidReg {
    /// `EAX`
    Eax,
    /// `EBX`
    Ebx,
    /// `ECX`
    Ecx,
    /// `EDX`
    Edx,
}

/// What an x86 operating system must have enabled besides the CPUID bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsSupport {
    /// Nothing beyond the CPUID bits.
    Nothing,
    /// `OSXSAVE`, the `AVX` CPUID bit and the SSE and AVX state in XCR0
    /// (bits 1 and 2): what LLVM requires of every VEX-encoded feature.
    Avx,
    /// [`OsSupport::Avx`] plus the opmask and ZMM state in XCR0 (bits 5 to
    /// 7).
    Avx512,
    /// `OSXSAVE` and the AMX tile state in XCR0 (bits 17 and 18).
    Amx,
    /// `OSXSAVE` and the APX extended register state in XCR0 (bit 19).
    Apx,
    /// Linux allows `RDFSBASE` and friends in user mode
    /// (`HWCAP2_FSGSBASE` in `AT_HWCAP2`).
    FsGsBase,
}

/// One bit of the Linux auxiliary vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwcapBit {
    /// `AT_HWCAP` (16) or `AT_HWCAP2` (26).
    pub entry: u8,
    /// The bit in it.
    pub bit: u8,
}

/// `AT_HWCAP`.
pub const AT_HWCAP: u8 = 16;
/// `AT_HWCAP2`.
pub const AT_HWCAP2: u8 = 26;

/// Why a feature is not a requirement on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Tunes instruction choice or scheduling for some CPUs; any CPU runs
    /// the code.
    Tuning,
    /// Tells the compiler an instruction is fast; the instruction itself
    /// works on every CPU of the architecture (`ermsb`: `REP MOVSB`).
    Performance,
    /// An option of code generation (a register reserved, a hardening, an
    /// ABI detail), not a property of the CPU.
    CodeGeneration,
    /// A switch inside LLVM with no hardware of its own (`evex512` marks
    /// the 512-bit forms of AVX-512, which every host with AVX-512 has).
    Pseudo,
    /// An architecture version, profile or group that stands for the
    /// features it implies; those are recorded and checked one by one.
    Umbrella,
    /// Instructions and registers of the kernel, hypervisor, firmware,
    /// trace or profiling units: code generated for a wasm module never
    /// contains them.
    System,
    /// Reachable only through target intrinsics or assembly, which code
    /// generated for a wasm module never uses.
    IntrinsicsOnly,
    /// Its instructions are hints: hosts without the feature execute them
    /// as no-ops.
    Hint,
    /// A property of the platform's memory system or caches that Linux
    /// provides and code generation does not rely on.
    Platform,
    /// A guarantee about execution timing, not instructions.
    Timing,
}

/// A feature and what it needs, as the tables list them.
pub type Feature = (&'static str, Need);

/// Every feature name LLVM 19 knows for `arch`, sorted, with what it needs
/// of a host; `None` for architectures kiln does not target.
pub fn features(arch: Architecture) -> Option<&'static [Feature]> {
    match arch {
        Architecture::X86_64 => Some(x86_64::FEATURES),
        Architecture::Aarch64(_) => Some(aarch64::FEATURES),
        Architecture::Riscv64(_) => Some(riscv64::FEATURES),
        _ => None,
    }
}

/// What feature `name` needs of a host of `arch`, if the tables know it.
pub fn need(arch: Architecture, name: &str) -> Option<Need> {
    let table = features(arch)?;
    table.binary_search_by(|(n, _)| (*n).cmp(name)).ok().map(|i| table[i].1)
}

/// Whether code that uses `name` can only run on a host that has it (the
/// compiler records exactly these).
pub fn is_requirement(arch: Architecture, name: &str) -> bool {
    !matches!(need(arch, name), Some(Need::Baseline | Need::NotRequired(_)))
}

/// The CPU every host of `arch` is at least: its features are not
/// recorded as requirements.
pub fn baseline_cpu(arch: Architecture) -> Option<&'static str> {
    match arch {
        Architecture::X86_64 => Some("x86-64"),
        Architecture::Aarch64(_) => Some("generic"),
        Architecture::Riscv64(_) => Some("generic-rv64"),
        _ => None,
    }
}

const fn cpuid_bit(leaf: u32, subleaf: u32, reg: CpuidReg, bit: u8) -> CpuidBit {
    CpuidBit { leaf, subleaf, reg, bit }
}

const fn hwcap(entry: u8, bit: u8) -> HwcapBit {
    HwcapBit { entry, bit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use target_lexicon::{Aarch64Architecture, Riscv64Architecture};

    const ARCHES: [Architecture; 3] = [
        Architecture::X86_64,
        Architecture::Aarch64(Aarch64Architecture::Aarch64),
        Architecture::Riscv64(Riscv64Architecture::Riscv64gc),
    ];

    /// Lookups are binary searches.
    #[test]
    fn tables_are_sorted_without_duplicates() {
        for arch in ARCHES {
            let table = features(arch).unwrap();
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0), "{arch}: not strictly sorted");
        }
    }

    #[test]
    fn lookups() {
        let x86 = Architecture::X86_64;
        assert_eq!(need(x86, "sse2"), Some(Need::Baseline));
        assert_eq!(need(x86, "evex512"), Some(Need::NotRequired(Reason::Pseudo)));
        assert!(matches!(need(x86, "avx512f"), Some(Need::Detect(Detection::Cpuid(_, OsSupport::Avx512)))));
        assert_eq!(need(x86, "no-such-feature"), None);
        assert!(is_requirement(x86, "avx2") && !is_requirement(x86, "fast-lzcnt") && !is_requirement(x86, "cmov"));
        let arm = ARCHES[1];
        assert_eq!(need(arm, "v8.2a"), Some(Need::NotRequired(Reason::Umbrella)));
        assert!(matches!(need(arm, "sve"), Some(Need::Detect(Detection::Hwcap(_)))));
        let rv = ARCHES[2];
        assert_eq!(need(rv, "xventanacondops"), Some(Need::Undetectable));
        assert_eq!(need(rv, "zvl256b"), Some(Need::Detect(Detection::VectorLength(256))));
    }

    /// A feature that needs the OS's help on x86 lists a CPUID bit too.
    #[test]
    fn every_detection_names_bits() {
        for arch in ARCHES {
            for (name, need) in features(arch).unwrap() {
                match need {
                    Need::Detect(Detection::Cpuid(bits, _)) => assert!(!bits.is_empty(), "{name}"),
                    Need::Detect(Detection::Hwcap(bits)) => {
                        assert!(!bits.is_empty() && bits.iter().all(|b| b.entry == AT_HWCAP || b.entry == AT_HWCAP2))
                    }
                    Need::Detect(Detection::Hwprobe(bits)) => assert!(!bits.is_empty() && bits.iter().all(|&b| b < 64)),
                    _ => {}
                }
            }
        }
    }
}
