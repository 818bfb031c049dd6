/* ck_chan.c — peer: a blocking bounded channel on Concurrency Kit's MPMC
 * ring (ck_ring), made blocking with ck event counts (ck_ec), as ck's
 * ck_ec.h overview describes. Not part of the library: this is what a
 * careful C programmer would build from ck to get a Go-like channel.
 *
 * Storage. ck_ring_enqueue_mpmc / ck_ring_dequeue_mpmc on a ck_ring_buffer
 * of pointer-sized slots for 8-byte messages (the value itself is stored in
 * the slot, no indirection); for 256-byte messages the typed interface
 * CK_RING_PROTOTYPE(m256, ck_chan_m256) (ck_ring_enqueue_mpmc_m256 /
 * ck_ring_dequeue_mpmc_m256), which copies the element into the ring's
 * slots. Other element sizes are not supported (make returns NULL; the
 * harness only uses 8 and 256).
 *
 * Capacity. A ck_ring has a power-of-two size and holds size - 1 entries.
 * A channel of capacity cap must take cap sends with no receiver (the seq
 * workload does exactly that), so the ring gets the smallest power-of-two
 * size holding at least cap: cap 1 is exact (a ring of 2), cap 1024 gets a
 * ring of 2048 that holds 2047 (twice weft's buffer: slack in ck's favour).
 * Unbuffered (cap 0) is not possible; the
 * harness does not register the cap-0 throughput workload for this peer
 * (n/a). Ping-pong (make(8, 0)) gets a 1-slot ring: only one message is
 * ever in flight there, so the round trip is the same workload.
 *
 * Blocking: two 64-bit event counts, ck_ec64 in multiple-producer mode
 * (there may be several wakers): not_empty, incremented by every send after
 * its enqueue, and not_full, incremented by every receive after its
 * dequeue. A receiver that finds the ring empty takes a snapshot of
 * not_empty, tries again, and calls ck_ec64_wait(not_empty, snapshot) —
 * ck's recipe (snapshot, check the data structure, wait on the snapshot),
 * so no wakeup is lost; a sender on a full ring does the same on not_full.
 * ck_ec_wait spins first (ck's default: 100 ck_pr_stall iterations before
 * and 100 after setting the counter's "waiters" flag), then sleeps in the
 * wait64 op we supply (FUTEX_WAIT_BITSET on the counter's low 32 bits, with
 * ck's exponential-backoff deadlines 2 ms, 16 ms, 128 ms, 1 s, then none);
 * ck_ec64_inc calls our wake64 op (FUTEX_WAKE of all waiters) only when the
 * flag is set. So: a short spin, then it parks on a futex; a wake wakes
 * every waiter of that counter (ck_ec has no wake-one).
 *
 * Close. ck has none. close sets a flag (release) and increments both event
 * counts, which wakes every waiter; a receiver that sees the flag tries the
 * ring once more (every send happened before the close in the harness, and
 * a send that sees the flag fails) and returns CHAN_ECLOSED once it is
 * empty, so consumers drain then stop. A send after close returns
 * CHAN_ECLOSED (a send racing with close may still land; the harness closes
 * only after all sends).
 *
 * Batches (send_many / recv_many). ck_ring has no batch operations; they are
 * loops over the single-element ring operations with one ck_ec64_add per
 * batch instead of one increment per element (what a user batching by hand
 * would do). recv_many waits as recv for the first element, then takes what
 * is there without waiting, up to max.
 *
 * No select (ck has no multi-queue wait); the select workloads do not run
 * on this peer.
 *
 * Producers spin on each other. ck_ring's MP enqueue reserves a slot (CAS
 * on p_head), copies, then waits with ck_pr_stall (pause) until p_tail
 * reaches its slot, i.e. until every earlier producer has published: no
 * yield, no park, unbounded. With several producers and more runnable
 * threads than CPUs, the producer whose turn it is is often preempted, and
 * the others spin out their time slices: on this 2-CPU VM 4x1 (200 k
 * messages) did not finish in 60 s and 16x16 took 21 s for 100 k messages
 * (4.7 k msgs/s), while short runs that end before any preemption reach
 * 3-8 M msgs/s. The flag CHAN_IMPL_PRODUCERS_SPIN makes chan_bench.c skip
 * those workloads (n/a) unless WEFT_BENCH_PEER_OVERSUB=1.
 */
#define _GNU_SOURCE
#include "chan_impl.h"

#include <ck_ec.h>
#include <ck_ring.h>

#include <limits.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- the ck_ec ops: futex wait / wake, CLOCK_MONOTONIC ------------------ */

static int ec_gettime(const struct ck_ec_ops *ops, struct timespec *out)
{
    (void)ops;
    return clock_gettime(CLOCK_MONOTONIC, out);
}

/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, which is
   what ck_ec passes (from ec_gettime); NULL waits forever. */
static void ec_futex_wait(const uint32_t *addr, uint32_t expected, const struct timespec *deadline)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_BITSET_PRIVATE, expected, deadline, NULL,
            FUTEX_BITSET_MATCH_ANY);
}

static void ec_wait32(const struct ck_ec_wait_state *st, const uint32_t *addr, uint32_t expected,
                      const struct timespec *deadline)
{
    (void)st;
    ec_futex_wait(addr, expected, deadline);
}

/* x86-64 is little-endian: the low half of the 64-bit counter (which holds
   the flag bit) is its first 4 bytes, as ck_ec.h says. */
static void ec_wait64(const struct ck_ec_wait_state *st, const uint64_t *addr, uint64_t expected,
                      const struct timespec *deadline)
{
    (void)st;
    ec_futex_wait((const uint32_t *)addr, (uint32_t)expected, deadline);
}

static void ec_wake32(const struct ck_ec_ops *ops, const uint32_t *addr)
{
    (void)ops;
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void ec_wake64(const struct ck_ec_ops *ops, const uint64_t *addr)
{
    (void)ops;
    syscall(SYS_futex, (const uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Zero tuning fields: ck's defaults (100 spin iterations, 2 ms first
   timeout, x8 per round). */
static const struct ck_ec_ops EC_OPS = {
    .gettime = ec_gettime,
    .wait32 = ec_wait32,
    .wait64 = ec_wait64,
    .wake32 = ec_wake32,
    .wake64 = ec_wake64,
};

static const struct ck_ec_mode EC_MP = { .ops = &EC_OPS, .single_producer = false };

/* ---- the channel -------------------------------------------------------- */

struct ck_chan_m256 {
    unsigned char b[256];
};
CK_RING_PROTOTYPE(m256, ck_chan_m256)

typedef struct ck_chan {
    alignas(64) struct ck_ring ring;        /* pads its own heads apart */
    alignas(64) struct ck_ec64 not_empty;   /* += 1 per send; receivers wait */
    alignas(64) struct ck_ec64 not_full;    /* += 1 per receive; senders wait */
    alignas(64) _Atomic int closed;
    size_t elem_size;
    void *slots;                /* ck_ring_buffer[] or ck_chan_m256[] */
} ck_chan;

static inline bool try_put(ck_chan *c, const void *elem)
{
    if (c->elem_size == 256)
        return ck_ring_enqueue_mpmc_m256(&c->ring, c->slots, (struct ck_chan_m256 *)elem);
    void *v = NULL;
    memcpy(&v, elem, c->elem_size);
    return ck_ring_enqueue_mpmc(&c->ring, c->slots, v);
}

static inline bool try_take(ck_chan *c, void *elem)
{
    if (c->elem_size == 256)
        return ck_ring_dequeue_mpmc_m256(&c->ring, c->slots, elem);
    void *v;
    if (!ck_ring_dequeue_mpmc(&c->ring, c->slots, &v))
        return false;
    memcpy(elem, &v, c->elem_size);
    return true;
}

static void *ck_make(size_t elem_size, size_t cap)
{
    if (elem_size == 0 || (elem_size > sizeof(void *) && elem_size != 256))
        return NULL;
    if (cap > (size_t)1 << 30)
        return NULL;
    unsigned size = 2;          /* holds size - 1 */
    while (size - 1 < cap)
        size <<= 1;
    ck_chan *c = aligned_alloc(64, sizeof *c);
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    size_t slot = elem_size == 256 ? sizeof(struct ck_chan_m256) : sizeof(struct ck_ring_buffer);
    size_t bytes = (slot * size + 63) / 64 * 64;
    c->slots = aligned_alloc(64, bytes);
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    memset(c->slots, 0, bytes);
    ck_ring_init(&c->ring, size);
    ck_ec64_init(&c->not_empty, 0);
    ck_ec64_init(&c->not_full, 0);
    atomic_init(&c->closed, 0);
    c->elem_size = elem_size;
    return c;
}

static void ck_destroy(void *p)
{
    ck_chan *c = p;
    if (c == NULL)
        return;
    free(c->slots);
    free(c);
}

static inline bool is_closed(ck_chan *c)
{
    return atomic_load_explicit(&c->closed, memory_order_acquire) != 0;
}

/* Blocking send of one element; `pending` ring entries this thread added
   without announcing them yet (batches) are announced before it waits. */
static int send_slow(ck_chan *c, const void *elem, uint64_t *pending)
{
    for (;;) {
        if (*pending != 0) {
            ck_ec64_add(&c->not_empty, &EC_MP, *pending);
            *pending = 0;
        }
        uint64_t snap = ck_ec64_value(&c->not_full);
        if (is_closed(c))
            return CHAN_ECLOSED;
        if (try_put(c, elem))
            return 0;
        ck_ec64_wait(&c->not_full, &EC_MP, snap, NULL);
    }
}

static int ck_send(void *p, const void *elem)
{
    ck_chan *c = p;
    uint64_t pending = 0;
    if (!try_put(c, elem)) {
        int rc = send_slow(c, elem, &pending);
        if (rc != 0)
            return rc;
    }
    ck_ec64_inc(&c->not_empty, &EC_MP);
    return 0;
}

/* Blocking receive of one element (0, or CHAN_ECLOSED once closed and
   drained); `pending` dequeues not yet announced on not_full are announced
   before it waits. */
static int recv_slow(ck_chan *c, void *elem, uint64_t *pending)
{
    for (;;) {
        if (*pending != 0) {
            ck_ec64_add(&c->not_full, &EC_MP, *pending);
            *pending = 0;
        }
        uint64_t snap = ck_ec64_value(&c->not_empty);
        if (try_take(c, elem))
            return 0;
        if (is_closed(c))
            return try_take(c, elem) ? 0 : CHAN_ECLOSED;
        ck_ec64_wait(&c->not_empty, &EC_MP, snap, NULL);
    }
}

static int ck_recv(void *p, void *elem)
{
    ck_chan *c = p;
    uint64_t pending = 0;
    if (!try_take(c, elem)) {
        int rc = recv_slow(c, elem, &pending);
        if (rc != 0)
            return rc;
    }
    ck_ec64_inc(&c->not_full, &EC_MP);
    return 0;
}

static int ck_close(void *p)
{
    ck_chan *c = p;
    int expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&c->closed, &expected, 1, memory_order_acq_rel,
                                                 memory_order_acquire))
        return CHAN_ECLOSED;
    /* Wake everyone: waiters re-check and see the flag. */
    ck_ec64_inc(&c->not_empty, &EC_MP);
    ck_ec64_inc(&c->not_full, &EC_MP);
    return 0;
}

static int ck_send_many(void *p, const void *elems, size_t n, size_t *sent)
{
    ck_chan *c = p;
    const unsigned char *e = elems;
    uint64_t pending = 0;
    size_t i = 0;
    int rc = 0;
    for (; i < n; i++, e += c->elem_size) {
        if (try_put(c, e)) {
            pending++;
            continue;
        }
        if ((rc = send_slow(c, e, &pending)) != 0)
            break;
        pending++;
    }
    if (pending != 0)
        ck_ec64_add(&c->not_empty, &EC_MP, pending);
    if (sent != NULL)
        *sent = i;
    return rc;
}

static int ck_recv_many(void *p, void *elems, size_t max, size_t *got)
{
    ck_chan *c = p;
    unsigned char *e = elems;
    uint64_t pending = 0;
    size_t k = 0;
    if (max == 0) {
        if (got != NULL)
            *got = 0;
        return -EINVAL;
    }
    if (!try_take(c, e)) {
        int rc = recv_slow(c, e, &pending);
        if (rc != 0) {
            if (got != NULL)
                *got = 0;
            return rc;
        }
    }
    for (k = 1; k < max && try_take(c, e + k * c->elem_size); k++)
        ;
    ck_ec64_add(&c->not_full, &EC_MP, k);
    if (got != NULL)
        *got = k;
    return 0;
}

const chan_impl CHAN_IMPL_CK = {
    .name = "ck",
    .make = ck_make,
    .destroy = ck_destroy,
    .send = ck_send,
    .recv = ck_recv,
    .close = ck_close,
    .send_many = ck_send_many,
    .recv_many = ck_recv_many,
    .select = NULL,
    .flags = CHAN_IMPL_NO_UNBUFFERED | CHAN_IMPL_PRODUCERS_SPIN,
};
