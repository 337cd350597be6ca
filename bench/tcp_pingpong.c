/*
 * bench/tcp_pingpong.c -- `mpifutures-tcp-pingpong`: a plain TCP ping-pong,
 * the floor that MPI's TCP transport is measured against in
 * cluster/multihost.sh (the same two network namespaces, the same bytes).
 *
 *   mpifutures-tcp-pingpong server [--port P] [--bytes B] [--rounds N]
 *                                  [--spin]
 *   mpifutures-tcp-pingpong client HOST [--port P] [--bytes B] [--rounds N]
 *                                  [--spin]
 *
 * The server accepts one connection and echoes every message back; the
 * client sends B bytes, waits for them to come back, N times after 100
 * warm-up rounds, and prints one JSON object with the median round trip in
 * microseconds. Both sides set TCP_NODELAY (as MPI's TCP transport does).
 * By default they block in recv(), as an ordinary socket program does;
 * with --spin (give it to both sides) they poll with non-blocking recv()
 * instead, as MPI does while it waits for a message -- the like-for-like
 * floor for MPI's TCP transport, without the cost of waking a sleeping
 * process on another core. The client retries its connect for up to 10 s
 * while the server starts. Exit status 0 on success, 1 on a socket error,
 * 2 on bad usage.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 100

static int spin; /* --spin: poll with MSG_DONTWAIT instead of blocking */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Move exactly n bytes (send when out != 0); 0, or -1 on error or EOF. */
static int full(int fd, char *buf, size_t n, int out)
{
    while (n > 0) {
        ssize_t k = out ? send(fd, buf, n, MSG_NOSIGNAL)
                        : recv(fd, buf, n, spin ? MSG_DONTWAIT : 0);
        if (k < 0 &&
            (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (k <= 0)
            return -1;
        buf += k;
        n -= (size_t)k;
    }
    return 0;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int serve(const char *port, char *buf, size_t bytes, long rounds)
{
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai;
    if (getaddrinfo(NULL, port, &hints, &ai) != 0)
        return 1;
    int one = 1, rc = 1, c = -1;
    int s = socket(ai->ai_family, ai->ai_socktype, 0);
    if (s < 0)
        goto out_free;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, 1) != 0 ||
        (c = accept(s, NULL, NULL)) < 0) {
        perror("mpifutures-tcp-pingpong server");
        goto out_close;
    }
    nodelay(c);
    for (long i = 0; i < rounds + WARMUP; i++)
        if (full(c, buf, bytes, 0) != 0 || full(c, buf, bytes, 1) != 0)
            goto out_close;
    rc = 0;
out_close:
    if (c >= 0)
        close(c);
    if (s >= 0)
        close(s);
out_free:
    freeaddrinfo(ai);
    return rc;
}

static int client(const char *host, const char *port, char *buf, size_t bytes,
                  long rounds)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM},
                    *ai;
    int err = getaddrinfo(host, port, &hints, &ai);
    if (err != 0) {
        fprintf(stderr, "mpifutures-tcp-pingpong: %s: %s\n", host,
                gai_strerror(err));
        return 1;
    }
    int s = -1, rc = 1;
    double t0 = now();
    for (;;) { /* the server may still be starting */
        s = socket(ai->ai_family, ai->ai_socktype, 0);
        if (s >= 0 && connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (s >= 0)
            close(s);
        s = -1;
        if (now() - t0 > 10) {
            perror("mpifutures-tcp-pingpong client: connect");
            goto out_free;
        }
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    nodelay(s);
    double *t = malloc((size_t)rounds * sizeof *t);
    if (t == NULL)
        goto out_close;
    for (long i = -WARMUP; i < rounds; i++) {
        double a = now();
        if (full(s, buf, bytes, 1) != 0 || full(s, buf, bytes, 0) != 0) {
            perror("mpifutures-tcp-pingpong client");
            goto out_t;
        }
        if (i >= 0)
            t[i] = (now() - a) * 1e6;
    }
    qsort(t, (size_t)rounds, sizeof *t, cmp);
    printf("{\"host\": \"%s\", \"bytes\": %zu, \"rounds\": %ld, "
           "\"spin\": %s, \"raw_tcp_rtt_us\": %.2f, \"p99_us\": %.2f}\n",
           host, bytes, rounds, spin ? "true" : "false", t[rounds / 2],
           t[rounds * 99 / 100]);
    rc = 0;
out_t:
    free(t);
out_close:
    close(s);
out_free:
    freeaddrinfo(ai);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: mpifutures-tcp-pingpong server|client HOST "
                    "[--port P] [--bytes B] [--rounds N] [--spin]\n");
}

int main(int argc, char **argv)
{
    const char *port = "47011", *host = NULL;
    long bytes = 8, rounds = 10000;
    int i = 2;
    if (argc < 2 ||
        (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0)) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "client") == 0) {
        if (argc < 3) {
            usage();
            return 2;
        }
        host = argv[i++];
    }
    for (; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--spin") == 0)
            spin = 1;
        else if (v != NULL && strcmp(argv[i], "--port") == 0)
            port = argv[++i];
        else if (v != NULL && strcmp(argv[i], "--bytes") == 0)
            bytes = atol(argv[++i]);
        else if (v != NULL && strcmp(argv[i], "--rounds") == 0)
            rounds = atol(argv[++i]);
        else
            break;
    }
    if (i != argc || bytes < 1 || rounds < 1) {
        usage();
        return 2;
    }
    char *buf = calloc((size_t)bytes, 1);
    if (buf == NULL)
        return 1;
    int rc = host ? client(host, port, buf, (size_t)bytes, rounds)
                  : serve(port, buf, (size_t)bytes, rounds);
    free(buf);
    return rc;
}
