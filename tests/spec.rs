//! The WebAssembly spec testsuite, one test per `.wast` file, run through
//! the whole kiln pipeline (compile at -O2, link, load, instantiate, call).
//!
//! What each file must achieve:
//!
//! * files of the [`REQUIRED_SETS`] (the testsuite's `sets/*.txt`: wasm 1.0
//!   and 2.0) must pass every directive — a failed or skipped directive
//!   fails the test;
//! * the [`MIXED`] files, classed 3.0 only because a few of their cases use
//!   3.0 features, must pass every directive except those skipped for one
//!   of the [`WASM3_FEATURES`]; a failure, or a skip for anything else (a
//!   2.0 feature, say), fails the test;
//! * every other file runs too and is only reported.
//!
//! After the run a table gives passed/failed/skipped per file, with the
//! features skipped directives need, and totals per group.
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
const REQUIRED_SETS: &[&str] = &["foundation", "wasm-1.0", "wasm-2.0"];

/// Files classed wasm 3.0 only because of a few cases; everything else in
/// them is wasm 2.0 (or typed function references, which kiln implements).
const MIXED: &[&str] = &[
    "br_if.wast",
    "br_table.wast",
    "func.wast",
    "local_tee.wast",
    "select.wast",
    "ref_is_null.wast",
    "table.wast",
    "table-sub.wast",
    "linking.wast",
    "table_init.wast",
    "exports.wast",
    "imports.wast",
];

/// Features of wasm 3.0 (and of later proposals) that kiln does not
/// implement, as kiln names them in skip reasons: the only reasons a
/// directive of a [`MIXED`] file may be skipped for.
const WASM3_FEATURES: &[&str] = &[
    "GC",
    "GC constant expressions",
    "GC references",
    "exception handling",
    "legacy exception handling",
    "tail calls",
    "multiple memories",
    "memory64",
    "extended constant expressions",
    "relaxed SIMD",
    "threads",
    "custom page sizes",
    "wide arithmetic",
    "stack switching",
    "shared-everything threads",
    "custom descriptors",
];

/// What a file must achieve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Requirement {
    /// Every directive passes.
    All,
    /// Every directive passes or is skipped for a 3.0 feature.
    AllButWasm3,
    /// Only reported.
    Report,
}

impl Requirement {
    /// Why `report` falls short, if it does.
    fn check(self, report: &Report) -> Option<String> {
        let foreign: Vec<&String> =
            report.skip_reasons.keys().filter(|r| !WASM3_FEATURES.contains(&r.as_str())).collect();
        let (ok, rule) = match self {
            Requirement::All => (report.failed == 0 && report.skipped == 0, "every directive must pass"),
            Requirement::AllButWasm3 => {
                (report.failed == 0 && foreign.is_empty(), "directives may only be skipped for a wasm 3.0 feature")
            }
            Requirement::Report => (true, ""),
        };
        if self == Requirement::Report || (ok && report.passed > 0) {
            return None;
        }
        let mut msg = format!(
            "{}: {} passed, {} failed, {} skipped ({rule})",
            report.name, report.passed, report.failed, report.skipped
        );
        for line in report.failures.iter().take(20) {
            msg.push_str("\n  ");
            msg.push_str(line);
        }
        if report.skipped > 0 {
            msg.push_str(&format!("\n  skipped for: {}", report.skip_summary()));
        }
        Some(msg)
    }
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
    let required: HashSet<String> = REQUIRED_SETS.iter().flat_map(|s| testsuite_set(s)).collect();
    let mixed: HashSet<String> = MIXED.iter().map(|f| f.to_string()).collect();
    let mut files = Vec::new();
    wast_files(&root, &root, &mut files);
    files.sort();
    for file in required.iter().chain(&mixed) {
        assert!(files.contains(file), "required file {file} is missing from {}", root.display());
    }

    let reports = Arc::new(Mutex::new(Vec::<Report>::new()));
    let trials: Vec<Trial> = files
        .into_iter()
        .map(|file| {
            let requirement = if required.contains(&file) {
                Requirement::All
            } else if mixed.contains(&file) {
                Requirement::AllButWasm3
            } else {
                Requirement::Report
            };
            let reports = Arc::clone(&reports);
            let path = root.join(&file);
            Trial::test(file.clone(), move || {
                let mut report = kiln::wast::run_file(&path, &options());
                report.name = file.clone();
                let verdict = requirement.check(&report).map_or(Ok(()), |msg| Err(Failed::from(msg)));
                reports.lock().unwrap().push(report);
                verdict
            })
        })
        .collect();

    let mut trials = trials;
    trials.push(Trial::test("requirements-are-enforced", requirements_are_enforced));
    let conclusion = libtest_mimic::run(&args, trials);

    let mut reports = reports.lock().unwrap().clone();
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    if !reports.is_empty() {
        println!("\nWebAssembly spec testsuite (kiln, {:?}):\n", options().opt_level);
        print!("{}", format_table(&reports));
        println!();
        let group = |name: &str, files: &HashSet<String>| {
            let picked: Vec<Report> = reports.iter().filter(|r| files.contains(&r.name)).cloned().collect();
            println!("{name:<36} {:>3} files: {}", picked.len(), totals_line(&picked));
        };
        let set = |s: &str| testsuite_set(s).into_iter().collect::<HashSet<_>>();
        group("required (every directive)", &required);
        group("mixed (all but 3.0 features)", &mixed);
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

/// The rules themselves: a skip for a 2.0 feature fails a mixed file, a
/// skip for a 3.0 feature does not, and a required file allows no skip.
fn requirements_are_enforced() -> Result<(), Failed> {
    let report = |skips: &[(&str, u32)], failed: u32| Report {
        name: "file.wast".into(),
        passed: 10,
        failed,
        skipped: skips.iter().map(|(_, n)| n).sum(),
        skip_reasons: skips.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        failures: Vec::new(),
    };
    let cases = [
        (Requirement::AllButWasm3, report(&[("GC", 2), ("exception handling", 3)], 0), true),
        (Requirement::AllButWasm3, report(&[("GC", 2), ("reference types", 1)], 0), false),
        (Requirement::AllButWasm3, report(&[("SIMD", 1)], 0), false),
        (Requirement::AllButWasm3, report(&[], 1), false),
        (Requirement::All, report(&[], 0), true),
        (Requirement::All, report(&[("GC", 1)], 0), false),
        (Requirement::Report, report(&[("SIMD", 1)], 3), true),
    ];
    for (requirement, report, accepted) in cases {
        if requirement.check(&report).is_none() != accepted {
            return Err(format!("{requirement:?} on {:?} should be accepted: {accepted}", report.skip_reasons).into());
        }
    }
    Ok(())
}
