// The order of directory entries: prints the names in /dir/list as
// fd_readdir returns them ("raw=NAME") and as readdir(3) does
// ("libc=NAME"), leaving out "." and "..".
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

int main(void) {
    int fd = open("/dir/list", O_RDONLY | O_DIRECTORY);
    if (fd < 0) { perror("open"); return 1; }
    static uint8_t buf[65536];
    __wasi_size_t used = 0;
    if (__wasi_fd_readdir(fd, buf, sizeof buf, 0, &used) != 0 || used == sizeof buf) { printf("fd_readdir failed\n"); return 1; }
    for (size_t at = 0; at + sizeof(__wasi_dirent_t) <= used;) {
        __wasi_dirent_t d;
        memcpy(&d, buf + at, sizeof d);
        char name[256] = {0};
        memcpy(name, buf + at + sizeof d, d.d_namlen);
        if (strcmp(name, ".") && strcmp(name, "..")) printf("raw=%s\n", name);
        at += sizeof d + d.d_namlen;
    }
    DIR *dir = opendir("/dir/list");
    if (!dir) { perror("opendir"); return 1; }
    for (struct dirent *e; (e = readdir(dir));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf("libc=%s\n", e->d_name);
    closedir(dir);
    return 0;
}
