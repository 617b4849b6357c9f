//! What the differential target compares: call outcomes and the state an
//! instance exposes, in one form for every engine.
//!
//! Trap codes are mapped to [`TrapKind`], the distinctions wasm itself
//! makes: kiln's "undefined element" (a `call_indirect` index past the end
//! of the table) is the specification's out-of-bounds table access, and
//! its two null-call codes are one kind. Function references are named by
//! the export of the function they point to (every function is exported),
//! so identity is compared, not addresses.

use std::fmt;

/// A wasm value, engine-independent. Floats are bits; a NaN result is
/// canonicalized ([`Value::canonical`]) before comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `i32`.
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `f32` bits.
    F32(u32),
    /// `f64` bits.
    F64(u64),
    /// `v128` bits.
    V128(u128),
    /// A funcref: `None` for null, else the export name of the function
    /// (`Some("?")` for a function without an export, which a module that
    /// exports everything does not have).
    FuncRef(Option<String>),
    /// An externref: whether it is non-null (modules without imports can
    /// only hold null ones).
    ExternRef(bool),
    /// An exnref: whether it is non-null (wasm-smith's exceptions are off,
    /// so only the kiln side could ever produce one).
    ExnRef(bool),
}

impl Value {
    /// The value with any NaN replaced by the canonical NaN of its type:
    /// wasm lets an engine pick the sign and payload of an arithmetic NaN.
    pub fn canonical(self) -> Value {
        match self {
            Value::F32(b) if f32::from_bits(b).is_nan() => Value::F32(0x7fc0_0000),
            Value::F64(b) if f64::from_bits(b).is_nan() => Value::F64(0x7ff8_0000_0000_0000),
            v => v,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(b) => write!(f, "f32:{:?}({b:#x})", f32::from_bits(*b)),
            Value::F64(b) => write!(f, "f64:{:?}({b:#x})", f64::from_bits(*b)),
            Value::V128(b) => write!(f, "v128:{b:#034x}"),
            Value::FuncRef(None) => write!(f, "funcref:null"),
            Value::FuncRef(Some(name)) => write!(f, "funcref:{name}"),
            Value::ExternRef(false) => write!(f, "externref:null"),
            Value::ExternRef(true) => write!(f, "externref:non-null"),
            Value::ExnRef(false) => write!(f, "exnref:null"),
            Value::ExnRef(true) => write!(f, "exnref:non-null"),
        }
    }
}

/// Why a call trapped, in wasm's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable` (also wasm-smith's out-of-fuel check).
    Unreachable,
    /// A linear-memory access out of bounds.
    MemoryOutOfBounds,
    /// A table access, or a `call_indirect` index, out of bounds.
    TableOutOfBounds,
    /// `call_indirect` of a null entry, `call_ref` of null.
    IndirectCallNull,
    /// `call_indirect` whose callee has another signature.
    IndirectCallTypeMismatch,
    /// `INT_MIN / -1`.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A float-to-integer truncation of NaN or out of range.
    BadConversionToInteger,
    /// The call stack was exhausted.
    StackExhausted,
    /// Dereferencing a null reference.
    NullReference,
    /// Anything else, as the engine names it.
    Other(String),
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned these values (NaNs canonicalized).
    Returned(Vec<Value>),
    /// It trapped.
    Trapped(TrapKind),
    /// The engine failed in a way that is not a wasm trap.
    Failed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(values) => {
                let values: Vec<String> = values.iter().map(Value::to_string).collect();
                write!(f, "returned [{}]", values.join(", "))
            }
            Outcome::Trapped(kind) => write!(f, "trapped: {kind:?}"),
            Outcome::Failed(message) => write!(f, "failed: {message}"),
        }
    }
}

/// One exported memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryState {
    /// Size in pages.
    pub pages: u64,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Everything an instance exports besides functions, by export name, in
/// export order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Exported globals' values (NaNs canonicalized).
    pub globals: Vec<(String, Value)>,
    /// Exported memories.
    pub memories: Vec<(String, MemoryState)>,
    /// Exported tables' elements.
    pub tables: Vec<(String, Vec<Value>)>,
}

impl Snapshot {
    /// Orders each list by export name, so engines that enumerate exports
    /// in different orders give equal snapshots.
    pub fn sort(&mut self) {
        self.globals.sort_by(|a, b| a.0.cmp(&b.0));
        self.memories.sort_by(|a, b| a.0.cmp(&b.0));
        self.tables.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// The first difference between two snapshots, described for a report;
/// `None` if they are equal.
pub fn snapshot_difference(reference: &Snapshot, other: &Snapshot) -> Option<String> {
    if reference == other {
        return None;
    }
    for ((name, a), (other_name, b)) in reference.globals.iter().zip(&other.globals) {
        if name != other_name {
            return Some(format!("exported globals differ: `{name}` against `{other_name}`"));
        }
        if a != b {
            return Some(format!("global `{name}`: {a} against {b}"));
        }
    }
    for ((name, a), (_, b)) in reference.memories.iter().zip(&other.memories) {
        if a.pages != b.pages {
            return Some(format!("memory `{name}`: {} pages against {}", a.pages, b.pages));
        }
        if let Some(at) = a.bytes.iter().zip(&b.bytes).position(|(x, y)| x != y) {
            let end = (at + 16).min(a.bytes.len());
            return Some(format!(
                "memory `{name}` differs from byte {at:#x}: {:02x?} against {:02x?}",
                &a.bytes[at..end],
                &b.bytes[at..end]
            ));
        }
    }
    for ((name, a), (_, b)) in reference.tables.iter().zip(&other.tables) {
        if a.len() != b.len() {
            return Some(format!("table `{name}`: {} elements against {}", a.len(), b.len()));
        }
        if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
            return Some(format!("table `{name}` element {i}: {} against {}", a[i], b[i]));
        }
    }
    Some(format!(
        "different exports: {} globals, {} memories, {} tables against {}, {}, {}",
        reference.globals.len(),
        reference.memories.len(),
        reference.tables.len(),
        other.globals.len(),
        other.memories.len(),
        other.tables.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            globals: vec![("g".into(), Value::I32(1)), ("h".into(), Value::F64(0))],
            memories: vec![("m".into(), MemoryState { pages: 1, bytes: vec![0; 65536] })],
            tables: vec![("t".into(), vec![Value::FuncRef(None), Value::FuncRef(Some("f".into()))])],
        }
    }

    #[test]
    fn equal_snapshots_have_no_difference() {
        assert_eq!(snapshot_difference(&snapshot(), &snapshot()), None);
    }

    #[test]
    fn every_kind_of_difference_is_found_and_named() {
        let mut s = snapshot();
        s.globals[1].1 = Value::F64(1);
        assert_eq!(snapshot_difference(&snapshot(), &s).unwrap(), "global `h`: f64:0.0(0x0) against f64:5e-324(0x1)");

        let mut s = snapshot();
        s.memories[0].1.bytes[0x1234] = 7;
        let d = snapshot_difference(&snapshot(), &s).unwrap();
        assert!(d.starts_with("memory `m` differs from byte 0x1234"), "{d}");

        let mut s = snapshot();
        s.memories[0].1.pages = 2;
        assert_eq!(snapshot_difference(&snapshot(), &s).unwrap(), "memory `m`: 1 pages against 2");

        let mut s = snapshot();
        s.tables[0].1[1] = Value::FuncRef(Some("other".into()));
        assert_eq!(
            snapshot_difference(&snapshot(), &s).unwrap(),
            "table `t` element 1: funcref:f against funcref:other"
        );

        let mut s = snapshot();
        s.tables[0].1.push(Value::FuncRef(None));
        assert_eq!(snapshot_difference(&snapshot(), &s).unwrap(), "table `t`: 2 elements against 3");

        let mut s = snapshot();
        s.globals.pop();
        assert!(snapshot_difference(&snapshot(), &s).unwrap().starts_with("different exports"));
    }

    #[test]
    fn only_nans_are_canonicalized() {
        assert_eq!(Value::F32(0xffc0_0001).canonical(), Value::F32(0x7fc0_0000));
        assert_eq!(Value::F64(0x7ff0_0000_0000_0001).canonical(), Value::F64(0x7ff8_0000_0000_0000));
        assert_eq!(Value::F32(0x8000_0000).canonical(), Value::F32(0x8000_0000));
        assert_eq!(Value::V128(u128::MAX).canonical(), Value::V128(u128::MAX));
    }
}
