/*
 * bench/overhead_report.c -- what `mpifutures overhead` prints: the table,
 * the JSON object, the CSV file, and the crossovers they all share.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/overhead.h"

const char *const ov_exec_name[OV_NEXEC] = {"sequential", "threads",
                                            "mpi_chunk1", "mpi_auto"};
const char *const ov_peer_name[OV_NPEER] = {
    "python_sequential", "python_process_pool", "mpi4py_futures"};

const char *ov_size_str(size_t bytes, char *buf, size_t len)
{
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        snprintf(buf, len, "%zu MiB", bytes >> 20);
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(buf, len, "%zu KiB", bytes >> 10);
    else
        snprintf(buf, len, "%zu B", bytes);
    return buf;
}

/* --- crossovers ---------------------------------------------------------------- */

static const struct ov_result *sort_r;

static int by_grain(const void *a, const void *b)
{
    double x = sort_r->cells[*(const size_t *)a].grain_us;
    double y = sort_r->cells[*(const size_t *)b].grain_us;
    return (x > y) - (x < y);
}

size_t ov_cells_of(const struct ov_result *r, size_t payload, size_t *idx,
                   size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncells && n < max; i++)
        if (r->cells[i].payload == payload)
            idx[n++] = i;
    sort_r = r; /* single-threaded reporting */
    qsort(idx, n, sizeof *idx, by_grain);
    return n;
}

/* Over grains sorted ascending: the smallest grain at which the executor
 * beats sequential (speedup > 1) and still does at the next measured
 * grain -- one noisy cell neither makes an early win nor, at a large
 * grain, undoes the crossover. `below` is the grain measured just before
 * it (it lost or only won alone there). */
static struct ov_cross cross_of(const double *grain, const double *speedup,
                                size_t n)
{
    struct ov_cross c = {-1, -1};
    for (size_t k = 0; k < n; k++) {
        if (speedup[k] > 1.0 && (k + 1 == n || speedup[k + 1] > 1.0)) {
            c.us = grain[k];
            c.below = k > 0 ? grain[k - 1] : -1;
            return c;
        }
    }
    if (n > 0)
        c.below = grain[n - 1];
    return c;
}

#define MAXC 512

struct ov_cross ov_crossover(const struct ov_result *r, size_t p, int e)
{
    size_t idx[MAXC];
    double g[MAXC], s[MAXC];
    size_t n = ov_cells_of(r, p, idx, MAXC);
    for (size_t i = 0; i < n; i++) {
        const struct ov_cell *c = &r->cells[idx[i]];
        g[i] = c->grain_us;
        s[i] = c->t[e] > 0 ? c->t[OV_SEQ] / c->t[e] : 0;
    }
    return cross_of(g, s, n);
}

struct ov_cross ov_peer_crossover(const struct ov_result *r, size_t p, int e)
{
    double g[MAXC], s[MAXC];
    size_t n = 0, ran = 0;
    /* Peer cells are appended grain by grain, ascending per payload. */
    for (size_t i = 0; i < r->npeer_cells && n < MAXC; i++) {
        const struct ov_peer_cell *c = &r->peer_cells[i];
        if (c->payload != p)
            continue;
        g[n] = c->grain_us;
        ran += c->t[e] > 0;
        s[n++] = c->t[e] > 0 ? c->t[OV_PY_SEQ] / c->t[e] : 0;
    }
    if (ran == 0)
        return (struct ov_cross){OV_NOT_RUN, -1};
    return cross_of(g, s, n);
}

double ov_worst_slowdown(const struct ov_result *r, size_t p, int e)
{
    double worst = 0;
    for (size_t i = 0; i < r->ncells; i++) {
        const struct ov_cell *c = &r->cells[i];
        if (c->payload != p || c->grain_us < 1 || c->t[e] <= 0)
            continue;
        if (c->t[e] / c->t[OV_SEQ] > worst)
            worst = c->t[e] / c->t[OV_SEQ];
    }
    return worst;
}

/* --- the table --------------------------------------------------------------- */

static const char *cross_str(struct ov_cross c, char *buf, size_t len)
{
    if (c.us == OV_NOT_RUN)
        snprintf(buf, len, "n/a");
    else if (c.us < 0)
        snprintf(buf, len, "never");
    else if (c.below < 0)
        snprintf(buf, len, "<= %g us", c.us);
    else
        snprintf(buf, len, "%g us", c.us);
    return buf;
}

static const char *us_str(double s, char *buf, size_t len)
{
    double us = s * 1e6;
    if (us < 0)
        snprintf(buf, len, "-");
    else if (us < 10)
        snprintf(buf, len, "%.2f", us);
    else if (us < 1000)
        snprintf(buf, len, "%.1f", us);
    else
        snprintf(buf, len, "%.0f", us);
    return buf;
}

static size_t smallest_payload(const struct ov_opts *o)
{
    size_t p = o->payloads[0];
    for (size_t i = 1; i < o->npayloads; i++)
        if (o->payloads[i] < p)
            p = o->payloads[i];
    return p;
}

void ov_print_table(FILE *out, const struct ov_opts *o,
                    const struct ov_result *r)
{
    char a[32], b[32], c[32], d[32], e[32], f[32];
    fprintf(out,
            "mpifutures overhead: %zu MPI workers and a thread pool of %zu; "
            "1 us of task work = %.0f iterations; medians of %zu runs\n",
            r->workers, r->workers, r->iters_per_us, o->reps);

    fprintf(out, "\nFloors, measured in this run\n");
    fprintf(out, "  %-9s %16s %10s %12s %14s %10s\n", "payload",
            "MPI round trip", "MPI GB/s", "memcpy", "msgpack pack",
            "unpack");
    for (size_t i = 0; i < o->npayloads; i++) {
        const struct ov_floor *fl = &r->floors[i];
        if (fl->mpi_rtt_us > 0)
            snprintf(a, sizeof a, "%.2f us", fl->mpi_rtt_us);
        else
            snprintf(a, sizeof a, "n/a");
        if (fl->mpi_rtt_us > 0 && fl->payload >= 1024)
            snprintf(b, sizeof b, "%.2f",
                     2.0 * (double)fl->payload / (fl->mpi_rtt_us * 1e3));
        else
            snprintf(b, sizeof b, "-");
        fprintf(out, "  %-9s %16s %10s %9s us %11s us %7s us\n",
                ov_size_str(fl->payload, c, sizeof c), a, b,
                us_str(fl->memcpy_us * 1e-6, d, sizeof d),
                us_str(fl->pack_us * 1e-6, e, sizeof e),
                us_str(fl->unpack_us * 1e-6, f, sizeof f));
    }

    fprintf(out, "\nSpeedup over sequential (payload = bytes of arguments "
                 "and of result; > 1: faster than sequential)\n");
    fprintf(out, "  %-9s %9s %7s %12s %8s %8s %9s %10s\n", "payload",
            "grain us", "tasks", "seq us/task", "threads", "MPI c=1",
            "MPI auto", "auto chunk");
    size_t idx[MAXC];
    for (size_t p = 0; p < o->npayloads; p++) {
        size_t n = ov_cells_of(r, o->payloads[p], idx, MAXC);
        for (size_t i = 0; i < n; i++) {
            const struct ov_cell *cl = &r->cells[idx[i]];
            fprintf(out, "  %-9s %8g%s %7zu %12s %8.2f %8.2f %9.2f %10.0f\n",
                    i == 0 ? ov_size_str(cl->payload, a, sizeof a) : "",
                    cl->grain_us, cl->refined ? "*" : " ", cl->n,
                    us_str(cl->t[OV_SEQ] / (double)cl->n, b, sizeof b),
                    cl->t[OV_SEQ] / cl->t[OV_THREADS],
                    cl->t[OV_SEQ] / cl->t[OV_MPI1],
                    cl->t[OV_SEQ] / cl->t[OV_MPIAUTO], cl->auto_chunk);
        }
    }
    fprintf(out, "  (* a grain added by bisecting towards a crossover)\n");

    fprintf(out, "\nWhere an MPI task's time goes at chunksize 1, smallest "
                 "grain per payload (us per task; floors in brackets)\n");
    fprintf(out, "  %-9s %8s %8s %18s %20s %16s %8s %9s\n", "payload",
            "grain", "submit", "pack [msgpack]", "transfer [MPI rtt]",
            "unpack [floor]", "res.pack", "root CPU");
    for (size_t p = 0; p < o->npayloads; p++) {
        size_t n = ov_cells_of(r, o->payloads[p], idx, MAXC);
        if (n == 0)
            continue;
        const struct ov_cell *cl = &r->cells[idx[0]];
        const struct ov_split *s = &cl->split[0];
        const struct ov_floor *fl = &r->floors[p];
        char g[32], h[32], k[32], m[32];
        fprintf(out, "  %-9s %8g %8s %8s [%7s] %9s [%8s] %7s [%6s] %8s %9s\n",
                ov_size_str(cl->payload, a, sizeof a), cl->grain_us,
                us_str(s->submit, b, sizeof b), us_str(s->pack, d, sizeof d),
                us_str(fl->pack_us * 1e-6, e, sizeof e),
                us_str(s->transfer, f, sizeof f),
                fl->mpi_rtt_us > 0 ? us_str(fl->mpi_rtt_us * 1e-6, g, sizeof g)
                                   : "n/a",
                us_str(s->unpack, h, sizeof h),
                us_str(fl->unpack_us * 1e-6, k, sizeof k),
                us_str(s->result_pack, m, sizeof m),
                us_str(s->root_cpu, c, sizeof c));
    }
    fprintf(out, "  (transfer: per message, less the worker's time, shared "
                 "by its tasks; it includes waiting behind a prefetched "
                 "message. root CPU: all of rank 0's threads.)\n");

    int peers = r->peers_status == NULL;
    fprintf(out, "\nCrossover: the smallest grain at which the executor "
                 "beats sequential, and still does at the next grain\n");
    fprintf(out, "  %-9s %10s %10s %10s", "payload", "threads", "MPI c=1",
            "MPI auto");
    if (peers)
        fprintf(out, " %14s %12s", "ProcessPool", "mpi4py");
    fputc('\n', out);
    for (size_t p = 0; p < o->npayloads; p++) {
        size_t pl = o->payloads[p];
        fprintf(out, "  %-9s %10s %10s %10s", ov_size_str(pl, a, sizeof a),
                cross_str(ov_crossover(r, pl, OV_THREADS), b, sizeof b),
                cross_str(ov_crossover(r, pl, OV_MPI1), c, sizeof c),
                cross_str(ov_crossover(r, pl, OV_MPIAUTO), d, sizeof d));
        if (peers)
            fprintf(out, " %14s %12s",
                    cross_str(ov_peer_crossover(r, pl, OV_PY_PROCESS_POOL), e,
                              sizeof e),
                    cross_str(ov_peer_crossover(r, pl, OV_PY_MPI4PY), f,
                              sizeof f));
        fputc('\n', out);
    }
    if (!peers || r->peers_msg[0])
        fprintf(out, "  Python peers: %s%s%s\n",
                r->peers_status ? r->peers_status : "ran",
                r->peers_msg[0] ? ": " : "", r->peers_msg);

    size_t p0 = smallest_payload(o);
    struct ov_cross c1 = ov_crossover(r, p0, OV_MPI1);
    struct ov_cross ca = ov_crossover(r, p0, OV_MPIAUTO);
    fprintf(out, "\nRule of thumb on this machine: with %s of arguments, "
                 "tasks of ",
            ov_size_str(p0, a, sizeof a));
    if (c1.us > 0)
        fprintf(out, "%s%g us or more gain from %zu MPI workers one at a time "
                     "(chunksize 1)",
                c1.below < 0 ? "" : "", c1.us, r->workers);
    else
        fprintf(out, "no measured grain gain from %zu MPI workers one at a "
                     "time",
                r->workers);
    if (ca.us > 0)
        fprintf(out, ", and of %g us or more through map's automatic "
                     "chunksize",
                ca.us);
    fprintf(out, ". Python's rule of thumb: 100000 us.\n");
    fprintf(out, "Worst slowdown against sequential with auto chunksize "
                 "(grains >= 1 us):");
    for (size_t p = 0; p < o->npayloads; p++)
        fprintf(out, " %s %.2fx%s", ov_size_str(o->payloads[p], a, sizeof a),
                ov_worst_slowdown(r, o->payloads[p], OV_MPIAUTO),
                p + 1 < o->npayloads ? "," : "\n");
    fprintf(out, "Measured in %.1f s.\n", r->elapsed_s);
}

/* --- JSON -------------------------------------------------------------------- */

static void json_num(FILE *out, double v)
{
    if (v < 0 || !isfinite(v))
        fputs("null", out);
    else
        fprintf(out, "%.6g", v);
}

static void json_split(FILE *out, const char *name, const struct ov_split *s)
{
    fprintf(out, "\"%s\": {\"submit\": %.4g, \"queue\": %.4g, \"pack\": "
                 "%.4g, \"transfer\": %.4g, \"unpack\": %.4g, \"run\": %.4g, "
                 "\"result_pack\": %.4g, \"root_cpu\": %.4g}",
            name, s->submit * 1e6, s->queue * 1e6, s->pack * 1e6,
            s->transfer * 1e6, s->unpack * 1e6, s->run * 1e6,
            s->result_pack * 1e6, s->root_cpu * 1e6);
}

static void json_cross(FILE *out, const char *key, struct ov_cross c)
{
    fprintf(out, "\"%s\": ", key);
    json_num(out, c.us);
}

void ov_print_json(FILE *out, const struct ov_opts *o,
                   const struct ov_result *r)
{
    fprintf(out, "{\"workers\": %zu, \"iters_per_us\": %.2f, \"reps\": %zu, "
                 "\"quick\": %s, \"grains_us\": [",
            r->workers, r->iters_per_us, o->reps,
            o->quick ? "true" : "false");
    for (size_t i = 0; i < o->ngrains; i++)
        fprintf(out, "%s%g", i ? ", " : "", o->grains_us[i]);
    fprintf(out, "], \"payloads\": [");
    for (size_t i = 0; i < o->npayloads; i++)
        fprintf(out, "%s%zu", i ? ", " : "", o->payloads[i]);
    fprintf(out, "],\n \"floors\": [");
    for (size_t i = 0; i < o->npayloads; i++) {
        const struct ov_floor *f = &r->floors[i];
        fprintf(out, "%s{\"payload\": %zu, \"mpi_rtt_us\": ", i ? ", " : "",
                f->payload);
        json_num(out, f->mpi_rtt_us);
        fprintf(out, ", \"memcpy_us\": %.4g, \"pack_us\": %.4g, "
                     "\"unpack_us\": %.4g}",
                f->memcpy_us, f->pack_us, f->unpack_us);
    }
    fprintf(out, "],\n \"cells\": [");
    for (size_t i = 0; i < r->ncells; i++) {
        const struct ov_cell *c = &r->cells[i];
        fprintf(out, "%s\n  {\"payload\": %zu, \"grain_us\": %g, \"tasks\": "
                     "%zu, \"refined\": %s",
                i ? "," : "", c->payload, c->grain_us, c->n,
                c->refined ? "true" : "false");
        for (int e = 0; e < OV_NEXEC; e++)
            fprintf(out, ", \"%s_s\": %.6g", ov_exec_name[e], c->t[e]);
        for (int e = OV_THREADS; e < OV_NEXEC; e++)
            fprintf(out, ", \"speedup_%s\": %.4g", ov_exec_name[e],
                    c->t[OV_SEQ] / c->t[e]);
        fprintf(out, ", \"auto_chunk\": %.1f, ", c->auto_chunk);
        json_split(out, "split_chunk1_us", &c->split[0]);
        fputs(", ", out);
        json_split(out, "split_auto_us", &c->split[1]);
        fputc('}', out);
    }
    int peers = r->peers_status == NULL;
    fprintf(out, "],\n \"crossover\": [");
    for (size_t p = 0; p < o->npayloads; p++) {
        size_t pl = o->payloads[p];
        fprintf(out, "%s{\"payload\": %zu, ", p ? ", " : "", pl);
        json_cross(out, "threads_us", ov_crossover(r, pl, OV_THREADS));
        fputs(", ", out);
        json_cross(out, "chunk1_us", ov_crossover(r, pl, OV_MPI1));
        fputs(", ", out);
        json_cross(out, "auto_us", ov_crossover(r, pl, OV_MPIAUTO));
        if (peers) {
            fputs(", ", out);
            json_cross(out, "process_pool_us",
                       ov_peer_crossover(r, pl, OV_PY_PROCESS_POOL));
            fputs(", ", out);
            json_cross(out, "mpi4py_us",
                       ov_peer_crossover(r, pl, OV_PY_MPI4PY));
        }
        fprintf(out, ", \"auto_worst_slowdown\": %.4g}",
                ov_worst_slowdown(r, pl, OV_MPIAUTO));
    }
    size_t p0 = smallest_payload(o);
    fprintf(out, "],\n \"crossover_payload\": %zu, ", p0);
    json_cross(out, "crossover_us_chunk1", ov_crossover(r, p0, OV_MPI1));
    fputs(", ", out);
    json_cross(out, "crossover_us_auto", ov_crossover(r, p0, OV_MPIAUTO));
    fputs(", ", out);
    json_cross(out, "crossover_us_threads", ov_crossover(r, p0, OV_THREADS));
    fprintf(out, ", \"auto_worst_slowdown\": %.4g",
            ov_worst_slowdown(r, p0, OV_MPIAUTO));
    fprintf(out, ",\n \"peers\": {\"ran\": %s", peers ? "true" : "false");
    if (!peers) {
        fprintf(out, ", \"skipped\": \"%s", r->peers_status);
        if (r->peers_msg[0]) {
            fputs(": ", out);
            for (const char *s = r->peers_msg; *s; s++)
                if (*s == '"' || *s == '\\')
                    fprintf(out, "\\%c", *s);
                else if ((unsigned char)*s >= 0x20)
                    fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fprintf(out, ", \"python_iters_per_us\": %.3f, ",
                r->python_iters_per_us);
        json_cross(out, "crossover_us_process_pool",
                   ov_peer_crossover(r, p0, OV_PY_PROCESS_POOL));
        fputs(", ", out);
        json_cross(out, "crossover_us_mpi4py",
                   ov_peer_crossover(r, p0, OV_PY_MPI4PY));
        fprintf(out, ", \"cells\": [");
        for (size_t i = 0; i < r->npeer_cells; i++) {
            const struct ov_peer_cell *c = &r->peer_cells[i];
            fprintf(out, "%s\n  {\"payload\": %zu, \"grain_us\": %g, "
                         "\"tasks\": %zu",
                    i ? "," : "", c->payload, c->grain_us, c->n);
            for (int e = 0; e < OV_NPEER; e++) {
                fprintf(out, ", \"%s_s\": ", ov_peer_name[e]);
                json_num(out, c->t[e]);
            }
            fputc('}', out);
        }
        fputc(']', out);
    }
    fprintf(out, "},\n \"elapsed_s\": %.1f}\n", r->elapsed_s);
}

/* --- CSV ---------------------------------------------------------------------- */

int ov_write_csv(const char *path, const struct ov_result *r)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    fprintf(f, "payload_bytes,grain_us,executor,tasks,wall_s,us_per_task,"
               "speedup,submit_us,queue_us,pack_us,transfer_us,unpack_us,"
               "run_us,result_pack_us,auto_chunk,refined\n");
    for (size_t i = 0; i < r->ncells; i++) {
        const struct ov_cell *c = &r->cells[i];
        for (int e = 0; e < OV_NEXEC; e++) {
            fprintf(f, "%zu,%g,%s,%zu,%.6g,%.6g,%.4g", c->payload,
                    c->grain_us, ov_exec_name[e], c->n, c->t[e],
                    c->t[e] * 1e6 / (double)c->n, c->t[OV_SEQ] / c->t[e]);
            if (e >= OV_MPI1) {
                const struct ov_split *s = &c->split[e - OV_MPI1];
                fprintf(f, ",%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.1f",
                        s->submit * 1e6, s->queue * 1e6, s->pack * 1e6,
                        s->transfer * 1e6, s->unpack * 1e6, s->run * 1e6,
                        s->result_pack * 1e6,
                        e == OV_MPIAUTO ? c->auto_chunk : 1.0);
            } else {
                fprintf(f, ",,,,,,,,");
            }
            fprintf(f, ",%d\n", c->refined);
        }
    }
    for (size_t i = 0; i < r->npeer_cells; i++) {
        const struct ov_peer_cell *c = &r->peer_cells[i];
        for (int e = 0; e < OV_NPEER; e++)
            if (c->t[e] > 0)
                fprintf(f, "%zu,%g,%s,%zu,%.6g,%.6g,%.4g,,,,,,,,,0\n",
                        c->payload, c->grain_us, ov_peer_name[e], c->n,
                        c->t[e], c->t[e] * 1e6 / (double)c->n,
                        c->t[OV_PY_SEQ] / c->t[e]);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        perror(path);
        return 1;
    }
    return 0;
}
