//! Typed wasm values and external references.

use crate::store::{AsContext, AsContextMut, StoreId};
use crate::vm::RawBox;
use crate::{Error, Func};
use kiln_abi::ValType;
use std::any::Any;

/// A wasm value. Floats are kept as their bits so NaN payloads survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// The bits of an `f32`.
    F32(u32),
    /// The bits of an `f64`.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A function reference, `None` for null.
    FuncRef(Option<Func>),
    /// An external reference, `None` for null.
    ExternRef(Option<ExternRef>),
    /// An `exnref`: an exception, or null.
    ExnRef(Option<crate::Exception>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::Ref(kiln_abi::RefType { nullable: true, heap: kiln_abi::HeapType::Exn }),
        }
    }

    /// The zero (or null) value of `ty`.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) if r.is_func() => Val::FuncRef(None),
            ValType::Ref(r) if r.is_exn() => Val::ExnRef(None),
            ValType::Ref(_) => Val::ExternRef(None),
        }
    }

    /// An `f32` value.
    pub fn from_f32(v: f32) -> Val {
        Val::F32(v.to_bits())
    }

    /// An `f64` value.
    pub fn from_f64(v: f64) -> Val {
        Val::F64(v.to_bits())
    }

    /// The `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self { Some(*v) } else { None }
    }

    /// The `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self { Some(*v) } else { None }
    }

    /// The `f32`, if it is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self { Some(f32::from_bits(*v)) } else { None }
    }

    /// The `f64`, if it is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self { Some(f64::from_bits(*v)) } else { None }
    }

    /// Whether it is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None))
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}

impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::from_f32(v)
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::from_f64(v)
    }
}

/// What an external reference points to (its address is the reference).
pub(crate) struct ExternData {
    value: Box<dyn Any + Send + Sync>,
}

/// A reference to a host value, passed to wasm as `externref`. Lives as
/// long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: StoreId,
    pub(crate) ptr: usize,
}

impl ExternRef {
    /// Wraps `value` in a new reference owned by the store.
    pub fn new(mut store: impl AsContextMut, value: impl Any + Send + Sync) -> ExternRef {
        let store = store.as_context_mut();
        let data = RawBox::new(ExternData { value: Box::new(value) });
        let ptr = data.as_ptr() as usize;
        store.externs.push(data);
        ExternRef { store: store.id, ptr }
    }

    pub(crate) fn from_raw(store: StoreId, ptr: usize) -> Option<ExternRef> {
        (ptr != 0).then_some(ExternRef { store, ptr })
    }

    /// The wrapped value.
    pub fn data<'a>(&self, store: &'a (impl AsContext + ?Sized)) -> Result<&'a (dyn Any + Send + Sync), Error> {
        store.as_context().check(self.store, "external reference")?;
        // SAFETY: the store checked above owns the `ExternData` at `ptr`
        // (only `new` makes references and wasm only copies them) and keeps
        // it until it is dropped, which the borrow of `store` prevents.
        Ok(unsafe { &*(*(self.ptr as *const ExternData)).value })
    }
}
