/*
 * examples/responsive_server.c -- a small HTTP server on libuv that stays
 * responsive while it calls blocking legacy code.
 *
 *   GET /fast  answers at once;
 *   GET /slow  calls a blocking 50 ms legacy function -- through
 *              mf_loop_run_in_executor on a thread pool, so the loop keeps
 *              serving everyone else meanwhile; or, with --inline, on the
 *              loop thread itself, which is what the lecture warns about:
 *              every other client waits.
 *
 *   build/examples/responsive_server [--port N] [--inline] [--seconds S]
 *   curl http://127.0.0.1:8080/fast
 *
 * It listens on 127.0.0.1 only. `mpifutures bench loop` loads this same
 * server over loopback TCP (compiled in with MF_SERVER_NO_MAIN).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <mpifutures.h>

#include "examples/responsive_server.h"

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* legacyBlockingCompute: 50 ms of blocking work. */
static void *legacy_50ms(void *arg)
{
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
    return arg;
}

/* --- the server ---------------------------------------------------------------- */


struct conn {
    uv_tcp_t tcp;
    struct mf_demo_server *s;
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
    struct mf_demo_server *s = l->data;
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
    struct mf_demo_server *s = a->data;
    mf_loop_close(s->loop);
    s->loop = NULL;
    s->listener.data = s; /* close_any: the listener is not a conn */
    uv_walk(&s->uv, close_any, s);
}

static void *server_main(void *arg)
{
    struct mf_demo_server *s = arg;
    uv_run(&s->uv, UV_RUN_DEFAULT);
    return NULL;
}

int mf_demo_server_start(struct mf_demo_server *s, int port, int inline_mode)
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
    uv_ip4_addr("127.0.0.1", port, &a);
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

void mf_demo_server_stop(struct mf_demo_server *s)
{
    uv_async_send(&s->stop);
    pthread_join(s->thread, NULL);
    uv_loop_close(&s->uv);
    mf_executor_free(s->ex);
}


#ifndef MF_SERVER_NO_MAIN
int main(int argc, char **argv)
{
    int port = 8080, inline_mode = 0;
    double seconds = 0; /* 0: until interrupted */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--inline") == 0)
            inline_mode = 1;
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: responsive_server [--port N] [--inline] "
                            "[--seconds S]\n");
            return 2;
        }
    }
    struct mf_demo_server s;
    if (mf_demo_server_start(&s, port, inline_mode) != 0) {
        fprintf(stderr, "responsive_server: cannot listen on 127.0.0.1:%d\n",
                port);
        return 1;
    }
    printf("listening on http://127.0.0.1:%d (/fast, /slow; %s)\n", s.port,
           inline_mode ? "--inline: /slow blocks the loop"
                       : "/slow runs on a thread pool");
    fflush(stdout);
    if (seconds > 0) {
        struct timespec ts = {(time_t)seconds,
                              (long)((seconds - (double)(time_t)seconds) * 1e9)};
        nanosleep(&ts, NULL);
    } else {
        pause();
    }
    mf_demo_server_stop(&s);
    return 0;
}
#endif
