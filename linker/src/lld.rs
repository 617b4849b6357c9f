//! Finding and running LLD, in the flavour of the target's object format.
//!
//! | format | linker     | a shared library is made with |
//! |--------|------------|-------------------------------|
//! | ELF    | `ld.lld`   | `-shared -nostdlib`, fixed soname, no build id, `--eh-frame-hdr` (the unwinder finds exception handlers' frames through it), `-z separate-code` (code on pages of its own, so its cache-line placement does not depend on the data before it) |
//! | Mach-O | `ld64.lld` | `-dylib`, fixed install name, exported symbols listed, `libSystem` from a stub |
//! | COFF   | `lld-link` | `/dll /noentry /nodefaultlib`, `/export:` of kiln's two symbols, `/Brepro` |
//!
//! None needs an SDK of the target. A Mach-O dylib may import `memcpy`,
//! `memmove` and `memset` from `libSystem`: the linker gets a text stub
//! (`.tbd`) of `libSystem` written here that lists exactly those, so any
//! other undefined symbol is a link error. A Windows DLL imports nothing;
//! the module defines what a C runtime would (see kiln-llvm's
//! `codegen::freestanding`) and the metadata object defines `_fltused`.
//!
//! Output never depends on file names: the library is linked under a fixed
//! name in a private directory (lld writes the name into the soname, the
//! code signature of an arm64 dylib and the DLL's export directory) and
//! copied to its destination afterwards.

use crate::{LinkError, LinkRequest, OutputKind};
use kiln_abi::symbols;
use kiln_abi::target::{MACOS_MIN_VERSION, Target};
use std::path::{Path, PathBuf};
use std::process::Command;
use target_lexicon::{Architecture, BinaryFormat};

/// The name every kiln library is linked under, per format (the soname of
/// an ELF library, the file name in a dylib's install name and a DLL's
/// export directory).
fn library_name(format: BinaryFormat) -> &'static str {
    match format {
        BinaryFormat::Macho => "libkiln-module.dylib",
        BinaryFormat::Coff => "kiln-module.dll",
        _ => "libkiln-module.so",
    }
}

/// Where macOS finds `memcpy` and friends.
const LIBSYSTEM: &str = "/usr/lib/libSystem.B.dylib";

/// LLD's three drivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    Elf,
    MachO,
    Coff,
}

impl Flavor {
    fn of(target: &Target) -> Result<Flavor, LinkError> {
        match target.binary_format() {
            BinaryFormat::Elf => Ok(Flavor::Elf),
            BinaryFormat::Macho => Ok(Flavor::MachO),
            BinaryFormat::Coff => Ok(Flavor::Coff),
            _ => Err(LinkError::UnsupportedTarget(target.name())),
        }
    }

    /// Program names to look for: Debian's versioned name, LLVM 19's own
    /// directory, then the plain name on `PATH`.
    fn candidates(self) -> [&'static str; 3] {
        match self {
            Flavor::Elf => ["ld.lld-19", "/usr/lib/llvm-19/bin/ld.lld", "ld.lld"],
            Flavor::MachO => ["ld64.lld-19", "/usr/lib/llvm-19/bin/ld64.lld", "ld64.lld"],
            Flavor::Coff => ["lld-link-19", "/usr/lib/llvm-19/bin/lld-link", "lld-link"],
        }
    }

    /// The `-flavor` argument that makes any LLD binary act as this driver.
    fn name(self) -> &'static str {
        match self {
            Flavor::Elf => "gnu",
            Flavor::MachO => "darwin",
            Flavor::Coff => "link",
        }
    }
}

/// Locates `ld.lld`: `$KILN_LLD` if set, else Debian's `ld.lld-19`, else
/// `ld.lld` on `PATH`.
pub fn find_lld() -> Result<PathBuf, LinkError> {
    find(Flavor::Elf).map(|(path, _)| path)
}

/// The linker for `flavor` and whether it must be told the flavor
/// (`$KILN_LLD` names one LLD binary for every format).
fn find(flavor: Flavor) -> Result<(PathBuf, bool), LinkError> {
    if let Some(path) = std::env::var_os("KILN_LLD") {
        return Ok((PathBuf::from(path), flavor != Flavor::Elf));
    }
    let candidates = flavor.candidates();
    for c in candidates {
        let p = Path::new(c);
        if p.is_absolute() {
            if p.is_file() {
                return Ok((p.to_path_buf(), false));
            }
        } else if let Some(found) = search_path(c) {
            return Ok((found, false));
        }
    }
    Err(LinkError::LinkerNotFound { tried: candidates.iter().map(|s| s.to_string()).collect() })
}

fn search_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Runs LLD over `inputs` in the directory `work`, and returns the path of
/// the file it wrote there.
pub(crate) fn run(request: &LinkRequest<'_>, work: &Path, inputs: &[PathBuf]) -> Result<PathBuf, LinkError> {
    let target = request.target;
    let flavor = Flavor::of(target)?;
    let (lld, tell_flavor) = find(flavor)?;
    let mut cmd = Command::new(&lld);
    if tell_flavor {
        cmd.args(["-flavor", flavor.name()]);
    }
    let output = work.join(match request.kind {
        OutputKind::SharedLibrary => library_name(target.binary_format()),
        OutputKind::Object => "kiln-module.o",
        OutputKind::StaticLibrary => "libkiln-module.a",
    });
    let exported = [symbols::metadata_symbol(request.symbol_prefix), symbols::functions_symbol(request.symbol_prefix)];
    match (flavor, request.kind) {
        (Flavor::Elf, OutputKind::SharedLibrary) => {
            cmd.args(["-shared", "-nostdlib", "--build-id=none", "--hash-style=gnu", "--eh-frame-hdr"])
                .args(["-z", "now", "-z", "relro", "-z", "noexecstack", "-z", "text", "-z", "separate-code"])
                .args(["--no-undefined-version", "-soname", library_name(BinaryFormat::Elf)]);
        }
        (Flavor::Elf, OutputKind::Object) => {
            cmd.arg("-r");
        }
        (Flavor::MachO, OutputKind::SharedLibrary) => {
            let arch = match target.architecture() {
                Architecture::Aarch64(_) => "arm64",
                _ => "x86_64",
            };
            let stub = work.join("libSystem.tbd");
            std::fs::write(&stub, libsystem_stub(target, arch)).map_err(|e| LinkError::io("writing", &stub, e))?;
            cmd.args(["-dylib", "-arch", arch, "-platform_version", "macos", MACOS_MIN_VERSION, MACOS_MIN_VERSION])
                .args(["-install_name", &format!("@rpath/{}", library_name(BinaryFormat::Macho))])
                .args(["-dead_strip_dylibs", "-fixup_chains"]);
            for name in &exported {
                cmd.arg("-exported_symbol").arg(symbols::object_symbol(BinaryFormat::Macho, name));
            }
            cmd.arg(&stub);
        }
        (Flavor::Coff, OutputKind::SharedLibrary) => {
            cmd.args(["/dll", "/noentry", "/nodefaultlib", "/machine:x64", "/Brepro", "/opt:ref"]);
            cmd.arg(format!("/implib:{}", work.join("kiln-module.lib").display()));
            for name in &exported {
                cmd.arg(format!("/export:{name},DATA"));
            }
        }
        (_, OutputKind::StaticLibrary) => {
            return Err(LinkError::Verification("static archives are written without a linker".into()));
        }
        (Flavor::MachO | Flavor::Coff, OutputKind::Object) => {
            return Err(LinkError::UnsupportedOutput { target: target.name(), what: "a relocatable object" });
        }
    }
    match flavor {
        Flavor::Coff => cmd.arg(format!("/out:{}", output.display())),
        _ => cmd.arg("-o").arg(&output),
    };
    cmd.args(inputs);
    let out = cmd.output().map_err(|e| LinkError::io("running the linker", &lld, e))?;
    if !out.status.success() {
        return Err(LinkError::LinkerFailed {
            linker: lld.display().to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        });
    }
    Ok(output)
}

/// A text stub of `libSystem` exporting the symbols a kiln dylib may import.
fn libsystem_stub(target: &Target, arch: &str) -> String {
    let names: Vec<String> = symbols::allowed_undefined(target)
        .iter()
        .map(|name| symbols::object_symbol(BinaryFormat::Macho, name))
        .collect();
    format!(
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ {arch}-macos ]\ninstall-name: '{LIBSYSTEM}'\n\
         current-version: 1311\nexports:\n  - targets: [ {arch}-macos ]\n    symbols: [ {} ]\n...\n",
        names.join(", ")
    )
}
