/*
 * tests/fuzz/seeds.h -- seed inputs for the fuzz targets, made with the
 * project's own writers, so that they always match the current format.
 */
#ifndef MF_TESTS_FUZZ_SEEDS_H
#define MF_TESTS_FUZZ_SEEDS_H

#include <stddef.h>

typedef void (*fz_emit_fn)(const void *data, size_t len, void *ctx);

/* Hand every seed for the named target ("args", "task_envelope",
 * "result_envelope", "roundtrip") to emit. Returns how many, or -1 for a
 * name it does not know. */
int fz_seeds(const char *target, fz_emit_fn emit, void *ctx);

#endif
