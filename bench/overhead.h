/*
 * bench/overhead.h -- `mpifutures overhead`: the serialization-overhead
 * laboratory.
 *
 * One CPU-bound task, calibrated on this machine to last `grain` µs, with
 * `payload` bytes of arguments and `payload` bytes of result, run n times by
 * each executor: sequentially on rank 0 (plain C calls, no serialization:
 * the baseline), on a thread pool of the same width as the MPI pool (plain
 * local calls sharing memory), and on the MPI pool at chunksize 1 and at
 * MF_CHUNK_AUTO. Each cell reports wall time, speedup over sequential and,
 * for the MPI pool, where each task's time went (mf_pool_stats). Beside it,
 * in the same run, the floors: MPI ping-pong, memcpy, msgpack pack/unpack.
 *
 * Files: overhead.c measures, overhead_report.c prints (table, CSV, JSON,
 * crossovers), overhead_plot.c drives gnuplot, overhead_peers.c runs Python
 * peers (peers/overhead_peers.py) in the same run.
 */
#ifndef MF_BENCH_OVERHEAD_H
#define MF_BENCH_OVERHEAD_H

#include <stddef.h>
#include <stdio.h>

#define OV_MAX_GRAINS 32
#define OV_MAX_PAYLOADS 16

/* The executors of one cell, in table order. */
enum ov_exec { OV_SEQ, OV_THREADS, OV_MPI1, OV_MPIAUTO, OV_NEXEC };

/* Python peers, measured by peers/overhead_peers.py. */
enum ov_peer { OV_PY_SEQ, OV_PY_PROCESS_POOL, OV_PY_MPI4PY, OV_NPEER };

struct ov_opts {
    double grains_us[OV_MAX_GRAINS];
    size_t ngrains;
    size_t payloads[OV_MAX_PAYLOADS]; /* bytes of arguments (and results) */
    size_t npayloads;
    size_t reps;       /* repetitions per cell, interleaved; medians */
    double cell_s;     /* aim for this much sequential work per cell */
    size_t refine;     /* bisection steps around each crossover */
    size_t workers;    /* spawn/use at most this many workers (0: all) */
    int quick, json, peers, progress;
    const char *csv;         /* NULL: no CSV */
    const char *plot;        /* PNG prefix, NULL: no plots */
    const char *python;      /* interpreter for --peers */
    double peers_timeout_s;  /* the whole peers run */
};

/* Per task, in seconds, averaged over the cell's MPI runs. */
struct ov_split {
    double submit;      /* building the map on the caller (fill + futures) */
    double queue;       /* waiting on rank 0 for a worker's credit */
    double pack;        /* packing TASKS messages */
    double transfer;    /* MPI both ways + noticing the reply */
    double unpack;      /* reading task entries on the worker */
    double run;         /* the task body on the worker */
    double result_pack; /* packing results on the worker */
    double root_cpu;    /* CPU time of the whole rank-0 process */
};

struct ov_cell {
    size_t payload;
    double grain_us;
    size_t n;                  /* tasks per run */
    double t[OV_NEXEC];        /* median wall seconds per run; <0: not run */
    struct ov_split split[2];  /* [0] chunksize 1, [1] auto */
    double auto_chunk;         /* items per message at auto, on average */
    int refined;               /* 1: added by the crossover bisection */
};

/* Physical floors for one payload size, measured in the same run. */
struct ov_floor {
    size_t payload;
    double mpi_rtt_us;   /* ping-pong, payload bytes each way; <0: n/a */
    double memcpy_us;    /* one copy of payload bytes */
    double pack_us;      /* msgpack: [iters, bin(payload), len] */
    double unpack_us;    /* reading it back (zero-copy reader) */
};

struct ov_peer_cell {
    size_t payload;
    double grain_us;
    size_t n;
    double t[OV_NPEER]; /* median wall seconds; <0: not run */
};

/* A crossover: the smallest measured grain at which the executor beats
 * sequential and still does at the next measured grain. */
#define OV_NOT_RUN (-2.0)
struct ov_cross {
    double us;     /* <0: it never did, up to the largest grain;
                    * OV_NOT_RUN: no measurement (a peer unavailable) */
    double below;  /* the largest measured grain where it lost; <0: none */
};

struct ov_result {
    size_t workers;
    double iters_per_us; /* calibration of the task's CPU work */
    struct ov_cell *cells;
    size_t ncells, cap;
    struct ov_floor floors[OV_MAX_PAYLOADS];
    struct ov_peer_cell *peer_cells;
    size_t npeer_cells;
    const char *peers_status;  /* NULL: peers ran; else why not (static) */
    char peers_msg[256];       /* details for peers_status */
    double python_iters_per_us;
    double elapsed_s;
};

/* Collective (every rank, identical options): measure everything into r on
 * rank 0. Returns 0 on rank 0 after a complete run, 1 on failure (message
 * printed), and -1 on worker ranks (nothing to report). */
int ov_measure(int *argc, char ***argv, const struct ov_opts *o,
               struct ov_result *r);

/* Python peers in the same run (after MPI is finalized); fills r's peer
 * fields or peers_status. */
void ov_peers(const struct ov_opts *o, struct ov_result *r);

/* Crossover of executor e (enum ov_exec) for payload p; of a peer. */
struct ov_cross ov_crossover(const struct ov_result *r, size_t p, int e);
struct ov_cross ov_peer_crossover(const struct ov_result *r, size_t p,
                                  int e);

/* Largest t[e]/t[OV_SEQ] over the cells of payload p (grain >= 1 µs). */
double ov_worst_slowdown(const struct ov_result *r, size_t p, int e);

/* Output. */
void ov_print_table(FILE *out, const struct ov_opts *o,
                    const struct ov_result *r);
void ov_print_json(FILE *out, const struct ov_opts *o,
                   const struct ov_result *r);
int ov_write_csv(const char *path, const struct ov_result *r);
/* PNGs through gnuplot; 0 on success, else a message on stderr. */
int ov_plot(const char *prefix, const struct ov_opts *o,
            const struct ov_result *r);

/* Names for tables and files. */
extern const char *const ov_exec_name[OV_NEXEC];
extern const char *const ov_peer_name[OV_NPEER];
const char *ov_size_str(size_t bytes, char *buf, size_t len);

/* Cells of payload p sorted by grain: indexes into r->cells, count. */
size_t ov_cells_of(const struct ov_result *r, size_t payload, size_t *idx,
                   size_t max);

#endif
