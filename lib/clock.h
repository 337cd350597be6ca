/*
 * lib/clock.h -- monotonic time and deadlines for every timed wait.
 */
#ifndef MF_LIB_CLOCK_H
#define MF_LIB_CLOCK_H

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double mf__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Absolute deadline for a timeout in seconds; INFINITY for "forever"
 * (negative timeouts). */
static inline double mf__deadline(double timeout)
{
    /* Beyond ~30 years is "forever": it also keeps the deadline inside
     * what a struct timespec can hold. */
    if (timeout < 0 || isnan(timeout) || timeout > 1e9)
        return INFINITY;
    return mf__now() + timeout;
}

/* Condition variables bound to CLOCK_MONOTONIC, so wall-clock jumps never
 * stretch or cut a timeout. */
static inline int mf__cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (rc != 0)
        return rc;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

/* Wait on cv until deadline (mf__deadline); returns ETIMEDOUT past it. */
static inline int mf__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                                      double deadline)
{
    if (isinf(deadline))
        return pthread_cond_wait(cv, mu);
    struct timespec ts;
    double s = floor(deadline);
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((deadline - s) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    return pthread_cond_timedwait(cv, mu, &ts);
}

/* A short pause inside spin loops. */
static inline void mf__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * One step of a bounded spin-wait. The first steps only pause; later ones
 * yield the CPU, so that when the thread we wait for shares our core (an
 * oversubscribed or busy machine) it runs at once instead of after our
 * time slice.
 */
static inline void mf__spin_step(unsigned i)
{
    if (i < 128)
        mf__cpu_relax();
    else
        sched_yield();
}

#endif
