/* bench.h — the C side of weft's benchmark harness.
 *
 * Benchmark bodies are C. Each is a function that performs one complete run
 * of a workload (for a channel: start the threads, wait until they are all
 * ready, release them, move all the messages, join) and fills a
 * bench_result with what it measured itself:
 *
 *   seconds      wall time of the timed region only. For threaded bodies
 *                that is from the release of the start barrier (the earliest
 *                time a worker read the clock after leaving it) to the
 *                moment the last worker finished (the latest time a worker
 *                read the clock when done). Thread creation, the barrier
 *                wait and join are outside it.
 *   cpu_seconds  CPU time the workers spent inside that region (each worker
 *                reads CLOCK_THREAD_CPUTIME_ID at the same two points; the
 *                sum), or -1 if not measured.
 *   items        messages moved in the region; 0 for bodies that do not move
 *                messages (the floor, parked CPU), which report only their
 *                own counters.
 *   counters     extra named figures (latency percentiles, floors, ...).
 *   error        NULL, or a static message: the run failed (a wrong count,
 *                a lost or duplicated message, an unexpected error code).
 *
 * The one C++ file, shim.cpp, registers every body with google-benchmark as
 * a manual-time benchmark of one iteration per repetition, hands the
 * measured seconds to SetIterationTime, and turns items and cpu_seconds into
 * the counters msgs_per_s and cpu_s_per_Mmsg (bodies may add their own).
 *
 * Sizes come from the environment so that scripts/bench --quick can shrink
 * every run without recompiling: see bench_msgs() and friends.
 */
#ifndef WEFT_BENCH_H
#define WEFT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_MAX_COUNTERS 8

typedef struct bench_counter {
    const char *name;           /* static string */
    double value;
} bench_counter;

typedef struct bench_result {
    double seconds;
    double cpu_seconds;
    double items;
    const char *error;
    int ncounters;
    bench_counter counters[BENCH_MAX_COUNTERS];
} bench_result;

/* One run of a workload. arg is what was given to bench_register. */
typedef void (*bench_fn)(const void *arg, bench_result *out);

/* Register a benchmark named `name` (copied) running fn(arg) once per
   repetition. Call from the *_register functions below, before the shim
   hands control to google-benchmark. Defined in shim.cpp. */
void bench_register(const char *name, bench_fn fn, const void *arg);

/* The same with its own number of repetitions (capped at the run's
   --benchmark_repetitions, so --quick stays at one): the scale workloads
   (3) and the deterministic mem/ figures (1). Defined in shim.cpp. */
void bench_register_reps(const char *name, bench_fn fn, const void *arg, int reps);

/* Add a named counter to a result (no-op past BENCH_MAX_COUNTERS). */
void bench_counter_add(bench_result *r, const char *name, double value);

/* Registration entry points of each body file, called by shim.cpp. */
void chan_bench_register(void);
void select_bench_register(void);
void sync_bench_register(void);
void floor_bench_register(void);
void parked_bench_register(void);
void mem_bench_register(void);
void protocol_bench_register(void);

/* ---- sizes (environment, read once) -------------------------------------
 *
 *   WEFT_BENCH_MSGS       messages per run of a buffered channel workload, and
 *                         cache-line round trips (default 5000000; the memcpy
 *                         floors scale their volume with it too)
 *   WEFT_BENCH_SLOW_MSGS  messages per run of the 1x1 cap 0 and cap 1
 *                         workloads, where a message may wait for a thread
 *                         wakeup (default 200000: a baseline that parks on
                         every message moves ~25 k msgs/s on the target VM)
 *   WEFT_BENCH_RTT_ROUNDS round trips per run of the ping-pong latency
 *                         workload and of the futex floor (default 200000)
 *   WEFT_BENCH_PARK_MS    the window over which parked receivers' CPU is
 *                         measured (default 1000)
 *   WEFT_BENCH_SELECT_MSGS messages per run of a select workload (default
 *                         2000000)
 *   WEFT_BENCH_SYNC_OPS   operations per run of the single-thread sync
 *                         workloads that cost a few ns each: once after
 *                         completion, waitgroup add/done (default 50000000)
 *   WEFT_BENCH_SYNC_SLOW_OPS operations per run of the contended semaphore
 *                         and timer workloads, 4x those of after_func
 *                         (default 1000000)
 *   WEFT_BENCH_SPAWNS     tasks (threads) started per run of the spawn and
 *                         64-task fan-in workloads (default 20000)
 *   WEFT_BENCH_CANCEL_ROUNDS cancellations per run of each cancel fan-out
 *                         workload (default 50)
 *   WEFT_BENCH_SCALE_MSGS messages per run of a scale/PxP_cap1024 workload
 *                         (default 2000000; 3 repetitions)
 *
 * scripts/bench --quick sets them to a few thousand (a smoke test).
 */
uint64_t bench_msgs(void);
uint64_t bench_slow_msgs(void);
uint64_t bench_rtt_rounds(void);
uint64_t bench_park_ms(void);
uint64_t bench_select_msgs(void);
uint64_t bench_sync_ops(void);
uint64_t bench_sync_slow_ops(void);
uint64_t bench_spawns(void);
uint64_t bench_cancel_rounds(void);
uint64_t bench_scale_msgs(void);

/* ---- helpers for bodies (bench_util.c) ---------------------------------- */

/* One pause of a polling loop. */
#if defined(__x86_64__) || defined(__i386__)
#define BENCH_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define BENCH_CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define BENCH_CPU_RELAX() __asm__ __volatile__("" ::: "memory")
#endif

/* Sleep ns nanoseconds (restarted after signals). */
void bench_sleep_ns(int64_t ns);

/* Wait until the n threads tids are all asleep in the kernel: two
   consecutive sweeps over their /proc states ('S') that find every one
   asleep (one sweep could catch a thread briefly asleep on a lock on its
   way into its wait), polling every poll_ns. False once bench_now_ns()
   passes give_up_ns. */
bool bench_all_asleep(const pid_t *tids, int n, int64_t give_up_ns, int64_t poll_ns);

/* CLOCK_MONOTONIC and CLOCK_THREAD_CPUTIME_ID in nanoseconds. */
int64_t bench_now_ns(void);
int64_t bench_thread_cpu_ns(void);
int64_t bench_process_cpu_ns(void);

/* Run n threads: each waits at a start barrier, reads both clocks, runs
   fn(ctx, index), reads both clocks again. Fills out->seconds (min start to
   max end) and out->cpu_seconds (sum of the per-thread CPU deltas). The
   caller sets out->items. Returns 0, or -1 if a thread could not be
   created (out->error is then set). */
typedef void (*bench_worker_fn)(void *ctx, int index);
int bench_run_threads(int n, bench_worker_fn fn, void *ctx, bench_result *out);

/* Peak RSS. bench_peak_rss_reset() writes "5" to /proc/self/clear_refs,
   which resets VmHWM to the current RSS (Linux >= 4.0): 0 on success, -1
   if that failed (VmHWM is then the process's peak so far).
   bench_peak_rss_kib() reads VmHWM from /proc/self/status (KiB), -1 if it
   cannot. */
int bench_peak_rss_reset(void);
double bench_peak_rss_kib(void);

/* Delivery checks. Every message of a throughput workload carries
   (producer << 40 | sequence); a consumer checks per-producer order from the
   sequence and everyone's messages add up to bench_tagged_sum. */
#define TAG(p, seq) (((uint64_t)(p) << 40) | (uint64_t)(seq))
#define TAG_PRODUCER(t) ((int)((t) >> 40))
#define TAG_SEQ(t) ((t) & ((UINT64_C(1) << 40) - 1))

/* The sum of TAG(p, s) over p < producers, s < per. */
/* Per-producer order at a receiver: next[p] is the lowest sequence still
   allowed from producer p (p < producers). True, advancing next[p], if tag
   t keeps its producer's order; false for an out-of-order or foreign tag. */
static inline bool tag_in_order(uint64_t *next, int producers, uint64_t t)
{
    int p = TAG_PRODUCER(t);
    if (p >= producers || TAG_SEQ(t) < next[p])
        return false;
    next[p] = TAG_SEQ(t) + 1;
    return true;
}

static inline uint64_t bench_tagged_sum(int producers, uint64_t per)
{
    uint64_t s = 0;
    for (int p = 0; p < producers; p++)
        s += TAG(p, 0) * per + per * (per - 1) / 2;
    return s;
}

/* Sort v[0..n) and return the q-quantile (0 <= q <= 1), nearest rank. */
double bench_quantile_sorted(int64_t *v, size_t n, double q);
void bench_sort_i64(int64_t *v, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_H */
