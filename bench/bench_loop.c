/*
 * bench/bench_loop.c -- `mpifutures bench loop`: run_in_executor on the
 * event-loop bridge against libuv's own uv_queue_work, in the same run.
 *
 * - rtt_us: on the loop thread, run_in_executor of an empty call on the
 *   thread pool, then uv_run until the loop future is done; median.
 *   libuv_rtt_us: uv_queue_work of an empty work, then uv_run; median.
 * - tasks_per_s: N run_in_executor calls, then uv_run until every loop
 *   future is done. libuv_tasks_per_s: N uv_queue_work, then uv_run.
 * - fast_p99_ms_bridge / fast_p99_ms_inline: see bench/http_load.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uv.h>

#include <mpifutures.h>

#include "bench/bench.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *empty(void *arg)
{
    return arg;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "mpifutures bench loop: %s: %s (%s)\n", what,
            mf_strerror(rc), mf_errmsg());
    return 1;
}

int mf_bench_loop(const struct mf_bench_loop_opts *o)
{
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    mf_executor *ex;
    int rc = mf_loop_new(&uv, &l);
    if (rc == MF_OK)
        rc = mf_thread_pool_new(NULL, &ex);
    if (rc != MF_OK)
        return fail("set-up", rc);
    struct mf_uv *base = mf_uv_new(o->tasks);
    double *t = malloc(o->rounds * sizeof *t);
    mf_lfuture **fs = malloc(o->tasks * sizeof *fs);
    if (base == NULL || t == NULL || fs == NULL)
        return fail("set-up", MF_ENOMEM);

    size_t reps = o->reps ? o->reps : 1;
    double *rtt = calloc(4 * reps, sizeof *rtt);
    double *uvrtt = rtt + reps, *tps = rtt + 2 * reps, *uvtps = rtt + 3 * reps;
    for (size_t r = 0; r < reps; r++) {
        for (size_t i = 0; i < o->rounds; i++) {
            mf_lfuture *f;
            double a = now();
            rc = mf_loop_run_in_executor(l, ex, empty, NULL, &f);
            if (rc != MF_OK)
                return fail("run_in_executor", rc);
            uv_run(&uv, UV_RUN_DEFAULT);
            t[i] = (now() - a) * 1e6;
            if (!mf_lfuture_done(f))
                return fail("rtt", MF_ESTATE);
            mf_lfuture_release(f);
        }
        rtt[r] = mf_bench_median(t, o->rounds);
        uvrtt[r] = mf_uv_rtt(base, o->rounds);

        double a = now();
        for (size_t i = 0; i < o->tasks; i++)
            if ((rc = mf_loop_run_in_executor(l, ex, empty, NULL, &fs[i])) !=
                MF_OK)
                return fail("run_in_executor", rc);
        uv_run(&uv, UV_RUN_DEFAULT);
        tps[r] = (double)o->tasks / (now() - a);
        for (size_t i = 0; i < o->tasks; i++) {
            if (!mf_lfuture_done(fs[i]))
                return fail("batch", MF_ESTATE);
            mf_lfuture_release(fs[i]);
        }
        uvtps[r] = mf_uv_batch(base, o->tasks);
    }
    size_t wakeups, completions;
    mf_loop_counters(l, &wakeups, &completions);
    double m_rtt = mf_bench_median(rtt, reps), m_uvrtt = mf_bench_median(uvrtt, reps);
    double m_tps = mf_bench_median(tps, reps), m_uvtps = mf_bench_median(uvtps, reps);
    free(rtt);
    free(t);
    free(fs);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    uv_loop_close(&uv);
    mf_executor_free(ex);
    mf_uv_free(base);

    struct mf_http_load_result br = {0}, in = {0};
    if (o->http) {
        if (mf_http_load(0, o->http_seconds, &br) != 0 ||
            mf_http_load(1, o->http_seconds, &in) != 0)
            return fail("http load", MF_ESYS);
    }
    if (o->json) {
        printf("{\"tasks\": %zu, \"rounds\": %zu, \"reps\": %zu, "
               "\"rtt_us\": %.2f, \"libuv_rtt_us\": %.2f, "
               "\"tasks_per_s\": %.0f, \"libuv_tasks_per_s\": %.0f, "
               "\"wakeups\": %zu, \"completions\": %zu",
               o->tasks, o->rounds, reps, m_rtt, m_uvrtt, m_tps, m_uvtps,
               wakeups, completions);
        if (o->http)
            printf(", \"fast_p99_ms_bridge\": %.2f, "
                   "\"fast_p99_ms_inline\": %.2f, \"fast_p50_ms_bridge\": "
                   "%.2f, \"fast_p50_ms_inline\": %.2f, \"slow_done_bridge\": "
                   "%zu, \"slow_done_inline\": %zu",
                   br.fast_p99_ms, in.fast_p99_ms, br.fast_p50_ms,
                   in.fast_p50_ms, br.slow_done, in.slow_done);
        printf("}\n");
    } else {
        printf("event-loop bridge (thread pool) vs libuv uv_queue_work, "
               "medians of %zu repetitions\n\n", reps);
        printf("%-36s %12.2f us   libuv %10.2f us\n", "round trip", m_rtt,
               m_uvrtt);
        printf("%-36s %12.0f /s   libuv %10.0f /s\n", "batch of empty calls",
               m_tps, m_uvtps);
        printf("%-36s %zu completions in %zu wake-ups\n", "coalescing",
               completions, wakeups);
        if (o->http)
            printf("%-36s p50 %.2f ms, p99 %.2f ms (bridge) vs p50 %.2f "
                   "ms, p99 %.2f ms (inline)\n",
                   "/fast while /slow is saturated", br.fast_p50_ms,
                   br.fast_p99_ms, in.fast_p50_ms, in.fast_p99_ms);
    }
    return 0;
}
