/*
 * mpifutures/wait.h -- waiting on many futures: wait() and as_completed().
 *
 * Both take futures from any executors, mixed, and never change them. Cost
 * is linear in the number of futures: each registers one waiter per future
 * and is told of completions; nothing is rescanned. Any thread, but not from
 * a done callback with a timeout that depends on that callback's executor.
 */
#ifndef MPIFUTURES_WAIT_H
#define MPIFUTURES_WAIT_H

#include <stddef.h>

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mf_wait_mode {
    MF_FIRST_COMPLETED, /* any future done */
    MF_FIRST_EXCEPTION, /* any future failed, or all done */
    MF_ALL_COMPLETED    /* all done */
} mf_wait_mode;

/*
 * Wait until the mode's condition holds or timeout passes, then split fs
 * into done and not_done (each future once, even if listed twice; caller's
 * arrays of n entries each; either may be NULL to skip it). Returns MF_OK when
 * the condition held, MF_ETIMEDOUT when the timeout came first (the sets are
 * filled either way), MF_EINVAL / MF_ENOMEM. No references are taken.
 */
int mf_wait(mf_future *const *fs, size_t n, double timeout, mf_wait_mode mode,
            mf_future **done, size_t *ndone, mf_future **not_done,
            size_t *nnot_done);

typedef struct mf_as_completed mf_as_completed;

/* Start iterating over fs: futures already done come first, then the rest as
 * they complete; duplicates are yielded once. timeout (seconds, from now)
 * bounds the whole iteration. The iterator holds a reference to each future
 * until freed. */
int mf_as_completed_new(mf_future *const *fs, size_t n, double timeout,
                        mf_as_completed **out);

/*
 * MF_OK with *out the next done future (borrowed: valid until
 * mf_as_completed_free); MF_EOF when all were yielded; MF_ETIMEDOUT, with
 * "K (of N) futures unfinished" in mf_errmsg(), when the deadline passed.
 * One thread at a time.
 */
int mf_as_completed_next(mf_as_completed *it, mf_future **out);

/* Number of futures not yet yielded. */
size_t mf_as_completed_remaining(const mf_as_completed *it);

/* Detach from every future and free. NULL: no-op. */
void mf_as_completed_free(mf_as_completed *it);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_WAIT_H */
