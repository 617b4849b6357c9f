/* File metadata, seeking, positional I/O, truncation, links, timestamps. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static const char *kind(mode_t m) {
    return S_ISREG(m) ? "regular" : S_ISDIR(m) ? "directory" : S_ISLNK(m) ? "symlink" : "other";
}

int main(void) {
    int fd = open("data.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    MUST(fd);
    char block[1000];
    for (int i = 0; i < 1000; i++) block[i] = (char)('a' + i % 26);
    for (int i = 0; i < 5; i++) MUST(write(fd, block, sizeof block));
    struct stat st;
    MUST(fstat(fd, &st));
    printf("size after writes: %lld (%s, %lld link)\n", (long long)st.st_size, kind(st.st_mode), (long long)st.st_nlink);
    printf("tell: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    printf("seek set 10: %lld\n", (long long)lseek(fd, 10, SEEK_SET));
    char buf[16] = {0};
    MUST(read(fd, buf, 5));
    printf("read at 10: %s\n", buf);
    printf("seek cur +100: %lld\n", (long long)lseek(fd, 100, SEEK_CUR));
    printf("seek end -3: %lld\n", (long long)lseek(fd, -3, SEEK_END));
    TRY("seek before start", lseek(fd, -10, SEEK_SET));
    printf("seek past end: %lld\n", (long long)lseek(fd, 6000, SEEK_SET));
    MUST(write(fd, "END", 3));
    MUST(fstat(fd, &st));
    printf("size after write past end: %lld\n", (long long)st.st_size);
    MUST(pwrite(fd, "XYZ", 3, 20));
    memset(buf, 0, sizeof buf);
    MUST(pread(fd, buf, 8, 18));
    printf("pread at 18: %s, position still %lld\n", buf, (long long)lseek(fd, 0, SEEK_CUR));
    memset(buf, 0, sizeof buf);
    MUST(pread(fd, buf, 4, 5500));
    printf("hole reads as zeros: %d %d %d %d\n", buf[0], buf[1], buf[2], buf[3]);
    MUST(ftruncate(fd, 1234));
    MUST(fstat(fd, &st));
    printf("size after ftruncate: %lld\n", (long long)st.st_size);
    MUST(fsync(fd));
    MUST(fdatasync(fd));
    TRY("posix_fadvise", -posix_fadvise(fd, 0, 100, POSIX_FADV_SEQUENTIAL));
    MUST(close(fd));
    TRY("read a closed fd", read(fd, buf, 1));

    /* Timestamps set explicitly read back exactly. */
    struct timespec times[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    MUST(utimensat(AT_FDCWD, "data.bin", times, 0));
    MUST(stat("data.bin", &st));
    printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    fd = open("data.bin", O_RDONLY);
    struct timespec only_mtime[2] = {{0, UTIME_OMIT}, {1300000000, 5}};
    MUST(futimens(fd, only_mtime));
    MUST(fstat(fd, &st));
    printf("after futimens: atime %lld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    TRY("write to read-only fd", write(fd, "x", 1));
    MUST(close(fd));

    /* Hard and symbolic links. */
    TRY("link", link("data.bin", "hard.bin"));
    MUST(stat("data.bin", &st));
    printf("links after link: %lld\n", (long long)st.st_nlink);
    TRY("symlink", symlink("data.bin", "soft.lnk"));
    char target[64] = {0};
    ssize_t n = readlink("soft.lnk", target, sizeof target - 1);
    printf("readlink: %zd [%s]\n", n, n > 0 ? target : "");
    TRY("readlink of a file", readlink("data.bin", target, sizeof target));
    MUST(lstat("soft.lnk", &st));
    printf("lstat soft.lnk: %s, size %lld\n", kind(st.st_mode), (long long)st.st_size);
    MUST(stat("soft.lnk", &st));
    printf("stat soft.lnk: %s, size %lld\n", kind(st.st_mode), (long long)st.st_size);
    TRY("symlink over existing", symlink("x", "hard.bin"));
    TRY("dangling symlink", symlink("nowhere", "dangling.lnk"));
    TRY("stat dangling", stat("dangling.lnk", &st));
    TRY("lstat dangling", lstat("dangling.lnk", &st));
    TRY("open O_EXCL existing", open("data.bin", O_CREAT | O_EXCL | O_WRONLY, 0644));
    TRY("open dir for writing", open(".", O_WRONLY));
    TRY("unlink hard", unlink("hard.bin"));
    MUST(stat("data.bin", &st));
    printf("links after unlink: %lld\n", (long long)st.st_nlink);

    /* O_APPEND writes go to the end whatever the position. */
    fd = open("data.bin", O_WRONLY | O_APPEND);
    MUST(fd);
    lseek(fd, 0, SEEK_SET);
    MUST(write(fd, "tail", 4));
    MUST(fstat(fd, &st));
    printf("size after append: %lld\n", (long long)st.st_size);
    MUST(close(fd));
    return 0;
}
