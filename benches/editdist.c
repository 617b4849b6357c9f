/* Dynamic programming over two generated DNA-like strings: Levenshtein
 * distance and longest common subsequence, each in linear space. */
#include "bench.h"

#define LEN SIZE(14000, 800)

static uint8_t s1[LEN], s2[LEN];
static uint32_t prev[LEN + 1], cur[LEN + 1];

static inline uint32_t min3(uint32_t a, uint32_t b, uint32_t c) {
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

static uint32_t levenshtein(uint64_t *h) {
    for (uint32_t j = 0; j <= LEN; j++) prev[j] = j;
    for (uint32_t i = 1; i <= LEN; i++) {
        cur[0] = i;
        uint8_t c = s1[i - 1];
        for (uint32_t j = 1; j <= LEN; j++) {
            uint32_t sub = prev[j - 1] + (c != s2[j - 1]);
            cur[j] = min3(sub, prev[j] + 1, cur[j - 1] + 1);
        }
        memcpy(prev, cur, sizeof prev);
        if ((i & 255) == 0) *h = hash_u64(*h, cur[LEN / 2]);
    }
    return prev[LEN];
}

static uint32_t lcs(uint64_t *h) {
    memset(prev, 0, sizeof prev);
    for (uint32_t i = 1; i <= LEN; i++) {
        cur[0] = 0;
        uint8_t c = s1[i - 1];
        for (uint32_t j = 1; j <= LEN; j++) {
            if (c == s2[j - 1])
                cur[j] = prev[j - 1] + 1;
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        memcpy(prev, cur, sizeof prev);
        if ((i & 255) == 0) *h = hash_u64(*h, cur[LEN / 3]);
    }
    return prev[LEN];
}

int main(void) {
    static const char alphabet[4] = {'A', 'C', 'G', 'T'};
    rng_seed(5);
    for (int i = 0; i < LEN; i++) s1[i] = alphabet[rng_below(4)];
    /* s2 is a mutated copy of s1, so the answers are far from trivial. */
    for (int i = 0; i < LEN; i++) s2[i] = rng_below(5) == 0 ? alphabet[rng_below(4)] : s1[(i + 3) % LEN];
    uint64_t h = HASH_INIT;
    uint32_t d = levenshtein(&h);
    uint32_t l = lcs(&h);
    printf("editdist len=%d levenshtein=%" PRIu32 " lcs=%" PRIu32 " hash=%016" PRIx64 "\n", LEN, d, l, h);
    return 0;
}
