/*
 * bench/http_load.c -- is the loop still responsive while blocking work
 * runs? Starts examples/responsive_server.c's server in-process (bridge or
 * --inline mode) and, over loopback TCP, keeps /slow saturated with 8
 * client threads while one more times /fast every 5 ms. Bounded in time;
 * only 127.0.0.1 is ever used.
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
#include "examples/responsive_server.h"

#define SLOW_CLIENTS 8
/* The server's fixed reply is this long. */
#define REPLY_LEN 40

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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
    size_t want = REPLY_LEN, got = 0;
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
    struct mf_demo_server s;
    if (mf_demo_server_start(&s, 0, inline_mode) != 0)
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
    mf_demo_server_stop(&s);
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
