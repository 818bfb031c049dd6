/* lockfree/park.c — the parking primitive: one owner waits, anyone wakes it.
 *
 * States of the 32-bit futex word:
 *
 *     IDLE ──(owner: CAS, about to sleep)──▶ SLEEPING
 *       │                                      │
 *       └──(waker: exchange)──▶ UNPARKED ◀─────┘ (waker: exchange; FUTEX_WAKE
 *                                                 because the old value was
 *                                                 SLEEPING)
 *     SLEEPING ──(owner: CAS, deadline passed)──▶ IDLE
 *
 * Why no wakeup is lost: the owner only sleeps in the kernel with
 * FUTEX_WAIT(SLEEPING), which the kernel compares against the word under its
 * bucket lock. A waker's exchange either lands before the owner's CAS
 * IDLE→SLEEPING (the CAS fails, the owner sees UNPARKED and returns without
 * sleeping) or after it (the exchange returns SLEEPING, so the waker issues
 * FUTEX_WAKE; if that comes before the owner entered the kernel, the kernel's
 * compare sees UNPARKED and the wait returns at once). The word, not the futex
 * return value, decides: every return from the kernel re-reads it, so a
 * spurious or stale wake (aimed at an earlier user of this memory) only costs
 * one more loop.
 *
 * Cost: a waker that finds the owner still spinning (IDLE) pays one atomic
 * exchange and no syscall.
 */
#include "lockfree/common.h"
#include "lockfree/futex.h"

#include <weft/lockfree.h>

enum { PARK_IDLE = 0, PARK_SLEEPING = 1, PARK_UNPARKED = 2 };

WEFT_API void weft_parker_reset(weft_parker *p)
{
    /* Relaxed: the owner resets only when no waker can reach the parker;
       publication to wakers happens through whatever structure later makes
       the parker reachable (a lock or a release store). */
    atomic_store_explicit(WEFT_ATOMIC_U32(&p->word_), PARK_IDLE, memory_order_relaxed);
}

WEFT_API bool weft_parker_unparked(const weft_parker *p)
{
    /* Acquire: pairs with the acq_rel exchange in weft_parker_unpark, so what
       the waker wrote before unparking is visible once this returns true. */
    return atomic_load_explicit(WEFT_ATOMIC_U32(&p->word_), memory_order_acquire) ==
           PARK_UNPARKED;
}

WEFT_API int weft_parker_wait(weft_parker *p, int64_t deadline, uint32_t spins)
{
    _Atomic uint32_t *w = WEFT_ATOMIC_U32(&p->word_);

    for (uint32_t i = 0; i < spins; i++) {
        if (weft_parker_unparked(p))
            return 0;
        weft_cpu_relax();
    }
    if (deadline != WEFT_FOREVER && deadline <= weft_now())
        return weft_parker_unparked(p) ? 0 : deadline == WEFT_NOWAIT ? WEFT_EAGAIN : WEFT_ETIMEDOUT;

    /* Acquire on success pairs with nothing (we saw IDLE); on failure the
       word is UNPARKED and acquire pairs with the waker's exchange. */
    uint32_t s = PARK_IDLE;
    if (!atomic_compare_exchange_strong_explicit(w, &s, PARK_SLEEPING, memory_order_acquire,
                                                 memory_order_acquire))
        return 0; /* s == UNPARKED: the only other transition out of IDLE */

    for (;;) {
        WEFT_INJECT(); /* announced SLEEPING, not yet in the kernel */
        weft__futex_wait(w, PARK_SLEEPING, deadline);
        if (weft_parker_unparked(p))
            return 0;
        if (deadline != WEFT_FOREVER && deadline <= weft_now()) {
            /* Leave SLEEPING so a late waker skips the syscall; if the CAS
               fails a waker got in first and we report the unpark. */
            s = PARK_SLEEPING;
            if (atomic_compare_exchange_strong_explicit(w, &s, PARK_IDLE, memory_order_acquire,
                                                        memory_order_acquire))
                return WEFT_ETIMEDOUT;
            return 0;
        }
    }
}

WEFT_API void weft_parker_unpark(weft_parker *p)
{
    _Atomic uint32_t *w = WEFT_ATOMIC_U32(&p->word_);
    /* Release: publishes what the caller wrote before unparking to the owner,
       whose acquire load of UNPARKED pairs with it. Acquire is not needed but
       acq_rel keeps the exchange a full barrier on every target. The owner
       may return and reuse its memory as soon as it sees UNPARKED: after the
       exchange we touch the word only through the kernel, which tolerates a
       stale address (a spurious wake for its next user, who re-checks). */
    if (atomic_exchange_explicit(w, PARK_UNPARKED, memory_order_acq_rel) == PARK_SLEEPING)
        weft__futex_wake(w, 1);
}
