/*
 * bench/uv_baseline.c -- the libuv baseline: uv_queue_work with an empty
 * work callback, batch throughput and one-at-a-time round trip, measured
 * exactly as bench_threads.c measures the pool.
 */
#include <stdlib.h>

#include <uv.h>

#include "bench/bench.h"

struct mf_uv {
    uv_loop_t loop;
    uv_work_t *reqs;
    size_t cap;
    size_t done;
};

static void work_cb(uv_work_t *req)
{
    (void)req;
}

static void after_cb(uv_work_t *req, int status)
{
    struct mf_uv *u = req->data;
    (void)status;
    u->done++;
}

struct mf_uv *mf_uv_new(size_t max_tasks)
{
    struct mf_uv *u = calloc(1, sizeof *u);
    if (u == NULL)
        return NULL;
    u->reqs = calloc(max_tasks ? max_tasks : 1, sizeof *u->reqs);
    if (u->reqs == NULL || uv_loop_init(&u->loop) != 0) {
        free(u->reqs);
        free(u);
        return NULL;
    }
    u->cap = max_tasks ? max_tasks : 1;
    for (size_t i = 0; i < u->cap; i++)
        u->reqs[i].data = u;
    /* Warm up: libuv starts its threads on first use. */
    uv_queue_work(&u->loop, &u->reqs[0], work_cb, after_cb);
    uv_run(&u->loop, UV_RUN_DEFAULT);
    return u;
}

double mf_uv_batch(struct mf_uv *u, size_t tasks)
{
    if (tasks > u->cap)
        tasks = u->cap;
    u->done = 0;
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < tasks; i++)
        uv_queue_work(&u->loop, &u->reqs[i], work_cb, after_cb);
    uv_run(&u->loop, UV_RUN_DEFAULT);
    uint64_t t1 = uv_hrtime();
    if (u->done != tasks)
        return -1;
    return (double)tasks / ((double)(t1 - t0) * 1e-9);
}

double mf_uv_rtt(struct mf_uv *u, size_t rounds)
{
    double *rtt = calloc(rounds ? rounds : 1, sizeof *rtt);
    if (rtt == NULL)
        return -1;
    for (size_t i = 0; i < rounds; i++) {
        uint64_t a = uv_hrtime();
        uv_queue_work(&u->loop, &u->reqs[0], work_cb, after_cb);
        uv_run(&u->loop, UV_RUN_DEFAULT);
        rtt[i] = (double)(uv_hrtime() - a) * 1e-3;
    }
    double m = mf_bench_median(rtt, rounds);
    free(rtt);
    return m;
}

int mf_uv_threads(void)
{
    const char *env = getenv("UV_THREADPOOL_SIZE");
    return env ? atoi(env) : 4;
}

void mf_uv_free(struct mf_uv *u)
{
    if (u == NULL)
        return;
    uv_loop_close(&u->loop);
    free(u->reqs);
    free(u);
}
