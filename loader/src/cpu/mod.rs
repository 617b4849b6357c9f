//! Which CPU features a host has, by their LLVM names, and whether an
//! artifact's requirements fit a host.
//!
//! What each feature name asks of a host, and how it is detected, is data
//! in [`kiln_abi::cpu`]. A [`HostCpu`] is the set of features a host has:
//! [`HostCpu::current`] evaluates the table of this machine's architecture
//! against the real machine once (CPUID and XCR0 on x86-64, the auxiliary
//! vector on AArch64 Linux, `riscv_hwprobe` on RISC-V Linux);
//! [`HostCpu::with_features`] describes any other host, so the check can
//! be tried against hosts this machine is not. The evaluation itself is a
//! pure function of what the hardware and OS report (see `x86_64`,
//! `aarch64`, `riscv64`), tested with simulated reports on every host.

// Each evaluator is compiled and tested on every host; only the one of
// this machine's architecture reads the real machine.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
mod aarch64;
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod riscv64;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
mod x86_64;

use crate::module::LoadErrorKind;
use kiln_abi::cpu::{self, Need};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use target_lexicon::Architecture;

/// The CPU features a host has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostCpu {
    arch: Architecture,
    features: BTreeSet<&'static str>,
}

impl HostCpu {
    /// This machine, detected once per process.
    pub fn current() -> &'static HostCpu {
        static CURRENT: OnceLock<HostCpu> = OnceLock::new();
        CURRENT.get_or_init(detect_current)
    }

    /// A host of `arch` that has exactly `features` (LLVM names) besides
    /// the architecture's baseline. Names the tables do not know for
    /// `arch` are ignored.
    pub fn with_features<'a>(arch: Architecture, features: impl IntoIterator<Item = &'a str>) -> HostCpu {
        let table = cpu::features(arch).unwrap_or(&[]);
        let wanted: BTreeSet<&str> = features.into_iter().collect();
        let features = table
            .iter()
            .filter(|(name, need)| *need == Need::Baseline || wanted.contains(name))
            .map(|(n, _)| *n)
            .collect();
        HostCpu { arch, features }
    }

    /// The host's architecture.
    pub fn architecture(&self) -> Architecture {
        self.arch
    }

    /// Whether it has feature `name`.
    pub fn has(&self, name: &str) -> bool {
        self.features.contains(name)
    }

    /// The features it has, sorted.
    pub fn features(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.features.iter().copied()
    }

    /// Checks that this host can run code requiring `required` (LLVM
    /// names, as an artifact records them): names every missing feature,
    /// or the first one the loader cannot check. Features that are not
    /// hardware requirements (tuning, umbrellas, pseudo features such as
    /// `evex512`) never block.
    pub fn check<'a>(&self, required: impl IntoIterator<Item = &'a str>) -> Result<(), LoadErrorKind> {
        let mut missing: Vec<String> = Vec::new();
        for feature in required {
            // A signed name may come from a feature string; `-x` requires
            // nothing.
            if feature.starts_with('-') {
                continue;
            }
            let feature = feature.trim_start_matches('+');
            match cpu::need(self.arch, feature) {
                Some(Need::Baseline | Need::NotRequired(_)) => {}
                Some(Need::Detect(_)) if self.has(feature) => {}
                Some(Need::Detect(_)) => {
                    if !missing.iter().any(|m| m == feature) {
                        missing.push(feature.to_string());
                    }
                }
                Some(Need::Undetectable) | None => {
                    return Err(LoadErrorKind::UnverifiableCpuFeature(feature.to_string()));
                }
            }
        }
        if missing.is_empty() { Ok(()) } else { Err(LoadErrorKind::MissingCpuFeatures(missing)) }
    }
}

/// Evaluates the table of this machine's architecture.
fn detect_current() -> HostCpu {
    let arch = target_lexicon::Triple::host().architecture;
    let table = cpu::features(arch).unwrap_or(&[]);
    #[cfg(target_arch = "x86_64")]
    let has = {
        let report = x86_64::Report::read();
        move |need: &Need| x86_64::has(need, &report)
    };
    #[cfg(target_arch = "aarch64")]
    let has = {
        let report = aarch64::Report::read();
        move |need: &Need| aarch64::has(need, &report)
    };
    #[cfg(target_arch = "riscv64")]
    let has = {
        let report = riscv64::Report::read();
        move |need: &Need| riscv64::has(need, &report)
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
    let has = |need: &Need| *need == Need::Baseline;
    HostCpu { arch, features: table.iter().filter(|(_, need)| has(need)).map(|(name, _)| *name).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use target_lexicon::{Aarch64Architecture, Riscv64Architecture};

    const ARM: Architecture = Architecture::Aarch64(Aarch64Architecture::Aarch64);

    #[test]
    fn requirements_are_checked_and_named() {
        let host = HostCpu::with_features(Architecture::X86_64, ["sse4.2", "avx2"]);
        assert!(host.check(["sse2", "+sse4.2", "-avx512f", "avx2", "evex512", "fast-lzcnt", "v8.2a"]).is_err());
        assert!(host.check(["sse2", "+sse4.2", "-avx512f", "avx2", "evex512", "fast-lzcnt", "retpoline"]).is_ok());
        match host.check(["avx512f", "avx2", "avx512bw", "avx512f"]) {
            Err(LoadErrorKind::MissingCpuFeatures(m)) => assert_eq!(m, ["avx512f", "avx512bw"]),
            other => panic!("{other:?}"),
        }
        match host.check(["avx2", "warp-drive"]) {
            Err(LoadErrorKind::UnverifiableCpuFeature(f)) => assert_eq!(f, "warp-drive"),
            other => panic!("{other:?}"),
        }
        let rv = HostCpu::with_features(Architecture::Riscv64(Riscv64Architecture::Riscv64gc), ["v", "zba"]);
        assert!(rv.check(["zba", "v", "zihintpause", "rva22u64"]).is_ok());
        assert!(matches!(rv.check(["xventanacondops"]), Err(LoadErrorKind::UnverifiableCpuFeature(_))));
    }

    /// An AArch64 host with and without SVE; architecture versions stand
    /// for their parts.
    #[test]
    fn aarch64_hosts() {
        let neoverse_n1 = ["crc", "lse", "rdm", "fullfp16", "dotprod", "rcpc", "ssbs", "aes", "sha2", "ccpp"];
        let sve_host = HostCpu::with_features(ARM, neoverse_n1.into_iter().chain(["sve"]));
        let plain = HostCpu::with_features(ARM, neoverse_n1);
        let artifact = ["v8.2a", "crc", "lse", "sve", "ras", "pan", "fuse-aes"];
        assert!(sve_host.check(artifact).is_ok());
        match plain.check(artifact) {
            Err(LoadErrorKind::MissingCpuFeatures(m)) => assert_eq!(m, ["sve"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn baseline_is_always_there() {
        let host = HostCpu::with_features(Architecture::X86_64, []);
        assert!(host.has("sse2") && host.has("cmov") && !host.has("avx"));
        assert!(host.check(["sse2", "x87", "64bit"]).is_ok());
    }

    /// The real host has its architecture's baseline.
    #[test]
    fn current_host_has_its_baseline() {
        let host = HostCpu::current();
        assert_eq!(host.architecture(), target_lexicon::Triple::host().architecture);
        let table = cpu::features(host.architecture()).unwrap();
        for (name, need) in table {
            if *need == Need::Baseline {
                assert!(host.has(name), "{name}");
            }
        }
    }
}
