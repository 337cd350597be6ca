/*
 * ranks/worker.c -- the worker loop run by every rank but the root.
 *
 * Design notes
 * - Single-threaded: receive a TASKS message, run its tasks in order,
 *   answer with one RESULTS message, repeat until STOP.
 * - Idle without burning a core: the worker polls with MPI_Improbe on the
 *   shared back-off policy (mpi_int.h), sleeping up to 1 ms between polls
 *   once idle. A blocking MPI_Recv would spin at 100% in Open MPI's
 *   progress engine and steal the root's core.
 * - Untrusted bytes: a TASKS message that cannot be read at all gets a
 *   BROKEN reply (the root fails that message's futures); an entry that
 *   cannot be read, names an unknown task or carries bad arguments gets an
 *   error result for its own id.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/task_int.h"
#include "ranks/mpi_int.h"
#include "serialization/envelope.h"

const char *mf__hostname(void)
{
    static char host[256];
    if (host[0] == '\0' && gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown-host");
    return host;
}

void mf__sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
}

void mf__backoff_start(struct mf__backoff *b, long cap_ns)
{
    b->start = mf__now();
    b->ns = 50000;
    b->cap_ns = cap_ns;
}

long mf__backoff_next(struct mf__backoff *b)
{
    double waited = mf__now() - b->start;
    if (waited < 200e-6)
        return 0;
    if (waited < 5e-3)
        return 50000;
    long ns = b->ns;
    if (b->ns < b->cap_ns)
        b->ns = b->ns * 2 < b->cap_ns ? b->ns * 2 : b->cap_ns;
    return ns;
}

static uint64_t ns_between(double a, double b)
{
    double d = b - a;
    return d > 0 ? (uint64_t)(d * 1e9) : 0;
}

/* Wait for the next message from the root, polling on the shared back-off
 * policy (mpi_int.h): at once at first, never spinning for long. */
static int next_message(MPI_Comm comm, MPI_Message *msg, MPI_Status *st)
{
    struct mf__backoff b;
    mf__backoff_start(&b, 1000000L);
    for (unsigned i = 1;; i++) {
        int flag = 0;
        if (MPI_Improbe(0, MPI_ANY_TAG, comm, &flag, msg, st) != MPI_SUCCESS)
            return MF_EMPI;
        if (flag)
            return MF_OK;
        long ns = mf__backoff_next(&b);
        if (ns == 0)
            mf__spin_step(i);
        else
            mf__sleep_ns(ns);
    }
}

/* Run every task of one TASKS message; append their results to out. */
static void run_tasks(const void *buf, size_t len, int rank,
                      mf_reply *reply, mf_pack *out)
{
    struct mf__msg_iter it;
    uint64_t max; /* the pool's max_message */
    if (mf__msg_read_tasks_max(buf, len, &it, &max) != MF_OK) {
        mf__msg_broken(out, rank, mf_errmsg());
        return;
    }
    mf__msg_results_begin(out, rank, it.left);
    /* Timestamps are chained (each stage's end is the next one's start):
     * three clock reads per task, which matters for microsecond tasks. */
    double t0 = mf__now();
    for (;;) {
        struct mf__task_msg t;
        int id_ok;
        int rc = mf__msg_next_task(&it, &t, &id_ok);
        if (rc == MF_EOF)
            break;
        double t1 = mf__now();
        uint64_t t_unpack = ns_between(t0, t1);
        if (rc != MF_OK) {
            /* This entry only; ids we cannot read are failed by the root
             * when their message's results come back short. */
            mf__msg_result_err(out, id_ok ? t.id : UINT64_MAX, rc,
                               rc == MF_ETYPE ? "TypeError" : "DecodeError",
                               mf_errmsg(), t_unpack, 0, 0);
            t0 = t1;
            continue;
        }
        const struct mf__task *task = mf__task_by_id(t.task_id);
        if (task == NULL) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "rank %d has no task with id %u (%zu registered)", rank,
                     t.task_id, mf_task_count());
            mf__msg_result_err(out, t.id, MF_ENOTASK, "UnknownTask", msg,
                               t_unpack, 0, 0);
            t0 = t1;
            continue;
        }
        mf__task_run(task, t.args, t.args_len, reply);
        double t2 = mf__now();
        uint64_t t_run = ns_between(t1, t2);
        size_t at;
        char msg[256];
        if (!reply->failed && reply->pack.len + 64 > max) {
            /* Above the pool's cap: an error in its place, never sent. */
            snprintf(msg, sizeof msg,
                     "the result (%zu bytes) exceeds the MPI pool's message "
                     "limit of %llu bytes (mf_mpi_pool_opts.max_message, 64 "
                     "bytes of envelope included); return less, or raise "
                     "the limit (at most 1 GiB)",
                     reply->pack.len, (unsigned long long)max);
            at = mf__msg_result_err(out, t.id, MF_ETOOBIG, "ValueError", msg,
                                    t_unpack, t_run, 0);
        } else if (!reply->failed &&
                   out->len + reply->pack.len + 64 > MF__MSG_MAX) {
            snprintf(msg, sizeof msg,
                     "the result (%zu bytes) would take this reply past the "
                     "MPI pool's %zu-byte message limit; return less, or "
                     "use a smaller chunksize",
                     reply->pack.len, MF__MSG_MAX);
            at = mf__msg_result_err(out, t.id, MF_ETOOBIG, "ValueError", msg,
                                    t_unpack, t_run, 0);
        } else if (reply->failed) {
            at = mf__msg_result_err(out, t.id, reply->code, reply->kind,
                                    reply->message, t_unpack, t_run, 0);
        } else {
            at = mf__msg_result_ok(out, t.id, reply->pack.data,
                                   reply->pack.len, t_unpack, t_run, 0);
        }
        /* The packing time is known only once packed: patch it in. */
        t0 = mf__now();
        mf__msg_patch_u64(out, at, ns_between(t2, t0));
    }
}

int mf__mpi_worker_run(MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    /* Back-off sleeps are short: do not let timer slack stretch them. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    mf_pack out;
    mf_pack_init(&out);
    mf__msg_hello(&out, rank, mf__hostname(), mf_task_count(),
                  mf_task_names_hash(), (int64_t)getpid());
    int rc = MF_OK;
    if (MPI_Send(out.data, (int)out.len, MPI_BYTE, 0, MF__TAG_CTRL, comm) !=
        MPI_SUCCESS)
        rc = MF_EMPI;

    mf_reply reply;
    mf__reply_init(&reply);
    char *buf = NULL;
    size_t cap = 0;
    while (rc == MF_OK) {
        MPI_Message msg;
        MPI_Status st;
        rc = next_message(comm, &msg, &st);
        if (rc != MF_OK)
            break;
        int n;
        MPI_Get_count(&st, MPI_BYTE, &n);
        if ((size_t)n > cap) {
            char *b = realloc(buf, (size_t)n);
            if (b == NULL) {
                rc = MF_ENOMEM;
                break;
            }
            buf = b;
            cap = (size_t)n;
        }
        if (MPI_Mrecv(buf, n, MPI_BYTE, &msg, MPI_STATUS_IGNORE) !=
            MPI_SUCCESS) {
            rc = MF_EMPI;
            break;
        }
        if (st.MPI_TAG == MF__TAG_CTRL) {
            int kind;
            if (mf__msg_kind(buf, (size_t)n, &kind) == MF_OK &&
                kind == MF__MSG_STOP)
                break;
            continue; /* nothing else is sent to workers on CTRL */
        }
        mf_pack_reset(&out);
        run_tasks(buf, (size_t)n, rank, &reply, &out);
        if (out.err != MF_OK) {
            mf_pack_reset(&out);
            mf__msg_broken(&out, rank, "out of memory packing results");
        }
        if (MPI_Send(out.data, (int)out.len, MPI_BYTE, 0,
                     MF__TAG_RESULTS, comm) != MPI_SUCCESS)
            rc = MF_EMPI;
    }
    free(buf);
    mf__reply_fini(&reply);
    mf_pack_fini(&out);
    return rc;
}
