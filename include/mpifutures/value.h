/*
 * mpifutures/value.h -- values that cross executors: decoded views and the
 * packer that writes them.
 *
 * Task arguments and task results travel as MessagePack bytes, whether the
 * task runs on a pool thread or on another MPI rank. mf_pack writes such
 * bytes; mf_value is a decoded, read-only view of one value. Views point
 * into memory owned by whoever produced them (a future, an argument list) and
 * stay valid as long as that owner does.
 */
#ifndef MPIFUTURES_VALUE_H
#define MPIFUTURES_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mf_value_type {
    MF_VALUE_NIL,
    MF_VALUE_BOOL,
    MF_VALUE_INT,   /* signed integer (negative or small) */
    MF_VALUE_UINT,  /* non-negative integer */
    MF_VALUE_FLOAT, /* float32 or float64, widened to double */
    MF_VALUE_STR,
    MF_VALUE_BIN,
    MF_VALUE_ARRAY, /* via.seq: encoded elements; see mf_value_at */
    MF_VALUE_MAP,   /* via.seq: encoded key/value pairs */
    MF_VALUE_PTR    /* a plain local call's void * result (never on a wire) */
} mf_value_type;

typedef struct mf_value {
    mf_value_type type;
    union {
        bool b;
        int64_t i;
        uint64_t u;
        double f;
        struct {
            const char *ptr; /* not NUL-terminated */
            size_t len;
        } str;
        struct {
            const void *ptr;
            size_t len;
        } bin;
        struct {
            const void *ptr; /* the whole encoded array or map */
            size_t len;
            uint32_t count; /* elements (array) or pairs (map) */
        } seq;
        void *ptr;
    } via;
} mf_value;

/* Name of a value type, e.g. "integer", for messages. Any thread. */
const char *mf_value_type_name(mf_value_type type);

/*
 * Decode exactly one complete MessagePack value occupying all of buf[0..len).
 * Strict: truncated input, trailing bytes, reserved type bytes, lengths
 * running past the end and nesting deeper than 64 all give MF_EDECODE. The
 * view borrows buf. Any thread.
 */
int mf_value_decode(const void *buf, size_t len, mf_value *out);

/*
 * Read element idx of an array value (or, for maps, key idx/2 or value of
 * pair idx/2: even idx are keys). MF_ETYPE when v is not an array or map,
 * MF_ERANGE when idx is past the end. Cost is linear in idx. Any thread.
 */
int mf_value_at(const mf_value *v, uint32_t idx, mf_value *out);

/* Convenience conversions; MF_ETYPE (or MF_ERANGE for an integer that does
 * not fit) with a message in mf_errmsg() naming both types. */
int mf_value_i64(const mf_value *v, int64_t *out);
int mf_value_f64(const mf_value *v, double *out); /* also accepts integers */

/*
 * mf_pack -- an append-only MessagePack writer that owns its buffer.
 * Typical use: mf_pack_init, a few mf_pack_* calls, hand data/len to a call
 * that copies or adopts them, mf_pack_fini. Write errors (out of memory) are
 * sticky: later calls do nothing and mf_pack_error() reports MF_ENOMEM.
 * One thread at a time.
 */
typedef struct mf_pack {
    char *data;
    size_t len;
    size_t cap;
    int err;
} mf_pack;

void mf_pack_init(mf_pack *p);
void mf_pack_fini(mf_pack *p);
void mf_pack_reset(mf_pack *p); /* keep the buffer, drop the contents */
int mf_pack_error(const mf_pack *p);

void mf_pack_nil(mf_pack *p);
void mf_pack_bool(mf_pack *p, bool v);
void mf_pack_i64(mf_pack *p, int64_t v);
void mf_pack_u64(mf_pack *p, uint64_t v);
void mf_pack_f64(mf_pack *p, double v);
void mf_pack_str(mf_pack *p, const char *s, size_t len);
void mf_pack_cstr(mf_pack *p, const char *s); /* NUL-terminated */
void mf_pack_bin(mf_pack *p, const void *data, size_t len);
/* Headers: the next n values (2n for a map) are the elements. */
void mf_pack_array(mf_pack *p, uint32_t n);
void mf_pack_map(mf_pack *p, uint32_t n);

/*
 * Append values described by fmt, one character per value, reading C
 * arguments as follows (Python's Py_BuildValue, much reduced):
 *   'n' nil (no argument)      'b' bool (int)
 *   'i' int                    'l' long long
 *   'u' unsigned long long     'd' double
 *   's' const char * (NUL-terminated; NULL packs nil)
 *   'y' const void *, size_t   (bytes)
 *   '[' ... ']' an array of the values between the brackets
 * Returns MF_EINVAL (with mf_errmsg) for an unknown format character or
 * unbalanced brackets, MF_ENOMEM on allocation failure.
 */
int mf_pack_fmt(mf_pack *p, const char *fmt, ...);

#ifdef __cplusplus
}
#endif
#endif /* MPIFUTURES_VALUE_H */
