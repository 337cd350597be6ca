/*
 * tests/fuzz/fuzz.h -- what every fuzz target shares: the libFuzzer entry
 * point, invariant checks that abort (a crash to libFuzzer, a failed test to
 * the gcc-built replay), and a walker that reads a decoded value completely.
 *
 * Each tests/fuzz/fuzz_<target>.c defines LLVMFuzzerTestOneInput and
 * nothing else with external linkage, so the same file links either into a
 * libFuzzer binary (clang, MF_FUZZ=ON) or into tests/fuzz/replay.c's plain
 * main (any compiler, the normal ctest suite).
 */
#ifndef MF_TESTS_FUZZ_H
#define MF_TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpifutures.h>

#include "serialization/mp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline _Noreturn void fz_fail(const char *file, int line,
                                     const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n  (mf_errmsg: %s)\n",
            file, line, what, mf_errmsg());
    abort();
}

/* An invariant of the decoders; breaking it is a finding, like a crash. */
#define FZ_CHECK(cond) ((cond) ? (void)0 : fz_fail(__FILE__, __LINE__, #cond))

/* The view [p, p + n) lies inside the input [lo, lo + size). */
static inline int fz_within(const void *p, size_t n, const void *lo,
                            size_t size)
{
    const uint8_t *b = p, *l = lo;
    return b >= l && b <= l + size && n <= (size_t)(l + size - b);
}

/* Read every byte of a view (volatile reads, which no optimizer drops), so
 * that AddressSanitizer sees a view that reaches past its buffer even when
 * the bounds arithmetic was fooled. */
static inline void fz_touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        (void)b[i];
}

/* Two views of the same encoded value are identical. */
static inline int fz_same(const mf_value *a, const mf_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case MF_VALUE_NIL:
        return 1;
    case MF_VALUE_BOOL:
        return a->via.b == b->via.b;
    case MF_VALUE_INT:
        return a->via.i == b->via.i;
    case MF_VALUE_UINT:
        return a->via.u == b->via.u;
    case MF_VALUE_FLOAT:
        return memcmp(&a->via.f, &b->via.f, 8) == 0;
    case MF_VALUE_STR:
        return a->via.str.ptr == b->via.str.ptr &&
               a->via.str.len == b->via.str.len;
    case MF_VALUE_BIN:
        return a->via.bin.ptr == b->via.bin.ptr &&
               a->via.bin.len == b->via.bin.len;
    case MF_VALUE_ARRAY:
    case MF_VALUE_MAP:
        return a->via.seq.ptr == b->via.seq.ptr &&
               a->via.seq.len == b->via.seq.len &&
               a->via.seq.count == b->via.seq.count;
    default:
        return 0;
    }
}

/* The conversions agree with the type: mf_value_i64 takes integers that fit,
 * mf_value_f64 every number, and neither touches anything else. */
static inline void fz_check_conversions(const mf_value *v)
{
    int64_t i = 0;
    double d = 0;
    int rc = mf_value_i64(v, &i);
    if (v->type == MF_VALUE_INT)
        FZ_CHECK(rc == MF_OK && i == v->via.i);
    else if (v->type == MF_VALUE_UINT)
        FZ_CHECK(v->via.u <= (uint64_t)INT64_MAX
                     ? rc == MF_OK && (uint64_t)i == v->via.u
                     : rc == MF_ERANGE);
    else
        FZ_CHECK(rc == MF_ETYPE);
    rc = mf_value_f64(v, &d);
    FZ_CHECK((rc == MF_OK) ==
             (v->type == MF_VALUE_INT || v->type == MF_VALUE_UINT ||
              v->type == MF_VALUE_FLOAT));
    FZ_CHECK(rc == MF_OK || rc == MF_ETYPE);
    FZ_CHECK(mf_value_type_name(v->type) != NULL);
}

/*
 * Read the decoded value v completely, checking as it goes: every view lies
 * inside [lo, lo + size); a container's encoding holds exactly its
 * elements, read in order with mf__mp_next; mf_value_at agrees with that
 * order (first elements and the last; all of them would be quadratic) and
 * refuses the index past the end; conversions agree with the types; no
 * container sits deeper than MF__MP_MAX_DEPTH (level is v's own: 1 for the
 * outermost). Returns the number of values read.
 */
static inline size_t fz_walk(const mf_value *v, const void *lo, size_t size,
                             int level)
{
    fz_check_conversions(v);
    mf_value e, a;
    switch (v->type) {
    case MF_VALUE_NIL:
    case MF_VALUE_BOOL:
    case MF_VALUE_INT:
    case MF_VALUE_UINT:
    case MF_VALUE_FLOAT:
        FZ_CHECK(mf_value_at(v, 0, &e) == MF_ETYPE);
        return 1;
    case MF_VALUE_STR:
        FZ_CHECK(fz_within(v->via.str.ptr, v->via.str.len, lo, size));
        fz_touch(v->via.str.ptr, v->via.str.len);
        FZ_CHECK(mf_value_at(v, 0, &e) == MF_ETYPE);
        return 1;
    case MF_VALUE_BIN:
        FZ_CHECK(fz_within(v->via.bin.ptr, v->via.bin.len, lo, size));
        fz_touch(v->via.bin.ptr, v->via.bin.len);
        FZ_CHECK(mf_value_at(v, 0, &e) == MF_ETYPE);
        return 1;
    case MF_VALUE_ARRAY:
    case MF_VALUE_MAP:
        break;
    default:
        FZ_CHECK(!"a decoded value of no wire type");
    }
    FZ_CHECK(level <= MF__MP_MAX_DEPTH);
    FZ_CHECK(fz_within(v->via.seq.ptr, v->via.seq.len, lo, size));
    uint64_t n = (uint64_t)v->via.seq.count
                 << (v->type == MF_VALUE_MAP ? 1 : 0);
    size_t off = mf__mp_seq_body(v);
    FZ_CHECK(off <= v->via.seq.len);
    FZ_CHECK(n <= v->via.seq.len - off); /* each element takes a byte */
    size_t seen = 1;
    for (uint64_t i = 0; i < n; i++) {
        size_t at = off;
        FZ_CHECK(mf__mp_next(v->via.seq.ptr, v->via.seq.len, &off, &e) ==
                 MF_OK);
        FZ_CHECK(off > at && off <= v->via.seq.len);
        if (i < 4 || i + 1 == n) {
            FZ_CHECK(mf_value_at(v, (uint32_t)i, &a) == MF_OK);
            FZ_CHECK(fz_same(&a, &e));
        }
        seen += fz_walk(&e, lo, size, level + 1);
    }
    FZ_CHECK(off == v->via.seq.len);
    if (n < UINT32_MAX)
        FZ_CHECK(mf_value_at(v, (uint32_t)n, &a) == MF_ERANGE);
    return seen;
}

/* A decoded string as a NUL-terminated copy (cut at an embedded NUL, as a
 * C-string writer would): for handing decoded fields back to the writers. */
static inline char *fz_cstr(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

#endif
