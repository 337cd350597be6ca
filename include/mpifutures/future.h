/*
 * mpifutures/future.h -- the Future: a handle to a result that may not exist
 * yet.
 *
 * States follow Python's concurrent.futures: PENDING when submitted, RUNNING
 * once a worker picks it up, then done, which is one of FINISHED (a result),
 * FAILED (an error: the "exception") or CANCELLED. Done is final.
 *
 * A future is reference counted and every function here is safe to call from
 * any thread unless it says otherwise. mf_future_release drops the caller's
 * reference; the executor holds its own while the task is queued or running,
 * so releasing a pending future does not cancel it.
 *
 * Timeouts are in seconds: MF_FOREVER (any negative value) waits without
 * limit, 0 only polls. A timeout never changes the future.
 */
#ifndef MPIFUTURES_FUTURE_H
#define MPIFUTURES_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MF_FOREVER (-1.0)

typedef struct mf_future mf_future;
typedef struct mf_error mf_error;

typedef enum mf_future_state {
    MF_PENDING = 0,
    MF_RUNNING = 1,
    MF_FINISHED = 2,
    MF_FAILED = 3,
    MF_CANCELLED = 4
} mf_future_state;

/* "PENDING", "RUNNING", ... Any thread. */
const char *mf_future_state_name(mf_future_state state);

/*
 * A callback fired exactly once when the future is done (finished, failed or
 * cancelled). It runs on the thread that completed the future, or at once on
 * the thread that adds it if the future is already done; never with a library
 * lock held. It must not block for long (it delays that thread's next task)
 * and must not wait on the future's own executor to shut down.
 */
typedef void (*mf_done_fn)(mf_future *f, void *arg);

/* --- creating, sharing ------------------------------------------------- */

/* A new PENDING future not attached to any executor; complete it with
 * mf_future_set_*. Returns NULL when out of memory. */
mf_future *mf_future_new(void);

/* Take another reference; returns f. */
mf_future *mf_future_retain(mf_future *f);

/* Drop a reference; the last one frees the future. NULL is a no-op. */
void mf_future_release(mf_future *f);

/* --- observing --------------------------------------------------------- */

mf_future_state mf_future_state_get(const mf_future *f);
bool mf_future_done(const mf_future *f);
bool mf_future_running(const mf_future *f);
bool mf_future_cancelled(const mf_future *f);

/*
 * Wait up to timeout for the future to be done. MF_OK when done (whatever
 * the outcome), MF_ETIMEDOUT otherwise.
 */
int mf_future_wait(mf_future *f, double timeout);

/*
 * Wait up to timeout, then give the result. MF_OK with *out set (a view
 * valid while the caller holds its reference); MF_ETASK when the task failed
 * (see mf_future_exception); MF_ECANCELLED; MF_ETIMEDOUT. out may be NULL.
 */
int mf_future_result(mf_future *f, double timeout, mf_value *out);

/* mf_future_result plus a conversion; MF_ETYPE when the result has another
 * type. */
int mf_future_result_i64(mf_future *f, double timeout, int64_t *out);
int mf_future_result_f64(mf_future *f, double timeout, double *out);
int mf_future_result_str(mf_future *f, double timeout, const char **s,
                         size_t *len);
int mf_future_result_ptr(mf_future *f, double timeout, void **out);

/*
 * Wait up to timeout, then give the error: MF_OK with *out the error if the
 * task failed or NULL if it succeeded; MF_ECANCELLED; MF_ETIMEDOUT. The
 * error lives as long as the future.
 */
int mf_future_exception(mf_future *f, double timeout, const mf_error **out);

/* --- acting ------------------------------------------------------------ */

/*
 * Cancel the future if it has not started. Returns true when the future is
 * (now or already) cancelled, false when it is running or done. Cancelling
 * wakes every waiter and fires the done callbacks.
 */
bool mf_future_cancel(mf_future *f);

/*
 * Attach fn(f, arg) to run once when f is done; runs it at once, in the
 * caller, if f is already done. Callbacks fire in the order added.
 * MF_ENOMEM (and fn never runs) when out of memory.
 */
int mf_future_add_done_callback(mf_future *f, mf_done_fn fn, void *arg);

/* --- completing your own futures --------------------------------------
 * These complete futures made by mf_future_new (bridges, tests, your own
 * producers). An executor's futures are completed by that executor alone:
 * on them these calls return MF_ESTATE (set_running returns false). */

/*
 * Move PENDING to RUNNING and return true; return false if the future was
 * cancelled (the caller must then drop the work). Other states: false and
 * MF_ESTATE in mf_errmsg. Python's set_running_or_notify_cancel.
 */
bool mf_future_set_running(mf_future *f);

/* Complete with MessagePack bytes (copied; validated, MF_EDECODE if not
 * exactly one value) or with a pointer. MF_ESTATE if already done. */
int mf_future_set_value(mf_future *f, const void *msgpack, size_t len);
int mf_future_set_pointer(mf_future *f, void *ptr);

/* Fail with an error; code is the mf_err that classifies it (MF_ETASK for a
 * task's own failure). task and origin may be NULL. MF_ESTATE if done. */
int mf_future_set_error(mf_future *f, int code, const char *kind,
                        const char *task, const char *origin,
                        const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* --- errors ------------------------------------------------------------ */

/* The classifying code: MF_ETASK for a task's own error, MF_ENOTASK,
 * MF_ETYPE, MF_EBROKEN, MF_EDECODE ... */
int mf_error_code(const mf_error *e);
/* Short kind, e.g. "ValueError", "TypeError", "BrokenExecutor". */
const char *mf_error_kind(const mf_error *e);
const char *mf_error_message(const mf_error *e);
/* Name of the task that failed, "" when unknown. */
const char *mf_error_task(const mf_error *e);
/* Where it happened, e.g. "thread mf-pool-2 on node07" or "rank 3 on n12". */
const char *mf_error_origin(const mf_error *e);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_FUTURE_H */
