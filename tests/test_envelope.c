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
    mf_pack_fmt(&p, "[ll]", 1LL, 5LL); /* TASKS whose list is an integer */
    assert_int_equal(mf__msg_read_tasks(p.data, p.len, &it), MF_EDECODE);

    mf_pack_reset(&p);
    mf_pack_fmt(&p, "[l[]l]", 1LL, 5LL); /* TASKS with an extra field */
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
    /* [1, [[1, 0, []], [2, 0, "not args"], [3], "junk"]] */
    mf_pack_fmt(&p, "[l[[ll[]][lls][l]s]]", 1LL, 1LL, 0LL, 2LL, 0LL,
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
