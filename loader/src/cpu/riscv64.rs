//! RISC-V Linux: what `riscv_hwprobe` and the `vlenb` register report, and
//! whether that satisfies a feature's detection.

use kiln_abi::cpu::{Detection, Need};

/// What a RISC-V Linux host reports.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Report {
    /// `RISCV_HWPROBE_KEY_IMA_EXT_0`.
    pub ext0: u64,
    /// Vector register length in bits, when a vector extension is there.
    pub vlen: Option<u32>,
    /// `RISCV_HWPROBE_KEY_MISALIGNED_SCALAR_PERF`, when the kernel knows
    /// the key.
    pub misaligned_scalar: Option<u64>,
    /// `RISCV_HWPROBE_KEY_MISALIGNED_VECTOR_PERF`, likewise.
    pub misaligned_vector: Option<u64>,
}

/// `RISCV_HWPROBE_MISALIGNED_*_UNSUPPORTED`.
const MISALIGNED_UNSUPPORTED: u64 = 4;
/// `RISCV_HWPROBE_MISALIGNED_VECTOR_SLOW` and `_FAST`.
const MISALIGNED_VECTOR_WORKS: [u64; 2] = [2, 3];

/// Whether a host that reports `report` has a feature that needs `need`.
pub(crate) fn has(need: &Need, report: &Report) -> bool {
    match need {
        Need::Baseline => true,
        Need::Detect(Detection::Hwprobe(bits)) => bits.iter().all(|&b| report.ext0 >> b & 1 != 0),
        Need::Detect(Detection::VectorLength(bits)) => report.vlen.is_some_and(|v| v >= *bits),
        // Linux emulates misaligned scalar accesses the hardware lacks
        // (and did so before it could report it); vector ones only work
        // where it says so.
        Need::Detect(Detection::MisalignedAccess { vector: false }) => {
            report.misaligned_scalar != Some(MISALIGNED_UNSUPPORTED)
        }
        Need::Detect(Detection::MisalignedAccess { vector: true }) => {
            report.misaligned_vector.is_some_and(|v| MISALIGNED_VECTOR_WORKS.contains(&v))
        }
        _ => false,
    }
}

#[cfg(target_arch = "riscv64")]
impl Report {
    /// Asks this machine's kernel.
    pub(crate) fn read() -> Report {
        #[repr(C)]
        struct Pair {
            key: i64,
            value: u64,
        }
        const IMA_EXT_0: i64 = 4;
        const MISALIGNED_SCALAR_PERF: i64 = 9;
        const MISALIGNED_VECTOR_PERF: i64 = 10;
        const NR_RISCV_HWPROBE: libc::c_long = 258;
        let mut pairs = [IMA_EXT_0, MISALIGNED_SCALAR_PERF, MISALIGNED_VECTOR_PERF].map(|key| Pair { key, value: 0 });
        // SAFETY: the kernel writes only into the `pairs.len()` pairs given
        // (a key it does not know becomes -1); no CPU set is passed.
        let status = unsafe { libc::syscall(NR_RISCV_HWPROBE, pairs.as_mut_ptr(), pairs.len(), 0usize, 0usize, 0u32) };
        if status != 0 {
            return Report::default();
        }
        let value = |p: &Pair| (p.key != -1).then_some(p.value);
        let ext0 = value(&pairs[0]).unwrap_or(0);
        // V (bit 2) or any of Zve32x..Zve64d (bits 37 to 41).
        let vector = ext0 & (1 << 2 | 0b11111 << 37) != 0;
        let vlen = vector.then(|| {
            let vlenb: usize;
            // SAFETY: reading the `vlenb` CSR (0xc22) has no side effects
            // and is allowed in user mode when a vector extension is there.
            unsafe { std::arch::asm!("csrr {0}, 0xc22", out(reg) vlenb, options(nomem, nostack)) };
            u32::try_from(vlenb * 8).unwrap_or(u32::MAX)
        });
        Report { ext0, vlen, misaligned_scalar: value(&pairs[1]), misaligned_vector: value(&pairs[2]) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::cpu;
    use target_lexicon::{Architecture, Riscv64Architecture};

    fn need(name: &str) -> Need {
        cpu::need(Architecture::Riscv64(Riscv64Architecture::Riscv64gc), name).unwrap()
    }

    #[test]
    fn hwprobe_bits_and_vector_length() {
        // V, Zba, Zbb.
        let report = Report { ext0: 1 << 2 | 1 << 3 | 1 << 4, vlen: Some(256), ..Report::default() };
        assert!(has(&need("v"), &report) && has(&need("zba"), &report) && !has(&need("zbs"), &report));
        assert!(has(&need("zvl128b"), &report) && has(&need("zvl256b"), &report) && !has(&need("zvl512b"), &report));
        assert!(has(&need("unaligned-scalar-mem"), &report) && !has(&need("unaligned-vector-mem"), &report));
        let strict = Report { misaligned_scalar: Some(4), misaligned_vector: Some(3), ..report };
        assert!(!has(&need("unaligned-scalar-mem"), &strict) && has(&need("unaligned-vector-mem"), &strict));
        assert!(!has(&need("xventanacondops"), &report));
    }
}
