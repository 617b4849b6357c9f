// fd_readdir cookies: many entries read through a tiny buffer, restarting
// at cookies the way wasi-libc does, compared with readdir(3).
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#define COUNT 150

static int seen[COUNT];

int main(void) {
    for (int i = 0; i < COUNT; i++) {
        char path[96];
        snprintf(path, sizeof path, "/dir/many/entry_%03d_with_a_name_of_some_length", i);
        int fd = open(path, O_WRONLY | O_CREAT, 0644);
        if (fd < 0) { perror(path); return 1; }
        close(fd);
    }
    int dirfd = open("/dir/many", O_RDONLY | O_DIRECTORY);
    if (dirfd < 0) { perror("open dir"); return 1; }

    // An entry takes 60 bytes (24 + 36). 72 bytes hold one entry and part
    // of the next header, 100 bytes one entry and part of the next name;
    // each time the reader restarts at the cookie of the last whole entry.
    int sizes[] = {72, 100, 4096};
    for (int s = 0; s < 3; s++) {
        memset(seen, 0, sizeof seen);
        uint8_t buf[4096];
        __wasi_dircookie_t cookie = 0;
        int entries = 0, dots = 0, calls = 0, cut = 0;
        __wasi_dircookie_t cookie_of_10th = 0;
        for (;;) {
            __wasi_size_t used = 0;
            __wasi_errno_t e = __wasi_fd_readdir(dirfd, buf, sizes[s], cookie, &used);
            calls++;
            if (e != 0) { printf("readdir errno %d\n", e); return 1; }
            size_t at = 0;
            int progressed = 0;
            while (at + sizeof(__wasi_dirent_t) <= used) {
                __wasi_dirent_t d;
                memcpy(&d, buf + at, sizeof d);
                if (at + sizeof d + d.d_namlen > used) break;
                char name[128] = {0};
                memcpy(name, buf + at + sizeof d, d.d_namlen);
                if (!strcmp(name, ".") || !strcmp(name, "..")) {
                    dots++;
                    if (d.d_type != __WASI_FILETYPE_DIRECTORY) { printf("bad dot type\n"); return 1; }
                } else {
                    int i = atoi(name + 6);
                    if (i < 0 || i >= COUNT || seen[i]) { printf("unexpected %s\n", name); return 1; }
                    seen[i] = 1;
                    if (d.d_type != __WASI_FILETYPE_REGULAR_FILE || d.d_ino == 0) { printf("bad entry %s\n", name); return 1; }
                }
                entries++;
                if (entries == 10) cookie_of_10th = d.d_next;
                cookie = d.d_next;
                at += sizeof d + d.d_namlen;
                progressed = 1;
            }
            // A cut header or name at the end.
            if (at < used) cut++;
            if (used < (__wasi_size_t)sizes[s]) break;
            if (!progressed && sizes[s] < 68) { printf("buffer too small\n"); return 1; }
        }
        int missing = 0;
        for (int i = 0; i < COUNT; i++) missing += !seen[i];
        printf("buf=%d entries=%d dots=%d missing=%d cut=%d more_calls=%d\n", sizes[s], entries, dots, missing, cut > 0,
               calls > 1);

        // Resuming at the 10th entry's cookie yields the 11th entry first.
        __wasi_size_t used = 0;
        __wasi_fd_readdir(dirfd, buf, sizeof buf, cookie_of_10th, &used);
        __wasi_dirent_t d;
        memcpy(&d, buf, sizeof d);
        printf("resume_next=%llu expected=%llu\n", (unsigned long long)d.d_next, (unsigned long long)cookie_of_10th + 1);
    }
    // Past the end: nothing.
    uint8_t small[64];
    __wasi_size_t used = 123;
    __wasi_fd_readdir(dirfd, small, sizeof small, 1000000, &used);
    printf("past_end_used=%u\n", (unsigned)used);

    DIR *d = opendir("/dir/many");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n++;
    closedir(d);
    printf("libc_readdir=%d\n", n);
    return 0;
}
