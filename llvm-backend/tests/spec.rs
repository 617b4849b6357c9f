//! Executes spec test scripts from `../shared/testsuite` with the
//! backend and a minimal test runtime (`support`), one test per file and
//! configuration. A script passes when no directive fails; directives
//! using features kiln does not implement are counted as skipped.
//!
//! `KILN_SPEC_VERBOSE=1` prints per-file counts. The test runtime is
//! x86_64 Linux only; elsewhere the suite reports nothing to run.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod support;

use kiln_abi::metadata::BoundsChecks;
use kiln_llvm::{CompileOptions, OptLevel};
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

/// Spec files beyond the foundation set that exercise what kiln implements
/// (multi-value, sign extension, saturating truncation, ...).
const EXTRA: &[&str] = &[
    "br_if.wast",
    "br_table.wast",
    "call_indirect.wast",
    "custom.wast",
    "data.wast",
    "elem.wast",
    "exports.wast",
    "float_memory.wast",
    "func.wast",
    "global.wast",
    "imports.wast",
    "local_init.wast",
    "local_tee.wast",
    "memory_size.wast",
    "select.wast",
    "binary.wast",
    "binary-leb128.wast",
    "token.wast",
    "unreached-valid.wast",
    "unreached-invalid.wast",
    "obsolete-keywords.wast",
    "linking.wast",
];

/// Files run again with explicit bounds checks and at -O0.
const MEMORY: &[&str] = &[
    "address.wast",
    "memory_trap.wast",
    "single-memory/memory_grow.wast",
    "load.wast",
    "store.wast",
    "endianness.wast",
];
const NUMERIC: &[&str] = &["i32.wast", "i64.wast", "f32.wast", "f64.wast", "conversions.wast", "float_exprs.wast"];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testsuite")
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn run(_file: &str, _opts: CompileOptions) -> Result<(), Failed> {
    Err("the test runtime needs an x86_64 Linux host".into())
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn run(file: &str, opts: CompileOptions) -> Result<(), Failed> {
    let path = suite().join(file);
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = file.to_string();
    let outcome = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || support::wast::run(&name, &source, &opts))
        .unwrap()
        .join()
        .map_err(|_| "runner panicked")?;
    if std::env::var_os("KILN_SPEC_VERBOSE").is_some() {
        eprintln!("{file}: {} passed, {} skipped, {} failed", outcome.passed, outcome.skipped, outcome.failures.len());
    }
    if outcome.failures.is_empty() {
        Ok(())
    } else {
        let shown: Vec<_> = outcome.failures.iter().take(20).cloned().collect();
        Err(format!("{} failures:\n{}", outcome.failures.len(), shown.join("\n")).into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut files: Vec<String> = std::fs::read_to_string(suite().join("sets/foundation.txt"))
        .expect("spec suite")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    files.extend(EXTRA.iter().map(|s| s.to_string()));
    let mut trials = Vec::new();
    for file in &files {
        let file = file.clone();
        trials.push(Trial::test(format!("O2/{file}"), move || run(&file, CompileOptions::default())));
    }
    for file in MEMORY {
        let opts = CompileOptions { bounds_checks: BoundsChecks::Explicit, ..CompileOptions::default() };
        trials.push(Trial::test(format!("explicit/{file}"), move || run(file, opts)));
    }
    for file in NUMERIC.iter().chain(MEMORY) {
        let opts = CompileOptions { opt_level: OptLevel::O0, ..CompileOptions::default() };
        trials.push(Trial::test(format!("O0/{file}"), move || run(file, opts)));
    }
    libtest_mimic::run(&args, trials).exit();
}
