/*
 * tools/mpifutures.c -- the `mpifutures` command.
 *
 *   mpifutures info [--json]     (collective under mpirun)
 *   mpifutures bench threads [--json] [--tasks N] [--rounds N] [--workers N]
 *   mpifutures primes [--limit N] [--tasks K] [--chunksize C|auto]
 *                     [--workers W] [--scaling] [--json]
 *   mpifutures overhead [--quick] [--json] [--csv FILE] [--plot PREFIX]
 *                       [--peers] ...  (see usage below)
 *   mpifutures stress [--tasks N] [--fail-rate P] [--cancel-rate Q] [--json]
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpifutures.h>

#include "bench/bench.h"
#include "tools/cmd.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mpifutures <command> [options]\n"
            "\n"
            "commands:\n"
            "  info [--json]             version, world size, hosts, ranks per\n"
            "                            host, MPI thread level, transports\n"
            "  bench threads [options]   thread pool vs libuv uv_queue_work\n"
            "      --json                one JSON object on stdout\n"
            "      --tasks N             batch size (default 1000000)\n"
            "      --rounds N            round trips (default 20000)\n"
            "      --workers N           pool threads (default: cores)\n"
            "      --reps N              repetitions, medians (default 5)\n"
            "  bench mpi [options]       the MPI pool vs raw MPI (mpirun)\n"
            "      --json, --tasks N (100000), --rounds N (5000)\n"
            "  bench loop [options]      the event-loop bridge vs libuv;\n"
            "                            /fast latency while /slow blocks\n"
            "      --json, --tasks N, --rounds N, --seconds S, --no-http\n"
            "  primes [options]          prime count: sequential vs the MPI\n"
            "                            pool (under mpirun, or spawning)\n"
            "      --limit N             count primes below N (4000000)\n"
            "      --tasks K             split into K ranges (32)\n"
            "      --chunksize C|auto    ranges per message (1)\n"
            "      --workers W           spawn / use at most W workers\n"
            "      --scaling             run with 1..W workers, a table\n"
            "      --json                one JSON object on stdout\n"
            "  overhead [options]        where the pool starts to win: task\n"
            "                            grain x payload x executor, floors,\n"
            "                            crossovers (under mpirun, or spawning)\n"
            "      --quick               a smaller grid (~2 minutes on 2 cores)\n"
            "      --json                one JSON object on stdout\n"
            "      --csv FILE            every cell as CSV\n"
            "      --plot PREFIX         PREFIX-{speedup,split,crossover}.png\n"
            "                            through gnuplot\n"
            "      --peers               also Python's ProcessPoolExecutor and\n"
            "                            mpi4py.futures, same grid, same run\n"
            "      --python PATH         interpreter for --peers\n"
            "                            (/usr/bin/python3)\n"
            "      --grains LIST         task grains in us (e.g. 1,10,100)\n"
            "      --payloads LIST       bytes each way (e.g. 8,1K,64K,16M)\n"
            "      --reps N              runs per cell, medians (5; quick 3)\n"
            "      --cell-ms MS          sequential work per cell (100; 30)\n"
            "      --refine N            bisection steps per crossover (3; 2)\n"
            "      --workers W           spawn / use at most W workers\n"
            "      --no-progress         no progress bar on stderr\n"
            "  stress [options]          exactly-once under load: N tasks through\n"
            "                            the MPI pool and a thread pool, with\n"
            "                            failures, cancels and callbacks, each\n"
            "                            future checked (under mpirun)\n"
            "      --tasks N             per pool (1000000)\n"
            "      --fail-rate P         tasks failing on purpose (0.3)\n"
            "      --cancel-rate Q       futures cancelled after submit (0.05)\n"
            "      --seed S, --workers W, --json\n"
            "  help                      this text\n");
}

size_t mf__cmd_count(const char *opt, const char *s)
{
    char *end;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (s == NULL || *s == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "mpifutures: %s needs a positive integer, got '%s'\n",
                opt, s ? s : "(nothing)");
        exit(2);
    }
    return (size_t)v;
}

int mf__cmd_fail(const char *what, int rc)
{
    fprintf(stderr, "mpifutures: %s: %s (%s)\n", what, mf_strerror(rc),
            mf_errmsg());
    return 1;
}

void mf__cmd_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpifutures: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int cmd_bench_mpi(int *argc, char ***argv, int first)
{
    struct mf_bench_mpi_opts o = {.tasks = 100000, .rounds = 5000, .json = 0};
    for (int i = first; i < *argc; i++) {
        const char *a = (*argv)[i], *v = i + 1 < *argc ? (*argv)[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--tasks") == 0) {
            o.tasks = mf__cmd_count(a, v);
            i++;
        } else if (strcmp(a, "--rounds") == 0) {
            o.rounds = mf__cmd_count(a, v);
            i++;
        } else {
            fprintf(stderr, "mpifutures bench mpi: unknown option '%s'\n", a);
            return 2;
        }
    }
    return mf_bench_mpi(argc, argv, &o);
}

static int cmd_bench(int *argcp, char ***argvp)
{
    int argc = *argcp - 2;
    char **argv = *argvp + 2;
    if (argc < 1) {
        fprintf(stderr, "mpifutures bench: which benchmark? (threads, mpi)\n");
        return 2;
    }
    if (strcmp(argv[0], "mpi") == 0)
        return cmd_bench_mpi(argcp, argvp, 3);
    if (strcmp(argv[0], "loop") == 0) {
        struct mf_bench_loop_opts lo = {.tasks = 200000, .rounds = 5000,
                                        .reps = 3, .json = 0, .http = 1,
                                        .http_seconds = 2.0};
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                lo.json = 1;
            else if (strcmp(argv[i], "--no-http") == 0)
                lo.http = 0;
            else if (strcmp(argv[i], "--tasks") == 0)
                lo.tasks = mf__cmd_count("--tasks", i + 1 < argc ? argv[++i] : NULL);
            else if (strcmp(argv[i], "--rounds") == 0)
                lo.rounds = mf__cmd_count("--rounds", i + 1 < argc ? argv[++i] : NULL);
            else if (strcmp(argv[i], "--seconds") == 0)
                lo.http_seconds = (double)mf__cmd_count(
                    "--seconds", i + 1 < argc ? argv[++i] : NULL);
            else {
                fprintf(stderr, "mpifutures bench loop: unknown option "
                                "'%s'\n", argv[i]);
                return 2;
            }
        }
        return mf_bench_loop(&lo);
    }
    if (strcmp(argv[0], "threads") != 0) {
        fprintf(stderr, "mpifutures bench: unknown benchmark '%s' "
                        "(available: threads, mpi, loop)\n",
                argv[0]);
        return 2;
    }
    struct mf_bench_threads_opts o = {
        .tasks = 1000000, .rounds = 20000, .workers = 0, .reps = 5, .json = 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o.json = 1;
        else if (strcmp(argv[i], "--tasks") == 0)
            o.tasks = mf__cmd_count("--tasks", i + 1 < argc ? argv[++i] : NULL);
        else if (strcmp(argv[i], "--rounds") == 0)
            o.rounds = mf__cmd_count("--rounds", i + 1 < argc ? argv[++i] : NULL);
        else if (strcmp(argv[i], "--reps") == 0)
            o.reps = mf__cmd_count("--reps", i + 1 < argc ? argv[++i] : NULL);
        else if (strcmp(argv[i], "--workers") == 0)
            o.workers =
                mf__cmd_count("--workers", i + 1 < argc ? argv[++i] : NULL);
        else {
            fprintf(stderr, "mpifutures bench threads: unknown option '%s'\n",
                    argv[i]);
            return 2;
        }
    }
    return mf_bench_threads(&o);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "info") == 0)
        return mf__cmd_info(&argc, &argv, 2);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(&argc, &argv);
    if (strcmp(argv[1], "primes") == 0)
        return mf__cmd_primes(&argc, &argv, 2);
    if (strcmp(argv[1], "overhead") == 0)
        return mf__cmd_overhead(&argc, &argv, 2);
    if (strcmp(argv[1], "stress") == 0)
        return mf__cmd_stress(&argc, &argv, 2);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "mpifutures: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
