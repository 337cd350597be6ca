/*
 * tests/test_mpi_timeout.c -- a task that never returns, under the MPI
 * pool's task_timeout (0.3 s). Run by tests/mpi_task_timeout.sh:
 *
 *   mpiexec -n 3 test_mpi_timeout one   two workers, one gets stuck: the
 *       stuck task fails with TimeoutError naming the rank, every other
 *       future finishes (or, queued behind the stuck one, fails with
 *       WorkerStuck), the pool keeps working on the other worker;
 *   mpiexec -n 2 test_mpi_timeout all   the only worker gets stuck:
 *       pending futures and new submits fail with MF_EBROKEN.
 *
 * Either way every future ends, the program prints "checked", and freeing
 * the pool with a stuck worker ends the job through MPI_Abort with a
 * message naming the stuck rank: the script checks all of that, and that
 * nothing hangs.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
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

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("FAILED: %s (line %d): %s\n", #c, __LINE__, mf_errmsg());   \
            return 1;                                                          \
        }                                                                      \
    } while (0)

static int one(mf_executor *ex)
{
    mf_future *stuck, *fs[40];
    CHECK(mf_executor_submitf(ex, "t.sleep", &stuck, "l", 3600000LL) ==
          MF_OK);
    for (int i = 0; i < 40; i++)
        CHECK(mf_executor_submitf(ex, "t.sleep", &fs[i], "l", 20LL) == MF_OK);
    const mf_error *e;
    CHECK(mf_future_exception(stuck, 30, &e) == MF_OK && e != NULL);
    printf("stuck task: %s %s: %s\n", mf_err_name(mf_error_code(e)),
           mf_error_kind(e), mf_error_message(e));
    CHECK(mf_error_code(e) == MF_ETIMEDOUT);
    CHECK(strcmp(mf_error_kind(e), "TimeoutError") == 0);
    CHECK(strstr(mf_error_message(e), "0.3 s") != NULL);
    size_t ok = 0, stuck_behind = 0;
    for (int i = 0; i < 40; i++) {
        int rc = mf_future_result(fs[i], 30, NULL);
        if (rc == MF_OK) {
            ok++;
        } else {
            CHECK(rc == MF_ETASK);
            CHECK(mf_future_exception(fs[i], 0, &e) == MF_OK && e);
            CHECK(mf_error_code(e) == MF_ETIMEDOUT &&
                  strcmp(mf_error_kind(e), "WorkerStuck") == 0);
            stuck_behind++;
        }
        mf_future_release(fs[i]);
    }
    printf("others: %zu finished, %zu not started behind the stuck one\n",
           ok, stuck_behind);
    CHECK(ok + stuck_behind == 40 && ok >= 30);
    /* The pool still works, on the other worker. */
    int64_t v;
    mf_future *f;
    CHECK(mf_executor_submitf(ex, "t.sleep", &f, "l", 1LL) == MF_OK);
    CHECK(mf_future_result_i64(f, 30, &v) == MF_OK && v == 1);
    mf_future_release(f);
    mf_future_release(stuck);
    return 0;
}

/* A map's fill that is still running when the only worker gets stuck:
 * its items reach the pool after that, and must fail, not wait. */
static int slow_fill(size_t i, mf_pack *args, void *udata)
{
    if (i == 0) {
        struct timespec ts = {0, 600000000L};
        nanosleep(&ts, NULL);
    }
    mf_pack_array(args, 1);
    mf_pack_i64(args, 1);
    return MF_OK;
}

static int all(mf_executor *ex)
{
    mf_future *stuck, *behind, *pending;
    CHECK(mf_executor_submitf(ex, "t.sleep", &stuck, "l", 3600000LL) ==
          MF_OK);
    /* Prefetched behind it (2 messages in flight per worker), with
     * arguments too big to be sent eagerly (the send to a stuck worker
     * never completes: it must not keep the pool from shutting down), and
     * one still queued on rank 0. */
    static char blob[200000];
    mf_pack pk;
    mf_pack_init(&pk);
    mf_pack_array(&pk, 2);
    mf_pack_i64(&pk, 1);
    mf_pack_bin(&pk, blob, sizeof blob);
    CHECK(mf_executor_submit(ex, "t.sleep", pk.data, pk.len, &behind) ==
          MF_OK);
    mf_pack_fini(&pk);
    CHECK(mf_executor_submitf(ex, "t.sleep", &pending, "l", 1LL) == MF_OK);
    mf_map *m;
    mf_map_opts mo = {.chunksize = 1, .timeout = 20};
    CHECK(mf_executor_map(ex, "t.sleep", 3, slow_fill, NULL, &mo, &m) ==
          MF_OK);
    int rc;
    size_t broken = 0;
    while ((rc = mf_map_next(m, NULL, NULL)) != MF_EOF) {
        CHECK(rc == MF_ETASK && mf_map_error(m) != NULL &&
              mf_error_code(mf_map_error(m)) == MF_EBROKEN);
        broken++;
    }
    printf("a map filled while the worker got stuck: %zu items failed "
           "EBROKEN\n",
           broken);
    mf_map_free(m);
    CHECK(broken == 3);
    const mf_error *e;
    CHECK(mf_future_exception(stuck, 30, &e) == MF_OK && e != NULL &&
          mf_error_code(e) == MF_ETIMEDOUT);
    CHECK(mf_future_exception(behind, 30, &e) == MF_OK && e != NULL);
    printf("behind it: %s %s\n", mf_err_name(mf_error_code(e)),
           mf_error_kind(e));
    CHECK(strcmp(mf_error_kind(e), "WorkerStuck") == 0);
    CHECK(mf_future_exception(pending, 30, &e) == MF_OK && e != NULL);
    printf("queued on rank 0: %s %s: %s\n", mf_err_name(mf_error_code(e)),
           mf_error_kind(e), mf_error_message(e));
    CHECK(mf_error_code(e) == MF_EBROKEN);
    mf_future *f = NULL;
    rc = mf_executor_submitf(ex, "t.sleep", &f, "l", 1LL);
    printf("submit with every worker stuck: %s (%s)\n", mf_err_name(rc),
           mf_errmsg());
    CHECK(rc == MF_EBROKEN && f == NULL);
    CHECK(strstr(mf_errmsg(), "stuck") != NULL);
    mf_future_release(stuck);
    mf_future_release(behind);
    mf_future_release(pending);
    return 0;
}

int main(int argc, char **argv)
{
    mf_task_register("t.sleep", sleep_task, NULL);
    mf_mpi_pool_opts o = {.task_timeout = 0.3};
    mf_executor *ex;
    if (mf_mpi_pool_new(&argc, &argv, &o, &ex) != MF_OK) {
        printf("pool: %s\n", mf_errmsg());
        return 2;
    }
    if (ex == NULL)
        return 0;
    int bad = argc > 1 && strcmp(argv[1], "all") == 0 ? all(ex) : one(ex);
    if (!bad)
        printf("checked\n");
    fflush(stdout);
    mf_executor_free(ex); /* a worker is stuck: MPI_Abort */
    printf("UNEXPECTED: the pool was freed with a stuck worker\n");
    return 3;
}
