/*
 * tests/test_loop.c -- the event-loop bridge on a real libuv loop with real
 * thread pools: results and errors through run_in_executor and gather,
 * callbacks on the loop thread and never inline, cancellation both ways
 * (asyncio's _chain_future), 100,000 completions with coalesced wake-ups
 * and none lost, and closing the loop with work in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include <mpifutures.h>
#include <mpifutures/coro.h>
#include <mpifutures/loop.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* legacyBlockingCompute: sleep, then square (Example 23.3). */
static void *legacy_square(void *arg)
{
    sleep_ms(50);
    intptr_t v = (intptr_t)arg;
    return (void *)(v * v);
}

static void *identity(void *arg)
{
    return arg;
}

static int task_fail(const mf_args *args, mf_reply *reply, void *udata)
{
    return mf_reply_error(reply, "ValueError", "boom");
}

static int setup(void **state)
{
    static int registered;
    if (!registered++)
        mf_task_register("loop.fail", task_fail, NULL);
    return 0;
}

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    atomic_int entered;
};

static void *gated(void *arg)
{
    struct gate *g = arg;
    atomic_fetch_add(&g->entered, 1);
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void test_loop_run_in_executor_and_gather(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    mf_executor *ex;
    mf_thread_pool_opts o = {.max_workers = 4};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    mf_lfuture *fs[4], *g;
    for (int i = 0; i < 4; i++)
        assert_int_equal(mf_loop_run_in_executor(l, ex, legacy_square,
                                                 (void *)(intptr_t)(10 * (i + 1)),
                                                 &fs[i]),
                         MF_OK);
    assert_int_equal(mf_loop_gather(l, fs, 4, false, &g), MF_OK);
    assert_false(mf_lfuture_done(g));
    uv_run(&uv, UV_RUN_DEFAULT); /* returns once nothing is outstanding */
    assert_true(mf_lfuture_done(g));
    assert_int_equal(mf_lfuture_result(g, NULL), MF_OK);
    const long want[4] = {100, 400, 900, 1600};
    for (int i = 0; i < 4; i++) {
        mf_value v;
        assert_int_equal(mf_lfuture_result(fs[i], &v), MF_OK);
        assert_int_equal(v.type, MF_VALUE_PTR);
        assert_int_equal((intptr_t)v.via.ptr, want[i]);
        mf_lfuture_release(fs[i]);
    }
    mf_lfuture_release(g);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
    mf_executor_free(ex);
}

static pthread_t loop_thread;
static int order[8], norder;
static int ran_on_loop;

static void record_cb(mf_lfuture *f, void *arg)
{
    (void)f;
    ran_on_loop += pthread_equal(pthread_self(), loop_thread);
    order[norder++] = (int)(intptr_t)arg;
}

static void test_loop_callbacks_on_loop_thread_never_inline(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    loop_thread = pthread_self();
    norder = ran_on_loop = 0;
    mf_lfuture *f = mf_lfuture_new(l);
    assert_int_equal(mf_lfuture_add_done_callback(f, record_cb, (void *)1),
                     MF_OK);
    static const char seven = 7;
    assert_int_equal(mf_lfuture_set_value(f, &seven, 1), MF_OK);
    assert_int_equal(mf_lfuture_set_value(f, &seven, 1), MF_ESTATE);
    /* Done, but callbacks wait for the loop, also ones added now. */
    assert_int_equal(mf_lfuture_add_done_callback(f, record_cb, (void *)2),
                     MF_OK);
    assert_int_equal(norder, 0);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(ran_on_loop, 2);
    int64_t v;
    assert_int_equal(mf_lfuture_result_i64(f, &v), MF_OK);
    assert_int_equal(v, 7);
    mf_lfuture_release(f);
    /* A pending future reports "not ready", never blocks. */
    mf_lfuture *p = mf_lfuture_new(l);
    assert_int_equal(mf_lfuture_result(p, NULL), MF_ESTATE);
    mf_lfuture_release(p);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
}

static void test_loop_errors_through_gather(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    mf_executor *ex;
    assert_int_equal(mf_thread_pool_new(NULL, &ex), MF_OK);
    mf_lfuture *fs[2], *g1, *g2;
    assert_int_equal(mf_loop_run_in_executor(l, ex, identity, (void *)5,
                                             &fs[0]),
                     MF_OK);
    assert_int_equal(
        mf_loop_run_task_in_executor(l, ex, "loop.fail", NULL, 0, &fs[1]),
        MF_OK);
    assert_int_equal(mf_loop_gather(l, fs, 2, false, &g1), MF_OK);
    assert_int_equal(mf_loop_gather(l, fs, 2, true, &g2), MF_OK);
    uv_run(&uv, UV_RUN_DEFAULT);
    /* Without return_exceptions: fails with the child's error. */
    const mf_error *e;
    assert_int_equal(mf_lfuture_result(g1, NULL), MF_ETASK);
    assert_int_equal(mf_lfuture_exception(g1, &e), MF_OK);
    assert_string_equal(mf_error_kind(e), "ValueError");
    assert_string_equal(mf_error_message(e), "boom");
    assert_string_equal(mf_error_task(e), "loop.fail");
    /* With it: finishes; each child holds its own outcome. */
    assert_int_equal(mf_lfuture_result(g2, NULL), MF_OK);
    assert_int_equal(mf_lfuture_result(fs[1], NULL), MF_ETASK);
    mf_value v;
    assert_int_equal(mf_lfuture_result(fs[0], &v), MF_OK);
    assert_int_equal((intptr_t)v.via.ptr, 5);
    for (int i = 0; i < 2; i++)
        mf_lfuture_release(fs[i]);
    mf_lfuture_release(g1);
    mf_lfuture_release(g2);
    /* gather of nothing is done at once. */
    mf_lfuture *g0;
    assert_int_equal(mf_loop_gather(l, NULL, 0, false, &g0), MF_OK);
    assert_true(mf_lfuture_done(g0));
    mf_lfuture_release(g0);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
    mf_executor_free(ex);
}

static void test_loop_cancel_both_ways(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    mf_executor *ex;
    mf_thread_pool_opts o = {.max_workers = 1};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    static struct gate g = {PTHREAD_MUTEX_INITIALIZER,
                            PTHREAD_COND_INITIALIZER, 0, 0};
    mf_future *blocker;
    assert_int_equal(mf_executor_call(ex, gated, &g, &blocker), MF_OK);
    while (atomic_load(&g.entered) == 0)
        sleep_ms(1);
    /* Not started: cancelling the loop future cancels the task. */
    mf_future *queued;
    assert_int_equal(mf_executor_call(ex, identity, (void *)1, &queued),
                     MF_OK);
    mf_lfuture *lq;
    assert_int_equal(mf_loop_wrap_future(l, queued, &lq), MF_OK);
    /* Started: the loop future is cancelled, the running task is not,
     * and its result, arriving later, is dropped. */
    mf_lfuture *lrun;
    assert_int_equal(mf_loop_wrap_future(l, blocker, &lrun), MF_OK);
    assert_true(mf_lfuture_cancel(lq));
    assert_true(mf_lfuture_cancel(lrun));
    assert_true(mf_future_cancelled(queued));
    assert_false(mf_future_cancelled(blocker));
    gate_open(&g);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_true(mf_lfuture_cancelled(lrun));
    assert_int_equal(mf_lfuture_result(lrun, NULL), MF_ECANCELLED);
    assert_int_equal(mf_future_state_get(blocker), MF_FINISHED);
    /* The other way: an executor future cancelled first. */
    mf_future *mine = mf_future_new();
    mf_lfuture *lm;
    assert_int_equal(mf_loop_wrap_future(l, mine, &lm), MF_OK);
    assert_true(mf_future_cancel(mine));
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_true(mf_lfuture_cancelled(lm));
    mf_lfuture_release(lm);
    mf_future_release(mine);
    mf_lfuture_release(lq);
    mf_lfuture_release(lrun);
    mf_future_release(queued);
    mf_future_release(blocker);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
    mf_executor_free(ex);
}

static void test_loop_100k_completions_coalesce_and_none_lost(void **state)
{
    (void)state;
    enum { N = 100000 };
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    mf_executor *ex;
    assert_int_equal(mf_thread_pool_new(NULL, &ex), MF_OK);
    static mf_lfuture *fs[N];
    for (intptr_t i = 0; i < N; i++)
        assert_int_equal(
            mf_loop_run_in_executor(l, ex, identity, (void *)i, &fs[i]),
            MF_OK);
    uv_run(&uv, UV_RUN_DEFAULT);
    size_t wakeups, completions;
    mf_loop_counters(l, &wakeups, &completions);
    assert_int_equal(completions, N);
    assert_true(wakeups >= 1 && wakeups <= completions);
    for (intptr_t i = 0; i < N; i++) {
        mf_value v;
        assert_int_equal(mf_lfuture_result(fs[i], &v), MF_OK);
        assert_true((intptr_t)v.via.ptr == i);
        mf_lfuture_release(fs[i]);
    }
    print_message("100000 completions in %zu wake-ups\n", wakeups);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
    mf_executor_free(ex);
}

static void test_loop_close_with_work_in_flight(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    mf_executor *ex;
    mf_thread_pool_opts o = {.max_workers = 1};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    static struct gate g = {PTHREAD_MUTEX_INITIALIZER,
                            PTHREAD_COND_INITIALIZER, 0, 0};
    mf_lfuture *a, *b, *gathered;
    assert_int_equal(mf_loop_run_in_executor(l, ex, gated, &g, &a), MF_OK);
    assert_int_equal(mf_loop_run_in_executor(l, ex, identity, NULL, &b),
                     MF_OK);
    mf_lfuture *both[2] = {a, b};
    assert_int_equal(mf_loop_gather(l, both, 2, false, &gathered), MF_OK);
    while (atomic_load(&g.entered) == 0)
        sleep_ms(1);
    mf_loop_close(l); /* a runs, b is queued: both pending here */
    assert_true(mf_lfuture_cancelled(a));
    assert_true(mf_lfuture_cancelled(b));
    gate_open(&g);
    mf_executor_free(ex); /* a finishes after the loop is gone */
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
    mf_lfuture_release(a);
    mf_lfuture_release(b);
    mf_lfuture_release(gathered); /* ASan: nothing leaks, nothing is used
                                      after free */
}

static void test_loop_sleep_and_wait(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    mf_lfuture *fast, *slow, *w_first, *w_all;
    assert_int_equal(mf_loop_sleep(l, 0.01, &fast), MF_OK);
    assert_int_equal(mf_loop_sleep(l, 0.2, &slow), MF_OK);
    mf_lfuture *both[2] = {slow, fast};
    assert_int_equal(mf_loop_wait(l, both, 2, MF_FIRST_COMPLETED, &w_first),
                     MF_OK);
    assert_int_equal(mf_loop_wait(l, both, 2, MF_ALL_COMPLETED, &w_all),
                     MF_OK);
    /* Run until the first wait is done: then only the fast one is. */
    while (!mf_lfuture_done(w_first))
        uv_run(&uv, UV_RUN_ONCE);
    assert_true(mf_lfuture_done(fast));
    assert_false(mf_lfuture_done(slow));
    assert_false(mf_lfuture_done(w_all));
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_true(mf_lfuture_done(slow));
    assert_true(mf_lfuture_done(w_all));
    /* FIRST_EXCEPTION: done at the first failure. */
    mf_lfuture *ok = mf_lfuture_new(l), *bad = mf_lfuture_new(l), *w_exc;
    mf_lfuture *pair[2] = {ok, bad};
    assert_int_equal(mf_loop_wait(l, pair, 2, MF_FIRST_EXCEPTION, &w_exc),
                     MF_OK);
    mf_lfuture_set_error(bad, MF_ETASK, "ValueError", "x");
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_true(mf_lfuture_done(w_exc));
    assert_false(mf_lfuture_done(ok));
    mf_lfuture_set_pointer(ok, NULL);
    uv_run(&uv, UV_RUN_DEFAULT);
    mf_lfuture *all[] = {fast, slow, w_first, w_all, ok, bad, w_exc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mf_lfuture_release(all[i]);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
}

static atomic_int running, peak;

static void *limited_call(void *arg)
{
    int now = atomic_fetch_add(&running, 1) + 1;
    int p = atomic_load(&peak);
    while (now > p && !atomic_compare_exchange_weak(&peak, &p, now))
        ;
    sleep_ms(5);
    atomic_fetch_sub(&running, 1);
    return arg;
}

struct sem_job {
    mf_loop *l;
    mf_executor *ex;
    mf_lsem *sem;
    int bad;
};

static void *sem_coroutine(mf_coro *co, void *arg)
{
    struct sem_job *j = arg;
    mf_lfuture *unit, *call;
    j->bad += mf_lsem_acquire(j->sem, &unit) != MF_OK;
    j->bad += mf_coro_await(co, unit) != MF_OK;
    j->bad += mf_loop_run_in_executor(j->l, j->ex, limited_call, NULL,
                                      &call) != MF_OK;
    j->bad += mf_coro_await(co, call) != MF_OK;
    mf_lsem_release(j->sem);
    mf_lfuture_release(call);
    mf_lfuture_release(unit);
    return NULL;
}

static void test_loop_semaphore_bound_holds_under_load(void **state)
{
    (void)state;
    enum { N = 60, CAP = 3 };
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    mf_executor *ex;
    mf_thread_pool_opts o = {.max_workers = 8}; /* more than the cap */
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    mf_lsem *sem = mf_lsem_new(l, CAP);
    static struct sem_job jobs[N];
    static mf_lfuture *fs[N];
    atomic_store(&running, 0);
    atomic_store(&peak, 0);
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct sem_job){l, ex, sem, 0};
        assert_int_equal(mf_coro_spawn(l, sem_coroutine, &jobs[i], 0, &fs[i]),
                         MF_OK);
    }
    uv_run(&uv, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++) {
        assert_true(mf_lfuture_done(fs[i]));
        assert_int_equal(jobs[i].bad, 0);
        mf_lfuture_release(fs[i]);
    }
    assert_true(atomic_load(&peak) <= CAP);
    assert_int_equal(atomic_load(&peak), CAP); /* and the cap was used */
    mf_lsem_free(sem);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
    mf_executor_free(ex);
}

static mf_loop *closing_loop;

static void close_from_callback(mf_lfuture *f, void *arg)
{
    (void)f;
    (void)arg;
    mf_loop_close(closing_loop);
}

static int released_by_close;

static void note_cancel(mf_lfuture *f, void *arg)
{
    released_by_close += mf_lfuture_cancelled(f);
    mf_lfuture_release(arg); /* the callback owned this reference */
}

static void test_loop_close_runs_callbacks_and_frees(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    /* A gather and a wait whose user let go of everything before close. */
    mf_lfuture *c = mf_lfuture_new(l), *g, *w;
    assert_int_equal(mf_loop_gather(l, &c, 1, false, &g), MF_OK);
    assert_int_equal(mf_loop_wait(l, &c, 1, MF_ALL_COMPLETED, &w), MF_OK);
    mf_lfuture_release(g);
    mf_lfuture_release(w);
    /* A callback that owns a reference, on a pending future. */
    mf_lfuture *owned = mf_lfuture_new(l);
    released_by_close = 0;
    assert_int_equal(
        mf_lfuture_add_done_callback(owned, note_cancel, owned), MF_OK);
    /* A callback scheduled on a done future, not yet run. */
    mf_lfuture *done = mf_lfuture_new(l);
    mf_lfuture_set_pointer(done, NULL);
    mf_lfuture *holder = mf_lfuture_new(l);
    mf_lfuture_set_pointer(holder, NULL);
    assert_int_equal(mf_lfuture_add_done_callback(done, note_cancel,
                                                  mf_lfuture_retain(holder)),
                     MF_OK);
    mf_lfuture_release(c);
    mf_loop_close(l); /* ASan: no use after free, nothing leaks */
    assert_int_equal(released_by_close, 1); /* `owned` was cancelled */
    mf_lfuture_release(done);
    mf_lfuture_release(holder);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
}

static void test_loop_close_from_a_callback(void **state)
{
    (void)state;
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_executor *ex;
    assert_int_equal(mf_thread_pool_new(NULL, &ex), MF_OK);
    assert_int_equal(mf_loop_new(&uv, &closing_loop), MF_OK);
    mf_lfuture *a, *b;
    assert_int_equal(
        mf_loop_run_in_executor(closing_loop, ex, identity, NULL, &a), MF_OK);
    assert_int_equal(
        mf_loop_run_in_executor(closing_loop, ex, identity, NULL, &b), MF_OK);
    assert_int_equal(mf_lfuture_add_done_callback(a, close_from_callback,
                                                  NULL),
                     MF_OK);
    uv_run(&uv, UV_RUN_DEFAULT); /* closes from inside the drain */
    assert_true(mf_lfuture_done(a));
    assert_true(mf_lfuture_done(b)); /* finished, or cancelled by close */
    mf_lfuture_release(a);
    mf_lfuture_release(b);
    assert_int_equal(uv_loop_close(&uv), 0);
    mf_executor_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_run_in_executor_and_gather),
        cmocka_unit_test(test_loop_callbacks_on_loop_thread_never_inline),
        cmocka_unit_test(test_loop_errors_through_gather),
        cmocka_unit_test(test_loop_cancel_both_ways),
        cmocka_unit_test(test_loop_100k_completions_coalesce_and_none_lost),
        cmocka_unit_test(test_loop_close_with_work_in_flight),
        cmocka_unit_test(test_loop_sleep_and_wait),
        cmocka_unit_test(test_loop_semaphore_bound_holds_under_load),
        cmocka_unit_test(test_loop_close_runs_callbacks_and_frees),
        cmocka_unit_test(test_loop_close_from_a_callback),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
