/* Dense matrix multiply: C = A * B in double precision, in the
 * cache-friendly i-k-j loop order, repeated with the result (scaled back to
 * a maximum magnitude of 1) fed back as A. */
#include "bench.h"

#define N SIZE(800, 64)
#define REPS SIZE(5, 2)

static double a[N * N], b[N * N], c[N * N];

static void multiply(double *restrict out, const double *restrict x, const double *restrict y) {
    for (int i = 0; i < N; i++) {
        double *row = out + i * N;
        for (int j = 0; j < N; j++) row[j] = 0.0;
        for (int k = 0; k < N; k++) {
            double xik = x[i * N + k];
            const double *yrow = y + k * N;
            for (int j = 0; j < N; j++) row[j] += xik * yrow[j];
        }
    }
}

int main(void) {
    rng_seed(1);
    for (int i = 0; i < N * N; i++) a[i] = rng_unit() - 0.5;
    for (int i = 0; i < N * N; i++) b[i] = rng_unit() - 0.5;
    for (int r = 0; r < REPS; r++) {
        multiply(c, a, b);
        double max = 0.0;
        for (int i = 0; i < N * N; i++) {
            double m = c[i] < 0 ? -c[i] : c[i];
            if (m > max) max = m;
        }
        double inv = 1.0 / max;
        for (int i = 0; i < N * N; i++) a[i] = c[i] * inv;
    }
    double sum = 0.0;
    uint64_t h = HASH_INIT;
    for (int i = 0; i < N * N; i++) {
        sum += c[i];
        h = hash_f64(h, c[i]);
    }
    printf("matmul n=%d reps=%d sum=%.9e hash=%016" PRIx64 "\n", N, REPS, sum, h);
    return 0;
}
