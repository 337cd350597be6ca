/*
 * tests/test_mpi_faults.c -- rank 0 facing a worker that misbehaves. Run
 * under mpiexec -n 2: rank 0 is a real MPI pool; rank 1 is not a real
 * worker but this file's fake one, speaking the wire protocol directly, and
 * answering each task according to its argument:
 *   1 garbage bytes instead of RESULTS    3 a BROKEN reply
 *   2 RESULTS without this task's entry   4 a proper result (42)
 *   5 an entry with a bad status          6 the proper result, twice
 *   7 a RESULTS cut short                 8 a value declaring 4 GiB
 *   9 an error entry of the wrong types  10 8 KiB, above the pool's cap
 *  11 hold: answer only once the test says so (a file appears), with the
 *     proper result plus results for up to 512 ids never sent
 * Every future must end failed with a clear error (or finished, for 4, 6
 * and 11) and the pool must keep working: never a crash or a hang on rank
 * 0. The pool runs with max_message = 4096.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include <mpifutures.h>

#include "ranks/mpi_int.h"
#include "serialization/envelope.h"

#define GUARD 60.0
#define CAP 4096

static mf_executor *pool;

/* A directory both ranks see (rank 0 makes it and tells rank 1): the test
 * creates `release` in it to let the fake worker answer held tasks. */
static char dir[64];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void release_path(char *out, size_t n)
{
    snprintf(out, n, "%s/release", dir);
}

static int task_op(const mf_args *args, mf_reply *reply, void *udata)
{
    return mf_reply_i64(reply, 42); /* never run: rank 1 is fake */
}

/* --- the fake worker (rank 1) ----------------------------------------------- */

static void send_bytes(MPI_Comm comm, const void *p, size_t n, int tag)
{
    MPI_Send(p, (int)n, MPI_BYTE, 0, tag, comm);
}

/* Behaviour 11: wait (at most GUARD) for the test's file, then answer the
 * first held message with its result plus results for ids that were never
 * sent (every slot 0..63 in generations 0..7 but the held ones), and the
 * second one properly. */
static void answer_held(MPI_Comm comm, const uint64_t *held,
                        const mf_pack *v)
{
    char path[128];
    release_path(path, sizeof path);
    double end = now() + GUARD;
    while (access(path, F_OK) != 0 && now() < end)
        sleep_ms(1);
    uint64_t stray[64 * 8];
    uint32_t n = 0;
    for (uint64_t gen = 0; gen < 8; gen++)
        for (uint64_t slot = 0; slot < 64; slot++) {
            uint64_t id = gen << 32 | slot;
            if (id != held[0] && id != held[1])
                stray[n++] = id;
        }
    mf_pack p;
    mf_pack_init(&p);
    mf__msg_results_begin(&p, 1, 1 + n);
    mf__msg_result_ok(&p, held[0], v->data, v->len, 0, 0, 0);
    for (uint32_t i = 0; i < n; i++)
        mf__msg_result_ok(&p, stray[i], v->data, v->len, 0, 0, 0);
    send_bytes(comm, p.data, p.len, MF__TAG_RESULTS);
    mf_pack_reset(&p);
    mf__msg_results_begin(&p, 1, 1);
    mf__msg_result_ok(&p, held[1], v->data, v->len, 0, 0, 0);
    send_bytes(comm, p.data, p.len, MF__TAG_RESULTS);
    mf_pack_fini(&p);
}

static int fake_worker(void)
{
    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm); /* matches the root's dup */
    mf_pack p, v;
    mf_pack_init(&p);
    mf_pack_init(&v);
    mf__msg_hello(&p, 1, "fakehost", mf_task_count(), mf_task_names_hash(),
                  (int64_t)getpid());
    send_bytes(comm, p.data, p.len, MF__TAG_CTRL);
    mf_pack_i64(&v, 42);
    char *buf = NULL;
    uint64_t held[2];
    int nheld = 0;
    for (;;) {
        MPI_Status st;
        MPI_Probe(0, MPI_ANY_TAG, comm, &st);
        int n;
        MPI_Get_count(&st, MPI_BYTE, &n);
        buf = realloc(buf, (size_t)n + 1);
        MPI_Recv(buf, n, MPI_BYTE, 0, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == MF__TAG_CTRL)
            break; /* STOP */
        struct mf__msg_iter it;
        struct mf__task_msg t;
        int id_ok;
        mf__msg_read_tasks(buf, (size_t)n, &it);
        mf__msg_next_task(&it, &t, &id_ok); /* one task per message here */
        mf_value args, a0;
        mf_value_decode(t.args, t.args_len, &args);
        mf_value_at(&args, 0, &a0);
        mf_pack_reset(&p);
        switch (a0.via.u) {
        case 1: {
            static const char junk[] = "\xc1garbage";
            send_bytes(comm, junk, sizeof junk - 1, MF__TAG_RESULTS);
            continue;
        }
        case 2:
            mf__msg_results_begin(&p, 1, 1);
            mf__msg_result_ok(&p, t.id ^ 0x100000000ULL, v.data, v.len, 0, 0,
                              0);
            break;
        case 3:
            mf__msg_broken(&p, 1, "fake worker refuses");
            break;
        case 5:
            mf_pack_array(&p, 3);
            mf_pack_u64(&p, MF__MSG_RESULTS);
            mf_pack_i64(&p, 1);
            mf_pack_array(&p, 1);
            mf_pack_array(&p, 6);
            mf_pack_u64(&p, t.id);
            mf_pack_u64(&p, 7); /* no such status */
            mf_pack_nil(&p);
            mf_pack_u64(&p, 0);
            mf_pack_u64(&p, 0);
            mf_pack_u64(&p, 0);
            break;
        case 6:
            mf__msg_results_begin(&p, 1, 2);
            mf__msg_result_ok(&p, t.id, v.data, v.len, 0, 0, 0);
            mf__msg_result_ok(&p, t.id, v.data, v.len, 0, 0, 0);
            break;
        case 7: /* a proper reply, its last 3 bytes lost */
            mf__msg_results_begin(&p, 1, 1);
            mf__msg_result_ok(&p, t.id, v.data, v.len, 0, 0, 0);
            send_bytes(comm, p.data, p.len - 3, MF__TAG_RESULTS);
            continue;
        case 8: /* a str32 header declaring 4 GiB, five bytes in all */
            mf__msg_results_begin(&p, 1, 1);
            mf__msg_result_ok(&p, t.id, "\xdb\xff\xff\xff\xff", 5, 0, 0, 0);
            break;
        case 9: /* [code, kind, message] as [str, int, nil] */
            mf_pack_array(&p, 3);
            mf_pack_u64(&p, MF__MSG_RESULTS);
            mf_pack_i64(&p, 1);
            mf_pack_array(&p, 1);
            mf_pack_array(&p, 6);
            mf_pack_u64(&p, t.id);
            mf_pack_u64(&p, 1);
            mf_pack_array(&p, 3);
            mf_pack_cstr(&p, "ETASK");
            mf_pack_i64(&p, 7);
            mf_pack_nil(&p);
            mf_pack_u64(&p, 0);
            mf_pack_u64(&p, 0);
            mf_pack_u64(&p, 0);
            break;
        case 10: { /* a result twice the pool's cap, as if unaware of it */
            static char big[2 * CAP];
            mf_pack b;
            mf_pack_init(&b);
            mf_pack_bin(&b, big, sizeof big);
            mf__msg_results_begin(&p, 1, 1);
            mf__msg_result_ok(&p, t.id, b.data, b.len, 0, 0, 0);
            mf_pack_fini(&b);
            break;
        }
        case 11:
            held[nheld++] = t.id;
            if (nheld == 2) {
                answer_held(comm, held, &v);
                nheld = 0;
            }
            continue;
        default:
            mf__msg_results_begin(&p, 1, 1);
            mf__msg_result_ok(&p, t.id, v.data, v.len, 0, 0, 0);
            break;
        }
        send_bytes(comm, p.data, p.len, MF__TAG_RESULTS);
    }
    free(buf);
    mf_pack_fini(&p);
    mf_pack_fini(&v);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return 0;
}

/* --- the tests (rank 0) ---------------------------------------------------- */

/* Submit one task with behaviour b; return its future. */
static mf_future *submit(int b)
{
    mf_future *f;
    assert_int_equal(mf_executor_submitf(pool, "fault.op", &f, "i", b),
                     MF_OK);
    return f;
}

/* Submit one task with behaviour b; return its future, done. */
static mf_future *run(int b)
{
    mf_future *f = submit(b);
    assert_int_equal(mf_future_wait(f, GUARD), MF_OK);
    return f;
}

static void expect_decode_error(int b, const char *needle)
{
    mf_future *f = run(b);
    const mf_error *e;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_EDECODE);
    assert_string_equal(mf_error_kind(e), "DecodeError");
    assert_string_equal(mf_error_task(e), "fault.op");
    if (strstr(mf_error_message(e), needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", mf_error_message(e), needle);
    mf_future_release(f);
}

static void expect_42(int b)
{
    mf_future *f = run(b);
    int64_t v = 0;
    assert_int_equal(mf_future_result_i64(f, 0, &v), MF_OK);
    assert_int_equal(v, 42);
    mf_future_release(f);
}

static void test_mpi_faults_garbage_reply(void **state)
{
    (void)state;
    expect_decode_error(1, "malformed reply from rank 1 on fakehost");
    expect_42(4); /* the pool goes on */
}

static void test_mpi_faults_missing_entry(void **state)
{
    (void)state;
    expect_decode_error(2, "no result came back");
    expect_42(4);
}

static void test_mpi_faults_broken_reply(void **state)
{
    (void)state;
    expect_decode_error(3, "fake worker refuses");
    expect_42(4);
}

static void test_mpi_faults_bad_entry(void **state)
{
    (void)state;
    expect_decode_error(5, "malformed result");
    expect_42(4);
}

static void test_mpi_faults_duplicate_result(void **state)
{
    (void)state;
    expect_42(6); /* the second copy is ignored */
    expect_42(4);
}

static void test_mpi_faults_truncated_reply(void **state)
{
    (void)state;
    expect_decode_error(7, "malformed reply from rank 1 on fakehost");
    expect_decode_error(7, "truncated MessagePack");
    expect_42(4);
}

static void test_mpi_faults_huge_declared_length(void **state)
{
    (void)state;
    /* Refused from the five bytes present: nothing of 4 GiB is read or
     * allocated. */
    expect_decode_error(8, "str declares 4294967295 bytes");
    expect_42(4);
}

static void test_mpi_faults_wrong_types_in_result(void **state)
{
    (void)state;
    expect_decode_error(9, "malformed result");
    expect_decode_error(9, "error code");
    expect_42(4);
}

static void test_mpi_faults_result_above_the_cap(void **state)
{
    (void)state;
    /* A worker that ignores max_message gains nothing: rank 0 refuses the
     * result as the worker should have. */
    mf_future *f = run(10);
    const mf_error *e;
    assert_int_equal(mf_future_exception(f, 0, &e), MF_OK);
    assert_non_null(e);
    assert_int_equal(mf_error_code(e), MF_ETOOBIG);
    assert_string_equal(mf_error_kind(e), "ValueError");
    assert_string_equal(mf_error_origin(e), "rank 1 on fakehost");
    const char *m = mf_error_message(e);
    if (strstr(m, "the result (8195 bytes)") == NULL ||
        strstr(m, "limit of 4096 bytes") == NULL ||
        strstr(m, "max_message") == NULL)
        fail_msg("message \"%s\" does not name the size and the cap", m);
    mf_future_release(f);
    expect_42(4);
}

static void wait_running(mf_future *f)
{
    double end = now() + GUARD;
    while (mf_future_state_get(f) == MF_PENDING) {
        if (now() > end)
            fail_msg("a task was never dispatched");
        sleep_ms(1);
    }
}

static void count_call(mf_future *f, void *arg)
{
    (void)f;
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_mpi_faults_result_for_a_cancelled_future(void **state)
{
    (void)state;
    /* Two held tasks take the fake worker's two credits (prefetch 2), so
     * a third waits on rank 0, where it is cancelled. Then the worker
     * answers with ~500 results for ids never sent besides the held ones':
     * they are ignored (a cancelled future never got an id, so nothing
     * can name it), the cancelled future stays cancelled with its
     * callback run once, the held ones finish, and the pool goes on. */
    mf_future *h1 = submit(11), *h2 = submit(11);
    wait_running(h1);
    wait_running(h2);
    mf_future *c = submit(4);
    static atomic_int fired;
    assert_int_equal(mf_future_add_done_callback(c, count_call, &fired),
                     MF_OK);
    assert_int_equal(mf_future_state_get(c), MF_PENDING);
    assert_true(mf_future_cancel(c));
    char path[128];
    release_path(path, sizeof path);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    int64_t v = 0;
    assert_int_equal(mf_future_result_i64(h1, GUARD, &v), MF_OK);
    assert_int_equal(v, 42);
    assert_int_equal(mf_future_result_i64(h2, GUARD, &v), MF_OK);
    assert_int_equal(v, 42);
    expect_42(4); /* after every stray result was seen */
    assert_int_equal(mf_future_state_get(c), MF_CANCELLED);
    assert_int_equal(mf_future_result(c, 0, NULL), MF_ECANCELLED);
    assert_int_equal(atomic_load(&fired), 1);
    unlink(path);
    mf_future_release(h1);
    mf_future_release(h2);
    mf_future_release(c);
}

int main(int argc, char **argv)
{
    mf_task_register("fault.op", task_op, NULL);
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0 && mkdtemp(strcpy(dir, "/tmp/mf-faults-XXXXXX")) == NULL)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank == 1)
        return fake_worker();
    /* MPI is already initialized: the pool uses it and leaves finalizing
     * to us. */
    mf_mpi_pool_opts o = {.max_message = CAP};
    if (mf_mpi_pool_new(&argc, &argv, &o, &pool) != MF_OK || pool == NULL) {
        fprintf(stderr, "pool: %s\n", mf_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpi_faults_garbage_reply),
        cmocka_unit_test(test_mpi_faults_missing_entry),
        cmocka_unit_test(test_mpi_faults_broken_reply),
        cmocka_unit_test(test_mpi_faults_bad_entry),
        cmocka_unit_test(test_mpi_faults_duplicate_result),
        cmocka_unit_test(test_mpi_faults_truncated_reply),
        cmocka_unit_test(test_mpi_faults_huge_declared_length),
        cmocka_unit_test(test_mpi_faults_wrong_types_in_result),
        cmocka_unit_test(test_mpi_faults_result_above_the_cap),
        cmocka_unit_test(test_mpi_faults_result_for_a_cancelled_future),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mf_executor_free(pool);
    char path[128];
    release_path(path, sizeof path);
    unlink(path); /* if a failed test left it */
    rmdir(dir);
    MPI_Finalize();
    return rc;
}
