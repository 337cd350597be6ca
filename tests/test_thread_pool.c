/*
 * tests/test_thread_pool.c -- the thread-pool executor: plain calls, lazy
 * and named threads, the initializer and a broken pool, shutdown (waiting,
 * cancelling, idempotent, from the pool's own thread) and map (ordered,
 * chunked, failing items, timeouts, early free, unordered).
 *
 * Where the order of events matters, a gate holds work inside a worker until
 * the test opens it; nothing relies on sleeping. Threads only record; the
 * main thread asserts.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <mpifutures.h>

/* Only a broken wake-up or a deadlock takes this long; never a speed check. */
#define HANG_GUARD 30.0

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- gates: hold workers until the test lets them go ---------------------- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    atomic_int entered; /* threads that reached the gate */
    atomic_int left;    /* threads that went through it */
};

/* Gates in use, so that a test failing with workers held at a gate can
 * still let them go (release_gates, each test's teardown). Gates are
 * static objects for the same reason: they outlive a failed test. */
#define MAX_GATES 32
static struct gate *live_gates[MAX_GATES];

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = false;
    atomic_init(&g->entered, 0);
    atomic_init(&g->left, 0);
    for (int i = 0; i < MAX_GATES; i++) {
        if (live_gates[i] == NULL) {
            live_gates[i] = g;
            return;
        }
    }
    fail_msg("more than %d gates in use", MAX_GATES);
}

static void gate_fini(struct gate *g)
{
    for (int i = 0; i < MAX_GATES; i++)
        if (live_gates[i] == g)
            live_gates[i] = NULL;
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void gate_pass(struct gate *g)
{
    atomic_fetch_add(&g->entered, 1);
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_add(&g->left, 1);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Teardown of every test: open the gates a failed test left closed and let
 * their workers through before anything can reuse the gates. */
static int release_gates(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_GATES; i++) {
        struct gate *g = live_gates[i];
        if (g == NULL)
            continue;
        gate_open(g);
        for (int k = 0;
             k < 5000 && atomic_load(&g->left) < atomic_load(&g->entered); k++)
            sleep_ms(1);
        gate_fini(g);
    }
    return 0;
}

/* Main thread only: wait until n threads reached the gate. */
static void gate_wait_entered(struct gate *g, int n)
{
    double end = now() + HANG_GUARD;
    while (atomic_load(&g->entered) < n) {
        if (now() > end)
            fail_msg("only %d of %d workers reached the gate",
                     atomic_load(&g->entered), n);
        sleep_ms(1);
    }
}

/* Main thread only: poll until flag is set. */
static void wait_flag(atomic_int *flag)
{
    double end = now() + HANG_GUARD;
    while (!atomic_load(flag)) {
        if (now() > end)
            fail_msg("flag never set");
        sleep_ms(1);
    }
}

/* --- threads of this process ---------------------------------------------- */

#define MAX_TIDS 1024

struct tids {
    int n;
    long tid[MAX_TIDS];
};

static void tids_snapshot(struct tids *t)
{
    t->n = 0;
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && t->n < MAX_TIDS) {
        if (e->d_name[0] == '.')
            continue;
        t->tid[t->n++] = strtol(e->d_name, NULL, 10);
    }
    closedir(d);
}

static bool tids_has(const struct tids *t, long tid)
{
    for (int i = 0; i < t->n; i++)
        if (t->tid[i] == tid)
            return true;
    return false;
}

/* Names (comm) of the threads alive now that are not in `before`. */
static int new_thread_names(const struct tids *before, char names[][16],
                            int max)
{
    struct tids now_;
    tids_snapshot(&now_);
    int k = 0;
    for (int i = 0; i < now_.n; i++) {
        if (tids_has(before, now_.tid[i]))
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%ld/comm", now_.tid[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue; /* exited meanwhile */
        char name[16] = "";
        if (fgets(name, sizeof name, f) == NULL)
            name[0] = '\0';
        fclose(f);
        name[strcspn(name, "\n")] = '\0';
        if (k < max)
            memcpy(names[k], name, sizeof name);
        k++;
    }
    return k;
}

static void *noop_thread(void *arg)
{
    return arg;
}

/* Start and join one thread, so a runtime that spawns a helper thread on
 * the first pthread_create (TSan) has done so before we count. */
static void settle_runtime_threads(void)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, noop_thread, NULL), 0);
    pthread_join(t, NULL);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* --- calls and tasks used below ------------------------------------------- */

static char buffer[16];

static void *plus_one(void *arg)
{
    return (char *)arg + 1;
}

struct gated {
    struct gate gate;
    atomic_int ran; /* calls that ran past the gate */
};

static void *gated_call(void *arg)
{
    struct gated *g = arg;
    gate_pass(&g->gate);
    atomic_fetch_add(&g->ran, 1);
    return arg;
}

static void *count_call(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return arg;
}

/* Shared by the map tasks; each test resets what it uses. */
static struct {
    struct gate gate;
    atomic_int ran;
    int64_t order[64]; /* arguments in the order they ran */
    struct gate item[8];
    pthread_t who[128];
} M;

static void reset_map_state(void)
{
    gate_init(&M.gate);
    atomic_store(&M.ran, 0);
    memset(M.order, 0, sizeof M.order);
}

static int task_square(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t x;
    int rc = mf_args_i64(args, 0, &x);
    return rc != MF_OK ? rc : mf_reply_i64(reply, x * x);
}

static int task_check(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t x;
    int rc = mf_args_i64(args, 0, &x);
    if (rc != MF_OK)
        return rc;
    if (x < 0)
        return mf_reply_error(reply, "ValueError", "negative: %lld",
                              (long long)x);
    return mf_reply_i64(reply, x);
}

/* Wait at M.gate, log the argument, return 10 * x. */
static int task_gated(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t x;
    int rc = mf_args_i64(args, 0, &x);
    if (rc != MF_OK)
        return rc;
    gate_pass(&M.gate);
    int k = atomic_fetch_add(&M.ran, 1);
    if (k < 64)
        M.order[k] = x;
    return mf_reply_i64(reply, 10 * x);
}

/* Item 0 waits at M.gate; the others count themselves in M.ran. */
static int task_first_gated(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t x;
    int rc = mf_args_i64(args, 0, &x);
    if (rc != MF_OK)
        return rc;
    if (x == 0)
        gate_pass(&M.gate);
    else
        atomic_fetch_add(&M.ran, 1);
    return mf_reply_i64(reply, x);
}

/* Wait at M.item[x], return 10 * x + 1. */
static int task_item_gate(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t x;
    int rc = mf_args_i64(args, 0, &x);
    if (rc != MF_OK)
        return rc;
    gate_pass(&M.item[x]);
    return mf_reply_i64(reply, 10 * x + 1);
}

/* Record the running thread for item x. */
static int task_whoami(const mf_args *args, mf_reply *reply, void *udata)
{
    (void)udata;
    int64_t x;
    int rc = mf_args_i64(args, 0, &x);
    if (rc != MF_OK)
        return rc;
    M.who[x] = pthread_self();
    struct timespec ts = {0, 200000}; /* let other workers join in */
    nanosleep(&ts, NULL);
    return mf_reply_i64(reply, x);
}

static _Thread_local int initialized_here;
static atomic_int init_calls;

static int init_ok(void *arg)
{
    (void)arg;
    initialized_here++;
    atomic_fetch_add(&init_calls, 1);
    return 0;
}

static int task_was_initialized(const mf_args *args, mf_reply *reply,
                                void *udata)
{
    (void)args;
    (void)udata;
    return mf_reply_i64(reply, initialized_here);
}

static struct gate init_gate;

static int init_fail_after_gate(void *arg)
{
    (void)arg;
    gate_pass(&init_gate);
    return 3;
}

static int register_tasks(void **state)
{
    (void)state;
    if (mf_task_register("tp.square", task_square, NULL) != MF_OK ||
        mf_task_register("tp.check", task_check, NULL) != MF_OK ||
        mf_task_register("tp.gated", task_gated, NULL) != MF_OK ||
        mf_task_register("tp.first_gated", task_first_gated, NULL) != MF_OK ||
        mf_task_register("tp.item", task_item_gate, NULL) != MF_OK ||
        mf_task_register("tp.whoami", task_whoami, NULL) != MF_OK ||
        mf_task_register("tp.inited", task_was_initialized, NULL) != MF_OK)
        return -1;
    return 0;
}

static mf_executor *new_pool(size_t max_workers, const char *prefix)
{
    mf_executor *ex = NULL;
    mf_thread_pool_opts o = {.max_workers = max_workers, .name_prefix = prefix};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    assert_non_null(ex);
    return ex;
}

/* --- threads -------------------------------------------------------------- */

static void test_thread_pool_threads_start_lazily(void **state)
{
    (void)state;
    settle_runtime_threads();
    struct tids before;
    tids_snapshot(&before);
    mf_executor *ex = new_pool(4, "lz");
    char names[8][16];
    /* Creating the pool starts no thread. */
    assert_int_equal(new_thread_names(&before, names, 8), 0);

    /* The first submit starts exactly one. */
    mf_future *f;
    assert_int_equal(mf_executor_call(ex, plus_one, buffer, &f), MF_OK);
    void *p;
    assert_int_equal(mf_future_result_ptr(f, HANG_GUARD, &p), MF_OK);
    assert_ptr_equal(p, buffer + 1);
    assert_int_equal(new_thread_names(&before, names, 8), 1);
    assert_string_equal(names[0], "lz-0");
    mf_future_release(f);
    mf_executor_free(ex);
}

static void test_thread_pool_threads_are_named_up_to_max_workers(void **state)
{
    (void)state;
    settle_runtime_threads();
    struct tids before;
    tids_snapshot(&before);
    mf_executor *ex = new_pool(3, "nm");
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    mf_future *f[5];
    for (int i = 0; i < 3; i++)
        assert_int_equal(mf_executor_call(ex, gated_call, &g, &f[i]), MF_OK);
    gate_wait_entered(&g.gate, 3); /* three busy threads, each named */
    /* More work than workers: queued, no fourth thread. */
    for (int i = 3; i < 5; i++)
        assert_int_equal(mf_executor_call(ex, gated_call, &g, &f[i]), MF_OK);
    char names[8][16];
    int n = new_thread_names(&before, names, 8);
    assert_int_equal(n, 3);
    qsort(names, 3, sizeof names[0], cmp_names);
    assert_string_equal(names[0], "nm-0");
    assert_string_equal(names[1], "nm-1");
    assert_string_equal(names[2], "nm-2");
    assert_int_equal(atomic_load(&g.gate.entered), 3);

    gate_open(&g.gate);
    for (int i = 0; i < 5; i++) {
        void *p;
        assert_int_equal(mf_future_result_ptr(f[i], HANG_GUARD, &p), MF_OK);
        assert_ptr_equal(p, &g);
        mf_future_release(f[i]);
    }
    assert_int_equal(atomic_load(&g.ran), 5);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

static void test_thread_pool_default_max_workers_is_online_cpus(void **state)
{
    (void)state;
    mf_executor *ex = NULL;
    assert_int_equal(mf_thread_pool_new(NULL, &ex), MF_OK);
    assert_int_equal(mf_executor_max_workers(ex),
                     (size_t)sysconf(_SC_NPROCESSORS_ONLN));
    assert_string_equal(mf_executor_kind(ex), "thread pool");
    mf_executor_free(ex);

    mf_thread_pool_opts o = {.max_workers = 0, .name_prefix = "x"};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    assert_int_equal(mf_executor_max_workers(ex),
                     (size_t)sysconf(_SC_NPROCESSORS_ONLN));
    mf_executor_free(ex);

    ex = new_pool(5, NULL);
    assert_int_equal(mf_executor_max_workers(ex), 5);
    mf_executor_free(ex);
}

static void test_thread_pool_bad_options_are_einval(void **state)
{
    (void)state;
    mf_executor *ex = (mf_executor *)1;
    mf_thread_pool_opts o = {.name_prefix = "elevenchars"};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_EINVAL);
    assert_null(ex);
    o = (mf_thread_pool_opts){.name_prefix = "tenchars10"};
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    mf_executor_free(ex);
    o = (mf_thread_pool_opts){.max_workers = 4097};
    ex = (mf_executor *)1;
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_EINVAL);
    assert_null(ex);
    assert_int_equal(mf_thread_pool_new(NULL, NULL), MF_EINVAL);
    mf_executor_free(NULL); /* no-op */
}

/* --- plain calls ---------------------------------------------------------- */

static void test_thread_pool_call_returns_pointer(void **state)
{
    (void)state;
    mf_executor *ex = new_pool(2, NULL);
    mf_future *f[16];
    for (int i = 0; i < 16; i++)
        assert_int_equal(mf_executor_call(ex, plus_one, buffer + i % 8, &f[i]),
                         MF_OK);
    for (int i = 0; i < 16; i++) {
        void *p = NULL;
        assert_int_equal(mf_future_result_ptr(f[i], HANG_GUARD, &p), MF_OK);
        assert_ptr_equal(p, buffer + i % 8 + 1);
        mf_value v;
        assert_int_equal(mf_future_result(f[i], 0, &v), MF_OK);
        assert_int_equal(v.type, MF_VALUE_PTR);
        int64_t x;
        assert_int_equal(mf_future_result_i64(f[i], 0, &x), MF_ETYPE);
        mf_future_release(f[i]);
    }
    mf_future *g = (mf_future *)1;
    assert_int_equal(mf_executor_call(ex, NULL, NULL, &g), MF_EINVAL);
    assert_null(g);
    assert_int_equal(mf_executor_call(ex, plus_one, NULL, NULL), MF_EINVAL);
    mf_executor_free(ex);
}

static void test_thread_pool_released_future_still_runs(void **state)
{
    (void)state;
    /* The pool holds its own reference: dropping ours cancels nothing. */
    mf_executor *ex = new_pool(1, NULL);
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    atomic_int counted = 0;
    mf_future *a, *b;
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &a), MF_OK);
    gate_wait_entered(&g.gate, 1);
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &b), MF_OK);
    mf_future_release(b); /* queued, and now only the pool holds it */
    gate_open(&g.gate);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    assert_int_equal(atomic_load(&counted), 1);
    assert_int_equal(mf_future_state_get(a), MF_FINISHED);
    mf_future_release(a);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

static void test_thread_pool_setters_refuse_pool_futures(void **state)
{
    (void)state;
    /* Only the pool completes its futures: queued, running or done. */
    static const unsigned char mp_1[] = {0x01};
    mf_executor *ex = new_pool(1, NULL);
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    mf_future *running, *queued;
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &running), MF_OK);
    gate_wait_entered(&g.gate, 1);
    assert_int_equal(mf_executor_submitf(ex, "tp.square", &queued, "l", 3LL),
                     MF_OK);
    mf_future *fs[2] = {running, queued};
    for (int i = 0; i < 2; i++) {
        mf_future_state before = mf_future_state_get(fs[i]);
        assert_int_equal(mf_future_set_value(fs[i], mp_1, 1), MF_ESTATE);
        assert_int_equal(mf_future_set_pointer(fs[i], buffer), MF_ESTATE);
        assert_int_equal(
            mf_future_set_error(fs[i], MF_ETASK, "E", NULL, NULL, "x"),
            MF_ESTATE);
        assert_false(mf_future_set_running(fs[i]));
        assert_int_equal(mf_future_state_get(fs[i]), before);
    }
    assert_int_equal(mf_future_state_get(running), MF_RUNNING);
    assert_int_equal(mf_future_state_get(queued), MF_PENDING);
    gate_open(&g.gate);
    void *p;
    assert_int_equal(mf_future_result_ptr(running, HANG_GUARD, &p), MF_OK);
    assert_ptr_equal(p, &g);
    int64_t v;
    assert_int_equal(mf_future_result_i64(queued, HANG_GUARD, &v), MF_OK);
    assert_int_equal(v, 9);
    assert_int_equal(mf_future_set_value(queued, mp_1, 1), MF_ESTATE);
    assert_int_equal(mf_future_result_i64(queued, 0, &v), MF_OK);
    assert_int_equal(v, 9);
    mf_future_release(running);
    mf_future_release(queued);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

/* --- the initializer and a broken pool ------------------------------------ */

static void test_thread_pool_initializer_runs_once_per_thread(void **state)
{
    (void)state;
    atomic_store(&init_calls, 0);
    mf_thread_pool_opts o = {.max_workers = 2, .initializer = init_ok};
    mf_executor *ex;
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    /* Two gated calls force two threads; then tasks on both threads. */
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    mf_future *a, *b, *t[20];
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &a), MF_OK);
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &b), MF_OK);
    gate_wait_entered(&g.gate, 2);
    assert_int_equal(atomic_load(&init_calls), 2);
    gate_open(&g.gate);
    for (int i = 0; i < 20; i++)
        assert_int_equal(mf_executor_submit(ex, "tp.inited", NULL, 0, &t[i]),
                         MF_OK);
    for (int i = 0; i < 20; i++) {
        int64_t v;
        assert_int_equal(mf_future_result_i64(t[i], HANG_GUARD, &v), MF_OK);
        assert_int_equal(v, 1); /* ran after exactly one init, same thread */
        mf_future_release(t[i]);
    }
    assert_int_equal(atomic_load(&init_calls), 2);
    mf_future_release(a);
    mf_future_release(b);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

static void test_thread_pool_failing_initializer_breaks_pool(void **state)
{
    (void)state;
    gate_init(&init_gate);
    mf_thread_pool_opts o = {.max_workers = 1,
                             .initializer = init_fail_after_gate};
    mf_executor *ex;
    assert_int_equal(mf_thread_pool_new(&o, &ex), MF_OK);
    atomic_int counted = 0;
    mf_future *f[3];
    /* All three are pending while the only thread sits in its
     * initializer. */
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &f[0]), MF_OK);
    gate_wait_entered(&init_gate, 1);
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &f[1]), MF_OK);
    assert_int_equal(mf_executor_submitf(ex, "tp.square", &f[2], "l", 3LL),
                     MF_OK);
    gate_open(&init_gate);
    for (int i = 0; i < 3; i++) {
        const mf_error *e = NULL;
        assert_int_equal(mf_future_exception(f[i], HANG_GUARD, &e), MF_OK);
        assert_non_null(e);
        assert_int_equal(mf_future_state_get(f[i]), MF_FAILED);
        assert_int_equal(mf_error_code(e), MF_EBROKEN);
        assert_string_equal(mf_error_kind(e), "BrokenThreadPool");
        assert_non_null(strstr(mf_error_message(e), "initializer"));
        /* A task's failure still names the task. */
        assert_string_equal(mf_error_task(e), i == 2 ? "tp.square" : "");
    }

    /* Every later submit is refused. */
    mf_future *g = (mf_future *)1;
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &g),
                     MF_EBROKEN);
    assert_null(g);
    g = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(ex, "tp.square", &g, "l", 2LL),
                     MF_EBROKEN);
    assert_null(g);
    mf_map *m = (mf_map *)1;
    int64_t items[3] = {1, 2, 3};
    assert_int_equal(mf_executor_map_i64(ex, "tp.square", items, 3, NULL, &m),
                     MF_EBROKEN);
    assert_null(m);
    g = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(ex, "tp.no-such-task", &g, ""),
                     MF_EBROKEN);
    assert_null(g);
    assert_non_null(strstr(mf_errmsg(), "initializer"));

    for (int i = 0; i < 3; i++)
        mf_future_release(f[i]);
    mf_executor_free(ex);
    assert_int_equal(atomic_load(&counted), 0); /* nothing ever ran */
    gate_fini(&init_gate);
}

/* --- shutdown ------------------------------------------------------------- */

static void test_thread_pool_submit_after_shutdown_is_eshutdown(void **state)
{
    (void)state;
    mf_executor *ex = new_pool(2, NULL);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    mf_future *f = (mf_future *)1;
    assert_int_equal(mf_executor_call(ex, plus_one, buffer, &f), MF_ESHUTDOWN);
    assert_null(f);
    f = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(ex, "tp.square", &f, "l", 2LL),
                     MF_ESHUTDOWN);
    assert_null(f);
    f = (mf_future *)1;
    assert_int_equal(mf_executor_submit(ex, "tp.square", NULL, 0, &f),
                     MF_ESHUTDOWN);
    assert_null(f);
    mf_map *m = (mf_map *)1;
    int64_t items[2] = {1, 2};
    assert_int_equal(mf_executor_map_i64(ex, "tp.square", items, 2, NULL, &m),
                     MF_ESHUTDOWN);
    assert_null(m);
    /* Refused before the name or the bytes are looked at: an unknown task
     * or a malformed argument list after shutdown is still "shut down". */
    f = (mf_future *)1;
    assert_int_equal(mf_executor_submitf(ex, "tp.no-such-task", &f, ""),
                     MF_ESHUTDOWN);
    assert_null(f);
    assert_non_null(strstr(mf_errmsg(), "after shutdown"));
    static const unsigned char junk[] = {0xc1};
    f = (mf_future *)1;
    assert_int_equal(mf_executor_submit(ex, "tp.square", junk, sizeof junk, &f),
                     MF_ESHUTDOWN);
    assert_null(f);
    m = (mf_map *)1;
    assert_int_equal(
        mf_executor_map_i64(ex, "tp.no-such-task", items, 2, NULL, &m),
        MF_ESHUTDOWN);
    assert_null(m);
    mf_executor_free(ex);
}

static void test_thread_pool_shutdown_timed_times_out_then_waits(void **state)
{
    (void)state;
    /* A task that will not finish yet: a bounded shutdown returns
     * MF_ETIMEDOUT saying how many threads are busy, refuses new work, and
     * a later call waits until the task is done. */
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    mf_executor *ex = new_pool(2, NULL);
    mf_future *a, *b;
    atomic_int counted = 0;
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &a), MF_OK);
    gate_wait_entered(&g.gate, 1);
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &b), MF_OK);
    assert_int_equal(mf_future_wait(b, HANG_GUARD), MF_OK);

    assert_int_equal(mf_executor_shutdown_timed(ex, false, 0.05),
                     MF_ETIMEDOUT);
    assert_non_null(strstr(mf_errmsg(), "still running"));
    assert_non_null(strstr(mf_errmsg(), "1 of 2"));
    assert_false(mf_future_done(a));
    mf_future *c = (mf_future *)1;
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &c),
                     MF_ESHUTDOWN);
    assert_null(c);

    gate_open(&g.gate);
    assert_int_equal(mf_executor_shutdown_timed(ex, false, HANG_GUARD),
                     MF_OK);
    assert_int_equal(mf_future_state_get(a), MF_FINISHED);
    assert_int_equal(atomic_load(&g.ran), 1);
    mf_future_release(a);
    mf_future_release(b);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

static void test_thread_pool_shutdown_cancel_reaches_held_chunk(void **state)
{
    (void)state;
    /* One worker takes a chunk of 4; the chunk's first item blocks. Items
     * 1-3 have left the queue but not started: shutdown(cancel_futures)
     * must cancel them too, and they must never run. */
    enum { N = 8 };
    reset_map_state();
    int64_t items[N];
    for (int i = 0; i < N; i++)
        items[i] = i;
    mf_executor *ex = new_pool(1, NULL);
    mf_map_opts o = {.chunksize = 4, .timeout = HANG_GUARD};
    mf_map *m;
    assert_int_equal(
        mf_executor_map_i64(ex, "tp.first_gated", items, N, &o, &m), MF_OK);
    gate_wait_entered(&M.gate, 1); /* item 0 runs, 1-3 held, 4-7 queued */
    assert_int_equal(mf_executor_shutdown(ex, false, true), MF_OK);
    gate_open(&M.gate);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    size_t idx;
    mf_value v;
    int rc = mf_map_next(m, &idx, &v);
    assert_int_equal(rc, MF_OK);
    assert_int_equal(idx, 0);
    for (int i = 1; i < N; i++) {
        rc = mf_map_next(m, &idx, &v);
        assert_int_equal(idx, (size_t)i);
        assert_int_equal(rc, MF_ECANCELLED);
    }
    assert_int_equal(atomic_load(&M.ran), 0); /* none of 1..7 ran */
    mf_map_free(m);
    mf_executor_free(ex);
    gate_fini(&M.gate);
}

static void test_thread_pool_shutdown_timed_zero_reports_busy(void **state)
{
    (void)state;
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    mf_executor *ex = new_pool(1, NULL);
    mf_future *a;
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &a), MF_OK);
    gate_wait_entered(&g.gate, 1);
    /* Timeout 0 looks without waiting: busy is ETIMEDOUT ... */
    assert_int_equal(mf_executor_shutdown_timed(ex, false, 0), MF_ETIMEDOUT);
    assert_non_null(strstr(mf_errmsg(), "1 of 1"));
    /* ... while Python's shutdown(wait=False) is simply MF_OK. */
    assert_int_equal(mf_executor_shutdown(ex, false, false), MF_OK);
    gate_open(&g.gate);
    assert_int_equal(mf_future_wait(a, HANG_GUARD), MF_OK);
    assert_int_equal(mf_executor_shutdown_timed(ex, false, HANG_GUARD), MF_OK);
    assert_int_equal(mf_executor_shutdown_timed(ex, false, 0), MF_OK);
    mf_future_release(a);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

static void test_thread_pool_shutdown_is_idempotent(void **state)
{
    (void)state;
    mf_executor *ex = new_pool(2, NULL);
    mf_future *f;
    assert_int_equal(mf_executor_call(ex, plus_one, buffer, &f), MF_OK);
    assert_int_equal(mf_executor_shutdown(ex, false, false), MF_OK);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    assert_int_equal(mf_executor_shutdown(ex, false, true), MF_OK);
    assert_int_equal(mf_executor_shutdown(ex, true, true), MF_OK);
    /* Submitted before the first shutdown, which did not cancel: it ran,
     * and later cancelling shutdowns leave the done future alone. */
    void *p;
    assert_int_equal(mf_future_result_ptr(f, 0, &p), MF_OK);
    assert_ptr_equal(p, buffer + 1);
    mf_future_release(f);
    mf_executor_free(ex); /* shuts down once more */
}

static void test_thread_pool_shutdown_wait_drains_queue(void **state)
{
    (void)state;
    mf_executor *ex = new_pool(1, NULL);
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    atomic_int counted = 0;
    mf_future *a, *f[10];
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &a), MF_OK);
    gate_wait_entered(&g.gate, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(mf_executor_call(ex, count_call, &counted, &f[i]),
                         MF_OK);
    gate_open(&g.gate);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    /* Everything queued before shutdown ran to completion. */
    assert_int_equal(atomic_load(&counted), 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(mf_future_state_get(f[i]), MF_FINISHED);
        mf_future_release(f[i]);
    }
    assert_int_equal(mf_future_state_get(a), MF_FINISHED);
    mf_future_release(a);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

static void test_thread_pool_shutdown_cancel_futures(void **state)
{
    (void)state;
    mf_executor *ex = new_pool(1, NULL);
    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    atomic_int counted = 0;
    mf_future *a, *q[4];
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &a), MF_OK);
    gate_wait_entered(&g.gate, 1); /* the single worker is busy */
    for (int i = 0; i < 4; i++)
        assert_int_equal(mf_executor_call(ex, count_call, &counted, &q[i]),
                         MF_OK);

    assert_int_equal(mf_executor_shutdown(ex, false, true), MF_OK);
    /* Queued work is cancelled at once; the running call is untouched. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(mf_future_state_get(q[i]), MF_CANCELLED);
        assert_int_equal(mf_future_result(q[i], 0, NULL), MF_ECANCELLED);
    }
    assert_int_equal(mf_future_state_get(a), MF_RUNNING);
    mf_future *late = (mf_future *)1;
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &late),
                     MF_ESHUTDOWN);
    assert_null(late);

    gate_open(&g.gate);
    void *p;
    assert_int_equal(mf_future_result_ptr(a, HANG_GUARD, &p), MF_OK);
    assert_ptr_equal(p, &g);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    assert_int_equal(atomic_load(&counted), 0); /* cancelled work never ran */
    for (int i = 0; i < 4; i++)
        mf_future_release(q[i]);
    mf_future_release(a);
    mf_executor_free(ex);
    gate_fini(&g.gate);
}

/* Run n trivial tasks through ex as one map: afterwards the pool's workers
 * have seen many short tasks (whatever they adapt to that). */
static void warm_up(mf_executor *ex, int n)
{
    mf_map *m;
    mf_map_opts o = {.chunksize = 1};
    int64_t *items = calloc((size_t)n, sizeof *items);
    assert_non_null(items);
    assert_int_equal(
        mf_executor_map_i64(ex, "tp.square", items, (size_t)n, &o, &m), MF_OK);
    int k = 0;
    while (mf_map_next(m, NULL, NULL) == MF_OK)
        k++;
    assert_int_equal(k, n);
    mf_map_free(m);
    free(items);
}

static void
test_thread_pool_shutdown_cancel_futures_cancels_all_unstarted(void **state)
{
    (void)state;
    /* One submit of 11 items to a single worker that has run many short
     * tasks: item 0 blocks, and shutdown(cancel_futures) must cancel the
     * ten that have not started, wherever the pool keeps them. */
    enum { N = 11 };
    reset_map_state();
    int64_t items[N];
    for (int i = 0; i < N; i++)
        items[i] = i;
    mf_executor *ex = new_pool(1, NULL);
    warm_up(ex, 2000);
    mf_map_opts o = {.chunksize = 1};
    mf_map *m;
    assert_int_equal(
        mf_executor_map_i64(ex, "tp.first_gated", items, N, &o, &m), MF_OK);
    gate_wait_entered(&M.gate, 1);
    assert_int_equal(mf_executor_shutdown(ex, false, true), MF_OK);
    gate_open(&M.gate);
    size_t idx;
    assert_int_equal(mf_map_next(m, &idx, NULL), MF_OK);
    assert_int_equal(idx, 0);
    int cancelled = 0;
    while (mf_map_next(m, &idx, NULL) == MF_ECANCELLED)
        cancelled++;
    mf_map_free(m);
    mf_executor_free(ex);
    gate_fini(&M.gate);
    assert_int_equal(cancelled, N - 1);
    assert_int_equal(atomic_load(&M.ran), 0); /* none of them ran */
}

static void test_thread_pool_blocked_task_does_not_strand_others(void **state)
{
    (void)state;
    /* Two workers, one blocked: the rest of the work runs on the other one,
     * as in CPython, also after the workers have seen many short tasks and
     * when everything arrives in one submit. */
    enum { N = 20 };
    reset_map_state();
    int64_t items[N];
    for (int i = 0; i < N; i++)
        items[i] = i;
    mf_executor *ex = new_pool(2, NULL);
    static struct gated start;
    gate_init(&start.gate);
    atomic_init(&start.ran, 0);
    mf_future *s[2];
    for (int i = 0; i < 2; i++) /* both threads exist from here on */
        assert_int_equal(mf_executor_call(ex, gated_call, &start, &s[i]),
                         MF_OK);
    gate_wait_entered(&start.gate, 2);
    gate_open(&start.gate);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mf_future_wait(s[i], HANG_GUARD), MF_OK);
        mf_future_release(s[i]);
    }
    warm_up(ex, 2000);
    warm_up(ex, 2000);

    /* The gate stays closed until items 1..19 are done; the map's timeout
     * only ends the test if they never are. */
    mf_map_opts o = {.chunksize = 1, .unordered = true, .timeout = 10.0};
    mf_map *m;
    assert_int_equal(
        mf_executor_map_i64(ex, "tp.first_gated", items, N, &o, &m), MF_OK);
    int done_while_blocked = 0;
    size_t idx;
    while (done_while_blocked < N - 1 && mf_map_next(m, &idx, NULL) == MF_OK &&
           idx != 0)
        done_while_blocked++;
    gate_open(&M.gate);
    mf_map_free(m);
    mf_executor_free(ex);
    gate_fini(&M.gate);
    gate_fini(&start.gate);
    assert_int_equal(done_while_blocked, N - 1);
}

static void
test_thread_pool_burst_behind_blocked_task_starts_thread(void **state)
{
    (void)state;
    /* One thread started, idle; then a blocking call and five more arrive
     * at once. The first submit claims the idle thread, so the next ones
     * find none idle and start a second thread (max_workers 2), as CPython
     * does: the five must not wait behind the blocked call. */
    enum { N = 5 };
    mf_executor *ex = new_pool(2, NULL);
    atomic_int counted = 0;
    mf_future *f;
    assert_int_equal(mf_executor_call(ex, count_call, &counted, &f), MF_OK);
    assert_int_equal(mf_future_wait(f, HANG_GUARD), MF_OK);
    mf_future_release(f);
    sleep_ms(20); /* typically lets the worker go to sleep; not required */

    static struct gated g;
    gate_init(&g.gate);
    atomic_init(&g.ran, 0);
    mf_future *a, *q[N];
    assert_int_equal(mf_executor_call(ex, gated_call, &g, &a), MF_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(mf_executor_call(ex, count_call, &counted, &q[i]),
                         MF_OK);
    int rc = mf_wait(q, N, 10.0, MF_ALL_COMPLETED, NULL, NULL, NULL, NULL);
    int ran_while_blocked = atomic_load(&counted) - 1;
    gate_open(&g.gate);
    assert_int_equal(mf_future_wait(a, HANG_GUARD), MF_OK);
    for (int i = 0; i < N; i++)
        mf_future_release(q[i]);
    mf_future_release(a);
    mf_executor_free(ex);
    gate_fini(&g.gate);
    assert_int_equal(rc, MF_OK);
    assert_int_equal(ran_while_blocked, N);
}

struct from_callback {
    mf_executor *ex;
    bool wait;
    int rc;
    char msg[512];
    int submit_rc;
    mf_future *late;
    atomic_int done;
};

static void shutdown_from_callback(mf_future *f, void *arg)
{
    (void)f;
    struct from_callback *c = arg;
    c->rc = mf_executor_shutdown(c->ex, c->wait, false);
    snprintf(c->msg, sizeof c->msg, "%s", mf_errmsg());
    c->submit_rc = mf_executor_call(c->ex, plus_one, buffer, &c->late);
    atomic_store(&c->done, 1);
}

static void
test_thread_pool_shutdown_wait_from_own_thread_is_edeadlk(void **state)
{
    (void)state;
    for (int wait = 1; wait >= 0; wait--) {
        mf_executor *ex = new_pool(1, NULL);
        static struct gated g;
        gate_init(&g.gate);
        atomic_init(&g.ran, 0);
        struct from_callback c = {.ex = ex, .wait = wait, .rc = -1};
        atomic_init(&c.done, 0);
        mf_future *f;
        assert_int_equal(mf_executor_call(ex, gated_call, &g, &f), MF_OK);
        gate_wait_entered(&g.gate, 1);
        /* Added while running: it fires on the pool's thread. */
        assert_int_equal(
            mf_future_add_done_callback(f, shutdown_from_callback, &c), MF_OK);
        gate_open(&g.gate);
        wait_flag(&c.done);
        if (wait) {
            assert_int_equal(c.rc, MF_EDEADLK);
            assert_non_null(strstr(c.msg, "done callback"));
            assert_non_null(strstr(c.msg, "cannot wait for itself"));
        } else {
            assert_int_equal(c.rc, MF_OK);
        }
        /* Either way the shutdown started. */
        assert_int_equal(c.submit_rc, MF_ESHUTDOWN);
        assert_null(c.late);
        assert_int_equal(mf_future_state_get(f), MF_FINISHED);
        mf_future_release(f);
        mf_executor_free(ex);
        gate_fini(&g.gate);
    }
}

/* --- map ------------------------------------------------------------------ */

static void test_thread_pool_map_ordered_results(void **state)
{
    (void)state;
    enum { N = 300 };
    int64_t items[N];
    for (int i = 0; i < N; i++)
        items[i] = i - 100;
    mf_executor *ex = new_pool(3, NULL);
    static const size_t chunks[] = {1, MF_CHUNK_AUTO, 7, 1000};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        mf_map_opts o = {.chunksize = chunks[c]};
        mf_map *m = NULL;
        assert_int_equal(mf_executor_map_i64(ex, "tp.square", items, N, &o, &m),
                         MF_OK);
        for (int i = 0; i < N; i++) {
            size_t idx = 99999;
            mf_value v;
            assert_int_equal(mf_map_next(m, &idx, &v), MF_OK);
            assert_int_equal(idx, i);
            int64_t x;
            assert_int_equal(mf_value_i64(&v, &x), MF_OK);
            assert_int_equal(x, items[i] * items[i]);
            assert_null(mf_map_error(m));
        }
        assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
        assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
        mf_map_free(m);
    }
    /* Default options (NULL). */
    mf_map *m;
    assert_int_equal(mf_executor_map_i64(ex, "tp.square", items, 5, NULL, &m),
                     MF_OK);
    int64_t x;
    mf_value v;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(mf_map_next(m, NULL, &v), MF_OK);
        assert_int_equal(mf_value_i64(&v, &x), MF_OK);
        assert_int_equal(x, items[i] * items[i]);
    }
    assert_int_equal(mf_map_next(m, NULL, &v), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex);
}

static void test_thread_pool_map_chunk_runs_on_one_thread(void **state)
{
    (void)state;
    enum { N = 69, CHUNK = 7 };
    int64_t items[N];
    for (int i = 0; i < N; i++)
        items[i] = i;
    memset(M.who, 0, sizeof M.who);
    mf_executor *ex = new_pool(4, NULL);
    mf_map_opts o = {.chunksize = CHUNK};
    mf_map *m;
    assert_int_equal(mf_executor_map_i64(ex, "tp.whoami", items, N, &o, &m),
                     MF_OK);
    for (int i = 0; i < N; i++) {
        size_t idx;
        assert_int_equal(mf_map_next(m, &idx, NULL), MF_OK);
        assert_int_equal(idx, i);
    }
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex); /* joined: M.who is complete and visible */
    for (int i = 0; i < N; i++)
        if (!pthread_equal(M.who[i], M.who[i - i % CHUNK]))
            fail_msg("item %d ran on another thread than its chunk's first", i);
}

static void test_thread_pool_map_error_at_its_index(void **state)
{
    (void)state;
    static const int64_t items[] = {0, 1, -2, 3, -4, 5};
    mf_executor *ex = new_pool(2, NULL);
    mf_map *m;
    mf_map_opts o = {.chunksize = 2};
    assert_int_equal(mf_executor_map_i64(ex, "tp.check", items, 6, &o, &m),
                     MF_OK);
    for (size_t i = 0; i < 6; i++) {
        size_t idx = 99;
        mf_value v;
        int rc = mf_map_next(m, &idx, &v);
        assert_int_equal(idx, i);
        if (items[i] < 0) {
            assert_int_equal(rc, MF_ETASK);
            const mf_error *e = mf_map_error(m);
            assert_non_null(e);
            assert_int_equal(mf_error_code(e), MF_ETASK);
            assert_string_equal(mf_error_kind(e), "ValueError");
            assert_string_equal(mf_error_task(e), "tp.check");
            char want[32];
            snprintf(want, sizeof want, "negative: %lld", (long long)items[i]);
            assert_string_equal(mf_error_message(e), want);
        } else {
            assert_int_equal(rc, MF_OK);
            assert_null(mf_map_error(m));
            assert_int_equal(v.via.u, (uint64_t)items[i]);
        }
    }
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
    assert_null(mf_map_error(m));
    mf_map_free(m);

    /* An unknown task fails every item, each at its index. */
    assert_int_equal(mf_executor_map_i64(ex, "tp.nope", items, 3, NULL, &m),
                     MF_OK);
    for (size_t i = 0; i < 3; i++) {
        size_t idx;
        assert_int_equal(mf_map_next(m, &idx, NULL), MF_ETASK);
        assert_int_equal(idx, i);
        assert_int_equal(mf_error_code(mf_map_error(m)), MF_ENOTASK);
    }
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex);
}

/* Call mf_map_next until it stops timing out (the test's own guard). */
static int map_next_patiently(mf_map *m, size_t *idx, mf_value *v)
{
    double end = now() + HANG_GUARD;
    int rc;
    while ((rc = mf_map_next(m, idx, v)) == MF_ETIMEDOUT && now() < end)
        sleep_ms(1);
    return rc;
}

static void test_thread_pool_map_timeout_keeps_map_usable(void **state)
{
    (void)state;
    reset_map_state();
    static const int64_t items[] = {1, 2, 3};
    mf_executor *ex = new_pool(1, NULL);
    mf_map_opts o = {.chunksize = 1, .timeout = 0.1};
    mf_map *m;
    assert_int_equal(mf_executor_map_i64(ex, "tp.gated", items, 3, &o, &m),
                     MF_OK);
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_ETIMEDOUT);
    assert_non_null(strstr(mf_errmsg(), "unfinished"));
    assert_non_null(strstr(mf_errmsg(), "3 (of 3)"));
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_ETIMEDOUT);

    gate_open(&M.gate);
    for (size_t i = 0; i < 3; i++) {
        size_t idx = 99;
        mf_value v;
        assert_int_equal(map_next_patiently(m, &idx, &v), MF_OK);
        assert_int_equal(idx, i);
        assert_int_equal(v.via.u, 10 * (uint64_t)items[i]);
    }
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex);
    gate_fini(&M.gate);
}

static void test_thread_pool_map_free_cancels_unstarted(void **state)
{
    (void)state;
    reset_map_state();
    enum { N = 10 };
    int64_t items[N];
    for (int i = 0; i < N; i++)
        items[i] = i;
    mf_executor *ex = new_pool(1, NULL);
    mf_map_opts o = {.chunksize = 1};
    mf_map *m;
    assert_int_equal(mf_executor_map_i64(ex, "tp.gated", items, N, &o, &m),
                     MF_OK);
    gate_wait_entered(&M.gate, 1); /* item 0 runs; 1..9 are queued */
    mf_map_free(m);
    gate_open(&M.gate);
    /* shutdown(wait) without cancelling: whatever was still queued would
     * run now. Only item 0 does: the rest were cancelled by the free. */
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    assert_int_equal(atomic_load(&M.ran), 1);
    assert_int_equal(M.order[0], 0);
    assert_int_equal(atomic_load(&M.gate.entered), 1);
    mf_executor_free(ex);
    gate_fini(&M.gate);
    mf_map_free(NULL); /* no-op */
}

static void test_thread_pool_map_cancelled_items_report_ecancelled(void **state)
{
    (void)state;
    reset_map_state();
    static const int64_t items[] = {0, 1, 2, 3};
    mf_executor *ex = new_pool(1, NULL);
    mf_map_opts o = {.chunksize = 1};
    mf_map *m;
    assert_int_equal(mf_executor_map_i64(ex, "tp.gated", items, 4, &o, &m),
                     MF_OK);
    gate_wait_entered(&M.gate, 1);
    assert_int_equal(mf_executor_shutdown(ex, false, true), MF_OK);
    gate_open(&M.gate);
    size_t idx = 99;
    mf_value v;
    assert_int_equal(mf_map_next(m, &idx, &v), MF_OK);
    assert_int_equal(idx, 0);
    assert_int_equal(v.via.u, 0);
    /* Cancelled items keep their place; iteration goes on past them. */
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(mf_map_next(m, &idx, &v), MF_ECANCELLED);
        assert_int_equal(idx, i);
        assert_null(mf_map_error(m));
    }
    assert_int_equal(mf_map_next(m, &idx, &v), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex);
    assert_int_equal(atomic_load(&M.ran), 1);
    gate_fini(&M.gate);
}

static void test_thread_pool_map_unordered_completion_order(void **state)
{
    (void)state;
    enum { N = 5 };
    for (int i = 0; i < N; i++)
        gate_init(&M.item[i]);
    int64_t items[N] = {0, 1, 2, 3, 4};
    mf_executor *ex = new_pool(N, NULL);
    mf_map_opts o = {.chunksize = 1, .unordered = true};
    mf_map *m;
    assert_int_equal(mf_executor_map_i64(ex, "tp.item", items, N, &o, &m),
                     MF_OK);
    /* Only the item whose gate is open can complete, so each next must
     * yield exactly that one. */
    static const int open_order[N] = {3, 1, 4, 0, 2};
    for (int k = 0; k < N; k++) {
        gate_open(&M.item[open_order[k]]);
        size_t idx = 99;
        mf_value v;
        assert_int_equal(mf_map_next(m, &idx, &v), MF_OK);
        assert_int_equal(idx, open_order[k]);
        assert_int_equal(v.via.u, 10 * (uint64_t)open_order[k] + 1);
    }
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex);
    for (int i = 0; i < N; i++)
        gate_fini(&M.item[i]);
}

static void test_thread_pool_map_unordered_timeout(void **state)
{
    (void)state;
    reset_map_state();
    static const int64_t items[] = {1, 2};
    mf_executor *ex = new_pool(2, NULL);
    mf_map_opts o = {.unordered = true, .timeout = 0.1};
    mf_map *m;
    assert_int_equal(mf_executor_map_i64(ex, "tp.gated", items, 2, &o, &m),
                     MF_OK);
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_ETIMEDOUT);
    assert_non_null(strstr(mf_errmsg(), "2 (of 2)"));
    assert_non_null(strstr(mf_errmsg(), "unfinished"));
    gate_open(&M.gate);
    int64_t sum = 0;
    for (int i = 0; i < 2; i++) {
        size_t idx = 99;
        mf_value v;
        assert_int_equal(map_next_patiently(m, &idx, &v), MF_OK);
        assert_int_equal(v.via.u, 10 * (uint64_t)items[idx]);
        sum += (int64_t)idx;
    }
    assert_int_equal(sum, 1); /* indices 0 and 1, once each */
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex);
    gate_fini(&M.gate);
}

static int fill_until_three(size_t index, mf_pack *args, void *udata)
{
    (void)udata;
    if (index == 3)
        return MF_EINVAL;
    mf_pack_array(args, 1);
    mf_pack_i64(args, (int64_t)index);
    return MF_OK;
}

static void test_thread_pool_map_fill_error_submits_nothing(void **state)
{
    (void)state;
    reset_map_state();
    gate_open(&M.gate);
    mf_executor *ex = new_pool(2, NULL);
    mf_map *m = (mf_map *)1;
    assert_int_equal(
        mf_executor_map(ex, "tp.gated", 6, fill_until_three, NULL, NULL, &m),
        MF_EINVAL);
    assert_null(m);
    assert_int_equal(mf_executor_shutdown(ex, true, false), MF_OK);
    assert_int_equal(atomic_load(&M.ran), 0);
    mf_executor_free(ex);
    gate_fini(&M.gate);

    ex = new_pool(1, NULL);
    assert_int_equal(mf_executor_map_i64(ex, "tp.square", NULL, 2, NULL, &m),
                     MF_EINVAL);
    /* An empty map is at its end at once. */
    assert_int_equal(mf_executor_map_i64(ex, "tp.square", NULL, 0, NULL, &m),
                     MF_OK);
    assert_int_equal(mf_map_next(m, NULL, NULL), MF_EOF);
    mf_map_free(m);
    mf_executor_free(ex);
}

/* Every test releases the gates it may have left closed. */
#define TEST(f) cmocka_unit_test_teardown(f, release_gates)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_thread_pool_threads_start_lazily),
        TEST(test_thread_pool_threads_are_named_up_to_max_workers),
        TEST(test_thread_pool_default_max_workers_is_online_cpus),
        TEST(test_thread_pool_bad_options_are_einval),
        TEST(test_thread_pool_call_returns_pointer),
        TEST(test_thread_pool_released_future_still_runs),
        TEST(test_thread_pool_setters_refuse_pool_futures),
        TEST(test_thread_pool_initializer_runs_once_per_thread),
        TEST(test_thread_pool_failing_initializer_breaks_pool),
        TEST(test_thread_pool_submit_after_shutdown_is_eshutdown),
        TEST(test_thread_pool_shutdown_timed_times_out_then_waits),
        TEST(test_thread_pool_shutdown_cancel_reaches_held_chunk),
        TEST(test_thread_pool_shutdown_timed_zero_reports_busy),
        TEST(test_thread_pool_shutdown_is_idempotent),
        TEST(test_thread_pool_shutdown_wait_drains_queue),
        TEST(test_thread_pool_shutdown_cancel_futures),
        TEST(test_thread_pool_shutdown_cancel_futures_cancels_all_unstarted),
        TEST(test_thread_pool_blocked_task_does_not_strand_others),
        TEST(test_thread_pool_burst_behind_blocked_task_starts_thread),
        TEST(test_thread_pool_shutdown_wait_from_own_thread_is_edeadlk),
        TEST(test_thread_pool_map_ordered_results),
        TEST(test_thread_pool_map_chunk_runs_on_one_thread),
        TEST(test_thread_pool_map_error_at_its_index),
        TEST(test_thread_pool_map_timeout_keeps_map_usable),
        TEST(test_thread_pool_map_free_cancels_unstarted),
        TEST(test_thread_pool_map_cancelled_items_report_ecancelled),
        TEST(test_thread_pool_map_unordered_completion_order),
        TEST(test_thread_pool_map_unordered_timeout),
        TEST(test_thread_pool_map_fill_error_submits_nothing),
    };
    return cmocka_run_group_tests(tests, register_tasks, NULL);
}
