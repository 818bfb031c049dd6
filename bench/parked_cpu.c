/* parked_cpu.c — what 100 receivers blocked on an empty channel cost.
 *
 * parked/100_receivers/<impl>: 100 threads call recv on an empty buffered
 * channel (cap 1024, 8-byte values). Once all of them have entered recv,
 * the main thread lets them settle (a fifth of the window: long enough for
 * any spin-before-park to end), then measures the process CPU time
 * (CLOCK_PROCESS_CPUTIME_ID: every thread of the process, including any the
 * library runs itself) over WEFT_BENCH_PARK_MS milliseconds (default 1000)
 * while the main thread sleeps. Then it closes the channel; every receiver
 * must return "closed".
 *
 * Counter cpu_pct_of_core: CPU time / wall time x 100, i.e. the share of one
 * core those 100 parked threads use. Blocked threads should use none; the
 * acceptance check is < 1 %.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "chan_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NRECEIVERS 100

typedef struct park_run {
    const chan_impl *impl;
    void *chan;
    _Atomic int arrived;
    _Atomic int bad;            /* receivers that did not get "closed" */
} park_run;

static void *receiver(void *p)
{
    park_run *r = p;
    uint64_t v;
    atomic_fetch_add(&r->arrived, 1);
    if (r->impl->recv(r->chan, &v) != CHAN_ECLOSED)
        atomic_fetch_add(&r->bad, 1);
    return NULL;
}

static void parked_body(const void *arg, bench_result *out)
{
    park_run r;
    r.impl = arg;
    atomic_init(&r.arrived, 0);
    atomic_init(&r.bad, 0);
    r.chan = r.impl->make(8, 1024);
    if (r.chan == NULL) {
        out->error = "channel creation failed";
        return;
    }
    pthread_t tids[NRECEIVERS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    int n = 0;
    for (; n < NRECEIVERS; n++)
        if (pthread_create(&tids[n], &attr, receiver, &r) != 0)
            break;
    pthread_attr_destroy(&attr);
    if (n < NRECEIVERS)
        out->error = "pthread_create failed";

    while (atomic_load(&r.arrived) < n)
        bench_sleep_ns(1000000);
    int64_t window = (int64_t)bench_park_ms() * 1000000;
    bench_sleep_ns(window / 5);       /* settle: spinning, if any, ends here */

    int64_t c0 = bench_process_cpu_ns(), t0 = bench_now_ns();
    bench_sleep_ns(window);
    int64_t c1 = bench_process_cpu_ns(), t1 = bench_now_ns();

    r.impl->close(r.chan);
    for (int i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
    r.impl->destroy(r.chan);
    if (out->error != NULL)
        return;
    if (atomic_load(&r.bad) != 0) {
        out->error = "a parked receiver did not return closed";
        return;
    }
    out->seconds = (double)(t1 - t0) * 1e-9;
    out->cpu_seconds = (double)(c1 - c0) * 1e-9;
    bench_counter_add(out, "cpu_pct_of_core",
                      100.0 * (double)(c1 - c0) / (double)(t1 - t0));
}

void parked_bench_register(void)
{
    /* weft and the baseline, then the peers: shows which one parks. */
    for (int i = 0; i < CHAN_NIMPLS + CHAN_NPEERS; i++) {
        const chan_impl *impl = i < CHAN_NIMPLS ? CHAN_IMPLS[i] : CHAN_PEERS[i - CHAN_NIMPLS];
        char name[96];
        snprintf(name, sizeof name, "parked/100_receivers/%s", impl->name);
        bench_register(name, parked_body, impl);
    }
}
