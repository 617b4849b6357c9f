/* Native reference for tests/programs.rs: prints each kernel's result as
 * raw bits, one per line, in the order the test invokes them. */
#include <stdio.h>
#include <string.h>
typedef unsigned int u32;
typedef unsigned long long u64;
u32 run_hash(int n);
double mandel(int w, int h, int iters);
u64 sort_sum(int n);
long long fib(int n);
float fsum(int n);

int main(void) {
    double m = mandel(120, 80, 200);
    float f = fsum(100000);
    u64 mb;
    u32 fb;
    memcpy(&mb, &m, 8);
    memcpy(&fb, &f, 4);
    printf("%u\n%llu\n%llu\n%lld\n%u\n", run_hash(4000), mb, sort_sum(500), fib(25), fb);
    return 0;
}
