/*
 * tools/cmd_info.c -- `mpifutures info`: this build and the MPI job it runs
 * in.
 *
 *   mpifutures info [--json]                 one process (an MPI singleton)
 *   mpirun -n N mpifutures info [--json]     collective: every rank reports
 *                                            its host, rank 0 prints
 *
 * Rank 0 prints the version, the world size, how it was started, the hosts
 * with their ranks and cores, the MPI thread level provided (the pool asks
 * for MPI_THREAD_SERIALIZED), the transport selection Open MPI reports
 * (btl, pml, mtl, btl_tcp_if_include), the online cores and the
 * registered tasks. The MPI side lives in ranks/info.c: nothing here
 * includes <mpi.h>.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mpifutures.h>

#include "ranks/info_int.h"
#include "ranks/mpi_pool_int.h"
#include "tools/cmd.h"

/* s as a JSON string, quotes included. */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static const char *or_default(const char *s)
{
    return s[0] ? s : "(default)";
}

static void print_json(const mf__mpi_info *in)
{
    printf("{\"version\": \"%s\", \"mpi_library\": ", MF_VERSION_STRING);
    json_str(in->library);
    printf(", \"world_size\": %d, \"launched\": \"%s\", \"hosts\": %zu, "
           "\"ranks_per_host\": {",
           in->world_size, in->singleton ? "singleton" : "launcher",
           in->nhosts);
    for (size_t h = 0; h < in->nhosts; h++) {
        printf("%s", h ? ", " : "");
        json_str(in->hosts[h].name);
        printf(": %d", in->hosts[h].ranks);
    }
    printf("}, \"cores_per_host\": {");
    for (size_t h = 0; h < in->nhosts; h++) {
        printf("%s", h ? ", " : "");
        json_str(in->hosts[h].name);
        printf(": %ld", in->hosts[h].cores);
    }
    printf("}, \"usable_cores_per_host\": {");
    for (size_t h = 0; h < in->nhosts; h++) {
        printf("%s", h ? ", " : "");
        json_str(in->hosts[h].name);
        printf(": %ld", in->hosts[h].usable);
    }
    printf("}, \"thread_level\": \"%s\", \"btl\": ",
           mf__mpi_thread_level_name(in->thread_level));
    json_str(in->btl);
    printf(", \"pml\": ");
    json_str(in->pml);
    printf(", \"mtl\": ");
    json_str(in->mtl);
    printf(", \"btl_tcp_if_include\": ");
    json_str(in->btl_tcp_if_include);
    printf(", \"cores\": %ld, \"registered_tasks\": %zu}\n",
           sysconf(_SC_NPROCESSORS_ONLN), mf_task_count());
}

static void print_text(const mf__mpi_info *in)
{
    printf("mpifutures %s\n", MF_VERSION_STRING);
    printf("MPI: %s\n", in->library);
    printf("world size: %d (%s)\n", in->world_size,
           in->singleton ? "started alone: an MPI singleton"
                         : "started by mpirun or srun");
    printf("MPI thread level provided: %s\n",
           mf__mpi_thread_level_name(in->thread_level));
    printf("hosts: %zu\n", in->nhosts);
    for (size_t h = 0; h < in->nhosts; h++)
        printf("  %-24s %4d rank%s (first: rank %d), %ld cores online, "
               "rank %d may use %ld\n",
               in->hosts[h].name, in->hosts[h].ranks,
               in->hosts[h].ranks == 1 ? " " : "s", in->hosts[h].first_rank,
               in->hosts[h].cores, in->hosts[h].first_rank,
               in->hosts[h].usable);
    printf("transports: btl %s; pml %s; mtl %s; btl_tcp_if_include %s\n",
           or_default(in->btl), or_default(in->pml), or_default(in->mtl),
           or_default(in->btl_tcp_if_include));
    printf("online cores: %ld (default thread-pool workers)\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("registered tasks: %zu\n", mf_task_count());
}

int mf__cmd_info(int *argc, char ***argv, int first)
{
    int json = 0;
    for (int i = first; i < *argc; i++) {
        if (strcmp((*argv)[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr, "mpifutures info: unknown option '%s'\n",
                    (*argv)[i]);
            return 2;
        }
    }
    mf__mpi_info info;
    int rc = mf__mpi_info_gather(argc, argv, &info);
    if (rc != MF_OK) {
        mf__mpi_finalize();
        return mf__cmd_fail("info", rc);
    }
    if (info.rank == 0) {
        if (json)
            print_json(&info);
        else
            print_text(&info);
        fflush(stdout);
    }
    mf__mpi_info_fini(&info);
    mf__mpi_finalize();
    return 0;
}
