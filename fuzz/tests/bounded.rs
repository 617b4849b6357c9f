//! The bounded, seeded run of every fuzz target that `cargo test` does:
//! a few hundred fixed inputs each, through the same driver and worker
//! processes as a campaign (`scripts/fuzz.sh`), so a crash fails its seed
//! instead of the test binary. A failure lists the failing seeds; each one
//! is reproduced with `kiln-fuzz TARGET --repro --seed N`, and the failing
//! inputs are saved in a temporary directory whose path the failure shows.
//!
//! The differential target runs in both bounds-check modes.

use std::process::Command;

/// Runs `inputs` seeds of `target` from `first_seed` with `extra`
/// options and asserts that none failed and that at least `min_passed`
/// inputs were used (a run that skipped everything proves nothing).
fn bounded_run(target: &str, first_seed: u64, inputs: u64, min_passed: u64, extra: &[&str]) {
    let artifacts = tempfile::Builder::new().prefix("kiln-fuzz-bounded-").tempdir().expect("a temporary directory");
    let artifacts = artifacts.keep();
    let output = Command::new(env!("CARGO_BIN_EXE_kiln-fuzz"))
        .arg(target)
        .args(["--inputs", &inputs.to_string(), "--seed", &first_seed.to_string(), "--jobs", "1"])
        .arg("--artifacts")
        .arg(&artifacts)
        .args(extra)
        .output()
        .expect("running kiln-fuzz");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stdout.lines().last().unwrap_or("");
    let counts: Vec<u64> =
        last.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|n| n.parse().unwrap()).collect();
    let what = format!("{target} {extra:?}, seeds {first_seed}..{}", first_seed + inputs);
    assert!(
        output.status.success() && counts.len() == 2 && counts[1] == 0,
        "{what}: {last}; failing inputs saved in {}\n{stdout}\n{stderr}",
        artifacts.display()
    );
    assert!(counts[0] >= min_passed, "{what}: only {} of {inputs} inputs were used\n{stdout}", counts[0]);
    let _ = std::fs::remove_dir_all(&artifacts);
}

#[test]
fn differential_with_explicit_bounds_checks() {
    bounded_run("differential", 0, 150, 130, &["--bounds-checks", "explicit"]);
}

#[test]
fn differential_with_guard_regions() {
    bounded_run("differential", 0, 150, 130, &["--bounds-checks", "guard"]);
}

#[test]
fn compiler_on_bytes_and_generated_modules() {
    bounded_run("compile", 0, 150, 120, &[]);
}

#[test]
fn loader_on_mutated_libraries() {
    bounded_run("loader", 0, 300, 280, &[]);
}

/// Seed 5303 of the differential target, found by a campaign: kiln -O0
/// (either bounds-check mode) never finished compiling its module, as
/// LLVM 19's `llc -O0` loops in the DAG combiner on a chain of SIMD
/// operations on constants. Minimized (wasm-smith's module, its IR with
/// llvm-reduce): an `icmp sle` of two constant vectors, `sext`,
/// `ctpop.v16i8`, one lane extracted and used as an address. The IR
/// builder cannot fold a bitcast between lane shapes without a data
/// layout, so kiln folds those itself (`codegen/fold.rs`) and -O0 runs
/// `instsimplify`, which folds the rest; -O1 and up fold it anyway. A
/// worker that spends 120 s on one input is killed and the input failed,
/// so a hang fails this test instead of hanging the suite.
#[test]
fn differential_seed_5303_compiles_at_o0() {
    bounded_run("differential", 5303, 1, 1, &["--bounds-checks", "explicit"]);
}
