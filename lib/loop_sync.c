/*
 * lib/loop_sync.c -- timers, wait and a semaphore for loop futures, built on
 * the public loop-future API (loop thread only, like all of it).
 */
#include <stdlib.h>

#include <uv.h>

#include "lib/error_int.h"
#include "mpifutures/loop.h"
#include "mpifutures/wait.h"

/* The loop's uv_loop_t (lib/loop.c). */
struct uv_loop_s *mf__loop_uv(mf_loop *l);

/* --- sleep --------------------------------------------------------------------- */

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

static void timer_fired(uv_timer_t *t)
{
    mf_lfuture *f = t->data;
    if (!mf_lfuture_done(f))
        mf_lfuture_set_pointer(f, NULL);
}

/* The sleep is over, however it ended (fired, cancelled, loop closed):
 * stop and close its timer, drop the timer's reference. */
static void sleep_done(mf_lfuture *f, void *arg)
{
    uv_timer_t *t = arg;
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, timer_closed);
    mf_lfuture_release(f);
}

int mf_loop_sleep(mf_loop *l, double seconds, mf_lfuture **out)
{
    if (l == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_loop_sleep: NULL argument");
    *out = NULL;
    if (!(seconds >= 0) || seconds > 1e9) /* also NaN */
        return mf__seterr(MF_EINVAL, "mf_loop_sleep: %g is not 0..1e9 s",
                          seconds);
    mf_lfuture *f = mf_lfuture_new(l);
    uv_timer_t *t = malloc(sizeof *t);
    if (f == NULL || t == NULL) {
        mf_lfuture_release(f);
        free(t);
        return mf__seterr(MF_ENOMEM, "mf_loop_sleep: out of memory");
    }
    uv_timer_init(mf__loop_uv(l), t);
    t->data = mf_lfuture_retain(f);
    if (mf_lfuture_add_done_callback(f, sleep_done, t) != MF_OK) {
        mf_lfuture_release(f);
        uv_close((uv_handle_t *)t, timer_closed);
        mf_lfuture_release(f);
        return mf__seterr(MF_ENOMEM, "mf_loop_sleep: out of memory");
    }
    uv_timer_start(t, timer_fired, (uint64_t)(seconds * 1000.0 + 0.5), 0);
    *out = f;
    return MF_OK;
}

/* --- wait ---------------------------------------------------------------------- */

struct waitset {
    mf_lfuture *w;
    size_t n, done;
    int mode;
};

static void wait_child(mf_lfuture *child, void *arg)
{
    struct waitset *ws = arg;
    ws->done++;
    if (!mf_lfuture_done(ws->w)) {
        /* Whether it failed, without touching the caller's mf_errmsg. */
        const mf_error *err = NULL;
        int failed = mf_lfuture_done(child) && !mf_lfuture_cancelled(child) &&
                     mf_lfuture_exception(child, &err) == MF_OK &&
                     err != NULL;
        if (ws->mode == MF_FIRST_COMPLETED ||
            (ws->mode == MF_FIRST_EXCEPTION && failed) || ws->done == ws->n) {
            static const char nil = (char)0xc0;
            mf_lfuture_set_value(ws->w, &nil, 1);
        }
    }
    if (ws->done == ws->n) {
        mf_lfuture_release(ws->w);
        free(ws);
    }
}

int mf_loop_wait(mf_loop *l, mf_lfuture *const *fs, size_t n, int mode,
                 mf_lfuture **out)
{
    if (l == NULL || out == NULL || (fs == NULL && n > 0))
        return mf__seterr(MF_EINVAL, "mf_loop_wait: NULL argument");
    if (mode != MF_FIRST_COMPLETED && mode != MF_FIRST_EXCEPTION &&
        mode != MF_ALL_COMPLETED)
        return mf__seterr(MF_EINVAL, "mf_loop_wait: unknown mode %d", mode);
    *out = NULL;
    mf_lfuture *w = mf_lfuture_new(l);
    struct waitset *ws = malloc(sizeof *ws);
    if (w == NULL || ws == NULL) {
        mf_lfuture_release(w);
        free(ws);
        return mf__seterr(MF_ENOMEM, "mf_loop_wait: out of memory");
    }
    if (n == 0) {
        static const char nil = (char)0xc0;
        mf_lfuture_set_value(w, &nil, 1);
        free(ws);
        *out = w;
        return MF_OK;
    }
    *ws = (struct waitset){mf_lfuture_retain(w), n, 0, mode};
    for (size_t i = 0; i < n; i++)
        mf_lfuture_add_done_callback(fs[i], wait_child, ws);
    *out = w;
    return MF_OK;
}

/* --- semaphore ------------------------------------------------------------------ */

struct mf_lsem {
    mf_loop *l;
    unsigned value;
    mf_lfuture **q; /* waiters, FIFO: [head, tail) */
    size_t head, tail, cap;
};

mf_lsem *mf_lsem_new(mf_loop *l, unsigned value)
{
    mf_lsem *s = calloc(1, sizeof *s);
    if (s != NULL) {
        s->l = l;
        s->value = value;
    }
    return s;
}

int mf_lsem_acquire(mf_lsem *s, mf_lfuture **out)
{
    if (s == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_lsem_acquire: NULL argument");
    *out = NULL;
    mf_lfuture *f = mf_lfuture_new(s->l);
    if (f == NULL)
        return mf__seterr(MF_ENOMEM, "mf_lsem_acquire: out of memory");
    if (s->value > 0 && s->head == s->tail) {
        s->value--;
        mf_lfuture_set_pointer(f, NULL);
        *out = f;
        return MF_OK;
    }
    if (s->tail == s->cap) {
        size_t live = s->tail - s->head;
        if (s->head > 0) {
            for (size_t i = 0; i < live; i++)
                s->q[i] = s->q[s->head + i];
        } else {
            size_t cap = s->cap ? 2 * s->cap : 8;
            mf_lfuture **q = realloc(s->q, cap * sizeof *q);
            if (q == NULL) {
                mf_lfuture_release(f);
                return mf__seterr(MF_ENOMEM,
                                  "mf_lsem_acquire: out of memory");
            }
            s->q = q;
            s->cap = cap;
        }
        s->head = 0;
        s->tail = live;
    }
    s->q[s->tail++] = mf_lfuture_retain(f);
    *out = f;
    return MF_OK;
}

void mf_lsem_release(mf_lsem *s)
{
    /* Hand the unit to the first waiter still waiting. */
    while (s->head < s->tail) {
        mf_lfuture *f = s->q[s->head++];
        int handed = !mf_lfuture_done(f);
        if (handed)
            mf_lfuture_set_pointer(f, NULL);
        mf_lfuture_release(f);
        if (handed)
            return;
    }
    s->value++;
}

void mf_lsem_free(mf_lsem *s)
{
    if (s == NULL)
        return;
    for (size_t i = s->head; i < s->tail; i++) {
        mf_lfuture_cancel(s->q[i]);
        mf_lfuture_release(s->q[i]);
    }
    free(s->q);
    free(s);
}
