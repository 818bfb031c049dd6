/* chan/chan_internal.h — the channel object, shared by chan.c and select.c.
 * Internal. */
#ifndef WEFT_CHAN_INTERNAL_H
#define WEFT_CHAN_INTERNAL_H

#include "chan/waitq.h"
#include "lockfree/fence.h"
#include "lockfree/ring.h"

#include <weft/chan.h>

struct weft_chan {
    size_t elem_size;
    size_t cap;                /* 0: unbuffered */
    weft_lock lock;            /* guards sendq, recvq and (unbuffered) closed */
    bool closed;               /* unbuffered only; buffered uses the ring's mark bit */
    _Atomic uint64_t events;   /* unbuffered only: bumped by every enqueue and close */
    weft_waitq sendq, recvq;   /* threads blocked sending / receiving */
    weft_spin send_spin, recv_spin;
    weft_ring ring;            /* buffered only; slots follow the struct */
};

/* Wake up to n threads blocked on q (0 does nothing). The check for "nobody
   waits" is one seq_cst load and is inlined into the fast paths. */
void weft__chan_wake(weft_chan *c, weft_waitq *q, size_t n);

/* A channel operation without argument checks: the engine of every public
   send/receive form (deadline WEFT_NOWAIT: a poll). Wakes the other side
   on success. */
int weft__chan_op(weft_chan *c, bool send, void *elem, int64_t deadline);

/* Unbuffered, channel lock held, partner node p already claimed: copy the
   value between our elem and p's and return p's waiter, for the caller to
   unpark after releasing the lock. */
weft_waiter *weft__unbuf_transfer(weft_chan *c, bool send, void *elem, weft_wnode *p);

/* A number that changes whenever the channel may have become ready: the
   sum of the ring's positions (both only grow; the close mark adds to
   tail), or the unbuffered event count. Read before a failed try and again
   after it, an unchanged version proves the channel stayed not ready in
   between (select's atomic poll). seq_cst loads. */
static inline uint64_t chan_version(weft_chan *c)
{
    if (c->cap)
        return atomic_load(&c->ring.head) + atomic_load(&c->ring.tail);
    return atomic_load(&c->events);
}

static inline weft_waitq *chan_queue(weft_chan *c, bool send)
{
    return send ? &c->sendq : &c->recvq;
}

static inline void chan_notify(weft_chan *c, weft_waitq *q, size_t n)
{
    /* The light half of the Dekker pair (lockfree/fence.h): our ring update
       (a release stamp store) before this load of the waiter count; the
       waiter's increment, heavy fence and ring re-check mirror it. */
    weft__fence_light();
    if (n && weft_unlikely(atomic_load_explicit(&q->n, memory_order_relaxed) != 0))
        weft__chan_wake(c, q, n);
}

#endif
