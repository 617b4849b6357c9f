/* Clocks, sleeping and randomness. What they return differs from run to
 * run, so the program checks their properties and prints the verdicts. */
#include "common.h"
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec res, a, b, wall;
    MUST(clock_getres(CLOCK_MONOTONIC, &res));
    printf("monotonic resolution positive and at most 1 ms: %s\n", ns(res) > 0 && ns(res) <= 1000000 ? "yes" : "no");
    MUST(clock_getres(CLOCK_REALTIME, &res));
    printf("realtime resolution positive: %s\n", ns(res) > 0 ? "yes" : "no");
    MUST(clock_gettime(CLOCK_REALTIME, &wall));
    time_t now = time(NULL);
    printf("realtime agrees with time(): %s\n", (long long)now - wall.tv_sec <= 1 && (long long)now >= wall.tv_sec ? "yes" : "no");
    printf("realtime is after 2024: %s\n", wall.tv_sec > 1704067200 ? "yes" : "no");
    MUST(clock_gettime(CLOCK_MONOTONIC, &a));
    int never_backwards = 1;
    for (int i = 0; i < 10000; i++) {
        MUST(clock_gettime(CLOCK_MONOTONIC, &b));
        if (ns(b) < ns(a)) never_backwards = 0;
        a = b;
    }
    printf("monotonic never goes backwards: %s\n", never_backwards ? "yes" : "no");
    struct timespec nap = {0, 20 * 1000000};
    MUST(clock_gettime(CLOCK_MONOTONIC, &a));
    MUST(nanosleep(&nap, NULL));
    MUST(clock_gettime(CLOCK_MONOTONIC, &b));
    printf("nanosleep(20 ms) slept at least 20 ms: %s\n", ns(b) - ns(a) >= 20000000 ? "yes" : "no");
    MUST(clock_gettime(CLOCK_MONOTONIC, &a));
    MUST(usleep(15000));
    MUST(clock_gettime(CLOCK_MONOTONIC, &b));
    printf("usleep(15 ms) slept at least 15 ms: %s\n", ns(b) - ns(a) >= 15000000 ? "yes" : "no");
    struct timespec cpu0, cpu1;
    MUST(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0));
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 20000000; i++) spin += i;
    MUST(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1));
    printf("process CPU-time clock advances: %s\n", ns(cpu1) > ns(cpu0) ? "yes" : "no");

    unsigned char r1[64], r2[64];
    MUST(getentropy(r1, sizeof r1));
    MUST(getentropy(r2, sizeof r2));
    int zero = 0, same = memcmp(r1, r2, sizeof r1) == 0;
    for (int i = 0; i < 64; i++) zero += r1[i] == 0;
    printf("random bytes differ between calls: %s\n", same ? "no" : "yes");
    printf("random bytes are not mostly zero: %s\n", zero < 16 ? "yes" : "no");
    /* Bit balance over 64 KiB: far from 50% only if broken. */
    static unsigned char big[65536];
    MUST(getentropy(big, 256));
    long ones = 0;
    for (int off = 0; off < (int)sizeof big; off += 256) MUST(getentropy(big + off, 256));
    for (size_t i = 0; i < sizeof big; i++) ones += __builtin_popcount(big[i]);
    printf("random bits balanced (48%%..52%% ones): %s\n", ones > 65536 * 8 * 48 / 100 && ones < 65536 * 8 * 52 / 100 ? "yes" : "no");
    return 0;
}
