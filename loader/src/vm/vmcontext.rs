//! `#[repr(C)]` structs shared with generated code, and the VM context block.
//!
//! Their layout is not decided here: [`kiln_abi::VMOffsets`] computes every
//! offset, and the tests at the bottom assert that these structs agree with
//! it for the host's pointer size. Types generated code may read or write
//! implement [`VmSafe`]; only those can be reached through [`vmctx_field`].

use super::ValRaw;
use std::alloc::Layout;
use std::ffi::c_void;
use std::ptr::NonNull;

/// Marks types whose values generated code may read or write through a VM
/// context pointer.
///
/// # Safety
/// The type must be `#[repr(C)]` (or a primitive), have no padding that
/// generated code could read as data, contain no Rust-managed ownership
/// (no `Box`, `Vec`, `Arc` that compiled code could copy or overwrite), and
/// its layout must be checked against [`kiln_abi::VMOffsets`] by a test.
pub(crate) unsafe trait VmSafe {}

// SAFETY: primitives; generated code reads and writes them as such.
unsafe impl VmSafe for u32 {}
// SAFETY: as above (pointer-sized integers).
unsafe impl VmSafe for usize {}
// SAFETY: a raw pointer is a plain address; ownership lives elsewhere.
unsafe impl<T> VmSafe for *mut T {}
// SAFETY: as above.
unsafe impl<T> VmSafe for *const T {}

/// Opaque type of a VM context; only ever used behind a pointer.
#[repr(C)]
pub(crate) struct VMContext {
    _private: [u8; 0],
}

/// The callee-side entry of a host function:
/// `array_call(host_ctx, caller_vmctx, values, len) -> trap code or 0`.
pub(crate) type HostArrayCall = unsafe extern "C" fn(
    host_ctx: *mut VMHostFuncContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> u32;

/// A function reference: what `ref.func`, tables and `call_indirect` use.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VMFuncRef {
    /// Native entry, `(vmctx, caller_vmctx, params...) -> results`.
    pub wasm_call: *const c_void,
    /// Array-call trampoline of its signature.
    pub array_call: *const c_void,
    /// The callee's VM context, or a [`VMHostFuncContext`].
    pub vmctx: *mut c_void,
    /// Engine-wide signature id.
    pub type_id: u32,
}
// SAFETY: repr(C), pointers and an integer; checked against VMOffsets below.
// The trailing padding is never read by generated code.
unsafe impl VmSafe for VMFuncRef {}

/// An imported function as the importing instance sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VMFunctionImport {
    /// Native entry of the callee (for a host function: this module's
    /// wasm-to-host trampoline of the import's type).
    pub wasm_call: *const c_void,
    /// Array-call trampoline of its signature.
    pub array_call: *const c_void,
    /// The callee's VM context or host context.
    pub vmctx: *mut c_void,
}
// SAFETY: repr(C), three pointers; checked against VMOffsets below.
unsafe impl VmSafe for VMFunctionImport {}

/// A table's elements as generated code sees them.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VMTableDefinition {
    /// The elements: `*const VMFuncRef` or externref pointers, null = null.
    pub base: *mut usize,
    /// Number of elements.
    pub current_elements: usize,
}
// SAFETY: repr(C), a pointer and an integer; checked against VMOffsets below.
unsafe impl VmSafe for VMTableDefinition {}

/// A linear memory as generated code sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VMMemoryDefinition {
    /// Start of the memory; never changes.
    pub base: *mut u8,
    /// Accessible bytes.
    pub current_length: usize,
}
// SAFETY: repr(C), a pointer and an integer; checked against VMOffsets below.
unsafe impl VmSafe for VMMemoryDefinition {}

/// Storage of one global: a 16-byte slot laid out like a [`ValRaw`].
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct VMGlobalDefinition {
    pub value: ValRaw,
}
// SAFETY: repr(C), 16 plain bytes; checked against VMOffsets below.
unsafe impl VmSafe for VMGlobalDefinition {}

/// Per-store state generated code reads: one per store, shared by all its
/// instances.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct VMStoreContext {
    /// Function prologues trap with `StackOverflow` when the stack pointer is
    /// below this address. Set before the outermost entry into wasm.
    pub stack_limit: usize,
    /// Reserved by the ABI; zero.
    pub reserved: usize,
}
// SAFETY: repr(C), two integers; checked against VMOffsets below.
unsafe impl VmSafe for VMStoreContext {}

/// What a host function's `vmctx` points to. Generated code only reads
/// `magic` and `array_call`; the rest is private to the runtime.
#[repr(C)]
pub(crate) struct VMHostFuncContext {
    /// [`kiln_abi::vmoffsets::HOST_CTX_MAGIC`].
    pub magic: u32,
    /// The host's entry point.
    pub array_call: HostArrayCall,
    /// The function's own reference, handed out as its `Func`. Its
    /// `wasm_call`/`array_call` come from some module's trampolines of the
    /// same signature (filled when such a module is instantiated).
    pub func_ref: VMFuncRef,
    /// Runtime-private data.
    pub host: crate::func::HostFuncData,
}
// SAFETY: repr(C); generated code only reads the two leading fields, which
// are checked against VMOffsets below. The trailing Rust data is never
// touched by generated code.
unsafe impl VmSafe for VMHostFuncContext {}

/// The address of the field at `offset` in a VM context.
///
/// # Safety
/// `vmctx` must point to a live VM context whose layout places a `T` at
/// `offset` (an offset computed by its [`kiln_abi::VMOffsets`]).
pub(crate) unsafe fn vmctx_field<T: VmSafe>(vmctx: *mut VMContext, offset: u32) -> *mut T {
    // SAFETY: in bounds of the VM context per the caller's guarantee.
    unsafe { vmctx.cast::<u8>().add(offset as usize).cast::<T>() }
}

/// A VM context's memory: zeroed, 16-byte aligned, never moved, freed on
/// drop.
pub(crate) struct OwnedVMContext {
    ptr: NonNull<VMContext>,
    layout: Layout,
}

impl OwnedVMContext {
    /// Allocates a zeroed VM context of `size` bytes.
    pub(crate) fn new(size: u32) -> OwnedVMContext {
        let layout = Layout::from_size_align(size.max(kiln_abi::VMCTX_ALIGN) as usize, kiln_abi::VMCTX_ALIGN as usize).expect("VM context sizes are small");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr.cast::<VMContext>()).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        OwnedVMContext { ptr, layout }
    }

    pub(crate) fn as_ptr(&self) -> *mut VMContext {
        self.ptr.as_ptr()
    }
}

impl Drop for OwnedVMContext {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), self.layout) };
    }
}

/// The fixed header at the start of every VM context (not a Rust-side
/// value; it only documents and tests the header's layout).
#[repr(C)]
#[cfg(test)]
struct VMContextHeader {
    magic: u32,
    store_context: *mut VMStoreContext,
    builtins: *const c_void,
    instance: *const c_void,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::vmoffsets::{GLOBAL_SIZE, ModuleShape};
    use kiln_abi::{PtrSize, VAL_RAW_SIZE, VMOffsets};
    use std::mem::{align_of, offset_of, size_of};

    fn offsets() -> VMOffsets {
        let shape = ModuleShape {
            num_types: 3,
            num_imported_funcs: 2,
            num_defined_funcs: 4,
            num_imported_tables: 1,
            num_defined_tables: 2,
            num_imported_memories: 2,
            num_defined_memories: 3,
            num_imported_globals: 1,
            num_defined_globals: 2,
            num_imported_tags: 1,
            num_defined_tags: 1,
        };
        VMOffsets::new(PtrSize::HOST, &shape)
    }

    fn u(n: u32) -> usize {
        n as usize
    }

    #[test]
    fn structs_match_vmoffsets() {
        let o = offsets();
        assert_eq!(offset_of!(VMContextHeader, magic), u(o.magic()));
        assert_eq!(offset_of!(VMContextHeader, store_context), u(o.store_context()));
        assert_eq!(offset_of!(VMContextHeader, builtins), u(o.builtins()));
        assert_eq!(offset_of!(VMContextHeader, instance), u(o.instance()));
        assert_eq!(size_of::<VMContextHeader>(), u(o.type_id(0)));

        assert_eq!(size_of::<VMFuncRef>(), u(o.func_ref_size()));
        assert_eq!(offset_of!(VMFuncRef, wasm_call), u(o.func_ref_wasm_call()));
        assert_eq!(offset_of!(VMFuncRef, array_call), u(o.func_ref_array_call()));
        assert_eq!(offset_of!(VMFuncRef, vmctx), u(o.func_ref_vmctx()));
        assert_eq!(offset_of!(VMFuncRef, type_id), u(o.func_ref_type_id()));
        assert_eq!(u(o.func_ref(1) - o.func_ref(0)), size_of::<VMFuncRef>());

        assert_eq!(size_of::<VMFunctionImport>(), u(o.function_import_size()));
        assert_eq!(offset_of!(VMFunctionImport, wasm_call), u(o.function_import_wasm_call()));
        assert_eq!(offset_of!(VMFunctionImport, array_call), u(o.function_import_array_call()));
        assert_eq!(offset_of!(VMFunctionImport, vmctx), u(o.function_import_vmctx()));
        assert_eq!(u(o.imported_func(1) - o.imported_func(0)), size_of::<VMFunctionImport>());

        assert_eq!(size_of::<VMTableDefinition>(), u(o.table_definition_size()));
        assert_eq!(offset_of!(VMTableDefinition, base), u(o.table_definition_base()));
        assert_eq!(offset_of!(VMTableDefinition, current_elements), u(o.table_definition_current_elements()));
        assert_eq!(size_of::<usize>(), u(o.table_element_size()));
        assert_eq!(u(o.defined_table(1) - o.defined_table(0)), size_of::<VMTableDefinition>());

        assert_eq!(size_of::<VMMemoryDefinition>(), u(o.memory_definition_size()));
        assert_eq!(offset_of!(VMMemoryDefinition, base), u(o.memory_definition_base()));
        assert_eq!(offset_of!(VMMemoryDefinition, current_length), u(o.memory_definition_current_length()));
        // Several memories: definitions side by side, one pointer per import.
        for i in 1..3 {
            assert_eq!(u(o.defined_memory(i) - o.defined_memory(i - 1)), size_of::<VMMemoryDefinition>());
        }
        assert_eq!(u(o.imported_memory(1) - o.imported_memory(0)), size_of::<*mut VMMemoryDefinition>());

        assert_eq!(size_of::<VMGlobalDefinition>(), u(GLOBAL_SIZE));
        assert_eq!(align_of::<VMGlobalDefinition>(), u(GLOBAL_SIZE));
        assert_eq!(o.defined_global(0) % GLOBAL_SIZE, 0);
        assert_eq!(size_of::<ValRaw>(), u(VAL_RAW_SIZE));
        assert_eq!(align_of::<ValRaw>(), u(VAL_RAW_SIZE));

        assert_eq!(size_of::<VMStoreContext>(), u(o.store_context_size()));
        assert_eq!(offset_of!(VMStoreContext, stack_limit), u(o.store_context_stack_limit()));

        assert_eq!(offset_of!(VMHostFuncContext, magic), u(o.host_func_context_magic()));
        assert_eq!(offset_of!(VMHostFuncContext, array_call), u(o.host_func_context_array_call()));

        // Imported definitions are reached through one pointer each.
        assert_eq!(u(o.imported_memory(0) - o.imported_table(0)), size_of::<*mut VMTableDefinition>());
        assert_eq!(u(o.imported_global(0) - o.imported_memory(1)), size_of::<*mut VMMemoryDefinition>());
    }
}
