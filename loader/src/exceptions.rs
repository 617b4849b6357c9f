//! Tags and exceptions (the exception-handling proposal) as the runtime
//! owns them; how they are raised and caught is in `traphandlers` and
//! `sys/unix/traps.c`, and in the compiler's `translate::exceptions`.
//!
//! A tag's identity is the address of a [`VMTag`] the store owns: each
//! instance makes one per tag it defines, an imported tag is the
//! exporter's, and the host may make its own ([`Tag::new`]). Generated
//! code compares addresses, so two instances of one module throw
//! different exceptions, as the specification wants.
//!
//! An exception is a block laid out as `kiln_abi::exceptions` says (the
//! unwinder's header, the tag, the payload in `ValRaw` slots); an `exnref`
//! is its address. The store owns every exception made in it and frees
//! them with itself: without a collector, an exception lives as long as
//! its store, as an `externref`'s host value does. A program that throws
//! in a loop grows its store by one small block per `throw`.

use crate::signatures::SigId;
use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::vm::{RawBox, ValRaw};
use crate::{Error, Val};
use kiln_abi::FuncType;
use kiln_abi::exceptions::{EXN_ALIGN, EXN_PAYLOAD_LEN_OFFSET, EXN_PAYLOAD_OFFSET, EXN_TAG_OFFSET};
use std::alloc::Layout;
use std::ptr::NonNull;

/// A tag's identity: generated code compares the address of one of these.
#[derive(Debug)]
pub(crate) struct VMTag {
    /// The engine-wide signature id of the tag's type (its parameters are
    /// the payload).
    pub(crate) sig: SigId,
}

/// A tag: a kind of exception, with the types of the values it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Tag {
    /// A new tag whose exceptions carry values of `ty`'s parameters (`ty`
    /// has no results), distinct from every other tag.
    pub fn new(mut store: impl AsContextMut, ty: &FuncType) -> Result<Tag, Error> {
        if !ty.results.is_empty() {
            return Err(Error::TypeMismatch(format!("a tag's type has no results, {ty} has")));
        }
        let store = store.as_context_mut();
        let sig = store.engine.signatures().register(ty);
        Ok(store.push_tag(sig))
    }

    /// The tag's type.
    pub fn ty(&self, store: impl AsContext) -> Result<FuncType, Error> {
        let store = store.as_context();
        let sig = self.sig(store)?;
        store.engine.signatures().lookup(sig).ok_or_else(|| Error::Internal(format!("tag signature {sig} unknown")))
    }

    pub(crate) fn sig(&self, store: &StoreOpaque) -> Result<SigId, Error> {
        store.check(self.store, "tag")?;
        Ok(store.tags[self.index as usize].sig)
    }

    /// The identity generated code compares.
    pub(crate) fn vm_tag(&self, store: &StoreOpaque) -> *const VMTag {
        store.tags[self.index as usize].as_ptr()
    }
}

/// The storage of one exception: `kiln_abi::exceptions` layout, with as
/// many payload slots as its tag has parameters.
pub(crate) struct ExnBox {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the block is plain bytes owned by the store, which is `Send`.
unsafe impl Send for ExnBox {}

impl ExnBox {
    fn new(tag: *const VMTag, payload: &[ValRaw]) -> ExnBox {
        let size = EXN_PAYLOAD_OFFSET as usize + std::mem::size_of_val(payload);
        let layout = Layout::from_size_align(size, EXN_ALIGN as usize).expect("exception sizes are small");
        // SAFETY: the layout has a non-zero size (the header alone is 64
        // bytes).
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        // SAFETY: the offsets are inside the block just allocated, aligned
        // for their types (16-aligned block, 8- and 16-byte offsets).
        unsafe {
            ptr.as_ptr().add(EXN_TAG_OFFSET as usize).cast::<*const VMTag>().write(tag);
            ptr.as_ptr().add(EXN_PAYLOAD_LEN_OFFSET as usize).cast::<u32>().write(payload.len() as u32);
            let slots = ptr.as_ptr().add(EXN_PAYLOAD_OFFSET as usize).cast::<ValRaw>();
            std::ptr::copy_nonoverlapping(payload.as_ptr(), slots, payload.len());
        }
        ExnBox { ptr, layout }
    }
}

impl Drop for ExnBox {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// An exception: an instance of a tag with its payload. Wasm code catches
/// it with `catch_ref`/`catch_all_ref` as an `exnref`; one that reaches
/// the host comes back as [`Error::Exception`], and a host function may
/// return one the same way, which raises it in the wasm code that called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Exception {
    pub(crate) store: StoreId,
    pub(crate) ptr: usize,
}

impl Exception {
    /// A new exception of `tag` carrying `payload` (of the tag's parameter
    /// types).
    pub fn new(mut store: impl AsContextMut, tag: &Tag, payload: &[Val]) -> Result<Exception, Error> {
        let store = store.as_context_mut();
        let ty = tag.ty(&*store)?;
        if ty.params.len() != payload.len() {
            return Err(Error::TypeMismatch(format!(
                "tag carries {} values, {} were given",
                ty.params.len(),
                payload.len()
            )));
        }
        let mut raw = Vec::with_capacity(payload.len());
        for (i, (value, &param)) in payload.iter().zip(&ty.params).enumerate() {
            store.check_val(value, param, format_args!("payload value {i}"))?;
            raw.push(store.val_to_raw(value)?);
        }
        let ptr = store.push_exception(tag.vm_tag(store), &raw);
        Ok(Exception { store: store.id, ptr })
    }

    pub(crate) fn from_raw(store: StoreId, ptr: usize) -> Option<Exception> {
        (ptr != 0).then_some(Exception { store, ptr })
    }

    fn tag_ptr(&self) -> *const VMTag {
        // SAFETY: `ptr` is an exception of its store (checked by callers),
        // which keeps it alive; the tag field was written at creation.
        unsafe { (self.ptr as *const u8).add(EXN_TAG_OFFSET as usize).cast::<*const VMTag>().read() }
    }

    /// Its tag.
    pub fn tag(&self, store: impl AsContext) -> Result<Tag, Error> {
        let store = store.as_context();
        store.check(self.store, "exception")?;
        let identity = self.tag_ptr();
        let index = store.tags.iter().position(|t| t.as_ptr().cast_const() == identity);
        let index = index.ok_or_else(|| Error::Internal("an exception's tag is not in its store".into()))?;
        Ok(Tag { store: store.id, index: index as u32 })
    }

    /// The values it carries.
    pub fn payload(&self, store: impl AsContext) -> Result<Vec<Val>, Error> {
        let store = store.as_context();
        let ty = self.tag(store)?.ty(store)?;
        let slots = (self.ptr + EXN_PAYLOAD_OFFSET as usize) as *const ValRaw;
        Ok(ty
            .params
            .iter()
            .enumerate()
            // SAFETY: the exception holds one slot per parameter of its tag.
            .map(|(i, &param)| store.raw_to_val(unsafe { slots.add(i).read() }, param))
            .collect())
    }

    /// Whether its tag is `tag`.
    pub fn is(&self, store: impl AsContext, tag: &Tag) -> Result<bool, Error> {
        Ok(self.tag(store)? == *tag)
    }
}

impl std::fmt::Display for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "uncaught wasm exception")
    }
}

impl StoreOpaque {
    /// A new tag identity of signature `sig`.
    pub(crate) fn push_tag(&mut self, sig: SigId) -> Tag {
        self.tags.push(RawBox::new(VMTag { sig }));
        Tag { store: self.id, index: self.tags.len() as u32 - 1 }
    }

    /// A new exception of `tag` with `payload`; returns its address.
    pub(crate) fn push_exception(&mut self, tag: *const VMTag, payload: &[ValRaw]) -> usize {
        let exn = ExnBox::new(tag, payload);
        let address = exn.ptr.as_ptr() as usize;
        self.exceptions.push(exn);
        address
    }
}

/// The `exn_new` builtin's work: a new exception of tag `tag` (an index in
/// the tag space of the instance whose vmctx is given) with zeroed payload
/// slots, which generated code fills.
///
/// # Safety
/// `vmctx` must be a live instance's VM context, and `tag` a tag index of
/// its module (generated code passes validated indices).
pub(crate) unsafe fn exn_new(vmctx: *mut crate::vm::VMContext, tag: u32) -> *mut u8 {
    // SAFETY: the caller's guarantee.
    let Some(data) = (unsafe { crate::instance::InstanceData::ptr_from_vmctx(vmctx) }) else {
        std::process::abort();
    };
    // SAFETY: instance data lives in its store as long as the store.
    let data = unsafe { &*data };
    let offsets = data.offsets();
    // SAFETY: the tag slot of a validated index holds the tag's identity.
    let identity = unsafe { crate::vm::vmctx_field::<*const VMTag>(vmctx, offsets.tag(tag)).read() };
    // SAFETY: every identity a vmctx holds is a live VMTag of its store.
    let sig = unsafe { (*identity).sig };
    let params = data.module.engine().signatures().lookup(sig).map_or(0, |t| t.params.len());
    // SAFETY: the store outlives its instances; generated code runs with
    // no Rust reference to it alive (the builtin runs in a host scope).
    let store = unsafe { &mut *data.store.as_ptr() };
    store.push_exception(identity, &vec![ValRaw::default(); params]) as *mut u8
}
