//! A C++ program that throws and catches across many frames
//! (`programs/exceptions.cpp`: typed catches at several depths,
//! destructors run during unwinding, rethrow, a throw from a catch block,
//! `catch (...)`), built with clang-19's `-fwasm-exceptions` and run by
//! kiln, must fold its events into the same checksums as its native
//! build. No C++ library with wasm exceptions is installed here, so the
//! wasm build links `programs/cxxabi_wasm.cpp`, a minimal C++ runtime
//! (allocation, throw, catch, rethrow and the wasm personality reading
//! LLVM's call-site tables); the native build uses the system's.
//! clang-19 emits the legacy exception instructions (`try`, `catch_all`,
//! `rethrow`, `delegate`), so this exercises those.

mod pipeline;

use kiln::OptLevel;
use kiln_loader::{Engine, Linker, Store, Val};
use pipeline::{call, configurations, describe, library, load, require_tool};
use std::path::Path;
use std::process::Command;

const ROUNDS: [i32; 4] = [0, 1, 10, 200];

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The program for wasm32 with wasm exceptions.
fn wasm(dir: &Path) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    let flags = ["--target=wasm32", "-mcpu=mvp", "-mexception-handling", "-fwasm-exceptions", "-O2", "-nostdlib"];
    for name in ["exceptions", "cxxabi_wasm"] {
        run(Command::new("clang++-19").args(flags).arg("-c").arg(src.join(format!("{name}.cpp"))).arg("-o").arg(dir.join(format!("{name}.o"))));
    }
    let out = dir.join("exceptions.wasm");
    run(Command::new("wasm-ld-19")
        .args(["--no-entry", "--export=run"])
        .arg(dir.join("exceptions.o"))
        .arg(dir.join("cxxabi_wasm.o"))
        .arg("-o")
        .arg(&out));
    std::fs::read(out).unwrap()
}

/// The native build's checksums, one per entry of [`ROUNDS`].
fn native(dir: &Path) -> Vec<u64> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/exceptions.cpp");
    let main = dir.join("main.cpp");
    let rounds: Vec<String> = ROUNDS.iter().map(i32::to_string).collect();
    std::fs::write(
        &main,
        format!(
            "#include <cstdio>\nextern \"C\" unsigned long long run(int);\n\
             int main() {{ int rounds[] = {{ {} }}; for (int r : rounds) std::printf(\"%llu\\n\", run(r)); }}\n",
            rounds.join(", ")
        ),
    )
    .unwrap();
    let exe = dir.join("native");
    run(Command::new("clang++-19").args(["-O2", "-o"]).arg(&exe).arg(&main).arg(&src));
    let text = String::from_utf8(run(&mut Command::new(&exe))).unwrap();
    text.lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn a_cpp_program_throws_and_catches_as_its_native_build_does() {
    require_tool("clang++-19");
    require_tool("wasm-ld-19");
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasm(dir.path());
    let expected = native(dir.path());
    assert_eq!(expected.len(), ROUNDS.len());
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let what = describe(&opts);
        let engine = Engine::default();
        let lib = library(&wasm, &opts);
        let mut store = Store::new(&engine);
        let instance = Linker::new(&engine).instantiate(&mut store, &load(&engine, &lib)).unwrap();
        for (&rounds, &want) in ROUNDS.iter().zip(&expected) {
            let got = call(&mut store, &instance, "run", &[Val::I32(rounds)]).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(got, [Val::I64(want as i64)], "{what}: run({rounds})");
        }
    }
}
