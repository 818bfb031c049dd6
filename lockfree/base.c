/* lockfree/base.c — error strings, the monotonic clock, misuse aborts. */
#include "lockfree/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <weft/base.h>

WEFT_API const char *weft_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case WEFT_ECLOSED: return "channel closed";
    case WEFT_ETIMEDOUT: return "deadline passed";
    case WEFT_ECANCELED: return "context canceled";
    case WEFT_EAGAIN: return "operation would block";
    case WEFT_EINVAL: return "invalid argument";
    case WEFT_ENOMEM: return "out of memory";
    default: return "unknown weft error";
    }
}

WEFT_API int64_t weft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

WEFT_API int64_t weft_deadline_in(int64_t ns)
{
    int64_t now = weft_now();
    if (ns > 0 && now > INT64_MAX - ns)
        return WEFT_FOREVER;
    if (ns < 0 && now < INT64_MIN + 1 - ns)
        return INT64_MIN + 1;
    return now + ns;
}

_Noreturn void weft__panic(const char *msg)
{
    fprintf(stderr, "weft: %s\n", msg);
    fflush(stderr);
    abort();
}
