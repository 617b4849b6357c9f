//! `x - (x / c) * c` with a constant `c` is translated as the remainder it
//! is (`translate::numeric`). The result must equal wasm's own arithmetic
//! for every divisor, including the ones the rewrite must leave alone
//! (signed -1, where `rem_s` and the division differ in trapping), and the
//! division's traps must stay.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::TrapCode;
use kiln_loader::Val;
use pipeline::{assert_trap, call, configurations, describe, instantiate, llvm_ir};

/// Divisors tried, each as both an `i32` and an `i64` constant (`i64::MIN`
/// truncates to an `i32` 0: division by zero).
const DIVISORS: [i64; 9] = [1, 2, 3, 7, 10, 1_000_000_000, -1, -7, i64::MIN];

fn module() -> String {
    let mut funcs = String::new();
    for (k, c) in DIVISORS.iter().enumerate() {
        let c32 = *c as i32;
        for (ty, c) in [("i32", i64::from(c32)), ("i64", *c)] {
            for sign in ["u", "s"] {
                funcs.push_str(&format!(
                    "(func (export \"{ty}_{sign}_{k}\") (param $x {ty}) (result {ty})
                       (local $q {ty})
                       (local.set $q ({ty}.div_{sign} (local.get $x) ({ty}.const {c})))
                       ({ty}.sub (local.get $x) ({ty}.mul (local.get $q) ({ty}.const {c}))))\n"
                ));
            }
        }
    }
    format!("(module {funcs})")
}

/// `x - (x / c) * c` in wasm's wrapping arithmetic, or the trap of the
/// division.
fn expected64(x: i64, c: i64, signed: bool) -> Result<i64, TrapCode> {
    let q = match (c, signed) {
        (0, _) => return Err(TrapCode::IntegerDivisionByZero),
        (_, true) => x.checked_div(c).ok_or(TrapCode::IntegerOverflow)?,
        (_, false) => ((x as u64) / (c as u64)) as i64,
    };
    Ok(x.wrapping_sub(q.wrapping_mul(c)))
}

fn expected32(x: i32, c: i32, signed: bool) -> Result<i32, TrapCode> {
    let q = match (c, signed) {
        (0, _) => return Err(TrapCode::IntegerDivisionByZero),
        (_, true) => x.checked_div(c).ok_or(TrapCode::IntegerOverflow)?,
        (_, false) => ((x as u32) / (c as u32)) as i32,
    };
    Ok(x.wrapping_sub(q.wrapping_mul(c)))
}

/// Asserts that a call returned `want`'s value or trapped with its code.
fn check(got: Result<Vec<Val>, kiln_loader::Error>, want: Result<Val, TrapCode>, what: &str) {
    match want {
        Ok(value) => assert_eq!(got.unwrap_or_else(|e| panic!("{what}: {e}")), [value], "{what}"),
        Err(code) => assert_trap(got, code, what),
    }
}

#[test]
fn remainders_match_wasm_arithmetic() {
    let xs64 = [0, 1, -1, 5, -5, 999_999_999, 1_000_000_001, i64::MAX, i64::MIN, 0x1234_5678_9abc_def0];
    for opts in configurations(&[OptLevel::O0, OptLevel::O2]) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(&module(), &opts);
        for (k, c) in DIVISORS.iter().enumerate() {
            for signed in [false, true] {
                let sign = if signed { "s" } else { "u" };
                for x in xs64 {
                    let name = format!("i64_{sign}_{k}");
                    let got = call(&mut store, &instance, &name, &[Val::I64(x)]);
                    check(got, expected64(x, *c, signed).map(Val::I64), &format!("{name}({x}) at {at}"));
                    let x32 = x as i32;
                    let name = format!("i32_{sign}_{k}");
                    let got = call(&mut store, &instance, &name, &[Val::I32(x32)]);
                    check(got, expected32(x32, *c as i32, signed).map(Val::I32), &format!("{name}({x32}) at {at}"));
                }
            }
        }
    }
}

#[test]
fn the_idiom_becomes_a_remainder_except_for_signed_minus_one() {
    let opts = CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() };
    let ir = llvm_ir(&module(), &opts, Emit::LlvmIrUnoptimized);
    let bodies: Vec<&str> = ir.split("\ndefine ").skip(1).filter(|b| b.contains("@kiln_func_")).collect();
    // The functions in definition order: per divisor, i32 u, i32 s, i64 u, i64 s.
    assert_eq!(bodies.len(), DIVISORS.len() * 4);
    for (n, body) in bodies.iter().enumerate() {
        let c = DIVISORS[n / 4];
        let signed = n % 2 == 1;
        let is_i32 = (n / 2) % 2 == 0;
        let c = if is_i32 { i64::from(c as i32) } else { c };
        let want = if signed { "srem" } else { "urem" };
        let rewritten = c != 0 && !(signed && c == -1);
        assert_eq!(body.contains(want), rewritten, "function {n} (c = {c}, signed {signed}):\n{body}");
    }
}
