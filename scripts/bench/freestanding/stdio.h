/* Freestanding stand-ins for the few libc functions the benchmarks use, so
 * that one source builds for wasm32 and wasm64 alike without a libc (see
 * memory64.py). printf prints nothing: it folds every converted argument
 * into a digest, by value, so both builds must compute the same digest. */
#ifndef SHIM_STDIO_H
#define SHIM_STDIO_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
typedef int FILE;
#define stderr ((FILE *)0)
#define stdout ((FILE *)0)
extern uint64_t shim_digest;
static inline void shim_mix(uint64_t v) { shim_digest = (shim_digest ^ v) * 0x100000001b3ULL; }
static __attribute__((noinline)) int printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') continue;
        p++;
        while (*p == '-' || *p == '+' || *p == ' ' || *p == '#' || *p == '0' || *p == '.' || (*p >= '1' && *p <= '9'))
            p++;
        int longs = 0, size = 0;
        for (; *p == 'l' || *p == 'z' || *p == 'h'; p++) {
            if (*p == 'l') longs++;
            if (*p == 'z') size = 1;
        }
        switch (*p) {
        case 'f': case 'e': case 'g': {
            double d = va_arg(ap, double);
            uint64_t bits;
            __builtin_memcpy(&bits, &d, sizeof bits);
            shim_mix(bits);
            break;
        }
        case 's':
            for (const char *s = va_arg(ap, const char *); *s; s++) shim_mix((unsigned char)*s);
            break;
        case '%':
            break;
        default:
            if (longs == 2) shim_mix(va_arg(ap, unsigned long long));
            else if (size) shim_mix(va_arg(ap, size_t));
            else if (longs == 1) shim_mix(va_arg(ap, unsigned long));
            else shim_mix(va_arg(ap, unsigned int));
        }
        if (!*p) break;
    }
    va_end(ap);
    return 0;
}
#define fprintf(f, ...) printf(__VA_ARGS__)
#define putchar(c) printf("%c", c)
#define puts(s) printf("%s", s)
#endif
