/*
 * mpifutures/coro.h -- coroutines on an mf_loop: code that awaits loop
 * futures and reads top to bottom, without blocking the loop.
 *
 * A coroutine is a C function run on its own stack on the loop's thread.
 * mf_coro_await suspends it until a loop future is done and gives the
 * thread back to the loop meanwhile. Its return value completes the loop
 * future that mf_coro_spawn returned, so coroutines can await each other
 * (and mf_loop_gather them).
 *
 * Stacks are mmap'ed with an inaccessible guard page below them, so an
 * overflow faults at once instead of corrupting memory. The default size is
 * MF_CORO_STACK_DEFAULT (256 KiB): do not put large arrays on it. Loop
 * thread only.
 */
#ifndef MPIFUTURES_CORO_H
#define MPIFUTURES_CORO_H

#include <stddef.h>

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MF_CORO_STACK_DEFAULT ((size_t)256 * 1024)

typedef struct mf_coro mf_coro;

/* The coroutine body. Its return value becomes the result (a pointer) of
 * its loop future, unless it called mf_coro_fail. */
typedef void *(*mf_coro_fn)(mf_coro *co, void *arg);

/*
 * Start fn(co, arg) as a coroutine on l, from the loop (soon, not inside
 * this call); *out is its loop future. stack_size 0 means
 * MF_CORO_STACK_DEFAULT. MF_ENOMEM when no stack can be mapped.
 */
int mf_coro_spawn(mf_loop *l, mf_coro_fn fn, void *arg, size_t stack_size,
                  mf_lfuture **out);

/*
 * From inside the coroutine: suspend until f is done (at once if it is),
 * the loop running other work meanwhile. MF_OK then: read f's outcome with
 * mf_lfuture_result. MF_ECANCELLED when the coroutine's own future is
 * cancelled (before or while it waits): as with asyncio's Task.cancel, the
 * awaited future is cancelled too and the coroutine resumes at once --
 * stop and return. MF_ESTATE when not called from inside co.
 */
int mf_coro_await(mf_coro *co, mf_lfuture *f);

/* The loop the coroutine runs on. */
mf_loop *mf_coro_loop(mf_coro *co);

/* Make the coroutine's future fail with this error when it returns. */
void mf_coro_fail(mf_coro *co, int code, const char *kind,
                  const char *message);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_CORO_H */
