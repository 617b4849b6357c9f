//! Helpers shared by kiln's cross-crate tests.

pub mod expectations;
pub mod relaxed;

use std::path::PathBuf;

/// The WebAssembly spec testsuite: `$KILN_TESTSUITE`, or `../shared/testsuite`
/// beside the project root.
pub fn testsuite_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KILN_TESTSUITE") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testsuite")
}

/// The WASI preview 1 conformance suite: `$KILN_WASI_TESTSUITE`, or
/// `../shared/wasi-testsuite` beside the project root.
pub fn wasi_testsuite_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KILN_WASI_TESTSUITE") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/wasi-testsuite")
}

/// Reads one of the testsuite's file lists (`sets/NAME.txt`).
pub fn testsuite_set(name: &str) -> Vec<String> {
    let path = testsuite_dir().join("sets").join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; is the spec testsuite at {}?", path.display(), testsuite_dir().display()));
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}
