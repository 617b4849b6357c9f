/* LU decomposition with partial pivoting (Doolittle, row-oriented), then a
 * solve of A x = b with the factors. */
#include "bench.h"

#define N SIZE(1600, 96)

static double m[N][N];
static double orig[N][N];
static int perm[N];

int main(void) {
    rng_seed(2);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) orig[i][j] = m[i][j] = rng_unit() * 2.0 - 1.0;
    for (int i = 0; i < N; i++) perm[i] = i;

    int swaps = 0;
    for (int k = 0; k < N; k++) {
        int p = k;
        double best = m[k][k] < 0 ? -m[k][k] : m[k][k];
        for (int i = k + 1; i < N; i++) {
            double v = m[i][k] < 0 ? -m[i][k] : m[i][k];
            if (v > best) {
                best = v;
                p = i;
            }
        }
        if (p != k) {
            for (int j = 0; j < N; j++) {
                double t = m[k][j];
                m[k][j] = m[p][j];
                m[p][j] = t;
            }
            int t = perm[k];
            perm[k] = perm[p];
            perm[p] = t;
            swaps++;
        }
        double inv = 1.0 / m[k][k];
        for (int i = k + 1; i < N; i++) {
            double f = m[i][k] * inv;
            m[i][k] = f;
            double *restrict ri = m[i];
            const double *restrict rk = m[k];
            for (int j = k + 1; j < N; j++) ri[j] -= f * rk[j];
        }
    }

    /* Solve A x = b for b = row sums of A, so x should be all ones. */
    static double x[N], y[N];
    for (int i = 0; i < N; i++) {
        double s = 0.0;
        for (int j = 0; j < N; j++) s += orig[perm[i]][j];
        y[i] = s;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++) y[i] -= m[i][j] * y[j];
    for (int i = N - 1; i >= 0; i--) {
        double s = y[i];
        for (int j = i + 1; j < N; j++) s -= m[i][j] * x[j];
        x[i] = s / m[i][i];
    }

    double err = 0.0, diag = 0.0;
    uint64_t h = HASH_INIT;
    for (int i = 0; i < N; i++) {
        double d = x[i] - 1.0;
        err += d < 0 ? -d : d;
        diag += m[i][i] < 0 ? -m[i][i] : m[i][i];
        h = hash_f64(h, x[i]);
        h = hash_u64(h, (uint64_t)perm[i]);
        for (int j = 0; j < N; j += 7) h = hash_f64(h, m[i][j]);
    }
    printf("lu n=%d swaps=%d diag=%.9e err=%.9e hash=%016" PRIx64 "\n", N, swaps, diag, err, h);
    return 0;
}
