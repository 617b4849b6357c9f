/* Shared helpers of the benchmark programs: a fixed-seed PRNG, checksum
 * mixing over fixed-width integers (so 32-bit wasm and 64-bit native agree
 * bit for bit) and problem sizes that shrink under -DBENCH_QUICK. */
#ifndef KILN_BENCH_H
#define KILN_BENCH_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SIZE(full, quick): the full problem size, or a small one for smoke runs. */
#ifdef BENCH_QUICK
#define SIZE(full, quick) (quick)
#else
#define SIZE(full, quick) (full)
#endif

/* splitmix64: small, fast, and identical on every target. */
static uint64_t rng_state = 0x853c49e6748fea9bULL;

static inline void rng_seed(uint64_t seed) { rng_state = seed; }

static inline uint64_t rng_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint32_t rng_u32(void) { return (uint32_t)(rng_u64() >> 32); }

/* Uniform in [0, n) for n > 0 (the tiny modulo bias does not matter here). */
static inline uint32_t rng_below(uint32_t n) { return (uint32_t)(rng_u64() % n); }

/* Uniform double in [0, 1) with 53 random bits. */
static inline double rng_unit(void) { return (double)(rng_u64() >> 11) * 0x1.0p-53; }

/* Checksums: FNV-1a style mixing of 64-bit words. */
#define HASH_INIT 0xcbf29ce484222325ULL

static inline uint64_t hash_u64(uint64_t h, uint64_t v) {
    h ^= v;
    h *= 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static inline uint64_t hash_f64(uint64_t h, double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return hash_u64(h, bits);
}

static inline uint64_t hash_f32(uint64_t h, float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return hash_u64(h, bits);
}

static inline uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

#endif
