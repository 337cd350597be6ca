/*
 * tests/test_future.c -- the future on its own: states, result/exception
 * with timeouts, cancel, done callbacks, completion by set_*, error fields
 * and reference counting. Futures here come from mf_future_new, completed by
 * the test itself (and, where waking is the point, by other threads).
 *
 * Threads only record; the main thread asserts after joining them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mpifutures.h>

/* Long enough that only a broken wake-up reaches it; never a speed check. */
#define HANG_GUARD 20.0

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* MessagePack for 42, and for the string "hello". */
static const unsigned char MP_42[] = {0x2a};
static const unsigned char MP_HELLO[] = {0xa5, 'h', 'e', 'l', 'l', 'o'};

/* --- states --------------------------------------------------------------- */

static void test_future_new_is_pending(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_non_null(f);
    assert_int_equal(mf_future_state_get(f), MF_PENDING);
    assert_false(mf_future_done(f));
    assert_false(mf_future_running(f));
    assert_false(mf_future_cancelled(f));
    mf_future_release(f);
}

static void test_future_state_names(void **state)
{
    (void)state;
    assert_string_equal(mf_future_state_name(MF_PENDING), "PENDING");
    assert_string_equal(mf_future_state_name(MF_RUNNING), "RUNNING");
    assert_string_equal(mf_future_state_name(MF_FINISHED), "FINISHED");
    assert_string_equal(mf_future_state_name(MF_FAILED), "FAILED");
    assert_string_equal(mf_future_state_name(MF_CANCELLED), "CANCELLED");
}

static void test_future_set_running_then_value(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_true(mf_future_set_running(f));
    assert_int_equal(mf_future_state_get(f), MF_RUNNING);
    assert_true(mf_future_running(f));
    assert_false(mf_future_done(f));
    /* RUNNING -> RUNNING is refused. */
    assert_false(mf_future_set_running(f));
    assert_int_equal(mf_future_state_get(f), MF_RUNNING);

    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    assert_int_equal(mf_future_state_get(f), MF_FINISHED);
    assert_true(mf_future_done(f));
    assert_false(mf_future_running(f));
    assert_false(mf_future_cancelled(f));
    /* A done future cannot start running. */
    assert_false(mf_future_set_running(f));
    assert_int_equal(mf_future_state_get(f), MF_FINISHED);
    mf_future_release(f);
}

static void test_future_set_value_without_running(void **state)
{
    (void)state;
    /* A user-completed future may go straight from PENDING to done. */
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_value(f, MP_HELLO, sizeof MP_HELLO), MF_OK);
    assert_int_equal(mf_future_state_get(f), MF_FINISHED);
    const char *s = NULL;
    size_t len = 0;
    assert_int_equal(mf_future_result_str(f, 0, &s, &len), MF_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "hello", 5);
    mf_future_release(f);
}

/* --- result and exception ------------------------------------------------- */

static void test_future_result_conversions(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);

    mf_value v;
    assert_int_equal(mf_future_result(f, 0, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_UINT);
    assert_int_equal(v.via.u, 42);
    assert_int_equal(mf_future_result(f, 0, NULL), MF_OK);

    int64_t i = 0;
    assert_int_equal(mf_future_result_i64(f, 0, &i), MF_OK);
    assert_int_equal(i, 42);
    double d = 0;
    assert_int_equal(mf_future_result_f64(f, 0, &d), MF_OK);
    assert_true(d == 42.0);
    const char *s;
    assert_int_equal(mf_future_result_str(f, 0, &s, NULL), MF_ETYPE);
    void *p;
    assert_int_equal(mf_future_result_ptr(f, 0, &p), MF_ETYPE);

    /* Success has no exception. */
    const mf_error *e = (const mf_error *)1;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_null(e);
    mf_future_release(f);
}

static void test_future_result_large_value(void **state)
{
    (void)state;
    /* Results past the inline slot are kept on the heap: same view. */
    char body[300];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    mf_pack p;
    mf_pack_init(&p);
    mf_pack_str(&p, body, sizeof body);
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_value(f, p.data, p.len), MF_OK);
    mf_pack_fini(&p); /* the future copied the bytes */
    const char *s;
    size_t len;
    assert_int_equal(mf_future_result_str(f, 0, &s, &len), MF_OK);
    assert_int_equal(len, sizeof body);
    assert_memory_equal(s, body, sizeof body);
    mf_future_release(f);
}

static void test_future_result_pointer(void **state)
{
    (void)state;
    int x;
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_pointer(f, &x), MF_OK);
    void *p = NULL;
    assert_int_equal(mf_future_result_ptr(f, 0, &p), MF_OK);
    assert_ptr_equal(p, &x);
    mf_value v;
    assert_int_equal(mf_future_result(f, 0, &v), MF_OK);
    assert_int_equal(v.type, MF_VALUE_PTR);
    assert_ptr_equal(v.via.ptr, &x);
    int64_t i;
    assert_int_equal(mf_future_result_i64(f, 0, &i), MF_ETYPE);
    mf_future_release(f);
}

static void test_future_result_timeout_leaves_future_untouched(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    mf_value v;
    /* Polling (0) and a short wait both time out without a state change. */
    assert_int_equal(mf_future_result(f, 0, &v), MF_ETIMEDOUT);
    assert_int_equal(mf_future_state_get(f), MF_PENDING);
    assert_int_equal(mf_future_result(f, 0.05, &v), MF_ETIMEDOUT);
    assert_int_equal(mf_future_state_get(f), MF_PENDING);
    const mf_error *e;
    assert_int_equal(mf_future_exception(f, 0.05, &e), MF_ETIMEDOUT);
    assert_int_equal(mf_future_wait(f, 0.05), MF_ETIMEDOUT);
    assert_int_equal(mf_future_state_get(f), MF_PENDING);

    /* Still fully usable: it can run, finish and be read. */
    assert_true(mf_future_set_running(f));
    assert_int_equal(mf_future_result(f, 0.05, &v), MF_ETIMEDOUT);
    assert_int_equal(mf_future_state_get(f), MF_RUNNING);
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    int64_t i;
    assert_int_equal(mf_future_result_i64(f, 0, &i), MF_OK);
    assert_int_equal(i, 42);
    assert_int_equal(mf_future_wait(f, 0), MF_OK);
    mf_future_release(f);
}

static void test_future_timeout_then_cancel_still_works(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_wait(f, 0.02), MF_ETIMEDOUT);
    assert_true(mf_future_cancel(f));
    assert_int_equal(mf_future_result(f, 0, NULL), MF_ECANCELLED);
    mf_future_release(f);
}

static void test_future_failed_result_and_exception(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_error(f, MF_ETASK, "ValueError", "parse",
                                         "thread t-1 on h", "bad input %d", 7),
                     MF_OK);
    assert_int_equal(mf_future_state_get(f), MF_FAILED);
    assert_true(mf_future_done(f));
    assert_false(mf_future_cancelled(f));

    mf_value v;
    assert_int_equal(mf_future_result(f, 0, &v), MF_ETASK);
    assert_non_null(strstr(mf_errmsg(), "parse"));
    assert_non_null(strstr(mf_errmsg(), "ValueError"));
    assert_non_null(strstr(mf_errmsg(), "bad input 7"));
    int64_t i;
    assert_int_equal(mf_future_result_i64(f, 0, &i), MF_ETASK);

    const mf_error *e = NULL;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ETASK);
    assert_string_equal(mf_error_kind(e), "ValueError");
    assert_string_equal(mf_error_message(e), "bad input 7");
    assert_string_equal(mf_error_task(e), "parse");
    assert_string_equal(mf_error_origin(e), "thread t-1 on h");
    mf_future_release(f);
}

static void test_future_error_defaults(void **state)
{
    (void)state;
    /* No kind: the code's name; no task or origin: empty strings. */
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_error(f, MF_ENOTASK, NULL, NULL, NULL, "%s",
                                         "nothing here"),
                     MF_OK);
    const mf_error *e = NULL;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ENOTASK);
    assert_string_equal(mf_error_kind(e), "ENOTASK");
    assert_string_equal(mf_error_message(e), "nothing here");
    assert_string_equal(mf_error_task(e), "");
    assert_string_equal(mf_error_origin(e), "");
    mf_future_release(f);
}

static void test_future_set_error_rejects_ok_code(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_error(f, MF_OK, "X", NULL, NULL, "x"),
                     MF_EINVAL);
    assert_int_equal(mf_future_state_get(f), MF_PENDING);
    mf_future_release(f);
}

static void test_future_set_value_rejects_bad_bytes(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    /* Truncated array, two values, and nothing at all. */
    static const unsigned char trunc[] = {0x92, 0x01};
    static const unsigned char two[] = {0x01, 0x02};
    assert_int_equal(mf_future_set_value(f, trunc, sizeof trunc), MF_EDECODE);
    assert_int_equal(mf_future_set_value(f, two, sizeof two), MF_EDECODE);
    assert_int_equal(mf_future_set_value(f, two, 0), MF_EDECODE);
    assert_int_equal(mf_future_state_get(f), MF_PENDING);
    assert_int_equal(mf_future_set_value(f, two, 1), MF_OK);
    int64_t i;
    assert_int_equal(mf_future_result_i64(f, 0, &i), MF_OK);
    assert_int_equal(i, 1);
    mf_future_release(f);
}

static void test_future_set_twice_is_estate(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    assert_int_equal(mf_future_set_value(f, MP_HELLO, sizeof MP_HELLO),
                     MF_ESTATE);
    assert_int_equal(mf_future_set_error(f, MF_ETASK, "E", NULL, NULL, "x"),
                     MF_ESTATE);
    assert_int_equal(mf_future_set_pointer(f, f), MF_ESTATE);
    /* The first outcome stands. */
    assert_int_equal(mf_future_state_get(f), MF_FINISHED);
    int64_t i;
    assert_int_equal(mf_future_result_i64(f, 0, &i), MF_OK);
    assert_int_equal(i, 42);
    mf_future_release(f);

    f = mf_future_new();
    assert_int_equal(mf_future_set_error(f, MF_ETASK, "E1", NULL, NULL, "1"),
                     MF_OK);
    assert_int_equal(mf_future_set_error(f, MF_ETASK, "E2", NULL, NULL, "2"),
                     MF_ESTATE);
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_ESTATE);
    const mf_error *e;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_string_equal(mf_error_kind(e), "E1");
    mf_future_release(f);
}

/* --- cancel --------------------------------------------------------------- */

static void test_future_cancel_pending(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_true(mf_future_cancel(f));
    assert_int_equal(mf_future_state_get(f), MF_CANCELLED);
    assert_true(mf_future_cancelled(f));
    assert_true(mf_future_done(f));
    /* Already cancelled: true again. */
    assert_true(mf_future_cancel(f));
    assert_int_equal(mf_future_result(f, 0, NULL), MF_ECANCELLED);
    assert_int_equal(mf_future_result(f, 1.0, NULL), MF_ECANCELLED);
    const mf_error *e;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_ECANCELLED);
    assert_int_equal(mf_future_wait(f, 0), MF_OK);
    /* The worker that would run it learns it must drop the work. */
    assert_false(mf_future_set_running(f));
    /* Nothing can complete it any more. */
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_ESTATE);
    assert_int_equal(mf_future_set_error(f, MF_ETASK, "E", NULL, NULL, "x"),
                     MF_ESTATE);
    assert_int_equal(mf_future_state_get(f), MF_CANCELLED);
    mf_future_release(f);
}

static void test_future_cancel_running_or_done_is_false(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_true(mf_future_set_running(f));
    assert_false(mf_future_cancel(f));
    assert_int_equal(mf_future_state_get(f), MF_RUNNING);
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    assert_false(mf_future_cancel(f));
    assert_int_equal(mf_future_state_get(f), MF_FINISHED);
    mf_future_release(f);

    f = mf_future_new();
    assert_int_equal(mf_future_set_error(f, MF_ETASK, "E", NULL, NULL, "x"),
                     MF_OK);
    assert_false(mf_future_cancel(f));
    assert_int_equal(mf_future_state_get(f), MF_FAILED);
    mf_future_release(f);
}

struct waiter_arg {
    mf_future *f;
    atomic_int *started;
    int rc;
    int exc_rc;
};

static void *result_waiter(void *arg)
{
    struct waiter_arg *w = arg;
    atomic_fetch_add(w->started, 1);
    w->rc = mf_future_result(w->f, HANG_GUARD, NULL);
    const mf_error *e;
    w->exc_rc = mf_future_exception(w->f, 0, &e);
    return NULL;
}

static void test_future_cancel_wakes_every_waiter(void **state)
{
    (void)state;
    enum { N = 6 };
    mf_future *f = mf_future_new();
    atomic_int started = 0;
    struct waiter_arg w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct waiter_arg){f, &started, -1, -1};
        assert_int_equal(pthread_create(&th[i], NULL, result_waiter, &w[i]), 0);
    }
    while (atomic_load(&started) < N)
        sleep_ms(1);
    sleep_ms(50); /* let them block; correctness does not depend on it */
    assert_true(mf_future_cancel(f));
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(w[i].rc, MF_ECANCELLED);
        assert_int_equal(w[i].exc_rc, MF_ECANCELLED);
    }
    mf_future_release(f);
}

static void *value_waiter(void *arg)
{
    struct waiter_arg *w = arg;
    atomic_fetch_add(w->started, 1);
    int64_t v = 0;
    w->rc = mf_future_result_i64(w->f, HANG_GUARD, &v);
    w->exc_rc = (int)v;
    return NULL;
}

static void test_future_completion_wakes_every_waiter(void **state)
{
    (void)state;
    enum { N = 6 };
    mf_future *f = mf_future_new();
    atomic_int started = 0;
    struct waiter_arg w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct waiter_arg){f, &started, -1, -1};
        assert_int_equal(pthread_create(&th[i], NULL, value_waiter, &w[i]), 0);
    }
    while (atomic_load(&started) < N)
        sleep_ms(1);
    sleep_ms(50);
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(w[i].rc, MF_OK);
        assert_int_equal(w[i].exc_rc, 42);
    }
    mf_future_release(f);
}

/* --- done callbacks ------------------------------------------------------- */

struct cb_log {
    atomic_int calls;
    int order[16];
    atomic_int norder;
    mf_future *seen;
    mf_future_state state_seen;
    pthread_t thread;
};

struct cb_arg {
    struct cb_log *log;
    int id;
};

static void log_cb(mf_future *f, void *arg)
{
    struct cb_arg *a = arg;
    struct cb_log *l = a->log;
    int k = atomic_fetch_add(&l->norder, 1);
    if (k < 16)
        l->order[k] = a->id;
    l->seen = f;
    l->state_seen = mf_future_state_get(f);
    l->thread = pthread_self();
    atomic_fetch_add(&l->calls, 1);
}

static void test_future_callback_fires_once_on_completion(void **state)
{
    (void)state;
    struct cb_log log = {0};
    struct cb_arg a = {&log, 1};
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_add_done_callback(f, log_cb, &a), MF_OK);
    assert_int_equal(atomic_load(&log.calls), 0);
    assert_true(mf_future_set_running(f));
    assert_int_equal(atomic_load(&log.calls), 0);
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    assert_int_equal(atomic_load(&log.calls), 1);
    assert_ptr_equal(log.seen, f);
    assert_int_equal(log.state_seen, MF_FINISHED);
    /* Failed completions and cancels later fire nothing more. */
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_ESTATE);
    assert_false(mf_future_cancel(f));
    assert_int_equal(atomic_load(&log.calls), 1);
    mf_future_release(f);
}

static void test_future_callback_runs_at_once_when_done(void **state)
{
    (void)state;
    struct cb_log log = {0};
    struct cb_arg a = {&log, 1};
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_set_error(f, MF_ETASK, "E", NULL, NULL, "x"),
                     MF_OK);
    assert_int_equal(mf_future_add_done_callback(f, log_cb, &a), MF_OK);
    /* Ran before add returned, on this thread. */
    assert_int_equal(atomic_load(&log.calls), 1);
    assert_true(pthread_equal(log.thread, pthread_self()));
    assert_int_equal(log.state_seen, MF_FAILED);
    mf_future_release(f);
}

static void test_future_callback_fires_on_cancel(void **state)
{
    (void)state;
    struct cb_log log = {0};
    struct cb_arg a = {&log, 1};
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_add_done_callback(f, log_cb, &a), MF_OK);
    assert_true(mf_future_cancel(f));
    assert_int_equal(atomic_load(&log.calls), 1);
    assert_int_equal(log.state_seen, MF_CANCELLED);
    assert_true(mf_future_cancel(f)); /* cancelled again: no second call */
    assert_int_equal(atomic_load(&log.calls), 1);
    /* Added to an already cancelled future: runs at once, here. */
    struct cb_log late = {0};
    struct cb_arg b = {&late, 2};
    assert_int_equal(mf_future_add_done_callback(f, log_cb, &b), MF_OK);
    assert_int_equal(atomic_load(&late.calls), 1);
    assert_int_equal(late.state_seen, MF_CANCELLED);
    assert_true(pthread_equal(late.thread, pthread_self()));
    assert_int_equal(atomic_load(&log.calls), 1);
    mf_future_release(f);
}

static void test_future_callbacks_fire_in_order_added(void **state)
{
    (void)state;
    enum { N = 7 };
    struct cb_log log = {0};
    struct cb_arg a[N];
    mf_future *f = mf_future_new();
    for (int i = 0; i < N; i++) {
        a[i] = (struct cb_arg){&log, i};
        assert_int_equal(mf_future_add_done_callback(f, log_cb, &a[i]), MF_OK);
    }
    assert_int_equal(atomic_load(&log.calls), 0);
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    assert_int_equal(atomic_load(&log.calls), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(log.order[i], i);
    /* One added after completion runs at once, last. */
    struct cb_arg late = {&log, 99};
    assert_int_equal(mf_future_add_done_callback(f, log_cb, &late), MF_OK);
    assert_int_equal(atomic_load(&log.calls), N + 1);
    assert_int_equal(log.order[N], 99);
    mf_future_release(f);
}

struct completer_arg {
    mf_future *f;
    pthread_t self;
    int rc;
};

static void *complete_from_thread(void *arg)
{
    struct completer_arg *c = arg;
    c->self = pthread_self();
    c->rc = mf_future_set_value(c->f, MP_42, sizeof MP_42);
    return NULL;
}

static void test_future_callback_runs_on_completing_thread(void **state)
{
    (void)state;
    struct cb_log log = {0};
    struct cb_arg a = {&log, 1};
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_add_done_callback(f, log_cb, &a), MF_OK);
    struct completer_arg c = {f, pthread_self(), -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, complete_from_thread, &c), 0);
    pthread_join(th, NULL);
    assert_int_equal(c.rc, MF_OK);
    assert_int_equal(atomic_load(&log.calls), 1);
    assert_true(pthread_equal(log.thread, c.self));
    mf_future_release(f);
}

static void test_future_add_done_callback_rejects_null(void **state)
{
    (void)state;
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_add_done_callback(f, NULL, NULL), MF_EINVAL);
    assert_int_equal(mf_future_add_done_callback(NULL, log_cb, NULL),
                     MF_EINVAL);
    mf_future_release(f);
}

/* --- references ----------------------------------------------------------- */

static void test_future_release_null_is_noop(void **state)
{
    (void)state;
    /* Leave a known explanation, then check the no-op neither crashes nor
     * touches it. */
    mf_future *f = mf_future_new();
    assert_int_equal(mf_future_wait(f, 0), MF_ETIMEDOUT);
    char before[512];
    snprintf(before, sizeof before, "%s", mf_errmsg());
    assert_true(before[0] != '\0');
    mf_future_release(NULL);
    assert_string_equal(mf_errmsg(), before);
    mf_future_release(f);
}

static void test_future_retain_keeps_future_alive(void **state)
{
    (void)state;
    /* Under ASan a premature free is a use-after-free report. */
    mf_future *f = mf_future_new();
    assert_ptr_equal(mf_future_retain(f), f);
    assert_ptr_equal(mf_future_retain(f), f);
    mf_future_release(f);
    mf_future_release(f);
    /* One reference left: still a valid, usable future. */
    assert_int_equal(mf_future_state_get(f), MF_PENDING);
    assert_int_equal(mf_future_set_value(f, MP_HELLO, sizeof MP_HELLO), MF_OK);
    const char *s;
    size_t len;
    assert_int_equal(mf_future_result_str(f, 0, &s, &len), MF_OK);
    assert_memory_equal(s, "hello", 5);
    mf_future_release(f);
}

struct reader_arg {
    mf_future *f;
    int rc;
    int64_t v;
};

static void *read_then_release(void *arg)
{
    struct reader_arg *r = arg;
    r->rc = mf_future_result_i64(r->f, HANG_GUARD, &r->v);
    mf_future_release(r->f);
    return NULL;
}

static void test_future_reference_per_thread(void **state)
{
    (void)state;
    /* Each thread that can find the future holds its own reference; the
     * creator drops its reference before completion reaches the readers. */
    enum { N = 4 };
    mf_future *f = mf_future_new();
    struct reader_arg r[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        r[i] = (struct reader_arg){mf_future_retain(f), -1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_then_release, &r[i]),
                         0);
    }
    assert_int_equal(mf_future_set_value(f, MP_42, sizeof MP_42), MF_OK);
    mf_future_release(f);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].rc, MF_OK);
        assert_int_equal(r[i].v, 42);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_future_new_is_pending),
        cmocka_unit_test(test_future_state_names),
        cmocka_unit_test(test_future_set_running_then_value),
        cmocka_unit_test(test_future_set_value_without_running),
        cmocka_unit_test(test_future_result_conversions),
        cmocka_unit_test(test_future_result_large_value),
        cmocka_unit_test(test_future_result_pointer),
        cmocka_unit_test(test_future_result_timeout_leaves_future_untouched),
        cmocka_unit_test(test_future_timeout_then_cancel_still_works),
        cmocka_unit_test(test_future_failed_result_and_exception),
        cmocka_unit_test(test_future_error_defaults),
        cmocka_unit_test(test_future_set_error_rejects_ok_code),
        cmocka_unit_test(test_future_set_value_rejects_bad_bytes),
        cmocka_unit_test(test_future_set_twice_is_estate),
        cmocka_unit_test(test_future_cancel_pending),
        cmocka_unit_test(test_future_cancel_running_or_done_is_false),
        cmocka_unit_test(test_future_cancel_wakes_every_waiter),
        cmocka_unit_test(test_future_completion_wakes_every_waiter),
        cmocka_unit_test(test_future_callback_fires_once_on_completion),
        cmocka_unit_test(test_future_callback_runs_at_once_when_done),
        cmocka_unit_test(test_future_callback_fires_on_cancel),
        cmocka_unit_test(test_future_callbacks_fire_in_order_added),
        cmocka_unit_test(test_future_callback_runs_on_completing_thread),
        cmocka_unit_test(test_future_add_done_callback_rejects_null),
        cmocka_unit_test(test_future_release_null_is_noop),
        cmocka_unit_test(test_future_retain_keeps_future_alive),
        cmocka_unit_test(test_future_reference_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
