/*
 * examples/risky_tasks.c -- the lecture's Example 23.2 in C: futures with
 * done callbacks, as_completed and ordinary error handling.
 *
 * Eight tasks sleep 0.1-0.5 s on a five-thread pool; about 30% fail with a
 * ValueError. A done callback reports each outcome as soon as it happens,
 * while the main thread collects results in completion order and counts
 * successes and failures. `--seed N` makes a run reproducible: each task
 * draws its sleep and its fate from (seed, task id) alone, so thread timing
 * cannot change them.
 *
 *   build/examples/risky_tasks [--seed N]
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpifutures.h>

/* splitmix64: a tiny, well-mixed generator; two draws per task. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static double uniform01(uint64_t seed, int64_t id, int draw)
{
    return (double)(mix(seed ^ mix((uint64_t)id * 2 + (uint64_t)draw)) >> 11) /
           9007199254740992.0; /* 2^53 */
}

/* riskyTask(taskId, seed): sleep 0.1-0.5 s, fail 30% of the time. */
static int risky_task(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t id, seed;
    int rc = mf_args_i64(args, 0, &id);
    if (rc == MF_OK)
        rc = mf_args_i64(args, 1, &seed);
    if (rc != MF_OK)
        return rc;
    double pause = 0.1 + 0.4 * uniform01((uint64_t)seed, id, 0);
    struct timespec ts = {0, (long)(pause * 1e9)};
    nanosleep(&ts, NULL);
    if (uniform01((uint64_t)seed, id, 1) < 0.3)
        return mf_reply_error(reply, "ValueError", "Task %" PRId64
                              " failed randomly", id);
    return mf_reply_strf(reply, "Task %" PRId64 " succeeded", id);
}

/* onComplete: runs on the pool thread that finished the task. */
static void on_complete(mf_future *f, void *arg)
{
    const mf_error *err;
    const char *s;
    size_t n;
    (void)arg;
    if (mf_future_exception(f, 0, &err) == MF_OK && err != NULL)
        printf("CALLBACK: caught exception: %s\n", mf_error_message(err));
    else if (mf_future_result_str(f, 0, &s, &n) == MF_OK)
        printf("CALLBACK: result = %.*s\n", (int)n, s);
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "risky_tasks: %s: %s (%s)\n", what, mf_strerror(rc),
            mf_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            if (*end != '\0') {
                fprintf(stderr, "risky_tasks: --seed needs an integer\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: risky_tasks [--seed N]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    int rc = mf_task_register("riskyTask", risky_task, NULL);
    if (rc != MF_OK)
        return die("register", rc);
    mf_executor *executor;
    mf_thread_pool_opts opts = {.max_workers = 5};
    rc = mf_thread_pool_new(&opts, &executor);
    if (rc != MF_OK)
        return die("thread pool", rc);

    enum { NTASKS = 8 };
    mf_future *futures[NTASKS];
    for (int task_id = 0; task_id < NTASKS; task_id++) {
        rc = mf_executor_submitf(executor, "riskyTask", &futures[task_id],
                                 "ll", (long long)task_id, (long long)seed);
        if (rc != MF_OK)
            return die("submit", rc);
        mf_future_add_done_callback(futures[task_id], on_complete, NULL);
    }

    printf("\n--- Collecting results with error handling ---\n");
    int success_count = 0, fail_count = 0;
    mf_as_completed *it;
    rc = mf_as_completed_new(futures, NTASKS, MF_FOREVER, &it);
    if (rc != MF_OK)
        return die("as_completed", rc);
    mf_future *future;
    while (mf_as_completed_next(it, &future) == MF_OK) {
        const char *result;
        size_t len;
        rc = mf_future_result_str(future, MF_FOREVER, &result, &len);
        if (rc == MF_OK) {
            success_count++;
        } else {
            const mf_error *e;
            fail_count++;
            if (mf_future_exception(future, 0, &e) == MF_OK && e != NULL)
                printf("Handled error: %s\n", mf_error_message(e));
        }
    }
    mf_as_completed_free(it);

    printf("Done: %d succeeded, %d failed\n", success_count, fail_count);
    for (int i = 0; i < NTASKS; i++)
        mf_future_release(futures[i]);
    mf_executor_free(executor);
    return 0;
}
