/*
 * tools/cmd_overhead.c -- `mpifutures overhead`: the serialization-overhead
 * laboratory (bench/overhead.h). Options are parsed identically on every
 * rank, so that the collective measurements agree on the grid.
 *
 *   mpirun -n 3 mpifutures overhead [--quick] [--json] [--csv FILE]
 *       [--plot PREFIX] [--peers] [--python PATH] [--grains LIST]
 *       [--payloads LIST] [--reps N] [--cell-ms MS] [--refine N]
 *       [--workers W] [--no-progress]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/overhead.h"
#include "tools/cmd.h"

static const double full_grains[] = {1,    2,    5,    10,    20,    50,
                                     100,  200,  500,  1000,  2000,  5000,
                                     10000, 20000, 50000, 100000};
static const size_t full_payloads[] = {8,           64,         512,
                                       4 << 10,     32 << 10,   256 << 10,
                                       2 << 20,     16 << 20};
static const double quick_grains[] = {1,    3,    10,    30,    100,  300,
                                      1000, 3000, 10000, 30000, 100000};
static const size_t quick_payloads[] = {8, 1 << 10, 64 << 10, 1 << 20,
                                        16 << 20};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* "8,1K,64K,16M" -> bytes; exit(2) on anything else. */
static size_t parse_payloads(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        unsigned long long mul = 1;
        if (*end == 'K' || *end == 'k')
            mul = 1024, end++;
        else if (*end == 'M' || *end == 'm')
            mul = 1024 * 1024, end++;
        if (end == p || errno || (*end != ',' && *end != '\0') ||
            v * mul > ((size_t)256 << 20) || n == max) {
            mf__cmd_errorf("--payloads: '%s' is not a list of up to %zu "
                           "sizes (bytes, or with K/M; at most 256M), e.g. "
                           "8,1K,64K,16M",
                           s, max);
            exit(2);
        }
        out[n++] = (size_t)(v * mul);
        p = *end ? end + 1 : end;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t parse_grains(const char *s, double *out, size_t max)
{
    size_t n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0.1 && v <= 1e7) ||
            (*end != ',' && *end != '\0') || n == max) {
            mf__cmd_errorf("--grains: '%s' is not a list of up to %zu task "
                           "durations in microseconds (0.1 to 1e7), e.g. "
                           "1,10,100",
                           s, max);
            exit(2);
        }
        out[n++] = v;
        p = *end ? end + 1 : end;
    }
    qsort(out, n, sizeof *out, cmp_double);
    return n;
}

/* Where the value of a string-valued option goes; NULL for other options. */
static const char **string_option(const char *a, struct ov_opts *o,
                                  const char **grains, const char **payloads)
{
    if (strcmp(a, "--csv") == 0)
        return &o->csv;
    if (strcmp(a, "--plot") == 0)
        return &o->plot;
    if (strcmp(a, "--python") == 0)
        return &o->python;
    if (strcmp(a, "--grains") == 0)
        return grains;
    if (strcmp(a, "--payloads") == 0)
        return payloads;
    return NULL;
}

int mf__cmd_overhead(int *argc, char ***argv, int first)
{
    struct ov_opts o = {.reps = 5, .cell_s = 0.1, .refine = 3,
                        .python = "/usr/bin/python3",
                        .peers_timeout_s = 900};
    const char *grains = NULL, *payloads = NULL;
    int reps_set = 0, cell_set = 0, refine_set = 0, no_progress = 0;
    for (int i = first; i < *argc; i++) {
        const char *a = (*argv)[i];
        const char *v = i + 1 < *argc ? (*argv)[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o.quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--peers") == 0) {
            o.peers = 1;
        } else if (strcmp(a, "--no-progress") == 0) {
            no_progress = 1;
        } else if (string_option(a, &o, &grains, &payloads) != NULL) {
            if (v == NULL || *v == '\0') {
                mf__cmd_errorf("overhead: %s needs a value", a);
                return 2;
            }
            *string_option(a, &o, &grains, &payloads) = v;
            i++;
        } else if (strcmp(a, "--reps") == 0) {
            o.reps = mf__cmd_count(a, v);
            reps_set = 1;
            i++;
        } else if (strcmp(a, "--cell-ms") == 0) {
            o.cell_s = (double)mf__cmd_count(a, v) / 1000.0;
            cell_set = 1;
            i++;
        } else if (strcmp(a, "--refine") == 0) {
            o.refine = strcmp(v ? v : "", "0") == 0 ? 0 : mf__cmd_count(a, v);
            refine_set = 1;
            i++;
        } else if (strcmp(a, "--workers") == 0) {
            o.workers = mf__cmd_count(a, v);
            i++;
        } else {
            mf__cmd_errorf("overhead: unknown option '%s' (see mpifutures "
                           "help)",
                           a);
            return 2;
        }
    }
    if (o.reps > 64) {
        mf__cmd_errorf("overhead: --reps is at most 64");
        return 2;
    }
    if (o.quick) {
        if (!reps_set)
            o.reps = 3;
        if (!cell_set)
            o.cell_s = 0.03;
        if (!refine_set)
            o.refine = 2;
    }
    if (grains) {
        o.ngrains = parse_grains(grains, o.grains_us, OV_MAX_GRAINS);
    } else {
        const double *g = o.quick ? quick_grains : full_grains;
        o.ngrains = o.quick ? N(quick_grains) : N(full_grains);
        memcpy(o.grains_us, g, o.ngrains * sizeof *g);
    }
    if (payloads) {
        o.npayloads = parse_payloads(payloads, o.payloads, OV_MAX_PAYLOADS);
    } else {
        const size_t *p = o.quick ? quick_payloads : full_payloads;
        o.npayloads = o.quick ? N(quick_payloads) : N(full_payloads);
        memcpy(o.payloads, p, o.npayloads * sizeof *p);
    }
    o.progress = !no_progress && isatty(STDERR_FILENO);

    struct ov_result r = {0};
    int rc = ov_measure(argc, argv, &o, &r);
    if (rc != 0) {
        free(r.cells);
        return rc < 0 ? 0 : rc; /* -1: a worker rank, done */
    }
    if (o.peers)
        ov_peers(&o, &r);
    else
        r.peers_status = "not asked (--peers)";
    if (o.json)
        ov_print_json(stdout, &o, &r);
    else
        ov_print_table(stdout, &o, &r);
    fflush(stdout);
    int bad = 0;
    if (o.csv) {
        bad = ov_write_csv(o.csv, &r);
        if (!bad && !o.json)
            printf("CSV: %s\n", o.csv);
    }
    /* Plots that fail leave the exit status alone: the measurements are
     * complete, and ov_plot said why on stderr. */
    if (o.plot && ov_plot(o.plot, &o, &r) == 0 && !o.json)
        printf("Plots: %s-speedup.png, %s-split.png, %s-crossover.png\n",
               o.plot, o.plot, o.plot);
    free(r.cells);
    free(r.peer_cells);
    return bad;
}
