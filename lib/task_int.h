/*
 * lib/task_int.h -- the task registry's entries and running one task.
 */
#ifndef MF_LIB_TASK_INT_H
#define MF_LIB_TASK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mpifutures/task.h"

struct mf__task {
    char name[MF_TASK_NAME_MAX + 1];
    mf_task_fn fn;
    void *udata;
    uint32_t id; /* registration order, from 0 */
};

/* The argument list a task reads: a validated MessagePack array. */
struct mf_args {
    const void *buf;
    size_t len;
    size_t body; /* offset of the first element */
    uint32_t count;
};

#define MF__KIND_MAX 32

/* A task's outcome. One per worker thread, reused between tasks. */
struct mf_reply {
    mf_pack pack;
    int raw;    /* the task wrote through mf_reply_pack: validate it */
    int failed; /* an error was recorded */
    int code;
    char kind[MF__KIND_MAX];
    char message[1024];
};

/* Look a task up by name (lock-free) or id; NULL if absent. Any thread. */
const struct mf__task *mf__task_find(const char *name);
const struct mf__task *mf__task_by_id(uint32_t id);

/* Parse args (len bytes, one array) for a task. MF_EDECODE/MF_ETYPE with
 * mf_errmsg when it is not a well-formed array. */
int mf__args_init(struct mf_args *a, const void *buf, size_t len);

void mf__reply_init(mf_reply *r);
void mf__reply_fini(mf_reply *r);

/*
 * Run task t on the argument bytes and leave its outcome in r (cleared
 * first): on return either r->failed is set, with code, kind and message
 * filled in (bad arguments, an error the task raised, a malformed packed
 * result), or r->pack holds exactly one result value.
 */
void mf__task_run(const struct mf__task *t, const void *args, size_t len,
                  mf_reply *r);

#endif
