/*
 * serialization/mp.c -- strict MessagePack reading (see mp.h for the design
 * notes) and the public value helpers built on it.
 */
#include <string.h>

#include "lib/error_int.h"
#include "serialization/mp.h"

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Bytes of a fixed-size payload after the type byte, or -1. */
static int fixed_size(uint8_t t)
{
    switch (t) {
    case 0xcc: case 0xd0: return 1;
    case 0xcd: case 0xd1: return 2;
    case 0xce: case 0xd2: case 0xca: return 4;
    case 0xcf: case 0xd3: case 0xcb: return 8;
    default: return -1;
    }
}

static int truncated(size_t need, size_t have)
{
    return mf__seterr(MF_EDECODE,
                      "truncated MessagePack: a value needs %zu more bytes "
                      "than the %zu left",
                      need - have, have);
}

/*
 * Read one value's header at *off. Scalars, strings and binaries are fully
 * decoded; arrays and maps only get their count and start, and *off stops
 * after the header.
 */
static int head(const uint8_t *p, size_t len, size_t *off, mf_value *v)
{
    size_t o = *off;
    if (o >= len)
        return truncated(o + 1, len);
    uint8_t t = p[o++];
    size_t rem = len - o;
    uint64_t n;
    int sz;

    if (t <= 0x7f) {
        v->type = MF_VALUE_UINT;
        v->via.u = t;
    } else if (t >= 0xe0) {
        v->type = MF_VALUE_INT;
        v->via.i = (int8_t)t;
    } else if (t >= 0x80 && t <= 0x9f) {
        v->type = t <= 0x8f ? MF_VALUE_MAP : MF_VALUE_ARRAY;
        v->via.seq.count = t & 0x0f;
    } else if (t >= 0xa0 && t <= 0xbf) {
        n = t & 0x1f;
        goto str;
    } else {
        switch (t) {
        case 0xc0: v->type = MF_VALUE_NIL; break;
        case 0xc2: case 0xc3:
            v->type = MF_VALUE_BOOL;
            v->via.b = t == 0xc3;
            break;
        case 0xc4: case 0xc5: case 0xc6:
        case 0xd9: case 0xda: case 0xdb:
            sz = (t == 0xc4 || t == 0xd9) ? 1 : (t == 0xc5 || t == 0xda) ? 2 : 4;
            if (rem < (size_t)sz)
                return truncated((size_t)sz, rem);
            n = be(p + o, (size_t)sz);
            o += (size_t)sz;
            rem -= (size_t)sz;
            if (t >= 0xd9)
                goto str;
            if (n > rem)
                return mf__seterr(MF_EDECODE,
                                  "MessagePack bin declares %llu bytes but "
                                  "only %zu follow",
                                  (unsigned long long)n, rem);
            v->type = MF_VALUE_BIN;
            v->via.bin.ptr = p + o;
            v->via.bin.len = (size_t)n;
            o += (size_t)n;
            break;
        case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf:
        case 0xd0: case 0xd1: case 0xd2: case 0xd3:
            sz = fixed_size(t);
            if (rem < (size_t)sz)
                return truncated((size_t)sz, rem);
            n = be(p + o, (size_t)sz);
            o += (size_t)sz;
            if (t == 0xca) {
                uint32_t u32 = (uint32_t)n;
                float fl;
                memcpy(&fl, &u32, sizeof fl);
                v->type = MF_VALUE_FLOAT;
                v->via.f = fl;
            } else if (t == 0xcb) {
                v->type = MF_VALUE_FLOAT;
                memcpy(&v->via.f, &n, sizeof n);
            } else if (t <= 0xcf) {
                v->type = MF_VALUE_UINT;
                v->via.u = n;
            } else {
                v->type = MF_VALUE_INT;
                v->via.i = sz == 1   ? (int8_t)n
                           : sz == 2 ? (int16_t)n
                           : sz == 4 ? (int32_t)n
                                     : (int64_t)n;
            }
            break;
        case 0xdc: case 0xdd: case 0xde: case 0xdf:
            sz = (t == 0xdc || t == 0xde) ? 2 : 4;
            if (rem < (size_t)sz)
                return truncated((size_t)sz, rem);
            v->type = (t <= 0xdd) ? MF_VALUE_ARRAY : MF_VALUE_MAP;
            v->via.seq.count = (uint32_t)be(p + o, (size_t)sz);
            o += (size_t)sz;
            break;
        case 0xc1:
            return mf__seterr(MF_EDECODE,
                              "MessagePack byte 0xc1 is reserved (offset %zu)",
                              o - 1);
        default: /* 0xc7-0xc9, 0xd4-0xd8: extensions */
            return mf__seterr(MF_EDECODE,
                              "MessagePack extension type 0x%02x at offset "
                              "%zu is not accepted",
                              t, o - 1);
        }
    }
    *off = o;
    return MF_OK;

str:
    if (n > len - o)
        return mf__seterr(MF_EDECODE,
                          "MessagePack str declares %llu bytes but only %zu "
                          "follow",
                          (unsigned long long)n, len - o);
    v->type = MF_VALUE_STR;
    v->via.str.ptr = (const char *)p + o;
    v->via.str.len = (size_t)n;
    *off = o + (size_t)n;
    return MF_OK;
}

/* mf__mp_next_depth; static, so that the exported entry points call it
 * directly (no PLT hop on the hot path). */
static int next_value(const void *buf, size_t len, size_t *off,
                      mf_value *out, int max_depth)
{
    const uint8_t *p = buf;
    if (max_depth > MF__MP_DEPTH_CAP)
        max_depth = MF__MP_DEPTH_CAP;
    size_t start = *off, o = start;
    int rc = head(p, len, &o, out);
    if (rc != MF_OK)
        return rc;
    if (out->type != MF_VALUE_ARRAY && out->type != MF_VALUE_MAP) {
        *off = o;
        return MF_OK;
    }

    /* Skip the elements: `owed[d]` values remain at depth d. Every value
     * takes at least one byte, so a count beyond the bytes left is a lie. */
    uint64_t owed[MF__MP_DEPTH_CAP + 1];
    int depth = 0;
    owed[0] = (uint64_t)out->via.seq.count
              << (out->type == MF_VALUE_MAP ? 1 : 0);
    if (owed[0] > len - o)
        goto lie;
    while (depth >= 0) {
        if (owed[depth] == 0) {
            depth--;
            continue;
        }
        owed[depth]--;
        mf_value v;
        rc = head(p, len, &o, &v);
        if (rc != MF_OK)
            return rc;
        if (v.type == MF_VALUE_ARRAY || v.type == MF_VALUE_MAP) {
            uint64_t k = (uint64_t)v.via.seq.count
                         << (v.type == MF_VALUE_MAP ? 1 : 0);
            if (k > len - o)
                goto lie;
            /* The outermost container is level 1 and owed[d] is level
             * d + 1, so this one, empty or not, is level depth + 2. */
            if (depth + 2 > max_depth)
                return mf__seterr(MF_EDECODE,
                                  "MessagePack nesting deeper than %d",
                                  max_depth);
            if (k == 0)
                continue;
            owed[++depth] = k;
        }
    }
    out->via.seq.ptr = p + start;
    out->via.seq.len = o - start;
    *off = o;
    return MF_OK;

lie:
    return mf__seterr(MF_EDECODE,
                      "MessagePack array/map declares more elements than the "
                      "%zu bytes left can hold",
                      len - o);
}

int mf__mp_next(const void *buf, size_t len, size_t *off, mf_value *out)
{
    return next_value(buf, len, off, out, MF__MP_MAX_DEPTH);
}

int mf__mp_next_depth(const void *buf, size_t len, size_t *off, mf_value *out,
                      int max_depth)
{
    return next_value(buf, len, off, out, max_depth);
}

/* mf__mp_decode_depth, static for the same reason. */
static int decode(const void *buf, size_t len, mf_value *out, int max_depth)
{
    size_t off = 0;
    mf_value v;
    int rc = next_value(buf, len, &off, &v, max_depth);
    if (rc != MF_OK)
        return rc;
    if (off != len)
        return mf__seterr(MF_EDECODE,
                          "%zu trailing bytes after a complete MessagePack "
                          "value",
                          len - off);
    *out = v;
    return MF_OK;
}

int mf__mp_decode_depth(const void *buf, size_t len, mf_value *out,
                        int max_depth)
{
    return decode(buf, len, out, max_depth);
}

int mf__mp_validate(const void *buf, size_t len)
{
    mf_value v;
    return decode(buf, len, &v, MF__MP_MAX_DEPTH);
}

size_t mf__mp_seq_body(const mf_value *seq)
{
    uint8_t t = *(const uint8_t *)seq->via.seq.ptr;
    if (t >= 0x80 && t <= 0x9f)
        return 1;
    return (t == 0xdc || t == 0xde) ? 3 : 5;
}

/* --- public helpers ------------------------------------------------------ */

const char *mf_value_type_name(mf_value_type type)
{
    static const char *const names[] = {
        "nil", "bool", "integer", "integer", "float", "string",
        "binary", "array", "map", "pointer",
    };
    if ((unsigned)type >= sizeof names / sizeof names[0])
        return "unknown";
    return names[type];
}

int mf_value_decode(const void *buf, size_t len, mf_value *out)
{
    return decode(buf, len, out, MF__MP_MAX_DEPTH);
}

int mf_value_at(const mf_value *v, uint32_t idx, mf_value *out)
{
    if (v == NULL || out == NULL)
        return mf__seterr(MF_EINVAL, "mf_value_at: NULL argument");
    if (v->type != MF_VALUE_ARRAY && v->type != MF_VALUE_MAP)
        return mf__seterr(MF_ETYPE, "mf_value_at: value is %s, not an array "
                                    "or map",
                          mf_value_type_name(v->type));
    uint64_t n = (uint64_t)v->via.seq.count
                 << (v->type == MF_VALUE_MAP ? 1 : 0);
    if (idx >= n)
        return mf__seterr(MF_ERANGE, "index %u past the end (%llu elements)",
                          idx, (unsigned long long)n);
    size_t off = mf__mp_seq_body(v);
    mf_value e;
    for (uint32_t i = 0;; i++) {
        int rc = mf__mp_next(v->via.seq.ptr, v->via.seq.len, &off, &e);
        if (rc != MF_OK)
            return rc;
        if (i == idx)
            break;
    }
    *out = e;
    return MF_OK;
}

int mf_value_i64(const mf_value *v, int64_t *out)
{
    if (v->type == MF_VALUE_INT) {
        *out = v->via.i;
        return MF_OK;
    }
    if (v->type == MF_VALUE_UINT) {
        if (v->via.u > (uint64_t)INT64_MAX)
            return mf__seterr(MF_ERANGE, "integer %llu does not fit int64",
                              (unsigned long long)v->via.u);
        *out = (int64_t)v->via.u;
        return MF_OK;
    }
    return mf__seterr(MF_ETYPE, "expected integer, got %s",
                      mf_value_type_name(v->type));
}

int mf_value_f64(const mf_value *v, double *out)
{
    switch (v->type) {
    case MF_VALUE_FLOAT: *out = v->via.f; return MF_OK;
    case MF_VALUE_INT: *out = (double)v->via.i; return MF_OK;
    case MF_VALUE_UINT: *out = (double)v->via.u; return MF_OK;
    default:
        return mf__seterr(MF_ETYPE, "expected float, got %s",
                          mf_value_type_name(v->type));
    }
}
