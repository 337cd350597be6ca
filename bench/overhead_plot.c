/*
 * bench/overhead_plot.c -- `mpifutures overhead --plot PREFIX`: three PNGs
 * drawn by gnuplot from the measurements (sent as inline data blocks on
 * gnuplot's stdin, so nothing but the PNGs is written):
 *   PREFIX-speedup.png    speedup vs grain, one panel per executor, one
 *                         line per payload;
 *   PREFIX-split.png      where an MPI task's time goes (chunksize 1 and
 *                         auto, at each payload's smallest grain), stacked;
 *   PREFIX-crossover.png  crossover grain vs payload, every executor and
 *                         peer, beside Python's 100 ms rule of thumb.
 * MPIFUTURES_GNUPLOT names another gnuplot than the one on PATH.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench/overhead.h"

#define MAXC 512

/* Payload names without spaces, for gnuplot's word(). */
static const char *label(size_t bytes, char *buf, size_t len)
{
    ov_size_str(bytes, buf, len);
    for (char *s = buf; *s; s++)
        if (*s == ' ')
            memmove(s, s + 1, strlen(s));
    return buf;
}

static void block_speedup(FILE *g, const struct ov_opts *o,
                          const struct ov_result *r, const char *name, int e)
{
    size_t idx[MAXC];
    fprintf(g, "$%s << EOD\n", name);
    for (size_t p = 0; p < o->npayloads; p++) {
        size_t n = ov_cells_of(r, o->payloads[p], idx, MAXC);
        for (size_t i = 0; i < n; i++) {
            const struct ov_cell *c = &r->cells[idx[i]];
            fprintf(g, "%g %g\n", c->grain_us, c->t[OV_SEQ] / c->t[e]);
        }
        fprintf(g, "\n\n");
    }
    fprintf(g, "EOD\n");
}

static void block_peer(FILE *g, const struct ov_opts *o,
                       const struct ov_result *r, const char *name, int e)
{
    fprintf(g, "$%s << EOD\n", name);
    for (size_t p = 0; p < o->npayloads; p++) {
        for (size_t i = 0; i < r->npeer_cells; i++) {
            const struct ov_peer_cell *c = &r->peer_cells[i];
            if (c->payload == o->payloads[p] && c->t[e] > 0)
                fprintf(g, "%g %g\n", c->grain_us,
                        c->t[OV_PY_SEQ] / c->t[e]);
        }
        fprintf(g, "\n\n");
    }
    fprintf(g, "EOD\n");
}

static void speedup_panel(FILE *g, const char *block, const char *title,
                          size_t npay)
{
    fprintf(g,
            "set title '%s'\n"
            "plot for [i=0:%zu] $%s index i using 1:2 with linespoints "
            "title word(names, i+1), 1 with lines dashtype 2 lc 'black' "
            "title 'sequential'\n",
            title, npay - 1, block);
}

static void speedup_plot(FILE *g, const char *prefix, const struct ov_opts *o,
                         const struct ov_result *r)
{
    int peers = r->peers_status == NULL;
    block_speedup(g, o, r, "thr", OV_THREADS);
    block_speedup(g, o, r, "c1", OV_MPI1);
    block_speedup(g, o, r, "auto", OV_MPIAUTO);
    if (peers) {
        block_peer(g, o, r, "ppe", OV_PY_PROCESS_POOL);
        block_peer(g, o, r, "m4p", OV_PY_MPI4PY);
    }
    fprintf(g,
            "set output '%s-speedup.png'\n"
            "set multiplot layout %d,3 title 'Speedup over sequential vs "
            "task grain (%zu workers; payload = bytes of arguments and of "
            "result)'\n"
            "set logscale x\nset logscale y\nset grid\n"
            "set xlabel 'task grain (us)'\nset ylabel 'speedup'\n"
            "set key top left\n",
            prefix, peers ? 2 : 1, r->workers);
    speedup_panel(g, "thr", "thread pool", o->npayloads);
    speedup_panel(g, "c1", "MPI pool, chunksize 1", o->npayloads);
    speedup_panel(g, "auto", "MPI pool, chunksize auto", o->npayloads);
    if (peers) {
        speedup_panel(g, "ppe", "Python ProcessPoolExecutor", o->npayloads);
        speedup_panel(g, "m4p", "mpi4py.futures MPIPoolExecutor",
                      o->npayloads);
    }
    fprintf(g, "unset multiplot\nunset logscale\n");
}

static void split_block(FILE *g, const struct ov_opts *o,
                        const struct ov_result *r, const char *name, int c)
{
    size_t idx[MAXC];
    char b[32];
    fprintf(g, "$%s << EOD\n", name);
    for (size_t p = 0; p < o->npayloads; p++) {
        size_t n = ov_cells_of(r, o->payloads[p], idx, MAXC);
        if (n == 0)
            continue;
        const struct ov_split *s = &r->cells[idx[0]].split[c];
        double parts[5] = {s->submit, s->pack, s->transfer, s->unpack,
                           s->result_pack};
        double sum = 0;
        for (int k = 0; k < 5; k++)
            sum += parts[k] > 0 ? parts[k] : 0;
        double us = sum * 1e6;
        fprintf(g, us < 10 ? "\"%s\\n%.2f us\"" : "\"%s\\n%.0f us\"",
                label(o->payloads[p], b, sizeof b), us);
        for (int k = 0; k < 5; k++)
            fprintf(g, " %g",
                    sum > 0 && parts[k] > 0 ? 100 * parts[k] / sum : 0);
        fputc('\n', g);
    }
    fprintf(g, "EOD\n");
}

static void split_plot(FILE *g, const char *prefix, const struct ov_opts *o,
                       const struct ov_result *r)
{
    split_block(g, o, r, "s1", 0);
    split_block(g, o, r, "sa", 1);
    fprintf(g,
            "set output '%s-split.png'\n"
            "set multiplot layout 1,2 title 'Where an MPI task''s overhead "
            "goes, at each payload''s smallest grain (total per task under "
            "each bar)'\n"
            "set style data histograms\nset style histogram rowstacked\n"
            "set style fill solid 0.8 border -1\nset boxwidth 0.7\n"
            "set yrange [0:100]\nset ylabel 'share of the overhead (%%)'\n"
            "set xlabel 'payload'\nset grid y\nset key outside right\n",
            prefix);
    const char *cols = "using 2:xtic(1) title 'submit (caller)', '' using 3 "
                       "title 'pack (rank 0)', '' using 4 title 'transfer "
                       "(MPI, polling)', '' using 5 title 'unpack (worker)', "
                       "'' using 6 title 'result pack (worker)'";
    fprintf(g, "set title 'chunksize 1'\nplot $s1 %s\n", cols);
    fprintf(g, "set title 'chunksize auto'\nplot $sa %s\n", cols);
    fprintf(g, "unset multiplot\nset yrange [*:*]\nunset style\n");
}

static void cross_plot(FILE *g, const char *prefix, const struct ov_opts *o,
                       const struct ov_result *r)
{
    int peers = r->peers_status == NULL;
    fprintf(g, "$x << EOD\n");
    for (size_t p = 0; p < o->npayloads; p++) {
        size_t pl = o->payloads[p];
        struct ov_cross c[5] = {
            ov_crossover(r, pl, OV_THREADS), ov_crossover(r, pl, OV_MPI1),
            ov_crossover(r, pl, OV_MPIAUTO),
            ov_peer_crossover(r, pl, OV_PY_PROCESS_POOL),
            ov_peer_crossover(r, pl, OV_PY_MPI4PY)};
        char b[32];
        fprintf(g, "%zu", pl);
        for (int k = 0; k < 5; k++)
            if (c[k].us > 0 && (k < 3 || peers))
                fprintf(g, " %g", c[k].us);
            else
                fprintf(g, " NaN");
        fprintf(g, " %s\n", label(pl, b, sizeof b));
    }
    fprintf(g, "EOD\n");
    fprintf(g,
            "set output '%s-crossover.png'\n"
            "set title 'Crossover: smallest task grain at which the pool "
            "beats sequential (%zu workers)'\n"
            "set logscale x 2\nset logscale y\nset grid\n"
            "set xlabel 'payload (bytes of arguments and of result)'\n"
            "set ylabel 'crossover grain (us)'\nset key top left\n"
            "plot $x using 1:2:xtic(7) with linespoints title 'thread pool', "
            "$x using 1:3 with linespoints title 'MPI pool, chunksize 1', "
            "$x using 1:4 with linespoints title 'MPI pool, auto'%s, "
            "100000 with lines dashtype 2 lc 'black' title 'Python rule of "
            "thumb (100 ms)'\n",
            prefix, r->workers,
            peers ? ", $x using 1:5 with linespoints title "
                    "'ProcessPoolExecutor', $x using 1:6 with linespoints "
                    "title 'mpi4py.futures'"
                  : "");
}

static int png_ok(const char *prefix, const char *what)
{
    char path[4096];
    unsigned char magic[8];
    snprintf(path, sizeof path, "%s-%s.png", prefix, what);
    FILE *f = fopen(path, "rb");
    int ok = f && fread(magic, 1, 8, f) == 8 &&
             memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0;
    if (f)
        fclose(f);
    if (!ok)
        fprintf(stderr, "mpifutures overhead: %s was not written as a PNG "
                        "(see gnuplot's messages above)\n",
                path);
    return ok;
}

int ov_plot(const char *prefix, const struct ov_opts *o,
            const struct ov_result *r)
{
    if (strchr(prefix, '\'') != NULL) {
        fprintf(stderr, "mpifutures overhead: --plot prefix must not "
                        "contain a quote; no plots\n");
        return 1;
    }
    /* gnuplot's own output goes to stderr: stdout may be --json. */
    const char *gp = getenv("MPIFUTURES_GNUPLOT");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s 1>&2", gp && *gp ? gp : "gnuplot");
    fflush(NULL);
    FILE *g = popen(cmd, "w");
    if (g == NULL) {
        perror("mpifutures overhead: starting gnuplot");
        return 1;
    }
    char b[32];
    fprintf(g, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) "
               "{ set terminal pngcairo size 1500,900 font 'sans,10' } "
               "else { set terminal png size 1500,900 }\n");
    fprintf(g, "names = \"");
    for (size_t p = 0; p < o->npayloads; p++)
        fprintf(g, "%s%s", p ? " " : "", label(o->payloads[p], b, sizeof b));
    fprintf(g, "\"\n");
    speedup_plot(g, prefix, o, r);
    split_plot(g, prefix, o, r);
    cross_plot(g, prefix, o, r);
    fprintf(g, "set output\n");
    int st = pclose(g);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127)
            fprintf(stderr,
                    "mpifutures overhead: gnuplot is not installed, so no "
                    "plots were drawn (the measurements above are "
                    "complete). Install it (Debian: apt-get install "
                    "gnuplot-nox) or plot the --csv file yourself.\n");
        else
            fprintf(stderr, "mpifutures overhead: gnuplot failed (status "
                            "%d); plots may be incomplete\n",
                    st);
        return 1;
    }
    int ok = png_ok(prefix, "speedup") & png_ok(prefix, "split") &
             png_ok(prefix, "crossover");
    return ok ? 0 : 1;
}
