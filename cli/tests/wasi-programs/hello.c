/* Writes to stdout and stderr and exits normally. */
#include <stdio.h>

int main(void) {
    printf("Hello, world!\n");
    for (int i = 1; i <= 3; i++) printf("line %d of %d: %.3f\n", i, 3, i / 3.0);
    fprintf(stderr, "a note on stderr\n");
    fflush(stdout);
    fputs("unbuffered tail without newline", stdout);
    return 0;
}
