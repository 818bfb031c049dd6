/* chan/select.c — weft_select: the first of several channel operations.
 *
 * Protocol (Go's select with crossbeam's abort-and-retry instead of Go's
 * lock-all-channels step, so that no two channels are ever locked at once):
 *
 *  1. Poll. Visit the enabled cases in a fresh random order and try each
 *     without blocking (a buffered try; an unbuffered partner under that
 *     channel's lock). The first that completes (or finds its channel
 *     closed) is the result. Random order gives each ready case an equal
 *     chance.
 *  2. Register. One waiter record for the call and one node per enabled
 *     case, linked into each channel's queue for the case's direction, one
 *     channel lock at a time. On an unbuffered channel, a partner that
 *     arrived after the poll, or a close, is completed on the spot: the
 *     selector first claims *itself* (so no other channel can complete it
 *     meanwhile) and then claims the partner; if the partner vanished
 *     between the two, the self-claim is spent and the call restarts at 1.
 *  3. Re-check. For every buffered case, ask the ring whether the
 *     operation would now complete (ring_can_pop/push, which commit
 *     nothing); for every unbuffered one, whether a partner posted itself
 *     in the channel's slot (chan/unbuf.c). If one would, abandon the
 *     waiter (CAS OPEN→ABANDONED), withdraw and restart at 1: the poll will
 *     take it. The re-check after registering is what closes the
 *     lost-wakeup window (the Dekker pairs of chan/chan.c and chan/unbuf.c).
 *  4. Park until claimed or the deadline. On the deadline, abandon; if the
 *     abandon loses to a claim, the claim wins.
 *  5. Claimed for case k: withdraw the other nodes. If k's channel is
 *     unbuffered, the claimer already moved the value (or reported close):
 *     return k. If it is buffered, the claim is a wake-up: try case k; if it
 *     completes return k, else another thread took that value first (it also
 *     took the wake-up's obligation) and the call restarts at 1.
 *
 * Why this waiter protocol (measured in isolation by bench/protocol_bench.c;
 * RESULTS.md, "Waiter protocol candidates"). The alternatives were Go's
 * per-channel queues of goroutine records woken through a mutex+condvar
 * per thread, and futex_waitv on one word per channel. On one CPU, where a
 * wake is a context switch and the protocol's own cost shows, claim+parker
 * had the lowest round trip at 1, 4 and 16 channels (1.38-1.98 us against
 * 1.48-3.57 us for futex_waitv and 4.35-5.47 us for mutex+condvar): the
 * waker skips FUTEX_WAKE when the waiter has not gone to sleep yet, and the
 * kernel never walks N words. futex_waitv also pays a syscall for every
 * register-and-cancel (5-6x the cost here, where registration is a few
 * locked list operations), and a word shared by many waiters needs a
 * wake-all (16 threads woken for one event: 3-8x the CPU, run to run) or a
 * pass-on protocol of its own. Across CPUs, the VM's ~50-70 us wake hides
 * every difference.
 *
 * Never taking a value for a case that is not returned: every committing
 * step (a poll in 1, the spot completion in 2, the retry in 5) happens while
 * the waiter is either unregistered, abandoned, or claimed by this very step;
 * a claim by a channel is exclusive (one CAS wins), and only unbuffered
 * claims move data.
 */
#include "chan/chan_internal.h"

#include <stdlib.h>

#include <weft/select.h>

static weft_spin g_select_spin = WEFT_SPIN_INIT;

/* Per-thread xorshift64* for the poll order: fast, and no shared state. */
static uint32_t select_rand(void)
{
    static _Thread_local uint64_t s;
    if (!s)
        s = (uint64_t)(uintptr_t)&s ^ (uint64_t)weft_now() ^ 0x9e3779b97f4a7c15ull;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return (uint32_t)((s * 0x2545f4914f6cdd1dull) >> 32);
}

static void shuffle(uint32_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(((uint64_t)select_rand() * (i + 1)) >> 32);
        order[i] = order[j];
        order[j] = (uint32_t)i;
    }
}

static inline bool case_send(const weft_case *cs)
{
    return cs->dir == WEFT_SEND;
}

/* 1: one pass over the cases in random order. The index, or -1. With
   `versions`, the pass is made atomic, as Go's lock-all-channels poll is:
   each channel's version is read before its try, and a pass that found
   nothing counts only if no version changed by its end — then every case
   was not ready at that one instant. Otherwise something happened on one
   of the channels meanwhile (someone progressed), and the pass is redone.
   Without this, a poll could miss a value that moved from a channel it had
   not yet looked at to one it had already passed (Go's
   TestNonblockSelectRace). A buffered try that gave up on a stalled peer
   (see chan_settled) does not count as "not ready" either. A select that may still block does not need
   it: its register-and-recheck step covers the same window. */
static int poll_cases(weft_case *cases, uint32_t *order, size_t n, uint64_t *versions)
{
    for (;;) {
        shuffle(order, n);
        for (size_t j = 0; j < n; j++) {
            weft_case *cs = &cases[order[j]];
            if (!cs->chan)
                continue;
            if (versions)
                versions[order[j]] = chan_version(cs->chan);
            int rc = weft__chan_op(cs->chan, case_send(cs), cs->elem, WEFT_NOWAIT);
            if (rc != WEFT_EAGAIN) {
                cs->ok = rc == 0;
                return (int)order[j];
            }
        }
        bool stable = true;
        for (size_t i = 0; versions && i < n && stable; i++)
            stable = !cases[i].chan || (chan_version(cases[i].chan) == versions[i] &&
                                        chan_settled(cases[i].chan, case_send(&cases[i])));
        if (stable)
            return -1;
    }
}

static void withdraw(weft_case *cases, weft_wnode *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        weft_chan *c = cases[i].chan;
        if (!c)
            continue;
        weft_lock_acquire(&c->lock);
        wq_remove(chan_queue(c, case_send(&cases[i])), &nodes[i]);
        weft_lock_release(&c->lock);
    }
}

enum { REG_OK = -1, REG_CLAIMED = -2, REG_RESTART = -3 };

/* 2, for one case, channel lock held. REG_OK (queued), REG_CLAIMED (someone
   claimed us first), REG_RESTART, or the index of a case completed here. */
static int register_case(weft_case *cases, size_t i, weft_waiter *w, weft_wnode *node,
                         weft_waiter **unpark)
{
    weft_case *cs = &cases[i];
    weft_chan *c = cs->chan;
    bool send = case_send(cs);
    if (c->cap == 0 && (c->closed || wq_has_open(chan_queue(c, !send), w))) {
        uint32_t open = WAITER_OPEN;
        /* acq_rel: as wq_claim's CAS, applied to ourselves. */
        if (!atomic_compare_exchange_strong_explicit(&w->claim, &open, WAITER_CLAIMED + (uint32_t)i,
                                                     memory_order_acq_rel, memory_order_acquire))
            return REG_CLAIMED;
        if (c->closed) {
            cs->ok = false;
            return (int)i;
        }
        weft_wnode *p = wq_claim(chan_queue(c, !send), w, true);
        if (!p)
            return REG_RESTART;
        *unpark = weft__unbuf_transfer(c, send, cs->elem, p);
        cs->ok = true;
        return (int)i;
    }
    wnode_init(node, w, cs->elem, (uint32_t)i);
    wq_enqueue(chan_queue(c, send), node);
    return REG_OK;
}

/* 3: would any case complete now? Called registered. Buffered cases: the
   heavy half of the Dekker pair (lockfree/fence.h) comes first, if there is
   a buffered case at all. Unbuffered cases: a partner posted in the slot
   (chan/unbuf.c) that may not have seen our node; queued partners were
   handled under the lock by register_case. */
static bool ready_after_register(weft_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        weft_chan *c = cases[i].chan;
        if (c && !c->cap && weft__unbuf_posted(c, case_send(&cases[i])))
            return true;
    }
    bool fenced = false;
    for (size_t i = 0; i < n; i++) {
        weft_chan *c = cases[i].chan;
        if (c && c->cap && !fenced) {
            weft__fence_heavy();
            fenced = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        weft_chan *c = cases[i].chan;
        if (c && c->cap &&
            (case_send(&cases[i]) ? ring_can_push(&c->ring) : ring_can_pop(&c->ring)))
            return true;
    }
    return false;
}

/* 1 repeated while the spin policy allows: registering costs two lock
   round trips per channel, so a value that arrives within a few
   microseconds is worth waiting for on the CPU. */
static int poll_spin(weft_case *cases, uint32_t *order, size_t n)
{
    uint32_t budget = weft_spin_enter(&g_select_spin), i = 0, step = 0;
    int k = -1;
    if (budget) {
        while (i < budget && (k = poll_cases(cases, order, n, NULL)) < 0)
            i += (uint32_t)n + weft__backoff(&step);
        weft_spin_leave(&g_select_spin, i, k >= 0);
    }
    return k;
}

static int select_loop(weft_case *cases, size_t n, int64_t deadline, uint32_t *order,
                       weft_wnode *nodes, uint64_t *versions)
{
    for (bool first = true;; first = false) {
        /* A poll that may be the last one (the deadline has passed) must be
           atomic: "nothing ready" is then the answer. */
        bool last = weft__deadline_passed(deadline);
        int k = poll_cases(cases, order, n, last ? versions : NULL);
        if (k >= 0)
            return k;
        if (last)
            return weft__expired(deadline);
        if (first && (k = poll_spin(cases, order, n)) >= 0)
            return k;

        weft_waiter w;
        waiter_init(&w);
        for (size_t i = 0; i < n; i++)
            wnode_init(&nodes[i], &w, NULL, (uint32_t)i);

        int reg = REG_OK;
        for (size_t j = 0; j < n && reg == REG_OK; j++) {
            size_t i = order[j];
            if (!cases[i].chan)
                continue;
            weft_waiter *unpark = NULL;
            weft_lock_acquire(&cases[i].chan->lock);
            reg = register_case(cases, i, &w, &nodes[i], &unpark);
            weft_lock_release(&cases[i].chan->lock);
            if (unpark)
                weft_parker_unpark(&unpark->park);
        }
        if (reg >= 0 || reg == REG_RESTART) {
            withdraw(cases, nodes, n);
            if (reg >= 0)
                return reg;
            continue;
        }

        if (reg == REG_OK) {
            WEFT_INJECT(); /* registered everywhere, not yet re-checked */
            int pr;
            if (ready_after_register(cases, n))
                pr = WEFT_EAGAIN; /* abandon and poll again */
            else
                pr = weft_parker_wait(&w.park, deadline, 0);
            if (pr != 0 && waiter_abandon(&w)) {
                withdraw(cases, nodes, n);
                if (pr == WEFT_EAGAIN)
                    continue;
                return pr; /* WEFT_ETIMEDOUT */
            }
        }
        /* Claimed: wait for the claimer to finish with our buffers. */
        weft_parker_wait(&w.park, WEFT_FOREVER, 0);
        withdraw(cases, nodes, n);
        k = (int)(atomic_load_explicit(&w.claim, memory_order_acquire) - WAITER_CLAIMED);
        weft_case *cs = &cases[k];
        if (cs->chan->cap == 0) {
            cs->ok = w.ok;
            return k;
        }
        int rc = weft__chan_op(cs->chan, case_send(cs), cs->elem, WEFT_NOWAIT);
        if (rc != WEFT_EAGAIN) {
            cs->ok = rc == 0;
            return k;
        }
    }
}

WEFT_API int weft_select(weft_case *cases, size_t n, int64_t deadline)
{
    if (!cases && n)
        return WEFT_EINVAL;
    size_t enabled = 0;
    for (size_t i = 0; i < n; i++) {
        weft_case *cs = &cases[i];
        if (!cs->chan)
            continue;
        if (cs->dir != WEFT_RECV && cs->dir != WEFT_SEND)
            return WEFT_EINVAL;
        if (cs->dir == WEFT_SEND && !cs->elem && cs->chan->elem_size)
            return WEFT_EINVAL;
        cs->ok = false;
        enabled++;
    }
    if (!enabled) {
        if (deadline == WEFT_FOREVER)
            return WEFT_EINVAL;
        weft_parker p = WEFT_PARKER_INIT; /* nobody unparks it: sleeps to the deadline */
        return weft_parker_wait(&p, deadline, 0);
    }

    enum { SMALL = 8 };
    uint32_t order_small[SMALL];
    weft_wnode nodes_small[SMALL];
    uint64_t versions_small[SMALL];
    uint32_t *order = order_small;
    weft_wnode *nodes = nodes_small;
    uint64_t *versions = versions_small;
    if (n > SMALL) {
        order = malloc(n * sizeof *order);
        nodes = malloc(n * sizeof *nodes);
        versions = malloc(n * sizeof *versions);
        if (!order || !nodes || !versions) {
            free(order);
            free(nodes);
            free(versions);
            return WEFT_ENOMEM;
        }
    }
    int rc = select_loop(cases, n, deadline, order, nodes, versions);
    if (n > SMALL) {
        free(order);
        free(nodes);
        free(versions);
    }
    return rc;
}
