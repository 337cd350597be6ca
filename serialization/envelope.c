/*
 * serialization/envelope.c -- writing and reading the MPI pool's messages
 * (the format is in envelope.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/error_int.h"
#include "serialization/envelope.h"
#include "serialization/mp.h"

/* --- writing ----------------------------------------------------------------- */

void mf__pack_raw(mf_pack *p, const void *data, size_t len)
{
    if (p->err != MF_OK || len == 0)
        return;
    if (len > p->cap - p->len) {
        size_t cap = p->cap ? p->cap : 64;
        while (cap - p->len < len) {
            if (cap > SIZE_MAX / 2) {
                p->err = MF_ENOMEM;
                return;
            }
            cap *= 2;
        }
        char *d = realloc(p->data, cap);
        if (d == NULL) {
            p->err = MF_ENOMEM;
            return;
        }
        p->data = d;
        p->cap = cap;
    }
    memcpy(p->data + p->len, data, len);
    p->len += len;
}

void mf__msg_hello(mf_pack *p, int64_t rank, const char *host,
                   uint64_t ntasks, uint64_t names_hash, int64_t pid)
{
    mf_pack_array(p, 6);
    mf_pack_u64(p, MF__MSG_HELLO);
    mf_pack_i64(p, rank);
    mf_pack_cstr(p, host ? host : "");
    mf_pack_u64(p, ntasks);
    mf_pack_u64(p, names_hash);
    mf_pack_i64(p, pid);
}

void mf__msg_tasks_begin(mf_pack *p, uint32_t n)
{
    mf_pack_array(p, 3);
    mf_pack_u64(p, MF__MSG_TASKS);
    mf_pack_u64(p, MF__MSG_MAX);
    mf_pack_array(p, n);
}

size_t mf__msg_tasks_begin_max(mf_pack *p, uint64_t max_message)
{
    mf_pack_array(p, 3);
    mf_pack_u64(p, MF__MSG_TASKS);
    mf_pack_u64(p, max_message);
    static const unsigned char array32[5] = {0xdd, 0, 0, 0, 0};
    mf__pack_raw(p, array32, sizeof array32);
    return p->len - 4;
}

size_t mf__msg_tasks_begin_open(mf_pack *p)
{
    return mf__msg_tasks_begin_max(p, MF__MSG_MAX);
}

void mf__msg_patch_u32(mf_pack *p, size_t off, uint32_t v)
{
    if (p->err != MF_OK || off + 4 > p->len)
        return;
    for (int i = 0; i < 4; i++)
        p->data[off + (size_t)i] = (char)(unsigned char)(v >> (24 - 8 * i));
}

void mf__msg_task(mf_pack *p, uint64_t id, uint32_t task_id,
                  const void *args, size_t args_len)
{
    static const char empty_array = (char)0x90;
    mf_pack_array(p, 3);
    mf_pack_u64(p, id);
    mf_pack_u64(p, task_id);
    if (args_len == 0)
        mf__pack_raw(p, &empty_array, 1);
    else
        mf__pack_raw(p, args, args_len);
}

void mf__msg_results_begin(mf_pack *p, int64_t rank, uint32_t n)
{
    mf_pack_array(p, 3);
    mf_pack_u64(p, MF__MSG_RESULTS);
    mf_pack_i64(p, rank);
    mf_pack_array(p, n);
}

/* The three times; the last as a fixed-width uint64 (0xcf + 8 bytes) so
 * that it can be patched once known. Returns the offset of its 8 bytes. */
static size_t times(mf_pack *p, uint64_t a, uint64_t b, uint64_t c)
{
    mf_pack_u64(p, a);
    mf_pack_u64(p, b);
    unsigned char fixed[9] = {0xcf};
    for (int i = 0; i < 8; i++)
        fixed[1 + i] = (unsigned char)(c >> (56 - 8 * i));
    mf__pack_raw(p, fixed, sizeof fixed);
    return p->len - 8;
}

void mf__msg_patch_u64(mf_pack *p, size_t off, uint64_t v)
{
    if (p->err != MF_OK || off + 8 > p->len)
        return;
    for (int i = 0; i < 8; i++)
        p->data[off + (size_t)i] = (char)(unsigned char)(v >> (56 - 8 * i));
}

size_t mf__msg_result_ok(mf_pack *p, uint64_t id, const void *value,
                         size_t value_len, uint64_t t_unpack_ns,
                         uint64_t t_run_ns, uint64_t t_pack_ns)
{
    mf_pack_array(p, 6);
    mf_pack_u64(p, id);
    mf_pack_u64(p, 0);
    if (value_len == 0)
        mf_pack_nil(p);
    else
        mf__pack_raw(p, value, value_len);
    return times(p, t_unpack_ns, t_run_ns, t_pack_ns);
}

size_t mf__msg_result_err(mf_pack *p, uint64_t id, int64_t code,
                          const char *kind, const char *message,
                          uint64_t t_unpack_ns, uint64_t t_run_ns,
                          uint64_t t_pack_ns)
{
    mf_pack_array(p, 6);
    mf_pack_u64(p, id);
    mf_pack_u64(p, 1);
    mf_pack_array(p, 3);
    mf_pack_i64(p, code);
    mf_pack_cstr(p, kind ? kind : "Error");
    mf_pack_cstr(p, message ? message : "");
    return times(p, t_unpack_ns, t_run_ns, t_pack_ns);
}

void mf__msg_stop(mf_pack *p)
{
    mf_pack_array(p, 1);
    mf_pack_u64(p, MF__MSG_STOP);
}

void mf__msg_broken(mf_pack *p, int64_t rank, const char *message)
{
    mf_pack_array(p, 3);
    mf_pack_u64(p, MF__MSG_BROKEN);
    mf_pack_i64(p, rank);
    mf_pack_cstr(p, message ? message : "");
}

/* --- reading ----------------------------------------------------------------- */

/* A message may nest 3 levels deeper than the values it carries: TASKS
 * arguments and RESULTS values sit at level 4 (the message, its list, the
 * entry, the value; envelope.h), and each may itself nest MF__MP_MAX_DEPTH
 * levels, as mf_executor_submit and mf__task_run allow. With this limit
 * exactly those values fit: one nested deeper fails the whole message, as
 * before. */
#define MSG_DEPTH (MF__MP_MAX_DEPTH + 3)

/* A cursor over the elements of one array. */
struct cur {
    const void *buf;
    size_t len;
    size_t off;
    uint32_t left;
};

static int bad(const char *what)
{
    return mf__seterr(MF_EDECODE, "malformed pool message: %s", what);
}

/* Enter the array v (whose encoding spans v->via.seq). */
static int enter(const mf_value *v, struct cur *c, uint32_t want,
                 const char *what)
{
    if (v->type != MF_VALUE_ARRAY)
        return bad(what);
    if (want != 0 && v->via.seq.count != want)
        return bad(what);
    c->buf = v->via.seq.ptr;
    c->len = v->via.seq.len;
    c->off = mf__mp_seq_body(v);
    c->left = v->via.seq.count;
    return MF_OK;
}

static int next(struct cur *c, mf_value *v, size_t *start)
{
    if (c->left == 0)
        return bad("too few elements");
    if (start)
        *start = c->off;
    int rc = mf__mp_next_depth(c->buf, c->len, &c->off, v, MSG_DEPTH);
    if (rc != MF_OK)
        return rc;
    c->left--;
    return MF_OK;
}

static int next_u64(struct cur *c, uint64_t *out, const char *what)
{
    mf_value v;
    int rc = next(c, &v, NULL);
    if (rc != MF_OK)
        return rc;
    if (v.type == MF_VALUE_UINT)
        *out = v.via.u;
    else if (v.type == MF_VALUE_INT && v.via.i >= 0)
        *out = (uint64_t)v.via.i;
    else
        return bad(what);
    return MF_OK;
}

static int next_i64(struct cur *c, int64_t *out, const char *what)
{
    mf_value v;
    int rc = next(c, &v, NULL);
    if (rc != MF_OK)
        return rc;
    if (mf_value_i64(&v, out) != MF_OK)
        return bad(what);
    return MF_OK;
}

static int next_str(struct cur *c, mf_value *out, const char *what)
{
    int rc = next(c, out, NULL);
    if (rc != MF_OK)
        return rc;
    return out->type == MF_VALUE_STR ? MF_OK : bad(what);
}

/* Validate buf as one array and open it, reading the kind. */
static int open_msg(const void *buf, size_t len, struct cur *c, int *kind)
{
    mf_value v;
    int rc = mf__mp_decode_depth(buf, len, &v, MSG_DEPTH);
    if (rc != MF_OK)
        return rc;
    if (v.type != MF_VALUE_ARRAY || v.via.seq.count == 0)
        return bad("not a non-empty array");
    enter(&v, c, 0, "");
    uint64_t k;
    rc = next_u64(c, &k, "kind is not a small integer");
    if (rc != MF_OK)
        return rc;
    if (k > MF__MSG_BROKEN)
        return mf__seterr(MF_EDECODE, "unknown pool message kind %llu",
                          (unsigned long long)k);
    *kind = (int)k;
    return MF_OK;
}

int mf__msg_kind(const void *buf, size_t len, int *kind)
{
    struct cur c;
    return open_msg(buf, len, &c, kind);
}

static int open_kind(const void *buf, size_t len, struct cur *c, int want,
                     uint32_t count)
{
    int kind;
    int rc = open_msg(buf, len, c, &kind);
    if (rc != MF_OK)
        return rc;
    if (kind != want)
        return mf__seterr(MF_EDECODE, "expected pool message kind %d, got %d",
                          want, kind);
    if (c->left + 1 != count)
        return bad("wrong number of fields");
    return MF_OK;
}

int mf__msg_read_hello(const void *buf, size_t len, struct mf__hello *out)
{
    struct cur c;
    int rc = open_kind(buf, len, &c, MF__MSG_HELLO, 6);
    if (rc == MF_OK)
        rc = next_i64(&c, &out->rank, "HELLO rank");
    if (rc == MF_OK)
        rc = next_str(&c, &out->host, "HELLO host");
    if (rc == MF_OK)
        rc = next_u64(&c, &out->ntasks, "HELLO ntasks");
    if (rc == MF_OK)
        rc = next_u64(&c, &out->names_hash, "HELLO names_hash");
    if (rc == MF_OK)
        rc = next_i64(&c, &out->pid, "HELLO pid");
    return rc;
}

static int open_list(struct cur *c, struct mf__msg_iter *it, const char *what)
{
    mf_value v;
    struct cur l = {0};
    int rc = next(c, &v, NULL);
    if (rc == MF_OK)
        rc = enter(&v, &l, 0, what);
    if (rc != MF_OK)
        return rc;
    it->buf = l.buf;
    it->len = l.len;
    it->off = l.off;
    it->left = l.left;
    return MF_OK;
}

int mf__msg_read_tasks_max(const void *buf, size_t len,
                           struct mf__msg_iter *it, uint64_t *max_message)
{
    struct cur c;
    uint64_t max;
    int rc = open_kind(buf, len, &c, MF__MSG_TASKS, 3);
    if (rc == MF_OK)
        rc = next_u64(&c, &max, "TASKS max_message");
    if (rc == MF_OK && (max == 0 || max > MF__MSG_MAX))
        rc = mf__seterr(MF_EDECODE,
                        "malformed pool message: TASKS max_message %llu is "
                        "not in 1..%zu",
                        (unsigned long long)max, MF__MSG_MAX);
    if (rc == MF_OK)
        rc = open_list(&c, it, "TASKS list");
    if (rc == MF_OK && max_message != NULL)
        *max_message = max;
    return rc;
}

int mf__msg_read_tasks(const void *buf, size_t len, struct mf__msg_iter *it)
{
    return mf__msg_read_tasks_max(buf, len, it, NULL);
}

/* Open the next entry of it as an array of `fields`, reading its id. */
static int open_entry(struct mf__msg_iter *it, struct cur *e, uint32_t fields,
                      uint64_t *id, int *id_ok, const char *what)
{
    struct cur l = {it->buf, it->len, it->off, it->left};
    mf_value v;
    *id_ok = 0;
    if (it->left == 0)
        return MF_EOF;
    int rc = next(&l, &v, NULL);
    if (rc != MF_OK)
        return rc;
    it->off = l.off;
    it->left = l.left;
    if (v.type != MF_VALUE_ARRAY || v.via.seq.count == 0)
        return bad(what);
    enter(&v, e, 0, what);
    rc = next_u64(e, id, "entry id");
    if (rc != MF_OK)
        return rc;
    *id_ok = 1;
    if (v.via.seq.count != fields)
        return bad(what);
    return MF_OK;
}

int mf__msg_next_task(struct mf__msg_iter *it, struct mf__task_msg *out,
                      int *id_ok)
{
    struct cur e;
    int rc = open_entry(it, &e, 3, &out->id, id_ok, "TASKS entry");
    if (rc != MF_OK)
        return rc;
    uint64_t tid;
    rc = next_u64(&e, &tid, "task id");
    if (rc != MF_OK)
        return rc;
    if (tid > UINT32_MAX)
        return bad("task id out of range");
    out->task_id = (uint32_t)tid;
    mf_value args;
    size_t start;
    rc = next(&e, &args, &start);
    if (rc != MF_OK)
        return rc;
    if (args.type != MF_VALUE_ARRAY)
        return mf__seterr(MF_ETYPE,
                          "an argument list must be a MessagePack array, not "
                          "%s",
                          mf_value_type_name(args.type));
    out->args = args.via.seq.ptr;
    out->args_len = args.via.seq.len;
    return MF_OK;
}

int mf__msg_read_results(const void *buf, size_t len, int64_t *rank,
                         struct mf__msg_iter *it)
{
    struct cur c;
    int rc = open_kind(buf, len, &c, MF__MSG_RESULTS, 3);
    if (rc == MF_OK)
        rc = next_i64(&c, rank, "RESULTS rank");
    return rc == MF_OK ? open_list(&c, it, "RESULTS list") : rc;
}

int mf__msg_next_result(struct mf__msg_iter *it, struct mf__result_msg *out,
                        int *id_ok)
{
    struct cur e;
    int rc = open_entry(it, &e, 6, &out->id, id_ok, "RESULTS entry");
    if (rc != MF_OK)
        return rc;
    uint64_t status;
    rc = next_u64(&e, &status, "result status");
    if (rc != MF_OK)
        return rc;
    if (status > 1)
        return bad("result status is neither 0 nor 1");
    out->failed = (int)status;
    mf_value v;
    size_t start;
    rc = next(&e, &v, &start);
    if (rc != MF_OK)
        return rc;
    if (!out->failed) {
        out->value = (const char *)e.buf + start;
        out->value_len = e.off - start;
    } else {
        struct cur x;
        rc = enter(&v, &x, 3, "error triple");
        if (rc == MF_OK)
            rc = next_i64(&x, &out->code, "error code");
        if (rc == MF_OK)
            rc = next_str(&x, &out->kind, "error kind");
        if (rc == MF_OK)
            rc = next_str(&x, &out->message, "error message");
        if (rc != MF_OK)
            return rc;
        out->value = NULL;
        out->value_len = 0;
    }
    rc = next_u64(&e, &out->t_unpack_ns, "t_unpack");
    if (rc == MF_OK)
        rc = next_u64(&e, &out->t_run_ns, "t_run");
    if (rc == MF_OK)
        rc = next_u64(&e, &out->t_pack_ns, "t_pack");
    return rc;
}

int mf__msg_read_broken(const void *buf, size_t len, int64_t *rank,
                        mf_value *message)
{
    struct cur c;
    int rc = open_kind(buf, len, &c, MF__MSG_BROKEN, 3);
    if (rc == MF_OK)
        rc = next_i64(&c, rank, "BROKEN rank");
    if (rc == MF_OK)
        rc = next_str(&c, message, "BROKEN message");
    return rc;
}
