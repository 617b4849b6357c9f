//! Declarations of the C helpers in `traps.c` and thin wrappers around them.

use std::ffi::c_void;

/// Where a trap happened, filled in by the C side when it unwinds.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct TrapInfo {
    /// The pc of the faulting instruction, or the return address of the
    /// call to `raise_trap`.
    pub pc: usize,
    /// The faulting data address (memory faults only, else 0).
    pub fault_address: usize,
    /// The table element a trap raised by `raise_trap_at` is about.
    pub index: u64,
    /// Whether `index` was set (1) or not (0).
    pub has_index: u32,
    /// With [`kiln_abi::exceptions::THROW_CODE`]: whether the unwinder
    /// could not walk the stack (1) rather than reaching the entry (0).
    pub unwind_failed: u32,
    /// With [`kiln_abi::exceptions::THROW_CODE`]: the exception that left
    /// wasm.
    pub exception: *mut c_void,
}

impl Default for TrapInfo {
    fn default() -> TrapInfo {
        TrapInfo {
            pc: 0,
            fault_address: 0,
            index: 0,
            has_index: 0,
            unwind_failed: 0,
            exception: std::ptr::null_mut(),
        }
    }
}

impl TrapInfo {
    /// The table element the trap is about, if it names one.
    pub(crate) fn index(&self) -> Option<u64> {
        (self.has_index != 0).then_some(self.index)
    }
}

/// `fn(callee_vmctx, caller_vmctx, wasm_call, values)`.
pub(crate) type ArrayCallFn = unsafe extern "C" fn(*mut c_void, *mut c_void, *const c_void, *mut c_void);

/// Decides whether a fault at `pc` touching `address` is a wasm
/// out-of-bounds access. Called from the signal handler: must not allocate,
/// panic or take a lock a faulting thread could hold.
pub(crate) type FaultClassifier = extern "C" fn(pc: usize, address: usize) -> i32;

unsafe extern "C" {
    fn kiln_entry(
        array_call: ArrayCallFn,
        callee_vmctx: *mut c_void,
        caller_vmctx: *mut c_void,
        wasm_call: *const c_void,
        values: *mut c_void,
        info: *mut TrapInfo,
    ) -> u32;
    /// The `raise_trap` builtin: unwinds to the innermost entry.
    pub(crate) fn kiln_raise_trap(vmctx: *mut crate::vm::VMContext, code: i32) -> !;
    /// The `raise_trap_at` builtin: `raise_trap` naming a table element.
    pub(crate) fn kiln_raise_trap_at(vmctx: *mut crate::vm::VMContext, code: i32, index: i64) -> !;
    /// The `throw_ref` builtin: raises an exception through the unwinder.
    pub(crate) fn kiln_throw_ref(vmctx: *mut crate::vm::VMContext, exn: *mut u8) -> !;
    fn kiln_set_host_exception(exn: *mut c_void);
    fn kiln_leave_wasm() -> *mut c_void;
    fn kiln_reenter_wasm(activation: *mut c_void);
    fn kiln_stack_pointer() -> usize;
    fn kiln_install_fault_handlers(classifier: FaultClassifier, fault_trap_code: i32) -> i32;
}

/// Calls `array_call(callee, caller, wasm_call, values)` behind a
/// `sigsetjmp`. Returns 0, or the trap code that unwound it with `info`
/// filled in.
///
/// # Safety
/// The arguments must form a valid array call (a trampoline of the callee's
/// signature, a `values` buffer large enough for its parameters and
/// results). The thread must not be inside wasm code (it is in host code).
pub(crate) unsafe fn enter_wasm(
    array_call: ArrayCallFn,
    callee_vmctx: *mut c_void,
    caller_vmctx: *mut c_void,
    wasm_call: *const c_void,
    values: *mut c_void,
    info: &mut TrapInfo,
) -> u32 {
    // SAFETY: forwarded from the caller; `info` outlives the call.
    unsafe { kiln_entry(array_call, callee_vmctx, caller_vmctx, wasm_call, values, info) }
}

/// Makes `exn` the exception that the next `raise_trap` with
/// [`kiln_abi::exceptions::THROW_CODE`] on this thread raises (a host
/// function's, on its way back into the wasm code that called it).
pub(crate) fn set_host_exception(exn: usize) {
    // SAFETY: only stores a thread-local pointer.
    unsafe { kiln_set_host_exception(exn as *mut c_void) }
}

/// Marks the thread as running host code; returns the activation to restore.
pub(crate) fn leave_wasm() -> *mut c_void {
    // SAFETY: only swaps a thread-local pointer.
    unsafe { kiln_leave_wasm() }
}

/// Restores the activation returned by [`leave_wasm`].
///
/// # Safety
/// `activation` must come from the matching `leave_wasm` on this thread, and
/// every entry made since must have returned.
pub(crate) unsafe fn reenter_wasm(activation: *mut c_void) {
    // SAFETY: forwarded from the caller.
    unsafe { kiln_reenter_wasm(activation) }
}

/// An address close to the current stack pointer.
pub(crate) fn stack_pointer() -> usize {
    // SAFETY: returns the frame address of a leaf function; no side effects.
    unsafe { kiln_stack_pointer() }
}

/// Installs the process-wide SIGSEGV/SIGBUS handler. Call once.
pub(crate) fn install_fault_handlers(classifier: FaultClassifier, fault_trap_code: u32) -> std::io::Result<()> {
    // SAFETY: installs a signal handler that chains to the previous one; the
    // classifier is a plain `extern "C"` function that lives forever.
    let err = unsafe { kiln_install_fault_handlers(classifier, fault_trap_code as i32) };
    if err == 0 { Ok(()) } else { Err(std::io::Error::from_raw_os_error(err)) }
}
