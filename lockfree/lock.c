/* lockfree/lock.c — slow paths of the futex mutex in lock.h. */
#include "lockfree/lock.h"
#include "lockfree/futex.h"

#include <weft/lockfree.h>

static weft_spin g_lock_spin = WEFT_SPIN_INIT;

void weft__lock_slow(weft_lock *l)
{
    uint32_t budget = weft_spin_enter(&g_lock_spin), i = 0;
    for (; i < budget; i++) {
        uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
        /* Acquire on success: as in weft_lock_acquire. */
        if (s == 0 && atomic_compare_exchange_weak_explicit(&l->state, &s, 1, memory_order_acquire,
                                                            memory_order_relaxed)) {
            weft_spin_leave(&g_lock_spin, i, true);
            return;
        }
        if (s == 2)
            break; /* others already sleep: queue behind them */
        weft_cpu_relax();
    }
    if (budget)
        weft_spin_leave(&g_lock_spin, i, false);
    /* Mark the lock contended (2) whenever we may sleep, so the holder's
       unlock wakes someone; acquire pairs with the holder's release. */
    while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire) != 0)
        weft__futex_wait(&l->state, 2, WEFT_FOREVER);
}

void weft__unlock_wake(weft_lock *l)
{
    weft__futex_wake(&l->state, 1);
}
