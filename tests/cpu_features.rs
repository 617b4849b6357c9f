//! CPU features end to end: an artifact built for this machine
//! (`--cpu native`) loads and runs here, scalar and SIMD; one built for a
//! CPU a host lacks is refused with the missing features named; and the
//! loader's detection agrees with LLVM's on this host.

mod pipeline;

use kiln::CompileOptions;
use kiln_abi::cpu::Need;
use kiln_abi::target::Target;
use kiln_loader::cpu::HostCpu;
use kiln_loader::{LoadErrorKind, Val, read_metadata};
use pipeline::{call, instantiate, wat_library};

/// Scalar and SIMD code (the SIMD part is vectorized for wide CPUs: a sum
/// over 64 lanes of memory).
const MODULE: &str = r#"(module
  (memory 1)
  (func (export "mix") (param i32 i32) (result i32)
    (i32.add (i32.mul (local.get 0) (local.get 1)) (i32.popcnt (local.get 0))))
  (func (export "dot") (param i32) (result i32)
    (i32x4.extract_lane 0 (i32x4.dot_i16x8_s
      (i16x8.splat (local.get 0)) (v128.const i16x8 1 2 3 4 5 6 7 8))))
  (func (export "sum") (param i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (i32.mul (local.get $i) (local.get 0)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64))))
    (local.set $i (i32.const 0))
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64))))
    (local.get $s)))"#;

fn options(target: &str, cpu: &str) -> CompileOptions {
    CompileOptions { target: Target::parse(target).unwrap(), cpu: Some(cpu.to_string()), ..CompileOptions::default() }
}

/// The features an artifact for `cpu` records.
fn recorded(target: &str, cpu: &str) -> Vec<String> {
    let library = wat_library(MODULE, &options(target, cpu));
    let meta = read_metadata(&library.path).unwrap();
    meta.get().target.features.iter().map(|f| f.to_string()).collect()
}

/// Building for the machine you are on is the most common use of
/// `--cpu native`: it must load and run, whatever the host has (AVX-512
/// and its pseudo feature `evex512` included).
#[test]
fn native_artifacts_run_here() {
    let opts = CompileOptions { cpu: Some("native".into()), ..CompileOptions::default() };
    let (mut store, instance, _library) = instantiate(MODULE, &opts);
    let i32s = |v: Vec<Val>| v.into_iter().map(|v| v.i32().unwrap()).collect::<Vec<_>>();
    assert_eq!(i32s(call(&mut store, &instance, "mix", &[Val::I32(6), Val::I32(7)]).unwrap()), [44]);
    assert_eq!(i32s(call(&mut store, &instance, "dot", &[Val::I32(3)]).unwrap()), [9]);
    // 3 * (0 + 1 + ... + 63)
    assert_eq!(i32s(call(&mut store, &instance, "sum", &[Val::I32(3)]).unwrap()), [3 * 2016]);
}

/// The x86-64-v4 level is v3 plus five AVX-512 extensions (the psABI's
/// definition). An artifact for it is refused by a host without them,
/// naming each, and accepted by one with them.
#[test]
fn x86_64_v4_is_refused_without_avx512() {
    let x86 = "x86_64-unknown-linux-gnu";
    let v4 = recorded(x86, "x86-64-v4");
    let v3_host = HostCpu::with_features(
        target_lexicon::Architecture::X86_64,
        recorded(x86, "x86-64-v3").iter().map(String::as_str),
    );
    let avx512 = ["avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"];
    match v3_host.check(v4.iter().map(String::as_str)) {
        Err(LoadErrorKind::MissingCpuFeatures(missing)) => assert_eq!(missing, avx512),
        other => panic!("{other:?}"),
    }
    let e = kiln_loader::LoadErrorKind::MissingCpuFeatures(avx512.map(String::from).to_vec()).to_string();
    assert_eq!(e, "requires CPU features this host lacks: avx512bw, avx512cd, avx512dq, avx512f, avx512vl");
    let v4_host = HostCpu::with_features(
        target_lexicon::Architecture::X86_64,
        recorded(x86, "x86-64-v3").iter().map(String::as_str).chain(avx512),
    );
    v4_host.check(v4.iter().map(String::as_str)).unwrap();
}

/// On this machine: an x86-64-v4 artifact runs where AVX-512 is there and
/// is refused, naming it, where it is not.
#[cfg(target_arch = "x86_64")]
#[test]
fn x86_64_v4_on_this_host() {
    let library = wat_library(MODULE, &options("x86_64-unknown-linux-gnu", "x86-64-v4"));
    let engine = kiln_loader::Engine::default();
    let result = kiln_loader::Module::from_file(&engine, &library.path);
    if HostCpu::current().has("avx512f") && HostCpu::current().has("avx512vl") {
        result.expect("this host has AVX-512");
    } else {
        let e = result.unwrap_err();
        assert!(
            e.to_string().contains("requires CPU features this host lacks: ") && e.to_string().contains("avx512f"),
            "{e}"
        );
    }
}

/// AArch64 hosts with and without SVE, against an artifact for a CPU
/// with SVE2.
#[test]
fn aarch64_sve_is_checked() {
    let arm = "aarch64-unknown-linux-gnu";
    let v2 = recorded(arm, "neoverse-v2");
    let arch = Target::parse(arm).unwrap().architecture();
    let n1 = recorded(arm, "neoverse-n1");
    let without = HostCpu::with_features(arch, n1.iter().map(String::as_str));
    match without.check(v2.iter().map(String::as_str)) {
        Err(LoadErrorKind::MissingCpuFeatures(missing)) => {
            for f in ["sve", "sve2", "sve2-bitperm", "bf16", "i8mm"] {
                assert!(missing.iter().any(|m| m == f), "{f} not in {missing:?}");
            }
        }
        other => panic!("{other:?}"),
    }
    let with = HostCpu::with_features(arch, v2.iter().map(String::as_str));
    with.check(v2.iter().map(String::as_str)).unwrap();
}

/// What LLVM detects on this host (`-mcpu=native`) and what the loader
/// detects agree on every feature the loader detects: an artifact built
/// here never needs a feature the loader thinks is absent, and the loader
/// never believes in one LLVM found missing.
#[test]
fn loader_detection_agrees_with_llvm_here() {
    let (cpu, features) = kiln::host_cpu();
    let host = HostCpu::current();
    let arch = host.architecture();
    let mut compared = 0;
    for flag in features.split(',').filter(|f| !f.is_empty()) {
        let (present, name) = flag.split_at(1);
        if let Some(Need::Detect(_)) = kiln_abi::cpu::need(arch, name) {
            assert_eq!(host.has(name), present == "+", "`{name}` on this {cpu}: LLVM says {present}");
            compared += 1;
        }
    }
    if cfg!(target_arch = "x86_64") {
        assert!(compared > 80, "only {compared} features compared");
    }
}

#[test]
fn every_recorded_feature_is_a_hardware_requirement() {
    for (target, cpu) in [("x86_64-unknown-linux-gnu", "znver4"), ("aarch64-unknown-linux-gnu", "neoverse-v2")] {
        let arch = Target::parse(target).unwrap().architecture();
        for f in recorded(target, cpu) {
            assert!(matches!(kiln_abi::cpu::need(arch, &f), Some(Need::Detect(_))), "{cpu}: {f}");
        }
    }
}
