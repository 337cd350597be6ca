/*
 * mpifutures/thread_pool.h -- an executor backed by POSIX threads.
 *
 * Runs registered tasks (arguments and results as MessagePack, exactly as the
 * MPI pool does) and plain local calls (pointers, no serialization). Threads
 * start lazily, one per submit that finds no idle thread, up to max_workers,
 * and are named "<prefix>-<n>" (prefix "mf-pool").
 */
#ifndef MPIFUTURES_THREAD_POOL_H
#define MPIFUTURES_THREAD_POOL_H

#include <stddef.h>

#include "executor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_thread_pool_opts {
    /* At most this many threads; 0 (default) = the number of online cores
     * (sysconf(_SC_NPROCESSORS_ONLN)). */
    size_t max_workers;
    /* Run once on each new thread before its first task. A non-zero return
     * breaks the pool: every pending future fails with MF_EBROKEN and later
     * submits return MF_EBROKEN. */
    int (*initializer)(void *arg);
    void *initarg;
    /* Thread name prefix, at most 10 characters (Linux names are 15). */
    const char *name_prefix;
} mf_thread_pool_opts;

/* Create a thread pool; opts may be NULL for the defaults. No thread starts
 * until the first submit. Any thread. */
int mf_thread_pool_new(const mf_thread_pool_opts *opts, mf_executor **out);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_THREAD_POOL_H */
