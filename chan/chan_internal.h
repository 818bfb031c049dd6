/* chan/chan_internal.h — the channel object, shared by chan.c and select.c.
 * Internal. */
#ifndef WEFT_CHAN_INTERNAL_H
#define WEFT_CHAN_INTERNAL_H

#include "chan/waitq.h"
#include "lockfree/ring.h"

#include <weft/chan.h>

struct weft_chan {
    size_t elem_size;
    size_t cap;                /* 0: unbuffered */
    weft_lock lock;            /* guards sendq, recvq and (unbuffered) closed */
    bool closed;               /* unbuffered only; buffered uses the ring's mark bit */
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

static inline weft_waitq *chan_queue(weft_chan *c, bool send)
{
    return send ? &c->sendq : &c->recvq;
}

static inline void chan_notify(weft_chan *c, weft_waitq *q, size_t n)
{
    /* seq_cst: the load half of the Dekker pair with wq_enqueue's increment
       (after our seq_cst ring update; see lockfree/ring.h). */
    if (n && weft_unlikely(atomic_load(&q->n) != 0))
        weft__chan_wake(c, q, n);
}

#endif
