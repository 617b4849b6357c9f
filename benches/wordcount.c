/* Word frequencies over generated text: a tokenizer, an open-addressing
 * hash map keyed by the words (stored in an arena), then the most frequent
 * words by count. */
#include "bench.h"

#define TEXT SIZE(48 << 20, 1 << 19)
#define VOCAB 20000
#define TABLE (1 << 16)

typedef struct {
    uint32_t offset; /* into the arena; 0 = empty slot */
    uint32_t len;
    uint32_t hash;
    uint32_t count;
} entry;

static entry table[TABLE];
static char arena[VOCAB * 16 + 64];
static uint32_t arena_len = 1;
static uint32_t distinct;

static uint32_t fnv1a(const char *s, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void count_word(const char *w, uint32_t n) {
    uint32_t h = fnv1a(w, n);
    uint32_t i = h & (TABLE - 1);
    for (;;) {
        entry *e = &table[i];
        if (e->offset == 0) {
            if (distinct + 1 > TABLE / 2 || arena_len + n > sizeof arena) {
                printf("wordcount: table full\n");
                exit(1);
            }
            memcpy(arena + arena_len, w, n);
            e->offset = arena_len;
            e->len = n;
            e->hash = h;
            e->count = 1;
            arena_len += n;
            distinct++;
            return;
        }
        if (e->hash == h && e->len == n && memcmp(arena + e->offset, w, n) == 0) {
            e->count++;
            return;
        }
        i = (i + 1) & (TABLE - 1);
    }
}

static int by_count(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(arena + x->offset, arena + y->offset, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

int main(void) {
    /* Vocabulary of syllable words, then text drawn with a skewed
     * distribution, mixed case and punctuation. */
    static const char *syll[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "pe", "da", "qu", "shi",
                                 "an", "or", "el", "ix", "um", "ba", "zo", "fe", "gri", "tha", "wen", "yo"};
    static char words[VOCAB][16];
    rng_seed(11);
    for (int w = 0; w < VOCAB; w++) {
        int parts = 1 + rng_below(4), len = 0;
        for (int k = 0; k < parts; k++) {
            const char *s = syll[rng_below(24)];
            while (*s && len < 14) words[w][len++] = *s++;
        }
        words[w][len] = 0;
    }
    char *text = xmalloc(TEXT + 16);
    uint32_t t = 0;
    while (t < TEXT) {
        uint32_t r = rng_u32();
        /* The product of two uniform picks favours small indices. */
        uint32_t w = (uint32_t)((uint64_t)rng_below(VOCAB) * rng_below(VOCAB) / VOCAB);
        const char *s = words[w];
        int upper = (r & 0x3f) == 0;
        for (int k = 0; s[k] && t < TEXT; k++) text[t++] = upper && k == 0 ? (char)(s[k] - 32) : s[k];
        if (t < TEXT) text[t++] = (r >> 8) % 13 == 0 ? '.' : (r >> 8) % 7 == 0 ? ',' : ' ';
        if (t < TEXT && (r >> 12) % 29 == 0) text[t++] = '\n';
    }

    uint64_t tokens = 0;
    char buf[64];
    for (uint32_t i = 0; i < TEXT;) {
        while (i < TEXT && !((text[i] | 32) >= 'a' && (text[i] | 32) <= 'z')) i++;
        uint32_t n = 0;
        while (i < TEXT && (text[i] | 32) >= 'a' && (text[i] | 32) <= 'z') {
            if (n < sizeof buf) buf[n++] = (char)(text[i] | 32);
            i++;
        }
        if (n) {
            count_word(buf, n);
            tokens++;
        }
    }

    entry *list = xmalloc(sizeof(entry) * distinct);
    uint32_t k = 0;
    for (uint32_t i = 0; i < TABLE; i++)
        if (table[i].offset) list[k++] = table[i];
    qsort(list, distinct, sizeof(entry), by_count);
    uint64_t h = HASH_INIT;
    for (uint32_t i = 0; i < distinct && i < 200; i++) {
        h = hash_bytes(h, (const uint8_t *)arena + list[i].offset, list[i].len);
        h = hash_u64(h, list[i].count);
    }
    printf("wordcount bytes=%d tokens=%" PRIu64 " distinct=%" PRIu32 " top=%.*s:%" PRIu32 " hash=%016" PRIx64 "\n",
           TEXT, tokens, distinct, (int)list[0].len, arena + list[0].offset, list[0].count, h);
    free(list);
    free(text);
    return 0;
}
