//! Unix (Linux first) implementation of the platform layer.
//!
//! Parts that are Linux- or ELF-specific (thread stack bounds through
//! `pthread_getattr_np`, code ranges through `dl_iterate_phdr`, reading the
//! faulting pc from `ucontext_t`) are marked so a macOS port knows what to
//! replace.

mod ffi;
mod library;
mod memory;
mod stack;

pub(crate) use ffi::{
    ArrayCallFn, TrapInfo, enter_wasm, install_fault_handlers, leave_wasm, reenter_wasm, set_host_exception,
    stack_pointer,
};
pub(crate) use library::{code_ranges_containing, open_library};
pub(crate) use memory::{Reservation, page_size};
pub(crate) use stack::{ensure_alt_stack, thread_stack_bottom};

/// The C implementation of the `raise_trap` builtin.
pub(crate) use ffi::kiln_raise_trap as raise_trap;
/// The C implementation of the `raise_trap_at` builtin.
pub(crate) use ffi::kiln_raise_trap_at as raise_trap_at;
/// The C implementation of the `throw_ref` builtin.
pub(crate) use ffi::kiln_throw_ref as throw_ref;
