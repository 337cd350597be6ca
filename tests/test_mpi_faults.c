/*
 * tests/test_mpi_faults.c -- rank 0 facing a worker that misbehaves. Run
 * under mpiexec -n 2: rank 0 is a real MPI pool; rank 1 is not a real
 * worker but this file's fake one, speaking the wire protocol directly, and
 * answering each task according to its argument:
 *   1 garbage bytes instead of RESULTS    3 a BROKEN reply
 *   2 RESULTS without this task's entry   4 a proper result (42)
 *   5 an entry with a bad status          6 the proper result, twice
 * Every future must end failed with a clear error (or finished, for 4 and
 * 6) and the pool must keep working: never a crash or a hang on rank 0.
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
#include <unistd.h>

#include <mpi.h>

#include <mpifutures.h>

#include "ranks/mpi_int.h"
#include "serialization/envelope.h"

#define GUARD 60.0

static mf_executor *pool;

static int task_op(const mf_args *args, mf_reply *reply, void *udata)
{
    return mf_reply_i64(reply, 42); /* never run: rank 1 is fake */
}

/* --- the fake worker (rank 1) ----------------------------------------------- */

static void send_bytes(MPI_Comm comm, const void *p, size_t n, int tag)
{
    MPI_Send(p, (int)n, MPI_BYTE, 0, tag, comm);
}

static int fake_worker(void)
{
    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm); /* matches the root's dup */
    mf_pack p, v;
    mf_pack_init(&p);
    mf_pack_init(&v);
    mf__msg_hello(&p, 1, "fakehost", mf_task_count(), mf_task_names_hash(),
                  (int64_t)getpid());
    send_bytes(comm, p.data, p.len, MF__TAG_CTRL);
    mf_pack_i64(&v, 42);
    char *buf = NULL;
    for (;;) {
        MPI_Status st;
        MPI_Probe(0, MPI_ANY_TAG, comm, &st);
        int n;
        MPI_Get_count(&st, MPI_BYTE, &n);
        buf = realloc(buf, (size_t)n + 1);
        MPI_Recv(buf, n, MPI_BYTE, 0, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == MF__TAG_CTRL)
            break; /* STOP */
        struct mf__msg_iter it;
        struct mf__task_msg t;
        int id_ok;
        mf__msg_read_tasks(buf, (size_t)n, &it);
        mf__msg_next_task(&it, &t, &id_ok); /* one task per message here */
        mf_value args, a0;
        mf_value_decode(t.args, t.args_len, &args);
        mf_value_at(&args, 0, &a0);
        mf_pack_reset(&p);
        switch (a0.via.u) {
        case 1: {
            static const char junk[] = "\xc1garbage";
            send_bytes(comm, junk, sizeof junk - 1, MF__TAG_RESULTS);
            continue;
        }
        case 2:
            mf__msg_results_begin(&p, 1, 1);
            mf__msg_result_ok(&p, t.id ^ 0x100000000ULL, v.data, v.len, 0, 0,
                              0);
            break;
        case 3:
            mf__msg_broken(&p, 1, "fake worker refuses");
            break;
        case 5:
            mf_pack_array(&p, 3);
            mf_pack_u64(&p, MF__MSG_RESULTS);
            mf_pack_i64(&p, 1);
            mf_pack_array(&p, 1);
            mf_pack_array(&p, 6);
            mf_pack_u64(&p, t.id);
            mf_pack_u64(&p, 7); /* no such status */
            mf_pack_nil(&p);
            mf_pack_u64(&p, 0);
            mf_pack_u64(&p, 0);
            mf_pack_u64(&p, 0);
            break;
        case 6:
            mf__msg_results_begin(&p, 1, 2);
            mf__msg_result_ok(&p, t.id, v.data, v.len, 0, 0, 0);
            mf__msg_result_ok(&p, t.id, v.data, v.len, 0, 0, 0);
            break;
        default:
            mf__msg_results_begin(&p, 1, 1);
            mf__msg_result_ok(&p, t.id, v.data, v.len, 0, 0, 0);
            break;
        }
        send_bytes(comm, p.data, p.len, MF__TAG_RESULTS);
    }
    free(buf);
    mf_pack_fini(&p);
    mf_pack_fini(&v);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return 0;
}

/* --- the tests (rank 0) ---------------------------------------------------- */

/* Submit one task with behaviour b; return its future, done. */
static mf_future *run(int b)
{
    mf_future *f;
    assert_int_equal(mf_executor_submitf(pool, "fault.op", &f, "i", b),
                     MF_OK);
    assert_int_equal(mf_future_wait(f, GUARD), MF_OK);
    return f;
}

static void expect_decode_error(int b, const char *needle)
{
    mf_future *f = run(b);
    const mf_error *e;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_EDECODE);
    assert_string_equal(mf_error_kind(e), "DecodeError");
    assert_string_equal(mf_error_task(e), "fault.op");
    if (strstr(mf_error_message(e), needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", mf_error_message(e), needle);
    mf_future_release(f);
}

static void expect_42(int b)
{
    mf_future *f = run(b);
    int64_t v = 0;
    assert_int_equal(mf_future_result_i64(f, 0, &v), MF_OK);
    assert_int_equal(v, 42);
    mf_future_release(f);
}

static void test_mpi_faults_garbage_reply(void **state)
{
    (void)state;
    expect_decode_error(1, "malformed reply from rank 1 on fakehost");
    expect_42(4); /* the pool goes on */
}

static void test_mpi_faults_missing_entry(void **state)
{
    (void)state;
    expect_decode_error(2, "no result came back");
    expect_42(4);
}

static void test_mpi_faults_broken_reply(void **state)
{
    (void)state;
    expect_decode_error(3, "fake worker refuses");
    expect_42(4);
}

static void test_mpi_faults_bad_entry(void **state)
{
    (void)state;
    expect_decode_error(5, "malformed result");
    expect_42(4);
}

static void test_mpi_faults_duplicate_result(void **state)
{
    (void)state;
    expect_42(6); /* the second copy is ignored */
    expect_42(4);
}

int main(int argc, char **argv)
{
    mf_task_register("fault.op", task_op, NULL);
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 1)
        return fake_worker();
    /* MPI is already initialized: the pool uses it and leaves finalizing
     * to us. */
    if (mf_mpi_pool_new(&argc, &argv, NULL, &pool) != MF_OK || pool == NULL) {
        fprintf(stderr, "pool: %s\n", mf_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpi_faults_garbage_reply),
        cmocka_unit_test(test_mpi_faults_missing_entry),
        cmocka_unit_test(test_mpi_faults_broken_reply),
        cmocka_unit_test(test_mpi_faults_bad_entry),
        cmocka_unit_test(test_mpi_faults_duplicate_result),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mf_executor_free(pool);
    MPI_Finalize();
    return rc;
}
