/* The host side of a benchmark translated by wasm2c (module name `bench`):
 * just the five WASI preview 1 functions the benchmark programs import
 * (fd_write to stdout/stderr, and the stubs stdio needs at exit), then
 * instantiation and _start. Built with the generated module.c and wabt's
 * wasm-rt runtime; a trap aborts the process. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"

enum { WASI_ESUCCESS = 0, WASI_EBADF = 8, WASI_EFAULT = 21, WASI_EIO = 29, WASI_ESPIPE = 70 };

struct Z_wasi_snapshot_preview1_instance_t {
    wasm_rt_memory_t *memory;
};

static int in_bounds(const wasm_rt_memory_t *m, u32 at, u64 len) { return (u64)at + len <= m->size; }

static u32 load_u32(const wasm_rt_memory_t *m, u32 at) {
    u32 v;
    memcpy(&v, m->data + at, 4);
    return v;
}

u32 Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u32 iovs,
                                       u32 iovs_len, u32 nwritten) {
    const wasm_rt_memory_t *m = w->memory;
    if (fd != 1 && fd != 2) return WASI_EBADF;
    if (!in_bounds(m, iovs, (u64)iovs_len * 8) || !in_bounds(m, nwritten, 4)) return WASI_EFAULT;
    u32 total = 0;
    for (u32 i = 0; i < iovs_len; i++) {
        u32 buf = load_u32(m, iovs + 8 * i), len = load_u32(m, iovs + 8 * i + 4);
        if (!in_bounds(m, buf, len)) return WASI_EFAULT;
        for (u32 done = 0; done < len;) {
            ssize_t n = write((int)fd, m->data + buf + done, len - done);
            if (n <= 0) return WASI_EIO;
            done += (u32)n;
        }
        total += len;
    }
    memcpy(m->data + nwritten, &total, 4);
    return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u32 out) {
    const wasm_rt_memory_t *m = w->memory;
    if (fd > 2) return WASI_EBADF;
    if (!in_bounds(m, out, 24)) return WASI_EFAULT;
    /* fdstat: filetype u8 (4 = regular file), flags u16, rights base and
     * inheriting u64: a plain, unbuffered-by-the-host stream. */
    u8 stat[24] = {4};
    memset(stat + 8, 0xff, 16);
    memcpy(m->data + out, stat, sizeof stat);
    return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_seek(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u64 offset,
                                      u32 whence, u32 out) {
    (void)w, (void)fd, (void)offset, (void)whence, (void)out;
    return WASI_ESPIPE;
}

u32 Z_wasi_snapshot_preview1Z_fd_close(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd) {
    (void)w;
    return fd <= 2 ? WASI_ESUCCESS : WASI_EBADF;
}

void Z_wasi_snapshot_preview1Z_proc_exit(struct Z_wasi_snapshot_preview1_instance_t *w, u32 code) {
    (void)w;
    exit((int)code);
}

int main(void) {
    struct Z_wasi_snapshot_preview1_instance_t wasi = {NULL};
    Z_bench_instance_t instance;
    wasm_rt_init();
    Z_bench_init_module();
    Z_bench_instantiate(&instance, &wasi);
    wasi.memory = Z_benchZ_memory(&instance);
    Z_benchZ__start(&instance);
    Z_bench_free(&instance);
    wasm_rt_free();
    return 0;
}
