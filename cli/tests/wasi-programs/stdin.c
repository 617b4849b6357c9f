/* Reads standard input to the end: counts lines, words and bytes, and
 * echoes it upper-cased. */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char buf[777];
    ssize_t n;
    long lines = 0, words = 0, bytes = 0;
    int in_word = 0;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            bytes++;
            if (c == '\n') lines++;
            if (isspace(c)) in_word = 0;
            else if (!in_word) { in_word = 1; words++; }
            buf[i] = (char)toupper(c);
        }
        fwrite(buf, 1, (size_t)n, stdout);
    }
    printf("\n%ld lines, %ld words, %ld bytes; last read returned %zd\n", lines, words, bytes, n);
    fprintf(stderr, "stdin done\n");
    return 0;
}
