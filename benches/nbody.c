/* Gravitational n-body simulation: all-pairs forces with softening,
 * leapfrog (kick-drift-kick) integration, energy at the end. */
#include "bench.h"
#include <math.h>

#define BODIES SIZE(400, 48)
#define STEPS SIZE(1100, 10)
#define DT 0.001
#define SOFT 0.01

static double px[BODIES], py[BODIES], pz[BODIES];
static double vx[BODIES], vy[BODIES], vz[BODIES];
static double ax[BODIES], ay[BODIES], az[BODIES];
static double mass[BODIES];

static void accelerations(void) {
    for (int i = 0; i < BODIES; i++) ax[i] = ay[i] = az[i] = 0.0;
    for (int i = 0; i < BODIES; i++) {
        double xi = px[i], yi = py[i], zi = pz[i];
        double sx = 0.0, sy = 0.0, sz = 0.0;
        for (int j = i + 1; j < BODIES; j++) {
            double dx = px[j] - xi, dy = py[j] - yi, dz = pz[j] - zi;
            double d2 = dx * dx + dy * dy + dz * dz + SOFT * SOFT;
            double inv = 1.0 / (d2 * sqrt(d2));
            double fi = mass[j] * inv, fj = mass[i] * inv;
            sx += dx * fi;
            sy += dy * fi;
            sz += dz * fi;
            ax[j] -= dx * fj;
            ay[j] -= dy * fj;
            az[j] -= dz * fj;
        }
        ax[i] += sx;
        ay[i] += sy;
        az[i] += sz;
    }
}

static double energy(void) {
    double e = 0.0;
    for (int i = 0; i < BODIES; i++) {
        e += 0.5 * mass[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
        for (int j = i + 1; j < BODIES; j++) {
            double dx = px[j] - px[i], dy = py[j] - py[i], dz = pz[j] - pz[i];
            e -= mass[i] * mass[j] / sqrt(dx * dx + dy * dy + dz * dz + SOFT * SOFT);
        }
    }
    return e;
}

int main(void) {
    rng_seed(10);
    for (int i = 0; i < BODIES; i++) {
        px[i] = rng_unit() * 2.0 - 1.0;
        py[i] = rng_unit() * 2.0 - 1.0;
        pz[i] = (rng_unit() * 2.0 - 1.0) * 0.2;
        /* roughly circular motion around the centre */
        vx[i] = -py[i] * 0.5;
        vy[i] = px[i] * 0.5;
        vz[i] = 0.0;
        mass[i] = (0.5 + rng_unit()) / BODIES;
    }
    double e0 = energy();
    accelerations();
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < BODIES; i++) {
            vx[i] += 0.5 * DT * ax[i];
            vy[i] += 0.5 * DT * ay[i];
            vz[i] += 0.5 * DT * az[i];
            px[i] += DT * vx[i];
            py[i] += DT * vy[i];
            pz[i] += DT * vz[i];
        }
        accelerations();
        for (int i = 0; i < BODIES; i++) {
            vx[i] += 0.5 * DT * ax[i];
            vy[i] += 0.5 * DT * ay[i];
            vz[i] += 0.5 * DT * az[i];
        }
    }
    double e1 = energy();
    uint64_t h = HASH_INIT;
    for (int i = 0; i < BODIES; i++) h = hash_f64(hash_f64(hash_f64(h, px[i]), py[i]), pz[i]);
    printf("nbody bodies=%d steps=%d e0=%.9e e1=%.9e hash=%016" PRIx64 "\n", BODIES, STEPS, e0, e1, h);
    return 0;
}
