// Tries to get out of the preopen "/sandbox" every way there is. Each
// attempt prints "name=errno" (0 if it succeeded); whatever an attempt
// manages to open is printed as "read(name): ...", so a leak shows.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void report(const char *name, int ok) {
    printf("%s=%d\n", name, ok ? 0 : errno);
}

static void try_open(const char *name, const char *path, int flags) {
    int fd = open(path, flags, 0644);
    report(name, fd >= 0);
    if (fd >= 0) {
        char buf[128] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n > 0) printf("read(%s): %s\n", name, buf);
        if (flags & O_WRONLY) write(fd, "pwned", 5);
        close(fd);
    }
}

// path_open straight through the WASI call, bypassing wasi-libc's own
// path handling: preopen fd 3.
static void raw_open(const char *name, const char *path, __wasi_lookupflags_t lookup, __wasi_oflags_t oflags) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(3, lookup, path, oflags,
                                        __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &fd);
    printf("%s=%d\n", name, e);
    if (e == 0) {
        char buf[128] = {0};
        __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
        __wasi_size_t n = 0;
        if (__wasi_fd_read(fd, &iov, 1, &n) == 0 && n > 0) printf("read(%s): %s\n", name, buf);
        __wasi_fd_close(fd);
    }
}

int main(void) {
    // Reading out.
    try_open("dotdot", "/sandbox/../secret/secret.txt", O_RDONLY);
    try_open("dotdot_deep", "/sandbox/sub/../../secret/secret.txt", O_RDONLY);
    try_open("libc_absolute", "/etc/passwd", O_RDONLY);
    try_open("symlink_dir_out", "/sandbox/link_out/secret.txt", O_RDONLY);
    try_open("symlink_file_follow", "/sandbox/link_secret", O_RDONLY);
    try_open("symlink_file_nofollow", "/sandbox/link_secret", O_RDONLY | O_NOFOLLOW);
    try_open("symlink_absolute", "/sandbox/link_abs", O_RDONLY);
    try_open("through_file", "/sandbox/file.txt/x", O_RDONLY);
    try_open("inside", "/sandbox/file.txt", O_RDONLY);
    try_open("inside_via_dotdot", "/sandbox/sub/../file.txt", O_RDONLY);
    raw_open("raw_absolute", "/etc/passwd", 0, 0);
    raw_open("raw_dotdot", "..", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, __WASI_OFLAGS_DIRECTORY);
    raw_open("raw_symlink_follow", "link_secret", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0);
    raw_open("raw_symlink_nofollow", "link_secret", 0, 0);
    raw_open("raw_through_file", "file.txt/x", 0, 0);
    struct stat st;
    report("stat_out", stat("/sandbox/link_out/secret.txt", &st) == 0);
    report("lstat_link", lstat("/sandbox/link_secret", &st) == 0);
    report("stat_follow_link", stat("/sandbox/link_secret", &st) == 0);
    DIR *d = opendir("/sandbox/link_out");
    report("opendir_out", d != NULL);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) printf("read(opendir_out): %s\n", e->d_name);
        closedir(d);
    }
    d = opendir("/sandbox/..");
    report("opendir_dotdot", d != NULL);
    if (d) closedir(d);
    char target[128] = {0};
    ssize_t n = readlink("/sandbox/link_secret", target, sizeof target - 1);
    report("readlink", n >= 0);
    if (n >= 0) printf("readlink_target=%s\n", target);

    // Writing out.
    try_open("create_dotdot", "/sandbox/../secret/new.txt", O_WRONLY | O_CREAT);
    try_open("create_through_link", "/sandbox/link_out/new.txt", O_WRONLY | O_CREAT);
    try_open("truncate_through_link", "/sandbox/link_out/secret.txt", O_WRONLY | O_TRUNC);
    try_open("write_follow_link", "/sandbox/link_secret", O_WRONLY | O_TRUNC);
    report("mkdir_out", mkdir("/sandbox/link_out/newdir", 0755) == 0);
    report("mkdir_dotdot", mkdir("/sandbox/../newdir", 0755) == 0);
    report("unlink_out", unlink("/sandbox/link_out/secret.txt") == 0);
    report("rmdir_out", rmdir("/sandbox/../secret") == 0);
    report("rename_out", rename("/sandbox/file.txt", "/sandbox/link_out/moved.txt") == 0);
    report("rename_in", rename("/sandbox/link_out/secret.txt", "/sandbox/stolen.txt") == 0);
    report("link_out", link("/sandbox/link_out/secret.txt", "/sandbox/hard.txt") == 0);
    report("symlink_absolute_create", symlink("/etc/passwd", "/sandbox/abs") == 0);
    // A relative symlink pointing out may be created, but not followed.
    report("symlink_dotdot_create", symlink("../secret/secret.txt", "/sandbox/made_link") == 0);
    try_open("symlink_dotdot_follow", "/sandbox/made_link", O_RDONLY);
    return 0;
}
