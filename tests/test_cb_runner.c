/*
 * tests/test_cb_runner.c -- done callbacks handed off a thread that must not
 * block: they run on the runner's thread, in the order added, exactly once,
 * with the future alive even after every user reference is dropped; waiters
 * are woken without waiting for them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <mpifutures.h>

#include "lib/cb_runner.h"

struct record {
    atomic_int calls;
    int order[4];
    char thread[4][16];
    mf_future_state seen[4];
};

static struct record rec;

static void cb(mf_future *f, void *arg)
{
    int slot = atomic_fetch_add(&rec.calls, 1);
    if (slot < 4) {
        rec.order[slot] = (int)(intptr_t)arg;
        pthread_getname_np(pthread_self(), rec.thread[slot], 16);
        rec.seen[slot] = mf_future_state_get(f);
    }
}

struct blocker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    atomic_int entered;
};

static struct blocker blk = {PTHREAD_MUTEX_INITIALIZER,
                             PTHREAD_COND_INITIALIZER, 0, 0};

static void blocking_cb(mf_future *f, void *arg)
{
    (void)f;
    (void)arg;
    atomic_store(&blk.entered, 1);
    pthread_mutex_lock(&blk.mu);
    while (!blk.open)
        pthread_cond_wait(&blk.cv, &blk.mu);
    pthread_mutex_unlock(&blk.mu);
}

struct completer {
    struct mf__cb_runner *runner;
    mf_future *f;
    int rc;
};

/* Plays the MPI scheduler: binds the runner, completes, returns. */
static void *complete_bound(void *arg)
{
    struct completer *c = arg;
    mf__cb_runner_bind(c->runner);
    static const unsigned char v[] = {0x2a}; /* 42 */
    c->rc = mf_future_set_value(c->f, v, sizeof v);
    mf__cb_runner_bind(NULL);
    return NULL;
}

static void test_cb_runner_callbacks_run_on_runner_in_order(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof rec);
    struct mf__cb_runner *r = mf__cb_runner_new("mf-test-cbs");
    assert_non_null(r);
    mf_future *f = mf_future_new();
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            mf_future_add_done_callback(f, cb, (void *)(intptr_t)i), MF_OK);
    struct completer c = {r, f, -1};
    pthread_t t;
    pthread_create(&t, NULL, complete_bound, &c);
    pthread_join(t, NULL);
    assert_int_equal(c.rc, MF_OK);
    int64_t v;
    assert_int_equal(mf_future_result_i64(f, 5.0, &v), MF_OK);
    assert_int_equal(v, 42);
    mf_future_release(f); /* the runner keeps its own reference */
    mf__cb_runner_free(r); /* fires what is queued, then stops */
    assert_int_equal(atomic_load(&rec.calls), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rec.order[i], i);
        assert_string_equal(rec.thread[i], "mf-test-cbs");
        assert_int_equal(rec.seen[i], MF_FINISHED);
    }
}

static void test_cb_runner_blocking_callback_does_not_block_completer(
    void **state)
{
    (void)state;
    struct mf__cb_runner *r = mf__cb_runner_new("mf-test-cbs");
    assert_non_null(r);
    mf_future *f = mf_future_new(), *g = mf_future_new();
    assert_int_equal(mf_future_add_done_callback(f, blocking_cb, NULL), MF_OK);
    struct completer c = {r, f, -1};
    pthread_t t;
    pthread_create(&t, NULL, complete_bound, &c);
    /* The completer returns while the callback is still blocked. */
    pthread_join(t, NULL);
    assert_int_equal(c.rc, MF_OK);
    assert_true(mf_future_done(f));
    c.f = g;
    pthread_create(&t, NULL, complete_bound, &c);
    pthread_join(t, NULL);
    assert_true(mf_future_done(g));
    pthread_mutex_lock(&blk.mu);
    blk.open = 1;
    pthread_cond_broadcast(&blk.cv);
    pthread_mutex_unlock(&blk.mu);
    mf__cb_runner_free(r);
    assert_int_equal(atomic_load(&blk.entered), 1);
    mf_future_release(f);
    mf_future_release(g);
}

static void test_cb_runner_unbound_thread_runs_inline(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof rec);
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_add_done_callback(f, cb, (void *)7), MF_OK);
    pthread_setname_np(pthread_self(), "mf-test-main");
    assert_true(mf_future_cancel(f));
    assert_int_equal(atomic_load(&rec.calls), 1);
    assert_string_equal(rec.thread[0], "mf-test-main");
    assert_int_equal(rec.seen[0], MF_CANCELLED);
    mf_future_release(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cb_runner_callbacks_run_on_runner_in_order),
        cmocka_unit_test(
            test_cb_runner_blocking_callback_does_not_block_completer),
        cmocka_unit_test(test_cb_runner_unbound_thread_runs_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
