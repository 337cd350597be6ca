/*
 * lib/task.c -- the process-wide task registry, task replies and running a
 * task.
 *
 * Design notes
 * - Registration is rare and serialized by a mutex; lookup is on every
 *   submit and takes no lock. Entries are written in full before their slot
 *   in the open-addressing table is published with a release store, and a
 *   lookup acquire-loads the slot, so a reader never sees a half-written
 *   entry. Entries are never removed.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "lib/error_int.h"
#include "lib/task_int.h"
#include "serialization/mp.h"

#define NSLOTS (2 * MF_TASK_MAX) /* power of two, load <= 1/2 */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mf__task tasks[MF_TASK_MAX];
static _Atomic uint32_t ntasks;
static _Atomic uint32_t slots[NSLOTS]; /* task index + 1; 0 = empty */

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_BASIS 0xcbf29ce484222325ULL

const struct mf__task *mf__task_find(const char *name)
{
    uint64_t h = fnv1a(name, FNV_BASIS);
    for (uint32_t i = (uint32_t)h % NSLOTS;; i = (i + 1) % NSLOTS) {
        /* acquire: pairs with the release in mf_task_register. */
        uint32_t s = atomic_load_explicit(&slots[i], memory_order_acquire);
        if (s == 0)
            return NULL;
        if (strcmp(tasks[s - 1].name, name) == 0)
            return &tasks[s - 1];
    }
}

const struct mf__task *mf__task_by_id(uint32_t id)
{
    if (id >= atomic_load_explicit(&ntasks, memory_order_acquire))
        return NULL;
    return &tasks[id];
}

int mf_task_register(const char *name, mf_task_fn fn, void *udata)
{
    if (name == NULL || fn == NULL)
        return mf__seterr(MF_EINVAL, "mf_task_register: NULL argument");
    size_t len = strlen(name);
    if (len == 0 || len > MF_TASK_NAME_MAX)
        return mf__seterr(MF_EINVAL,
                          "task name must be 1 to %d bytes (got %zu)",
                          MF_TASK_NAME_MAX, len);
    for (size_t i = 0; i < len; i++)
        if (!isprint((unsigned char)name[i]))
            return mf__seterr(MF_EINVAL,
                              "task name has a non-printable byte 0x%02x at "
                              "%zu",
                              (unsigned char)name[i], i);

    pthread_mutex_lock(&reg_mu);
    int rc = MF_OK;
    if (mf__task_find(name) != NULL) {
        rc = mf__seterr(MF_EEXIST, "a task named '%s' is already registered",
                        name);
        goto out_unlock;
    }
    uint32_t n = atomic_load_explicit(&ntasks, memory_order_relaxed);
    if (n >= MF_TASK_MAX) {
        rc = mf__seterr(MF_ERANGE, "cannot register '%s': %d tasks at most",
                        name, MF_TASK_MAX);
        goto out_unlock;
    }
    struct mf__task *t = &tasks[n];
    memcpy(t->name, name, len + 1);
    t->fn = fn;
    t->udata = udata;
    t->id = n;
    uint64_t h = fnv1a(name, FNV_BASIS);
    uint32_t i = (uint32_t)h % NSLOTS;
    while (atomic_load_explicit(&slots[i], memory_order_relaxed) != 0)
        i = (i + 1) % NSLOTS;
    /* release: the entry above is complete before anyone can find it. */
    atomic_store_explicit(&slots[i], n + 1, memory_order_release);
    atomic_store_explicit(&ntasks, n + 1, memory_order_release);
out_unlock:
    pthread_mutex_unlock(&reg_mu);
    return rc;
}

size_t mf_task_count(void)
{
    return atomic_load_explicit(&ntasks, memory_order_acquire);
}

uint64_t mf_task_names_hash(void)
{
    uint32_t n = atomic_load_explicit(&ntasks, memory_order_acquire);
    uint64_t h = FNV_BASIS;
    for (uint32_t i = 0; i < n; i++) {
        h = fnv1a(tasks[i].name, h);
        h = fnv1a("\n", h);
    }
    return h;
}

/* --- replies ---------------------------------------------------------------- */

void mf__reply_init(mf_reply *r)
{
    memset(r, 0, sizeof *r);
    mf_pack_init(&r->pack);
}

void mf__reply_fini(mf_reply *r)
{
    mf_pack_fini(&r->pack);
}

static void reply_clear(mf_reply *r)
{
    mf_pack_reset(&r->pack);
    r->raw = 0;
    r->failed = 0;
    r->code = MF_OK;
    r->kind[0] = '\0';
    r->message[0] = '\0';
}

static int reply_done(mf_reply *r)
{
    r->raw = 0;
    return r->pack.err != MF_OK
               ? mf__seterr(r->pack.err, "writing the result: %s",
                            mf_strerror(r->pack.err))
               : MF_OK;
}

int mf_reply_nil(mf_reply *r)
{
    mf_pack_reset(&r->pack);
    mf_pack_nil(&r->pack);
    return reply_done(r);
}

int mf_reply_bool(mf_reply *r, int v)
{
    mf_pack_reset(&r->pack);
    mf_pack_bool(&r->pack, v != 0);
    return reply_done(r);
}

int mf_reply_i64(mf_reply *r, int64_t v)
{
    mf_pack_reset(&r->pack);
    mf_pack_i64(&r->pack, v);
    return reply_done(r);
}

int mf_reply_f64(mf_reply *r, double v)
{
    mf_pack_reset(&r->pack);
    mf_pack_f64(&r->pack, v);
    return reply_done(r);
}

int mf_reply_str(mf_reply *r, const char *s, size_t len)
{
    mf_pack_reset(&r->pack);
    mf_pack_str(&r->pack, s, len);
    return reply_done(r);
}

int mf_reply_strf(mf_reply *r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return mf__seterr(MF_EINVAL, "mf_reply_strf: bad format");
    if ((size_t)n < sizeof buf)
        return mf_reply_str(r, buf, (size_t)n);
    /* Long: format again straight into the packer's buffer. */
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        return mf__seterr(MF_ENOMEM, "mf_reply_strf: out of memory");
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = mf_reply_str(r, big, (size_t)n);
    free(big);
    return rc;
}

int mf_reply_bin(mf_reply *r, const void *data, size_t len)
{
    mf_pack_reset(&r->pack);
    mf_pack_bin(&r->pack, data, len);
    return reply_done(r);
}

mf_pack *mf_reply_pack(mf_reply *r)
{
    mf_pack_reset(&r->pack);
    r->raw = 1;
    return &r->pack;
}

static void reply_vfail(mf_reply *r, int code, const char *kind,
                        const char *fmt, va_list ap)
{
    r->failed = 1;
    r->code = code;
    snprintf(r->kind, sizeof r->kind, "%s", kind ? kind : "Error");
    vsnprintf(r->message, sizeof r->message, fmt, ap);
}

static void reply_fail(mf_reply *r, int code, const char *kind,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_fail(mf_reply *r, int code, const char *kind,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_vfail(r, code, kind, fmt, ap);
    va_end(ap);
}

int mf_reply_error(mf_reply *r, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_vfail(r, MF_ETASK, kind && *kind ? kind : "Error", fmt, ap);
    va_end(ap);
    return MF_ETASK;
}

/* Python-like kind for a failure code the task returned itself. */
static const char *kind_for(int code)
{
    switch (code) {
    case MF_ETYPE: return "TypeError";
    case MF_ERANGE: return "IndexError";
    case MF_EDECODE: return "DecodeError";
    case MF_ENOMEM: return "MemoryError";
    case MF_ETIMEDOUT: return "TimeoutError";
    default: return "TaskError";
    }
}

void mf__task_run(const struct mf__task *t, const void *args, size_t len,
                  mf_reply *r)
{
    struct mf_args a;
    reply_clear(r);
    int rc = mf__args_init(&a, args, len);
    if (rc != MF_OK) {
        reply_fail(r, rc, rc == MF_ETYPE ? "TypeError" : "DecodeError",
                   "bad argument list: %s", mf_errmsg());
        return;
    }
    mf__clearerr();
    rc = t->fn(&a, r, t->udata);
    if (r->failed)
        return;
    if (rc != MF_OK) {
        reply_fail(r, rc, kind_for(rc), "%s", mf_errmsg()[0] ? mf_errmsg()
                                                         : mf_strerror(rc));
        return;
    }
    if (r->pack.err != MF_OK) {
        reply_fail(r, r->pack.err, kind_for(r->pack.err),
                   "writing the result: %s", mf_strerror(r->pack.err));
        return;
    }
    if (r->pack.len == 0 && !r->raw) {
        mf_pack_nil(&r->pack);
        return;
    }
    /* A packer from mf_reply_pack must hold exactly one value: an empty
     * one fails too (task.h), it does not silently mean nil. */
    if (r->raw && mf__mp_validate(r->pack.data, r->pack.len) != MF_OK)
        reply_fail(r, MF_EDECODE, "DecodeError",
                   "the task packed an invalid result: %s (pack exactly one "
                   "value)",
                   mf_errmsg());
}
