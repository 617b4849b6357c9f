// path_open's flags against the rights asked for, and path_link with
// symlink_follow: each check prints "name=value" (0 or a WASI errno).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#define R_READ __WASI_RIGHTS_FD_READ
#define R_WRITE __WASI_RIGHTS_FD_WRITE
#define R_SEEK (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL)
#define CHECK(name, expr) printf("%s=%d\n", name, (expr) ? 0 : errno)

static __wasi_fd_t pre = 3;

static __wasi_errno_t wasi_open(const char *path, __wasi_oflags_t oflags, __wasi_rights_t rights, __wasi_fdflags_t fdflags,
                                __wasi_fd_t *fd) {
    return __wasi_path_open(pre, 0, path, oflags, rights, 0, fdflags, fd);
}

int main(void) {
    __wasi_fd_t fd;
    __wasi_size_t n;
    __wasi_filestat_t fst;
    __wasi_fdstat_t st;

    // O_CREAT without the fd_write right: the file is created, and the
    // descriptor still cannot write.
    printf("creat_no_rights=%d\n", wasi_open("created_bare", __WASI_OFLAGS_CREAT, 0, 0, &fd));
    (void)__wasi_fd_close(fd);
    printf("creat_read_only=%d\n", wasi_open("created_ro", __WASI_OFLAGS_CREAT, R_READ, 0, &fd));
    __wasi_ciovec_t out = {(const uint8_t *)"x", 1};
    printf("creat_read_only_write=%d\n", __wasi_fd_write(fd, &out, 1, &n));
    printf("creat_read_only_has_write=%d\n", __wasi_fd_fdstat_get(fd, &st) == 0 && (st.fs_rights_base & R_WRITE) != 0);
    (void)__wasi_fd_close(fd);
    printf("creat_excl_exists=%d\n", wasi_open("created_ro", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_READ, 0, &fd));

    // O_TRUNC without fd_write empties the file; reading still works.
    printf("trunc_read_only=%d\n", wasi_open("full.txt", __WASI_OFLAGS_TRUNC, R_READ | __WASI_RIGHTS_FD_FILESTAT_GET, 0, &fd));
    printf("trunc_size=%d\n", __wasi_fd_filestat_get(fd, &fst) == 0 ? (int)fst.size : -1);
    (void)__wasi_fd_close(fd);
    // ... but needs path_filestat_set_size on the directory.
    __wasi_fd_t dir;
    printf("dir_again=%d\n", __wasi_fd_fdstat_get(pre, &st) ||
                                 __wasi_path_open(pre, 0, ".", __WASI_OFLAGS_DIRECTORY, st.fs_rights_base, st.fs_rights_inheriting, 0, &dir));
    printf("drop_size_right=%d\n", __wasi_fd_fdstat_set_rights(dir, st.fs_rights_base & ~__WASI_RIGHTS_PATH_FILESTAT_SET_SIZE,
                                                                 st.fs_rights_inheriting));
    printf("trunc_without_right=%d\n", __wasi_path_open(dir, 0, "other.txt", __WASI_OFLAGS_TRUNC, R_READ, 0, 0, &fd));
    (void)__wasi_fd_close(dir);

    // O_TRUNC with O_APPEND (on a file that has content): emptied, and
    // every write goes to the end.
    int log = open("/dir/log.txt", O_WRONLY | O_TRUNC | O_APPEND);
    CHECK("trunc_append", log >= 0);
    CHECK("append_write", write(log, "ab", 2) == 2);
    CHECK("append_seek", lseek(log, 0, SEEK_SET) == 0);
    CHECK("append_write_at_end", write(log, "cd", 2) == 2 && lseek(log, 0, SEEK_CUR) == 4);
    printf("append_flag=%d\n", __wasi_fd_fdstat_get(log, &st) == 0 && (st.fs_flags & __WASI_FDFLAGS_APPEND) != 0);
    close(log);
    // O_APPEND on a descriptor that only reads is accepted; it changes nothing.
    int reader = open("/dir/other.txt", O_RDONLY | O_APPEND);
    char buf[16] = {0};
    CHECK("read_only_append", reader >= 0 && read(reader, buf, sizeof buf) == 5 && !memcmp(buf, "other", 5));
    close(reader);

    // A directory never opens with fd_write: EISDIR, with or without
    // O_DIRECTORY; without the right it opens.
    printf("dir_read=%d\n", wasi_open("sub", __WASI_OFLAGS_DIRECTORY, R_READ, 0, &fd));
    (void)__wasi_fd_close(fd);
    printf("dir_write=%d\n", wasi_open("sub", __WASI_OFLAGS_DIRECTORY, R_READ | R_WRITE, 0, &fd));
    printf("dot_write=%d\n", wasi_open(".", __WASI_OFLAGS_DIRECTORY, R_WRITE, 0, &fd));
    printf("dir_write_no_oflag=%d\n", wasi_open("sub", 0, R_READ | R_WRITE, 0, &fd));
    printf("file_as_dir_write=%d\n", wasi_open("other.txt", __WASI_OFLAGS_DIRECTORY, R_READ | R_WRITE, 0, &fd));

    // path_link with symlink_follow is refused, whatever the path names.
    printf("link_follow_file=%d\n", __wasi_path_link(pre, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "other.txt", pre, "hard"));
    printf("symlink=%d\n", __wasi_path_symlink("missing", pre, "dangling"));
    printf("link_follow_dangling=%d\n", __wasi_path_link(pre, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "dangling", pre, "hard"));
    printf("link_nofollow=%d\n", __wasi_path_link(pre, 0, "other.txt", pre, "hard_plain"));
    return 0;
}
