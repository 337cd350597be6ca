/*
 * lib/cb_runner.h -- running done callbacks off a thread that must not
 * block (the MPI pool's scheduler is the only thread making MPI progress).
 *
 * A thread binds a runner; from then on, when a future it completes has
 * done callbacks, the future's waiters are still woken at once, but the
 * callbacks are queued to the runner's own thread, which fires them in
 * order, each future's callbacks together.
 */
#ifndef MF_LIB_CB_RUNNER_H
#define MF_LIB_CB_RUNNER_H

#include <stdbool.h>

#include "lib/future_int.h"

struct mf__cb_runner;

/* Start a runner thread named `name`; NULL when out of memory/threads. */
struct mf__cb_runner *mf__cb_runner_new(const char *name);

/* Fire what is queued, stop the thread and free. NULL: no-op. */
void mf__cb_runner_free(struct mf__cb_runner *r);

/* Route callbacks of futures completed by the calling thread to r (NULL:
 * run them inline again). */
void mf__cb_runner_bind(struct mf__cb_runner *r);

/* Wait until every callback queued so far has fired (no-op on r's own
 * thread or for NULL). */
void mf__cb_runner_drain(struct mf__cb_runner *r);

/* Is the caller r's own thread (i.e. inside a callback it fires)? */
bool mf__cb_runner_is_self(const struct mf__cb_runner *r);

/* The calling thread's runner, or NULL (used by future.c). */
struct mf__cb_runner *mf__cb_runner_current(void);

/* Queue f's callbacks (first one fn/arg, then `more`, newest first); takes
 * a reference to f for as long as they wait. (used by future.c) */
void mf__cb_runner_post(struct mf__cb_runner *r, mf_future *f, mf_done_fn fn,
                        void *arg, struct mf__callback *more);

#endif
