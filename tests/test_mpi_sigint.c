/*
 * tests/test_mpi_sigint.c -- a job busy with long tasks, for
 * tests/mpi_sigint.sh: every worker runs a 60 s task when the program
 * prints "running"; the script then sends SIGINT and checks that the job
 * ends at once and leaves no process behind. Under mpirun or started
 * alone (it spawns 2 workers). Any argument is ignored: the script passes
 * a unique marker to find the job's processes.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include <mpifutures.h>

static int sleep_task(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t ms;
    int rc = mf_args_i64(args, 0, &ms);
    if (rc != MF_OK)
        return rc;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return mf_reply_i64(reply, ms);
}

int main(int argc, char **argv)
{
    mf_task_register("s.sleep", sleep_task, NULL);
    mf_mpi_pool_opts o = {.max_workers = 2};
    mf_executor *ex;
    if (mf_mpi_pool_new(&argc, &argv, &o, &ex) != MF_OK) {
        printf("pool: %s\n", mf_errmsg());
        return 2;
    }
    if (ex == NULL)
        return 0;
    size_t n = 2 * mf_executor_max_workers(ex);
    mf_future *fs[64];
    for (size_t i = 0; i < n && i < 64; i++)
        if (mf_executor_submitf(ex, "s.sleep", &fs[i], "l", 60000LL) != MF_OK)
            return 2;
    struct timespec ts = {0, 500000000L};
    nanosleep(&ts, NULL);
    printf("running\n");
    fflush(stdout);
    for (size_t i = 0; i < n && i < 64; i++) {
        mf_future_wait(fs[i], 120);
        mf_future_release(fs[i]);
    }
    printf("UNEXPECTED: the tasks finished\n");
    mf_executor_free(ex);
    return 3;
}
