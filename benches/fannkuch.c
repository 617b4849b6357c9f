/* Pancake flips over every permutation of 1..n: for each permutation,
 * repeatedly reverse the prefix whose length is the first element until
 * the first element is 1; report the maximum flip count and a signed
 * checksum. Permutations come from a rotation-based counting order. */
#include "bench.h"

#define NUM SIZE(10, 8)
#define REPS SIZE(2, 1)

static void run(int n, uint32_t *max_flips, int64_t *checksum) {
    int perm[16], work[16], count[16];
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = 0; i < n; i++) count[i] = i;
    uint64_t index = 0;
    uint32_t best = 0;
    int64_t sum = 0;
    for (;;) {
        if (perm[0] != 0) {
            for (int i = 0; i < n; i++) work[i] = perm[i];
            uint32_t flips = 0;
            int first = work[0];
            while (first != 0) {
                for (int lo = 0, hi = first; lo < hi; lo++, hi--) {
                    int t = work[lo];
                    work[lo] = work[hi];
                    work[hi] = t;
                }
                flips++;
                first = work[0];
            }
            if (flips > best) best = flips;
            sum += (index & 1) ? -(int64_t)flips : (int64_t)flips;
        }
        /* Next permutation: rotate the first r+1 elements left, counting. */
        int r = 1;
        for (;;) {
            if (r == n) {
                *max_flips = best;
                *checksum = sum;
                return;
            }
            int p0 = perm[0];
            for (int i = 0; i < r; i++) perm[i] = perm[i + 1];
            perm[r] = p0;
            if (count[r] > 0) {
                count[r]--;
                break;
            }
            count[r] = r;
            r++;
        }
        index++;
    }
}

int main(void) {
    uint64_t h = HASH_INIT;
    uint32_t flips = 0;
    int64_t sum = 0;
    for (int rep = 0; rep < REPS; rep++) {
        for (int n = NUM - 2; n <= NUM; n++) {
            run(n, &flips, &sum);
            h = hash_u64(hash_u64(h, flips), (uint64_t)sum);
        }
    }
    printf("fannkuch n=%d max_flips=%" PRIu32 " checksum=%" PRId64 " hash=%016" PRIx64 "\n", NUM, flips, sum, h);
    return 0;
}
