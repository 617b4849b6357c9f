/* Prints its arguments and its environment (sorted), and looks variables up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=[%s] (%zu bytes)\n", i, argv[i], strlen(argv[i]));
    int n = 0;
    while (environ && environ[n]) n++;
    char **sorted = malloc(sizeof(char *) * (n + 1));
    for (int i = 0; i < n; i++) sorted[i] = environ[i];
    qsort(sorted, n, sizeof(char *), cmp);
    printf("environ has %d entries\n", n);
    for (int i = 0; i < n; i++) printf("env: %s\n", sorted[i]);
    const char *names[] = {"GREETING", "EMPTY", "UNSET", "WITH_EQUALS"};
    for (int i = 0; i < 4; i++) {
        const char *v = getenv(names[i]);
        printf("getenv(%s) = %s%s%s\n", names[i], v ? "[" : "", v ? v : "NULL", v ? "]" : "");
    }
    return 0;
}
