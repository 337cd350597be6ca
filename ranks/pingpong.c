/*
 * ranks/pingpong.c -- raw MPI measurements for `mpifutures bench mpi`, run
 * before the pool starts so that its scheduler remains the only MPI thread
 * afterwards: the floor the pool's round trip is compared against.
 */
#include <stdlib.h>

#include "lib/clock.h"
#include "lib/error_int.h"
#include "ranks/mpi_int.h"

int mf__mpi_init(int *argc, char ***argv)
{
    int initialized, provided;
    MPI_Initialized(&initialized);
    if (initialized)
        return MF_OK;
    /* A singleton may spawn more workers than it has slots. */
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) !=
        MPI_SUCCESS)
        return mf__seterr(MF_EMPI, "MPI_Init_thread failed");
    return MF_OK;
}

void mf__mpi_finalize(void)
{
    int finalized;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Finalize();
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double mf__mpi_pingpong_us(size_t bytes, int rounds)
{
    int size, rank;
    MPI_Comm parent;
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL)
        return -1; /* spawned workers: the pool's business only */
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (size < 2 || rounds < 1)
        return -1;
    char *buf = calloc(bytes ? bytes : 1, 1);
    double *t = calloc((size_t)rounds, sizeof *t);
    double median = -1;
    if (buf == NULL || t == NULL)
        goto out;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = -100; i < rounds; i++) { /* 100 warm-up rounds */
        if (rank == 0) {
            double a = mf__now();
            MPI_Send(buf, (int)bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
            MPI_Recv(buf, (int)bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            if (i >= 0)
                t[i] = (mf__now() - a) * 1e6;
        } else if (rank == 1) {
            MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            MPI_Send(buf, (int)bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        qsort(t, (size_t)rounds, sizeof *t, cmp);
        median = t[rounds / 2];
    }
out:
    free(buf);
    free(t);
    return median;
}
