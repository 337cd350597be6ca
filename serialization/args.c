/*
 * serialization/args.c -- reading a task's argument list (mf_args_*).
 *
 * The list is one MessagePack array, validated once by mf__args_init; the
 * accessors then walk it in place (a task has a handful of arguments, so the
 * walk is shorter than any index we could build).
 */
#include "lib/error_int.h"
#include "lib/task_int.h"
#include "serialization/mp.h"

int mf__args_init(struct mf_args *a, const void *buf, size_t len)
{
    mf_value v;
    if (buf == NULL || len == 0) {
        /* No bytes at all means no arguments. */
        a->buf = NULL;
        a->len = 0;
        a->body = 0;
        a->count = 0;
        return MF_OK;
    }
    int rc = mf_value_decode(buf, len, &v);
    if (rc != MF_OK)
        return rc;
    if (v.type != MF_VALUE_ARRAY)
        return mf__seterr(MF_ETYPE,
                          "an argument list must be a MessagePack array, not "
                          "%s",
                          mf_value_type_name(v.type));
    a->buf = buf;
    a->len = len;
    a->body = mf__mp_seq_body(&v);
    a->count = v.via.seq.count;
    return MF_OK;
}

uint32_t mf_args_count(const mf_args *args)
{
    return args->count;
}

int mf_args_value(const mf_args *args, uint32_t idx, mf_value *out)
{
    if (idx >= args->count)
        return mf__seterr(MF_ERANGE, "argument %u missing (%u given)", idx,
                          args->count);
    size_t off = args->body;
    for (uint32_t i = 0;; i++) {
        int rc = mf__mp_next(args->buf, args->len, &off, out);
        if (rc != MF_OK)
            return rc; /* cannot happen after validation */
        if (i == idx)
            return MF_OK;
    }
}

int mf_args_i64(const mf_args *args, uint32_t idx, int64_t *out)
{
    mf_value v;
    int rc = mf_args_value(args, idx, &v);
    if (rc != MF_OK)
        return rc;
    rc = mf_value_i64(&v, out);
    if (rc == MF_ERANGE) /* an integer, but too big: a type error here */
        return mf__seterr(MF_ETYPE,
                          "argument %u: integer %llu does not fit int64",
                          idx, (unsigned long long)v.via.u);
    if (rc != MF_OK)
        return mf__seterr(rc, "argument %u: expected integer, got %s", idx,
                          mf_value_type_name(v.type));
    return MF_OK;
}

int mf_args_f64(const mf_args *args, uint32_t idx, double *out)
{
    mf_value v;
    int rc = mf_args_value(args, idx, &v);
    if (rc != MF_OK)
        return rc;
    rc = mf_value_f64(&v, out);
    if (rc != MF_OK)
        return mf__seterr(rc, "argument %u: expected float, got %s", idx,
                          mf_value_type_name(v.type));
    return MF_OK;
}

int mf_args_str(const mf_args *args, uint32_t idx, const char **s,
                size_t *len)
{
    mf_value v;
    int rc = mf_args_value(args, idx, &v);
    if (rc != MF_OK)
        return rc;
    if (v.type != MF_VALUE_STR)
        return mf__seterr(MF_ETYPE, "argument %u: expected string, got %s",
                          idx, mf_value_type_name(v.type));
    *s = v.via.str.ptr;
    *len = v.via.str.len;
    return MF_OK;
}

int mf_args_bin(const mf_args *args, uint32_t idx, const void **data,
                size_t *len)
{
    mf_value v;
    int rc = mf_args_value(args, idx, &v);
    if (rc != MF_OK)
        return rc;
    if (v.type != MF_VALUE_BIN)
        return mf__seterr(MF_ETYPE, "argument %u: expected binary, got %s",
                          idx, mf_value_type_name(v.type));
    *data = v.via.bin.ptr;
    *len = v.via.bin.len;
    return MF_OK;
}
