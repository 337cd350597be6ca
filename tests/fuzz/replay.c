/*
 * tests/fuzz/replay.c -- a plain main for a fuzz target, so that any
 * compiler (gcc in the normal, ASan and TSan builds) can run it without
 * libFuzzer:
 *
 *   fuzz_replay_<target> [FILE_OR_DIR...]
 *
 * runs LLVMFuzzerTestOneInput on every seed of fz_seeds(MF_FUZZ_TARGET),
 * then on every file given and every regular file in every directory given
 * (tests/fuzz/regressions/<target>/: the inputs that once crashed). A
 * directory that does not exist is skipped. Each input is copied into a
 * buffer of exactly its size, as libFuzzer does, so that an overread is
 * caught by AddressSanitizer. A broken invariant aborts: the test fails.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/seeds.h"

#ifndef MF_FUZZ_TARGET
#error "build with -DMF_FUZZ_TARGET=\"<target>\""
#endif

static void run_one(const void *data, size_t len, void *ctx)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    if (len > 0)
        memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    ++*(size_t *)ctx;
}

/* Replay one file. Returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0, n;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        abort();
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            buf = realloc(buf, cap *= 2);
            if (buf == NULL)
                abort();
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(buf);
        return -1;
    }
    printf("replay: %s (%zu bytes)\n", path, len);
    fflush(stdout); /* name the input before a crash in it */
    run_one(buf, len, count);
    free(buf);
    return 0;
}

static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        printf("replay: %s: none\n", dir);
        return 0;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            replay_file(path, count) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    size_t seeds = 0, files = 0;
    if (fz_seeds(MF_FUZZ_TARGET, run_one, &seeds) < 0) {
        fprintf(stderr, "replay: no seeds for target %s\n", MF_FUZZ_TARGET);
        return 1;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc |= replay_dir(argv[i], &files);
        else if (stat(argv[i], &st) == 0)
            rc |= replay_file(argv[i], &files);
        else
            printf("replay: %s: none\n", argv[i]);
    }
    printf("replay %s: %zu generated seeds and %zu files, no invariant "
           "broken\n",
           MF_FUZZ_TARGET, seeds, files);
    return rc ? 1 : 0;
}
