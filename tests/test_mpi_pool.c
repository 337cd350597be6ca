/*
 * tests/test_mpi_pool.c -- the MPI process pool for real: run by ctest under
 * mpiexec with 2, 3 and 4 ranks, and alone (spawn mode). Every rank calls
 * mf_mpi_pool_new; worker ranks return at once and the tests run on rank 0
 * against real worker processes.
 *
 * Covered: results and their types, errors raised on workers (kind,
 * message, task, origin naming the rank), argument type errors, unknown
 * tasks, map in order at several chunk sizes, cancel of queued tasks,
 * callbacks, wait/as_completed over thread-pool and MPI futures mixed, and
 * (last, since a process has one MPI lifetime) shutdown with
 * cancel_futures followed by refused submits.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include <mpifutures.h>

#define GUARD 60.0 /* seconds: only stops a hang */

static mf_executor *pool;

static int task_square(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t v;
    int rc = mf_args_i64(args, 0, &v);
    if (rc != MF_OK)
        return rc;
    if (v < 0)
        return mf_reply_error(reply, "ValueError", "negative input %lld",
                              (long long)v);
    return mf_reply_i64(reply, v * v);
}

static int task_echo_str(const mf_args *args, mf_reply *reply, void *udata)
{
    const char *s;
    size_t n;
    int rc = mf_args_str(args, 0, &s, &n);
    return rc != MF_OK ? rc : mf_reply_str(reply, s, n);
}

static int task_sleep_ms(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t ms;
    int rc = mf_args_i64(args, 0, &ms);
    if (rc != MF_OK)
        return rc;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return mf_reply_i64(reply, ms);
}

static void *local_square(void *arg)
{
    return arg;
}

static void test_mpi_pool_result_and_types(void **state)
{
    (void)state;
    mf_future *f;
    int64_t v = 0;
    assert_int_equal(mf_executor_submitf(pool, "mpi.square", &f, "l", 12LL),
                     MF_OK);
    assert_int_equal(mf_future_result_i64(f, GUARD, &v), MF_OK);
    assert_int_equal(v, 144);
    mf_future_release(f);

    const char *s;
    size_t n;
    assert_int_equal(
        mf_executor_submitf(pool, "mpi.echo_str", &f, "s", "héllo wörld"),
        MF_OK);
    assert_int_equal(mf_future_result_str(f, GUARD, &s, &n), MF_OK);
    assert_int_equal(n, strlen("héllo wörld"));
    assert_memory_equal(s, "héllo wörld", n);
    mf_future_release(f);
}

static void test_mpi_pool_worker_error_carries_origin(void **state)
{
    (void)state;
    mf_future *f;
    assert_int_equal(mf_executor_submitf(pool, "mpi.square", &f, "l", -3LL),
                     MF_OK);
    int64_t v;
    assert_int_equal(mf_future_result_i64(f, GUARD, &v), MF_ETASK);
    const mf_error *e;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ETASK);
    assert_string_equal(mf_error_kind(e), "ValueError");
    assert_string_equal(mf_error_message(e), "negative input -3");
    assert_string_equal(mf_error_task(e), "mpi.square");
    assert_non_null(strstr(mf_error_origin(e), "rank "));
    assert_null(strstr(mf_error_origin(e), "rank 0"));
    mf_future_release(f);
}

static void test_mpi_pool_bad_arguments_fail_their_future(void **state)
{
    (void)state;
    mf_future *f;
    const mf_error *e;
    assert_int_equal(mf_executor_submitf(pool, "mpi.square", &f, "s", "x"),
                     MF_OK);
    assert_int_equal(mf_future_exception(f, GUARD, &e), MF_OK);
    assert_non_null(e);
    assert_string_equal(mf_error_kind(e), "TypeError");
    assert_non_null(strstr(mf_error_message(e), "argument 0"));
    mf_future_release(f);

    assert_int_equal(mf_executor_submitf(pool, "mpi.square", &f, ""), MF_OK);
    assert_int_equal(mf_future_exception(f, GUARD, &e), MF_OK);
    assert_non_null(e);
    assert_string_equal(mf_error_kind(e), "IndexError");
    mf_future_release(f);

    assert_int_equal(mf_executor_submitf(pool, "mpi.nope", &f, ""), MF_OK);
    assert_int_equal(mf_future_exception(f, GUARD, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ENOTASK);

    /* Local calls cannot cross processes. */
    mf_future *g = (mf_future *)1;
    assert_int_equal(mf_executor_call(pool, local_square, NULL, &g),
                     MF_ENOTSUP);
    assert_null(g);
    mf_future_release(f);
}

static void test_mpi_pool_map_in_order_at_any_chunksize(void **state)
{
    (void)state;
    enum { N = 1000 };
    static int64_t items[N];
    for (int i = 0; i < N; i++)
        items[i] = i;
    const size_t chunks[] = {1, 7, 100, MF_CHUNK_AUTO};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        mf_map_opts o = {.chunksize = chunks[c], .timeout = GUARD};
        mf_map *m;
        assert_int_equal(mf_executor_map_i64(pool, "mpi.square", items, N, &o,
                                             &m),
                         MF_OK);
        size_t idx, expect = 0;
        mf_value v;
        int rc;
        while ((rc = mf_map_next(m, &idx, &v)) == MF_OK) {
            assert_int_equal(idx, expect);
            assert_int_equal(v.type, MF_VALUE_UINT);
            assert_int_equal(v.via.u, (uint64_t)(expect * expect));
            expect++;
        }
        assert_int_equal(rc, MF_EOF);
        assert_int_equal(expect, N);
        mf_map_free(m);
    }
}

/* Poll until f was dispatched to a worker (RUNNING) or is done. */
static void wait_running(mf_future *f)
{
    struct timespec ms = {0, 1000000L};
    for (int i = 0; i < (int)(GUARD * 1000); i++) {
        if (mf_future_state_get(f) != MF_PENDING)
            return;
        nanosleep(&ms, NULL);
    }
    fail_msg("a task was never dispatched");
}

static atomic_int callbacks;

static void count_cb(mf_future *f, void *arg)
{
    (void)f;
    (void)arg;
    atomic_fetch_add(&callbacks, 1);
}

static void test_mpi_pool_cancel_queued_tasks(void **state)
{
    (void)state;
    /* Fill every worker's prefetch window with slow tasks, then queue
     * more: those wait on rank 0 and can be cancelled. */
    size_t busy = mf_executor_max_workers(pool) * 2 /* prefetch */;
    enum { MAXB = 64, Q = 10 };
    assert_true(busy <= MAXB);
    mf_future *slow[MAXB], *q[Q];
    for (size_t i = 0; i < busy; i++)
        assert_int_equal(
            mf_executor_submitf(pool, "mpi.sleep_ms", &slow[i], "l", 300LL),
            MF_OK);
    for (size_t i = 0; i < busy; i++)
        wait_running(slow[i]);
    atomic_store(&callbacks, 0);
    for (int i = 0; i < Q; i++) {
        assert_int_equal(
            mf_executor_submitf(pool, "mpi.sleep_ms", &q[i], "l", 1LL),
            MF_OK);
        assert_int_equal(mf_future_add_done_callback(q[i], count_cb, NULL),
                         MF_OK);
    }
    int cancelled = 0;
    for (int i = 0; i < Q; i++)
        cancelled += mf_future_cancel(q[i]);
    /* The slow ones occupy every credit for 300 ms: all queued ones are
     * still pending, so all cancel. */
    assert_int_equal(cancelled, Q);
    for (int i = 0; i < Q; i++) {
        int64_t v;
        assert_int_equal(mf_future_result_i64(q[i], GUARD, &v),
                         MF_ECANCELLED);
        mf_future_release(q[i]);
    }
    assert_int_equal(atomic_load(&callbacks), Q);
    for (size_t i = 0; i < busy; i++) {
        int64_t v;
        assert_int_equal(mf_future_result_i64(slow[i], GUARD, &v), MF_OK);
        assert_int_equal(v, 300);
        mf_future_release(slow[i]);
    }
}

static void test_mpi_pool_wait_mixed_with_thread_pool(void **state)
{
    (void)state;
    mf_executor *tp;
    assert_int_equal(mf_thread_pool_new(NULL, &tp), MF_OK);
    enum { N = 20 };
    mf_future *fs[2 * N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(
            mf_executor_submitf(pool, "mpi.square", &fs[i], "i", i), MF_OK);
        assert_int_equal(
            mf_executor_call(tp, local_square, &fs[i], &fs[N + i]), MF_OK);
    }
    size_t nd, nn;
    mf_future *done[2 * N], *not_done[2 * N];
    assert_int_equal(mf_wait(fs, 2 * N, GUARD, MF_ALL_COMPLETED, done, &nd,
                             not_done, &nn),
                     MF_OK);
    assert_int_equal(nd, 2 * N);
    assert_int_equal(nn, 0);
    mf_as_completed *it;
    assert_int_equal(mf_as_completed_new(fs, 2 * N, GUARD, &it), MF_OK);
    int seen = 0;
    mf_future *f;
    while (mf_as_completed_next(it, &f) == MF_OK)
        seen++;
    assert_int_equal(seen, 2 * N);
    mf_as_completed_free(it);
    for (int i = 0; i < 2 * N; i++)
        mf_future_release(fs[i]);
    mf_executor_free(tp);
}

static int fill_sleep(size_t i, mf_pack *args, void *udata)
{
    mf_pack_array(args, 1);
    mf_pack_i64(args, 2);
    return MF_OK;
}

static void test_mpi_pool_stats_account_every_task(void **state)
{
    (void)state;
    /* 50 tasks of 2 ms: every one is counted once, with its run time,
     * and a round trip no shorter than the run. */
    enum { N = 50 };
    assert_int_equal(mf_mpi_pool_stats_reset(pool), MF_OK);
    mf_map *m;
    mf_map_opts o = {.chunksize = MF_CHUNK_AUTO, .timeout = GUARD};
    assert_int_equal(
        mf_executor_map(pool, "mpi.sleep_ms", N, fill_sleep, NULL, &o, &m),
        MF_OK);
    int got = 0;
    while (mf_map_next(m, NULL, NULL) == MF_OK)
        got++;
    mf_map_free(m);
    assert_int_equal(got, N);
    mf_pool_stats st;
    assert_int_equal(mf_mpi_pool_stats(pool, &st), MF_OK);
    assert_int_equal(st.tasks, N);
    assert_true(st.messages >= 1 && st.messages <= N);
    assert_true(st.run_s >= N * 0.002 * 0.9);
    assert_true(st.roundtrip_s >= st.run_s);
    assert_true(st.queue_s >= 0 && st.transfer_s >= 0);
    mf_executor *tp;
    assert_int_equal(mf_thread_pool_new(NULL, &tp), MF_OK);
    assert_int_equal(mf_mpi_pool_stats(tp, &st), MF_EINVAL);
    mf_executor_free(tp);
}

static atomic_int from_callback_rc = -1;
static char from_callback_msg[512]; /* written before the rc is stored */

/* A done callback runs on the pool's callback thread: waiting for the
 * pool to shut down from there would wait for itself. */
static void shutdown_from_callback(mf_future *f, void *arg)
{
    (void)f;
    (void)arg;
    int rc = mf_executor_shutdown(pool, true, false);
    snprintf(from_callback_msg, sizeof from_callback_msg, "%s", mf_errmsg());
    atomic_store(&from_callback_rc, rc);
}

static void test_mpi_pool_futures_on_an_event_loop(void **state)
{
    (void)state;
    /* The bridge takes MPI futures as it takes thread-pool ones: their
     * callbacks come from the pool's callback thread. */
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *l;
    assert_int_equal(mf_loop_new(&uv, &l), MF_OK);
    enum { N = 8 };
    mf_lfuture *fs[N], *all;
    for (int i = 0; i < N; i++) {
        mf_pack a;
        mf_pack_init(&a);
        mf_pack_fmt(&a, "[i]", i);
        assert_int_equal(mf_loop_run_task_in_executor(l, pool, "mpi.square",
                                                      a.data, a.len, &fs[i]),
                         MF_OK);
        mf_pack_fini(&a);
    }
    assert_int_equal(mf_loop_gather(l, fs, N, false, &all), MF_OK);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(mf_lfuture_result(all, NULL), MF_OK);
    for (int i = 0; i < N; i++) {
        int64_t v;
        assert_int_equal(mf_lfuture_result_i64(fs[i], &v), MF_OK);
        assert_int_equal(v, i * i);
        mf_lfuture_release(fs[i]);
    }
    mf_lfuture_release(all);
    mf_loop_close(l);
    uv_run(&uv, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&uv), 0);
}

/* Last: a process has one MPI lifetime. */
static void test_mpi_pool_shutdown_cancel_futures(void **state)
{
    (void)state;
    size_t busy = mf_executor_max_workers(pool) * 2;
    enum { MAXB = 64, Q = 10 };
    mf_future *slow[MAXB], *q[Q];
    for (size_t i = 0; i < busy; i++)
        assert_int_equal(
            mf_executor_submitf(pool, "mpi.sleep_ms", &slow[i], "l", 200LL),
            MF_OK);
    assert_int_equal(
        mf_future_add_done_callback(slow[0], shutdown_from_callback, NULL),
        MF_OK);
    for (int i = 0; i < Q; i++)
        assert_int_equal(
            mf_executor_submitf(pool, "mpi.sleep_ms", &q[i], "l", 1LL),
            MF_OK);
    /* Dispatched (RUNNING) tasks run to the end; only queued ones are
     * cancelled. Wait until the slow ones hold every worker's credits. */
    for (size_t i = 0; i < busy; i++)
        wait_running(slow[i]);
    assert_int_equal(mf_executor_shutdown(pool, true, true), MF_OK);
    for (size_t i = 0; i < busy; i++) {
        assert_int_equal(mf_future_state_get(slow[i]), MF_FINISHED);
        mf_future_release(slow[i]);
    }
    for (int i = 0; i < Q; i++) {
        assert_int_equal(mf_future_state_get(q[i]), MF_CANCELLED);
        mf_future_release(q[i]);
    }
    mf_future *f = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(pool, "mpi.square", &f, "l", 1LL),
                     MF_ESHUTDOWN);
    assert_null(f);
    assert_int_equal(mf_executor_shutdown(pool, true, false), MF_OK);
    /* The callback ran (callbacks are fired before shutdown returns) and
     * was refused rather than deadlocked. */
    assert_int_equal(atomic_load(&from_callback_rc), MF_EDEADLK);
    assert_non_null(strstr(from_callback_msg, "from a done callback"));
    assert_non_null(strstr(from_callback_msg, "cannot wait for itself"));
}

int main(int argc, char **argv)
{
    mf_task_register("mpi.square", task_square, NULL);
    mf_task_register("mpi.echo_str", task_echo_str, NULL);
    mf_task_register("mpi.sleep_ms", task_sleep_ms, NULL);
    /* Spawn mode (no mpiexec) gets two workers. */
    mf_mpi_pool_opts o = {.max_workers = 2};
    int rc = mf_mpi_pool_new(&argc, &argv, &o, &pool);
    if (rc != MF_OK) {
        fprintf(stderr, "mf_mpi_pool_new: %s: %s\n", mf_err_name(rc),
                mf_errmsg());
        return 1;
    }
    if (pool == NULL)
        return 0; /* a worker rank: its part is done */

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpi_pool_result_and_types),
        cmocka_unit_test(test_mpi_pool_worker_error_carries_origin),
        cmocka_unit_test(test_mpi_pool_bad_arguments_fail_their_future),
        cmocka_unit_test(test_mpi_pool_map_in_order_at_any_chunksize),
        cmocka_unit_test(test_mpi_pool_cancel_queued_tasks),
        cmocka_unit_test(test_mpi_pool_wait_mixed_with_thread_pool),
        cmocka_unit_test(test_mpi_pool_stats_account_every_task),
        cmocka_unit_test(test_mpi_pool_futures_on_an_event_loop),
        cmocka_unit_test(test_mpi_pool_shutdown_cancel_futures),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    mf_executor_free(pool);
    /* One pool per process lifetime: a second is refused, clearly. */
    mf_executor *again = NULL;
    int rc2 = mf_mpi_pool_new(&argc, &argv, &o, &again);
    if (rc2 != MF_ESTATE || again != NULL ||
        strstr(mf_errmsg(), "one MPI pool per process") == NULL) {
        fprintf(stderr, "second pool: %s (%s)\n", mf_err_name(rc2),
                mf_errmsg());
        return 1;
    }
    return rc;
}
