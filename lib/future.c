/*
 * lib/future.c -- the future state machine, waiters and done callbacks.
 * The design notes are in future_int.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cb_runner.h"
#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/future_int.h"
#include "serialization/mp.h"

#define NSTRIPES 64

static struct {
    pthread_mutex_t mu;
    char pad[64 - sizeof(pthread_mutex_t) % 64];
} stripes[NSTRIPES] = {
#define S {PTHREAD_MUTEX_INITIALIZER, {0}}
#define S8 S, S, S, S, S, S, S, S
    S8, S8, S8, S8, S8, S8, S8, S8
#undef S8
#undef S
};

long mf__spin_ns = 20000;

static pthread_mutex_t *stripe(const mf_future *f)
{
    uintptr_t a = (uintptr_t)f;
    return &stripes[(a >> 7 ^ a >> 13) % NSTRIPES].mu;
}

static mf_error oom_error = {
    MF_ENOMEM, "MemoryError", "out of memory while recording the outcome",
    "", "", 1,
};

static inline uint32_t load_state(const mf_future *f)
{
    /* acquire: a done state makes the result written before it visible. */
    return atomic_load_explicit(&((mf_future *)f)->state,
                                memory_order_acquire);
}

static inline int is_done(uint32_t s)
{
    s &= MF__STATE_MASK;
    return s == MF_FINISHED || s == MF_FAILED || s == MF_CANCELLED;
}

/* --- lifecycle ------------------------------------------------------------ */

mf_future *mf__future_alloc(uint32_t refs)
{
    mf_future *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    atomic_init(&f->state, MF_PENDING);
    atomic_init(&f->refs, refs);
    return f;
}

mf_future *mf_future_new(void)
{
    return mf__future_alloc(1);
}

mf_future *mf_future_retain(mf_future *f)
{
    /* relaxed: taking a reference needs an existing one; nothing to order. */
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

static void free_result(mf_future *f)
{
    switch (f->res_kind) {
    case MF__RES_HEAP: free(f->res.heap.ptr); break;
    case MF__RES_ERROR:
        if (!f->res.err->is_static)
            free(f->res.err);
        break;
    default: break;
    }
    f->res_kind = MF__RES_NONE;
}

static void free_args(mf_future *f)
{
    if (f->work_kind == MF__WORK_TASK && !f->args_inline) {
        free(f->work_arg);
        f->work_arg = NULL;
    }
    f->args_inline = 0;
}

void mf_future_release(mf_future *f)
{
    if (f == NULL)
        return;
    /* acq_rel: the last owner must see every other owner's writes. */
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    free_args(f);
    free_result(f);
    struct mf__callback *c = f->more_cbs;
    while (c != NULL) {
        struct mf__callback *next = c->next;
        free(c);
        c = next;
    }
    free(f);
}

/* --- observing ------------------------------------------------------------ */

const char *mf_future_state_name(mf_future_state state)
{
    switch (state) {
    case MF_PENDING: return "PENDING";
    case MF_RUNNING: return "RUNNING";
    case MF_FINISHED: return "FINISHED";
    case MF_FAILED: return "FAILED";
    case MF_CANCELLED: return "CANCELLED";
    }
    return "UNKNOWN";
}

mf_future_state mf_future_state_get(const mf_future *f)
{
    uint32_t s = load_state(f) & MF__STATE_MASK;
    return s == MF__COMPLETING ? MF_RUNNING : (mf_future_state)s;
}

bool mf_future_done(const mf_future *f)
{
    return is_done(load_state(f));
}

bool mf_future_running(const mf_future *f)
{
    return mf_future_state_get(f) == MF_RUNNING;
}

bool mf_future_cancelled(const mf_future *f)
{
    return (load_state(f) & MF__STATE_MASK) == MF_CANCELLED;
}

/* --- listeners ------------------------------------------------------------ */

void mf__waiter_init(struct mf__waiter *w, uint32_t *ready)
{
    pthread_mutex_init(&w->mu, NULL);
    mf__cond_init(&w->cv);
    w->ready = ready;
    w->nready = 0;
    w->nfailed = 0;
}

void mf__waiter_fini(struct mf__waiter *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* Set LISTENED unless f is done. Caller holds f's stripe. */
static int mark_listened(mf_future *f)
{
    uint32_t old = atomic_load_explicit(&f->state, memory_order_acquire);
    for (;;) {
        if (is_done(old))
            return 0;
        if (old & MF__LISTENED)
            return 1;
        /* acquire on failure too: a done state read here is then usable. */
        if (atomic_compare_exchange_weak_explicit(
                &f->state, &old, old | MF__LISTENED, memory_order_acq_rel,
                memory_order_acquire))
            return 1;
    }
}

int mf__future_listen(mf_future *f, struct mf__listener *l)
{
    pthread_mutex_t *mu = stripe(f);
    pthread_mutex_lock(mu);
    if (!mark_listened(f)) {
        pthread_mutex_unlock(mu);
        l->linked = 0;
        return 0;
    }
    l->prev = NULL;
    l->next = f->listeners;
    if (f->listeners != NULL)
        f->listeners->prev = l;
    f->listeners = l;
    l->linked = 1;
    pthread_mutex_unlock(mu);
    return 1;
}

void mf__future_unlisten(mf_future *f, struct mf__listener *l)
{
    pthread_mutex_t *mu = stripe(f);
    pthread_mutex_lock(mu);
    if (l->linked) {
        if (l->prev != NULL)
            l->prev->next = l->next;
        else
            f->listeners = l->next;
        if (l->next != NULL)
            l->next->prev = l->prev;
        l->linked = 0;
    }
    pthread_mutex_unlock(mu);
}

/*
 * f just became done and had listeners: wake waiters (under the stripe) and
 * run callbacks (after it). The caller holds a reference to f.
 */
static void notify(mf_future *f, uint32_t final)
{
    pthread_mutex_t *mu = stripe(f);
    pthread_mutex_lock(mu);
    for (struct mf__listener *l = f->listeners; l != NULL; l = l->next) {
        struct mf__waiter *w = l->waiter;
        l->linked = 0;
        pthread_mutex_lock(&w->mu);
        if (w->ready != NULL)
            w->ready[w->nready] = l->index;
        w->nready++;
        if (final == MF_FAILED)
            w->nfailed++;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    f->listeners = NULL;
    mf_done_fn fn = f->cb_fn;
    void *arg = f->cb_arg;
    struct mf__callback *more = f->more_cbs;
    f->cb_fn = NULL;
    f->more_cbs = NULL;
    pthread_mutex_unlock(mu);

    if (fn == NULL && more == NULL)
        return;
    struct mf__cb_runner *runner = mf__cb_runner_current();
    if (runner != NULL) { /* this thread must not block: hand them over */
        mf__cb_runner_post(runner, f, fn, arg, more);
        return;
    }
    mf__callbacks_fire(f, fn, arg, more);
}

void mf__callbacks_fire(mf_future *f, mf_done_fn fn, void *arg,
                        struct mf__callback *more)
{
    if (fn != NULL)
        fn(f, arg);
    /* more is newest first: reverse to fire in the order added. */
    struct mf__callback *fifo = NULL;
    while (more != NULL) {
        struct mf__callback *next = more->next;
        more->next = fifo;
        fifo = more;
        more = next;
    }
    while (fifo != NULL) {
        struct mf__callback *next = fifo->next;
        fifo->fn(f, fifo->arg);
        free(fifo);
        fifo = next;
    }
}

/* --- completing ------------------------------------------------------------ */

/* Claim the result slot: PENDING/RUNNING -> COMPLETING. */
static int claim(mf_future *f)
{
    uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
    for (;;) {
        uint32_t s = old & MF__STATE_MASK;
        if (s != MF_PENDING && s != MF_RUNNING)
            return 0;
        /* acquire: pairs with the release that published the args. */
        if (atomic_compare_exchange_weak_explicit(
                &f->state, &old, MF__COMPLETING | (old & MF__LISTENED),
                memory_order_acquire, memory_order_relaxed))
            return 1;
    }
}

/* COMPLETING -> final, then notify listeners if there were any. */
static void publish(mf_future *f, uint32_t final)
{
    uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
    /* release: the result written by the claimer happens-before any reader
     * that sees the final state. */
    while (!atomic_compare_exchange_weak_explicit(
        &f->state, &old, final | (old & MF__LISTENED), memory_order_acq_rel,
        memory_order_relaxed))
        ;
    if (old & MF__LISTENED)
        notify(f, final);
}

/*
 * The executor that moved f to RUNNING is its only possible completer (cancel
 * needs PENDING; the public setters refuse executor futures), so RUNNING ->
 * final is one add: only LISTENED can change meanwhile, and an add keeps it.
 */
static void publish_running(mf_future *f, uint32_t final)
{
    /* release: the result written before happens-before any reader that
     * sees the final state. */
    uint32_t old = atomic_fetch_add_explicit(&f->state, final - MF_RUNNING,
                                             memory_order_release);
    if (old & MF__LISTENED)
        notify(f, final);
}

/* Write a MessagePack result into f's slot; the final state to publish. */
static uint32_t store_bytes(mf_future *f, const void *data, size_t len)
{
    free_args(f);
    if (len <= MF__INLINE_BYTES) {
        memcpy(f->res.inl, data, len);
        f->res_len = (uint8_t)len;
        f->res_kind = MF__RES_INLINE;
        return MF_FINISHED;
    }
    char *p = malloc(len);
    if (p == NULL) {
        f->res.err = &oom_error;
        f->res_kind = MF__RES_ERROR;
        return MF_FAILED;
    }
    memcpy(p, data, len);
    f->res.heap.ptr = p;
    f->res.heap.len = len;
    f->res_kind = MF__RES_HEAP;
    return MF_FINISHED;
}

static void store_ptr(mf_future *f, void *ptr)
{
    free_args(f);
    f->res.ptr = ptr;
    f->res_kind = MF__RES_PTR;
}

int mf__future_finish_bytes(mf_future *f, const void *data, size_t len)
{
    if (!claim(f))
        return mf__seterr(MF_ESTATE, "future is already done");
    publish(f, store_bytes(f, data, len));
    return MF_OK;
}

int mf__future_finish_ptr(mf_future *f, void *ptr)
{
    if (!claim(f))
        return mf__seterr(MF_ESTATE, "future is already done");
    store_ptr(f, ptr);
    publish(f, MF_FINISHED);
    return MF_OK;
}

void mf__future_complete_bytes(mf_future *f, const void *data, size_t len)
{
    publish_running(f, store_bytes(f, data, len));
}

void mf__future_complete_ptr(mf_future *f, void *ptr)
{
    store_ptr(f, ptr);
    publish_running(f, MF_FINISHED);
}

/* One allocation holding the error and its four strings. */
static mf_error *error_new(int code, const char *kind, const char *task,
                           const char *origin, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    kind = kind ? kind : mf_err_name(code);
    task = task ? task : "";
    origin = origin ? origin : "";
    size_t lk = strlen(kind) + 1, lm = strlen(msg) + 1, lt = strlen(task) + 1,
           lo = strlen(origin) + 1;
    mf_error *e = malloc(sizeof *e + lk + lm + lt + lo);
    if (e == NULL)
        return &oom_error;
    char *p = (char *)(e + 1);
    e->code = code;
    e->is_static = 0;
    e->kind = memcpy(p, kind, lk);
    e->message = memcpy(p + lk, msg, lm);
    e->task = memcpy(p + lk + lm, task, lt);
    e->origin = memcpy(p + lk + lm + lt, origin, lo);
    return e;
}

int mf__future_vfail(mf_future *f, int code, const char *kind,
                     const char *task, const char *origin, const char *fmt,
                     va_list ap)
{
    if (!claim(f))
        return mf__seterr(MF_ESTATE, "future is already done");
    free_args(f);
    f->res.err = error_new(code, kind, task, origin, fmt, ap);
    f->res_kind = MF__RES_ERROR;
    publish(f, MF_FAILED);
    return MF_OK;
}

void mf__future_complete_error(mf_future *f, int code, const char *kind,
                               const char *task, const char *origin,
                               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free_args(f);
    f->res.err = error_new(code, kind, task, origin, fmt, ap);
    f->res_kind = MF__RES_ERROR;
    va_end(ap);
    publish_running(f, MF_FAILED);
}

int mf__future_fail(mf_future *f, int code, const char *kind,
                    const char *task, const char *origin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = mf__future_vfail(f, code, kind, task, origin, fmt, ap);
    va_end(ap);
    return rc;
}

/* The public setters only complete futures made by mf_future_new: an
 * executor's futures are completed by that executor alone. */
static int refuse_owned(const mf_future *f, const char *who)
{
    if (f->work_kind == MF__WORK_NONE)
        return MF_OK;
    return mf__seterr(MF_ESTATE,
                      "%s: this future belongs to an executor, which alone "
                      "completes it (use mf_future_new for your own)",
                      who);
}

int mf_future_set_value(mf_future *f, const void *msgpack, size_t len)
{
    if (f == NULL || (msgpack == NULL && len > 0))
        return mf__seterr(MF_EINVAL, "mf_future_set_value: NULL argument");
    if (refuse_owned(f, "mf_future_set_value") != MF_OK)
        return MF_ESTATE;
    int rc = mf__mp_validate(msgpack, len);
    if (rc != MF_OK)
        return rc;
    return mf__future_finish_bytes(f, msgpack, len);
}

int mf_future_set_pointer(mf_future *f, void *ptr)
{
    if (f == NULL)
        return mf__seterr(MF_EINVAL, "mf_future_set_pointer: NULL future");
    if (refuse_owned(f, "mf_future_set_pointer") != MF_OK)
        return MF_ESTATE;
    return mf__future_finish_ptr(f, ptr);
}

int mf_future_set_error(mf_future *f, int code, const char *kind,
                        const char *task, const char *origin, const char *fmt,
                        ...)
{
    if (f == NULL || fmt == NULL)
        return mf__seterr(MF_EINVAL, "mf_future_set_error: NULL argument");
    if (code == MF_OK)
        return mf__seterr(MF_EINVAL, "mf_future_set_error: code is MF_OK");
    if (refuse_owned(f, "mf_future_set_error") != MF_OK)
        return MF_ESTATE;
    va_list ap;
    va_start(ap, fmt);
    int rc = mf__future_vfail(f, code, kind, task, origin, fmt, ap);
    va_end(ap);
    return rc;
}

bool mf_future_set_running(mf_future *f)
{
    if (refuse_owned(f, "mf_future_set_running") != MF_OK)
        return false;
    return mf__future_set_running(f);
}

bool mf__future_set_running(mf_future *f)
{
    uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
    for (;;) {
        uint32_t s = old & MF__STATE_MASK;
        if (s != MF_PENDING) {
            if (s != MF_CANCELLED)
                mf__seterr(MF_ESTATE, "set_running on a %s future",
                           mf_future_state_name(mf_future_state_get(f)));
            return false;
        }
        /* acquire: the worker then reads the arguments the submitter
         * published before queueing (the queue lock orders them too). */
        if (atomic_compare_exchange_weak_explicit(
                &f->state, &old, MF_RUNNING | (old & MF__LISTENED),
                memory_order_acquire, memory_order_relaxed))
            return true;
    }
}

bool mf_future_cancel(mf_future *f)
{
    uint32_t old = atomic_load_explicit(&f->state, memory_order_acquire);
    for (;;) {
        uint32_t s = old & MF__STATE_MASK;
        if (s == MF_CANCELLED)
            return true;
        if (s != MF_PENDING)
            return false;
        if (atomic_compare_exchange_weak_explicit(
                &f->state, &old, MF_CANCELLED | (old & MF__LISTENED),
                memory_order_acq_rel, memory_order_acquire))
            break;
    }
    if (old & MF__LISTENED)
        notify(f, MF_CANCELLED);
    return true;
}

int mf_future_add_done_callback(mf_future *f, mf_done_fn fn, void *arg)
{
    if (f == NULL || fn == NULL)
        return mf__seterr(MF_EINVAL, "add_done_callback: NULL argument");
    pthread_mutex_t *mu = stripe(f);
    pthread_mutex_lock(mu);
    if (!mark_listened(f)) {
        pthread_mutex_unlock(mu);
        fn(f, arg);
        return MF_OK;
    }
    if (f->cb_fn == NULL) {
        f->cb_fn = fn;
        f->cb_arg = arg;
    } else {
        struct mf__callback *c = malloc(sizeof *c);
        if (c == NULL) {
            pthread_mutex_unlock(mu);
            return mf__seterr(MF_ENOMEM, "add_done_callback: out of memory");
        }
        c->fn = fn;
        c->arg = arg;
        c->next = f->more_cbs;
        f->more_cbs = c;
    }
    pthread_mutex_unlock(mu);
    return MF_OK;
}

/* --- waiting --------------------------------------------------------------- */

int mf_future_wait(mf_future *f, double timeout)
{
    if (is_done(load_state(f)))
        return MF_OK;
    if (timeout == 0)
        return mf__seterr(MF_ETIMEDOUT, "future not done (polled)");
    double deadline = mf__deadline(timeout);

    /* Spin briefly: a task on another core often finishes within a few
     * microseconds, far less than a sleep/wake round trip. */
    if (mf__spin_ns > 0) {
        double spin_end = mf__now() + (double)mf__spin_ns * 1e-9;
        if (spin_end > deadline)
            spin_end = deadline;
        for (unsigned i = 1;; i++) {
            mf__spin_step(i);
            if (is_done(load_state(f)))
                return MF_OK;
            if ((i & 15) == 0 && mf__now() >= spin_end)
                break;
        }
    }

    struct mf__waiter w;
    struct mf__listener l = {.waiter = &w, .index = 0};
    mf__waiter_init(&w, NULL);
    if (mf__future_listen(f, &l)) {
        pthread_mutex_lock(&w.mu);
        while (w.nready == 0) {
            if (mf__cond_wait_until(&w.cv, &w.mu, deadline) != 0 &&
                mf__now() >= deadline)
                break;
        }
        pthread_mutex_unlock(&w.mu);
        mf__future_unlisten(f, &l);
    }
    mf__waiter_fini(&w);
    if (is_done(load_state(f)))
        return MF_OK;
    return mf__seterr(MF_ETIMEDOUT, "future not done after %.3f s", timeout);
}

static int result_value(mf_future *f, mf_value *out)
{
    mf_value v;
    switch (f->res_kind) {
    case MF__RES_INLINE:
        return mf_value_decode(f->res.inl, f->res_len, out ? out : &v);
    case MF__RES_HEAP:
        return mf_value_decode(f->res.heap.ptr, f->res.heap.len,
                               out ? out : &v);
    case MF__RES_PTR:
        if (out != NULL) {
            out->type = MF_VALUE_PTR;
            out->via.ptr = f->res.ptr;
        }
        return MF_OK;
    default:
        return mf__seterr(MF_ESTATE, "finished future holds no result");
    }
}

int mf_future_result(mf_future *f, double timeout, mf_value *out)
{
    if (f == NULL)
        return mf__seterr(MF_EINVAL, "mf_future_result: NULL future");
    int rc = mf_future_wait(f, timeout);
    if (rc != MF_OK)
        return rc;
    switch (load_state(f) & MF__STATE_MASK) {
    case MF_FINISHED: return result_value(f, out);
    case MF_CANCELLED:
        return mf__seterr(MF_ECANCELLED, "the future was cancelled");
    default: {
        const mf_error *e = f->res.err;
        if (e->task[0])
            return mf__seterr(MF_ETASK, "task '%s' failed: %s: %s", e->task,
                              e->kind, e->message);
        return mf__seterr(MF_ETASK, "%s: %s", e->kind, e->message);
    }
    }
}

int mf_future_result_i64(mf_future *f, double timeout, int64_t *out)
{
    mf_value v;
    int rc = mf_future_result(f, timeout, &v);
    return rc == MF_OK ? mf_value_i64(&v, out) : rc;
}

int mf_future_result_f64(mf_future *f, double timeout, double *out)
{
    mf_value v;
    int rc = mf_future_result(f, timeout, &v);
    return rc == MF_OK ? mf_value_f64(&v, out) : rc;
}

int mf_future_result_str(mf_future *f, double timeout, const char **s,
                         size_t *len)
{
    mf_value v;
    int rc = mf_future_result(f, timeout, &v);
    if (rc != MF_OK)
        return rc;
    if (v.type != MF_VALUE_STR)
        return mf__seterr(MF_ETYPE, "result is %s, not a string",
                          mf_value_type_name(v.type));
    *s = v.via.str.ptr;
    if (len != NULL)
        *len = v.via.str.len;
    return MF_OK;
}

int mf_future_result_ptr(mf_future *f, double timeout, void **out)
{
    mf_value v;
    int rc = mf_future_result(f, timeout, &v);
    if (rc != MF_OK)
        return rc;
    if (v.type != MF_VALUE_PTR)
        return mf__seterr(MF_ETYPE, "result is %s, not a pointer",
                          mf_value_type_name(v.type));
    *out = v.via.ptr;
    return MF_OK;
}

int mf_future_exception(mf_future *f, double timeout, const mf_error **out)
{
    if (f == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_future_exception: NULL argument");
    int rc = mf_future_wait(f, timeout);
    if (rc != MF_OK)
        return rc;
    switch (load_state(f) & MF__STATE_MASK) {
    case MF_CANCELLED:
        return mf__seterr(MF_ECANCELLED, "the future was cancelled");
    case MF_FAILED: *out = f->res.err; return MF_OK;
    default: *out = NULL; return MF_OK;
    }
}

/* --- errors ----------------------------------------------------------------- */

int mf_error_code(const mf_error *e) { return e->code; }
const char *mf_error_kind(const mf_error *e) { return e->kind; }
const char *mf_error_message(const mf_error *e) { return e->message; }
const char *mf_error_task(const mf_error *e) { return e->task; }
const char *mf_error_origin(const mf_error *e) { return e->origin; }
