/*
 * bench/bench_mpi.c -- `mpifutures bench mpi`: the MPI pool measured beside
 * raw MPI between the same ranks, in the same run.
 *
 * - raw_mpi_rtt_us: median 8-byte MPI_Send/MPI_Recv round trip between
 *   ranks 0 and 1, before the pool starts (under mpirun only);
 * - rtt_us: median submit -> result of one empty task at a time;
 * - submit_tasks_per_s: N empty tasks submitted one by one, then every
 *   result collected;
 * - map1_tasks_per_s / map_auto_tasks_per_s: the same N through map at
 *   chunksize 1 and MF_CHUNK_AUTO;
 * - idle_root_cpu_pct: CPU time of the whole rank-0 process (all its
 *   threads) while one 1-second task runs on a worker, over wall time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <mpifutures.h>

#include "bench/bench.h"
#include "ranks/mpi_pool_int.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int empty_task(const mf_args *args, mf_reply *reply, void *udata)
{
    return mf_reply_nil(reply);
}

static int sleep_task(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t ms;
    int rc = mf_args_i64(args, 0, &ms);
    if (rc != MF_OK)
        return rc;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return mf_reply_nil(reply);
}

static int fill_empty(size_t i, mf_pack *args, void *udata)
{
    mf_pack_array(args, 0);
    return MF_OK;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "mpifutures bench mpi: %s: %s (%s)\n", what,
            mf_strerror(rc), mf_errmsg());
    return 1;
}

static int map_rate(mf_executor *ex, size_t n, size_t chunk, double *per_s)
{
    mf_map_opts o = {.chunksize = chunk};
    mf_map *m;
    double t0 = now();
    int rc = mf_executor_map(ex, "bench.empty", n, fill_empty, NULL, &o, &m);
    if (rc != MF_OK)
        return fail("map", rc);
    size_t got = 0;
    while ((rc = mf_map_next(m, NULL, NULL)) == MF_OK)
        got++;
    *per_s = (double)got / (now() - t0);
    mf_map_free(m);
    return got == n ? 0 : fail("map results", rc);
}

int mf_bench_mpi(int *argc, char ***argv, const struct mf_bench_mpi_opts *o)
{
    if (mf_task_register("bench.empty", empty_task, NULL) != MF_OK ||
        mf_task_register("bench.sleep_ms", sleep_task, NULL) != MF_OK)
        return fail("register", MF_EEXIST);
    int rc = mf__mpi_init(argc, argv);
    if (rc != MF_OK)
        return fail("MPI", rc);
    double raw = mf__mpi_pingpong_us(8, 20000);
    mf_executor *ex;
    rc = mf_mpi_pool_new(argc, argv, NULL, &ex);
    if (rc != MF_OK) {
        mf__mpi_finalize();
        return fail("MPI pool", rc);
    }
    if (ex == NULL) { /* a worker rank */
        mf__mpi_finalize();
        return 0;
    }
    int bad = 0;
    size_t n = o->tasks;

    /* One at a time. */
    double *t = malloc(o->rounds * sizeof *t);
    for (size_t i = 0; t != NULL && i < o->rounds && !bad; i++) {
        mf_future *f;
        double a = now();
        rc = mf_executor_submit(ex, "bench.empty", NULL, 0, &f);
        if (rc == MF_OK)
            rc = mf_future_result(f, MF_FOREVER, NULL);
        t[i] = (now() - a) * 1e6;
        mf_future_release(f);
        bad = rc != MF_OK ? fail("rtt", rc) : 0;
    }
    double rtt = t ? mf_bench_median(t, o->rounds) : -1;
    free(t);

    /* Many submits. */
    double submit_rate = 0;
    mf_future **fs = malloc(n * sizeof *fs);
    if (!bad && fs != NULL) {
        double a = now();
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            if (mf_executor_submit(ex, "bench.empty", NULL, 0, &fs[i]) !=
                MF_OK)
                fs[i] = NULL;
        for (size_t i = 0; i < n; i++) {
            ok += fs[i] && mf_future_result(fs[i], MF_FOREVER, NULL) == MF_OK;
            mf_future_release(fs[i]);
        }
        submit_rate = (double)ok / (now() - a);
        bad = ok != n ? fail("submit results", MF_ETASK) : 0;
    }
    free(fs);

    double map1 = 0, map_auto = 0;
    mf_pool_stats st = {0};
    if (!bad)
        bad = map_rate(ex, n, 1, &map1);
    mf_mpi_pool_stats_reset(ex);
    if (!bad)
        bad = map_rate(ex, 10 * n, 0, &map_auto);
    mf_mpi_pool_stats(ex, &st);

    /* The root's CPU while one long task runs. */
    double idle_pct = -1;
    if (!bad) {
        mf_future *f;
        mf_executor_submitf(ex, "bench.sleep_ms", &f, "l", 10LL);
        mf_future_wait(f, MF_FOREVER);
        mf_future_release(f);
        double c0 = cpu_s(), w0 = now();
        mf_executor_submitf(ex, "bench.sleep_ms", &f, "l", 1000LL);
        mf_future_wait(f, MF_FOREVER);
        idle_pct = 100 * (cpu_s() - c0) / (now() - w0);
        mf_future_release(f);
    }
    size_t workers = mf_executor_max_workers(ex);
    mf_executor_free(ex);
    mf__mpi_finalize();
    if (bad)
        return 1;

    if (o->json) {
        printf("{\"workers\": %zu, \"tasks\": %zu, \"rounds\": %zu, "
               "\"rtt_us\": %.2f, \"raw_mpi_rtt_us\": %.2f, "
               "\"rtt_ratio\": %.2f, \"submit_tasks_per_s\": %.0f, "
               "\"map1_tasks_per_s\": %.0f, \"map_auto_tasks_per_s\": %.0f, "
               "\"map_auto_tasks\": %zu, \"map_auto_messages\": %llu, "
               "\"idle_root_cpu_pct\": %.2f}\n",
               workers, n, o->rounds, rtt, raw, raw > 0 ? rtt / raw : -1,
               submit_rate, map1, map_auto, 10 * n,
               (unsigned long long)st.messages, idle_pct);
    } else {
        printf("MPI pool, %zu workers\n\n", workers);
        printf("%-40s %12.2f us\n", "round trip, one empty task", rtt);
        if (raw > 0)
            printf("%-40s %12.2f us  (pool = %.1fx raw)\n",
                   "raw MPI ping-pong, 8 bytes, ranks 0-1", raw, rtt / raw);
        else
            printf("%-40s %15s\n", "raw MPI ping-pong",
                   "n/a (no mpirun)");
        printf("%-40s %12.0f tasks/s\n", "submit, one by one", submit_rate);
        printf("%-40s %12.0f tasks/s\n", "map, chunksize 1", map1);
        printf("%-40s %12.0f tasks/s  (%llu messages)\n",
               "map, chunksize auto", map_auto,
               (unsigned long long)st.messages);
        printf("%-40s %12.2f %%\n", "rank 0 CPU while a 1 s task runs",
               idle_pct);
    }
    return 0;
}
