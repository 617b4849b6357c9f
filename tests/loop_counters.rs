//! Loop counters after kiln's post-optimization rewrite
//! (`llvm-backend/src/zext_phis.rs`): a 32-bit counter that is also used
//! zero-extended becomes a 64-bit phi. The rewrite must keep 32-bit
//! wrap-around exactly, keep traps where they were, and leave no
//! `zext` of an `i32` phi in the optimized IR.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::TrapCode;
use kiln_loader::Val;
use pipeline::{assert_trap, call, configurations, describe, instantiate, llvm_ir};

const MODULE: &str = r#"(module
  (memory 1)
  ;; Sum of zext(i) for i = start, start+step, ... (n values), wrapping at
  ;; 2^32: the counter is a phi, extended for the i64 sum.
  (func (export "sum_extended") (param $start i32) (param $step i32) (param $n i32) (result i64)
    (local $i i32) (local $sum i64)
    (local.set $i (local.get $start))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (local.get $step)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $sum))
  ;; Adds the bytes from `from` up to (not including) `to`, stepping by 4,
  ;; and writes each running total back over the byte it read.
  (func (export "scan") (param $from i32) (param $to i32) (result i32)
    (local $i i32) (local $total i32)
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.eq (local.get $i) (local.get $to)))
        (local.set $total (i32.add (local.get $total) (i32.load8_u (local.get $i))))
        (i32.store8 (local.get $i) (local.get $total))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (local.get $total))
  (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "fill") (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (local.get $i) (i32.and (i32.mul (local.get $i) (i32.const 7)) (i32.const 0xff)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))"#;

/// Sum of `start + k * step` (mod 2^32) for k < n, computed in Rust.
fn expected_sum(start: u32, step: u32, n: u32) -> u64 {
    (0..n).map(|k| u64::from(start.wrapping_add(k.wrapping_mul(step)))).sum()
}

fn check(opts: &CompileOptions) {
    let at = describe(opts);
    let (mut store, instance, _library) = instantiate(MODULE, opts);
    let cases: [(u32, u32, u32); 5] =
        [(0, 1, 1000), (0xffff_fffe, 1, 4), (0xffff_ff00, 16, 40), (7, 0xffff_ffff, 10), (0x8000_0000, 0x4000_0000, 9)];
    for (start, step, n) in cases {
        let args = [Val::I32(start as i32), Val::I32(step as i32), Val::I32(n as i32)];
        let result = call(&mut store, &instance, "sum_extended", &args).unwrap_or_else(|e| panic!("{at}: {e}"));
        let want = expected_sum(start, step, n);
        assert_eq!(result, [Val::I64(want as i64)], "sum_extended({start:#x}, {step:#x}, {n}) at {at}");
    }

    // A scan that stays in bounds, then one that runs off the end of the
    // page: it traps at 65536 after updating every byte before it.
    call(&mut store, &instance, "fill", &[Val::I32(65536)]).unwrap_or_else(|e| panic!("{at}: {e}"));
    let bytes: Vec<u32> = (0..65536u32).map(|i| (i * 7) & 0xff).collect();
    let mut total = 0u32;
    let mut written = Vec::new();
    for i in (100..4100u32).step_by(4) {
        total = total.wrapping_add(bytes[i as usize]);
        written.push((i, total & 0xff));
    }
    let result = call(&mut store, &instance, "scan", &[Val::I32(100), Val::I32(4100)]).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(result, [Val::I32(total as i32)], "scan(100, 4100) at {at}");
    for (i, byte) in written.iter().step_by(97) {
        let got = call(&mut store, &instance, "byte", &[Val::I32(*i as i32)]).unwrap();
        assert_eq!(got, [Val::I32(*byte as i32)], "byte {i} after the scan at {at}");
    }
    let past_the_end = call(&mut store, &instance, "scan", &[Val::I32(65536 - 400), Val::I32(8)]);
    assert_trap(past_the_end, TrapCode::MemoryOutOfBounds, &format!("a scan past the end of memory at {at}"));
    let before_trap: u32 = (65136..65536u32).step_by(4).map(|i| bytes[i as usize]).sum();
    let last = call(&mut store, &instance, "byte", &[Val::I32(65532)]).unwrap();
    assert_eq!(last, [Val::I32((before_trap & 0xff) as i32)], "the byte before the trap at {at}");
}

#[test]
fn counters_wrap_and_trap_as_in_wasm() {
    for opts in configurations(&[OptLevel::O0, OptLevel::O2, OptLevel::O3]) {
        check(&opts);
    }
}

/// The names of the `i32` phis in `ir` and of the values it zero-extends
/// to `i64`, per function.
fn extended_phis(ir: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut phis = Vec::new();
    for line in ir.lines() {
        if line.starts_with("define ") {
            phis.clear();
        }
        let line = line.trim();
        if let Some((name, rest)) = line.split_once(" = ") {
            if rest.starts_with("phi i32 ") {
                phis.push(name.to_string());
            } else if let Some(operand) = rest.strip_prefix("zext i32 ").and_then(|r| r.strip_suffix(" to i64"))
                && phis.iter().any(|p| p == operand)
            {
                found.push(format!("{name} = zext i32 {operand}"));
            }
        }
    }
    found
}

#[test]
fn no_extension_of_a_32_bit_phi_survives_optimization() {
    for opt_level in [OptLevel::O1, OptLevel::O2, OptLevel::O3] {
        let opts = CompileOptions { opt_level, ..CompileOptions::default() };
        let ir = llvm_ir(MODULE, &opts, Emit::LlvmIr);
        assert!(ir.contains("phi i64"), "{opt_level:?}: the counters were not widened:\n{ir}");
        let left = extended_phis(&ir);
        assert!(left.is_empty(), "{opt_level:?}: {left:?}");
    }
    // The checker finds such an extension where there is one.
    let sample = "define i64 @f() {\n  %a = phi i32 [ 0, %b ]\n  %c = zext i32 %a to i64\n}";
    assert_eq!(extended_phis(sample), ["%c = zext i32 %a"]);
}
