/* Single-source shortest paths on a random sparse directed graph (CSR
 * adjacency) with Dijkstra's algorithm over an indexed binary heap, from
 * several sources. */
#include "bench.h"

#define V SIZE(150000, 4000)
#define DEGREE 8
#define E (V * DEGREE)
#define SOURCES SIZE(8, 2)
#define INF UINT32_MAX

static uint32_t first[V + 1], target[E], weight[E];
static uint32_t dist[V];
static uint32_t heap[V], pos[V]; /* pos[v] = index in heap + 1, 0 = not queued */
static uint32_t heap_len;

static void sift_up(uint32_t i) {
    uint32_t v = heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        uint32_t p = heap[parent];
        if (dist[p] <= dist[v]) break;
        heap[i] = p;
        pos[p] = i + 1;
        i = parent;
    }
    heap[i] = v;
    pos[v] = i + 1;
}

static void sift_down(uint32_t i) {
    uint32_t v = heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1;
        if (l >= heap_len) break;
        uint32_t c = l;
        if (l + 1 < heap_len && dist[heap[l + 1]] < dist[heap[l]]) c = l + 1;
        if (dist[heap[c]] >= dist[v]) break;
        heap[i] = heap[c];
        pos[heap[i]] = i + 1;
        i = c;
    }
    heap[i] = v;
    pos[v] = i + 1;
}

static void dijkstra(uint32_t src) {
    for (uint32_t i = 0; i < V; i++) {
        dist[i] = INF;
        pos[i] = 0;
    }
    dist[src] = 0;
    heap_len = 1;
    heap[0] = src;
    pos[src] = 1;
    while (heap_len > 0) {
        uint32_t u = heap[0];
        pos[u] = 0;
        heap_len--;
        if (heap_len > 0) {
            heap[0] = heap[heap_len];
            sift_down(0);
        }
        uint32_t du = dist[u];
        for (uint32_t e = first[u]; e < first[u + 1]; e++) {
            uint32_t v = target[e], nd = du + weight[e];
            if (nd < dist[v]) {
                dist[v] = nd;
                if (pos[v] == 0) {
                    heap[heap_len] = v;
                    heap_len++;
                    sift_up(heap_len - 1);
                } else {
                    sift_up(pos[v] - 1);
                }
            }
        }
    }
}

int main(void) {
    rng_seed(6);
    /* Every vertex gets DEGREE out-edges: one to its successor (so the
     * graph is strongly connected through the ring), the rest mostly local
     * with some long-range links. */
    for (uint32_t u = 0; u < V; u++) {
        first[u] = u * DEGREE;
        for (uint32_t k = 0; k < DEGREE; k++) {
            uint32_t e = u * DEGREE + k, v;
            if (k == 0)
                v = (u + 1) % V;
            else if (k < 5)
                v = (u + 1 + rng_below(64)) % V;
            else
                v = rng_below(V);
            target[e] = v;
            weight[e] = k == 0 ? 5000 + rng_below(1000) : 1 + rng_below(1000);
        }
    }
    first[V] = E;

    uint64_t h = HASH_INIT, total = 0;
    uint32_t far = 0;
    for (uint32_t s = 0; s < SOURCES; s++) {
        dijkstra(rng_below(V));
        for (uint32_t i = 0; i < V; i++) {
            total += dist[i];
            if (dist[i] > far) far = dist[i];
            if ((i & 63) == 0) h = hash_u64(h, dist[i]);
        }
    }
    printf("dijkstra v=%d e=%d sources=%d total=%" PRIu64 " max=%" PRIu32 " hash=%016" PRIx64 "\n",
           V, E, SOURCES, total, far, h);
    return 0;
}
