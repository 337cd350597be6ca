/*
 * tests/fuzz/gen_seeds.c -- write a fuzz target's seeds (seeds.c) as files:
 *
 *   fuzz_seeds TARGET DIR
 *
 * writes DIR/seed-000, seed-001, ... (DIR must exist). tests/fuzz/run.sh
 * runs it before each target, so the seeds always match the writers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/seeds.h"

struct dir {
    const char *path;
    int n, failed;
};

static void write_seed(const void *data, size_t len, void *ctx)
{
    struct dir *d = ctx;
    char name[4096];
    snprintf(name, sizeof name, "%s/seed-%03d", d->path, d->n++);
    FILE *f = fopen(name, "wb");
    if (f == NULL) {
        perror(name);
        d->failed = 1;
        return;
    }
    int ok = fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) {
        perror(name);
        d->failed = 1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s TARGET DIR\n", argv[0]);
        return 2;
    }
    struct dir d = {argv[2], 0, 0};
    if (fz_seeds(argv[1], write_seed, &d) < 0) {
        fprintf(stderr, "%s: no seeds for target %s\n", argv[0], argv[1]);
        return 2;
    }
    return d.failed;
}
