/* select_bench.c — select workloads, run on weft and on the mutex baseline.
 *
 * Written once against chan_impl's select (chan_impl.h), so weft_select and
 * the baseline's mutex_chan_select (one condvar per selector, registered on
 * every channel it waits on) run exactly the same code. 8-byte messages,
 * four channels of capacity 1024:
 *
 *   select/4to1_cap1024   4 producers, each sending (plain send) on its own
 *                         channel and closing it when done; 1 consumer
 *                         selecting RECV over the 4 until all 4 report
 *                         closed (a case that fires closed is disabled, as
 *                         a Go loop sets the channel to nil)
 *   select/4x4_cap1024    4 senders, each selecting SEND of its next value
 *                         over the 4 channels; 4 receivers selecting RECV
 *                         over the same 4. The last sender to finish closes
 *                         all 4; receivers run until all 4 report closed
 *
 * The select issue asks for both at >= 1.5x Go's rate; the Go peer is not
 * in the harness yet, so RESULTS.md shows weft against the mutex baseline
 * (and a place for Go).
 *
 * Checks, as the channel workloads: every message is (producer << 40 |
 * sequence); each receiver checks that, per channel, the values of each
 * producer arrive in increasing order (a channel is FIFO and one producer's
 * sends on it are ordered, even when a select spreads them over several
 * channels); the run checks the count and sum of everything received. A
 * send case that fires "closed", a select error, or a lost or duplicated
 * message fails the benchmark.
 *
 * Timed region: bench_run_threads (start gate released → the last receiver
 * saw every channel closed and drained). Thread creation is outside it.
 */
#include "bench.h"
#include "chan_impl.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NCHANS 4
#define MAX_PRODUCERS 4

typedef struct sel_workload {
    const char *name;
    int producers, consumers;
    bool select_send;           /* producers select over all channels */
    size_t cap;
} sel_workload;

static const sel_workload SEL_WORKLOADS[] = {
    { "4to1_cap1024", 4, 1, false, 1024 },
    { "4x4_cap1024",  4, 4, true,  1024 },
};
#define NSEL (sizeof SEL_WORKLOADS / sizeof SEL_WORKLOADS[0])

typedef struct sel_case {
    const sel_workload *w;
    const chan_impl *impl;
} sel_case;

static sel_case SEL_CASES[NSEL * CHAN_NIMPLS];

typedef struct sel_run {
    const sel_workload *w;
    const chan_impl *impl;
    void *chans[NCHANS];
    uint64_t per_producer;
    _Atomic int producers_left;
    _Atomic uint64_t received;
    _Atomic uint64_t sum;
    _Atomic(const char *) error;
} sel_run;

static void sel_fail(sel_run *r, const char *msg)
{
    const char *expected = NULL;
    atomic_compare_exchange_strong(&r->error, &expected, msg);
}

static void close_all(sel_run *r)
{
    for (int i = 0; i < NCHANS; i++)
        r->impl->close(r->chans[i]);    /* ECLOSED if already closed: fine */
}

static void sel_producer(sel_run *r, int p)
{
    const chan_impl *impl = r->impl;
    uint64_t n = r->per_producer;
    uint64_t v;
    if (!r->w->select_send) {
        /* 4to1: one channel per producer, plain sends, close our own. */
        void *c = r->chans[p];
        for (uint64_t i = 0; i < n; i++) {
            v = TAG(p, i);
            if (impl->send(c, &v) != 0) {
                sel_fail(r, "send failed");
                break;
            }
        }
        if (impl->close(c) != 0)
            sel_fail(r, "close failed");
        return;
    }
    chan_case cs[NCHANS];
    for (int i = 0; i < NCHANS; i++)
        cs[i] = (chan_case){ .chan = r->chans[i], .dir = CHAN_SEND, .elem = &v, .ok = false };
    for (uint64_t i = 0; i < n; i++) {
        v = TAG(p, i);
        int k = impl->select(cs, NCHANS);
        if (k < 0 || k >= NCHANS) {
            sel_fail(r, "select (send) failed");
            break;
        }
        if (!cs[k].ok) {
            sel_fail(r, "select send case fired on a closed channel");
            break;
        }
    }
    /* The last sender closes every channel: receivers drain, then stop. */
    if (atomic_fetch_sub(&r->producers_left, 1) == 1)
        close_all(r);
}

static void sel_consumer(sel_run *r)
{
    const chan_impl *impl = r->impl;
    uint64_t v = 0;
    uint64_t next[NCHANS][MAX_PRODUCERS];   /* per channel, per producer */
    memset(next, 0, sizeof next);
    uint64_t count = 0, sum = 0;
    bool order_ok = true;
    chan_case cs[NCHANS];
    for (int i = 0; i < NCHANS; i++)
        cs[i] = (chan_case){ .chan = r->chans[i], .dir = CHAN_RECV, .elem = &v, .ok = false };
    int open = NCHANS;
    while (open > 0) {
        int k = impl->select(cs, NCHANS);
        if (k < 0 || k >= NCHANS) {
            sel_fail(r, "select (receive) failed");
            close_all(r);       /* unblock everyone */
            break;
        }
        if (!cs[k].ok) {        /* closed and drained: Go's `ch = nil` */
            cs[k].chan = NULL;
            open--;
            continue;
        }
        order_ok &= tag_in_order(next[k], MAX_PRODUCERS, v);
        count++;
        sum += v;
    }
    if (!order_ok)
        sel_fail(r, "values from one producer arrived out of order on a channel");
    atomic_fetch_add(&r->received, count);
    atomic_fetch_add(&r->sum, sum);
}

static void sel_worker(void *ctx, int index)
{
    sel_run *r = ctx;
    if (index < r->w->producers)
        sel_producer(r, index);
    else
        sel_consumer(r);
}

static void select_body(const void *arg, bench_result *out)
{
    const sel_case *sc = arg;
    const sel_workload *w = sc->w;
    sel_run r;
    memset(&r, 0, sizeof r);
    r.w = w;
    r.impl = sc->impl;
    r.per_producer = bench_select_msgs() / (uint64_t)w->producers;
    if (r.per_producer == 0)
        r.per_producer = 1;
    uint64_t total = r.per_producer * (uint64_t)w->producers;
    atomic_init(&r.producers_left, w->producers);
    int made = 0;
    for (; made < NCHANS; made++)
        if ((r.chans[made] = sc->impl->make(sizeof(uint64_t), w->cap)) == NULL)
            break;
    if (made == NCHANS)
        bench_run_threads(w->producers + w->consumers, sel_worker, &r, out);
    else
        out->error = "channel creation failed";
    for (int i = 0; i < made; i++)
        sc->impl->destroy(r.chans[i]);
    if (out->error != NULL)
        return;
    out->items = (double)total;
    const char *err = atomic_load(&r.error);
    if (err != NULL)
        out->error = err;
    else if (atomic_load(&r.received) != total)
        out->error = "messages lost or duplicated (count)";
    else if (atomic_load(&r.sum) != bench_tagged_sum(w->producers, r.per_producer))
        out->error = "messages lost or duplicated (checksum)";
}

void select_bench_register(void)
{
    size_t k = 0;
    for (size_t i = 0; i < NSEL; i++) {
        for (size_t j = 0; j < CHAN_NIMPLS; j++) {
            sel_case *sc = &SEL_CASES[k++];
            sc->w = &SEL_WORKLOADS[i];
            sc->impl = CHAN_IMPLS[j];
            char name[128];
            snprintf(name, sizeof name, "select/%s/%s", sc->w->name, sc->impl->name);
            bench_register(name, select_body, sc);
        }
    }
}
