/*
 * tests/test_mpi_worker_input.c -- a real worker facing hostile messages.
 * Run under mpiexec -n 2: rank 1 is a real worker (mf_mpi_pool_new), rank
 * 0 is not a pool but this file's fake root, speaking the wire protocol
 * directly: unknown task ids, wrong types, truncated messages, huge
 * declared lengths, a result above the cap the message carries, messages
 * of the wrong kind. Each gets an error result for its own id (or a BROKEN
 * reply when the message cannot be read at all) saying what is wrong;
 * good tasks beside them still run; the worker never crashes or hangs and
 * goes home cleanly on STOP (its exit status is checked by mpiexec).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include <mpifutures.h>

#include "ranks/mpi_int.h"
#include "serialization/envelope.h"

#define GUARD 60.0 /* seconds: only stops a hang */

static MPI_Comm comm;
static char *reply; /* the last reply, from take_reply */
static int reply_len;

enum { T_SQUARE = 0, T_MAKE = 1 }; /* task ids: registration order */

static int task_square(const mf_args *args, mf_reply *r, void *udata)
{
    (void)udata;
    int64_t v;
    int rc = mf_args_i64(args, 0, &v);
    return rc != MF_OK ? rc : mf_reply_i64(r, v * v);
}

/* [n] -> a bin of n bytes. */
static int task_make(const mf_args *args, mf_reply *r, void *udata)
{
    (void)udata;
    int64_t n;
    int rc = mf_args_i64(args, 0, &n);
    if (rc != MF_OK)
        return rc;
    char *b = calloc(1, (size_t)n + 1);
    if (b == NULL)
        return mf_reply_error(r, "MemoryError", "no memory");
    rc = mf_reply_bin(r, b, (size_t)n);
    free(b);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

/* --- the fake root (rank 0) ---------------------------------------------- */

static void send_msg(const void *data, size_t len, int tag)
{
    MPI_Send(data, (int)len, MPI_BYTE, 1, tag, comm);
}

/* Wait (at most GUARD) for the worker's next reply into `reply`. */
static void take_reply(void)
{
    double end = now() + GUARD;
    int flag = 0;
    MPI_Status st;
    while (!flag) {
        MPI_Iprobe(1, MF__TAG_RESULTS, comm, &flag, &st);
        if (!flag && now() > end) {
            fprintf(stderr, "the worker did not answer within %.0f s\n",
                    GUARD);
            MPI_Abort(MPI_COMM_WORLD, 1); /* never hang */
        }
        if (!flag)
            nap();
    }
    MPI_Get_count(&st, MPI_BYTE, &reply_len);
    free(reply);
    reply = malloc((size_t)reply_len + 1);
    MPI_Recv(reply, reply_len, MPI_BYTE, 1, MF__TAG_RESULTS, comm,
             MPI_STATUS_IGNORE);
}

/* Send msg as TASKS and read the reply's n results into r. */
static void exchange(const mf_pack *msg, struct mf__result_msg *r, int n)
{
    send_msg(msg->data, msg->len, MF__TAG_TASKS);
    take_reply();
    int64_t rank;
    struct mf__msg_iter it;
    int rc = mf__msg_read_results(reply, (size_t)reply_len, &rank, &it);
    if (rc != MF_OK)
        fail_msg("the reply is no RESULTS: %s", mf_errmsg());
    assert_int_equal(rank, 1);
    assert_int_equal(it.left, n);
    for (int i = 0; i < n; i++) {
        int id_ok;
        assert_int_equal(mf__msg_next_result(&it, &r[i], &id_ok), MF_OK);
    }
}

/* Send raw bytes as TASKS; the reply must be BROKEN, naming `needle`. */
static void expect_broken(const void *data, size_t len, const char *needle)
{
    send_msg(data, len, MF__TAG_TASKS);
    take_reply();
    int64_t rank;
    mf_value m;
    int rc = mf__msg_read_broken(reply, (size_t)reply_len, &rank, &m);
    if (rc != MF_OK)
        fail_msg("the reply is no BROKEN: %s", mf_errmsg());
    assert_int_equal(rank, 1);
    char text[512];
    snprintf(text, sizeof text, "%.*s", (int)m.via.str.len, m.via.str.ptr);
    if (strstr(text, needle) == NULL)
        fail_msg("BROKEN says \"%s\", not \"%s\"", text, needle);
}

static void expect_error(const struct mf__result_msg *r, uint64_t id,
                         int code, const char *kind, const char *needle)
{
    assert_true(r->id == id);
    assert_true(r->failed);
    assert_int_equal(r->code, code);
    assert_int_equal(r->kind.via.str.len, strlen(kind));
    assert_memory_equal(r->kind.via.str.ptr, kind, strlen(kind));
    char text[512];
    snprintf(text, sizeof text, "%.*s", (int)r->message.via.str.len,
             r->message.via.str.ptr);
    if (strstr(text, needle) == NULL)
        fail_msg("entry %llu says \"%s\", not \"%s\"",
                 (unsigned long long)id, text, needle);
}

static void expect_i64(const struct mf__result_msg *r, uint64_t id,
                       int64_t want)
{
    assert_true(r->id == id);
    assert_false(r->failed);
    mf_value v;
    int64_t got;
    assert_int_equal(mf_value_decode(r->value, r->value_len, &v), MF_OK);
    assert_int_equal(mf_value_i64(&v, &got), MF_OK);
    assert_int_equal(got, want);
}

/* One good task: the worker is still there and answering. */
static void expect_alive(void)
{
    mf_pack m, a;
    mf_pack_init(&m);
    mf_pack_init(&a);
    mf_pack_fmt(&a, "[l]", 9LL);
    mf__msg_tasks_begin(&m, 1);
    mf__msg_task(&m, 99, T_SQUARE, a.data, a.len);
    struct mf__result_msg r[1];
    exchange(&m, r, 1);
    expect_i64(&r[0], 99, 81);
    mf_pack_fini(&a);
    mf_pack_fini(&m);
}

static void test_mpi_worker_input_unknown_task_id(void **state)
{
    (void)state;
    mf_pack m, a;
    mf_pack_init(&m);
    mf_pack_init(&a);
    mf_pack_fmt(&a, "[l]", 7LL);
    mf__msg_tasks_begin(&m, 3);
    mf__msg_task(&m, 5, 999, NULL, 0);
    mf__msg_task(&m, 6, T_SQUARE, a.data, a.len);
    mf__msg_task(&m, 7, UINT32_MAX, a.data, a.len);
    struct mf__result_msg r[3];
    exchange(&m, r, 3);
    expect_error(&r[0], 5, MF_ENOTASK, "UnknownTask",
                 "rank 1 has no task with id 999 (2 registered)");
    expect_i64(&r[1], 6, 49);
    expect_error(&r[2], 7, MF_ENOTASK, "UnknownTask", "no task with id");
    mf_pack_fini(&a);
    mf_pack_fini(&m);
}

static void test_mpi_worker_input_wrong_types(void **state)
{
    (void)state;
    mf_pack m;
    mf_pack_init(&m);
    /* [1, max, [[1, 0, 5], [2, 0, ["x"]], [3, "zero", []], [4, 0, [4]]]] */
    mf_pack_fmt(&m, "[ll[[lll][ll[s]][ls[]][ll[l]]]]", 1LL, 4096LL, 1LL,
                (long long)T_SQUARE, 5LL, 2LL, (long long)T_SQUARE, "x", 3LL,
                "zero", 4LL, (long long)T_SQUARE, 4LL);
    struct mf__result_msg r[4];
    exchange(&m, r, 4);
    expect_error(&r[0], 1, MF_ETYPE, "TypeError",
                 "an argument list must be a MessagePack array, not");
    expect_error(&r[1], 2, MF_ETYPE, "TypeError", "argument 0");
    expect_error(&r[2], 3, MF_EDECODE, "DecodeError", "task id");
    expect_i64(&r[3], 4, 16);
    mf_pack_fini(&m);
}

static void test_mpi_worker_input_truncated_message(void **state)
{
    (void)state;
    mf_pack m, a;
    mf_pack_init(&m);
    mf_pack_init(&a);
    mf_pack_fmt(&a, "[l]", 3LL);
    mf__msg_tasks_begin(&m, 1);
    mf__msg_task(&m, 1, T_SQUARE, a.data, a.len);
    /* Cut inside the arrays: they declare more than is left. */
    for (size_t cut = 1; cut <= 3; cut++)
        expect_broken(m.data, m.len - cut,
                      "MessagePack array/map declares more elements than");
    /* Cut inside a value. */
    mf_pack_reset(&m);
    mf__msg_tasks_begin(&m, 1);
    mf__msg_task(&m, UINT64_MAX, T_SQUARE, a.data, a.len);
    expect_broken(m.data, 12, "truncated MessagePack: a value needs");
    expect_broken(m.data, 0, "truncated MessagePack"); /* empty */
    expect_alive();
    mf_pack_fini(&a);
    mf_pack_fini(&m);
}

static void test_mpi_worker_input_huge_declared_lengths(void **state)
{
    (void)state;
    mf_pack m;
    mf_pack_init(&m);
    /* An argument list holding a bin that declares 4 GiB. */
    mf__msg_tasks_begin(&m, 1);
    mf__msg_task(&m, 1, T_SQUARE, "\x91\xc6\xff\xff\xff\xff", 6);
    expect_broken(m.data, m.len, "bin declares 4294967295 bytes");
    /* A task list that declares 4 billion entries. */
    mf_pack_reset(&m);
    mf_pack_array(&m, 3);
    mf_pack_u64(&m, MF__MSG_TASKS);
    mf_pack_u64(&m, 4096);
    mf__pack_raw(&m, "\xdd\xff\xff\xff\xff", 5);
    expect_broken(m.data, m.len, "declares more elements");
    expect_alive();
    mf_pack_fini(&m);
}

static void test_mpi_worker_input_result_above_the_cap(void **state)
{
    (void)state;
    mf_pack m, a;
    mf_pack_init(&m);
    mf_pack_init(&a);
    size_t at = mf__msg_tasks_begin_max(&m, 4096);
    mf_pack_fmt(&a, "[l]", 8192LL);
    mf__msg_task(&m, 1, T_MAKE, a.data, a.len);
    mf_pack_reset(&a);
    mf_pack_fmt(&a, "[l]", 100LL);
    mf__msg_task(&m, 2, T_MAKE, a.data, a.len);
    mf__msg_patch_u32(&m, at, 2);
    struct mf__result_msg r[2];
    exchange(&m, r, 2);
    expect_error(&r[0], 1, MF_ETOOBIG, "ValueError",
                 "the result (8195 bytes) exceeds the MPI pool's message "
                 "limit of 4096 bytes");
    assert_true(r[1].id == 2 && !r[1].failed);
    assert_int_equal(r[1].value_len, 102); /* bin8: 2 + 100 */
    /* The reply to a cap-less TASKS message is sent back whole: the
     * result is never cut or turned into an error below 1 GiB. */
    mf_pack_reset(&m);
    mf_pack_reset(&a);
    mf_pack_fmt(&a, "[l]", 8192LL);
    mf__msg_tasks_begin(&m, 1);
    mf__msg_task(&m, 3, T_MAKE, a.data, a.len);
    exchange(&m, r, 1);
    assert_true(r[0].id == 3 && !r[0].failed);
    assert_int_equal(r[0].value_len, 8195);
    /* A cap of 0 or above 1 GiB is no cap: the message is refused. */
    mf_pack_reset(&m);
    mf_pack_fmt(&m, "[ll[]]", 1LL, 0LL);
    expect_broken(m.data, m.len, "max_message 0 is not in 1..");
    mf_pack_fini(&a);
    mf_pack_fini(&m);
}

static void test_mpi_worker_input_wrong_message_kinds(void **state)
{
    (void)state;
    mf_pack m;
    mf_pack_init(&m);
    mf_pack_fmt(&m, "[l]", 9LL);
    expect_broken(m.data, m.len, "unknown pool message kind 9");
    mf_pack_reset(&m);
    mf__msg_results_begin(&m, 0, 0); /* RESULTS where TASKS belong */
    expect_broken(m.data, m.len, "expected pool message kind 1, got 2");
    /* On the control tag anything but STOP is ignored: junk, a HELLO. */
    static const char junk[] = "\xc1\xc1";
    send_msg(junk, 2, MF__TAG_CTRL);
    mf_pack_reset(&m);
    mf__msg_hello(&m, 0, "fakeroot", 0, 0, 0);
    send_msg(m.data, m.len, MF__TAG_CTRL);
    expect_alive();
    mf_pack_fini(&m);
}

static int fake_root(void)
{
    /* The worker's HELLO first. */
    double end = now() + GUARD;
    int flag = 0;
    MPI_Status st;
    while (!flag) {
        MPI_Iprobe(1, MF__TAG_CTRL, comm, &flag, &st);
        if (!flag && now() > end) {
            fprintf(stderr, "no HELLO from the worker\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (!flag)
            nap();
    }
    int n;
    MPI_Get_count(&st, MPI_BYTE, &n);
    char *hello = malloc((size_t)n);
    MPI_Recv(hello, n, MPI_BYTE, 1, MF__TAG_CTRL, comm, MPI_STATUS_IGNORE);
    struct mf__hello h;
    int bad = mf__msg_read_hello(hello, (size_t)n, &h) != MF_OK ||
              h.rank != 1 || h.ntasks != mf_task_count();
    free(hello);
    if (bad) {
        fprintf(stderr, "bad HELLO from the worker\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpi_worker_input_unknown_task_id),
        cmocka_unit_test(test_mpi_worker_input_wrong_types),
        cmocka_unit_test(test_mpi_worker_input_truncated_message),
        cmocka_unit_test(test_mpi_worker_input_huge_declared_lengths),
        cmocka_unit_test(test_mpi_worker_input_result_above_the_cap),
        cmocka_unit_test(test_mpi_worker_input_wrong_message_kinds),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    /* Send the worker home; it must return from mf_mpi_pool_new. */
    mf_pack stop;
    mf_pack_init(&stop);
    mf__msg_stop(&stop);
    send_msg(stop.data, stop.len, MF__TAG_CTRL);
    mf_pack_fini(&stop);
    free(reply);
    return rc;
}

int main(int argc, char **argv)
{
    mf_task_register("wi.square", task_square, NULL);
    mf_task_register("wi.make", task_make, NULL);
    int provided, rank, rc;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comm); /* matches the worker's dup */
        rc = fake_root();
        MPI_Comm_free(&comm);
    } else {
        mf_executor *ex = (mf_executor *)1;
        rc = mf_mpi_pool_new(&argc, &argv, NULL, &ex);
        if (rc != MF_OK || ex != NULL) {
            fprintf(stderr, "worker: %s (%s)\n", mf_err_name(rc),
                    mf_errmsg());
            rc = 1;
        }
    }
    MPI_Finalize();
    return rc;
}
