/*
 * tests/test_mpi_slot_reuse.c -- a reply that answers the wrong message
 * must not fail a later, correctly answered future whose slot was reused.
 * Run under mpiexec -n 2; rank 1 is a fake worker that, with two messages
 * M0=[a] and M1=[b] in flight, answers M0 with b's result (a fails, b
 * finishes, both slots are freed), receives M2=[c,d] (reusing the slots),
 * answers M1 with nothing, then answers M2 correctly: c and d must both
 * finish. (Regression test for message records that kept slot indices
 * without their generation.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include <mpifutures.h>

#include "ranks/mpi_int.h"
#include "serialization/envelope.h"

static mf_executor *pool;
static MPI_Comm comm;

static int task_op(const mf_args *args, mf_reply *reply, void *udata)
{
    return mf_reply_i64(reply, 42); /* never run: rank 1 is fake */
}

/* Receive one message from the root: its task ids, or -1 for STOP. */
static int take(uint64_t *ids, int max)
{
    static char buf[1 << 16];
    MPI_Status st;
    MPI_Probe(0, MPI_ANY_TAG, comm, &st);
    int n;
    MPI_Get_count(&st, MPI_BYTE, &n);
    MPI_Recv(buf, n, MPI_BYTE, 0, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
    if (st.MPI_TAG == MF__TAG_CTRL)
        return -1;
    struct mf__msg_iter it;
    struct mf__task_msg t;
    int ok, k = 0;
    mf__msg_read_tasks(buf, (size_t)n, &it);
    while (k < max && mf__msg_next_task(&it, &t, &ok) == MF_OK)
        ids[k++] = t.id;
    return k;
}

/* Answer with results (value 42) for the given ids. */
static void answer(const uint64_t *ids, int k)
{
    mf_pack p, v;
    mf_pack_init(&p);
    mf_pack_init(&v);
    mf_pack_i64(&v, 42);
    mf__msg_results_begin(&p, 1, (uint32_t)k);
    for (int i = 0; i < k; i++)
        mf__msg_result_ok(&p, ids[i], v.data, v.len, 0, 0, 0);
    MPI_Send(p.data, (int)p.len, MPI_BYTE, 0, MF__TAG_RESULTS, comm);
    mf_pack_fini(&p);
    mf_pack_fini(&v);
}

static int fake_worker(void)
{
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    mf_pack p;
    mf_pack_init(&p);
    mf__msg_hello(&p, 1, "fakehost", mf_task_count(), mf_task_names_hash(),
                  (int64_t)getpid());
    MPI_Send(p.data, (int)p.len, MPI_BYTE, 0, MF__TAG_CTRL, comm);
    mf_pack_fini(&p);
    uint64_t m0[8], m1[8], m2[8];
    take(m0, 8);
    int k1 = take(m1, 8);
    answer(m1, k1);   /* M0's reply carries M1's result */
    int k2 = take(m2, 8);
    answer(NULL, 0);  /* M1's reply: nothing left to answer */
    answer(m2, k2);   /* M2, answered correctly */
    while (take(m0, 8) >= 0)
        ;
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return 0;
}

static void test_mpi_slot_reuse_later_future_is_not_failed(void **state)
{
    (void)state;
    int64_t ab[2] = {1, 2}, cd[2] = {3, 4};
    mf_map_opts o = {.chunksize = 1, .timeout = 60};
    mf_map *m;
    size_t idx;
    int rc0 = -1, rc1 = -1;
    assert_int_equal(mf_executor_map_i64(pool, "slot.op", ab, 2, &o, &m),
                     MF_OK);
    for (int i = 0; i < 2; i++) {
        int rc = mf_map_next(m, &idx, NULL);
        if (idx == 0)
            rc0 = rc;
        else
            rc1 = rc;
    }
    mf_map_free(m);
    assert_int_equal(rc0, MF_ETASK); /* a: no result came back */
    assert_int_equal(rc1, MF_OK);    /* b: answered through M0's reply */

    o.chunksize = 2; /* one message: M2 = [c, d] */
    assert_int_equal(mf_executor_map_i64(pool, "slot.op", cd, 2, &o, &m),
                     MF_OK);
    for (int i = 0; i < 2; i++) {
        mf_value v;
        int rc = mf_map_next(m, &idx, &v);
        if (rc != MF_OK)
            fail_msg("item %zu: %s (%s)", idx, mf_err_name(rc), mf_errmsg());
        assert_int_equal(v.via.u, 42);
    }
    mf_map_free(m);
}

int main(int argc, char **argv)
{
    mf_task_register("slot.op", task_op, NULL);
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 1)
        return fake_worker();
    if (mf_mpi_pool_new(&argc, &argv, NULL, &pool) != MF_OK || pool == NULL) {
        fprintf(stderr, "pool: %s\n", mf_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpi_slot_reuse_later_future_is_not_failed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mf_executor_free(pool);
    MPI_Finalize();
    return rc;
}
