/*
 * tests/test_task.c -- the task registry, and named tasks run through a
 * thread pool: every result type, errors a task raises, argument errors
 * (TypeError/IndexError naming the argument), unknown names, malformed
 * argument bytes and malformed packed results.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mpifutures.h>

#define HANG_GUARD 30.0

static mf_executor *pool; /* two workers named "tt-N", for every test */

/* --- tasks ---------------------------------------------------------------- */

static int task_add(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t a, b;
    int rc = mf_args_i64(args, 0, &a);
    if (rc == MF_OK)
        rc = mf_args_i64(args, 1, &b);
    if (rc != MF_OK)
        return rc;
    return mf_reply_i64(reply, a + b);
}

static const unsigned char BIN[5] = {0, 1, 0xfe, 0xff, 7};

/* Writes a result of the type selected by argument 0. */
static int task_types(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t which;
    int rc = mf_args_i64(args, 0, &which);
    if (rc != MF_OK)
        return rc;
    switch (which) {
    case 0:
        return MF_OK; /* writes nothing: nil */
    case 1:
        return mf_reply_bool(reply, 1);
    case 2:
        return mf_reply_i64(reply, INT64_MIN);
    case 3:
        return mf_reply_f64(reply, -2.5);
    case 4:
        return mf_reply_str(reply, "text", 4);
    case 5:
        return mf_reply_bin(reply, BIN, sizeof BIN);
    case 6: {
        mf_pack *p = mf_reply_pack(reply);
        mf_pack_array(p, 2);
        mf_pack_i64(p, 1);
        mf_pack_cstr(p, "x");
        return MF_OK;
    }
    case 7: { /* longer than mf_reply_strf's stack buffer */
        char pad[3000];
        memset(pad, 'p', sizeof pad - 1);
        pad[sizeof pad - 1] = '\0';
        return mf_reply_strf(reply, "<%s|%d>", pad, 42);
    }
    case 8:
        return mf_reply_nil(reply);
    case 9: /* the last writer wins */
        mf_reply_i64(reply, 1);
        mf_reply_pack(reply);
        return mf_reply_strf(reply, "last %d", 9);
    case 10: /* a result larger than the future's inline slot */
        return mf_reply_strf(reply, "%0100d", 7);
    default:
        return mf_reply_error(reply, "ValueError", "no type %lld",
                              (long long)which);
    }
}

/* Fails with kind args[0] and message "code <args[1]>". */
static int task_fail(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    const char *kind;
    size_t klen;
    int64_t code;
    if (mf_args_str(args, 0, &kind, &klen) != MF_OK ||
        mf_args_i64(args, 1, &code) != MF_OK)
        return MF_EINVAL;
    char k[32];
    snprintf(k, sizeof k, "%.*s", (int)klen, kind);
    mf_reply_i64(reply, 1); /* overwritten by the error */
    return mf_reply_error(reply, k, "code %lld", (long long)code);
}

static int task_pack_two(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)args;
    (void)udata;
    mf_pack *p = mf_reply_pack(reply);
    mf_pack_i64(p, 1);
    mf_pack_i64(p, 2);
    return MF_OK;
}

static int task_pack_none(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)args;
    (void)udata;
    mf_reply_pack(reply);
    return MF_OK;
}

static int task_pack_truncated(const mf_args *args, mf_reply *reply,
                               void *udata)
{
    (void)args;
    (void)udata;
    mf_pack_array(mf_reply_pack(reply), 3);
    return MF_OK;
}

/* Returns a code with no explanation of its own. */
static int task_plain_code(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)args;
    (void)udata;
    mf_reply_i64(reply, 5);
    return MF_EINVAL;
}

static int task_udata(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)args;
    return mf_reply_i64(reply, *(const int64_t *)udata);
}

/* [count, type name of each argument...] */
static int task_describe(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    uint32_t n = mf_args_count(args);
    mf_pack *p = mf_reply_pack(reply);
    mf_pack_array(p, n + 1);
    mf_pack_i64(p, n);
    for (uint32_t i = 0; i < n; i++) {
        mf_value v;
        int rc = mf_args_value(args, i, &v);
        if (rc != MF_OK)
            return rc;
        mf_pack_cstr(p, mf_value_type_name(v.type));
    }
    return MF_OK;
}

/* Echo a string, a binary and a float back as [str, bin, float]. */
static int task_echo(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    const char *s;
    size_t slen, blen;
    const void *b;
    double d;
    int rc = mf_args_str(args, 0, &s, &slen);
    if (rc == MF_OK)
        rc = mf_args_bin(args, 1, &b, &blen);
    if (rc == MF_OK)
        rc = mf_args_f64(args, 2, &d);
    if (rc != MF_OK)
        return rc;
    mf_pack *p = mf_reply_pack(reply);
    mf_pack_array(p, 3);
    mf_pack_str(p, s, slen);
    mf_pack_bin(p, b, blen);
    mf_pack_f64(p, d);
    return MF_OK;
}

static int64_t UDATA = 1234567;

static int register_tasks(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        mf_task_fn fn;
    } all[] = {
        {"t.add", task_add},         {"t.types", task_types},
        {"t.fail", task_fail},       {"t.pack2", task_pack_two},
        {"t.pack0", task_pack_none}, {"t.packtrunc", task_pack_truncated},
        {"t.code", task_plain_code}, {"t.describe", task_describe},
        {"t.echo", task_echo},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (mf_task_register(all[i].name, all[i].fn, NULL) != MF_OK)
            return -1;
    if (mf_task_register("t.udata", task_udata, &UDATA) != MF_OK)
        return -1;
    mf_thread_pool_opts o = {.max_workers = 2, .name_prefix = "tt"};
    return mf_thread_pool_new(&o, &pool) == MF_OK ? 0 : -1;
}

static int free_pool(void **state)
{
    (void)state;
    mf_executor_free(pool);
    pool = NULL;
    return 0;
}

/* Wait for f and return its error (NULL when it succeeded). */
static const mf_error *error_of(mf_future *f)
{
    const mf_error *e = NULL;
    assert_int_equal(mf_future_exception(f, HANG_GUARD, &e), MF_OK);
    return e;
}

static void assert_contains(const char *s, const char *part)
{
    if (strstr(s, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* --- registry ------------------------------------------------------------- */

static void test_task_register_duplicate_is_eexist(void **state)
{
    (void)state;
    size_t n = mf_task_count();
    uint64_t h = mf_task_names_hash();
    assert_int_equal(mf_task_register("reg.dup", task_add, NULL), MF_OK);
    assert_int_equal(mf_task_count(), n + 1);
    assert_int_equal(mf_task_register("reg.dup", task_types, NULL), MF_EEXIST);
    assert_contains(mf_errmsg(), "reg.dup");
    assert_int_equal(mf_task_register("t.add", task_add, NULL), MF_EEXIST);
    assert_int_equal(mf_task_count(), n + 1);
    assert_true(mf_task_names_hash() != h);

    /* The first registration stands: reg.dup still adds. */
    mf_future *f;
    assert_int_equal(mf_executor_submitf(pool, "reg.dup", &f, "ll", 2LL, 3LL),
                     MF_OK);
    int64_t v;
    assert_int_equal(mf_future_result_i64(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(v, 5);
    mf_future_release(f);
}

static void test_task_register_bad_names_are_einval(void **state)
{
    (void)state;
    size_t n = mf_task_count();
    uint64_t h = mf_task_names_hash();
    char longest[MF_TASK_NAME_MAX + 2];
    memset(longest, 'n', sizeof longest);
    longest[MF_TASK_NAME_MAX + 1] = '\0'; /* one byte too long */

    assert_int_equal(mf_task_register(NULL, task_add, NULL), MF_EINVAL);
    assert_int_equal(mf_task_register("", task_add, NULL), MF_EINVAL);
    assert_int_equal(mf_task_register(longest, task_add, NULL), MF_EINVAL);
    assert_int_equal(mf_task_register("tab\there", task_add, NULL), MF_EINVAL);
    assert_int_equal(mf_task_register("new\nline", task_add, NULL), MF_EINVAL);
    assert_int_equal(mf_task_register("caf\xc3\xa9", task_add, NULL),
                     MF_EINVAL);
    assert_int_equal(mf_task_register("no.fn", NULL, NULL), MF_EINVAL);
    assert_int_equal(mf_task_count(), n);
    assert_true(mf_task_names_hash() == h);

    /* Exactly MF_TASK_NAME_MAX bytes, and spaces (printable), are fine. */
    longest[MF_TASK_NAME_MAX] = '\0';
    assert_int_equal(mf_task_register(longest, task_add, NULL), MF_OK);
    assert_int_equal(mf_task_register("with space ~!", task_add, NULL), MF_OK);
    assert_int_equal(mf_task_count(), n + 2);
}

static void test_task_names_hash_is_stable(void **state)
{
    (void)state;
    uint64_t h = mf_task_names_hash();
    assert_true(mf_task_names_hash() == h);
    assert_true(mf_task_names_hash() == h);
    size_t n = mf_task_count();
    assert_int_equal(mf_task_register("hash.a", task_add, NULL), MF_OK);
    uint64_t ha = mf_task_names_hash();
    assert_true(ha != h);
    assert_true(mf_task_names_hash() == ha);
    assert_int_equal(mf_task_register("hash.b", task_add, NULL), MF_OK);
    assert_true(mf_task_names_hash() != ha);
    assert_int_equal(mf_task_count(), n + 2);
}

/* Runs last: fills the registry to MF_TASK_MAX. */
static void test_task_register_full_registry_is_erange(void **state)
{
    (void)state;
    char name[32];
    int rc = MF_OK;
    for (int i = 0; rc == MF_OK && i <= MF_TASK_MAX; i++) {
        snprintf(name, sizeof name, "fill.%d", i);
        rc = mf_task_register(name, task_add, NULL);
    }
    assert_int_equal(rc, MF_ERANGE);
    assert_int_equal(mf_task_count(), MF_TASK_MAX);
    assert_int_equal(mf_task_register("one.more", task_add, NULL), MF_ERANGE);
    assert_int_equal(mf_task_count(), MF_TASK_MAX);
    /* Lookups still work in a full table, for old and new names. */
    mf_future *f;
    assert_int_equal(mf_executor_submitf(pool, "t.add", &f, "ll", 4LL, 5LL),
                     MF_OK);
    int64_t v;
    assert_int_equal(mf_future_result_i64(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(v, 9);
    mf_future_release(f);
    assert_int_equal(mf_executor_submitf(pool, name, &f, "ll", 1LL, 1LL),
                     MF_OK);
    const mf_error *e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ENOTASK); /* the refused one */
    mf_future_release(f);
    assert_int_equal(mf_executor_submitf(pool, "fill.17", &f, "ll", 1LL, 2LL),
                     MF_OK);
    assert_int_equal(mf_future_result_i64(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(v, 3);
    mf_future_release(f);
}

/* --- results -------------------------------------------------------------- */

static void test_task_result_types(void **state)
{
    (void)state;
    mf_future *f[11];
    for (int i = 0; i < 11; i++)
        assert_int_equal(mf_executor_submitf(pool, "t.types", &f[i], "i", i),
                         MF_OK);
    mf_value v, e;
    assert_int_equal(mf_future_result(f[0], HANG_GUARD, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_NIL);
    assert_int_equal(mf_future_result(f[1], HANG_GUARD, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_BOOL);
    assert_true(v.via.b);
    int64_t i;
    assert_int_equal(mf_future_result_i64(f[2], HANG_GUARD, &i), MF_OK);
    assert_true(i == INT64_MIN);
    double d;
    assert_int_equal(mf_future_result_f64(f[3], HANG_GUARD, &d), MF_OK);
    assert_true(d == -2.5);
    const char *s;
    size_t len;
    assert_int_equal(mf_future_result_str(f[4], HANG_GUARD, &s, &len), MF_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(s, "text", 4);
    assert_int_equal(mf_future_result(f[5], HANG_GUARD, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_BIN);
    assert_int_equal(v.via.bin.len, sizeof BIN);
    assert_memory_equal(v.via.bin.ptr, BIN, sizeof BIN);
    assert_int_equal(mf_future_result(f[6], HANG_GUARD, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_ARRAY);
    assert_int_equal(v.via.seq.count, 2);
    assert_int_equal(mf_value_at(&v, 0, &e), MF_OK);
    assert_int_equal(e.via.u, 1);
    assert_int_equal(mf_value_at(&v, 1, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_STR);
    assert_memory_equal(e.via.str.ptr, "x", 1);
    assert_int_equal(mf_future_result_str(f[7], HANG_GUARD, &s, &len), MF_OK);
    assert_int_equal(len, 2999 + 5);
    assert_int_equal(s[0], '<');
    assert_int_equal(s[1], 'p');
    assert_int_equal(s[2999], 'p');
    assert_memory_equal(s + 3000, "|42>", 4);
    assert_int_equal(mf_future_result(f[8], HANG_GUARD, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_NIL);
    assert_int_equal(mf_future_result_str(f[9], HANG_GUARD, &s, &len), MF_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "last 9", 6);
    assert_int_equal(mf_future_result_str(f[10], HANG_GUARD, &s, &len), MF_OK);
    assert_int_equal(len, 100);
    assert_int_equal(s[0], '0');
    assert_int_equal(s[99], '7');
    for (int k = 0; k < 11; k++) {
        assert_int_equal(mf_future_state_get(f[k]), MF_FINISHED);
        mf_future_release(f[k]);
    }
}

static void test_task_arguments_reach_the_task(void **state)
{
    (void)state;
    static const unsigned char bin[3] = {9, 8, 7};
    mf_future *f;
    /* An integer where a float is read is accepted (as Python would). */
    assert_int_equal(mf_executor_submitf(pool, "t.echo", &f, "syl", "héllo",
                                         (const void *)bin, sizeof bin, -3LL),
                     MF_OK);
    mf_value v, e;
    assert_int_equal(mf_future_result(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(mf_value_at(&v, 0, &e), MF_OK);
    assert_int_equal(e.via.str.len, strlen("héllo"));
    assert_memory_equal(e.via.str.ptr, "héllo", e.via.str.len);
    assert_int_equal(mf_value_at(&v, 1, &e), MF_OK);
    assert_int_equal(e.via.bin.len, 3);
    assert_memory_equal(e.via.bin.ptr, bin, 3);
    assert_int_equal(mf_value_at(&v, 2, &e), MF_OK);
    assert_int_equal(e.type, MF_VALUE_FLOAT);
    assert_true(e.via.f == -3.0);
    mf_future_release(f);

    /* Count and types, including nested arrays as one argument. */
    assert_int_equal(mf_executor_submitf(pool, "t.describe", &f, "n[ll]db", 1LL,
                                         2LL, 0.5, 1),
                     MF_OK);
    assert_int_equal(mf_future_result(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(v.via.seq.count, 5);
    assert_int_equal(mf_value_at(&v, 0, &e), MF_OK);
    assert_int_equal(e.via.u, 4);
    static const char *const want[] = {"nil", "array", "float", "bool"};
    for (uint32_t k = 0; k < 4; k++) {
        assert_int_equal(mf_value_at(&v, k + 1, &e), MF_OK);
        assert_int_equal(e.via.str.len, strlen(want[k]));
        assert_memory_equal(e.via.str.ptr, want[k], e.via.str.len);
    }
    mf_future_release(f);

    /* No argument bytes at all: zero arguments. */
    assert_int_equal(mf_executor_submit(pool, "t.describe", NULL, 0, &f),
                     MF_OK);
    assert_int_equal(mf_future_result(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(v.via.seq.count, 1);
    assert_int_equal(mf_value_at(&v, 0, &e), MF_OK);
    assert_int_equal(e.via.u, 0);
    mf_future_release(f);

    /* Arguments past the inline slot (copied to the heap). */
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_array(&p, 3);
    mf_pack_cstr(&p, "a string well past sixteen bytes");
    mf_pack_bin(&p, bin, 3);
    mf_pack_f64(&p, 0.25);
    assert_int_equal(mf_executor_submit(pool, "t.echo", p.data, p.len, &f),
                     MF_OK);
    mf_pack_fini(&p); /* submit copied the bytes */
    assert_int_equal(mf_future_result(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(mf_value_at(&v, 0, &e), MF_OK);
    assert_memory_equal(e.via.str.ptr, "a string well past sixteen bytes",
                        e.via.str.len);
    assert_int_equal(mf_value_at(&v, 2, &e), MF_OK);
    assert_true(e.via.f == 0.25);
    mf_future_release(f);
}

static void test_task_udata_is_passed(void **state)
{
    (void)state;
    mf_future *f;
    assert_int_equal(mf_executor_submit(pool, "t.udata", NULL, 0, &f), MF_OK);
    int64_t v;
    assert_int_equal(mf_future_result_i64(f, HANG_GUARD, &v), MF_OK);
    assert_int_equal(v, 1234567);
    mf_future_release(f);
}

/* --- failures ------------------------------------------------------------- */

static void test_task_reply_error_fields(void **state)
{
    (void)state;
    mf_future *f;
    assert_int_equal(
        mf_executor_submitf(pool, "t.fail", &f, "sl", "ValueError", 17LL),
        MF_OK);
    const mf_error *e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_future_state_get(f), MF_FAILED);
    assert_int_equal(mf_error_code(e), MF_ETASK);
    assert_string_equal(mf_error_kind(e), "ValueError");
    assert_string_equal(mf_error_message(e), "code 17");
    assert_string_equal(mf_error_task(e), "t.fail");
    /* "thread tt-N on <host>" */
    assert_memory_equal(mf_error_origin(e), "thread tt-", 10);
    assert_contains(mf_error_origin(e), " on ");
    assert_int_equal(mf_future_result(f, 0, NULL), MF_ETASK);
    assert_contains(mf_errmsg(), "t.fail");
    assert_contains(mf_errmsg(), "ValueError");
    assert_contains(mf_errmsg(), "code 17");
    mf_future_release(f);

    /* An empty kind becomes "Error". */
    assert_int_equal(mf_executor_submitf(pool, "t.fail", &f, "sl", "", 3LL),
                     MF_OK);
    e = error_of(f);
    assert_non_null(e);
    assert_string_equal(mf_error_kind(e), "Error");
    assert_string_equal(mf_error_message(e), "code 3");
    mf_future_release(f);
}

static void test_task_wrong_argument_type_is_type_error(void **state)
{
    (void)state;
    mf_future *f;
    assert_int_equal(mf_executor_submitf(pool, "t.add", &f, "ls", 1LL, "two"),
                     MF_OK);
    const mf_error *e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ETYPE);
    assert_string_equal(mf_error_kind(e), "TypeError");
    assert_string_equal(mf_error_task(e), "t.add");
    assert_contains(mf_error_message(e), "argument 1");
    assert_contains(mf_error_message(e), "integer");
    assert_contains(mf_error_message(e), "string");
    mf_future_release(f);

    assert_int_equal(mf_executor_submitf(pool, "t.add", &f, "dl", 1.0, 1LL),
                     MF_OK);
    e = error_of(f);
    assert_non_null(e);
    assert_string_equal(mf_error_kind(e), "TypeError");
    assert_contains(mf_error_message(e), "argument 0");
    assert_contains(mf_error_message(e), "float");
    mf_future_release(f);

    /* An integer too big for int64 says so, rather than "got integer". */
    assert_int_equal(mf_executor_submitf(pool, "t.add", &f, "ul",
                                         18446744073709551615ULL, 1LL),
                     MF_OK);
    e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ETYPE);
    assert_string_equal(mf_error_kind(e), "TypeError");
    assert_contains(mf_error_message(e), "argument 0");
    assert_contains(mf_error_message(e), "18446744073709551615");
    assert_contains(mf_error_message(e), "does not fit int64");
    mf_future_release(f);
}

static void test_task_missing_argument_is_index_error(void **state)
{
    (void)state;
    mf_future *f;
    assert_int_equal(mf_executor_submitf(pool, "t.add", &f, "l", 1LL), MF_OK);
    const mf_error *e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ERANGE);
    assert_string_equal(mf_error_kind(e), "IndexError");
    assert_string_equal(mf_error_task(e), "t.add");
    assert_contains(mf_error_message(e), "argument 1");
    assert_contains(mf_error_message(e), "1 given");
    mf_future_release(f);
}

static void test_task_unknown_name_fails_future(void **state)
{
    (void)state;
    mf_future *f = NULL;
    /* Not a submit error: the future carries it. */
    assert_int_equal(mf_executor_submitf(pool, "no.such.task", &f, "l", 1LL),
                     MF_OK);
    assert_non_null(f);
    const mf_error *e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_future_state_get(f), MF_FAILED);
    assert_int_equal(mf_error_code(e), MF_ENOTASK);
    assert_string_equal(mf_error_task(e), "no.such.task");
    assert_contains(mf_error_message(e), "no.such.task");
    assert_int_equal(mf_future_result(f, 0, NULL), MF_ETASK);
    mf_future_release(f);

    assert_int_equal(mf_executor_submit(pool, NULL, NULL, 0, &f), MF_OK);
    e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ENOTASK);
    mf_future_release(f);
}

static void test_task_malformed_argument_bytes_fail_future(void **state)
{
    (void)state;
    static const unsigned char truncated[] = {0x92, 0x01};
    static const unsigned char trailing[] = {0x91, 0x01, 0x02};
    static const unsigned char lying[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char ext[] = {0x91, 0xd4, 0x01, 0x00};
    const unsigned char *bad[] = {truncated, trailing, lying, ext};
    size_t len[] = {sizeof truncated, sizeof trailing, sizeof lying,
                    sizeof ext};
    for (size_t i = 0; i < 4; i++) {
        mf_future *f = NULL;
        assert_int_equal(mf_executor_submit(pool, "t.add", bad[i], len[i], &f),
                         MF_OK);
        const mf_error *e = error_of(f);
        assert_non_null(e);
        assert_int_equal(mf_error_code(e), MF_EDECODE);
        assert_string_equal(mf_error_kind(e), "DecodeError");
        assert_string_equal(mf_error_task(e), "t.add");
        mf_future_release(f);
    }

    /* Well-formed, but not an argument list (an array). */
    static const unsigned char scalar[] = {0x05};
    mf_future *f;
    assert_int_equal(mf_executor_submit(pool, "t.add", scalar, 1, &f), MF_OK);
    const mf_error *e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ETYPE);
    assert_string_equal(mf_error_kind(e), "TypeError");
    mf_future_release(f);

    /* NULL bytes with a length. */
    assert_int_equal(mf_executor_submit(pool, "t.add", NULL, 3, &f), MF_OK);
    e = error_of(f);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_EINVAL);
    mf_future_release(f);
}

static void test_task_packing_two_values_is_decode_error(void **state)
{
    (void)state;
    static const char *const tasks[] = {"t.pack2", "t.pack0", "t.packtrunc"};
    for (size_t i = 0; i < 3; i++) {
        mf_future *f;
        assert_int_equal(mf_executor_submit(pool, tasks[i], NULL, 0, &f),
                         MF_OK);
        const mf_error *e = error_of(f);
        if (e == NULL)
            fail_msg("%s: succeeded, want DecodeError", tasks[i]);
        assert_int_equal(mf_error_code(e), MF_EDECODE);
        assert_string_equal(mf_error_kind(e), "DecodeError");
        assert_string_equal(mf_error_task(e), tasks[i]);
        mf_future_release(f);
    }
}

static void test_task_returned_code_without_message(void **state)
{
    (void)state;
    /* One worker, so the second task runs on the thread where the first
     * left an explanation: it must not leak into the second's message. */
    mf_executor *one;
    mf_thread_pool_opts o = {.max_workers = 1};
    assert_int_equal(mf_thread_pool_new(&o, &one), MF_OK);
    mf_future *f1, *f2;
    assert_int_equal(mf_executor_submitf(one, "t.add", &f1, "s", "x"), MF_OK);
    assert_int_equal(mf_executor_submit(one, "t.code", NULL, 0, &f2), MF_OK);
    const mf_error *e1 = error_of(f1), *e2 = error_of(f2);
    assert_non_null(e1);
    assert_string_equal(mf_error_kind(e1), "TypeError");
    assert_non_null(e2);
    assert_int_equal(mf_error_code(e2), MF_EINVAL);
    assert_string_equal(mf_error_kind(e2), "TaskError");
    assert_string_equal(mf_error_message(e2), mf_strerror(MF_EINVAL));
    assert_string_equal(mf_error_task(e2), "t.code");
    mf_future_release(f1);
    mf_future_release(f2);
    mf_executor_free(one);
}

static void test_task_submitf_bad_format(void **state)
{
    (void)state;
    mf_future *f = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(pool, "t.add", &f, "l[", 1LL),
                     MF_EINVAL);
    assert_null(f);
    f = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(pool, "t.add", &f, "lz", 1LL),
                     MF_EINVAL);
    assert_null(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_register_duplicate_is_eexist),
        cmocka_unit_test(test_task_register_bad_names_are_einval),
        cmocka_unit_test(test_task_names_hash_is_stable),
        cmocka_unit_test(test_task_result_types),
        cmocka_unit_test(test_task_arguments_reach_the_task),
        cmocka_unit_test(test_task_udata_is_passed),
        cmocka_unit_test(test_task_reply_error_fields),
        cmocka_unit_test(test_task_wrong_argument_type_is_type_error),
        cmocka_unit_test(test_task_missing_argument_is_index_error),
        cmocka_unit_test(test_task_unknown_name_fails_future),
        cmocka_unit_test(test_task_malformed_argument_bytes_fail_future),
        cmocka_unit_test(test_task_packing_two_values_is_decode_error),
        cmocka_unit_test(test_task_returned_code_without_message),
        cmocka_unit_test(test_task_submitf_bad_format),
        /* Last: it fills the process-wide registry. */
        cmocka_unit_test(test_task_register_full_registry_is_erange),
    };
    return cmocka_run_group_tests(tests, register_tasks, free_pool);
}
