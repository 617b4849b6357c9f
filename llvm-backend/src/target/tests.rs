//! The CPU knowledge of `target` against LLVM 19 itself: every CPU LLVM
//! knows for the three architectures kiln targets is accepted (or refused
//! as not 64-bit), and every feature it implies is one the loader's tables
//! classify; the tables name exactly LLVM's features.

use super::*;
use kiln_abi::cpu::{self, Need};

const TRIPLES: [&str; 3] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu"];

fn subtarget(triple: &str) -> (Target, Subtarget) {
    initialize_llvm();
    let target = Target::parse(triple).unwrap();
    let llvm = Subtarget::new(&target.llvm_triple()).unwrap();
    (target, llvm)
}

fn options(triple: &str, cpu: &str) -> CompileOptions {
    CompileOptions { target: Target::parse(triple).unwrap(), cpu: Some(cpu.to_string()), ..CompileOptions::default() }
}

/// The tables in `kiln_abi::cpu` cannot drift from LLVM 19: they list
/// exactly the feature names LLVM has for each architecture.
#[test]
fn loader_tables_name_exactly_llvms_features() {
    for triple in TRIPLES {
        let (target, llvm) = subtarget(triple);
        let table: Vec<&str> = cpu::features(target.architecture()).unwrap().iter().map(|(n, _)| *n).collect();
        let missing: Vec<&String> = llvm.features.iter().filter(|f| !table.contains(&f.as_str())).collect();
        let extra: Vec<&&str> = table.iter().filter(|t| !llvm.has_feature(t)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{triple}: not in the table: {missing:?}; not LLVM's: {extra:?}"
        );
    }
}

/// Every CPU name LLVM knows: either it runs 64-bit code and the artifact
/// for it records only features the loader detects (or, on RISC-V, knows
/// to be undetectable), or it is refused as a 32-bit CPU.
#[test]
fn every_llvm_cpu_is_understood_by_the_loader() {
    let mut checked = 0;
    for triple in TRIPLES {
        let (target, llvm) = subtarget(triple);
        let arch = target.architecture();
        assert!(llvm.cpus.len() > 20, "{triple}: {} CPUs", llvm.cpus.len());
        for name in &llvm.cpus {
            let setup = match setup(&options(triple, name)) {
                Ok(setup) => setup,
                Err(CompileError::Target(m)) if m.contains("does not run 64-bit code") => {
                    assert!(!llvm.enabled(name, &[]).iter().any(|f| f == "64bit"), "{triple} {name}: {m}");
                    continue;
                }
                Err(e) => panic!("{triple}: CPU `{name}`: {e}"),
            };
            for feature in &setup.info.features {
                match cpu::need(arch, feature) {
                    Some(Need::Detect(_)) => {}
                    Some(Need::Undetectable) if triple.starts_with("riscv64") => {}
                    other => {
                        panic!("{triple}: CPU `{name}` requires `{feature}`, which the loader classifies as {other:?}")
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked} CPUs checked");
}

/// What a CPU implies is LLVM's closure, less the baseline: x86-64-v4 is
/// v3 plus the AVX-512 foundation, never the pseudo feature `evex512`.
#[test]
fn named_cpus_record_their_features() {
    let features = |triple: &str, cpu: &str| setup(&options(triple, cpu)).unwrap().info.features;
    let v2 = features(TRIPLES[0], "x86-64-v2");
    assert_eq!(v2, ["crc32", "cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3"]);
    let v4 = features(TRIPLES[0], "x86-64-v4");
    for f in ["avx2", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "fma", "bmi2", "movbe", "xsave"] {
        assert!(v4.iter().any(|x| x == f), "{f} in {v4:?}");
    }
    assert!(!v4.iter().any(|f| f == "evex512" || f == "sse2" || f == "cmov"), "{v4:?}");
    assert!(features(TRIPLES[0], "x86-64").is_empty());
    let znver4 = features(TRIPLES[0], "znver4");
    assert!(znver4.iter().any(|f| f == "avx512vbmi2") && !znver4.iter().any(|f| f.starts_with("fast-")), "{znver4:?}");
    let v2_arm = features(TRIPLES[1], "neoverse-v2");
    for f in ["sve", "sve2", "lse", "crc", "dotprod", "i8mm", "bf16"] {
        assert!(v2_arm.iter().any(|x| x == f), "{f} in {v2_arm:?}");
    }
    assert!(!v2_arm.iter().any(|f| f.starts_with('v') && f.ends_with('a')), "no architecture version: {v2_arm:?}");
    assert!(features(TRIPLES[1], "generic").is_empty());
    assert!(features(TRIPLES[1], "apple-m1").iter().any(|f| f == "sha3"));
    let u74 = features(TRIPLES[2], "sifive-u74");
    assert!(u74.is_empty(), "rv64gc is the baseline: {u74:?}");
    let x280 = features(TRIPLES[2], "sifive-x280");
    assert!(x280.iter().any(|f| f == "v") && x280.iter().any(|f| f == "zvl512b"), "{x280:?}");
}

/// `--features` are applied with LLVM's implications, both ways.
#[test]
fn feature_flags_follow_llvm_implications() {
    let opts = |features: &[&str]| CompileOptions {
        features: features.iter().map(|f| f.to_string()).collect(),
        ..options(TRIPLES[0], "x86-64-v2")
    };
    let avx2 = setup(&opts(&["+avx2"])).unwrap().info.features;
    assert!(avx2.iter().any(|f| f == "avx") && avx2.iter().any(|f| f == "avx2"), "{avx2:?}");
    let no_sse42 = setup(&opts(&["+avx2", "-sse4.2"])).unwrap().info.features;
    assert!(!no_sse42.iter().any(|f| f == "sse4.2" || f == "avx" || f == "avx2"), "{no_sse42:?}");
    let znver4 = CompileOptions { features: vec!["-avx512f".into()], ..options(TRIPLES[0], "znver4") };
    let znver4 = setup(&znver4).unwrap().info.features;
    assert!(!znver4.iter().any(|f| f.starts_with("avx512")) && znver4.iter().any(|f| f == "avx2"), "{znver4:?}");
}

#[test]
fn unknown_and_32_bit_cpus_are_refused() {
    let err = |triple: &str, cpu: &str| match setup(&options(triple, cpu)) {
        Err(CompileError::Target(m)) => m,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("{triple}: `{cpu}` accepted"),
    };
    let e = err(TRIPLES[0], "znver9");
    assert!(e.contains("`znver9`") && e.contains(TRIPLES[0]) && e.contains("did you mean `znver"), "{e}");
    assert!(e.contains("-mcpu=help"), "{e}");
    let e = err(TRIPLES[0], "i686");
    assert!(e.contains("64-bit"), "{e}");
    let e = err(TRIPLES[2], "sifive-e76");
    assert!(e.contains("64-bit"), "{e}");
    assert!(setup(&options(TRIPLES[2], "generic")).is_ok());
}
