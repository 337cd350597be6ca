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
#include <string.h>
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

/*
 * With `recovery` (run under mpirun --enable-recovery, where rank 0
 * survives): every item ends -- finished, or failed with WorkerLost
 * naming the dead rank and its host -- and the pool goes on with the
 * other worker. Prints "checked" when all of that held.
 */
static int recovery(mf_executor *ex, mf_map *m)
{
    int rc;
    size_t ok = 0, lost = 0, idx;
    while ((rc = mf_map_next(m, &idx, NULL)) != MF_EOF) {
        if (rc == MF_OK) {
            ok++;
            continue;
        }
        const mf_error *e = mf_map_error(m);
        printf("item %zu: %s %s: %s\n", idx, mf_err_name(rc),
               e ? mf_error_kind(e) : "?", e ? mf_error_message(e) : "?");
        if (rc != MF_ETASK || e == NULL ||
            strcmp(mf_error_kind(e), "WorkerLost") != 0 ||
            strstr(mf_error_message(e), "worker lost: rank ") == NULL ||
            strstr(mf_error_origin(e), " on ") == NULL)
            return 1;
        lost++;
    }
    printf("map: %zu finished, %zu lost with their worker\n", ok, lost);
    if (ok + lost != 10 || lost == 0)
        return 1;
    /* The pool goes on with the worker left. */
    int64_t v = 0;
    mf_future *f;
    if (mf_executor_submitf(ex, "death.work", &f, "l", 42LL) != MF_OK ||
        mf_future_result_i64(f, 30, &v) != MF_OK || v != 42)
        return 1;
    mf_future_release(f);
    printf("checked\n");
    return 0;
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
    if (argc > 1 && strcmp(argv[1], "recovery") == 0) {
        rc = recovery(ex, m);
        mf_map_free(m);
        mf_executor_free(ex);
        return rc;
    }
    while ((rc = mf_map_next(m, NULL, NULL)) == MF_OK)
        ;
    printf("map ended: %s\n", mf_err_name(rc));
    mf_map_free(m);
    mf_executor_free(ex);
    return 0;
}
