/*
 * lib/inbox.h -- the lock-free submit inbox shared by the executors.
 *
 * Design notes
 * - A Treiber stack of futures linked through qnext: submitters push a
 *   pre-linked list (newest first) with one CAS; the single consumer side
 *   (a thread holding the executor's lock, or its only scheduler thread)
 *   swaps the whole stack out and reverses it to oldest first. There is no
 *   pop of single nodes, hence no ABA problem.
 * - Closing swaps in a marker (CLOSED or BROKEN) together with taking what
 *   the stack held. A push's CAS fails against a marker, so checking "still
 *   open" and pushing are one atomic step: nothing can land after closing.
 * - Pushes are seq_cst so that a submitter's later read of "is the consumer
 *   asleep?" is ordered after its push (the consumer announces sleep, then
 *   re-reads the inbox, also seq_cst).
 */
#ifndef MF_LIB_INBOX_H
#define MF_LIB_INBOX_H

#include <stdatomic.h>
#include <stdbool.h>

#include "lib/future_int.h"

struct mf__inbox {
    _Atomic(mf_future *) top;
};

extern char mf__inbox_closed_marker, mf__inbox_broken_marker;
#define MF__INBOX_CLOSED ((mf_future *)(void *)&mf__inbox_closed_marker)
#define MF__INBOX_BROKEN ((mf_future *)(void *)&mf__inbox_broken_marker)

static inline bool mf__inbox_is_marker(const mf_future *top)
{
    return top == MF__INBOX_CLOSED || top == MF__INBOX_BROKEN;
}

static inline void mf__inbox_init(struct mf__inbox *ib)
{
    atomic_init(&ib->top, NULL);
}

/* The marker if the inbox is closed, else NULL. */
static inline mf_future *mf__inbox_closed(struct mf__inbox *ib)
{
    mf_future *top = atomic_load_explicit(&ib->top, memory_order_acquire);
    return mf__inbox_is_marker(top) ? top : NULL;
}

/* Is submitted work waiting? (a hint unless mo is seq_cst) */
static inline bool mf__inbox_has_work(struct mf__inbox *ib, memory_order mo)
{
    mf_future *top = atomic_load_explicit(&ib->top, mo);
    return top != NULL && !mf__inbox_is_marker(top);
}

/*
 * Push the list oldest..newest, already linked newest first through qnext
 * (newest->...->oldest, oldest->qnext to be set here). Returns NULL when
 * pushed, or the marker that closed the inbox (nothing pushed).
 */
static inline mf_future *mf__inbox_push(struct mf__inbox *ib,
                                        mf_future *oldest, mf_future *newest)
{
    mf_future *top = atomic_load_explicit(&ib->top, memory_order_relaxed);
    do {
        if (mf__inbox_is_marker(top))
            return top;
        oldest->qnext = top;
    } while (!atomic_compare_exchange_weak_explicit(
        &ib->top, &top, newest, memory_order_seq_cst, memory_order_relaxed));
    return NULL;
}

/* Reverse a newest-first list; returns the oldest, *last gets the newest,
 * *count (if not NULL) is increased by the list's length. */
static inline mf_future *mf__lifo_reverse(mf_future *lifo, mf_future **last,
                                          size_t *count)
{
    mf_future *fifo = NULL;
    size_t n = 0;
    *last = lifo;
    while (lifo != NULL) {
        mf_future *next = lifo->qnext;
        lifo->qnext = fifo;
        fifo = lifo;
        lifo = next;
        n++;
    }
    if (count != NULL)
        *count += n;
    return fifo;
}

/* Append a list, oldest first (first..last), to a FIFO head/tail owned by
 * the consumer. */
static inline void mf__fifo_append(mf_future **head, mf_future **tail,
                                   mf_future *first, mf_future *last)
{
    if (first == NULL)
        return;
    if (*tail != NULL)
        (*tail)->qnext = first;
    else
        *head = first;
    *tail = last;
}

/* Take everything pushed so far, oldest first (*last: newest), or NULL;
 * *count (if not NULL) grows by how many. Consumer side only. */
static inline mf_future *mf__inbox_take(struct mf__inbox *ib,
                                        mf_future **last, size_t *count)
{
    mf_future *top = atomic_load_explicit(&ib->top, memory_order_relaxed);
    /* acquire: the pushed futures' contents are visible to us. */
    while (top != NULL && !mf__inbox_is_marker(top) &&
           !atomic_compare_exchange_weak_explicit(&ib->top, &top, NULL,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
        ;
    if (top == NULL || mf__inbox_is_marker(top))
        return NULL;
    return mf__lifo_reverse(top, last, count);
}

/* Close with marker (the first marker stays) and take what was pushed,
 * oldest first, or NULL; *count as for mf__inbox_take. Consumer side
 * only. */
static inline mf_future *mf__inbox_close(struct mf__inbox *ib,
                                         mf_future *marker, mf_future **last,
                                         size_t *count)
{
    mf_future *top = atomic_load_explicit(&ib->top, memory_order_relaxed);
    while (!mf__inbox_is_marker(top) &&
           !atomic_compare_exchange_weak_explicit(&ib->top, &top, marker,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed))
        ;
    if (top == NULL || mf__inbox_is_marker(top))
        return NULL;
    return mf__lifo_reverse(top, last, count);
}

#endif
