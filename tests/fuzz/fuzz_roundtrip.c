/*
 * tests/fuzz/fuzz_roundtrip.c -- structure-aware: the input is not a
 * message but a recipe. It drives the writers (mf_pack_*, mf_pack_fmt and
 * every mf__msg_* writer of envelope.h) to build a value tree and then pool
 * messages carrying it; the readers must give back exactly what was
 * written. This reaches what byte-level fuzzing rarely builds: long str32
 * and bin32 payloads, array32 headers, nesting right at the limit, and
 * messages whose embedded values are valid but large or deep.
 *
 * Invariants checked:
 * - a value tree decodes (mf_value_decode) if and only if it nests at most
 *   MF__MP_MAX_DEPTH levels, and then reads back node for node, in order
 *   and through mf_value_at;
 * - whatever a writer produces from valid parts (an argument list or a
 *   result that decodes), its reader accepts and returns field for field;
 *   exactly one reader accepts each message; no strict prefix of a message,
 *   and no message with a byte after it, is accepted.
 */
#include "serialization/envelope.h"
#include "tests/fuzz/fuzz.h"

/* --- reading the recipe ------------------------------------------------- */

struct src {
    const uint8_t *p;
    size_t n;
};

static uint8_t take8(struct src *s)
{
    if (s->n == 0)
        return 0;
    s->n--;
    return *s->p++;
}

/* `bytes` bytes, big-endian; zeros once the recipe runs out. */
static uint64_t take(struct src *s, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | take8(s);
    return v;
}

/* An integer of 1, 2, 4 or 8 bytes (the recipe picks), so that small values
 * and every encoding width are all common. */
static uint64_t take_u(struct src *s)
{
    return take(s, 1 << (take8(s) % 4));
}

static int64_t take_i(struct src *s)
{
    int w = 1 << (take8(s) % 4);
    uint64_t v = take(s, w);
    if (w < 8 && (v >> (8 * w - 1)) != 0)
        v |= ~(uint64_t)0 << (8 * w); /* sign-extend */
    return (int64_t)v;
}

/* A length for a long payload: half the time one at an encoding boundary
 * (fixstr/str8/str16/str32 and bin8/16/32: the edge, one or two past), else
 * small. Payload bytes are cheap to check. */
static size_t take_len(struct src *s)
{
    static const size_t edge[] = {0, 31, 255, 65535};
    uint8_t c = take8(s);
    if (c & 1)
        return edge[(c >> 1) % 4] + take8(s) % 3;
    return (size_t)(take(s, 2) % 1024);
}

/* An element count for a wide array: array16 vs fixarray often, array32
 * (65536 elements, each parsed at every level above it) rarely. */
static uint32_t take_count(struct src *s)
{
    uint8_t c = take8(s);
    if (c & 1)
        return ((c >> 1) % 16 == 15 ? 65535 : 15) + take8(s) % 3;
    return (uint32_t)(take(s, 1) % 64);
}

/* A NUL-free string of at most max bytes from the recipe (for the
 * C-string writers). Caller frees. */
static char *take_cstr(struct src *s, size_t max)
{
    size_t n = take8(s) % (max + 1);
    char *c = malloc(n + 1);
    FZ_CHECK(c != NULL);
    size_t i = 0;
    while (i < n && s->n > 0) {
        uint8_t b = take8(s);
        c[i++] = (char)(b ? b : 'x');
    }
    c[i] = '\0';
    return c;
}

/* --- the value tree ----------------------------------------------------- */

enum kind {
    K_NIL,
    K_BOOL,
    K_INT,
    K_UINT,
    K_FLOAT,
    K_STR,
    K_BIN,
    K_ARRAY,
    K_MAP,
    K_WIDE
};

/* One value as written, in preorder; containers are followed by their
 * elements (2 * count for maps). K_WIDE is an array of `u` small integers
 * i % 128, written without a node each. */
struct node {
    enum kind kind;
    uint64_t u; /* bool, integer bits, float bits, element count */
    uint8_t *bytes;
    size_t len;
};

#define MAX_NODES   4096
#define ROOM        (6 * (MF__MP_MAX_DEPTH + 9) + 70)
#define MAX_PAYLOAD ((size_t)256 << 10) /* str/bin bytes per recipe */
#define MAX_WIDE    140000              /* K_WIDE elements per recipe */

struct tree {
    struct src s;
    mf_pack *p;
    struct node nodes[MAX_NODES];
    size_t n;
    size_t payload, wide;
    int max_level; /* deepest container: 1 for a top-level array */
};

static struct node *add(struct tree *t, enum kind k, uint64_t u)
{
    FZ_CHECK(t->n < MAX_NODES);
    struct node *nd = &t->nodes[t->n++];
    nd->kind = k;
    nd->u = u;
    nd->bytes = NULL;
    nd->len = 0;
    return nd;
}

/* A str or bin of len bytes: the recipe's next bytes, then a fill byte. */
static void payload(struct tree *t, enum kind k, size_t len)
{
    if (len > MAX_PAYLOAD - t->payload)
        len = 0;
    t->payload += len;
    struct node *nd = add(t, k, 0);
    nd->bytes = malloc(len ? len : 1);
    FZ_CHECK(nd->bytes != NULL);
    uint8_t fill = take8(&t->s);
    for (size_t i = 0; i < len; i++)
        nd->bytes[i] = t->s.n ? take8(&t->s) : fill;
    nd->len = len;
    if (k == K_STR)
        mf_pack_str(t->p, (const char *)nd->bytes, len);
    else
        mf_pack_bin(t->p, nd->bytes, len);
}

/* Write one value whose enclosing containers number `level`. */
static void gen(struct tree *t, int level)
{
    /* Nothing is gained (but stack) nesting far past the limit. Once
     * short of room every value is a nil, but the elements already
     * promised still take a node each: at most 6 per enclosing container
     * (<= MF__MP_MAX_DEPTH + 9 of them), plus a chain's 69. */
    if (t->n + ROOM >= MAX_NODES || t->s.n == 0 ||
        level > MF__MP_MAX_DEPTH + 8) {
        add(t, K_NIL, 0);
        mf_pack_nil(t->p);
        return;
    }
    uint8_t op = take8(&t->s) % 16;
    switch (op) {
    case 0:
        add(t, K_NIL, 0);
        mf_pack_nil(t->p);
        break;
    case 1: {
        int b = take8(&t->s) & 1;
        add(t, K_BOOL, (uint64_t)b);
        mf_pack_bool(t->p, b);
        break;
    }
    case 2:
    case 3: {
        int64_t v = op == 2 ? (int8_t)take8(&t->s) : take_i(&t->s);
        add(t, K_INT, (uint64_t)v);
        mf_pack_i64(t->p, v);
        break;
    }
    case 4: {
        uint64_t v = take_u(&t->s);
        add(t, K_UINT, v);
        mf_pack_u64(t->p, v);
        break;
    }
    case 5: {
        uint64_t bits = take(&t->s, 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        add(t, K_FLOAT, bits);
        mf_pack_f64(t->p, d);
        break;
    }
    case 6:
    case 7:
        payload(t, K_STR, take8(&t->s) % 40);
        break;
    case 8:
        payload(t, K_BIN, take8(&t->s) % 40);
        break;
    case 9: /* long enough for str16/str32 and bin16/bin32 */
        payload(t, take8(&t->s) & 1 ? K_STR : K_BIN, take_len(&t->s));
        break;
    case 10:
    case 11:
    case 12: {
        int map = op == 12;
        uint32_t count = take8(&t->s) % (map ? 4 : 7);
        add(t, map ? K_MAP : K_ARRAY, count);
        if (level + 1 > t->max_level)
            t->max_level = level + 1;
        if (map)
            mf_pack_map(t->p, count);
        else
            mf_pack_array(t->p, count);
        for (uint32_t i = 0; i < (map ? 2 * count : count); i++)
            gen(t, level + 1);
        break;
    }
    case 13: { /* a chain of one-element arrays, around the depth limit */
        int d = 56 + take8(&t->s) % 14;
        for (int i = 0; i < d; i++) {
            add(t, K_ARRAY, 1);
            mf_pack_array(t->p, 1);
        }
        if (level + d > t->max_level)
            t->max_level = level + d;
        gen(t, level + d);
        break;
    }
    case 14: { /* a wide array (array16/array32 headers) */
        uint32_t count = take_count(&t->s);
        if (count > MAX_WIDE - t->wide)
            count = 0;
        t->wide += count;
        add(t, K_WIDE, count);
        if (level + 1 > t->max_level)
            t->max_level = level + 1;
        mf_pack_array(t->p, count);
        for (uint32_t i = 0; i < count; i++)
            mf_pack_u64(t->p, i % 128);
        break;
    }
    default: { /* an empty container */
        int map = take8(&t->s) & 1;
        add(t, map ? K_MAP : K_ARRAY, 0);
        if (level + 1 > t->max_level)
            t->max_level = level + 1;
        if (map)
            mf_pack_map(t->p, 0);
        else
            mf_pack_array(t->p, 0);
        break;
    }
    }
}

/* The decoded value v is node *k of the tree (and its elements follow). */
static void check(const struct tree *t, size_t *k, const mf_value *v)
{
    const struct node *nd = &t->nodes[(*k)++];
    switch (nd->kind) {
    case K_NIL:
        FZ_CHECK(v->type == MF_VALUE_NIL);
        return;
    case K_BOOL:
        FZ_CHECK(v->type == MF_VALUE_BOOL && v->via.b == (nd->u != 0));
        return;
    case K_INT:
        /* msgpack-c writes a non-negative int64 in an unsigned format */
        if ((int64_t)nd->u >= 0)
            FZ_CHECK(v->type == MF_VALUE_UINT && v->via.u == nd->u);
        else
            FZ_CHECK(v->type == MF_VALUE_INT && v->via.i == (int64_t)nd->u);
        return;
    case K_UINT:
        FZ_CHECK(v->type == MF_VALUE_UINT && v->via.u == nd->u);
        return;
    case K_FLOAT:
        FZ_CHECK(v->type == MF_VALUE_FLOAT &&
                 memcmp(&v->via.f, &nd->u, 8) == 0);
        return;
    case K_STR:
        FZ_CHECK(v->type == MF_VALUE_STR && v->via.str.len == nd->len &&
                 memcmp(v->via.str.ptr, nd->bytes, nd->len) == 0);
        return;
    case K_BIN:
        FZ_CHECK(v->type == MF_VALUE_BIN && v->via.bin.len == nd->len &&
                 memcmp(v->via.bin.ptr, nd->bytes, nd->len) == 0);
        return;
    case K_ARRAY:
    case K_MAP:
    case K_WIDE:
        break;
    }
    int map = nd->kind == K_MAP;
    FZ_CHECK(v->type == (map ? MF_VALUE_MAP : MF_VALUE_ARRAY));
    FZ_CHECK(v->via.seq.count == nd->u);
    uint64_t n = nd->u << (map ? 1 : 0);
    size_t off = mf__mp_seq_body(v);
    for (uint64_t i = 0; i < n; i++) {
        mf_value e, a;
        FZ_CHECK(mf__mp_next(v->via.seq.ptr, v->via.seq.len, &off, &e) ==
                 MF_OK);
        /* mf_value_at re-skips every element before i: only on small
         * containers, or chains around a wide array cost seconds. */
        if ((i == 0 || i + 1 == n) && v->via.seq.len <= 4096) {
            FZ_CHECK(mf_value_at(v, (uint32_t)i, &a) == MF_OK);
            FZ_CHECK(fz_same(&a, &e));
        }
        if (nd->kind == K_WIDE)
            FZ_CHECK(e.type == MF_VALUE_UINT && e.via.u == i % 128);
        else
            check(t, k, &e);
    }
    FZ_CHECK(off == v->via.seq.len);
}

/* --- messages ----------------------------------------------------------- */

/* Exactly one reader accepts msg: the one for `want`; and strictness sees
 * a cut or an extra byte. */
static void check_kind(const mf_pack *m, int want)
{
    int kind = -1;
    FZ_CHECK(mf__msg_kind(m->data, m->len, &kind) == MF_OK && kind == want);
    struct mf__hello h;
    struct mf__msg_iter it;
    int64_t rank;
    mf_value s;
    FZ_CHECK((mf__msg_read_hello(m->data, m->len, &h) == MF_OK) ==
             (want == MF__MSG_HELLO));
    FZ_CHECK((mf__msg_read_tasks(m->data, m->len, &it) == MF_OK) ==
             (want == MF__MSG_TASKS));
    FZ_CHECK((mf__msg_read_results(m->data, m->len, &rank, &it) == MF_OK) ==
             (want == MF__MSG_RESULTS));
    FZ_CHECK((mf__msg_read_broken(m->data, m->len, &rank, &s) == MF_OK) ==
             (want == MF__MSG_BROKEN));
    FZ_CHECK(mf__msg_kind(m->data, m->len - 1, &kind) == MF_EDECODE);
    char *more = malloc(m->len + 1);
    FZ_CHECK(more != NULL);
    memcpy(more, m->data, m->len);
    more[m->len] = (char)0xc0;
    FZ_CHECK(mf__msg_kind(more, m->len + 1, &kind) == MF_EDECODE);
    free(more);
}

static int str_eq(const mf_value *s, const char *c)
{
    return s->type == MF_VALUE_STR && s->via.str.len == strlen(c) &&
           memcmp(s->via.str.ptr, c, s->via.str.len) == 0;
}

static void msg_hello(struct src *s)
{
    int64_t rank = take_i(s), pid = take_i(s);
    uint64_t ntasks = take_u(s), hash = take(s, 8);
    char *host = take_cstr(s, 80);
    mf_pack m;
    mf_pack_init(&m);
    mf__msg_hello(&m, rank, host, ntasks, hash, pid);
    check_kind(&m, MF__MSG_HELLO);
    struct mf__hello h;
    FZ_CHECK(mf__msg_read_hello(m.data, m.len, &h) == MF_OK);
    FZ_CHECK(h.rank == rank && h.ntasks == ntasks && h.names_hash == hash &&
             h.pid == pid && str_eq(&h.host, host));
    mf_pack_fini(&m);
    free(host);
}

static void msg_broken(struct src *s)
{
    int64_t rank = take_i(s);
    char *text = take_cstr(s, 255);
    mf_pack m;
    mf_pack_init(&m);
    mf__msg_broken(&m, rank, text);
    check_kind(&m, MF__MSG_BROKEN);
    int64_t r;
    mf_value v;
    FZ_CHECK(mf__msg_read_broken(m.data, m.len, &r, &v) == MF_OK);
    FZ_CHECK(r == rank && str_eq(&v, text));
    mf_pack_fini(&m);
    free(text);
}

static void msg_stop(void)
{
    mf_pack m;
    mf_pack_init(&m);
    mf__msg_stop(&m);
    check_kind(&m, MF__MSG_STOP);
    mf_pack_fini(&m);
}

#define MAX_ENTRIES 6

/* TASKS: entries whose arguments are nothing, the value itself (when it is
 * an array) or the value wrapped in a one-element array (when that still
 * makes a valid argument list: mf_executor_submit refuses deeper ones). */
static void msg_tasks(struct src *s, const mf_pack *val, int val_array,
                      int wrap_ok)
{
    mf_pack wrap, m;
    mf_pack_init(&wrap);
    mf_pack_array(&wrap, 1);
    mf__pack_raw(&wrap, val->data, val->len);
    mf_pack_init(&m);
    uint32_t n = take8(s) % (MAX_ENTRIES + 1);
    /* Three headers: counted, open (patched later), open with a cap. */
    int header = take8(s) % 3;
    uint64_t max = MF__MSG_MAX;
    size_t count_at = 0;
    if (header == 0) {
        mf__msg_tasks_begin(&m, n);
    } else if (header == 1) {
        count_at = mf__msg_tasks_begin_open(&m);
    } else {
        max = take_u(s); /* 0 and above MF__MSG_MAX too: must be refused */
        count_at = mf__msg_tasks_begin_max(&m, max);
    }
    uint64_t id[MAX_ENTRIES];
    uint32_t tid[MAX_ENTRIES];
    const mf_pack *args[MAX_ENTRIES];
    for (uint32_t i = 0; i < n; i++) {
        id[i] = take_u(s);
        tid[i] = (uint32_t)take_u(s);
        int which = take8(s) % 3;
        args[i] = which == 1 && val_array ? val
                  : which != 0 && wrap_ok ? &wrap
                                          : NULL;
        mf__msg_task(&m, id[i], tid[i], args[i] ? args[i]->data : NULL,
                     args[i] ? args[i]->len : 0);
    }
    if (header != 0)
        mf__msg_patch_u32(&m, count_at, n);
    FZ_CHECK(mf_pack_error(&m) == MF_OK);
    struct mf__msg_iter it;
    uint64_t max2 = 0;
    if (max == 0 || max > MF__MSG_MAX) {
        FZ_CHECK(mf__msg_read_tasks_max(m.data, m.len, &it, &max2) ==
                 MF_EDECODE);
        goto out;
    }
    check_kind(&m, MF__MSG_TASKS);
    FZ_CHECK(mf__msg_read_tasks_max(m.data, m.len, &it, &max2) == MF_OK);
    FZ_CHECK(max2 == max && it.left == n);
    for (uint32_t i = 0; i < n; i++) {
        struct mf__task_msg t;
        int id_ok;
        FZ_CHECK(mf__msg_next_task(&it, &t, &id_ok) == MF_OK && id_ok);
        FZ_CHECK(t.id == id[i] && t.task_id == tid[i]);
        if (args[i] == NULL)
            FZ_CHECK(t.args_len == 1 && *(const uint8_t *)t.args == 0x90);
        else
            FZ_CHECK(t.args_len == args[i]->len &&
                     memcmp(t.args, args[i]->data, t.args_len) == 0);
    }
    struct mf__task_msg t;
    int id_ok;
    FZ_CHECK(mf__msg_next_task(&it, &t, &id_ok) == MF_EOF);
out:
    mf_pack_fini(&m);
    mf_pack_fini(&wrap);
}

/* RESULTS: entries that succeeded (with the value, or nothing: nil) or
 * failed (code, kind, message), with times, some patched afterwards. */
static void msg_results(struct src *s, const mf_pack *val)
{
    struct {
        uint64_t id, t[3];
        int failed, with_value;
        int64_t code;
        char *kind, *message;
    } e[MAX_ENTRIES];
    int64_t rank = take_i(s);
    uint32_t n = take8(s) % (MAX_ENTRIES + 1);
    mf_pack m;
    mf_pack_init(&m);
    mf__msg_results_begin(&m, rank, n);
    for (uint32_t i = 0; i < n; i++) {
        e[i].id = take_u(s);
        e[i].failed = take8(s) & 1;
        e[i].with_value = take8(s) & 1;
        for (int j = 0; j < 3; j++)
            e[i].t[j] = take_u(s);
        e[i].kind = e[i].message = NULL;
        size_t at;
        if (e[i].failed) {
            e[i].code = take_i(s);
            e[i].kind = take_cstr(s, 40);
            e[i].message = take_cstr(s, 255);
            at = mf__msg_result_err(&m, e[i].id, e[i].code, e[i].kind,
                                    e[i].message, e[i].t[0], e[i].t[1], 0);
        } else {
            at = mf__msg_result_ok(
                &m, e[i].id, e[i].with_value ? val->data : NULL,
                e[i].with_value ? val->len : 0, e[i].t[0], e[i].t[1], 0);
        }
        mf__msg_patch_u64(&m, at, e[i].t[2]);
    }
    FZ_CHECK(mf_pack_error(&m) == MF_OK);
    check_kind(&m, MF__MSG_RESULTS);
    int64_t r;
    struct mf__msg_iter it;
    FZ_CHECK(mf__msg_read_results(m.data, m.len, &r, &it) == MF_OK);
    FZ_CHECK(r == rank && it.left == n);
    for (uint32_t i = 0; i < n; i++) {
        struct mf__result_msg x;
        int id_ok;
        FZ_CHECK(mf__msg_next_result(&it, &x, &id_ok) == MF_OK && id_ok);
        FZ_CHECK(x.id == e[i].id && x.failed == e[i].failed);
        FZ_CHECK(x.t_unpack_ns == e[i].t[0] && x.t_run_ns == e[i].t[1] &&
                 x.t_pack_ns == e[i].t[2]);
        if (e[i].failed)
            FZ_CHECK(x.code == e[i].code && str_eq(&x.kind, e[i].kind) &&
                     str_eq(&x.message, e[i].message));
        else if (e[i].with_value)
            FZ_CHECK(x.value_len == val->len &&
                     memcmp(x.value, val->data, val->len) == 0);
        else
            FZ_CHECK(x.value_len == 1 && *(const uint8_t *)x.value == 0xc0);
        free(e[i].kind);
        free(e[i].message);
    }
    mf_pack_fini(&m);
}

/* mf_pack_fmt with every format character, read back. */
static void fmt(struct src *s)
{
    int b = take8(s) & 1, i = (int)take_i(s);
    long long l = (long long)take_i(s);
    unsigned long long u = take_u(s);
    uint64_t bits = take(s, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    char *str = take_cstr(s, 40);
    uint8_t bin[4] = {take8(s), take8(s), take8(s), take8(s)};
    size_t binlen = take8(s) % 5;
    mf_pack p;
    mf_pack_init(&p);
    FZ_CHECK(mf_pack_fmt(&p, "[nbilud[s]y]", b, i, l, u, d, str,
                         (const void *)bin, binlen) == MF_OK);
    mf_value v, e;
    FZ_CHECK(mf_value_decode(p.data, p.len, &v) == MF_OK);
    FZ_CHECK(v.type == MF_VALUE_ARRAY && v.via.seq.count == 8);
    int64_t iv;
    FZ_CHECK(mf_value_at(&v, 0, &e) == MF_OK && e.type == MF_VALUE_NIL);
    FZ_CHECK(mf_value_at(&v, 1, &e) == MF_OK && e.type == MF_VALUE_BOOL &&
             e.via.b == (b != 0));
    FZ_CHECK(mf_value_at(&v, 2, &e) == MF_OK &&
             mf_value_i64(&e, &iv) == MF_OK && iv == i);
    FZ_CHECK(mf_value_at(&v, 3, &e) == MF_OK &&
             mf_value_i64(&e, &iv) == MF_OK && iv == l);
    FZ_CHECK(mf_value_at(&v, 4, &e) == MF_OK && e.type == MF_VALUE_UINT &&
             e.via.u == u);
    FZ_CHECK(mf_value_at(&v, 5, &e) == MF_OK && e.type == MF_VALUE_FLOAT &&
             memcmp(&e.via.f, &bits, 8) == 0);
    mf_value in;
    FZ_CHECK(mf_value_at(&v, 6, &e) == MF_OK && e.type == MF_VALUE_ARRAY &&
             e.via.seq.count == 1 && mf_value_at(&e, 0, &in) == MF_OK &&
             str_eq(&in, str));
    FZ_CHECK(mf_value_at(&v, 7, &e) == MF_OK && e.type == MF_VALUE_BIN &&
             e.via.bin.len == binlen &&
             memcmp(e.via.bin.ptr, bin, binlen) == 0);
    mf_pack_fini(&p);
    free(str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tree t; /* large: not on the stack */
    mf_pack val;
    mf_pack_init(&val);
    t.s = (struct src){data, size};
    t.p = &val;
    t.n = t.payload = t.wide = 0;
    t.max_level = 0;

    if (take8(&t.s) & 1)
        fmt(&t.s);
    gen(&t, 0);
    FZ_CHECK(mf_pack_error(&val) == MF_OK);

    mf_value v;
    int rc = mf_value_decode(val.data, val.len, &v);
    if (t.max_level > MF__MP_MAX_DEPTH) {
        FZ_CHECK(rc == MF_EDECODE && strstr(mf_errmsg(), "nesting") != NULL);
        goto out;
    }
    FZ_CHECK(rc == MF_OK);
    size_t k = 0;
    check(&t, &k, &v);
    FZ_CHECK(k == t.n);

    /* Messages carrying the value, as long as the recipe lasts. */
    for (int i = 0; i < 4 && t.s.n > 0; i++) {
        switch (take8(&t.s) % 5) {
        case 0:
            msg_hello(&t.s);
            break;
        case 1:
            msg_tasks(&t.s, &val, v.type == MF_VALUE_ARRAY,
                      t.max_level < MF__MP_MAX_DEPTH);
            break;
        case 2:
            msg_results(&t.s, &val);
            break;
        case 3:
            msg_stop();
            break;
        default:
            msg_broken(&t.s);
            break;
        }
    }
out:
    for (size_t i = 0; i < t.n; i++)
        free(t.nodes[i].bytes);
    mf_pack_fini(&val);
    return 0;
}
