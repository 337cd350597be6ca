/*
 * tests/test_coro.c -- coroutines on a real libuv loop: awaiting executor
 * results, coroutines awaiting coroutines, an already-done future, failure,
 * cancellation while suspended, and a thousand coroutines at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <uv.h>

#include <mpifutures.h>

static void *twice(void *arg)
{
    return (void *)((intptr_t)arg * 2);
}

/* Coroutines record; the test's own thread asserts (a failed assertion
 * must not longjmp across stacks). */
struct env {
    mf_executor *ex;
    intptr_t value;
    int steps;
    int bad; /* unexpected return codes inside coroutines */
};

/* Awaits one executor call and returns its result. */
static void *call_twice(mf_coro *co, void *arg)
{
    struct env *e = arg;
    mf_lfuture *f;
    if (mf_loop_run_in_executor(mf_coro_loop(co), e->ex, twice,
                                (void *)e->value, &f) != MF_OK)
        return NULL;
    e->steps++;
    e->bad += mf_coro_await(co, f) != MF_OK;
    e->steps++;
    mf_value v;
    int rc = mf_lfuture_result(f, &v);
    mf_lfuture_release(f);
    return rc == MF_OK ? v.via.ptr : NULL;
}

/* Awaits another coroutine, then an already-done future. */
static void *outer(mf_coro *co, void *arg)
{
    struct env *e = arg;
    mf_lfuture *inner;
    if (mf_coro_spawn(mf_coro_loop(co), call_twice, arg, 0, &inner) != MF_OK)
        return NULL;
    e->bad += mf_coro_await(co, inner) != MF_OK;
    mf_value v = {0};
    e->bad += mf_lfuture_result(inner, &v) != MF_OK;
    e->bad += mf_coro_await(co, inner) != MF_OK; /* done: at once */
    mf_lfuture_release(inner);
    return (void *)((intptr_t)v.via.ptr + 1);
}

static void *failing(mf_coro *co, void *arg)
{
    mf_coro_fail(co, MF_ETASK, "ValueError", "bad input");
    return NULL;
}

struct waiter {
    mf_lfuture *never;
    int rc;
};

static void *wait_forever(mf_coro *co, void *arg)
{
    struct waiter *w = arg;
    w->rc = mf_coro_await(co, w->never);
    return NULL;
}

struct fixture {
    uv_loop_t uv;
    mf_loop *l;
    mf_executor *ex;
};

static int fx_setup(void **state)
{
    static struct fixture fx;
    uv_loop_init(&fx.uv);
    if (mf_loop_new(&fx.uv, &fx.l) != MF_OK ||
        mf_thread_pool_new(NULL, &fx.ex) != MF_OK)
        return -1;
    *state = &fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fixture *fx = *state;
    mf_loop_close(fx->l);
    uv_run(&fx->uv, UV_RUN_DEFAULT);
    uv_loop_close(&fx->uv);
    mf_executor_free(fx->ex);
    return 0;
}

static void test_coro_awaits_executor_and_coroutines(void **state)
{
    struct fixture *fx = *state;
    struct env e = {fx->ex, 21, 0, 0};
    mf_lfuture *f;
    assert_int_equal(mf_coro_spawn(fx->l, outer, &e, 0, &f), MF_OK);
    assert_false(mf_lfuture_done(f)); /* starts from the loop, not here */
    assert_int_equal(e.steps, 0);
    uv_run(&fx->uv, UV_RUN_DEFAULT);
    mf_value v;
    assert_int_equal(mf_lfuture_result(f, &v), MF_OK);
    assert_int_equal((intptr_t)v.via.ptr, 43);
    assert_int_equal(e.steps, 2);
    assert_int_equal(e.bad, 0);
    mf_lfuture_release(f);
}

static void test_coro_failure_fails_its_future(void **state)
{
    struct fixture *fx = *state;
    mf_lfuture *f;
    assert_int_equal(mf_coro_spawn(fx->l, failing, NULL, 0, &f), MF_OK);
    uv_run(&fx->uv, UV_RUN_DEFAULT);
    const mf_error *e;
    assert_int_equal(mf_lfuture_result(f, NULL), MF_ETASK);
    assert_int_equal(mf_lfuture_exception(f, &e), MF_OK);
    assert_string_equal(mf_error_kind(e), "ValueError");
    assert_string_equal(mf_error_message(e), "bad input");
    mf_lfuture_release(f);
}

static void test_coro_cancel_while_suspended(void **state)
{
    struct fixture *fx = *state;
    struct waiter w = {mf_lfuture_new(fx->l), -1};
    mf_lfuture *f;
    assert_int_equal(mf_coro_spawn(fx->l, wait_forever, &w, 0, &f), MF_OK);
    uv_run(&fx->uv, UV_RUN_NOWAIT); /* it starts and suspends */
    assert_int_equal(w.rc, -1);
    /* As asyncio's Task.cancel: the awaited future is cancelled too, and
     * the coroutine resumes at once with MF_ECANCELLED -- nothing else
     * ever completes what it waited for. */
    assert_true(mf_lfuture_cancel(f));
    uv_run(&fx->uv, UV_RUN_DEFAULT);
    assert_int_equal(w.rc, MF_ECANCELLED);
    assert_true(mf_lfuture_cancelled(w.never));
    assert_true(mf_lfuture_cancelled(f));
    mf_lfuture_release(f);
    mf_lfuture_release(w.never);
}

static int task_boom(const mf_args *args, mf_reply *reply, void *udata)
{
    return mf_reply_error(reply, "IOError", "disk on fire");
}

struct err_env {
    mf_executor *ex;
    int await_rc, result_rc;
    char kind[32], msg[64];
};

/* The task's error reaches the coroutine through await, as an exception
 * through `await` in asyncio. */
static void *await_failure(mf_coro *co, void *arg)
{
    struct err_env *e = arg;
    mf_lfuture *f;
    if (mf_loop_run_task_in_executor(mf_coro_loop(co), e->ex, "coro.boom",
                                     NULL, 0, &f) != MF_OK)
        return NULL;
    e->await_rc = mf_coro_await(co, f);
    e->result_rc = mf_lfuture_result(f, NULL);
    const mf_error *err;
    if (mf_lfuture_exception(f, &err) == MF_OK && err != NULL) {
        snprintf(e->kind, sizeof e->kind, "%s", mf_error_kind(err));
        snprintf(e->msg, sizeof e->msg, "%s", mf_error_message(err));
    }
    mf_lfuture_release(f);
    return NULL;
}

static void test_coro_error_through_await(void **state)
{
    struct fixture *fx = *state;
    static int registered;
    if (!registered++)
        mf_task_register("coro.boom", task_boom, NULL);
    struct err_env e = {fx->ex, -1, -1, "", ""};
    mf_lfuture *f;
    assert_int_equal(mf_coro_spawn(fx->l, await_failure, &e, 0, &f), MF_OK);
    uv_run(&fx->uv, UV_RUN_DEFAULT);
    assert_int_equal(e.await_rc, MF_OK);
    assert_int_equal(e.result_rc, MF_ETASK);
    assert_string_equal(e.kind, "IOError");
    assert_string_equal(e.msg, "disk on fire");
    mf_lfuture_release(f);
}

static void test_coro_await_outside_is_estate(void **state)
{
    struct fixture *fx = *state;
    mf_lfuture *f = mf_lfuture_new(fx->l);
    assert_int_equal(mf_coro_await(NULL, f), MF_ESTATE);
    mf_lfuture_release(f);
}

static void test_coro_a_thousand_at_once(void **state)
{
    struct fixture *fx = *state;
    enum { N = 1000 };
    static struct env e[N];
    static mf_lfuture *fs[N];
    for (int i = 0; i < N; i++) {
        e[i] = (struct env){fx->ex, i, 0, 0};
        assert_int_equal(mf_coro_spawn(fx->l, call_twice, &e[i], 64 * 1024,
                                       &fs[i]),
                         MF_OK);
    }
    mf_lfuture *all;
    assert_int_equal(mf_loop_gather(fx->l, fs, N, false, &all), MF_OK);
    uv_run(&fx->uv, UV_RUN_DEFAULT);
    assert_int_equal(mf_lfuture_result(all, NULL), MF_OK);
    for (int i = 0; i < N; i++) {
        mf_value v;
        assert_int_equal(mf_lfuture_result(fs[i], &v), MF_OK);
        assert_int_equal((intptr_t)v.via.ptr, 2 * i);
        assert_int_equal(e[i].bad, 0);
        mf_lfuture_release(fs[i]);
    }
    mf_lfuture_release(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coro_awaits_executor_and_coroutines),
        cmocka_unit_test(test_coro_failure_fails_its_future),
        cmocka_unit_test(test_coro_cancel_while_suspended),
        cmocka_unit_test(test_coro_error_through_await),
        cmocka_unit_test(test_coro_await_outside_is_estate),
        cmocka_unit_test(test_coro_a_thousand_at_once),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
