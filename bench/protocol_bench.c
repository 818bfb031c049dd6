/* protocol_bench.c — the waiter protocols a select could be built on,
 * measured in isolation (issue 3: "choose the waiter protocol, measure the
 * candidates").
 *
 * A thread blocks on N event sources at once (a select over N channels) and
 * any one source firing must wake it. Each candidate below is a small,
 * self-contained implementation of just that, kept in this file (not in the
 * library). A source carries no data: a fire is an event, and a fire that
 * finds nobody waiting is kept as a token that the next wait consumes (the
 * value a channel would hold), so no wakeup is ever lost. No candidate spins
 * before sleeping: the figures are the cost of the protocol plus a parked
 * wake (weft's own adaptive spinning is measured by the channel workloads).
 *
 *   claim_parker   weft's scheme (chan/waitq.h, chan/select.c, lockfree/
 *                  park.c). One waiter record per wait: a futex parker word
 *                  (IDLE / SLEEPING / UNPARKED, the state machine of
 *                  lockfree/park.c, copied here so that its futex calls can
 *                  be counted) and a claim word. A source is a three-state
 *                  futex mutex (Drepper's mutex 3, as lockfree/lock.h, with a
 *                  fixed 64-round spin) and an intrusive FIFO list. The waiter
 *                  links one node per source (taking a token instead if one is
 *                  there: it then claims itself), parks, and withdraws its
 *                  nodes when woken. A fire pops nodes until one CAS of a
 *                  waiter's claim OPEN -> CLAIMED+i succeeds, and unparks that
 *                  waiter after unlocking: FUTEX_WAKE only if it sleeps.
 *   futex_waitv    each source is a 32-bit sequence word (the futex word) and
 *                  a token count. The waiter snapshots the N words, takes a
 *                  token if there is one, else calls futex_waitv (syscall
 *                  449) on the N words with the snapshot; the kernel does the
 *                  registering and the re-check. A fire adds a token, bumps
 *                  the word and always calls FUTEX_WAKE (no waiters flag: the
 *                  waker cannot tell whether anyone sleeps). FUTEX_WAKE(1) on
 *                  a word picks a sleeper the kernel chooses; that is correct
 *                  only when every sleeper of the word would take this event
 *                  (one waiter per word, or waiters of this word alone):
 *                  a waiter of several words woken for one may take another
 *                  word's token and leave this one unclaimed, so a general
 *                  select on words needs FUTEX_WAKE(INT_MAX), or a pass-on
 *                  of the wakeup. The ping-pong (one waiter per word) uses
 *                  wake(1); the herd runs both, futex_waitv_wake1 and
 *                  futex_waitv_wakeall.
 *   mutex_condvar  the baseline select's scheme (bench/baselines/
 *                  mutex_chan.c): a source is a pthread mutex and a list; a
 *                  waiter is a mutex, a condvar, a `signaled` flag and the
 *                  index that woke it. It links one node per source, waits
 *                  on its condvar until signaled, withdraws. A fire, under
 *                  the source's mutex, pops nodes until one waiter is not yet
 *                  signaled, and signals it under that waiter's mutex.
 *
 * Workloads (N = 1, 4, 16 sources unless said):
 *
 *   protocol/rtt_<C>cpu_n<N>/<candidate>  wake round trip. Threads A and B
 *       each wait on their own N sources; A fires a random one of B's and
 *       waits; B wakes, fires a random one of A's and waits again (the
 *       floor/futex_rtt ping-pong, through the protocol). A timestamps every
 *       round trip. The two threads are pinned: C = 1, both on the first CPU
 *       the process may use (every wake is a context switch on that CPU: the
 *       protocol's and the kernel's own cost); C = 2, on the first two (every
 *       wake crosses CPUs: on a VM mostly the hypervisor's cost of waking an
 *       idle vCPU). Unpinned, the scheduler switches between the two
 *       placements from run to run and the medians flip between ~2 and ~60
 *       us on the target VM (as floor/futex_rtt's do). Checked: every wait
 *       returns the source that was fired. Timed region: bench_run_threads
 *       (start gate to the end of the last round trip; it includes the move
 *       to the CPUs, the percentiles do not). Counters: rtt_p50_ns,
 *       rtt_p99_ns, rtt_mean_ns, cpu_ns_per_rtt (CPU of both threads in the
 *       region, per round trip), sleeps_per_rtt (returns from a kernel
 *       sleep: FUTEX_WAIT, futex_waitv or pthread_cond_wait) and, except for
 *       mutex_condvar, whose futex calls are glibc's, futex_calls_per_rtt
 *       (every FUTEX_WAIT, FUTEX_WAKE and futex_waitv this file makes, both
 *       threads). Rounds: WEFT_BENCH_RTT_ROUNDS / 20.
 *   protocol/arm_cancel_n<N>/<candidate> register + cancel with nothing
 *       firing, one thread: what a select pays when it registers and its
 *       re-check then finds a case ready. claim_parker and mutex_condvar:
 *       link N nodes (one lock round trip each, checking for a token), give
 *       up (claim CAS OPEN -> ABANDONED; or `signaled` set under the waiter's
 *       mutex), unlink N nodes. futex_waitv: snapshot the N words, check the
 *       tokens, then futex_waitv with the last word's expected value off by
 *       one — the kernel queues the first N - 1, finds the last changed,
 *       unqueues them and returns EAGAIN (the ready case checked last: the
 *       most waitv can cost). Counters: ns_per_op, futex_calls_per_op.
 *       Operations: WEFT_BENCH_SYNC_SLOW_OPS / 4.
 *   protocol/herd16/<candidate>          16 threads wait on one source; each
 *       round, once all 16 are asleep in the kernel (/proc state S, two
 *       sweeps in a row, as sync/cancel_fanout), the main thread fires it
 *       once; exactly one waiter may take the event (checked) and returns to
 *       waiting. wake_p50_ns / wake_p99_ns: fire to the moment the waiter
 *       that took it returned from its wait. cpu_ns_per_fire: CPU of the 16
 *       waiters (their thread CPU clocks, read before the fire and after
 *       everyone is asleep again) plus the fire call's own, per fire;
 *       the main thread's polling is not counted. woken_per_fire: returns
 *       from a kernel sleep per fire (1 is exact; 16 is the herd).
 *       futex_calls_per_fire as above. The timed region is the sum of the
 *       rounds' fire-to-proceed times. Rounds: WEFT_BENCH_CANCEL_ROUNDS x 10.
 *       Variants: claim_parker, futex_waitv_wake1, futex_waitv_wakeall,
 *       mutex_condvar. Not pinned (17 threads on the machine's CPUs).
 *
 * On a kernel without futex_waitv (before 5.16) the futex_waitv benchmarks
 * are not registered; on a one-CPU machine neither are rtt_2cpu ones.
 *
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PB_MAXN 16          /* sources per wait, at most */
#define HERD_WAITERS 16

/* ---- counting futex calls -------------------------------------------------- */

/* Per-thread figures, one cache line each; a thread finds its own through
   tl_stat (NULL: not counted). */
typedef struct tstat {
    _Alignas(64) _Atomic uint64_t syscalls;  /* futex calls made */
    _Atomic uint64_t sleeps;                 /* returns from a kernel sleep */
} tstat;

static _Thread_local tstat *tl_stat;

static void stat_bump(_Atomic uint64_t *c)
{
    /* Relaxed load and store: one writer (the owning thread). Readers (the
       body, after a join or once the thread sleeps) only report the figure;
       nothing is ordered by it. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static uint64_t stat_read(_Atomic uint64_t *c)
{
    /* Relaxed: a figure, see stat_bump. */
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void count_syscall(void)
{
    if (tl_stat)
        stat_bump(&tl_stat->syscalls);
}

static void count_sleep(void)
{
    if (tl_stat)
        stat_bump(&tl_stat->sleeps);
}

static void fx_wait(_Atomic uint32_t *w, uint32_t val)
{
    count_syscall();
    if (syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0) == 0)
        count_sleep();
}

static void fx_wake(_Atomic uint32_t *w, int n)
{
    count_syscall();
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* futex_waitv (Linux 5.16): the struct of <linux/futex.h>, spelled out so
   that older headers build too. */
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define PB_FUTEX2_SIZE_U32 0x02u
#define PB_FUTEX2_PRIVATE 128u   /* FUTEX_PRIVATE_FLAG */

typedef struct pb_waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
} pb_waitv;

/* The woken entry's index, or -1 with errno (EAGAIN: a word differed). */
static long fx_waitv(pb_waitv *v, unsigned n)
{
    count_syscall();
    long rc = syscall(SYS_futex_waitv, v, n, 0u, NULL, CLOCK_MONOTONIC);
    if (rc >= 0)
        count_sleep();
    return rc;
}

static bool have_waitv(void)
{
    /* Zero entries: EINVAL where the call exists, ENOSYS where it does not. */
    errno = 0;
    long rc = syscall(SYS_futex_waitv, NULL, 0u, 0u, NULL, CLOCK_MONOTONIC);
    return !(rc == -1 && errno == ENOSYS);
}

/* ---- shared pieces: a FIFO of nodes, a futex mutex, a parker -------------- */

typedef struct pb_node {
    struct pb_node *prev, *next;  /* in a source's list, under its lock */
    void *w;                      /* the waiter */
    int idx;                      /* the source index this node stands for */
    bool queued;                  /* under the source's lock */
} pb_node;

typedef struct pb_list {
    pb_node *head, *tail;
} pb_list;

static void list_push(pb_list *l, pb_node *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    n->queued = true;
}

static void list_remove(pb_list *l, pb_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
    n->queued = false;
}

/* Drepper's mutex 3: 0 free, 1 locked, 2 locked with possible sleepers. */
static void lk_acquire(_Atomic uint32_t *l)
{
    uint32_t s = 0;
    /* Acquire: pairs with the release exchange in lk_release, so the previous
       holder's critical section is visible. */
    if (atomic_compare_exchange_strong_explicit(l, &s, 1, memory_order_acquire,
                                                memory_order_relaxed))
        return;
    for (int i = 0; i < 64; i++) {
        BENCH_CPU_RELAX();
        s = 0;
        /* Relaxed load: a hint; the CAS decides. Acquire CAS: as above. */
        if (atomic_load_explicit(l, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(l, &s, 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    /* Acquire: as above. Marking the lock 2 makes the holder's release wake. */
    while (atomic_exchange_explicit(l, 2, memory_order_acquire) != 0)
        fx_wait(l, 2);
}

static void lk_release(_Atomic uint32_t *l)
{
    /* Release: publishes the critical section to the next acquirer. */
    if (atomic_exchange_explicit(l, 0, memory_order_release) == 2)
        fx_wake(l, 1);
}

/* The parker of lockfree/park.c, without deadlines or spinning. */
enum { PK_IDLE = 0, PK_SLEEPING = 1, PK_UNPARKED = 2 };

static void pk_reset(_Atomic uint32_t *p)
{
    /* Relaxed: only the owner resets, when no waker can reach the parker;
       wakers find it through a source list whose lock publishes this. */
    atomic_store_explicit(p, PK_IDLE, memory_order_relaxed);
}

static void pk_wait(_Atomic uint32_t *p)
{
    uint32_t s = PK_IDLE;
    /* Acquire: on failure the word is UNPARKED and this pairs with the
       waker's acq_rel exchange in pk_unpark; on success it pairs with
       nothing (we saw IDLE). */
    if (!atomic_compare_exchange_strong_explicit(p, &s, PK_SLEEPING, memory_order_acquire,
                                                 memory_order_acquire))
        return;
    for (;;) {
        fx_wait(p, PK_SLEEPING);
        /* Acquire: pairs with pk_unpark's exchange (what the waker wrote
           before unparking is visible after we return). */
        if (atomic_load_explicit(p, memory_order_acquire) == PK_UNPARKED)
            return;
    }
}

static void pk_unpark(_Atomic uint32_t *p)
{
    /* acq_rel: the release half pairs with pk_wait's acquire loads. After the
       exchange the owner may return; we touch the word only through the
       kernel, which tolerates a stale address. */
    if (atomic_exchange_explicit(p, PK_UNPARKED, memory_order_acq_rel) == PK_SLEEPING)
        fx_wake(p, 1);
}

/* ---- the candidates, behind one interface ---------------------------------- */

typedef struct proto_ops {
    const char *name;
    bool counts_syscalls;                 /* false: the futex calls are glibc's */
    void *(*set_new)(int n, int nwake);   /* N sources */
    void (*set_free)(void *set);
    bool (*set_idle)(void *set);          /* no token and no node left (after a run) */
    void *(*waiter_new)(void *set);       /* one per waiting thread, on that set */
    void (*waiter_free)(void *w);
    int (*wait)(void *w);                 /* block until a source fired: its index */
    void (*fire)(void *set, int i);
    int (*arm_cancel)(void *w);           /* 0, or -1 on an unexpected outcome */
} proto_ops;

static void *alloc_lines(size_t n, size_t size)
{
    size_t bytes = (n * size + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* ---- (a) and (c): a queue of waiter nodes on each source -------------------- */

/* claim_parker and mutex_condvar run one algorithm, written once below: a
   source is a lock, a FIFO of waiter nodes and a token count; a waiter links
   one node per source (taking a token instead if one is there), blocks until
   a fire claims it, and withdraws its nodes; a fire pops nodes until it
   claims a waiter, else keeps a token. What differs is a q_ops: the source
   lock, and how a waiter is claimed, woken, waits and gives up. Each
   candidate has one const q_ops, passed as a compile-time constant to the
   always-inlined helpers below, so that GCC turns every op into a direct
   (mostly inlined) call: no indirect call on the measured paths. */

#define PB_INLINE static inline __attribute__((always_inline))

typedef struct q_src {
    _Alignas(64) union {
        _Atomic uint32_t fx;      /* claim_parker: lk_acquire / lk_release */
        pthread_mutex_t mu;       /* mutex_condvar */
    } lock;
    pb_list list;                 /* under lock */
    uint32_t tokens;              /* fires that found no waiter; under lock */
} q_src;

typedef struct q_set {
    int n;
    q_src *src;
} q_set;

/* The part of a waiter that the queue code uses, embedded in the candidate's
   waiter; its nodes point to the candidate's waiter. */
typedef struct q_waiter {
    q_set *set;
    pb_node nodes[PB_MAXN];
} q_waiter;

typedef struct q_ops {
    void (*lock_init)(q_src *src);
    void (*lock_destroy)(q_src *src);     /* NULL: nothing to do */
    void (*lock)(q_src *src);
    void (*unlock)(q_src *src);
    /* Under src's lock: claim waiter w for source idx; false if w is claimed
       already or gave up. `fire`: a fire claims w (else w takes a token
       itself); the claim may wake w there. */
    bool (*claim)(void *w, int idx, bool fire);
    void (*wake)(void *w);                /* a fire's claimed waiter, after the
                                             unlock; NULL: claim woke it */
    void (*reset)(void *w);               /* before linking: nobody can reach w */
    int (*block)(void *w);                /* until claimed: the claiming source */
    int (*abandon)(void *w);              /* give up: 0, or -1 if a fire claimed w */
} q_ops;

static void *q_set_new(int n, const q_ops *ops)
{
    q_set *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->n = n;
    if ((s->src = alloc_lines((size_t)n, sizeof *s->src)) == NULL) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        ops->lock_init(&s->src[i]);
    return s;
}

static void q_set_free(void *p, const q_ops *ops)
{
    q_set *s = p;
    for (int i = 0; ops->lock_destroy && i < s->n; i++)
        ops->lock_destroy(&s->src[i]);
    free(s->src);
    free(s);
}

static bool q_set_idle(void *p)
{
    q_set *s = p;
    for (int i = 0; i < s->n; i++)
        if (s->src[i].tokens || s->src[i].list.head)
            return false;
    return true;
}

/* Link one node per source, one lock at a time, checking each source for a
   token under its lock (the re-check: a fire either came first and left a
   token, or comes later and finds the node). Taking a token claims w itself,
   so that a fire on a source linked earlier passes it over. Returns how many
   nodes were linked; *got is the source whose token we took, or -1 (then
   either every node is linked, or a fire claimed w meanwhile: its wake is
   coming). */
PB_INLINE int q_register(q_waiter *q, void *w, int *got, const q_ops *ops)
{
    q_set *s = q->set;
    *got = -1;
    for (int i = 0; i < s->n; i++) {
        q_src *src = &s->src[i];
        ops->lock(src);
        if (src->tokens > 0) {
            if (ops->claim(w, i, false)) {
                src->tokens--;
                *got = i;
            }
            ops->unlock(src);
            return i;
        }
        pb_node *nd = &q->nodes[i];
        nd->w = w;
        nd->idx = i;
        list_push(&src->list, nd);
        ops->unlock(src);
    }
    return s->n;
}

PB_INLINE void q_withdraw(q_waiter *q, int linked, const q_ops *ops)
{
    for (int i = 0; i < linked; i++) {
        q_src *src = &q->set->src[i];
        ops->lock(src);
        if (q->nodes[i].queued)
            list_remove(&src->list, &q->nodes[i]);
        ops->unlock(src);
    }
}

PB_INLINE int q_wait(q_waiter *q, void *w, const q_ops *ops)
{
    ops->reset(w);
    int got;
    int linked = q_register(q, w, &got, ops);
    if (got < 0)
        got = ops->block(w);
    q_withdraw(q, linked, ops);
    return got;
}

PB_INLINE void q_fire(void *p, int i, const q_ops *ops)
{
    q_src *src = &((q_set *)p)->src[i];
    void *claimed = NULL;
    ops->lock(src);
    for (pb_node *nd; (nd = src->list.head) != NULL;) {
        list_remove(&src->list, nd);
        /* The waiter withdraws under src's lock before returning, so it is
           alive here; a failed claim drops its node. */
        if (ops->claim(nd->w, nd->idx, true)) {
            claimed = nd->w;
            break;
        }
    }
    if (claimed == NULL)
        src->tokens++;
    ops->unlock(src);
    if (claimed && ops->wake)
        ops->wake(claimed);
}

PB_INLINE int q_arm_cancel(q_waiter *q, void *w, const q_ops *ops)
{
    ops->reset(w);
    int got;
    int linked = q_register(q, w, &got, ops);
    int rc = got < 0 ? 0 : -1;   /* nothing fires in this workload */
    if (got < 0)
        rc = ops->abandon(w);
    q_withdraw(q, linked, ops);
    return rc;
}

/* One candidate's proto_ops functions: the queue helpers above with its
   q_ops (a compile-time constant in each). */
#define Q_CANDIDATE(pfx, OPS)                                                   \
    static void *pfx##_set_new(int n, int nwake)                                \
    {                                                                           \
        (void)nwake;                                                            \
        return q_set_new(n, &OPS);                                              \
    }                                                                           \
    static void pfx##_set_free(void *s) { q_set_free(s, &OPS); }                \
    static int pfx##_wait(void *w) { return q_wait(&((pfx##_waiter *)w)->q, w, &OPS); } \
    static void pfx##_fire(void *s, int i) { q_fire(s, i, &OPS); }              \
    static int pfx##_arm_cancel(void *w)                                        \
    {                                                                           \
        return q_arm_cancel(&((pfx##_waiter *)w)->q, w, &OPS);                  \
    }

/* ---- (a) claim + parker ---------------------------------------------------- */

enum { CLAIM_OPEN = 0, CLAIM_ABANDONED = 1, CLAIM_BASE = 2 };

typedef struct a_waiter {
    _Alignas(64) _Atomic uint32_t park;
    _Atomic uint32_t claim;       /* CLAIM_OPEN, CLAIM_ABANDONED, CLAIM_BASE + index */
    q_waiter q;
} a_waiter;

static void *a_waiter_new(void *set)
{
    a_waiter *w = alloc_lines(1, sizeof *w);
    if (w) {
        atomic_init(&w->park, PK_IDLE);
        atomic_init(&w->claim, CLAIM_OPEN);
        w->q.set = set;
    }
    return w;
}

static void a_lock_init(q_src *src)
{
    atomic_init(&src->lock.fx, 0);
}

static void a_lock(q_src *src)
{
    lk_acquire(&src->lock.fx);
}

static void a_unlock(q_src *src)
{
    lk_release(&src->lock.fx);
}

static bool a_claim(void *p, int idx, bool fire)
{
    (void)fire;
    a_waiter *w = p;
    uint32_t open = CLAIM_OPEN;
    /* acq_rel: exactly one of a fire's claim, the waiter's self-claim on a
       token (the same CAS, on itself, so that a fire on a source linked
       earlier cannot claim it too) and its abandon wins; failure (acquire)
       pairs with the CAS that won: the waiter is claimed or gone elsewhere
       and a fire drops its node. */
    return atomic_compare_exchange_strong_explicit(&w->claim, &open,
                                                   CLAIM_BASE + (uint32_t)idx,
                                                   memory_order_acq_rel,
                                                   memory_order_acquire);
}

static void a_wake(void *p)
{
    /* The claimed waiter stays parked (alive) until this unpark. */
    pk_unpark(&((a_waiter *)p)->park);
}

static void a_reset(void *p)
{
    a_waiter *w = p;
    pk_reset(&w->park);
    /* Relaxed: nobody can reach the waiter now (no node linked); the source
       lock that links the first node publishes this. */
    atomic_store_explicit(&w->claim, CLAIM_OPEN, memory_order_relaxed);
}

static int a_block(void *p)
{
    a_waiter *w = p;
    pk_wait(&w->park);
    /* Relaxed: pk_wait returned after an acquire load that pairs with the
       claimer's unpark, which it issued after its claim CAS. */
    return (int)(atomic_load_explicit(&w->claim, memory_order_relaxed) - CLAIM_BASE);
}

static int a_abandon(void *p)
{
    a_waiter *w = p;
    uint32_t open = CLAIM_OPEN;
    /* acq_rel: as the claims; failure means a fire claimed us first and
       its unpark is coming, which we must wait for. */
    if (!atomic_compare_exchange_strong_explicit(&w->claim, &open, CLAIM_ABANDONED,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire)) {
        pk_wait(&w->park);
        return -1;
    }
    return 0;
}

static const q_ops A_Q = {
    a_lock_init, NULL, a_lock, a_unlock, a_claim, a_wake, a_reset, a_block, a_abandon,
};

Q_CANDIDATE(a, A_Q)

static const proto_ops P_CLAIM = {
    "claim_parker", true, a_set_new, a_set_free, q_set_idle,
    a_waiter_new, free, a_wait, a_fire, a_arm_cancel,
};

/* ---- (b) futex_waitv ------------------------------------------------------- */

typedef struct b_src {
    _Alignas(64) _Atomic uint32_t seq;   /* the futex word: bumped by every fire */
    _Atomic uint32_t tokens;             /* fires not yet taken */
} b_src;

typedef struct b_set {
    int n;
    int nwake;                           /* FUTEX_WAKE count of a fire */
    b_src *src;
} b_set;

typedef struct b_waiter {
    b_set *set;
    pb_waitv v[PB_MAXN];
} b_waiter;

static void *b_set_new(int n, int nwake)
{
    b_set *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->n = n;
    s->nwake = nwake;
    if ((s->src = alloc_lines((size_t)n, sizeof *s->src)) == NULL) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        atomic_init(&s->src[i].seq, 0);
        atomic_init(&s->src[i].tokens, 0);
    }
    return s;
}

static void b_set_free(void *p)
{
    b_set *s = p;
    free(s->src);
    free(s);
}

static bool b_set_idle(void *p)
{
    b_set *s = p;
    for (int i = 0; i < s->n; i++)
        /* Relaxed: read after the threads were joined. */
        if (atomic_load_explicit(&s->src[i].tokens, memory_order_relaxed))
            return false;
    return true;
}

static void *b_waiter_new(void *set)
{
    b_waiter *w = calloc(1, sizeof *w);
    if (w) {
        b_set *s = set;
        w->set = s;
        for (int i = 0; i < s->n; i++) {
            w->v[i].uaddr = (uint64_t)(uintptr_t)&s->src[i].seq;
            w->v[i].flags = PB_FUTEX2_SIZE_U32 | PB_FUTEX2_PRIVATE;
        }
    }
    return w;
}

static bool b_take(b_src *src)
{
    /* Relaxed load: a hint; the CAS decides. */
    uint32_t t = atomic_load_explicit(&src->tokens, memory_order_relaxed);
    while (t > 0)
        /* Acquire: pairs with the fire's release fetch_add of tokens, so what
           the firer wrote before firing is visible to the taker. */
        if (atomic_compare_exchange_weak_explicit(&src->tokens, &t, t - 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    return false;
}

/* Snapshot every word, then look for a token: a fire whose token we miss
   bumped its word after our snapshot, so the kernel's compare (or the
   fire's FUTEX_WAKE) catches it. -1 if none; the snapshot is in w->v. */
static int b_poll(b_waiter *w)
{
    b_set *s = w->set;
    for (int i = 0; i < s->n; i++)
        /* Acquire: pairs with the fire's release bump of seq: a snapshot that
           saw the bump also sees the token added before it. */
        w->v[i].val = atomic_load_explicit(&s->src[i].seq, memory_order_acquire);
    for (int i = 0; i < s->n; i++)
        if (b_take(&s->src[i]))
            return i;
    return -1;
}

static int b_wait(void *p)
{
    b_waiter *w = p;
    for (;;) {
        int k = b_poll(w);
        if (k >= 0)
            return k;
        fx_waitv(w->v, (unsigned)w->set->n);   /* woken, EAGAIN or EINTR: poll again */
    }
}

static void b_fire(void *p, int i)
{
    b_set *s = p;
    b_src *src = &s->src[i];
    /* Release: pairs with b_take's acquire CAS (publishes the firer's writes). */
    atomic_fetch_add_explicit(&src->tokens, 1, memory_order_release);
    /* Release: orders the token before the bump; pairs with b_poll's acquire
       snapshot. The kernel's futex ops order the bump against a sleeper's
       compare. */
    atomic_fetch_add_explicit(&src->seq, 1, memory_order_release);
    fx_wake(&src->seq, s->nwake);
}

static int b_arm_cancel(void *p)
{
    b_waiter *w = p;
    int n = w->set->n;
    if (b_poll(w) >= 0)
        return -1;              /* nothing fires in this workload */
    /* The last source "became ready" since the snapshot: the kernel queues
       on the first n - 1 words, finds the last one changed, unqueues them
       and returns EAGAIN. */
    w->v[n - 1].val += 1;
    long rc = fx_waitv(w->v, (unsigned)n);
    return rc == -1 && errno == EAGAIN ? 0 : -1;
}

static const proto_ops P_WAITV = {
    "futex_waitv", true, b_set_new, b_set_free, b_set_idle,
    b_waiter_new, free, b_wait, b_fire, b_arm_cancel,
};

/* ---- (c) mutex + condvar --------------------------------------------------- */

typedef struct c_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool signaled;                /* under mu */
    int idx;                      /* under mu: the source that signaled */
    q_waiter q;
} c_waiter;

static void *c_waiter_new(void *set)
{
    c_waiter *w = calloc(1, sizeof *w);
    if (w) {
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        w->q.set = set;
    }
    return w;
}

static void c_waiter_free(void *p)
{
    c_waiter *w = p;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void c_lock_init(q_src *src)
{
    pthread_mutex_init(&src->lock.mu, NULL);
}

static void c_lock_destroy(q_src *src)
{
    pthread_mutex_destroy(&src->lock.mu);
}

static void c_lock(q_src *src)
{
    pthread_mutex_lock(&src->lock.mu);
}

static void c_unlock(q_src *src)
{
    pthread_mutex_unlock(&src->lock.mu);
}

/* Mark w signaled by source idx under its mutex, unless it is signaled
   already (claimed, or gave up); a fire signals its condvar there too. */
static bool c_claim(void *p, int idx, bool fire)
{
    c_waiter *w = p;
    pthread_mutex_lock(&w->mu);
    bool mine = !w->signaled;
    if (mine) {
        w->signaled = true;
        w->idx = idx;
        if (fire)
            pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return mine;
}

static void c_reset(void *p)
{
    ((c_waiter *)p)->signaled = false;   /* no node linked: nobody can reach us */
}

static int c_block(void *p)
{
    c_waiter *w = p;
    pthread_mutex_lock(&w->mu);
    while (!w->signaled) {
        pthread_cond_wait(&w->cv, &w->mu);
        count_sleep();
    }
    int got = w->idx;
    pthread_mutex_unlock(&w->mu);
    return got;
}

static int c_abandon(void *p)
{
    c_waiter *w = p;
    pthread_mutex_lock(&w->mu);
    int rc = w->signaled ? -1 : 0;   /* a fire got in: nothing fires in this workload */
    w->signaled = true;              /* give up: fires pass us over */
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static const q_ops C_Q = {
    c_lock_init, c_lock_destroy, c_lock, c_unlock, c_claim, NULL, c_reset, c_block, c_abandon,
};

Q_CANDIDATE(c, C_Q)

static const proto_ops P_CONDVAR = {
    "mutex_condvar", false, c_set_new, c_set_free, q_set_idle,
    c_waiter_new, c_waiter_free, c_wait, c_fire, c_arm_cancel,
};

/* ---- cases -------------------------------------------------------------------- */

typedef struct pb_case {
    const proto_ops *ops;
    int n;                        /* sources */
    int nwake;                    /* futex_waitv: FUTEX_WAKE count of a fire */
    int cpus;                     /* round trip: 1 both threads on one CPU, 2 on two */
} pb_case;

static const int NS[] = { 1, 4, 16 };
#define NNS (sizeof NS / sizeof NS[0])
static const proto_ops *const CANDS[] = { &P_CLAIM, &P_WAITV, &P_CONDVAR };
#define NCANDS (sizeof CANDS / sizeof CANDS[0])

static pb_case RTT_CASES[2 * NNS * NCANDS];
static pb_case ARM_CASES[NNS * NCANDS];
static pb_case HERD_CASES[NCANDS + 1];
static const char *HERD_NAMES[NCANDS + 1];

static void pb_fail(_Atomic(const char *) *slot, const char *msg)
{
    const char *expected = NULL;
    /* seq_cst (the default): the first failure wins; it is read after the
       threads were joined (or, in the herd, after they settled), which
       orders it. */
    atomic_compare_exchange_strong(slot, &expected, msg);
}

static uint32_t xorshift(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545f4914f6cdd1dull) >> 32);
}

/* ---- 1: wake round trip ----------------------------------------------------- */

typedef struct rtt_run {
    const pb_case *c;
    void *set[2];                 /* [0] A's sources, [1] B's */
    void *w[2];                   /* A's waiter on set[0], B's on set[1] */
    uint64_t rounds;
    int64_t *rtt;
    _Atomic int fired[2];         /* the index last fired into set[i] */
    int cpu[2];                   /* where A and B run */
    _Atomic int pinned;           /* threads that moved to their CPU */
    tstat st[2];
    _Atomic(const char *) error;
} rtt_run;

/* Fire a random source of set[to], saying which one first. */
static void rtt_fire(rtt_run *r, int to, uint64_t *rng)
{
    int k = (int)(((uint64_t)xorshift(rng) * (uint64_t)r->c->n) >> 32);
    /* Relaxed: published to the waiter by the fire itself (a lock release,
       a release RMW or a mutex), which its wait acquires. */
    atomic_store_explicit(&r->fired[to], k, memory_order_relaxed);
    r->c->ops->fire(r->set[to], k);
}

static void rtt_check(rtt_run *r, int me, int k)
{
    /* Relaxed: ordered by the wait's acquire (see rtt_fire). */
    if (k != atomic_load_explicit(&r->fired[me], memory_order_relaxed))
        pb_fail(&r->error, "a wait returned a source other than the one fired");
}

static void rtt_worker(void *ctx, int index)
{
    rtt_run *r = ctx;
    const proto_ops *ops = r->c->ops;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(index + 1);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(r->cpu[index], &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
        pb_fail(&r->error, "pthread_setaffinity_np failed");
    /* Both threads on their CPUs before the first round. seq_cst: a plain
       count both threads read, nothing else is ordered by it. */
    atomic_fetch_add(&r->pinned, 1);
    while (atomic_load(&r->pinned) < 2)
        sched_yield();          /* the other thread may need this CPU */
    tl_stat = &r->st[index];
    if (index == 0) {
        int64_t prev = bench_now_ns();
        /* A failed check is recorded and the rounds go on: stopping one side
           early would leave the other blocked. */
        for (uint64_t i = 0; i < r->rounds; i++) {
            rtt_fire(r, 1, &rng);
            rtt_check(r, 0, ops->wait(r->w[0]));
            int64_t now = bench_now_ns();
            r->rtt[i] = now - prev;
            prev = now;
        }
    } else {
        for (uint64_t i = 0; i < r->rounds; i++) {
            rtt_check(r, 1, ops->wait(r->w[1]));
            rtt_fire(r, 0, &rng);
        }
    }
    tl_stat = NULL;
}

/* The first `want` CPUs this process may run on, into cpu[0] and cpu[1]
   (the same one twice when want is 1). False if there are fewer. */
static bool pick_cpus(int want, int cpu[2])
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return false;
    int got = 0;
    for (int i = 0; i < CPU_SETSIZE && got < want; i++)
        if (CPU_ISSET(i, &set))
            cpu[got++] = i;
    if (got < want)
        return false;
    if (want == 1)
        cpu[1] = cpu[0];
    return true;
}

static void rtt_body(const void *arg, bench_result *out)
{
    const pb_case *c = arg;
    rtt_run *r = aligned_alloc(64, (sizeof(rtt_run) + 63) / 64 * 64);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    memset(r, 0, sizeof *r);
    r->c = c;
    if (!pick_cpus(c->cpus, r->cpu)) {
        out->error = "sched_getaffinity: not enough CPUs";
        free(r);
        return;
    }
    r->rounds = bench_rtt_rounds() / 20;
    if (r->rounds < 10)
        r->rounds = 10;
    r->rtt = calloc(r->rounds, sizeof *r->rtt);
    for (int i = 0; i < 2; i++)
        if ((r->set[i] = c->ops->set_new(c->n, 1)) != NULL)
            r->w[i] = c->ops->waiter_new(r->set[i]);
    if (r->rtt == NULL || r->w[0] == NULL || r->w[1] == NULL) {
        out->error = "out of memory";
        goto done;
    }
    if (bench_run_threads(2, rtt_worker, r, out) != 0)
        goto done;
    /* seq_cst; the join in bench_run_threads orders it anyway. */
    if ((out->error = atomic_load(&r->error)) != NULL)
        goto done;
    if (!c->ops->set_idle(r->set[0]) || !c->ops->set_idle(r->set[1])) {
        out->error = "a token or a node was left behind";
        goto done;
    }
    double rounds = (double)r->rounds;
    bench_sort_i64(r->rtt, r->rounds);
    bench_counter_add(out, "rtt_p50_ns", bench_quantile_sorted(r->rtt, r->rounds, 0.50));
    bench_counter_add(out, "rtt_p99_ns", bench_quantile_sorted(r->rtt, r->rounds, 0.99));
    bench_counter_add(out, "rtt_mean_ns", out->seconds * 1e9 / rounds);
    bench_counter_add(out, "cpu_ns_per_rtt", out->cpu_seconds * 1e9 / rounds);
    bench_counter_add(out, "sleeps_per_rtt",
                      (double)(stat_read(&r->st[0].sleeps) + stat_read(&r->st[1].sleeps)) / rounds);
    if (c->ops->counts_syscalls)
        bench_counter_add(out, "futex_calls_per_rtt",
                          (double)(stat_read(&r->st[0].syscalls) +
                                   stat_read(&r->st[1].syscalls)) / rounds);
done:
    for (int i = 0; i < 2; i++) {
        if (r->w[i])
            c->ops->waiter_free(r->w[i]);
        if (r->set[i])
            c->ops->set_free(r->set[i]);
    }
    free(r->rtt);
    free(r);
}

/* ---- 2: register + cancel ------------------------------------------------------ */

typedef struct arm_run {
    const pb_case *c;
    void *w;
    uint64_t ops;
    tstat st;
    _Atomic(const char *) error;
} arm_run;

static void arm_worker(void *ctx, int index)
{
    (void)index;
    arm_run *r = ctx;
    int (*arm_cancel)(void *) = r->c->ops->arm_cancel;
    tl_stat = &r->st;
    for (uint64_t i = 0; i < r->ops; i++)
        if (arm_cancel(r->w) != 0) {
            pb_fail(&r->error, "register + cancel had an unexpected outcome");
            break;
        }
    tl_stat = NULL;
}

static void arm_body(const void *arg, bench_result *out)
{
    const pb_case *c = arg;
    arm_run *r = aligned_alloc(64, (sizeof(arm_run) + 63) / 64 * 64);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    memset(r, 0, sizeof *r);
    r->c = c;
    r->ops = bench_sync_slow_ops() / 4;
    if (r->ops < 10)
        r->ops = 10;
    void *set = c->ops->set_new(c->n, 1);
    if (set)
        r->w = c->ops->waiter_new(set);
    if (r->w == NULL) {
        out->error = "out of memory";
        goto done;
    }
    if (bench_run_threads(1, arm_worker, r, out) != 0)
        goto done;
    /* seq_cst; the join in bench_run_threads orders it anyway. */
    if ((out->error = atomic_load(&r->error)) != NULL)
        goto done;
    if (!c->ops->set_idle(set)) {
        out->error = "a token or a node was left behind";
        goto done;
    }
    bench_counter_add(out, "ns_per_op", out->seconds * 1e9 / (double)r->ops);
    if (c->ops->counts_syscalls)
        bench_counter_add(out, "futex_calls_per_op",
                          (double)stat_read(&r->st.syscalls) / (double)r->ops);
done:
    if (r->w)
        c->ops->waiter_free(r->w);
    if (set)
        c->ops->set_free(set);
    free(r);
}

/* ---- 3: herd ------------------------------------------------------------------ */

typedef struct herd_run herd_run;

typedef struct herd_waiter {
    herd_run *r;
    int index;
} herd_waiter;

struct herd_run {
    const pb_case *c;
    void *set;
    void *w[HERD_WAITERS];
    pthread_t th[HERD_WAITERS];
    clockid_t cpu[HERD_WAITERS];
    pid_t tids[HERD_WAITERS];     /* written before `started` is bumped */
    herd_waiter hw[HERD_WAITERS];
    tstat st[HERD_WAITERS + 1];   /* the waiters', then the firer's */
    _Atomic uint32_t started;
    _Atomic uint32_t proceeded;   /* events taken */
    _Atomic int64_t proceed_ns;   /* when the last taker returned from its wait */
    _Atomic bool stop;
    _Atomic uint32_t exited;
    _Atomic(const char *) error;
};

static void *herd_main(void *p)
{
    herd_waiter *hw = p;
    herd_run *r = hw->r;
    const proto_ops *ops = r->c->ops;
    void *w = r->w[hw->index];
    tl_stat = &r->st[hw->index];
    r->tids[hw->index] = (pid_t)syscall(SYS_gettid);
    /* Release: publishes tids[index] to the body's acquire load. */
    atomic_fetch_add_explicit(&r->started, 1, memory_order_release);
    for (;;) {
        int k = ops->wait(w);
        /* Acquire: pairs with the body's release store of stop, made before
           the shutdown fires. */
        if (atomic_load_explicit(&r->stop, memory_order_acquire))
            break;
        int64_t now = bench_now_ns();
        if (k != 0)
            pb_fail(&r->error, "a herd wait returned a source that does not exist");
        /* Relaxed: published by the release increment below. */
        atomic_store_explicit(&r->proceed_ns, now, memory_order_relaxed);
        /* Release: pairs with the body's acquire load of proceeded. */
        atomic_fetch_add_explicit(&r->proceeded, 1, memory_order_release);
    }
    tl_stat = NULL;
    /* Release: the body joins after seeing every exit. */
    atomic_fetch_add_explicit(&r->exited, 1, memory_order_release);
    return NULL;
}

/* Two consecutive sweeps that find every waiter asleep in the kernel (as
   sync_bench.c's fan_settle). False after 10 s. */
static bool herd_settle(herd_run *r)
{
    return bench_all_asleep(r->tids, HERD_WAITERS, bench_now_ns() + 10 * INT64_C(1000000000),
                            100000);
}

static int64_t herd_cpu(herd_run *r)
{
    int64_t sum = 0;
    for (int i = 0; i < HERD_WAITERS; i++) {
        struct timespec ts;
        if (clock_gettime(r->cpu[i], &ts) == 0)
            sum += (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    return sum;
}

static void herd_stats(herd_run *r, uint64_t *sys, uint64_t *sleeps)
{
    *sys = *sleeps = 0;
    for (int i = 0; i <= HERD_WAITERS; i++) {
        *sys += stat_read(&r->st[i].syscalls);
        if (i < HERD_WAITERS)
            *sleeps += stat_read(&r->st[i].sleeps);
    }
}

static void herd_body(const void *arg, bench_result *out)
{
    const pb_case *c = arg;
    const proto_ops *ops = c->ops;
    herd_run *r = aligned_alloc(64, (sizeof(herd_run) + 63) / 64 * 64);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    memset(r, 0, sizeof *r);
    r->c = c;
    uint64_t rounds = bench_cancel_rounds() * 10;
    int64_t *lat = calloc(rounds, sizeof *lat);
    int64_t *cpu = calloc(rounds, sizeof *cpu);
    int created = 0;
    bool stuck = false;
    r->set = ops->set_new(1, c->nwake);
    for (int i = 0; r->set && i < HERD_WAITERS; i++)
        if ((r->w[i] = ops->waiter_new(r->set)) == NULL)
            break;
    if (lat == NULL || cpu == NULL || r->set == NULL || r->w[HERD_WAITERS - 1] == NULL) {
        out->error = "out of memory";
        goto done;
    }

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (; created < HERD_WAITERS; created++) {
        r->hw[created] = (herd_waiter){ r, created };
        if (pthread_create(&r->th[created], &attr, herd_main, &r->hw[created]) != 0)
            break;
        if (pthread_getcpuclockid(r->th[created], &r->cpu[created]) != 0)
            r->cpu[created] = CLOCK_THREAD_CPUTIME_ID;   /* never: reads our own */
    }
    pthread_attr_destroy(&attr);
    if (created < HERD_WAITERS) {
        out->error = "pthread_create failed for a herd waiter";
        goto shutdown;
    }
    /* Acquire: pairs with each waiter's release increment (tids). */
    while (atomic_load_explicit(&r->started, memory_order_acquire) < HERD_WAITERS)
        bench_sleep_ns(100000);
    if (!herd_settle(r)) {
        out->error = "herd: the waiters did not all fall asleep within 10 s";
        goto shutdown;
    }

    tl_stat = &r->st[HERD_WAITERS];
    double total_lat = 0, total_cpu = 0, total_sys = 0, total_woken = 0;
    for (uint64_t round = 1; round <= rounds; round++) {
        uint64_t s0, k0, s1, k1;
        herd_stats(r, &s0, &k0);
        int64_t c0 = herd_cpu(r);
        int64_t f0 = bench_thread_cpu_ns();
        int64_t t0 = bench_now_ns();
        ops->fire(r->set, 0);
        int64_t f1 = bench_thread_cpu_ns();
        int64_t give_up = bench_now_ns() + 10 * INT64_C(1000000000);
        /* Acquire: pairs with the taker's release increment (proceed_ns). */
        while (atomic_load_explicit(&r->proceeded, memory_order_acquire) < round) {
            if (bench_now_ns() > give_up) {
                out->error = "herd: a fire woke nobody within 10 s (a lost wakeup)";
                break;
            }
            bench_sleep_ns(50000);
        }
        if (out->error)
            break;
        /* Relaxed: ordered by the acquire load above. */
        int64_t t1 = atomic_load_explicit(&r->proceed_ns, memory_order_relaxed);
        if (!herd_settle(r)) {
            out->error = "herd: the waiters did not all fall asleep again within 10 s";
            break;
        }
        int64_t c1 = herd_cpu(r);
        herd_stats(r, &s1, &k1);
        /* Acquire: as above; a second taker would have counted by now (it
           proceeds before it can fall asleep again). */
        if (atomic_load_explicit(&r->proceeded, memory_order_acquire) != round) {
            out->error = "herd: one fire let more than one waiter through";
            break;
        }
        lat[round - 1] = t1 - t0;
        cpu[round - 1] = (c1 - c0) + (f1 - f0);
        total_lat += (double)(t1 - t0);
        total_cpu += (double)cpu[round - 1];
        total_sys += (double)(s1 - s0);
        total_woken += (double)(k1 - k0);
    }
    tl_stat = NULL;
    /* seq_cst: a waiter's failure is recorded before it proceeds, which the
       acquire loads of proceeded above ordered before this. */
    if (out->error == NULL && (out->error = atomic_load(&r->error)) == NULL) {
        double n = (double)rounds;
        out->seconds = total_lat * 1e-9;
        out->cpu_seconds = total_cpu * 1e-9;
        bench_sort_i64(lat, rounds);
        bench_counter_add(out, "wake_p50_ns", bench_quantile_sorted(lat, rounds, 0.50));
        bench_counter_add(out, "wake_p99_ns", bench_quantile_sorted(lat, rounds, 0.99));
        bench_counter_add(out, "wake_mean_ns", total_lat / n);
        bench_counter_add(out, "cpu_ns_per_fire", total_cpu / n);
        bench_sort_i64(cpu, rounds);
        bench_counter_add(out, "cpu_p50_ns_per_fire", bench_quantile_sorted(cpu, rounds, 0.50));
        bench_counter_add(out, "woken_per_fire", total_woken / n);
        if (ops->counts_syscalls)
            bench_counter_add(out, "futex_calls_per_fire", total_sys / n);
    }

shutdown:
    /* Release: pairs with the waiters' acquire load of stop. Then fire until
       every waiter took an event and left (extra tokens are harmless). */
    atomic_store_explicit(&r->stop, true, memory_order_release);
    {
        int64_t give_up = bench_now_ns() + 10 * INT64_C(1000000000);
        /* Acquire: pairs with each waiter's release increment on exit. */
        while (atomic_load_explicit(&r->exited, memory_order_acquire) < (uint32_t)created) {
            if (bench_now_ns() > give_up) {
                /* Threads still blocked: their memory must stay. */
                out->error = "herd: waiters did not exit within 10 s";
                stuck = true;
                break;
            }
            ops->fire(r->set, 0);
            bench_sleep_ns(100000);
        }
    }
    for (int i = 0; !stuck && i < created; i++)
        pthread_join(r->th[i], NULL);
done:
    if (stuck)
        return;
    for (int i = 0; i < HERD_WAITERS; i++)
        if (r->w[i])
            ops->waiter_free(r->w[i]);
    if (r->set)
        ops->set_free(r->set);
    free(lat);
    free(cpu);
    free(r);
}

/* ---- registration ------------------------------------------------------------ */

void protocol_bench_register(void)
{
    bool waitv = have_waitv();
    int cpu[2];
    bool two = pick_cpus(2, cpu);
    char name[128];
    size_t k = 0;
    for (int cpus = 1; cpus <= 2; cpus++)
        for (size_t i = 0; i < NNS; i++)
            for (size_t j = 0; j < NCANDS; j++, k++) {
                if ((CANDS[j] == &P_WAITV && !waitv) || (cpus == 2 && !two))
                    continue;
                RTT_CASES[k] = (pb_case){ CANDS[j], NS[i], 1, cpus };
                snprintf(name, sizeof name, "protocol/rtt_%dcpu_n%d/%s", cpus, NS[i],
                         CANDS[j]->name);
                bench_register(name, rtt_body, &RTT_CASES[k]);
            }
    k = 0;
    for (size_t i = 0; i < NNS; i++)
        for (size_t j = 0; j < NCANDS; j++, k++) {
            if (CANDS[j] == &P_WAITV && !waitv)
                continue;
            ARM_CASES[k] = (pb_case){ CANDS[j], NS[i], 1, 0 };
            snprintf(name, sizeof name, "protocol/arm_cancel_n%d/%s", NS[i], CANDS[j]->name);
            bench_register(name, arm_body, &ARM_CASES[k]);
        }
    HERD_CASES[0] = (pb_case){ &P_CLAIM, 1, 1, 0 };
    HERD_NAMES[0] = "claim_parker";
    HERD_CASES[1] = (pb_case){ &P_WAITV, 1, 1, 0 };
    HERD_NAMES[1] = "futex_waitv_wake1";
    HERD_CASES[2] = (pb_case){ &P_WAITV, 1, INT_MAX, 0 };
    HERD_NAMES[2] = "futex_waitv_wakeall";
    HERD_CASES[3] = (pb_case){ &P_CONDVAR, 1, 1, 0 };
    HERD_NAMES[3] = "mutex_condvar";
    for (size_t i = 0; i < NCANDS + 1; i++) {
        if (HERD_CASES[i].ops == &P_WAITV && !waitv)
            continue;
        snprintf(name, sizeof name, "protocol/herd16/%s", HERD_NAMES[i]);
        bench_register(name, herd_body, &HERD_CASES[i]);
    }
}
