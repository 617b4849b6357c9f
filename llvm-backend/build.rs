//! Builds `src/target/subtarget.cpp`, a small C++ shim over LLVM's
//! `MCSubtargetInfo` (the C API cannot list a target's CPUs or say which
//! features a CPU implies), against the headers of the LLVM 19 that
//! `llvm-sys` links: `$LLVM_SYS_191_PREFIX/bin/llvm-config` when that is
//! set, as `llvm-sys` does, else the first `llvm-config` of version 19 on
//! the `PATH`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "src/target/subtarget.cpp";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-env-changed=LLVM_SYS_191_PREFIX");
    println!("cargo:rerun-if-env-changed=PATH");
    let config = llvm_config().unwrap_or_else(|| {
        panic!(
            "kiln-llvm needs LLVM 19's llvm-config (set LLVM_SYS_191_PREFIX, or install llvm-19-dev: scripts/setup.sh)"
        )
    });
    let include = run(&config, "--includedir").expect("llvm-config --includedir");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .file(source)
        // A system include: warnings in LLVM's headers are not ours.
        .flag("-isystem")
        .flag(include.trim())
        // LLVM is built without exceptions or RTTI.
        .flag("-fno-exceptions")
        .flag("-fno-rtti")
        .warnings(true)
        .compile("kiln_subtarget");
}

fn run(config: &PathBuf, arg: &str) -> Option<String> {
    let out = Command::new(config).arg(arg).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn llvm_config() -> Option<PathBuf> {
    let is_19 = |c: &PathBuf| run(c, "--version").is_some_and(|v| v.starts_with("19."));
    if let Some(prefix) = std::env::var_os("LLVM_SYS_191_PREFIX") {
        return Some(PathBuf::from(prefix).join("bin/llvm-config")).filter(is_19);
    }
    ["llvm-config-19", "llvm-config"].into_iter().map(PathBuf::from).find(is_19)
}
