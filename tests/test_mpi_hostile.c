/*
 * tests/test_mpi_hostile.c -- the MPI pool's limits and misuse, on real
 * worker ranks (mpiexec -n 2): a pool with max_message = 4096.
 *
 * Covered: a max_message above 1 GiB is refused at creation; arguments
 * above the cap fail with MF_ETOOBIG on rank 0 and a result above it on
 * the worker, each naming the size and the cap, while the tasks around
 * them succeed (both edges of the limit included); chunks are split at
 * the cap; a done callback that blocks stalls no result, and futures the
 * user released with callbacks pending still get them, each seeing its
 * result; and (last: one MPI lifetime) submit after shutdown.
 *
 * Callbacks only record; the main thread asserts. Every wait has a
 * timeout: a hang fails the test instead of stalling ctest.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpifutures.h>

#define GUARD 60.0 /* seconds: only stops a hang */
#define CAP 4096

static mf_executor *pool;

/* What mf_mpi_pool_new said to a max_message above 1 GiB (every rank). */
static int big_rc = -1;
static char big_msg[512];
static mf_executor *big_ex = (mf_executor *)1;

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

/* --- tasks (run on the workers) ------------------------------------------ */

/* [bin] -> the same bin. */
static int task_echo(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    const void *d;
    size_t n;
    int rc = mf_args_bin(args, 0, &d, &n);
    return rc != MF_OK ? rc : mf_reply_bin(reply, d, n);
}

/* [n] -> a bin of n bytes 'x'. */
static int task_make(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t n;
    int rc = mf_args_i64(args, 0, &n);
    if (rc != MF_OK)
        return rc;
    char *b = malloc((size_t)n + 1);
    if (b == NULL)
        return mf_reply_error(reply, "MemoryError", "no %lld bytes",
                              (long long)n);
    memset(b, 'x', (size_t)n);
    rc = mf_reply_bin(reply, b, (size_t)n);
    free(b);
    return rc;
}

static int task_square(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t v;
    int rc = mf_args_i64(args, 0, &v);
    return rc != MF_OK ? rc : mf_reply_i64(reply, v * v);
}

static int task_sleep_ms(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t ms;
    int rc = mf_args_i64(args, 0, &ms);
    if (rc != MF_OK)
        return rc;
    sleep_ms((long)ms);
    return mf_reply_i64(reply, ms);
}

/* --- helpers -------------------------------------------------------------- */

static mf_future *submit_echo(size_t n)
{
    char *b = malloc(n + 1);
    assert_non_null(b);
    memset(b, 'a' + (int)(n % 26), n);
    mf_future *f;
    assert_int_equal(
        mf_executor_submitf(pool, "hostile.echo", &f, "y", (const void *)b, n),
        MF_OK);
    free(b);
    return f;
}

static mf_future *submit_make(int64_t n)
{
    mf_future *f;
    assert_int_equal(
        mf_executor_submitf(pool, "hostile.make", &f, "l", (long long)n),
        MF_OK);
    return f;
}

/* f finished with a bin of n bytes. */
static void expect_bin(mf_future *f, size_t n)
{
    mf_value v;
    int rc = mf_future_result(f, GUARD, &v);
    if (rc != MF_OK)
        fail_msg("a task of %zu bytes failed: %s (%s)", n, mf_err_name(rc),
                 mf_errmsg());
    assert_int_equal(v.type, MF_VALUE_BIN);
    assert_int_equal(v.via.bin.len, n);
    mf_future_release(f);
}

static void expect_contains(const char *s, const char *needle)
{
    if (strstr(s, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", s, needle);
}

/* f failed with MF_ETOOBIG ("ValueError") from origin, the message naming
 * `size` and the cap. */
static void expect_too_big(mf_future *f, const char *task,
                           const char *size, bool on_rank0)
{
    const mf_error *e = NULL;
    assert_int_equal(mf_future_exception(f, GUARD, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_future_state_get(f), MF_FAILED);
    assert_int_equal(mf_error_code(e), MF_ETOOBIG);
    assert_string_equal(mf_error_kind(e), "ValueError");
    assert_string_equal(mf_error_task(e), task);
    expect_contains(mf_error_message(e), size);
    expect_contains(mf_error_message(e), "limit of 4096 bytes");
    expect_contains(mf_error_message(e), "max_message");
    if (on_rank0) {
        assert_string_equal(mf_error_origin(e), "rank 0");
    } else {
        expect_contains(mf_error_origin(e), "rank ");
        assert_null(strstr(mf_error_origin(e), "rank 0"));
    }
    /* result() says the same, as MF_ETASK. */
    assert_int_equal(mf_future_result(f, 0, NULL), MF_ETASK);
    mf_future_release(f);
}

/* --- the tests (rank 0) --------------------------------------------------- */

static void test_mpi_hostile_max_message_above_1gib_is_einval(void **state)
{
    (void)state;
    assert_int_equal(big_rc, MF_EINVAL);
    assert_null(big_ex);
    expect_contains(big_msg, "max_message 1073741825");
    expect_contains(big_msg, "1 GiB");
}

static void
test_mpi_hostile_arguments_above_the_cap_fail_on_rank_0(void **state)
{
    (void)state;
    /* [bin k] packs to k + 4 bytes (bin16 header, array header): with 64
     * bytes of envelope, 4028 is the largest that fits 4096. */
    mf_future *before = submit_echo(100);
    mf_future *edge = submit_echo(4028);
    mf_future *over_edge = submit_echo(4029);
    mf_future *big = submit_echo(8192);
    mf_future *after = submit_echo(200);
    expect_too_big(big, "hostile.echo", "arguments of 8196 bytes", true);
    expect_too_big(over_edge, "hostile.echo", "arguments of 4033 bytes",
                   true);
    expect_bin(before, 100);
    expect_bin(edge, 4028);
    expect_bin(after, 200);
}

static void
test_mpi_hostile_result_above_the_cap_fails_on_the_worker(void **state)
{
    (void)state;
    /* A bin of k >= 256 bytes packs to k + 3: 4029 is the largest result
     * that fits 4096 with its 64 bytes of envelope. */
    mf_future *before = submit_make(1000);
    mf_future *edge = submit_make(4029);
    mf_future *over_edge = submit_make(4030);
    mf_future *big = submit_make(8192);
    mf_future *after = submit_make(10);
    expect_too_big(big, "hostile.make", "the result (8195 bytes)", false);
    expect_too_big(over_edge, "hostile.make", "the result (4033 bytes)",
                   false);
    expect_bin(before, 1000);
    expect_bin(edge, 4029);
    expect_bin(after, 10);
}

static int fill_200(size_t i, mf_pack *args, void *udata)
{
    (void)udata;
    char b[200];
    memset(b, (int)('a' + i % 26), sizeof b);
    return mf_pack_fmt(args, "[y]", (const void *)b, sizeof b);
}

static void test_mpi_hostile_chunks_split_at_the_cap(void **state)
{
    (void)state;
    /* 64 items of ~204 bytes asked for as one chunk: ~13 KiB, so at least
     * four messages under a 4096-byte cap (one without it). */
    enum { N = 64 };
    assert_int_equal(mf_mpi_pool_stats_reset(pool), MF_OK);
    mf_map_opts o = {.chunksize = N, .timeout = GUARD};
    mf_map *m;
    assert_int_equal(
        mf_executor_map(pool, "hostile.echo", N, fill_200, NULL, &o, &m),
        MF_OK);
    size_t idx;
    mf_value v;
    int got = 0, rc;
    while ((rc = mf_map_next(m, &idx, &v)) == MF_OK) {
        assert_int_equal(v.type, MF_VALUE_BIN);
        assert_int_equal(v.via.bin.len, 200);
        assert_int_equal(((const char *)v.via.bin.ptr)[0], 'a' + idx % 26);
        got++;
    }
    if (rc != MF_EOF)
        fail_msg("item %zu: %s (%s)", idx, mf_err_name(rc), mf_errmsg());
    mf_map_free(m);
    assert_int_equal(got, N);
    mf_pool_stats st;
    assert_int_equal(mf_mpi_pool_stats(pool, &st), MF_OK);
    assert_int_equal(st.tasks, N);
    if (st.messages < 4)
        fail_msg("%llu messages for %d items of 200 bytes under a 4096-byte "
                 "cap",
                 (unsigned long long)st.messages, N);
}

/* --- a blocking callback, and futures released with callbacks pending ---- */

enum { NCB = 8 };

static pthread_t main_thread;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    atomic_int blocked;        /* the blocking callback has started */
    atomic_int inline_runs;    /* ... or ran at once, in the adder */
    atomic_int fired[2 * NCB]; /* times each recording callback ran */
    int64_t seen[2 * NCB];     /* the result each one saw */
    bool on_main[2 * NCB];     /* ran at once in add_done_callback */
    atomic_int bad;            /* a callback found its future not done */
} CB = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void cb_block(mf_future *f, void *arg)
{
    (void)f;
    (void)arg;
    if (pthread_equal(pthread_self(), main_thread)) {
        /* Already done when added: it runs in the caller, and blocking
         * there would block the test itself. The test tries again. */
        atomic_fetch_add(&CB.inline_runs, 1);
        return;
    }
    atomic_store(&CB.blocked, 1);
    pthread_mutex_lock(&CB.mu);
    while (!CB.open)
        pthread_cond_wait(&CB.cv, &CB.mu);
    pthread_mutex_unlock(&CB.mu);
}

static void cb_record(mf_future *f, void *arg)
{
    int i = (int)(intptr_t)arg;
    int64_t v = -1;
    /* The future is alive and done even if the user let go of it. */
    if (!mf_future_done(f) || mf_future_result_i64(f, 0, &v) != MF_OK)
        atomic_fetch_add(&CB.bad, 1);
    CB.seen[i] = v;
    CB.on_main[i] = pthread_equal(pthread_self(), main_thread);
    atomic_fetch_add(&CB.fired[i], 1);
}

static void open_cb_gate(void)
{
    pthread_mutex_lock(&CB.mu);
    CB.open = true;
    pthread_cond_broadcast(&CB.cv);
    pthread_mutex_unlock(&CB.mu);
}

static int open_cb_gate_teardown(void **state)
{
    (void)state;
    open_cb_gate(); /* a failed test must not leave the runner blocked */
    return 0;
}

static void
test_mpi_hostile_blocking_callback_and_released_futures(void **state)
{
    (void)state;
    mf_future *first = NULL, *kept[NCB], *dropped[NCB];
    /* A callback on a task that takes 100 ms: it fires on the pool's
     * callback thread, and blocks it (if the task was somehow done before
     * the callback was added, the callback ran in this thread: again). */
    for (int tries = 0; tries < 5 && !atomic_load(&CB.blocked); tries++) {
        mf_future_release(first);
        int before = atomic_load(&CB.inline_runs);
        assert_int_equal(mf_executor_submitf(pool, "hostile.sleep_ms", &first,
                                             "l", 100LL),
                         MF_OK);
        assert_int_equal(mf_future_add_done_callback(first, cb_block, NULL),
                         MF_OK);
        assert_int_equal(mf_future_wait(first, GUARD), MF_OK);
        double end = now() + GUARD;
        while (!atomic_load(&CB.blocked) &&
               atomic_load(&CB.inline_runs) == before) {
            if (now() > end)
                fail_msg("the blocking callback never ran");
            sleep_ms(1);
        }
    }
    /* The blocking callback is running on the pool's callback thread
     * before the others are even submitted. */
    double end = now() + GUARD;
    while (!atomic_load(&CB.blocked)) {
        if (now() > end)
            fail_msg("the first callback never started");
        sleep_ms(1);
    }
    for (int i = 0; i < NCB; i++) {
        assert_int_equal(mf_executor_submitf(pool, "hostile.square", &kept[i],
                                             "l", (long long)i),
                         MF_OK);
        assert_int_equal(mf_executor_submitf(pool, "hostile.square",
                                             &dropped[i], "l",
                                             (long long)(NCB + i)),
                         MF_OK);
        assert_int_equal(mf_future_add_done_callback(
                             kept[i], cb_record, (void *)(intptr_t)i),
                         MF_OK);
        assert_int_equal(mf_future_add_done_callback(
                             dropped[i], cb_record,
                             (void *)(intptr_t)(NCB + i)),
                         MF_OK);
        /* Released with its callback pending: the pool keeps it alive. */
        mf_future_release(dropped[i]);
    }
    /* Results are not held up by the blocked callback. */
    for (int i = 0; i < NCB; i++) {
        int64_t v;
        assert_int_equal(mf_future_result_i64(kept[i], GUARD, &v), MF_OK);
        assert_int_equal(v, (int64_t)i * i);
    }
    /* ... but callbacks run one at a time, on that thread: none of them
     * yet, unless its future was done before it was added (then it ran at
     * once, in this thread). */
    for (int i = 0; i < 2 * NCB; i++)
        if (atomic_load(&CB.fired[i]) != 0 && !CB.on_main[i])
            fail_msg("callback %d ran while the callback thread was blocked",
                     i);
    open_cb_gate();
    end = now() + GUARD;
    for (int i = 0; i < 2 * NCB; i++) {
        while (atomic_load(&CB.fired[i]) == 0) {
            if (now() > end)
                fail_msg("callback %d never ran", i);
            sleep_ms(1);
        }
    }
    for (int i = 0; i < 2 * NCB; i++) {
        assert_int_equal(atomic_load(&CB.fired[i]), 1);
        assert_int_equal(CB.seen[i], (int64_t)i * i);
    }
    assert_int_equal(atomic_load(&CB.bad), 0);
    for (int i = 0; i < NCB; i++)
        mf_future_release(kept[i]);
    mf_future_release(first);
}

/* Last: a process has one MPI lifetime. */
static void test_mpi_hostile_submit_after_shutdown_says_so(void **state)
{
    (void)state;
    assert_int_equal(mf_executor_shutdown(pool, true, false), MF_OK);
    mf_future *f = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(pool, "hostile.square", &f, "l", 2LL),
                     MF_ESHUTDOWN);
    assert_null(f);
    expect_contains(mf_errmsg(), "submit after shutdown");
    expect_contains(mf_errmsg(), "MPI pool");
    int64_t items[2] = {1, 2};
    mf_map *m = (mf_map *)1;
    assert_int_equal(
        mf_executor_map_i64(pool, "hostile.square", items, 2, NULL, &m),
        MF_ESHUTDOWN);
    assert_null(m);
    /* An unknown task after shutdown is still "shut down". */
    f = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(pool, "hostile.nope", &f, ""),
                     MF_ESHUTDOWN);
    assert_null(f);
}

int main(int argc, char **argv)
{
    mf_task_register("hostile.echo", task_echo, NULL);
    mf_task_register("hostile.make", task_make, NULL);
    mf_task_register("hostile.square", task_square, NULL);
    mf_task_register("hostile.sleep_ms", task_sleep_ms, NULL);
    main_thread = pthread_self();
    /* Refused on every rank before MPI is touched, so the real pool below
     * can still start. */
    mf_mpi_pool_opts big = {.max_message = ((size_t)1 << 30) + 1};
    big_rc = mf_mpi_pool_new(&argc, &argv, &big, &big_ex);
    snprintf(big_msg, sizeof big_msg, "%s", mf_errmsg());

    mf_mpi_pool_opts o = {.max_workers = 2, .max_message = CAP};
    int rc = mf_mpi_pool_new(&argc, &argv, &o, &pool);
    if (rc != MF_OK) {
        fprintf(stderr, "mf_mpi_pool_new: %s: %s\n", mf_err_name(rc),
                mf_errmsg());
        return 1;
    }
    if (pool == NULL) /* a worker rank: its part is done */
        return big_rc == MF_EINVAL ? 0 : 1;

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpi_hostile_max_message_above_1gib_is_einval),
        cmocka_unit_test(
            test_mpi_hostile_arguments_above_the_cap_fail_on_rank_0),
        cmocka_unit_test(
            test_mpi_hostile_result_above_the_cap_fails_on_the_worker),
        cmocka_unit_test(test_mpi_hostile_chunks_split_at_the_cap),
        cmocka_unit_test_teardown(
            test_mpi_hostile_blocking_callback_and_released_futures,
            open_cb_gate_teardown),
        cmocka_unit_test(test_mpi_hostile_submit_after_shutdown_says_so),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    mf_executor_free(pool);
    return rc;
}
