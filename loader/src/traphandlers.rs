//! Entering wasm, and getting back out when it traps.
//!
//! # The problem
//!
//! A trap must be able to stop generated code anywhere (its unwind tables
//! serve wasm exceptions only, see *Exceptions* below): at a failed check
//! (divide by zero, bad indirect call, stack limit, `unreachable`), at a
//! failing host call, or at a load or store that faults because generated
//! code does no bounds checks. In every
//! case control must come back to the host call that entered wasm, with the
//! store intact and usable for the next call.
//!
//! # The shape
//!
//! * Every entry from the host goes through [`invoke`], which calls the C
//!   helper `kiln_entry` (`sys/unix/traps.c`). It `sigsetjmp`s into an
//!   activation record on its own stack frame, links it into a thread-local
//!   list (the innermost one is "current") and calls the callee's
//!   array-call trampoline.
//! * The `raise_trap` builtin (C) `siglongjmp`s to the current activation
//!   with the trap code. Generated code calls it for every trap it detects
//!   itself, including a nonzero code returned by a host function or a
//!   fallible builtin.
//! * The SIGSEGV/SIGBUS handler (C, installed once per process with
//!   `SA_SIGINFO | SA_ONSTACK | SA_NODEFER`) claims a fault only if this
//!   thread has a current activation, the faulting pc lies in registered
//!   kiln code and the address lies in a registered memory reservation
//!   (`registry`). It then `siglongjmp`s with `MemoryOutOfBounds`. Any other
//!   fault goes to the previously installed handler (for example Rust's
//!   stack-overflow reporter) or to the default action.
//!
//! # Why this is sound
//!
//! `longjmp` may only skip frames that own nothing: no destructors, no
//! locks. Between `kiln_entry` and the jump there are only wasm frames,
//! trampolines and C. Rust code that wasm calls — host functions and the
//! Rust builtins — first runs [`HostScope::enter`], which clears the current
//! activation, and restores it when it returns. So while Rust frames are on
//! top of the stack, neither `raise_trap` (which aborts if there is no
//! activation, as that is a bug) nor the fault handler (which then declines
//! the fault) can jump over them. A host function's error or panic is
//! stored in the store ([`StoreOpaque::pending`]), the function returns a
//! trap code, and generated code raises it after the Rust frames are gone;
//! `invoke` then turns the code back into the stored error, or resumes the
//! panic.
//!
//! `sigsetjmp(.., 0)` saves no signal mask (no syscall per call). That is
//! only correct because the handler runs with `SA_NODEFER`: the signal is
//! not blocked while it runs, so jumping out of it leaves the mask as it
//! was.
//!
//! # Nesting
//!
//! A host function may call into wasm again. Its `invoke` pushes a new
//! activation whose `prev` is the one the host scope cleared (null); a trap
//! in the inner wasm unwinds to the inner entry only. When the host
//! function returns, its scope restores the outer activation.
//!
//! # Exceptions
//!
//! A wasm exception is raised by the `throw_ref` builtin (C) as a forced
//! unwind of the system unwinder, which runs generated code's landing
//! pads. Before each frame the unwinder calls `kiln_stop`, which
//! `siglongjmp`s to the current activation with
//! [`kiln_abi::exceptions::THROW_CODE`] once the frame is `kiln_entry`'s
//! own: no wasm handler took the exception, and [`invoke`] returns it as
//! [`Error::Exception`]. A host function returns such an error to raise
//! one: it is stored for this thread and its code returned, and
//! `raise_trap` in the wasm-to-host trampoline raises it there, so the
//! unwind starts in wasm's frames, never in Rust's. Traps never unwind:
//! a trap inside a `try_table` is not caught.
//!
//! # Stack overflow
//!
//! Function prologues compare the stack pointer with
//! `VMStoreContext::stack_limit` and raise `StackOverflow` below it, so
//! exhausting the wasm stack never depends on hitting a guard page. The
//! outermost entry of a store sets the limit to `sp - max_wasm_stack`,
//! clamped to stay [`STACK_SAFETY_MARGIN`] above the bottom of the thread's
//! stack so host functions called near the limit, and the trap path, still
//! have room. Nested entries keep the outer limit: the wasm stack budget is
//! per outermost call, not per nesting level. The fault handler runs on an
//! alternate signal stack, which [`invoke`] makes sure this thread has.

use crate::func::{HostFailure, call_host};
use crate::store::StoreOpaque;
use crate::sys;
use crate::vm::{VMFuncRef, VMHostFuncContext, ValRaw};
use crate::{Error, Trap};
use kiln_abi::TrapCode;
use kiln_abi::vmoffsets::HOST_CTX_MAGIC;
use std::ffi::c_void;
use std::ptr::NonNull;

/// Stack kept free below the wasm stack limit for host code and trap
/// handling when a thread's stack is smaller than the configured wasm stack.
pub(crate) const STACK_SAFETY_MARGIN: usize = 128 * 1024;

/// The stack limit for an outermost entry at stack pointer `sp`.
pub(crate) fn stack_limit(sp: usize, max_wasm_stack: usize, stack_bottom: Option<usize>) -> usize {
    let wanted = sp.saturating_sub(max_wasm_stack);
    match stack_bottom {
        Some(bottom) => wanted.max(bottom.saturating_add(STACK_SAFETY_MARGIN)),
        None => wanted,
    }
}

/// While alive, the thread counts as running host code: traps and faults
/// cannot unwind through the Rust frames above it.
pub(crate) struct HostScope {
    activation: *mut c_void,
}

impl HostScope {
    pub(crate) fn enter() -> HostScope {
        HostScope { activation: sys::leave_wasm() }
    }
}

impl Drop for HostScope {
    fn drop(&mut self) {
        // SAFETY: restores what `enter` took on this thread; entries made
        // in between have all returned (they are scoped inside this one).
        unsafe { sys::reenter_wasm(self.activation) }
    }
}

/// Whether the function reference is a host function's.
///
/// # Safety
/// `func_ref` must be a live function reference of a store.
pub(crate) unsafe fn host_context(func_ref: *const VMFuncRef) -> Option<NonNull<VMHostFuncContext>> {
    // SAFETY: a live reference's vmctx is a VM context or host context, both
    // starting with a u32 magic number.
    let vmctx = unsafe { (*func_ref).vmctx };
    // SAFETY: as above.
    let magic = unsafe { vmctx.cast::<u32>().read() };
    (magic == HOST_CTX_MAGIC).then(|| NonNull::new(vmctx.cast()).expect("host contexts are not null"))
}

/// Calls the function `func_ref` with `values` (parameters in, results out,
/// one slot each, at least as many as either).
///
/// # Safety
/// `store` must be the root pointer of the live store that owns `func_ref`,
/// and no Rust reference into the store may be alive (host functions
/// reached from here borrow it). `values` must hold the parameters of the
/// function's type.
pub(crate) unsafe fn invoke(
    store: NonNull<StoreOpaque>,
    func_ref: *const VMFuncRef,
    values: &mut [ValRaw],
) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    if let Some(host) = unsafe { host_context(func_ref) } {
        // SAFETY: a host function of this store, called from the host.
        return unsafe { call_host(store, host, None, values) };
    }
    crate::engine::check_process_setup()?;
    sys::ensure_alt_stack().map_err(|e| Error::Resource(format!("cannot set up a signal stack: {e}")))?;
    // SAFETY: a live reference (caller's guarantee).
    let f = unsafe { *func_ref };
    if f.wasm_call.is_null() || f.array_call.is_null() {
        return Err(Error::Internal("called a function without an entry point".into()));
    }
    // SAFETY: a non-null `array_call` of a live reference is the array-call
    // trampoline of the function's signature.
    let array_call: sys::ArrayCallFn = unsafe { std::mem::transmute::<*const c_void, sys::ArrayCallFn>(f.array_call) };
    {
        // SAFETY: no other reference to the store is alive (caller's
        // guarantee); this one ends before wasm runs.
        let s = unsafe { &mut *store.as_ptr() };
        if s.entry_depth == 0 {
            let limit = stack_limit(sys::stack_pointer(), s.engine.max_wasm_stack(), sys::thread_stack_bottom());
            s.vm_store_context.stack_limit = limit;
        }
        s.entry_depth += 1;
    }
    let mut info = sys::TrapInfo::default();
    // SAFETY: a valid array call of the callee's own signature with a
    // values buffer the caller sized for it; this thread is in host code.
    let code =
        unsafe { sys::enter_wasm(array_call, f.vmctx, f.vmctx, f.wasm_call, values.as_mut_ptr().cast(), &mut info) };
    // SAFETY: wasm has returned; nothing else borrows the store now.
    let s = unsafe { &mut *store.as_ptr() };
    s.entry_depth -= 1;
    if code == kiln_abi::exceptions::THROW_CODE {
        if info.unwind_failed != 0 {
            return Err(Error::Internal("the unwinder could not walk the stack to raise a wasm exception".into()));
        }
        return Err(Error::Exception(crate::Exception { store: s.id, ptr: info.exception as usize }));
    }
    if code == 0 {
        return match s.pending.take() {
            None => Ok(()),
            Some(HostFailure::Panic(payload)) => std::panic::resume_unwind(payload),
            Some(HostFailure::Error(e)) => {
                Err(Error::Internal(format!("generated code ignored a host function's error: {e}")))
            }
        };
    }
    match s.pending.take() {
        Some(HostFailure::Panic(payload)) => std::panic::resume_unwind(payload),
        Some(HostFailure::Error(Error::Trap(trap))) => Err(Error::Trap(trap)),
        Some(HostFailure::Error(error)) => Err(Error::Trap(Trap::host(error))),
        None => match TrapCode::from_u32(code) {
            Some(code) => Err(Error::Trap(Trap::at(code, info.pc, info.fault_address).with_index(info.index()))),
            None => Err(Error::Internal(format!("generated code raised trap code {code}, which does not exist"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_limit_is_clamped_above_the_stack_bottom() {
        let mib = 1 << 20;
        assert_eq!(stack_limit(10 * mib, mib, Some(0)), 9 * mib);
        assert_eq!(stack_limit(10 * mib, mib, None), 9 * mib);
        assert_eq!(stack_limit(10 * mib, mib, Some(9 * mib + 4096)), 9 * mib + 4096 + STACK_SAFETY_MARGIN);
        assert_eq!(stack_limit(mib / 2, mib, None), 0);
        // Already below the margin: every wasm call traps at once.
        let bottom = 10 * mib;
        assert!(stack_limit(bottom + 4096, mib, Some(bottom)) > bottom + 4096);
    }
}
