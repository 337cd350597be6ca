/*
 * tests/fuzz/fuzz_result_envelope.c -- everything rank 0 reads from a
 * worker, on arbitrary bytes: HELLO at start-up, then RESULTS or BROKEN
 * replies, read as ranks/mpi_pool.c reads them (mf__msg_kind first, then
 * the reader for that kind, then every entry of a RESULTS), with each
 * result value decoded and walked as mf_future_result and the user's
 * mf_value_at would.
 *
 * Invariants checked: exactly one reader accepts a message, the one for
 * the kind mf__msg_kind reported; every view lies inside the input; RESULTS
 * yields exactly the entry count it announced; a result that reads OK
 * holds one value that decodes alone (rank 0 stores those bytes as the
 * future's result and decodes them later); an entry that fails to read
 * fails alone; and whatever reads OK, written again with the writers from
 * the decoded fields, reads back identically.
 */
#include "serialization/envelope.h"
#include "tests/fuzz/fuzz.h"

/* The string view s equals the C string c. */
static int str_eq(const mf_value *s, const char *c)
{
    return s->type == MF_VALUE_STR && s->via.str.len == strlen(c) &&
           memcmp(s->via.str.ptr, c, s->via.str.len) == 0;
}

/* Whether a decoded string survives a C-string writer unchanged. */
static int no_nul(const mf_value *s)
{
    return memchr(s->via.str.ptr, 0, s->via.str.len) == NULL;
}

/* What rank 0 does with a string from a worker: print it with %.*s. */
static void print_view(const mf_value *s, const void *lo, size_t size)
{
    char buf[256];
    FZ_CHECK(s->type == MF_VALUE_STR);
    FZ_CHECK(fz_within(s->via.str.ptr, s->via.str.len, lo, size));
    FZ_CHECK(s->via.str.len <= (size_t)INT32_MAX);
    snprintf(buf, sizeof buf, "%.*s", (int)s->via.str.len, s->via.str.ptr);
}

static void check_hello(const uint8_t *data, size_t size)
{
    struct mf__hello h;
    FZ_CHECK(mf__msg_read_hello(data, size, &h) == MF_OK);
    print_view(&h.host, data, size);
    if (!no_nul(&h.host))
        return;
    char *host = fz_cstr(h.host.via.str.ptr, h.host.via.str.len);
    mf_pack p;
    mf_pack_init(&p);
    mf__msg_hello(&p, h.rank, host, h.ntasks, h.names_hash, h.pid);
    struct mf__hello g;
    FZ_CHECK(mf__msg_read_hello(p.data, p.len, &g) == MF_OK);
    FZ_CHECK(g.rank == h.rank && g.ntasks == h.ntasks &&
             g.names_hash == h.names_hash && g.pid == h.pid &&
             str_eq(&g.host, host));
    mf_pack_fini(&p);
    free(host);
}

static void check_broken(const uint8_t *data, size_t size)
{
    int64_t rank;
    mf_value m;
    FZ_CHECK(mf__msg_read_broken(data, size, &rank, &m) == MF_OK);
    print_view(&m, data, size);
    if (!no_nul(&m))
        return;
    char *msg = fz_cstr(m.via.str.ptr, m.via.str.len);
    mf_pack p;
    mf_pack_init(&p);
    mf__msg_broken(&p, rank, msg);
    int64_t r2;
    mf_value m2;
    FZ_CHECK(mf__msg_read_broken(p.data, p.len, &r2, &m2) == MF_OK);
    FZ_CHECK(r2 == rank && str_eq(&m2, msg));
    mf_pack_fini(&p);
    free(msg);
}

/* Read every entry of a RESULTS message; if all read OK (and survive the
 * C-string writers), write the message again and compare. */
static void check_results(const uint8_t *data, size_t size)
{
    int64_t rank;
    struct mf__msg_iter it;
    FZ_CHECK(mf__msg_read_results(data, size, &rank, &it) == MF_OK);
    FZ_CHECK(fz_within(it.buf, it.len, data, size));
    FZ_CHECK(it.off <= it.len && it.left <= it.len - it.off);
    uint32_t n = it.left, got = 0;
    struct mf__result_msg *rs = calloc(n ? n : 1, sizeof *rs);
    FZ_CHECK(rs != NULL);
    int all_ok = 1;
    for (;;) {
        struct mf__result_msg *r = &rs[got < n ? got : 0];
        int id_ok;
        int rc = mf__msg_next_result(&it, r, &id_ok);
        if (rc == MF_EOF)
            break;
        FZ_CHECK(got < n);
        got++;
        if (rc != MF_OK) {
            FZ_CHECK(rc == MF_EDECODE);
            all_ok = 0;
            continue;
        }
        FZ_CHECK(id_ok);
        if (r->failed) {
            print_view(&r->kind, data, size);
            print_view(&r->message, data, size);
            all_ok &= no_nul(&r->kind) && no_nul(&r->message);
        } else {
            FZ_CHECK(fz_within(r->value, r->value_len, data, size));
            mf_value v;
            FZ_CHECK(mf_value_decode(r->value, r->value_len, &v) == MF_OK);
            fz_walk(&v, data, size, 1);
        }
    }
    FZ_CHECK(got == n);
    if (!all_ok)
        goto out;

    mf_pack p;
    mf_pack_init(&p);
    mf__msg_results_begin(&p, rank, n);
    for (uint32_t i = 0; i < n; i++) {
        const struct mf__result_msg *r = &rs[i];
        size_t at;
        if (r->failed) {
            char *k = fz_cstr(r->kind.via.str.ptr, r->kind.via.str.len);
            char *m = fz_cstr(r->message.via.str.ptr, r->message.via.str.len);
            at = mf__msg_result_err(&p, r->id, r->code, k, m, r->t_unpack_ns,
                                    r->t_run_ns, 0);
            free(k);
            free(m);
        } else {
            at = mf__msg_result_ok(&p, r->id, r->value, r->value_len,
                                   r->t_unpack_ns, r->t_run_ns, 0);
        }
        mf__msg_patch_u64(&p, at, r->t_pack_ns);
    }
    FZ_CHECK(mf_pack_error(&p) == MF_OK);
    int64_t rank2;
    FZ_CHECK(mf__msg_read_results(p.data, p.len, &rank2, &it) == MF_OK);
    FZ_CHECK(rank2 == rank && it.left == n);
    for (uint32_t i = 0; i < n; i++) {
        const struct mf__result_msg *r = &rs[i];
        struct mf__result_msg s;
        int id_ok;
        FZ_CHECK(mf__msg_next_result(&it, &s, &id_ok) == MF_OK);
        FZ_CHECK(s.id == r->id && s.failed == r->failed &&
                 s.t_unpack_ns == r->t_unpack_ns && s.t_run_ns == r->t_run_ns &&
                 s.t_pack_ns == r->t_pack_ns);
        if (r->failed)
            FZ_CHECK(s.code == r->code &&
                     s.kind.via.str.len == r->kind.via.str.len &&
                     memcmp(s.kind.via.str.ptr, r->kind.via.str.ptr,
                            s.kind.via.str.len) == 0 &&
                     s.message.via.str.len == r->message.via.str.len &&
                     memcmp(s.message.via.str.ptr, r->message.via.str.ptr,
                            s.message.via.str.len) == 0);
        else
            FZ_CHECK(s.value_len == r->value_len &&
                     memcmp(s.value, r->value, s.value_len) == 0);
    }
    mf_pack_fini(&p);
out:
    free(rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int kind = -1;
    int rc = mf__msg_kind(data, size, &kind);
    FZ_CHECK(rc == MF_OK || rc == MF_EDECODE);

    /* Every reader, whatever the kind: only the right one may accept. */
    struct mf__hello h;
    int64_t rank;
    mf_value m;
    struct mf__msg_iter it;
    int hello = mf__msg_read_hello(data, size, &h);
    int broken = mf__msg_read_broken(data, size, &rank, &m);
    int results = mf__msg_read_results(data, size, &rank, &it);
    FZ_CHECK(hello == MF_OK || hello == MF_EDECODE);
    FZ_CHECK(broken == MF_OK || broken == MF_EDECODE);
    FZ_CHECK(results == MF_OK || results == MF_EDECODE);
    if (rc != MF_OK) {
        FZ_CHECK(hello != MF_OK && broken != MF_OK && results != MF_OK);
        return 0;
    }
    FZ_CHECK(hello != MF_OK || kind == MF__MSG_HELLO);
    FZ_CHECK(broken != MF_OK || kind == MF__MSG_BROKEN);
    FZ_CHECK(results != MF_OK || kind == MF__MSG_RESULTS);

    if (hello == MF_OK)
        check_hello(data, size);
    if (broken == MF_OK)
        check_broken(data, size);
    if (results == MF_OK)
        check_results(data, size);
    return 0;
}
