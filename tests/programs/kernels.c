/* Small C kernels compiled both natively and to wasm by tests/programs.rs;
 * the wasm build run through kiln must compute exactly the same results. */
typedef unsigned int u32; typedef unsigned long long u64;
static u32 rotl(u32 x, int k) { return (x << k) | (x >> (32 - k)); }
u32 hash(const unsigned char *p, int n) { u32 h = 2166136261u; for (int i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; h = rotl(h, 5) ^ (h >> 3); } return h; }
static unsigned char buf[4096];
u32 run_hash(int n) { for (int i = 0; i < 4096; i++) buf[i] = (unsigned char)(i * 7 + 3); return hash(buf, n); }
double mandel(int w, int h, int iters) {
  double total = 0;
  for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
    double cr = -2.0 + 3.0 * x / w, ci = -1.5 + 3.0 * y / h, zr = 0, zi = 0; int k = 0;
    while (k < iters && zr * zr + zi * zi < 4.0) { double t = zr * zr - zi * zi + cr; zi = 2 * zr * zi + ci; zr = t; k++; }
    total += k;
  }
  return total;
}
static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
typedef int (*cmp_t)(const void *, const void *);
static void isort(int *a, int n, cmp_t cmp) { for (int i = 1; i < n; i++) { int v = a[i], j = i - 1; while (j >= 0 && cmp(&a[j], &v) > 0) { a[j + 1] = a[j]; j--; } a[j + 1] = v; } }
static int arr[512];
u64 sort_sum(int n) { u32 s = 12345; for (int i = 0; i < n; i++) { s = s * 1103515245u + 12345u; arr[i] = (int)(s >> 8) % 10000; } isort(arr, n, cmp_int); u64 acc = 0; for (int i = 0; i < n; i++) acc = acc * 31 + (u64)arr[i]; return acc; }
long long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
float fsum(int n) { float s = 0; for (int i = 1; i <= n; i++) s += 1.0f / (float)i; return s; }
