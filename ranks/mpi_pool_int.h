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

#endif
