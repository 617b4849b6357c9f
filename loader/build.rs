//! Builds the small C part of the runtime (the host-to-wasm entry helper,
//! the trap builtin and the fault handler: they use `sigsetjmp`), and
//! works out the identity of the kiln build this runtime belongs to,
//! `KILN_COMPILER_BUILD` (see `COMPILER_BUILD` in `lib.rs`):
//!
//! * outside a git work tree (a published crate): the version, `0.1.0`;
//! * a clean git work tree: the version and the commit,
//!   `0.1.0+<40 hex digits>`;
//! * a modified one: that, and a digest of the modified and untracked
//!   files among the sources that make or run artifacts,
//!   `0.1.0+<commit>.modified-<16 hex digits>`. Two builds of the same
//!   modified tree agree; any other edit changes the identity.
//!
//! The sources are those of kiln-abi, kiln-llvm, kiln-linker and
//! kiln-loader, the compile façade of the `kiln` crate and `Cargo.lock`
//! (see `SOURCES`); an edit to them reruns this script.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What decides the code of an artifact and what the runtime expects of
/// it, relative to the workspace root.
const SOURCES: &[&str] = &[
    "abi/src",
    "abi/Cargo.toml",
    "llvm-backend/src",
    "llvm-backend/build.rs",
    "llvm-backend/Cargo.toml",
    "linker/src",
    "linker/Cargo.toml",
    "loader/src",
    "loader/build.rs",
    "loader/Cargo.toml",
    "cli/src/compile.rs",
    "Cargo.lock",
];

fn main() {
    let target_family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    if target_family.split(',').any(|f| f == "unix") {
        let source = "src/sys/unix/traps.c";
        println!("cargo:rerun-if-changed={source}");
        cc::Build::new().file(source).warnings(true).extra_warnings(true).compile("kiln_loader_traps");
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let build = compiler_build(&manifest);
    assert!(!build.is_empty() && build.len() <= 256, "compiler build `{build}` does not fit an artifact header");
    println!("cargo:rustc-env=KILN_COMPILER_BUILD={build}");
}

fn compiler_build(manifest: &Path) -> String {
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let root = manifest.parent().unwrap_or(manifest);
    let git = |args: &[&str]| -> Option<Vec<u8>> {
        let out = Command::new("git").arg("-C").arg(root).args(args).output().ok()?;
        out.status.success().then_some(out.stdout)
    };
    let text = |args: &[&str]| git(args).map(|o| String::from_utf8_lossy(&o).trim().to_string());
    // Only a work tree whose root is the workspace's.
    let top = text(&["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    let same_root = |top: &PathBuf| top.canonicalize().ok() == root.canonicalize().ok();
    let Some(commit) = top.filter(same_root).and_then(|_| text(&["rev-parse", "HEAD"])) else {
        return version;
    };
    // Rerun when HEAD moves (a checkout or a commit) or a source changes.
    for path in ["HEAD", "packed-refs"]
        .into_iter()
        .filter_map(|p| text(&["rev-parse", "--path-format=absolute", "--git-path", p]))
    {
        watch(Path::new(&path));
    }
    let branch = text(&["symbolic-ref", "-q", "HEAD"]);
    if let Some(path) = branch.and_then(|b| text(&["rev-parse", "--path-format=absolute", "--git-path", &b])) {
        watch(Path::new(&path));
    }
    for source in SOURCES {
        watch(&root.join(source));
    }

    let mut args = vec!["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--"];
    args.extend(SOURCES);
    let status = git(&args).unwrap_or_default();
    let mut changed: Vec<&[u8]> = status.split(|&b| b == 0).filter(|e| e.len() > 3).map(|e| &e[3..]).collect();
    if changed.is_empty() {
        return format!("{version}+{commit}");
    }
    changed.sort();
    changed.dedup();
    let mut digest = xxhash_rust::xxh3::Xxh3::new();
    for path in changed {
        digest.update(path);
        digest.update(&[0]);
        match std::fs::read(root.join(String::from_utf8_lossy(path).as_ref())) {
            Ok(bytes) => {
                digest.update(&(bytes.len() as u64).to_le_bytes());
                digest.update(&bytes);
            }
            Err(_) => digest.update(b"(deleted)"),
        }
    }
    format!("{version}+{commit}.modified-{:016x}", digest.digest())
}

/// Reruns this script when `path` changes; paths that do not exist are
/// skipped (cargo would rerun the script on every build for them).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
