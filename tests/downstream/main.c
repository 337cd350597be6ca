/*
 * tests/downstream/main.c -- built against an installed mpifutures (once via
 * find_package, once via pkg-config). Submits a task and a plain call and
 * checks both results; exit 0 only if everything matched.
 */
#include <stdio.h>

#include <mpifutures.h>

static int twice(const mf_args *args, mf_reply *reply, void *udata)
{
    int64_t v;
    int rc = mf_args_i64(args, 0, &v);
    return rc != MF_OK ? rc : mf_reply_i64(reply, 2 * v);
}

static void *same(void *arg)
{
    return arg;
}

int main(void)
{
    mf_executor *ex;
    mf_future *a, *b;
    int64_t v = 0;
    void *p = NULL;
    int x;
    if (mf_task_register("twice", twice, NULL) != MF_OK ||
        mf_thread_pool_new(NULL, &ex) != MF_OK)
        return 1;
    if (mf_executor_submitf(ex, "twice", &a, "i", 21) != MF_OK ||
        mf_executor_call(ex, same, &x, &b) != MF_OK)
        return 1;
    int ok = mf_future_result_i64(a, 10, &v) == MF_OK && v == 42 &&
             mf_future_result_ptr(b, 10, &p) == MF_OK && p == &x;
    mf_future_release(a);
    mf_future_release(b);
    mf_executor_free(ex);
    printf("downstream (mpifutures %s): %s\n", MF_VERSION_STRING,
           ok ? "ok" : "WRONG RESULT");
    return ok ? 0 : 1;
}
