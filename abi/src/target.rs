//! Target triples and the CPU features an artifact requires.
//!
//! kiln spells targets the way Rust does (`x86_64-unknown-linux-gnu`), which
//! is what `cargo` passes to build scripts in `TARGET`. LLVM's spelling
//! differs for some architectures (`riscv64gc` is `riscv64` to LLVM), so
//! the compiler asks [`Target::llvm_triple`].

use crate::vmoffsets::PtrSize;
use std::fmt;
use std::str::FromStr;
use target_lexicon::{Architecture, BinaryFormat, OperatingSystem, Triple};

/// Targets kiln can compile for and link, with their default CPU.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("x86_64-unknown-linux-gnu", "x86-64-v2"),
    ("aarch64-unknown-linux-gnu", "generic"),
];

/// A target kiln compiles for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    triple: Triple,
}

/// A target triple kiln cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// Not a triple at all.
    #[error("`{triple}` is not a target triple ({reason})")]
    Malformed {
        /// What was given.
        triple: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A triple kiln does not support.
    #[error("target `{triple}` is not supported; supported targets: {}", supported_list())]
    Unsupported {
        /// What was given.
        triple: String,
    },
}

fn supported_list() -> String {
    SUPPORTED.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
}

impl Target {
    /// The machine this code runs on.
    pub fn host() -> Target {
        Target { triple: Triple::host() }
    }

    /// Parses a triple and checks that kiln supports it.
    pub fn parse(triple: &str) -> Result<Target, TargetError> {
        let parsed = Triple::from_str(triple)
            .map_err(|e| TargetError::Malformed { triple: triple.to_string(), reason: e.to_string() })?;
        let target = Target { triple: parsed };
        if !SUPPORTED.iter().any(|(t, _)| *t == target.name()) {
            return Err(TargetError::Unsupported { triple: triple.to_string() });
        }
        Ok(target)
    }

    /// The normalized Rust-style name, as recorded in artifacts.
    pub fn name(&self) -> String {
        self.triple.to_string()
    }

    /// The triple as LLVM spells it.
    pub fn llvm_triple(&self) -> String {
        match self.triple.architecture {
            Architecture::Riscv64(_) => self.name().replacen("riscv64gc", "riscv64", 1),
            _ => self.name(),
        }
    }

    /// The underlying parsed triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }

    /// Pointer size of the target.
    pub fn pointer_size(&self) -> PtrSize {
        let bytes = self.triple.pointer_width().map(|w| w.bytes()).unwrap_or(8);
        PtrSize::new(bytes).expect("kiln only supports 32- and 64-bit targets")
    }

    /// The CPU kiln generates code for unless told otherwise.
    pub fn default_cpu(&self) -> &'static str {
        let name = self.name();
        SUPPORTED.iter().find(|(t, _)| *t == name).map(|(_, cpu)| *cpu).unwrap_or("generic")
    }

    /// The object file format of the target.
    pub fn binary_format(&self) -> BinaryFormat {
        self.triple.binary_format
    }

    /// Whether the target's OS is Linux.
    pub fn is_linux(&self) -> bool {
        self.triple.operating_system == OperatingSystem::Linux
    }

    /// The target's architecture.
    pub fn architecture(&self) -> Architecture {
        self.triple.architecture
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.triple)
    }
}

const X86_64_V2: &[&str] = &["cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3"];
const X86_64_V3: &[&str] = &[
    "cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3", "avx", "avx2", "bmi", "bmi2", "f16c",
    "fma", "lzcnt", "movbe", "xsave",
];
const X86_64_V4: &[&str] = &[
    "cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3", "avx", "avx2", "bmi", "bmi2", "f16c",
    "fma", "lzcnt", "movbe", "xsave", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl",
];

/// Features (LLVM names) beyond the architecture's baseline that a named CPU
/// implies and that a host must have to run code built for it, for the CPU
/// names whose feature sets kiln knows. `None` for other names.
pub fn cpu_required_features(arch: Architecture, cpu: &str) -> Option<&'static [&'static str]> {
    match (arch, cpu) {
        (Architecture::X86_64, "x86-64" | "generic") => Some(&[]),
        (Architecture::X86_64, "x86-64-v2") => Some(X86_64_V2),
        (Architecture::X86_64, "x86-64-v3") => Some(X86_64_V3),
        (Architecture::X86_64, "x86-64-v4") => Some(X86_64_V4),
        (Architecture::Aarch64(_), "generic") => Some(&[]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_targets_parse_and_round_trip() {
        for (name, cpu) in SUPPORTED {
            let t = Target::parse(name).unwrap();
            assert_eq!(t.name(), *name);
            assert_eq!(t.default_cpu(), *cpu);
            assert_eq!(t.pointer_size(), PtrSize::new(8).unwrap());
            assert!(cpu_required_features(t.architecture(), cpu).is_some());
        }
    }

    #[test]
    fn unknown_targets_are_refused_by_name() {
        let e = Target::parse("mips-unknown-linux-gnu").unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
        assert!(e.to_string().contains("x86_64-unknown-linux-gnu"), "{e}");
        assert!(matches!(Target::parse("not a triple"), Err(TargetError::Malformed { .. })));
    }
}
