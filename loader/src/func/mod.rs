//! Functions: handles, untyped calls, host functions and typed calls.

mod caller;
mod host;
mod typed;

pub use caller::Caller;
pub(crate) use host::{HostFailure, HostFuncData, call_host};
pub use typed::{IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy, WasmTyList};

use crate::signatures::SigId;
use crate::store::{AsContext, AsContextMut, StoreId};
use crate::traphandlers::invoke;
use crate::vm::{VMFuncRef, ValRaw};
use crate::{Error, Val};
use kiln_abi::FuncType;

/// A function of some store: defined by an instance, or by the host. A
/// handle (the address of its function reference): `Copy`, and valid as
/// long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    /// Address of its `VMFuncRef`.
    pub(crate) func_ref: usize,
}

impl Func {
    pub(crate) fn from_raw(store: StoreId, func_ref: usize) -> Option<Func> {
        (func_ref != 0).then_some(Func { store, func_ref })
    }

    pub(crate) fn vm_func_ref(&self) -> *const VMFuncRef {
        self.func_ref as *const VMFuncRef
    }

    pub(crate) fn sig(&self, store: &crate::store::StoreOpaque) -> Result<SigId, Error> {
        store.check(self.store, "function")?;
        // SAFETY: checked to be a reference of this live store.
        Ok(unsafe { (*self.vm_func_ref()).type_id })
    }

    /// The function's type.
    pub fn ty(&self, store: impl AsContext) -> Result<FuncType, Error> {
        let store = store.as_context();
        let sig = self.sig(store)?;
        store.engine.signatures().lookup(sig).ok_or_else(|| Error::Internal(format!("unregistered signature {sig}")))
    }

    /// Calls the function with `params`, writing its results to `results`.
    /// Both are checked against the function's type.
    pub fn call(&self, mut store: impl AsContextMut, params: &[Val], results: &mut [Val]) -> Result<(), Error> {
        let ty = self.ty(&mut store)?;
        if params.len() != ty.params.len() || results.len() != ty.results.len() {
            return Err(Error::TypeMismatch(format!(
                "{ty} takes {} parameters and returns {} results, called with {} and room for {}",
                ty.params.len(),
                ty.results.len(),
                params.len(),
                results.len()
            )));
        }
        let mut values = vec![ValRaw::ZERO; params.len().max(results.len())];
        let store_ptr = {
            let s = store.as_context_mut();
            for (i, (param, expected)) in params.iter().zip(&ty.params).enumerate() {
                s.check_val(param, *expected, format_args!("parameter {i}"))?;
                values[i] = s.val_to_raw(param)?;
            }
            s.self_ptr
        };
        // SAFETY: `self` belongs to this store (checked by `ty`), the
        // parameters match its type, `values` has room for the results, and
        // the borrow above has ended.
        unsafe { invoke(store_ptr, self.vm_func_ref(), &mut values) }?;
        let s = store.as_context_mut();
        for ((result, ty), raw) in results.iter_mut().zip(&ty.results).zip(&values) {
            *result = s.raw_to_val(*raw, *ty);
        }
        Ok(())
    }

    /// A typed view of the function, checking its type once.
    pub fn typed<P: WasmParams, R: WasmResults>(&self, store: impl AsContext) -> Result<TypedFunc<P, R>, Error> {
        TypedFunc::new(*self, store.as_context())
    }
}
