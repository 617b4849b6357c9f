/* Copies a file inside the working directory with stdio, in odd-sized
 * chunks, and prints a checksum of what it copied. */
#include "common.h"

int main(int argc, char **argv) {
    const char *from = argc > 1 ? argv[1] : "input.bin";
    const char *to = argc > 2 ? argv[2] : "copy.bin";
    FILE *in = fopen(from, "rb");
    if (!in) { printf("open %s: %s\n", from, errno_name(errno)); return 2; }
    FILE *out = fopen(to, "wb");
    if (!out) { printf("create %s: %s\n", to, errno_name(errno)); return 2; }
    unsigned char buf[4093];
    size_t n, total = 0;
    unsigned long long sum = 5381;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        for (size_t i = 0; i < n; i++) sum = sum * 33 + buf[i];
        if (fwrite(buf, 1, n, out) != n) { printf("write: %s\n", errno_name(errno)); return 3; }
        total += n;
    }
    if (ferror(in)) { printf("read: %s\n", errno_name(errno)); return 3; }
    fclose(in);
    if (fclose(out) != 0) { printf("close: %s\n", errno_name(errno)); return 3; }
    printf("copied %zu bytes, checksum %llu\n", total, sum);
    /* Appending adds to the end. */
    FILE *log = fopen("copy.log", "a");
    if (!log) { printf("open copy.log: %s\n", errno_name(errno)); return 4; }
    fprintf(log, "copied %s to %s\n", from, to);
    fclose(log);
    log = fopen("copy.log", "a");
    fprintf(log, "second append\n");
    fclose(log);
    TRY("open missing file", fopen("no-such-file", "rb") ? 0 : -1);
    return 0;
}
