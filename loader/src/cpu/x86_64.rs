//! x86-64: what CPUID, XCR0 and Linux's `AT_HWCAP2` report, and whether
//! that satisfies a feature's [`Detection::Cpuid`].

use kiln_abi::cpu::{CpuidBit, CpuidReg, Detection, Need, OsSupport};
use std::collections::BTreeMap;

/// What an x86-64 host reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    /// CPUID output (`EAX`, `EBX`, `ECX`, `EDX`) per `(leaf, subleaf)`,
    /// for the leaves the CPU implements; a missing leaf reads as zeros.
    pub leaves: BTreeMap<(u32, u32), [u32; 4]>,
    /// XCR0, when the OS has enabled `XGETBV` (`OSXSAVE`).
    pub xcr0: Option<u64>,
    /// Linux's `AT_HWCAP2`.
    pub hwcap2: u64,
}

/// `HWCAP2_FSGSBASE` in Linux's x86 `AT_HWCAP2`.
const HWCAP2_FSGSBASE: u64 = 1 << 1;

impl Report {
    fn bit(&self, b: &CpuidBit) -> bool {
        let regs = self.leaves.get(&(b.leaf, b.subleaf)).copied().unwrap_or_default();
        let value = match b.reg {
            CpuidReg::Eax => regs[0],
            CpuidReg::Ebx => regs[1],
            CpuidReg::Ecx => regs[2],
            CpuidReg::Edx => regs[3],
        };
        value >> b.bit & 1 != 0
    }

    fn xcr0_has(&self, mask: u64) -> bool {
        self.xcr0.is_some_and(|x| x & mask == mask)
    }

    fn os(&self, os: OsSupport) -> bool {
        let avx = self.bit(&CpuidBit { leaf: 1, subleaf: 0, reg: CpuidReg::Ecx, bit: 28 }) && self.xcr0_has(0b110);
        match os {
            OsSupport::Nothing => true,
            OsSupport::Avx => avx,
            OsSupport::Avx512 => avx && self.xcr0_has(0b1110_0000),
            OsSupport::Amx => self.xcr0_has(0b11 << 17),
            OsSupport::Apx => self.xcr0_has(1 << 19),
            OsSupport::FsGsBase => self.hwcap2 & HWCAP2_FSGSBASE != 0,
        }
    }
}

/// Whether a host that reports `report` has a feature that needs `need`.
pub(crate) fn has(need: &Need, report: &Report) -> bool {
    match need {
        Need::Baseline => true,
        Need::Detect(Detection::Cpuid(bits, os)) => bits.iter().all(|b| report.bit(b)) && report.os(*os),
        _ => false,
    }
}

#[cfg(target_arch = "x86_64")]
impl Report {
    /// Reads this machine: every CPUID leaf the tables use that the CPU
    /// implements, XCR0 and `AT_HWCAP2`.
    pub(crate) fn read() -> Report {
        use std::arch::x86_64::__cpuid_count;
        let query = |leaf: u32, subleaf: u32| {
            let r = __cpuid_count(leaf, subleaf);
            [r.eax, r.ebx, r.ecx, r.edx]
        };
        let max_basic = query(0, 0)[0];
        let max_extended = query(0x8000_0000, 0)[0];
        let max_leaf7 = if max_basic >= 7 { query(7, 0)[0] } else { 0 };
        let implemented = |leaf: u32, subleaf: u32| {
            let max = if leaf >= 0x8000_0000 { max_extended } else { max_basic };
            leaf <= max && (leaf != 7 || subleaf <= max_leaf7)
        };
        let mut report = Report::default();
        let table = kiln_abi::cpu::features(target_lexicon::Architecture::X86_64).unwrap_or(&[]);
        let wanted = table.iter().filter_map(|(_, need)| match need {
            Need::Detect(Detection::Cpuid(bits, _)) => Some(*bits),
            _ => None,
        });
        for b in wanted.flatten().chain(&[CpuidBit { leaf: 1, subleaf: 0, reg: CpuidReg::Ecx, bit: 27 }]) {
            if implemented(b.leaf, b.subleaf) {
                report.leaves.entry((b.leaf, b.subleaf)).or_insert_with(|| query(b.leaf, b.subleaf));
            }
        }
        let osxsave = report.bit(&CpuidBit { leaf: 1, subleaf: 0, reg: CpuidReg::Ecx, bit: 27 });
        // SAFETY: `OSXSAVE` says the OS has enabled `XGETBV`, and XCR0 is
        // always readable then.
        report.xcr0 = osxsave.then(|| unsafe { read_xcr0() });
        // SAFETY: `getauxval` has no preconditions; it returns 0 for an
        // entry the kernel did not pass.
        report.hwcap2 = unsafe { libc::getauxval(libc::AT_HWCAP2) };
        report
    }
}

/// XCR0.
///
/// # Safety
/// The OS must have enabled `XGETBV` (CPUID `OSXSAVE`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "xsave")]
unsafe fn read_xcr0() -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { std::arch::x86_64::_xgetbv(0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::cpu;
    use target_lexicon::Architecture;

    fn need(name: &str) -> Need {
        cpu::need(Architecture::X86_64, name).unwrap()
    }

    /// A CPU with AVX-512 whose OS saves only the AVX state: AVX-512 code
    /// would fault, so AVX-512 counts as absent while AVX2 is there.
    #[test]
    fn avx512_needs_the_os_to_save_its_state() {
        let mut report = Report::default();
        report.leaves.insert((1, 0), [0, 0, 1 << 28 | 1 << 27 | 1 << 20, 0]);
        report.leaves.insert((7, 0), [0, 1 << 16 | 1 << 5 | 1 << 30, 0, 0]);
        report.xcr0 = Some(0b111);
        assert!(has(&need("avx2"), &report) && has(&need("sse4.2"), &report));
        assert!(!has(&need("avx512f"), &report) && !has(&need("avx512bw"), &report));
        report.xcr0 = Some(0b1110_0111);
        assert!(has(&need("avx512f"), &report) && has(&need("avx512bw"), &report));
        assert!(!has(&need("avx512vl"), &report));
        // Without OSXSAVE nothing VEX-encoded may run.
        report.xcr0 = None;
        assert!(!has(&need("avx"), &report) && !has(&need("avx2"), &report) && has(&need("sse4.2"), &report));
    }

    #[test]
    fn amx_apx_and_fsgsbase_need_the_os_too() {
        let mut report = Report::default();
        report.leaves.insert((7, 0), [1, 1, 0, 1 << 24]);
        report.leaves.insert((7, 1), [0, 0, 0, 1 << 21]);
        report.xcr0 = Some(0b111);
        assert!(!has(&need("amx-tile"), &report) && !has(&need("egpr"), &report) && !has(&need("fsgsbase"), &report));
        report.xcr0 = Some(0b111 | 0b11 << 17 | 1 << 19);
        report.hwcap2 = HWCAP2_FSGSBASE;
        assert!(has(&need("amx-tile"), &report) && has(&need("egpr"), &report) && has(&need("fsgsbase"), &report));
    }

    #[test]
    fn avx10_512_needs_both_bits() {
        let mut report = Report::default();
        report.leaves.insert((1, 0), [0, 0, 1 << 28 | 1 << 27, 0]);
        report.leaves.insert((7, 1), [0, 0, 0, 1 << 19]);
        report.xcr0 = Some(0b1110_0111);
        assert!(has(&need("avx10.1-256"), &report) && !has(&need("avx10.1-512"), &report));
        report.leaves.insert((0x24, 0), [0, 1 << 18, 0, 0]);
        assert!(has(&need("avx10.1-512"), &report));
    }
}
