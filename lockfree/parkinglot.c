/* lockfree/parkinglot.c — waiters keyed by address in a hashed side table.
 *
 * LOT_BUCKETS buckets, each on its own cache line: a futex lock (lock.h) and
 * a doubly linked FIFO of nodes. A node lives on its waiter's stack for the
 * duration of one weft__lot_park call and holds the key and the waiter's
 * parker (park.c). Node states, with `queued` read and written only under
 * the bucket lock:
 *
 *   queued ──(waker, under the lock: dequeue)──▶ dequeued ──(waker, after
 *      │                                            unlocking: unpark)──▶ woken
 *      └──(waiter, deadline passed, under the lock: remove itself)──▶ gone
 *
 * A waiter returns only when its node is gone or woken, never while it is
 * merely dequeued: a waiter whose deadline passes after a waker dequeued it
 * waits for that waker's unpark, which touches the node's parker. So the
 * node is valid for as long as any waker can reach it.
 *
 * Why no wakeup is lost: see parkinglot.h (the condition is re-checked under
 * the bucket lock; wakers change the state word before taking it). Inside
 * the lot, a dequeue and the unpark that follows it are one waker's job; the
 * parker absorbs an unpark that comes before its owner sleeps.
 *
 * Cost: park is one uncontended lock round trip plus the parker's sleep;
 * unpark is one lock round trip, a walk of the bucket's list (waiters on
 * other keys that hash to it included), and one parker unpark per waiter.
 */
#include "lockfree/parkinglot.h"

#include "lockfree/common.h"
#include "lockfree/list.h"
#include "lockfree/lock.h"

#include <weft/lockfree.h>

#define LOT_BUCKETS_LOG2 8
#define LOT_BUCKETS      (1u << LOT_BUCKETS_LOG2)

typedef struct lot_node {
    weft_dlink link; /* the bucket's list; then the waker's wake list */
    const void *key;
    weft_parker park;
    bool queued;     /* under the bucket lock */
} lot_node;

typedef struct lot_bucket {
    _Alignas(WEFT_CACHELINE) weft_lock lock;
    weft_dlist q; /* lot_node.link, under lock */
} lot_bucket;

static lot_bucket g_lot[LOT_BUCKETS];

static lot_bucket *bucket_of(const void *key)
{
    /* Fibonacci hashing: the top bits of the product mix every address bit,
       so neighbouring objects (an array of onces) spread over the buckets. */
    uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15);
    return &g_lot[h >> (64 - LOT_BUCKETS_LOG2)];
}

int weft__lot_park(const void *key, bool (*still_wait)(void *ctx), void *ctx, int64_t deadline)
{
    if (weft__deadline_passed(deadline))
        return weft__expired(deadline);

    lot_bucket *b = bucket_of(key);
    lot_node n = { .key = key }; /* the parker starts reset (all-zero) */

    weft_lock_acquire(&b->lock);
    if (!still_wait(ctx)) {
        weft_lock_release(&b->lock);
        return 0;
    }
    /* The unlock (release) publishes the node and its reset parker to the
       waker, whose lock acquire pairs with it. */
    weft__dlist_push_back(&b->q, &n.link);
    n.queued = true;
    weft_lock_release(&b->lock);

    int rc = weft_parker_wait(&n.park, deadline, 0);
    if (rc == 0)
        return 0;

    weft_lock_acquire(&b->lock);
    bool mine = n.queued;
    if (mine)
        weft__dlist_remove(&b->q, &n.link);
    weft_lock_release(&b->lock);
    if (mine)
        return rc;
    /* A waker dequeued us and will unpark us after its unlock: wait for it,
       so that it does not touch our stack after we return. */
    weft_parker_wait(&n.park, WEFT_FOREVER, 0);
    return 0;
}

size_t weft__lot_unpark(const void *key, size_t max)
{
    lot_bucket *b = bucket_of(key);
    weft_dlist wake = { NULL, NULL };
    size_t k = 0;

    weft_lock_acquire(&b->lock);
    for (weft_dlink *l = b->q.head, *next; l && k < max; l = next) {
        next = l->next;
        lot_node *n = weft__dlist_entry(l, lot_node, link);
        if (n->key != key)
            continue;
        weft__dlist_remove(&b->q, l);
        n->queued = false;
        weft__dlist_push_back(&wake, l);
        k++;
    }
    weft_lock_release(&b->lock);

    for (weft_dlink *l = wake.head, *next; l; l = next) {
        /* Read the link first: once unparked, the node's owner returns and
           its stack frame is gone. */
        next = l->next;
        weft_parker_unpark(&weft__dlist_entry(l, lot_node, link)->park);
    }
    return k;
}
