/* sync/once.c — weft_once: run a function exactly once.
 *
 * One 32-bit word:
 *
 *     NEW (0) ──(first caller: CAS)──▶ RUNNING | tid<<3 ──(runner: exchange,
 *                                        │  ▲                fn returned)──▶ DONE (1)
 *                  (a caller that must ──┘  │
 *                   wait: CAS, sets WAITERS)┘
 *
 * The runner's thread id sits in the word while fn runs, so a recursive call
 * from fn on the same thread is recognised (it would wait for itself) and
 * aborts. Waiters park in the parking lot keyed by the once's address; the
 * runner wakes them all only if it saw WAITERS in the value its exchange
 * replaced.
 *
 * Why no wakeup is lost: a waiter sets WAITERS with an RMW before parking,
 * and re-checks "not DONE" under the bucket lock (parkinglot.h). If its CAS
 * comes after the runner's exchange in the word's modification order it
 * fails and reads DONE; if before, the runner's exchange returns WAITERS and
 * the runner unparks the key after its exchange, which the lot's protocol
 * covers. DONE is final, so a waiter that wakes for any reason re-reads the
 * word and either returns or parks again.
 */
#include "lockfree/common.h"
#include "lockfree/parkinglot.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <weft/sync.h>

enum {
    ONCE_NEW = 0,
    ONCE_DONE = 1,
    ONCE_RUNNING = 2,
    ONCE_WAITERS = 4,
    ONCE_TID_SHIFT = 3, /* Linux thread ids are below 2^22 (PID_MAX_LIMIT) */
};

_Static_assert(sizeof(weft_once) == sizeof(uint32_t), "weft_once is one 32-bit word");
_Static_assert(ONCE_DONE == WEFT_ONCE_DONE_, "the inline fast path in sync.h tests this value");

/* Under the bucket lock: keep waiting while fn has not returned. Relaxed:
   the lot's lock orders this load after the runner's exchange when it must
   see it (parkinglot.h); the caller's acquire re-read publishes fn's writes. */
static bool once_not_done(void *word)
{
    return atomic_load_explicit((_Atomic uint32_t *)word, memory_order_relaxed) != ONCE_DONE;
}

/* Not inlined: keeps the fast path free of the slow path's register saves. */
__attribute__((noinline)) static void once_slow(weft_once *once, void (*fn)(void *), void *arg)
{
    if (!fn)
        weft__panic("weft_once_do: NULL fn");
    _Atomic uint32_t *w = WEFT_ATOMIC_U32(&once->word_);
    uint32_t me = ((uint32_t)syscall(SYS_gettid) << ONCE_TID_SHIFT) | ONCE_RUNNING;
    /* Acquire here and on every failed CAS below: a value of DONE returns,
       and must carry fn's writes (pairs with the runner's release exchange). */
    uint32_t s = atomic_load_explicit(w, memory_order_acquire);
    for (;;) {
        if (s == ONCE_DONE)
            return;
        if (s == ONCE_NEW) {
            /* Acquire only for the failure (C11 wants success at least as
               strong): claiming the run itself publishes nothing. */
            if (!atomic_compare_exchange_weak_explicit(w, &s, me, memory_order_acquire,
                                                       memory_order_acquire))
                continue;
            fn(arg);
            /* Release: publishes fn's writes to every acquire load that reads
               DONE (the fast path, weft_once_done, a woken waiter). After it
               we touch only the parking lot: the once may be freed. */
            s = atomic_exchange_explicit(w, ONCE_DONE, memory_order_release);
            if (s & ONCE_WAITERS)
                weft__lot_unpark(once, SIZE_MAX);
            return;
        }
        if ((s & ~(uint32_t)ONCE_WAITERS) == me)
            weft__panic("weft_once_do called recursively from its own fn");
        /* Acquire for the failure, as above; the flag itself only asks the
           runner to unpark. */
        if (!(s & ONCE_WAITERS) &&
            !atomic_compare_exchange_weak_explicit(w, &s, s | ONCE_WAITERS, memory_order_acquire,
                                                   memory_order_acquire))
            continue;
        weft__lot_park(once, once_not_done, w, WEFT_FOREVER);
        s = atomic_load_explicit(w, memory_order_acquire);
    }
}

/* The name in parentheses: sync.h's inline fast path is a macro of it. */
WEFT_API void(weft_once_do)(weft_once *once, void (*fn)(void *), void *arg)
{
    if (weft_unlikely(!once))
        weft__panic("weft_once_do: NULL once");
    /* Acquire: pairs with the runner's release exchange to DONE, so fn's
       writes are visible when we return here. The whole cost once done. */
    if (weft_likely(atomic_load_explicit(WEFT_ATOMIC_U32(&once->word_), memory_order_acquire) ==
                    ONCE_DONE))
        return;
    once_slow(once, fn, arg);
}

WEFT_API bool weft_once_done(const weft_once *once)
{
    /* Acquire: as in weft_once_do's fast path. */
    return once &&
           atomic_load_explicit(WEFT_ATOMIC_U32(&once->word_), memory_order_acquire) == ONCE_DONE;
}
