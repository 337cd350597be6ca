/*
 * tests/test_mpi_mismatch.c -- workers that registered other tasks than rank
 * 0. Run under mpiexec -n 3: rank 0 registers one task, ranks 1 and 2 one
 * more. mf_mpi_pool_new must fail on rank 0 with MF_ESTATE and a message
 * naming a worker and what to do; the workers must be sent home (their
 * mf_mpi_pool_new returns with no executor) and every rank must exit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <mpi.h>

#include <mpifutures.h>

static int task_a(const mf_args *args, mf_reply *reply, void *udata)
{
    return mf_reply_nil(reply);
}

static int rank_rc;
static const char *rank_msg;
static mf_executor *rank_ex;

static void test_mpi_mismatch_root_refuses_with_clear_error(void **state)
{
    (void)state;
    assert_int_equal(rank_rc, MF_ESTATE);
    assert_null(rank_ex);
    assert_non_null(strstr(rank_msg, "rank "));
    assert_non_null(strstr(rank_msg, "registered 2 tasks"));
    assert_non_null(strstr(rank_msg, "rank 0 registered 1"));
    assert_non_null(
        strstr(rank_msg, "register the same tasks, in the same order"));
}

int main(int argc, char **argv)
{
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mf_task_register("mismatch.a", task_a, NULL);
    if (rank != 0)
        mf_task_register("mismatch.only_on_workers", task_a, NULL);
    rank_rc = mf_mpi_pool_new(&argc, &argv, NULL, &rank_ex);
    rank_msg = mf_errmsg();
    int rc = 0;
    if (rank == 0) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(
            test_mpi_mismatch_root_refuses_with_clear_error)};
        rc = cmocka_run_group_tests(tests, NULL, NULL);
    } else if (rank_rc != MF_OK || rank_ex != NULL) {
        rc = 1; /* a worker is sent home cleanly */
    }
    MPI_Finalize();
    return rc;
}
