/*
 * lib/thread_pool.c -- the thread-pool executor.
 *
 * Design notes
 * - Submitting never takes the pool mutex. Submitters push pre-linked
 *   futures onto `inbox`, a lock-free LIFO stack (one CAS per submit call,
 *   whatever its size). Workers, under `mu`, swap the whole inbox out,
 *   reverse it and append it to the FIFO `head`/`tail`, from which they pop.
 *   A chunk of k items is k consecutive entries whose first has
 *   chunk = k - 1; a worker takes exactly one chunk per acquisition of
 *   `mu`. Never more: items taken together wait for each other, so taking
 *   more than the submitter asked for would strand work behind a task that
 *   blocks while other workers sit idle.
 * - Who wakes whom. An idle worker first spins for mf__spin_ns watching
 *   `inbox` without any lock, then sleeps on `cv`: it increments `sleeping`
 *   and re-reads `inbox` (both seq_cst) before waiting under `mu`. A
 *   submitter pushes (seq_cst) and then reads `sleeping` and `spinning`; by
 *   the usual store/load (Dekker) argument either the worker sees the push
 *   or the submitter sees the sleeper. The submitter then signals under
 *   `mu` unless a worker is spinning or a wake-up is already pending
 *   (`wake_pending`, cleared by the woken worker), so a burst of submits
 *   costs one futex wake. A worker that leaves work behind in the queue
 *   wakes the next sleeper itself (wake chaining).
 * - Threads start lazily, as in CPython, whose idle semaphore we mirror with
 *   `idle_tokens`: a worker that runs out of work adds one token (and takes
 *   it back if it finds work before anyone claimed it); each submitted
 *   chunk claims one token, and a chunk that finds none starts a thread,
 *   under `mu`, up to max_workers. Claims are exclusive, so two submits in
 *   a row never both count on the same idle worker. Tokens only decide
 *   spawning; waking is the handshake above, which never depends on them.
 * - Shutdown and breakage never strand an accepted task: they swap a marker
 *   (CLOSED or BROKEN) into `inbox` with the list it held, and a submit's
 *   one CAS both checks that the inbox is open and pushes, so no push can
 *   land after the swap. Workers exit once `closed` is set and the FIFO is
 *   empty.
 * - Lock order: join_mu -> mu. No lock is held while a task or a done
 *   callback runs.
 * - The pool holds one reference to each queued future and drops it after
 *   running, cancelling or failing it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/executor_int.h"
#include "lib/inbox.h"
#include "lib/task_int.h"
#include "mpifutures/thread_pool.h"

/* Fields are grouped by who writes them, one cache line per group, so that
 * submitters and workers do not invalidate each other's lines needlessly. */
struct tpool {
    mf_executor base;
    /* The hand-off point, written by both sides: a lock-free LIFO, or one
     * of the markers CLOSED / BROKEN once no submit may push. */
    alignas(64) struct mf__inbox inbox;
    _Atomic int broken;     /* set (under mu) before BROKEN goes in */
    _Atomic int cancel_all; /* shut down with cancel_futures */
    /* Written by workers, read by submitters. */
    alignas(64) _Atomic size_t spinning; /* watching inbox unlocked */
    _Atomic size_t sleeping;             /* blocked on cv (or about to) */
    _Atomic int wake_pending;            /* a signal not yet consumed */
    _Atomic size_t idle_tokens;          /* idle workers nobody claimed */
    _Atomic int closed;                  /* shut down, no submit in flight */
    _Atomic size_t nthreads;             /* started (written under mu) */
    alignas(64) pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t exit_cv; /* a worker exited (exited grew) */
    size_t exited;          /* workers that left worker_main, under mu */
    mf_future *head, *tail; /* FIFO, guarded by mu */
    char broken_msg[384];   /* written once, before broken is set */
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

/* Move the inbox onto the FIFO (caller holds mu). */
static void refill(struct tpool *p)
{
    mf_future *last;
    mf_future *first = mf__inbox_take(&p->inbox, &last, NULL);
    mf__fifo_append(&p->head, &p->tail, first, last);
}

/* Close the inbox with a marker and move what it held onto the FIFO
 * (caller holds mu). */
static void close_inbox(struct tpool *p, mf_future *marker)
{
    mf_future *last;
    mf_future *first = mf__inbox_close(&p->inbox, marker, &last, NULL);
    mf__fifo_append(&p->head, &p->tail, first, last);
}

/* Detach everything queued (caller holds mu). */
static mf_future *take_all(struct tpool *p)
{
    refill(p);
    mf_future *list = p->head;
    p->head = p->tail = NULL;
    return list;
}

/* Fail one queued (not started) future of a broken pool and drop the
 * pool's reference. */
static void fail_list_one(mf_future *f, const char *msg)
{
    const char *task = f->work_kind == MF__WORK_TASK ? f->work.task->name : "";
    mf__future_fail(f, MF_EBROKEN, "BrokenThreadPool", task,
                    current_origin[0] ? current_origin : "thread pool", "%s",
                    msg);
    mf_future_release(f);
}

static void fail_list(mf_future *list, const char *msg)
{
    while (list != NULL) {
        mf_future *next = list->qnext;
        fail_list_one(list, msg);
        list = next;
    }
}

/* Mark the pool broken (first reason wins) and fail everything queued. */
static void break_pool(struct tpool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void break_pool(struct tpool *p, const char *fmt, ...)
{
    pthread_mutex_lock(&p->mu);
    if (!atomic_load_explicit(&p->broken, memory_order_relaxed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->broken_msg, sizeof p->broken_msg, fmt, ap);
        va_end(ap);
        /* release: broken_msg is complete before anyone sees the flag. */
        atomic_store_explicit(&p->broken, 1, memory_order_release);
    }
    close_inbox(p, MF__INBOX_BROKEN);
    mf_future *list = take_all(p);
    char msg[sizeof p->broken_msg];
    memcpy(msg, p->broken_msg, sizeof msg);
    atomic_store_explicit(&p->closed, 1, memory_order_seq_cst);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fail_list(list, msg);
}

/* Run one dequeued item -- unless, since its chunk was dequeued, the pool
 * broke or was shut down with cancel_futures: items of a chunk a worker
 * holds have not started, and must be failed or cancelled like the ones
 * still queued. */
static void run_one(struct tpool *p, mf_future *f, mf_reply *reply)
{
    /* acquire: pairs with the release stores in break_pool / shutdown. */
    if (atomic_load_explicit(&p->broken, memory_order_acquire)) {
        fail_list_one(f, p->broken_msg);
        return;
    }
    if (atomic_load_explicit(&p->cancel_all, memory_order_acquire)) {
        mf_future_cancel(f);
        mf_future_release(f);
        return;
    }
    if (mf__future_set_running(f)) {
        if (f->work_kind == MF__WORK_CALL) {
            mf__future_complete_ptr(f, f->work.fn(f->work_arg));
        } else {
            const struct mf__task *t = f->work.task;
            mf__task_run(t, mf__future_args(f), f->args_len, reply);
            if (reply->failed)
                mf__future_complete_error(f, reply->code, reply->kind,
                                          t->name, current_origin, "%s",
                                          reply->message);
            else
                mf__future_complete_bytes(f, reply->pack.data,
                                          reply->pack.len);
        }
    }
    mf_future_release(f);
}

/* The last thing a worker does: count itself out for shutdown's timed
 * wait. After this it touches nothing of the pool. */
static void worker_exit(struct tpool *p)
{
    pthread_mutex_lock(&p->mu);
    p->exited++;
    pthread_cond_broadcast(&p->exit_cv);
    pthread_mutex_unlock(&p->mu);
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
            worker_exit(p);
            return NULL;
        }
    }

    mf_reply reply;
    mf__reply_init(&reply);
    bool has_token = false; /* started for a submit: not idle yet */
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->head == NULL)
            refill(p);
        if (p->head != NULL) {
            if (has_token) {
                /* Busy again: take our token back unless claimed. */
                size_t t = atomic_load_explicit(&p->idle_tokens,
                                                memory_order_relaxed);
                while (t > 0 && !atomic_compare_exchange_weak_explicit(
                                    &p->idle_tokens, &t, t - 1,
                                    memory_order_relaxed,
                                    memory_order_relaxed))
                    ;
                has_token = false;
            }
            /* One chunk at a time: items taken together wait for each other,
             * and only the submitter decides that (by chunksize). Taking
             * more would strand them behind one that blocks. */
            mf_future *first = p->head, *last = first;
            size_t k = (size_t)first->chunk + 1;
            for (size_t i = 1; i < k; i++)
                last = last->qnext;
            p->head = last->qnext;
            if (p->head == NULL)
                p->tail = NULL;
            last->qnext = NULL;
            /* Work left behind and nobody spinning: chain a wake-up. */
            if (p->head != NULL &&
                atomic_load_explicit(&p->spinning, memory_order_relaxed) == 0 &&
                atomic_load_explicit(&p->sleeping, memory_order_relaxed) > 0)
                pthread_cond_signal(&p->cv);
            pthread_mutex_unlock(&p->mu);
            for (size_t i = 0; i < k; i++) {
                mf_future *next = first->qnext;
                run_one(p, first, &reply);
                first = next;
            }
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (atomic_load_explicit(&p->closed, memory_order_acquire))
            break;

        if (!has_token) {
            atomic_fetch_add_explicit(&p->idle_tokens, 1,
                                      memory_order_relaxed);
            has_token = true;
        }
        /* Nothing queued: watch the inbox briefly before sleeping -- but
         * only one worker at a time (as Go's scheduler does): more spinners
         * would only take CPU from the threads doing work. */
        size_t spinners = atomic_fetch_add_explicit(&p->spinning, 1,
                                                    memory_order_seq_cst);
        pthread_mutex_unlock(&p->mu);
        if (mf__spin_ns > 0 && spinners == 0) {
            double end = mf__now() + (double)mf__spin_ns * 1e-9;
            for (unsigned i = 1;; i++) {
                mf__spin_step(i);
                /* relaxed: a hint only; refill() acquires. */
                if (mf__inbox_has_work(&p->inbox, memory_order_relaxed) ||
                    atomic_load_explicit(&p->closed, memory_order_relaxed))
                    break;
                if ((i & 15) == 0 && mf__now() >= end)
                    break;
            }
        }
        pthread_mutex_lock(&p->mu);
        atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
        /* seq_cst pair with the submitter: announce, clear any stale
         * wake-up claim, then re-check. A submitter whose exchange on
         * wake_pending read 1 is ordered before our clear, so its push is
         * seen by the re-check below; one that read 0 signals under mu,
         * i.e. once we wait. (Clearing after the re-check instead lost a
         * wake-up: a stale 1, left by a signal that found no waiter, let a
         * submit skip its signal while we went to sleep.) */
        atomic_fetch_add_explicit(&p->sleeping, 1, memory_order_seq_cst);
        atomic_store_explicit(&p->wake_pending, 0, memory_order_seq_cst);
        if (p->head == NULL &&
            !mf__inbox_has_work(&p->inbox, memory_order_seq_cst) &&
            !atomic_load_explicit(&p->closed, memory_order_seq_cst))
            pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub_explicit(&p->sleeping, 1, memory_order_seq_cst);
    }
    pthread_mutex_unlock(&p->mu);
    mf__reply_fini(&reply);
    worker_exit(p);
    return NULL;
}

/* Start one more worker (caller holds mu). */
static int spawn(struct tpool *p)
{
    struct worker_arg *wa = malloc(sizeof *wa);
    if (wa == NULL)
        return ENOMEM;
    wa->p = p;
    size_t n = atomic_load_explicit(&p->nthreads, memory_order_relaxed);
    wa->index = n;
    int rc = pthread_create(&p->threads[n], NULL, worker_main, wa);
    if (rc != 0) {
        free(wa);
        return rc;
    }
    atomic_store_explicit(&p->nthreads, n + 1, memory_order_release);
    return 0;
}

static int closed_error(struct tpool *p, mf_future *marker);

static int tp_submit(mf_executor *ex, mf_future **fs, size_t n, size_t chunk)
{
    struct tpool *p = (struct tpool *)ex;
    if (chunk == 0)
        chunk = 1;
    if (chunk > UINT32_MAX)
        chunk = UINT32_MAX;
    /* Link newest first (the inbox is a stack) and mark chunk heads. */
    size_t nchunks = 0;
    for (size_t i = 0; i < n; i++) {
        fs[i]->qnext = i > 0 ? fs[i - 1] : NULL;
        if (i % chunk == 0) {
            size_t k = n - i < chunk ? n - i : chunk;
            fs[i]->chunk = (uint32_t)(k - 1);
            nchunks++;
        } else {
            fs[i]->chunk = 0;
        }
    }

    /* One CAS checks that the inbox is open and pushes; seq_cst, so the
     * push precedes our read of `sleeping` (see the design notes). */
    mf_future *closed = mf__inbox_push(&p->inbox, fs[0], fs[n - 1]);
    if (closed != NULL)
        return closed_error(p, closed);
    size_t sleeping = atomic_load_explicit(&p->sleeping, memory_order_seq_cst);
    size_t spinning = atomic_load_explicit(&p->spinning, memory_order_seq_cst);

    /* Claim one idle worker per chunk; start threads for the rest. */
    size_t claimed = 0;
    size_t t = atomic_load_explicit(&p->idle_tokens, memory_order_relaxed);
    while (t > 0 && claimed < nchunks) {
        if (atomic_compare_exchange_weak_explicit(&p->idle_tokens, &t, t - 1,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed)) {
            claimed++;
            t--;
        }
    }
    if (claimed < nchunks &&
        atomic_load_explicit(&p->nthreads, memory_order_relaxed) <
            p->base.max_workers) {
        int err = 0;
        pthread_mutex_lock(&p->mu);
        if (sleeping > 0)
            pthread_cond_broadcast(&p->cv);
        for (size_t need = nchunks - claimed;
             need > 0 &&
             !atomic_load_explicit(&p->closed, memory_order_relaxed) &&
             atomic_load_explicit(&p->nthreads, memory_order_relaxed) <
                 p->base.max_workers;
             need--) {
            err = spawn(p);
            if (err != 0)
                break;
        }
        bool none =
            atomic_load_explicit(&p->nthreads, memory_order_relaxed) == 0;
        pthread_mutex_unlock(&p->mu);
        if (none && err != 0)
            break_pool(p, "cannot start a pool thread: %s", strerror(err));
        return MF_OK;
    }
    /* Make sure someone is awake to take the work: a spinner will; else
     * wake sleepers (one signal per burst, see wake_pending). */
    if (sleeping > 0 && spinning == 0 &&
        !atomic_exchange_explicit(&p->wake_pending, 1, memory_order_seq_cst)) {
        pthread_mutex_lock(&p->mu);
        if (nchunks > 1)
            pthread_cond_broadcast(&p->cv);
        else
            pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return MF_OK;
}

static int closed_error(struct tpool *p, mf_future *marker)
{
    if (marker == MF__INBOX_BROKEN) {
        pthread_mutex_lock(&p->mu);
        int rc = mf__seterr(MF_EBROKEN, "%s", p->broken_msg);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    return mf__seterr(MF_ESHUTDOWN, "submit after shutdown: this thread pool "
                                    "no longer accepts work");
}

static int tp_accepting(mf_executor *ex)
{
    struct tpool *p = (struct tpool *)ex;
    mf_future *closed = mf__inbox_closed(&p->inbox);
    return closed != NULL ? closed_error(p, closed) : MF_OK;
}

static int tp_shutdown(mf_executor *ex, double timeout, bool cancel_futures)
{
    struct tpool *p = (struct tpool *)ex;
    pthread_mutex_lock(&p->mu);
    close_inbox(p, MF__INBOX_CLOSED);
    if (cancel_futures) /* release: pairs with run_one's acquire */
        atomic_store_explicit(&p->cancel_all, 1, memory_order_release);
    mf_future *list = cancel_futures ? take_all(p) : NULL;
    atomic_store_explicit(&p->closed, 1, memory_order_seq_cst);
    /* A submit that raced with us may have pushed its work and then found
     * the pool closed before starting the first thread: accepted work must
     * still run, so start that thread here. */
    int err = 0;
    if (p->head != NULL &&
        atomic_load_explicit(&p->nthreads, memory_order_relaxed) == 0)
        err = spawn(p);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (err != 0)
        break_pool(p, "cannot start a pool thread: %s", strerror(err));
    while (list != NULL) {
        mf_future *next = list->qnext;
        mf_future_cancel(list);
        mf_future_release(list);
        list = next;
    }
    if (current_pool == p && timeout != 0)
        return mf__seterr(MF_EDEADLK,
                          "shutdown(wait) called on one of the pool's own "
                          "threads (from a task or done callback): shutdown "
                          "started, but a thread cannot wait for itself");

    /* Wait for every started worker to leave, then join them (at once). */
    double deadline = mf__deadline(timeout);
    pthread_mutex_lock(&p->mu);
    size_t n = atomic_load_explicit(&p->nthreads, memory_order_relaxed);
    while (p->exited < n) {
        if (mf__cond_wait_until(&p->exit_cv, &p->mu, deadline) != 0 &&
            mf__now() >= deadline) {
            size_t busy = n - p->exited;
            pthread_mutex_unlock(&p->mu);
            return mf__seterr(MF_ETIMEDOUT,
                              "shutdown: %zu of %zu pool threads still "
                              "running tasks after %.3f s; the shutdown goes "
                              "on, wait again or free the pool later",
                              busy, n, timeout);
        }
    }
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_lock(&p->join_mu);
    for (; p->joined < n; p->joined++)
        pthread_join(p->threads[p->joined], NULL);
    pthread_mutex_unlock(&p->join_mu);
    return MF_OK;
}

static void tp_destroy(mf_executor *ex)
{
    struct tpool *p = (struct tpool *)ex;
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->exit_cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->join_mu);
    free(p->threads);
    free(p);
}

static size_t tp_auto_chunk(mf_executor *ex, size_t n,
                            const struct mf__task *t)
{
    (void)t;
    size_t c = n / (8 * ex->max_workers);
    return c < 1 ? 1 : c > 64 ? 64 : c;
}

static const struct mf__executor_ops tp_ops = {
    .kind = "thread pool",
    .submit = tp_submit,
    .accepting = tp_accepting,
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
    /* aligned_alloc: the struct's cache-line groups need 64-byte alignment
     * (its size is a multiple of 64, as aligned_alloc requires). */
    struct tpool *p = aligned_alloc(alignof(struct tpool), sizeof *p);
    if (p != NULL)
        memset(p, 0, sizeof *p);
    if (p == NULL ||
        (p->threads = calloc(o.max_workers, sizeof *p->threads)) == NULL) {
        free(p);
        return mf__seterr(MF_ENOMEM, "thread pool: out of memory");
    }
    p->base.ops = &tp_ops;
    p->base.max_workers = o.max_workers;
    /* Adaptive (spin-then-sleep): `mu` is held for a few instructions at a
     * time, so briefly spinning beats a futex sleep under contention. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(&p->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&p->join_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    mf__cond_init(&p->exit_cv);
    mf__inbox_init(&p->inbox);
    atomic_init(&p->spinning, 0);
    atomic_init(&p->sleeping, 0);
    atomic_init(&p->wake_pending, 0);
    atomic_init(&p->idle_tokens, 0);
    atomic_init(&p->broken, 0);
    atomic_init(&p->cancel_all, 0);
    atomic_init(&p->closed, 0);
    atomic_init(&p->nthreads, 0);
    p->init = o.initializer;
    p->initarg = o.initarg;
    snprintf(p->prefix, sizeof p->prefix, "%s",
             o.name_prefix ? o.name_prefix : "mf-pool");
    *out = &p->base;
    return MF_OK;
}
