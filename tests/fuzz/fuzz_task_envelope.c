/*
 * tests/fuzz/fuzz_task_envelope.c -- everything a worker rank reads, on
 * arbitrary bytes: the control check (mf__msg_kind, looking for STOP) and a
 * TASKS message, entry by entry, run exactly as ranks/worker.c runs it
 * (look the task up by id, mf__task_run, one RESULTS entry per TASKS
 * entry, an error entry for a result above the message's max_message);
 * then rank 0's reader reads that reply back.
 *
 * Four tasks are registered (ids 0-3): one reads every argument with every
 * accessor, one returns its first argument's bytes as a raw packed result
 * (so mf__task_run's validation of a task's own packing sees arbitrary
 * bytes), one echoes its whole argument list, one fails with a kind and
 * message taken from its arguments.
 *
 * Invariants checked: a reader accepts only its own kind; TASKS yields
 * exactly the entry count it announced, each entry MF_OK, MF_EDECODE or
 * MF_ETYPE; argument views lie inside the input and hold one array that
 * decodes on its own (depth limit included); a task's successful
 * result is exactly one valid value; the RESULTS message the worker writes
 * always reads back whole at rank 0, every entry with its id, status, times
 * and bytes as written.
 */
#include "lib/task_int.h"
#include "serialization/envelope.h"
#include "tests/fuzz/fuzz.h"

enum { TASK_READ_ALL, TASK_RAW, TASK_ECHO, TASK_FAIL, NTASKS };

/* Reads every argument (the first 32) with every accessor, then replies
 * with a value of the first argument's type. */
static int task_read_all(const mf_args *args, mf_reply *reply, void *udata)
{
    uint32_t n = mf_args_count(args);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n && i < 32; i++) {
        int64_t iv;
        double d;
        const char *s;
        const void *b;
        size_t len;
        mf_value v;
        FZ_CHECK(mf_args_value(args, i, &v) == MF_OK);
        if (mf_args_i64(args, i, &iv) == MF_OK)
            sum += (uint64_t)iv;
        if (mf_args_f64(args, i, &d) == MF_OK)
            sum += d == d; /* not NaN */
        if (mf_args_str(args, i, &s, &len) == MF_OK)
            sum += len;
        if (mf_args_bin(args, i, &b, &len) == MF_OK)
            sum += len;
    }
    mf_value v;
    if (n == 0 || mf_args_value(args, 0, &v) != MF_OK)
        return mf_reply_nil(reply);
    switch (v.type) {
    case MF_VALUE_STR:
        return mf_reply_str(reply, v.via.str.ptr, v.via.str.len);
    case MF_VALUE_BIN:
        return mf_reply_bin(reply, v.via.bin.ptr, v.via.bin.len);
    case MF_VALUE_FLOAT:
        return mf_reply_f64(reply, v.via.f);
    case MF_VALUE_BOOL:
        return mf_reply_bool(reply, v.via.b);
    case MF_VALUE_INT:
    case MF_VALUE_UINT: {
        int64_t iv;
        int rc = mf_args_i64(args, 0, &iv); /* too big: the task's error */
        return rc == MF_OK ? mf_reply_i64(reply, iv) : rc;
    }
    default:
        return mf_reply_i64(reply, (int64_t)(sum & INT64_MAX));
    }
}

/* Its first argument, a binary, written unchecked as the packed result. */
static int task_raw(const mf_args *args, mf_reply *reply, void *udata)
{
    const void *b;
    size_t n;
    int rc = mf_args_bin(args, 0, &b, &n);
    if (rc != MF_OK)
        return rc;
    mf__pack_raw(mf_reply_pack(reply), b, n);
    return MF_OK;
}

/* Its whole argument list as the result. */
static int task_echo(const mf_args *args, mf_reply *reply, void *udata)
{
    mf_pack *p = mf_reply_pack(reply);
    if (args->len == 0)
        mf_pack_array(p, 0);
    else
        mf__pack_raw(p, args->buf, args->len);
    return MF_OK;
}

/* Fails with kind = argument 0 and message = argument 1 (strings). */
static int task_fail(const mf_args *args, mf_reply *reply, void *udata)
{
    const char *k = "", *m = "";
    size_t kn = 0, mn = 0;
    (void)mf_args_str(args, 0, &k, &kn);
    (void)mf_args_str(args, 1, &m, &mn);
    char kind[64];
    snprintf(kind, sizeof kind, "%.*s", (int)(kn < 63 ? kn : 63), k);
    return mf_reply_error(reply, kind, "%.*s", (int)(mn < 8192 ? mn : 8192), m);
}

/* One RESULTS entry as the worker wrote it. */
struct expect {
    uint64_t id;
    int failed;
    int64_t code;
    char *kind, *message; /* when failed */
    char *value;          /* when not */
    size_t value_len;
    uint64_t t_unpack, t_run, t_pack;
};

/* Rank 0 reads the worker's reply: every entry exactly as written. */
static void check_reply(const char *buf, size_t len, int64_t rank,
                        const struct expect *ex, uint32_t n)
{
    int kind;
    FZ_CHECK(mf__msg_kind(buf, len, &kind) == MF_OK);
    FZ_CHECK(kind == MF__MSG_RESULTS);
    int64_t r;
    struct mf__msg_iter it;
    FZ_CHECK(mf__msg_read_results(buf, len, &r, &it) == MF_OK);
    FZ_CHECK(r == rank && it.left == n);
    for (uint32_t i = 0; i < n; i++) {
        struct mf__result_msg m;
        int id_ok;
        FZ_CHECK(mf__msg_next_result(&it, &m, &id_ok) == MF_OK && id_ok);
        FZ_CHECK(m.id == ex[i].id && m.failed == ex[i].failed);
        FZ_CHECK(m.t_unpack_ns == ex[i].t_unpack && m.t_run_ns == ex[i].t_run &&
                 m.t_pack_ns == ex[i].t_pack);
        if (m.failed) {
            FZ_CHECK(m.code == ex[i].code);
            FZ_CHECK(m.kind.via.str.len == strlen(ex[i].kind) &&
                     memcmp(m.kind.via.str.ptr, ex[i].kind,
                            m.kind.via.str.len) == 0);
            FZ_CHECK(m.message.via.str.len == strlen(ex[i].message) &&
                     memcmp(m.message.via.str.ptr, ex[i].message,
                            m.message.via.str.len) == 0);
        } else {
            FZ_CHECK(m.value_len == ex[i].value_len &&
                     memcmp(m.value, ex[i].value, m.value_len) == 0);
            mf_value v;
            FZ_CHECK(mf_value_decode(m.value, m.value_len, &v) == MF_OK);
        }
    }
    struct mf__result_msg m;
    int id_ok;
    FZ_CHECK(mf__msg_next_result(&it, &m, &id_ok) == MF_EOF);
}

static void register_tasks(void)
{
    static const struct {
        const char *name;
        mf_task_fn fn;
    } t[NTASKS] = {
        [TASK_READ_ALL] = {"fuzz.read_all", task_read_all},
        [TASK_RAW] = {"fuzz.raw", task_raw},
        [TASK_ECHO] = {"fuzz.echo", task_echo},
        [TASK_FAIL] = {"fuzz.fail", task_fail},
    };
    for (int i = 0; i < NTASKS; i++) {
        FZ_CHECK(mf_task_register(t[i].name, t[i].fn, NULL) == MF_OK);
        FZ_CHECK(mf__task_find(t[i].name)->id == (uint32_t)i);
    }
}

/* For TASK_RAW: whether mf__task_run must have refused its result. */
static int raw_result_invalid(const void *args, size_t len)
{
    struct mf_args a;
    const void *b;
    size_t n;
    if (mf__args_init(&a, args, len) != MF_OK ||
        mf_args_bin(&a, 0, &b, &n) != MF_OK)
        return -1; /* the task failed before packing anything */
    return mf__mp_validate(b, n) != MF_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mf_reply reply; /* one per worker, reused, as in worker.c */
    static int ready;
    if (!ready) {
        register_tasks();
        mf__reply_init(&reply);
        ready = 1;
    }

    /* The worker's control check: is this STOP? */
    int kind = -1;
    int rc = mf__msg_kind(data, size, &kind);
    FZ_CHECK(rc == MF_OK || rc == MF_EDECODE);
    if (rc == MF_OK)
        FZ_CHECK(kind >= MF__MSG_HELLO && kind <= MF__MSG_BROKEN);

    struct mf__msg_iter it;
    uint64_t max = 0; /* the pool's max_message */
    rc = mf__msg_read_tasks_max(data, size, &it, &max);
    FZ_CHECK(rc == MF_OK || rc == MF_EDECODE);
    if (rc != MF_OK)
        return 0;
    FZ_CHECK(kind == MF__MSG_TASKS);
    FZ_CHECK(max >= 1 && max <= MF__MSG_MAX);
    FZ_CHECK(fz_within(it.buf, it.len, data, size));
    FZ_CHECK(it.off <= it.len && it.left <= it.len - it.off);

    /* run_tasks() of ranks/worker.c, with deterministic times. */
    const int64_t rank = 3;
    uint32_t n = it.left;
    struct expect *ex = calloc(n ? n : 1, sizeof *ex);
    FZ_CHECK(ex != NULL);
    mf_pack out;
    mf_pack_init(&out);
    mf__msg_results_begin(&out, rank, n);
    uint32_t got = 0;
    for (;;) {
        struct mf__task_msg t;
        int id_ok;
        rc = mf__msg_next_task(&it, &t, &id_ok);
        if (rc == MF_EOF)
            break;
        FZ_CHECK(got < n);
        struct expect *e = &ex[got++];
        e->t_unpack = got;
        e->t_pack = (uint64_t)got << 32;
        size_t at;
        if (rc != MF_OK) {
            FZ_CHECK(rc == MF_EDECODE || rc == MF_ETYPE);
            e->id = id_ok ? t.id : UINT64_MAX;
            e->failed = 1;
            e->code = rc;
            e->kind = fz_cstr(rc == MF_ETYPE ? "TypeError" : "DecodeError",
                              rc == MF_ETYPE ? 9 : 11);
            e->message = fz_cstr(mf_errmsg(), strlen(mf_errmsg()));
            at = mf__msg_result_err(&out, e->id, rc, e->kind, e->message,
                                    e->t_unpack, 0, 0);
            mf__msg_patch_u64(&out, at, e->t_pack);
            continue;
        }
        FZ_CHECK(id_ok);
        FZ_CHECK(fz_within(t.args, t.args_len, data, size));
        fz_touch(t.args, t.args_len);
        /* A carried value may nest as deep as any value, no deeper. */
        mf_value av;
        FZ_CHECK(mf_value_decode(t.args, t.args_len, &av) == MF_OK &&
                 av.type == MF_VALUE_ARRAY);
        e->id = t.id;
        const struct mf__task *task = mf__task_by_id(t.task_id);
        if (task == NULL) {
            FZ_CHECK(t.task_id >= NTASKS);
            e->failed = 1;
            e->code = MF_ENOTASK;
            e->kind = fz_cstr("UnknownTask", 11);
            e->message = fz_cstr("no such task", 12);
        } else {
            e->t_run = t.task_id + 1;
            mf__task_run(task, t.args, t.args_len, &reply);
            if (t.task_id == TASK_RAW) {
                int bad = raw_result_invalid(t.args, t.args_len);
                if (bad >= 0)
                    FZ_CHECK(reply.failed == bad);
            }
            if (t.task_id == TASK_FAIL)
                FZ_CHECK(reply.failed);
            if (reply.failed) {
                e->failed = 1;
                e->code = reply.code;
                e->kind = fz_cstr(reply.kind, strlen(reply.kind));
                e->message = fz_cstr(reply.message, strlen(reply.message));
            } else if (reply.pack.len + 64 > max) {
                /* Above the pool's cap: an error entry in its place. */
                e->failed = 1;
                e->code = MF_ETOOBIG;
                e->kind = fz_cstr("ValueError", 10);
                e->message = fz_cstr("too big", 7);
            } else {
                /* mf__task_run's promise: exactly one value. */
                FZ_CHECK(mf__mp_validate(reply.pack.data, reply.pack.len) ==
                         MF_OK);
                e->value = fz_cstr(reply.pack.data, reply.pack.len);
                e->value_len = reply.pack.len;
            }
        }
        if (e->failed)
            at = mf__msg_result_err(&out, e->id, e->code, e->kind, e->message,
                                    e->t_unpack, e->t_run, 0);
        else
            at = mf__msg_result_ok(&out, e->id, e->value, e->value_len,
                                   e->t_unpack, e->t_run, 0);
        mf__msg_patch_u64(&out, at, e->t_pack);
    }
    FZ_CHECK(got == n);
    FZ_CHECK(mf_pack_error(&out) == MF_OK);
    check_reply(out.data, out.len, rank, ex, n);

    for (uint32_t i = 0; i < n; i++) {
        free(ex[i].kind);
        free(ex[i].message);
        free(ex[i].value);
    }
    free(ex);
    mf_pack_fini(&out);
    return 0;
}
