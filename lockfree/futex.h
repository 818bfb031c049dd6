/* lockfree/futex.h — the two futex calls weft makes. Internal.
 *
 * Both use FUTEX_PRIVATE_FLAG (weft's words are never shared between
 * processes). The wait takes an absolute CLOCK_MONOTONIC deadline in
 * nanoseconds (FUTEX_WAIT_BITSET is the form that accepts one) and may return
 * early for any reason (a wake, a signal, a value mismatch, a stale wake
 * aimed at earlier use of the same memory): callers always re-check their
 * state word, which alone decides. */
#ifndef WEFT_LOCKFREE_FUTEX_H
#define WEFT_LOCKFREE_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <weft/base.h>

/* Sleep while *word == expected, until woken or until deadline (weft_now()
   nanoseconds; WEFT_FOREVER: no timeout). */
static inline void weft__futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t deadline)
{
    struct timespec ts, *tsp = NULL;
    if (deadline != WEFT_FOREVER) {
        ts.tv_sec = deadline / 1000000000;
        ts.tv_nsec = deadline % 1000000000;
        tsp = &ts;
    }
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp,
            NULL, FUTEX_BITSET_MATCH_ANY);
}

/* Wake up to n threads sleeping on word. */
static inline void weft__futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
}

#endif
