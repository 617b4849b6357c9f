//! Script values: arguments from `(invoke ...)`, expected results from
//! `(assert_return ...)`, and the rules for matching them, including the
//! spec's NaN patterns (`nan:canonical`, `nan:arithmetic`).

use wast::core::{HeapType, NanPattern, V128Const, V128Pattern, WastArgCore, WastRetCore, AbstractHeapType};
use wast::{WastArg, WastRet};

/// A value passed into or returned from wasm, as the runner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// i32.
    I32(i32),
    /// i64.
    I64(i64),
    /// f32, as bits.
    F32(u32),
    /// f64, as bits.
    F64(u64),
    /// v128, little-endian.
    V128(u128),
    /// A null reference of the given kind.
    Null(RefKind),
    /// A non-null function reference.
    Func,
    /// A host reference `ref.extern N`.
    Extern(u32),
    /// A non-null exception reference.
    Exn,
}

/// The kind of a reference value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    /// funcref.
    Func,
    /// externref.
    Extern,
    /// exnref.
    Exn,
}

/// What kind of script value the runner cannot represent (`GC
/// references`); the runner reports a directive that needs one as failed.
pub type Unsupported = String;

/// Converts an `(invoke ...)` argument.
pub fn arg(a: &WastArg<'_>) -> Result<Value, Unsupported> {
    let WastArg::Core(core) = a else { return Err("component-model values".into()) };
    Ok(match core {
        WastArgCore::I32(x) => Value::I32(*x),
        WastArgCore::I64(x) => Value::I64(*x),
        WastArgCore::F32(x) => Value::F32(x.bits),
        WastArgCore::F64(x) => Value::F64(x.bits),
        WastArgCore::V128(v) => Value::V128(v128_bits(v)),
        WastArgCore::RefNull(h) => Value::Null(ref_kind(h)?),
        WastArgCore::RefExtern(n) => Value::Extern(*n),
        WastArgCore::RefHost(_) => return Err("host references (ref.host)".into()),
    })
}

/// The kind of reference a heap type in a script names. Without GC, a
/// concrete heap type (`$t`) is always a function type.
fn ref_kind(h: &HeapType<'_>) -> Result<RefKind, Unsupported> {
    match h {
        HeapType::Abstract { ty: AbstractHeapType::Func | AbstractHeapType::NoFunc, shared: false }
        | HeapType::Concrete(_) => Ok(RefKind::Func),
        HeapType::Abstract { ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern, shared: false } => {
            Ok(RefKind::Extern)
        }
        HeapType::Abstract { ty: AbstractHeapType::Exn | AbstractHeapType::NoExn, shared: false } => Ok(RefKind::Exn),
        _ => Err("GC references".into()),
    }
}

fn v128_bits(v: &V128Const) -> u128 {
    u128::from_le_bytes(v.to_le_bytes())
}

/// Checks one actual result against one expected result; `Err` explains a
/// mismatch or names an unsupported pattern.
pub fn matches(actual: &Value, expected: &WastRet<'_>) -> Result<bool, Unsupported> {
    let WastRet::Core(core) = expected else { return Err("component-model values".into()) };
    matches_core(actual, core)
}

fn matches_core(actual: &Value, expected: &WastRetCore<'_>) -> Result<bool, Unsupported> {
    Ok(match (expected, actual) {
        (WastRetCore::I32(e), Value::I32(a)) => e == a,
        (WastRetCore::I64(e), Value::I64(a)) => e == a,
        (WastRetCore::F32(p), Value::F32(a)) => f32_matches(p, *a),
        (WastRetCore::F64(p), Value::F64(a)) => f64_matches(p, *a),
        (WastRetCore::V128(p), Value::V128(a)) => v128_matches(p, *a),
        (WastRetCore::RefNull(None), Value::Null(_)) => true,
        (WastRetCore::RefNull(Some(h)), Value::Null(k)) => ref_kind(h)? == *k,
        (WastRetCore::RefExtern(None), Value::Extern(_)) => true,
        (WastRetCore::RefExtern(Some(e)), Value::Extern(a)) => e == a,
        (WastRetCore::RefFunc(_), Value::Func) => true,
        (WastRetCore::Either(options), a) => {
            for o in options {
                if matches_core(a, o)? {
                    return Ok(true);
                }
            }
            false
        }
        (WastRetCore::RefHost(_), _) => return Err("host references (ref.host)".into()),
        (
            WastRetCore::RefAny
            | WastRetCore::RefEq
            | WastRetCore::RefArray
            | WastRetCore::RefStruct
            | WastRetCore::RefI31
            | WastRetCore::RefI31Shared,
            _,
        ) => return Err("GC references".into()),
        _ => false,
    })
}

fn f32_matches(p: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    let is_nan = bits & 0x7f80_0000 == 0x7f80_0000 && bits & 0x007f_ffff != 0;
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => is_nan && bits & 0x0040_0000 != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn f64_matches(p: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    let exp = 0x7ff0_0000_0000_0000u64;
    let is_nan = bits & exp == exp && bits & 0x000f_ffff_ffff_ffff != 0;
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => is_nan && bits & 0x0008_0000_0000_0000 != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn v128_matches(p: &V128Pattern, bits: u128) -> bool {
    let b = bits.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&b[i * n..i * n + n]);
        u64::from_le_bytes(v)
    };
    match p {
        V128Pattern::I8x16(l) => l.iter().enumerate().all(|(i, x)| lane(i, 1) as u8 == *x as u8),
        V128Pattern::I16x8(l) => l.iter().enumerate().all(|(i, x)| lane(i, 2) as u16 == *x as u16),
        V128Pattern::I32x4(l) => l.iter().enumerate().all(|(i, x)| lane(i, 4) as u32 == *x as u32),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, x)| lane(i, 8) == *x as u64),
        V128Pattern::F32x4(l) => l.iter().enumerate().all(|(i, p)| f32_matches(p, lane(i, 4) as u32)),
        V128Pattern::F64x2(l) => l.iter().enumerate().all(|(i, p)| f64_matches(p, lane(i, 8))),
    }
}

/// An expected result as the script writes it (`i32.const 8`,
/// `f32.const nan:canonical`), for failure messages.
pub fn expected(e: &WastRet<'_>) -> String {
    match e {
        WastRet::Core(core) => expected_core(core),
        other => format!("{other:?}"),
    }
}

fn expected_core(e: &WastRetCore<'_>) -> String {
    fn nan<T>(p: &NanPattern<T>, bits: impl Fn(&T) -> String) -> String {
        match p {
            NanPattern::CanonicalNan => "nan:canonical".into(),
            NanPattern::ArithmeticNan => "nan:arithmetic".into(),
            NanPattern::Value(v) => bits(v),
        }
    }
    let f32 = |v: &wast::token::F32| format!("{} ({:#010x})", f32::from_bits(v.bits), v.bits);
    let f64 = |v: &wast::token::F64| format!("{} ({:#018x})", f64::from_bits(v.bits), v.bits);
    let lanes = |l: Vec<String>| l.join(" ");
    fn ints<T: ToString>(lanes: &[T]) -> String {
        lanes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
    }
    match e {
        WastRetCore::I32(x) => format!("i32.const {x}"),
        WastRetCore::I64(x) => format!("i64.const {x}"),
        WastRetCore::F32(p) => format!("f32.const {}", nan(p, f32)),
        WastRetCore::F64(p) => format!("f64.const {}", nan(p, f64)),
        WastRetCore::V128(V128Pattern::I8x16(l)) => format!("v128.const i8x16 {}", ints(l)),
        WastRetCore::V128(V128Pattern::I16x8(l)) => format!("v128.const i16x8 {}", ints(l)),
        WastRetCore::V128(V128Pattern::I32x4(l)) => format!("v128.const i32x4 {}", ints(l)),
        WastRetCore::V128(V128Pattern::I64x2(l)) => format!("v128.const i64x2 {}", ints(l)),
        WastRetCore::V128(V128Pattern::F32x4(l)) => {
            format!("v128.const f32x4 {}", lanes(l.iter().map(|p| nan(p, f32)).collect()))
        }
        WastRetCore::V128(V128Pattern::F64x2(l)) => {
            format!("v128.const f64x2 {}", lanes(l.iter().map(|p| nan(p, f64)).collect()))
        }
        WastRetCore::Either(options) => {
            format!("either ({})", options.iter().map(expected_core).collect::<Vec<_>>().join(") ("))
        }
        other => format!("{other:?}"),
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::I32(x) => write!(f, "i32:{x}"),
            Value::I64(x) => write!(f, "i64:{x}"),
            Value::F32(b) => write!(f, "f32:{} ({b:#010x})", f32::from_bits(*b)),
            Value::F64(b) => write!(f, "f64:{} ({b:#018x})", f64::from_bits(*b)),
            Value::V128(b) => write!(f, "v128:{b:#034x}"),
            Value::Null(RefKind::Func) => f.write_str("ref.null func"),
            Value::Null(RefKind::Extern) => f.write_str("ref.null extern"),
            Value::Null(RefKind::Exn) => f.write_str("ref.null exn"),
            Value::Exn => f.write_str("ref.exn"),
            Value::Func => f.write_str("ref.func"),
            Value::Extern(n) => write!(f, "ref.extern {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns_follow_the_spec() {
        let canon: NanPattern<wast::token::F32> = NanPattern::CanonicalNan;
        let arith: NanPattern<wast::token::F32> = NanPattern::ArithmeticNan;
        assert!(f32_matches(&canon, 0x7fc0_0000));
        assert!(f32_matches(&canon, 0xffc0_0000));
        assert!(!f32_matches(&canon, 0x7fc0_0001));
        assert!(f32_matches(&arith, 0x7fc0_0001));
        assert!(!f32_matches(&arith, 0x7fa0_0000), "a signalling NaN is not arithmetic");
        assert!(!f32_matches(&arith, 0x3f80_0000));
        let canon64: NanPattern<wast::token::F64> = NanPattern::CanonicalNan;
        assert!(f64_matches(&canon64, 0xfff8_0000_0000_0000));
        assert!(!f64_matches(&canon64, 0x7ff4_0000_0000_0000));
    }
}
