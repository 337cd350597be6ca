/*
 * lib/future_int.h -- the future's layout and the hooks executors use.
 *
 * Design notes
 * - state is one atomic word: the mf_future_state in bits 0-2 (plus the
 *   transient COMPLETING, "a completer owns the result slot"), and LISTENED
 *   in bit 3, set once anyone has attached a waiter or a done callback.
 *   A completer claims the future (-> COMPLETING), writes the result, then
 *   publishes the final state with release order; readers acquire-load the
 *   state before reading the result. Exactly one completer can claim.
 * - listeners and callbacks are guarded by a striped lock (64 mutexes keyed
 *   by address), not a per-future mutex, so a pending future stays small.
 *   An adder takes the stripe, sets LISTENED with a CAS that fails if the
 *   future is done, then links. A completer that sees LISTENED in the state
 *   it replaced takes the stripe, unlinks everything and notifies waiters
 *   (waiter mutexes nest inside stripes: lock order stripe -> waiter), then
 *   drops the stripe and fires callbacks with no lock held. Completion of a
 *   future nobody listens to takes no lock at all.
 * - A waiter that stops waiting always takes the stripe to unlink itself,
 *   which also orders it after any completer still notifying it, so its
 *   stack memory can be reused safely afterwards.
 * - The work fields (qnext, chunk, work*) belong to the executor that queued
 *   the future. Small task arguments live in the result slot until the task
 *   runs, since the two are never needed at once.
 */
#ifndef MF_LIB_FUTURE_INT_H
#define MF_LIB_FUTURE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mpifutures/executor.h"
#include "mpifutures/future.h"

#define MF__STATE_MASK 0x7u
#define MF__COMPLETING 5u
#define MF__LISTENED 0x8u

struct mf_error {
    int code;
    const char *kind;
    const char *message;
    const char *task;
    const char *origin;
    int is_static; /* the out-of-memory error, never freed */
};

/* Something blocked on one or more futures (a thread in result(), wait(),
 * as_completed). ready receives listener indices when non-NULL. */
struct mf__waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t *ready;
    size_t nready;  /* notifications received */
    size_t nfailed; /* of which the future FAILED */
};

struct mf__listener {
    struct mf__listener *prev, *next;
    struct mf__waiter *waiter;
    uint32_t index;
    int linked; /* guarded by the future's stripe */
};

struct mf__callback {
    struct mf__callback *next;
    mf_done_fn fn;
    void *arg;
};

enum { MF__RES_NONE, MF__RES_INLINE, MF__RES_HEAP, MF__RES_PTR, MF__RES_ERROR };
enum { MF__WORK_NONE, MF__WORK_CALL, MF__WORK_TASK };

#define MF__INLINE_BYTES 16

struct mf__task;

struct mf_future {
    _Atomic uint32_t state;
    _Atomic uint32_t refs;
    struct mf__listener *listeners; /* stripe */
    struct mf__callback *more_cbs;  /* stripe; newest first */
    mf_done_fn cb_fn;               /* stripe; the first callback */
    void *cb_arg;
    union {
        char inl[MF__INLINE_BYTES];
        struct {
            char *ptr;
            size_t len;
        } heap;
        void *ptr;
        mf_error *err;
    } res;
    uint8_t res_kind;
    uint8_t res_len;   /* bytes used in res.inl */
    uint8_t work_kind;
    uint8_t args_inline;
    uint32_t chunk;    /* queue: entries after this one in the same chunk */
    mf_future *qnext;  /* queue link */
    union {
        mf_call_fn fn;
        const struct mf__task *task;
    } work;
    void *work_arg;    /* call argument, or heap task arguments */
    uint32_t args_len;
    uint32_t map_index; /* position in an mf_map, for its own use */
};

/* Listening (waiters). Returns 1 when linked, 0 when f was already done. */
int mf__future_listen(mf_future *f, struct mf__listener *l);
void mf__future_unlisten(mf_future *f, struct mf__listener *l);

void mf__waiter_init(struct mf__waiter *w, uint32_t *ready);
void mf__waiter_fini(struct mf__waiter *w);

/* Task arguments (start and length) of a queued task future. */
static inline const void *mf__future_args(const mf_future *f)
{
    return f->args_inline ? (const void *)f->res.inl : f->work_arg;
}

/* Completion by the executor running f (state must be RUNNING or PENDING).
 * The caller holds a reference. Return MF_ESTATE if f was already done. */
int mf__future_finish_bytes(mf_future *f, const void *data, size_t len);
int mf__future_finish_ptr(mf_future *f, void *ptr);
int mf__future_fail(mf_future *f, int code, const char *kind,
                    const char *task, const char *origin, const char *fmt,
                    ...) __attribute__((format(printf, 6, 7)));
int mf__future_vfail(mf_future *f, int code, const char *kind,
                     const char *task, const char *origin, const char *fmt,
                     va_list ap);

/* Completion by the executor that moved f to RUNNING with
 * mf__future_set_running (its only possible completer): one atomic add. */
bool mf__future_set_running(mf_future *f);
void mf__future_complete_bytes(mf_future *f, const void *data, size_t len);
void mf__future_complete_ptr(mf_future *f, void *ptr);
void mf__future_complete_error(mf_future *f, int code, const char *kind,
                               const char *task, const char *origin,
                               const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Fire detached callbacks: fn(f, arg) first (if any), then `more` (newest
 * first) in the order they were added, freeing their nodes. No lock held. */
void mf__callbacks_fire(mf_future *f, mf_done_fn fn, void *arg,
                        struct mf__callback *more);

/* Allocate a future with `refs` references, PENDING. */
mf_future *mf__future_alloc(uint32_t refs);

/* Spin budget (ns) before a waiting thread blocks. */
extern long mf__spin_ns;

#endif
