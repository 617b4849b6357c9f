//! WebAssembly types as recorded in artifact metadata.
//!
//! These mirror the wasm type grammar closely but are independent of any
//! parser so that the runtime does not need one.

use rkyv::{Archive, Deserialize, Serialize};
use std::fmt;

/// A wasm value type.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[rkyv(derive(Debug, PartialEq, Eq, Hash), compare(PartialEq))]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE 754 float.
    F32,
    /// 64-bit IEEE 754 float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(RefType),
}

/// A reference type: a heap type, and whether null is a value of it.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[rkyv(derive(Debug, PartialEq, Eq, Hash), compare(PartialEq))]
pub struct RefType {
    /// Whether null belongs to the type (`ref null ...`).
    pub nullable: bool,
    /// What the reference points to.
    pub heap: HeapType,
}

/// What a reference points to. Every reference is one pointer at run time;
/// the heap type only matters to validation and to linking.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[rkyv(derive(Debug, PartialEq, Eq, Hash), compare(PartialEq))]
pub enum HeapType {
    /// Any function.
    Func,
    /// Any host value.
    Extern,
    /// A function of the module's type with this index.
    Concrete(u32),
    /// No function: only null (bottom of the function hierarchy).
    NoFunc,
    /// No host value: only null (bottom of the extern hierarchy).
    NoExtern,
    /// Any GC value.
    Any,
    /// Any GC value comparable with `ref.eq`.
    Eq,
    /// An unboxed 31-bit integer.
    I31,
    /// Any struct.
    Struct,
    /// Any array.
    Array,
    /// No GC value: only null.
    None,
    /// An exception.
    Exn,
    /// No exception: only null.
    NoExn,
}

impl RefType {
    /// `funcref`: `(ref null func)`.
    pub const FUNCREF: RefType = RefType { nullable: true, heap: HeapType::Func };
    /// `externref`: `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType { nullable: true, heap: HeapType::Extern };

    /// Whether references of this type point to functions (and are
    /// therefore `VMFuncRef` pointers at run time).
    pub fn is_func(self) -> bool {
        matches!(self.heap, HeapType::Func | HeapType::Concrete(_) | HeapType::NoFunc)
    }

    /// Whether references of this type point to exceptions (`exnref`).
    pub fn is_exn(&self) -> bool {
        matches!(self.heap, HeapType::Exn | HeapType::NoExn)
    }
}

impl ValType {
    /// `funcref`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }
}

impl ArchivedHeapType {
    /// The native form of an archived heap type.
    pub fn to_native(&self) -> HeapType {
        match self {
            ArchivedHeapType::Func => HeapType::Func,
            ArchivedHeapType::Extern => HeapType::Extern,
            ArchivedHeapType::Concrete(i) => HeapType::Concrete(i.to_native()),
            ArchivedHeapType::NoFunc => HeapType::NoFunc,
            ArchivedHeapType::NoExtern => HeapType::NoExtern,
            ArchivedHeapType::Any => HeapType::Any,
            ArchivedHeapType::Eq => HeapType::Eq,
            ArchivedHeapType::I31 => HeapType::I31,
            ArchivedHeapType::Struct => HeapType::Struct,
            ArchivedHeapType::Array => HeapType::Array,
            ArchivedHeapType::None => HeapType::None,
            ArchivedHeapType::Exn => HeapType::Exn,
            ArchivedHeapType::NoExn => HeapType::NoExn,
        }
    }
}

impl ArchivedRefType {
    /// The native form of an archived reference type.
    pub fn to_native(&self) -> RefType {
        RefType { nullable: self.nullable, heap: self.heap.to_native() }
    }
}

impl ArchivedValType {
    /// The native form of an archived value type.
    pub fn to_native(&self) -> ValType {
        match self {
            ArchivedValType::I32 => ValType::I32,
            ArchivedValType::I64 => ValType::I64,
            ArchivedValType::F32 => ValType::F32,
            ArchivedValType::F64 => ValType::F64,
            ArchivedValType::V128 => ValType::V128,
            ArchivedValType::Ref(r) => ValType::Ref(r.to_native()),
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            HeapType::Func => "func",
            HeapType::Extern => "extern",
            HeapType::Concrete(i) => return write!(f, "{i}"),
            HeapType::NoFunc => "nofunc",
            HeapType::NoExtern => "noextern",
            HeapType::Any => "any",
            HeapType::Eq => "eq",
            HeapType::I31 => "i31",
            HeapType::Struct => "struct",
            HeapType::Array => "array",
            HeapType::None => "none",
            HeapType::Exn => "exn",
            HeapType::NoExn => "noexn",
        };
        f.write_str(name)
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => r.fmt(f),
        }
    }
}

/// A function signature.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[rkyv(derive(Debug))]
pub struct FuncType {
    /// Parameter types, in order.
    pub params: Vec<ValType>,
    /// Result types, in order.
    pub results: Vec<ValType>,
}

impl FuncType {
    /// Builds a signature from parameter and result lists.
    pub fn new(params: impl Into<Vec<ValType>>, results: impl Into<Vec<ValType>>) -> Self {
        FuncType { params: params.into(), results: results.into() }
    }
}

impl ArchivedFuncType {
    /// The native form of an archived signature.
    pub fn to_native(&self) -> FuncType {
        FuncType {
            params: self.params.iter().map(ArchivedValType::to_native).collect(),
            results: self.results.iter().map(ArchivedValType::to_native).collect(),
        }
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = |kw: &str, v: &[ValType]| {
            if v.is_empty() {
                String::new()
            } else {
                format!(" ({kw} {})", v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" "))
            }
        };
        write!(f, "(func{}{})", group("param", &self.params), group("result", &self.results))
    }
}

/// Size limits of a memory (in pages) or a table (in elements).
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Maximum size, if declared.
    pub max: Option<u64>,
}

/// A linear memory's type.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub struct MemoryType {
    /// Size limits in pages.
    pub limits: Limits,
    /// Whether addresses are 64-bit (memory64).
    pub memory64: bool,
    /// Whether the memory is shared between threads.
    pub shared: bool,
    /// Log2 of the page size in bytes: 16 (64 KiB, the default) or 0 (one
    /// byte, from the custom page sizes proposal).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// A memory of `limits` pages of the default size, unshared and with
    /// 32-bit addresses.
    pub fn new(limits: Limits) -> MemoryType {
        MemoryType { limits, memory64: false, shared: false, page_size_log2: DEFAULT_PAGE_SIZE_LOG2 }
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// The most pages kiln gives a memory of this type: its byte limit
    /// ([`crate::WASM32_MAX_MEMORY_BYTES`] or
    /// [`crate::WASM64_MAX_MEMORY_BYTES`]) in whole pages.
    pub fn limit_pages(&self) -> u64 {
        let bytes = if self.memory64 { crate::WASM64_MAX_MEMORY_BYTES } else { crate::WASM32_MAX_MEMORY_BYTES };
        bytes >> self.page_size_log2
    }

    /// Whether accesses to this memory may rely on a guard region instead
    /// of explicit bounds checks: only 32-bit memories of 64 KiB pages.
    /// (A 64-bit address space is too large to guard, and a memory of
    /// one-byte pages may end anywhere inside a host page, where no fault
    /// can mark its end.)
    pub fn guarded(&self) -> bool {
        !self.memory64 && self.page_size_log2 == DEFAULT_PAGE_SIZE_LOG2
    }
}

/// Log2 of the default page size, 64 KiB.
pub const DEFAULT_PAGE_SIZE_LOG2: u8 = 16;

/// A table's type.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub struct TableType {
    /// The reference type of the elements.
    pub element: RefType,
    /// Size limits in elements.
    pub limits: Limits,
    /// Whether indices are 64-bit (table64).
    pub table64: bool,
}

/// A global's type.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub struct GlobalType {
    /// The value type.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// One instruction of a constant expression (global initializers, segment
/// offsets, element expressions). Evaluated by the runtime at instantiation
/// with a small stack machine, so extended constant expressions fit too.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub enum ConstOp {
    /// `i32.const`.
    I32Const(i32),
    /// `i64.const`.
    I64Const(i64),
    /// `f32.const`, as raw bits.
    F32Const(u32),
    /// `f64.const`, as raw bits.
    F64Const(u64),
    /// `v128.const`, as raw bits.
    V128Const(u128),
    /// `ref.null` of the given heap type.
    RefNull(HeapType),
    /// `ref.func` of a function index.
    RefFunc(u32),
    /// `global.get` of a global index.
    GlobalGet(u32),
    /// `i32.add` (extended constant expressions).
    I32Add,
    /// `i32.sub` (extended constant expressions).
    I32Sub,
    /// `i32.mul` (extended constant expressions).
    I32Mul,
    /// `i64.add` (extended constant expressions).
    I64Add,
    /// `i64.sub` (extended constant expressions).
    I64Sub,
    /// `i64.mul` (extended constant expressions).
    I64Mul,
}

/// A constant expression: a sequence of [`ConstOp`]s leaving one value.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[rkyv(derive(Debug))]
pub struct ConstExpr {
    /// The instructions, in order.
    pub ops: Vec<ConstOp>,
}

impl ConstExpr {
    /// An expression of a single instruction.
    pub fn single(op: ConstOp) -> Self {
        ConstExpr { ops: vec![op] }
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) => write!(f, "{} {max}", self.min),
            None => write!(f, "{}", self.min),
        }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = if self.memory64 { "i64 " } else { "" };
        let shared = if self.shared { " shared" } else { "" };
        write!(f, "(memory {index}{}{shared}", self.limits)?;
        if self.page_size_log2 != DEFAULT_PAGE_SIZE_LOG2 {
            write!(f, " (pagesize {})", self.page_size())?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = if self.table64 { "i64 " } else { "" };
        write!(f, "(table {index}{} {})", self.limits, self.element)
    }
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(global (mut {}))", self.content)
        } else {
            write!(f, "(global {})", self.content)
        }
    }
}

impl ArchivedLimits {
    /// The native form of archived limits.
    pub fn to_native(&self) -> Limits {
        Limits { min: self.min.to_native(), max: self.max.as_ref().map(|m| m.to_native()) }
    }
}

impl ArchivedMemoryType {
    /// The native form of an archived memory type.
    pub fn to_native(&self) -> MemoryType {
        MemoryType {
            limits: self.limits.to_native(),
            memory64: self.memory64,
            shared: self.shared,
            page_size_log2: self.page_size_log2,
        }
    }
}

impl ArchivedTableType {
    /// The native form of an archived table type.
    pub fn to_native(&self) -> TableType {
        TableType { element: self.element.to_native(), limits: self.limits.to_native(), table64: self.table64 }
    }
}

impl ArchivedGlobalType {
    /// The native form of an archived global type.
    pub fn to_native(&self) -> GlobalType {
        GlobalType { content: self.content.to_native(), mutable: self.mutable }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_in_text_format() {
        let mem = MemoryType::new(Limits { min: 1, max: Some(2) });
        assert_eq!(mem.to_string(), "(memory 1 2)");
        let table = TableType { element: RefType::FUNCREF, limits: Limits { min: 10, max: None }, table64: false };
        assert_eq!(table.to_string(), "(table 10 funcref)");
        assert_eq!(GlobalType { content: ValType::I64, mutable: true }.to_string(), "(global (mut i64))");
        let f = FuncType::new([ValType::I32], []);
        assert_eq!(f.to_string(), "(func (param i32))");
        let typed = ValType::Ref(RefType { nullable: false, heap: HeapType::Concrete(3) });
        assert_eq!(FuncType::new([typed, ValType::FUNCREF], [ValType::EXTERNREF]).to_string(), "(func (param (ref 3) funcref) (result externref))");
    }
}
