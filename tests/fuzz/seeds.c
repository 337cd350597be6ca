/*
 * tests/fuzz/seeds.c -- valid inputs for each fuzz target, written with
 * mf_pack_* and the envelope writers (see seeds.h). libFuzzer starts from
 * these (tests/fuzz/run.sh writes them with fuzz_seeds), and the gcc-built
 * replay tests run every target on them, so the normal suite checks the
 * targets' invariants on well-formed messages too.
 */
#include <stdint.h>
#include <string.h>

#include <mpifutures.h>

#include "serialization/envelope.h"
#include "tests/fuzz/seeds.h"

struct out {
    fz_emit_fn emit;
    void *ctx;
    int n;
};

static void emit(struct out *o, const void *data, size_t len)
{
    o->emit(data, len, o->ctx);
    o->n++;
}

static void emit_pack(struct out *o, const mf_pack *p)
{
    if (mf_pack_error(p) == MF_OK)
        emit(o, p->data, p->len);
}

/* Hand-written encodings mf_pack never produces (non-minimal widths,
 * float32, str8 for a short string, 16/32-bit headers for small
 * containers): the reader must take them all. Each is one value. */
/* clang-format off */
static const struct {
    const char *bytes;
    size_t len;
} raw_values[] = {
    {"\xcc\x80", 2},
    {"\xcd\x01\x00", 3},
    {"\xce\x00\x01\x00\x00", 5},
    {"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9},
    {"\xd0\x80", 2},
    {"\xd1\x80\x00", 3},
    {"\xd2\x80\x00\x00\x00", 5},
    {"\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9},
    {"\xd0\x05", 2},
    {"\xe0", 1},
    {"\xca\x3f\xc0\x00\x00", 5},
    {"\xca\x7f\xc0\x00\x00", 5},
    {"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x01", 9},
    {"\xd9\x03" "abc", 5},
    {"\xda\x00\x02" "hi", 5},
    {"\xdb\x00\x00\x00\x01" "x", 6},
    {"\xc4\x02\x00\x01", 4},
    {"\xc5\x00\x01\xff", 4},
    {"\xc6\x00\x00\x00\x00", 5},
    {"\xdc\x00\x02\x01\x02", 5},
    {"\xdd\x00\x00\x00\x01\xc0", 6},
    {"\xde\x00\x01\xa1k\xc3", 6},
    {"\xdf\x00\x00\x00\x01\x01\xc2", 7},
    {"\x81\xa3key\x92\x01\xa1v", 9},
    {"\x80", 1},
    {"\xc0", 1},
};
/* clang-format on */
#define NRAW (sizeof raw_values / sizeof raw_values[0])

/* Argument lists: every format character, nesting, maps, and each raw
 * encoding as a one-element list. args[i] is packed into p. */
static int args_seed(mf_pack *p, int i)
{
    static const char blob[] = "\x00\x01\x02\xff";
    mf_pack_reset(p);
    switch (i) {
    case 0:
        return mf_pack_fmt(p, "[]");
    case 1:
        return mf_pack_fmt(p, "[l]", 42LL);
    case 2:
        return mf_pack_fmt(p, "[lls]", -1LL, (long long)INT64_MIN, "x");
    case 3:
        return mf_pack_fmt(p, "[nbiludsy]", 1, -7, 1LL << 40,
                           (unsigned long long)UINT64_MAX, 2.5, "hello",
                           (const void *)blob, (size_t)4);
    case 4:
        return mf_pack_fmt(p, "[[l[s]]d]", 3LL, "in", -0.0);
    case 5:
        mf_pack_array(p, 2);
        mf_pack_map(p, 2);
        mf_pack_cstr(p, "a");
        mf_pack_i64(p, 1);
        mf_pack_u64(p, 2);
        mf_pack_nil(p);
        mf_pack_bin(p, "\x92\x01\x02", 3); /* valid msgpack inside */
        return mf_pack_error(p);
    case 6: /* array16 of 20 small ints */
        mf_pack_array(p, 20);
        for (int k = 0; k < 20; k++)
            mf_pack_i64(p, k - 10);
        return mf_pack_error(p);
    case 7: { /* a string long enough for str16 */
        char s[300];
        memset(s, 'z', sizeof s);
        mf_pack_array(p, 1);
        mf_pack_str(p, s, sizeof s);
        return mf_pack_error(p);
    }
    case 8: /* nested right at the limit: 64 levels */
        for (int k = 0; k < 64; k++)
            mf_pack_array(p, k < 63 ? 1 : 0);
        return mf_pack_error(p);
    default:
        if ((size_t)(i - 9) >= NRAW)
            return -1;
        mf_pack_array(p, 1);
        mf__pack_raw(p, raw_values[i - 9].bytes, raw_values[i - 9].len);
        return mf_pack_error(p);
    }
}

static void seeds_args(struct out *o)
{
    mf_pack p;
    mf_pack_init(&p);
    emit(o, "", 0); /* no bytes at all: no arguments */
    for (int i = 0; args_seed(&p, i) >= 0; i++)
        emit_pack(o, &p);
    for (size_t i = 0; i < NRAW; i++) /* bare values: not argument lists */
        emit(o, raw_values[i].bytes, raw_values[i].len);
    mf_pack_fini(&p);
}

/* TASKS for fuzz_task_envelope's tasks: 0 read_all, 1 raw, 2 echo,
 * 3 fail; ids past 3 are unknown. */
static void seeds_tasks(struct out *o)
{
    mf_pack m, a;
    mf_pack_init(&m);
    mf_pack_init(&a);
    /* One entry per argument seed, to each task in turn. */
    for (int i = 0; args_seed(&a, i) >= 0; i++) {
        mf_pack_reset(&m);
        mf__msg_tasks_begin(&m, 1);
        mf__msg_task(&m, (uint64_t)i, (uint32_t)(i % 4), a.data, a.len);
        emit_pack(o, &m);
    }
    /* Several entries in one message; the open header patched later. */
    mf_pack_reset(&m);
    size_t at = mf__msg_tasks_begin_open(&m);
    mf_pack_reset(&a);
    mf_pack_fmt(&a, "[y]", (const void *)"\x93\x01\xa1x\xc3", (size_t)5);
    mf__msg_task(&m, 1, 1, a.data, a.len); /* raw: a valid result */
    mf_pack_reset(&a);
    mf_pack_fmt(&a, "[y]", (const void *)"\x93\x01", (size_t)2);
    mf__msg_task(&m, 2, 1, a.data, a.len); /* raw: a truncated result */
    mf_pack_reset(&a);
    mf_pack_fmt(&a, "[ss]", "ValueError", "bad input");
    mf__msg_task(&m, 3, 3, a.data, a.len);     /* fail */
    mf__msg_task(&m, 4, 2, NULL, 0);           /* echo, no arguments */
    mf__msg_task(&m, UINT64_MAX, 99, NULL, 0); /* unknown task */
    mf__msg_patch_u32(&m, at, 5);
    emit_pack(o, &m);
    /* A small max_message: results above it become MF_ETOOBIG entries. */
    mf_pack_reset(&m);
    at = mf__msg_tasks_begin_max(&m, 80);
    mf_pack_reset(&a);
    mf_pack_fmt(&a, "[s]", "a result that is longer than max_message allows");
    mf__msg_task(&m, 1, 0, a.data, a.len);
    mf_pack_reset(&a);
    mf_pack_fmt(&a, "[s]", "short");
    mf__msg_task(&m, 2, 0, a.data, a.len);
    mf__msg_patch_u32(&m, at, 2);
    emit_pack(o, &m);
    /* A malformed entry among good ones: its args are not an array. */
    mf_pack_reset(&m);
    mf__msg_tasks_begin(&m, 3);
    mf__msg_task(&m, 7, 0, "\x91\x05", 2);
    mf_pack_array(&m, 3);
    mf_pack_u64(&m, 8);
    mf_pack_u64(&m, 0);
    mf_pack_i64(&m, 5);
    mf__msg_task(&m, 9, 0, "\x90", 1);
    emit_pack(o, &m);
    mf_pack_reset(&m);
    mf__msg_stop(&m);
    emit_pack(o, &m);
    mf_pack_fini(&a);
    mf_pack_fini(&m);
}

static void seeds_results(struct out *o)
{
    mf_pack m, v;
    mf_pack_init(&m);
    mf_pack_init(&v);
    mf__msg_hello(&m, 1, "node07", 4, 0x1234567890abcdefULL, 4242);
    emit_pack(o, &m);
    mf_pack_reset(&m);
    mf__msg_broken(&m, 2, "malformed pool message: TASKS list");
    emit_pack(o, &m);
    mf_pack_reset(&m);
    mf__msg_stop(&m);
    emit_pack(o, &m);
    /* Every argument seed as a result value, with an error beside it. */
    for (int i = 0; args_seed(&v, i) >= 0; i++) {
        mf_pack_reset(&m);
        mf__msg_results_begin(&m, 1, 2);
        size_t at =
            mf__msg_result_ok(&m, (uint64_t)i, v.data, v.len, 10, 20, 0);
        mf__msg_patch_u64(&m, at, 30);
        at = mf__msg_result_err(&m, (uint64_t)i + 1, MF_ETASK, "ValueError",
                                "Task 3 failed randomly", 1, 2, 0);
        mf__msg_patch_u64(&m, at, 3);
        emit_pack(o, &m);
    }
    /* Scalars, nil (an empty result) and a worker's decode error. */
    mf_pack_reset(&m);
    mf__msg_results_begin(&m, 3, 4);
    mf__msg_result_ok(&m, 1, "\x2a", 1, 0, 0, 0);
    mf__msg_result_ok(&m, 2, NULL, 0, 0, 0, 0);
    mf__msg_result_ok(&m, 3, "\xa2ok", 3, 0, 0, 0);
    mf__msg_result_err(&m, UINT64_MAX, MF_EDECODE, "DecodeError",
                       "truncated MessagePack", 5, 0, 0);
    emit_pack(o, &m);
    mf_pack_fini(&v);
    mf_pack_fini(&m);
}

/* Recipes for fuzz_roundtrip (its first byte's low bit asks for
 * mf_pack_fmt, then one value op, then messages): one per value op, then a
 * few longer pseudo-random ones. */
static void seeds_roundtrip(struct out *o)
{
    uint8_t r[600];
    for (int op = 0; op < 16; op++) {
        size_t n = 0;
        r[n++] = (uint8_t)(op & 1);
        if (op & 1) /* mf_pack_fmt's values */
            for (int k = 0; k < 40; k++)
                r[n++] = (uint8_t)(k * 37 + 1);
        r[n++] = (uint8_t)op;
        for (int k = 0; k < 24; k++) /* the op's parameters and elements */
            r[n++] = (uint8_t)(k * 11 + op);
        for (int msg = 0; msg < 5; msg++) { /* one message of each kind */
            r[n++] = (uint8_t)msg;
            for (int k = 0; k < 12; k++)
                r[n++] = (uint8_t)(k + msg * 3 + 1);
        }
        emit(o, r, n);
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t len = 32; len <= sizeof r; len *= 2) {
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r[k] = (uint8_t)x;
        }
        emit(o, r, len);
    }
}

int fz_seeds(const char *target, fz_emit_fn fn, void *ctx)
{
    struct out o = {fn, ctx, 0};
    if (strcmp(target, "args") == 0)
        seeds_args(&o);
    else if (strcmp(target, "task_envelope") == 0)
        seeds_tasks(&o);
    else if (strcmp(target, "result_envelope") == 0)
        seeds_results(&o);
    else if (strcmp(target, "roundtrip") == 0)
        seeds_roundtrip(&o);
    else
        return -1;
    return o.n;
}
