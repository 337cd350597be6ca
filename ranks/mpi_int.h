/*
 * ranks/mpi_int.h -- what the root and the workers share: tags, the worker
 * loop, host names.
 */
#ifndef MF_RANKS_MPI_INT_H
#define MF_RANKS_MPI_INT_H

#include <mpi.h>

#include "ranks/mpi_pool_int.h"

/* One tag per direction and purpose; payloads are envelope.h messages. */
enum {
    MF__TAG_CTRL = 101,    /* HELLO, STOP, BROKEN */
    MF__TAG_TASKS = 102,   /* TASKS, root -> worker */
    MF__TAG_RESULTS = 103  /* RESULTS, worker -> root */
};

/* Run the worker side on comm (root is rank 0 of comm) until STOP. Sends
 * HELLO first. Returns MF_OK after STOP, MF_EMPI on an MPI failure. */
int mf__mpi_worker_run(MPI_Comm comm);

/* This host's name (never NULL). */
const char *mf__hostname(void);

/* Sleep for ns nanoseconds (backoff). */
void mf__sleep_ns(long ns);

/*
 * How long to wait before polling MPI again, for a side (the root's
 * scheduler, a worker) waiting for the other. One policy on both sides,
 * since each side's lateness delays the other's next message:
 * - for the first 200 us: 0, i.e. poll again at once (spin, yielding);
 * - until 5 ms: 50 us between polls, so a reply is never more than ~50 us
 *   late (plain doubling lets the two sides push each other into ever
 *   longer sleeps: milliseconds per round trip);
 * - after that: doubling up to `cap_ns`, so a side waiting on long tasks
 *   costs well under 1% of a core.
 */
struct mf__backoff {
    double start;
    long ns;
    long cap_ns;
};

void mf__backoff_start(struct mf__backoff *b, long cap_ns);
/* Nanoseconds to wait before the next poll (0: poll at once). */
long mf__backoff_next(struct mf__backoff *b);

#endif
