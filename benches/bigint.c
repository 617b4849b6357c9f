/* Big-integer arithmetic on 32-bit limbs: a factorial by repeated small
 * multiplication, a large Fibonacci number by fast doubling with
 * schoolbook multiplication, and both converted to decimal by repeated
 * division by 10^9. */
#include "bench.h"

#define FACT SIZE(12000, 1500)
#define FIB SIZE(650000, 40000)

typedef struct {
    uint32_t *limb; /* little-endian */
    uint32_t len, cap;
} big;

static big big_new(uint32_t cap) {
    big b = {xmalloc(sizeof(uint32_t) * (cap ? cap : 1)), 0, cap ? cap : 1};
    return b;
}

static void big_reserve(big *b, uint32_t cap) {
    if (cap <= b->cap) return;
    uint32_t *n = xmalloc(sizeof(uint32_t) * cap);
    memcpy(n, b->limb, sizeof(uint32_t) * b->len);
    free(b->limb);
    b->limb = n;
    b->cap = cap;
}

static void big_trim(big *b) {
    while (b->len && b->limb[b->len - 1] == 0) b->len--;
}

static void big_set(big *b, uint32_t v) {
    b->len = v ? 1 : 0;
    b->limb[0] = v;
}

static void big_mul_small(big *b, uint32_t m) {
    uint64_t carry = 0;
    for (uint32_t i = 0; i < b->len; i++) {
        uint64_t t = (uint64_t)b->limb[i] * m + carry;
        b->limb[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        if (b->len == b->cap) big_reserve(b, 2 * b->cap);
        b->limb[b->len++] = (uint32_t)carry;
    }
}

/* r = a * b (r must not alias a or b) */
static void big_mul(big *r, const big *a, const big *b) {
    big_reserve(r, a->len + b->len + 1);
    memset(r->limb, 0, sizeof(uint32_t) * (a->len + b->len + 1));
    for (uint32_t i = 0; i < a->len; i++) {
        uint64_t carry = 0, ai = a->limb[i];
        uint32_t *row = r->limb + i;
        for (uint32_t j = 0; j < b->len; j++) {
            uint64_t t = ai * b->limb[j] + row[j] + carry;
            row[j] = (uint32_t)t;
            carry = t >> 32;
        }
        row[b->len] = (uint32_t)carry;
    }
    r->len = a->len + b->len;
    big_trim(r);
}

/* r = a + b */
static void big_add(big *r, const big *a, const big *b) {
    if (a->len < b->len) {
        const big *t = a;
        a = b;
        b = t;
    }
    big_reserve(r, a->len + 1);
    uint64_t carry = 0;
    for (uint32_t i = 0; i < a->len; i++) {
        uint64_t t = (uint64_t)a->limb[i] + (i < b->len ? b->limb[i] : 0) + carry;
        r->limb[i] = (uint32_t)t;
        carry = t >> 32;
    }
    r->len = a->len;
    if (carry) r->limb[r->len++] = (uint32_t)carry;
}

/* r = a - b, requires a >= b */
static void big_sub(big *r, const big *a, const big *b) {
    big_reserve(r, a->len);
    int64_t borrow = 0;
    for (uint32_t i = 0; i < a->len; i++) {
        int64_t t = (int64_t)a->limb[i] - (i < b->len ? b->limb[i] : 0) - borrow;
        borrow = t < 0;
        r->limb[i] = (uint32_t)(t + (borrow << 32));
    }
    r->len = a->len;
    big_trim(r);
}

static void big_copy(big *dst, const big *src) {
    big_reserve(dst, src->len);
    memcpy(dst->limb, src->limb, sizeof(uint32_t) * src->len);
    dst->len = src->len;
}

/* Hash of the decimal representation, produced 9 digits at a time from the
 * least significant end; destroys b. Returns the number of digits. */
static uint32_t big_decimal(big *b, uint64_t *h, uint32_t *leading) {
    uint32_t digits = 0, chunk = 0;
    while (b->len) {
        uint64_t rem = 0;
        for (uint32_t i = b->len; i-- > 0;) {
            uint64_t cur = rem << 32 | b->limb[i];
            b->limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        big_trim(b);
        chunk = (uint32_t)rem;
        *h = hash_u64(*h, chunk);
        digits += 9;
    }
    /* The most significant chunk has fewer than 9 digits in general. */
    uint32_t n = 0;
    for (uint32_t c = chunk; c; c /= 10) n++;
    *leading = chunk;
    return digits - 9 + n;
}

/* Fast doubling: F(2k) = F(k) (2 F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2. */
static void fibonacci(uint32_t n, big *fa) {
    uint32_t cap = n / 32 + 16;
    big a = big_new(cap), b = big_new(cap), t1 = big_new(cap), t2 = big_new(cap), t3 = big_new(cap);
    big_set(&a, 0);
    big_set(&b, 1);
    int top = 31;
    while (top > 0 && !(n >> top & 1)) top--;
    for (int bit = top; bit >= 0; bit--) {
        big_add(&t1, &b, &b);      /* 2 F(k+1) */
        big_sub(&t2, &t1, &a);     /* 2 F(k+1) - F(k) */
        big_mul(&t3, &a, &t2);     /* F(2k) */
        big_mul(&t1, &a, &a);
        big_mul(&t2, &b, &b);
        big_add(&b, &t1, &t2);     /* F(2k+1) */
        big_copy(&a, &t3);
        if (n >> bit & 1) {        /* (F(2k), F(2k+1)) -> (F(2k+1), F(2k+2)) */
            big_add(&t1, &a, &b);
            big_copy(&a, &b);
            big_copy(&b, &t1);
        }
    }
    big_copy(fa, &a);
    free(a.limb), free(b.limb), free(t1.limb), free(t2.limb), free(t3.limb);
}

int main(void) {
    uint64_t h = HASH_INIT;
    uint32_t lead;

    big f = big_new(16);
    big_set(&f, 1);
    for (uint32_t i = 2; i <= FACT; i++) big_mul_small(&f, i);
    uint32_t fact_limbs = f.len;
    uint32_t fact_digits = big_decimal(&f, &h, &lead);
    printf("bigint %d! has %" PRIu32 " limbs, %" PRIu32 " digits, leading %" PRIu32 "\n", FACT, fact_limbs,
           fact_digits, lead);

    big fib = big_new(16);
    fibonacci(FIB, &fib);
    uint32_t fib_limbs = fib.len;
    uint32_t fib_low = fib.limb[0];
    uint32_t fib_digits = big_decimal(&fib, &h, &lead);
    printf("bigint F(%d) has %" PRIu32 " limbs, %" PRIu32 " digits, leading %" PRIu32 ", low limb %08" PRIx32
           " hash=%016" PRIx64 "\n",
           FIB, fib_limbs, fib_digits, lead, fib_low, h);
    free(f.limb);
    free(fib.limb);
    return 0;
}
