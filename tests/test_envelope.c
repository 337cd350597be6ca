/*
 * tests/test_envelope.c -- the MPI pool's wire messages: every kind round
 * trips, and hostile bytes (truncation at every length, wrong kinds, wrong
 * field counts, bad types, a malformed entry among good ones) give
 * MF_EDECODE, with the entry's id when it was readable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <mpifutures.h>

#include "serialization/envelope.h"

static void test_envelope_hello_round_trip(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    mf__msg_hello(&p, 3, "node07", 12, 0xdeadbeefcafef00dULL, 4242);
    assert_int_equal(mf_pack_error(&p), MF_OK);
    int kind = -1;
    assert_int_equal(mf__msg_kind(p.data, p.len, &kind), MF_OK);
    assert_int_equal(kind, MF__MSG_HELLO);
    struct mf__hello h;
    assert_int_equal(mf__msg_read_hello(p.data, p.len, &h), MF_OK);
    assert_int_equal(h.rank, 3);
    assert_int_equal(h.host.via.str.len, 6);
    assert_memory_equal(h.host.via.str.ptr, "node07", 6);
    assert_int_equal(h.ntasks, 12);
    assert_true(h.names_hash == 0xdeadbeefcafef00dULL);
    assert_int_equal(h.pid, 4242);
    mf_pack_fini(&p);
}

static void test_envelope_tasks_round_trip(void **state)
{
    (void)state;
    mf_pack a, p;
    mf_pack_init(&a);
    mf_pack_init(&p);
    assert_int_equal(mf_pack_fmt(&a, "[ls]", 7LL, "x"), MF_OK);
    mf__msg_tasks_begin(&p, 3);
    mf__msg_task(&p, 1, 0, a.data, a.len);
    mf__msg_task(&p, 2, 5, NULL, 0); /* no arguments: an empty array */
    mf__msg_task(&p, UINT64_MAX, UINT32_MAX, a.data, a.len);
    struct mf__msg_iter it;
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_OK);
    struct mf__task_msg t;
    int id_ok;
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_OK);
    assert_true(t.id == 1 && t.task_id == 0);
    assert_int_equal(t.args_len, a.len);
    assert_memory_equal(t.args, a.data, a.len);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_OK);
    assert_true(t.id == 2 && t.task_id == 5);
    assert_int_equal(t.args_len, 1);
    assert_int_equal(*(const unsigned char *)t.args, 0x90);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_OK);
    assert_true(t.id == UINT64_MAX && t.task_id == UINT32_MAX);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_EOF);
    mf_pack_fini(&a);
    mf_pack_fini(&p);
}

static void test_envelope_results_round_trip(void **state)
{
    (void)state;
    mf_pack v, p;
    mf_pack_init(&v);
    mf_pack_init(&p);
    mf_pack_str(&v, "Task 3 succeeded", 16);
    mf__msg_results_begin(&p, 2, 2);
    mf__msg_result_ok(&p, 10, v.data, v.len, 1, 2, 3);
    mf__msg_result_err(&p, 11, MF_ETASK, "ValueError", "Task 4 failed", 4, 5,
                       6);
    int64_t rank;
    struct mf__msg_iter it;
    assert_int_equal(mf__msg_read_results(p.data, p.len, &rank, &it), MF_OK);
    assert_int_equal(rank, 2);
    struct mf__result_msg r;
    int id_ok;
    assert_int_equal(mf__msg_next_result(&it, &r, &id_ok), MF_OK);
    assert_true(r.id == 10 && !r.failed);
    assert_int_equal(r.value_len, v.len);
    assert_memory_equal(r.value, v.data, v.len);
    assert_true(r.t_unpack_ns == 1 && r.t_run_ns == 2 && r.t_pack_ns == 3);
    assert_int_equal(mf__msg_next_result(&it, &r, &id_ok), MF_OK);
    assert_true(r.id == 11 && r.failed);
    assert_int_equal(r.code, MF_ETASK);
    assert_memory_equal(r.kind.via.str.ptr, "ValueError", 10);
    assert_memory_equal(r.message.via.str.ptr, "Task 4 failed", 13);
    assert_true(r.t_unpack_ns == 4 && r.t_run_ns == 5 && r.t_pack_ns == 6);
    assert_int_equal(mf__msg_next_result(&it, &r, &id_ok), MF_EOF);
    mf_pack_fini(&v);
    mf_pack_fini(&p);
}

static void test_envelope_stop_and_broken(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    mf__msg_stop(&p);
    int kind = -1;
    assert_int_equal(mf__msg_kind(p.data, p.len, &kind), MF_OK);
    assert_int_equal(kind, MF__MSG_STOP);
    mf_pack_reset(&p);
    mf__msg_broken(&p, 4, "cannot read TASKS");
    int64_t rank;
    mf_value msg;
    assert_int_equal(mf__msg_read_broken(p.data, p.len, &rank, &msg), MF_OK);
    assert_int_equal(rank, 4);
    assert_memory_equal(msg.via.str.ptr, "cannot read TASKS", 17);
    /* Reading one kind as another is an error, not a misread. */
    struct mf__hello h;
    assert_int_equal(mf__msg_read_hello(p.data, p.len, &h), MF_EDECODE);
    mf_pack_fini(&p);
}

/* Every strict prefix of a valid message is rejected by every reader. */
static void test_envelope_truncation_at_every_length(void **state)
{
    (void)state;
    mf_pack a, p;
    mf_pack_init(&a);
    mf_pack_init(&p);
    mf_pack_fmt(&a, "[lsy]", 1LL, "abc", "\x01\x02", (size_t)2);
    mf__msg_tasks_begin(&p, 2);
    mf__msg_task(&p, 1, 0, a.data, a.len);
    mf__msg_task(&p, 2, 1, a.data, a.len);
    for (size_t n = 0; n < p.len; n++) {
        int kind;
        struct mf__msg_iter it;
        assert_int_equal(mf__msg_kind(p.data, n, &kind), MF_EDECODE);
        assert_int_equal(mf__msg_read_tasks(p.data, n, &it), MF_EDECODE);
    }
    mf_pack_fini(&a);
    mf_pack_fini(&p);
}

static void test_envelope_rejects_wrong_shapes(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    int kind;
    struct mf__msg_iter it;
    int64_t rank;

    mf_pack_fmt(&p, "[l]", 9LL); /* unknown kind */
    assert_int_equal(mf__msg_kind(p.data, p.len, &kind), MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "unknown pool message kind 9"));

    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[]"); /* empty */
    assert_int_equal(mf__msg_kind(p.data, p.len, &kind), MF_EDECODE);

    mf_pack_reset(&p);
    mf_pack_fmt(&p, "l", 1LL); /* not an array */
    assert_int_equal(mf__msg_kind(p.data, p.len, &kind), MF_EDECODE);

    mf_pack_reset(&p);
    /* TASKS whose list is an integer */
    mf_pack_fmt(&p, "[lll]", 1LL, 4096LL, 5LL);
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_EDECODE);

    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[ll[]l]", 1LL, 4096LL, 5LL); /* an extra field */
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_EDECODE);

    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[l[]]", 1LL); /* no max_message (the old shape) */
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_EDECODE);

    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[ls[]]", 2LL, "x"); /* RESULTS rank is a string */
    assert_int_equal(mf__msg_read_results(p.data, p.len, &rank, &it),
                     MF_EDECODE);
    mf_pack_fini(&p);
}

/* A bad entry among good ones: the good ones read, the bad one is
 * reported with its id when the id could be read. */
static void test_envelope_bad_entry_keeps_its_id(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    /* [1, 4096, [[1, 0, []], [2, 0, "not args"], [3], "junk"]] */
    mf_pack_fmt(&p, "[ll[[ll[]][lls][l]s]]", 1LL, 4096LL, 1LL, 0LL, 2LL, 0LL,
                "not args", 3LL, "junk");
    struct mf__msg_iter it;
    struct mf__task_msg t;
    int id_ok;
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_OK);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_OK);
    assert_true(t.id == 1);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_ETYPE);
    assert_true(id_ok && t.id == 2);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_EDECODE);
    assert_true(id_ok && t.id == 3); /* too few fields, id still known */
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_EDECODE);
    assert_false(id_ok); /* not even an array */
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_EOF);

    /* A RESULTS entry with status 2 and one whose error is not a triple. */
    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[ll[[llnlll][ll[l]lll]]]", 2LL, 1LL, 5LL, 2LL, 0LL,
                0LL, 0LL, 6LL, 1LL, 7LL, 0LL, 0LL, 0LL);
    int64_t rank;
    struct mf__result_msg r;
    assert_int_equal(mf__msg_read_results(p.data, p.len, &rank, &it), MF_OK);
    assert_int_equal(mf__msg_next_result(&it, &r, &id_ok), MF_EDECODE);
    assert_true(id_ok && r.id == 5);
    assert_int_equal(mf__msg_next_result(&it, &r, &id_ok), MF_EDECODE);
    assert_true(id_ok && r.id == 6);
    mf_pack_fini(&p);
}

/* levels nested one-element arrays around an integer, into p. */
static void pack_nested(mf_pack *p, int levels)
{
    for (int i = 0; i < levels; i++)
        mf_pack_array(p, 1);
    mf_pack_i64(p, 7);
}

/* A value may nest 64 levels wherever it goes: as an argument list in
 * TASKS and as a result in RESULTS, three levels below the message's top.
 * Found by tests/fuzz/fuzz_roundtrip (the readers once capped the whole
 * message at 64, so a 62-level argument list that mf_executor_submit had
 * accepted made the worker refuse the whole TASKS message, failing every
 * task in it; a 62-level result did the same to a RESULTS message). */
static void test_envelope_carries_values_nested_to_the_limit(void **state)
{
    (void)state;
    mf_pack a, p;
    mf_pack_init(&a);
    mf_pack_init(&p);
    pack_nested(&a, 64);
    mf_value v;
    assert_int_equal(mf_value_decode(a.data, a.len, &v), MF_OK);

    mf__msg_tasks_begin(&p, 2);
    mf__msg_task(&p, 1, 0, a.data, a.len);
    mf__msg_task(&p, 2, 0, NULL, 0);
    struct mf__msg_iter it;
    struct mf__task_msg t;
    int id_ok;
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_OK);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_OK);
    assert_int_equal(t.args_len, a.len);
    assert_int_equal(mf_value_decode(t.args, t.args_len, &v), MF_OK);
    assert_int_equal(mf__msg_next_task(&it, &t, &id_ok), MF_OK);
    assert_true(t.id == 2);

    mf_pack_reset(&p);
    mf__msg_results_begin(&p, 1, 1);
    mf__msg_result_ok(&p, 1, a.data, a.len, 0, 0, 0);
    int64_t rank;
    struct mf__result_msg r;
    assert_int_equal(mf__msg_read_results(p.data, p.len, &rank, &it), MF_OK);
    assert_int_equal(mf__msg_next_result(&it, &r, &id_ok), MF_OK);
    assert_int_equal(r.value_len, a.len);
    assert_int_equal(mf_value_decode(r.value, r.value_len, &v), MF_OK);

    /* One level more is no value at all (mf_executor_submit refuses it),
     * and a message carrying it is refused whole, as before. */
    mf_pack_reset(&a);
    pack_nested(&a, 65);
    assert_int_equal(mf_value_decode(a.data, a.len, &v), MF_EDECODE);
    mf_pack_reset(&p);
    mf__msg_tasks_begin(&p, 1);
    mf__msg_task(&p, 1, 0, a.data, a.len);
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "nesting"));
    mf_pack_fini(&a);
    mf_pack_fini(&p);
}

/* TASKS carries the pool's max_message; a value outside 1..1 GiB makes the
 * message malformed, so a worker never runs under a cap it misread. */
static void test_envelope_tasks_carry_max_message(void **state)
{
    (void)state;
    mf_pack p;
    mf_pack_init(&p);
    struct mf__msg_iter it;
    uint64_t max = 0;
    size_t at = mf__msg_tasks_begin_max(&p, 4096);
    mf__msg_task(&p, 1, 0, NULL, 0);
    mf__msg_patch_u32(&p, at, 1);
    assert_int_equal(mf__msg_read_tasks_max(p.data, p.len, &it, &max), MF_OK);
    assert_int_equal(max, 4096);
    assert_int_equal(it.left, 1);

    mf_pack_reset(&p);
    mf__msg_tasks_begin(&p, 0); /* the default: MF__MSG_MAX */
    assert_int_equal(mf__msg_read_tasks_max(p.data, p.len, &it, &max), MF_OK);
    assert_int_equal(max, MF__MSG_MAX);

    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[ll[]]", 1LL, 0LL);
    assert_int_equal(mf__msg_read_tasks_max(p.data, p.len, &it, &max),
                     MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "max_message 0 is not in 1.."));
    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[ll[]]", 1LL, (long long)MF__MSG_MAX + 1);
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "max_message 1073741825"));
    mf_pack_fini(&p);
}

/* Hostile lengths: a header may declare 4 GiB or 4 billion elements in a
 * message of a few bytes. Every reader refuses the whole message at once,
 * saying what was declared, without allocating or reading past the end. */
static void test_envelope_huge_declared_lengths(void **state)
{
    (void)state;
    static const char arr32[] = "\xdd\xff\xff\xff\xff"; /* 4G elements */
    static const char bin32[] = "\xc6\xff\xff\xff\xff"; /* 4 GiB bin */
    static const char str32[] = "\xdb\xff\xff\xff\xff"; /* 4 GiB str */
    mf_pack p;
    mf_pack_init(&p);
    int kind;
    struct mf__msg_iter it;
    int64_t rank;

    /* A task's argument list that claims 4 billion elements. */
    mf__msg_tasks_begin(&p, 1);
    mf__msg_task(&p, 1, 0, arr32, 5);
    assert_int_equal(mf__msg_kind(p.data, p.len, &kind), MF_EDECODE);
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "declares more elements"));

    /* A result value that claims to be a 4 GiB bin, then a 4 GiB str. */
    mf_pack_reset(&p);
    mf__msg_results_begin(&p, 1, 1);
    mf__msg_result_ok(&p, 7, bin32, 5, 0, 0, 0);
    assert_int_equal(mf__msg_read_results(p.data, p.len, &rank, &it),
                     MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "bin declares 4294967295 bytes"));
    mf_pack_reset(&p);
    mf__msg_results_begin(&p, 1, 1);
    mf__msg_result_ok(&p, 7, str32, 5, 0, 0, 0);
    assert_int_equal(mf__msg_read_results(p.data, p.len, &rank, &it),
                     MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "str declares 4294967295 bytes"));

    /* A RESULTS list that claims 4 billion entries. */
    mf_pack_reset(&p);
    mf_pack_array(&p, 3);
    mf_pack_u64(&p, MF__MSG_RESULTS);
    mf_pack_i64(&p, 1);
    mf__pack_raw(&p, arr32, 5);
    assert_int_equal(mf__msg_read_results(p.data, p.len, &rank, &it),
                     MF_EDECODE);
    assert_non_null(strstr(mf_errmsg(), "declares more elements"));
    mf_pack_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_hello_round_trip),
        cmocka_unit_test(test_envelope_tasks_round_trip),
        cmocka_unit_test(test_envelope_results_round_trip),
        cmocka_unit_test(test_envelope_stop_and_broken),
        cmocka_unit_test(test_envelope_truncation_at_every_length),
        cmocka_unit_test(test_envelope_rejects_wrong_shapes),
        cmocka_unit_test(test_envelope_bad_entry_keeps_its_id),
        cmocka_unit_test(test_envelope_carries_values_nested_to_the_limit),
        cmocka_unit_test(test_envelope_tasks_carry_max_message),
        cmocka_unit_test(test_envelope_huge_declared_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
