/*
 * mpifutures/loop.h -- the event-loop bridge: futures that live on a libuv
 * loop, fed by any executor.
 *
 * An mf_loop attaches to a uv_loop_t (libuv 1.x) owned by the caller. Loop
 * futures (mf_lfuture) are asyncio.Future's counterpart: single-threaded,
 * changed only on the loop's thread, their done callbacks run on that
 * thread from the loop (never inside the call that completes or adds them).
 * mf_loop_wrap_future and mf_loop_run_in_executor connect them to any
 * executor's futures -- thread pool or MPI pool -- whose completions cross
 * threads through one queue per loop, drained by one uv_async_t callback
 * (wake-ups coalesce: at most one pending per loop).
 *
 * Every function here is for the loop's thread only, unless it says
 * otherwise. No <uv.h> is needed to include this header.
 */
#ifndef MPIFUTURES_LOOP_H
#define MPIFUTURES_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "executor.h"
#include "future.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s; /* uv_loop_t */

typedef struct mf_loop mf_loop;
typedef struct mf_lfuture mf_lfuture;

typedef void (*mf_lfuture_fn)(mf_lfuture *f, void *arg);

/* Attach to a libuv loop (the caller runs it). */
int mf_loop_new(struct uv_loop_s *uv, mf_loop **out);

/*
 * Detach from the loop: every pending loop future is cancelled and its
 * callbacks -- and any already scheduled -- run once, from this call (so
 * gathers, waits, timers and suspended coroutines let go of what they
 * hold; a suspended coroutine resumes with MF_ECANCELLED). Completions
 * still to come from executors are dropped safely, and the bridge's
 * handles are closed: run the uv loop once more (uv_run) to let libuv
 * finish. May be called from a done callback or a coroutine. Loop futures
 * stay valid until released; no new ones can be made. NULL: no-op.
 */
void mf_loop_close(mf_loop *l);

/* --- loop futures ----------------------------------------------------------- */

/* A new PENDING loop future that you complete (mf_lfuture_set_*). */
mf_lfuture *mf_lfuture_new(mf_loop *l);
/* References: any thread, except that the last reference to a loop future
 * still pending must be dropped on the loop thread. NULL: no-op. */
mf_lfuture *mf_lfuture_retain(mf_lfuture *f);
void mf_lfuture_release(mf_lfuture *f);

bool mf_lfuture_done(const mf_lfuture *f);
bool mf_lfuture_cancelled(const mf_lfuture *f);

/* The outcome of a done future: MF_OK with the value; MF_ETASK (see
 * mf_lfuture_exception); MF_ECANCELLED; MF_ESTATE when not done yet
 * (loop futures never block: await them or add a callback). */
int mf_lfuture_result(mf_lfuture *f, mf_value *out);
int mf_lfuture_result_i64(mf_lfuture *f, int64_t *out);
int mf_lfuture_exception(mf_lfuture *f, const mf_error **out);

/* Cancel if not done: true if (now) cancelled. A future from
 * run_in_executor/wrap_future also cancels its executor future if that has
 * not started; a result arriving later is dropped. */
bool mf_lfuture_cancel(mf_lfuture *f);

/* Run fn(f, arg) on the loop thread once f is done (also when it already
 * is: from the loop, soon). In order of addition. */
int mf_lfuture_add_done_callback(mf_lfuture *f, mf_lfuture_fn fn, void *arg);

/* Complete your own loop future (MF_ESTATE if done or not yours). */
int mf_lfuture_set_value(mf_lfuture *f, const void *msgpack, size_t len);
int mf_lfuture_set_pointer(mf_lfuture *f, void *ptr);
int mf_lfuture_set_error(mf_lfuture *f, int code, const char *kind,
                         const char *message);

/* --- bridging executors ------------------------------------------------------ */

/* A loop future that follows `fut` (any executor's, or your own mf_future);
 * takes a reference to it. */
int mf_loop_wrap_future(mf_loop *l, mf_future *fut, mf_lfuture **out);

/* Submit to ex and wrap: a plain local call, or a registered task with a
 * MessagePack argument array (as mf_executor_submit). Submit errors are
 * returned as by the executor, with *out NULL. */
int mf_loop_run_in_executor(mf_loop *l, mf_executor *ex, mf_call_fn fn,
                            void *arg, mf_lfuture **out);
int mf_loop_run_task_in_executor(mf_loop *l, mf_executor *ex,
                                 const char *task, const void *args,
                                 size_t len, mf_lfuture **out);

/*
 * A loop future done when all of fs are (asyncio.gather). Without
 * return_exceptions it fails as soon as one of them fails or is cancelled,
 * with that error; with it, it finishes when all are done whatever their
 * outcomes. Its value is nil: read each of fs. Cancelling it cancels
 * every one of fs not done.
 */
int mf_loop_gather(mf_loop *l, mf_lfuture *const *fs, size_t n,
                   bool return_exceptions, mf_lfuture **out);

/* --- timers, waiting, rate limiting ------------------------------------------ */

/* A loop future finished after `seconds` (asyncio.sleep). */
int mf_loop_sleep(mf_loop *l, double seconds, mf_lfuture **out);

/* A loop future finished (value nil) when the mode's condition holds over
 * fs (asyncio.wait): MF_FIRST_COMPLETED, MF_FIRST_EXCEPTION (a failure or
 * all done) or MF_ALL_COMPLETED (mode values of wait.h). Read fs then. */
int mf_loop_wait(mf_loop *l, mf_lfuture *const *fs, size_t n, int mode,
                 mf_lfuture **out);

/*
 * A loop semaphore (asyncio.Semaphore): caps how many holders run at once,
 * e.g. calls to an external service. mf_lsem_acquire returns a loop future
 * done when the caller holds a unit (at once if one is free); waiters are
 * served first come, first served; a cancelled acquire gives its unit to
 * the next. Every acquire that completed must be matched by one release --
 * also by a coroutine that stops on MF_ECANCELLED: if its acquire future is
 * done and not cancelled, the unit was handed over just before the cancel.
 */
typedef struct mf_lsem mf_lsem;
mf_lsem *mf_lsem_new(mf_loop *l, unsigned value);
int mf_lsem_acquire(mf_lsem *s, mf_lfuture **out);
void mf_lsem_release(mf_lsem *s);
void mf_lsem_free(mf_lsem *s); /* waiters still queued are cancelled */

/* Wake-ups of the bridge's async handle that carried completions, and the
 * completions they carried: the first is at most the second (wake-ups
 * coalesce). */
void mf_loop_counters(const mf_loop *l, size_t *wakeups, size_t *completions);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_LOOP_H */
