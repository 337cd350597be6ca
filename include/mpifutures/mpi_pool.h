/*
 * mpifutures/mpi_pool.h -- an executor whose workers are MPI processes.
 *
 * Rank 0 owns the futures and one scheduler thread, the only thread that
 * calls MPI; every other rank runs the worker loop. Tasks travel as
 * MessagePack (task id, arguments) and come back as results or errors; the
 * executor interface is the thread pool's (executor.h), so moving work from
 * threads to processes changes only the line that creates the executor.
 *
 *   int main(int argc, char **argv) {
 *       register_my_tasks();                 // same tasks, same order,
 *       mf_executor *ex;                     // on every rank
 *       if (mf_mpi_pool_new(&argc, &argv, NULL, &ex) != MF_OK) return 1;
 *       if (ex == NULL) return 0;            // a worker rank: done
 *       ... submit, map, wait ...            // rank 0 only
 *       mf_executor_free(ex);                // stops workers, MPI_Finalize
 *   }
 *
 * Started alone (no mpirun: an MPI singleton), rank 0 spawns its workers
 * with MPI_Comm_spawn, running this same program; they take the worker
 * branch above.
 */
#ifndef MPIFUTURES_MPI_POOL_H
#define MPIFUTURES_MPI_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "executor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_mpi_pool_opts {
    /* Started without mpirun: how many workers to spawn; 0 (default) = the
     * number of online cores. Under mpirun the workers are the world's
     * other ranks and this is ignored. */
    size_t max_workers;
    /* Messages (chunks of tasks) in flight per worker, to hide latency;
     * 0 (default) = 2. */
    unsigned prefetch;
    /* Seconds to wait for every worker's start-up handshake; 0 = 60. */
    double startup_timeout;
    /* The largest message, in bytes, the pool sends a worker, and the
     * largest argument list or result of any one task (each with its
     * envelope): a task above it fails with MF_ETOOBIG -- its arguments on
     * rank 0 before sending, its result on the worker instead of sending
     * it. 0 (default) = 1 GiB, also the most allowed (MPI counts are
     * ints); more is MF_EINVAL. A reply carries the results of one
     * message's tasks, each within this cap. */
    size_t max_message;
    /* Seconds a task may run on a worker; 0 (default) = no limit (NaN,
     * negative or infinite: MF_EINVAL). A task past it fails with
     * MF_ETIMEDOUT ("TimeoutError", naming the rank and host), and since a
     * C function cannot be interrupted, its worker is then "stuck": it
     * gets no more tasks, and the futures it held but had not started
     * fail with MF_ETIMEDOUT ("WorkerStuck") -- never sent elsewhere, so
     * no task runs twice (should the stuck task return, the worker may
     * still run them; their results are ignored). With every worker stuck, pending
     * futures and new submits fail with MF_EBROKEN. A pool freed with a
     * worker still stuck cannot finalize MPI (MPI_Finalize waits for every
     * rank): mf_executor_free reports the stuck ranks and calls MPI_Abort.
     * The limit counts from when the worker can start the message (its
     * previous reply arrived); a message of n tasks (map chunks) gets n
     * times the limit. */
    double task_timeout;
} mf_mpi_pool_opts;

/*
 * Collective: call on every rank, after registering tasks. Initializes MPI
 * (MPI_THREAD_SERIALIZED) unless the program already did; then
 * - on rank 0: *out is the pool's executor;
 * - on every other rank (and in spawned workers): runs the worker loop until
 *   rank 0 shuts the pool down, finalizes MPI if this call initialized it,
 *   and returns MF_OK with *out == NULL: return from main.
 * Fails with MF_EMPI (MPI thread level too low, spawn failed), MF_ETIMEDOUT
 * (a worker never reported), or MF_ESTATE when a worker registered other
 * tasks than rank 0 (count and names hash differ); mf_errmsg() says which
 * rank and what to do. One pool per process lifetime: a second call, or one
 * after MPI was finalized, fails with MF_ESTATE. Main thread only (the
 * thread that initializes MPI); free the pool on the same thread.
 *
 * A message carries at most opts->max_message bytes (default and most 1
 * GiB): larger chunks are split, and a task whose arguments or result
 * alone exceed it fails with MF_ETOOBIG; a max_message above 1 GiB is
 * MF_EINVAL (on every rank, before MPI is touched).
 */
int mf_mpi_pool_new(int *argc, char ***argv, const mf_mpi_pool_opts *opts,
                    mf_executor **out);

/*
 * Where the time of the pool's tasks went, summed over every task whose
 * result came back. Worker-side figures are measured on the workers.
 * `transfer_s` is counted per message: what is left of its round trip once
 * the worker's own time for all of its tasks is taken out -- MPI in both
 * directions, waiting behind a prefetched message on the worker, and rank
 * 0 noticing the reply. `queue_s` is waiting, not overhead: a map of N
 * items queues most of them behind the workers' credits.
 */
typedef struct mf_pool_stats {
    uint64_t tasks;       /* results received */
    uint64_t messages;    /* TASKS messages sent */
    double queue_s;       /* waiting on rank 0 for a worker's credit */
    double run_s;         /* task bodies (workers) */
    double pack_s;        /* packing TASKS messages (rank 0) */
    double unpack_s;      /* reading task entries (workers) */
    double result_pack_s; /* packing results (workers) */
    double roundtrip_s;   /* dispatch to result, per task */
    double transfer_s;    /* per message: round trip - worker time */
} mf_pool_stats;

/* Copy the totals so far (MF_EINVAL if ex is not an MPI pool). Any
 * thread. */
int mf_mpi_pool_stats(mf_executor *ex, mf_pool_stats *out);

/* Zero the totals. Any thread. */
int mf_mpi_pool_stats_reset(mf_executor *ex);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_MPI_POOL_H */
