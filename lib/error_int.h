/*
 * lib/error_int.h -- internal helpers for error codes and messages.
 */
#ifndef MF_LIB_ERROR_INT_H
#define MF_LIB_ERROR_INT_H

#include <stdarg.h>

#include "mpifutures/error.h"

/* Record a printf-style explanation for the calling thread (mf_errmsg) and
 * return code, so a failing path reads `return mf__seterr(MF_EX, ...)`. */
int mf__seterr(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget the calling thread's explanation (before running user code whose
 * failure we must explain). */
void mf__clearerr(void);

#endif
