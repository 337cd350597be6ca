/*
 * mpifutures/error.h -- the one error enum, its names and messages.
 *
 * Every public call that can fail returns an mf_err (MF_OK == 0). The codes
 * and their messages come from one X-macro table, so mf_strerror() and
 * mf_err_name() can never disagree with the enum. A call that failed may
 * also leave a longer, specific explanation for the calling thread in
 * mf_errmsg() (SQLite's sqlite3_errmsg, but per thread).
 *
 * A task's failure is not an mf_err returned by a call: it is data (an
 * mf_error: kind, message, task name, origin) carried by the task's future.
 */
#ifndef MPIFUTURES_ERROR_H
#define MPIFUTURES_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* XX(name, message) -- the single source of every error code. */
#define MF_ERRNO_MAP(XX)                                                       \
    XX(EINVAL, "invalid argument")                                             \
    XX(ENOMEM, "out of memory")                                                \
    XX(ETIMEDOUT, "timed out")                                                 \
    XX(ECANCELLED, "future was cancelled")                                     \
    XX(ETASK, "task failed; the error is stored in its future")                \
    XX(ESHUTDOWN, "executor has been shut down")                               \
    XX(EBROKEN, "executor is broken")                                          \
    XX(ENOTASK, "no task registered under that name")                          \
    XX(EEXIST, "a task is already registered under that name")                 \
    XX(ETYPE, "value has the wrong type")                                      \
    XX(ERANGE, "index or value out of range")                                  \
    XX(EDECODE, "malformed message bytes")                                     \
    XX(ETOOBIG, "message exceeds the size limit")                              \
    XX(ESTATE, "operation not valid in the future's current state")           \
    XX(ENOTSUP, "operation not supported by this executor")                    \
    XX(EDEADLK, "operation would wait for the calling thread itself")          \
    XX(EOF, "no more results")                                                 \
    XX(ESYS, "system call failed")                                             \
    XX(EMPI, "MPI call failed")

typedef enum mf_err {
    MF_OK = 0,
#define XX(name, msg) MF_##name,
    MF_ERRNO_MAP(XX)
#undef XX
        MF_ERR_MAX
} mf_err;

/* Return a static message for err ("unknown error" for codes outside the
 * table). Any thread. */
const char *mf_strerror(int err);

/* Return the code's name without prefix, e.g. "ETIMEDOUT". Any thread. */
const char *mf_err_name(int err);

/*
 * Return the calling thread's explanation of its last failed mpifutures
 * call, e.g. "3 (of 8) futures unfinished after 2.000 s". Calls that succeed
 * do not clear it. Never NULL; the empty string when nothing failed yet.
 * Valid until the thread's next mpifutures call. Any thread.
 */
const char *mf_errmsg(void);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_ERROR_H */
