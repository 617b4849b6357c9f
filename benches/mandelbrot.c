/* Mandelbrot set: escape-time iteration counts over a grid of the complex
 * plane, with a smooth-ish histogram as checksum. */
#include "bench.h"

#define W SIZE(1200, 160)
#define H SIZE(800, 120)
#define MAX_ITER SIZE(1000, 200)

int main(void) {
    uint64_t h = HASH_INIT, total = 0;
    uint32_t hist[16] = {0}, inside = 0;
    for (int y = 0; y < H; y++) {
        double ci = -1.2 + 2.4 * y / H;
        uint64_t row = 0;
        for (int x = 0; x < W; x++) {
            double cr = -2.1 + 3.0 * x / W;
            double zr = 0.0, zi = 0.0, zr2 = 0.0, zi2 = 0.0;
            uint32_t it = 0;
            while (it < MAX_ITER && zr2 + zi2 <= 4.0) {
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                zr2 = zr * zr;
                zi2 = zi * zi;
                it++;
            }
            if (it == MAX_ITER)
                inside++;
            else
                hist[it & 15]++;
            row += it;
        }
        total += row;
        h = hash_u64(h, row);
    }
    for (int i = 0; i < 16; i++) h = hash_u64(h, hist[i]);
    printf("mandelbrot %dx%d max_iter=%d inside=%" PRIu32 " iterations=%" PRIu64 " hash=%016" PRIx64 "\n", W,
           H, MAX_ITER, inside, total, h);
    return 0;
}
