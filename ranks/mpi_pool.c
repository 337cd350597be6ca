/*
 * ranks/mpi_pool.c -- the MPI process pool on rank 0: launch, handshake and
 * the scheduler thread.
 *
 * Design notes
 * - One scheduler thread is the only thread that calls MPI after start-up
 *   (MPI_THREAD_SERIALIZED: the main thread calls MPI_Init before it exists
 *   and MPI_Finalize after it has been joined).
 * - Submitters push onto a lock-free inbox (lib/inbox.h) and wake the
 *   scheduler only when it announced that it sleeps (`sleeping`, seq_cst on
 *   both sides, as in the thread pool). The scheduler never polls the inbox
 *   on a timer: with nothing in flight it blocks on `cv`.
 * - A scheduler pass: take the inbox; dispatch chunks to workers with free
 *   credit (fewest messages in flight first: pull-style balancing, up to
 *   `prefetch` messages each); receive results; reap finished sends. After
 *   a pass that did work it goes round again at once; while work is in
 *   flight and nothing happens it polls on the shared back-off policy
 *   (mpi_int.h: spin, then 50 us sleeps, then up to MAX_BACKOFF_NS = 4 ms),
 *   sleeping on `cv` so that a submit still wakes it at once. A root
 *   waiting on long tasks costs well under 1% of a core.
 * - Each TASKS message is recorded per worker (its slots, in order); the
 *   worker answers messages in order, so a RESULTS message is matched to
 *   the oldest record, and any of its futures the message did not answer
 *   (an unreadable entry, a malformed or BROKEN reply) fail with
 *   MF_EDECODE. A future is never left waiting on a message that was
 *   answered.
 * - Futures are completed on the scheduler thread, with their callbacks
 *   handed to a callback runner thread (lib/cb_runner.h): a slow callback
 *   never stalls MPI progress.
 * - Shutdown closes the inbox with a marker and moves its contents to
 *   `handoff` (under mu); the scheduler cancels (cancel_futures) or runs
 *   everything pending, then sends STOP to every worker and exits.
 *   A dead worker makes Open MPI 4 abort the whole job (its default error
 *   handler); rank 0 cannot wait forever on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lib/cb_runner.h"
#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/executor_int.h"
#include "lib/inbox.h"
#include "lib/task_int.h"
#include "mpifutures/mpi_pool.h"
#include "ranks/mpi_int.h"
#include "serialization/envelope.h"

/* The longest the scheduler sleeps between polls while work is in flight
 * (the policy is mf__backoff's, shared with the workers). */
#define MAX_BACKOFF_NS 4000000L

/* MF_CHUNK_AUTO is decided per message by the scheduler (auto_size): the
 * map's items are queued marked, and mp_auto_chunk's sentinel asks for
 * that. */
#define AUTO_CHUNK SIZE_MAX
#define AUTO_MARK UINT32_MAX

struct msgrec {
    uint64_t *ids; /* ids (slot and generation) of this TASKS message */
    uint32_t n;
    double t_dispatch;
    bool idle_worker; /* sent to a worker with nothing else in flight */
    double worker_s;  /* the worker's own time for it, as results arrive */
    double expect_s;  /* its tasks' average run time when sent; 0: unknown */
};

struct worker {
    int rank;
    char host[64];
    char origin[96];  /* "rank 3 on node07" */
    unsigned inflight; /* TASKS messages not answered */
    bool reported;     /* HELLO received */
    struct msgrec *ring; /* prefetch records, oldest at ring_head */
    unsigned ring_head;
    double t_free;     /* when its last reply arrived (it could start) */
    bool stuck;        /* a task timed out there, or it died: no more work */
    bool lost;         /* ... it died (stuck is set too) */
    long pid;          /* from HELLO, for the liveness check */
    bool local;        /* on rank 0's host: its pid can be checked */
};

struct slot {
    mf_future *f;   /* NULL when free */
    uint32_t gen;   /* bumped on every reuse: stale ids never match */
    int worker;
    double t_dispatch;
};

struct send {
    MPI_Request req;
    mf_pack pack;
    int worker; /* its destination */
};

struct mpool {
    mf_executor base;
    alignas(64) struct mf__inbox inbox;
    alignas(64) _Atomic int sleeping; /* scheduler waits on cv */
    _Atomic int stop;                 /* shutdown requested */
    _Atomic int cancel;               /* ... with cancel_futures */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t exit_cv;
    bool exited;                     /* scheduler left; under mu */
    mf_future *handoff, *handoff_last; /* from shutdown; under mu */
    size_t nhandoff;                   /* how many; under mu */
    pthread_t thread;
    pthread_mutex_t join_mu;
    bool joined;

    /* Scheduler-thread state. */
    MPI_Comm comm;
    int nworkers;
    struct worker *w;
    unsigned prefetch;
    size_t max_message; /* opts.max_message: per message, per task */
    mf_future *head, *tail; /* pending, oldest first */
    struct slot *slots;
    uint32_t nslots, *freelist, nfree;
    size_t inflight; /* futures dispatched, not completed */
    struct send *sends;
    size_t nsends, capsends;
    char *rbuf;
    size_t rcap;
    struct mf__cb_runner *runner;
    uint64_t stale_results; /* results for ids we no longer wait on */
    bool we_initialized_mpi;
    _Atomic int active; /* workers to use (mf__mpi_pool_set_active) */
    double task_timeout; /* 0: none */
    _Atomic int nstuck;  /* workers stuck in a timed-out task, or lost */
    _Atomic int nlost;   /* ... of them lost: their process died */
    _Atomic int all_stuck; /* every active worker is: submits fail */
    double t_alive_check; /* last liveness check of the local workers */
    mf_pool_stats stats; /* under mu */
    /* For MF_CHUNK_AUTO, under mu: average run time per task id (0:
     * never measured) and average per-message overhead (0: unknown). */
    double *task_run_s;
    double msg_overhead_s;
    size_t npending; /* futures in head..tail (scheduler thread) */
    /* When each batch of pending futures arrived (oldest first), for the
     * queue-wait figure: batches[bhead..btail) of (time, items left). */
    struct batch {
        double t;
        size_t left;
    } *batches;
    size_t bhead, btail, bcap;
};

/* --- slots ------------------------------------------------------------------- */

static int slot_alloc(struct mpool *p, mf_future *f, int worker,
                      uint32_t *out)
{
    if (p->nfree == 0) {
        uint32_t n = p->nslots ? p->nslots * 2 : 256;
        struct slot *s = realloc(p->slots, n * sizeof *s);
        if (s == NULL)
            return MF_ENOMEM;
        p->slots = s;
        uint32_t *fl = realloc(p->freelist, n * sizeof *fl);
        if (fl == NULL)
            return MF_ENOMEM;
        p->freelist = fl;
        for (uint32_t i = n; i-- > p->nslots;) {
            p->slots[i].f = NULL;
            p->slots[i].gen = 0;
            p->freelist[p->nfree++] = i;
        }
        p->nslots = n;
    }
    uint32_t i = p->freelist[--p->nfree];
    p->slots[i].f = f;
    p->slots[i].gen++;
    p->slots[i].worker = worker;
    *out = i;
    return MF_OK;
}

static uint64_t slot_id(const struct mpool *p, uint32_t i)
{
    return (uint64_t)p->slots[i].gen << 32 | i;
}

/* The slot an id names, if it is still waiting, else UINT32_MAX. */
static uint32_t slot_of(const struct mpool *p, uint64_t id)
{
    uint32_t i = (uint32_t)id;
    if (i >= p->nslots || p->slots[i].f == NULL ||
        p->slots[i].gen != (uint32_t)(id >> 32))
        return UINT32_MAX;
    return i;
}

/* Hand f's outcome over and free its slot; drops the pool's reference. */
static void slot_done(struct mpool *p, uint32_t i)
{
    mf_future *f = p->slots[i].f;
    p->slots[i].f = NULL;
    p->freelist[p->nfree++] = i;
    p->inflight--;
    mf_future_release(f);
}

static void slot_fail(struct mpool *p, uint32_t i, int code,
                      const char *kind, const char *fmt, const char *detail)
{
    mf_future *f = p->slots[i].f;
    struct worker *w = &p->w[p->slots[i].worker];
    mf__future_complete_error(f, code, kind, f->work.task->name, w->origin,
                              fmt, detail);
    slot_done(p, i);
}

/* --- queue-wait accounting --------------------------------------------------- */

/* Note that `n` futures became pending now (for the queue-wait figure;
 * out of memory only loses the figure). */
static void batch_add(struct mpool *p, size_t n)
{
    if (n == 0)
        return;
    if (p->btail == p->bcap) {
        if (p->bhead > 0) { /* slide down */
            memmove(p->batches, p->batches + p->bhead,
                    (p->btail - p->bhead) * sizeof *p->batches);
            p->btail -= p->bhead;
            p->bhead = 0;
        } else {
            size_t cap = p->bcap ? 2 * p->bcap : 64;
            struct batch *b = realloc(p->batches, cap * sizeof *b);
            if (b == NULL)
                return;
            p->batches = b;
            p->bcap = cap;
        }
    }
    p->batches[p->btail].t = mf__now();
    p->batches[p->btail].left = n;
    p->btail++;
}

/* `n` of the oldest pending futures left the queue at time `now`: their
 * total wait, in seconds. */
static double batch_take(struct mpool *p, size_t n, double now)
{
    double wait = 0;
    while (n > 0 && p->bhead < p->btail) {
        struct batch *b = &p->batches[p->bhead];
        size_t k = n < b->left ? n : b->left;
        wait += (double)k * (now - b->t);
        b->left -= k;
        n -= k;
        if (b->left == 0)
            p->bhead++;
    }
    if (p->bhead == p->btail)
        p->bhead = p->btail = 0;
    return wait;
}

/* --- sending ----------------------------------------------------------------- */

static struct send *send_new(struct mpool *p)
{
    if (p->nsends == p->capsends) {
        size_t n = p->capsends ? p->capsends * 2 : 16;
        struct send *s = realloc(p->sends, n * sizeof *s);
        if (s == NULL)
            return NULL;
        for (size_t i = p->capsends; i < n; i++)
            mf_pack_init(&s[i].pack);
        p->sends = s;
        p->capsends = n;
    }
    struct send *s = &p->sends[p->nsends];
    mf_pack_reset(&s->pack);
    return s;
}

/* Sends still pending to workers that are not stuck or lost: a send to a
 * stuck worker may never complete (it is not receiving) and must not keep
 * the scheduler busy. */
static size_t live_sends(const struct mpool *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nsends; i++)
        n += !p->w[p->sends[i].worker].stuck;
    return n;
}

/* Free the buffers of finished sends. Returns how many finished. */
static int reap_sends(struct mpool *p)
{
    int done = 0;
    for (size_t i = 0; i < p->nsends;) {
        int flag = 0;
        MPI_Test(&p->sends[i].req, &flag, MPI_STATUS_IGNORE);
        if (!flag) {
            i++;
            continue;
        }
        /* Swap the finished entry (and its buffer) with the last live one. */
        struct send t = p->sends[i];
        p->sends[i] = p->sends[p->nsends - 1];
        p->sends[p->nsends - 1] = t;
        p->nsends--;
        done++;
    }
    return done;
}

/* --- dispatch ---------------------------------------------------------------- */

static int pick_worker(struct mpool *p)
{
    int best = -1;
    int n = atomic_load_explicit(&p->active, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        if (!p->w[i].stuck && p->w[i].inflight < p->prefetch &&
            (best < 0 || p->w[i].inflight < p->w[best].inflight))
            best = i;
    return best;
}

/*
 * Items for the next message of an auto-chunked map: the smallest count
 * whose per-message overhead stays under 2% of the work it carries, from
 * what is measured so far (the task's average run time on the workers; the
 * average overhead of messages sent to idle workers) -- 1 until both are
 * known -- but never more than a quarter of a fair share of what is still
 * pending, so the last messages still balance across workers, nor more
 * than AUTO_MAX: past a few thousand items the fixed cost of a message is
 * already negligible, and bigger messages only stall the pipeline (a
 * worker idles while rank 0 digests a huge reply; measured: 4096 gave
 * 3.2 M empty tasks/s, 65536 2.7 M).
 */
#define AUTO_MAX 4096
static uint32_t auto_size(struct mpool *p, const struct mf__task *t)
{
    pthread_mutex_lock(&p->mu);
    double run = p->task_run_s[t->id], ov = p->msg_overhead_s;
    pthread_mutex_unlock(&p->mu);
    double want = run > 0 && ov > 0 ? ceil(ov / (0.02 * run)) : 1;
    size_t workers = (size_t)atomic_load_explicit(&p->active,
                                                  memory_order_relaxed);
    size_t balance = p->npending / (4 * (workers ? workers : 1));
    if (want > (double)balance)
        want = (double)balance;
    if (want > AUTO_MAX)
        want = AUTO_MAX;
    return want < 1 ? 1 : (uint32_t)want;
}

/* Send the oldest pending chunk to worker wi. Returns 1 if it sent. */
static int dispatch_one(struct mpool *p, int wi)
{
    struct worker *w = &p->w[wi];
    mf_future *first = p->head;
    /* Kept apart: the loop below may drop the last reference to first. */
    const struct mf__task *task = first->work.task;
    uint32_t k = first->chunk == AUTO_MARK ? auto_size(p, first->work.task)
                                           : first->chunk + 1;
    mf_future *after = first;
    uint32_t taken = 0;
    size_t bytes = 0;
    for (; taken < k && after != NULL; taken++) {
        /* An auto chunk ends early at an item of another map or task, and
         * any chunk before the message would pass max_message. */
        if (taken > 0 && first->chunk == AUTO_MARK &&
            (after->chunk != AUTO_MARK ||
             after->work.task != first->work.task))
            break;
        bytes += after->args_len + 32;
        if (taken > 0 && bytes > p->max_message)
            break;
        after = after->qnext;
    }
    k = taken;
    p->head = after;
    if (after == NULL)
        p->tail = NULL;
    p->npending -= k;
    double waited = batch_take(p, k, mf__now());
    pthread_mutex_lock(&p->mu);
    p->stats.queue_s += waited;
    pthread_mutex_unlock(&p->mu);

    struct send *s = send_new(p);
    struct msgrec *rec = &w->ring[(w->ring_head + w->inflight) % p->prefetch];
    uint64_t *ids = realloc(rec->ids, k * sizeof *ids);
    if (s == NULL || ids == NULL) {
        /* Out of memory: fail this chunk rather than lose it. */
        for (mf_future *f = first, *next; f != after; f = next) {
            next = f->qnext;
            if (mf__future_set_running(f))
                mf__future_complete_error(f, MF_ENOMEM, "MemoryError",
                                          f->work.task->name, "rank 0",
                                          "%s", "out of memory dispatching");
            mf_future_release(f);
        }
        if (ids != NULL)
            rec->ids = ids;
        return 1;
    }
    rec->ids = ids;
    rec->n = 0;
    double t0 = mf__now();
    size_t count_at = mf__msg_tasks_begin_max(&s->pack, p->max_message);
    for (mf_future *f = first, *next; f != after; f = next) {
        next = f->qnext;
        if (!mf__future_set_running(f)) { /* cancelled while queued */
            mf_future_release(f);
            continue;
        }
        if (f->args_len + 64 > p->max_message) {
            mf__future_complete_error(
                f, MF_ETOOBIG, "ValueError", f->work.task->name, "rank 0",
                "arguments of %u bytes exceed the MPI pool's message limit "
                "of %zu bytes (mf_mpi_pool_opts.max_message, 64 bytes of "
                "envelope included); pass less, or raise the limit (at "
                "most 1 GiB)",
                f->args_len, p->max_message);
            mf_future_release(f);
            continue;
        }
        uint32_t si;
        if (slot_alloc(p, f, wi, &si) != MF_OK) {
            mf__future_complete_error(f, MF_ENOMEM, "MemoryError",
                                      f->work.task->name, "rank 0", "%s",
                                      "out of memory dispatching");
            mf_future_release(f);
            continue;
        }
        p->inflight++;
        ids[rec->n++] = slot_id(p, si);
        mf__msg_task(&s->pack, slot_id(p, si), f->work.task->id,
                     mf__future_args(f), f->args_len);
    }
    if (rec->n == 0)
        return 1; /* all were cancelled or refused */
    mf__msg_patch_u32(&s->pack, count_at, rec->n);
    if (s->pack.err != MF_OK) {
        for (uint32_t i = 0; i < rec->n; i++)
            slot_fail(p, (uint32_t)ids[i], MF_ENOMEM, "MemoryError", "%s",
                      "out of memory packing the task message");
        return 1;
    }
    double t1 = mf__now();
    for (uint32_t i = 0; i < rec->n; i++)
        p->slots[(uint32_t)ids[i]].t_dispatch = t1;
    rec->t_dispatch = t1;
    rec->idle_worker = w->inflight == 0;
    rec->worker_s = 0;
    pthread_mutex_lock(&p->mu);
    rec->expect_s = p->task_run_s[task->id] * rec->n;
    p->stats.pack_s += t1 - t0;
    p->stats.messages++;
    pthread_mutex_unlock(&p->mu);
    if (MPI_Isend(s->pack.data, (int)s->pack.len, MPI_BYTE, w->rank,
                  MF__TAG_TASKS, p->comm, &s->req) != MPI_SUCCESS) {
        for (uint32_t i = 0; i < rec->n; i++)
            slot_fail(p, (uint32_t)ids[i], MF_EMPI, "MPIError", "%s",
                      "MPI_Isend of the task message failed");
        return 1;
    }
    s->worker = wi;
    p->nsends++;
    w->inflight++;
    return 1;
}

static int dispatch(struct mpool *p)
{
    int did = 0;
    while (p->head != NULL) {
        int wi = pick_worker(p);
        if (wi < 0)
            break;
        did |= dispatch_one(p, wi);
    }
    return did;
}

/* --- results ----------------------------------------------------------------- */

/* The oldest unanswered message of worker wi: its futures not completed by
 * the answer fail with `why`. */
static void close_message(struct mpool *p, int wi, const char *why)
{
    struct worker *w = &p->w[wi];
    if (w->inflight == 0)
        return;
    struct msgrec *rec = &w->ring[w->ring_head];
    if (rec->n > 0) {
        /* What is left of the message's round trip once the worker's own
         * time for its tasks is taken out (handle_results counts it in
         * stats.transfer_s). With nothing queued ahead of it on the
         * worker, that is the per-message cost (MPI both ways, polling),
         * which MF_CHUNK_AUTO weighs. */
        double ov = mf__now() - rec->t_dispatch - rec->worker_s;
        pthread_mutex_lock(&p->mu);
        if (rec->idle_worker && ov > 0)
            p->msg_overhead_s = p->msg_overhead_s > 0
                                    ? 0.8 * p->msg_overhead_s + 0.2 * ov
                                    : ov;
        pthread_mutex_unlock(&p->mu);
    }
    for (uint32_t i = 0; i < rec->n; i++) {
        /* By full id: a slot freed and reused by a later message is not
         * this message's any more. */
        uint32_t si = slot_of(p, rec->ids[i]);
        if (si != UINT32_MAX && p->slots[si].worker == wi)
            slot_fail(p, si, MF_EDECODE, "DecodeError",
                      "no result came back for this task: %s", why);
    }
    rec->n = 0;
    w->ring_head = (w->ring_head + 1) % p->prefetch;
    w->inflight--;
    w->t_free = mf__now();
}

/* --- task timeouts ------------------------------------------------------------ */

/* Fail every future worker wi holds: its current message's with
 * TimeoutError, the ones queued behind it (never started) with
 * WorkerStuck; the worker gets nothing more. */
static void worker_stuck(struct mpool *p, int wi, bool lost)
{
    struct worker *w = &p->w[wi];
    char what[256];
    w->stuck = true;
    w->lost = lost;
    atomic_fetch_add(&p->nstuck, 1);
    if (lost)
        atomic_fetch_add(&p->nlost, 1);
    for (unsigned k = 0; k < w->inflight; k++) {
        struct msgrec *rec = &w->ring[(w->ring_head + k) % p->prefetch];
        if (lost)
            snprintf(what, sizeof what,
                     "worker lost: %s (pid %ld) died %s; the pool goes on "
                     "without it",
                     w->origin, w->pid,
                     k == 0 ? "while running this message"
                            : "before starting this task");
        else if (k == 0)
            snprintf(what, sizeof what,
                     "no result within the task timeout of %g s%s; %s is "
                     "still running it and gets no more tasks",
                     p->task_timeout,
                     rec->n > 1 ? " per task of its message" : "",
                     w->origin);
        else
            snprintf(what, sizeof what,
                     "not started when %s got stuck in a task that timed "
                     "out; not sent elsewhere (should that task ever "
                     "return, it may still run there, its result ignored)",
                     w->origin);
        for (uint32_t i = 0; i < rec->n; i++) {
            uint32_t si = slot_of(p, rec->ids[i]);
            if (si != UINT32_MAX && p->slots[si].worker == wi)
                slot_fail(p, si, lost ? MF_EBROKEN : MF_ETIMEDOUT,
                          lost ? "WorkerLost"
                               : k == 0 ? "TimeoutError" : "WorkerStuck",
                          "%s", what);
        }
        rec->n = 0;
    }
    w->inflight = 0;
    w->ring_head = 0;
}

/* Take everything not dispatched yet off the queue: the list's head. */
static mf_future *take_pending(struct mpool *p)
{
    mf_future *f = p->head;
    p->head = p->tail = NULL;
    batch_take(p, p->npending, mf__now());
    p->npending = 0;
    return f;
}

static void fail_pending_all_stuck(struct mpool *p)
{
    for (mf_future *f = take_pending(p), *next; f != NULL; f = next) {
        next = f->qnext;
        if (mf__future_set_running(f))
            mf__future_complete_error(
                f, MF_EBROKEN, "BrokenExecutor", f->work.task->name, "rank 0",
                "every worker of the MPI pool is lost or stuck in a task "
                "that timed out; nothing more can run");
        mf_future_release(f);
    }
}

/* With every active worker stuck or lost nothing pending can ever run:
 * fail it, and say so to submitters (all_stuck). Every scheduler pass
 * while any worker is stuck: futures can still arrive after the last one
 * got stuck (a map builds all of its items before it submits). */
static int fail_if_all_stuck(struct mpool *p)
{
    int active = atomic_load_explicit(&p->active, memory_order_relaxed);
    for (int i = 0; i < active; i++)
        if (!p->w[i].stuck)
            return 0;
    atomic_store(&p->all_stuck, 1);
    if (p->head == NULL)
        return 0;
    fail_pending_all_stuck(p);
    return 1;
}

/* Is process pid on this host alive (not gone, not a zombie)? */
static bool process_alive(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno != ENOENT; /* out of fds, no /proc...: not "dead" */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return paren == NULL || (paren[1] == ' ' && paren[2] != 'Z' &&
                             paren[2] != 'X');
}

static int poll_results(struct mpool *p);

/* Returns 1 if a worker timed out or was lost. */
static int check_timeouts(struct mpool *p, double now)
{
    int did = 0;
    for (int i = 0; p->task_timeout > 0 && i < p->nworkers; i++) {
        struct worker *w = &p->w[i];
        if (w->stuck || w->inflight == 0)
            continue;
        const struct msgrec *rec = &w->ring[w->ring_head];
        double start = rec->t_dispatch > w->t_free ? rec->t_dispatch
                                                   : w->t_free;
        if (now - start > p->task_timeout * (rec->n ? rec->n : 1)) {
            worker_stuck(p, i, false);
            did = 1;
        }
    }
    /* A worker on this host that died (possible when Open MPI lets the
     * job survive it: mpirun --enable-recovery) is lost: checked by pid,
     * 10 times a second while it holds work. */
    if (now - p->t_alive_check > 0.1) {
        p->t_alive_check = now;
        for (int i = 0; i < p->nworkers; i++) {
            struct worker *w = &p->w[i];
            if (!w->stuck && w->local && w->inflight > 0 &&
                !process_alive(w->pid)) {
                /* A reply it sent before dying is still good: take what
                 * has arrived first, then fail what is left. */
                poll_results(p);
                worker_stuck(p, i, true);
                did = 1;
            }
        }
    }
    return did;
}

static void handle_results(struct mpool *p, int wi, const char *buf,
                           size_t len)
{
    struct worker *w = &p->w[wi];
    int kind;
    char why[256] = "the worker's reply was cut short";
    if (mf__msg_kind(buf, len, &kind) != MF_OK) {
        snprintf(why, sizeof why, "malformed reply from %s: %s", w->origin,
                 mf_errmsg());
        close_message(p, wi, why);
        return;
    }
    if (kind == MF__MSG_BROKEN) {
        int64_t r;
        mf_value m;
        if (mf__msg_read_broken(buf, len, &r, &m) == MF_OK)
            snprintf(why, sizeof why, "%s could not read it: %.*s",
                     w->origin, (int)m.via.str.len, m.via.str.ptr);
        close_message(p, wi, why);
        return;
    }
    int64_t rank;
    struct mf__msg_iter it;
    if (kind != MF__MSG_RESULTS ||
        mf__msg_read_results(buf, len, &rank, &it) != MF_OK) {
        snprintf(why, sizeof why, "malformed reply from %s: %s", w->origin,
                 mf_errmsg());
        close_message(p, wi, why);
        return;
    }
    double now = mf__now();
    for (;;) {
        struct mf__result_msg r;
        int id_ok;
        int rc = mf__msg_next_result(&it, &r, &id_ok);
        if (rc == MF_EOF)
            break;
        uint32_t si = id_ok ? slot_of(p, r.id) : UINT32_MAX;
        if (si == UINT32_MAX || p->slots[si].worker != wi) {
            p->stale_results++;
            continue;
        }
        if (rc != MF_OK) {
            slot_fail(p, si, MF_EDECODE, "DecodeError",
                      "malformed result: %s", mf_errmsg());
            continue;
        }
        mf_future *f = p->slots[si].f;
        double worker_s = (double)(r.t_unpack_ns + r.t_run_ns + r.t_pack_ns) *
                          1e-9;
        double rt = now - p->slots[si].t_dispatch;
        /* Counted before the future completes: whoever sees it done also
         * sees it in the totals. */
        struct msgrec *rec = &w->ring[w->ring_head];
        pthread_mutex_lock(&p->mu);
        /* transfer_s per message: its round trip once, less each task's
         * worker time, all before the futures complete. */
        if (rec->worker_s == 0)
            p->stats.transfer_s += now - rec->t_dispatch;
        p->stats.transfer_s -= worker_s;
        rec->worker_s += worker_s > 0 ? worker_s : 1e-12;
        double *avg = &p->task_run_s[f->work.task->id];
        *avg = *avg > 0 ? 0.8 * *avg + 0.2 * (double)r.t_run_ns * 1e-9
                        : (double)r.t_run_ns * 1e-9 + 1e-9;
        p->stats.tasks++;
        p->stats.run_s += (double)r.t_run_ns * 1e-9;
        p->stats.unpack_s += (double)r.t_unpack_ns * 1e-9;
        p->stats.result_pack_s += (double)r.t_pack_ns * 1e-9;
        p->stats.roundtrip_s += rt;
        pthread_mutex_unlock(&p->mu);
        if (!r.failed && r.value_len + 64 > p->max_message) {
            /* A worker that ignored the cap: refused as it should have. */
            mf__future_complete_error(
                f, MF_ETOOBIG, "ValueError", f->work.task->name, w->origin,
                "the result (%zu bytes) exceeds the MPI pool's message "
                "limit of %zu bytes (mf_mpi_pool_opts.max_message, 64 bytes "
                "of envelope included); return less, or raise the limit",
                r.value_len, p->max_message);
        } else if (!r.failed) {
            mf__future_complete_bytes(f, r.value, r.value_len);
        } else {
            int code = (r.code > 0 && r.code < MF_ERR_MAX) ? (int)r.code
                                                            : MF_ETASK;
            char kind_s[64];
            snprintf(kind_s, sizeof kind_s, "%.*s", (int)r.kind.via.str.len,
                     r.kind.via.str.ptr);
            mf__future_complete_error(f, code, kind_s, f->work.task->name,
                                      w->origin, "%.*s",
                                      (int)r.message.via.str.len,
                                      r.message.via.str.ptr);
        }
        slot_done(p, si);
    }
    close_message(p, wi, why);
}

/* Receive everything that has arrived. Returns 1 if anything did. */
static int poll_results(struct mpool *p)
{
    int did = 0;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MF__TAG_RESULTS, p->comm, &flag, &st);
        if (!flag)
            return did;
        int n;
        MPI_Get_count(&st, MPI_BYTE, &n);
        if ((size_t)n > p->rcap) {
            char *b = realloc(p->rbuf, (size_t)n);
            if (b == NULL) /* cannot receive it: leave it for later */
                return did;
            p->rbuf = b;
            p->rcap = (size_t)n;
        }
        MPI_Recv(p->rbuf, n, MPI_BYTE, st.MPI_SOURCE, MF__TAG_RESULTS,
                 p->comm, MPI_STATUS_IGNORE);
        did = 1;
        int wi = st.MPI_SOURCE - 1;
        if (wi >= 0 && wi < p->nworkers && p->w[wi].stuck)
            p->stale_results++; /* its futures already failed */
        else if (wi >= 0 && wi < p->nworkers)
            handle_results(p, wi, p->rbuf, (size_t)n);
    }
}

/* --- the scheduler thread ---------------------------------------------------- */

static int take_submits(struct mpool *p)
{
    mf_future *last;
    size_t n = 0;
    mf_future *first = mf__inbox_take(&p->inbox, &last, &n);
    p->npending += n;
    batch_add(p, n);
    mf__fifo_append(&p->head, &p->tail, first, last);
    return first != NULL;
}

/* Cancel everything not dispatched yet. */
static void cancel_pending(struct mpool *p)
{
    for (mf_future *f = take_pending(p), *next; f != NULL; f = next) {
        next = f->qnext;
        mf_future_cancel(f);
        mf_future_release(f);
    }
}

static void stop_workers(struct mpool *p)
{
    /* With a worker stuck the job ends in MPI_Abort (mp_destroy): the
     * others must not be in MPI_Finalize then -- Open MPI 4.1.4's mpiexec
     * hung (1 run in 8) or crashed (2 in 8) aborting a job whose other
     * ranks were finalizing; left polling, 12 in 12 ended cleanly. */
    /* A local worker that died while idle (mpirun --enable-recovery) is
     * lost too: STOP to it would leave MPI_Finalize waiting for it. */
    for (int i = 0; i < p->nworkers; i++)
        if (!p->w[i].stuck && p->w[i].local && !process_alive(p->w[i].pid))
            worker_stuck(p, i, true);
    if (atomic_load(&p->nstuck) > atomic_load(&p->nlost))
        return;
    mf_pack stop;
    mf_pack_init(&stop);
    mf__msg_stop(&stop);
    MPI_Request *reqs = calloc((size_t)p->nworkers, sizeof *reqs);
    for (int i = 0; i < p->nworkers; i++) {
        if (p->w[i].lost) { /* dead: nobody to tell */
            if (reqs != NULL)
                reqs[i] = MPI_REQUEST_NULL;
        } else if (reqs != NULL)
            MPI_Isend(stop.data, (int)stop.len, MPI_BYTE, p->w[i].rank,
                      MF__TAG_CTRL, p->comm, &reqs[i]);
        else
            MPI_Send(stop.data, (int)stop.len, MPI_BYTE, p->w[i].rank,
                     MF__TAG_CTRL, p->comm);
    }
    if (reqs != NULL)
        MPI_Waitall(p->nworkers, reqs, MPI_STATUSES_IGNORE);
    free(reqs);
    mf_pack_fini(&stop);
}

/*
 * How long the scheduler can certainly leave every worker alone: for each
 * busy worker, when it should finish what it holds (its messages in order,
 * each starting when sent or when the previous one ends, lasting its
 * tasks' average run time); the soonest of those, from now. 0 when any
 * message's length is unknown. With prefetch, a worker finishing one
 * message starts the next it holds, so noticing the reply can wait until
 * shortly before it runs dry: the scheduler sleeps instead of spinning,
 * and gives the CPU to the workers on a machine they share.
 */
static double predicted_slack(struct mpool *p, double now)
{
    double slack = INFINITY;
    int n = atomic_load_explicit(&p->active, memory_order_relaxed);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->w[i];
        if (w->inflight == 0) {
            if (i < n && p->head != NULL && !w->stuck)
                return 0; /* it could take work now */
            continue;
        }
        double until = w->t_free; /* the head started once it was free */
        for (unsigned k = 0; k < w->inflight; k++) {
            const struct msgrec *rec =
                &w->ring[(w->ring_head + k) % p->prefetch];
            if (rec->expect_s <= 0)
                return 0;
            until = (until > rec->t_dispatch ? until : rec->t_dispatch) +
                    rec->expect_s;
        }
        if (until - now < slack)
            slack = until - now;
    }
    return isinf(slack) || slack < 0 ? 0 : slack;
}

/* Below this much predicted slack the scheduler polls as usual: a timed
 * sleep and its wake-up cost a few microseconds of CPU, 5% of this. */
#define SLACK_MIN_S 100e-6

static void *scheduler_main(void *arg)
{
    struct mpool *p = arg;
    pthread_setname_np(pthread_self(), "mf-mpi-sched");
    /* Back-off sleeps are tens of microseconds: Linux's default 50 us
     * timer slack would stretch each of them. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    mf__cb_runner_bind(p->runner);
    unsigned idle = 0;
    struct mf__backoff backoff;
    for (;;) {
        int did = take_submits(p);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) {
            pthread_mutex_lock(&p->mu);
            mf_future *first = p->handoff, *last = p->handoff_last;
            p->handoff = p->handoff_last = NULL;
            p->npending += p->nhandoff;
            batch_add(p, p->nhandoff);
            p->nhandoff = 0;
            pthread_mutex_unlock(&p->mu);
            mf__fifo_append(&p->head, &p->tail, first, last);
            if (atomic_load_explicit(&p->cancel, memory_order_acquire))
                cancel_pending(p);
        }
        did |= dispatch(p);
        did |= poll_results(p);
        did |= reap_sends(p);
        if (p->inflight > 0)
            did |= check_timeouts(p, mf__now());
        if (atomic_load_explicit(&p->nstuck, memory_order_relaxed) > 0)
            did |= fail_if_all_stuck(p);
        /* Sends to stuck workers never complete: they only count while
         * no worker is stuck (the usual case: no walk over the sends). */
        bool busy = p->inflight > 0 || p->head != NULL ||
                    (p->nsends > 0 &&
                     (atomic_load_explicit(&p->nstuck,
                                           memory_order_relaxed) == 0 ||
                      live_sends(p) > 0));
        if (!busy && atomic_load_explicit(&p->stop, memory_order_acquire) &&
            !mf__inbox_has_work(&p->inbox, memory_order_acquire)) {
            pthread_mutex_lock(&p->mu);
            bool more = p->handoff != NULL;
            pthread_mutex_unlock(&p->mu);
            if (!more)
                break;
        }
        if (did) {
            idle = 0;
            continue;
        }
        /* Nothing happened. Spin a little while work is in flight (a
         * result may be microseconds away), then sleep on cv: forever when
         * idle, else with a timeout that grows to MAX_BACKOFF_NS. */
        long wait_ns = 0;
        double slack = busy ? predicted_slack(p, mf__now()) : 0;
        if (slack > SLACK_MIN_S) {
            /* Half of it, then look again: an early reply costs at most
             * that much delay, never a starved worker. */
            wait_ns = (long)(slack * 0.5e9);
            if (wait_ns > MAX_BACKOFF_NS)
                wait_ns = MAX_BACKOFF_NS;
            idle = 0;
        } else if (busy) {
            if (idle++ == 0)
                mf__backoff_start(&backoff, MAX_BACKOFF_NS);
            wait_ns = mf__backoff_next(&backoff);
            if (wait_ns == 0) {
                mf__spin_step(idle);
                continue;
            }
        }
        pthread_mutex_lock(&p->mu);
        atomic_store_explicit(&p->sleeping, 1, memory_order_seq_cst);
        if (!mf__inbox_has_work(&p->inbox, memory_order_seq_cst) &&
            !atomic_load_explicit(&p->stop, memory_order_seq_cst)) {
            if (busy) {
                mf__cond_wait_until(&p->cv, &p->mu,
                                    mf__now() + (double)wait_ns * 1e-9);
            } else {
                pthread_cond_wait(&p->cv, &p->mu);
            }
        }
        atomic_store_explicit(&p->sleeping, 0, memory_order_relaxed);
        pthread_mutex_unlock(&p->mu);
    }
    stop_workers(p);
    mf__cb_runner_bind(NULL);
    pthread_mutex_lock(&p->mu);
    p->exited = true;
    pthread_cond_broadcast(&p->exit_cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* --- executor ops ------------------------------------------------------------ */

static int mp_closed_error(void)
{
    return mf__seterr(MF_ESHUTDOWN, "submit after shutdown: this MPI pool "
                                    "no longer accepts work");
}

static int mp_accepting(mf_executor *ex)
{
    struct mpool *p = (struct mpool *)ex;
    if (mf__inbox_closed(&p->inbox))
        return mp_closed_error();
    if (atomic_load(&p->all_stuck))
        return mf__seterr(MF_EBROKEN,
                          "every worker of the MPI pool is lost (%d: its "
                          "process died) or stuck in a task past the "
                          "task_timeout (%d); nothing more can run",
                          atomic_load(&p->nlost),
                          atomic_load(&p->nstuck) - atomic_load(&p->nlost));
    return MF_OK;
}

static int mp_submit(mf_executor *ex, mf_future **fs, size_t n, size_t chunk)
{
    struct mpool *p = (struct mpool *)ex;
    if (chunk == 0)
        chunk = 1;
    bool autochunk = chunk == AUTO_CHUNK;
    if (!autochunk && chunk >= AUTO_MARK)
        chunk = AUTO_MARK - 1; /* the mark is reserved for auto */
    for (size_t i = 0; i < n; i++) {
        fs[i]->qnext = i > 0 ? fs[i - 1] : NULL;
        if (autochunk)
            fs[i]->chunk = AUTO_MARK;
        else
            fs[i]->chunk = i % chunk == 0 ? (uint32_t)((n - i < chunk
                                                            ? n - i
                                                            : chunk) -
                                                       1)
                                          : 0;
    }
    if (mf__inbox_push(&p->inbox, fs[0], fs[n - 1]) != NULL)
        return mp_closed_error();
    if (atomic_load_explicit(&p->sleeping, memory_order_seq_cst)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return MF_OK;
}

static int mp_shutdown(mf_executor *ex, double timeout, bool cancel_futures)
{
    struct mpool *p = (struct mpool *)ex;
    /* From a done callback (the runner) or the scheduler itself, waiting
     * would wait for ourselves: start the shutdown, do not wait. */
    bool own = pthread_equal(pthread_self(), p->thread) ||
               mf__cb_runner_is_self(p->runner);
    pthread_mutex_lock(&p->mu);
    mf_future *last;
    mf_future *first =
        mf__inbox_close(&p->inbox, MF__INBOX_CLOSED, &last, &p->nhandoff);
    if (first != NULL) {
        if (p->handoff_last != NULL)
            p->handoff_last->qnext = first;
        else
            p->handoff = first;
        p->handoff_last = last;
    }
    if (cancel_futures)
        atomic_store_explicit(&p->cancel, 1, memory_order_release);
    atomic_store_explicit(&p->stop, 1, memory_order_seq_cst);
    pthread_cond_signal(&p->cv);
    if (own && timeout != 0) {
        pthread_mutex_unlock(&p->mu);
        return mf__seterr(MF_EDEADLK,
                          "shutdown(wait) called on one of the MPI pool's "
                          "own threads (from a done callback): shutdown "
                          "started, but a thread cannot wait for itself");
    }
    double deadline = mf__deadline(timeout); /* 0: just look */
    while (!p->exited) {
        if (mf__cond_wait_until(&p->exit_cv, &p->mu, deadline) != 0 &&
            mf__now() >= deadline) {
            pthread_mutex_unlock(&p->mu);
            return mf__seterr(MF_ETIMEDOUT,
                              "shutdown: the MPI pool still has tasks "
                              "queued or running on its %d workers after "
                              "%.3f s; the shutdown goes on, wait again or "
                              "free the pool later",
                              p->nworkers, timeout);
        }
    }
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_lock(&p->join_mu);
    if (!p->joined) {
        pthread_join(p->thread, NULL);
        p->joined = true;
    }
    pthread_mutex_unlock(&p->join_mu);
    /* As with threads in Python: once shutdown(wait) returns, every done
     * callback of the pool's futures has run. */
    mf__cb_runner_drain(p->runner);
    return MF_OK;
}

static void mp_destroy(mf_executor *ex)
{
    struct mpool *p = (struct mpool *)ex;
    mf__cb_runner_free(p->runner); /* fires callbacks still queued */
    if (atomic_load(&p->nstuck) > atomic_load(&p->nlost)) {
        /* MPI_Finalize would wait for the stuck ranks forever. Every
         * future is done by now; end the job instead of hanging. */
        /* One write: mpirun forwards stderr in pieces, and a message
         * written in several would be interleaved with its own. */
        char msg[2048];
        size_t n = (size_t)snprintf(
            msg, sizeof msg,
            "mpifutures: MPI pool freed with %d worker(s) still stuck in a "
            "task past its task_timeout of %g s:",
            atomic_load(&p->nstuck) - atomic_load(&p->nlost), p->task_timeout);
        for (int i = 0; i < p->nworkers && n < sizeof msg; i++)
            if (p->w[i].stuck && !p->w[i].lost)
                n += (size_t)snprintf(msg + n, sizeof msg - n, " %s",
                                      p->w[i].origin);
        if (n < sizeof msg)
            snprintf(msg + n, sizeof msg - n,
                     "; MPI cannot be finalized, aborting the job "
                     "(MPI_Abort)\n");
        fputs(msg, stderr);
        fflush(stderr);
        MPI_Abort(p->comm, 70);
    }
    MPI_Comm_free(&p->comm);
    if (p->we_initialized_mpi)
        MPI_Finalize();
    for (int i = 0; i < p->nworkers; i++) {
        for (unsigned k = 0; k < p->prefetch; k++)
            free(p->w[i].ring[k].ids);
        free(p->w[i].ring);
    }
    for (size_t i = 0; i < p->capsends; i++)
        mf_pack_fini(&p->sends[i].pack);
    free(p->sends);
    free(p->w);
    free(p->task_run_s);
    free(p->batches);
    free(p->slots);
    free(p->freelist);
    free(p->rbuf);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->exit_cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->join_mu);
    free(p);
}

static size_t mp_auto_chunk(mf_executor *ex, size_t n,
                            const struct mf__task *t)
{
    (void)ex;
    (void)n;
    (void)t;
    return AUTO_CHUNK;
}

static const struct mf__executor_ops mp_ops = {
    .kind = "MPI pool",
    .submit = mp_submit,
    .accepting = mp_accepting,
    .shutdown = mp_shutdown,
    .destroy = mp_destroy,
    .auto_chunk = mp_auto_chunk,
    .local_calls = false,
};

/* --- launch ------------------------------------------------------------------ */

/* Receive every worker's HELLO and check its task registry. */
static int handshake(struct mpool *p, double timeout)
{
    double deadline = mf__now() + timeout;
    int got = 0, rc = MF_OK;
    char *buf = NULL;
    size_t cap = 0;
    struct mf__backoff bo;
    mf__backoff_start(&bo, 1000000L);
    while (got < p->nworkers) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MF__TAG_CTRL, p->comm, &flag, &st);
        if (!flag) {
            if (mf__now() > deadline) {
                rc = mf__seterr(MF_ETIMEDOUT,
                                "only %d of %d MPI workers reported within "
                                "%.0f s of start-up; did every rank call "
                                "mf_mpi_pool_new?",
                                got, p->nworkers, timeout);
                break;
            }
            long ns = mf__backoff_next(&bo);
            mf__sleep_ns(ns ? ns : 1000);
            continue;
        }
        int n;
        MPI_Get_count(&st, MPI_BYTE, &n);
        if ((size_t)n > cap) {
            char *b = realloc(buf, (size_t)n);
            if (b == NULL) {
                rc = mf__seterr(MF_ENOMEM, "handshake: out of memory");
                break;
            }
            buf = b;
            cap = (size_t)n;
        }
        MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, MF__TAG_CTRL, p->comm,
                 MPI_STATUS_IGNORE);
        struct mf__hello h;
        int wi = st.MPI_SOURCE - 1;
        if (wi < 0 || wi >= p->nworkers ||
            mf__msg_read_hello(buf, (size_t)n, &h) != MF_OK) {
            rc = mf__seterr(MF_EDECODE,
                            "rank %d sent a malformed start-up message: %s",
                            st.MPI_SOURCE, mf_errmsg());
            break;
        }
        struct worker *w = &p->w[wi];
        if (w->reported) { /* counted once: a repeat cannot stand in for
                              another rank's check */
            rc = mf__seterr(MF_EDECODE, "rank %d said hello twice",
                            st.MPI_SOURCE);
            break;
        }
        w->reported = true;
        snprintf(w->host, sizeof w->host, "%.*s", (int)h.host.via.str.len,
                 h.host.via.str.ptr);
        snprintf(w->origin, sizeof w->origin, "rank %d on %s", w->rank,
                 w->host);
        w->pid = (long)h.pid;
        /* Checkable by pid: same host name, and that pid is alive here
         * (not a worker in another PID namespace under the same name). */
        w->local = strcmp(w->host, mf__hostname()) == 0 && h.pid > 0 &&
                   process_alive(w->pid);
        if (h.ntasks != mf_task_count() ||
            h.names_hash != mf_task_names_hash()) {
            rc = mf__seterr(MF_ESTATE,
                            "%s registered %llu tasks (names hash %016llx) "
                            "but rank 0 registered %zu (hash %016llx): "
                            "register the same tasks, in the same order, on "
                            "every rank before mf_mpi_pool_new",
                            w->origin, (unsigned long long)h.ntasks,
                            (unsigned long long)h.names_hash,
                            mf_task_count(),
                            (unsigned long long)mf_task_names_hash());
            break;
        }
        got++;
    }
    free(buf);
    return rc;
}

static int mpi_fail(int code, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, msg, &len);
    return mf__seterr(MF_EMPI, "%s failed: %.*s", what, len, msg);
}

/* Start MPI_Comm_spawn'ed workers running this same program. */
static int spawn_workers(size_t n, char **argv, MPI_Comm *comm)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return mf__seterr(MF_ESYS, "cannot find this program's path to "
                                   "spawn MPI workers: %s",
                          strerror(errno));
    exe[len] = '\0';
    MPI_Comm inter;
    int *errs = calloc(n, sizeof *errs);
    if (errs == NULL)
        return mf__seterr(MF_ENOMEM, "spawn: out of memory");
    int rc = MPI_Comm_spawn(exe, argv && argv[0] ? argv + 1 : MPI_ARGV_NULL,
                            (int)n, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter,
                            errs);
    free(errs);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "MPI_Comm_spawn of the pool's workers");
    rc = MPI_Intercomm_merge(inter, 0, comm);
    MPI_Comm_free(&inter);
    return rc == MPI_SUCCESS ? MF_OK : mpi_fail(rc, "MPI_Intercomm_merge");
}

int mf_mpi_pool_new(int *argc, char ***argv, const mf_mpi_pool_opts *opts,
                    mf_executor **out)
{
    if (out == NULL)
        return mf__seterr(MF_EINVAL, "mf_mpi_pool_new: out is NULL");
    *out = NULL;
    mf_mpi_pool_opts o = {0};
    if (opts != NULL)
        o = *opts;
    if (o.prefetch == 0)
        o.prefetch = 2;
    if (!(o.startup_timeout > 0)) /* also NaN */
        o.startup_timeout = 60;
    if (o.max_message > MF__MSG_MAX) /* on every rank, before any MPI */
        return mf__seterr(MF_EINVAL,
                          "mf_mpi_pool_new: max_message %zu is above the "
                          "most a message may carry, %zu bytes (1 GiB; MPI "
                          "counts are ints); use 0 for that",
                          o.max_message, MF__MSG_MAX);
    if (o.max_message == 0)
        o.max_message = MF__MSG_MAX;
    if (!(o.task_timeout >= 0) || isinf(o.task_timeout)) /* NaN, < 0, inf */
        return mf__seterr(MF_EINVAL,
                          "mf_mpi_pool_new: task_timeout %g is not a number "
                          "of seconds (0 for no limit)",
                          o.task_timeout);

    int initialized, finalized, provided, rc;
    bool we_init = false;
    static atomic_int live_pool; /* one per process lifetime, see header */
    MPI_Finalized(&finalized);
    if (finalized || atomic_load(&live_pool))
        return mf__seterr(MF_ESTATE,
                          "%s: one MPI pool per process, created once "
                          "(freeing it ends MPI)",
                          finalized ? "MPI is already finalized"
                                    : "an MPI pool already exists");
    MPI_Initialized(&initialized);
    if (!initialized) {
        /* A singleton may need to spawn more workers than it has slots. */
        setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
        rc = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "MPI_Init_thread");
        we_init = true;
    } else {
        MPI_Query_thread(&provided);
    }
    if (provided < MPI_THREAD_SERIALIZED) {
        rc = mf__seterr(MF_EMPI,
                        "MPI provides thread level %d, the pool needs "
                        "MPI_THREAD_SERIALIZED (%d): initialize MPI with "
                        "MPI_Init_thread(..., MPI_THREAD_SERIALIZED, ...) or "
                        "let mf_mpi_pool_new do it",
                        provided, MPI_THREAD_SERIALIZED);
        goto out_finalize;
    }

    MPI_Comm parent, comm;
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL) { /* a spawned worker */
        MPI_Intercomm_merge(parent, 1, &comm);
        rc = mf__mpi_worker_run(comm);
        MPI_Comm_free(&comm);
        goto out_finalize;
    }
    int size, rank;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (size > 1) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
        if (rank != 0) {
            rc = mf__mpi_worker_run(comm);
            MPI_Comm_free(&comm);
            goto out_finalize;
        }
    } else {
        size_t n = o.max_workers;
        if (n == 0) {
            long c = sysconf(_SC_NPROCESSORS_ONLN);
            n = c > 0 ? (size_t)c : 1;
        }
        rc = spawn_workers(n, argv ? *argv : NULL, &comm);
        if (rc != MF_OK)
            goto out_finalize;
        MPI_Comm_size(comm, &size);
    }

    struct mpool *p = aligned_alloc(alignof(struct mpool), sizeof *p);
    if (p == NULL) {
        rc = mf__seterr(MF_ENOMEM, "MPI pool: out of memory");
        goto out_comm;
    }
    memset(p, 0, sizeof *p);
    p->base.ops = &mp_ops;
    p->base.max_workers = (size_t)size - 1;
    p->comm = comm;
    p->nworkers = size - 1;
    p->prefetch = o.prefetch;
    p->task_timeout = o.task_timeout;
    p->max_message = o.max_message;
    atomic_init(&p->active, size - 1);
    p->we_initialized_mpi = we_init;
    mf__inbox_init(&p->inbox);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->join_mu, NULL);
    mf__cond_init(&p->cv);
    mf__cond_init(&p->exit_cv);
    p->w = calloc((size_t)p->nworkers, sizeof *p->w);
    p->task_run_s = calloc(MF_TASK_MAX, sizeof *p->task_run_s);
    bool ok = p->w != NULL && p->task_run_s != NULL;
    for (int i = 0; ok && i < p->nworkers; i++) {
        p->w[i].rank = i + 1;
        snprintf(p->w[i].origin, sizeof p->w[i].origin, "rank %d", i + 1);
        p->w[i].ring = calloc(p->prefetch, sizeof *p->w[i].ring);
        ok = p->w[i].ring != NULL;
    }
    if (!ok) {
        rc = mf__seterr(MF_ENOMEM, "MPI pool: out of memory");
        goto out_pool;
    }
    rc = p->nworkers > 0 ? handshake(p, o.startup_timeout)
                         : mf__seterr(MF_EINVAL, "the MPI pool has no "
                                                 "workers: run with "
                                                 "mpirun -n 2 or more");
    if (rc != MF_OK)
        goto out_stop;
    p->runner = mf__cb_runner_new("mf-mpi-cbs");
    if (p->runner == NULL ||
        pthread_create(&p->thread, NULL, scheduler_main, p) != 0) {
        rc = mf__seterr(MF_ESYS, "MPI pool: cannot start its threads");
        goto out_stop;
    }
    atomic_store(&live_pool, 1);
    *out = &p->base;
    return MF_OK;

out_stop: {
    /* Let every worker go home; keep the first error's message. */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mf_errmsg());
    stop_workers(p);
    mf__seterr(rc, "%s", msg);
}
out_pool:
    mf__cb_runner_free(p->runner);
    p->runner = NULL;
    p->comm = MPI_COMM_NULL;
    p->we_initialized_mpi = false;
    if (p->w != NULL) {
        for (int i = 0; i < p->nworkers; i++)
            free(p->w[i].ring);
        free(p->w);
    }
    free(p->task_run_s);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->exit_cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->join_mu);
    free(p);
out_comm:
    MPI_Comm_free(&comm);
out_finalize:
    if (we_init)
        MPI_Finalize();
    return rc;
}

/* --- statistics and tuning --------------------------------------------------- */

static struct mpool *as_mpool(mf_executor *ex)
{
    return ex != NULL && ex->ops == &mp_ops ? (struct mpool *)ex : NULL;
}

int mf_mpi_pool_stats(mf_executor *ex, mf_pool_stats *out)
{
    struct mpool *p = as_mpool(ex);
    if (p == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_mpi_pool_stats: not an MPI pool");
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
    return MF_OK;
}

int mf_mpi_pool_stats_reset(mf_executor *ex)
{
    struct mpool *p = as_mpool(ex);
    if (p == NULL)
        return mf__seterr(MF_EINVAL,
                          "mf_mpi_pool_stats_reset: not an MPI pool");
    pthread_mutex_lock(&p->mu);
    memset(&p->stats, 0, sizeof p->stats);
    pthread_mutex_unlock(&p->mu);
    return MF_OK;
}

int mf__mpi_pool_set_active(mf_executor *ex, int n)
{
    struct mpool *p = as_mpool(ex);
    if (p == NULL || n < 1 || n > p->nworkers)
        return mf__seterr(MF_EINVAL, "set_active: %d is not in 1..%d", n,
                          p ? p->nworkers : 0);
    /* relaxed: a hint for the next dispatch; messages already sent to
     * other workers still come back. */
    atomic_store_explicit(&p->active, n, memory_order_relaxed);
    return MF_OK;
}
