/*
 * serialization/mp.h -- internal MessagePack reading: strict, zero-copy,
 * allocation-free.
 *
 * Design notes
 * - Writing goes through msgpack-c's packer (pack.c). Reading does not use
 *   msgpack-c's unpacker: it allocates every declared array before reading
 *   the elements (a 5-byte message can ask for gigabytes) and materialises a
 *   whole object tree in a zone, where we only need views into bytes we
 *   already hold. mf__mp_* walk the bytes in place instead and check every
 *   declared length against the bytes actually present before trusting it.
 * - Skipping is iterative (a count of values still owed), so hostile
 *   nesting cannot overflow the stack; depth is still capped for sanity.
 * - Extension types are rejected: nothing in mpifutures produces them.
 */
#ifndef MF_SERIALIZATION_MP_H
#define MF_SERIALIZATION_MP_H

#include <stddef.h>
#include <stdint.h>

#include "mpifutures/value.h"

#define MF__MP_MAX_DEPTH 64
/* The most levels any reader may allow (mf__mp_next_depth): a value's own
 * MF__MP_MAX_DEPTH plus those of a message wrapped around it. */
#define MF__MP_DEPTH_CAP (MF__MP_MAX_DEPTH + 8)

/*
 * Decode the value starting at buf[*off] (of len bytes) into out, advancing
 * *off past it (past all elements for arrays and maps, whose out->via.seq
 * then spans the whole encoding). MF_OK or MF_EDECODE with mf_errmsg set.
 */
int mf__mp_next(const void *buf, size_t len, size_t *off, mf_value *out);

/* mf__mp_next and mf_value_decode allowing containers max_depth levels deep
 * (at most MF__MP_DEPTH_CAP) instead of MF__MP_MAX_DEPTH: for a message
 * whose own levels sit above the values it carries (envelope.c). */
int mf__mp_next_depth(const void *buf, size_t len, size_t *off, mf_value *out,
                      int max_depth);
int mf__mp_decode_depth(const void *buf, size_t len, mf_value *out,
                        int max_depth);

/* Check that buf holds exactly one well-formed value. */
int mf__mp_validate(const void *buf, size_t len);

/* Offset of the first element of an array/map value (past its header). */
size_t mf__mp_seq_body(const mf_value *seq);

#endif
