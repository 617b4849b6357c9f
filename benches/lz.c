/* An LZ77 compressor with hash chains (greedy parsing with a one-step lazy
 * match) and its decompressor, in a byte-oriented token format: a control
 * byte with literal and match lengths, then literals and a 16-bit offset.
 * Every buffer is decompressed and compared with the original. */
#include "bench.h"

#define LEN SIZE(8 << 19, 1 << 18)
#define WINDOW 65535
#define HASH_BITS 15
#define CHAIN_DEPTH 24
#define MIN_MATCH 4

static int32_t head[1 << HASH_BITS];
static int32_t chain[WINDOW + 1];

static inline uint32_t hash4(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static inline void insert(const uint8_t *in, int32_t i) {
    uint32_t hv = hash4(in + i);
    chain[i & WINDOW] = head[hv];
    head[hv] = i;
}

static int32_t longest(const uint8_t *in, int32_t len, int32_t i, int32_t *offset) {
    int32_t best = 0, cand = head[hash4(in + i)];
    int32_t limit = len - i;
    for (int d = 0; d < CHAIN_DEPTH && cand >= 0 && i - cand <= WINDOW && best < limit; d++) {
        if (in[cand + best] == in[i + best]) {
            int32_t n = 0;
            while (n < limit && in[cand + n] == in[i + n]) n++;
            if (n > best) {
                best = n;
                *offset = i - cand;
                if (n >= 258) break;
            }
        }
        cand = chain[cand & WINDOW];
    }
    return best;
}

static uint8_t *put_len(uint8_t *out, int32_t n) {
    while (n >= 255) {
        *out++ = 255;
        n -= 255;
    }
    *out++ = (uint8_t)n;
    return out;
}

static uint8_t *emit(uint8_t *out, const uint8_t *lit, int32_t nlit, int32_t mlen, int32_t offset) {
    int32_t m = mlen ? mlen - MIN_MATCH : 0;
    *out++ = (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (m < 15 ? m : 15));
    if (nlit >= 15) out = put_len(out, nlit - 15);
    memcpy(out, lit, nlit);
    out += nlit;
    if (mlen) {
        *out++ = (uint8_t)offset;
        *out++ = (uint8_t)(offset >> 8);
        if (m >= 15) out = put_len(out, m - 15);
    }
    return out;
}

static int32_t compress(const uint8_t *in, int32_t len, uint8_t *out) {
    for (int i = 0; i < (1 << HASH_BITS); i++) head[i] = -1;
    uint8_t *o = out;
    int32_t i = 0, anchor = 0;
    while (i + MIN_MATCH <= len) {
        int32_t off = 0, n = longest(in, len, i, &off);
        if (n >= MIN_MATCH && i + 1 + MIN_MATCH <= len) {
            /* Lazy: prefer a longer match starting one byte later. */
            insert(in, i);
            int32_t off2 = 0, n2 = longest(in, len, i + 1, &off2);
            if (n2 > n + 1) {
                i++;
                n = n2;
                off = off2;
            } else {
                o = emit(o, in + anchor, i - anchor, n, off);
                for (int32_t k = i + 1; k < i + n && k + MIN_MATCH <= len; k++) insert(in, k);
                i += n;
                anchor = i;
                continue;
            }
        }
        if (n >= MIN_MATCH) {
            o = emit(o, in + anchor, i - anchor, n, off);
            for (int32_t k = i; k < i + n && k + MIN_MATCH <= len; k++) insert(in, k);
            i += n;
            anchor = i;
        } else {
            insert(in, i);
            i++;
        }
    }
    o = emit(o, in + anchor, len - anchor, 0, 0);
    return (int32_t)(o - out);
}

static int32_t get_len(const uint8_t **p, int32_t n) {
    if (n == 15) {
        uint8_t b;
        do {
            b = *(*p)++;
            n += b;
        } while (b == 255);
    }
    return n;
}

static int32_t decompress(const uint8_t *in, int32_t len, uint8_t *out) {
    const uint8_t *p = in, *end = in + len;
    uint8_t *o = out;
    while (p < end) {
        uint8_t token = *p++;
        int32_t nlit = get_len(&p, token >> 4);
        memcpy(o, p, nlit);
        o += nlit;
        p += nlit;
        if (p >= end) break;
        int32_t offset = p[0] | p[1] << 8;
        p += 2;
        int32_t m = get_len(&p, token & 15) + MIN_MATCH;
        const uint8_t *from = o - offset;
        for (int32_t k = 0; k < m; k++) o[k] = from[k]; /* may overlap */
        o += m;
    }
    return (int32_t)(o - out);
}

/* Text-like input: words from a skewed vocabulary, punctuation, numbers. */
static void generate(uint8_t *buf, int32_t len) {
    static char vocab[512][12];
    static const char letters[] = "etaoinshrdlucmfwypvbgkjqxz";
    for (int w = 0; w < 512; w++) {
        int n = 2 + rng_below(9);
        for (int k = 0; k < n; k++) vocab[w][k] = letters[rng_below(1 + rng_below(26))];
        vocab[w][n] = 0;
    }
    int32_t i = 0;
    while (i < len) {
        uint32_t r = rng_below(100);
        const char *word;
        char num[12];
        if (r < 5) {
            snprintf(num, sizeof num, "%u", (unsigned)rng_below(100000));
            word = num;
        } else {
            word = vocab[rng_below(1 + rng_below(512))];
        }
        for (int k = 0; word[k] && i < len; k++) buf[i++] = (uint8_t)word[k];
        if (i < len) buf[i++] = r % 17 == 0 ? '\n' : r % 11 == 0 ? ',' : ' ';
    }
}

int main(void) {
    uint8_t *in = xmalloc(LEN), *packed = xmalloc(LEN + LEN / 8 + 64), *out = xmalloc(LEN + 64);
    rng_seed(9);
    uint64_t h = HASH_INIT, total_in = 0, total_packed = 0;
    for (int round = 0; round < 3; round++) {
        int32_t len = LEN - round * 1000;
        generate(in, len);
        int32_t plen = compress(in, len, packed);
        int32_t ulen = decompress(packed, plen, out);
        if (ulen != len || memcmp(in, out, len) != 0) {
            printf("lz: round %d does not round-trip\n", round);
            return 1;
        }
        total_in += len;
        total_packed += plen;
        h = hash_bytes(h, packed, plen < 4096 ? plen : 4096);
        h = hash_u64(h, plen);
    }
    printf("lz in=%" PRIu64 " packed=%" PRIu64 " hash=%016" PRIx64 "\n", total_in, total_packed, h);
    free(in);
    free(packed);
    free(out);
    return 0;
}
