/*
 * bench/uv_baseline.c -- the libuv baseline: uv_queue_work with an empty
 * work callback, batch throughput and one-at-a-time round trip, measured
 * exactly as bench_threads.c measures the pool.
 */
#include <stdlib.h>

#include <uv.h>

#include "bench/bench.h"

static size_t done_count;

static void work_cb(uv_work_t *req)
{
    (void)req;
}

static void after_cb(uv_work_t *req, int status)
{
    (void)req;
    (void)status;
    done_count++;
}

int mf_bench_uv(size_t tasks, size_t rounds, struct mf_uv_result *out)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return -1;
    uv_work_t *reqs = calloc(tasks > rounds ? tasks : rounds, sizeof *reqs);
    double *rtt = calloc(rounds, sizeof *rtt);
    if (reqs == NULL || rtt == NULL) {
        free(reqs);
        free(rtt);
        uv_loop_close(&loop);
        return -1;
    }

    /* Warm the pool up (libuv starts its threads on first use). */
    done_count = 0;
    uv_queue_work(&loop, &reqs[0], work_cb, after_cb);
    uv_run(&loop, UV_RUN_DEFAULT);

    done_count = 0;
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < tasks; i++)
        uv_queue_work(&loop, &reqs[i], work_cb, after_cb);
    uv_run(&loop, UV_RUN_DEFAULT);
    uint64_t t1 = uv_hrtime();
    out->tasks_per_s = (double)done_count / ((double)(t1 - t0) * 1e-9);

    for (size_t i = 0; i < rounds; i++) {
        uint64_t a = uv_hrtime();
        uv_queue_work(&loop, &reqs[i], work_cb, after_cb);
        uv_run(&loop, UV_RUN_DEFAULT);
        rtt[i] = (double)(uv_hrtime() - a) * 1e-3;
    }
    out->rtt_us = mf_bench_median(rtt, rounds);
    const char *env = getenv("UV_THREADPOOL_SIZE");
    out->threads = env ? atoi(env) : 4;
    free(reqs);
    free(rtt);
    uv_loop_close(&loop);
    return 0;
}
