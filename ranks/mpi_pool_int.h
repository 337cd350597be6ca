/*
 * ranks/mpi_pool_int.h -- MPI pool knobs for the project's own tools, free
 * of <mpi.h> (nothing above ranks/ includes it).
 */
#ifndef MF_RANKS_MPI_POOL_INT_H
#define MF_RANKS_MPI_POOL_INT_H

#include "mpifutures/executor.h"

/* Use only the first n workers for new dispatches (1..nworkers), e.g. for
 * a scaling table in one job. MF_EINVAL otherwise. Any thread. */
int mf__mpi_pool_set_active(mf_executor *ex, int n);

/* Initialize MPI (MPI_THREAD_SERIALIZED) unless already done. */
int mf__mpi_init(int *argc, char ***argv);

/* Finalize MPI unless already done. Main thread, after the pool is freed. */
void mf__mpi_finalize(void);

/* Collective over the world: rank 0 and rank 1 exchange `bytes` bytes
 * `rounds` times; the median round trip in microseconds on rank 0, -1
 * elsewhere or with fewer than 2 ranks. Before any pool exists. */
double mf__mpi_pingpong_us(size_t bytes, int rounds);

#endif
