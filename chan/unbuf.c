/* chan/unbuf.c — unbuffered channels: the rendezvous.
 *
 * Two ways for a sender and a receiver to meet.
 *
 * The slot (fast, for one waiting party). Each unbuffered channel has one
 * cache line, weft_xslot, holding a 64-bit state word x = seq | kind |
 * flags and, for elements up to 40 bytes, the value itself. A plain send or
 * receive that finds the slot empty and both wait queues empty posts itself
 * there and waits on x; the partner that arrives next engages it with one
 * CAS, moves the value, and finishes it. In a steady 1x1 exchange each
 * message is one trip of that line each way (the ~120 ns cache-line round
 * trip of this VM), where the queue path below moves a lock, a queue and
 * the waiter's stack lines.
 *
 *     kinds (seq k)          posted by        engaged by      finished as
 *     EMPTY
 *     WRITING                a sender/receiver filling the slot (owned)
 *     SEND   value in slot   sender           a receiver      EMPTY, k+1
 *     RECV   a receiver      receiver         a sender        FILLED, k
 *     TAKING                 (engaged: the engager owns the slot)
 *     FILLED value for the receiver            the receiver    EMPTY, k+1
 *
 *   flags: SLEEP (the posting owner is parked: whoever clears the flag owes
 *   it exactly one unpark), CLOSED (set by close, kept by every transition;
 *   a posted SEND/RECV can no longer be engaged).
 *
 * Every return to EMPTY bumps seq, and kinds are numbered in the order they
 * occur, so x (without SLEEP) only grows: select's atomic poll uses it as a
 * version. A poster waits until its post is settled: taken (seq moved on),
 * FILLED (a receiver's value arrived), or closed while still posted. At its
 * deadline it retracts the post with a CAS back to EMPTY, which fails once a
 * partner engaged it; then the exchange completes regardless. A send
 * therefore returns 0 only after a receiver took the value, and a receive
 * never takes a value whose sender reported failure.
 *
 * The queues (general: select, several waiters, large elements included).
 * When the slot is busy or anyone waits in a queue, operations meet as in
 * Go: under the channel lock, an operation claims a waiting partner from
 * the opposite queue (chan/waitq.h), copies the value between the two
 * callers' buffers and unparks it; otherwise it queues a node and parks.
 *
 * Where the two meet (no lost wakeup). A poster that published in the slot
 * loads the opposite queue's count; a thread queueing (a plain operation or
 * a select) increments that count and then loads x. Both are seq_cst RMWs
 * followed by seq_cst loads, so one of them sees the other: either the
 * poster finds the queued partner (it retracts and takes the queue path,
 * where it claims that partner), or the queued thread finds the post (it
 * withdraws and engages the slot). Both may happen; a retracted post or an
 * abandoned node just sends its owner around once more.
 *
 * Close takes the lock (the queue side, chan/chan.c) and sets CLOSED on x;
 * a parked poster whose post was not engaged is unparked and reports
 * WEFT_ECLOSED, an engaged exchange still completes (it happened before the
 * close).
 */
#include "chan/chan_internal.h"

enum { UNBUF_RETRY = 1 }; /* internal: the caller starts over */

static inline uint64_t x_kind(uint64_t s)
{
    return s & X_KIND;
}

static inline uint64_t x_seq(uint64_t s)
{
    return s & ~(X_SEQ - 1);
}

static inline bool x_inline(const weft_chan *c)
{
    return c->elem_size <= sizeof c->xs.buf;
}

/* Settle an exchange this thread owns (kind WRITING, TAKING or FILLED):
   move x to kind `to`, `bump` seq steps on, keeping CLOSED and clearing
   SLEEP; if SLEEP was set, unpark the poster. The parker pointer is read
   before the CAS: once x leaves this exchange a new poster may replace it.
   acq_rel CAS: release publishes our copy of the value (or that we are done
   reading the poster's buffer) to the poster's acquire load of x; acquire
   on failure makes the park pointer read after it current. */
static void x_settle(weft_xslot *xs, uint64_t to, uint64_t bump)
{
    uint64_t s = atomic_load_explicit(&xs->x, memory_order_acquire), n;
    weft_parker *p;
    do {
        WEFT_INJECT();
        p = atomic_load_explicit(&xs->park, memory_order_relaxed);
        n = x_seq(s) + bump * X_SEQ + to + (s & X_CLOSED);
    } while (!atomic_compare_exchange_weak_explicit(&xs->x, &s, n, memory_order_acq_rel,
                                                    memory_order_acquire));
    if (s & X_SLEEP)
        weft_parker_unpark(p);
}

/* Engage a post of kind `want` (SEND for a receiver, RECV for a sender):
   0 (engaged: x is TAKING and ours), WEFT_EAGAIN (no such post),
   WEFT_ECLOSED. The poster's SLEEP flag is kept for x_settle to act on. */
static int x_engage(weft_xslot *xs, uint64_t want)
{
    uint64_t s = atomic_load_explicit(&xs->x, memory_order_acquire);
    for (;;) {
        if (s & X_CLOSED)
            return WEFT_ECLOSED;
        if (x_kind(s) != want)
            return WEFT_EAGAIN;
        WEFT_INJECT();
        /* acquire: pairs with the poster's release publication (the value
           in the slot, or its buffer pointer). */
        if (atomic_compare_exchange_weak_explicit(&xs->x, &s, x_seq(s) | X_TAKING | (s & X_SLEEP),
                                                  memory_order_acquire, memory_order_acquire))
            return 0;
    }
}

/* A receiver takes a posted value, a sender gives to a posted receiver. */
static int x_take(weft_chan *c, void *elem)
{
    weft_xslot *xs = &c->xs;
    int rc = x_engage(xs, X_SEND);
    if (rc != 0)
        return rc;
    if (elem && c->elem_size)
        memcpy(elem, x_inline(c) ? (const void *)xs->buf : xs->ptr, c->elem_size);
    x_settle(xs, X_EMPTY, 1);
    return 0;
}

static int x_give(weft_chan *c, const void *elem)
{
    weft_xslot *xs = &c->xs;
    int rc = x_engage(xs, X_RECV);
    if (rc != 0)
        return rc;
    void *dst = x_inline(c) ? xs->buf : xs->ptr;
    if (dst && c->elem_size)
        memcpy(dst, elem, c->elem_size);
    x_settle(xs, X_FILLED, 0);
    return 0;
}

/* The poster of kind `mine` at seq k withdraws its post: true if done (no
   partner engaged it; any SLEEP flag was ours and is cleared with it). */
static bool x_retract(weft_xslot *xs, uint64_t k, uint64_t mine)
{
    uint64_t s = atomic_load(&xs->x);
    while (x_seq(s) == k && x_kind(s) == mine && !(s & X_CLOSED))
        if (atomic_compare_exchange_weak(&xs->x, &s, k + X_SEQ + X_EMPTY)) /* seq_cst */
            return true;
    return false;
}

static inline bool x_pending(uint64_t s, uint64_t k, uint64_t mine)
{
    if (x_seq(s) != k)
        return false;
    return x_kind(s) == X_TAKING || (x_kind(s) == mine && !(s & X_CLOSED));
}

/* The poster waits until its post (kind `mine`, seq k) is settled: spin
   (first without, then with the spin policy's bookkeeping; polls back off
   with weft__backoff, since polling x pulls its line to the poller and a
   partner in the middle of a two-step update, engage then settle, must
   fetch it back for the second step), then park on
   `park` (published with the post) with SLEEP set. Returns the settled x;
   *rc = the deadline's error if the post was retracted at the deadline,
   else 0. Returns only after consuming the unpark that a SLEEP flag it set
   is owed, so the parker (in the caller's frame) is never touched after
   the caller returns. */
static uint64_t x_wait(weft_chan *c, uint64_t k, uint64_t mine, int64_t deadline,
                       weft_spin *site, weft_parker *park, int *rc)
{
    weft_xslot *xs = &c->xs;
    uint64_t s;
    *rc = 0;
    uint32_t step = 0;
    if (weft_ncpus() > 1)
        for (uint32_t i = 0; i < WEFT_SPIN_PARTNER_FLOOR; i += weft__backoff(&step)) {
            s = atomic_load_explicit(&xs->x, memory_order_acquire);
            if (!x_pending(s, k, mine))
                return s;
        }
    uint32_t budget = weft_spin_enter(site), i = 0;
    if (budget) {
        for (; i < budget; i += weft__backoff(&step)) {
            s = atomic_load_explicit(&xs->x, memory_order_acquire);
            if (!x_pending(s, k, mine))
                break;
        }
        weft_spin_leave(site, i, i < budget);
        if (i < budget)
            return s;
    }

    bool armed = false; /* SLEEP set by us and its unpark not yet consumed */
    for (;;) {
        /* acquire: pairs with x_settle's release (the value, or the end of
           the partner's reading). */
        s = atomic_load_explicit(&xs->x, memory_order_acquire);
        if (!x_pending(s, k, mine)) {
            if (armed) /* whoever cleared SLEEP unparks us: wait for it */
                weft_parker_wait(park, WEFT_FOREVER, 0);
            return s;
        }
        if (!armed) {
            WEFT_INJECT(); /* decided to sleep on s, not yet flagged */
            /* The parker was published with the post (x_post); nobody
               unparks it until SLEEP is set, so a reset here (after a
               consumed unpark) races with nothing. */
            weft_parker_reset(park);
            if (!atomic_compare_exchange_strong_explicit(&xs->x, &s, s | X_SLEEP,
                                                         memory_order_release,
                                                         memory_order_relaxed))
                continue;
            armed = true;
        }
        int pr = weft_parker_wait(park, deadline, 0);
        if (pr == 0) {
            armed = false;
            continue;
        }
        if (x_retract(xs, k, mine)) {
            *rc = pr;
            return atomic_load_explicit(&xs->x, memory_order_relaxed);
        }
        deadline = WEFT_FOREVER; /* engaged or closed: it settles soon */
    }
}

/* Post `mine` (SEND or RECV) in the empty slot s: own it (EMPTY→WRITING),
   fill it while no one else can touch it — the value or buffer pointer,
   and the parker a settler will unpark if we sleep — then publish. The
   parker is published here and only here: a pointer stored after the post
   became visible could land after the post was settled and a newer poster
   had published its own, and the next settler would unpark the wrong
   thread. Returns false if the slot was taken first. */
static bool x_post(weft_chan *c, uint64_t s, uint64_t mine, void *elem, weft_parker *park)
{
    weft_xslot *xs = &c->xs;
    uint64_t k = x_seq(s);
    /* Acquire: pairs with the x_settle that emptied the slot, so the
       previous exchange's reads of buf/ptr/park are done before we
       overwrite them. */
    if (!atomic_compare_exchange_strong_explicit(&xs->x, &s, k | X_WRITING, memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    weft_parker_reset(park);
    /* Relaxed: released by the publication below; a settler reads it only
       after its acquire load of x shows our SLEEP flag. */
    atomic_store_explicit(&xs->park, park, memory_order_relaxed);
    if (!x_inline(c))
        xs->ptr = elem;
    else if (mine == X_SEND && c->elem_size)
        memcpy(xs->buf, elem, c->elem_size);
    WEFT_INJECT(); /* the slot owned, the post not yet visible */
    /* Publish (seq_cst: also the RMW half of the meeting with the queues,
       see the top). Only close can have changed x meanwhile. */
    s = k | X_WRITING;
    while (!atomic_compare_exchange_weak(&xs->x, &s, k | mine | (s & X_CLOSED)))
        ;
    return true;
}

/* Post a send (a receive) in the empty slot s and wait for a partner.
   After posting, a partner queued in the opposite queue may not have seen
   the post (the meeting at the top): retract and take the queue path. */
static int x_post_wait(weft_chan *c, bool send, void *elem, uint64_t s, int64_t deadline)
{
    weft_xslot *xs = &c->xs;
    uint64_t k = x_seq(s), mine = send ? X_SEND : X_RECV;
    weft_parker park;
    if (!x_post(c, s, mine, elem, &park))
        return UNBUF_RETRY;
    WEFT_INJECT(); /* posted, the queues not yet looked at */
    if (atomic_load(&chan_queue(c, !send)->n) != 0 && x_retract(xs, k, mine))
        return UNBUF_RETRY;
    int rc;
    s = x_wait(c, k, mine, deadline, send ? &c->send_spin : &c->recv_spin, &park, &rc);
    if (rc)
        return rc;
    if (send) /* taken (seq moved on), or still posted when closed */
        return x_seq(s) != k ? 0 : WEFT_ECLOSED;
    if (x_seq(s) != k || x_kind(s) != X_FILLED)
        return WEFT_ECLOSED;
    if (x_inline(c) && elem && c->elem_size)
        memcpy(elem, xs->buf, c->elem_size);
    x_settle(xs, X_EMPTY, 1);
    return 0;
}

void weft__unbuf_close(weft_chan *c)
{
    weft_xslot *xs = &c->xs;
    uint64_t s = atomic_load_explicit(&xs->x, memory_order_acquire), n;
    weft_parker *p;
    bool wake;
    do {
        /* A post nobody engaged is settled by the close: its parked owner
           is ours to unpark. An engaged one is its engager's. */
        wake = (s & X_SLEEP) && (x_kind(s) == X_SEND || x_kind(s) == X_RECV);
        p = atomic_load_explicit(&xs->park, memory_order_relaxed);
        n = (s | X_CLOSED) & ~(wake ? (uint64_t)X_SLEEP : 0);
    } while (!atomic_compare_exchange_weak(&xs->x, &s, n)); /* seq_cst */
    if (wake)
        weft_parker_unpark(p);
}

bool weft__unbuf_posted(weft_chan *c, bool send)
{
    uint64_t s = atomic_load(&c->xs.x); /* seq_cst: after our queueing RMW */
    return !(s & X_CLOSED) && x_kind(s) == (send ? X_RECV : X_SEND);
}

/* ---- the queue path ---------------------------------------------------------- */

weft_waiter *weft__unbuf_transfer(weft_chan *c, bool send, void *elem, weft_wnode *p)
{
    void *dst = send ? p->elem : elem;
    const void *src = send ? elem : p->elem;
    if (dst && c->elem_size)
        memcpy(dst, src, c->elem_size);
    return p->w;
}

static int queue_op(weft_chan *c, bool send, void *elem, int64_t deadline)
{
    weft_waitq *mine = chan_queue(c, send), *peer = chan_queue(c, !send);

    weft_lock_acquire(&c->lock);
    if (c->closed) {
        weft_lock_release(&c->lock);
        return WEFT_ECLOSED;
    }
    weft_wnode *p = wq_claim(peer, NULL, true);
    if (p) {
        weft_waiter *pw = weft__unbuf_transfer(c, send, elem, p);
        weft_lock_release(&c->lock);
        weft_parker_unpark(&pw->park);
        return 0;
    }
    if (weft__deadline_passed(deadline)) {
        weft_lock_release(&c->lock);
        return weft__expired(deadline);
    }
    weft_waiter w;
    weft_wnode n;
    waiter_init(&w);
    wnode_init(&n, &w, elem, 0);
    wq_enqueue(mine, &n); /* seq_cst RMW: the queue half of the meeting */
    atomic_fetch_add(&c->events, 1); /* seq_cst: see chan_version */
    weft_lock_release(&c->lock);

    WEFT_INJECT(); /* queued, the slot not yet looked at */
    if (weft__unbuf_posted(c, send)) {
        /* A partner posted in the slot meanwhile and may not have seen us:
           withdraw and engage it (unless someone claimed us first). */
        if (weft__waiter_leave(c, mine, &w, &n))
            return UNBUF_RETRY;
        return w.ok ? 0 : WEFT_ECLOSED;
    }
    int pr = waiter_park(&w, send ? &c->send_spin : &c->recv_spin, deadline);
    if (pr != 0 && weft__waiter_leave(c, mine, &w, &n))
        return pr;
    return w.ok ? 0 : WEFT_ECLOSED;
}

/* A slot being filled, engaged or emptied is owned by a running thread that
   is a few instructions from settling it: worth a short wait before taking
   the queue path (in a 1x1 exchange the partner is usually just there). */
static inline bool x_transient(uint64_t s)
{
    uint64_t k = x_kind(s);
    return !(s & X_CLOSED) && (k == X_WRITING || k == X_TAKING || k == X_FILLED);
}

int weft__unbuf_op(weft_chan *c, bool send, void *elem, int64_t deadline)
{
    uint32_t waited = 0, step = 0;
    bool spin = weft_ncpus() > 1;
    for (;;) {
        int rc = send ? x_give(c, elem) : x_take(c, elem);
        if (rc != WEFT_EAGAIN)
            return rc;
        /* Relaxed loads: only a choice of path; each path re-checks. */
        uint64_t s = atomic_load_explicit(&c->xs.x, memory_order_relaxed);
        if (spin && x_transient(s) && waited < WEFT_SPIN_PARTNER_FLOOR) {
            waited += weft__backoff(&step);
            continue;
        }
        if (s == x_seq(s) /* EMPTY, no flags */ &&
            atomic_load_explicit(&c->sendq.n, memory_order_relaxed) == 0 &&
            atomic_load_explicit(&c->recvq.n, memory_order_relaxed) == 0 &&
            !weft__deadline_passed(deadline))
            rc = x_post_wait(c, send, elem, s, deadline);
        else
            rc = queue_op(c, send, elem, deadline);
        if (rc != UNBUF_RETRY)
            return rc;
    }
}
