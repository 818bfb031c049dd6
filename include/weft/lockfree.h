/* weft/lockfree.h — the building blocks under weft's channels, public for
 * performance research: a bounded MPMC ring, a futex parker, and the
 * adaptive spin policy that decides between spinning and parking.
 *
 * None of these knows about channels. Each is documented with its cost and
 * its concurrency contract; the design notes (stamps, parking states, the
 * no-lost-wakeup argument) are at the top of lockfree/ring.h, park.c and
 * spin.c in the source tree.
 */
#ifndef WEFT_LOCKFREE_H
#define WEFT_LOCKFREE_H

#include <weft/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- weft_ring: bounded MPMC ring of fixed-size elements ----------------
 *
 * Dmitry Vyukov's bounded queue with per-slot sequence stamps (as in
 * crossbeam's array flavor): any capacity >= 1 (not rounded to a power of
 * two), elements of any size copied in place, head and tail on separate
 * cache lines. It holds exactly `cap` elements. Any number of threads may
 * push and pop at once (_mpmc). FIFO: elements pushed by one thread are
 * popped in the order it pushed them.
 *
 * Cost: one successful CAS plus one memcpy per push or pop; a push and a pop
 * on different slots touch no common cache line except when the ring is
 * nearly full or empty. A pop that finds the next slot claimed by a push
 * still copying waits for it only briefly, then reports WEFT_EAGAIN.
 */
typedef struct weft_ring weft_ring;

/* A ring of cap elements of elem_size bytes (elem_size may be 0). Returns
   NULL with errno EINVAL for cap 0 or cap > 2^40, ENOMEM when out of memory
   or when cap * elem_size overflows. */
WEFT_API weft_ring *weft_ring_new(size_t elem_size, size_t cap);

/* Copy elem into the ring: 0, or WEFT_EAGAIN when it is full, WEFT_EINVAL
   for a NULL ring (or NULL elem with elem_size > 0). Never blocks. */
WEFT_API int weft_ring_try_push(weft_ring *r, const void *elem);

/* Copy the oldest element out into elem (NULL drops it): 0, or WEFT_EAGAIN
   when it is empty, WEFT_EINVAL for a NULL ring. Never blocks. */
WEFT_API int weft_ring_try_pop(weft_ring *r, void *elem);

/* Free the ring; no thread may use it any more. NULL does nothing. */
WEFT_API void weft_ring_free(weft_ring *r);

/* ---- weft_parker: one thread waits, any thread wakes it ------------------
 *
 * A 32-bit futex word with three states: IDLE (0), SLEEPING, UNPARKED.
 * The owner calls weft_parker_wait; any thread calls weft_parker_unpark.
 * The state word, not the futex return, decides: an unpark that happens
 * before the wait makes the wait return at once; a spurious futex return is
 * absorbed. Unpark makes a syscall only if the owner is actually asleep
 * (it swaps the word to UNPARKED and calls FUTEX_WAKE only if the old value
 * was SLEEPING), so a waiter that is still spinning costs its waker one
 * atomic exchange. Private futexes, absolute CLOCK_MONOTONIC deadlines.
 *
 * A parker is one-shot: after an unpark, the owner resets it (when no waker
 * can still reach it) before the next wait. All-zero is a reset parker.
 */
typedef struct weft_parker {
    uint32_t word_; /* accessed atomically; do not touch */
} weft_parker;

#define WEFT_PARKER_INIT { 0 }

/* Make the parker IDLE again. Only the owner, and only when no thread can
   still unpark it for an earlier wait. */
WEFT_API void weft_parker_reset(weft_parker *p);

/* Spin up to `spins` rounds of weft_cpu_relax() watching the word, then
   sleep until unparked or until the absolute deadline. Returns 0 once
   unparked (the unpark happens-before the return), WEFT_ETIMEDOUT when the
   deadline passed first (WEFT_EAGAIN for WEFT_NOWAIT). Only the owner. */
WEFT_API int weft_parker_wait(weft_parker *p, int64_t deadline, uint32_t spins);

/* Wake the owner, or make its next wait return at once. Any thread, any
   number of times. Costs one atomic exchange, plus one FUTEX_WAKE syscall
   only when the owner sleeps in the kernel. Release: what the caller wrote
   before unpark is visible to the owner after its wait returns 0. */
WEFT_API void weft_parker_unpark(weft_parker *p);

/* True if the parker has been unparked since its last reset (acquire). */
WEFT_API bool weft_parker_unparked(const weft_parker *p);

/* ---- spinning: when it pays and for how long -----------------------------
 *
 * Waking a parked thread costs tens of microseconds in a VM while a cache
 * line moves between cores in under 100 ns, so a short spin before parking
 * pays when the thread that will satisfy the wait is running on another
 * CPU; when threads outnumber cores it only steals that thread's CPU.
 * weft_spin is an adaptive per-site budget (Folly TurnSequencer's idea):
 * it moves toward twice the spin that last succeeded, and a periodic probe
 * with the maximum budget that runs out pulls it to a minimum, so a site
 * where the peer is not running (threads outnumber cores) stops spinning.
 * In addition, at most ncpus threads of the process spin at once (none on
 * one CPU): the others park at once.
 * No sched_yield anywhere.
 */
typedef struct weft_spin {
    uint32_t budget_; /* accessed atomically; all-zero is the default budget */
    uint32_t probe_;
} weft_spin;

#define WEFT_SPIN_INIT { 0, 0 }

/* One pause instruction (PAUSE on x86, YIELD on arm64): tens of cycles. */
WEFT_API void weft_cpu_relax(void);

/* The number of CPUs this process may run on (sched_getaffinity, read once). */
WEFT_API unsigned weft_ncpus(void);

/* Ask to spin at site s. Returns the number of weft_cpu_relax rounds the
   caller may spend before parking, or 0: park at once (one CPU, or ncpus threads
   already spin). A nonzero return must be paired with one
   weft_spin_leave. Thread-safe; costs two atomic RMWs on a process-wide
   counter, so call it only on the way to blocking. */
WEFT_API uint32_t weft_spin_enter(weft_spin *s);

/* Report the outcome of a spin granted by weft_spin_enter: `used` rounds
   spent, `success` whether the wait ended while spinning. Adapts s. */
WEFT_API void weft_spin_leave(weft_spin *s, uint32_t used, bool success);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_LOCKFREE_H */
