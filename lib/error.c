/*
 * lib/error.c -- mf_strerror, mf_err_name and the per-thread explanation.
 */
#include <stdio.h>

#include "lib/error_int.h"

static _Thread_local char errmsg[512];

const char *mf_strerror(int err)
{
    switch (err) {
    case MF_OK: return "success";
#define XX(name, msg)                                                          \
    case MF_##name:                                                            \
        return msg;
        MF_ERRNO_MAP(XX)
#undef XX
    default: return "unknown error";
    }
}

const char *mf_err_name(int err)
{
    switch (err) {
    case MF_OK: return "OK";
#define XX(name, msg)                                                          \
    case MF_##name:                                                            \
        return #name;
        MF_ERRNO_MAP(XX)
#undef XX
    default: return "UNKNOWN";
    }
}

const char *mf_errmsg(void)
{
    return errmsg;
}

void mf__clearerr(void)
{
    errmsg[0] = '\0';
}

int mf__seterr(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return code;
}
