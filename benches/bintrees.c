/* Allocation-heavy binary trees: many short-lived complete trees of
 * varying depth built with malloc and torn down with free, next to a
 * long-lived tree, each walked to count and checksum its nodes. */
#include "bench.h"

#define MAX_DEPTH SIZE(17, 10)
#define MIN_DEPTH 4

typedef struct node {
    struct node *left, *right;
    uint32_t value;
} node;

static node *build(int depth, uint32_t value) {
    node *n = xmalloc(sizeof *n);
    n->value = value;
    if (depth > 0) {
        n->left = build(depth - 1, value * 2u);
        n->right = build(depth - 1, value * 2u + 1u);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static uint32_t check(const node *n, uint64_t *sum) {
    *sum += n->value;
    if (!n->left) return 1;
    return 1 + check(n->left, sum) + check(n->right, sum);
}

static void destroy(node *n) {
    if (n->left) {
        destroy(n->left);
        destroy(n->right);
    }
    free(n);
}

int main(void) {
    uint64_t h = HASH_INIT, sum = 0;
    node *stretch = build(MAX_DEPTH + 1, 1);
    uint32_t count = check(stretch, &sum);
    destroy(stretch);
    printf("bintrees stretch depth=%d nodes=%" PRIu32 "\n", MAX_DEPTH + 1, count);

    node *long_lived = build(MAX_DEPTH, 1);
    for (int depth = MIN_DEPTH; depth <= MAX_DEPTH; depth += 2) {
        uint32_t iterations = 1u << (MAX_DEPTH - depth + MIN_DEPTH);
        uint64_t nodes = 0;
        for (uint32_t i = 0; i < iterations; i++) {
            node *t = build(depth, i);
            nodes += check(t, &sum);
            destroy(t);
        }
        h = hash_u64(h, nodes);
        printf("bintrees depth=%d trees=%" PRIu32 " nodes=%" PRIu64 "\n", depth, iterations, nodes);
    }
    count = check(long_lived, &sum);
    destroy(long_lived);
    printf("bintrees long-lived nodes=%" PRIu32 " sum=%" PRIu64 " hash=%016" PRIx64 "\n", count, sum,
           hash_u64(h, sum));
    return 0;
}
