/* lockfree/parkinglot.h — a hashed side table of waiters keyed by address.
 * Internal.
 *
 * WebKit's ParkingLot, nsync's and Go's semaRoot idea: an object that needs
 * to block threads keeps no wait queue and no futex word of its own. Its
 * waiters queue in one of a fixed set of buckets, chosen by hashing the
 * object's address (the key), each bucket a small futex lock (lock.h) and an
 * intrusive FIFO list of nodes that live on the waiters' stacks. So a 4-byte
 * once or an 8-byte waitgroup can block any number of threads, and a waker
 * touches nothing of the object once it has changed the object's state word:
 * it only takes the bucket lock and unparks nodes, so the object may be freed
 * by a woken waiter at once (the last weft_wg_done does exactly this).
 *
 * The protocol every user follows (why no wakeup is lost):
 *
 *   waiter: decide to wait from the object's state word, then call
 *           weft__lot_park(key, still_wait, ctx, deadline). still_wait runs
 *           under the bucket lock and re-reads the state word (it may also
 *           record "a waiter is here" in it, with an RMW).
 *   waker:  change the state word with an RMW first, then call
 *           weft__lot_unpark(key, n) (only if the word said someone waits).
 *
 * The waker's lock section either comes after the waiter's (the node is
 * queued: the waker finds and unparks it) or before it (the waker's state
 * change happens-before its unlock, which happens-before the waiter's lock,
 * so still_wait sees the new state and the waiter does not sleep). Either
 * way the waiter does not sleep through the change.
 *
 * A woken waiter must re-check its object: wakes are by key, and a key can
 * be shared by a freed object and a new one at the same address (a spurious
 * wake costs one loop). Every function here is thread-safe.
 */
#ifndef WEFT_LOCKFREE_PARKINGLOT_H
#define WEFT_LOCKFREE_PARKINGLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wait on key. Without taking a lock, returns the deadline's error (WEFT_EAGAIN
   for WEFT_NOWAIT, else WEFT_ETIMEDOUT) if it has passed. Otherwise takes the
   key's bucket lock, calls still_wait(ctx) under it, and returns 0 at once if
   that says false; else queues a node for key (FIFO), unlocks and parks until
   an unpark for key dequeues it (0) or the deadline passes (the node removes
   itself: WEFT_ETIMEDOUT). A node dequeued just as its deadline passed waits
   for its unpark and returns 0. still_wait must not block or call into the
   parking lot. Never spins: the caller spins first if that pays. */
int weft__lot_park(const void *key, bool (*still_wait)(void *ctx), void *ctx, int64_t deadline);

/* Dequeue up to max waiters on key, oldest first, and unpark them after
   releasing the bucket lock. Returns how many. Touches nothing at key. */
size_t weft__lot_unpark(const void *key, size_t max);

#endif
