/*
 * examples/legacy_async.c -- the lecture's Example 23.3 in C: blocking
 * legacy code called from coroutines on a libuv loop through a thread
 * pool, so that four 0.2 s calls take about 0.2 s together, not 0.8 s.
 *
 * The coroutines read top to bottom, like the Python: asyncWrapper awaits
 * run_in_executor; main gathers four of them and awaits the gather. The
 * loop thread never blocks.
 *
 *   build/examples/legacy_async
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <uv.h>

#include <mpifutures.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* legacyBlockingCompute(value): sleeps 0.2 s, returns value * value. */
static void *legacy_blocking_compute(void *arg)
{
    struct timespec ts = {0, 200000000L};
    nanosleep(&ts, NULL);
    intptr_t value = (intptr_t)arg;
    return (void *)(value * value);
}

struct wrapper_args {
    mf_executor *executor;
    intptr_t value;
};

/* async def asyncWrapper(executor, value) */
static void *async_wrapper(mf_coro *co, void *arg)
{
    struct wrapper_args *a = arg;
    mf_lfuture *f;
    int rc = mf_loop_run_in_executor(mf_coro_loop(co), a->executor,
                                     legacy_blocking_compute,
                                     (void *)a->value, &f);
    if (rc != MF_OK) {
        mf_coro_fail(co, rc, "SubmitError", mf_errmsg());
        return NULL;
    }
    mf_coro_await(co, f); /* result = await loop.run_in_executor(...) */
    mf_value result;
    rc = mf_lfuture_result(f, &result);
    mf_lfuture_release(f);
    if (rc != MF_OK) {
        mf_coro_fail(co, rc, "TaskError", mf_errmsg());
        return NULL;
    }
    return result.via.ptr; /* return result */
}

/* async def main() */
static void *main_coro(mf_coro *co, void *arg)
{
    mf_executor *executor;
    mf_thread_pool_opts opts = {.max_workers = 4};
    if (mf_thread_pool_new(&opts, &executor) != MF_OK) {
        mf_coro_fail(co, MF_ESYS, "PoolError", mf_errmsg());
        return NULL;
    }
    double start = now();
    struct wrapper_args args[4];
    mf_lfuture *calls[4], *all;
    for (int i = 0; i < 4; i++) {
        args[i] = (struct wrapper_args){executor, 10 * (i + 1)};
        mf_coro_spawn(mf_coro_loop(co), async_wrapper, &args[i], 0,
                      &calls[i]);
    }
    mf_loop_gather(mf_coro_loop(co), calls, 4, false, &all);
    mf_coro_await(co, all); /* results = await asyncio.gather(...) */
    double elapsed = now() - start;

    printf("Results: [");
    for (int i = 0; i < 4; i++) {
        mf_value v;
        mf_lfuture_result(calls[i], &v);
        printf("%s%ld", i ? ", " : "", (long)(intptr_t)v.via.ptr);
        mf_lfuture_release(calls[i]);
    }
    printf("]\n");
    printf("Time: %.2fs (should be ~0.2s, not 0.8s)\n", elapsed);
    int ok = mf_lfuture_result(all, NULL) == MF_OK;
    mf_lfuture_release(all);
    mf_executor_free(executor); /* leaving the `with` block */
    return ok ? (void *)1 : NULL;
}

int main(void)
{
    uv_loop_t uv;
    uv_loop_init(&uv);
    mf_loop *loop;
    if (mf_loop_new(&uv, &loop) != MF_OK)
        return 1;
    mf_lfuture *done;
    mf_coro_spawn(loop, main_coro, NULL, 0, &done); /* asyncio.run(main()) */
    uv_run(&uv, UV_RUN_DEFAULT);
    mf_value v;
    int ok = mf_lfuture_result(done, &v) == MF_OK && v.via.ptr != NULL;
    mf_lfuture_release(done);
    mf_loop_close(loop);
    uv_run(&uv, UV_RUN_DEFAULT);
    uv_loop_close(&uv);
    return ok ? 0 : 1;
}
