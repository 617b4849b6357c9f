//! Relaxed SIMD end to end: every operator, compiled for CPUs with
//! different instruction sets (so different lowerings: SSE2 only, SSSE3
//! and SSE4.1, FMA, this machine's), returns results inside the set the
//! spec allows, with one behaviour per operator and artifact, and the same
//! result every time for the same input. The allowed sets come from
//! `kiln_tests::relaxed`, written from the spec's numerics; the aarch64
//! and riscv64 lowerings are checked against the same sets under qemu
//! (`tests/qemu.rs`).

mod pipeline;

use kiln::CompileOptions;
use kiln_loader::Val;
use kiln_loader::cpu::HostCpu;
use kiln_tests::relaxed::{Choices, MODULE, OPERATORS, inputs};
use pipeline::{call, instantiate, wat_library};

const CALLS: usize = 400;

fn cpu(name: &str) -> CompileOptions {
    CompileOptions { cpu: Some(name.into()), ..CompileOptions::default() }
}

/// Whether this machine runs code built for `opts`.
fn runs_here(opts: &CompileOptions) -> bool {
    let library = wat_library(MODULE, opts);
    let meta = kiln_loader::read_metadata(&library.path).unwrap();
    HostCpu::current().check(meta.get().target.features.iter().map(|f| f.as_str())).is_ok()
}

/// Calls every operator on its inputs with code built for `opts`; returns
/// the failures.
fn check(opts: &CompileOptions) -> Vec<String> {
    let (mut store, instance, _library) = instantiate(MODULE, opts);
    let mut choices = Choices::default();
    let mut wrong = Vec::new();
    for &(name, params) in OPERATORS {
        for args in inputs(name, params, CALLS, 1) {
            let vals: Vec<Val> = args.iter().map(|&a| Val::V128(a)).collect();
            let run = |store: &mut _| match call(store, &instance, name, &vals).unwrap()[..] {
                [Val::V128(v)] => v,
                ref other => panic!("{name} returned {other:?}"),
            };
            let result = run(&mut store);
            if run(&mut store) != result {
                wrong.push(format!("{name}: two calls on the same input differ"));
            }
            if let Err(e) = choices.check(name, &args, result) {
                wrong.push(e);
                break;
            }
        }
    }
    wrong
}

#[test]
fn results_are_inside_the_allowed_sets_on_every_x86_level() {
    let mut checked = Vec::new();
    for name in ["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "native"] {
        let opts = cpu(name);
        if !runs_here(&opts) {
            continue;
        }
        let wrong = check(&opts);
        assert!(wrong.is_empty(), "--cpu {name}:\n{}", wrong.join("\n"));
        checked.push(name);
    }
    // Every x86-64 host runs the first two levels.
    assert!(checked.len() >= 2, "checked only {checked:?}");
    println!("relaxed SIMD results allowed for --cpu {}", checked.join(", "));
}

/// The checker itself: it accepts the deterministic behaviour, rejects a
/// result outside every allowed set, and rejects behaviours that change
/// between calls.
#[test]
fn the_checker_rejects_what_the_spec_does_not_allow() {
    let mut choices = Choices::default();
    // Index 20 of lane 0 selects 0 (behaviour 0) or lane 4 (behaviour 1).
    // The other lanes' index 0 selects a[0] = 0x10.
    let a: u128 = (0..16).fold(0, |v, i| v | ((0x10 + i as u128) << (8 * i)));
    let index_20 = 20u128;
    let rest: u128 = (1..16).fold(0, |v, i| v | (0x10 << (8 * i)));
    assert!(choices.check("i8x16.relaxed_swizzle", &[a, index_20], rest).is_ok());
    // Lane 0 = a[4] = 0x14 now needs behaviour 1, which the first call ruled out.
    let e = choices.check("i8x16.relaxed_swizzle", &[a, index_20], rest | 0x14).unwrap_err();
    assert!(e.contains("earlier calls chose"), "{e}");
    // Lane 0 = 0x33 is allowed by no behaviour.
    let mut fresh = Choices::default();
    let e = fresh.check("i8x16.relaxed_swizzle", &[a, index_20], rest | 0x33).unwrap_err();
    assert!(e.contains("outside every result"), "{e}");
    // In-range truncation is exact: 1.5 → 1, not 2.
    let one_and_a_half = u128::from(1.5f32.to_bits());
    assert!(fresh.check("i32x4.relaxed_trunc_f32x4_s", &[one_and_a_half], 1).is_ok());
    assert!(fresh.check("i32x4.relaxed_trunc_f32x4_s", &[one_and_a_half], 2).is_err());
    // A fused and an unfused multiply-add differ here; each alone is fine,
    // both from one artifact are not.
    let (x, y, z) = (1.0f32 + f32::EPSILON, 1.0f32 - f32::EPSILON, -1.0f32);
    let splat = |v: f32| (0..4).fold(0u128, |acc, i| acc | (u128::from(v.to_bits()) << (32 * i)));
    let (unfused, fused) = (splat(x * y + z), splat(x.mul_add(y, z)));
    assert_ne!(unfused, fused);
    let mut madd = Choices::default();
    assert!(madd.check("f32x4.relaxed_madd", &[splat(x), splat(y), splat(z)], fused).is_ok());
    assert!(madd.check("f32x4.relaxed_madd", &[splat(x), splat(y), splat(z)], unfused).is_err());
}

/// With FMA, `relaxed_madd` rounds once; without, twice (the input above
/// tells them apart).
#[test]
fn madd_is_fused_exactly_where_the_cpu_has_fma() {
    let (x, y, z) = (1.0f32 + f32::EPSILON, 1.0f32 - f32::EPSILON, -1.0f32);
    let splat = |v: f32| Val::V128((0..4).fold(0u128, |acc, i| acc | (u128::from(v.to_bits()) << (32 * i))));
    for (name, fused) in [("x86-64-v2", false), ("x86-64-v3", true)] {
        let opts = cpu(name);
        if !runs_here(&opts) {
            assert!(!fused, "every x86-64 host runs x86-64-v2");
            continue;
        }
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        let got = call(&mut store, &instance, "f32x4.relaxed_madd", &[splat(x), splat(y), splat(z)]).unwrap();
        let want = if fused { x.mul_add(y, z) } else { x * y + z };
        let Val::V128(v) = got[0] else { panic!("{got:?}") };
        assert_eq!(f32::from_bits(v as u32), want, "--cpu {name}");
    }
}
