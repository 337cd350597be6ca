/*
 * serialization/pack.c -- mf_pack: msgpack-c's encoder writing into a
 * growable buffer we own.
 *
 * msgpack-c's packer is a {data, write callback} pair, so one is built on the
 * stack per call around the mf_pack; the encoders themselves are msgpack-c's
 * inline functions. Allocation failure is sticky in p->err.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "lib/error_int.h"
#include "mpifutures/value.h"

static int append(void *data, const char *buf, size_t len)
{
    mf_pack *p = data;
    if (p->err != MF_OK)
        return -1;
    if (len > p->cap - p->len) {
        size_t cap = p->cap ? p->cap : 64;
        while (cap - p->len < len) {
            if (cap > SIZE_MAX / 2) {
                p->err = MF_ENOMEM;
                return -1;
            }
            cap *= 2;
        }
        char *d = realloc(p->data, cap);
        if (d == NULL) {
            p->err = MF_ENOMEM;
            return -1;
        }
        p->data = d;
        p->cap = cap;
    }
    memcpy(p->data + p->len, buf, len);
    p->len += len;
    return 0;
}

#define PACKER(pk, p) msgpack_packer pk = {(p), append}

void mf_pack_init(mf_pack *p)
{
    memset(p, 0, sizeof *p);
}

void mf_pack_fini(mf_pack *p)
{
    if (p == NULL)
        return;
    free(p->data);
    memset(p, 0, sizeof *p);
}

void mf_pack_reset(mf_pack *p)
{
    p->len = 0;
    p->err = MF_OK;
}

int mf_pack_error(const mf_pack *p)
{
    return p->err;
}

void mf_pack_nil(mf_pack *p)
{
    PACKER(pk, p);
    msgpack_pack_nil(&pk);
}

void mf_pack_bool(mf_pack *p, bool v)
{
    PACKER(pk, p);
    if (v)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
}

void mf_pack_i64(mf_pack *p, int64_t v)
{
    PACKER(pk, p);
    msgpack_pack_int64(&pk, v);
}

void mf_pack_u64(mf_pack *p, uint64_t v)
{
    PACKER(pk, p);
    msgpack_pack_uint64(&pk, v);
}

void mf_pack_f64(mf_pack *p, double v)
{
    PACKER(pk, p);
    msgpack_pack_double(&pk, v);
}

void mf_pack_str(mf_pack *p, const char *s, size_t len)
{
    PACKER(pk, p);
    if (len > UINT32_MAX) {
        p->err = MF_ETOOBIG;
        return;
    }
    msgpack_pack_str_with_body(&pk, s, len);
}

void mf_pack_cstr(mf_pack *p, const char *s)
{
    if (s == NULL)
        mf_pack_nil(p);
    else
        mf_pack_str(p, s, strlen(s));
}

void mf_pack_bin(mf_pack *p, const void *data, size_t len)
{
    PACKER(pk, p);
    if (len > UINT32_MAX) {
        p->err = MF_ETOOBIG;
        return;
    }
    msgpack_pack_bin_with_body(&pk, data, len);
}

void mf_pack_array(mf_pack *p, uint32_t n)
{
    PACKER(pk, p);
    msgpack_pack_array(&pk, n);
}

void mf_pack_map(mf_pack *p, uint32_t n)
{
    PACKER(pk, p);
    msgpack_pack_map(&pk, n);
}

/* Count the values of one format level starting at fmt, up to the matching
 * ']' (or the end at level 0). Returns -1 on unbalanced brackets. */
static long count_level(const char *fmt, int nested)
{
    long n = 0;
    int depth = 0;
    for (; *fmt; fmt++) {
        if (*fmt == '[') {
            if (depth == 0)
                n++;
            depth++;
        } else if (*fmt == ']') {
            if (depth == 0)
                return nested ? n : -1;
            depth--;
        } else if (depth == 0) {
            n++;
        }
    }
    return (depth == 0 && !nested) ? n : -1;
}

long mf__fmt_count(const char *fmt)
{
    return count_level(fmt, 0);
}

int mf__pack_vfmt(mf_pack *p, const char *fmt, va_list *ap)
{
    if (count_level(fmt, 0) < 0)
        return mf__seterr(MF_EINVAL, "format \"%s\": unbalanced brackets",
                          fmt);
    for (const char *c = fmt; *c; c++) {
        switch (*c) {
        case 'n': mf_pack_nil(p); break;
        case 'b': mf_pack_bool(p, va_arg(*ap, int) != 0); break;
        case 'i': mf_pack_i64(p, va_arg(*ap, int)); break;
        case 'l': mf_pack_i64(p, va_arg(*ap, long long)); break;
        case 'u': mf_pack_u64(p, va_arg(*ap, unsigned long long)); break;
        case 'd': mf_pack_f64(p, va_arg(*ap, double)); break;
        case 's': mf_pack_cstr(p, va_arg(*ap, const char *)); break;
        case 'y': {
            const void *d = va_arg(*ap, const void *);
            size_t n = va_arg(*ap, size_t);
            mf_pack_bin(p, d, n);
            break;
        }
        case '[': mf_pack_array(p, (uint32_t)count_level(c + 1, 1)); break;
        case ']': break;
        default:
            return mf__seterr(MF_EINVAL,
                              "format \"%s\": unknown character '%c' (use "
                              "n b i l u d s y [ ])",
                              fmt, *c);
        }
    }
    if (p->err != MF_OK)
        return mf__seterr(p->err, "packing arguments: %s",
                          mf_strerror(p->err));
    return MF_OK;
}

int mf_pack_fmt(mf_pack *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = mf__pack_vfmt(p, fmt, &ap);
    va_end(ap);
    return rc;
}
