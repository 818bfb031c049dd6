/* sync/wg.c — weft_wg: wait for a counter of outstanding work to reach zero.
 *
 * One 64-bit word, as Go's: the counter in the high 32 bits (0..INT32_MAX),
 * the number of registered waiters in the low 32 (saturating). Waiters park
 * in the parking lot keyed by the waitgroup's address.
 *
 *   add(n > 0)   fetch-add n << 32
 *   add(n < 0)   fetch-sub -n << 32. If that left the counter above zero, or
 *                brought it to zero with no waiter registered (the word is
 *                then all zero), done: one RMW. If it brought it to zero
 *                with waiters registered, the word reads (0, w): exchange
 *                it to 0 and unpark every waiter on the key.
 *   wait         word all zero: return. Else, under the bucket lock, CAS the
 *                waiter count up (only while the word is not zero) and
 *                queue; park; re-read the word when woken.
 *
 * Waiters return only on an all-zero word, never on (0, w): that is what
 * lets the last done touch nothing of the waitgroup after its exchange. A
 * waiter that sees zero may free the waitgroup at once; until the exchange
 * no waiter can see it, and after it the done only takes the bucket lock
 * and unparks nodes on the waiters' stacks. A waiter that timed out stays
 * counted until the round ends (it costs the last done one useless
 * lot_unpark, nothing more). An uncontended add/done pair is therefore two
 * atomic RMWs and nothing else (Go's WaitGroup has the same shape).
 *
 * Why no wakeup is lost: a waiter registers (CAS) and queues in one bucket
 * lock section. If the last done's exchange saw its registration, that CAS
 * came before the exchange in the word's modification order, so the done's
 * later lock section cannot precede the waiter's: the node is queued when
 * the done looks. If the exchange came first, the waiter's registration CAS
 * reads zero and the waiter does not park.
 *
 * Memory order: every write to the word is an RMW, so each done's release
 * heads a release sequence that reaches the value a waiter's acquire load
 * reads: everything written before any done is visible after the wait.
 */
#include "lockfree/common.h"
#include "lockfree/parkinglot.h"
#include "sync/task.h"

#include <weft/go.h>
#include <weft/lockfree.h>
#include <weft/sync.h>

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic u64 layout");
_Static_assert(_Alignof(_Atomic uint64_t) == _Alignof(weft_wg), "atomic u64 alignment");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
#define WG_STATE(wg) ((_Atomic uint64_t *)(void *)&(wg)->state_)

#define WG_ONE         (UINT64_C(1) << 32)
#define WG_COUNTER(s)  ((int64_t)((s) >> 32))
#define WG_WAITERS(s)  ((uint32_t)(s))

WEFT_API void weft_wg_add(weft_wg *wg, int delta)
{
    if (weft_unlikely(!wg))
        weft__panic("weft_wg_add: NULL waitgroup");
    _Atomic uint64_t *st = WG_STATE(wg);
    if (delta > 0) {
        /* Release: an RMW in the release sequence of earlier dones (see top).
           The counter cannot carry into bit 64: it is <= INT32_MAX before. */
        uint64_t old = atomic_fetch_add_explicit(st, (uint64_t)delta * WG_ONE, memory_order_release);
        if (weft_unlikely(WG_COUNTER(old) + delta > INT32_MAX))
            weft__panic("waitgroup counter overflow");
        return;
    }
    if (delta == 0)
        return;

    /* Release: publishes the caller's writes to the waiter whose acquire
       load reads the zero (through the release sequence, see top). */
    uint64_t old = atomic_fetch_sub_explicit(st, (uint64_t)(-(int64_t)delta) * WG_ONE,
                                             memory_order_release);
    int64_t v = WG_COUNTER(old) + delta;
    if (weft_unlikely(v < 0))
        weft__panic("negative waitgroup counter");
    if (v > 0 || WG_WAITERS(old) == 0)
        return;
    /* Zero with waiters registered: the word reads (0, w), which no waiter
       returns on. Clear it (release, as above); from here on the waitgroup
       may be freed: only its address is used. */
    atomic_exchange_explicit(st, 0, memory_order_release);
    weft__lot_unpark(wg, SIZE_MAX);
}

WEFT_API void weft_wg_done(weft_wg *wg)
{
    weft_wg_add(wg, -1);
}

/* Under the bucket lock: register as a waiter unless the word is zero.
   Relaxed: the bucket lock and the word's modification order carry the
   argument (see top); the caller decides with an acquire re-read. */
static bool wg_register(void *state)
{
    _Atomic uint64_t *st = state;
    uint64_t s = atomic_load_explicit(st, memory_order_relaxed);
    do {
        if (s == 0)
            return false;
        if (WG_WAITERS(s) == UINT32_MAX)
            return true; /* saturated: the last done unparks the key anyway */
    } while (!atomic_compare_exchange_weak_explicit(st, &s, s + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

static weft_spin g_wait_spin = WEFT_SPIN_INIT;

WEFT_API int weft_wg_wait_until(weft_wg *wg, int64_t deadline)
{
    if (!wg)
        return WEFT_EINVAL;
    _Atomic uint64_t *st = WG_STATE(wg);
    /* Spin first while the spin policy allows (never when threads outnumber
       CPUs): tasks that finish within microseconds then cost no park and no
       ~30 µs wake. A first WEFT_SPIN_PARTNER_FLOOR rounds spin whatever the
       policy's budget: the adaptive budget alone, shrunk by a few spins that
       ran out on a noisy machine, made one-at-a-time spawn-and-wait park on
       most waits (1.4 -> 3.5-13 µs per task; with the floor 1.0-1.6 µs).
       Acquire: pairs with the dones' release (see top). */
    if (deadline != WEFT_NOWAIT) {
        if (weft_ncpus() > 1)
            for (uint32_t k = 0; k < WEFT_SPIN_PARTNER_FLOOR; k++) {
                if (atomic_load_explicit(st, memory_order_acquire) == 0)
                    return 0;
                weft_cpu_relax();
            }
        uint32_t budget = weft_spin_enter(&g_wait_spin), i = 0, step = 0;
        bool zero = false;
        if (budget) {
            while (i < budget && !(zero = atomic_load_explicit(st, memory_order_acquire) == 0))
                i += weft__backoff(&step);
            weft_spin_leave(&g_wait_spin, i, zero);
            if (zero)
                return 0;
        }
    }
    for (;;) {
        /* Acquire: pairs with the dones' release (see top). The whole word,
           not just the counter: (0, w) means the last done is still
           clearing it and may touch the waitgroup. */
        if (atomic_load_explicit(st, memory_order_acquire) == 0)
            return 0;
        int rc = weft__lot_park(wg, wg_register, st, deadline);
        if (rc != 0)
            return atomic_load_explicit(st, memory_order_acquire) == 0 ? 0 : rc;
        /* Woken (or the counter reached zero under the lock): re-check; a
           wake meant for an earlier object at this address costs a loop. */
    }
}

WEFT_API void weft_wg_wait(weft_wg *wg)
{
    if (weft_unlikely(!wg))
        weft__panic("weft_wg_wait: NULL waitgroup");
    weft_wg_wait_until(wg, WEFT_FOREVER);
}

WEFT_API int weft_wg_go(weft_wg *wg, void (*fn)(void *), void *arg)
{
    if (!wg || !fn)
        return WEFT_EINVAL;
    weft_wg_add(wg, 1);
    int rc = weft__go_task(fn, arg, wg);
    if (rc != 0)
        weft_wg_done(wg);
    return rc;
}
