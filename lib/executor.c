/*
 * lib/executor.c -- the executor interface: building futures for tasks and
 * calls, map, and dispatch to the executor's ops.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/executor_int.h"
#include "lib/task_int.h"
#include "mpifutures/wait.h"
#include "serialization/mp.h"

int mf__pack_vfmt(mf_pack *p, const char *fmt, va_list *ap);
long mf__fmt_count(const char *fmt);

/*
 * A new future (two references: caller's and executor's) for `task` (t: its
 * registry entry, NULL if none) with a copy of args. A bad name or bad bytes fail the future at once and drop the
 * executor's reference: *queue is then false. NULL when out of memory.
 */
static mf_future *task_future(const char *task, const struct mf__task *t,
                              const void *args, size_t len, bool *queue)
{
    mf_future *f = mf__future_alloc(2);
    if (f == NULL)
        return NULL;
    *queue = false;
    if (t == NULL) {
        mf__future_fail(f, MF_ENOTASK, "UnknownTask", task ? task : "",
                        "submit",
                        "no task named '%s' is registered in this process "
                        "(%zu registered); call mf_task_register(\"%s\", ...) "
                        "on every rank before submitting",
                        task ? task : "(null)", mf_task_count(),
                        task ? task : "name");
        goto out_drop;
    }
    if (len > 0) {
        mf_value v;
        if (args == NULL || len > UINT32_MAX) {
            mf__future_fail(f, MF_EINVAL, "ValueError", t->name, "submit",
                            "argument bytes: %s",
                            args == NULL ? "NULL with a non-zero length"
                                         : "more than 4 GiB");
            goto out_drop;
        }
        int rc = mf_value_decode(args, len, &v);
        if (rc == MF_OK && v.type != MF_VALUE_ARRAY)
            rc = mf__seterr(MF_ETYPE,
                            "an argument list must be a MessagePack array, "
                            "not %s",
                            mf_value_type_name(v.type));
        if (rc != MF_OK) {
            mf__future_fail(f, rc,
                            rc == MF_ETYPE ? "TypeError" : "DecodeError",
                            t->name, "submit", "bad argument list: %s",
                            mf_errmsg());
            goto out_drop;
        }
    }
    f->work_kind = MF__WORK_TASK;
    f->work.task = t;
    f->args_len = (uint32_t)len;
    if (len <= MF__INLINE_BYTES) {
        if (len > 0)
            memcpy(f->res.inl, args, len);
        f->args_inline = 1;
    } else {
        f->work_arg = malloc(len);
        if (f->work_arg == NULL) {
            free(f);
            return NULL;
        }
        memcpy(f->work_arg, args, len);
    }
    *queue = true;
    return f;

out_drop:
    mf_future_release(f);
    return f;
}

/* Hand one built future to ex; on refusal free it and return the error. */
static int enqueue_one(mf_executor *ex, mf_future *f, mf_future **out)
{
    int rc = ex->ops->submit(ex, &f, 1, 1);
    if (rc != MF_OK) {
        mf_future_release(f);
        mf_future_release(f);
        *out = NULL;
        return rc;
    }
    *out = f;
    return MF_OK;
}

/* Attach cb as f's first done callback before anyone else can see f:
 * plain stores, no lock (f is not shared yet). */
static void preattach(mf_future *f, mf_done_fn cb, void *arg)
{
    f->cb_fn = cb;
    f->cb_arg = arg;
    atomic_store_explicit(&f->state, MF_PENDING | MF__LISTENED,
                          memory_order_relaxed);
}

/* Submit a registered task; cb (if not NULL) is attached first. */
static int submit_task(mf_executor *ex, const char *task, const void *args,
                       size_t args_len, mf_done_fn cb, void *cb_arg,
                       mf_future **out)
{
    *out = NULL;
    if (ex == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_submit: NULL executor");
    /* A closed executor refuses work before anything else is looked at:
     * a bad name sent to a shut-down pool is still "after shutdown". */
    int rc = ex->ops->accepting(ex);
    if (rc != MF_OK)
        return rc;
    bool queue;
    mf_future *f = task_future(task, task ? mf__task_find(task) : NULL, args,
                               args_len, &queue);
    if (f == NULL)
        return mf__seterr(MF_ENOMEM, "submit: out of memory");
    if (!queue) { /* failed at once: a callback runs now */
        *out = f;
        return cb != NULL ? mf_future_add_done_callback(f, cb, cb_arg)
                          : MF_OK;
    }
    if (cb != NULL)
        preattach(f, cb, cb_arg);
    return enqueue_one(ex, f, out);
}

int mf_executor_submit(mf_executor *ex, const char *task, const void *args,
                       size_t args_len, mf_future **out)
{
    if (out == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_submit: out is NULL");
    return submit_task(ex, task, args, args_len, NULL, NULL, out);
}

int mf_executor_submitf(mf_executor *ex, const char *task, mf_future **out,
                        const char *fmt, ...)
{
    if (out == NULL || fmt == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_submitf: NULL argument");
    *out = NULL;
    long count = mf__fmt_count(fmt);
    if (count < 0)
        return mf__seterr(MF_EINVAL, "format \"%s\": unbalanced brackets",
                          fmt);
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_array(&p, (uint32_t)count);
    va_list ap;
    va_start(ap, fmt);
    int rc = mf__pack_vfmt(&p, fmt, &ap);
    va_end(ap);
    if (rc == MF_OK)
        rc = mf_executor_submit(ex, task, p.data, p.len, out);
    mf_pack_fini(&p);
    return rc;
}

/* Submit a plain local call; cb (if not NULL) is attached first. */
static int submit_call(mf_executor *ex, mf_call_fn fn, void *arg,
                       mf_done_fn cb, void *cb_arg, mf_future **out)
{
    *out = NULL;
    if (ex == NULL || fn == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_call: NULL argument");
    if (!ex->ops->local_calls)
        return mf__seterr(MF_ENOTSUP,
                          "the %s cannot run local function pointers; "
                          "register a task and use mf_executor_submit",
                          ex->ops->kind);
    mf_future *f = mf__future_alloc(2);
    if (f == NULL)
        return mf__seterr(MF_ENOMEM, "call: out of memory");
    f->work_kind = MF__WORK_CALL;
    f->work.fn = fn;
    f->work_arg = arg;
    if (cb != NULL)
        preattach(f, cb, cb_arg);
    return enqueue_one(ex, f, out);
}

int mf_executor_call(mf_executor *ex, mf_call_fn fn, void *arg,
                     mf_future **out)
{
    if (out == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_call: out is NULL");
    return submit_call(ex, fn, arg, NULL, NULL, out);
}

int mf__executor_call_notify(mf_executor *ex, mf_call_fn fn, void *arg,
                             mf_done_fn cb, void *cb_arg, mf_future **out)
{
    return submit_call(ex, fn, arg, cb, cb_arg, out);
}

int mf__executor_submit_notify(mf_executor *ex, const char *task,
                               const void *args, size_t len, mf_done_fn cb,
                               void *cb_arg, mf_future **out)
{
    return submit_task(ex, task, args, len, cb, cb_arg, out);
}

int mf_executor_shutdown(mf_executor *ex, bool wait, bool cancel_futures)
{
    if (ex == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_shutdown: NULL executor");
    int rc = ex->ops->shutdown(ex, wait ? MF_FOREVER : 0, cancel_futures);
    /* Not waiting: work still running is expected, not a failure. */
    return !wait && rc == MF_ETIMEDOUT ? MF_OK : rc;
}

int mf_executor_shutdown_timed(mf_executor *ex, bool cancel_futures,
                               double timeout)
{
    if (ex == NULL)
        return mf__seterr(MF_EINVAL,
                          "mf_executor_shutdown_timed: NULL executor");
    return ex->ops->shutdown(ex, timeout, cancel_futures);
}

void mf_executor_free(mf_executor *ex)
{
    if (ex == NULL)
        return;
    if (ex->ops->shutdown(ex, MF_FOREVER, false) == MF_EDEADLK) {
        /* Freeing a pool from one of its own threads would free it under
         * our feet: refuse loudly and leak instead. */
        fprintf(stderr, "mpifutures: mf_executor_free called on one of the "
                        "%s's own threads; not freed (%s)\n",
                ex->ops->kind, mf_errmsg());
        return;
    }
    ex->ops->destroy(ex);
}

const char *mf_executor_kind(const mf_executor *ex)
{
    return ex->ops->kind;
}

size_t mf_executor_max_workers(const mf_executor *ex)
{
    return ex->max_workers;
}

/* --- map -------------------------------------------------------------------- */

struct mf_map {
    mf_future **fs;
    size_t n;
    size_t next; /* ordered: next position to yield */
    mf_as_completed *ac; /* unordered */
    double deadline;     /* ordered */
    const mf_error *err;
};

static int fill_i64(size_t index, mf_pack *args, void *udata)
{
    const int64_t *items = udata;
    mf_pack_array(args, 1);
    mf_pack_i64(args, items[index]);
    return MF_OK;
}

int mf_executor_map(mf_executor *ex, const char *task, size_t n,
                    mf_map_args_fn fill, void *udata, const mf_map_opts *opts,
                    mf_map **out)
{
    static const mf_map_opts defaults = {MF_CHUNK_AUTO, 0, false};
    if (out == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_map: out is NULL");
    *out = NULL;
    if (ex == NULL || fill == NULL)
        return mf__seterr(MF_EINVAL, "mf_executor_map: NULL argument");
    if (opts == NULL)
        opts = &defaults;
    /* The timeout counts from this call, as in Python. */
    double timeout = opts->timeout > 0 ? opts->timeout : MF_FOREVER;
    double deadline = mf__deadline(timeout);
    int rc = ex->ops->accepting(ex);
    if (rc != MF_OK)
        return rc;

    mf_map *m = calloc(1, sizeof *m);
    if (m == NULL || (n > 0 && (m->fs = calloc(n, sizeof *m->fs)) == NULL)) {
        free(m);
        return mf__seterr(MF_ENOMEM, "map over %zu items: out of memory", n);
    }
    m->n = n;

    /* Build every future; queue those that are well formed, in order. */
    mf_future **queue = n ? malloc(n * sizeof *queue) : NULL;
    mf_pack p;
    mf_pack_init(&p);
    size_t nq = 0, built = 0;
    if (n > 0 && queue == NULL) {
        rc = mf__seterr(MF_ENOMEM, "map: out of memory");
        goto out_fail;
    }
    /* One lookup for the whole map. */
    const struct mf__task *t = task ? mf__task_find(task) : NULL;
    for (; built < n; built++) {
        mf_pack_reset(&p);
        rc = fill(built, &p, udata);
        if (rc == MF_OK && p.err != MF_OK)
            rc = mf__seterr(p.err, "map: packing item %zu: %s", built,
                            mf_strerror(p.err));
        if (rc != MF_OK)
            goto out_fail;
        bool q;
        mf_future *f = task_future(task, t, p.data, p.len, &q);
        if (f == NULL) {
            rc = mf__seterr(MF_ENOMEM, "map: out of memory");
            goto out_fail;
        }
        f->map_index = (uint32_t)built;
        m->fs[built] = f;
        if (q)
            queue[nq++] = f;
    }
    if (nq > 0) {
        size_t chunk = opts->chunksize;
        if (chunk == MF_CHUNK_AUTO)
            chunk = ex->ops->auto_chunk(ex, nq, queue[0]->work.task);
        rc = ex->ops->submit(ex, queue, nq, chunk);
        if (rc != MF_OK)
            goto out_fail;
    }
    free(queue);
    queue = NULL;
    nq = 0;
    mf_pack_fini(&p);
    if (opts->unordered) {
        double left = isinf(deadline) ? MF_FOREVER : deadline - mf__now();
        rc = mf_as_completed_new(m->fs, n, left < 0 && !isinf(deadline)
                                               ? 0 : left, &m->ac);
        if (rc != MF_OK) {
            mf_map_free(m);
            return rc;
        }
    }
    m->deadline = deadline;
    *out = m;
    return MF_OK;

out_fail:
    /* Items built but not accepted: drop the executor's reference too. */
    for (size_t i = 0; i < nq; i++)
        mf_future_release(queue[i]);
    for (size_t i = 0; i < built; i++)
        mf_future_release(m->fs[i]);
    free(queue);
    mf_pack_fini(&p);
    free(m->fs);
    free(m);
    return rc;
}

int mf_map_next(mf_map *m, size_t *index, mf_value *out)
{
    if (m == NULL)
        return mf__seterr(MF_EINVAL, "mf_map_next: NULL map");
    m->err = NULL;
    mf_future *f;
    if (m->ac != NULL) {
        int rc = mf_as_completed_next(m->ac, &f);
        if (rc != MF_OK)
            return rc;
    } else {
        if (m->next >= m->n)
            return MF_EOF;
        f = m->fs[m->next];
        double left = MF_FOREVER;
        if (!isinf(m->deadline)) {
            left = m->deadline - mf__now();
            if (left < 0)
                left = 0;
        }
        if (mf_future_wait(f, left) != MF_OK) {
            size_t unfinished = 0;
            for (size_t i = m->next; i < m->n; i++)
                unfinished += !mf_future_done(m->fs[i]);
            return mf__seterr(MF_ETIMEDOUT,
                              "map timed out: %zu (of %zu) items unfinished",
                              unfinished, m->n);
        }
        m->next++;
    }
    if (index != NULL)
        *index = f->map_index;
    int rc = mf_future_result(f, 0, out);
    if (rc == MF_ETASK) {
        m->err = f->res.err;
    } else if (rc == MF_ECANCELLED) {
        m->err = NULL;
    }
    return rc;
}

const mf_error *mf_map_error(const mf_map *m)
{
    return m ? m->err : NULL;
}

void mf_map_free(mf_map *m)
{
    if (m == NULL)
        return;
    mf_as_completed_free(m->ac);
    /* Newest first, as CPython does, so a worker freed by a late item's
     * cancel does not pick up an early one we are about to cancel. */
    for (size_t i = m->n; i-- > 0;) {
        mf_future_cancel(m->fs[i]);
        mf_future_release(m->fs[i]);
    }
    free(m->fs);
    free(m);
}

int mf_executor_map_i64(mf_executor *ex, const char *task,
                        const int64_t *items, size_t n,
                        const mf_map_opts *opts, mf_map **out)
{
    if (items == NULL && n > 0)
        return mf__seterr(MF_EINVAL, "mf_executor_map_i64: items is NULL");
    return mf_executor_map(ex, task, n, fill_i64, (void *)items, opts, out);
}

/* The inbox markers (lib/inbox.h): only their addresses matter. */
char mf__inbox_closed_marker, mf__inbox_broken_marker;
