/* 2-D heat diffusion: Jacobi sweeps of a 5-point stencil over a grid with
 * fixed boundary values and a few heat sources. */
#include "bench.h"

#define W SIZE(1024, 128)
#define H SIZE(1024, 128)
#define STEPS SIZE(700, 8)

static double grid_a[H][W], grid_b[H][W];

int main(void) {
    rng_seed(3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) grid_a[y][x] = rng_unit();
    for (int x = 0; x < W; x++) grid_a[0][x] = grid_a[H - 1][x] = 1.0;
    for (int y = 0; y < H; y++) grid_a[y][0] = grid_a[y][W - 1] = 0.0;
    memcpy(grid_b, grid_a, sizeof grid_a);

    double (*src)[W] = grid_a, (*dst)[W] = grid_b;
    for (int s = 0; s < STEPS; s++) {
        for (int y = 1; y < H - 1; y++) {
            const double *restrict up = src[y - 1], *restrict mid = src[y], *restrict down = src[y + 1];
            double *restrict out = dst[y];
            for (int x = 1; x < W - 1; x++)
                out[x] = 0.2 * (mid[x] + up[x] + down[x] + mid[x - 1] + mid[x + 1]);
        }
        dst[H / 2][W / 3] = 4.0;
        dst[H / 3][(2 * W) / 3] = 2.0;
        double (*t)[W] = src;
        src = dst;
        dst = t;
    }

    double sum = 0.0;
    uint64_t h = HASH_INIT;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            sum += src[y][x];
            h = hash_f64(h, src[y][x]);
        }
    printf("stencil2d %dx%d steps=%d sum=%.9e hash=%016" PRIx64 "\n", W, H, STEPS, sum, h);
    return 0;
}
