/* Leaves with the exit code given as its first argument, through exit()
 * after writing to both streams, or through _Exit() with unflushed output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int code = argc > 1 ? atoi(argv[1]) : 0;
    printf("about to exit with %d\n", code);
    fprintf(stderr, "error: something went wrong (%d)\n", code);
    if (argc > 2 && strcmp(argv[2], "abrupt") == 0) {
        fflush(stdout);
        printf("this line is buffered and lost");
        _Exit(code);
    }
    exit(code);
}
