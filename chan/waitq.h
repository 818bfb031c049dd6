/* chan/waitq.h — waiter records and per-channel wait queues. Internal.
 *
 * A thread that must block on channels builds one weft_waiter (on its
 * stack) and one weft_wnode per channel operation it waits for — one for a
 * send or receive, one per case for select (next issue) — and links each node
 * into the wait queue of its channel and direction. Whoever completes the
 * wait *claims* the waiter: a CAS of waiter.claim from OPEN to CLAIMED + the
 * node's case index. Exactly one claim succeeds, so a thread waiting on
 * several channels at once is completed by exactly one of them (Go's
 * selectDone, crossbeam's Context::try_select). The claimer then finishes its
 * part (for an unbuffered channel: copies the value and sets ok), and only
 * then unparks the waiter's parker.
 *
 * Claim states:
 *
 *     OPEN ──(a channel op or close, under that channel's lock: CAS)──▶ CLAIMED+i
 *       │
 *       └──(the waiter itself: deadline passed, or it completed on its own)──▶ ABANDONED
 *
 * A waiter that finds itself claimed when it wanted to abandon must wait for
 * the unpark: the claimer may still be writing into its stack.
 *
 * Queues. Each channel has a sendq and a recvq (doubly linked, FIFO),
 * protected by the channel's lock; waitq.n counts queued nodes and is read
 * without the lock by operations that look for waiters to wake (one seq_cst
 * load; see ring.h for the Dekker argument that makes this safe). Nodes whose
 * waiter was claimed elsewhere or abandoned are dropped lazily by the next
 * claimer, or removed by their owner.
 */
#ifndef WEFT_CHAN_WAITQ_H
#define WEFT_CHAN_WAITQ_H

#include "lockfree/common.h"
#include "lockfree/list.h"
#include "lockfree/lock.h"

#include <weft/lockfree.h>

/* Internal functions keep short names in the source and weft__ names in the
   library, so that a static link exposes nothing outside weft's prefix. */
#define wq_enqueue    weft__wq_enqueue
#define wq_remove     weft__wq_remove
#define wq_claim      weft__wq_claim
#define wq_claim_many weft__wq_claim_many
#define wq_has_open   weft__wq_has_open
#define wq_wake_list  weft__wq_wake_list
#define waiter_park   weft__waiter_park

enum { WAITER_OPEN = 0, WAITER_ABANDONED = 1, WAITER_CLAIMED = 2 };

typedef struct weft_waiter {
    weft_parker park;
    _Atomic uint32_t claim; /* WAITER_OPEN, WAITER_ABANDONED or WAITER_CLAIMED + case */
    bool ok;                /* written by the claimer before unpark: a value moved */
} weft_waiter;

typedef struct weft_wnode {
    weft_dlink link;              /* in a waitq, under the channel lock */
    struct weft_wnode *wake_next; /* the claimer's list of waiters to unpark */
    weft_waiter *w;
    void *elem;   /* unbuffered: the value to send, or where to put the received one */
    uint32_t idx; /* the case index this node stands for */
    bool queued;  /* under the channel lock */
} weft_wnode;

typedef struct weft_waitq {
    weft_dlist list;
    _Atomic size_t n; /* queued nodes; written under the lock, read anywhere */
} weft_waitq;

static inline void waiter_init(weft_waiter *w)
{
    weft_parker_reset(&w->park);
    /* Relaxed: the waiter becomes reachable only through a queue, under the
       channel lock whose release publishes this store. */
    atomic_store_explicit(&w->claim, WAITER_OPEN, memory_order_relaxed);
    w->ok = false;
}

static inline void wnode_init(weft_wnode *n, weft_waiter *w, void *elem, uint32_t idx)
{
    n->link.prev = n->link.next = NULL;
    n->wake_next = NULL;
    n->w = w;
    n->elem = elem;
    n->idx = idx;
    n->queued = false;
}

/* The waiter gives up: true if it was still OPEN (nobody will unpark it),
   false if someone claimed it first (its unpark is coming). */
static inline bool waiter_abandon(weft_waiter *w)
{
    uint32_t open = WAITER_OPEN;
    /* acq_rel: on failure, acquire pairs with the claimer's CAS so that the
       claim value is read consistently; the data itself is published by the
       claimer's unpark. */
    return atomic_compare_exchange_strong_explicit(&w->claim, &open, WAITER_ABANDONED,
                                                   memory_order_acq_rel, memory_order_acquire);
}

/* Queue operations; the channel lock must be held. */
void wq_enqueue(weft_waitq *q, weft_wnode *n);
void wq_remove(weft_waitq *q, weft_wnode *n);

/* Dequeue and claim the first waiter that is still OPEN and is not `skip`
   (a select must not complete with itself), setting its ok flag; dropping
   nodes of claimed or abandoned waiters on the way. NULL if none. The caller
   unparks the returned node's waiter after releasing the lock. */
weft_wnode *wq_claim(weft_waitq *q, const weft_waiter *skip, bool ok);

/* True if q holds a node of a waiter other than skip that is still OPEN
   (a partner a claim would probably get). */
bool wq_has_open(const weft_waitq *q, const weft_waiter *skip);

/* Claim up to max waiters (ok as above) and chain them through wake_next
   onto *list. Returns how many. */
size_t wq_claim_many(weft_waitq *q, size_t max, bool ok, weft_wnode **list);

/* Unpark every waiter on a wake_next list (after the lock is released). */
void wq_wake_list(weft_wnode *list);

/* Wait until the waiter is claimed or the deadline passes, spinning first
   as the spin site allows. 0: claimed (and unparked); else the deadline's
   error, and then the caller must waiter_abandon() to settle the race. */
int waiter_park(weft_waiter *w, weft_spin *site, int64_t deadline);

#endif
