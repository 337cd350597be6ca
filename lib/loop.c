/*
 * lib/loop.c -- the event-loop bridge: loop futures and the completion
 * queue that feeds them from other threads.
 *
 * Design notes
 * - Loop futures change state only on the loop thread; their reference
 *   count is atomic because executor threads may drop the last reference
 *   (a completion arriving after everyone else let go).
 * - The cross-thread part of a loop is `struct lq`: a lock-free stack of
 *   links (closed by swapping in a marker, after which a push frees its
 *   link itself), a uv_async_t and a `pending` flag, refcounted (the mf_loop, the
 *   async handle and every outstanding link hold a reference), so that an
 *   executor completing a future after mf_loop_close touches only memory
 *   that is still alive. A link is allocated on the loop thread when a
 *   loop future is tied to an executor future, and pushed from whatever
 *   thread completes it: no allocation off the loop thread.
 * - Wake-ups coalesce: a pusher calls uv_async_send only if its exchange on
 *   `pending` found it clear; the async callback clears `pending`, then
 *   takes the whole stack (so a later push wakes it again) and resolves
 *   every link in one pass, oldest first. The send happens under `mu`,
 *   which closing also takes, so a send can never race uv_close.
 * - The async handle is referenced (keeps uv_run going) only while links
 *   are outstanding: uv_run(UV_RUN_DEFAULT) returns once every loop
 *   future tied to other threads has been resolved.
 * - For SPIN_S after handing work out, a uv_idle_t keeps uv_run polling
 *   without blocking: a completion from a worker on another core arrives
 *   in a couple of microseconds, while sleeping in epoll_wait and being
 *   woken costs ~15 us here (measured: 1.9 us polling, 17 us sleeping).
 *   After the window the loop blocks as usual, so an idle loop costs
 *   nothing.
 * - Callbacks are never run inside the call that completes a future or
 *   adds the callback: a CALLBACKS link makes the loop run them soon, as
 *   asyncio's call_soon does.
 * - Cancellation follows asyncio's _chain_future: cancelling a loop
 *   future cancels its executor future (which succeeds only if that has
 *   not started); a completion arriving for a loop future that is already
 *   done is dropped.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/executor_int.h"
#include "lib/future_int.h"
#include "mpifutures/loop.h"

enum { LINK_COMPLETE, LINK_CALLBACKS };

#define SPIN_S 50e-6

struct link {
    struct link *next;
    struct lq *q;
    mf_lfuture *lf;
    int kind;
};

struct lq {
    _Atomic int refs;
    _Atomic(struct link *) top; /* pushed links, newest first; or CLOSED */
    _Atomic int pending;        /* an async send is outstanding */
    pthread_mutex_t mu;         /* orders uv_async_send against closing */
    bool closed;                /* under mu */
    uv_async_t async;
    uv_idle_t spin; /* active: uv_run polls without blocking */
    double spin_until;
    mf_loop *loop; /* loop thread only; NULL once closed */
};

struct cb {
    mf_lfuture_fn fn;
    void *arg;
};

struct mf_loop {
    uv_loop_t *uv;
    struct lq *q;
    size_t outstanding; /* links not yet drained */
    size_t wakeups, completions;
    mf_lfuture *pending; /* loop futures not done (for close) */
    bool draining;       /* inside on_async */
    bool closing;        /* mf_loop_close ran */
};

struct mf_lfuture {
    _Atomic int refs;
    struct lq *q;
    int state;        /* MF_PENDING, MF_FINISHED, MF_FAILED, MF_CANCELLED */
    mf_future *inner; /* holds the outcome */
    bool own;         /* inner is ours to complete */
    struct cb *cbs;
    size_t ncb, cbcap, ran;
    bool cb_scheduled;
    mf_lfuture *prev, *next; /* in loop->pending while PENDING */
    mf_lfuture **children;   /* gather */
    size_t nchildren, ndone;
    bool return_exceptions;
};

/* --- the queue ---------------------------------------------------------------- */

static void lq_release(struct lq *q)
{
    /* acq_rel: the last owner sees everything the others did. */
    if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static void link_free(struct link *k)
{
    struct lq *q = k->q;
    mf_lfuture_release(k->lf);
    free(k);
    lq_release(q);
}

static char closed_marker;
#define LQ_CLOSED ((struct link *)(void *)&closed_marker)

/* Push a link from any thread (lock-free); wake the loop unless a wake-up
 * is pending. After close the link is just freed. */
static void link_push(struct link *k)
{
    struct lq *q = k->q;
    /* Once pushed, the link (and its reference to q) belongs to whoever
     * drains it: hold our own reference until the send is done. */
    atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
    /* acquire on the marker: what close wrote before is visible to the
     * releases link_free does here. */
    struct link *top = atomic_load_explicit(&q->top, memory_order_acquire);
    do {
        if (top == LQ_CLOSED) {
            link_free(k);
            lq_release(q);
            return;
        }
        k->next = top;
        /* seq_cst: the push precedes our read of `pending`. */
    } while (!atomic_compare_exchange_weak_explicit(
        &q->top, &top, k, memory_order_seq_cst, memory_order_acquire));
    if (!atomic_exchange_explicit(&q->pending, 1, memory_order_seq_cst)) {
        pthread_mutex_lock(&q->mu);
        if (!q->closed)
            uv_async_send(&q->async);
        pthread_mutex_unlock(&q->mu);
    }
    lq_release(q);
}

/* While active, uv_run polls instead of blocking; stop after the window
 * or once nothing is outstanding. */
static void on_spin(uv_idle_t *h)
{
    struct lq *q = h->data;
    if (q->loop == NULL || q->loop->outstanding == 0 ||
        mf__now() > q->spin_until)
        uv_idle_stop(h);
}

/* A link for lf, counted as outstanding (loop thread). */
static struct link *link_new(mf_lfuture *lf, int kind)
{
    struct lq *q = lf->q;
    struct link *k = malloc(sizeof *k);
    if (k == NULL)
        return NULL;
    k->next = NULL;
    k->q = q;
    k->lf = mf_lfuture_retain(lf);
    k->kind = kind;
    atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
    mf_loop *l = q->loop;
    if (l->outstanding++ == 0)
        uv_ref((uv_handle_t *)&q->async);
    if (kind == LINK_COMPLETE && !uv_is_active((uv_handle_t *)&q->spin)) {
        q->spin_until = mf__now() + SPIN_S;
        uv_idle_start(&q->spin, on_spin);
    }
    return k;
}

static void run_callbacks(mf_lfuture *lf)
{
    mf_lfuture_retain(lf);
    while (lf->ran < lf->ncb) {
        struct cb c = lf->cbs[lf->ran++];
        c.fn(lf, c.arg);
    }
    mf_lfuture_release(lf);
}

static void schedule_callbacks(mf_lfuture *lf)
{
    if (lf->cb_scheduled || lf->ran == lf->ncb || lf->q->loop == NULL)
        return;
    if (lf->q->loop->closing) { /* no loop turn is coming: now */
        run_callbacks(lf);
        return;
    }
    struct link *k = link_new(lf, LINK_CALLBACKS);
    if (k == NULL) { /* out of memory: run them now rather than never */
        run_callbacks(lf);
        return;
    }
    lf->cb_scheduled = true;
    link_push(k);
}

static void unlist(mf_lfuture *lf)
{
    mf_loop *l = lf->q->loop;
    if (l == NULL)
        return;
    if (lf->prev != NULL)
        lf->prev->next = lf->next;
    else if (l->pending == lf)
        l->pending = lf->next;
    if (lf->next != NULL)
        lf->next->prev = lf->prev;
    lf->prev = lf->next = NULL;
}

/* lf just became done (loop thread). */
static void settle(mf_lfuture *lf, int state)
{
    lf->state = state;
    unlist(lf);
    schedule_callbacks(lf);
}

static void close_finish(mf_loop *l);

static void on_async(uv_async_t *h)
{
    struct lq *q = h->data;
    mf_loop *l = q->loop;
    if (l == NULL)
        return;
    /* Clear `pending` first: a push after the take below wakes us again
     * (seq_cst on both, as on the pushing side). */
    atomic_store_explicit(&q->pending, 0, memory_order_seq_cst);
    struct link *lifo =
        atomic_exchange_explicit(&q->top, NULL, memory_order_seq_cst);
    struct link *k = NULL;
    while (lifo != NULL) { /* oldest first */
        struct link *next = lifo->next;
        lifo->next = k;
        k = lifo;
        lifo = next;
    }
    if (l->outstanding > 0) /* more may follow soon: keep polling a bit */
        q->spin_until = mf__now() + SPIN_S;
    bool counted = false;
    /* A callback may close the loop (mf_loop_close defers freeing it to
     * the end of this drain). */
    l->draining = true;
    while (k != NULL && !l->closing) {
        struct link *next = k->next;
        mf_lfuture *lf = k->lf;
        if (k->kind == LINK_COMPLETE) {
            l->completions++;
            if (!counted) {
                l->wakeups++; /* wake-ups that carried completions */
                counted = true;
            }
            if (lf->state == MF_PENDING) { /* else: cancelled, dropped */
                mf_future_state st = mf_future_state_get(lf->inner);
                settle(lf, st == MF_FINISHED   ? MF_FINISHED
                           : st == MF_FAILED   ? MF_FAILED
                                               : MF_CANCELLED);
            }
        } else {
            lf->cb_scheduled = false;
            run_callbacks(lf);
        }
        if (--l->outstanding == 0 && !l->closing)
            uv_unref((uv_handle_t *)&q->async);
        link_free(k);
        k = next;
    }
    l->draining = false;
    while (k != NULL) { /* closed by a callback: the rest is dropped */
        struct link *next = k->next;
        link_free(k);
        k = next;
    }
    if (l->closing)
        close_finish(l);
}

static void on_closed(uv_handle_t *h)
{
    lq_release(h->data);
}

/* --- loops --------------------------------------------------------------------- */

int mf_loop_new(struct uv_loop_s *uv, mf_loop **out)
{
    if (uv == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_loop_new: NULL argument");
    *out = NULL;
    mf_loop *l = calloc(1, sizeof *l);
    struct lq *q = calloc(1, sizeof *q);
    if (l == NULL || q == NULL) {
        free(l);
        free(q);
        return mf__seterr(MF_ENOMEM, "mf_loop_new: out of memory");
    }
    atomic_init(&q->refs, 3); /* the loop, the async and idle handles */
    atomic_init(&q->top, NULL);
    atomic_init(&q->pending, 0);
    pthread_mutex_init(&q->mu, NULL);
    q->loop = l;
    if (uv_async_init(uv, &q->async, on_async) != 0) {
        pthread_mutex_destroy(&q->mu);
        free(q);
        free(l);
        return mf__seterr(MF_ESYS, "mf_loop_new: uv_async_init failed");
    }
    q->async.data = q;
    uv_unref((uv_handle_t *)&q->async); /* referenced while work is out */
    uv_idle_init(uv, &q->spin);
    q->spin.data = q;
    l->uv = uv;
    l->q = q;
    *out = l;
    return MF_OK;
}

/*
 * Cancel every pending loop future and run its callbacks, once, from here:
 * whatever they hold (a gather's or wait's bookkeeping, a suspended
 * coroutine, a request waiting to be answered) is let go as it would be on
 * any cancel. Then close the queue: completions still to come from other
 * threads are dropped by their pushers.
 */
void mf_loop_close(mf_loop *l)
{
    if (l == NULL || l->closing)
        return;
    struct lq *q = l->q;
    l->closing = true;
    /* Futures created by callbacks from here on are pending too: repeat
     * until none is left. Each is held while its callbacks run. */
    while (l->pending != NULL) {
        mf_lfuture *lf = mf_lfuture_retain(l->pending);
        unlist(lf);
        lf->state = MF_CANCELLED;
        mf_future_cancel(lf->inner);
        for (size_t i = 0; i < lf->nchildren; i++)
            mf_lfuture_cancel(lf->children[i]);
        run_callbacks(lf);
        mf_lfuture_release(lf);
    }
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_mutex_unlock(&q->mu);
    if (!l->draining)
        close_finish(l);
}

/* Free a taken list of links, running the callbacks that were scheduled
 * (closing runs every callback once; none waits for a loop turn). */
static void run_and_free(struct link *lifo)
{
    struct link *k = NULL;
    while (lifo != NULL) { /* oldest first */
        struct link *next = lifo->next;
        lifo->next = k;
        k = lifo;
        lifo = next;
    }
    while (k != NULL) {
        struct link *next = k->next;
        if (k->kind == LINK_CALLBACKS) {
            k->lf->cb_scheduled = false;
            run_callbacks(k->lf);
        }
        link_free(k);
        k = next;
    }
}

/* The rest of closing, outside any drain of the queue. */
static void close_finish(mf_loop *l)
{
    struct lq *q = l->q;
    /* Callbacks scheduled before the close (or by the callbacks it ran)
     * run now; they may schedule more, so drain until nothing is left. */
    struct link *lifo;
    while ((lifo = atomic_exchange_explicit(&q->top, NULL,
                                            memory_order_seq_cst)) != NULL)
        run_and_free(lifo);
    /* From now on pushes free their links themselves. seq_cst: pairs with
     * the pushers' acquire of the marker. */
    run_and_free(
        atomic_exchange_explicit(&q->top, LQ_CLOSED, memory_order_seq_cst));
    q->loop = NULL;
    uv_close((uv_handle_t *)&q->async, on_closed);
    uv_close((uv_handle_t *)&q->spin, on_closed);
    free(l);
    lq_release(q);
}

struct uv_loop_s *mf__loop_uv(mf_loop *l)
{
    return l->uv;
}

void mf_loop_counters(const mf_loop *l, size_t *wakeups, size_t *completions)
{
    if (wakeups)
        *wakeups = l->wakeups;
    if (completions)
        *completions = l->completions;
}

/* --- loop futures --------------------------------------------------------------- */

static mf_lfuture *lfuture_new(mf_loop *l, mf_future *inner, bool own)
{
    mf_lfuture *lf = calloc(1, sizeof *lf);
    if (lf == NULL)
        return NULL;
    atomic_init(&lf->refs, 1);
    lf->q = l->q;
    atomic_fetch_add_explicit(&l->q->refs, 1, memory_order_relaxed);
    lf->state = MF_PENDING;
    lf->inner = inner;
    lf->own = own;
    lf->next = l->pending;
    if (l->pending != NULL)
        l->pending->prev = lf;
    l->pending = lf;
    return lf;
}

mf_lfuture *mf_lfuture_new(mf_loop *l)
{
    if (l == NULL || l->closing)
        return NULL;
    mf_future *inner = mf_future_new();
    if (inner == NULL)
        return NULL;
    mf_lfuture *lf = lfuture_new(l, inner, true);
    if (lf == NULL)
        mf_future_release(inner);
    return lf;
}

mf_lfuture *mf_lfuture_retain(mf_lfuture *f)
{
    /* relaxed: a new reference comes from an existing one. */
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

void mf_lfuture_release(mf_lfuture *f)
{
    if (f == NULL)
        return;
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* The loop lists pending futures without a reference. A link's last
     * reference is dropped only after settle or close unlisted it; a
     * pending future with no link can only be released by its user, on
     * the loop thread: unlist it here. */
    if (f->state == MF_PENDING)
        unlist(f);
    for (size_t i = 0; i < f->nchildren; i++)
        mf_lfuture_release(f->children[i]);
    free(f->children);
    free(f->cbs);
    mf_future_release(f->inner);
    lq_release(f->q);
    free(f);
}

bool mf_lfuture_done(const mf_lfuture *f)
{
    return f->state != MF_PENDING;
}

bool mf_lfuture_cancelled(const mf_lfuture *f)
{
    return f->state == MF_CANCELLED;
}

int mf_lfuture_result(mf_lfuture *f, mf_value *out)
{
    if (f == NULL)
        return mf__seterr(MF_EINVAL, "mf_lfuture_result: NULL future");
    if (f->state == MF_PENDING)
        return mf__seterr(MF_ESTATE, "loop future not done yet: await it or "
                                     "add a done callback");
    if (f->state == MF_CANCELLED)
        return mf__seterr(MF_ECANCELLED, "the loop future was cancelled");
    return mf_future_result(f->inner, 0, out);
}

int mf_lfuture_result_i64(mf_lfuture *f, int64_t *out)
{
    mf_value v;
    int rc = mf_lfuture_result(f, &v);
    return rc == MF_OK ? mf_value_i64(&v, out) : rc;
}

int mf_lfuture_exception(mf_lfuture *f, const mf_error **out)
{
    if (f == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_lfuture_exception: NULL argument");
    if (f->state == MF_PENDING)
        return mf__seterr(MF_ESTATE, "loop future not done yet");
    if (f->state == MF_CANCELLED)
        return mf__seterr(MF_ECANCELLED, "the loop future was cancelled");
    return mf_future_exception(f->inner, 0, out);
}

bool mf_lfuture_cancel(mf_lfuture *f)
{
    if (f->state != MF_PENDING)
        return f->state == MF_CANCELLED;
    mf_future_cancel(f->inner); /* an executor's: only if not started */
    for (size_t i = 0; i < f->nchildren; i++)
        mf_lfuture_cancel(f->children[i]);
    settle(f, MF_CANCELLED);
    return true;
}

int mf_lfuture_add_done_callback(mf_lfuture *f, mf_lfuture_fn fn, void *arg)
{
    if (f == NULL || fn == NULL)
        return mf__seterr(MF_EINVAL, "add_done_callback: NULL argument");
    if (f->ncb == f->cbcap) {
        size_t cap = f->cbcap ? 2 * f->cbcap : 2;
        struct cb *c = realloc(f->cbs, cap * sizeof *c);
        if (c == NULL)
            return mf__seterr(MF_ENOMEM, "add_done_callback: out of memory");
        f->cbs = c;
        f->cbcap = cap;
    }
    f->cbs[f->ncb++] = (struct cb){fn, arg};
    if (f->state != MF_PENDING)
        schedule_callbacks(f);
    return MF_OK;
}

static int own_check(mf_lfuture *f, const char *who)
{
    if (f == NULL)
        return mf__seterr(MF_EINVAL, "%s: NULL future", who);
    if (!f->own || f->state != MF_PENDING)
        return mf__seterr(MF_ESTATE, "%s: the loop future is %s", who,
                          f->own ? "already done" : "an executor's");
    return MF_OK;
}

int mf_lfuture_set_value(mf_lfuture *f, const void *msgpack, size_t len)
{
    int rc = own_check(f, "mf_lfuture_set_value");
    if (rc == MF_OK)
        rc = mf_future_set_value(f->inner, msgpack, len);
    if (rc == MF_OK)
        settle(f, MF_FINISHED);
    return rc;
}

int mf_lfuture_set_pointer(mf_lfuture *f, void *ptr)
{
    int rc = own_check(f, "mf_lfuture_set_pointer");
    if (rc == MF_OK)
        rc = mf_future_set_pointer(f->inner, ptr);
    if (rc == MF_OK)
        settle(f, MF_FINISHED);
    return rc;
}

int mf_lfuture_set_error(mf_lfuture *f, int code, const char *kind,
                         const char *message)
{
    int rc = own_check(f, "mf_lfuture_set_error");
    if (rc == MF_OK)
        rc = mf_future_set_error(f->inner, code ? code : MF_ETASK, kind, NULL,
                                 "loop", "%s", message ? message : "");
    if (rc == MF_OK)
        settle(f, MF_FAILED);
    return rc;
}

/* --- bridging ------------------------------------------------------------------ */

/* Done callback of the executor future (any thread). */
static void on_inner_done(mf_future *fut, void *arg)
{
    (void)fut;
    link_push(arg);
}

int mf_loop_wrap_future(mf_loop *l, mf_future *fut, mf_lfuture **out)
{
    if (l == NULL || fut == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_loop_wrap_future: NULL argument");
    *out = NULL;
    if (l->closing)
        return mf__seterr(MF_ESTATE, "mf_loop_wrap_future: the loop is "
                                     "closing");
    mf_lfuture *lf = lfuture_new(l, mf_future_retain(fut), false);
    struct link *k = lf ? link_new(lf, LINK_COMPLETE) : NULL;
    if (k == NULL ||
        mf_future_add_done_callback(fut, on_inner_done, k) != MF_OK) {
        if (k != NULL) {
            if (--l->outstanding == 0)
                uv_unref((uv_handle_t *)&l->q->async);
            link_free(k);
        }
        if (lf != NULL) {
            unlist(lf);
            mf_lfuture_release(lf);
        } else {
            mf_future_release(fut);
        }
        return mf__seterr(MF_ENOMEM, "mf_loop_wrap_future: out of memory");
    }
    *out = lf;
    return MF_OK;
}

/*
 * run_in_executor without wrap_future's callback registration: the loop
 * future and its link exist first, and the link is attached to the
 * executor future as it is created, before any worker can complete it.
 */
static int run_linked(mf_loop *l, mf_executor *ex, mf_call_fn fn, void *arg,
                      const char *task, const void *args, size_t len,
                      mf_lfuture **out)
{
    if (l == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "run_in_executor: NULL argument");
    *out = NULL;
    if (l->closing)
        return mf__seterr(MF_ESTATE, "run_in_executor: the loop is closing");
    mf_lfuture *lf = lfuture_new(l, NULL, false);
    struct link *k = lf ? link_new(lf, LINK_COMPLETE) : NULL;
    if (k == NULL) {
        if (lf != NULL) {
            unlist(lf);
            mf_lfuture_release(lf);
        }
        return mf__seterr(MF_ENOMEM, "run_in_executor: out of memory");
    }
    mf_future *f;
    int rc = fn != NULL ? mf__executor_call_notify(ex, fn, arg,
                                                   on_inner_done, k, &f)
                        : mf__executor_submit_notify(ex, task, args, len,
                                                     on_inner_done, k, &f);
    if (rc != MF_OK && f == NULL) { /* refused: the link never fires */
        if (--l->outstanding == 0)
            uv_unref((uv_handle_t *)&l->q->async);
        link_free(k);
        unlist(lf);
        mf_lfuture_release(lf);
        return rc;
    }
    lf->inner = f; /* the caller's reference becomes the loop future's */
    *out = lf;
    return MF_OK;
}

int mf_loop_run_in_executor(mf_loop *l, mf_executor *ex, mf_call_fn fn,
                            void *arg, mf_lfuture **out)
{
    if (fn == NULL) {
        if (out != NULL)
            *out = NULL;
        return mf__seterr(MF_EINVAL, "run_in_executor: NULL function");
    }
    return run_linked(l, ex, fn, arg, NULL, NULL, 0, out);
}

int mf_loop_run_task_in_executor(mf_loop *l, mf_executor *ex,
                                 const char *task, const void *args,
                                 size_t len, mf_lfuture **out)
{
    return run_linked(l, ex, NULL, NULL, task, args, len, out);
}

/* A child of a gather is done (loop thread). */
static void gather_child(mf_lfuture *child, void *arg)
{
    mf_lfuture *g = arg;
    if (g->state == MF_PENDING) {
        g->ndone++;
        bool bad = child->state != MF_FINISHED;
        if (bad && !g->return_exceptions) {
            const mf_error *e = NULL;
            if (child->state == MF_FAILED)
                mf_future_exception(child->inner, 0, &e);
            mf_future_set_error(g->inner,
                                e ? mf_error_code(e) : MF_ECANCELLED,
                                e ? mf_error_kind(e) : "CancelledError",
                                e ? mf_error_task(e) : NULL,
                                e ? mf_error_origin(e) : "loop", "%s",
                                e ? mf_error_message(e)
                                  : "a gathered future was cancelled");
            settle(g, MF_FAILED);
        } else if (g->ndone == g->nchildren) {
            static const char nil = (char)0xc0;
            mf_future_set_value(g->inner, &nil, 1);
            settle(g, MF_FINISHED);
        }
    }
    mf_lfuture_release(g);
}

int mf_loop_gather(mf_loop *l, mf_lfuture *const *fs, size_t n,
                   bool return_exceptions, mf_lfuture **out)
{
    if (l == NULL || out == NULL || (fs == NULL && n > 0))
        return mf__seterr(MF_EINVAL, "mf_loop_gather: NULL argument");
    *out = NULL;
    mf_lfuture *g = mf_lfuture_new(l);
    if (g == NULL || (n > 0 && (g->children = calloc(n, sizeof *fs)) == NULL)) {
        if (g != NULL) {
            unlist(g);
            mf_lfuture_release(g);
        }
        return mf__seterr(MF_ENOMEM, "mf_loop_gather: out of memory");
    }
    g->own = false; /* completed by its children only */
    g->return_exceptions = return_exceptions;
    for (size_t i = 0; i < n; i++) {
        g->children[g->nchildren++] = mf_lfuture_retain(fs[i]);
        mf_lfuture_retain(g); /* one per child callback */
        if (mf_lfuture_add_done_callback(fs[i], gather_child, g) != MF_OK) {
            mf_lfuture_release(g);
            mf_lfuture_cancel(g);
            mf_lfuture_release(g);
            return mf__seterr(MF_ENOMEM, "mf_loop_gather: out of memory");
        }
    }
    if (n == 0) {
        static const char nil = (char)0xc0;
        mf_future_set_value(g->inner, &nil, 1);
        settle(g, MF_FINISHED);
    }
    *out = g;
    return MF_OK;
}
