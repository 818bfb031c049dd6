/* lockfree/nap.h — napping: leaving the CPU for a moment, without anyone
 * having to wake us. Internal.
 *
 * A thread that must wait can spin (lockfree/spin.c: pays while the thread
 * it waits for runs on another CPU), park (a waiter record someone else
 * must find and unpark), or nap: sleep once for the shortest timed sleep
 * the kernel gives (~50 µs of timer slack plus the wake-up, ~70 µs on the
 * target VM) and look again. A nap costs the napper one syscall and costs
 * nobody else anything. A park costs whoever ends the wait: a lock, a claim,
 * a futex wake, and the membarrier IPI the parking thread sends to every
 * busy CPU (lockfree/fence.h) — and when one consumer serves several
 * producers, all of that lands on the busiest thread of the pipeline.
 * Measured on 2 CPUs (select receiving from 4 channels fed by 4 producers,
 * producers blocking on full rings): 7-8 M msgs/s parking, 20-24 M napping.
 *
 * A nap is a bet that the other side has work queued for longer than the
 * nap. When it loses (the other side ran out and came to wait on us), the
 * site stops napping for its next NAP_BACKOFF waits and parks instead, so a
 * pipeline whose two ends are equally fast (1x1, where a park is answered
 * within microseconds) keeps parking. Every access is relaxed: the state is
 * advisory, a wrong guess costs time, never correctness (a napper is not
 * registered anywhere; after the nap it simply retries and, if it must
 * still wait, registers and parks as usual).
 */
#ifndef WEFT_LOCKFREE_NAP_H
#define WEFT_LOCKFREE_NAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define weft_nap_take     weft__nap_take
#define weft_nap_overshot weft__nap_overshot

typedef struct weft_nap {
    _Atomic uint32_t backoff; /* waits left that park without napping */
} weft_nap;

/* Nap at site s unless it is backing off or the deadline (weft_now()
   nanoseconds, or WEFT_FOREVER) is too close for a nap. True if it napped. */
bool weft_nap_take(weft_nap *s, int64_t deadline);

/* The nap just taken at s lasted longer than the other side's work: back off. */
void weft_nap_overshot(weft_nap *s);

#endif
