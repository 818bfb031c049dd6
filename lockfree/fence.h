/* lockfree/fence.h — asymmetric fences: a free one for fast paths, a
 * costly one for the thread about to park. Internal.
 *
 * Blocking needs a store→load (Dekker) pair on both sides: an operation
 * publishes (a ring stamp) and then looks for waiters; a waiter registers
 * and then re-checks the ring. Each side needs a full fence between its
 * store and its load, and on the fast path that fence (an XCHG or MFENCE,
 * ~20 cycles on a contended line) was the largest single cost: removing it
 * took 4x4 buffered throughput from ~19 to ~37 M msgs/s on the target VM.
 *
 * liburcu's trick (urcu-memb) moves the whole cost to the rare side:
 *
 *   fast side:  store; weft__fence_light(); load     (a compiler barrier)
 *   slow side:  store; weft__fence_heavy(); load     (membarrier(2))
 *
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED makes every CPU running a thread of this
 * process execute a full barrier (by IPI) before it returns; a thread not
 * running has one anyway at its context switch. Whatever point P of the
 * fast thread that barrier lands on: if its store precedes P, the store is
 * visible to the slow side's load; if its load follows P, it sees the slow
 * side's store; either way one side sees the other.
 *
 * Availability is probed once at load time (a constructor registers the
 * process for expedited membarrier). Where it is unavailable (old kernel,
 * seccomp), the light fence becomes a real seq_cst fence and the heavy one
 * the same, which is correct on its own. A heavy fence costs a syscall and
 * an IPI per other busy CPU (microseconds), paid only by a thread that is
 * about to park anyway.
 */
#ifndef WEFT_LOCKFREE_FENCE_H
#define WEFT_LOCKFREE_FENCE_H

#include <stdatomic.h>
#include <stdbool.h>

#define weft_fence_asym weft__fence_asym

/* true once expedited membarrier is registered (set before main runs). */
extern bool weft_fence_asym;

void weft__fence_heavy(void);
void weft__fence_full(void);

static inline void weft__fence_light(void)
{
    if (__builtin_expect(weft_fence_asym, 1))
        atomic_signal_fence(memory_order_seq_cst); /* compiler barrier only */
    else
        weft__fence_full();
}

#endif
