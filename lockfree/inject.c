/* lockfree/inject.c — WEFT_INJECT() for test builds (WEFT_INJECT_DELAYS):
 * 1 call in 64 sleeps 1-200 us, chosen by a per-thread xorshift. */
#include "lockfree/common.h"

#ifdef WEFT_INJECT_DELAYS
#include <time.h>

void weft__inject(void)
{
    static _Thread_local uint64_t s;
    if (!s)
        s = (uint64_t)(uintptr_t)&s | 1;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    if (s % 64 != 0)
        return;
    struct timespec ts = { 0, (long)(1000 + (s >> 8) % 199000) };
    nanosleep(&ts, NULL);
}
#else
typedef int weft_inject_unused_; /* ISO C: a translation unit is not empty */
#endif
