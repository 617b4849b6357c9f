/* Runs kiln-compiled aarch64 code under qemu for tests/aarch64.rs.
 *
 * The test generates `setup.h`: the VM context size, a list of writes that
 * initialize it (function pointers from the function table, pointers into
 * the context or the linear memory, immediates) and a list of calls. Each
 * call goes through an array-call trampoline; its results (or the trap
 * code raised) are printed one line per call. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

extern void *kiln_functions[];

enum kind { FN_SLOT, VMCTX_PTR, MEMORY_BASE, BUILTINS, STORE_CTX, IMM32, IMM64 };
struct init { int kind; uint32_t offset; uint64_t value; };
struct call { const char *name; int wasm_call; int array_call; int nargs; uint64_t args[4]; int nresults; };

#include "setup.h"

static jmp_buf trap_jmp;
static uint8_t *memory;
static uint64_t store_context[2];

static int64_t memory_grow(void *vmctx, int32_t mem, int64_t delta) {
    uint64_t *length = (uint64_t *)((uint8_t *)vmctx + MEMORY_LENGTH_OFFSET);
    (void)mem;
    uint64_t old = *length / 65536;
    if (old + delta > MAX_PAGES) return -1;
    *length = (old + delta) * 65536;
    return (int64_t)old;
}

static void raise_trap(void *vmctx, int32_t code) {
    (void)vmctx;
    longjmp(trap_jmp, code);
}

static void *builtins[] = { (void *)memory_grow, (void *)raise_trap };

typedef void (*array_call_fn)(void *, void *, void *, void *);

int main(void) {
    static uint8_t vmctx[VMCTX_SIZE] __attribute__((aligned(16)));
    volatile char marker = 0;
    store_context[0] = (uint64_t)(uintptr_t)&marker - 512 * 1024;
    memory = mmap(NULL, MAX_PAGES * 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return 2;
    for (size_t i = 0; i < sizeof(inits) / sizeof(inits[0]); i++) {
        const struct init *w = &inits[i];
        uint8_t *at = vmctx + w->offset;
        uint64_t v = 0;
        switch (w->kind) {
        case FN_SLOT: v = (uint64_t)(uintptr_t)kiln_functions[w->value]; break;
        case VMCTX_PTR: v = (uint64_t)(uintptr_t)(vmctx + w->value); break;
        case MEMORY_BASE: v = (uint64_t)(uintptr_t)memory; break;
        case BUILTINS: v = (uint64_t)(uintptr_t)builtins; break;
        case STORE_CTX: v = (uint64_t)(uintptr_t)store_context; break;
        case IMM32: memcpy(at, &w->value, 4); continue;
        case IMM64: v = w->value; break;
        }
        memcpy(at, &v, 8);
    }
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        const struct call *c = &calls[i];
        uint8_t values[16 * 4] __attribute__((aligned(16)));
        memset(values, 0, sizeof values);
        for (int a = 0; a < c->nargs; a++) memcpy(values + 16 * a, &c->args[a], 8);
        array_call_fn trampoline = (array_call_fn)kiln_functions[c->array_call];
        volatile int code = setjmp(trap_jmp);
        if (code == 0) {
            trampoline(vmctx, vmctx, kiln_functions[c->wasm_call], values);
            printf("%s:", c->name);
            for (int r = 0; r < c->nresults; r++) {
                uint64_t v;
                memcpy(&v, values + 16 * r, 8);
                printf(" %016llx", (unsigned long long)v);
            }
            printf("\n");
        } else {
            printf("%s: trap %d\n", c->name, code);
        }
    }
    return 0;
}
