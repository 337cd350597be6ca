/*
 * tests/fuzz/fuzz_args.c -- a task's argument list and the value views on
 * arbitrary bytes: what a worker rank reads from a TASKS entry (mf__args_init,
 * mf_args_*), what mf_executor_submit checks, and what rank 0 reads from a
 * result (mf_value_decode, mf_value_at, the conversions).
 *
 * Invariants checked:
 * - a value that decodes spans at most the input, decodes again from
 *   exactly its own bytes, and none of its strict prefixes decodes (the
 *   encoding is prefix-free, so strictness must see the truncation);
 * - mf_value_decode and mf__mp_validate agree, and accept exactly the
 *   inputs that hold one value and nothing after it;
 * - mf__args_init accepts exactly the empty input and one whole array;
 * - every view stays inside the input (fz_walk);
 * - each mf_args_* accessor succeeds exactly for its own type, returning
 *   the view mf_args_value gives, and every index past the end is MF_ERANGE.
 */
#include "lib/task_int.h"
#include "tests/fuzz/fuzz.h"

/* Argument idx is `want`, and every accessor agrees with its type. */
static void check_arg(const struct mf_args *a, uint32_t idx,
                      const mf_value *want)
{
    mf_value v;
    FZ_CHECK(mf_args_value(a, idx, &v) == MF_OK);
    FZ_CHECK(fz_same(&v, want));

    int64_t i;
    int rc = mf_args_i64(a, idx, &i);
    if (v.type == MF_VALUE_INT)
        FZ_CHECK(rc == MF_OK && i == v.via.i);
    else if (v.type == MF_VALUE_UINT && v.via.u <= (uint64_t)INT64_MAX)
        FZ_CHECK(rc == MF_OK && (uint64_t)i == v.via.u);
    else /* a string, or an integer too big for int64: a TypeError */
        FZ_CHECK(rc == MF_ETYPE);

    double d;
    rc = mf_args_f64(a, idx, &d);
    FZ_CHECK(v.type == MF_VALUE_INT || v.type == MF_VALUE_UINT ||
                     v.type == MF_VALUE_FLOAT
                 ? rc == MF_OK
                 : rc == MF_ETYPE);

    const char *s;
    size_t n;
    rc = mf_args_str(a, idx, &s, &n);
    if (v.type == MF_VALUE_STR)
        FZ_CHECK(rc == MF_OK && s == v.via.str.ptr && n == v.via.str.len);
    else
        FZ_CHECK(rc == MF_ETYPE);

    const void *b;
    rc = mf_args_bin(a, idx, &b, &n);
    if (v.type == MF_VALUE_BIN)
        FZ_CHECK(rc == MF_OK && b == v.via.bin.ptr && n == v.via.bin.len);
    else
        FZ_CHECK(rc == MF_ETYPE);
}

/* Every accessor refuses argument idx (past the end). */
static void check_missing(const struct mf_args *a, uint32_t idx)
{
    mf_value v;
    int64_t i;
    double d;
    const char *s;
    const void *b;
    size_t n;
    FZ_CHECK(mf_args_value(a, idx, &v) == MF_ERANGE);
    FZ_CHECK(mf_args_i64(a, idx, &i) == MF_ERANGE);
    FZ_CHECK(mf_args_f64(a, idx, &d) == MF_ERANGE);
    FZ_CHECK(mf_args_str(a, idx, &s, &n) == MF_ERANGE);
    FZ_CHECK(mf_args_bin(a, idx, &b, &n) == MF_ERANGE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first value, and what strict decoding makes of the whole. */
    mf_value v, w;
    size_t end = 0;
    int first = mf__mp_next(data, size, &end, &v);
    FZ_CHECK(first == MF_OK || first == MF_EDECODE);
    if (first == MF_OK) {
        FZ_CHECK(end > 0 && end <= size);
        FZ_CHECK(mf_value_decode(data, end, &w) == MF_OK);
        FZ_CHECK(fz_same(&v, &w));
        FZ_CHECK(mf_value_decode(data, end - 1, &w) == MF_EDECODE);
        if (end > 1)
            FZ_CHECK(mf_value_decode(data, end / 2, &w) == MF_EDECODE);
        if (v.type == MF_VALUE_ARRAY || v.type == MF_VALUE_MAP)
            FZ_CHECK(v.via.seq.ptr == (const void *)data &&
                     v.via.seq.len == end);
        fz_walk(&v, data, size, 1);
    } else {
        FZ_CHECK(mf_errmsg()[0] != '\0');
    }
    int whole = mf_value_decode(data, size, &w);
    FZ_CHECK(whole == (first == MF_OK && end == size ? MF_OK : MF_EDECODE));
    FZ_CHECK(mf__mp_validate(data, size) == whole);

    /* The same bytes as a task's argument list. */
    struct mf_args a;
    int rc = mf__args_init(&a, data, size);
    if (size == 0)
        FZ_CHECK(rc == MF_OK && mf_args_count(&a) == 0);
    else if (whole != MF_OK)
        FZ_CHECK(rc == MF_EDECODE);
    else if (v.type != MF_VALUE_ARRAY)
        FZ_CHECK(rc == MF_ETYPE);
    else
        FZ_CHECK(rc == MF_OK && mf_args_count(&a) == v.via.seq.count);
    if (rc != MF_OK)
        return 0;

    uint32_t count = mf_args_count(&a);
    size_t off = size ? mf__mp_seq_body(&v) : 0;
    for (uint32_t idx = 0; idx < count; idx++) {
        mf_value e;
        FZ_CHECK(mf__mp_next(data, size, &off, &e) == MF_OK);
        /* mf_args_value walks from the start: sample, or be quadratic. */
        if (idx < 64 || idx + 1 == count)
            check_arg(&a, idx, &e);
    }
    FZ_CHECK(off == size);
    check_missing(&a, count);
    if (count < UINT32_MAX)
        check_missing(&a, UINT32_MAX);
    return 0;
}
