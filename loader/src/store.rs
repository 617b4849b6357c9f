//! The store: owner of everything instances create or import (instances,
//! memories, tables, globals, host functions, external references), and of
//! the `VMStoreContext` that every instance's VM context points to.
//!
//! # Handles and aliasing
//!
//! Handles (`Func`, `Memory`, …) are a store id plus an index or address;
//! every use checks the id, so a handle used with another store is an
//! error, never undefined behaviour. The store's state lives in one heap
//! block ([`StoreOpaque`]) reached through a raw pointer that VM contexts
//! also hold (through their instance data): while wasm runs, host functions
//! re-derive `&mut StoreOpaque` from that pointer. Code that calls into
//! wasm therefore never keeps a Rust reference to the store alive across
//! the call; it re-borrows afterwards.

use crate::externals::{GlobalEntry, MemoryEntry, TableEntry};
use crate::func::HostFailure;
use crate::instance::InstanceData;
use crate::signatures::SigId;
use crate::values::ExternData;
use crate::vm::{RawBox, VMHostFuncContext, VMStoreContext};
use crate::{Engine, Error, Module, Val, ValRaw};
use crate::signatures::heap_subtype;
use kiln_abi::{HeapType, ValType};
use std::any::Any;
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies a store; handles carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn fresh() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A collection of instances and the entities they use. Everything created
/// in a store lives until the store is dropped. `Send`, not `Sync`: one
/// thread at a time runs its code.
pub struct Store {
    inner: NonNull<StoreOpaque>,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: the store owns all it points to (instances, memories, host
// function contexts); none of it is tied to a thread, host closures are
// `Send + Sync` and user data is `Send`. Per-thread trap state is only set
// during a call, which borrows the store mutably and ends on this thread.
unsafe impl Send for Store {}

/// The store's state. Public only so that [`AsContext`] can name it; its
/// contents are private.
#[doc(hidden)]
pub struct StoreOpaque {
    pub(crate) id: StoreId,
    pub(crate) engine: Engine,
    /// The root pointer to this block (instances hold copies).
    pub(crate) self_ptr: NonNull<StoreOpaque>,
    pub(crate) vm_store_context: RawBox<VMStoreContext>,
    /// Host-to-wasm entries currently on the stack.
    pub(crate) entry_depth: u32,
    /// Declared before `instances`, so dropped first: a shared memory's
    /// entry stops other threads' growth from writing the definition
    /// inline in an instance's VM context before that context is freed.
    pub(crate) memories: Vec<MemoryEntry>,
    pub(crate) instances: Vec<RawBox<InstanceData>>,
    pub(crate) tables: Vec<TableEntry>,
    pub(crate) globals: Vec<GlobalEntry>,
    pub(crate) host_funcs: Vec<RawBox<VMHostFuncContext>>,
    /// Host functions whose `VMFuncRef` lacks trampolines (indices into
    /// `host_funcs`).
    unfilled_host_funcs: Vec<usize>,
    pub(crate) externs: Vec<RawBox<ExternData>>,
    /// Tag identities: defined by instances or made by the host.
    pub(crate) tags: Vec<RawBox<crate::exceptions::VMTag>>,
    /// Every exception raised or made in the store.
    pub(crate) exceptions: Vec<crate::exceptions::ExnBox>,
    /// Per signature: (wasm-to-host, array-call) trampolines of some
    /// instantiated module, used to complete host functions' references.
    trampolines: HashMap<SigId, (usize, usize)>,
    /// A host function's error or panic on its way to the entry that will
    /// report it.
    pub(crate) pending: Option<HostFailure>,
    data: Option<Box<dyn Any + Send>>,
}

impl Store {
    /// A new, empty store.
    pub fn new(engine: &Engine) -> Store {
        let opaque = StoreOpaque {
            id: StoreId::fresh(),
            engine: engine.clone(),
            self_ptr: NonNull::dangling(),
            vm_store_context: RawBox::new(VMStoreContext::default()),
            entry_depth: 0,
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            host_funcs: Vec::new(),
            unfilled_host_funcs: Vec::new(),
            externs: Vec::new(),
            tags: Vec::new(),
            exceptions: Vec::new(),
            trampolines: HashMap::new(),
            pending: None,
            data: None,
        };
        let inner = NonNull::from(Box::leak(Box::new(opaque)));
        // SAFETY: just allocated and not shared yet.
        unsafe { (*inner.as_ptr()).self_ptr = inner };
        Store { inner, _not_sync: PhantomData }
    }

    /// A new store holding `data`, which host functions reach through
    /// [`Caller::data`](crate::Caller::data).
    pub fn with_data(engine: &Engine, data: impl Any + Send) -> Store {
        let mut store = Store::new(engine);
        store.as_context_mut().data = Some(Box::new(data));
        store
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.as_context().engine
    }

    /// The store's data, if it holds a `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.as_context().data()
    }

    /// The store's data, mutably, if it holds a `T`.
    pub fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.as_context_mut().data_mut()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`; no wasm runs (we have `&mut self`) and
        // no handle can reach the block without the store.
        drop(unsafe { Box::from_raw(self.inner.as_ptr()) });
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("id", &self.as_context().id).finish_non_exhaustive()
    }
}

/// Things that give shared access to a store: `Store`, `Caller`, and
/// references to them.
pub trait AsContext {
    #[doc(hidden)]
    fn as_context(&self) -> &StoreOpaque;
}

/// Things that give exclusive access to a store.
pub trait AsContextMut: AsContext {
    #[doc(hidden)]
    fn as_context_mut(&mut self) -> &mut StoreOpaque;
}

impl AsContext for Store {
    fn as_context(&self) -> &StoreOpaque {
        // SAFETY: the block lives as long as the store; `&self` excludes
        // wasm running on it (calls need `&mut`).
        unsafe { self.inner.as_ref() }
    }
}

impl AsContextMut for Store {
    fn as_context_mut(&mut self) -> &mut StoreOpaque {
        // SAFETY: as above, and `&mut self` makes the borrow exclusive.
        unsafe { self.inner.as_mut() }
    }
}

impl AsContext for StoreOpaque {
    fn as_context(&self) -> &StoreOpaque {
        self
    }
}

impl AsContextMut for StoreOpaque {
    fn as_context_mut(&mut self) -> &mut StoreOpaque {
        self
    }
}

impl<T: AsContext + ?Sized> AsContext for &T {
    fn as_context(&self) -> &StoreOpaque {
        T::as_context(self)
    }
}

impl<T: AsContext + ?Sized> AsContext for &mut T {
    fn as_context(&self) -> &StoreOpaque {
        T::as_context(self)
    }
}

impl<T: AsContextMut + ?Sized> AsContextMut for &mut T {
    fn as_context_mut(&mut self) -> &mut StoreOpaque {
        T::as_context_mut(self)
    }
}

impl StoreOpaque {
    /// Fails unless a handle of kind `what` created in store `id` belongs here.
    pub(crate) fn check(&self, id: StoreId, what: &'static str) -> Result<(), Error> {
        if id == self.id { Ok(()) } else { Err(Error::WrongStore(what)) }
    }

    pub(crate) fn data<T: Any>(&self) -> Option<&T> {
        self.data.as_ref()?.downcast_ref()
    }

    pub(crate) fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.data.as_mut()?.downcast_mut()
    }

    /// Checks that `val` is a value of the canonical type `ty` — a
    /// reference may be of a subtype, a function reference's type is its
    /// signature — and that a reference belongs to this store. `what` names
    /// the value in the error.
    pub(crate) fn check_val(&self, val: &Val, ty: ValType, what: impl std::fmt::Display) -> Result<(), Error> {
        let fits = match (*val, ty) {
            (Val::FuncRef(None), ValType::Ref(r)) => r.nullable && heap_subtype(HeapType::NoFunc, r.heap),
            (Val::FuncRef(Some(f)), ValType::Ref(r)) => heap_subtype(HeapType::Concrete(f.sig(self)?), r.heap),
            (Val::ExternRef(None), ValType::Ref(r)) => r.nullable && heap_subtype(HeapType::NoExtern, r.heap),
            (Val::ExternRef(Some(e)), ValType::Ref(r)) => {
                self.check(e.store, "external reference")?;
                heap_subtype(HeapType::Extern, r.heap)
            }
            (Val::ExnRef(None), ValType::Ref(r)) => r.nullable && heap_subtype(HeapType::NoExn, r.heap),
            (Val::ExnRef(Some(e)), ValType::Ref(r)) => {
                self.check(e.store, "exception")?;
                heap_subtype(HeapType::Exn, r.heap)
            }
            (val, ty) => val.ty() == ty,
        };
        if fits { Ok(()) } else { Err(Error::type_mismatch(what, ty, val.ty())) }
    }

    /// The untyped form of `val` for wasm, checking that references belong
    /// to this store.
    pub(crate) fn val_to_raw(&self, val: &Val) -> Result<ValRaw, Error> {
        Ok(match *val {
            Val::I32(v) => ValRaw::from_i32(v),
            Val::I64(v) => ValRaw::from_i64(v),
            Val::F32(v) => ValRaw::from_f32_bits(v),
            Val::F64(v) => ValRaw::from_f64_bits(v),
            Val::V128(v) => ValRaw::from_u128(v),
            Val::FuncRef(f) => ValRaw::from_ref(match f {
                Some(f) => {
                    self.check(f.store, "function")?;
                    f.func_ref
                }
                None => 0,
            }),
            Val::ExternRef(e) => ValRaw::from_ref(match e {
                Some(e) => {
                    self.check(e.store, "external reference")?;
                    e.ptr
                }
                None => 0,
            }),
            Val::ExnRef(e) => ValRaw::from_ref(match e {
                Some(e) => {
                    self.check(e.store, "exception")?;
                    e.ptr
                }
                None => 0,
            }),
        })
    }

    /// The typed form of a value of type `ty` that wasm produced.
    pub(crate) fn raw_to_val(&self, raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.i32()),
            ValType::I64 => Val::I64(raw.i64()),
            ValType::F32 => Val::F32(raw.f32_bits()),
            ValType::F64 => Val::F64(raw.f64_bits()),
            ValType::V128 => Val::V128(raw.u128()),
            ValType::Ref(r) if r.is_func() => Val::FuncRef(crate::Func::from_raw(self.id, raw.reference())),
            ValType::Ref(r) if r.is_exn() => Val::ExnRef(crate::Exception::from_raw(self.id, raw.reference())),
            ValType::Ref(_) => Val::ExternRef(crate::ExternRef::from_raw(self.id, raw.reference())),
        }
    }

    /// Records `module`'s trampolines for host functions of its signatures
    /// and completes the references of host functions that lacked them.
    pub(crate) fn register_trampolines(&mut self, module: &Module) {
        let meta = module.metadata();
        for (sig, ty) in module.sig_ids().iter().zip(meta.types.iter()) {
            let wasm_to_host = module.slot(ty.wasm_to_host.to_native()) as usize;
            let array_call = module.slot(ty.array_call.to_native()) as usize;
            self.trampolines.entry(*sig).or_insert((wasm_to_host, array_call));
        }
        let trampolines = &self.trampolines;
        let host_funcs = &mut self.host_funcs;
        self.unfilled_host_funcs.retain(|&i| {
            let func_ref = &mut host_funcs[i].func_ref;
            match trampolines.get(&func_ref.type_id) {
                Some(&(wasm_to_host, array_call)) => {
                    func_ref.wasm_call = wasm_to_host as *const c_void;
                    func_ref.array_call = array_call as *const c_void;
                    false
                }
                None => true,
            }
        });
    }

    /// Adds a host function context, completing its reference if a module
    /// of its signature was instantiated already. Returns its reference's
    /// address.
    pub(crate) fn push_host_func(&mut self, mut ctx: RawBox<VMHostFuncContext>) -> usize {
        let vmctx = ctx.as_ptr().cast::<c_void>();
        ctx.func_ref.vmctx = vmctx;
        match self.trampolines.get(&ctx.func_ref.type_id) {
            Some(&(wasm_to_host, array_call)) => {
                ctx.func_ref.wasm_call = wasm_to_host as *const c_void;
                ctx.func_ref.array_call = array_call as *const c_void;
            }
            None => self.unfilled_host_funcs.push(self.host_funcs.len()),
        }
        let address = &raw const ctx.func_ref as usize;
        self.host_funcs.push(ctx);
        address
    }

    pub(crate) fn instance(&self, index: u32) -> &InstanceData {
        &self.instances[index as usize]
    }
}
