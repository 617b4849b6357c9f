//! Differential test: C kernels compiled to wasm with clang and run
//! through kiln (and the test runtime) must give bit-identical results to
//! the same C compiled natively. Skipped when clang-19 or wasm-ld is
//! missing; needs an x86_64 Linux host (the test runtime's trap handling).
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod support;

use kiln_abi::metadata::BoundsChecks;
use kiln_llvm::{CompileOptions, OptLevel, compile};
use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use support::runtime::{Exports, Instance, Library, Val};

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn c_kernels_match_native() {
    if Command::new("clang-19").arg("--version").output().is_err()
        || Command::new("wasm-ld-19").arg("--version").output().is_err()
    {
        eprintln!("skipped: clang-19 / wasm-ld-19 not installed (scripts/setup.sh)");
        return;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let dir = tempfile::tempdir().unwrap();
    let wasm_path = dir.path().join("kernels.wasm");
    run(Command::new("clang-19")
        .args([
            "--target=wasm32",
            "-O2",
            "-mcpu=mvp",
            "-nostdlib",
            "-fuse-ld=lld",
            "-Wl,--no-entry",
            "-Wl,--export-all",
        ])
        .arg(src.join("kernels.c"))
        .arg("-o")
        .arg(&wasm_path));
    let native = dir.path().join("native");
    run(Command::new("clang-19").arg("-O2").arg(src.join("main.c")).arg(src.join("kernels.c")).arg("-o").arg(&native));
    let expected: Vec<u64> =
        String::from_utf8(run(&mut Command::new(&native))).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    let wasm = std::fs::read(&wasm_path).unwrap();

    let configs = [
        CompileOptions::default(),
        CompileOptions { opt_level: OptLevel::O0, ..Default::default() },
        CompileOptions { opt_level: OptLevel::O3, bounds_checks: BoundsChecks::Explicit, ..Default::default() },
    ];
    for opts in configs {
        let compiled = compile(&wasm, &opts).unwrap();
        let library = Rc::new(Library::load(&compiled.object).unwrap());
        let marker = 0u8;
        let limit = &marker as *const u8 as usize - (1 << 20);
        let resolve = |_: &str| -> Option<Rc<dyn Exports>> { None };
        let Ok(instance) = Instance::new(compiled.metadata, library, &resolve, limit) else { panic!("instantiation") };
        let call = |name: &str, args: &[Val]| instance.invoke(name, args).unwrap().unwrap()[0];
        let got = [
            call("run_hash", &[Val::I32(4000)]),
            call("mandel", &[Val::I32(120), Val::I32(80), Val::I32(200)]),
            call("sort_sum", &[Val::I32(500)]),
            call("fib", &[Val::I32(25)]),
            call("fsum", &[Val::I32(100000)]),
        ];
        let got: Vec<u64> = got
            .iter()
            .map(|v| match *v {
                Val::I32(x) => x as u32 as u64,
                Val::I64(x) => x as u64,
                Val::F32(x) => u64::from(x),
                Val::F64(x) => x,
            })
            .collect();
        assert_eq!(got, expected, "{:?} / {:?}", opts.opt_level, opts.bounds_checks);
    }
}
