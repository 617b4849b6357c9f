/* malloc as a bump allocator over memory.grow, and the rest of stdlib.h
 * the benchmarks use; see stdio.h. */
#ifndef SHIM_STDLIB_H
#define SHIM_STDLIB_H
#include <stddef.h>
extern unsigned char __heap_base;
static unsigned char *shim_brk;
static void *malloc(size_t n) {
    if (!shim_brk) shim_brk = &__heap_base;
    unsigned char *p = (unsigned char *)(((size_t)shim_brk + 15) & ~(size_t)15);
    size_t end = (size_t)p + n;
    size_t have = __builtin_wasm_memory_size(0) * 65536;
    if (end > have) {
        if (__builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) return 0;
    }
    shim_brk = (unsigned char *)end;
    return p;
}
static void *calloc(size_t a, size_t b) { return malloc(a * b); } /* fresh pages are zero */
static void free(void *p) { (void)p; }
static void exit(int code) { (void)code; __builtin_trap(); }
static void abort(void) { __builtin_trap(); }
#endif
