/*
 * lib/thread_pool.c -- the thread-pool executor.
 *
 * Design notes
 * - One FIFO of futures (linked through qnext) under one mutex `mu`. A chunk
 *   of k items is k consecutive entries whose first has chunk = k - 1; a
 *   worker takes a whole chunk per lock acquisition.
 * - Threads start lazily: a submit that finds no idle worker (sleeping or
 *   spinning) starts one, up to max_workers, as CPython does. Threads are
 *   created under `mu`, so after shutdown sets its flag no thread can appear
 *   behind the joiner's back.
 * - Who wakes whom: a worker with nothing to do first spins for
 *   mf__spin_ns watching `queued` (an atomic, written under mu) without the
 *   lock, then sleeps on `cv`. A submitter signals only when no worker is
 *   spinning and more workers sleep than have already been signalled
 *   (`wakeups`), so a burst of submits costs at most one futex wake per
 *   sleeping worker. A worker re-checks the queue under `mu` before it
 *   sleeps, so no submit is missed.
 * - Lock order: join_mu -> mu. No lock is held while a task or a done
 *   callback runs (completion happens after the worker has unlocked).
 * - The pool holds one reference to each queued future and drops it after
 *   running, cancelling or failing it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/executor_int.h"
#include "lib/task_int.h"
#include "mpifutures/thread_pool.h"

struct tpool {
    mf_executor base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mf_future *head, *tail;
    _Atomic size_t queued;   /* entries in the FIFO; written under mu */
    _Atomic size_t spinning; /* workers watching `queued` unlocked */
    size_t sleeping;         /* workers blocked on cv */
    size_t wakeups;          /* signals sent and not yet consumed */
    size_t nthreads;         /* started (joined by shutdown) */
    bool shutdown;
    bool broken;
    char broken_msg[384];
    pthread_t *threads;
    pthread_mutex_t join_mu;
    size_t joined;
    int (*init)(void *);
    void *initarg;
    char prefix[11];
};

struct worker_arg {
    struct tpool *p;
    size_t index;
};

static _Thread_local struct tpool *current_pool;
static _Thread_local char current_origin[128];

/* Detach the whole FIFO (caller holds mu). */
static mf_future *take_all(struct tpool *p)
{
    mf_future *list = p->head;
    p->head = p->tail = NULL;
    atomic_store_explicit(&p->queued, 0, memory_order_relaxed);
    return list;
}

static void fail_list(mf_future *list, const char *msg)
{
    while (list != NULL) {
        mf_future *next = list->qnext;
        const char *task =
            list->work_kind == MF__WORK_TASK ? list->work.task->name : "";
        mf__future_fail(list, MF_EBROKEN, "BrokenThreadPool", task,
                        current_origin[0] ? current_origin : "thread pool",
                        "%s", msg);
        mf_future_release(list);
        list = next;
    }
}

/* Mark the pool broken (first reason wins) and fail everything queued. */
static void break_pool(struct tpool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void break_pool(struct tpool *p, const char *fmt, ...)
{
    pthread_mutex_lock(&p->mu);
    if (!p->broken) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->broken_msg, sizeof p->broken_msg, fmt, ap);
        va_end(ap);
        p->broken = true;
    }
    mf_future *list = take_all(p);
    char msg[sizeof p->broken_msg];
    memcpy(msg, p->broken_msg, sizeof msg);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fail_list(list, msg);
}

static void run_one(mf_future *f, mf_reply *reply)
{
    if (mf_future_set_running(f)) {
        if (f->work_kind == MF__WORK_CALL) {
            mf__future_finish_ptr(f, f->work.fn(f->work_arg));
        } else {
            const struct mf__task *t = f->work.task;
            mf__task_run(t, mf__future_args(f), f->args_len, reply);
            if (reply->failed)
                mf__future_fail(f, reply->code, reply->kind, t->name,
                                current_origin, "%s", reply->message);
            else
                mf__future_finish_bytes(f, reply->pack.data, reply->pack.len);
        }
    }
    mf_future_release(f);
}

static void *worker_main(void *arg)
{
    struct worker_arg wa = *(struct worker_arg *)arg;
    struct tpool *p = wa.p;
    free(arg);
    char name[16], host[64] = "";
    snprintf(name, sizeof name, "%s-%zu", p->prefix, wa.index);
    pthread_setname_np(pthread_self(), name);
    gethostname(host, sizeof host - 1);
    snprintf(current_origin, sizeof current_origin, "thread %s on %s", name,
             host);
    current_pool = p;

    if (p->init != NULL) {
        int rc = p->init(p->initarg);
        if (rc != 0) {
            break_pool(p,
                       "the thread pool's initializer failed on %s "
                       "(returned %d); the pool is broken: pending tasks "
                       "fail and new submits are refused",
                       name, rc);
            return NULL;
        }
    }

    mf_reply reply;
    mf__reply_init(&reply);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->head != NULL) {
            mf_future *first = p->head, *last = first;
            size_t k = (size_t)first->chunk + 1;
            for (size_t i = 1; i < k; i++)
                last = last->qnext;
            p->head = last->qnext;
            if (p->head == NULL)
                p->tail = NULL;
            atomic_store_explicit(
                &p->queued,
                atomic_load_explicit(&p->queued, memory_order_relaxed) - k,
                memory_order_relaxed);
            pthread_mutex_unlock(&p->mu);
            for (size_t i = 0; i < k; i++) {
                mf_future *next = first->qnext;
                run_one(first, &reply);
                first = next;
            }
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (p->shutdown || p->broken)
            break;

        /* Nothing queued: watch for work briefly before sleeping. */
        atomic_fetch_add_explicit(&p->spinning, 1, memory_order_relaxed);
        pthread_mutex_unlock(&p->mu);
        if (mf__spin_ns > 0) {
            double end = mf__now() + (double)mf__spin_ns * 1e-9;
            for (unsigned i = 1;; i++) {
                mf__cpu_relax();
                /* relaxed: only a hint; the queue is read under mu. */
                if (atomic_load_explicit(&p->queued, memory_order_relaxed))
                    break;
                if ((i & 63) == 0 && mf__now() >= end)
                    break;
            }
        }
        pthread_mutex_lock(&p->mu);
        atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_relaxed);
        if (p->head != NULL || p->shutdown || p->broken)
            continue;
        p->sleeping++;
        pthread_cond_wait(&p->cv, &p->mu);
        p->sleeping--;
        if (p->wakeups > 0)
            p->wakeups--;
    }
    pthread_mutex_unlock(&p->mu);
    mf__reply_fini(&reply);
    return NULL;
}

/* Start one more worker (caller holds mu). */
static int spawn(struct tpool *p)
{
    struct worker_arg *wa = malloc(sizeof *wa);
    if (wa == NULL)
        return ENOMEM;
    wa->p = p;
    wa->index = p->nthreads;
    int rc = pthread_create(&p->threads[p->nthreads], NULL, worker_main, wa);
    if (rc != 0) {
        free(wa);
        return rc;
    }
    p->nthreads++;
    return 0;
}

static int tp_submit(mf_executor *ex, mf_future **fs, size_t n, size_t chunk)
{
    struct tpool *p = (struct tpool *)ex;
    if (chunk == 0)
        chunk = 1;
    if (chunk > UINT32_MAX)
        chunk = UINT32_MAX;
    /* Link outside the lock. */
    size_t nchunks = 0;
    for (size_t i = 0; i < n; i++) {
        fs[i]->qnext = i + 1 < n ? fs[i + 1] : NULL;
        if (i % chunk == 0) {
            size_t k = n - i < chunk ? n - i : chunk;
            fs[i]->chunk = (uint32_t)(k - 1);
            nchunks++;
        } else {
            fs[i]->chunk = 0;
        }
    }

    pthread_mutex_lock(&p->mu);
    if (p->shutdown || p->broken) {
        int rc = p->broken
                     ? mf__seterr(MF_EBROKEN, "%s", p->broken_msg)
                     : mf__seterr(MF_ESHUTDOWN,
                                  "submit after shutdown: this thread pool "
                                  "no longer accepts work");
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    if (p->tail != NULL)
        p->tail->qnext = fs[0];
    else
        p->head = fs[0];
    p->tail = fs[n - 1];
    atomic_store_explicit(
        &p->queued, atomic_load_explicit(&p->queued, memory_order_relaxed) + n,
        memory_order_relaxed);

    size_t spinning = atomic_load_explicit(&p->spinning, memory_order_relaxed);
    size_t idle = spinning + (p->sleeping - p->wakeups);
    size_t want = nchunks;
    /* Wake sleepers for the chunks spinners will not take. */
    while (want > spinning && p->sleeping > p->wakeups) {
        p->wakeups++;
        pthread_cond_signal(&p->cv);
        want--;
    }
    /* Start threads for chunks no idle worker covers. */
    int err = 0;
    for (size_t need = nchunks > idle ? nchunks - idle : 0;
         need > 0 && p->nthreads < p->base.max_workers; need--) {
        err = spawn(p);
        if (err != 0)
            break;
    }
    bool none = p->nthreads == 0;
    pthread_mutex_unlock(&p->mu);
    if (none && err != 0)
        break_pool(p, "cannot start a pool thread: %s", strerror(err));
    return MF_OK;
}

static int tp_shutdown(mf_executor *ex, bool wait, bool cancel_futures)
{
    struct tpool *p = (struct tpool *)ex;
    pthread_mutex_lock(&p->mu);
    p->shutdown = true;
    mf_future *list = cancel_futures ? take_all(p) : NULL;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    while (list != NULL) {
        mf_future *next = list->qnext;
        mf_future_cancel(list);
        mf_future_release(list);
        list = next;
    }
    if (!wait)
        return MF_OK;
    if (current_pool == p)
        return mf__seterr(MF_EDEADLK,
                          "shutdown(wait) called on one of the pool's own "
                          "threads (from a task or done callback): shutdown "
                          "started, but a thread cannot wait for itself");
    pthread_mutex_lock(&p->join_mu);
    pthread_mutex_lock(&p->mu);
    size_t n = p->nthreads;
    pthread_mutex_unlock(&p->mu);
    for (; p->joined < n; p->joined++)
        pthread_join(p->threads[p->joined], NULL);
    pthread_mutex_unlock(&p->join_mu);
    return MF_OK;
}

static void tp_destroy(mf_executor *ex)
{
    struct tpool *p = (struct tpool *)ex;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->join_mu);
    free(p->threads);
    free(p);
}

static size_t tp_auto_chunk(mf_executor *ex, size_t n)
{
    size_t c = n / (8 * ex->max_workers);
    return c < 1 ? 1 : c > 64 ? 64 : c;
}

static const struct mf__executor_ops tp_ops = {
    .kind = "thread pool",
    .submit = tp_submit,
    .shutdown = tp_shutdown,
    .destroy = tp_destroy,
    .auto_chunk = tp_auto_chunk,
    .local_calls = true,
};

int mf_thread_pool_new(const mf_thread_pool_opts *opts, mf_executor **out)
{
    if (out == NULL)
        return mf__seterr(MF_EINVAL, "mf_thread_pool_new: out is NULL");
    *out = NULL;
    mf_thread_pool_opts o = {0};
    if (opts != NULL)
        o = *opts;
    if (o.max_workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.max_workers = n > 0 ? (size_t)n : 1;
    }
    if (o.max_workers > 4096)
        return mf__seterr(MF_EINVAL, "max_workers %zu is above 4096",
                          o.max_workers);
    if (o.name_prefix != NULL && strlen(o.name_prefix) > 10)
        return mf__seterr(MF_EINVAL,
                          "name_prefix \"%s\" is longer than 10 characters",
                          o.name_prefix);
    struct tpool *p = calloc(1, sizeof *p);
    if (p == NULL ||
        (p->threads = calloc(o.max_workers, sizeof *p->threads)) == NULL) {
        free(p);
        return mf__seterr(MF_ENOMEM, "thread pool: out of memory");
    }
    p->base.ops = &tp_ops;
    p->base.max_workers = o.max_workers;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->join_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->queued, 0);
    atomic_init(&p->spinning, 0);
    p->init = o.initializer;
    p->initarg = o.initarg;
    snprintf(p->prefix, sizeof p->prefix, "%s",
             o.name_prefix ? o.name_prefix : "mf-pool");
    *out = &p->base;
    return MF_OK;
}
