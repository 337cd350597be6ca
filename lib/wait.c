/*
 * lib/wait.c -- mf_wait and mf_as_completed over futures from any executors.
 *
 * Design notes
 * - Both register one listener per distinct future with a single waiter
 *   (future_int.h); a completing future appends its listener index to the
 *   waiter's `ready` array under the waiter mutex and signals. Each future
 *   completes once, so `ready` never needs more than n slots, and the whole
 *   iteration costs O(n) plus O(1) per completion: nothing is rescanned.
 * - Duplicates are removed first with a small open-addressing set, so a
 *   future listed twice is waited on and yielded once.
 * - as_completed yields the futures already done when it starts (in input
 *   order) before any that complete later, as CPython does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lib/clock.h"
#include "lib/error_int.h"
#include "lib/future_int.h"
#include "mpifutures/wait.h"

/* Copy the distinct non-NULL futures of fs into uniq (n slots); return how
 * many, or -1 when out of memory (or EINVAL for a NULL entry, as -2). */
static long dedupe(mf_future *const *fs, size_t n, mf_future **uniq)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    mf_future **set = calloc(cap, sizeof *set);
    if (set == NULL)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        mf_future *f = fs[i];
        if (f == NULL) {
            free(set);
            return -2;
        }
        uintptr_t h = (uintptr_t)f;
        h ^= h >> 17;
        h *= 0x9e3779b97f4a7c15ULL;
        size_t j = (size_t)(h >> 20) & (cap - 1);
        while (set[j] != NULL && set[j] != f)
            j = (j + 1) & (cap - 1);
        if (set[j] == f)
            continue;
        set[j] = f;
        uniq[k++] = f;
    }
    free(set);
    return (long)k;
}

static int dedupe_err(long k, const char *who)
{
    if (k == -2)
        return mf__seterr(MF_EINVAL, "%s: a future in the list is NULL", who);
    return mf__seterr(MF_ENOMEM, "%s: out of memory", who);
}

/* --- wait ------------------------------------------------------------------- */

static int condition_met(mf_wait_mode mode, size_t ndone, size_t nfailed,
                         size_t n)
{
    switch (mode) {
    case MF_FIRST_COMPLETED: return ndone > 0 || n == 0;
    case MF_FIRST_EXCEPTION: return nfailed > 0 || ndone == n;
    default: return ndone == n;
    }
}

int mf_wait(mf_future *const *fs, size_t n, double timeout, mf_wait_mode mode,
            mf_future **done, size_t *ndone, mf_future **not_done,
            size_t *nnot_done)
{
    if ((fs == NULL && n > 0) || (done && !ndone) || (not_done && !nnot_done))
        return mf__seterr(MF_EINVAL, "mf_wait: NULL argument");
    if (mode != MF_FIRST_COMPLETED && mode != MF_FIRST_EXCEPTION &&
        mode != MF_ALL_COMPLETED)
        return mf__seterr(MF_EINVAL, "mf_wait: unknown mode %d", (int)mode);
    double deadline = mf__deadline(timeout);
    mf_future **uniq = malloc((n ? n : 1) * sizeof *uniq);
    if (uniq == NULL)
        return mf__seterr(MF_ENOMEM, "mf_wait: out of memory");
    long k = dedupe(fs, n, uniq);
    if (k < 0) {
        free(uniq);
        return dedupe_err(k, "mf_wait");
    }
    size_t u = (size_t)k, d0 = 0, f0 = 0;
    for (size_t i = 0; i < u; i++) {
        mf_future_state s = mf_future_state_get(uniq[i]);
        d0 += mf_future_done(uniq[i]);
        f0 += s == MF_FAILED;
    }

    int rc = MF_OK;
    if (!condition_met(mode, d0, f0, u)) {
        struct mf__listener *ls = calloc(u, sizeof *ls);
        struct mf__waiter w;
        if (ls == NULL) {
            free(uniq);
            return mf__seterr(MF_ENOMEM, "mf_wait: out of memory");
        }
        mf__waiter_init(&w, NULL);
        /* Count those done by the time we listen; the rest notify. */
        size_t nd = 0, nf = 0;
        for (size_t i = 0; i < u; i++) {
            ls[i].waiter = &w;
            ls[i].index = (uint32_t)i;
            if (!mf__future_listen(uniq[i], &ls[i])) {
                nd++;
                nf += mf_future_state_get(uniq[i]) == MF_FAILED;
            }
        }
        pthread_mutex_lock(&w.mu);
        while (!condition_met(mode, nd + w.nready, nf + w.nfailed, u)) {
            if (mf__cond_wait_until(&w.cv, &w.mu, deadline) != 0 &&
                mf__now() >= deadline) {
                rc = MF_ETIMEDOUT;
                break;
            }
        }
        pthread_mutex_unlock(&w.mu);
        for (size_t i = 0; i < u; i++)
            mf__future_unlisten(uniq[i], &ls[i]);
        mf__waiter_fini(&w);
        free(ls);
    }

    size_t a = 0, b = 0;
    for (size_t i = 0; i < u; i++) {
        if (mf_future_done(uniq[i])) {
            if (done)
                done[a] = uniq[i];
            a++;
        } else {
            if (not_done)
                not_done[b] = uniq[i];
            b++;
        }
    }
    if (ndone)
        *ndone = a;
    if (nnot_done)
        *nnot_done = b;
    free(uniq);
    if (rc == MF_ETIMEDOUT)
        return mf__seterr(MF_ETIMEDOUT,
                          "wait: %zu (of %zu) futures unfinished after %.3f s",
                          b, u, timeout);
    return MF_OK;
}

/* --- as_completed ----------------------------------------------------------- */

struct mf_as_completed {
    struct mf__waiter w;
    mf_future **fs;  /* distinct futures, each retained */
    struct mf__listener *ls;
    uint32_t *ready; /* indices into fs; [0, w.nready) written */
    uint32_t *early; /* done before listening, yielded first */
    size_t n, nearly, yielded_early, yielded_ready;
    double deadline;
    double timeout;
};

int mf_as_completed_new(mf_future *const *fs, size_t n, double timeout,
                        mf_as_completed **out)
{
    if (out == NULL || (fs == NULL && n > 0))
        return mf__seterr(MF_EINVAL, "mf_as_completed_new: NULL argument");
    *out = NULL;
    mf_as_completed *it = calloc(1, sizeof *it);
    size_t cap = n ? n : 1;
    if (it == NULL)
        goto out_oom;
    it->fs = malloc(cap * sizeof *it->fs);
    it->ls = calloc(cap, sizeof *it->ls);
    it->ready = malloc(cap * sizeof *it->ready);
    it->early = malloc(cap * sizeof *it->early);
    if (!it->fs || !it->ls || !it->ready || !it->early)
        goto out_oom;
    long k = dedupe(fs, n, it->fs);
    if (k < 0) {
        int rc = dedupe_err(k, "mf_as_completed_new");
        free(it->fs);
        free(it->ls);
        free(it->ready);
        free(it->early);
        free(it);
        return rc;
    }
    it->n = (size_t)k;
    it->timeout = timeout;
    it->deadline = mf__deadline(timeout);
    mf__waiter_init(&it->w, it->ready);

    /* Snapshot what is done now; those come first, in input order. */
    for (size_t i = 0; i < it->n; i++) {
        mf_future_retain(it->fs[i]);
        it->ls[i].waiter = &it->w;
        it->ls[i].index = (uint32_t)i;
        it->ls[i].linked = 0;
        if (mf_future_done(it->fs[i]))
            it->early[it->nearly++] = (uint32_t)i;
        else
            it->ls[i].linked = -1; /* to listen below */
    }
    for (size_t i = 0; i < it->n; i++) {
        if (it->ls[i].linked != -1)
            continue;
        if (!mf__future_listen(it->fs[i], &it->ls[i]))
            it->early[it->nearly++] = (uint32_t)i; /* done meanwhile */
    }
    *out = it;
    return MF_OK;

out_oom:
    if (it) {
        free(it->fs);
        free(it->ls);
        free(it->ready);
        free(it->early);
        free(it);
    }
    return mf__seterr(MF_ENOMEM, "as_completed over %zu futures: out of memory",
                      n);
}

size_t mf_as_completed_remaining(const mf_as_completed *it)
{
    return it->n - it->yielded_early - it->yielded_ready;
}

int mf_as_completed_next(mf_as_completed *it, mf_future **out)
{
    if (it == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_as_completed_next: NULL argument");
    if (it->yielded_early < it->nearly) {
        *out = it->fs[it->early[it->yielded_early++]];
        return MF_OK;
    }
    if (mf_as_completed_remaining(it) == 0)
        return MF_EOF;
    pthread_mutex_lock(&it->w.mu);
    while (it->w.nready == it->yielded_ready) {
        if (mf__cond_wait_until(&it->w.cv, &it->w.mu, it->deadline) != 0 &&
            mf__now() >= it->deadline)
            break;
    }
    size_t avail = it->w.nready;
    pthread_mutex_unlock(&it->w.mu);
    if (avail == it->yielded_ready) {
        size_t left = mf_as_completed_remaining(it);
        return mf__seterr(MF_ETIMEDOUT,
                          "as_completed: %zu (of %zu) futures unfinished "
                          "after %.3f s",
                          left, it->n, it->timeout);
    }
    /* ready[yielded_ready] was written under w.mu before nready grew. */
    *out = it->fs[it->ready[it->yielded_ready++]];
    return MF_OK;
}

void mf_as_completed_free(mf_as_completed *it)
{
    if (it == NULL)
        return;
    for (size_t i = 0; i < it->n; i++) {
        mf__future_unlisten(it->fs[i], &it->ls[i]);
        mf_future_release(it->fs[i]);
    }
    mf__waiter_fini(&it->w);
    free(it->fs);
    free(it->ls);
    free(it->ready);
    free(it->early);
    free(it);
}
