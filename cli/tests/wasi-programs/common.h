/* Helpers shared by the WASI test programs. Each program is built twice,
 * natively and for wasm32-wasi, and both builds must behave identically,
 * so nothing here prints what legitimately differs between the two (errno
 * numbers, absolute paths, inode numbers, permission bits). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* errno as a name: the numbers differ between Linux and WASI. */
static const char *errno_name(int e) {
    switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ELOOP: return "ELOOP";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: return "other";
    }
}

/* Runs an expression returning -1/NULL on failure and prints the outcome. */
#define TRY(label, expr)                                                       \
    do {                                                                       \
        errno = 0;                                                             \
        long try_result_ = (long)(expr);                                       \
        printf("%-28s %s\n", label, try_result_ < 0 ? errno_name(errno) : "OK"); \
    } while (0)

/* Fails the program loudly if a step that must work does not. */
#define MUST(expr)                                                             \
    do {                                                                       \
        errno = 0;                                                             \
        if ((long)(expr) < 0) {                                                \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                    errno_name(errno));                                        \
            exit(99);                                                          \
        }                                                                      \
    } while (0)
