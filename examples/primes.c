/*
 * examples/primes.c -- the lecture's Example 23.1 in C: CPU-bound tasks on
 * a process pool, against running them one after another.
 *
 * Four prime counts by trial division run first sequentially on rank 0,
 * then on the MPI process pool; the program prints both times and the
 * speedup. Python's example counts below 50,000 per task; C is about a
 * hundred times faster, so each task here counts below 1,000,000 (about
 * 0.17 s on this machine), keeping every task above the lecture's 100 ms.
 *
 *   mpirun -n 5 --oversubscribe build/examples/primes  # 4 worker ranks
 *   build/examples/primes                              # spawns 4 workers
 *
 * The one-line switch: replace mf_mpi_pool_new with mf_thread_pool_new and
 * the same tasks run on threads.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mpifutures.h>

/* Line 4-9 of the Python: count primes below limit by trial division. */
static int64_t compute_prime_count(int64_t limit)
{
    int64_t count = 0;
    for (int64_t n = 2; n < limit; n++) {
        int64_t root = (int64_t)sqrt((double)n);
        int prime = 1;
        for (int64_t i = 2; i <= root; i++) {
            if (n % i == 0) {
                prime = 0;
                break;
            }
        }
        count += prime;
    }
    return count;
}

/* The same function as a registered task: one integer in, one out. */
static int prime_count_task(const mf_args *args, mf_reply *reply, void *u)
{
    int64_t limit;
    int rc = mf_args_i64(args, 0, &limit);
    if (rc != MF_OK)
        return rc;
    return mf_reply_i64(reply, compute_prime_count(limit));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_list(const int64_t *v, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++)
        printf("%s%lld", i ? ", " : "", (long long)v[i]);
    printf("]");
}

int main(int argc, char **argv)
{
    /* Every rank registers the same tasks, then joins the pool; worker
     * ranks stay inside mf_mpi_pool_new until rank 0 is done (the C form
     * of Python's `if __name__ == "__main__":` guard). */
    mf_task_register("computePrimeCount", prime_count_task, NULL);
    mf_executor *executor;
    mf_mpi_pool_opts opts = {.max_workers = 4}; /* when spawning */
    int rc = mf_mpi_pool_new(&argc, &argv, &opts, &executor);
    if (rc != MF_OK) {
        fprintf(stderr, "primes: %s\n", mf_errmsg());
        return 1;
    }
    if (executor == NULL)
        return 0; /* a worker rank */

    enum { N = 4 };
    const int64_t workloads[N] = {1000000, 1000000, 1000000, 1000000};
    int64_t seq_results[N], pool_results[N];

    double start = now();
    for (int i = 0; i < N; i++)
        seq_results[i] = compute_prime_count(workloads[i]);
    double seq_time = now() - start;
    printf("Sequential: %.2fs -> ", seq_time);
    print_list(seq_results, N);
    printf("\n");

    start = now();
    mf_map *m;
    mf_map_opts mo = {.chunksize = 1}; /* one task per worker message */
    rc = mf_executor_map_i64(executor, "computePrimeCount", workloads, N, &mo,
                             &m);
    mf_value v;
    size_t got = 0;
    while (rc == MF_OK && (rc = mf_map_next(m, NULL, &v)) == MF_OK)
        pool_results[got++] = (int64_t)v.via.u;
    mf_map_free(m);
    double pool_time = now() - start;
    if (got != N) {
        fprintf(stderr, "primes: the pool failed: %s\n", mf_errmsg());
        mf_executor_free(executor);
        return 1;
    }
    printf("%zu Processes: %.2fs -> ", mf_executor_max_workers(executor),
           pool_time);
    print_list(pool_results, N);
    printf("\n");
    printf("Speedup: %.1fx\n", seq_time / pool_time);
    mf_executor_free(executor);
    for (int i = 0; i < N; i++)
        if (seq_results[i] != pool_results[i])
            return 1;
    return 0;
}
