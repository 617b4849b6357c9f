/* Sorting: quicksort and LSD radix sort of 32-bit keys and a merge sort of
 * 64-bit key/value records; all results are cross-checked. */
#include "bench.h"

#define N SIZE(2500000, 50000)

static void insertion_sort(uint32_t *a, long n) {
    for (long i = 1; i < n; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(uint32_t *a, long n) {
    while (n > 24) {
        uint32_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        long i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i >= j) break;
            uint32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* Recurse into the smaller side, loop on the larger. */
        if (j + 1 < n - j - 1) {
            quicksort(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            quicksort(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion_sort(a, n);
}

static void radix_sort(uint32_t *a, uint32_t *tmp, long n) {
    for (int shift = 0; shift < 32; shift += 8) {
        uint32_t count[257] = {0};
        for (long i = 0; i < n; i++) count[((a[i] >> shift) & 255) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (long i = 0; i < n; i++) tmp[count[(a[i] >> shift) & 255]++] = a[i];
        memcpy(a, tmp, sizeof(uint32_t) * n);
    }
}

typedef struct {
    uint64_t key;
    uint32_t value;
} record;

static void merge_sort(record *a, record *tmp, long n) {
    /* Bottom-up: runs of 1, 2, 4, ... merged stably. */
    for (long width = 1; width < n; width *= 2) {
        for (long lo = 0; lo < n; lo += 2 * width) {
            long mid = lo + width < n ? lo + width : n;
            long hi = lo + 2 * width < n ? lo + 2 * width : n;
            long i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = a[j].key < a[i].key ? a[j++] : a[i++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        record *t = a;
        a = tmp;
        tmp = t;
    }
    (void)a;
}

int main(void) {
    uint32_t *a = xmalloc(sizeof(uint32_t) * N), *b = xmalloc(sizeof(uint32_t) * N);
    uint32_t *tmp = xmalloc(sizeof(uint32_t) * N);
    rng_seed(7);
    for (long i = 0; i < N; i++) a[i] = b[i] = rng_u32();
    quicksort(a, N);
    radix_sort(b, tmp, N);
    uint64_t h = HASH_INIT;
    for (long i = 0; i < N; i++) {
        if (a[i] != b[i] || (i > 0 && a[i - 1] > a[i])) {
            printf("sort: quicksort and radix sort disagree at %ld\n", i);
            return 1;
        }
        if ((i & 127) == 0) h = hash_u64(h, a[i]);
    }

    record *r = xmalloc(sizeof(record) * N), *rt = xmalloc(sizeof(record) * N);
    for (long i = 0; i < N; i++) {
        r[i].key = rng_u64() >> 44; /* many duplicates: stability matters */
        r[i].value = (uint32_t)i;
    }
    merge_sort(r, rt, N);
    /* The passes alternate buffers; find where the result ended up. */
    long passes = 0;
    for (long w = 1; w < N; w *= 2) passes++;
    record *sorted = passes % 2 ? rt : r;
    for (long i = 1; i < N; i++) {
        if (sorted[i - 1].key > sorted[i].key ||
            (sorted[i - 1].key == sorted[i].key && sorted[i - 1].value > sorted[i].value)) {
            printf("sort: merge sort is wrong or unstable at %ld\n", i);
            return 1;
        }
    }
    for (long i = 0; i < N; i += 97) h = hash_u64(hash_u64(h, sorted[i].key), sorted[i].value);
    printf("sort n=%d min=%" PRIu32 " median=%" PRIu32 " max=%" PRIu32 " hash=%016" PRIx64 "\n", N, a[0],
           a[N / 2], a[N - 1], h);
    free(a);
    free(b);
    free(tmp);
    free(r);
    free(rt);
    return 0;
}
