/*
 * tests/test_mpi_hostloss.c -- a host is lost in the middle of a run.
 * Driven by cluster/multihost.sh (the lost-host check), which starts this
 * program across network-namespace hosts, waits until some futures have
 * finished, then takes one host's link down or kills its ranks.
 *
 * Rank 0 submits N tasks (each sleeps --ms milliseconds and returns its
 * index: no CPU burnt on a shared machine) and prints one line per future
 * as it completes, flushed at once:
 *
 *   hostloss: 40 futures on 2 workers (rank 0 on mfh-h1)
 *   future 3: finished (3)
 *   future 7: failed (BrokenPool: ...)
 *   ...
 *   hostloss: all 40 futures done (40 finished, 0 failed)
 *
 * What a user must be able to rely on when a host goes away: the job ends
 * (Open MPI 4 aborts it when a daemon or a process is lost), mpirun exits
 * non-zero naming the lost host, and the output never claims completion
 * it did not have -- every future printed finished or failed, the last
 * line above never appears for a job that lost work. If the job is not
 * aborted but a future stays pending for --timeout seconds, rank 0 says
 * so and exits 3 rather than waiting forever.
 *
 *   mpirun ... test_mpi_hostloss [--tasks N] [--ms M] [--timeout S]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpifutures.h>

static int work(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t i, ms;
    int rc = mf_args_i64(args, 0, &i);
    if (rc == MF_OK)
        rc = mf_args_i64(args, 1, &ms);
    if (rc != MF_OK)
        return rc;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return mf_reply_i64(reply, i);
}

static long arg(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return atol(argv[i + 1]);
    return def;
}

int main(int argc, char **argv)
{
    long n = arg(argc, argv, "--tasks", 40), ms = arg(argc, argv, "--ms", 150);
    double timeout = (double)arg(argc, argv, "--timeout", 60);
    if (n < 1 || n > 100000 || ms < 0) {
        fprintf(stderr, "usage: test_mpi_hostloss [--tasks N] [--ms M] "
                        "[--timeout S]\n");
        return 2;
    }
    mf_task_register("hostloss.work", work, NULL);
    mf_executor *ex;
    if (mf_mpi_pool_new(&argc, &argv, NULL, &ex) != MF_OK) {
        fprintf(stderr, "hostloss: pool: %s\n", mf_errmsg());
        return 2;
    }
    if (ex == NULL)
        return 0; /* a worker rank */
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    mf_future **fs = calloc((size_t)n, sizeof *fs);
    if (fs == NULL)
        return 2;
    for (long i = 0; i < n; i++)
        if (mf_executor_submitf(ex, "hostloss.work", &fs[i], "ll", (long long)i,
                                (long long)ms) != MF_OK) {
            fprintf(stderr, "hostloss: submit %ld: %s\n", i, mf_errmsg());
            return 2;
        }
    printf("hostloss: %ld futures on %zu workers (rank 0 on %s)\n", n,
           mf_executor_max_workers(ex), host);
    fflush(stdout);

    mf_as_completed *it;
    if (mf_as_completed_new(fs, (size_t)n, timeout, &it) != MF_OK)
        return 2;
    long ok = 0, failed = 0;
    mf_future *f;
    int rc;
    while ((rc = mf_as_completed_next(it, &f)) == MF_OK) {
        long i = 0;
        while (fs[i] != f)
            i++;
        const mf_error *err = NULL;
        mf_future_exception(f, 0, &err);
        if (err == NULL) {
            ok++;
            printf("future %ld: finished (%ld)\n", i, i);
        } else {
            failed++;
            printf("future %ld: failed (%s: %s, %s)\n", i, mf_error_kind(err),
                   mf_error_message(err), mf_error_origin(err));
        }
        fflush(stdout);
    }
    int status = 0;
    if (rc == MF_ETIMEDOUT) {
        printf("hostloss: TIMEOUT: %s\n", mf_errmsg());
        status = 3;
    } else {
        printf("hostloss: all %ld futures done (%ld finished, %ld failed)\n", n,
               ok, failed);
    }
    fflush(stdout);
    mf_as_completed_free(it);
    for (long i = 0; i < n; i++)
        mf_future_release(fs[i]);
    free(fs);
    if (status != 0)
        _exit(status); /* a lost worker cannot be shut down cleanly */
    mf_executor_free(ex);
    return failed ? 1 : 0;
}
