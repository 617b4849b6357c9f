//! The runtime's private per-instance data, which the VM context's
//! `instance` field points to.

use crate::Module;
use crate::store::StoreOpaque;
use crate::vm::{OwnedVMContext, VMContext, VMFuncRef, vmctx_field};
use kiln_abi::vmoffsets::VMCTX_MAGIC;
use kiln_abi::{ModuleShape, PtrSize, VMOffsets};
use std::ptr::NonNull;

/// One instance: its module, VM context, and the store indices of the
/// entities in its index spaces.
pub(crate) struct InstanceData {
    pub module: Module,
    pub vmctx: OwnedVMContext,
    /// Root pointer of the owning store.
    pub store: NonNull<StoreOpaque>,
    /// Index in the store's instances.
    pub index: u32,
    /// Store indices of the memories, tables and globals in the module's
    /// index spaces (imports first).
    pub memories: Vec<u32>,
    pub tables: Vec<u32>,
    pub globals: Vec<u32>,
    pub tags: Vec<u32>,
    /// Evaluated items of each element segment; `None` once dropped
    /// (active and declarative segments are dropped at instantiation).
    pub elements: Vec<Option<Box<[usize]>>>,
    /// Which data segments were dropped.
    pub dropped_data: Vec<bool>,
}

impl InstanceData {
    pub(crate) fn offsets(&self) -> &VMOffsets {
        self.module.offsets()
    }

    pub(crate) fn vmctx(&self) -> *mut VMContext {
        self.vmctx.as_ptr()
    }

    /// The address of function `index`'s reference in this VM context.
    pub(crate) fn func_ref(&self, index: u32) -> *mut VMFuncRef {
        // SAFETY: `func_ref` offsets lie inside this instance's VM context.
        unsafe { vmctx_field(self.vmctx(), self.offsets().func_ref(index)) }
    }

    /// The instance data a VM context belongs to.
    ///
    /// # Safety
    /// `vmctx` must be null or point to a live VM context or host context.
    pub(crate) unsafe fn from_vmctx<'a>(vmctx: *mut VMContext) -> Option<&'a InstanceData> {
        // SAFETY: forwarded; the pointer is to live instance data.
        unsafe { InstanceData::ptr_from_vmctx(vmctx).map(|p| &*p) }
    }

    /// Like [`InstanceData::from_vmctx`], as a raw pointer.
    ///
    /// # Safety
    /// As for [`InstanceData::from_vmctx`].
    pub(crate) unsafe fn ptr_from_vmctx(vmctx: *mut VMContext) -> Option<*mut InstanceData> {
        if vmctx.is_null() {
            return None;
        }
        let header = VMOffsets::new(PtrSize::HOST, &ModuleShape::default());
        // SAFETY: both kinds of context start with a u32 magic number.
        let magic = unsafe { vmctx_field::<u32>(vmctx, header.magic()).read() };
        if magic != VMCTX_MAGIC {
            return None;
        }
        // SAFETY: a VM context's `instance` field holds its live instance
        // data, set at instantiation and never changed.
        let data = unsafe { vmctx_field::<*mut InstanceData>(vmctx, header.instance()).read() };
        (!data.is_null()).then_some(data)
    }

    /// The owning store's root pointer and this instance's index.
    ///
    /// # Safety
    /// As for [`InstanceData::from_vmctx`].
    pub(crate) unsafe fn store_and_index(vmctx: *mut VMContext) -> Option<(NonNull<StoreOpaque>, u32)> {
        // SAFETY: forwarded.
        let data = unsafe { InstanceData::from_vmctx(vmctx) }?;
        Some((data.store, data.index))
    }
}
