/*
 * lib/executor_int.h -- what an executor implements.
 *
 * The generic layer (executor.c) builds futures -- resolving task names,
 * copying and checking arguments, failing the future for a bad name or bad
 * bytes -- and hands finished work items to the executor in batches. An
 * executor owns one reference to each future it accepts and must, for every
 * one, either run it (mf_future_set_running, then complete it) or drop it
 * (the future is cancelled, or it fails it), then release its reference.
 */
#ifndef MF_LIB_EXECUTOR_INT_H
#define MF_LIB_EXECUTOR_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/future_int.h"

struct mf__executor_ops {
    const char *kind;
    /* Accept n futures (n >= 1) in order, in chunks of `chunk` items that
     * travel to one worker together. On error accept none and set
     * mf_errmsg: MF_ESHUTDOWN, MF_EBROKEN. Any thread. */
    int (*submit)(mf_executor *ex, mf_future **fs, size_t n, size_t chunk);
    /* MF_OK while the executor accepts work, else MF_ESHUTDOWN or
     * MF_EBROKEN with mf_errmsg set (a hint: submit decides for real). */
    int (*accepting)(mf_executor *ex);
    /* Stop accepting work; wait up to timeout (seconds, MF_FOREVER, 0 for
     * not at all) for the workers to finish: MF_ETIMEDOUT if they have not
     * (the shutdown goes on; a later call may wait again). */
    int (*shutdown)(mf_executor *ex, double timeout, bool cancel_futures);
    void (*destroy)(mf_executor *ex); /* after a completed shutdown */
    /* Chunk size for MF_CHUNK_AUTO over n items of task t. */
    size_t (*auto_chunk)(mf_executor *ex, size_t n,
                         const struct mf__task *t);
    bool local_calls; /* can run mf_executor_call */
};

struct mf_executor {
    const struct mf__executor_ops *ops;
    size_t max_workers;
};

/* Submit with cb(f, cb_arg) attached as the future's first done callback
 * before the executor can see it (no lock, no race with the worker): for
 * the event-loop bridge. As mf_executor_call / mf_executor_submit
 * otherwise; on a submit error cb never runs. */
int mf__executor_call_notify(mf_executor *ex, mf_call_fn fn, void *arg,
                             mf_done_fn cb, void *cb_arg, mf_future **out);
int mf__executor_submit_notify(mf_executor *ex, const char *task,
                               const void *args, size_t len, mf_done_fn cb,
                               void *cb_arg, mf_future **out);

#endif
