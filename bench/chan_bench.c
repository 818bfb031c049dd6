/* chan_bench.c — channel workloads, run on weft, on the mutex baseline and
 * on the peers (ck_ring, liburcu's wfcqueue: bench/peers/).
 *
 * Every workload body is written once against a small vtable (chan_impl.h),
 * so weft, the mutex+condvar baseline and the peers run exactly the same
 * code; the indirect call costs all the same. A peer is not registered for
 * a workload it cannot run (chan_impl.flags, impl_runs below).
 *
 * Workloads (8-byte messages unless the name says 256B):
 *   seq             one thread fills the channel (cap 1024) then drains it
 *   PxC_capK        P producers, C consumers, capacity K: producers send
 *                   their share, the last one to finish closes the channel,
 *                   consumers receive until the channel reports closed
 *   ..._batch64     the same with send_many / recv_many batches of 64
 *   pingpong_cap0   two threads, two unbuffered channels: ping, then pong;
 *                   the pinger timestamps every round trip (median, p99)
 *   scale/PxP_cap1024  P producers and P consumers for P = 1..16 (2..32
 *                   threads), bench_scale_msgs() messages, 3 repetitions,
 *                   weft and the baseline only: throughput against threads
 *
 * Every channel workload also reports peak_rss_kib: VmHWM after the run,
 * reset (/proc/self/clear_refs) just before the channel is made;
 * peak_rss_reset is 0 if the reset failed (the process's peak so far).
 *
 * Every message carries (producer << 40 | sequence). Each consumer checks
 * that the values from each producer arrive in increasing order, and the run
 * checks that the count and the sum of everything received are exactly what
 * was sent: a lost or duplicated message fails the benchmark (so the quick
 * mode is also a smoke test of the channel). The check costs both
 * implementations the same few instructions per message.
 *
 * Timed region: see bench_run_threads (bench_util.c) — from the release of
 * the start gate to the end of the last worker, which for a consumer is when
 * its receive returned "closed" after the last message.
 */
#include "bench.h"
#include "chan_impl.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- workloads ----------------------------------------------------------- */

enum kind { K_SEQ, K_PC, K_PINGPONG };

typedef struct workload {
    const char *group;          /* "chan" or "latency" */
    const char *name;
    enum kind kind;
    int producers, consumers;
    size_t cap;
    size_t elem_size;           /* 8 or 256 */
    size_t batch;               /* 0: one value per call */
    bool slow;                  /* sized by bench_slow_msgs (cap 0 and 1) */
} workload;

static const workload WORKLOADS[] = {
    { "chan", "seq_cap1024",          K_SEQ,      1,  1,    1024, 8,   0,  false },
    { "chan", "1x1_cap0",             K_PC,       1,  1,    0,    8,   0,  true  },
    { "chan", "1x1_cap1",             K_PC,       1,  1,    1,    8,   0,  true  },
    { "chan", "1x1_cap1024",          K_PC,       1,  1,    1024, 8,   0,  false },
    { "chan", "4x1_cap1024",          K_PC,       4,  1,    1024, 8,   0,  false },
    { "chan", "4x4_cap1024",          K_PC,       4,  4,    1024, 8,   0,  false },
    { "chan", "16x16_cap1024",        K_PC,       16, 16,   1024, 8,   0,  false },
    { "chan", "1x1_cap1024_batch64",  K_PC,       1,  1,    1024, 8,   64, false },
    { "chan", "1x1_cap1024_256B",     K_PC,       1,  1,    1024, 256, 0,  false },
    { "chan", "4x4_cap1024_256B",     K_PC,       4,  4,    1024, 256, 0,  false },
    { "latency", "pingpong_cap0",     K_PINGPONG, 1,  1,    0,    8,   0,  true  },
};
#define NWORKLOADS (sizeof WORKLOADS / sizeof WORKLOADS[0])

/* Throughput against thread count: P producers and P consumers (2..32
   threads), capacity 1024, bench_scale_msgs() messages, 3 repetitions; weft
   and the baseline only (CHAN_IMPLS). */
static const workload SCALE_WORKLOADS[] = {
    { "scale", "1x1_cap1024",         K_PC,       1,  1,    1024, 8,   0,  false },
    { "scale", "2x2_cap1024",         K_PC,       2,  2,    1024, 8,   0,  false },
    { "scale", "4x4_cap1024",         K_PC,       4,  4,    1024, 8,   0,  false },
    { "scale", "8x8_cap1024",         K_PC,       8,  8,    1024, 8,   0,  false },
    { "scale", "16x16_cap1024",       K_PC,       16, 16,   1024, 8,   0,  false },
};
#define NSCALE (sizeof SCALE_WORKLOADS / sizeof SCALE_WORKLOADS[0])
#define SCALE_REPS 3

typedef struct bench_case {
    const workload *w;
    const chan_impl *impl;
} bench_case;

static bench_case CASES[NWORKLOADS * (CHAN_NIMPLS + CHAN_NPEERS) + NSCALE * CHAN_NIMPLS];

#define MAX_PRODUCERS 16
#define MAX_BATCH 64
#define MAX_ELEM 256

/* A message: the tag, then padding up to elem_size. */
typedef struct msg {
    uint64_t tag;
    unsigned char pad[MAX_ELEM - sizeof(uint64_t)];
} msg;

/* Shared state of one producer/consumer run. */
typedef struct pc_run {
    const workload *w;
    const chan_impl *impl;
    void *chan;
    uint64_t per_producer;
    _Atomic int producers_left;
    _Atomic uint64_t received;
    _Atomic uint64_t sum;
    _Atomic(const char *) error;
} pc_run;

static void fail(pc_run *r, const char *msg)
{
    const char *expected = NULL;
    atomic_compare_exchange_strong(&r->error, &expected, msg);
}

static void producer(pc_run *r, int p)
{
    const workload *w = r->w;
    const chan_impl *impl = r->impl;
    void *c = r->chan;
    uint64_t n = r->per_producer;
    if (w->batch == 0) {
        msg m;
        memset(&m, 0, sizeof m);
        for (uint64_t i = 0; i < n; i++) {
            m.tag = TAG(p, i);
            if (impl->send(c, &m) != 0) {
                fail(r, "send failed");
                break;
            }
        }
    } else {
        /* 8-byte messages only (the batch workload). */
        uint64_t buf[MAX_BATCH];
        for (uint64_t i = 0; i < n;) {
            size_t k = n - i < w->batch ? (size_t)(n - i) : w->batch;
            for (size_t j = 0; j < k; j++)
                buf[j] = TAG(p, i + j);
            size_t sent = 0;
            if (impl->send_many(c, buf, k, &sent) != 0 || sent != k) {
                fail(r, "send_many failed");
                break;
            }
            i += k;
        }
    }
    /* The last producer closes: consumers then drain and see "closed". */
    if (atomic_fetch_sub(&r->producers_left, 1) == 1)
        if (impl->close(c) != 0)
            fail(r, "close failed");
}

static void consumer(pc_run *r)
{
    const workload *w = r->w;
    const chan_impl *impl = r->impl;
    void *c = r->chan;
    uint64_t next[MAX_PRODUCERS] = { 0 }; /* lowest sequence still allowed */
    uint64_t count = 0, sum = 0;
    bool order_ok = true;
    int rc;
    if (w->batch == 0) {
        msg m;
        while ((rc = impl->recv(c, &m)) == 0) {
            uint64_t t = m.tag;
            order_ok &= tag_in_order(next, MAX_PRODUCERS, t);
            count++;
            sum += t;
        }
    } else {
        uint64_t buf[MAX_BATCH];
        size_t got;
        while ((rc = impl->recv_many(c, buf, w->batch, &got)) == 0) {
            for (size_t j = 0; j < got; j++) {
                uint64_t t = buf[j];
                order_ok &= tag_in_order(next, MAX_PRODUCERS, t);
                sum += t;
            }
            count += got;
        }
    }
    if (rc != CHAN_ECLOSED) {
        fail(r, "receive failed with an unexpected code");
        impl->close(c);         /* unblock the producers */
    }
    if (!order_ok)
        fail(r, "values from one producer arrived out of order");
    atomic_fetch_add(&r->received, count);
    atomic_fetch_add(&r->sum, sum);
}

static void pc_worker(void *ctx, int index)
{
    pc_run *r = ctx;
    if (index < r->w->producers)
        producer(r, index);
    else
        consumer(r);
}

static void seq_worker(void *ctx, int index)
{
    (void)index;
    pc_run *r = ctx;
    const chan_impl *impl = r->impl;
    void *c = r->chan;
    size_t cap = r->w->cap;
    uint64_t n = r->per_producer, done = 0, sum = 0;
    msg m;
    memset(&m, 0, sizeof m);
    while (done < n) {
        uint64_t k = n - done < cap ? n - done : cap;
        for (uint64_t i = 0; i < k; i++) {
            m.tag = TAG(0, done + i);
            if (impl->send(c, &m) != 0) {
                fail(r, "send failed");
                return;
            }
        }
        for (uint64_t i = 0; i < k; i++) {
            if (impl->recv(c, &m) != 0) {
                fail(r, "recv failed");
                return;
            }
            if (m.tag != TAG(0, done + i)) {
                fail(r, "seq: wrong value received");
                return;
            }
            sum += m.tag;
        }
        done += k;
    }
    atomic_store(&r->received, done);
    atomic_store(&r->sum, sum);
}

/* Peak RSS of the workload: VmHWM after the run, reset just before the
   channel was made (peak_rss_reset 1), or the process's peak so far if the
   reset failed (0). */
static void add_peak_rss(bench_result *out, int rss_reset)
{
    double kib = bench_peak_rss_kib();
    if (kib < 0)
        return;
    bench_counter_add(out, "peak_rss_kib", kib);
    bench_counter_add(out, "peak_rss_reset", rss_reset == 0 ? 1 : 0);
}

static void run_pc(const bench_case *bc, bench_result *out)
{
    const workload *w = bc->w;
    uint64_t total = w->slow ? bench_slow_msgs() : bench_msgs();
    if (strcmp(w->group, "scale") == 0)
        total = bench_scale_msgs();
    int rss_reset = bench_peak_rss_reset();
    pc_run r;
    memset(&r, 0, sizeof r);
    r.w = w;
    r.impl = bc->impl;
    r.per_producer = total / (uint64_t)w->producers;
    if (r.per_producer == 0)
        r.per_producer = 1;
    total = r.per_producer * (uint64_t)w->producers;
    atomic_init(&r.producers_left, w->producers);
    r.chan = bc->impl->make(w->elem_size, w->cap);
    if (r.chan == NULL) {
        out->error = "channel creation failed";
        return;
    }
    if (w->kind == K_SEQ)
        bench_run_threads(1, seq_worker, &r, out);
    else
        bench_run_threads(w->producers + w->consumers, pc_worker, &r, out);
    add_peak_rss(out, rss_reset);
    bc->impl->destroy(r.chan);
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

/* ---- ping-pong latency --------------------------------------------------- */

typedef struct pp_run {
    const chan_impl *impl;
    void *ping, *pong;
    uint64_t rounds;
    int64_t *rtt;               /* rounds entries, filled by the pinger */
    _Atomic(const char *) error;
} pp_run;

static void pp_fail(pp_run *r, const char *msg)
{
    const char *expected = NULL;
    atomic_compare_exchange_strong(&r->error, &expected, msg);
}

static void pp_worker(void *ctx, int index)
{
    pp_run *r = ctx;
    const chan_impl *impl = r->impl;
    uint64_t v;
    if (index == 0) {           /* the pinger: timestamps every round trip */
        int64_t prev = bench_now_ns();
        for (uint64_t i = 0; i < r->rounds; i++) {
            v = i;
            if (impl->send(r->ping, &v) != 0 || impl->recv(r->pong, &v) != 0) {
                pp_fail(r, "ping-pong: send or recv failed");
                break;
            }
            if (v != i + 1) {
                pp_fail(r, "ping-pong: wrong value returned");
                break;
            }
            int64_t now = bench_now_ns();
            r->rtt[i] = now - prev;
            prev = now;
        }
        impl->close(r->ping);
    } else {                    /* the ponger: echoes v + 1 until closed */
        int rc;
        while ((rc = impl->recv(r->ping, &v)) == 0) {
            v++;
            if (impl->send(r->pong, &v) != 0) {
                pp_fail(r, "ping-pong: pong send failed");
                break;
            }
        }
        if (rc != 0 && rc != CHAN_ECLOSED)
            pp_fail(r, "ping-pong: unexpected recv code");
        impl->close(r->pong);   /* unblock the pinger if we stopped early */
    }
}

static void run_pingpong(const bench_case *bc, bench_result *out)
{
    int rss_reset = bench_peak_rss_reset();
    pp_run r;
    memset(&r, 0, sizeof r);
    r.impl = bc->impl;
    r.rounds = bench_rtt_rounds();
    if (r.rounds == 0)
        r.rounds = 1;
    r.rtt = calloc(r.rounds, sizeof *r.rtt);
    r.ping = bc->impl->make(8, 0);
    r.pong = bc->impl->make(8, 0);
    if (r.rtt == NULL || r.ping == NULL || r.pong == NULL) {
        out->error = "allocation failed";
        goto done;
    }
    bench_run_threads(2, pp_worker, &r, out);
    if (out->error != NULL)
        goto done;
    const char *err = atomic_load(&r.error);
    if (err != NULL) {
        out->error = err;
        goto done;
    }
    out->items = (double)(2 * r.rounds);    /* messages */
    bench_sort_i64(r.rtt, r.rounds);
    bench_counter_add(out, "rtt_p50_ns", bench_quantile_sorted(r.rtt, r.rounds, 0.50));
    bench_counter_add(out, "rtt_p99_ns", bench_quantile_sorted(r.rtt, r.rounds, 0.99));
    bench_counter_add(out, "rtt_mean_ns", out->seconds * 1e9 / (double)r.rounds);
    add_peak_rss(out, rss_reset);
done:
    if (r.pong != NULL)
        bc->impl->destroy(r.pong);
    if (r.ping != NULL)
        bc->impl->destroy(r.ping);
    free(r.rtt);
}

static void chan_body(const void *arg, bench_result *out)
{
    const bench_case *bc = arg;
    if (bc->w->kind == K_PINGPONG)
        run_pingpong(bc, out);
    else
        run_pc(bc, out);
}

/* Whether impl can run w (chan_impl.flags); the rest are not registered
   and show as n/a. Ping-pong runs everywhere: one message is in flight, so
   a 1-slot or unbounded queue makes the same round trip. */
static bool impl_runs(const chan_impl *impl, const workload *w)
{
    if (w->kind != K_PC)
        return true;
    if ((impl->flags & CHAN_IMPL_NO_UNBUFFERED) && w->cap == 0)
        return false;
    if ((impl->flags & CHAN_IMPL_UNBOUNDED) && w->cap <= 1)
        return false;
    if ((impl->flags & CHAN_IMPL_PRODUCERS_SPIN) && w->producers > 1 &&
        w->producers + w->consumers > sysconf(_SC_NPROCESSORS_ONLN)) {
        const char *e = getenv("WEFT_BENCH_PEER_OVERSUB");
        return e != NULL && strcmp(e, "1") == 0;
    }
    return true;
}

void chan_bench_register(void)
{
    size_t k = 0;
    for (size_t i = 0; i < NWORKLOADS; i++) {
        /* weft and the baseline, then the peers (bench/peers/). */
        for (size_t j = 0; j < CHAN_NIMPLS + CHAN_NPEERS; j++) {
            const chan_impl *impl = j < CHAN_NIMPLS ? CHAN_IMPLS[j] : CHAN_PEERS[j - CHAN_NIMPLS];
            if (!impl_runs(impl, &WORKLOADS[i]))
                continue;
            bench_case *bc = &CASES[k++];
            bc->w = &WORKLOADS[i];
            bc->impl = impl;
            char name[128];
            snprintf(name, sizeof name, "%s/%s/%s", bc->w->group, bc->w->name,
                     bc->impl->name);
            bench_register(name, chan_body, bc);
        }
    }
    for (size_t i = 0; i < NSCALE; i++) {
        for (size_t j = 0; j < CHAN_NIMPLS; j++) {
            bench_case *bc = &CASES[k++];
            bc->w = &SCALE_WORKLOADS[i];
            bc->impl = CHAN_IMPLS[j];
            char name[128];
            snprintf(name, sizeof name, "%s/%s/%s", bc->w->group, bc->w->name,
                     bc->impl->name);
            bench_register_reps(name, chan_body, bc, SCALE_REPS);
        }
    }
}
