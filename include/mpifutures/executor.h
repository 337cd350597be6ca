/*
 * mpifutures/executor.h -- the executor interface shared by every pool.
 *
 * The thread pool (thread_pool.h) and the MPI process pool implement this
 * one interface, so moving work from threads to processes is a one-line
 * change: the line that creates the executor. Every function here may be
 * called from any thread, including from done callbacks, except where noted.
 */
#ifndef MPIFUTURES_EXECUTOR_H
#define MPIFUTURES_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "future.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_executor mf_executor;

/* A plain local call: runs fn(arg) on a pool thread, no serialization; the
 * future's result is the returned pointer (MF_VALUE_PTR). */
typedef void *(*mf_call_fn)(void *arg);

/*
 * Submit the registered task `task` with an argument list: args_len bytes of
 * one MessagePack array (mf_pack_array + values), copied; args may be NULL
 * for no arguments. On MF_OK *out is a new reference to a PENDING future.
 * An unknown task name or malformed arguments are not submit errors: they
 * fail the returned future (MF_ENOTASK, MF_EDECODE, with a message), as a
 * task raising would. Submit errors: MF_ESHUTDOWN after shutdown,
 * MF_EBROKEN once the executor is broken, MF_ENOMEM; *out is then NULL.
 */
int mf_executor_submit(mf_executor *ex, const char *task, const void *args,
                       size_t args_len, mf_future **out);

/* mf_executor_submit with arguments packed by mf_pack_fmt's format (the
 * format describes the argument list's elements: "l" is one long long). */
int mf_executor_submitf(mf_executor *ex, const char *task, mf_future **out,
                        const char *fmt, ...);

/* Submit a plain local call. MF_ENOTSUP on executors that cannot run local
 * pointers (the MPI pool); otherwise as mf_executor_submit. */
int mf_executor_call(mf_executor *ex, mf_call_fn fn, void *arg,
                     mf_future **out);

/*
 * Stop accepting work. cancel_futures cancels every task that has not
 * started. wait blocks until all started and queued (not cancelled) work is
 * done and the workers have exited. Idempotent; a later call may still wait.
 * Called with wait on one of the executor's own threads (from a done
 * callback, say) it starts the shutdown and returns MF_EDEADLK instead of
 * waiting for itself.
 */
int mf_executor_shutdown(mf_executor *ex, bool wait, bool cancel_futures);

/*
 * mf_executor_shutdown with a bound on the wait: stop accepting work,
 * cancel what has not started if asked, then wait up to timeout seconds
 * (MF_FOREVER: no bound; 0: do not wait) for running and queued work to
 * finish. MF_ETIMEDOUT, with how many workers are still busy in
 * mf_errmsg(), when they have not: the shutdown goes on, and a later call
 * (or mf_executor_free) can wait again. MF_EDEADLK from the executor's own
 * threads, as for mf_executor_shutdown.
 */
int mf_executor_shutdown_timed(mf_executor *ex, bool cancel_futures,
                               double timeout);

/* Shut down (wait, no cancel) and free. Futures stay valid. NULL: no-op.
 * Not from the executor's own threads. */
void mf_executor_free(mf_executor *ex);

/* "thread pool", ... and the number of workers it runs at most. */
const char *mf_executor_kind(const mf_executor *ex);
size_t mf_executor_max_workers(const mf_executor *ex);

/* --- map ------------------------------------------------------------------ */

typedef struct mf_map mf_map;

#define MF_CHUNK_AUTO 0

typedef struct mf_map_opts {
    /* Items sent to one worker together. MF_CHUNK_AUTO (0, the default)
     * lets the executor choose. */
    size_t chunksize;
    /* Seconds from the mf_executor_map call for the whole map; 0 (the
     * default) or negative: no limit. */
    double timeout;
    /* Yield in completion order instead of submission order. */
    bool unordered;
} mf_map_opts;

/* Packs the argument list of item `index` into args: one array. */
typedef int (*mf_map_args_fn)(size_t index, mf_pack *args, void *udata);

/*
 * Submit task over n items at once (Python's Executor.map) and return an
 * iterator over their results. opts may be NULL for the defaults. Errors as
 * mf_executor_submit, plus whatever fill returns (nothing is then left
 * running: already submitted items are cancelled).
 */
int mf_executor_map(mf_executor *ex, const char *task, size_t n,
                    mf_map_args_fn fill, void *udata,
                    const mf_map_opts *opts, mf_map **out);

/* mf_executor_map where item i's argument list is [items[i]]. */
int mf_executor_map_i64(mf_executor *ex, const char *task,
                        const int64_t *items, size_t n,
                        const mf_map_opts *opts, mf_map **out);

/*
 * Next result: MF_OK with *out the value (valid until the next call or
 * mf_map_free) and *index its item; MF_ETASK / MF_ECANCELLED when that item
 * failed or was cancelled (mf_map_error gives the error; iteration may go
 * on); MF_ETIMEDOUT with a message saying how many items are unfinished (the
 * map stays usable); MF_EOF after the last item. index and out may be NULL.
 * One thread at a time.
 */
int mf_map_next(mf_map *m, size_t *index, mf_value *out);

/* The error of the item mf_map_next last reported as failed, else NULL. */
const mf_error *mf_map_error(const mf_map *m);

/* Stop iterating: cancels every item not yet started, then frees. NULL:
 * no-op. */
void mf_map_free(mf_map *m);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_EXECUTOR_H */
