/* lockfree/lock.h — a small futex mutex for weft's slow paths. Internal.
 *
 * Used only where a thread is about to block anyway (registering in a
 * channel's wait queue) and for the unbuffered rendezvous, never on the
 * buffered fast path. Drepper's three-state mutex ("Futexes Are Tricky",
 * mutex #3): 0 free, 1 locked, 2 locked with possible sleepers. Unlock makes
 * a syscall only in state 2. The slow path spins briefly (under weft's spin
 * policy) before sleeping, because the holder is usually running and holds
 * the lock for a few hundred nanoseconds.
 */
#ifndef WEFT_LOCKFREE_LOCK_H
#define WEFT_LOCKFREE_LOCK_H

#include "lockfree/common.h"

typedef struct weft_lock {
    _Atomic uint32_t state;
} weft_lock;

void weft__lock_slow(weft_lock *l);
void weft__unlock_wake(weft_lock *l);

static inline void weft_lock_acquire(weft_lock *l)
{
    uint32_t free_ = 0;
    /* Acquire: pairs with the release in weft_lock_release, so the previous
       holder's writes are visible to us. */
    if (weft_unlikely(!atomic_compare_exchange_strong_explicit(
            &l->state, &free_, 1, memory_order_acquire, memory_order_relaxed)))
        weft__lock_slow(l);
}

static inline void weft_lock_release(weft_lock *l)
{
    /* Release: publishes our critical section to the next holder. */
    if (weft_unlikely(atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2))
        weft__unlock_wake(l);
}

#endif
