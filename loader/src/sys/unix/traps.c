/*
 * kiln loader, Unix: the host-to-wasm entry, trap unwinding and the fault
 * handler. See `src/traphandlers.rs` for the design; this file is the part
 * that must be C because it uses sigsetjmp/siglongjmp, which Rust cannot call
 * soundly.
 *
 * Exceptions (wasm exception handling) are raised here too, by
 * kiln_throw_ref, as a forced unwind of the system unwinder (libgcc_s or
 * libunwind): generated code's landing pads catch them. One that reaches
 * the entry's own frame is handed to it like a trap, with KILN_THROW_CODE.
 *
 * Invariant: between the sigsetjmp in kiln_entry and a siglongjmp back to it
 * there are only frames of generated wasm code, its trampolines and this
 * file, never Rust frames. Rust code called from wasm (host functions,
 * builtins) first clears the thread's activation with kiln_leave_wasm, so
 * neither raise_trap nor the fault handler can jump over it.
 */
#define _GNU_SOURCE
/* The fortified longjmp checks the jump against the current stack, which
 * is the signal stack when the fault handler jumps; use the plain one. */
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unwind.h>

/* kiln_abi::exceptions::THROW_CODE: an uncaught exception, not a trap. */
#define KILN_THROW_CODE 256
/* kiln_abi::exceptions::EXN_CLASS ("KILNWASM"). */
#define KILN_EXN_CLASS 0x4b494c4e5741534dULL

typedef void (*kiln_array_call_fn)(void *callee_vmctx, void *caller_vmctx, void *wasm_call, void *values);
typedef int32_t (*kiln_fault_classifier_fn)(uintptr_t pc, uintptr_t address);

/* Filled in when a trap unwinds; owned by the Rust caller of kiln_entry. */
struct kiln_trap_info {
    uintptr_t pc;
    uintptr_t fault_address;
    uint64_t index;
    uint32_t has_index;
    /* Set with KILN_THROW_CODE: the exception that left wasm, and whether
     * the unwinder failed to walk the stack (1) rather than reaching the
     * entry (0). */
    uint32_t unwind_failed;
    void *exception;
};

/* One host-to-wasm entry on this thread's stack. */
struct kiln_activation {
    sigjmp_buf jmp;
    struct kiln_activation *prev;
    struct kiln_trap_info *info;
    /* kiln_entry's frame address. An unwound frame whose canonical frame
     * address is at or above it is kiln_entry's own or its callers' (on
     * x86_64 the frame address is below kiln_entry's CFA; on aarch64 it
     * equals the CFA of the array-call trampoline, which has no handler;
     * on riscv64 it is kiln_entry's CFA itself). */
    uintptr_t frame;
};

/* The exception a host function raises, on its way from the host call's
 * return to kiln_raise_trap(KILN_THROW_CODE) in the wasm-to-host
 * trampoline. */
static __thread void *kiln_host_exception __attribute__((tls_model("initial-exec")));

/* The innermost activation whose wasm code is running on this thread, or NULL
 * while the thread runs host code. initial-exec: read from a signal handler,
 * where a lazily allocated TLS block must not be touched. */
static __thread struct kiln_activation *kiln_current __attribute__((tls_model("initial-exec")));

static kiln_fault_classifier_fn kiln_classifier;
static int32_t kiln_fault_trap_code;
static struct sigaction kiln_prev_segv;
static struct sigaction kiln_prev_bus;

uint32_t kiln_entry(kiln_array_call_fn array_call, void *callee_vmctx, void *caller_vmctx, void *wasm_call,
                    void *values, struct kiln_trap_info *info) {
    struct kiln_activation act;
    act.prev = kiln_current;
    act.info = info;
    act.frame = (uintptr_t)__builtin_frame_address(0);
    /* savesigs = 0: no syscall per entry. The fault handler runs with
     * SA_NODEFER, so jumping out of it leaves no signal blocked. */
    int code = sigsetjmp(act.jmp, 0);
    if (code == 0) {
        kiln_current = &act;
        array_call(callee_vmctx, caller_vmctx, wasm_call, values);
        kiln_current = act.prev;
        return 0;
    }
    /* A trap: `act.prev` was not modified since sigsetjmp, so it is intact. */
    kiln_current = act.prev;
    return (uint32_t)code;
}

/* Called by the unwinder before it looks at each frame of a forced unwind.
 * Once the frame is kiln_entry's (or the stack ends), no wasm handler took
 * the exception: it goes to the entry like a trap. */
static _Unwind_Reason_Code kiln_stop(int version, _Unwind_Action actions, _Unwind_Exception_Class exception_class,
                                     struct _Unwind_Exception *exception, struct _Unwind_Context *context,
                                     void *argument) {
    (void)version;
    (void)exception_class;
    struct kiln_activation *act = (struct kiln_activation *)argument;
    if ((actions & _UA_END_OF_STACK) || _Unwind_GetCFA(context) >= act->frame) {
        act->info->exception = exception;
        act->info->unwind_failed = 0;
        siglongjmp(act->jmp, KILN_THROW_CODE);
    }
    return _URC_NO_REASON;
}

/* The `throw_ref` builtin: raises the exception `exn` (a kiln exception
 * object, whose first bytes are the unwinder's header). */
__attribute__((noreturn)) void kiln_throw_ref(void *vmctx, void *exn) {
    (void)vmctx;
    struct kiln_activation *act = kiln_current;
    if (act == NULL || exn == NULL) {
        abort();
    }
    struct _Unwind_Exception *header = (struct _Unwind_Exception *)exn;
    _Static_assert(sizeof(struct _Unwind_Exception) <= 64, "kiln_abi::exceptions::EXN_HEADER_SIZE");
    memset(header, 0, sizeof *header);
    header->exception_class = KILN_EXN_CLASS;
    header->exception_cleanup = NULL;
    _Unwind_ForcedUnwind(header, kiln_stop, act);
    /* Only returns if the stack could not be walked. */
    act->info->exception = exn;
    act->info->unwind_failed = 1;
    siglongjmp(act->jmp, KILN_THROW_CODE);
}

/* Host code raising an exception in the wasm code that called it: the
 * wasm-to-host trampoline passes KILN_THROW_CODE to kiln_raise_trap. */
void kiln_set_host_exception(void *exn) {
    kiln_host_exception = exn;
}

/* The `raise_trap` builtin. Only generated code calls it, with its
 * activation current. */
__attribute__((noreturn)) void kiln_raise_trap(void *vmctx, int32_t code) {
    struct kiln_activation *act = kiln_current;
    if (act != NULL && code == KILN_THROW_CODE && kiln_host_exception != NULL) {
        void *exn = kiln_host_exception;
        kiln_host_exception = NULL;
        kiln_throw_ref(vmctx, exn);
    }
    if (act == NULL) {
        /* Called outside wasm, or from host code: jumping would skip Rust
         * frames. This is a bug in the compiler or the runtime. */
        abort();
    }
    act->info->pc = (uintptr_t)__builtin_return_address(0);
    act->info->fault_address = 0;
    /* A zero code would be indistinguishable from the first return of
     * sigsetjmp; report it as the invalid code UINT32_MAX. */
    siglongjmp(act->jmp, code == 0 ? -1 : code);
}

/* The `raise_trap_at` builtin: `raise_trap` about the table element at
 * `index`, which the trap reports. */
__attribute__((noreturn)) void kiln_raise_trap_at(void *vmctx, int32_t code, int64_t index) {
    (void)vmctx;
    struct kiln_activation *act = kiln_current;
    if (act == NULL) {
        abort();
    }
    act->info->pc = (uintptr_t)__builtin_return_address(0);
    act->info->fault_address = 0;
    act->info->index = (uint64_t)index;
    act->info->has_index = 1;
    siglongjmp(act->jmp, code == 0 ? -1 : code);
}

/* Host code called from wasm brackets itself with these two. */
void *kiln_leave_wasm(void) {
    struct kiln_activation *act = kiln_current;
    kiln_current = NULL;
    return act;
}

void kiln_reenter_wasm(void *act) {
    kiln_current = (struct kiln_activation *)act;
}

uintptr_t kiln_stack_pointer(void) {
    return (uintptr_t)__builtin_frame_address(0);
}

static uintptr_t kiln_context_pc(void *context) {
    ucontext_t *uc = (ucontext_t *)context;
#if defined(__linux__) && defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__linux__) && defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
#error "kiln loader: reading the faulting pc is not implemented for this platform"
#endif
}

static void kiln_chain(int signo, siginfo_t *info, void *context) {
    struct sigaction *prev = signo == SIGSEGV ? &kiln_prev_segv : &kiln_prev_bus;
    if (prev->sa_flags & SA_SIGINFO) {
        prev->sa_sigaction(signo, info, context);
        return;
    }
    if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
        /* Restore the default action and return: the faulting instruction
         * runs again and the process dies of the signal as it would have
         * without us. (Ignoring a fault would only loop.) */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(signo, &dfl, NULL);
        return;
    }
    prev->sa_handler(signo);
}

static void kiln_fault_handler(int signo, siginfo_t *info, void *context) {
    int saved_errno = errno;
    struct kiln_activation *act = kiln_current;
    if (act != NULL) {
        uintptr_t pc = kiln_context_pc(context);
        uintptr_t address = (uintptr_t)info->si_addr;
        if (kiln_classifier(pc, address)) {
            act->info->pc = pc;
            act->info->fault_address = address;
            siglongjmp(act->jmp, kiln_fault_trap_code);
        }
    }
    errno = saved_errno;
    kiln_chain(signo, info, context);
}

/* Installs the SIGSEGV/SIGBUS handler; called once per process. Returns 0 or
 * an errno value. */
int32_t kiln_install_fault_handlers(kiln_fault_classifier_fn classifier, int32_t fault_trap_code) {
    kiln_classifier = classifier;
    kiln_fault_trap_code = fault_trap_code;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = kiln_fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &kiln_prev_segv) != 0) {
        return errno;
    }
    if (sigaction(SIGBUS, &sa, &kiln_prev_bus) != 0) {
        return errno;
    }
    return 0;
}
