/*
 * tests/test_hostile.c -- failures and misuse on the thread pool and
 * futures: an initializer failing while another thread runs a task, a done
 * callback that blocks its thread, futures released while callbacks are
 * pending (by the user, by a callback, or for good), and a queued future
 * cancelled before its result could exist. Each must give a clear error
 * where there is one, lose nothing, hang nothing and leak nothing (ASan's
 * leak check runs on this file).
 *
 * Gates hold work where the order of events matters; nothing relies on
 * sleeping. Threads and callbacks only record; the main thread asserts,
 * and every wait has a timeout.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mpifutures.h>

/* Only a lost wake-up or a deadlock takes this long; never a speed check. */
#define GUARD 30.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void expect_contains(const char *s, const char *needle)
{
    if (s == NULL || strstr(s, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", s ? s : "(null)", needle);
}

/* Main thread only: poll until *counter reaches n. */
static void wait_count(atomic_int *counter, int n, const char *what)
{
    double end = now() + GUARD;
    while (atomic_load(counter) < n) {
        if (now() > end)
            fail_msg("%s: %d of %d after %.0f s", what, atomic_load(counter),
                     n, GUARD);
        sleep_ms(1);
    }
}

/* --- gates ---------------------------------------------------------------- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    atomic_int entered;
};

#define GATE_INIT \
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0}

/* Gates a test may leave closed when it fails: the teardown opens them so
 * that no pool thread stays blocked behind the test. */
static struct gate g_task = GATE_INIT, g_cb = GATE_INIT;

static void gate_reset(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = false;
    atomic_store(&g->entered, 0);
    pthread_mutex_unlock(&g->mu);
}

static void gate_pass(struct gate *g)
{
    atomic_fetch_add(&g->entered, 1);
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static int setup(void **state)
{
    (void)state;
    gate_reset(&g_task);
    gate_reset(&g_cb);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gate_open(&g_task);
    gate_open(&g_cb);
    return 0;
}

/* --- work ----------------------------------------------------------------- */

static atomic_int square_runs;

static int task_square(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t v;
    int rc = mf_args_i64(args, 0, &v);
    atomic_fetch_add(&square_runs, 1);
    return rc != MF_OK ? rc : mf_reply_i64(reply, v * v);
}

/* A plain call held at g_task; returns its argument. */
static void *gated_call(void *arg)
{
    gate_pass(&g_task);
    return arg;
}

static char token[4]; /* addresses the calls return */

static mf_executor *new_pool(size_t workers, const char *prefix,
                             int (*init)(void *))
{
    mf_executor *ex = NULL;
    mf_thread_pool_opts o = {
        .max_workers = workers, .name_prefix = prefix, .initializer = init};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    return ex;
}

/* --- a failing initializer ------------------------------------------------ */

static atomic_int init_calls;

/* The first thread starts; every later one fails with 7. */
static int init_second_fails(void *arg)
{
    (void)arg;
    return atomic_fetch_add(&init_calls, 1) == 0 ? 0 : 7;
}

static void test_hostile_failing_initializer_keeps_running_work(void **state)
{
    (void)state;
    /* Thread hi-0 starts and runs a held call; a second submit starts
     * hi-1, whose initializer fails: the pool is broken. The queued task
     * fails, naming the thread and the return value; later submits are
     * refused the same way; the call already running is not lost. */
    atomic_store(&init_calls, 0);
    atomic_store(&square_runs, 0);
    mf_executor *ex = new_pool(2, "hi", init_second_fails);
    mf_future *running, *queued;
    assert_int_equal(mf_executor_call(ex, gated_call, &token[1], &running),
                     MF_OK);
    wait_count(&g_task.entered, 1, "the first call");
    assert_int_equal(mf_executor_submitf(ex, "h.square", &queued, "l", 3LL),
                     MF_OK);

    const mf_error *e = NULL;
    assert_int_equal(mf_future_exception(queued, GUARD, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_future_state_get(queued), MF_FAILED);
    assert_int_equal(mf_error_code(e), MF_EBROKEN);
    assert_string_equal(mf_error_kind(e), "BrokenThreadPool");
    assert_string_equal(mf_error_task(e), "h.square");
    expect_contains(mf_error_message(e), "initializer failed on hi-1");
    expect_contains(mf_error_message(e), "returned 7");
    expect_contains(mf_error_message(e), "new submits are refused");
    expect_contains(mf_error_origin(e), "thread hi-1");
    assert_int_equal(mf_future_result(queued, 0, NULL), MF_ETASK);

    mf_future *late = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(ex, "h.square", &late, "l", 4LL),
                     MF_EBROKEN);
    assert_null(late);
    expect_contains(mf_errmsg(), "initializer failed on hi-1");

    /* The call hi-0 holds runs to the end. */
    assert_int_equal(mf_future_state_get(running), MF_RUNNING);
    gate_open(&g_task);
    void *p = NULL;
    assert_int_equal(mf_future_result_ptr(running, GUARD, &p), MF_OK);
    assert_ptr_equal(p, &token[1]);
    assert_int_equal(mf_executor_shutdown_timed(ex, false, GUARD), MF_OK);
    assert_int_equal(atomic_load(&square_runs), 0); /* nothing ran twice */
    mf_future_release(running);
    mf_future_release(queued);
    mf_executor_free(ex);
}

/* --- a callback that blocks ----------------------------------------------- */

static atomic_int cb_block_runs;

static void cb_block(mf_future *f, void *arg)
{
    (void)f;
    (void)arg;
    gate_pass(&g_cb);
    atomic_fetch_add(&cb_block_runs, 1);
}

static void test_hostile_blocking_callback_stalls_only_its_thread(void **state)
{
    (void)state;
    /* A done callback runs on the thread that completed the future: one
     * that blocks holds that thread, as a blocking task would. The other
     * thread takes the work; a bounded shutdown reports the busy thread;
     * once the callback returns, everything ends. */
    enum { N = 20 };
    atomic_store(&cb_block_runs, 0);
    mf_executor *ex = new_pool(2, "hb", NULL);
    mf_future *a, *f[N];
    assert_int_equal(mf_executor_call(ex, gated_call, &token[0], &a), MF_OK);
    wait_count(&g_task.entered, 1, "the held call");
    /* Added while running: it will fire on the pool's thread. */
    assert_int_equal(mf_future_add_done_callback(a, cb_block, NULL), MF_OK);
    gate_open(&g_task);
    wait_count(&g_cb.entered, 1, "the blocking callback");
    assert_int_equal(mf_future_state_get(a), MF_FINISHED);

    for (int i = 0; i < N; i++)
        assert_int_equal(
            mf_executor_submitf(ex, "h.square", &f[i], "l", (long long)i),
            MF_OK);
    for (int i = 0; i < N; i++) {
        int64_t v;
        assert_int_equal(mf_future_result_i64(f[i], GUARD, &v), MF_OK);
        assert_int_equal(v, (int64_t)i * i);
    }

    assert_int_equal(mf_executor_shutdown_timed(ex, false, 0.05),
                     MF_ETIMEDOUT);
    /* hb-0 is held; hb-1 may or may not have left yet. */
    expect_contains(mf_errmsg(), "of 2 pool threads still running");
    expect_contains(mf_errmsg(), "wait again");
    mf_future *late = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(ex, "h.square", &late, "l", 1LL),
                     MF_ESHUTDOWN);
    assert_null(late);

    gate_open(&g_cb);
    assert_int_equal(mf_executor_shutdown_timed(ex, false, GUARD), MF_OK);
    assert_int_equal(atomic_load(&cb_block_runs), 1);
    for (int i = 0; i < N; i++)
        mf_future_release(f[i]);
    mf_future_release(a);
    mf_executor_free(ex);
}

/* --- futures released while callbacks are pending ------------------------- */

static struct {
    atomic_int order; /* callbacks run so far, all futures */
    int seq[8];       /* the order each callback ran in, by its index */
    void *result[8];  /* what each saw */
    atomic_int not_done;
} R;

static void cb_record(mf_future *f, void *arg)
{
    int i = (int)(intptr_t)arg;
    void *p = NULL;
    if (!mf_future_done(f) || mf_future_result_ptr(f, 0, &p) != MF_OK)
        atomic_fetch_add(&R.not_done, 1);
    R.result[i] = p;
    R.seq[i] = atomic_fetch_add(&R.order, 1) + 1;
}

/* Records, then drops the reference the test handed to it. */
static void cb_record_and_release(mf_future *f, void *arg)
{
    cb_record(f, arg);
    mf_future_release(f);
}

static void
test_hostile_future_released_while_callbacks_pending(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    mf_executor *ex = new_pool(1, "hr", NULL);

    /* 1. The user lets go of a running future that has two callbacks:
     *    both still fire, in order, each seeing the result. */
    mf_future *a;
    assert_int_equal(mf_executor_call(ex, gated_call, &token[2], &a), MF_OK);
    wait_count(&g_task.entered, 1, "the held call");
    assert_int_equal(
        mf_future_add_done_callback(a, cb_record, (void *)(intptr_t)0), MF_OK);
    assert_int_equal(
        mf_future_add_done_callback(a, cb_record, (void *)(intptr_t)1), MF_OK);
    mf_future_release(a);
    a = NULL;

    /* 2. A callback takes the last user reference and drops it while a
     *    later callback of the same future is still pending. */
    mf_future *b;
    assert_int_equal(mf_executor_call(ex, gated_call, &token[3], &b), MF_OK);
    assert_int_equal(mf_future_add_done_callback(b, cb_record_and_release,
                                                 (void *)(intptr_t)2),
                     MF_OK);
    assert_int_equal(
        mf_future_add_done_callback(b, cb_record, (void *)(intptr_t)3), MF_OK);
    b = NULL; /* handed over to the callback */

    gate_open(&g_task);
    wait_count(&R.order, 4, "callbacks of released futures");
    assert_int_equal(mf_executor_shutdown_timed(ex, false, GUARD), MF_OK);
    assert_int_equal(atomic_load(&R.order), 4); /* each exactly once */
    assert_int_equal(R.seq[0], 1);
    assert_int_equal(R.seq[1], 2);
    assert_int_equal(R.seq[2], 3);
    assert_int_equal(R.seq[3], 4);
    assert_ptr_equal(R.result[0], &token[2]);
    assert_ptr_equal(R.result[1], &token[2]);
    assert_ptr_equal(R.result[2], &token[3]);
    assert_ptr_equal(R.result[3], &token[3]);
    assert_int_equal(atomic_load(&R.not_done), 0);
    mf_executor_free(ex);

    /* 3. A future of your own, released by its last holder while still
     *    pending: nothing can complete it any more, so its callback can
     *    never fire; it is freed with the future (ASan: no leak). */
    mf_future *mine = mf_future_new();
    assert_non_null(mine);
    assert_int_equal(
        mf_future_add_done_callback(mine, cb_record, (void *)(intptr_t)4),
        MF_OK);
    assert_int_equal(
        mf_future_add_done_callback(mine, cb_record, (void *)(intptr_t)5),
        MF_OK);
    mf_future_release(mine);
    assert_int_equal(atomic_load(&R.order), 4);
}

/* --- a result for a cancelled future -------------------------------------- */

static atomic_int cancel_cb_runs;

static void cb_count(mf_future *f, void *arg)
{
    (void)f;
    (void)arg;
    atomic_fetch_add(&cancel_cb_runs, 1);
}

static void test_hostile_cancelled_future_gets_no_result(void **state)
{
    (void)state;
    /* Cancelled while queued behind a held call: its task never runs, so
     * no result can arrive for it; nobody can give it one either; its
     * callback fires once, at the cancel. */
    atomic_store(&square_runs, 0);
    atomic_store(&cancel_cb_runs, 0);
    mf_executor *ex = new_pool(1, "hc", NULL);
    mf_future *held, *c;
    assert_int_equal(mf_executor_call(ex, gated_call, &token[0], &held),
                     MF_OK);
    wait_count(&g_task.entered, 1, "the held call");
    assert_int_equal(mf_executor_submitf(ex, "h.square", &c, "l", 5LL),
                     MF_OK);
    assert_int_equal(mf_future_add_done_callback(c, cb_count, NULL), MF_OK);
    assert_true(mf_future_cancel(c));
    assert_int_equal(atomic_load(&cancel_cb_runs), 1);
    static const unsigned char mp_1[] = {0x01};
    assert_int_equal(mf_future_set_value(c, mp_1, 1), MF_ESTATE);
    gate_open(&g_task);
    assert_int_equal(mf_executor_shutdown_timed(ex, false, GUARD), MF_OK);
    assert_int_equal(atomic_load(&square_runs), 0);
    assert_int_equal(mf_future_state_get(c), MF_CANCELLED);
    assert_int_equal(mf_future_result(c, 0, NULL), MF_ECANCELLED);
    expect_contains(mf_errmsg(), "cancelled");
    assert_int_equal(atomic_load(&cancel_cb_runs), 1);
    assert_int_equal(mf_future_state_get(held), MF_FINISHED);
    mf_future_release(held);
    mf_future_release(c);
    mf_executor_free(ex);
}

static int register_tasks(void **state)
{
    (void)state;
    return mf_task_register("h.square", task_square, NULL) == MF_OK ? 0 : -1;
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_hostile_failing_initializer_keeps_running_work),
        TEST(test_hostile_blocking_callback_stalls_only_its_thread),
        TEST(test_hostile_future_released_while_callbacks_pending),
        TEST(test_hostile_cancelled_future_gets_no_result),
    };
    return cmocka_run_group_tests(tests, register_tasks, NULL);
}
