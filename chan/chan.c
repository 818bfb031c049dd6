/* chan/chan.c — channel operations.
 *
 * Buffered channels (cap > 0) keep their values in the lock-free ring of
 * lockfree/ring.h; the channel adds blocking on top of it:
 *
 *   fast path   ring push/pop; then, if the opposite wait queue is non-empty
 *               (one seq_cst load), claim and unpark one waiter there.
 *   slow path   spin on the ring while the spin policy allows; a sender on
 *               a full large ring then naps once (lockfree/nap.h) and
 *               retries; then register a waiter node in this direction's
 *               queue, re-check the ring, and park. A claimed waiter retries
 *               the ring.
 *
 * No lost wakeup: an operation updates the ring (a stamp store), then
 * loads the opposite queue's count; a waiter increments that count, then
 * re-checks the ring. Between its store and its load each side has a fence
 * (lockfree/fence.h: a compiler barrier on the operation's fast path, a
 * membarrier on the waiter's way to parking), so one side sees the other:
 * either the waiter's re-check finds the update, or the operation finds the
 * waiter and claims it. A claim is a wake-up obligation for one ring update,
 * so a claimed waiter that returns without retrying the ring after its claim
 * (it had already succeeded in its own re-check) passes the wake-up on to the
 * next waiter of its queue. A woken waiter that finds the update already
 * taken by a barging thread registers again: that thread consumed it.
 *
 * Unbuffered channels (cap 0) are a rendezvous: chan/unbuf.c.
 *
 * Close takes the lock, marks the channel closed (the ring's tail mark bit,
 * or the closed flag) and claims every queued waiter with ok = false. Because
 * registration also happens under the lock, a waiter either registered before
 * the close (and is claimed) or re-checks after it (and sees the mark). One
 * case remains: a push that claimed its slot before the close and publishes
 * after it. Receivers that re-check meanwhile see the slot in flight and
 * park; the push's wake then wakes all of them (see weft__chan_wake), so
 * that the ones that do not get its value see "closed and drained".
 */
#include "chan/chan_internal.h"

#include <errno.h>
#include <stdlib.h>

/* ---- creation ------------------------------------------------------------ */

WEFT_API weft_chan *weft_chan_new(size_t elem_size, size_t cap)
{
    if (cap > WEFT_RING_MAX_CAP) {
        errno = EINVAL;
        return NULL;
    }
    unsigned char *slots;
    weft_chan *c = weft__ring_alloc(sizeof *c, elem_size, cap, &slots);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    c->elem_size = elem_size;
    c->cap = cap;
    atomic_init(&c->lock.state, 0);
    atomic_init(&c->sendq.n, 0);
    atomic_init(&c->recvq.n, 0);
    atomic_init(&c->events, 0);
    atomic_init(&c->send_nap.backoff, 0);
    if (cap) {
        weft__ring_init(&c->ring, elem_size, cap, slots);
    } else {
        atomic_init(&c->xs.x, X_EMPTY);
        atomic_init(&c->xs.park, NULL);
    }
    return c;
}

WEFT_API void weft_chan_free(weft_chan *c)
{
    free(c);
}

WEFT_API size_t weft_chan_len(const weft_chan *c)
{
    return c && c->cap ? weft__ring_len(&c->ring) : 0;
}

WEFT_API size_t weft_chan_cap(const weft_chan *c)
{
    return c ? c->cap : 0;
}

/* ---- waking -------------------------------------------------------------- */

void weft__chan_wake(weft_chan *c, weft_waitq *q, size_t n)
{
    weft_wnode *list = NULL;
    weft_lock_acquire(&c->lock);
    /* A push that claimed its slot before a close but publishes after it
       may be the last event on the channel: its value goes to one receiver
       and every other receiver must then see "closed and drained". Close
       could not wake those that registered after it (their re-check saw the
       in-flight slot), so on a closed ring every wake is a wake-all. */
    if (c->cap && ring_closed(&c->ring))
        n = SIZE_MAX;
    wq_claim_many(q, n, true, &list);
    weft_lock_release(&c->lock);
    WEFT_INJECT(); /* claimed, not yet unparked */
    wq_wake_list(list);
}

/* ---- buffered ------------------------------------------------------------ */

static inline int buf_try(weft_chan *c, bool send, void *elem)
{
    return send ? ring_push(&c->ring, elem) : ring_pop(&c->ring, elem);
}

bool weft__waiter_leave(weft_chan *c, weft_waitq *q, weft_waiter *w, weft_wnode *n)
{
    if (waiter_abandon(w)) {
        weft_lock_acquire(&c->lock);
        wq_remove(q, n);
        weft_lock_release(&c->lock);
        return true;
    }
    weft_parker_wait(&w->park, WEFT_FOREVER, 0);
    return false;
}

/* A registered waiter is done with its own queue. If it had been claimed
   meanwhile, pass the wake-up on, since this thread will not retry the
   ring for it. */
static void buf_withdraw(weft_chan *c, weft_waitq *q, weft_waiter *w, weft_wnode *n)
{
    if (!weft__waiter_leave(c, q, w, n))
        chan_notify(c, q, 1);
}

/* Poll the ring for up to `rounds` pause rounds: a cheap peek at the one
   slot our side waits on, and a real try when it looks ready (and every 16th
   poll, which also catches a close). A small ring is polled at every round
   (its peer's next step is what we wait for); a large one with exponential
   backoff, which lets a producer run ahead so that the poller then finds
   several values at once. Returns the try's result, *used the rounds spent. */
static int buf_spin(weft_chan *c, bool send, void *elem, uint32_t rounds, uint32_t *used)
{
    bool small = c->cap <= WEFT_SPIN_SMALL_RING;
    uint32_t i = 0, step = 0, polls = 0;
    int rc = WEFT_EAGAIN;
    while (i < rounds) {
        if ((ring_peek(&c->ring, send) || ++polls % 16 == 0) &&
            (rc = buf_try(c, send, elem)) != WEFT_EAGAIN)
            break;
        if (small) {
            weft_cpu_relax();
            i++;
        } else {
            i += weft__backoff(&step);
        }
    }
    *used = i;
    return rc;
}

/* Blocking part of a buffered send or receive, after a try found the ring
   full or empty. Returns 0, WEFT_ECLOSED, or the deadline's error. The caller
   notifies the opposite queue on success.

   Spinning comes in two phases. On a small ring the wait is for the peer's
   very next step, so a first, short phase (WEFT_SPIN_PARTNER_FLOOR rounds)
   touches nothing shared: the spin policy's process-wide counter and the
   site's statistics are two more contended lines per wait, which on a
   capacity-1 ping-pong cost more than the wait itself. Then the adaptive,
   capped spin of lockfree/spin.c, then the park. */
static int buf_block(weft_chan *c, bool send, void *elem, int64_t deadline)
{
    if (weft__deadline_passed(deadline))
        return weft__expired(deadline);
    weft_waitq *q = chan_queue(c, send);
    weft_spin *site = send ? &c->send_spin : &c->recv_spin;
    int rc = WEFT_EAGAIN;
    uint32_t used;

    if (c->cap <= WEFT_SPIN_SMALL_RING && weft_ncpus() > 1 &&
        (rc = buf_spin(c, send, elem, WEFT_SPIN_PARTNER_FLOOR, &used)) != WEFT_EAGAIN)
        return rc;
    uint32_t budget = weft_spin_enter(site);
    if (budget) {
        rc = buf_spin(c, send, elem, budget, &used);
        weft_spin_leave(site, used, rc != WEFT_EAGAIN);
        if (rc != WEFT_EAGAIN)
            return rc;
    }

    /* A sender that finds a large ring full is a whole buffer ahead of the
       receivers: it naps rather than parks (lockfree/nap.h), so that the
       receivers, likely the pipeline's bottleneck, need not wake it. The
       nap overshot if a receiver came to wait meanwhile. (Also counting an
       empty ring as an overshot backed off too often: select 4->1 20 ->
       16 M msgs/s.) Receivers do not nap: a receiver usually waits for an
       event whose latency matters (a request, a result), and receiver naps
       measured no gain on 4x4 or 16x16. */
    if (send && c->cap > WEFT_SPIN_SMALL_RING && weft_nap_take(&c->send_nap, deadline)) {
        /* Relaxed: a hint for the nap policy; no ordering rests on it. */
        if (atomic_load_explicit(&c->recvq.n, memory_order_relaxed))
            weft_nap_overshot(&c->send_nap);
        if ((rc = buf_try(c, send, elem)) != WEFT_EAGAIN)
            return rc;
    }

    for (;;) {
        weft_waiter w;
        weft_wnode n;
        waiter_init(&w);
        wnode_init(&n, &w, NULL, 0);
        weft_lock_acquire(&c->lock);
        wq_enqueue(q, &n);
        weft_lock_release(&c->lock);

        WEFT_INJECT(); /* registered, not yet re-checked */
        /* The heavy half of the Dekker pair. When the positions show
           nothing in flight it is not needed for correctness (every claim
           is a seq_cst CAS before its claimer's count load), but it stays:
           its 10-40 us are a pause during which the other side usually
           makes the re-check succeed, and every cheaper stand-in measured
           (parking at once, spinning, a short sleep, a yield) parked more
           and lost 20-50 % on 1x1, 4x4 and 16x16. */
        weft__fence_heavy();
        rc = buf_try(c, send, elem); /* the re-check after registering */
        if (rc != WEFT_EAGAIN) {
            buf_withdraw(c, q, &w, &n);
            return rc;
        }
        int pr = weft_parker_wait(&w.park, deadline, 0);
        if (pr != 0 && weft__waiter_leave(c, q, &w, &n))
            return pr;
        /* Claimed (node already dequeued): retry the ring. */
        rc = buf_try(c, send, elem);
        if (rc != WEFT_EAGAIN)
            return rc;
        if (weft__deadline_passed(deadline))
            return WEFT_ETIMEDOUT;
    }
}

static int buf_op(weft_chan *c, bool send, void *elem, int64_t deadline)
{
    /* On a small ring an operation that may wait peeks first: a try on a
       full (empty) ring also reads the other side's position, pulling that
       line away from the threads that write it, and on a small ring that
       happens on nearly every operation. A poll, or a wait whose deadline
       has passed, tries at once (a ready channel completes whatever the
       deadline). */
    int rc = c->cap > WEFT_SPIN_SMALL_RING || ring_peek(&c->ring, send) ||
                     weft__deadline_passed(deadline)
                 ? buf_try(c, send, elem)
                 : WEFT_EAGAIN;
    if (rc == WEFT_EAGAIN)
        rc = buf_block(c, send, elem, deadline);
    if (rc == 0) {
        WEFT_INJECT(); /* the ring updated, its waiters not yet looked for */
        chan_notify(c, chan_queue(c, !send), 1);
    }
    return rc;
}

/* ---- public operations ----------------------------------------------------- */

int weft__chan_op(weft_chan *c, bool send, void *elem, int64_t deadline)
{
    return c->cap ? buf_op(c, send, elem, deadline) : weft__unbuf_op(c, send, elem, deadline);
}

static inline int chan_op(weft_chan *c, bool send, void *elem, int64_t deadline)
{
    if (weft_unlikely(!c || (send && !elem && c->elem_size)))
        return WEFT_EINVAL;
    return weft__chan_op(c, send, elem, deadline);
}

WEFT_API int weft_chan_send(weft_chan *c, const void *elem)
{
    return chan_op(c, true, (void *)elem, WEFT_FOREVER);
}

WEFT_API int weft_chan_recv(weft_chan *c, void *elem)
{
    return chan_op(c, false, elem, WEFT_FOREVER);
}

WEFT_API int weft_chan_try_send(weft_chan *c, const void *elem)
{
    return chan_op(c, true, (void *)elem, WEFT_NOWAIT);
}

WEFT_API int weft_chan_try_recv(weft_chan *c, void *elem)
{
    return chan_op(c, false, elem, WEFT_NOWAIT);
}

WEFT_API int weft_chan_send_until(weft_chan *c, const void *elem, int64_t deadline)
{
    return chan_op(c, true, (void *)elem, deadline);
}

WEFT_API int weft_chan_recv_until(weft_chan *c, void *elem, int64_t deadline)
{
    return chan_op(c, false, elem, deadline);
}

WEFT_API int weft_chan_close(weft_chan *c)
{
    if (!c)
        return WEFT_EINVAL;
    weft_wnode *list = NULL;
    weft_lock_acquire(&c->lock);
    bool was_open = c->cap ? ring_close(&c->ring) : !c->closed;
    if (!c->cap && was_open)
        weft__unbuf_close(c);
    c->closed = true;
    atomic_fetch_add(&c->events, 1);
    if (was_open) {
        wq_claim_many(&c->sendq, SIZE_MAX, false, &list);
        wq_claim_many(&c->recvq, SIZE_MAX, false, &list);
    }
    weft_lock_release(&c->lock);
    wq_wake_list(list);
    return was_open ? 0 : WEFT_ECLOSED;
}

/* Batches on a buffered channel claim runs of slots with one CAS each
   (ring_push_many / ring_pop_many) and wake the other side once per run,
   for as many waiters as values moved. A value that cannot go now goes
   through the blocking path like a single send, after the values already
   moved have been announced. */
WEFT_API int weft_chan_send_many(weft_chan *c, const void *elems, size_t n, size_t *sent)
{
    if (sent)
        *sent = 0;
    if (!c || n == 0 || (!elems && c->elem_size))
        return WEFT_EINVAL;
    const unsigned char *p = elems;
    size_t i = 0;
    int rc = 0;
    while (i < n) {
        void *e = (void *)(p ? p + i * c->elem_size : NULL);
        if (!c->cap) {
            if ((rc = weft__unbuf_op(c, true, e, WEFT_FOREVER)) != 0)
                break;
            i++;
            continue;
        }
        long k = ring_push_many(&c->ring, e, n - i);
        if (k > 0) {
            i += (size_t)k;
            chan_notify(c, &c->recvq, (size_t)k);
            continue;
        }
        if (k == WEFT_ECLOSED || (rc = buf_block(c, true, e, WEFT_FOREVER)) != 0) {
            rc = WEFT_ECLOSED;
            break;
        }
        i++;
        chan_notify(c, &c->recvq, 1);
    }
    if (sent)
        *sent = i;
    return rc;
}

WEFT_API int weft_chan_recv_many(weft_chan *c, void *elems, size_t max, size_t *got)
{
    if (got)
        *got = 0;
    if (!c || max == 0)
        return WEFT_EINVAL;
    unsigned char *p = elems;
    size_t k = 0;
    int rc;
    if (!c->cap) {
        rc = weft__unbuf_op(c, false, p, WEFT_FOREVER);
        for (k = rc == 0; rc == 0 && k < max; k++)
            if (weft__unbuf_op(c, false, p ? p + k * c->elem_size : NULL, WEFT_NOWAIT) != 0)
                break;
    } else {
        long m = ring_pop_many(&c->ring, p, max);
        if (m == WEFT_EAGAIN && (rc = buf_block(c, false, p, WEFT_FOREVER)) == 0)
            m = 1;
        rc = m > 0 ? 0 : m == WEFT_EAGAIN ? rc : (int)m;
        k = m > 0 ? (size_t)m : 0;
        /* A run may stop at the end of the ring's lap: take what follows. */
        while (rc == 0 && k < max) {
            m = ring_pop_many(&c->ring, p ? p + k * c->elem_size : NULL, max - k);
            if (m <= 0)
                break;
            k += (size_t)m;
        }
        chan_notify(c, &c->sendq, k);
    }
    if (got)
        *got = k;
    return rc;
}
