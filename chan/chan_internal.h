/* chan/chan_internal.h — the channel object, shared by chan.c and select.c.
 * Internal. */
#ifndef WEFT_CHAN_INTERNAL_H
#define WEFT_CHAN_INTERNAL_H

#include "chan/waitq.h"
#include "lockfree/fence.h"
#include "lockfree/nap.h"
#include "lockfree/ring.h"

#include <stdalign.h>

#include <weft/chan.h>

/* The rendezvous slot of an unbuffered channel (chan/unbuf.c): one cache
   line with the state word and, for elements up to 40 bytes, the value. */
enum {
    X_EMPTY = 0, X_WRITING = 1, X_SEND = 2, X_RECV = 3, X_TAKING = 4, X_FILLED = 5,
    X_KIND = 7,   /* mask of the kinds above */
    X_SLEEP = 8,  /* the poster is parked on *park */
    X_CLOSED = 16,
    X_SEQ = 32,   /* one step of the sequence in the upper bits */
};
typedef struct weft_xslot {
    alignas(WEFT_CACHELINE) _Atomic uint64_t x;
    _Atomic(weft_parker *) park; /* the poster's parker, when X_SLEEP */
    void *ptr;                   /* larger elements: the poster's buffer */
    unsigned char buf[40];       /* smaller elements: the value */
} weft_xslot;

struct weft_chan {
    size_t elem_size;
    size_t cap;                /* 0: unbuffered */
    weft_lock lock;            /* guards sendq, recvq and (unbuffered) closed */
    bool closed;               /* unbuffered only; buffered uses the ring's mark bit */
    _Atomic uint64_t events;   /* unbuffered only: bumped by every enqueue and close */
    weft_waitq sendq, recvq;   /* threads blocked sending / receiving */
    weft_spin send_spin, recv_spin;
    weft_nap send_nap;         /* buffered: senders that find a large ring full */
    union {
        weft_ring ring;        /* buffered; its slots follow the struct */
        weft_xslot xs;         /* unbuffered */
    };
};

/* Wake up to n threads blocked on q (0 does nothing). The check for "nobody
   waits" is one seq_cst load and is inlined into the fast paths. */
void weft__chan_wake(weft_chan *c, weft_waitq *q, size_t n);

/* A channel operation without argument checks: the engine of every public
   send/receive form (deadline WEFT_NOWAIT: a poll). Wakes the other side
   on success. */
int weft__chan_op(weft_chan *c, bool send, void *elem, int64_t deadline);

/* An unbuffered send or receive (chan/unbuf.c), wakes included. */
int weft__unbuf_op(weft_chan *c, bool send, void *elem, int64_t deadline);

/* Unbuffered, channel lock held, partner node p already claimed: copy the
   value between our elem and p's and return p's waiter, for the caller to
   unpark after releasing the lock. */
weft_waiter *weft__unbuf_transfer(weft_chan *c, bool send, void *elem, weft_wnode *p);

/* Unbuffered: does the slot hold a post that an operation in direction
   `send` could complete (a receiver for a send, a value for a receive)?
   seq_cst: the load a thread makes after queueing itself (see unbuf.c). */
bool weft__unbuf_posted(weft_chan *c, bool send);

/* Unbuffered close, channel lock held: mark the slot closed, unparking a
   poster whose post nobody engaged. */
void weft__unbuf_close(weft_chan *c);

/* A waiter queued on q leaves without having been unparked (its deadline
   passed, or it completed on its own). If nobody claimed it, withdraw its
   node: true. If someone did, the claimer may still be writing into the
   waiter: wait for its unpark, false. */
bool weft__waiter_leave(weft_chan *c, weft_waitq *q, weft_waiter *w, weft_wnode *n);

/* A number that changes whenever the channel may have become ready: the
   sum of the ring's positions (both only grow; the close mark adds to
   tail), or for an unbuffered channel the queue event count plus the slot
   word without its SLEEP flag (both only grow). Read before a failed try
   and again after it, an unchanged version proves the channel stayed not
   ready in between (select's atomic poll). seq_cst loads. */
static inline uint64_t chan_version(weft_chan *c)
{
    if (c->cap)
        return atomic_load(&c->ring.head) + atomic_load(&c->ring.tail);
    return atomic_load(&c->events) + (atomic_load(&c->xs.x) & ~(uint64_t)X_SLEEP);
}

/* For select's atomic poll, after a try found a buffered channel not ready
   and its version (its positions) did not change: do the positions alone
   say "not ready" — empty (a receive) or full (a send) with no operation
   claimed and still in flight? A try gives up on a peer stalled between
   its claim and its stamp (ring.h), which the version cannot show: the
   positions already moved when the version was read. Unbuffered: always
   true (a poster still filling the slot has not blocked yet). */
static inline bool chan_settled(weft_chan *c, bool send)
{
    return !c->cap || ring_settled(&c->ring, send);
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
