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
    int json;
};

/* libuv's uv_queue_work, measured the way the pool is. */
struct mf_uv_result {
    double tasks_per_s;
    double rtt_us; /* median */
    int threads;
};
int mf_bench_uv(size_t tasks, size_t rounds, struct mf_uv_result *out);

int mf_bench_threads(const struct mf_bench_threads_opts *o);

/* Median of n doubles (sorts in place). */
double mf_bench_median(double *v, size_t n);

#endif
