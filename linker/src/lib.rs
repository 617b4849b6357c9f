//! Turns kiln's object files and metadata into a native library.
//!
//! The compiler hands over relocatable objects (code, trampolines and the
//! function table) and the encoded metadata blob. This crate wraps the blob
//! in an object file of its own ([`metadata_object`]), runs the target's
//! flavour of LLD over everything ([`lld`]) and checks the result
//! ([`verify`]): only kiln's two symbols exported, only the documented
//! symbols left undefined.
//!
//! Every target links with LLD and no SDK: `ld.lld` for ELF (Linux),
//! `ld64.lld` for Mach-O (macOS), `lld-link` for PE/COFF (Windows); [`lld`]
//! has the flags per format and why.
//!
//! A static archive ([`OutputKind::StaticLibrary`]) is not linked: the
//! objects (for ELF, joined by `ld.lld -r`) are rewritten so that only the
//! two prefixed kiln symbols are global and packed into an archive in
//! process ([`archive`]).
//!
//! An ELF shared library ends in kiln's seal, a digest of all its other
//! bytes, which the loader checks before it reads the file
//! ([`kiln_abi::seal`]).
//!
//! Output is reproducible (no build id, no timestamps, a fixed soname) and
//! atomic: the library is linked into a temporary file beside the
//! destination and renamed into place only when linking and checks succeed,
//! so a failed link never leaves a half-written file behind.

mod archive;
mod lld;
mod metadata_object;
mod verify;

pub use lld::find_lld;
pub use metadata_object::metadata_object;

use kiln_abi::target::Target;
use std::fs;
use std::path::{Path, PathBuf};

/// What kind of file to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A shared library (`.so`) the loader can open.
    SharedLibrary,
    /// One relocatable object holding code and metadata, for linking into
    /// a program by other means.
    Object,
    /// A static archive (`.a`; `.lib` for Windows) to link into a program,
    /// possibly beside other modules' archives. Needs a symbol prefix, and
    /// objects compiled with `static_library` set (the function table ends
    /// with the code range markers).
    StaticLibrary,
}

/// The inputs of one link.
#[derive(Clone, Debug)]
pub struct LinkRequest<'a> {
    /// The target the objects were compiled for.
    pub target: &'a Target,
    /// Relocatable objects from the compiler.
    pub objects: &'a [&'a [u8]],
    /// The encoded metadata blob (`kiln_abi::artifact::encode`).
    pub metadata: &'a [u8],
    /// Prefix of the exported symbol names, if any.
    pub symbol_prefix: Option<&'a str>,
    /// What to produce.
    pub kind: OutputKind,
}

/// Why a link failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No suitable LLD was found.
    #[error("no LLVM linker found (tried {}); install it with scripts/setup.sh (Debian package lld-19) or set KILN_LLD", tried.join(", "))]
    LinkerNotFound {
        /// Candidates that were looked for.
        tried: Vec<String>,
    },
    /// kiln cannot link for this target yet.
    #[error("linking for target `{0}` is not supported")]
    UnsupportedTarget(String),
    /// kiln cannot produce this kind of output for the target.
    #[error("kiln cannot produce {what} for target `{target}`; produce a shared library instead")]
    UnsupportedOutput {
        /// The target.
        target: String,
        /// What was asked for.
        what: &'static str,
    },
    /// A static archive was asked for without a usable symbol prefix.
    #[error("a static library needs a symbol prefix that is a C identifier (letters, digits, `_`), got {}", match .0 { Some(p) => format!("`{p}`"), None => "none".to_string() })]
    InvalidPrefix(Option<String>),
    /// A file operation failed.
    #[error("{action} `{}`: {error}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The linker ran and failed.
    #[error("{linker} failed ({status}):\n{stderr}")]
    LinkerFailed {
        /// The linker program.
        linker: String,
        /// Its exit status.
        status: String,
        /// What it printed.
        stderr: String,
    },
    /// The linked library broke one of kiln's artifact rules; a kiln bug.
    #[error("internal error: linked library violates kiln's artifact rules: {0}")]
    Verification(String),
}

impl LinkError {
    fn io(action: &'static str, path: &Path, error: std::io::Error) -> LinkError {
        LinkError::Io { action, path: path.to_path_buf(), error }
    }
}

/// Links `request` into `output`, replacing it atomically. On error,
/// `output` is untouched and no temporary file remains.
pub fn link(request: &LinkRequest<'_>, output: &Path) -> Result<(), LinkError> {
    if request.kind == OutputKind::StaticLibrary {
        let prefix = request
            .symbol_prefix
            .filter(|p| kiln_abi::symbols::is_valid_prefix(p))
            .ok_or_else(|| LinkError::InvalidPrefix(request.symbol_prefix.map(str::to_string)))?;
        let bytes = archive::build(request, prefix)?;
        verify::check_archive(request, &bytes)?;
        let staged = staged_output(output)?;
        fs::write(&staged, &bytes).map_err(|e| LinkError::io("writing", &staged, e))?;
        set_mode(&staged, 0o644)?;
        staged.persist(output).map_err(|e| LinkError::io("moving the archive to", output, e.error))?;
        return Ok(());
    }
    let work = tempfile::Builder::new()
        .prefix("kiln-link-")
        .tempdir()
        .map_err(|e| LinkError::io("creating a temporary directory for", &std::env::temp_dir(), e))?;

    let mut inputs = Vec::with_capacity(request.objects.len() + 1);
    for (i, object) in request.objects.iter().enumerate() {
        let path = work.path().join(format!("code{i}.o"));
        fs::write(&path, object).map_err(|e| LinkError::io("writing", &path, e))?;
        inputs.push(path);
    }
    let meta_path = work.path().join("metadata.o");
    let meta = metadata_object(request.target, request.metadata, request.symbol_prefix)?;
    fs::write(&meta_path, meta).map_err(|e| LinkError::io("writing", &meta_path, e))?;
    inputs.push(meta_path);

    let staged = staged_output(output)?;
    let linked = lld::run(request, work.path(), &inputs)?;
    let mut bytes = fs::read(&linked).map_err(|e| LinkError::io("reading", &linked, e))?;
    if request.kind == OutputKind::SharedLibrary && request.target.binary_format() == target_lexicon::BinaryFormat::Elf {
        kiln_abi::seal::seal(&mut bytes);
    }
    fs::write(&staged, &bytes).map_err(|e| LinkError::io("writing", &staged, e))?;
    verify::check(request, &staged)?;
    set_mode(&staged, if request.kind == OutputKind::Object { 0o644 } else { 0o755 })?;
    staged.persist(output).map_err(|e| LinkError::io("moving the linked output to", output, e.error))?;
    Ok(())
}

/// Joins ELF objects into one relocatable object with `ld.lld -r`.
fn join_objects(request: &LinkRequest<'_>, objects: &[&[u8]]) -> Result<Vec<u8>, LinkError> {
    let work = tempfile::Builder::new()
        .prefix("kiln-link-")
        .tempdir()
        .map_err(|e| LinkError::io("creating a temporary directory for", &std::env::temp_dir(), e))?;
    let mut inputs = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        let path = work.path().join(format!("input{i}.o"));
        fs::write(&path, object).map_err(|e| LinkError::io("writing", &path, e))?;
        inputs.push(path);
    }
    let relocatable = LinkRequest { kind: OutputKind::Object, ..request.clone() };
    let joined = lld::run(&relocatable, work.path(), &inputs)?;
    fs::read(&joined).map_err(|e| LinkError::io("reading", &joined, e))
}

/// A temporary file beside `output`, removed unless persisted.
fn staged_output(output: &Path) -> Result<tempfile::TempPath, LinkError> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok(tempfile::Builder::new()
        .prefix(".kiln-out-")
        .tempfile_in(dir)
        .map_err(|e| LinkError::io("creating the output in", dir, e))?
        .into_temp_path())
}

/// Gives the output the permissions a linker would (the staged temporary
/// file is private to its owner): executable for a library, readable for
/// an object or archive.
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), LinkError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| LinkError::io("setting permissions of", path, e))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<(), LinkError> {
    Ok(())
}
