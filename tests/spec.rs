//! The WebAssembly spec testsuite, one test per `.wast` file, run through
//! the whole kiln pipeline (compile at -O2, link, load, instantiate, call).
//!
//! Files kiln must pass completely are listed in the testsuite's
//! `sets/foundation.txt`, plus the SIMD scripts of `sets/wasm-2.0.txt`; a
//! failed or skipped directive in one of them fails the test. Every other
//! file runs too and is reported, with skipped directives attributed to the
//! feature kiln lacks. After the run a table
//! gives passed/failed/skipped per file and totals per standard.
//!
//! `KILN_SPEC_OPT=0..3` changes the optimization level.

use kiln::wast::{Report, format_table, totals_line};
use kiln::{CompileOptions, OptLevel};
use kiln_tests::{testsuite_dir, testsuite_set};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Sets whose files must pass every directive.
const REQUIRED_SETS: &[&str] = &["foundation"];

/// Files of the 2.0 set that must pass every directive too: the SIMD
/// scripts, except the one that needs multiple memories.
fn required_simd(file: &str) -> bool {
    file.starts_with("simd_") && file != "simd_memory-multi.wast"
}

fn wast_files(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            wast_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "wast") {
            out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

fn options() -> CompileOptions {
    let opt_level = match std::env::var("KILN_SPEC_OPT").as_deref() {
        Ok("0") => OptLevel::O0,
        Ok("1") => OptLevel::O1,
        Ok("3") => OptLevel::O3,
        _ => OptLevel::O2,
    };
    CompileOptions { opt_level, ..CompileOptions::default() }
}

fn main() {
    let args = Arguments::from_args();
    let root = testsuite_dir();
    assert!(root.join("MANIFEST.md").is_file(), "spec testsuite not found at {}; set KILN_TESTSUITE", root.display());
    let mut required: HashSet<String> = REQUIRED_SETS.iter().flat_map(|s| testsuite_set(s)).collect();
    required.extend(testsuite_set("wasm-2.0").into_iter().filter(|f| required_simd(f)));
    let mut files = Vec::new();
    wast_files(&root, &root, &mut files);
    files.sort();
    assert!(required.iter().all(|f| files.contains(f)), "a required file is missing from {}", root.display());

    let reports = Arc::new(Mutex::new(Vec::<Report>::new()));
    let trials = files
        .into_iter()
        .map(|file| {
            let must_pass = required.contains(&file);
            let reports = Arc::clone(&reports);
            let path = root.join(&file);
            Trial::test(file.clone(), move || {
                let mut report = kiln::wast::run_file(&path, &options());
                report.name = file.clone();
                let verdict = if must_pass && (report.failed > 0 || report.skipped > 0) {
                    let mut msg = format!(
                        "{file}: {} passed, {} failed, {} skipped (every directive must pass)",
                        report.passed, report.failed, report.skipped
                    );
                    for line in report.failures.iter().take(20) {
                        msg.push_str("\n  ");
                        msg.push_str(line);
                    }
                    if report.skipped > 0 {
                        msg.push_str(&format!("\n  skipped for: {}", report.skip_summary()));
                    }
                    Err(Failed::from(msg))
                } else {
                    Ok(())
                };
                reports.lock().unwrap().push(report);
                verdict
            })
        })
        .collect();

    let conclusion = libtest_mimic::run(&args, trials);

    let mut reports = reports.lock().unwrap().clone();
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    if !reports.is_empty() {
        println!("\nWebAssembly spec testsuite (kiln, {:?}):\n", options().opt_level);
        print!("{}", format_table(&reports));
        println!();
        let group = |name: &str, files: &HashSet<String>| {
            let picked: Vec<Report> = reports.iter().filter(|r| files.contains(&r.name)).cloned().collect();
            println!("{name:<28} {:>3} files: {}", picked.len(), totals_line(&picked));
        };
        let set = |s: &str| testsuite_set(s).into_iter().collect::<HashSet<_>>();
        group("required (foundation, SIMD)", &required);
        group("wasm 1.0", &set("wasm-1.0"));
        group("wasm 2.0", &set("wasm-2.0"));
        let classified: HashSet<String> = set("wasm-1.0").union(&set("wasm-2.0")).cloned().collect();
        let others: HashSet<String> = reports.iter().map(|r| r.name.clone()).filter(|n| !classified.contains(n)).collect();
        group("wasm 3.0 / proposals", &others);
        let all: HashSet<String> = reports.iter().map(|r| r.name.clone()).collect();
        group("all files", &all);
    }
    conclusion.exit();
}
