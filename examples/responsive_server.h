/*
 * examples/responsive_server.h -- the responsive server as a piece the
 * benchmark can start and stop in-process (the example's main does the
 * same from the command line).
 */
#ifndef MF_EXAMPLES_RESPONSIVE_SERVER_H
#define MF_EXAMPLES_RESPONSIVE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

#include <uv.h>

#include <mpifutures.h>

struct mf_demo_server {
    uv_loop_t uv;
    uv_tcp_t listener;
    uv_async_t stop;
    mf_loop *loop;
    mf_executor *ex;
    int inline_mode;
    int port; /* bound port (for 0: the one the kernel chose) */
    pthread_t thread;
};

/* Listen on 127.0.0.1:port (0: any free port) and serve from a new thread.
 * 0 on success. */
int mf_demo_server_start(struct mf_demo_server *s, int port, int inline_mode);

/* Stop serving, close every connection, join the thread. */
void mf_demo_server_stop(struct mf_demo_server *s);

#endif
