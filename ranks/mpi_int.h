/*
 * ranks/mpi_int.h -- what the root and the workers share: tags, the worker
 * loop, host names.
 */
#ifndef MF_RANKS_MPI_INT_H
#define MF_RANKS_MPI_INT_H

#include <mpi.h>

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

#endif
