// Files and directories inside a preopen, rights, clocks, random and
// poll: each check prints "name=value"; the test compares them.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#define CHECK(name, expr) printf("%s=%d\n", name, (expr) ? 0 : errno)

static int preopen_fd(void) {
    // wasi-libc finds its preopens the same way.
    for (__wasi_fd_t fd = 3;; fd++) {
        __wasi_prestat_t p;
        if (__wasi_fd_prestat_get(fd, &p) != 0) return -1;
        char name[64] = {0};
        if (p.u.dir.pr_name_len < sizeof name && __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, p.u.dir.pr_name_len) == 0 &&
            !strcmp(name, "/dir"))
            return (int)fd;
    }
}

int main(void) {
    int pre = preopen_fd();
    printf("preopen_fd=%d\n", pre);
    __wasi_prestat_t p;
    printf("prestat_stdout=%d\n", __wasi_fd_prestat_get(1, &p));
    char tiny[2];
    printf("prestat_name_short=%d\n", __wasi_fd_prestat_dir_name(pre, (uint8_t *)tiny, 2));

    // Write, read back, seek, tell, pread, pwrite.
    int fd = open("/dir/a.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("open_create", fd >= 0);
    CHECK("write", write(fd, "hello world", 11) == 11);
    CHECK("lseek_set", lseek(fd, 6, SEEK_SET) == 6);
    char buf[64] = {0};
    CHECK("read_after_seek", read(fd, buf, sizeof buf) == 5 && !memcmp(buf, "world", 5));
    CHECK("tell_end", lseek(fd, 0, SEEK_CUR) == 11);
    CHECK("lseek_end", lseek(fd, -5, SEEK_END) == 6);
    CHECK("pwrite", pwrite(fd, "W", 1, 6) == 1);
    memset(buf, 0, sizeof buf);
    CHECK("pread", pread(fd, buf, 5, 6) == 5 && !memcmp(buf, "World", 5));
    CHECK("tell_unmoved", lseek(fd, 0, SEEK_CUR) == 6);
    CHECK("lseek_negative", lseek(fd, -100, SEEK_SET) < 0);
    printf("lseek_negative_errno=%d\n", errno);
    struct stat st;
    CHECK("fstat", fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode));
    CHECK("ftruncate", ftruncate(fd, 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3);
    CHECK("posix_fallocate", posix_fallocate(fd, 0, 4096) == 0 && fstat(fd, &st) == 0 && st.st_size == 4096);
    CHECK("posix_fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
    CHECK("fsync", fsync(fd) == 0);
    CHECK("fdatasync", fdatasync(fd) == 0);
    struct timespec times[2] = {{1000000000, 5}, {1500000000, 7}};
    CHECK("futimens", futimens(fd, times) == 0 && fstat(fd, &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
                          st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 7);
    close(fd);
    CHECK("read_closed", read(fd, buf, 1) < 0);
    printf("read_closed_errno=%d\n", errno);

    // Append mode and fcntl flags.
    fd = open("/dir/a.txt", O_WRONLY | O_APPEND);
    CHECK("open_append", fd >= 0);
    CHECK("append_flag", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    CHECK("append_write", write(fd, "!", 1) == 1 && fstat(fd, &st) == 0 && st.st_size == 4097);
    CHECK("clear_append", fcntl(fd, F_SETFL, 0) == 0 && (fcntl(fd, F_GETFL) & O_APPEND) == 0);
    close(fd);

    // Exclusive create.
    fd = open("/dir/a.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK("excl_exists", fd >= 0);
    // Directories.
    CHECK("mkdir", mkdir("/dir/d", 0755) == 0);
    CHECK("mkdir_again", mkdir("/dir/d", 0755) == 0);
    CHECK("stat_dir", stat("/dir/d", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK("open_dir_for_write", open("/dir/d", O_WRONLY) >= 0);
    CHECK("rename", rename("/dir/a.txt", "/dir/d/b.txt") == 0);
    CHECK("stat_renamed", stat("/dir/d/b.txt", &st) == 0 && st.st_size == 4097);
    CHECK("rmdir_not_empty", rmdir("/dir/d") == 0);
    CHECK("link", link("/dir/d/b.txt", "/dir/c.txt") == 0 && stat("/dir/c.txt", &st) == 0 && st.st_nlink == 2);
    CHECK("symlink", symlink("d/b.txt", "/dir/s") == 0);
    char target[64] = {0};
    CHECK("readlink", readlink("/dir/s", target, sizeof target) == 7 && !strcmp(target, "d/b.txt"));
    CHECK("readlink_short", readlink("/dir/s", target, 3) == 3);
    CHECK("lstat_symlink", lstat("/dir/s", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK("stat_through_symlink", stat("/dir/s", &st) == 0 && S_ISREG(st.st_mode));
    CHECK("unlink_dir", unlink("/dir/d") == 0);
    CHECK("unlink", unlink("/dir/c.txt") == 0 && unlink("/dir/s") == 0 && unlink("/dir/d/b.txt") == 0);
    CHECK("rmdir", rmdir("/dir/d") == 0);
    CHECK("stat_gone", stat("/dir/d", &st) == 0);
    struct timespec path_times[2] = {{0, UTIME_OMIT}, {1600000000, 0}};
    fd = open("/dir/t.txt", O_WRONLY | O_CREAT, 0644);
    close(fd);
    CHECK("utimensat", utimensat(AT_FDCWD, "/dir/t.txt", path_times, 0) == 0 && stat("/dir/t.txt", &st) == 0 &&
                           st.st_mtim.tv_sec == 1600000000);

    // Rights: drop fd_write, then writing is not capable (wasi-libc
    // reports ENOTCAPABLE from write as EBADF).
    fd = open("/dir/t.txt", O_RDWR);
    __wasi_fdstat_t fdstat;
    __wasi_fd_fdstat_get(fd, &fdstat);
    printf("file_rights_has_write=%d\n", (fdstat.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0);
    printf("drop_write=%d\n", __wasi_fd_fdstat_set_rights(fd, fdstat.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE, 0));
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    __wasi_size_t n;
    printf("write_without_right=%d\n", __wasi_fd_write(fd, &iov, 1, &n));
    printf("regain_write=%d\n", __wasi_fd_fdstat_set_rights(fd, fdstat.fs_rights_base, 0));
    close(fd);
    // A directory can neither be read nor sought.
    __wasi_fd_fdstat_get(pre, &fdstat);
    printf("dir_filetype=%d\n", fdstat.fs_filetype);
    printf("dir_seek=%d\n", __wasi_fd_seek(pre, 0, __WASI_WHENCE_SET, &(__wasi_filesize_t){0}));
    printf("stdout_seek=%d\n", __wasi_fd_seek(1, 0, __WASI_WHENCE_END, &(__wasi_filesize_t){0}));
    printf("path_open_on_file_fd=%d\n", __wasi_path_open(1, 0, "x", 0, 0, 0, 0, &(__wasi_fd_t){0}));
    printf("bad_fd=%d\n", __wasi_fd_close(999));
    printf("bad_whence=%d\n", __wasi_fd_seek(0, 0, 7, &(__wasi_filesize_t){0}));
    printf("bad_oflags=%d\n", __wasi_path_open(pre, 0, "t.txt", 0x100, 0, 0, 0, &(__wasi_fd_t){0}));
    printf("not_utf8=%d\n", __wasi_path_open(pre, 0, "\xff", 0, 0, 0, 0, &(__wasi_fd_t){0}));
    // Renumbering.
    int a = open("/dir/t.txt", O_RDONLY), b = open("/dir/t.txt", O_RDONLY);
    printf("renumber=%d\n", __wasi_fd_renumber(a, b));
    printf("renumber_from_closed=%d\n", __wasi_fd_renumber(a, b));
    close(b);

    // Clocks and random.
    __wasi_timestamp_t res, t1, t2;
    printf("clock_res=%d\n", __wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res) == 0 && res > 0);
    printf("clock_bad=%d\n", __wasi_clock_time_get(9, 1, &t1));
    __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t1);
    printf("realtime_after_2020=%d\n", t1 > 1577836800ull * 1000000000ull);
    __wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &t1);
    printf("cputime_ok=%d\n", __wasi_clock_time_get(__WASI_CLOCKID_THREAD_CPUTIME_ID, 1, &t2) == 0);
    unsigned char r1[32] = {0}, r2[32] = {0};
    printf("random=%d\n", __wasi_random_get(r1, sizeof r1) == 0 && __wasi_random_get(r2, sizeof r2) == 0 &&
                              memcmp(r1, r2, sizeof r1) != 0);

    // Sleeping through poll_oneoff: a relative and an absolute clock; the
    // clock reads at least the deadline afterwards.
    __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1);
    struct timespec ts = {0, 2000000};
    CHECK("nanosleep", nanosleep(&ts, NULL) == 0);
    __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2);
    printf("slept_enough=%d\n", t2 - t1 >= 2000000);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    __wasi_subscription_t subs[2] = {0};
    subs[0].userdata = 11;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_REALTIME;
    subs[0].u.u.clock.timeout = (__wasi_timestamp_t)now.tv_sec * 1000000000ull + now.tv_nsec + 3000000;
    subs[0].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    __wasi_event_t events[2];
    __wasi_size_t nevents = 0;
    printf("poll_abs=%d\n", __wasi_poll_oneoff(subs, events, 1, &nevents));
    __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t2);
    printf("poll_abs_events=%u userdata=%llu type=%d reached=%d\n", (unsigned)nevents, (unsigned long long)events[0].userdata,
           events[0].type, t2 >= subs[0].u.u.clock.timeout);
    // A readable file and stdin (an in-memory pipe here) are ready at
    // once, before a long timeout.
    fd = open("/dir/t.txt", O_RDWR);
    write(fd, "12345", 5);
    lseek(fd, 1, SEEK_SET);
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[0].u.u.fd_read.file_descriptor = fd;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 60ull * 1000000000ull;
    subs[1].u.u.clock.flags = 0;
    printf("poll_fd=%d\n", __wasi_poll_oneoff(subs, events, 2, &nevents));
    printf("poll_fd_events=%u userdata=%llu type=%d nbytes=%llu error=%d\n", (unsigned)nevents,
           (unsigned long long)events[0].userdata, events[0].type, (unsigned long long)events[0].fd_readwrite.nbytes,
           events[0].error);
    struct pollfd pfd = {0, POLLIN, 0};
    printf("poll_stdin=%d revents_in=%d\n", poll(&pfd, 1, 60000), (pfd.revents & POLLIN) != 0);
    subs[0].u.u.fd_read.file_descriptor = 999;
    __wasi_poll_oneoff(subs, events, 1, &nevents);
    printf("poll_badf=%u error=%d\n", (unsigned)nevents, events[0].error);
    printf("poll_none=%d\n", __wasi_poll_oneoff(subs, events, 0, &nevents));
    close(fd);

    // fd_tell itself (lseek goes through fd_seek), and flags that are
    // fixed at open.
    fd = open("/dir/t.txt", O_RDONLY);
    lseek(fd, 2, SEEK_SET);
    __wasi_filesize_t pos = 0;
    printf("fd_tell=%d pos=%llu\n", __wasi_fd_tell(fd, &pos), (unsigned long long)pos);
    printf("set_flags_sync=%d\n", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_SYNC));
    printf("set_flags_unknown=%d\n", __wasi_fd_fdstat_set_flags(fd, 0x100));
    close(fd);

    // The rest of the surface.
    printf("sched_yield=%d\n", __wasi_sched_yield());
    printf("sock_accept=%d\n", __wasi_sock_accept(1, 0, &(__wasi_fd_t){0}));
    printf("sock_shutdown_closed=%d\n", __wasi_sock_shutdown(999, __WASI_SDFLAGS_RD));
    __wasi_iovec_t riov = {(uint8_t *)buf, 4};
    __wasi_roflags_t roflags;
    printf("sock_recv=%d\n", __wasi_sock_recv(0, &riov, 1, 0, &n, &roflags));
    printf("sock_send=%d\n", __wasi_sock_send(1, &iov, 1, 0, &n));
    printf("stdin_fdstat_rights=%d\n", __wasi_fd_fdstat_get(0, &fdstat) == 0 &&
                                           (fdstat.fs_rights_base & __WASI_RIGHTS_FD_READ) &&
                                           !(fdstat.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
    return 0;
}
