//! Everything that depends on the operating system: the fault handler and
//! entry helper (C), address-space reservations, thread stack bounds,
//! alternate signal stacks, and opening libraries. One module per OS family;
//! the rest of the crate only uses the names re-exported here, so this is
//! the seam where a macOS or Windows runtime plugs in. (CPU feature
//! detection in `module::cpu` depends on the architecture, not the OS.)
//!
//! # What an OS module provides
//!
//! | name | what it does | Unix (`unix/`) | what Windows would use |
//! |---|---|---|---|
//! | `open_library` | load a checked artifact, every symbol bound now, privately | `dlopen(RTLD_NOW \| RTLD_LOCAL)` | `LoadLibraryExW` |
//! | `code_ranges_containing` | the executable ranges of the loaded artifact, for the fault handler | `dl_iterate_phdr` (macOS: the dyld image list) | `GetModuleInformation` + section headers |
//! | `Reservation`, `page_size` | reserve address space inaccessible, make a prefix accessible | `mmap(PROT_NONE)` + `mprotect` | `VirtualAlloc(MEM_RESERVE)` + `MEM_COMMIT` |
//! | `install_fault_handlers` | turn a fault at a registered kiln pc into a trap | `sigaction` for SIGSEGV and SIGBUS, chaining to earlier handlers | a vectored exception handler |
//! | `enter_wasm`, `leave_wasm`, `reenter_wasm`, `raise_trap`, `TrapInfo` | enter wasm through an array-call trampoline so that a trap returns there | `sigsetjmp`/`siglongjmp` in C (`traps.c`) | `setjmp`/`longjmp` (unwinds through the `.pdata` kiln emits for every Windows function) |
//! | `ensure_alt_stack` | a stack the fault handler can run on when wasm exhausted its own | `sigaltstack` | not needed: a vectored handler runs on the faulting stack after the guard page |
//! | `stack_pointer`, `thread_stack_bottom` | bounds for the stack limit written into the store context | `pthread_getattr_np` (macOS: `pthread_get_stackaddr_np`) | `GetCurrentThreadStackLimits` |
//!
//! The artifact side is already there for all three: the compiler and
//! linker produce `.so`, `.dylib` and `.dll` files (see DESIGN.md,
//! "Targets"), and reading metadata (`module::file`) works for every format
//! on every host.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
compile_error!("kiln-loader supports Unix hosts only for now; add a `sys` module for this OS");
