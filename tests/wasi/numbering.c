// Descriptor numbers: a new descriptor takes the highest number closed and
// not reused since, else the one after the highest open; a closed standard
// stream is gone (EBADF) and its number is free like any other.
// Each check prints "name=value"; after stdout is closed, on stderr.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static int create(const char *path) { return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644); }

int main(void) {
    // The preopen is fd 3; new files follow it.
    int a = create("/dir/a"), b = create("/dir/b"), c = create("/dir/c");
    printf("first=%d,%d,%d\n", a, b, c);
    // Closed in the order c, a, b: numbers come back highest first.
    close(c);
    close(a);
    close(b);
    int d = create("/dir/d"), e = create("/dir/e"), f = create("/dir/f"), g = create("/dir/g");
    printf("reuse=%d,%d,%d,%d\n", d, e, f, g);

    // A program reads its input, closes it, then closes its standard output
    // and opens the file it writes: that file must not become fd 1, or the
    // program's later prints would land in it.
    int input = open("/dir/input.txt", O_RDONLY);
    printf("input=%d\n", input);
    close(input);
    printf("before_close=visible\n");
    fflush(stdout);
    int closed = close(1) == 0 ? 0 : errno;
    fprintf(stderr, "close_stdout=%d\n", closed);
    int netlist = create("/dir/netlist.txt");
    fprintf(stderr, "netlist_fd=%d\n", netlist);
    fprintf(stderr, "write_closed_stdout=%d\n", write(1, "LOG LINE\n", 9) < 0 ? errno : 0);
    __wasi_fdstat_t st;
    fprintf(stderr, "fdstat_closed_stdout=%d\n", __wasi_fd_fdstat_get(1, &st));
    printf("after_close=lost\n");
    fflush(stdout);
    fprintf(stderr, "write_netlist=%d\n", write(netlist, "netlist\n", 8) == 8 ? 0 : errno);
    close(netlist);

    // Now only 1 and the netlist's number are free: the higher one first,
    // then 1.
    int next = create("/dir/next"), one = create("/dir/one");
    fprintf(stderr, "after_netlist=%d,%d\n", next, one);
    fprintf(stderr, "write_one=%d\n", write(one, "one\n", 4) == 4 ? 0 : errno);
    return 0;
}
