/* lockfree/nap.c — napping instead of parking (see nap.h). */
#include "lockfree/nap.h"

#include "lockfree/common.h"

#include <time.h>

enum {
    NAP_BACKOFF = 64,          /* waits that park after a nap overshot */
    NAP_REQUEST_NS = 1000,     /* asked for; the kernel's slack decides */
    NAP_MIN_DEADLINE_NS = 1000000, /* nap only with at least 1 ms to go */
};

bool weft_nap_take(weft_nap *s, int64_t deadline)
{
    /* Relaxed, as every access here: advisory state (nap.h). */
    uint32_t b = atomic_load_explicit(&s->backoff, memory_order_relaxed);
    if (b) {
        /* Racing decrements may lose one: the count is a rough measure. */
        atomic_store_explicit(&s->backoff, b - 1, memory_order_relaxed);
        return false;
    }
    if (deadline != WEFT_FOREVER && deadline - weft_now() < NAP_MIN_DEADLINE_NS)
        return false;
    struct timespec ts = { 0, NAP_REQUEST_NS };
    nanosleep(&ts, NULL); /* an early return (a signal) only shortens the nap */
    return true;
}

void weft_nap_overshot(weft_nap *s)
{
    atomic_store_explicit(&s->backoff, NAP_BACKOFF, memory_order_relaxed);
}
