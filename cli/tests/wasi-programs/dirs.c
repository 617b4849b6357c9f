/* Creates, lists, renames and removes directories and files. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) { printf("opendir %s: %s\n", path, errno_name(errno)); return; }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        const char *kind = e->d_type == DT_DIR ? "dir" : e->d_type == DT_REG ? "file" : e->d_type == DT_LNK ? "link" : "?";
        char *line = malloc(strlen(e->d_name) + 8);
        sprintf(line, "%s %s", e->d_name, kind);
        names[n++] = line;
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp);
    printf("%s has %d entries:", path, n);
    for (int i = 0; i < n; i++) { printf(" [%s]", names[i]); free(names[i]); }
    printf("\n");
}

static void touch(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    MUST(fd);
    MUST(write(fd, text, strlen(text)));
    MUST(close(fd));
}

int main(void) {
    TRY("mkdir tree", mkdir("tree", 0755));
    TRY("mkdir tree again", mkdir("tree", 0755));
    TRY("mkdir tree/a", mkdir("tree/a", 0755));
    TRY("mkdir tree/a/deep", mkdir("tree/a/deep", 0755));
    TRY("mkdir missing/parent", mkdir("missing/parent", 0755));
    touch("tree/one.txt", "one\n");
    touch("tree/a/two.txt", "two\n");
    /* Many entries, so readdir needs more than one buffer fill. */
    char name[64];
    for (int i = 0; i < 150; i++) {
        snprintf(name, sizeof name, "tree/many-%03d-with-a-fairly-long-name-to-fill-buffers", i);
        touch(name, "x");
    }
    list("tree");
    for (int i = 0; i < 150; i++) {
        snprintf(name, sizeof name, "tree/many-%03d-with-a-fairly-long-name-to-fill-buffers", i);
        MUST(unlink(name));
    }
    list("tree");
    list("tree/a");
    TRY("rename file", rename("tree/one.txt", "tree/a/uno.txt"));
    TRY("rename dir", rename("tree/a", "tree/b"));
    TRY("rename missing", rename("tree/nothing", "tree/c"));
    TRY("rename dir over file", rename("tree/b/deep", "tree/b/uno.txt"));
    list("tree");
    list("tree/b");
    TRY("rmdir non-empty", rmdir("tree/b"));
    TRY("rmdir a file", rmdir("tree/b/uno.txt"));
    TRY("unlink a dir", unlink("tree/b/deep"));
    TRY("rmdir tree/b/deep", rmdir("tree/b/deep"));
    TRY("unlink uno", unlink("tree/b/uno.txt"));
    TRY("unlink uno again", unlink("tree/b/uno.txt"));
    TRY("opendir a file", opendir("tree/b/two.txt") ? 0 : -1);
    TRY("path through a file", open("tree/b/two.txt/x", O_RDONLY));
    struct stat st;
    TRY("stat removed", stat("tree/b/uno.txt", &st));
    TRY("stat tree/b", stat("tree/b", &st));
    printf("tree/b is a %s\n", S_ISDIR(st.st_mode) ? "directory" : "something else");
    list("tree/b");
    TRY("mkdir kept", mkdir("kept", 0755));
    touch("kept/result.txt", "the directory test ran\n");
    return 0;
}
