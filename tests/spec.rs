//! The WebAssembly spec testsuite, one test per `.wast` file — all 289 of
//! them — run through the whole kiln pipeline (compile at -O2, link, load,
//! instantiate, call) by `kiln::wast`.
//!
//! Every directive must pass, except those `spec-expectations.txt` (beside
//! this file) lists: per (file, feature), how many directives kiln reports
//! as unsupported for that feature, and, one by one with the reason, the
//! few directives that expect what an older standard said and must fail
//! (see `support/expectations.rs`). A file's test fails when a directive
//! fails that is not listed, and when its unsupported counts differ from
//! the file's in either direction — so a feature that starts to work must
//! be taken off the list. Files of the wasm 1.0 and 2.0 sets, which kiln
//! implements in full, may not be listed at all.
//!
//! After the run a table gives passed/failed/unsupported per file, with
//! totals per set of the testsuite (`sets/*.txt`) and per feature, and the
//! directives that passed although kiln words its reason differently from
//! the script.
//!
//! `KILN_BLESS=1` rewrites the expectations file from the run (files that
//! did not run keep their lines; failures are never written, they still
//! fail). `KILN_SPEC_OPT=0..3` changes the optimization level.

use kiln::wast::{Report, format_table, totals_line};
use kiln::{CompileOptions, OptLevel};
use kiln_tests::expectations::Expectations;
use kiln_tests::{testsuite_dir, testsuite_set};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The testsuite's sets, which together name every file once.
const SETS: &[&str] = &["wasm-1.0", "wasm-2.0", "wasm-3.0-core-a", "wasm-3.0-eh", "wasm-3.0-gc"];

/// Sets kiln implements in full: none of their files may be listed.
const COMPLETE_SETS: &[&str] = &["wasm-1.0", "wasm-2.0"];

/// What the expectations file starts with.
const HEADER: &str = "\
What kiln does not implement yet, as the spec testsuite (../shared/testsuite)
shows it: per file and feature, the directives kiln reports as unsupported
for that feature; then, one by one with the reason, the directives that
expect what an older standard said and must fail. Every other directive of
the testsuite must pass. tests/spec.rs fails when a run differs from this
file in any way. Rewrite the counts from a run with
`KILN_BLESS=1 cargo test -p kiln-tests --test spec` (superseded lines are
kept while they still fail; a run never adds one).";

fn expectations_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spec-expectations.txt")
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

fn bless() -> bool {
    std::env::var_os("KILN_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The expectations file, read and checked against the testsuite: every
/// file it lists exists, and none is in a complete set.
fn load_expectations(files: &[String], sets: &BTreeMap<&str, Vec<String>>) -> Result<Expectations, String> {
    let path = expectations_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let expectations = Expectations::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for file in expectations.files() {
        if !files.contains(file) {
            return Err(format!("{} lists {file}, which the testsuite does not have", path.display()));
        }
        if let Some(set) = COMPLETE_SETS.iter().find(|s| sets[**s].contains(file)) {
            return Err(format!(
                "{} lists {file}, a file of the {set} set, which kiln implements in full",
                path.display()
            ));
        }
    }
    Ok(expectations)
}

fn main() {
    let args = Arguments::from_args();
    let root = testsuite_dir();
    assert!(root.join("MANIFEST.md").is_file(), "spec testsuite not found at {}; set KILN_TESTSUITE", root.display());
    let mut files = Vec::new();
    wast_files(&root, &root, &mut files);
    files.sort();
    let sets: BTreeMap<&str, Vec<String>> = SETS.iter().map(|s| (*s, testsuite_set(s))).collect();

    let expectations = load_expectations(&files, &sets);
    let reports = Arc::new(Mutex::new(Vec::<Report>::new()));
    let mut trials = Vec::new();
    {
        let expectations = expectations.clone();
        trials.push(Trial::test("expectations-file", move || expectations.map(drop).map_err(Failed::from)));
    }
    {
        let (files, sets) = (files.clone(), sets.clone());
        trials.push(Trial::test("sets-name-every-file-once", move || sets_cover(&files, &sets)));
    }
    let expectations = Arc::new(expectations.unwrap_or_default());
    for file in &files {
        let (reports, expectations) = (Arc::clone(&reports), Arc::clone(&expectations));
        let (path, file) = (root.join(file), file.clone());
        trials.push(Trial::test(file.clone(), move || {
            let source = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let report = kiln::wast::run_script(&file, &source, &options());
            let verdict = if bless() {
                // Only failures count: the counts are being rewritten.
                Expectations::from_reports([&report], &expectations).check(&report)
            } else {
                expectations.check(&report)
            };
            reports.lock().unwrap().push(report);
            verdict.map_err(Failed::from)
        }));
    }
    let conclusion = libtest_mimic::run(&args, trials);

    let mut reports = reports.lock().unwrap().clone();
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    if !reports.is_empty() {
        summarize(&reports, &sets, &expectations, reports.len() == files.len());
    }
    if bless() && !reports.is_empty() {
        let mut blessed = (*expectations).clone();
        let ran: Vec<&String> = reports.iter().map(|r| &r.name).collect();
        blessed.update(&ran, Expectations::from_reports(&reports, &expectations));
        let path = expectations_path();
        std::fs::write(&path, blessed.render(HEADER))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("\nwrote {} ({} files ran)", path.display(), reports.len());
    }
    conclusion.exit();
}

/// The sets name every file of the testsuite, each once.
fn sets_cover(files: &[String], sets: &BTreeMap<&str, Vec<String>>) -> Result<(), Failed> {
    let mut seen: BTreeMap<&String, &str> = BTreeMap::new();
    for (set, names) in sets {
        for name in names {
            if let Some(other) = seen.insert(name, set) {
                return Err(format!("{name} is in both {other} and {set}").into());
            }
            if !files.contains(name) {
                return Err(format!("{set} names {name}, which the testsuite does not have").into());
            }
        }
    }
    let missing: Vec<&String> = files.iter().filter(|f| !seen.contains_key(f)).collect();
    if missing.is_empty() { Ok(()) } else { Err(format!("in no set: {missing:?}").into()) }
}

/// Prints the per-file table, totals per set and per feature (with this
/// run's where they differ, when every file ran), and the rewordings.
fn summarize(reports: &[Report], sets: &BTreeMap<&str, Vec<String>>, expectations: &Expectations, all_ran: bool) {
    println!("\nWebAssembly spec testsuite (kiln, {:?}):\n", options().opt_level);
    print!("{}", format_table(reports));
    println!("\nPer set:");
    for (set, names) in sets {
        let names: HashSet<&String> = names.iter().collect();
        let picked: Vec<Report> = reports.iter().filter(|r| names.contains(&r.name)).cloned().collect();
        println!("  {set:<16} {:>3} files: {}", picked.len(), totals_line(&picked));
    }
    println!("  {:<16} {:>3} files: {}", "all", reports.len(), totals_line(reports));

    println!("\nUnsupported, per feature (the expectations file's totals; files, directives):");
    let run = Expectations::from_reports(reports, expectations).totals();
    let listed = expectations.totals();
    let width = listed.keys().chain(run.keys()).map(String::len).max().unwrap_or(0);
    for feature in listed.keys().chain(run.keys().filter(|f| !listed.contains_key(*f))) {
        let (files, directives) = listed.get(feature).copied().unwrap_or((0, 0));
        let this_run = run.get(feature).copied().unwrap_or((0, 0));
        let note = if this_run == (files, directives) || !all_ran {
            String::new()
        } else {
            format!("   (this run: {}, {})", this_run.0, this_run.1)
        };
        println!("  {feature:<width$}  {files:>3} {directives:>6}{note}");
    }

    let superseded: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            let listed = expectations.superseded.get(&r.name);
            r.failures
                .iter()
                .filter(move |f| listed.is_some_and(|l| l.contains_key(&f.line)))
                .map(move |f| r.describe(f))
        })
        .collect();
    println!("\nFailed as the expectations file says, expecting what an older standard said ({}):", superseded.len());
    for line in &superseded {
        println!("  {line}");
    }

    // Grouped by the pair of texts, most frequent first.
    let mut pairs: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for report in reports {
        for r in &report.rewordings {
            pairs.entry((&r.expected, &r.actual)).or_default().push(format!("{}:{}", report.name, r.line));
        }
    }
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let reworded: usize = pairs.iter().map(|(_, at)| at.len()).sum();
    println!("\nPassed, but kiln's reason is worded differently from the script's ({reworded} directives):");
    for ((expected, actual), at) in pairs {
        println!("  {:>4}  expected `{expected}`, kiln: `{actual}`: {}", at.len(), at.join(" "));
    }
}
