/* lockfree/ring.h — the bounded MPMC ring: layout and inline operations.
 *
 * Algorithm: Dmitry Vyukov's bounded MPMC queue with per-slot sequence
 * stamps, in the packed form of crossbeam-channel's array flavor. Internal;
 * ring.c wraps it as the public weft_ring, and buffered channels embed it.
 *
 * Positions. head and tail are 64-bit {lap | mark | index} words with
 * mark_bit = next_pow2(cap + 1) and one_lap = 2 * mark_bit: index < cap
 * counts slots, lap advances by one_lap each time the index wraps, so any
 * capacity works without division, and 64-bit laps never wrap in practice.
 * The mark bit is used only in tail and means "closed" (channels use it;
 * the public ring never sets it).
 *
 * Stamps. Slot i starts with stamp i. A push at position t may write slot
 * index(t) only when its stamp == t (free for this lap); it claims it by a
 * CAS of tail t → next(t), copies the element in, and publishes it with
 * stamp = t + 1. A pop at position h may read the slot only when its
 * stamp == h + 1 (written in this lap); it claims it by a CAS of head, copies
 * the element out, and frees the slot for the next lap with stamp =
 * h + one_lap. A stamp is therefore also the hand-over of slot ownership:
 * the element bytes are only ever touched by the one thread that won the CAS
 * for that lap.
 *
 * Peers in flight. Between its CAS and its stamp store a peer "owns" a slot
 * that others may be waiting on: a pop can see tail past head while the
 * slot's stamp still says "not written". crossbeam spins there until the
 * peer finishes, which is unbounded if the peer was preempted. Here the wait
 * is bounded (RING_STALL_SPINS pause rounds, ~4 µs) and then the operation
 * reports WEFT_EAGAIN ("nothing for you yet"): a blocking channel operation
 * then parks, and the peer's own stamp store is followed by its wake check,
 * so the parked thread is woken when the slot is published.
 *
 * Memory order. Each stamp store is a release that publishes the element
 * bytes (push) or the slot's freedom (pop) to the thread whose stamp load
 * (acquire) sees it. Blocking channels need more: a waiter does "register
 * in the wait queue; re-check the ring" while an operation does "update the
 * ring; check the wait queue", a store→load (Dekker) pattern that
 * release/acquire does not order. The channel layer closes it with an
 * asymmetric fence (lockfree/fence.h): the operation's side costs a
 * compiler barrier, the waiter's side a membarrier(2). The stamp loads are
 * seq_cst, which costs what acquire does on x86 and arm64.
 */
#ifndef WEFT_LOCKFREE_RING_H
#define WEFT_LOCKFREE_RING_H

#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "lockfree/common.h"

#include <weft/base.h>
#include <weft/lockfree.h>

enum { RING_STALL_SPINS = 128 };
#define WEFT_RING_MAX_CAP ((size_t)1 << 40)

struct weft_ring {
    /* Read-only after init: shared by every CPU without bouncing. */
    uint64_t cap, mark_bit, one_lap;
    size_t elem_size, stride;
    unsigned stride_shift; /* log2(stride) when stride is a power of two, else 0 */
    unsigned char *slots;
    /* Written by consumers. */
    alignas(WEFT_CACHELINE) _Atomic uint64_t head;
    /* Written by producers (and close, through the mark bit). */
    alignas(WEFT_CACHELINE) _Atomic uint64_t tail;
};

/* One cache-aligned block: `header` bytes (rounded up to a cache line) for
   the object that holds the ring, then the slots of cap elements (none for
   cap 0); *slots points at them. NULL with errno ENOMEM when out of memory
   or when the size overflows. Free it with free(). */
void *weft__ring_alloc(size_t header, size_t elem_size, size_t cap, unsigned char **slots);
/* Initialise r over slots from weft__ring_alloc. */
void weft__ring_init(weft_ring *r, size_t elem_size, size_t cap, void *slots);

/* A shift where the stride allows (every element of up to 56 bytes): the
   slot address is on the path of every operation. */
static inline uint64_t ring_offset(const weft_ring *r, uint64_t index)
{
    return weft_likely(r->stride_shift) ? index << r->stride_shift : index * r->stride;
}

static inline _Atomic uint64_t *ring_stamp(const weft_ring *r, uint64_t index)
{
    return (_Atomic uint64_t *)(void *)(r->slots + ring_offset(r, index));
}

static inline unsigned char *ring_data(const weft_ring *r, uint64_t index)
{
    return r->slots + ring_offset(r, index) + sizeof(uint64_t);
}

/* Copy with the common small sizes as fixed-size (inlined) moves. */
static inline void ring_copy(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 0: break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    case 16: memcpy(dst, src, 16); break;
    default: memcpy(dst, src, n); break;
    }
}

/* The position after pos: next index, or index 0 of the next lap. */
static inline uint64_t ring_next(const weft_ring *r, uint64_t pos)
{
    uint64_t index = pos & (r->mark_bit - 1);
    return index + 1 < r->cap ? pos + 1 : (pos & ~(r->one_lap - 1)) + r->one_lap;
}

/* Push: 0, WEFT_EAGAIN (full, or the next slot still being read by a stalled
   pop), WEFT_ECLOSED (tail marked). */
static inline int ring_push(weft_ring *r, const void *elem)
{
    /* Relaxed: only a starting guess; the stamp check and CAS validate it. */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    unsigned stall = 0;
    for (;;) {
        if (weft_unlikely(tail & r->mark_bit))
            return WEFT_ECLOSED;
        uint64_t index = tail & (r->mark_bit - 1);
        /* seq_cst (an acquire on x86/arm64): pairs with the pop that freed
           this slot (we must not write before it finished reading), and is
           the load half of a waiter's register/re-check (see top). */
        uint64_t stamp = atomic_load(ring_stamp(r, index));
        if (stamp == tail) {
            /* seq_cst: claims the slot; a failure reloads tail. Ordering of
               the element bytes comes from the stamps, not from this CAS. */
            if (atomic_compare_exchange_weak_explicit(&r->tail, &tail, ring_next(r, tail),
                                                      memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                WEFT_INJECT(); /* claimed, not yet published: a peer in flight */
                ring_copy(ring_data(r, index), elem, r->elem_size);
                /* Release: publish the element before the stamp; a pop
                   that sees the new stamp (acquire) sees the bytes. */
                atomic_store_explicit(ring_stamp(r, index), tail + 1, memory_order_release);
                return 0;
            }
            weft_cpu_relax();
            continue;
        }
        /* Not writable yet. Full when head is a whole lap behind; else a
           pop is still reading this slot, or our tail is stale. Fullness is
           decided by the positions alone, never by the stamp, so a stalled
           pop can never make a non-full ring look full for good. */
        if (atomic_load(&r->head) + r->one_lap == tail)
            return WEFT_EAGAIN;
        /* Waiting for a peer in flight is bounded: give up once tail stops
           moving for too long (a blocking caller then parks, and the peer's
           stamp store is followed by its wake check). */
        weft_cpu_relax();
        uint64_t now = atomic_load_explicit(&r->tail, memory_order_relaxed);
        if (now == tail && ++stall > RING_STALL_SPINS)
            return WEFT_EAGAIN;
        tail = now;
    }
}

/* Pop into elem (NULL: drop): 0, WEFT_EAGAIN (empty, or the next element
   still being written by a stalled push), WEFT_ECLOSED (closed and empty). */
static inline int ring_pop(weft_ring *r, void *elem)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned stall = 0;
    for (;;) {
        uint64_t index = head & (r->mark_bit - 1);
        /* seq_cst (acquire): pairs with the push's stamp store, so the
           element bytes are visible; load half of the Dekker pair. */
        uint64_t stamp = atomic_load(ring_stamp(r, index));
        if (stamp == head + 1) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &head, ring_next(r, head),
                                                      memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                WEFT_INJECT(); /* claimed, not yet freed: a peer in flight */
                if (elem)
                    ring_copy(elem, ring_data(r, index), r->elem_size);
                /* Release: free the slot for the next lap after reading it;
                   a push that sees this stamp may overwrite the bytes. */
                atomic_store_explicit(ring_stamp(r, index), head + r->one_lap,
                                      memory_order_release);
                return 0;
            }
            weft_cpu_relax();
            continue;
        }
        /* Not readable yet. Empty when tail == head; else a push is still
           writing this slot, a pop of the previous lap is still reading it,
           or our head is stale. Emptiness (and closed-and-drained) is
           decided by the positions alone, never by the stamp: a slow pop of
           the previous lap must not hide that a closed ring is drained. */
        uint64_t tail = atomic_load(&r->tail);
        if ((tail & ~r->mark_bit) == head)
            return (tail & r->mark_bit) ? WEFT_ECLOSED : WEFT_EAGAIN;
        /* Waiting for a peer in flight is bounded, as in ring_push. */
        weft_cpu_relax();
        uint64_t now = atomic_load_explicit(&r->head, memory_order_relaxed);
        if (now == head && ++stall > RING_STALL_SPINS)
            return WEFT_EAGAIN;
        head = now;
    }
}

/* Batches. Claim up to max contiguous slots of the current lap with one CAS
   (a batch never wraps: one that reaches the end of the lap stops there and
   the caller comes back for the rest), copy, and publish each slot with a
   release stamp store, like single operations.
   Returns the number moved (>= 1), or the single-operation result when
   none could be (WEFT_EAGAIN, WEFT_ECLOSED). */
static inline long ring_push_many(weft_ring *r, const unsigned char *elems, size_t max)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (;;) {
        if (weft_unlikely(tail & r->mark_bit))
            return WEFT_ECLOSED;
        uint64_t index = tail & (r->mark_bit - 1);
        uint64_t room = r->cap - index;
        uint64_t k = 0;
        /* Acquire: as ring_push's stamp load (the slot's pop is done). */
        while (k < max && k < room &&
               atomic_load_explicit(ring_stamp(r, index + k), memory_order_acquire) == tail + k)
            k++;
        if (k == 0) {
            int rc = ring_push(r, elems);
            return rc == 0 ? 1 : rc;
        }
        uint64_t next = index + k < r->cap ? tail + k : (tail & ~(r->one_lap - 1)) + r->one_lap;
        if (atomic_compare_exchange_weak_explicit(&r->tail, &tail, next, memory_order_seq_cst,
                                                  memory_order_relaxed)) {
            for (uint64_t j = 0; j < k; j++) {
                if (elems)
                    ring_copy(ring_data(r, index + j), elems + j * r->elem_size, r->elem_size);
                /* Release: publishes the element (see ring_push). */
                atomic_store_explicit(ring_stamp(r, index + j), tail + j + 1, memory_order_release);
            }
            return (long)k;
        }
        weft_cpu_relax();
    }
}

static inline long ring_pop_many(weft_ring *r, unsigned char *elems, size_t max)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        uint64_t index = head & (r->mark_bit - 1);
        uint64_t room = r->cap - index;
        uint64_t k = 0;
        /* Acquire: pairs with the pushes' stamp stores (elements visible). */
        while (k < max && k < room &&
               atomic_load_explicit(ring_stamp(r, index + k), memory_order_acquire) ==
                   head + k + 1)
            k++;
        if (k == 0) {
            int rc = ring_pop(r, elems);
            return rc == 0 ? 1 : rc;
        }
        uint64_t next = index + k < r->cap ? head + k : (head & ~(r->one_lap - 1)) + r->one_lap;
        if (atomic_compare_exchange_weak_explicit(&r->head, &head, next, memory_order_seq_cst,
                                                  memory_order_relaxed)) {
            for (uint64_t j = 0; j < k; j++) {
                if (elems)
                    ring_copy(elems + j * r->elem_size, ring_data(r, index + j), r->elem_size);
                /* Release: the slot is free once we have read it. */
                atomic_store_explicit(ring_stamp(r, index + j), head + j + r->one_lap,
                                      memory_order_release);
            }
            return (long)k;
        }
        weft_cpu_relax();
    }
}

/* Mark the ring closed: later pushes return WEFT_ECLOSED, pops drain and
   then return WEFT_ECLOSED. Returns false if it was already closed. */
static inline bool ring_close(weft_ring *r)
{
    /* seq_cst RMW: a push's CAS on tail either precedes it (its element is
       inside the ring and will be drained) or fails and sees the mark. */
    return !(atomic_fetch_or(&r->tail, r->mark_bit) & r->mark_bit);
}

static inline bool ring_closed(const weft_ring *r)
{
    return atomic_load(&((weft_ring *)r)->tail) & r->mark_bit;
}

/* Readiness without committing, for a waiter that registered and must
   re-check before parking (select): would a pop now return something (a
   value, or closed-and-drained)? would a push now succeed or fail closed?
   "No" is only reported for the current head (tail) slot, so that the
   Dekker argument above covers exactly the slot whose publication will
   notify. An element being written by a stalled push counts as "no": its
   stamp store is followed by its wake check. */
static inline bool ring_can_pop(weft_ring *r)
{
    uint64_t head = atomic_load(&r->head);
    for (;;) {
        if (atomic_load(ring_stamp(r, head & (r->mark_bit - 1))) == head + 1)
            return true;
        uint64_t now = atomic_load(&r->head);
        if (now == head) {
            uint64_t tail = atomic_load(&r->tail);
            return (tail & r->mark_bit) && (tail & ~r->mark_bit) == head;
        }
        head = now;
    }
}

static inline bool ring_can_push(weft_ring *r)
{
    uint64_t tail = atomic_load(&r->tail);
    for (;;) {
        if (tail & r->mark_bit)
            return true;
        if (atomic_load(ring_stamp(r, tail & (r->mark_bit - 1))) == tail)
            return true;
        uint64_t now = atomic_load(&r->tail);
        if (now == tail)
            return false;
        tail = now;
    }
}

/* A hint for a spinning waiter, cheaper than a try: does the slot at our
   side's position look ready (a pop: published for this lap; a push: free,
   or the ring closed)? It reads our own position and that one slot's stamp,
   nothing else, so a poller waits on exactly the line its peer will write
   next instead of also pulling the other side's position line. Relaxed
   loads: a "yes" is acted on by a real try, whose acquire loads validate it;
   a "no" can miss a close on the pop side, which the caller's periodic full
   try catches. */
static inline bool ring_peek(weft_ring *r, bool push)
{
    if (push) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        return (tail & r->mark_bit) ||
               atomic_load_explicit(ring_stamp(r, tail & (r->mark_bit - 1)),
                                    memory_order_relaxed) == tail;
    }
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    return atomic_load_explicit(ring_stamp(r, head & (r->mark_bit - 1)), memory_order_relaxed) ==
           head + 1;
}

/* Do the positions alone say "a push (pop) cannot complete": full (empty)
   with no operation claimed and still in flight? seq_cst loads. */
static inline bool ring_settled(weft_ring *r, bool push)
{
    uint64_t head = atomic_load(&r->head), tail = atomic_load(&r->tail) & ~r->mark_bit;
    return push ? head + r->one_lap == tail : tail == head;
}

/* Number of elements right now (a consistent snapshot of head and tail). */
size_t weft__ring_len(const weft_ring *r);

#endif
