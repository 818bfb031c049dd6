/* mem_bench.c — heap bytes per object (the mem/ group).
 *
 * Each body creates MEM_N objects of one kind on the calling thread and
 * reads glibc's mallinfo2() before and after: the heap in use (uordblks,
 * plus hblkhd for anything big enough to be mmapped) grows by what the
 * objects took, including malloc's own chunk overhead; divided by MEM_N
 * that is bytes_per_object. Then the objects are freed. The figures are
 * deterministic, so each is registered with one repetition; the reported
 * time is the creation of the MEM_N objects (not a benchmark figure).
 *
 * Freed chunks that sit in glibc's per-thread cache count as in use, so a
 * creation that reuses one is not seen: at most 7 chunks per size class, a
 * small fraction of MEM_N objects.
 *
 *   chan_cap0      weft_chan_new(8, 0)         (and the mutex baseline's)
 *   chan_cap1024   weft_chan_new(8, 1024)      (and the mutex baseline's)
 *   ctx_cancel     weft_ctx_with_cancel(NULL)
 *   ctx_timeout    weft_ctx_with_timeout(NULL, 1 hour)
 *   ctx_done       weft_ctx_done(ctx) the first time, on existing contexts
 *                  (the done channel created on demand)
 *   timer          weft_timer_new(1 hour)
 *
 * One object of the kind is made first, outside the measurement, and kept
 * until the end: one-time costs (the timer service's thread and heap) are
 * not counted; the timer heap's growth from 1 to MEM_N + 1 entries is.
 *
 * A blocked waiter is not measured: weft's blocked operations keep their
 * waiter records (weft_waiter, weft_wnode) on the waiting thread's stack,
 * no heap allocation (RESULTS.md says so).
 */
#define _GNU_SOURCE
#include "bench.h"
#include "baselines/mutex_chan.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft/chan.h>
#include <weft/ctx.h>
#include <weft/time.h>

#define MEM_N 1000
#define HOUR_NS (3600LL * 1000000000LL)

enum mem_kind {
    M_WEFT_CHAN0, M_WEFT_CHAN1024, M_MUTEX_CHAN0, M_MUTEX_CHAN1024,
    M_CTX_CANCEL, M_CTX_TIMEOUT, M_CTX_DONE, M_TIMER,
};

typedef struct mem_case {
    const char *name;
    enum mem_kind kind;
} mem_case;

static const mem_case MEM_CASES[] = {
    { "mem/chan_cap0/weft",     M_WEFT_CHAN0 },
    { "mem/chan_cap0/mutex",    M_MUTEX_CHAN0 },
    { "mem/chan_cap1024/weft",  M_WEFT_CHAN1024 },
    { "mem/chan_cap1024/mutex", M_MUTEX_CHAN1024 },
    { "mem/ctx_cancel/weft",    M_CTX_CANCEL },
    { "mem/ctx_timeout/weft",   M_CTX_TIMEOUT },
    { "mem/ctx_done/weft",      M_CTX_DONE },
    { "mem/timer/weft",         M_TIMER },
};
#define NMEM (sizeof MEM_CASES / sizeof MEM_CASES[0])

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* One object of the kind (for M_CTX_DONE: a context, its done channel not
   yet created). */
static void *make(enum mem_kind k)
{
    switch (k) {
    case M_WEFT_CHAN0: return weft_chan_new(8, 0);
    case M_WEFT_CHAN1024: return weft_chan_new(8, 1024);
    case M_MUTEX_CHAN0: return mutex_chan_new(8, 0);
    case M_MUTEX_CHAN1024: return mutex_chan_new(8, 1024);
    case M_CTX_CANCEL: return weft_ctx_with_cancel(NULL);
    case M_CTX_TIMEOUT: return weft_ctx_with_timeout(NULL, HOUR_NS);
    case M_CTX_DONE: return weft_ctx_with_cancel(NULL);
    case M_TIMER: return weft_timer_new(HOUR_NS);
    }
    return NULL;
}

static void destroy(enum mem_kind k, void *p)
{
    if (p == NULL)
        return;
    switch (k) {
    case M_WEFT_CHAN0:
    case M_WEFT_CHAN1024:
        weft_chan_free(p);
        break;
    case M_MUTEX_CHAN0:
    case M_MUTEX_CHAN1024:
        mutex_chan_free(p);
        break;
    case M_CTX_CANCEL:
    case M_CTX_TIMEOUT:
    case M_CTX_DONE:
        weft_ctx_cancel(p);
        weft_ctx_release(p);
        break;
    case M_TIMER:
        weft_timer_free(p);
        break;
    }
}

static void mem_body(const void *arg, bench_result *out)
{
    const mem_case *mc = arg;
    enum mem_kind k = mc->kind;
    void **objs = calloc(MEM_N, sizeof *objs);
    if (objs == NULL) {
        out->error = "out of memory";
        return;
    }
    /* The one outside the measurement (one-time costs). */
    void *first = make(k);
    if (first == NULL) {
        out->error = "object creation failed";
        free(objs);
        return;
    }
    if (k == M_CTX_DONE) {
        weft_ctx_done(first);
        for (int i = 0; i < MEM_N; i++)
            if ((objs[i] = make(k)) == NULL)
                out->error = "context creation failed";
    }

    size_t before = heap_in_use();
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < MEM_N && out->error == NULL; i++) {
        if (k == M_CTX_DONE) {
            if (weft_ctx_done(objs[i]) == NULL)
                out->error = "weft_ctx_done returned NULL";
        } else if ((objs[i] = make(k)) == NULL) {
            out->error = "object creation failed";
        }
    }
    int64_t t1 = bench_now_ns();
    size_t after = heap_in_use();

    for (int i = 0; i < MEM_N; i++)
        destroy(k, objs[i]);
    destroy(k, first);
    free(objs);
    if (out->error != NULL)
        return;
    out->seconds = (double)(t1 - t0) * 1e-9;
    out->cpu_seconds = -1;
    double delta = after >= before ? (double)(after - before) : 0.0;
    bench_counter_add(out, "bytes_per_object", delta / MEM_N);
    bench_counter_add(out, "objects", MEM_N);
}

void mem_bench_register(void)
{
    for (size_t i = 0; i < NMEM; i++)
        bench_register_reps(MEM_CASES[i].name, mem_body, &MEM_CASES[i], 1);
}
