/*
 * serialization/envelope.h -- the MPI pool's messages, byte for byte.
 *
 * Every message is one MessagePack array whose first element is its kind:
 *
 *   HELLO   worker -> root  [0, rank, host, ntasks, names_hash, pid]
 *   TASKS   root -> worker  [1, max_message, [[id, task_id, args], ...]]
 *   RESULTS worker -> root  [2, rank, [result, ...]]
 *             result = [id, 0, value, t_unpack_ns, t_run_ns, t_pack_ns]
 *                    | [id, 1, [code, kind, message], t_unpack_ns,
 *                       t_run_ns, t_pack_ns]
 *   STOP    root -> worker  [3]
 *   BROKEN  worker -> root  [4, rank, message]  (a TASKS it could not read)
 *
 * `args` and `value` are embedded MessagePack values (an argument array,
 * a result), copied verbatim: they were validated where they were made and
 * are validated again, as part of the whole message, where they arrive.
 * Task ids are negotiated: both sides use registration order, checked at
 * start-up by HELLO's (ntasks, names_hash). `max_message` is the pool's
 * cap (mf_mpi_pool_opts.max_message, 1..MF__MSG_MAX): a worker turns a
 * result bigger than it into an MF_ETOOBIG error entry. It travels in
 * every TASKS (a few bytes) so that a worker keeps no configuration.
 * (Format change: TASKS had no max_message before; both sides are always
 * the same build, and a TASKS of the old shape reads as malformed.)
 *
 * Readers validate the whole message before looking inside and never trust
 * a count or length beyond the bytes present (mp.h). A message nests at
 * most MF__MP_MAX_DEPTH + 3 levels, so that the values it carries (at level
 * 4) may each nest MF__MP_MAX_DEPTH levels, as they may anywhere else.
 * Decoded views borrow the message buffer.
 */
#ifndef MF_SERIALIZATION_ENVELOPE_H
#define MF_SERIALIZATION_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "mpifutures/value.h"

enum mf__msg_kind {
    MF__MSG_HELLO = 0,
    MF__MSG_TASKS = 1,
    MF__MSG_RESULTS = 2,
    MF__MSG_STOP = 3,
    MF__MSG_BROKEN = 4
};

struct mf__hello {
    int64_t rank;
    mf_value host; /* str */
    uint64_t ntasks;
    uint64_t names_hash;
    int64_t pid;
};

/* One task inside a TASKS message. */
struct mf__task_msg {
    uint64_t id;
    uint32_t task_id;
    const void *args; /* encoded argument array */
    size_t args_len;
};

/* One result inside a RESULTS message. */
struct mf__result_msg {
    uint64_t id;
    int failed;
    const void *value; /* encoded result (when !failed) */
    size_t value_len;
    int64_t code;      /* when failed */
    mf_value kind;     /* str, when failed */
    mf_value message;  /* str, when failed */
    uint64_t t_unpack_ns, t_run_ns, t_pack_ns;
};

/* A cursor over the entries of a TASKS or RESULTS message. */
struct mf__msg_iter {
    const void *buf;
    size_t len;
    size_t off;
    uint32_t left;
};

/* --- writing (each appends one whole message or entry to p) --------------- */

void mf__msg_hello(mf_pack *p, int64_t rank, const char *host,
                   uint64_t ntasks, uint64_t names_hash, int64_t pid);
/* The largest message either side sends: MPI counts are ints, and a job
 * must never abort on a big payload. Also the default and the most a
 * pool's max_message may be. */
#define MF__MSG_MAX ((size_t)1 << 30)

/* TASKS: the header for n entries, then n mf__msg_task calls. */
void mf__msg_tasks_begin(mf_pack *p, uint32_t n);
/* TASKS whose entry count is not known yet: a 32-bit array header whose
 * count mf__msg_patch_u32 sets later at the returned offset. */
size_t mf__msg_tasks_begin_open(mf_pack *p);
void mf__msg_patch_u32(mf_pack *p, size_t off, uint32_t v);
/* Both of the above carry max_message = MF__MSG_MAX; this is the open
 * header with the pool's own cap (1..MF__MSG_MAX). */
size_t mf__msg_tasks_begin_max(mf_pack *p, uint64_t max_message);
void mf__msg_task(mf_pack *p, uint64_t id, uint32_t task_id,
                  const void *args, size_t args_len);
/* RESULTS: the header for n entries, then n result calls. Each returns
 * the offset of its t_pack_ns, written as a fixed-width uint64 so that
 * mf__msg_patch_u64 can set it once the entry is packed. */
void mf__msg_results_begin(mf_pack *p, int64_t rank, uint32_t n);
size_t mf__msg_result_ok(mf_pack *p, uint64_t id, const void *value,
                         size_t value_len, uint64_t t_unpack_ns,
                         uint64_t t_run_ns, uint64_t t_pack_ns);
size_t mf__msg_result_err(mf_pack *p, uint64_t id, int64_t code,
                          const char *kind, const char *message,
                          uint64_t t_unpack_ns, uint64_t t_run_ns,
                          uint64_t t_pack_ns);
void mf__msg_patch_u64(mf_pack *p, size_t off, uint64_t v);
void mf__msg_stop(mf_pack *p);
void mf__msg_broken(mf_pack *p, int64_t rank, const char *message);

/* Append already-encoded, already-validated MessagePack bytes. */
void mf__pack_raw(mf_pack *p, const void *data, size_t len);

/* --- reading --------------------------------------------------------------- */

/* Validate a whole message and return its kind (MF_OK), or MF_EDECODE with
 * mf_errmsg saying what is wrong. */
int mf__msg_kind(const void *buf, size_t len, int *kind);

int mf__msg_read_hello(const void *buf, size_t len, struct mf__hello *out);

/* TASKS: start iterating; then mf__msg_next_task until MF_EOF. A malformed
 * entry gives MF_EDECODE (and *out->id when the id itself was readable,
 * with *id_ok set). */
int mf__msg_read_tasks(const void *buf, size_t len, struct mf__msg_iter *it);
/* The same, also giving the message's max_message (MF_EDECODE when it is
 * not in 1..MF__MSG_MAX). */
int mf__msg_read_tasks_max(const void *buf, size_t len,
                           struct mf__msg_iter *it, uint64_t *max_message);
int mf__msg_next_task(struct mf__msg_iter *it, struct mf__task_msg *out,
                      int *id_ok);

/* RESULTS: rank of the sender, then the entries, like TASKS. */
int mf__msg_read_results(const void *buf, size_t len, int64_t *rank,
                         struct mf__msg_iter *it);
int mf__msg_next_result(struct mf__msg_iter *it, struct mf__result_msg *out,
                        int *id_ok);

int mf__msg_read_broken(const void *buf, size_t len, int64_t *rank,
                        mf_value *message);

#endif
