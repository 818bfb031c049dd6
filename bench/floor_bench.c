/* floor_bench.c — the floor: what the hardware and kernel allow at best.
 *
 * Measured in the same run as the channels, so every channel figure can be
 * read as a multiple of the floor it is bound by (RESULTS.md does that):
 *
 *   floor/cacheline_rtt   two threads pass a counter back and forth through
 *                         one cache line, spinning: the cost of one
 *                         cache-line round trip between two cores. Bounds a
 *                         buffered channel whose ends are both running.
 *                         Reported as the median over blocks of 64 round
 *                         trips (one clock read per block, so the clock
 *                         does not dominate), and the overall mean.
 *   floor/futex_rtt       two threads that always sleep in FUTEX_WAIT and
 *                         wake each other with FUTEX_WAKE: the cost of one
 *                         park/unpark round trip. Bounds unbuffered channels
 *                         and ping-pong when nobody can spin. Median and p99
 *                         per round trip.
 *   floor/memcpy_64MiB    memcpy bandwidth between two 64 MiB buffers (DRAM).
 *   floor/memcpy_256B     one 256-byte memcpy in cache (the per-message copy
 *                         of the 256-byte workloads, done twice per message).
 *
 * If the two threads share one CPU (the machine is busy), a pure spin would
 * wait for a whole scheduler tick; the spin therefore yields the CPU after
 * a few thousand rounds, and the median hides the rare slow block.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- cache-line round trip ----------------------------------------------- */

#define CL_BLOCK 64

typedef struct cl_run {
    _Alignas(64) _Atomic uint64_t line;
    char pad[64 - sizeof(uint64_t)];
    uint64_t rounds;
    int64_t *block_ns;          /* rounds / CL_BLOCK entries */
} cl_run;

static void spin_until(_Atomic uint64_t *w, uint64_t v)
{
    unsigned n = 0;
    while (atomic_load_explicit(w, memory_order_acquire) != v) {
        if (++n < 4096) {
            BENCH_CPU_RELAX();
        } else {
            sched_yield();      /* the peer may be waiting for our CPU */
            n = 0;
        }
    }
}

static void cl_worker(void *ctx, int index)
{
    cl_run *r = ctx;
    if (index == 0) {
        int64_t prev = bench_now_ns();
        for (uint64_t i = 0; i < r->rounds; i++) {
            atomic_store_explicit(&r->line, 2 * i + 1, memory_order_release);
            spin_until(&r->line, 2 * i + 2);
            if ((i + 1) % CL_BLOCK == 0) {
                int64_t now = bench_now_ns();
                r->block_ns[i / CL_BLOCK] = now - prev;
                prev = now;
            }
        }
    } else {
        for (uint64_t i = 0; i < r->rounds; i++) {
            spin_until(&r->line, 2 * i + 1);
            atomic_store_explicit(&r->line, 2 * i + 2, memory_order_release);
        }
    }
}

static void cacheline_body(const void *arg, bench_result *out)
{
    (void)arg;
    cl_run *r = aligned_alloc(64, sizeof *r);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    memset(r, 0, sizeof *r);
    r->rounds = bench_msgs() / CL_BLOCK * CL_BLOCK;
    if (r->rounds < CL_BLOCK)
        r->rounds = CL_BLOCK;
    size_t nblocks = r->rounds / CL_BLOCK;
    r->block_ns = calloc(nblocks, sizeof *r->block_ns);
    if (r->block_ns == NULL) {
        out->error = "out of memory";
        free(r);
        return;
    }
    if (bench_run_threads(2, cl_worker, r, out) == 0) {
        bench_sort_i64(r->block_ns, nblocks);
        bench_counter_add(out, "rtt_ns",
                          bench_quantile_sorted(r->block_ns, nblocks, 0.5) / CL_BLOCK);
        bench_counter_add(out, "rtt_mean_ns", out->seconds * 1e9 / (double)r->rounds);
    }
    free(r->block_ns);
    free(r);
}

/* ---- futex wake round trip ----------------------------------------------- */

typedef struct fx_run {
    _Alignas(64) _Atomic uint32_t a;    /* thread 0 sleeps on it */
    _Alignas(64) _Atomic uint32_t b;    /* thread 1 sleeps on it */
    uint64_t rounds;
    int64_t *rtt;
} fx_run;

static void fx_wait(_Atomic uint32_t *w)
{
    /* Sleep until the word is 1, then consume it. The word, not the futex
       return value, decides (spurious returns are absorbed). */
    while (atomic_load_explicit(w, memory_order_acquire) == 0)
        syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_store_explicit(w, 0, memory_order_relaxed);
}

static void fx_wake(_Atomic uint32_t *w)
{
    atomic_store_explicit(w, 1, memory_order_release);
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void fx_worker(void *ctx, int index)
{
    fx_run *r = ctx;
    if (index == 0) {
        int64_t prev = bench_now_ns();
        for (uint64_t i = 0; i < r->rounds; i++) {
            fx_wake(&r->b);
            fx_wait(&r->a);
            int64_t now = bench_now_ns();
            r->rtt[i] = now - prev;
            prev = now;
        }
    } else {
        for (uint64_t i = 0; i < r->rounds; i++) {
            fx_wait(&r->b);
            fx_wake(&r->a);
        }
    }
}

static void futex_body(const void *arg, bench_result *out)
{
    (void)arg;
    fx_run *r = aligned_alloc(64, sizeof *r);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    memset(r, 0, sizeof *r);
    r->rounds = bench_rtt_rounds();
    if (r->rounds == 0)
        r->rounds = 1;
    r->rtt = calloc(r->rounds, sizeof *r->rtt);
    if (r->rtt == NULL) {
        out->error = "out of memory";
        free(r);
        return;
    }
    if (bench_run_threads(2, fx_worker, r, out) == 0) {
        bench_sort_i64(r->rtt, r->rounds);
        bench_counter_add(out, "rtt_p50_ns", bench_quantile_sorted(r->rtt, r->rounds, 0.50));
        bench_counter_add(out, "rtt_p99_ns", bench_quantile_sorted(r->rtt, r->rounds, 0.99));
        bench_counter_add(out, "rtt_mean_ns", out->seconds * 1e9 / (double)r->rounds);
    }
    free(r->rtt);
    free(r);
}

/* ---- memcpy -------------------------------------------------------------- */

typedef struct mc_run {
    unsigned char *src, *dst;
    size_t block;               /* bytes per memcpy */
    size_t span;                /* bytes of each buffer cycled through */
    uint64_t copies;
} mc_run;

static void mc_worker(void *ctx, int index)
{
    (void)index;
    mc_run *r = ctx;
    /* A size the compiler cannot see, so this is libc's memcpy, as in a
       channel (whose elem_size is a run-time value). */
    volatile size_t vblock = r->block;
    size_t block = vblock;
    size_t off = 0;
    for (uint64_t i = 0; i < r->copies; i++) {
        memcpy(r->dst + off, r->src + off, block);
        __asm__ __volatile__("" ::"r"(r->dst) : "memory");
        off += block;
        if (off + block > r->span)
            off = 0;
    }
}

static void memcpy_body(const void *arg, bench_result *out)
{
    const size_t *params = arg;  /* { block, span, bytes per run at the default 5 M msgs } */
    mc_run r;
    r.block = params[0];
    r.span = params[1];
    /* Scale the volume with the message count (so --quick shrinks it). */
    double scale = (double)bench_msgs() / 5e6;
    r.copies = (uint64_t)((double)params[2] * scale / (double)r.block);
    if (r.copies == 0)
        r.copies = 1;
    r.src = malloc(r.span);
    r.dst = malloc(r.span);
    if (r.src == NULL || r.dst == NULL) {
        out->error = "out of memory";
        goto done;
    }
    memset(r.src, 0x5a, r.span);  /* fault the pages in outside the timing */
    memset(r.dst, 0xa5, r.span);
    if (bench_run_threads(1, mc_worker, &r, out) == 0) {
        double bytes = (double)r.copies * (double)r.block;
        bench_counter_add(out, "GBps", bytes / out->seconds * 1e-9);
        bench_counter_add(out, "ns_per_copy", out->seconds * 1e9 / (double)r.copies);
    }
done:
    free(r.src);
    free(r.dst);
}

static const size_t MEMCPY_DRAM[3] = { 64u << 20, 64u << 20, (size_t)4 << 30 };
static const size_t MEMCPY_256B[3] = { 256, 16u << 10, (size_t)4 << 30 };

void floor_bench_register(void)
{
    bench_register("floor/cacheline_rtt", cacheline_body, NULL);
    bench_register("floor/futex_rtt", futex_body, NULL);
    bench_register("floor/memcpy_64MiB", memcpy_body, MEMCPY_DRAM);
    bench_register("floor/memcpy_256B", memcpy_body, MEMCPY_256B);
}
