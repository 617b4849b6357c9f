//! AArch64 Linux: the auxiliary vector's `AT_HWCAP` and `AT_HWCAP2`, and
//! whether they satisfy a feature's [`Detection::Hwcap`].

use kiln_abi::cpu::{AT_HWCAP, Detection, Need};

/// What an AArch64 Linux host reports.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Report {
    /// `AT_HWCAP`.
    pub hwcap: u64,
    /// `AT_HWCAP2`.
    pub hwcap2: u64,
}

/// Whether a host that reports `report` has a feature that needs `need`.
pub(crate) fn has(need: &Need, report: &Report) -> bool {
    match need {
        Need::Baseline => true,
        Need::Detect(Detection::Hwcap(bits)) => bits.iter().all(|b| {
            let word = if b.entry == AT_HWCAP { report.hwcap } else { report.hwcap2 };
            word >> b.bit & 1 != 0
        }),
        _ => false,
    }
}

#[cfg(target_arch = "aarch64")]
impl Report {
    /// Reads this machine's auxiliary vector.
    pub(crate) fn read() -> Report {
        // SAFETY: `getauxval` has no preconditions; it returns 0 for an
        // entry the kernel did not pass.
        let (hwcap, hwcap2) = unsafe { (libc::getauxval(libc::AT_HWCAP), libc::getauxval(libc::AT_HWCAP2)) };
        Report { hwcap, hwcap2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::cpu;
    use target_lexicon::{Aarch64Architecture, Architecture};

    fn need(name: &str) -> Need {
        cpu::need(Architecture::Aarch64(Aarch64Architecture::Aarch64), name).unwrap()
    }

    #[test]
    fn hwcap_bits() {
        // FP, ASIMD, AES, PMULL, ATOMICS, SVE; BF16 in AT_HWCAP2.
        let report = Report { hwcap: 1 | 1 << 1 | 1 << 3 | 1 << 4 | 1 << 8 | 1 << 22, hwcap2: 1 << 14 };
        assert!(has(&need("neon"), &report) && has(&need("aes"), &report) && has(&need("lse"), &report));
        assert!(has(&need("sve"), &report) && has(&need("bf16"), &report));
        assert!(!has(&need("sve2"), &report) && !has(&need("sha2"), &report));
        // `aes` needs both AES and PMULL.
        let no_pmull = Report { hwcap: report.hwcap & !(1 << 4), ..report };
        assert!(!has(&need("aes"), &no_pmull));
        assert!(!has(&need("v8.2a"), &report), "an umbrella is not a detected feature");
    }
}
