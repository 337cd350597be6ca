/*
 * bench/http_load.c -- is the loop still responsive while blocking work
 * runs? A small HTTP/1.1 server on libuv (its own thread and loop):
 *   GET /fast  answers at once;
 *   GET /slow  runs a blocking 50 ms "legacy" call, through
 *              mf_loop_run_in_executor on a thread pool (the bridge), or
 *              inline on the loop thread (what the lecture warns about).
 * Over loopback TCP, 8 client threads keep /slow saturated while one more
 * times /fast every 5 ms. Only 127.0.0.1 is ever used.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <mpifutures.h>

#include "bench/bench.h"

#define SLOW_CLIENTS 8
static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* legacyBlockingCompute: 50 ms of blocking work. */
static void *legacy_50ms(void *arg)
{
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
    return arg;
}

/* --- the server ---------------------------------------------------------------- */

struct server {
    uv_loop_t uv;
    uv_tcp_t listener;
    uv_async_t stop;
    mf_loop *loop;
    mf_executor *ex;
    int inline_mode;
    int port;
    pthread_t thread;
    atomic_int ready;
};

struct conn {
    uv_tcp_t tcp;
    struct server *s;
    char buf[4096];
    size_t len;
};

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void respond(struct conn *c)
{
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init((char *)reply, sizeof reply - 1);
    if (w != NULL && uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written))
        free(w);
}

static void slow_done(mf_lfuture *f, void *arg)
{
    respond(arg);
    mf_lfuture_release(f);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct conn *c = h->data;
    (void)hint;
    *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void on_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = st->data;
    (void)b;
    if (n < 0) {
        uv_close((uv_handle_t *)st, on_conn_closed);
        return;
    }
    c->len += (size_t)n;
    char *end;
    /* One request at a time per connection (clients wait for replies). */
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL) {
        int slow = c->len >= 9 && memcmp(c->buf, "GET /slow", 9) == 0;
        size_t used = (size_t)(end + 4 - c->buf);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        if (!slow) {
            respond(c);
        } else if (c->s->inline_mode) {
            legacy_50ms(NULL); /* blocks the loop: everyone waits */
            respond(c);
        } else {
            mf_lfuture *f;
            if (mf_loop_run_in_executor(c->s->loop, c->s->ex, legacy_50ms,
                                        NULL, &f) == MF_OK)
                mf_lfuture_add_done_callback(f, slow_done, c);
        }
    }
    if (c->len == sizeof c->buf) /* junk: drop the connection */
        uv_close((uv_handle_t *)st, on_conn_closed);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct server *s = l->data;
    if (status < 0)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->s = s;
    uv_tcp_init(&s->uv, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    }
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h->data && h->data != arg
                        ? on_conn_closed
                        : NULL);
}

static void on_stop(uv_async_t *a)
{
    struct server *s = a->data;
    mf_loop_close(s->loop);
    s->loop = NULL;
    s->listener.data = s; /* close_any: the listener is not a conn */
    uv_walk(&s->uv, close_any, s);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    uv_run(&s->uv, UV_RUN_DEFAULT);
    return NULL;
}

static int server_start(struct server *s, int inline_mode)
{
    memset(s, 0, sizeof *s);
    s->inline_mode = inline_mode;
    uv_loop_init(&s->uv);
    if (mf_loop_new(&s->uv, &s->loop) != MF_OK ||
        mf_thread_pool_new(NULL, &s->ex) != MF_OK)
        return -1;
    uv_tcp_init(&s->uv, &s->listener);
    s->listener.data = s;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    if (uv_tcp_bind(&s->listener, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&s->listener, 128, on_connection) != 0)
        return -1;
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len);
    s->port = ntohs(got.sin_port);
    uv_async_init(&s->uv, &s->stop, on_stop);
    s->stop.data = s;
    return pthread_create(&s->thread, NULL, server_main, s) == 0 ? 0 : -1;
}

static void server_stop(struct server *s)
{
    uv_async_send(&s->stop);
    pthread_join(s->thread, NULL);
    uv_loop_close(&s->uv);
    mf_executor_free(s->ex);
}

/* --- the clients ----------------------------------------------------------------- */

struct client {
    int port;
    const char *path;
    double until;
    double *lat; /* fast client: latencies (ms) */
    size_t nlat, cap;
    size_t done;
    int pause_ms;
};

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request, one reply (fixed size). 0 on success. */
static int request(int fd, const char *path)
{
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
                     path);
    if (write(fd, req, (size_t)n) != n)
        return -1;
    size_t want = sizeof reply - 1, got = 0;
    char buf[256];
    while (got < want) {
        ssize_t r = read(fd, buf, want - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    int fd = connect_local(c->port);
    if (fd < 0)
        return NULL;
    while (now() < c->until) { /* bounded in time and count */
        double a = now();
        if (request(fd, c->path) != 0)
            break;
        c->done++;
        if (c->lat != NULL && c->nlat < c->cap)
            c->lat[c->nlat++] = (now() - a) * 1e3;
        if (c->pause_ms > 0) {
            struct timespec ts = {0, c->pause_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    close(fd);
    return NULL;
}

int mf_http_load(int inline_mode, double seconds,
                 struct mf_http_load_result *out)
{
    struct server s;
    if (server_start(&s, inline_mode) != 0)
        return -1;
    double until = now() + seconds;
    struct client slow[SLOW_CLIENTS], fast = {0};
    pthread_t ts[SLOW_CLIENTS], tf;
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        slow[i] = (struct client){s.port, "/slow", until, NULL, 0, 0, 0, 0};
        pthread_create(&ts[i], NULL, client_main, &slow[i]);
    }
    /* Give /slow a moment to fill the pipeline before timing /fast. */
    struct timespec warm = {0, 100000000L};
    nanosleep(&warm, NULL);
    fast = (struct client){s.port, "/fast", until, NULL, 0, 100000, 0, 5};
    fast.lat = malloc(fast.cap * sizeof *fast.lat);
    pthread_create(&tf, NULL, client_main, &fast);
    pthread_join(tf, NULL);
    for (int i = 0; i < SLOW_CLIENTS; i++)
        pthread_join(ts[i], NULL);
    server_stop(&s);
    memset(out, 0, sizeof *out);
    out->fast_done = fast.nlat;
    for (int i = 0; i < SLOW_CLIENTS; i++)
        out->slow_done += slow[i].done;
    if (fast.nlat > 0) {
        out->fast_p50_ms = mf_bench_median(fast.lat, fast.nlat);
        /* mf_bench_median sorted them. */
        out->fast_p99_ms = fast.lat[(size_t)((double)(fast.nlat - 1) * 0.99)];
    }
    free(fast.lat);
    return fast.nlat > 0 ? 0 : -1;
}
