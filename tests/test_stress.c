/*
 * tests/test_stress.c -- many threads racing on futures.
 *
 * 1. Submitters push tasks and plain calls into one pool while cancelling
 *    some of them at once or a few submits later (racing the worker that
 *    starts them), adding done
 *    callbacks before or after (racing completion), and handing batches to
 *    waiter threads that block in mf_wait/mf_as_completed (racing the
 *    completers' notifications).
 * 2. User futures where a "worker" (set_running + set_value), a canceller,
 *    a callback adder and a waiter act on the same futures at once.
 *
 * Threads record into per-future slots (atomics where more than one thread
 * may write); the main thread checks every future after joining: exactly one
 * terminal state, every callback fired exactly once and saw that state,
 * every value right, and successes + failures + cancels == submitted.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mpifutures.h>

/* TSan slows every atomic and lock down the most; it runs the same races
 * on half as many futures. */
#if defined(__SANITIZE_THREAD__)
#define SCALE 2
#else
#define SCALE 1
#endif

#define NSUBMITTERS 8
#define PER_THREAD  (20000 / SCALE)
#define TOTAL       (NSUBMITTERS * PER_THREAD)
#define BATCH       64
#define NWAITERS    2
#define HANG_GUARD  60.0

/* --- phase 1: a thread pool ----------------------------------------------- */

enum { BAD_NONE, BAD_STATE, BAD_VALUE, BAD_ERROR, BAD_CANCEL, BAD_SUBMIT };

static struct {
    mf_executor *pool;
    atomic_int cb_calls[TOTAL];
    atomic_int cb_state[TOTAL];
    atomic_int cb_bad[TOTAL]; /* the callback saw a wrong value */
    int final_state[TOTAL];   /* written by the owning submitter */
    int cancel_ret[TOTAL];    /* -1: not tried, else mf_future_cancel's */
    int bad[TOTAL];           /* BAD_* found by the submitter */
    atomic_int waiter_bad;

    /* Batches for the waiters: retained futures, a NULL-terminated list. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    mf_future **queue[TOTAL / BATCH + NSUBMITTERS + 1];
    size_t qhead, qtail;
    bool closed;
} S;

static bool is_task(int id)
{
    return id % 4 != 3;
}
static bool should_fail(int id)
{
    return is_task(id) && id % 7 == 0;
}
static int64_t task_value(int id)
{
    return (int64_t)id * 3 + 1;
}
static uintptr_t call_value(int id)
{
    return (uintptr_t)id * 2 + 1;
}

static int task_mul(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t id;
    int rc = mf_args_i64(args, 0, &id);
    if (rc != MF_OK)
        return rc;
    if (id % 7 == 0)
        return mf_reply_error(reply, "ValueError", "id %lld", (long long)id);
    return mf_reply_i64(reply, id * 3 + 1);
}

static void *call_fn(void *arg)
{
    return (void *)((uintptr_t)arg * 2 + 1);
}

/* Check f's outcome for id; return BAD_NONE or what is wrong. */
static int check_outcome(mf_future *f, int id)
{
    switch (mf_future_state_get(f)) {
    case MF_FINISHED:
        if (should_fail(id))
            return BAD_STATE;
        if (is_task(id)) {
            int64_t v;
            if (mf_future_result_i64(f, 0, &v) != MF_OK || v != task_value(id))
                return BAD_VALUE;
        } else {
            void *p;
            if (mf_future_result_ptr(f, 0, &p) != MF_OK ||
                (uintptr_t)p != call_value(id))
                return BAD_VALUE;
        }
        return BAD_NONE;
    case MF_FAILED: {
        const mf_error *e;
        char want[32];
        snprintf(want, sizeof want, "id %d", id);
        if (!should_fail(id))
            return BAD_STATE;
        if (mf_future_exception(f, 0, &e) != MF_OK || e == NULL ||
            strcmp(mf_error_kind(e), "ValueError") != 0 ||
            strcmp(mf_error_message(e), want) != 0)
            return BAD_ERROR;
        return BAD_NONE;
    }
    case MF_CANCELLED:
        return BAD_NONE;
    default:
        return BAD_STATE; /* not terminal */
    }
}

static void on_done(mf_future *f, void *arg)
{
    int id = (int)(uintptr_t)arg;
    atomic_fetch_add_explicit(&S.cb_calls[id], 1, memory_order_relaxed);
    atomic_store_explicit(&S.cb_state[id], (int)mf_future_state_get(f),
                          memory_order_relaxed);
    if (check_outcome(f, id) != BAD_NONE)
        atomic_store_explicit(&S.cb_bad[id], 1, memory_order_relaxed);
}

static void queue_push(mf_future **batch)
{
    pthread_mutex_lock(&S.qmu);
    S.queue[S.qtail++] = batch;
    pthread_cond_signal(&S.qcv);
    pthread_mutex_unlock(&S.qmu);
}

static mf_future **queue_pop(void)
{
    pthread_mutex_lock(&S.qmu);
    while (S.qhead == S.qtail && !S.closed)
        pthread_cond_wait(&S.qcv, &S.qmu);
    mf_future **b = S.qhead < S.qtail ? S.queue[S.qhead++] : NULL;
    pthread_mutex_unlock(&S.qmu);
    return b;
}

static void *waiter_main(void *arg)
{
    (void)arg;
    mf_future **b;
    for (unsigned round = 0; (b = queue_pop()) != NULL; round++) {
        size_t n = 0;
        while (b[n] != NULL)
            n++;
        if (round % 2 == 0) {
            size_t nd = 0, nn = 0;
            int rc = mf_wait(b, n, HANG_GUARD, MF_ALL_COMPLETED, NULL, &nd,
                             NULL, &nn);
            if (rc != MF_OK || nd != n || nn != 0)
                atomic_fetch_add(&S.waiter_bad, 1);
        } else {
            mf_as_completed *it;
            if (mf_as_completed_new(b, n, HANG_GUARD, &it) != MF_OK) {
                atomic_fetch_add(&S.waiter_bad, 1);
            } else {
                size_t yielded = 0;
                mf_future *f;
                while (mf_as_completed_next(it, &f) == MF_OK) {
                    if (!mf_future_done(f))
                        atomic_fetch_add(&S.waiter_bad, 1);
                    yielded++;
                }
                if (yielded != n)
                    atomic_fetch_add(&S.waiter_bad, 1);
                mf_as_completed_free(it);
            }
        }
        for (size_t i = 0; i < n; i++)
            mf_future_release(b[i]);
        free(b);
    }
    return NULL;
}

static void resolve_batch(mf_future **fs, const int *ids, int n)
{
    for (int i = 0; i < n; i++) {
        int id = ids[i];
        if (mf_future_wait(fs[i], HANG_GUARD) != MF_OK) {
            S.bad[id] = BAD_STATE;
        } else {
            S.final_state[id] = (int)mf_future_state_get(fs[i]);
            S.bad[id] = check_outcome(fs[i], id);
            int cancelled = S.final_state[id] == MF_CANCELLED;
            if (S.bad[id] == BAD_NONE &&
                ((S.cancel_ret[id] == 1) != cancelled ||
                 (S.cancel_ret[id] == -1 && cancelled)))
                S.bad[id] = BAD_CANCEL;
        }
        mf_future_release(fs[i]);
    }
}

static void *submitter_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    mf_future *fs[BATCH];
    int ids[BATCH];
    int n = 0;
    for (int j = 0; j < PER_THREAD; j++) {
        int id = t * PER_THREAD + j;
        mf_future *f = NULL;
        int rc =
            is_task(id)
                ? mf_executor_submitf(S.pool, "s.mul", &f, "l", (long long)id)
                : mf_executor_call(S.pool, call_fn, (void *)(uintptr_t)id, &f);
        if (rc != MF_OK || f == NULL) {
            S.bad[id] = BAD_SUBMIT;
            continue;
        }
        bool early_cb = id % 2 == 0;
        if (early_cb)
            mf_future_add_done_callback(f, on_done, (void *)(uintptr_t)id);
        S.cancel_ret[id] = -1;
        if (id % 3 == 0)
            S.cancel_ret[id] = mf_future_cancel(f);
        if (!early_cb)
            mf_future_add_done_callback(f, on_done, (void *)(uintptr_t)id);
        fs[n] = f;
        ids[n] = id;
        n++;
        /* Some are cancelled a few submits later, when a worker is more
         * likely to be starting them. */
        if (n > 4 && ids[n - 5] % 5 == 1 && S.cancel_ret[ids[n - 5]] == -1)
            S.cancel_ret[ids[n - 5]] = mf_future_cancel(fs[n - 5]);
        if (n == BATCH || j == PER_THREAD - 1) {
            if ((j / BATCH) % 2 == 0) {
                mf_future **copy = malloc((size_t)(n + 1) * sizeof *copy);
                if (copy != NULL) {
                    for (int i = 0; i < n; i++)
                        copy[i] = mf_future_retain(fs[i]);
                    copy[n] = NULL;
                    queue_push(copy);
                }
            }
            resolve_batch(fs, ids, n);
            n = 0;
        }
    }
    return NULL;
}

static void test_stress_pool_cancel_callbacks_waiters(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.qmu, NULL);
    pthread_cond_init(&S.qcv, NULL);
    mf_thread_pool_opts o = {.max_workers = 4, .name_prefix = "stress"};
    assert_int_equal(mf_thread_pool_new(&o, &S.pool), MF_OK);

    pthread_t sub[NSUBMITTERS], wt[NWAITERS];
    for (int i = 0; i < NWAITERS; i++)
        assert_int_equal(pthread_create(&wt[i], NULL, waiter_main, NULL), 0);
    for (int i = 0; i < NSUBMITTERS; i++)
        assert_int_equal(
            pthread_create(&sub[i], NULL, submitter_main, (void *)(intptr_t)i),
            0);
    for (int i = 0; i < NSUBMITTERS; i++)
        pthread_join(sub[i], NULL);
    pthread_mutex_lock(&S.qmu);
    S.closed = true;
    pthread_cond_broadcast(&S.qcv);
    pthread_mutex_unlock(&S.qmu);
    for (int i = 0; i < NWAITERS; i++)
        pthread_join(wt[i], NULL);
    /* Joins the workers: every callback they fire has returned. */
    mf_executor_free(S.pool);

    assert_int_equal(atomic_load(&S.waiter_bad), 0);
    long ok = 0, failed = 0, cancelled = 0, tried = 0;
    for (int id = 0; id < TOTAL; id++) {
        if (S.bad[id] != BAD_NONE)
            fail_msg("future %d: problem %d (state %s, cancel returned %d)", id,
                     S.bad[id], mf_future_state_name(S.final_state[id]),
                     S.cancel_ret[id]);
        if (atomic_load(&S.cb_calls[id]) != 1)
            fail_msg("future %d: %d callback calls", id,
                     atomic_load(&S.cb_calls[id]));
        if (atomic_load(&S.cb_state[id]) != S.final_state[id])
            fail_msg("future %d: callback saw %s, final state %s", id,
                     mf_future_state_name(atomic_load(&S.cb_state[id])),
                     mf_future_state_name(S.final_state[id]));
        if (atomic_load(&S.cb_bad[id]))
            fail_msg("future %d: callback saw a wrong outcome", id);
        ok += S.final_state[id] == MF_FINISHED;
        failed += S.final_state[id] == MF_FAILED;
        cancelled += S.final_state[id] == MF_CANCELLED;
        tried += S.cancel_ret[id] != -1;
    }
    print_message("%d futures: %ld finished, %ld failed, %ld cancelled "
                  "(of %ld cancel attempts)\n",
                  TOTAL, ok, failed, cancelled, tried);
    assert_int_equal(ok + failed + cancelled, TOTAL);
    assert_true(cancelled <= tried);
    pthread_cond_destroy(&S.qcv);
    pthread_mutex_destroy(&S.qmu);
}

/* --- phase 2: user futures, four racing roles ----------------------------- */

#define NUSER (40000 / SCALE)

static const unsigned char MP_7[] = {0x07};

static struct {
    mf_future *fs[NUSER];
    int ran[NUSER];    /* worker: set_running returned true */
    int set_rc[NUSER]; /* worker: set_value's return, if it ran */
    int cancel_ret[NUSER];
    int add_rc[NUSER];
    int wait_rc[NUSER];
    int64_t wait_val[NUSER];
    atomic_int cb_calls[NUSER];
    atomic_int cb_state[NUSER];
} U;

/* The roles meet at a barrier every ROUND futures, so each round is a
 * fresh race instead of one thread running far ahead of the others. */
#define ROUND 32
static pthread_barrier_t round_barrier;

typedef void (*role_fn)(int i);

static void run_role(role_fn fn)
{
    for (int base = 0; base < NUSER; base += ROUND) {
        pthread_barrier_wait(&round_barrier);
        int end = base + ROUND < NUSER ? base + ROUND : NUSER;
        for (int i = base; i < end; i++)
            fn(i);
    }
}

static void worker_one(int i)
{
    U.ran[i] = mf_future_set_running(U.fs[i]);
    if (U.ran[i])
        U.set_rc[i] = mf_future_set_value(U.fs[i], MP_7, sizeof MP_7);
}

static void cancel_one(int i)
{
    U.cancel_ret[i] = mf_future_cancel(U.fs[i]);
}

static void user_cb(mf_future *f, void *arg)
{
    int i = (int)(uintptr_t)arg;
    atomic_fetch_add_explicit(&U.cb_calls[i], 1, memory_order_relaxed);
    atomic_store_explicit(&U.cb_state[i], (int)mf_future_state_get(f),
                          memory_order_relaxed);
}

static void add_one(int i)
{
    U.add_rc[i] =
        mf_future_add_done_callback(U.fs[i], user_cb, (void *)(uintptr_t)i);
}

static void wait_one(int i)
{
    U.wait_rc[i] = mf_future_result_i64(U.fs[i], HANG_GUARD, &U.wait_val[i]);
}

static void *role_main(void *arg)
{
    run_role((role_fn)arg);
    return NULL;
}

static void test_stress_user_futures_racing_roles(void **state)
{
    (void)state;
    memset(&U, 0, sizeof U);
    for (int i = 0; i < NUSER; i++) {
        U.fs[i] = mf_future_new();
        assert_non_null(U.fs[i]);
    }
    static const role_fn roles[] = {worker_one, cancel_one, add_one, wait_one};
    enum { NROLES = sizeof roles / sizeof roles[0] };
    pthread_t th[NROLES];
    assert_int_equal(pthread_barrier_init(&round_barrier, NULL, NROLES), 0);
    for (int r = 0; r < NROLES; r++)
        assert_int_equal(
            pthread_create(&th[r], NULL, role_main, (void *)roles[r]), 0);
    for (int r = 0; r < NROLES; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&round_barrier);

    long finished = 0, cancelled = 0;
    for (int i = 0; i < NUSER; i++) {
        mf_future_state s = mf_future_state_get(U.fs[i]);
        /* Exactly one of start and cancel wins. */
        if (U.ran[i] == (U.cancel_ret[i] != 0))
            fail_msg("future %d: set_running %d, cancel %d", i, U.ran[i],
                     U.cancel_ret[i]);
        if (U.ran[i]) {
            assert_int_equal(U.set_rc[i], MF_OK);
            assert_int_equal(s, MF_FINISHED);
            assert_int_equal(U.wait_rc[i], MF_OK);
            assert_int_equal(U.wait_val[i], 7);
            finished++;
        } else {
            assert_int_equal(s, MF_CANCELLED);
            assert_int_equal(U.wait_rc[i], MF_ECANCELLED);
            cancelled++;
        }
        assert_int_equal(U.add_rc[i], MF_OK);
        if (atomic_load(&U.cb_calls[i]) != 1)
            fail_msg("future %d: %d callback calls", i,
                     atomic_load(&U.cb_calls[i]));
        assert_int_equal(atomic_load(&U.cb_state[i]), s);
        mf_future_release(U.fs[i]);
    }
    print_message("%d user futures: %ld finished, %ld cancelled\n", NUSER,
                  finished, cancelled);
    assert_int_equal(finished + cancelled, NUSER);
}

static int register_tasks(void **state)
{
    (void)state;
    return mf_task_register("s.mul", task_mul, NULL) == MF_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_pool_cancel_callbacks_waiters),
        cmocka_unit_test(test_stress_user_futures_racing_roles),
    };
    return cmocka_run_group_tests(tests, register_tasks, NULL);
}
