/*
 * bench/overhead.c -- the measurements of `mpifutures overhead` (see
 * overhead.h): calibration, floors, the grid of cells, and the bisection
 * that pins each crossover down between two measured grains.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <mpifutures.h>

#include "bench/bench.h"
#include "bench/overhead.h"
#include "ranks/mpi_pool_int.h"

#define TASK "overhead.work"
/* Arguments and results held at once by one cell, at most. */
#define CELL_BYTES_MAX ((size_t)256 << 20)
#define CELL_TASKS_MAX 200000

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The task's CPU work: a dependent chain of multiply-adds that the
 * compiler may neither skip nor vectorize. */
static uint64_t spin(uint64_t iters)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

/* A sparse fingerprint of a payload: one byte per page and the last one,
 * so the task provably received its arguments without the read itself
 * costing a pass over the memory. */
static uint64_t sample(const unsigned char *p, size_t len)
{
    uint64_t s = len;
    for (size_t i = 0; i < len; i += 4096)
        s = s * 31 + p[i];
    return len ? s * 31 + p[len - 1] : s;
}

/* The payload every rank sends from: same bytes everywhere. */
static unsigned char *pattern;
static size_t pattern_len;

static int make_pattern(size_t len)
{
    pattern_len = len;
    pattern = malloc(len ? len : 1);
    if (pattern == NULL)
        return MF_ENOMEM;
    for (size_t i = 0; i < len; i++)
        pattern[i] = (unsigned char)(i * 131 + (i >> 12));
    return MF_OK;
}

/* overhead.work(iters, payload: bin, result_len) ->
 * [spin(iters) ^ sample(payload), result_len bytes of the pattern]. */
static int work_task(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t iters, rlen;
    const void *in;
    size_t inlen;
    int rc = mf_args_i64(args, 0, &iters);
    if (rc == MF_OK)
        rc = mf_args_bin(args, 1, &in, &inlen);
    if (rc == MF_OK)
        rc = mf_args_i64(args, 2, &rlen);
    if (rc != MF_OK)
        return rc;
    if (iters < 0 || rlen < 0 || (uint64_t)rlen > pattern_len)
        return mf_reply_error(reply, "ValueError",
                              "iters %lld, result %lld bytes: this rank's "
                              "pattern holds %zu",
                              (long long)iters, (long long)rlen, pattern_len);
    uint64_t check = spin((uint64_t)iters) ^ sample(in, inlen);
    mf_pack *p = mf_reply_pack(reply);
    mf_pack_array(p, 2);
    mf_pack_u64(p, check);
    mf_pack_bin(p, pattern, (size_t)rlen);
    return MF_OK;
}

/* --- the lab ---------------------------------------------------------------- */

struct lab {
    const struct ov_opts *o;
    struct ov_result *r;
    mf_executor *mpi, *threads;
    size_t done, total; /* progress */
    double t0;
};

/* One cell's job, shared by its runs. */
struct job {
    uint64_t iters;
    size_t payload;
    uint64_t expect;      /* check every result must carry */
    uint64_t expect_out;  /* sample of the result bytes */
};

struct call {
    const struct job *j;
    unsigned char *out;
    uint64_t check;
};

static void *call_fn(void *arg)
{
    struct call *c = arg;
    c->check = spin(c->j->iters) ^ sample(pattern, c->j->payload);
    c->out = malloc(c->j->payload ? c->j->payload : 1);
    if (c->out != NULL)
        memcpy(c->out, pattern, c->j->payload);
    return c;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "mpifutures overhead: %s: %s (%s)\n", what,
            mf_strerror(rc), mf_errmsg());
    return 1;
}

static int bad_result(const char *exec, size_t i, const char *why)
{
    fprintf(stderr,
            "mpifutures overhead: %s: result of task %zu is wrong (%s)\n",
            exec, i, why);
    return 1;
}

static int run_seq(const struct job *j, size_t n, double *secs)
{
    double a = now();
    for (size_t i = 0; i < n; i++) {
        struct call c = {j, NULL, 0};
        call_fn(&c);
        if (c.out == NULL)
            return bad_result("sequential", i, "out of memory");
        int ok = c.check == j->expect &&
                 sample(c.out, j->payload) == j->expect_out;
        free(c.out);
        if (!ok)
            return bad_result("sequential", i, "check differs");
    }
    *secs = now() - a;
    return 0;
}

static int run_threads(mf_executor *ex, const struct job *j, size_t n,
                       double *secs)
{
    struct call *c = calloc(n, sizeof *c);
    mf_future **fs = calloc(n, sizeof *fs);
    int bad = c == NULL || fs == NULL;
    double a = now();
    for (size_t i = 0; i < n && !bad; i++) {
        c[i].j = j;
        int rc = mf_executor_call(ex, call_fn, &c[i], &fs[i]);
        if (rc != MF_OK)
            bad = fail("thread pool submit", rc);
    }
    for (size_t i = 0; i < n; i++) {
        if (fs[i] == NULL)
            continue;
        void *p;
        int rc = mf_future_result_ptr(fs[i], MF_FOREVER, &p);
        mf_future_release(fs[i]);
        if (!bad && rc != MF_OK)
            bad = fail("thread pool task", rc);
        else if (!bad && (c[i].out == NULL || c[i].check != j->expect ||
                          sample(c[i].out, j->payload) != j->expect_out))
            bad = bad_result("threads", i, "check differs");
        free(c[i].out);
    }
    *secs = now() - a;
    free(c);
    free(fs);
    return bad;
}

static int fill_work(size_t i, mf_pack *args, void *udata)
{
    const struct job *j = udata;
    mf_pack_array(args, 3);
    mf_pack_i64(args, (int64_t)j->iters);
    mf_pack_bin(args, pattern, j->payload);
    mf_pack_i64(args, (int64_t)j->payload);
    return MF_OK;
}

static int check_value(const struct job *j, const mf_value *v)
{
    mf_value c, b;
    return mf_value_at(v, 0, &c) == MF_OK && c.type == MF_VALUE_UINT &&
           c.via.u == j->expect && mf_value_at(v, 1, &b) == MF_OK &&
           b.type == MF_VALUE_BIN && b.via.bin.len == j->payload &&
           sample(b.via.bin.ptr, b.via.bin.len) == j->expect_out;
}

static int run_mpi(mf_executor *ex, const struct job *j, size_t n,
                   size_t chunk, double *secs, double *submit_s)
{
    mf_map_opts mo = {.chunksize = chunk};
    mf_map *m;
    double a = now();
    int rc = mf_executor_map(ex, TASK, n, fill_work, (void *)j, &mo, &m);
    double b = now();
    if (rc != MF_OK)
        return fail("MPI pool map", rc);
    size_t got = 0, idx;
    mf_value v;
    int bad = 0;
    while (!bad && (rc = mf_map_next(m, &idx, &v)) == MF_OK) {
        got++;
        if (!check_value(j, &v))
            bad = bad_result(chunk == 1 ? "MPI pool, chunksize 1"
                                        : "MPI pool, chunksize auto",
                             idx, "check differs");
    }
    if (!bad && rc != MF_EOF) {
        const mf_error *e = mf_map_error(m);
        fprintf(stderr, "mpifutures overhead: MPI pool task %zu: %s\n", got,
                e ? mf_error_message(e) : mf_errmsg());
        bad = 1;
    }
    *secs = now() - a;
    *submit_s = b - a;
    mf_map_free(m);
    if (!bad && got != n)
        bad = bad_result("MPI pool", got, "missing results");
    return bad;
}

static double median(double *v, size_t n)
{
    return mf_bench_median(v, n);
}

static const struct ov_floor *floor_of(const struct ov_result *r,
                                       size_t payload)
{
    for (size_t i = 0; i < OV_MAX_PAYLOADS; i++)
        if (r->floors[i].payload == payload)
            return &r->floors[i];
    return NULL;
}

/* Tasks per run: about cell_s of sequential work, a multiple of the
 * workers, at least two rounds of them, within the memory cap. */
static size_t cell_tasks(const struct lab *L, size_t payload, double grain_us)
{
    const struct ov_floor *f = floor_of(L->r, payload);
    double est = grain_us * 1e-6 + (f ? 2 * f->memcpy_us * 1e-6 : 0) + 1e-7;
    size_t w = L->r->workers;
    size_t n = (size_t)(L->o->cell_s / est);
    size_t mem = CELL_BYTES_MAX / (2 * (payload ? payload : 1));
    if (n > mem)
        n = mem;
    if (n > CELL_TASKS_MAX)
        n = CELL_TASKS_MAX;
    if (n < 2 * w)
        n = 2 * w;
    return (n + w - 1) / w * w;
}

static void progress(struct lab *L, const char *what)
{
    if (!L->o->progress)
        return;
    size_t width = 30, fill = L->total ? L->done * width / L->total : 0;
    if (fill > width)
        fill = width;
    char bar[64];
    memset(bar, '#', fill);
    memset(bar + fill, '.', width - fill);
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %3zu/%zu cells %5.0fs  %-34s", bar, L->done,
            L->total, now() - L->t0, what);
    fflush(stderr);
}

static struct ov_cell *new_cell(struct ov_result *r)
{
    if (r->ncells == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct ov_cell *c = realloc(r->cells, cap * sizeof *c);
        if (c == NULL)
            return NULL;
        r->cells = c;
        r->cap = cap;
    }
    struct ov_cell *c = &r->cells[r->ncells++];
    memset(c, 0, sizeof *c);
    return c;
}

static void add_split(struct ov_split *s, const mf_pool_stats *st,
                      double submit_s, double cpu)
{
    s->root_cpu += cpu;
    s->submit += submit_s;
    s->queue += st->queue_s;
    s->pack += st->pack_s;
    s->transfer += st->transfer_s;
    s->unpack += st->unpack_s;
    s->run += st->run_s;
    s->result_pack += st->result_pack_s;
}

static void scale_split(struct ov_split *s, double tasks)
{
    if (tasks <= 0)
        return;
    s->submit /= tasks;
    s->queue /= tasks;
    s->pack /= tasks;
    s->transfer /= tasks;
    s->unpack /= tasks;
    s->run /= tasks;
    s->result_pack /= tasks;
    s->root_cpu /= tasks;
}

/* Measure one (payload, grain) cell with every executor, interleaved. */
static int run_cell(struct lab *L, size_t payload, double grain_us,
                    int refined)
{
    char what[64], sz[32];
    snprintf(what, sizeof what, "%s, %g us%s",
             ov_size_str(payload, sz, sizeof sz), grain_us,
             refined ? " (bisecting)" : "");
    progress(L, what);

    struct job j = {.payload = payload};
    j.iters = (uint64_t)llround(grain_us * L->r->iters_per_us);
    j.expect = spin(j.iters) ^ sample(pattern, payload);
    j.expect_out = sample(pattern, payload);
    size_t n = cell_tasks(L, payload, grain_us);
    size_t reps = L->o->reps;
    double t[OV_NEXEC][64];
    double tasks[2] = {0, 0}, messages = 0;
    struct ov_split split[2];
    memset(split, 0, sizeof split);
    if (reps > 64)
        reps = 64;

    for (size_t k = 0; k < reps; k++) {
        if (run_seq(&j, n, &t[OV_SEQ][k]) ||
            run_threads(L->threads, &j, n, &t[OV_THREADS][k]))
            return 1;
        for (int c = 0; c < 2; c++) {
            double sub;
            mf_pool_stats st;
            mf_mpi_pool_stats_reset(L->mpi);
            double cpu = cpu_s();
            if (run_mpi(L->mpi, &j, n, c == 0 ? 1 : MF_CHUNK_AUTO,
                        &t[OV_MPI1 + c][k], &sub))
                return 1;
            cpu = cpu_s() - cpu;
            mf_mpi_pool_stats(L->mpi, &st);
            add_split(&split[c], &st, sub, cpu);
            tasks[c] += (double)st.tasks;
            if (c == 1)
                messages += (double)st.messages;
        }
    }
    struct ov_cell *cell = new_cell(L->r);
    if (cell == NULL)
        return fail("overhead", MF_ENOMEM);
    cell->payload = payload;
    cell->grain_us = grain_us;
    cell->n = n;
    cell->refined = refined;
    for (int e = 0; e < OV_NEXEC; e++)
        cell->t[e] = median(t[e], reps);
    for (int c = 0; c < 2; c++) {
        scale_split(&split[c], tasks[c]);
        cell->split[c] = split[c];
    }
    cell->auto_chunk = messages > 0 ? tasks[1] / messages : 0;
    L->done++;
    return 0;
}

/* Narrow each executor's crossover for this payload by log-bisection
 * between the largest losing and the smallest winning grain. */
static int refine(struct lab *L, size_t p)
{
    for (int e = OV_THREADS; e < OV_NEXEC; e++) {
        for (size_t s = 0; s < L->o->refine; s++) {
            struct ov_cross c = ov_crossover(L->r, p, e);
            if (c.us <= 0 || c.below <= 0 || c.us / c.below < 1.15)
                break;
            double mid = sqrt(c.us * c.below);
            mid = mid >= 10 ? round(mid) : round(mid * 10) / 10;
            if (mid <= c.below || mid >= c.us)
                break;
            L->total++;
            if (run_cell(L, p, mid, 1))
                return 1;
        }
    }
    return 0;
}

/* --- floors ----------------------------------------------------------------- */

/* Calls of f until at least `secs` have passed; seconds per call. */
static double per_call(void (*f)(size_t, void *), size_t a, void *ctx,
                       double secs)
{
    size_t calls = 0, batch = 1;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < batch; i++)
            f(a, ctx);
        calls += batch;
        batch *= 2;
        t = now() - t0;
    } while (t < secs);
    return t / (double)calls;
}

static void do_memcpy(size_t n, void *ctx)
{
    memcpy(ctx, pattern, n);
    __asm__ volatile("" ::"r"(ctx) : "memory");
}

static void do_pack(size_t n, void *ctx)
{
    mf_pack *p = ctx;
    mf_pack_reset(p);
    mf_pack_array(p, 3);
    mf_pack_i64(p, 123456);
    mf_pack_bin(p, pattern, n);
    mf_pack_i64(p, (int64_t)n);
}

static void do_unpack(size_t n, void *ctx)
{
    mf_pack *p = ctx;
    mf_value v, e;
    uint64_t s = 0;
    if (mf_value_decode(p->data, p->len, &v) == MF_OK)
        for (uint32_t i = 0; i < 3; i++)
            if (mf_value_at(&v, i, &e) == MF_OK)
                s += e.type;
    __asm__ volatile("" ::"r"(s));
}

static void local_floors(struct ov_result *r, const struct ov_opts *o)
{
    unsigned char *dst = malloc(pattern_len ? pattern_len : 1);
    if (dst != NULL) /* a copy into warm pages, not first-touch faults */
        memset(dst, 0, pattern_len ? pattern_len : 1);
    mf_pack p;
    mf_pack_init(&p);
    for (size_t i = 0; i < o->npayloads; i++) {
        size_t n = o->payloads[i];
        struct ov_floor *f = &r->floors[i];
        f->payload = n;
        f->memcpy_us = dst ? 1e6 * per_call(do_memcpy, n, dst, 0.005) : -1;
        f->pack_us = 1e6 * per_call(do_pack, n, &p, 0.005);
        do_pack(n, &p);
        f->unpack_us = 1e6 * per_call(do_unpack, n, &p, 0.002);
    }
    mf_pack_fini(&p);
    free(dst);
}

/* Ping-pong rounds for a payload: the same on every rank. */
static int pingpong_rounds(size_t bytes)
{
    if (bytes <= 65536)
        return 1000;
    size_t r = ((size_t)64 << 20) / bytes;
    return r < 10 ? 10 : (int)r;
}

static double calibrate(void)
{
    /* Size the try to ~10 ms first, then keep the fastest of 7. */
    uint64_t iters = 100000;
    for (;;) {
        double a = now();
        uint64_t x = spin(iters);
        double t = now() - a;
        __asm__ volatile("" ::"r"(x));
        if (t >= 0.005)
            break;
        iters *= 2;
    }
    double best = 1e9;
    for (int k = 0; k < 7; k++) {
        double a = now();
        uint64_t x = spin(iters);
        double t = now() - a;
        __asm__ volatile("" ::"r"(x));
        if (t < best)
            best = t;
    }
    return (double)iters / (best * 1e6);
}

/* --- the whole run ------------------------------------------------------------ */

static int grid(struct lab *L)
{
    const struct ov_opts *o = L->o;
    L->total = o->npayloads * o->ngrains;
    for (size_t p = 0; p < o->npayloads; p++) {
        for (size_t g = 0; g < o->ngrains; g++)
            if (run_cell(L, o->payloads[p], o->grains_us[g], 0))
                return 1;
        if (refine(L, o->payloads[p]))
            return 1;
    }
    progress(L, "done");
    if (o->progress)
        fputc('\n', stderr);
    return 0;
}

int ov_measure(int *argc, char ***argv, const struct ov_opts *o,
               struct ov_result *r)
{
    double t0 = now();
    size_t maxp = 0;
    for (size_t i = 0; i < o->npayloads; i++)
        if (o->payloads[i] > maxp)
            maxp = o->payloads[i];
    int rc = mf_task_register(TASK, work_task, NULL);
    if (rc != MF_OK)
        return fail("register " TASK, rc);
    if (make_pattern(maxp) != MF_OK)
        return fail("payload", MF_ENOMEM);
    rc = mf__mpi_init(argc, argv);
    if (rc != MF_OK)
        return fail("MPI", rc);

    /* Floors that need the other ranks come first, before the pool owns
     * them; every rank walks the same payloads. */
    double rtt[OV_MAX_PAYLOADS];
    for (size_t i = 0; i < o->npayloads; i++)
        rtt[i] = mf__mpi_pingpong_us(o->payloads[i],
                                     pingpong_rounds(o->payloads[i]));

    mf_mpi_pool_opts po = {.max_workers = o->workers};
    mf_executor *mpi;
    rc = mf_mpi_pool_new(argc, argv, &po, &mpi);
    if (rc != MF_OK) {
        mf__mpi_finalize();
        return fail("MPI pool", rc);
    }
    if (mpi == NULL) { /* a worker rank: the pool ran its loop */
        mf__mpi_finalize();
        free(pattern);
        return -1;
    }
    size_t w = mf_executor_max_workers(mpi);
    if (o->workers && o->workers < w) {
        mf__mpi_pool_set_active(mpi, (int)o->workers);
        w = o->workers;
    }
    r->workers = w;
    r->iters_per_us = calibrate();
    local_floors(r, o);
    for (size_t i = 0; i < o->npayloads; i++)
        r->floors[i].mpi_rtt_us = rtt[i];

    struct lab L = {.o = o, .r = r, .mpi = mpi, .t0 = t0};
    mf_thread_pool_opts to = {.max_workers = w, .name_prefix = "ov"};
    rc = mf_thread_pool_new(&to, &L.threads);
    int bad = rc != MF_OK ? fail("thread pool", rc) : grid(&L);
    mf_executor_free(L.threads);
    mf_executor_free(mpi);
    mf__mpi_finalize();
    free(pattern);
    r->elapsed_s = now() - t0;
    return bad ? 1 : 0;
}
