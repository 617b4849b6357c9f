/* 3-D 7-point stencil in single precision over a cube with a fixed hot
 * face, alternating between two buffers. */
#include "bench.h"

#define N SIZE(128, 24)
#define STEPS SIZE(400, 4)
#define IDX(z, y, x) (((size_t)(z) * N + (y)) * N + (x))

int main(void) {
    float *a = xmalloc(sizeof(float) * N * N * N);
    float *b = xmalloc(sizeof(float) * N * N * N);
    rng_seed(4);
    for (size_t i = 0; i < (size_t)N * N * N; i++) a[i] = (float)rng_unit();
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) a[IDX(0, y, x)] = 1.0f;
    memcpy(b, a, sizeof(float) * N * N * N);

    const float c0 = 0.4f, c1 = 0.1f;
    for (int s = 0; s < STEPS; s++) {
        for (int z = 1; z < N - 1; z++)
            for (int y = 1; y < N - 1; y++) {
                const float *restrict p = a + IDX(z, y, 0);
                float *restrict q = b + IDX(z, y, 0);
                for (int x = 1; x < N - 1; x++)
                    q[x] = c0 * p[x] + c1 * (p[x - 1] + p[x + 1] + p[x - N] + p[x + N] +
                                              p[x - N * N] + p[x + N * N]);
            }
        float *t = a;
        a = b;
        b = t;
    }

    double sum = 0.0;
    uint64_t h = HASH_INIT;
    for (size_t i = 0; i < (size_t)N * N * N; i++) {
        sum += a[i];
        h = hash_f32(h, a[i]);
    }
    printf("stencil3d n=%d steps=%d sum=%.9e hash=%016" PRIx64 "\n", N, STEPS, sum, h);
    free(a);
    free(b);
    return 0;
}
