//! The compiled-artifact cache: `kiln run app.wasm` compiles a module once
//! and loads the library from here afterwards.
//!
//! An entry is keyed by a SHA-256 over everything that decides the bytes
//! of the library: the wasm (after assembling text), the target, the
//! resolved CPU and features, the optimization level, the bounds-check mode,
//! the symbol prefix, the artifact format version and the compiler's
//! identity (version and commit). Each entry is a directory `<key>/` holding
//! `module.so` and `checksum`, the XXH3-128 of the library, which is
//! checked on every use: a truncated or corrupted entry is detected and
//! rebuilt.
//!
//! Entries appear atomically. A compile writes a fresh directory beside the
//! entries and renames it into place; a rename over an existing entry fails,
//! so when two processes compile the same module at once, the first rename
//! wins and the other uses the winner's entry. No process ever sees a
//! half-written entry, and a library is never rewritten once in place (so a
//! process that has loaded it is never disturbed).

use crate::{CompileOptions, CompileReport, Emit};
use sha2::{Digest, Sha256};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Layout version of the cache directory; a change starts a new subdirectory.
const LAYOUT: &str = "v1";
const LIBRARY: &str = "module.so";
const CHECKSUM: &str = "checksum";

/// What identifies this compiler in cache keys: the kiln build
/// ([`kiln_loader::COMPILER_BUILD`]: version, git commit, and a digest of
/// the sources of a modified work tree), which the runtime also requires
/// of every artifact it loads.
pub const COMPILER_IDENTITY: &str = kiln_loader::COMPILER_BUILD;

/// A cache failure.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No directory to put the cache in.
    #[error("no cache directory: set KILN_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoDirectory,
    /// A file system operation on the cache failed.
    #[error("compiled-artifact cache: cannot {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Compiling the module failed.
    #[error(transparent)]
    Compile(#[from] crate::Error),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CacheError + 'a {
    move |error| CacheError::Io { action, path: path.to_path_buf(), error }
}

/// How an entry was obtained.
#[derive(Debug)]
pub enum Lookup {
    /// Found intact; nothing was compiled.
    Hit,
    /// Not there; compiled now.
    Compiled(CompileReport),
    /// There but damaged (the reason says how); compiled again.
    Rebuilt {
        /// What was wrong with the old entry.
        reason: String,
        /// The new compile.
        report: CompileReport,
    },
}

/// A library in the cache, ready to load.
#[derive(Debug)]
pub struct Entry {
    /// The library's path.
    pub library: PathBuf,
    /// Whether it had to be compiled.
    pub lookup: Lookup,
}

/// What [`Cache::clean`] removed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cleaned {
    /// Entries (and leftovers of interrupted compiles) removed.
    pub entries: usize,
    /// Bytes freed.
    pub bytes: u64,
}

/// A compiled-artifact cache rooted at one directory.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The per-user cache: `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`,
    /// else `$HOME/.cache/kiln`.
    pub fn user() -> Result<Cache, CacheError> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let root = var("KILN_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("kiln")))
            .or_else(|| var("HOME").map(|d| d.join(".cache").join("kiln")))
            .ok_or(CacheError::NoDirectory)?;
        Ok(Cache::at(root))
    }

    /// A cache rooted at `root` (created on first use).
    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The directory holding the cache.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    fn entries(&self) -> PathBuf {
        self.root.join(LAYOUT)
    }

    /// The key of `wasm` compiled with `opts`, as lowercase hex.
    pub fn key(wasm: &[u8], opts: &CompileOptions) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(b"kiln compiled-artifact cache");
        field(COMPILER_IDENTITY.as_bytes());
        field(&kiln_abi::FORMAT_VERSION.to_le_bytes());
        field(opts.target.name().as_bytes());
        match opts.cpu.as_deref() {
            // `native` means this machine's CPU: key on what it resolves to.
            Some("native") => {
                let (name, features) = kiln_llvm::host_cpu();
                field(format!("native={name};{features}").as_bytes());
            }
            cpu => field(cpu.unwrap_or("").as_bytes()),
        }
        field(opts.features.join(",").as_bytes());
        field(opts.disabled_proposals.join(",").as_bytes());
        field(&[opts.opt_level.metadata_value(), opts.bounds_checks as u8, u8::from(opts.static_library)]);
        field(opts.symbol_prefix.as_deref().unwrap_or("").as_bytes());
        field(wasm);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The library for `wasm` compiled with `opts`: from the cache when an
    /// intact entry exists, otherwise compiled now (`name` labels errors)
    /// and stored. `on_compile` is told just before a compile starts.
    pub fn get_or_compile(
        &self,
        wasm: &[u8],
        name: &Path,
        opts: &CompileOptions,
        on_compile: impl FnOnce(),
    ) -> Result<Entry, CacheError> {
        let entries = self.entries();
        let key = Cache::key(wasm, opts);
        let dir = entries.join(&key);
        let library = dir.join(LIBRARY);
        let damage = match check(&dir) {
            Ok(()) => return Ok(Entry { library, lookup: Lookup::Hit }),
            Err(Damage::Missing) => None,
            Err(Damage::Broken(reason)) => {
                discard(&entries, &dir)?;
                Some(reason)
            }
        };

        on_compile();
        std::fs::create_dir_all(&entries).map_err(io_err("create", &entries))?;
        let staging = tempfile::Builder::new()
            .prefix(".compiling-")
            .tempdir_in(&entries)
            .map_err(io_err("create a directory in", &entries))?;
        let staged = staging.path().join(LIBRARY);
        let report = crate::compile_to_file(wasm, name, opts, Emit::SharedLibrary, &staged)?;
        let bytes = std::fs::read(&staged).map_err(io_err("read", &staged))?;
        let sum = staging.path().join(CHECKSUM);
        std::fs::write(&sum, checksum_line(&bytes)).map_err(io_err("write", &sum))?;
        let staging = staging.keep();
        match std::fs::rename(&staging, &dir) {
            Ok(()) => {}
            // Another process put an entry in place first; keep theirs.
            Err(_) if check(&dir).is_ok() => {
                let _ = std::fs::remove_dir_all(&staging);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(io_err("store the compiled library as", &dir)(e));
            }
        }
        let lookup = match damage {
            None => Lookup::Compiled(report),
            Some(reason) => Lookup::Rebuilt { reason, report },
        };
        Ok(Entry { library, lookup })
    }

    /// Removes every entry, and the leftovers of compiles that were
    /// interrupted. Safe while other processes run libraries from the cache
    /// (their mappings stay valid).
    pub fn clean(&self) -> Result<Cleaned, CacheError> {
        let entries = self.entries();
        let mut cleaned = Cleaned::default();
        let list = match std::fs::read_dir(&entries) {
            Ok(list) => list,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(cleaned),
            Err(e) => return Err(io_err("read", &entries)(e)),
        };
        for item in list {
            let item = item.map_err(io_err("read", &entries))?;
            let path = item.path();
            let bytes = dir_size(&path);
            let removed = if item.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => {
                    cleaned.entries += 1;
                    cleaned.bytes += bytes;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &path)(e)),
            }
        }
        Ok(cleaned)
    }
}

/// Why an entry cannot be used.
enum Damage {
    Missing,
    Broken(String),
}

/// Checks that the entry in `dir` is complete and its library intact.
fn check(dir: &Path) -> Result<(), Damage> {
    let library = dir.join(LIBRARY);
    let bytes = match std::fs::read(&library) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound && !dir.exists() => return Err(Damage::Missing),
        Err(e) => return Err(Damage::Broken(format!("cannot read {LIBRARY}: {e}"))),
    };
    let recorded = std::fs::read_to_string(dir.join(CHECKSUM))
        .map_err(|e| Damage::Broken(format!("cannot read {CHECKSUM}: {e}")))?;
    if recorded != checksum_line(&bytes) {
        return Err(Damage::Broken(format!(
            "{LIBRARY} ({} bytes) does not match its checksum ({})",
            bytes.len(),
            recorded.trim()
        )));
    }
    Ok(())
}

/// Moves a damaged entry out of the way (atomically, so a concurrent
/// process sees it either intact-or-damaged or gone) and deletes it.
fn discard(entries: &Path, dir: &Path) -> Result<(), CacheError> {
    let trash = tempfile::Builder::new()
        .prefix(".discarded-")
        .tempdir_in(entries)
        .map_err(io_err("create a directory in", entries))?;
    match std::fs::rename(dir, trash.path().join("entry")) {
        Ok(()) => Ok(()),
        // Another process discarded it already.
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove the damaged entry", dir)(e)),
    }
}

fn checksum_line(bytes: &[u8]) -> String {
    format!("xxh3-128 {:032x} {}\n", xxhash_rust::xxh3::xxh3_128(bytes), bytes.len())
}

fn dir_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|list| list.filter_map(|e| e.ok()).map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}
