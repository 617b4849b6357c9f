//! Host functions: defined by closures, called from wasm through the
//! `array_call` entry of their host context, or directly from the host.

use super::Caller;
use crate::instance::InstanceData;
use crate::store::{AsContextMut, StoreOpaque};
use crate::traphandlers::HostScope;
use crate::vm::{RawBox, VMContext, VMFuncRef, VMHostFuncContext, ValRaw};
use crate::{Error, Func, Val};
use kiln_abi::vmoffsets::HOST_CTX_MAGIC;
use kiln_abi::{FuncType, TrapCode};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::Arc;

/// The closure behind a host function.
pub(crate) type HostCallback = dyn Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<(), Error> + Send + Sync;

/// The runtime-private part of a host function's context.
pub(crate) struct HostFuncData {
    inner: Arc<HostFuncInner>,
}

struct HostFuncInner {
    ty: FuncType,
    callback: Box<HostCallback>,
}

/// A host function's failure, on its way from the function (which must
/// return to wasm normally) to the entry that reports it.
pub(crate) enum HostFailure {
    Error(Error),
    Panic(Box<dyn Any + Send>),
}

impl Func {
    /// A host function of type `ty` that runs `f`. `f` receives the
    /// parameters and must fill in the results (initialized to zero or null)
    /// with values of the declared types. An `Err` traps the calling wasm
    /// code: a [`Trap`](crate::Trap) it returns is passed on as is, any other
    /// error becomes a [`TrapCode::HostError`] trap carrying it. A panic
    /// unwinds to the host code that called into wasm. A concrete heap type
    /// in `ty` (`(ref $t)`) names an engine-wide signature id, as the types
    /// the runtime reports do.
    pub fn new(
        mut store: impl AsContextMut,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<(), Error> + Send + Sync + 'static,
    ) -> Func {
        let store = store.as_context_mut();
        let sig = store.engine.signatures().register(&ty);
        let ctx = RawBox::new(VMHostFuncContext {
            magic: HOST_CTX_MAGIC,
            array_call: host_array_call,
            func_ref: VMFuncRef {
                wasm_call: std::ptr::null(),
                array_call: std::ptr::null(),
                vmctx: std::ptr::null_mut(),
                type_id: sig,
            },
            host: HostFuncData { inner: Arc::new(HostFuncInner { ty, callback: Box::new(f) }) },
        });
        let func_ref = store.push_host_func(ctx);
        Func { store: store.id, func_ref }
    }

    /// A host function from a closure over wasm types, such as
    /// `|a: i32, b: i32| a + b`, optionally taking a [`Caller`] first and
    /// optionally returning `Result<_, Error>`.
    pub fn wrap<Params, Results>(mut store: impl AsContextMut, f: impl super::IntoFunc<Params, Results>) -> Func {
        f.into_func(store.as_context_mut())
    }
}

/// Runs a host function: `values` holds its parameters and receives its
/// results.
///
/// # Safety
/// `store` is the root pointer of the live store that owns `ctx`, with no
/// live Rust reference into it; `values` has a slot for every parameter and
/// result.
pub(crate) unsafe fn call_host(
    store: NonNull<StoreOpaque>,
    ctx: NonNull<VMHostFuncContext>,
    caller: Option<u32>,
    values: &mut [ValRaw],
) -> Result<(), Error> {
    // SAFETY: a live host context of this store (caller's guarantee).
    let inner = unsafe { Arc::clone(&ctx.as_ref().host.inner) };
    let ty = &inner.ty;
    if values.len() < ty.params.len().max(ty.results.len()) {
        return Err(Error::Internal(format!("{} value slots for a call of {ty}", values.len())));
    }
    let params: Vec<Val> = {
        // SAFETY: shared borrow that ends before the callback runs.
        let s = unsafe { store.as_ref() };
        ty.params.iter().zip(values.iter()).map(|(t, raw)| s.raw_to_val(*raw, *t)).collect()
    };
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    // SAFETY: no other reference into the store is alive (our caller's
    // guarantee); the caller handle is the only way in while `f` runs.
    (inner.callback)(unsafe { Caller::new(store, caller) }, &params, &mut results)?;
    // SAFETY: the callback has returned; shared borrow.
    let s = unsafe { store.as_ref() };
    for (i, ((result, expected), slot)) in results.iter().zip(&ty.results).zip(values.iter_mut()).enumerate() {
        s.check_val(result, *expected, format_args!("host function result {i}"))?;
        *slot = s.val_to_raw(result)?;
    }
    Ok(())
}

/// The entry generated code calls (through a wasm-to-host trampoline):
/// never unwinds; returns 0 or the trap code to raise.
unsafe extern "C" fn host_array_call(
    ctx: *mut VMHostFuncContext,
    caller_vmctx: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> u32 {
    let _host = HostScope::enter();
    // SAFETY: generated code passes its own live VM context as the caller.
    let Some((store, instance)) = (unsafe { InstanceData::store_and_index(caller_vmctx) }) else {
        // Not a VM context: nothing to report the failure to.
        return TrapCode::HostError.as_u32();
    };
    let (Some(ctx), false) = (NonNull::new(ctx), values.is_null() && len != 0) else {
        return TrapCode::HostError.as_u32();
    };
    let values: &mut [ValRaw] = if len == 0 {
        &mut []
    } else {
        // SAFETY: the trampoline passes `len` slots it owns for this call.
        unsafe { std::slice::from_raw_parts_mut(values, len) }
    };
    // SAFETY: the context belongs to the caller's store (wasm can only
    // reach host functions its store holds) and no Rust reference into the
    // store is alive: the host code that entered wasm dropped its borrows.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { call_host(store, ctx, Some(instance), values) }));
    // SAFETY: the callback has returned; a shared read of the store's id.
    let store_id = unsafe { (*store.as_ptr()).id };
    let (failure, code) = match outcome {
        Ok(Ok(())) => return 0,
        // An exception of this store is raised in the calling wasm code
        // (the trampoline passes the code to `raise_trap`).
        Ok(Err(Error::Exception(exn))) if exn.store == store_id => {
            crate::sys::set_host_exception(exn.ptr);
            return kiln_abi::exceptions::THROW_CODE;
        }
        Ok(Err(Error::Trap(trap))) => {
            let code = trap.code().as_u32();
            (HostFailure::Error(Error::Trap(trap)), code)
        }
        Ok(Err(error)) => (HostFailure::Error(error), TrapCode::HostError.as_u32()),
        Err(payload) => (HostFailure::Panic(payload), TrapCode::HostError.as_u32()),
    };
    // SAFETY: the callback has returned; this is the only borrow.
    unsafe { (*store.as_ptr()).pending = Some(failure) };
    code
}
