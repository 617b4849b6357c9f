//! Differential test: small C kernels (`programs/kernels.c`) built with
//! clang-19 for wasm32 and run through the whole kiln pipeline must give
//! bit-identical results to the same C built natively (`programs/main.c`
//! prints the reference), at -O0, -O2 and -O3 with both bounds-check
//! modes. clang-19 and its wasm linker come from `scripts/setup.sh`; when
//! they are missing the test fails and says so.

mod pipeline;

use kiln::OptLevel;
use kiln_loader::{Engine, Linker, Store, Val};
use pipeline::{call, configurations, describe, library, load, require_tool};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The calls to make, in the order `main.c` prints their results.
fn calls() -> [(&'static str, Vec<Val>); 5] {
    [
        ("run_hash", vec![Val::I32(4000)]),
        ("mandel", vec![Val::I32(120), Val::I32(80), Val::I32(200)]),
        ("sort_sum", vec![Val::I32(500)]),
        ("fib", vec![Val::I32(25)]),
        ("fsum", vec![Val::I32(100000)]),
    ]
}

/// The kernels as wasm, and the native reference results (raw bits).
struct Programs {
    wasm: Vec<u8>,
    expected: Vec<u64>,
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Builds the kernels once per test process.
fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        require_tool("clang-19");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let wasm_path = dir.path().join("kernels.wasm");
        let wasm_build = Command::new("clang-19")
            .args(["--target=wasm32", "-O2", "-mcpu=mvp", "-nostdlib", "-fuse-ld=lld"])
            .args(["-Wl,--no-entry", "-Wl,--export-all"])
            .arg(src.join("kernels.c"))
            .arg("-o")
            .arg(&wasm_path)
            .output()
            .expect("running clang-19");
        assert!(
            wasm_build.status.success(),
            "clang-19 cannot build wasm32 (its wasm-ld comes with lld-19; scripts/setup.sh installs both):\n{}",
            String::from_utf8_lossy(&wasm_build.stderr)
        );
        let native: PathBuf = dir.path().join("native");
        run(Command::new("clang-19")
            .arg("-O2")
            .arg(src.join("main.c"))
            .arg(src.join("kernels.c"))
            .arg("-o")
            .arg(&native));
        let expected = String::from_utf8(run(&mut Command::new(&native)))
            .expect("UTF-8 output")
            .lines()
            .map(|l| l.parse().unwrap_or_else(|e| panic!("native output `{l}`: {e}")))
            .collect();
        Programs { wasm: std::fs::read(&wasm_path).expect("the wasm build"), expected }
    })
}

fn bits(value: &Val) -> u64 {
    match *value {
        Val::I32(x) => u64::from(x as u32),
        Val::I64(x) => x as u64,
        Val::F32(x) => u64::from(x),
        Val::F64(x) => x,
        ref other => panic!("unexpected result {other:?}"),
    }
}

fn check(level: OptLevel) {
    let programs = programs();
    for opts in configurations(&[level]) {
        let at = describe(&opts);
        let lib = library(&programs.wasm, &opts);
        let engine = Engine::default();
        let module = load(&engine, &lib);
        let mut store = Store::new(&engine);
        let instance = Linker::new(&engine).instantiate(&mut store, &module).expect("instantiation");
        let got: Vec<u64> = calls()
            .iter()
            .map(|(name, args)| {
                let results = call(&mut store, &instance, name, args).unwrap_or_else(|e| panic!("{name} at {at}: {e}"));
                bits(&results[0])
            })
            .collect();
        assert_eq!(got, programs.expected, "kernels at {at} differ from native");
    }
}

#[test]
fn c_kernels_match_native_at_o0() {
    check(OptLevel::O0);
}

#[test]
fn c_kernels_match_native_at_o2() {
    check(OptLevel::O2);
}

#[test]
fn c_kernels_match_native_at_o3() {
    check(OptLevel::O3);
}
