/*
 * tests/test_serialization.c -- mf_pack writes MessagePack, mf_value reads
 * it back: round trips for every type and size class, the exact wire bytes
 * at the size-class boundaries, mf_pack_fmt, and strict rejection of every
 * malformed input (truncation, trailing bytes, reserved and extension types,
 * lying lengths, excessive nesting).
 *
 * Inputs that must be rejected are copied into buffers of exactly their
 * length, so an over-read is an ASan report, not a silent pass.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mpifutures.h>

/* Decode len bytes from an exact-size heap copy of buf. */
static int decode_exact(const void *buf, size_t len, mf_value *out)
{
    void *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, buf, len);
    mf_value v = {0};
    int rc = mf_value_decode(copy, len, &v);
    free(copy);
    if (out)
        *out = v;
    return rc;
}

#define assert_rejected(...)                                                   \
    do {                                                                       \
        static const unsigned char bad_[] = {__VA_ARGS__};                     \
        assert_int_equal(decode_exact(bad_, sizeof bad_, NULL), MF_EDECODE);   \
    } while (0)

/* Pack one value with fn and check its exact encoding. */
#define assert_packs(packcall, ...)                                            \
    do {                                                                       \
        static const unsigned char want_[] = {__VA_ARGS__};                    \
        mf_pack p_;                                                            \
        mf_pack_init(&p_);                                                     \
        packcall;                                                              \
        assert_int_equal(mf_pack_error(&p_), MF_OK);                           \
        assert_int_equal(p_.len, sizeof want_);                                \
        assert_memory_equal(p_.data, want_, sizeof want_);                     \
        mf_pack_fini(&p_);                                                     \
    } while (0)

static void decode_pack(const mf_pack *p, mf_value *v)
{
    assert_int_equal(mf_pack_error(p), MF_OK);
    assert_int_equal(mf_value_decode(p->data, p->len, v), MF_OK);
}

/* --- round trips ---------------------------------------------------------- */

static void test_serialization_nil_and_bool(void **state)
{
    (void)state;
    assert_packs(mf_pack_nil(&p_), 0xc0);
    assert_packs(mf_pack_bool(&p_, true), 0xc3);
    assert_packs(mf_pack_bool(&p_, false), 0xc2);

    mf_pack p;
    mf_pack_init(&p);
    mf_value v;
    mf_pack_nil(&p);
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_NIL);
    mf_pack_reset(&p);
    assert_int_equal(p.len, 0);
    mf_pack_bool(&p, true);
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_BOOL);
    assert_true(v.via.b);
    mf_pack_reset(&p);
    mf_pack_bool(&p, false);
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_BOOL);
    assert_false(v.via.b);
    mf_pack_fini(&p);
}

static void test_serialization_int64_round_trip(void **state)
{
    (void)state;
    /* clang-format off */
    static const int64_t cases[] = {
        0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL,
        INT64_MAX, -1, -31, -32, -33, -127, -128, -129, -32767, -32768,
        -32769, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN + 1, INT64_MIN};
    /* clang-format on */
    mf_pack p;
    mf_pack_init(&p);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mf_pack_reset(&p);
        mf_pack_i64(&p, cases[i]);
        mf_value v;
        decode_pack(&p, &v);
        /* Non-negative integers decode as UINT, negative ones as INT. */
        if (cases[i] >= 0) {
            assert_int_equal(v.type, MF_VALUE_UINT);
            assert_true(v.via.u == (uint64_t)cases[i]);
        } else {
            assert_int_equal(v.type, MF_VALUE_INT);
            assert_true(v.via.i == cases[i]);
        }
        int64_t back = 0;
        assert_int_equal(mf_value_i64(&v, &back), MF_OK);
        assert_true(back == cases[i]);
    }
    mf_pack_fini(&p);
}

static void test_serialization_int_wire_bytes(void **state)
{
    (void)state;
    /* The smallest encoding at each boundary (MessagePack spec). */
    assert_packs(mf_pack_i64(&p_, 0), 0x00);
    assert_packs(mf_pack_i64(&p_, 127), 0x7f);
    assert_packs(mf_pack_i64(&p_, 128), 0xcc, 0x80);
    assert_packs(mf_pack_i64(&p_, 256), 0xcd, 0x01, 0x00);
    assert_packs(mf_pack_i64(&p_, 65536), 0xce, 0x00, 0x01, 0x00, 0x00);
    assert_packs(mf_pack_i64(&p_, 4294967296LL), 0xcf, 0, 0, 0, 1, 0, 0, 0, 0);
    assert_packs(mf_pack_i64(&p_, -1), 0xff);
    assert_packs(mf_pack_i64(&p_, -32), 0xe0);
    assert_packs(mf_pack_i64(&p_, -33), 0xd0, 0xdf);
    assert_packs(mf_pack_i64(&p_, -129), 0xd1, 0xff, 0x7f);
    assert_packs(mf_pack_i64(&p_, -32769), 0xd2, 0xff, 0xff, 0x7f, 0xff);
    assert_packs(mf_pack_i64(&p_, INT64_MIN), 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0);
    assert_packs(mf_pack_u64(&p_, UINT64_MAX), 0xcf, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff);
}

static void test_serialization_uint64_max(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_u64(&p, UINT64_MAX);
    mf_value v;
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_UINT);
    assert_true(v.via.u == UINT64_MAX);
    /* Does not fit int64: a range error, not a wrapped value. */
    int64_t i = 7;
    assert_int_equal(mf_value_i64(&v, &i), MF_ERANGE);
    assert_int_equal(i, 7);
    double d;
    assert_int_equal(mf_value_f64(&v, &d), MF_OK);
    assert_true(d == (double)UINT64_MAX);

    mf_pack_reset(&p);
    mf_pack_u64(&p, (uint64_t)INT64_MAX + 1);
    decode_pack(&p, &v);
    assert_int_equal(mf_value_i64(&v, &i), MF_ERANGE);
    mf_pack_reset(&p);
    mf_pack_u64(&p, (uint64_t)INT64_MAX);
    decode_pack(&p, &v);
    assert_int_equal(mf_value_i64(&v, &i), MF_OK);
    assert_true(i == INT64_MAX);
    mf_pack_fini(&p);
}

static void test_serialization_non_minimal_ints_accepted(void **state)
{
    (void)state;
    /* Other encoders may use wider forms; they decode to the same number. */
    static const unsigned char u16_5[] = {0xcd, 0x00, 0x05};
    static const unsigned char i64_5[] = {0xd3, 0, 0, 0, 0, 0, 0, 0, 5};
    static const unsigned char i8_m5[] = {0xd0, 0xfb};
    static const unsigned char i32_m5[] = {0xd2, 0xff, 0xff, 0xff, 0xfb};
    mf_value v;
    int64_t i;
    assert_int_equal(decode_exact(u16_5, sizeof u16_5, &v), MF_OK);
    assert_int_equal(mf_value_i64(&v, &i), MF_OK);
    assert_int_equal(i, 5);
    assert_int_equal(decode_exact(i64_5, sizeof i64_5, &v), MF_OK);
    assert_int_equal(mf_value_i64(&v, &i), MF_OK);
    assert_int_equal(i, 5);
    assert_int_equal(decode_exact(i8_m5, sizeof i8_m5, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_INT);
    assert_int_equal(v.via.i, -5);
    assert_int_equal(decode_exact(i32_m5, sizeof i32_m5, &v), MF_OK);
    assert_int_equal(v.via.i, -5);
}

static void test_serialization_float_round_trip(void **state)
{
    (void)state;
    static const double cases[] = {0.0,      1.5,      -2.25,
                                   1e300,    -1e-300,  3.141592653589793,
                                   INFINITY, -INFINITY};
    mf_pack p;
    mf_pack_init(&p);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mf_pack_reset(&p);
        mf_pack_f64(&p, cases[i]);
        assert_int_equal(p.len, 9); /* float64 keeps every bit */
        mf_value v;
        decode_pack(&p, &v);
        assert_int_equal(v.type, MF_VALUE_FLOAT);
        assert_true(v.via.f == cases[i]);
    }
    mf_pack_reset(&p);
    mf_pack_f64(&p, -0.0);
    mf_value v;
    decode_pack(&p, &v);
    assert_true(v.via.f == 0.0 && signbit(v.via.f));
    mf_pack_reset(&p);
    mf_pack_f64(&p, NAN);
    decode_pack(&p, &v);
    assert_true(isnan(v.via.f));
    mf_pack_fini(&p);

    /* float32 (0xca) from other encoders is widened to double. */
    static const unsigned char f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00};
    assert_int_equal(decode_exact(f32, sizeof f32, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_FLOAT);
    assert_true(v.via.f == 1.5);
    static const unsigned char f32_tenth[] = {0xca, 0x3d, 0xcc, 0xcc, 0xcd};
    assert_int_equal(decode_exact(f32_tenth, sizeof f32_tenth, &v), MF_OK);
    assert_true(v.via.f == (double)0.1f);

    /* mf_value_f64 accepts integers; mf_value_i64 does not accept floats. */
    double d;
    int64_t i;
    static const unsigned char m3[] = {0xfd};
    assert_int_equal(decode_exact(m3, 1, &v), MF_OK);
    assert_int_equal(mf_value_f64(&v, &d), MF_OK);
    assert_true(d == -3.0);
    assert_int_equal(decode_exact(f32, sizeof f32, &v), MF_OK);
    assert_int_equal(mf_value_i64(&v, &i), MF_ETYPE);
}

static void check_str(size_t len, unsigned char want_tag)
{
    char *s = malloc(len + 1);
    assert_non_null(s);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)('A' + i % 23);
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_str(&p, s, len);
    assert_int_equal((unsigned char)p.data[0], want_tag);
    mf_value v;
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_STR);
    assert_int_equal(v.via.str.len, len);
    if (len)
        assert_memory_equal(v.via.str.ptr, s, len);
    /* The view points into the packed bytes, no copy. */
    assert_true(v.via.str.ptr >= p.data && v.via.str.ptr <= p.data + p.len);
    mf_pack_fini(&p);
    free(s);
}

static void test_serialization_str_sizes(void **state)
{
    (void)state;
    check_str(0, 0xa0);
    check_str(1, 0xa1);
    check_str(31, 0xbf);
    check_str(32, 0xd9);
    check_str(255, 0xd9);
    check_str(256, 0xda);
    check_str(65535, 0xda);
    check_str(65536, 0xdb);
    check_str(200000, 0xdb);

    /* cstr: NUL-terminated; NULL packs nil. */
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_cstr(&p, "héllo");
    mf_value v;
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_STR);
    assert_int_equal(v.via.str.len, strlen("héllo"));
    assert_memory_equal(v.via.str.ptr, "héllo", v.via.str.len);
    mf_pack_reset(&p);
    mf_pack_cstr(&p, NULL);
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_NIL);
    mf_pack_fini(&p);
}

static void check_bin(size_t len, unsigned char want_tag)
{
    unsigned char *b = malloc(len + 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(i * 7);
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_bin(&p, b, len);
    assert_int_equal((unsigned char)p.data[0], want_tag);
    mf_value v;
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_BIN);
    assert_int_equal(v.via.bin.len, len);
    if (len)
        assert_memory_equal(v.via.bin.ptr, b, len);
    mf_pack_fini(&p);
    free(b);
}

static void test_serialization_bin_sizes(void **state)
{
    (void)state;
    check_bin(0, 0xc4);
    check_bin(1, 0xc4);
    check_bin(255, 0xc4);
    check_bin(256, 0xc5);
    check_bin(65535, 0xc5);
    check_bin(65536, 0xc6);
}

static void test_serialization_nested_array_and_map(void **state)
{
    (void)state;
    /* [1, [2, [3]], {"a": 1, "b": [true, nil]}, "end"] */
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_array(&p, 4);
    mf_pack_i64(&p, 1);
    mf_pack_array(&p, 2);
    mf_pack_i64(&p, 2);
    mf_pack_array(&p, 1);
    mf_pack_i64(&p, 3);
    mf_pack_map(&p, 2);
    mf_pack_cstr(&p, "a");
    mf_pack_i64(&p, 1);
    mf_pack_cstr(&p, "b");
    mf_pack_array(&p, 2);
    mf_pack_bool(&p, true);
    mf_pack_nil(&p);
    mf_pack_cstr(&p, "end");

    mf_value top, e, inner, m, x;
    decode_pack(&p, &top);
    assert_int_equal(top.type, MF_VALUE_ARRAY);
    assert_int_equal(top.via.seq.count, 4);
    assert_ptr_equal(top.via.seq.ptr, p.data);
    assert_int_equal(top.via.seq.len, p.len);

    assert_int_equal(mf_value_at(&top, 0, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_UINT);
    assert_int_equal(e.via.u, 1);

    assert_int_equal(mf_value_at(&top, 1, &inner), MF_OK);
    assert_int_equal(inner.type, MF_VALUE_ARRAY);
    assert_int_equal(inner.via.seq.count, 2);
    assert_int_equal(mf_value_at(&inner, 0, &e), MF_OK);
    assert_int_equal(e.via.u, 2);
    assert_int_equal(mf_value_at(&inner, 1, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_ARRAY);
    assert_int_equal(mf_value_at(&e, 0, &x), MF_OK);
    assert_int_equal(x.via.u, 3);
    assert_int_equal(mf_value_at(&e, 1, &x), MF_ERANGE);

    /* Maps: even indices are keys, odd ones their values. */
    assert_int_equal(mf_value_at(&top, 2, &m), MF_OK);
    assert_int_equal(m.type, MF_VALUE_MAP);
    assert_int_equal(m.via.seq.count, 2);
    assert_int_equal(mf_value_at(&m, 0, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_STR);
    assert_memory_equal(e.via.str.ptr, "a", 1);
    assert_int_equal(mf_value_at(&m, 1, &e), MF_OK);
    assert_int_equal(e.via.u, 1);
    assert_int_equal(mf_value_at(&m, 2, &e), MF_OK);
    assert_memory_equal(e.via.str.ptr, "b", 1);
    assert_int_equal(mf_value_at(&m, 3, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_ARRAY);
    assert_int_equal(mf_value_at(&e, 0, &x), MF_OK);
    assert_int_equal(x.type, MF_VALUE_BOOL);
    assert_true(x.via.b);
    assert_int_equal(mf_value_at(&e, 1, &x), MF_OK);
    assert_int_equal(x.type, MF_VALUE_NIL);
    assert_int_equal(mf_value_at(&m, 4, &e), MF_ERANGE);

    assert_int_equal(mf_value_at(&top, 3, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_STR);
    assert_int_equal(e.via.str.len, 3);
    assert_memory_equal(e.via.str.ptr, "end", 3);
    assert_int_equal(mf_value_at(&top, 4, &e), MF_ERANGE);
    assert_int_equal(mf_value_at(&top, UINT32_MAX, &e), MF_ERANGE);

    /* Not a container. */
    assert_int_equal(mf_value_at(&top, 0, &e), MF_OK);
    assert_int_equal(mf_value_at(&e, 0, &x), MF_ETYPE);
    assert_int_equal(mf_value_at(NULL, 0, &x), MF_EINVAL);
    mf_pack_fini(&p);
}

static void test_serialization_empty_and_large_containers(void **state)
{
    (void)state;
    assert_packs(mf_pack_array(&p_, 0), 0x90);
    assert_packs(mf_pack_map(&p_, 0), 0x80);
    assert_packs(mf_pack_array(&p_, 15), 0x9f);
    assert_packs(mf_pack_array(&p_, 16), 0xdc, 0x00, 0x10);
    assert_packs(mf_pack_array(&p_, 65536), 0xdd, 0x00, 0x01, 0x00, 0x00);
    assert_packs(mf_pack_map(&p_, 16), 0xde, 0x00, 0x10);

    mf_pack p;
    mf_pack_init(&p);
    mf_value v, e;
    mf_pack_array(&p, 0);
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_ARRAY);
    assert_int_equal(v.via.seq.count, 0);
    assert_int_equal(mf_value_at(&v, 0, &e), MF_ERANGE);

    /* array32 of 70000 elements: the last is reachable, one past is not. */
    enum { N = 70000 };
    mf_pack_reset(&p);
    mf_pack_array(&p, N);
    for (uint32_t i = 0; i < N; i++)
        mf_pack_i64(&p, i);
    decode_pack(&p, &v);
    assert_int_equal(v.via.seq.count, N);
    assert_int_equal(mf_value_at(&v, N - 1, &e), MF_OK);
    assert_int_equal(e.via.u, N - 1);
    assert_int_equal(mf_value_at(&v, N, &e), MF_ERANGE);

    /* map16 of 20 pairs */
    mf_pack_reset(&p);
    mf_pack_map(&p, 20);
    for (int i = 0; i < 20; i++) {
        mf_pack_i64(&p, i);
        mf_pack_i64(&p, -i - 1);
    }
    decode_pack(&p, &v);
    assert_int_equal(v.type, MF_VALUE_MAP);
    assert_int_equal(v.via.seq.count, 20);
    assert_int_equal(mf_value_at(&v, 39, &e), MF_OK);
    assert_int_equal(e.via.i, -20);
    assert_int_equal(mf_value_at(&v, 40, &e), MF_ERANGE);
    mf_pack_fini(&p);
}

static void test_serialization_pack_reset_reuses_buffer(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    assert_int_equal(mf_pack_error(&p), MF_OK);
    assert_int_equal(p.len, 0);
    mf_pack_cstr(&p, "a fairly long string to force an allocation");
    char *buf = p.data;
    size_t cap = p.cap;
    assert_true(cap >= p.len);
    mf_pack_reset(&p);
    assert_int_equal(p.len, 0);
    assert_ptr_equal(p.data, buf);
    assert_int_equal(p.cap, cap);
    mf_pack_i64(&p, 5);
    assert_int_equal(p.len, 1);
    assert_int_equal(p.data[0], 5);
    mf_pack_fini(&p);
    assert_null(p.data);
    assert_int_equal(p.len, 0);
    mf_pack_fini(NULL); /* no-op */
}

static void test_serialization_type_names(void **state)
{
    (void)state;
    assert_string_equal(mf_value_type_name(MF_VALUE_NIL), "nil");
    assert_string_equal(mf_value_type_name(MF_VALUE_INT), "integer");
    assert_string_equal(mf_value_type_name(MF_VALUE_UINT), "integer");
    assert_string_equal(mf_value_type_name(MF_VALUE_FLOAT), "float");
    assert_string_equal(mf_value_type_name(MF_VALUE_STR), "string");
    assert_string_equal(mf_value_type_name(MF_VALUE_BIN), "binary");
    assert_string_equal(mf_value_type_name(MF_VALUE_ARRAY), "array");
    assert_string_equal(mf_value_type_name(MF_VALUE_MAP), "map");
    assert_string_equal(mf_value_type_name((mf_value_type)99), "unknown");
}

/* --- strict rejection ----------------------------------------------------- */

/* A value exercising every encoding family. */
static void pack_everything(mf_pack *p)
{
    static const unsigned char bin[3] = {1, 2, 3};
    mf_pack_array(p, 16);
    mf_pack_nil(p);
    mf_pack_bool(p, true);
    mf_pack_i64(p, -1);
    mf_pack_i64(p, -200);
    mf_pack_i64(p, 200);
    mf_pack_i64(p, 70000);
    mf_pack_i64(p, INT64_MIN);
    mf_pack_u64(p, UINT64_MAX);
    mf_pack_f64(p, 1.5);
    mf_pack_cstr(p, "hello");
    mf_pack_cstr(p, "a string longer than thirty-one bytes, str8");
    mf_pack_bin(p, bin, sizeof bin);
    mf_pack_map(p, 1);
    mf_pack_cstr(p, "k");
    mf_pack_array(p, 2);
    mf_pack_i64(p, 1);
    mf_pack_i64(p, 2);
    mf_pack_array(p, 0);
    mf_pack_map(p, 0);
    mf_pack_array(p, 17); /* array16 */
    for (int i = 0; i < 17; i++)
        mf_pack_i64(p, i);
}

static void test_serialization_rejects_every_truncation(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    pack_everything(&p);
    mf_value v;
    assert_int_equal(decode_exact(p.data, p.len, &v), MF_OK);
    assert_int_equal(v.via.seq.count, 16);
    for (size_t k = 0; k < p.len; k++) {
        int rc = decode_exact(p.data, k, NULL);
        if (rc != MF_EDECODE)
            fail_msg("prefix of %zu (of %zu) bytes: got %d, want MF_EDECODE", k,
                     p.len, rc);
    }
    /* Each scalar alone, cut short. */
    assert_rejected(0xcc);
    assert_rejected(0xcd, 0x01);
    assert_rejected(0xce, 0x01, 0x02, 0x03);
    assert_rejected(0xcf, 0, 0, 0, 0, 0, 0, 0);
    assert_rejected(0xd3, 0, 0, 0, 0, 0, 0, 0);
    assert_rejected(0xcb, 0, 0, 0, 0, 0, 0, 0);
    assert_rejected(0xca, 0, 0, 0);
    assert_rejected(0xd9);
    assert_rejected(0xda, 0x00);
    assert_rejected(0xdb, 0x00, 0x00, 0x00);
    assert_rejected(0xc4);
    assert_rejected(0xc5, 0x00);
    assert_rejected(0xc6, 0x00, 0x00);
    assert_rejected(0xdc, 0x00);
    assert_rejected(0xdd, 0x00, 0x00, 0x00);
    assert_rejected(0xde, 0x00);
    assert_rejected(0xdf, 0x00, 0x00, 0x00);
    mf_pack_fini(&p);
}

static void test_serialization_rejects_empty_input(void **state)
{
    (void)state;
    static const unsigned char one[] = {0xc0};
    assert_int_equal(decode_exact(one, 0, NULL), MF_EDECODE);
    mf_value v;
    assert_int_equal(mf_value_decode(NULL, 0, &v), MF_EDECODE);
}

static void test_serialization_rejects_trailing_bytes(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    pack_everything(&p);
    mf_pack_nil(&p);
    assert_int_equal(decode_exact(p.data, p.len, NULL), MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "trailing"));
    mf_pack_fini(&p);
    assert_rejected(0x01, 0x02);
    assert_rejected(0x90, 0x00);
    assert_rejected(0xa1, 'x', 'y');
}

static void test_serialization_rejects_reserved_c1(void **state)
{
    (void)state;
    assert_rejected(0xc1);
    assert_rejected(0x91, 0xc1);
    assert_rejected(0x92, 0x01, 0xc1);
    assert_rejected(0x81, 0xc1, 0x01);
    assert_rejected(0x81, 0x01, 0xc1);
}

static void test_serialization_rejects_ext_types(void **state)
{
    (void)state;
    assert_rejected(0xd4, 0x01, 0x00);                   /* fixext 1 */
    assert_rejected(0xd5, 0x01, 0x00, 0x00);             /* fixext 2 */
    assert_rejected(0xd6, 0x01, 0, 0, 0, 0);             /* fixext 4 */
    assert_rejected(0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0); /* fixext 8 */
    assert_rejected(0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0);                                        /* fixext 16 */
    assert_rejected(0xc7, 0x01, 0x01, 0x00);                   /* ext 8 */
    assert_rejected(0xc8, 0x00, 0x01, 0x01, 0x00);             /* ext 16 */
    assert_rejected(0xc9, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00); /* ext 32 */
    assert_rejected(0x91, 0xd4, 0x01, 0x00); /* inside an array */
    /* Timestamp (ext -1) is an extension too. */
    assert_rejected(0xd6, 0xff, 0x00, 0x00, 0x00, 0x00);
}

static void test_serialization_rejects_lying_lengths(void **state)
{
    (void)state;
    /* Containers declaring more elements than bytes present. */
    assert_rejected(0xdd, 0xff, 0xff, 0xff, 0xff);
    assert_rejected(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02);
    assert_rejected(0xdf, 0xff, 0xff, 0xff, 0xff);
    assert_rejected(0xdc, 0xff, 0xff, 0x00);
    assert_rejected(0xde, 0x00, 0x02, 0x01, 0x02, 0x03);
    assert_rejected(0x95, 0x01, 0x02);
    assert_rejected(0x82, 0x01, 0x02, 0x03);
    assert_rejected(0x92, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01);
    /* Strings and binaries declaring more bytes than present. */
    assert_rejected(0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c');
    assert_rejected(0xda, 0x00, 0x05, 'a', 'b');
    assert_rejected(0xd9, 0x03, 'a', 'b');
    assert_rejected(0xa5, 'a', 'b');
    assert_rejected(0xc6, 0xff, 0xff, 0xff, 0xff, 0x00);
    assert_rejected(0xc5, 0x01, 0x00, 0x00);
    assert_rejected(0xc4, 0x05, 'a', 'b');
    assert_rejected(0x91, 0xc4, 0x02, 0x00);
}

/* n nested one-element arrays around `inner` (an encoded value). */
static int decode_nested(size_t n, unsigned char inner)
{
    unsigned char *b = malloc(n + 1);
    assert_non_null(b);
    memset(b, 0x91, n);
    b[n] = inner;
    mf_value v;
    int rc = mf_value_decode(b, n + 1, &v);
    free(b);
    return rc;
}

static void test_serialization_nesting_limit(void **state)
{
    (void)state;
    /* 64 levels of containers are fine; a 65th is "deeper than 64",
     * whether the innermost container holds a value or is empty. */
    assert_int_equal(decode_nested(64, 0xc0), MF_OK);
    assert_int_equal(decode_nested(63, 0x90), MF_OK); /* 64 containers */
    assert_int_equal(decode_nested(65, 0xc0), MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "64"));
    assert_int_equal(decode_nested(64, 0x90), MF_EDECODE); /* 65 containers */
    assert_int_equal(decode_nested(100000, 0xc0), MF_EDECODE);
    /* Maps count as levels too: {nil: [[...[nil]...]]} */
    unsigned char b[2 + 64 + 1];
    b[0] = 0x81;
    b[1] = 0xc0;
    memset(b + 2, 0x91, 64);
    b[2 + 64] = 0xc0;
    mf_value v;
    assert_int_equal(mf_value_decode(b, sizeof b, &v), MF_EDECODE);
    b[2 + 63] = 0xc0; /* map + 63 arrays = 64 levels */
    assert_int_equal(mf_value_decode(b, sizeof b - 1, &v), MF_OK);
}

/* --- mf_pack_fmt ---------------------------------------------------------- */

static void test_serialization_pack_fmt_scalars(void **state)
{
    (void)state;
    static const unsigned char bin[4] = {0xde, 0xad, 0xbe, 0xef};
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_array(&p, 10);
    assert_int_equal(
        mf_pack_fmt(&p, "nbbiludssy", 1, 0, -7, (long long)INT64_MIN,
                    (unsigned long long)UINT64_MAX, 2.5, "hi",
                    (const char *)NULL, (const void *)bin, sizeof bin),
        MF_OK);
    mf_value top, e;
    decode_pack(&p, &top);
    assert_int_equal(top.via.seq.count, 10);
    assert_int_equal(mf_value_at(&top, 0, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_NIL);
    assert_int_equal(mf_value_at(&top, 1, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_BOOL);
    assert_true(e.via.b);
    assert_int_equal(mf_value_at(&top, 2, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_BOOL);
    assert_false(e.via.b);
    assert_int_equal(mf_value_at(&top, 3, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_INT);
    assert_int_equal(e.via.i, -7);
    assert_int_equal(mf_value_at(&top, 4, &e), MF_OK);
    assert_true(e.via.i == INT64_MIN);
    assert_int_equal(mf_value_at(&top, 5, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_UINT);
    assert_true(e.via.u == UINT64_MAX);
    assert_int_equal(mf_value_at(&top, 6, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_FLOAT);
    assert_true(e.via.f == 2.5);
    assert_int_equal(mf_value_at(&top, 7, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_STR);
    assert_int_equal(e.via.str.len, 2);
    assert_memory_equal(e.via.str.ptr, "hi", 2);
    assert_int_equal(mf_value_at(&top, 8, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_NIL); /* 's' with NULL */
    assert_int_equal(mf_value_at(&top, 9, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_BIN);
    assert_int_equal(e.via.bin.len, 4);
    assert_memory_equal(e.via.bin.ptr, bin, 4);
    mf_pack_fini(&p);
}

static void test_serialization_pack_fmt_nested(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    /* "l[l[ss]][]" -> 1, [2, ["a", "b"]], [] */
    assert_int_equal(mf_pack_fmt(&p, "l[l[ss]][]", 1LL, 2LL, "a", "b"), MF_OK);
    static const unsigned char want[] = {0x01, 0x92, 0x02, 0x92, 0xa1,
                                         'a',  0xa1, 'b',  0x90};
    assert_int_equal(p.len, sizeof want);
    assert_memory_equal(p.data, want, sizeof want);

    mf_pack_reset(&p);
    assert_int_equal(mf_pack_fmt(&p, "[[[i]]i]", 7, 8), MF_OK);
    mf_value v, e;
    decode_pack(&p, &v);
    assert_int_equal(v.via.seq.count, 2);
    assert_int_equal(mf_value_at(&v, 1, &e), MF_OK);
    assert_int_equal(e.via.u, 8);
    assert_int_equal(mf_value_at(&v, 0, &e), MF_OK);
    assert_int_equal(e.via.seq.count, 1);

    /* The empty format packs nothing. */
    mf_pack_reset(&p);
    assert_int_equal(mf_pack_fmt(&p, ""), MF_OK);
    assert_int_equal(p.len, 0);
    mf_pack_fini(&p);
}

static void test_serialization_pack_fmt_bad_format(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    assert_int_equal(mf_pack_fmt(&p, "q"), MF_EINVAL);
    assert_non_null(strstr(mf_errmsg(), "'q'"));
    mf_pack_reset(&p);
    assert_int_equal(mf_pack_fmt(&p, "l%", 1LL), MF_EINVAL);
    assert_non_null(strstr(mf_errmsg(), "'%'"));
    /* Unbalanced brackets are refused before anything is packed. */
    static const char *const unbalanced[] = {"[",  "[l",   "l]",
                                             "][", "[[l]", "[l]]"};
    for (size_t i = 0; i < sizeof unbalanced / sizeof unbalanced[0]; i++) {
        mf_pack_reset(&p);
        assert_int_equal(mf_pack_fmt(&p, unbalanced[i], 1LL), MF_EINVAL);
        assert_non_null(strstr(mf_errmsg(), "unbalanced"));
        assert_int_equal(p.len, 0);
    }
    mf_pack_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serialization_nil_and_bool),
        cmocka_unit_test(test_serialization_int64_round_trip),
        cmocka_unit_test(test_serialization_int_wire_bytes),
        cmocka_unit_test(test_serialization_uint64_max),
        cmocka_unit_test(test_serialization_non_minimal_ints_accepted),
        cmocka_unit_test(test_serialization_float_round_trip),
        cmocka_unit_test(test_serialization_str_sizes),
        cmocka_unit_test(test_serialization_bin_sizes),
        cmocka_unit_test(test_serialization_nested_array_and_map),
        cmocka_unit_test(test_serialization_empty_and_large_containers),
        cmocka_unit_test(test_serialization_pack_reset_reuses_buffer),
        cmocka_unit_test(test_serialization_type_names),
        cmocka_unit_test(test_serialization_rejects_every_truncation),
        cmocka_unit_test(test_serialization_rejects_empty_input),
        cmocka_unit_test(test_serialization_rejects_trailing_bytes),
        cmocka_unit_test(test_serialization_rejects_reserved_c1),
        cmocka_unit_test(test_serialization_rejects_ext_types),
        cmocka_unit_test(test_serialization_rejects_lying_lengths),
        cmocka_unit_test(test_serialization_nesting_limit),
        cmocka_unit_test(test_serialization_pack_fmt_scalars),
        cmocka_unit_test(test_serialization_pack_fmt_nested),
        cmocka_unit_test(test_serialization_pack_fmt_bad_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
