/* urcu_chan.c — peer: liburcu's wfcqueue (wait-free enqueue, blocking
 * dequeue) as an unbounded channel. Not part of the library: what a C
 * programmer would build from liburcu's concurrent queue to get a
 * Go-like channel.
 *
 * The queue. One struct cds_wfcq_head (with its dequeue mutex) + tail per
 * channel. Senders: cds_wfcq_enqueue (one xchg on the tail; wait-free,
 * never blocks). Receivers: cds_wfcq_dequeue_blocking, which takes the
 * head's pthread mutex around __cds_wfcq_dequeue_blocking (wfcqueue needs
 * mutual exclusion among dequeuers; that is its documented MPMC use). The
 * static inline versions are used (_LGPL_SOURCE), as liburcu recommends for
 * speed; liburcu-cds / liburcu-common are still linked.
 *
 * Unbounded: "cap" is ignored, sends never block, so the queue grows when
 * producers outrun consumers. The cap-0 and cap-1 throughput workloads
 * would be a different workload here and are not registered (n/a);
 * ping-pong runs (one message in flight, capacity does not matter).
 *
 * Nodes (the allocation choice). Each message is a node (wfcq node, owner
 * pointer, payload) padded to a 64-byte multiple. Nodes are not malloc'd
 * per message (what a naive user does; it measures glibc's cross-thread
 * free path more than the queue): every sending thread has its own pool per
 * channel; receivers give a node back to its owner's pool with a wait-free
 * cds_wfcq_enqueue on the pool's return queue, and the owner, when its
 * private free list is empty, takes the whole return queue with
 * __cds_wfcq_splice_blocking (it is the only dequeuer of its pool), and only
 * if that is empty too carves a new node from a 1024-node chunk. That is the
 * fairer choice: steady state is one extra uncontended-ish xchg per message
 * and no malloc. The pool of the calling thread is found through a
 * thread-local one-entry cache keyed by the channel's unique id (a miss
 * takes the channel's pool-list mutex, once per thread per channel). All
 * chunks are freed when the channel is destroyed.
 *
 * Blocking. wfcqueue has no blocking on empty. Receivers: a try, then a
 * short spin (RECV_SPIN = 100 cpu_relax iterations watching for a node or
 * close, like ck_ec's default spin), then they park on a futex: increment
 * `waiters` (seq_cst), read the sequence word `seq`, re-check the queue and
 * the close flag, FUTEX_WAIT on seq; decrement waiters when back. A sender,
 * after its enqueue (an xchg, a full barrier), reads `waiters`: if non-zero
 * it increments seq and FUTEX_WAKEs one waiter (send_many: up to the batch
 * size). That is a Dekker pair (waiters++ then check the queue / enqueue
 * then check waiters), so no wakeup is lost. Spinning elsewhere, inherited
 * from wfcqueue itself: a dequeuer that finds a node whose enqueuer has
 * swapped the tail but not yet linked it busy-waits (10 cpu_relax, then
 * poll(10 ms) sleeps: urcu's adaptive wait), and the dequeue mutex is a
 * pthread mutex (spins briefly, then futex-parks under contention).
 *
 * Close: a flag, then seq++ and FUTEX_WAKE of all waiters; receivers drain
 * the queue, then return CHAN_ECLOSED. Sends after close return
 * CHAN_ECLOSED.
 *
 * Batches: send_many builds a private wfcqueue of its nodes and moves it
 * into the channel with one __cds_wfcq_splice_blocking (one xchg on the
 * channel's tail); recv_many takes the dequeue lock once and dequeues up to
 * max nodes (waiting as recv for the first).
 *
 * No select: the select workloads do not run on this peer.
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE
#include "chan_impl.h"

#include <urcu/wfcqueue.h>

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RECV_SPIN 100
#define CHUNK_NODES 1024

typedef struct upool upool;

typedef struct unode {
    struct cds_wfcq_node qn;    /* the queue link */
    upool *owner;               /* whose pool it goes back to */
    alignas(8) unsigned char data[];
} unode;

typedef struct uchunk {
    struct uchunk *next;
} uchunk;

struct upool {
    /* Return queue: receivers enqueue (wait-free), the owner splices. */
    alignas(64) struct __cds_wfcq_head ret_head;
    alignas(64) struct cds_wfcq_tail ret_tail;
    /* Owner-private from here on. */
    alignas(64) struct __cds_wfcq_head free_head;
    struct cds_wfcq_tail free_tail;
    unsigned char *bump;        /* the current chunk's unused nodes */
    size_t bump_left;
    uchunk *chunks;
    const void *owner_token;    /* the owning thread */
    upool *next;                /* the channel's list */
};

typedef struct urcu_chan {
    alignas(64) struct cds_wfcq_head head;  /* + the dequeue mutex */
    alignas(64) struct cds_wfcq_tail tail;
    alignas(64) _Atomic uint32_t seq;       /* futex word */
    _Atomic uint32_t waiters;
    _Atomic int closed;
    alignas(64) size_t elem_size;
    size_t stride;              /* node size, a multiple of 64 */
    uint64_t id;                /* unique, for the thread-local cache */
    pthread_mutex_t pools_mu;
    upool *pools;
} urcu_chan;

static _Atomic uint64_t next_chan_id = 1;
static _Thread_local char tl_token;
static _Thread_local struct {
    uint64_t chan_id;
    upool *pool;
} tl_cache;

/* ---- futex -------------------------------------------------------------- */

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w, int n)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* ---- node pools --------------------------------------------------------- */

static upool *pool_of_this_thread(urcu_chan *c)
{
    if (tl_cache.chan_id == c->id)
        return tl_cache.pool;
    pthread_mutex_lock(&c->pools_mu);
    upool *p = c->pools;
    while (p != NULL && p->owner_token != &tl_token)
        p = p->next;
    if (p == NULL && (p = aligned_alloc(64, sizeof *p)) != NULL) {
        memset(p, 0, sizeof *p);
        __cds_wfcq_init(&p->ret_head, &p->ret_tail);
        __cds_wfcq_init(&p->free_head, &p->free_tail);
        p->owner_token = &tl_token;
        p->next = c->pools;
        c->pools = p;
    }
    pthread_mutex_unlock(&c->pools_mu);
    if (p != NULL) {
        tl_cache.chan_id = c->id;
        tl_cache.pool = p;
    }
    return p;
}

static unode *node_get(urcu_chan *c, upool *p)
{
    struct cds_wfcq_node *qn = __cds_wfcq_dequeue_blocking(&p->free_head, &p->free_tail);
    if (qn == NULL && !cds_wfcq_empty(&p->ret_head, &p->ret_tail)) {
        __cds_wfcq_splice_blocking(&p->free_head, &p->free_tail, &p->ret_head, &p->ret_tail);
        qn = __cds_wfcq_dequeue_blocking(&p->free_head, &p->free_tail);
    }
    if (qn != NULL)
        return caa_container_of(qn, unode, qn);
    if (p->bump_left == 0) {
        uchunk *ch = aligned_alloc(64, 64 + c->stride * CHUNK_NODES);
        if (ch == NULL)
            return NULL;
        ch->next = p->chunks;
        p->chunks = ch;
        p->bump = (unsigned char *)ch + 64;
        p->bump_left = CHUNK_NODES;
    }
    unode *n = (unode *)p->bump;
    p->bump += c->stride;
    p->bump_left--;
    n->owner = p;
    return n;
}

static void node_put(unode *n)
{
    upool *p = n->owner;
    cds_wfcq_node_init(&n->qn);
    cds_wfcq_enqueue(&p->ret_head, &p->ret_tail, &n->qn);
}

/* ---- the channel -------------------------------------------------------- */

static void *urcu_make(size_t elem_size, size_t cap)
{
    (void)cap;                  /* unbounded */
    if (elem_size == 0 || elem_size > 4096)
        return NULL;
    urcu_chan *c = aligned_alloc(64, sizeof *c);
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    cds_wfcq_init(&c->head, &c->tail);
    atomic_init(&c->seq, 0);
    atomic_init(&c->waiters, 0);
    atomic_init(&c->closed, 0);
    c->elem_size = elem_size;
    c->stride = (sizeof(unode) + elem_size + 63) / 64 * 64;
    c->id = atomic_fetch_add(&next_chan_id, 1);
    pthread_mutex_init(&c->pools_mu, NULL);
    c->pools = NULL;
    return c;
}

static void urcu_destroy(void *v)
{
    urcu_chan *c = v;
    if (c == NULL)
        return;
    /* Every node lives in some pool's chunks: free those. */
    for (upool *p = c->pools, *pn; p != NULL; p = pn) {
        pn = p->next;
        for (uchunk *ch = p->chunks, *cn; ch != NULL; ch = cn) {
            cn = ch->next;
            free(ch);
        }
        free(p);
    }
    cds_wfcq_destroy(&c->head, &c->tail);
    pthread_mutex_destroy(&c->pools_mu);
    free(c);
}

static inline bool is_closed(urcu_chan *c)
{
    return atomic_load_explicit(&c->closed, memory_order_acquire) != 0;
}

/* After enqueueing (an xchg: a full barrier): wake up to n parked
   receivers if there are any. */
static inline void wake_receivers(urcu_chan *c, int n)
{
    if (atomic_load(&c->waiters) != 0) {
        atomic_fetch_add(&c->seq, 1);
        futex_wake(&c->seq, n);
    }
}

static int urcu_send(void *v, const void *elem)
{
    urcu_chan *c = v;
    if (is_closed(c))
        return CHAN_ECLOSED;
    upool *p = pool_of_this_thread(c);
    unode *n = p != NULL ? node_get(c, p) : NULL;
    if (n == NULL)
        return -ENOMEM;
    memcpy(n->data, elem, c->elem_size);
    cds_wfcq_node_init(&n->qn);
    cds_wfcq_enqueue(&c->head, &c->tail, &n->qn);
    wake_receivers(c, 1);
    return 0;
}

static int urcu_send_many(void *v, const void *elems, size_t count, size_t *sent)
{
    urcu_chan *c = v;
    const unsigned char *e = elems;
    if (sent != NULL)
        *sent = 0;
    if (is_closed(c))
        return CHAN_ECLOSED;
    upool *p = pool_of_this_thread(c);
    if (p == NULL)
        return -ENOMEM;
    struct __cds_wfcq_head bh;
    struct cds_wfcq_tail bt;
    __cds_wfcq_init(&bh, &bt);
    size_t i = 0;
    int rc = 0;
    for (; i < count; i++, e += c->elem_size) {
        unode *n = node_get(c, p);
        if (n == NULL) {
            rc = -ENOMEM;
            break;
        }
        memcpy(n->data, e, c->elem_size);
        cds_wfcq_node_init(&n->qn);
        cds_wfcq_enqueue(&bh, &bt, &n->qn);
    }
    if (i > 0) {
        __cds_wfcq_splice_blocking(&c->head, &c->tail, &bh, &bt);
        wake_receivers(c, i > INT_MAX ? INT_MAX : (int)i);
    }
    if (sent != NULL)
        *sent = i;
    return rc;
}

/* Wait until the queue is (probably) non-empty or closed: spin, then park. */
static void wait_nonempty(urcu_chan *c)
{
    for (int i = 0; i < RECV_SPIN; i++) {
        if (!cds_wfcq_empty(&c->head, &c->tail) || is_closed(c))
            return;
        caa_cpu_relax();
    }
    atomic_fetch_add(&c->waiters, 1);
    uint32_t s = atomic_load(&c->seq);
    if (cds_wfcq_empty(&c->head, &c->tail) && !is_closed(c))
        futex_wait(&c->seq, s);
    atomic_fetch_sub(&c->waiters, 1);
}

static inline void take(urcu_chan *c, struct cds_wfcq_node *qn, void *out)
{
    unode *n = caa_container_of(qn, unode, qn);
    memcpy(out, n->data, c->elem_size);
    node_put(n);
}

static int urcu_recv(void *v, void *elem)
{
    urcu_chan *c = v;
    for (;;) {
        struct cds_wfcq_node *qn = cds_wfcq_dequeue_blocking(&c->head, &c->tail);
        if (qn != NULL) {
            take(c, qn, elem);
            return 0;
        }
        if (is_closed(c)) {
            /* Everything sent before the close is in the queue by now. */
            qn = cds_wfcq_dequeue_blocking(&c->head, &c->tail);
            if (qn == NULL)
                return CHAN_ECLOSED;
            take(c, qn, elem);
            return 0;
        }
        wait_nonempty(c);
    }
}

static int urcu_recv_many(void *v, void *elems, size_t max, size_t *got)
{
    urcu_chan *c = v;
    unsigned char *e = elems;
    if (got != NULL)
        *got = 0;
    if (max == 0)
        return -EINVAL;
    for (;;) {
        size_t k = 0;
        cds_wfcq_dequeue_lock(&c->head, &c->tail);
        struct cds_wfcq_node *qn;
        while (k < max && (qn = __cds_wfcq_dequeue_blocking(&c->head, &c->tail)) != NULL) {
            take(c, qn, e + k * c->elem_size);
            k++;
        }
        cds_wfcq_dequeue_unlock(&c->head, &c->tail);
        if (k > 0) {
            if (got != NULL)
                *got = k;
            return 0;
        }
        if (is_closed(c) && cds_wfcq_empty(&c->head, &c->tail))
            return CHAN_ECLOSED;
        if (!is_closed(c))
            wait_nonempty(c);
    }
}

static int urcu_close(void *v)
{
    urcu_chan *c = v;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&c->closed, &expected, 1))
        return CHAN_ECLOSED;
    atomic_fetch_add(&c->seq, 1);
    futex_wake(&c->seq, INT_MAX);
    return 0;
}

const chan_impl CHAN_IMPL_URCU = {
    .name = "urcu",
    .make = urcu_make,
    .destroy = urcu_destroy,
    .send = urcu_send,
    .recv = urcu_recv,
    .close = urcu_close,
    .send_many = urcu_send_many,
    .recv_many = urcu_recv_many,
    .select = NULL,
    .flags = CHAN_IMPL_UNBOUNDED,
};
