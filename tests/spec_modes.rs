//! The spec scripts that exercise memory accesses and numerics, run again
//! in the configurations the main spec test (`spec.rs`, -O2 with guard
//! regions) does not cover: explicit bounds checks, and -O0 (no inlining,
//! no folding, every multi-value return area in memory). All of them are
//! in the testsuite's wasm 1.0 and 2.0 sets, which kiln implements in full,
//! or are multi-memory and memory64 scripts of the wasm 3.0 set that need
//! nothing else kiln lacks, so every directive must pass: none may fail or be
//! unsupported (the same rule `spec.rs` applies to the 1.0 and 2.0 sets).

use kiln::{CompileOptions, OptLevel};
use kiln_abi::metadata::BoundsChecks;
use kiln_tests::{testsuite_dir, testsuite_set};
use libtest_mimic::{Arguments, Failed, Trial};

/// Scripts about memory accesses and their traps.
const MEMORY: &[&str] = &[
    "address.wast",
    "memory_trap.wast",
    "single-memory/memory_grow.wast",
    "load.wast",
    "store.wast",
    "endianness.wast",
    "simd_address.wast",
    "simd_load.wast",
    "simd_store.wast",
    "simd_load_extend.wast",
    "simd_load_splat.wast",
    "simd_load_zero.wast",
    "simd_load16_lane.wast",
    "simd_store64_lane.wast",
];

/// Multi-memory scripts (wasm 3.0) about accesses, traps, growth and bulk
/// operations in several memories: each memory's checks against its own
/// length matter in both bounds-check modes.
const MULTI_MEMORY: &[&str] = &[
    "memory-multi.wast",
    "address1.wast",
    "load2.wast",
    "store2.wast",
    "memory_trap1.wast",
    "memory_grow.wast",
    "memory_copy1.wast",
    "memory_fill0.wast",
    "memory_init0.wast",
    "simd_memory-multi.wast",
];

/// 64-bit memory and table scripts (wasm 3.0): every access of a 64-bit
/// memory keeps its explicit check in both modes, and their `i64` forms
/// (wrapping addresses, bulk ranges, table indices) are checked the same
/// way at every level.
const MEMORY64: &[&str] = &[
    "address64.wast",
    "align64.wast",
    "bulk64.wast",
    "endianness64.wast",
    "float_memory64.wast",
    "load64.wast",
    "memory64.wast",
    "memory_copy64.wast",
    "memory_fill64.wast",
    "memory_grow64.wast",
    "memory_init64.wast",
    "memory_redundancy64.wast",
    "memory_trap64.wast",
    "memory64-imports.wast",
    "call_indirect64.wast",
    "table_copy64.wast",
    "table_copy_mixed.wast",
    "table_fill64.wast",
    "table_get64.wast",
    "table_grow64.wast",
    "table_set64.wast",
    "table_size64.wast",
    // One-byte pages, which keep their checks in both modes too.
    "proposals/custom-page-sizes/custom-page-sizes.wast",
];

/// Scripts about bulk memory and table operations, whose explicit checks
/// (before any `memmove`/`memset`) matter in both bounds-check modes.
const BULK: &[&str] = &[
    "bulk.wast",
    "memory_copy.wast",
    "memory_fill.wast",
    "memory_init.wast",
    "table_copy.wast",
    "table_fill.wast",
    "table_get.wast",
    "table_set.wast",
    "table_grow.wast",
    "ref_func.wast",
    "call_indirect.wast",
];

/// Scripts about numerics, calls and several results.
const NUMERIC: &[&str] = &[
    "i32.wast",
    "i64.wast",
    "f32.wast",
    "f64.wast",
    "conversions.wast",
    "float_exprs.wast",
    "call.wast",
    "func_ptrs.wast",
    "left-to-right.wast",
    "block.wast",
    "return.wast",
    "unwind.wast",
    "traps.wast",
    "simd_f32x4_arith.wast",
    "simd_f64x2_arith.wast",
    "simd_f32x4_pmin_pmax.wast",
    "simd_conversions.wast",
    "simd_i32x4_trunc_sat_f32x4.wast",
    "simd_i32x4_trunc_sat_f64x2.wast",
    "simd_i16x8_q15mulr_sat_s.wast",
    "simd_lane.wast",
];

fn run(file: &str, opts: &CompileOptions) -> Result<(), Failed> {
    let path = testsuite_dir().join(file);
    let report = kiln::wast::run_file(&path, opts);
    if report.failed == 0 && report.unsupported.is_empty() && report.passed > 0 {
        return Ok(());
    }
    let mut message = format!(
        "{file}: {} passed, {} failed, {} unsupported",
        report.passed,
        report.failed,
        report.unsupported_total()
    );
    for failure in report.failures.iter().take(20) {
        message.push_str("\n  ");
        message.push_str(&report.describe(failure));
    }
    if !report.unsupported.is_empty() {
        message.push_str(&format!("\n  unsupported: {}", report.unsupported_summary()));
    }
    Err(message.into())
}

fn main() {
    let args = Arguments::from_args();
    let root = testsuite_dir();
    assert!(root.join("MANIFEST.md").is_file(), "spec testsuite not found at {}; set KILN_TESTSUITE", root.display());
    let complete: Vec<String> = ["wasm-1.0", "wasm-2.0"].iter().flat_map(|s| testsuite_set(s)).collect();
    for file in MEMORY.iter().chain(BULK).chain(NUMERIC) {
        assert!(complete.iter().any(|f| f == file), "{file} is not in the wasm 1.0 or 2.0 set");
    }
    let core = testsuite_set("wasm-3.0-core-a");
    for file in MULTI_MEMORY.iter().chain(MEMORY64) {
        assert!(core.iter().any(|f| f == file), "{file} is not in the wasm 3.0 core set");
    }
    let explicit = CompileOptions { bounds_checks: BoundsChecks::Explicit, ..CompileOptions::default() };
    let o0 = CompileOptions { opt_level: OptLevel::O0, ..CompileOptions::default() };
    let mut trials = Vec::new();
    for &file in MEMORY.iter().chain(BULK).chain(MULTI_MEMORY).chain(MEMORY64) {
        let opts = explicit.clone();
        trials.push(Trial::test(format!("explicit/{file}"), move || run(file, &opts)));
    }
    for &file in NUMERIC.iter().chain(MEMORY).chain(BULK).chain(MULTI_MEMORY).chain(MEMORY64) {
        let opts = o0.clone();
        trials.push(Trial::test(format!("O0/{file}"), move || run(file, &opts)));
    }
    libtest_mimic::run(&args, trials).exit();
}
