/*
 * tests/test_wait.c -- mf_wait (FIRST_COMPLETED, FIRST_EXCEPTION,
 * ALL_COMPLETED) and mf_as_completed over futures from any source.
 *
 * Most futures here come from mf_future_new and are completed by a helper
 * thread in a fixed order, so the expected outcome is exact: only futures
 * the test lets complete can complete. Threads only record; the main thread
 * asserts.
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

/* Only a lost wake-up takes this long; never a speed check. */
#define HANG_GUARD 30.0

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const unsigned char MP_7[] = {0x07};

enum how { SET_VALUE, SET_ERROR, CANCEL };

static int complete(mf_future *f, enum how how)
{
    switch (how) {
    case SET_VALUE:
        return mf_future_set_value(f, MP_7, sizeof MP_7);
    case SET_ERROR:
        return mf_future_set_error(f, MF_ETASK, "ValueError", "w", NULL,
                                   "boom");
    default:
        return mf_future_cancel(f) ? MF_OK : MF_ESTATE;
    }
}

/* A thread that completes futures one after another, in the given order,
 * after an optional pause (so waiters are usually blocked by then; nothing
 * depends on it). */
struct completer {
    mf_future *fs[8];
    enum how how[8];
    int n;
    long pause_ms;
    int rc[8];
    pthread_t th;
};

static void *completer_main(void *arg)
{
    struct completer *c = arg;
    if (c->pause_ms)
        sleep_ms(c->pause_ms);
    for (int i = 0; i < c->n; i++)
        c->rc[i] = complete(c->fs[i], c->how[i]);
    return NULL;
}

static void completer_start(struct completer *c)
{
    assert_int_equal(pthread_create(&c->th, NULL, completer_main, c), 0);
}

static void completer_join(struct completer *c)
{
    pthread_join(c->th, NULL);
    for (int i = 0; i < c->n; i++)
        assert_int_equal(c->rc[i], MF_OK);
}

static void new_futures(mf_future **fs, int n)
{
    for (int i = 0; i < n; i++) {
        fs[i] = mf_future_new();
        assert_non_null(fs[i]);
    }
}

static void release_all(mf_future **fs, int n)
{
    for (int i = 0; i < n; i++)
        mf_future_release(fs[i]);
}

static bool in_set(mf_future *const *set, size_t n, const mf_future *f)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == f)
            return true;
    return false;
}

/* --- mf_wait -------------------------------------------------------------- */

static void test_wait_first_completed_already_done(void **state)
{
    (void)state;
    mf_future *fs[3], *done[3], *not_done[3];
    size_t nd = 99, nn = 99;
    new_futures(fs, 3);
    assert_int_equal(complete(fs[1], SET_VALUE), MF_OK);
    assert_int_equal(mf_wait(fs, 3, HANG_GUARD, MF_FIRST_COMPLETED, done, &nd,
                             not_done, &nn),
                     MF_OK);
    assert_int_equal(nd, 1);
    assert_ptr_equal(done[0], fs[1]);
    assert_int_equal(nn, 2);
    assert_true(in_set(not_done, nn, fs[0]));
    assert_true(in_set(not_done, nn, fs[2]));
    /* Waiting changed nothing. */
    assert_int_equal(mf_future_state_get(fs[0]), MF_PENDING);
    assert_int_equal(mf_future_state_get(fs[2]), MF_PENDING);
    release_all(fs, 3);
}

static void test_wait_first_completed_blocks_until_one_done(void **state)
{
    (void)state;
    mf_future *fs[3], *done[3], *not_done[3];
    size_t nd = 99, nn = 99;
    new_futures(fs, 3);
    struct completer c = {
        .fs = {fs[2]}, .how = {CANCEL}, .n = 1, .pause_ms = 20};
    completer_start(&c);
    assert_int_equal(mf_wait(fs, 3, HANG_GUARD, MF_FIRST_COMPLETED, done, &nd,
                             not_done, &nn),
                     MF_OK);
    completer_join(&c);
    assert_int_equal(nd, 1);
    assert_ptr_equal(done[0], fs[2]);
    assert_int_equal(nn, 2);
    assert_true(in_set(not_done, nn, fs[0]));
    assert_true(in_set(not_done, nn, fs[1]));
    release_all(fs, 3);
}

static void test_wait_first_exception(void **state)
{
    (void)state;
    mf_future *fs[3], *done[3], *not_done[3];
    size_t nd = 99, nn = 99;
    new_futures(fs, 3);
    /* A success does not end a FIRST_EXCEPTION wait; a failure does. */
    assert_int_equal(complete(fs[0], SET_VALUE), MF_OK);
    struct completer c = {
        .fs = {fs[2]}, .how = {SET_ERROR}, .n = 1, .pause_ms = 20};
    completer_start(&c);
    assert_int_equal(mf_wait(fs, 3, HANG_GUARD, MF_FIRST_EXCEPTION, done, &nd,
                             not_done, &nn),
                     MF_OK);
    completer_join(&c);
    assert_int_equal(nd, 2);
    assert_true(in_set(done, nd, fs[0]));
    assert_true(in_set(done, nd, fs[2]));
    assert_int_equal(nn, 1);
    assert_ptr_equal(not_done[0], fs[1]);

    /* Already failed: returns at once. */
    assert_int_equal(
        mf_wait(fs, 3, HANG_GUARD, MF_FIRST_EXCEPTION, NULL, NULL, NULL, NULL),
        MF_OK);
    release_all(fs, 3);
}

static void test_wait_first_exception_ignores_cancel(void **state)
{
    (void)state;
    mf_future *fs[2], *done[2], *not_done[2];
    size_t nd = 99, nn = 99;
    new_futures(fs, 2);
    assert_true(mf_future_cancel(fs[0]));
    assert_int_equal(
        mf_wait(fs, 2, 0.05, MF_FIRST_EXCEPTION, done, &nd, not_done, &nn),
        MF_ETIMEDOUT);
    assert_int_equal(nd, 1);
    assert_ptr_equal(done[0], fs[0]);
    assert_int_equal(nn, 1);
    assert_ptr_equal(not_done[0], fs[1]);

    /* With no failure at all, FIRST_EXCEPTION waits for everything. */
    struct completer c = {
        .fs = {fs[1]}, .how = {SET_VALUE}, .n = 1, .pause_ms = 20};
    completer_start(&c);
    assert_int_equal(mf_wait(fs, 2, HANG_GUARD, MF_FIRST_EXCEPTION, done, &nd,
                             not_done, &nn),
                     MF_OK);
    completer_join(&c);
    assert_int_equal(nd, 2);
    assert_int_equal(nn, 0);
    release_all(fs, 2);
}

static void test_wait_all_completed(void **state)
{
    (void)state;
    mf_future *fs[4], *done[4], *not_done[4];
    size_t nd = 99, nn = 99;
    new_futures(fs, 4);
    struct completer c = {.fs = {fs[3], fs[0], fs[2], fs[1]},
                          .how = {SET_VALUE, SET_ERROR, CANCEL, SET_VALUE},
                          .n = 4,
                          .pause_ms = 20};
    completer_start(&c);
    assert_int_equal(
        mf_wait(fs, 4, HANG_GUARD, MF_ALL_COMPLETED, done, &nd, not_done, &nn),
        MF_OK);
    completer_join(&c);
    assert_int_equal(nd, 4);
    assert_int_equal(nn, 0);
    for (int i = 0; i < 4; i++) {
        assert_true(in_set(done, nd, fs[i]));
        assert_true(mf_future_done(fs[i]));
    }
    release_all(fs, 4);
}

static void test_wait_timeout_fills_sets(void **state)
{
    (void)state;
    mf_future *fs[3], *done[3], *not_done[3];
    size_t nd = 99, nn = 99;
    new_futures(fs, 3);
    assert_int_equal(complete(fs[0], SET_ERROR), MF_OK);
    assert_int_equal(
        mf_wait(fs, 3, 0.05, MF_ALL_COMPLETED, done, &nd, not_done, &nn),
        MF_ETIMEDOUT);
    assert_non_null(strstr(mf_errmsg(), "2 (of 3) futures unfinished"));
    assert_int_equal(nd, 1);
    assert_ptr_equal(done[0], fs[0]);
    assert_int_equal(nn, 2);
    assert_true(in_set(not_done, nn, fs[1]));
    assert_true(in_set(not_done, nn, fs[2]));

    /* A zero timeout polls. */
    nd = nn = 99;
    assert_int_equal(
        mf_wait(fs + 1, 2, 0, MF_FIRST_COMPLETED, done, &nd, not_done, &nn),
        MF_ETIMEDOUT);
    assert_int_equal(nd, 0);
    assert_int_equal(nn, 2);
    /* The futures are untouched and still complete normally. */
    assert_int_equal(mf_future_state_get(fs[1]), MF_PENDING);
    assert_true(mf_future_cancel(fs[1]));
    assert_int_equal(complete(fs[2], SET_VALUE), MF_OK);
    assert_int_equal(
        mf_wait(fs, 3, 0, MF_ALL_COMPLETED, done, &nd, not_done, &nn), MF_OK);
    assert_int_equal(nd, 3);
    release_all(fs, 3);
}

static void test_wait_duplicates_counted_once(void **state)
{
    (void)state;
    mf_future *fs[2];
    new_futures(fs, 2);
    mf_future *list[5] = {fs[0], fs[0], fs[1], fs[0], fs[1]};
    mf_future *done[5], *not_done[5];
    size_t nd = 99, nn = 99;
    assert_int_equal(complete(fs[0], SET_VALUE), MF_OK);
    assert_int_equal(mf_wait(list, 5, HANG_GUARD, MF_FIRST_COMPLETED, done, &nd,
                             not_done, &nn),
                     MF_OK);
    assert_int_equal(nd, 1);
    assert_ptr_equal(done[0], fs[0]);
    assert_int_equal(nn, 1);
    assert_ptr_equal(not_done[0], fs[1]);

    struct completer c = {
        .fs = {fs[1]}, .how = {SET_VALUE}, .n = 1, .pause_ms = 20};
    completer_start(&c);
    assert_int_equal(mf_wait(list, 5, HANG_GUARD, MF_ALL_COMPLETED, done, &nd,
                             not_done, &nn),
                     MF_OK);
    completer_join(&c);
    assert_int_equal(nd, 2);
    assert_int_equal(nn, 0);
    release_all(fs, 2);
}

static void test_wait_bad_arguments(void **state)
{
    (void)state;
    size_t nd = 99, nn = 99;
    mf_future *done[1], *not_done[1];
    /* Nothing to wait for: the condition holds at once. */
    assert_int_equal(mf_wait(NULL, 0, HANG_GUARD, MF_ALL_COMPLETED, done, &nd,
                             not_done, &nn),
                     MF_OK);
    assert_int_equal(nd, 0);
    assert_int_equal(nn, 0);
    assert_int_equal(mf_wait(NULL, 0, HANG_GUARD, MF_FIRST_COMPLETED, NULL,
                             NULL, NULL, NULL),
                     MF_OK);

    mf_future *f = mf_future_new();
    mf_future *with_null[2] = {f, NULL};
    assert_int_equal(
        mf_wait(with_null, 2, 0, MF_ALL_COMPLETED, NULL, NULL, NULL, NULL),
        MF_EINVAL);
    assert_int_equal(
        mf_wait(&f, 1, 0, (mf_wait_mode)42, NULL, NULL, NULL, NULL), MF_EINVAL);
    assert_int_equal(
        mf_wait(&f, 1, 0, MF_ALL_COMPLETED, done, NULL, NULL, NULL), MF_EINVAL);
    assert_int_equal(
        mf_wait(NULL, 1, 0, MF_ALL_COMPLETED, NULL, NULL, NULL, NULL),
        MF_EINVAL);
    mf_as_completed *it = (mf_as_completed *)1;
    assert_int_equal(mf_as_completed_new(with_null, 2, HANG_GUARD, &it),
                     MF_EINVAL);
    assert_null(it);
    mf_as_completed_free(NULL); /* no-op */
    mf_future_release(f);
}

/* --- as_completed --------------------------------------------------------- */

static void
test_wait_as_completed_done_first_then_completion_order(void **state)
{
    (void)state;
    enum { N = 6 };
    mf_future *fs[N];
    new_futures(fs, N);
    assert_int_equal(complete(fs[4], SET_VALUE), MF_OK);
    assert_int_equal(complete(fs[1], SET_ERROR), MF_OK);
    mf_as_completed *it;
    assert_int_equal(mf_as_completed_new(fs, N, HANG_GUARD, &it), MF_OK);
    assert_int_equal(mf_as_completed_remaining(it), N);

    struct completer c = {.fs = {fs[3], fs[0], fs[5], fs[2]},
                          .how = {SET_VALUE, CANCEL, SET_ERROR, SET_VALUE},
                          .n = 4,
                          .pause_ms = 10};
    completer_start(&c);
    mf_future *got[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(mf_as_completed_next(it, &got[i]), MF_OK);
        assert_true(mf_future_done(got[i]));
        assert_int_equal(mf_as_completed_remaining(it), N - 1 - i);
    }
    completer_join(&c);
    /* The two done at the start come first... */
    assert_true(in_set(got, 2, fs[1]));
    assert_true(in_set(got, 2, fs[4]));
    /* ...then the rest exactly in completion order. */
    assert_ptr_equal(got[2], fs[3]);
    assert_ptr_equal(got[3], fs[0]);
    assert_ptr_equal(got[4], fs[5]);
    assert_ptr_equal(got[5], fs[2]);
    mf_future *f;
    assert_int_equal(mf_as_completed_next(it, &f), MF_EOF);
    assert_int_equal(mf_as_completed_next(it, &f), MF_EOF);
    mf_as_completed_free(it);
    release_all(fs, N);
}

struct reverse_arg {
    mf_future **fs;
    int n;
};

static void *complete_in_reverse(void *arg)
{
    struct reverse_arg *r = arg;
    for (int i = r->n - 1; i >= 0; i--)
        mf_future_set_value(r->fs[i], MP_7, sizeof MP_7);
    return NULL;
}

static void test_wait_as_completed_many_in_completion_order(void **state)
{
    (void)state;
    enum { N = 2000 };
    mf_future **fs = malloc(N * sizeof *fs);
    assert_non_null(fs);
    new_futures(fs, N);
    mf_as_completed *it;
    assert_int_equal(mf_as_completed_new(fs, N, HANG_GUARD, &it), MF_OK);
    struct reverse_arg r = {fs, N};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, complete_in_reverse, &r), 0);
    int mismatch = -1;
    for (int i = N - 1; i >= 0; i--) {
        mf_future *f = NULL;
        assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
        if (f != fs[i] && mismatch < 0)
            mismatch = i;
    }
    pthread_join(th, NULL);
    assert_int_equal(mismatch, -1);
    mf_future *f;
    assert_int_equal(mf_as_completed_next(it, &f), MF_EOF);
    mf_as_completed_free(it);
    release_all(fs, N);
    free(fs);
}

static void test_wait_as_completed_duplicates_once(void **state)
{
    (void)state;
    mf_future *fs[3];
    new_futures(fs, 3);
    mf_future *list[6] = {fs[0], fs[1], fs[0], fs[2], fs[1], fs[2]};
    assert_int_equal(complete(fs[0], SET_VALUE), MF_OK);
    mf_as_completed *it;
    assert_int_equal(mf_as_completed_new(list, 6, HANG_GUARD, &it), MF_OK);
    assert_int_equal(mf_as_completed_remaining(it), 3);
    struct completer c = {
        .fs = {fs[2], fs[1]}, .how = {SET_VALUE, SET_VALUE}, .n = 2};
    completer_start(&c);
    mf_future *f;
    assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
    assert_ptr_equal(f, fs[0]);
    assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
    assert_ptr_equal(f, fs[2]);
    assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
    assert_ptr_equal(f, fs[1]);
    assert_int_equal(mf_as_completed_next(it, &f), MF_EOF);
    assert_int_equal(mf_as_completed_remaining(it), 0);
    completer_join(&c);
    mf_as_completed_free(it);
    release_all(fs, 3);
}

static void test_wait_as_completed_timeout(void **state)
{
    (void)state;
    mf_future *fs[3];
    new_futures(fs, 3);
    assert_int_equal(complete(fs[2], SET_VALUE), MF_OK);
    mf_as_completed *it;
    assert_int_equal(mf_as_completed_new(fs, 3, 0.1, &it), MF_OK);
    mf_future *f = NULL;
    assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
    assert_ptr_equal(f, fs[2]);
    assert_int_equal(mf_as_completed_next(it, &f), MF_ETIMEDOUT);
    assert_non_null(strstr(mf_errmsg(), "2 (of 3) futures unfinished"));
    assert_int_equal(mf_as_completed_remaining(it), 2);
    /* The iterator changed nothing. */
    assert_int_equal(mf_future_state_get(fs[0]), MF_PENDING);
    assert_int_equal(mf_future_state_get(fs[1]), MF_PENDING);
    mf_as_completed_free(it);
    /* Completing after the iterator is gone is fine. */
    assert_int_equal(complete(fs[0], SET_VALUE), MF_OK);
    assert_true(mf_future_cancel(fs[1]));
    release_all(fs, 3);

    /* A zero timeout yields what is done, then times out at once. */
    new_futures(fs, 3);
    assert_int_equal(complete(fs[0], SET_VALUE), MF_OK);
    assert_int_equal(complete(fs[2], SET_ERROR), MF_OK);
    assert_int_equal(mf_as_completed_new(fs, 3, 0, &it), MF_OK);
    mf_future *got[2];
    assert_int_equal(mf_as_completed_next(it, &got[0]), MF_OK);
    assert_int_equal(mf_as_completed_next(it, &got[1]), MF_OK);
    assert_true(in_set(got, 2, fs[0]));
    assert_true(in_set(got, 2, fs[2]));
    assert_int_equal(mf_as_completed_next(it, &f), MF_ETIMEDOUT);
    assert_non_null(strstr(mf_errmsg(), "1 (of 3) futures unfinished"));
    mf_as_completed_free(it);
    assert_true(mf_future_cancel(fs[1]));
    release_all(fs, 3);

    /* Empty: the end at once. */
    assert_int_equal(mf_as_completed_new(NULL, 0, 0.1, &it), MF_OK);
    assert_int_equal(mf_as_completed_next(it, &f), MF_EOF);
    mf_as_completed_free(it);
}

static void test_wait_as_completed_holds_references(void **state)
{
    (void)state;
    /* Under ASan, a missing reference is a use-after-free report. */
    mf_future *f = mf_future_new();
    mf_as_completed *it;
    assert_int_equal(mf_as_completed_new(&f, 1, HANG_GUARD, &it), MF_OK);
    mf_future_release(f); /* only the iterator holds it now */
    assert_int_equal(complete(f, SET_VALUE), MF_OK);
    mf_future *got;
    assert_int_equal(mf_as_completed_next(it, &got), MF_OK);
    assert_ptr_equal(got, f);
    int64_t v;
    assert_int_equal(mf_future_result_i64(got, 0, &v), MF_OK);
    assert_int_equal(v, 7);
    mf_as_completed_free(it);
}

/* --- futures from several executors --------------------------------------- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    atomic_int entered;
};

static void *gated_call(void *arg)
{
    struct gate *g = arg;
    atomic_fetch_add(&g->entered, 1);
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return arg;
}

static int task_double(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t x;
    int rc = mf_args_i64(args, 0, &x);
    return rc != MF_OK ? rc : mf_reply_i64(reply, 2 * x);
}

static void test_wait_mixed_executors(void **state)
{
    (void)state;
    /* Static: if an assertion fails with the gate closed, the blocked
     * worker still waits on valid memory. */
    static struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                            false, 0};
    mf_thread_pool_opts oa = {.max_workers = 1, .name_prefix = "wa"};
    mf_thread_pool_opts ob = {.max_workers = 2, .name_prefix = "wb"};
    mf_executor *pa, *pb;
    assert_int_equal(mf_thread_pool_new(&oa, &pa), MF_OK);
    assert_int_equal(mf_thread_pool_new(&ob, &pb), MF_OK);

    mf_future *fs[3]; /* gated call on A, task on B, user future */
    assert_int_equal(mf_executor_call(pa, gated_call, &g, &fs[0]), MF_OK);
    assert_int_equal(mf_executor_submitf(pb, "w.double", &fs[1], "l", 21LL),
                     MF_OK);
    fs[2] = mf_future_new();

    /* Only B's task can complete first. */
    mf_future *done[3], *not_done[3];
    size_t nd, nn;
    assert_int_equal(mf_wait(fs, 3, HANG_GUARD, MF_FIRST_COMPLETED, done, &nd,
                             not_done, &nn),
                     MF_OK);
    assert_int_equal(nd, 1);
    assert_ptr_equal(done[0], fs[1]);
    assert_int_equal(nn, 2);

    mf_as_completed *it;
    assert_int_equal(mf_as_completed_new(fs, 3, HANG_GUARD, &it), MF_OK);
    mf_future *f;
    assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
    assert_ptr_equal(f, fs[1]);
    int64_t v;
    assert_int_equal(mf_future_result_i64(f, 0, &v), MF_OK);
    assert_int_equal(v, 42);

    assert_int_equal(complete(fs[2], SET_VALUE), MF_OK);
    assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
    assert_ptr_equal(f, fs[2]);

    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    assert_int_equal(mf_as_completed_next(it, &f), MF_OK);
    assert_ptr_equal(f, fs[0]);
    void *p;
    assert_int_equal(mf_future_result_ptr(f, 0, &p), MF_OK);
    assert_ptr_equal(p, &g);
    assert_int_equal(mf_as_completed_next(it, &f), MF_EOF);
    mf_as_completed_free(it);

    assert_int_equal(
        mf_wait(fs, 3, HANG_GUARD, MF_ALL_COMPLETED, done, &nd, not_done, &nn),
        MF_OK);
    assert_int_equal(nd, 3);
    assert_int_equal(nn, 0);
    release_all(fs, 3);
    mf_executor_free(pa);
    mf_executor_free(pb);
}

static int register_tasks(void **state)
{
    (void)state;
    return mf_task_register("w.double", task_double, NULL) == MF_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_first_completed_already_done),
        cmocka_unit_test(test_wait_first_completed_blocks_until_one_done),
        cmocka_unit_test(test_wait_first_exception),
        cmocka_unit_test(test_wait_first_exception_ignores_cancel),
        cmocka_unit_test(test_wait_all_completed),
        cmocka_unit_test(test_wait_timeout_fills_sets),
        cmocka_unit_test(test_wait_duplicates_counted_once),
        cmocka_unit_test(test_wait_bad_arguments),
        cmocka_unit_test(
            test_wait_as_completed_done_first_then_completion_order),
        cmocka_unit_test(test_wait_as_completed_many_in_completion_order),
        cmocka_unit_test(test_wait_as_completed_duplicates_once),
        cmocka_unit_test(test_wait_as_completed_timeout),
        cmocka_unit_test(test_wait_as_completed_holds_references),
        cmocka_unit_test(test_wait_mixed_executors),
    };
    return cmocka_run_group_tests(tests, register_tasks, NULL);
}
