/*
 * bench/bench.h -- benchmarks behind `mpifutures bench ...`.
 *
 * Every figure is measured in the same run as its baseline (the machines
 * are shared and noisy: only ratios within one run mean anything).
 */
#ifndef MF_BENCH_H
#define MF_BENCH_H

#include <stddef.h>

struct mf_bench_threads_opts {
    size_t tasks;  /* batch size for throughput */
    size_t rounds; /* one-at-a-time round trips */
    size_t workers; /* 0 = default (online cores) */
    size_t reps;    /* repetitions, interleaved with libuv; medians */
    int json;
};

/* libuv's uv_queue_work, measured the way the pool is: one batch of
 * `tasks` empty works (tasks/s), and the median of `rounds` one-at-a-time
 * round trips (us). Returns -1 on failure. */
struct mf_uv;
struct mf_uv *mf_uv_new(size_t max_tasks);
double mf_uv_batch(struct mf_uv *u, size_t tasks);
double mf_uv_rtt(struct mf_uv *u, size_t rounds);
int mf_uv_threads(void);
void mf_uv_free(struct mf_uv *u);

int mf_bench_threads(const struct mf_bench_threads_opts *o);

struct mf_bench_mpi_opts {
    size_t tasks;  /* submit / map(1) count; map(auto) runs 10x this */
    size_t rounds; /* one-at-a-time round trips */
    int json;
};

/* Collective: call on every rank; worker ranks return 0 when done. */
int mf_bench_mpi(int *argc, char ***argv, const struct mf_bench_mpi_opts *o);

struct mf_bench_loop_opts {
    size_t tasks, rounds, reps;
    int json;
    int http;            /* also run the HTTP responsiveness test */
    double http_seconds; /* per mode */
};
int mf_bench_loop(const struct mf_bench_loop_opts *o);

/* The responsiveness test: a libuv HTTP server (bench/http_load.c) whose
 * /slow runs a blocking 50 ms call (through run_in_executor, or inline on
 * the loop when `inline_mode`), loaded over loopback TCP: /slow kept
 * saturated while /fast is timed. */
struct mf_http_load_result {
    double fast_p50_ms, fast_p99_ms;
    size_t fast_done, slow_done;
};
int mf_http_load(int inline_mode, double seconds,
                 struct mf_http_load_result *out);

/* Median of n doubles (sorts in place). */
double mf_bench_median(double *v, size_t n);

#endif
