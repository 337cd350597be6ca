/*
 * tools/cmd_primes.c -- `mpifutures primes`: count primes below N by trial
 * division, split into K ranges, sequentially on rank 0 and then on the MPI
 * process pool; check that both counts agree and report the speedup, the
 * efficiency and where the pool's time went.
 *
 *   mpirun -n 3 mpifutures primes [--limit N] [--tasks K]
 *       [--chunksize C|auto] [--workers W] [--scaling] [--json]
 *
 * Without mpirun it spawns W workers (default: the online cores).
 * --scaling runs the pool with 1..W of its workers and prints a table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpifutures.h>

#include "ranks/mpi_pool_int.h"
#include "tools/cmd.h"

/* Primes in [lo, hi) by trial division (the lecture's computePrimeCount). */
static int64_t count_range(int64_t lo, int64_t hi)
{
    int64_t count = 0;
    for (int64_t n = lo < 2 ? 2 : lo; n < hi; n++) {
        int64_t root = (int64_t)sqrt((double)n);
        int prime = 1;
        for (int64_t i = 2; i <= root; i++) {
            if (n % i == 0) {
                prime = 0;
                break;
            }
        }
        count += prime;
    }
    return count;
}

static int range_task(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t lo, hi;
    int rc = mf_args_i64(args, 0, &lo);
    if (rc == MF_OK)
        rc = mf_args_i64(args, 1, &hi);
    if (rc != MF_OK)
        return rc;
    return mf_reply_i64(reply, count_range(lo, hi));
}

struct opts {
    int64_t limit;
    size_t tasks, chunksize, workers;
    int scaling, json;
};

struct ranges {
    int64_t limit;
    size_t k;
};

static void bounds(const struct ranges *r, size_t i, int64_t *lo, int64_t *hi)
{
    *lo = (int64_t)((double)r->limit * (double)i / (double)r->k);
    *hi = (int64_t)((double)r->limit * (double)(i + 1) / (double)r->k);
}

static int fill_range(size_t i, mf_pack *args, void *udata)
{
    int64_t lo, hi;
    bounds(udata, i, &lo, &hi);
    mf_pack_array(args, 2);
    mf_pack_i64(args, lo);
    mf_pack_i64(args, hi);
    return MF_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One pool run: total count and wall time. */
static int pool_run(mf_executor *ex, const struct opts *o, int64_t *total,
                    double *secs)
{
    struct ranges r = {o->limit, o->tasks};
    mf_map_opts mo = {.chunksize = o->chunksize};
    mf_map *m;
    double t0 = now();
    int rc = mf_executor_map(ex, "primes.range", o->tasks, fill_range, &r,
                             &mo, &m);
    if (rc != MF_OK)
        return rc;
    int64_t sum = 0, v;
    mf_value val;
    while ((rc = mf_map_next(m, NULL, &val)) == MF_OK) {
        if (mf_value_i64(&val, &v) != MF_OK) {
            rc = MF_ETYPE;
            break;
        }
        sum += v;
    }
    *secs = now() - t0;
    if (rc == MF_EOF)
        rc = MF_OK;
    else if (rc == MF_ETASK && mf_map_error(m) != NULL)
        mf__cmd_errorf("a task failed on %s: %s",
                       mf_error_origin(mf_map_error(m)),
                       mf_error_message(mf_map_error(m)));
    mf_map_free(m);
    *total = sum;
    return rc;
}

static int parse(int argc, char **argv, struct opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--scaling") == 0) {
            o->scaling = 1;
        } else if (strcmp(a, "--limit") == 0) {
            o->limit = (int64_t)mf__cmd_count(a, v);
            i++;
        } else if (strcmp(a, "--tasks") == 0) {
            o->tasks = mf__cmd_count(a, v);
            i++;
        } else if (strcmp(a, "--workers") == 0) {
            o->workers = mf__cmd_count(a, v);
            i++;
        } else if (strcmp(a, "--chunksize") == 0) {
            o->chunksize = v && strcmp(v, "auto") == 0
                               ? MF_CHUNK_AUTO
                               : mf__cmd_count(a, v);
            i++;
        } else {
            fprintf(stderr, "mpifutures primes: unknown option '%s'\n", a);
            return 2;
        }
    }
    return 0;
}

int mf__cmd_primes(int *argc, char ***argv, int first)
{
    struct opts o = {4000000, 32, 1, 0, 0, 0};
    int rc = parse(*argc - first, *argv + first, &o);
    if (rc != 0)
        return rc;
    if (mf_task_register("primes.range", range_task, NULL) != MF_OK)
        return mf__cmd_fail("register", MF_EEXIST);
    mf_executor *ex;
    mf_mpi_pool_opts po = {.max_workers = o.workers};
    rc = mf_mpi_pool_new(argc, argv, &po, &ex);
    if (rc != MF_OK)
        return mf__cmd_fail("MPI pool", rc);
    if (ex == NULL)
        return 0; /* a worker rank */

    size_t nw = mf_executor_max_workers(ex);
    size_t w_max = o.workers && o.workers < nw ? o.workers : nw;
    double t0 = now();
    int64_t seq = 0;
    struct ranges r = {o.limit, o.tasks};
    for (size_t i = 0; i < o.tasks; i++) {
        int64_t lo, hi;
        bounds(&r, i, &lo, &hi);
        seq += count_range(lo, hi);
    }
    double seq_s = now() - t0;

    size_t first_w = o.scaling ? 1 : w_max;
    int all_match = 1;
    double pool_s = 0, overhead = 0;
    mf_pool_stats st = {0};
    if (!o.json)
        printf("primes below %lld in %zu ranges (chunksize %s): %lld "
               "primes; sequential on rank 0: %.3f s\n\n"
               "%8s %10s %9s %11s %9s %8s\n",
               (long long)o.limit, o.tasks,
               o.chunksize ? "fixed" : "auto", (long long)seq, seq_s,
               "workers", "pool_s", "speedup", "efficiency", "overhead",
               "counts");
    if (o.json)
        printf("{\"limit\": %lld, \"tasks\": %zu, \"chunksize\": %zu, "
               "\"primes\": %lld, \"sequential_s\": %.4f, \"scaling\": [",
               (long long)o.limit, o.tasks, o.chunksize, (long long)seq,
               seq_s);
    for (size_t w = first_w; w <= w_max; w++) {
        mf__mpi_pool_set_active(ex, (int)w);
        mf_mpi_pool_stats_reset(ex);
        int64_t total;
        rc = pool_run(ex, &o, &total, &pool_s);
        if (rc != MF_OK) {
            mf_executor_free(ex);
            return mf__cmd_fail("pool run", rc);
        }
        mf_mpi_pool_stats(ex, &st);
        /* The share of the workers' wall time not spent in task bodies. */
        overhead = 1.0 - st.run_s / (pool_s * (double)w);
        if (overhead < 0)
            overhead = 0;
        int match = total == seq;
        all_match &= match;
        double speedup = seq_s / pool_s;
        if (o.json)
            printf("%s{\"workers\": %zu, \"pool_s\": %.4f, \"speedup\": "
                   "%.3f, \"efficiency\": %.3f, \"overhead_share\": %.4f, "
                   "\"counts_match\": %s}",
                   w > first_w ? ", " : "", w, pool_s, speedup,
                   speedup / (double)w, overhead, match ? "true" : "false");
        else
            printf("%8zu %10.3f %8.2fx %10.0f%% %8.1f%% %8s\n", w, pool_s,
                   speedup, 100 * speedup / (double)w, 100 * overhead,
                   match ? "match" : "DIFFER");
    }
    double speedup = seq_s / pool_s;
    if (o.json) {
        printf("], \"workers\": %zu, \"pool_s\": %.4f, \"speedup\": %.3f, "
               "\"efficiency\": %.3f, \"counts_match\": %s, "
               "\"overhead_share\": %.4f, \"stats\": {\"tasks\": %llu, "
               "\"messages\": %llu, \"queue_s\": %.4f, \"run_s\": %.4f, "
               "\"pack_s\": %.6f, "
               "\"unpack_s\": %.6f, \"result_pack_s\": %.6f, "
               "\"roundtrip_s\": %.4f, \"transfer_s\": %.4f}}\n",
               w_max, pool_s, speedup, speedup / (double)w_max,
               all_match ? "true" : "false", overhead,
               (unsigned long long)st.tasks,
               (unsigned long long)st.messages, st.queue_s, st.run_s,
               st.pack_s,
               st.unpack_s, st.result_pack_s, st.roundtrip_s, st.transfer_s);
    } else {
        printf("\nlast run: %llu tasks in %llu messages; per task: waiting "
               "on rank 0 %.1f ms, run %.1f ms, pack %.1f us, unpack %.1f us, "
               "result pack %.1f us, "
               "in transit or queued at a worker %.1f us\n",
               (unsigned long long)st.tasks,
               (unsigned long long)st.messages,
               1e3 * st.queue_s / (double)(st.tasks ? st.tasks : 1),
               1e3 * st.run_s / (double)(st.tasks ? st.tasks : 1),
               1e6 * st.pack_s / (double)(st.tasks ? st.tasks : 1),
               1e6 * st.unpack_s / (double)(st.tasks ? st.tasks : 1),
               1e6 * st.result_pack_s / (double)(st.tasks ? st.tasks : 1),
               1e6 * st.transfer_s / (double)(st.tasks ? st.tasks : 1));
    }
    mf_executor_free(ex);
    return all_match ? 0 : 1;
}
