/*
 * ranks/info_int.h -- what `mpifutures info` reports about an MPI job,
 * gathered collectively; free of <mpi.h> (nothing above ranks/ includes it).
 */
#ifndef MF_RANKS_INFO_INT_H
#define MF_RANKS_INFO_INT_H

#include <stddef.h>

/* One host of the job, in order of its lowest rank. */
struct mf__mpi_host {
    char name[64];
    int ranks;      /* ranks on this host */
    int first_rank; /* its lowest rank */
    long cores;     /* online cores, as its first rank sees them */
    long usable;    /* of those, the ones its first rank may run on */
};

typedef struct mf__mpi_info {
    int rank, world_size;
    int singleton;     /* started alone, without mpirun or srun */
    int thread_level;  /* provided: MPI_THREAD_SINGLE (0) .. MULTIPLE (3) */
    char library[128]; /* MPI_Get_library_version, first line */
    /* The transport selection in effect, as Open MPI's MPI_T control
     * variables (its MCA parameters) report it; "" when not available. */
    char btl[128], pml[64], mtl[64], btl_tcp_if_include[128];
    /* Rank 0 only (NULL and 0 elsewhere): every host, from a gather. */
    struct mf__mpi_host *hosts;
    size_t nhosts;
} mf__mpi_info;

/* Collective over MPI_COMM_WORLD: initialize MPI as the pool does
 * (MPI_THREAD_SERIALIZED, unless already done), read the thread level and
 * the transport selection, and gather every rank's host name and core count
 * on rank 0. MF_OK, MF_EMPI or MF_ENOMEM (with mf_errmsg()). The caller
 * frees with mf__mpi_info_fini and finalizes with mf__mpi_finalize. Main
 * thread, before any pool exists. */
int mf__mpi_info_gather(int *argc, char ***argv, mf__mpi_info *info);

/* Free what mf__mpi_info_gather allocated; fini of a zeroed info is fine. */
void mf__mpi_info_fini(mf__mpi_info *info);

/* "MPI_THREAD_SERIALIZED" for 2, and so on; "unknown" otherwise. */
const char *mf__mpi_thread_level_name(int level);

#endif
