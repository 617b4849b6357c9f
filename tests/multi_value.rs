//! Several results through the whole pipeline: direct calls (inlined or
//! not), `call_indirect`, a wasm function of another instance, a host
//! function, and the loader's own calls. Every path must carry each
//! result's bits unchanged — on x86_64, a third float result once came back
//! through the x87 stack, which quiets signalling NaNs.

mod pipeline;

use kiln::{CompileOptions, OptLevel};
use kiln_abi::{FuncType, ValType};
use kiln_loader::{Engine, Func, Linker, Store, Val};
use pipeline::{call, describe, load, wat_library};

const F32_SNAN: u32 = 0x7fa0_0000;
const F64_SNAN: u64 = 0x7ff4_0000_0000_0001;

/// Exports a three-float function and a mixed-type one.
const PROVIDER: &str = r#"(module
  (func (export "f") (param i32 f32) (result f32 f32 f32)
    (f32.min (f32.reinterpret_i32 (local.get 0)) (local.get 1))
    (f32.max (f32.reinterpret_i32 (local.get 0)) (local.get 1))
    (f32.copysign (f32.reinterpret_i32 (local.get 0)) (local.get 1)))
  (func (export "mixed") (param f64 f32 i64 f64 i32) (result f64 f32 i64 f64 i32)
    (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))"#;

/// Reaches a three-float function every way a call can go.
const USER: &str = r#"(module
  (type $three (func (param i32 f32) (result f32 f32 f32)))
  (import "provider" "f" (func $other_instance (type $three)))
  (import "host" "snans" (func $host (type $three)))
  (table 1 funcref) (elem (i32.const 0) $local)
  (func $local (type $three)
    (f32.min (f32.reinterpret_i32 (local.get 0)) (local.get 1))
    (f32.max (f32.reinterpret_i32 (local.get 0)) (local.get 1))
    (f32.copysign (f32.reinterpret_i32 (local.get 0)) (local.get 1)))
  (func (export "direct") (type $three) (call $local (local.get 0) (local.get 1)))
  (func (export "indirect") (type $three)
    (call_indirect (type $three) (local.get 0) (local.get 1) (i32.const 0)))
  (func (export "import") (type $three) (call $other_instance (local.get 0) (local.get 1)))
  (func (export "host") (type $three) (call $host (local.get 0) (local.get 1))))"#;

/// What the host function returns: signalling NaNs, which must reach the
/// loader's caller untouched.
const HOST_RESULTS: [u32; 3] = [0x7fa0_0001, 0xffa0_0002, 0x7f80_0003];

fn is_arithmetic_nan(bits: u32) -> bool {
    bits & 0x7fc0_0000 == 0x7fc0_0000
}

fn three_floats(store: &mut Store, instance: &kiln_loader::Instance, name: &str, sign: f32) -> Vec<u32> {
    let results = call(store, instance, name, &[Val::I32(F32_SNAN as i32), Val::from_f32(sign)])
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    results
        .iter()
        .map(|v| match v {
            Val::F32(bits) => *bits,
            other => panic!("{name}: expected f32 results, got {other:?}"),
        })
        .collect()
}

fn check(opts: &CompileOptions) {
    let at = describe(opts);
    let engine = Engine::default();
    let provider_library = wat_library(PROVIDER, opts);
    let user_library = wat_library(USER, opts);
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let provider = linker.instantiate(&mut store, &load(&engine, &provider_library)).expect("provider");
    linker.instance(&store, "provider", provider).expect("registering the provider");
    let ty = FuncType::new([ValType::I32, ValType::F32], [ValType::F32; 3]);
    let host = Func::new(&mut store, ty, |_, _, results| {
        for (slot, bits) in results.iter_mut().zip(HOST_RESULTS) {
            *slot = Val::F32(bits);
        }
        Ok(())
    });
    linker.define("host", "snans", host);
    let user = linker.instantiate(&mut store, &load(&engine, &user_library)).expect("user");

    for (instance, name) in [(&provider, "f"), (&user, "direct"), (&user, "indirect"), (&user, "import")] {
        for (sign, copysign) in [(2.0, F32_SNAN), (-2.0, F32_SNAN | 0x8000_0000)] {
            let got = three_floats(&mut store, instance, name, sign);
            assert_eq!(got[2], copysign, "{name} at {at}: copysign changed the sNaN: {got:08x?}");
            assert!(is_arithmetic_nan(got[0]) && is_arithmetic_nan(got[1]), "{name} at {at}: {got:08x?}");
        }
    }
    assert_eq!(three_floats(&mut store, &user, "host", 1.0), HOST_RESULTS, "host results at {at}");

    let args = [Val::F64(F64_SNAN), Val::F32(F32_SNAN | 1), Val::I64(-2), Val::F64(F64_SNAN | 1 << 63), Val::I32(7)];
    let got = call(&mut store, &provider, "mixed", &args).expect("mixed");
    assert_eq!(got, args, "mixed results at {at}");
}

#[test]
fn several_results_keep_their_bits_at_o0() {
    check(&CompileOptions { opt_level: OptLevel::O0, ..CompileOptions::default() });
}

#[test]
fn several_results_keep_their_bits_at_o2() {
    check(&CompileOptions::default());
}

#[test]
fn several_results_keep_their_bits_at_o3() {
    check(&CompileOptions { opt_level: OptLevel::O3, ..CompileOptions::default() });
}
