/*
 * lib/cb_runner.c -- a thread that fires done callbacks for another.
 *
 * Design notes
 * - Jobs (a future plus its detached callback list) go into a FIFO under
 *   `mu`; the runner sleeps on `cv` when it is empty. Posting never blocks
 *   for longer than the mutex, so the posting thread (the MPI scheduler)
 *   keeps making progress whatever the callbacks do.
 * - A job holds a reference to its future, so a callback always sees a
 *   live future even if every user reference is gone.
 * - No lock is held while a callback runs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lib/cb_runner.h"

struct job {
    struct job *next;
    mf_future *f;
    mf_done_fn fn;
    void *arg;
    struct mf__callback *more; /* newest first */
};

struct mf__cb_runner {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    bool stop;
    bool firing;          /* a job is running, under mu */
    pthread_cond_t idle;  /* queue empty and nothing firing */
    pthread_t thread;
    char name[16];
};

static _Thread_local struct mf__cb_runner *bound;

/* Fire a job's callbacks in the order added and drop its reference. */
static void fire(struct job *j)
{
    mf__callbacks_fire(j->f, j->fn, j->arg, j->more);
    mf_future_release(j->f);
}

static void *runner_main(void *arg)
{
    struct mf__cb_runner *r = arg;
    pthread_setname_np(pthread_self(), r->name);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        struct job *j = r->head;
        if (j == NULL) {
            if (r->stop)
                break;
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        r->head = j->next;
        if (r->head == NULL)
            r->tail = NULL;
        r->firing = true;
        pthread_mutex_unlock(&r->mu);
        fire(j);
        free(j);
        pthread_mutex_lock(&r->mu);
        r->firing = false;
        if (r->head == NULL)
            pthread_cond_broadcast(&r->idle);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct mf__cb_runner *mf__cb_runner_new(const char *name)
{
    struct mf__cb_runner *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_cond_init(&r->idle, NULL);
    snprintf(r->name, sizeof r->name, "%s", name ? name : "mf-callbacks");
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        pthread_cond_destroy(&r->idle);
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    return r;
}

void mf__cb_runner_free(struct mf__cb_runner *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->idle);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void mf__cb_runner_bind(struct mf__cb_runner *r)
{
    bound = r;
}

void mf__cb_runner_drain(struct mf__cb_runner *r)
{
    if (r == NULL || mf__cb_runner_is_self(r))
        return;
    pthread_mutex_lock(&r->mu);
    while (r->head != NULL || r->firing)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

bool mf__cb_runner_is_self(const struct mf__cb_runner *r)
{
    return r != NULL && pthread_equal(pthread_self(), r->thread);
}

struct mf__cb_runner *mf__cb_runner_current(void)
{
    return bound;
}

void mf__cb_runner_post(struct mf__cb_runner *r, mf_future *f, mf_done_fn fn,
                        void *arg, struct mf__callback *more)
{
    struct job *j = malloc(sizeof *j);
    if (j == NULL) {
        /* Out of memory: firing them here, late, beats never. */
        struct job now = {NULL, mf_future_retain(f), fn, arg, more};
        fire(&now);
        return;
    }
    j->next = NULL;
    j->f = mf_future_retain(f);
    j->fn = fn;
    j->arg = arg;
    j->more = more;
    pthread_mutex_lock(&r->mu);
    if (r->tail != NULL)
        r->tail->next = j;
    else
        r->head = j;
    r->tail = j;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}
