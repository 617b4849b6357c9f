/* Spectral norm of the infinite matrix A(i,j) = 1/((i+j)(i+j+1)/2 + i + 1)
 * restricted to N x N, by power iteration on A^T A. */
#include "bench.h"
#include <math.h>

#define N SIZE(3000, 200)
#define ITERS 10

static double u[N], v[N], t[N];

static inline double entry(int i, int j) { return 1.0 / ((double)(i + j) * (i + j + 1) / 2 + i + 1); }

static void mul_a(const double *x, double *y) {
    for (int i = 0; i < N; i++) {
        double s = 0.0;
        for (int j = 0; j < N; j++) s += entry(i, j) * x[j];
        y[i] = s;
    }
}

static void mul_at(const double *x, double *y) {
    for (int i = 0; i < N; i++) {
        double s = 0.0;
        for (int j = 0; j < N; j++) s += entry(j, i) * x[j];
        y[i] = s;
    }
}

static void mul_ata(const double *x, double *y) {
    mul_a(x, t);
    mul_at(t, y);
}

int main(void) {
    for (int i = 0; i < N; i++) u[i] = 1.0;
    for (int k = 0; k < ITERS; k++) {
        mul_ata(u, v);
        mul_ata(v, u);
    }
    double vbv = 0.0, vv = 0.0;
    for (int i = 0; i < N; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    uint64_t h = HASH_INIT;
    for (int i = 0; i < N; i++) h = hash_f64(h, u[i]);
    printf("spectralnorm n=%d norm=%.9e hash=%016" PRIx64 "\n", N, sqrt(vbv / vv), h);
    return 0;
}
