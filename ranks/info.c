/*
 * ranks/info.c -- what `mpifutures info` reports about an MPI job: world
 * size, hosts and ranks per host (gathered on rank 0), the thread level MPI
 * provided, and the transport selection Open MPI is using.
 *
 * The transports come from MPI_T control variables, which is how Open MPI
 * exposes its MCA parameters to a program: "btl" (e.g. "tcp,self" or
 * "^uct,openib,ofi"), "pml", "mtl" and "btl_tcp_if_include". They say what
 * was selected or excluded, not which transport each peer pair ended up
 * on (Open MPI 4 has no portable query for that); when the tools interface
 * does not answer, the OMPI_MCA_* environment variables mpirun exports are
 * used instead.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error_int.h"
#include "ranks/info_int.h"
#include "ranks/mpi_int.h"

const char *mf__mpi_thread_level_name(int level)
{
    static const char *names[] = {"MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED",
                                  "MPI_THREAD_SERIALIZED",
                                  "MPI_THREAD_MULTIPLE"};
    return level >= 0 && level < 4 ? names[level] : "unknown";
}

/* Copy the string control variable `name` into buf (size n); leaves buf
 * empty when the variable does not exist or is not a string. */
static void cvar_string(const char *name, char *buf, size_t n)
{
    int idx, count, verbosity, bind, scope;
    MPI_Datatype type;
    MPI_T_enum enumtype;
    MPI_T_cvar_handle h;
    buf[0] = '\0';
    if (MPI_T_cvar_get_index(name, &idx) != MPI_SUCCESS ||
        MPI_T_cvar_get_info(idx, NULL, NULL, &verbosity, &type, &enumtype, NULL,
                            NULL, &bind, &scope) != MPI_SUCCESS ||
        type != MPI_CHAR)
        goto out_env;
    if (MPI_T_cvar_handle_alloc(idx, NULL, &h, &count) != MPI_SUCCESS)
        goto out_env;
    char *tmp = calloc((size_t)count + 1, 1);
    if (tmp != NULL && MPI_T_cvar_read(h, tmp) == MPI_SUCCESS)
        snprintf(buf, n, "%s", tmp);
    free(tmp);
    MPI_T_cvar_handle_free(&h);
out_env:
    if (buf[0] == '\0') {
        char env[96];
        snprintf(env, sizeof env, "OMPI_MCA_%s", name);
        const char *v = getenv(env);
        if (v != NULL)
            snprintf(buf, n, "%s", v);
    }
}

static void read_transports(mf__mpi_info *info)
{
    int provided;
    if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS)
        return;
    cvar_string("btl", info->btl, sizeof info->btl);
    cvar_string("pml", info->pml, sizeof info->pml);
    cvar_string("mtl", info->mtl, sizeof info->mtl);
    cvar_string("btl_tcp_if_include", info->btl_tcp_if_include,
                sizeof info->btl_tcp_if_include);
    MPI_T_finalize();
}

/* What every rank sends to rank 0. */
struct rank_rec {
    char host[64];
    long cores, usable;
};

/* The cores this process may run on (its affinity: a binding, a Slurm
 * cgroup, taskset), or the online cores if that cannot be read. */
static long usable_cores(long online)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return online;
    return CPU_COUNT(&set);
}

int mf__mpi_info_gather(int *argc, char ***argv, mf__mpi_info *info)
{
    memset(info, 0, sizeof *info);
    int rc = mf__mpi_init(argc, argv);
    if (rc != MF_OK)
        return rc;
    MPI_Comm_rank(MPI_COMM_WORLD, &info->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &info->world_size);
    MPI_Query_thread(&info->thread_level);
    /* No portable MPI query says how a process was started; these are
     * what mpirun (Open MPI), srun and PMI-1 launchers export. */
    info->singleton =
        info->world_size == 1 && getenv("OMPI_COMM_WORLD_SIZE") == NULL &&
        getenv("SLURM_STEP_NUM_TASKS") == NULL && getenv("PMI_SIZE") == NULL;
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, "\n")] = '\0';
    snprintf(info->library, sizeof info->library, "%.127s", lib);
    read_transports(info);

    struct rank_rec mine = {.cores = sysconf(_SC_NPROCESSORS_ONLN)};
    mine.usable = usable_cores(mine.cores);
    snprintf(mine.host, sizeof mine.host, "%.63s", mf__hostname());
    struct rank_rec *all = NULL;
    if (info->rank == 0) {
        all = calloc((size_t)info->world_size, sizeof *all);
        info->hosts = calloc((size_t)info->world_size, sizeof *info->hosts);
    }
    /* Rank 0 says first whether it can take the gather, so that every
     * rank makes the same collective calls even when it cannot. */
    int ok = info->rank != 0 || (all != NULL && info->hosts != NULL);
    if (MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS ||
        (ok &&
         MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine,
                    MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)) {
        free(all);
        mf__mpi_info_fini(info);
        return mf__seterr(MF_EMPI, "info: gathering the host names failed");
    }
    if (!ok) {
        free(all);
        mf__mpi_info_fini(info);
        return mf__seterr(MF_ENOMEM, "info: rank 0 has no memory for %d ranks",
                          info->world_size);
    }
    /* Hosts in order of their lowest rank; the quadratic search is fine
     * for the few thousand ranks a job has at most. */
    for (int r = 0; info->rank == 0 && r < info->world_size; r++) {
        size_t h = 0;
        while (h < info->nhosts && strcmp(info->hosts[h].name, all[r].host))
            h++;
        if (h == info->nhosts) {
            memcpy(info->hosts[h].name, all[r].host, sizeof all[r].host);
            info->hosts[h].name[sizeof info->hosts[h].name - 1] = '\0';
            info->hosts[h].first_rank = r;
            info->hosts[h].cores = all[r].cores;
            info->hosts[h].usable = all[r].usable;
            info->nhosts++;
        }
        info->hosts[h].ranks++;
    }
    free(all);
    return MF_OK;
}

void mf__mpi_info_fini(mf__mpi_info *info)
{
    free(info->hosts);
    info->hosts = NULL;
    info->nhosts = 0;
}
