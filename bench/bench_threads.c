/*
 * bench/bench_threads.c -- `mpifutures bench threads`: the thread pool
 * against libuv's uv_queue_work in the same run.
 *
 * Measured:
 * - batch throughput: submit N empty plain calls, then collect every result
 *   (and release every future) -- libuv: queue N empty works, run the loop
 *   until every after_work callback ran;
 * - one-at-a-time round trip: submit one empty call, wait for its result;
 *   the median over `rounds` -- libuv: queue one work, run the loop;
 * - the same two through the msgpack task path (a registered task taking
 *   one integer and returning it);
 * - heap cost of one pending future: bytes allocated (mallinfo2) while
 *   100,000 calls wait behind a blocked single-worker pool, per future.
 */

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpifutures.h>

#include "bench/bench.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double mf_bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *empty_call(void *arg)
{
    return arg;
}

static int echo_task(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t v;
    int rc = mf_args_i64(args, 0, &v);
    if (rc != MF_OK)
        return rc;
    return mf_reply_i64(reply, v);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "mpifutures bench threads: %s: %s (%s)\n", what,
            mf_strerror(rc), mf_errmsg());
    return 1;
}

/* The handles array, allocated once like libuv's request array, so the
 * harness's own allocations stay out of the measurement. */
static mf_future **fs_buf;

/* Batch throughput of plain calls (task == 0) or msgpack tasks. */
static int batch(mf_executor *ex, size_t n, int task, double *per_s)
{
    mf_future **fs = fs_buf;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        int rc = task ? mf_executor_submitf(ex, "bench.echo", &fs[i], "l",
                                            (long long)i)
                      : mf_executor_call(ex, empty_call, NULL, &fs[i]);
        if (rc != MF_OK)
            return fail("submit", rc);
    }
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (task) {
            int64_t v;
            bad += mf_future_result_i64(fs[i], MF_FOREVER, &v) != MF_OK ||
                   v != (int64_t)i;
        } else {
            bad += mf_future_result(fs[i], MF_FOREVER, NULL) != MF_OK;
        }
        mf_future_release(fs[i]);
    }
    *per_s = (double)n / (now() - t0);
    if (bad) {
        fprintf(stderr, "mpifutures bench threads: %zu wrong results\n", bad);
        return 1;
    }
    return 0;
}

static int round_trip(mf_executor *ex, size_t rounds, int task, double *us)
{
    double *t = malloc(rounds * sizeof *t);
    if (t == NULL)
        return fail("rtt", MF_ENOMEM);
    for (size_t i = 0; i < rounds; i++) {
        mf_future *f;
        double a = now();
        int rc = task ? mf_executor_submitf(ex, "bench.echo", &f, "l",
                                            (long long)i)
                      : mf_executor_call(ex, empty_call, NULL, &f);
        if (rc == MF_OK)
            rc = mf_future_result(f, MF_FOREVER, NULL);
        t[i] = (now() - a) * 1e6;
        mf_future_release(f);
        if (rc != MF_OK) {
            free(t);
            return fail("rtt", rc);
        }
    }
    *us = mf_bench_median(t, rounds);
    free(t);
    return 0;
}

static atomic_int gate;

static void *blocker(void *arg)
{
    while (!atomic_load(&gate))
        usleep(100);
    return arg;
}

/* Heap bytes per pending plain-call future (queue entry included). */
static int pending_bytes(double *bytes)
{
    enum { N = 100000 };
    mf_executor *ex;
    mf_thread_pool_opts o = {.max_workers = 1};
    int rc = mf_thread_pool_new(&o, &ex);
    if (rc != MF_OK)
        return fail("pool", rc);
    mf_future *b, **fs = malloc(N * sizeof *fs);
    atomic_store(&gate, 0);
    mf_executor_call(ex, blocker, NULL, &b);
    while (!mf_future_running(b))
        usleep(100);
    struct mallinfo2 m0 = mallinfo2();
    for (size_t i = 0; i < N; i++)
        mf_executor_call(ex, empty_call, NULL, &fs[i]);
    struct mallinfo2 m1 = mallinfo2();
    *bytes = (double)(m1.uordblks - m0.uordblks) / N;
    atomic_store(&gate, 1);
    for (size_t i = 0; i < N; i++) {
        mf_future_wait(fs[i], MF_FOREVER);
        mf_future_release(fs[i]);
    }
    mf_future_release(b);
    mf_executor_free(ex);
    free(fs);
    return 0;
}

int mf_bench_threads(const struct mf_bench_threads_opts *o)
{
    static int registered;
    if (!registered) {
        int rc = mf_task_register("bench.echo", echo_task, NULL);
        if (rc != MF_OK)
            return fail("register", rc);
        registered = 1;
    }
    mf_executor *ex;
    mf_thread_pool_opts po = {.max_workers = o->workers};
    int rc = mf_thread_pool_new(&po, &ex);
    if (rc != MF_OK)
        return fail("pool", rc);

    struct mf_uv *uv = mf_uv_new(o->tasks);
    size_t reps = o->reps ? o->reps : 1;
    double *v = calloc(6 * reps, sizeof *v);
    fs_buf = calloc(o->tasks > 10000 ? o->tasks : 10000, sizeof *fs_buf);
    if (uv == NULL || v == NULL || fs_buf == NULL) {
        mf_uv_free(uv);
        free(v);
        free(fs_buf);
        mf_executor_free(ex);
        return fail("libuv baseline", MF_ENOMEM);
    }
    double *tps_v = v, *rtt_v = v + reps, *ttps_v = v + 2 * reps,
           *trtt_v = v + 3 * reps, *uvtps_v = v + 4 * reps,
           *uvrtt_v = v + 5 * reps;
    double warm;
    int bad = batch(ex, 10000, 0, &warm);
    /* Interleave ours and libuv's so both see the same machine noise. */
    for (size_t r = 0; r < reps && !bad; r++) {
        bad = batch(ex, o->tasks, 0, &tps_v[r]) ||
              round_trip(ex, o->rounds, 0, &rtt_v[r]) ||
              batch(ex, o->tasks, 1, &ttps_v[r]) ||
              round_trip(ex, o->rounds, 1, &trtt_v[r]);
        uvtps_v[r] = mf_uv_batch(uv, o->tasks);
        uvrtt_v[r] = mf_uv_rtt(uv, o->rounds);
        if (uvtps_v[r] < 0 || uvrtt_v[r] < 0) {
            fprintf(stderr, "mpifutures bench threads: libuv failed\n");
            bad = 1;
        }
    }
    size_t workers = mf_executor_max_workers(ex);
    mf_executor_free(ex);
    mf_uv_free(uv);
    free(fs_buf);
    fs_buf = NULL;
    double bytes;
    if (bad || pending_bytes(&bytes)) {
        free(v);
        return 1;
    }
    double tps = mf_bench_median(tps_v, reps);
    double rtt = mf_bench_median(rtt_v, reps);
    double task_tps = mf_bench_median(ttps_v, reps);
    double task_rtt = mf_bench_median(trtt_v, reps);
    struct {
        double tasks_per_s, rtt_us;
        int threads;
    } uvr = {mf_bench_median(uvtps_v, reps), mf_bench_median(uvrtt_v, reps),
             mf_uv_threads()};
    free(v);

    if (o->json) {
        printf("{\"workers\": %zu, \"tasks\": %zu, \"rounds\": %zu, \"reps\": %zu, "
               "\"tasks_per_s\": %.0f, \"rtt_us\": %.2f, "
               "\"msgpack_tasks_per_s\": %.0f, \"msgpack_rtt_us\": %.2f, "
               "\"libuv_threads\": %d, \"libuv_tasks_per_s\": %.0f, "
               "\"libuv_rtt_us\": %.2f, \"throughput_ratio\": %.2f, "
               "\"rtt_ratio\": %.3f, \"bytes_per_pending_future\": %.1f}\n",
               workers, o->tasks, o->rounds, reps, tps, rtt, task_tps, task_rtt,
               uvr.threads, uvr.tasks_per_s, uvr.rtt_us, tps / uvr.tasks_per_s,
               rtt / uvr.rtt_us, bytes);
    } else {
        printf("thread pool (%zu workers) vs libuv uv_queue_work (%d "
               "threads), %zu tasks, %zu round trips, medians of %zu interleaved "
               "repetitions\n\n",
               workers, uvr.threads, o->tasks, o->rounds, reps);
        printf("%-34s %14s %14s\n", "", "tasks/s", "round trip");
        printf("%-34s %14.0f %11.2f us\n", "mpifutures, plain calls", tps,
               rtt);
        printf("%-34s %14.0f %11.2f us\n", "mpifutures, msgpack tasks",
               task_tps, task_rtt);
        printf("%-34s %14.0f %11.2f us\n", "libuv uv_queue_work",
               uvr.tasks_per_s, uvr.rtt_us);
        printf("\nthroughput %.2fx libuv, round trip %.2fx libuv; "
               "%.0f heap bytes per pending future\n",
               tps / uvr.tasks_per_s, rtt / uvr.rtt_us, bytes);
    }
    return 0;
}
