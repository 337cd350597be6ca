/*
 * tools/cmd_stress.c -- `mpifutures stress`: exactly-once under load.
 *
 *   mpirun -n 3 mpifutures stress [--tasks N] [--fail-rate P]
 *       [--cancel-rate Q] [--seed S] [--workers W] [--json]
 *
 * N tasks through the MPI pool, then through a thread pool of the same
 * width, each submitted one by one with a done callback. A seeded random
 * plan picks the tasks that fail on purpose (rate P) and the futures the
 * submitter cancels right after submitting them (rate Q; a cancel succeeds
 * only while the task is still queued); every 64th future also gets a
 * zero-timeout result call while it is in flight. Then every future is
 * checked:
 * - it ended in exactly one terminal state, the one its callback saw, and
 *   its callback fired exactly once;
 * - FINISHED ones carry exactly the value their task computes from its
 *   index, FAILED ones exactly the error their task raised (and only the
 *   planned ones failed), CANCELLED ones are exactly those whose cancel
 *   returned true;
 * - successes + failures + cancels = submitted (`lost` counts the rest).
 * Reported per pool: tasks/s, the peak number of futures in flight
 * (submitted, callback not yet fired), and rank 0's peak RSS growth per
 * live future: VmHWM (reset before the run through /proc/self/clear_refs)
 * less the RSS before the first submit, over the N futures the command
 * holds until it checks them. The command's own per-task arrays are
 * touched before the baseline, so the figure is the library's: the future,
 * its callback, queue links, pool records, a result or an error.
 * Exit status 0 only when both pools pass.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpifutures.h>

#include "ranks/mpi_pool_int.h"
#include "tools/cmd.h"

#define TASK "stress.work"

/* What the plan asked of task i (plan[i] bits) and what happened. */
enum { P_FAIL = 1, P_CANCEL = 2, P_CANCELLED = 4, P_PEEK = 8 };

static int64_t expect_value(size_t i)
{
    return (int64_t)(((uint64_t)i * 0x9E3779B97F4A7C15u) >> 3);
}

/* The run in progress (one at a time): callbacks find it here. */
static struct {
    _Atomic uint8_t *calls;  /* callbacks fired, per task */
    _Atomic uint8_t *seen;   /* state the callback saw, + 1 */
    _Atomic uint8_t *execs;  /* task bodies run in this process, per task */
    _Atomic size_t done;     /* callbacks fired, in all */
} run;

/* stress.work(i, fail) -> expect_value(i), or fails on purpose. */
static int work_task(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t i, fail;
    int rc = mf_args_i64(args, 0, &i);
    if (rc == MF_OK)
        rc = mf_args_i64(args, 1, &fail);
    if (rc != MF_OK)
        return rc;
    /* Counted where the body runs: in this process for the thread pool
     * (the MPI pool's workers run it elsewhere, where execs is NULL). */
    if (run.execs != NULL && i >= 0)
        atomic_fetch_add_explicit(&run.execs[i], 1, memory_order_relaxed);
    if (fail)
        return mf_reply_error(reply, "StressError",
                              "task %lld failed on purpose", (long long)i);
    return mf_reply_i64(reply, expect_value((size_t)i));
}

struct opts {
    size_t tasks, workers;
    double fail_rate, cancel_rate;
    uint64_t seed;
    int json;
};

struct result {
    const char *executor;
    size_t workers;
    size_t submitted, succeeded, failed, cancelled, lost;
    size_t missed_callbacks, duplicate_callbacks, wrong_state, wrong_values;
    size_t submit_errors, peeks, max_inflight;
    size_t wrong_runs; /* bodies run other than once per started task */
    double seconds, bytes_per_inflight;
};


static void on_done(mf_future *f, void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    atomic_store_explicit(&run.seen[i],
                          (uint8_t)(mf_future_state_get(f) + 1),
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&run.calls[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&run.done, 1, memory_order_release);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* VmRSS / VmHWM of this process in bytes; -1 if unreadable. */
static long long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long v = -1;
    size_t k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':')
            v = strtoll(line + k + 1, NULL, 10) * 1024;
    if (f)
        fclose(f);
    return v;
}

static void reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f); /* resets VmHWM to the current RSS */
        fclose(f);
    }
}

/* xorshift64*: the plan is reproducible from --seed. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717u;
}

static int stress(mf_executor *ex, const struct opts *o, struct result *r)
{
    size_t n = o->tasks;
    mf_future **fs = malloc(n * sizeof *fs);
    uint8_t *plan = malloc(n);
    bool local = strcmp(mf_executor_kind(ex), "thread pool") == 0;
    run.calls = malloc(n);
    run.seen = malloc(n);
    run.execs = local ? malloc(n) : NULL;
    if (!fs || !plan || !run.calls || !run.seen || (local && !run.execs)) {
        free(fs);
        free(plan);
        free((void *)run.calls);
        free((void *)run.seen);
        free((void *)run.execs);
        run.calls = run.seen = run.execs = NULL;
        return mf__cmd_fail("stress", MF_ENOMEM);
    }
    /* Touch the command's own arrays before the baseline. */
    memset(fs, 0, n * sizeof *fs);
    memset((void *)run.calls, 0, n);
    memset((void *)run.seen, 0, n);
    if (run.execs != NULL)
        memset((void *)run.execs, 0, n);
    uint64_t s = o->seed ? o->seed : 1;
    for (size_t i = 0; i < n; i++) {
        double a = (double)(rnd(&s) >> 11) * 0x1p-53;
        double b = (double)(rnd(&s) >> 11) * 0x1p-53;
        plan[i] = (uint8_t)((a < o->fail_rate ? P_FAIL : 0) |
                            (b < o->cancel_rate ? P_CANCEL : 0) |
                            (i % 64 == 0 ? P_PEEK : 0));
    }
    atomic_store(&run.done, 0);
    memset(r, 0, sizeof *r);
    r->executor = mf_executor_kind(ex);
    r->workers = mf_executor_max_workers(ex);
    r->submitted = n;

    /* Hand memory freed by an earlier run back to the kernel, so that this
     * run's growth shows in its RSS instead of reusing malloc's free
     * lists. */
    malloc_trim(0);
    reset_hwm();
    long long rss0 = status_kb("VmRSS");
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        int rc = mf_executor_submitf(ex, TASK, &fs[i], "ll", (long long)i,
                                     (long long)(plan[i] & P_FAIL));
        if (rc != MF_OK) {
            r->submit_errors++;
            fs[i] = NULL;
            continue;
        }
        if (mf_future_add_done_callback(fs[i], on_done,
                                        (void *)(uintptr_t)i) != MF_OK)
            r->missed_callbacks++;
        if ((plan[i] & P_CANCEL) && mf_future_cancel(fs[i]))
            plan[i] |= P_CANCELLED;
        if (plan[i] & P_PEEK) {
            /* A zero timeout: a timeout or an outcome, never a hang. */
            int prc = mf_future_result(fs[i], 0, NULL);
            r->peeks += prc == MF_ETIMEDOUT || prc == MF_OK ||
                        prc == MF_ETASK || prc == MF_ECANCELLED;
        }
        size_t inflight = i + 1 - atomic_load_explicit(&run.done,
                                                       memory_order_relaxed);
        if (inflight > r->max_inflight)
            r->max_inflight = inflight;
    }
    /* One deadline for the whole wait: k lost futures cost 300 s, not
     * k times that. */
    double deadline = now() + 300;
    for (size_t i = 0; i < n; i++) {
        double left = deadline - now();
        if (fs[i] && mf_future_wait(fs[i], left > 0 ? left : 0) != MF_OK)
            r->lost++; /* never done */
    }
    r->seconds = now() - t0;
    /* A waiting shutdown returns once every done callback has run: after
     * it no callback can fire late, so the counts below are final. */
    int drained = mf_executor_shutdown_timed(ex, false, 60) == MF_OK;
    long long hwm = status_kb("VmHWM");
    /* Every future stays referenced until the checks below, so the peak
     * holds n live futures: most still in flight on the MPI pool (see
     * max_inflight), the rest done and holding their result or error. */
    if (hwm > 0 && rss0 > 0 && n > r->submit_errors)
        r->bytes_per_inflight =
            (double)(hwm - rss0) / (double)(n - r->submit_errors);

    for (size_t i = 0; i < n; i++) {
        if (fs[i] == NULL)
            continue;
        mf_future_state st = mf_future_state_get(fs[i]);
        uint8_t calls = atomic_load(&run.calls[i]);
        if (calls == 0)
            r->missed_callbacks++;
        else if (calls > 1)
            r->duplicate_callbacks++;
        else if (atomic_load(&run.seen[i]) != st + 1)
            r->wrong_state++;
        int cancelled = (plan[i] & P_CANCELLED) != 0;
        if (st == MF_CANCELLED) {
            r->cancelled++;
            r->wrong_state += !cancelled;
        } else if (st == MF_FINISHED) {
            int64_t v;
            r->succeeded++;
            r->wrong_state += cancelled || (plan[i] & P_FAIL);
            if (mf_future_result_i64(fs[i], 0, &v) != MF_OK ||
                v != expect_value(i))
                r->wrong_values++;
        } else if (st == MF_FAILED) {
            const mf_error *e;
            char want[64];
            r->failed++;
            r->wrong_state += cancelled || !(plan[i] & P_FAIL);
            snprintf(want, sizeof want, "task %zu failed on purpose", i);
            if (mf_future_exception(fs[i], 0, &e) != MF_OK || e == NULL ||
                mf_error_code(e) != MF_ETASK ||
                strcmp(mf_error_message(e), want) != 0)
                r->wrong_values++;
        } else if (r->lost == 0) {
            r->lost++; /* not terminal, yet wait said done: impossible */
        }
        if (run.execs != NULL)
            r->wrong_runs += atomic_load(&run.execs[i]) !=
                             (st == MF_FINISHED || st == MF_FAILED);
        mf_future_release(fs[i]);
    }
    size_t fired = atomic_load(&run.done);
    if (fired != n - r->submit_errors && r->lost == 0)
        r->duplicate_callbacks += fired > n - r->submit_errors;
    mf_pool_stats ps;
    if (!local && mf_mpi_pool_stats(ex, &ps) == MF_OK &&
        ps.tasks != r->succeeded + r->failed)
        r->wrong_runs++; /* results received other than once per task */
    free(fs);
    free(plan);
    if (!drained) {
        /* Callbacks may still come: leave them their arrays. */
        fprintf(stderr, "mpifutures stress: %s did not shut down within "
                        "60 s; its callback arrays are left allocated\n",
                r->executor);
        run.calls = run.seen = run.execs = NULL;
        return 0;
    }
    free((void *)run.calls);
    free((void *)run.seen);
    free((void *)run.execs);
    run.calls = run.seen = run.execs = NULL;
    return 0;
}

static int exactly_once(const struct result *r)
{
    return r->lost == 0 && r->missed_callbacks == 0 &&
           r->duplicate_callbacks == 0 && r->wrong_state == 0 &&
           r->wrong_runs == 0 &&
           r->wrong_values == 0 && r->submit_errors == 0 &&
           r->succeeded + r->failed + r->cancelled == r->submitted;
}

static void print_result(const struct result *r, int json)
{
    if (json) {
        printf("{\"executor\": \"%s\", \"workers\": %zu, \"submitted\": %zu, "
               "\"succeeded\": %zu, \"failed\": %zu, \"cancelled\": %zu, "
               "\"lost\": %zu, \"missed_callbacks\": %zu, "
               "\"duplicate_callbacks\": %zu, \"wrong_state\": %zu, "
               "\"wrong_values\": %zu, \"wrong_runs\": %zu, "
               "\"submit_errors\": %zu, "
               "\"zero_timeout_peeks\": %zu, \"exactly_once\": %s, "
               "\"seconds\": %.3f, \"tasks_per_s\": %.0f, "
               "\"max_inflight\": %zu, \"bytes_per_inflight_future\": %.1f}",
               r->executor, r->workers, r->submitted, r->succeeded, r->failed,
               r->cancelled, r->lost, r->missed_callbacks,
               r->duplicate_callbacks, r->wrong_state, r->wrong_values,
               r->wrong_runs, r->submit_errors, r->peeks,
               exactly_once(r) ? "true" : "false",
               r->seconds, (double)r->submitted / r->seconds,
               r->max_inflight, r->bytes_per_inflight);
        return;
    }
    printf("%-12s %zu workers: %zu submitted = %zu succeeded + %zu failed + "
           "%zu cancelled (+ %zu lost)\n",
           r->executor, r->workers, r->submitted, r->succeeded, r->failed,
           r->cancelled, r->lost);
    printf("%-12s callbacks missed %zu, fired twice %zu; wrong states %zu, "
           "wrong values %zu, bodies run other than once %zu; exactly once: "
           "%s\n",
           "", r->missed_callbacks, r->duplicate_callbacks, r->wrong_state,
           r->wrong_values, r->wrong_runs, exactly_once(r) ? "yes" : "NO");
    printf("%-12s %.0f tasks/s; peak %zu in flight; %.0f bytes of rank 0's "
           "RSS per live future\n",
           "", (double)r->submitted / r->seconds, r->max_inflight,
           r->bytes_per_inflight);
}

static double rate(const char *opt, const char *v)
{
    char *end;
    double x = v ? strtod(v, &end) : -1;
    if (v == NULL || *end != '\0' || !(x >= 0 && x <= 1)) {
        mf__cmd_errorf("stress: %s needs a fraction between 0 and 1, got "
                       "'%s'",
                       opt, v ? v : "(nothing)");
        exit(2);
    }
    return x;
}

int mf__cmd_stress(int *argc, char ***argv, int first)
{
    struct opts o = {.tasks = 1000000, .fail_rate = 0.3,
                     .cancel_rate = 0.05, .seed = 12345};
    for (int i = first; i < *argc; i++) {
        const char *a = (*argv)[i];
        const char *v = i + 1 < *argc ? (*argv)[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
            continue;
        }
        if (strcmp(a, "--tasks") == 0)
            o.tasks = mf__cmd_count(a, v);
        else if (strcmp(a, "--workers") == 0)
            o.workers = mf__cmd_count(a, v);
        else if (strcmp(a, "--seed") == 0)
            o.seed = mf__cmd_count(a, v);
        else if (strcmp(a, "--fail-rate") == 0)
            o.fail_rate = rate(a, v);
        else if (strcmp(a, "--cancel-rate") == 0)
            o.cancel_rate = rate(a, v);
        else {
            mf__cmd_errorf("stress: unknown option '%s' (see mpifutures "
                           "help)",
                           a);
            return 2;
        }
        i++;
    }
    if (mf_task_register(TASK, work_task, NULL) != MF_OK)
        return mf__cmd_fail("register " TASK, MF_EEXIST);
    mf_mpi_pool_opts po = {.max_workers = o.workers};
    mf_executor *mpi;
    int rc = mf_mpi_pool_new(argc, argv, &po, &mpi);
    if (rc != MF_OK)
        return mf__cmd_fail("MPI pool", rc);
    if (mpi == NULL)
        return 0; /* a worker rank: done */
    struct result res[2];
    int bad = stress(mpi, &o, &res[0]);
    size_t w = mf_executor_max_workers(mpi);
    mf_executor *threads = NULL;
    mf_thread_pool_opts to = {.max_workers = w, .name_prefix = "stress"};
    if (!bad && (rc = mf_thread_pool_new(&to, &threads)) != MF_OK)
        bad = mf__cmd_fail("thread pool", rc);
    if (!bad)
        bad = stress(threads, &o, &res[1]);
    mf_executor_free(threads);
    mf_executor_free(mpi);
    if (bad)
        return 1;
    int once = exactly_once(&res[0]) && exactly_once(&res[1]);
    size_t lost = res[0].lost + res[1].lost;
    double bpf = res[0].bytes_per_inflight > res[1].bytes_per_inflight
                     ? res[0].bytes_per_inflight
                     : res[1].bytes_per_inflight;
    if (o.json) {
        printf("{\"tasks\": %zu, \"fail_rate\": %g, \"cancel_rate\": %g, "
               "\"seed\": %llu, \"pools\": [",
               o.tasks, o.fail_rate, o.cancel_rate,
               (unsigned long long)o.seed);
        print_result(&res[0], 1);
        printf(", ");
        print_result(&res[1], 1);
        printf("], \"exactly_once\": %s, \"lost\": %zu, "
               "\"bytes_per_inflight_future\": %.1f}\n",
               once ? "true" : "false", lost, bpf);
    } else {
        printf("mpifutures stress: %zu tasks per pool, fail rate %g, cancel "
               "rate %g, seed %llu\n\n",
               o.tasks, o.fail_rate, o.cancel_rate,
               (unsigned long long)o.seed);
        print_result(&res[0], 0);
        print_result(&res[1], 0);
        printf("\nexactly once: %s; lost: %zu; worst bytes per in-flight "
               "future: %.0f\n",
               once ? "yes" : "NO", lost, bpf);
    }
    return once ? 0 : 1;
}
