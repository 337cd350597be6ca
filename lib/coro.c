/*
 * lib/coro.c -- stackful coroutines on the loop thread (ucontext).
 *
 * Design notes
 * - Every switch is between the loop thread's own stack (the "caller":
 *   whatever loop callback resumed the coroutine) and the coroutine's
 *   stack; coroutines never switch to each other directly.
 * - A coroutine is resumed by a loop-future done callback, which always
 *   runs on the loop thread from the loop; it suspends only inside
 *   mf_coro_await. When its body returns, it completes its loop future and
 *   switches back for good; the resumer then frees its stack (never freed
 *   while running on it).
 * - Sanitizers: under ASan every switch is announced with
 *   __sanitizer_start/finish_switch_fiber (the stack bounds ASan must use);
 *   under TSan each coroutine has its own TSan fiber.
 * - The stack is mmap'ed with a PROT_NONE guard page at its low end.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_STACK */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "lib/error_int.h"
#include "mpifutures/coro.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define MF_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define MF_TSAN 1
#endif

struct mf_coro {
    ucontext_t ctx, caller;
    char *map;        /* guard page + stack */
    size_t map_size;
    char *stack;      /* usable part */
    size_t stack_size;
    mf_loop *loop;
    mf_coro_fn fn;
    void *arg;
    mf_lfuture *result; /* the coroutine's own loop future */
    mf_lfuture *awaiting; /* what it is suspended on, or NULL */
    int refs;             /* pending resume callbacks + 1 while alive */
    bool started;
    bool finished;
    bool failed;
    int err_code;
    char err_kind[32];
    char err_msg[512];
    /* sanitizer bookkeeping */
    void *fake;
    const void *caller_bottom;
    size_t caller_size;
    void *tsan_fiber, *tsan_caller;
};

static _Thread_local mf_coro *current; /* running coroutine, or NULL */
static _Thread_local mf_coro *starting;

/* Switch from the loop's stack into co. */
static void switch_in(mf_coro *co)
{
    mf_coro *outer = current;
    current = co;
#ifdef MF_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, co->stack, co->stack_size);
#endif
#ifdef MF_TSAN
    co->tsan_caller = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(co->tsan_fiber, 0);
#endif
    swapcontext(&co->caller, &co->ctx);
#ifdef MF_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    current = outer;
}

/* Switch from co back to the loop's stack; `last` when co is done. */
static void switch_out(mf_coro *co, bool last)
{
#ifdef MF_ASAN
    __sanitizer_start_switch_fiber(last ? NULL : &co->fake, co->caller_bottom,
                                   co->caller_size);
#endif
#ifdef MF_TSAN
    __tsan_switch_to_fiber(co->tsan_caller, 0);
#endif
    swapcontext(&co->ctx, &co->caller);
    /* Resumed (never reached when last). */
#ifdef MF_ASAN
    __sanitizer_finish_switch_fiber(co->fake, &co->caller_bottom,
                                    &co->caller_size);
#endif
}

static void trampoline(void)
{
    mf_coro *co = starting;
    starting = NULL;
#ifdef MF_ASAN
    __sanitizer_finish_switch_fiber(NULL, &co->caller_bottom,
                                    &co->caller_size);
#endif
    void *r = co->fn(co, co->arg);
    if (!mf_lfuture_done(co->result)) {
        if (co->failed)
            mf_lfuture_set_error(co->result, co->err_code, co->err_kind,
                                 co->err_msg);
        else
            mf_lfuture_set_pointer(co->result, r);
    }
    co->finished = true;
    switch_out(co, true);
}

static void coro_free(mf_coro *co)
{
#ifdef MF_TSAN
    __tsan_destroy_fiber(co->tsan_fiber);
#endif
    munmap(co->map, co->map_size);
    mf_lfuture_release(co->result);
    free(co);
}

static void coro_unref(mf_coro *co)
{
    if (--co->refs == 0)
        coro_free(co);
}

/* Run co until it suspends or finishes (loop thread, from a callback). */
static void resume(mf_coro *co)
{
    if (!co->started) { /* the trampoline picks it up on its new stack */
        co->started = true;
        starting = co;
    }
    co->awaiting = NULL;
    switch_in(co);
    if (co->finished)
        coro_unref(co); /* the body's own reference */
}

/* A future co awaited (or its start) is done: resume co -- unless it was
 * already resumed another way (its own future cancelled) or has finished.
 * Each registered callback holds a reference to co. */
static void resume_cb(mf_lfuture *f, void *arg)
{
    mf_coro *co = arg;
    if (!co->finished && (co->awaiting == f || !co->started))
        resume(co);
    coro_unref(co);
}

/* The coroutine's own future is done: if that is a cancel while the
 * coroutine is suspended, wake it now (mf_coro_await reports it). */
static void result_done_cb(mf_lfuture *f, void *arg)
{
    mf_coro *co = arg;
    if (mf_lfuture_cancelled(f) && !co->finished && co->awaiting != NULL) {
        /* As asyncio's Task.cancel: the awaited future is cancelled too
         * (so a semaphore unit, say, is not handed to a coroutine that is
         * about to stop). */
        mf_lfuture *awaited = co->awaiting;
        mf_lfuture_cancel(awaited);
        resume(co);
    }
    coro_unref(co);
}

int mf_coro_spawn(mf_loop *l, mf_coro_fn fn, void *arg, size_t stack_size,
                  mf_lfuture **out)
{
    if (l == NULL || fn == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_coro_spawn: NULL argument");
    *out = NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (stack_size == 0)
        stack_size = MF_CORO_STACK_DEFAULT;
    if (stack_size > ((size_t)1 << 30))
        return mf__seterr(MF_EINVAL, "mf_coro_spawn: a %zu-byte stack is "
                                     "more than 1 GiB",
                          stack_size);
    stack_size = (stack_size + page - 1) / page * page;
    mf_coro *co = calloc(1, sizeof *co);
    if (co == NULL)
        return mf__seterr(MF_ENOMEM, "mf_coro_spawn: out of memory");
    co->map_size = stack_size + page;
    co->map = mmap(NULL, co->map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (co->map == MAP_FAILED) {
        free(co);
        return mf__seterr(MF_ENOMEM, "mf_coro_spawn: cannot map a %zu-byte "
                                     "stack",
                          stack_size);
    }
    if (mprotect(co->map, page, PROT_NONE) != 0) { /* the guard page */
        munmap(co->map, co->map_size);
        free(co);
        return mf__seterr(MF_ESYS, "mf_coro_spawn: cannot protect the "
                                   "stack's guard page");
    }
    co->stack = co->map + page;
    co->stack_size = stack_size;
    co->loop = l;
    co->fn = fn;
    co->arg = arg;
    co->result = mf_lfuture_new(l);
    mf_lfuture *kick = mf_lfuture_new(l);
    if (co->result == NULL || kick == NULL ||
        getcontext(&co->ctx) != 0) {
        mf_lfuture_release(kick);
        mf_lfuture_release(co->result);
        munmap(co->map, co->map_size);
        free(co);
        return mf__seterr(MF_ENOMEM, "mf_coro_spawn: out of memory");
    }
    co->ctx.uc_stack.ss_sp = co->stack;
    co->ctx.uc_stack.ss_size = co->stack_size;
    co->ctx.uc_link = NULL;
    makecontext(&co->ctx, trampoline, 0);
#ifdef MF_TSAN
    co->tsan_fiber = __tsan_create_fiber(0);
#endif
    /* References: the body's own, the start callback's, the result
     * callback's. Start from the loop, soon: a done future whose callback
     * starts it. */
    co->refs = 3;
    mf_lfuture_add_done_callback(co->result, result_done_cb, co);
    mf_lfuture_set_pointer(kick, NULL);
    mf_lfuture_add_done_callback(kick, resume_cb, co);
    mf_lfuture_release(kick);
    *out = mf_lfuture_retain(co->result);
    return MF_OK;
}

int mf_coro_await(mf_coro *co, mf_lfuture *f)
{
    if (co == NULL || f == NULL || current != co)
        return mf__seterr(MF_ESTATE, "mf_coro_await called outside its "
                                     "coroutine");
    if (!mf_lfuture_done(f) && !mf_lfuture_cancelled(co->result)) {
        int rc = mf_lfuture_add_done_callback(f, resume_cb, co);
        if (rc != MF_OK)
            return rc;
        co->refs++;
        co->awaiting = f;
        switch_out(co, false);
    }
    if (mf_lfuture_cancelled(co->result))
        return mf__seterr(MF_ECANCELLED, "the coroutine was cancelled");
    return MF_OK;
}

mf_loop *mf_coro_loop(mf_coro *co)
{
    return co->loop;
}

void mf_coro_fail(mf_coro *co, int code, const char *kind,
                  const char *message)
{
    co->failed = true;
    co->err_code = code ? code : MF_ETASK;
    snprintf(co->err_kind, sizeof co->err_kind, "%s", kind ? kind : "Error");
    snprintf(co->err_msg, sizeof co->err_msg, "%s", message ? message : "");
}
