/* lockfree/spin.c — when to spin before parking, and for how long.
 *
 * The trade: parking and being woken costs ~30 µs on the target VM (two
 * syscalls, an IPI and a vCPU wakeup), while a value handed over by a thread
 * running on another CPU arrives within ~100 ns. Spinning pays only while the
 * thread that will end the wait is running, and it is pure loss when threads
 * outnumber CPUs: the spinner then occupies the CPU that thread needs
 * (crossbeam-channel #821, #1031 measured 13-20x slowdowns with
 * sched_yield-based spinning on one core). Two rules follow:
 *
 *  1. Global cap. At most ncpus threads of the process spin at once, and
 *     none on a single CPU; a thread that finds the cap reached parks at
 *     once. (ncpus - 1 was tried first, to leave a CPU to the thread being
 *     waited for, but on 2 CPUs it forbids the ping-pong of a rendezvous,
 *     where both sides wait in turn on running peers: 1x1 unbuffered fell
 *     from 0.6 to 0.05 M msgs/s.) The counter is a process-wide atomic
 *     touched only by threads on their way to blocking, never on a fast
 *     path.
 *
 *  2. Per-site adaptation (Folly TurnSequencer's scheme). Each wait site (a
 *     channel direction) keeps a budget: an exponential moving average (1/8)
 *     of twice the spin that succeeded. A spin that ran out below SPIN_MAX
 *     says nothing about how long the wait really was, so it does not
 *     update the budget; every 16th request instead probes with SPIN_MAX,
 *     and a probe that runs out pulls the budget toward SPIN_MIN. A site
 *     whose peers are not running (threads outnumber CPUs, a slow producer)
 *     thus decays to a few rounds, and recovers when spinning pays again.
 *
 * There is no sched_yield anywhere: yielding does not run the thread we wait
 * for, it only gives the CPU to whoever the scheduler picks.
 *
 * Memory order: everything here is advisory (a wrong budget costs time, not
 * correctness), so every access is relaxed.
 */
#include "lockfree/common.h"

#include <sched.h>

#include <weft/lockfree.h>

enum {
    SPIN_MIN = 8,       /* rounds of weft_cpu_relax; one is ~11 ns on the */
    SPIN_DEFAULT = 512, /* target VM: ~6 µs */
    SPIN_MAX = 2048,    /* ~23 µs: about one park/unpark round trip */
    SPIN_PROBE_EVERY = 16,
};

static _Atomic unsigned g_spinners;
static _Atomic unsigned g_ncpus; /* 0 until first read */

WEFT_API unsigned weft_ncpus(void)
{
    /* Relaxed: every thread computes the same value, so a racing first
       read only repeats the work; it is read on every blocking wait. */
    unsigned n = atomic_load_explicit(&g_ncpus, memory_order_relaxed);
    if (weft_likely(n))
        return n;
    cpu_set_t set;
    int k = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        k = CPU_COUNT(&set);
    n = k > 0 ? (unsigned)k : 1;
    atomic_store_explicit(&g_ncpus, n, memory_order_relaxed);
    return n;
}

WEFT_API void weft_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

WEFT_API uint32_t weft_spin_enter(weft_spin *s)
{
    unsigned cpus = weft_ncpus();
    if (cpus < 2)
        return 0;
    unsigned cur = atomic_load_explicit(&g_spinners, memory_order_relaxed);
    do {
        if (cur >= cpus)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&g_spinners, &cur, cur + 1,
                                                    memory_order_relaxed, memory_order_relaxed));

    uint32_t probe = atomic_fetch_add_explicit(WEFT_ATOMIC_U32(&s->probe_), 1, memory_order_relaxed);
    if (probe % SPIN_PROBE_EVERY == SPIN_PROBE_EVERY - 1)
        return SPIN_MAX;
    uint32_t b = atomic_load_explicit(WEFT_ATOMIC_U32(&s->budget_), memory_order_relaxed);
    return b ? b : SPIN_DEFAULT;
}

WEFT_API void weft_spin_leave(weft_spin *s, uint32_t used, bool success)
{
    atomic_fetch_sub_explicit(&g_spinners, 1, memory_order_relaxed);

    uint32_t target;
    if (success)
        target = 2 * used < SPIN_MIN ? SPIN_MIN : 2 * used > SPIN_MAX ? SPIN_MAX : 2 * used;
    else if (used >= SPIN_MAX)
        target = SPIN_MIN; /* a full probe ran out: spinning does not pay here */
    else
        return;            /* ran out of a short budget: no information */
    _Atomic uint32_t *bw = WEFT_ATOMIC_U32(&s->budget_);
    uint32_t b = atomic_load_explicit(bw, memory_order_relaxed);
    if (!b)
        b = SPIN_DEFAULT;
    /* Lost updates between racing threads are fine: it is an average. */
    atomic_store_explicit(bw, b - b / 8 + target / 8, memory_order_relaxed);
}
