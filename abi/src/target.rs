//! Target triples.
//!
//! kiln spells targets the way Rust does (`x86_64-unknown-linux-gnu`), which
//! is what `cargo` passes to build scripts in `TARGET`. LLVM's spelling
//! differs for some architectures (`riscv64gc` is `riscv64` to LLVM, macOS
//! is `macosx` with a minimum version), so the compiler asks
//! [`Target::llvm_triple`].
//!
//! Every supported target is 64-bit and little-endian; what differs is the
//! object format (ELF, Mach-O, PE/COFF), the C calling convention (System
//! V, AAPCS64, RISC-V LP64D, Win64), which LLVM applies from the triple,
//! and whether a C library is there to resolve `memcpy` and friends
//! ([`crate::symbols::allowed_undefined`]).

use crate::vmoffsets::PtrSize;
use std::fmt;
use std::str::FromStr;
use target_lexicon::{Architecture, BinaryFormat, OperatingSystem, Triple};

/// Targets kiln can compile for and link, with their default CPU.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("x86_64-unknown-linux-gnu", "x86-64-v2"),
    ("aarch64-unknown-linux-gnu", "generic"),
    ("riscv64gc-unknown-linux-gnu", "generic-rv64"),
    ("x86_64-apple-darwin", "x86-64-v2"),
    ("aarch64-apple-darwin", "generic"),
    ("x86_64-pc-windows-msvc", "x86-64-v2"),
];

/// The oldest macOS a kiln dylib runs on: the first release for Apple
/// silicon, recorded in the dylib's build version.
pub const MACOS_MIN_VERSION: &str = "11.0";

/// A target kiln compiles for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    triple: Triple,
}

/// A target triple kiln cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// Not a triple at all.
    #[error("`{triple}` is not a target triple ({reason}); {}", suggest_target(triple))]
    Malformed {
        /// What was given.
        triple: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A triple kiln does not support.
    #[error("target `{triple}` is not supported; {}", suggest_target(triple))]
    Unsupported {
        /// What was given.
        triple: String,
    },
}

/// A close supported target, if any, and the list of all of them.
fn suggest_target(triple: &str) -> String {
    let names = || SUPPORTED.iter().map(|(t, _)| *t);
    format!("{}supported targets: {}", did_you_mean(triple, names()), names().collect::<Vec<_>>().join(", "))
}

/// "did you mean `x`? " for the candidate closest to `name`, or nothing
/// when none is close (for error messages about unknown names).
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let limit = (name.len() / 3).max(2);
    let best = candidates.into_iter().map(|c| (edit_distance(name, c), c)).filter(|&(d, _)| d <= limit).min();
    best.map(|(_, c)| format!("did you mean `{c}`? ")).unwrap_or_default()
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.as_bytes().iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &y) in b.iter().enumerate() {
            let next = (diagonal + usize::from(x != y)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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

    /// The triple as LLVM spells it. For macOS it names the minimum OS
    /// version, which LLVM records in every object (the linker refuses
    /// objects without one).
    pub fn llvm_triple(&self) -> String {
        match (self.triple.architecture, self.triple.operating_system) {
            (Architecture::Riscv64(_), _) => self.name().replacen("riscv64gc", "riscv64", 1),
            (Architecture::Aarch64(_), OperatingSystem::Darwin(_)) => {
                format!("arm64-apple-macosx{MACOS_MIN_VERSION}.0")
            }
            (arch, OperatingSystem::Darwin(_)) => format!("{arch}-apple-macosx{MACOS_MIN_VERSION}.0"),
            _ => self.name(),
        }
    }

    /// LLVM features every artifact for this target is built with, part of
    /// what the triple's architecture name promises (`riscv64gc`: the
    /// integer multiply, atomic, float, double and compressed extensions;
    /// its `lp64d` C convention passes floats in float registers). They
    /// are the baseline a host of this target has, so they are not
    /// recorded as required features.
    pub fn baseline_features(&self) -> &'static [&'static str] {
        match self.triple.architecture {
            Architecture::Riscv64(_) => &["+m", "+a", "+f", "+d", "+c"],
            _ => &[],
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

    /// Whether the target's OS is Windows.
    pub fn is_windows(&self) -> bool {
        self.triple.operating_system == OperatingSystem::Windows
    }

    /// Whether the target's OS is macOS.
    pub fn is_macos(&self) -> bool {
        matches!(self.triple.operating_system, OperatingSystem::Darwin(_) | OperatingSystem::MacOSX(_))
    }

    /// The usual file extension of a shared library for the target.
    pub fn shared_library_extension(&self) -> &'static str {
        match self.triple.binary_format {
            BinaryFormat::Macho => "dylib",
            BinaryFormat::Coff => "dll",
            _ => "so",
        }
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
        }
        assert_eq!(SUPPORTED.len(), 6);
    }

    #[test]
    fn llvm_spellings_and_formats() {
        let t = |name| Target::parse(name).unwrap();
        assert_eq!(t("riscv64gc-unknown-linux-gnu").llvm_triple(), "riscv64-unknown-linux-gnu");
        assert_eq!(t("aarch64-apple-darwin").llvm_triple(), "arm64-apple-macosx11.0.0");
        assert_eq!(t("x86_64-apple-darwin").llvm_triple(), "x86_64-apple-macosx11.0.0");
        assert_eq!(t("x86_64-pc-windows-msvc").llvm_triple(), "x86_64-pc-windows-msvc");
        assert_eq!(t("x86_64-apple-darwin").binary_format(), BinaryFormat::Macho);
        assert_eq!(t("x86_64-pc-windows-msvc").binary_format(), BinaryFormat::Coff);
        assert_eq!(t("riscv64gc-unknown-linux-gnu").binary_format(), BinaryFormat::Elf);
        assert!(t("aarch64-apple-darwin").is_macos() && t("x86_64-pc-windows-msvc").is_windows());
        assert_eq!(t("riscv64gc-unknown-linux-gnu").baseline_features(), ["+m", "+a", "+f", "+d", "+c"]);
        assert_eq!(t("x86_64-pc-windows-msvc").shared_library_extension(), "dll");
    }

    #[test]
    fn close_names_are_suggested() {
        let e = Target::parse("aarch64-apple-darwn").unwrap_err().to_string();
        assert!(e.contains("did you mean `aarch64-apple-darwin`?"), "{e}");
        let e = Target::parse("x86_64-pc-windows-gnu").unwrap_err().to_string();
        assert!(e.contains("did you mean `x86_64-pc-windows-msvc`?"), "{e}");
        assert_eq!(did_you_mean("x86-64-v5", ["x86-64-v2", "generic"]), "did you mean `x86-64-v2`? ");
        assert_eq!(did_you_mean("zzzzzz", ["x86-64-v2", "generic"]), "");
    }

    #[test]
    fn unknown_targets_are_refused_by_name() {
        let e = Target::parse("mips-unknown-linux-gnu").unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
        assert!(e.to_string().contains("x86_64-unknown-linux-gnu"), "{e}");
        assert!(matches!(Target::parse("not a triple"), Err(TargetError::Malformed { .. })));
    }
}
