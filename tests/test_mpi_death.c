/*
 * tests/test_mpi_death.c -- a worker process dies in the middle of a map.
 * Run by tests/mpi_worker_death.sh under mpirun: Open MPI 4 aborts the whole
 * job (its default error handler), so the user sees mpirun fail with the
 * dead rank named -- and rank 0 never waits forever. If this program
 * finishes normally, that promise was not exercised: it exits 0, which the
 * script counts as a failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <mpifutures.h>

static int work(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t v;
    int rc = mf_args_i64(args, 0, &v);
    if (rc != MF_OK)
        return rc;
    if (v == 3)
        _exit(9); /* the worker process dies */
    struct timespec ts = {0, 20000000L};
    nanosleep(&ts, NULL);
    return mf_reply_i64(reply, v);
}

int main(int argc, char **argv)
{
    mf_task_register("death.work", work, NULL);
    mf_executor *ex;
    if (mf_mpi_pool_new(&argc, &argv, NULL, &ex) != MF_OK)
        return 2;
    if (ex == NULL)
        return 0;
    int64_t items[10];
    for (int i = 0; i < 10; i++)
        items[i] = i;
    mf_map_opts o = {.chunksize = 1, .timeout = 60};
    mf_map *m;
    if (mf_executor_map_i64(ex, "death.work", items, 10, &o, &m) != MF_OK)
        return 2;
    int rc;
    while ((rc = mf_map_next(m, NULL, NULL)) == MF_OK)
        ;
    printf("map ended: %s\n", mf_err_name(rc));
    mf_map_free(m);
    mf_executor_free(ex);
    return 0;
}
