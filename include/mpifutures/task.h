/*
 * mpifutures/task.h -- named tasks: the registry, argument reading and
 * result writing.
 *
 * A task is a C function registered under a name, identically on every rank
 * of a program (register before creating executors). It reads its arguments
 * from an mf_args (a MessagePack array) and writes one result value, or an
 * error, into an mf_reply. The same name can be submitted to the thread pool
 * or, unchanged, to the MPI process pool: messages only ever name functions
 * the program registered; code and pointers never travel.
 */
#ifndef MPIFUTURES_TASK_H
#define MPIFUTURES_TASK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_args mf_args;   /* read-only argument list */
typedef struct mf_reply mf_reply; /* where a task writes its outcome */

/*
 * A task body. Return MF_OK after writing the result into reply (writing
 * nothing yields nil). To fail, either call mf_reply_error() and return its
 * code, or return the code of a failed mf_args_* call: the future then fails
 * with a TypeError/IndexError naming the task and argument. udata is what was
 * given to mf_task_register. Called on a pool thread or a worker rank.
 */
typedef int (*mf_task_fn)(const mf_args *args, mf_reply *reply, void *udata);

#define MF_TASK_NAME_MAX 63 /* bytes, excluding the NUL */
#define MF_TASK_MAX 4096    /* registered tasks per process */

/*
 * Register fn under name for this process. Names are 1..MF_TASK_NAME_MAX
 * bytes of printable ASCII. MF_EEXIST if the name is taken, MF_EINVAL for a
 * bad name, MF_ERANGE past MF_TASK_MAX tasks. Thread safe; registration
 * order defines the task ids that the MPI pool negotiates, so register in
 * the same order on every rank.
 */
int mf_task_register(const char *name, mf_task_fn fn, void *udata);

/* Number of registered tasks and a hash of their names in registration
 * order (what ranks compare at start-up). Any thread. */
size_t mf_task_count(void);
uint64_t mf_task_names_hash(void);

/* --- reading arguments (inside a task; any thread) ----------------------- */

/* Number of arguments. */
uint32_t mf_args_count(const mf_args *args);

/* Read argument idx. On a missing argument (MF_ERANGE) or a wrong type
 * (MF_ETYPE) the call records why, and a task that returns that code fails
 * with a message naming the task, the argument and both types. */
int mf_args_value(const mf_args *args, uint32_t idx, mf_value *out);
int mf_args_i64(const mf_args *args, uint32_t idx, int64_t *out);
int mf_args_f64(const mf_args *args, uint32_t idx, double *out);
int mf_args_str(const mf_args *args, uint32_t idx, const char **s,
                size_t *len);
int mf_args_bin(const mf_args *args, uint32_t idx, const void **data,
                size_t *len);

/* --- writing the outcome (inside a task) --------------------------------- */

/* Result writers: the last one called wins. */
int mf_reply_nil(mf_reply *reply);
int mf_reply_bool(mf_reply *reply, int v);
int mf_reply_i64(mf_reply *reply, int64_t v);
int mf_reply_f64(mf_reply *reply, double v);
int mf_reply_str(mf_reply *reply, const char *s, size_t len);
int mf_reply_strf(mf_reply *reply, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int mf_reply_bin(mf_reply *reply, const void *data, size_t len);

/* For compound results: a cleared packer into which the task writes exactly
 * one value (e.g. mf_pack_array then its elements). It is validated when
 * the task returns; a packer holding no or several values fails the task. */
mf_pack *mf_reply_pack(mf_reply *reply);

/*
 * Fail the task with an error of the given kind ("ValueError", "IOError",
 * ... any short word of the task's choosing) and a printf-style message.
 * Returns MF_ETASK, which the task should return.
 */
int mf_reply_error(mf_reply *reply, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_TASK_H */
