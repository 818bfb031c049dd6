/* sync_bench.c — weft's sync primitives, tasks and timers against their
 * pthread / libc baselines (bench/baselines/sync_baselines.h and libc).
 *
 * Every body reports ns_per_op (its "op" is named below), and where it is
 * measured cpu_ns_per_op (the CPU of the harness's worker threads in the
 * region, per op: spinning shows there), and leaves `items` at 0 (these are
 * not messages). The timed region is bench_run_threads' —
 * from the release of the start gate to the end of the last worker — except
 * for cancel fan-out, which times each cancellation itself (see there).
 * Threads of the harness are created before the region; threads whose
 * creation *is* the measured thing (the pthread baselines of spawn and
 * fan-in) are created inside it.
 *
 *   sync/once_done/{weft,acquire_load,acquire_load_check,acquire_load_call,
 *                   pthread_once}
 *       op: one call on a once that completed before the region (weft_once_do,
 *       pthread_once), or one acquire load of a flag: summed (the bare load),
 *       guarding a call as a hand-written "initialised yet?" check does
 *       (load, compare, branch over a non-inlined init call: the same
 *       instructions a weft_once_do fast path needs), and through a
 *       non-inlined function (the cost of a call). WEFT_BENCH_SYNC_OPS calls
 *       on one thread. Check: the init function ran exactly once; the loads
 *       read the flag set.
 *   sync/wg_add_done/{weft,two_atomics,mutex}
 *       op: weft_wg_add(1) + weft_wg_done, uncontended, one thread; the
 *       baselines: two atomic RMWs on one 64-bit word (fetch_add and
 *       fetch_sub of 1 << 32, release, the floor of any add/done pair), and
 *       the mutex + condvar waitgroup. Check: the counter ends at zero.
 *   sync/fanin64/{weft,pthread,pthread_mutex_wg}
 *       op: one round of 64 tasks and a wait for all of them: 64 weft_wg_go
 *       + weft_wg_wait; 64 pthread_create + 64 pthread_join; 64 detached
 *       pthread_create + a mutex waitgroup. WEFT_BENCH_SPAWNS / 64 rounds.
 *       The weft pool is warmed by one untimed round first. Check: every
 *       task's result (a plain store) is seen after the wait.
 *   sync/spawn/{weft_wg,weft_chan,pthread}
 *       op: start one task and wait for it, one at a time: weft_wg_go +
 *       weft_wg_wait; weft_go + weft_chan_recv on a pre-created unbuffered
 *       channel the task sends its result on; pthread_create + pthread_join
 *       (default attributes). WEFT_BENCH_SPAWNS tasks. Check: each result.
 *   sync/cancel_fanout_{1,100,1000}/{weft,condvar}
 *       op: one cancellation with N threads blocked: in
 *       weft_chan_recv(weft_ctx_done(ctx)) for weft, in a condvar wait on a
 *       flag for the baseline (cv_cancel). The waiters (pthreads, 64 KiB
 *       stacks) are created once per run and reused for
 *       WEFT_BENCH_CANCEL_ROUNDS rounds. Each round, once every waiter is
 *       asleep in the kernel (its /proc state is S), the main thread reads
 *       the clock and cancels; each waiter reads the clock when its wait
 *       returns. Timed: cancel → the last waiter awake (ns_per_op is the
 *       mean over rounds; also the median round, the median waiter and the
 *       duration of the cancel call). Check: every waiter returns, weft's
 *       with WEFT_ECLOSED and the context's error WEFT_ECANCELED.
 *   sync/sem_4t_size2/{weft,posix}
 *       op: one acquire + release of one unit, 4 threads on a semaphore of
 *       size 2 (weft_sem with no context; a POSIX sem_t), each thread doing
 *       a quarter of WEFT_BENCH_SYNC_SLOW_OPS. Check: never more than 2
 *       holders at once (counted inside), every acquire succeeded.
 *   sync/timer_new_stop/weft, sync/timer_new_stop_10k/weft
 *       op: weft_timer_new(delay) + weft_timer_stop + weft_timer_free,
 *       WEFT_BENCH_SYNC_SLOW_OPS times; alone in the service (1 s delay: the
 *       earliest deadline, so a schedule wakes the timer thread whenever
 *       that thread last went to sleep with nothing pending), and among
 *       10 000 pending timers (1 h + up to 10 s, the new one falls inside
 *       that range: a heap insert and removal, never a wake). Check: stop
 *       reports the timer was still pending.
 *   sync/after_func0/weft
 *       op: weft_after_func(0, fn) through to fn running on a pool task,
 *       pipelined: WEFT_BENCH_SYNC_SLOW_OPS / 4 schedules, then a waitgroup
 *       wait for every fn. Check: every fn ran once.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "baselines/sync_baselines.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <weft/chan.h>
#include <weft/ctx.h>
#include <weft/go.h>
#include <weft/sync.h>
#include <weft/time.h>

#if defined(__clang__)
#define NOT_INLINED __attribute__((noinline))
#else
#define NOT_INLINED __attribute__((noipa))
#endif

static void sync_fail(_Atomic(const char *) *slot, const char *msg)
{
    const char *expected = NULL;
    atomic_compare_exchange_strong(slot, &expected, msg);
}

static void futex_wait_u32(_Atomic uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_u32(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Set ns_per_op from the measured region and `ops`, and cpu_ns_per_op from
   the CPU time the harness's workers spent in it (not the CPU of weft's pool
   or timer threads, nor of threads a baseline starts; absent where not
   measured). */
static void per_op(bench_result *out, double ops)
{
    if (ops <= 0)
        return;
    bench_counter_add(out, "ns_per_op", out->seconds * 1e9 / ops);
    if (out->cpu_seconds >= 0)
        bench_counter_add(out, "cpu_ns_per_op", out->cpu_seconds * 1e9 / ops);
}

/* ---- once after completion ------------------------------------------------ */

enum once_kind { ONCE_WEFT, ONCE_LOAD, ONCE_LOAD_CHECK, ONCE_LOAD_CALL, ONCE_PTHREAD };

typedef struct once_run {
    enum once_kind kind;
    uint64_t n;
    weft_once once;
    _Atomic uint32_t flag;
    uint64_t sum;               /* loads: what the loop read */
} once_run;

static int g_once_runs;         /* incremented by the init functions */
static pthread_once_t g_pthread_once = PTHREAD_ONCE_INIT;

static void once_fn(void *arg)
{
    (void)arg;
    g_once_runs++;
}

static void pthread_once_fn(void)
{
    g_once_runs++;
}

NOT_INLINED static void flag_init(once_run *r)
{
    g_once_runs++;
    atomic_store_explicit(&r->flag, 1, memory_order_release);
}

NOT_INLINED static uint32_t load_call(_Atomic uint32_t *f)
{
    return atomic_load_explicit(f, memory_order_acquire);
}

static void once_worker(void *ctx, int index)
{
    (void)index;
    once_run *r = ctx;
    uint64_t n = r->n, sum = 0;
    switch (r->kind) {
    case ONCE_WEFT:
        for (uint64_t i = 0; i < n; i++)
            weft_once_do(&r->once, once_fn, NULL);
        break;
    case ONCE_LOAD:
        for (uint64_t i = 0; i < n; i++)
            sum += atomic_load_explicit(&r->flag, memory_order_acquire);
        break;
    case ONCE_LOAD_CHECK:
        for (uint64_t i = 0; i < n; i++) {
            if (atomic_load_explicit(&r->flag, memory_order_acquire) != 1)
                flag_init(r);
            sum++;
        }
        break;
    case ONCE_LOAD_CALL:
        for (uint64_t i = 0; i < n; i++)
            sum += load_call(&r->flag);
        break;
    case ONCE_PTHREAD:
        for (uint64_t i = 0; i < n; i++)
            pthread_once(&g_pthread_once, pthread_once_fn);
        break;
    }
    r->sum = sum;
}

static void once_body(const void *arg, bench_result *out)
{
    once_run r;
    memset(&r, 0, sizeof r);
    r.kind = (enum once_kind)(intptr_t)arg;
    r.n = bench_sync_ops();
    atomic_init(&r.flag, 1);
    /* Complete the once before the region. */
    g_once_runs = 0;
    if (r.kind == ONCE_WEFT) {
        weft_once_do(&r.once, once_fn, NULL);
        if (!weft_once_done(&r.once) || g_once_runs != 1) {
            out->error = "weft_once_do did not complete the once";
            return;
        }
    } else if (r.kind == ONCE_PTHREAD) {
        pthread_once(&g_pthread_once, pthread_once_fn);
        g_once_runs = 1;        /* it ran in an earlier repetition, or just now */
    }
    if (bench_run_threads(1, once_worker, &r, out) != 0)
        return;
    if ((r.kind == ONCE_WEFT || r.kind == ONCE_PTHREAD) && g_once_runs != 1)
        out->error = "the once function ran more than once";
    else if (r.kind == ONCE_LOAD_CHECK && g_once_runs != 0)
        out->error = "the guarded init ran on a set flag";
    else if ((r.kind == ONCE_LOAD || r.kind == ONCE_LOAD_CHECK || r.kind == ONCE_LOAD_CALL) &&
             r.sum != r.n)
        out->error = "the flag loads read a wrong value";
    per_op(out, (double)r.n);
}

/* ---- waitgroup add/done pair ---------------------------------------------- */

enum wg_kind { WG_WEFT, WG_ATOMICS, WG_MUTEX };

typedef struct wg_run {
    enum wg_kind kind;
    uint64_t n;
    weft_wg wg;
    _Atomic uint64_t word;
    mutex_wg mwg;
} wg_run;

static void wg_worker(void *ctx, int index)
{
    (void)index;
    wg_run *r = ctx;
    uint64_t n = r->n;
    switch (r->kind) {
    case WG_WEFT:
        for (uint64_t i = 0; i < n; i++) {
            weft_wg_add(&r->wg, 1);
            weft_wg_done(&r->wg);
        }
        break;
    case WG_ATOMICS:
        for (uint64_t i = 0; i < n; i++) {
            atomic_fetch_add_explicit(&r->word, UINT64_C(1) << 32, memory_order_release);
            atomic_fetch_sub_explicit(&r->word, UINT64_C(1) << 32, memory_order_release);
        }
        break;
    case WG_MUTEX:
        for (uint64_t i = 0; i < n; i++) {
            mutex_wg_add(&r->mwg, 1);
            mutex_wg_done(&r->mwg);
        }
        break;
    }
}

static void wg_body(const void *arg, bench_result *out)
{
    wg_run r;
    memset(&r, 0, sizeof r);
    r.kind = (enum wg_kind)(intptr_t)arg;
    r.n = bench_sync_ops();
    atomic_init(&r.word, 0);
    mutex_wg_init(&r.mwg);
    if (bench_run_threads(1, wg_worker, &r, out) == 0) {
        if (r.kind == WG_WEFT && weft_wg_wait_until(&r.wg, WEFT_NOWAIT) != 0)
            out->error = "weft_wg counter not zero after add/done pairs";
        else if (r.kind == WG_ATOMICS && atomic_load(&r.word) != 0)
            out->error = "atomic counter not zero";
        else if (r.kind == WG_MUTEX && r.mwg.count != 0)
            out->error = "mutex_wg counter not zero";
        per_op(out, (double)r.n);
    }
    mutex_wg_destroy(&r.mwg);
}

/* ---- 64-task fan-in and one-at-a-time spawn ------------------------------- */

#define FANIN 64

enum spawn_kind { SP_WEFT_WG, SP_WEFT_CHAN, SP_PTHREAD, SP_PTHREAD_MWG };

typedef struct task {
    struct spawn_run *run;
    uint64_t value;             /* what the task stores in result */
    uint64_t result;            /* plain store by the task */
} task;

typedef struct spawn_run {
    enum spawn_kind kind;
    bool fanin;
    uint64_t rounds;            /* fan-in rounds, or single spawns */
    weft_wg wg;
    weft_chan *ch;              /* SP_WEFT_CHAN */
    mutex_wg mwg;               /* SP_PTHREAD_MWG */
    task tasks[FANIN];
    pthread_t tids[FANIN];
    int64_t *round_ns;
    _Atomic(const char *) error;
} spawn_run;

static void task_fn(void *arg)
{
    task *t = arg;
    t->result = t->value;
}

static void task_chan_fn(void *arg)
{
    task *t = arg;
    if (weft_chan_send(t->run->ch, &t->value) != 0)
        sync_fail(&t->run->error, "task: send of the result failed");
}

static void *task_thread(void *arg)
{
    task_fn(arg);
    return NULL;
}

static void *task_thread_mwg(void *arg)
{
    task *t = arg;
    task_fn(t);
    mutex_wg_done(&t->run->mwg);
    return NULL;
}

/* One round: start k tasks of this kind, wait for all, check the results. */
static void spawn_round(spawn_run *r, int k, uint64_t round)
{
    for (int i = 0; i < k; i++) {
        r->tasks[i].value = round * FANIN + (uint64_t)i + 1;
        r->tasks[i].result = 0;
    }
    switch (r->kind) {
    case SP_WEFT_WG:
        for (int i = 0; i < k; i++)
            if (weft_wg_go(&r->wg, task_fn, &r->tasks[i]) != 0) {
                sync_fail(&r->error, "weft_wg_go failed");
                r->tasks[i].result = r->tasks[i].value;
            }
        weft_wg_wait(&r->wg);
        break;
    case SP_WEFT_CHAN:
        for (int i = 0; i < k; i++) {
            if (weft_go(task_chan_fn, &r->tasks[i]) != 0) {
                sync_fail(&r->error, "weft_go failed");
                r->tasks[i].result = r->tasks[i].value;
                continue;
            }
            uint64_t v = 0;
            if (weft_chan_recv(r->ch, &v) != 0)
                sync_fail(&r->error, "recv of a task's result failed");
            r->tasks[i].result = v;
        }
        break;
    case SP_PTHREAD:
        for (int i = 0; i < k; i++)
            if (pthread_create(&r->tids[i], NULL, task_thread, &r->tasks[i]) != 0) {
                sync_fail(&r->error, "pthread_create failed");
                r->tids[i] = 0;
                r->tasks[i].result = r->tasks[i].value;
            }
        for (int i = 0; i < k; i++)
            if (r->tids[i] != 0)
                pthread_join(r->tids[i], NULL);
        break;
    case SP_PTHREAD_MWG: {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        for (int i = 0; i < k; i++) {
            mutex_wg_add(&r->mwg, 1);
            pthread_t t;
            if (pthread_create(&t, &attr, task_thread_mwg, &r->tasks[i]) != 0) {
                sync_fail(&r->error, "pthread_create failed");
                r->tasks[i].result = r->tasks[i].value;
                mutex_wg_done(&r->mwg);
            }
        }
        pthread_attr_destroy(&attr);
        mutex_wg_wait(&r->mwg);
        break;
    }
    }
    for (int i = 0; i < k; i++)
        if (r->tasks[i].result != r->tasks[i].value)
            sync_fail(&r->error, "a task's result was not visible after the wait");
}

static void spawn_worker(void *ctx, int index)
{
    (void)index;
    spawn_run *r = ctx;
    int k = r->fanin ? FANIN : 1;
    int64_t prev = bench_now_ns();
    for (uint64_t i = 0; i < r->rounds; i++) {
        spawn_round(r, k, i + 1);
        if (r->round_ns != NULL) {
            int64_t now = bench_now_ns();
            r->round_ns[i] = now - prev;
            prev = now;
        }
    }
}

typedef struct spawn_params {
    enum spawn_kind kind;
    bool fanin;
} spawn_params;

static void spawn_body(const void *arg, bench_result *out)
{
    const spawn_params *p = arg;
    spawn_run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    r->kind = p->kind;
    r->fanin = p->fanin;
    r->rounds = p->fanin ? bench_spawns() / FANIN : bench_spawns();
    if (r->rounds == 0)
        r->rounds = 1;
    for (int i = 0; i < FANIN; i++)
        r->tasks[i].run = r;
    mutex_wg_init(&r->mwg);
    if (p->kind == SP_WEFT_CHAN && (r->ch = weft_chan_new(sizeof(uint64_t), 0)) == NULL) {
        out->error = "channel creation failed";
        goto done;
    }
    if (p->fanin && (r->round_ns = calloc(r->rounds, sizeof *r->round_ns)) == NULL) {
        out->error = "out of memory";
        goto done;
    }
    /* Warm the weft pool (and libc's thread stack cache) outside the region:
       a program that uses weft_go keeps its pool busy. */
    spawn_round(r, p->fanin ? FANIN : 1, 0);
    if (bench_run_threads(1, spawn_worker, r, out) != 0)
        goto done;
    const char *err = atomic_load(&r->error);
    if (err != NULL) {
        out->error = err;
        goto done;
    }
    per_op(out, (double)r->rounds);
    if (p->fanin) {
        bench_counter_add(out, "ns_per_task", out->seconds * 1e9 / (double)(r->rounds * FANIN));
        bench_sort_i64(r->round_ns, r->rounds);
        bench_counter_add(out, "round_p50_ns", bench_quantile_sorted(r->round_ns, r->rounds, 0.5));
    }
done:
    if (r->ch != NULL)
        weft_chan_free(r->ch);
    mutex_wg_destroy(&r->mwg);
    free(r->round_ns);
    free(r);
}

static const spawn_params FANIN_WEFT = { SP_WEFT_WG, true };
static const spawn_params FANIN_PTHREAD = { SP_PTHREAD, true };
static const spawn_params FANIN_PTHREAD_MWG = { SP_PTHREAD_MWG, true };
static const spawn_params SPAWN_WEFT_WG = { SP_WEFT_WG, false };
static const spawn_params SPAWN_WEFT_CHAN = { SP_WEFT_CHAN, false };
static const spawn_params SPAWN_PTHREAD = { SP_PTHREAD, false };

/* ---- cancel fan-out ----------------------------------------------------- */

typedef struct fan_run {
    bool weft;
    int n;
    uint64_t rounds;
    _Atomic uint32_t gen;       /* futex word: the round the waiters may start */
    _Atomic uint32_t finished;  /* futex word: the round whose waiters all woke */
    weft_ctx *ctx;              /* this round's (weft) */
    weft_chan *done;
    cv_cancel cv;               /* this round's (baseline) */
    _Atomic int arrived;        /* waiters about to block, this round */
    _Atomic int woke;           /* waiters whose wait returned, this round */
    _Atomic bool abort;
    pid_t *tids;
    int64_t *wake_ns;           /* per waiter, this round */
    _Atomic(const char *) error;
} fan_run;

typedef struct fan_waiter {
    fan_run *run;
    int index;
} fan_waiter;

static void *fan_waiter_main(void *p)
{
    fan_waiter *fw = p;
    fan_run *r = fw->run;
    r->tids[fw->index] = (pid_t)syscall(SYS_gettid);
    for (uint32_t round = 1; round <= r->rounds; round++) {
        while (atomic_load_explicit(&r->gen, memory_order_acquire) < round)
            futex_wait_u32(&r->gen, round - 1);
        if (atomic_load(&r->abort))
            break;
        atomic_fetch_add(&r->arrived, 1);
        if (r->weft) {
            int rc = weft_chan_recv(r->done, NULL);
            r->wake_ns[fw->index] = bench_now_ns();
            if (rc != WEFT_ECLOSED)
                sync_fail(&r->error, "a waiter's receive on the done channel did not return closed");
            else if (weft_ctx_err(r->ctx) != WEFT_ECANCELED)
                sync_fail(&r->error, "done channel closed but the context reports no cancel");
        } else {
            cv_cancel_wait(&r->cv);
            r->wake_ns[fw->index] = bench_now_ns();
        }
        if (atomic_fetch_add(&r->woke, 1) + 1 == r->n) {
            atomic_store_explicit(&r->finished, round, memory_order_release);
            futex_wake_u32(&r->finished);
        }
    }
    return NULL;
}

/* Wait until every waiter entered its wait and is asleep in the kernel (the
   waiters' own spinning, if any, is over): two consecutive sweeps over
   their /proc states that find every one asleep (one sweep could catch a
   waiter briefly asleep on a lock on its way into the wait). False if that
   did not happen within 10 s. */
static bool fan_settle(fan_run *r)
{
    int64_t give_up = bench_now_ns() + 10 * INT64_C(1000000000);
    while (atomic_load(&r->arrived) < r->n) {
        if (bench_now_ns() > give_up)
            return false;
        bench_sleep_ns(200000);
    }
    return bench_all_asleep(r->tids, r->n, give_up, 200000);
}

static void fan_body(const void *arg, bench_result *out)
{
    const int *params = arg;    /* { waiters, weft } */
    fan_run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    r->n = params[0];
    r->weft = params[1] != 0;
    r->rounds = bench_cancel_rounds();
    size_t nlat = r->rounds * (size_t)r->n;
    r->tids = calloc((size_t)r->n, sizeof *r->tids);
    r->wake_ns = calloc((size_t)r->n, sizeof *r->wake_ns);
    fan_waiter *fw = calloc((size_t)r->n, sizeof *fw);
    pthread_t *th = calloc((size_t)r->n, sizeof *th);
    int64_t *all = calloc(r->rounds, sizeof *all);
    int64_t *cancel_call = calloc(r->rounds, sizeof *cancel_call);
    int64_t *waiter_lat = calloc(nlat, sizeof *waiter_lat);
    int created = 0;
    if (!r->tids || !r->wake_ns || !fw || !th || !all || !cancel_call || !waiter_lat) {
        out->error = "out of memory";
        goto done;
    }

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (; created < r->n; created++) {
        fw[created] = (fan_waiter){ r, created };
        if (pthread_create(&th[created], &attr, fan_waiter_main, &fw[created]) != 0)
            break;
    }
    pthread_attr_destroy(&attr);
    if (created < r->n)
        out->error = "pthread_create failed for a cancel fan-out waiter";

    double total_ns = 0;
    for (uint32_t round = 1; round <= r->rounds && out->error == NULL; round++) {
        if (r->weft) {
            if ((r->ctx = weft_ctx_with_cancel(NULL)) == NULL) {
                out->error = "weft_ctx_with_cancel failed";
                break;
            }
            r->done = weft_ctx_done(r->ctx);    /* created here, not by the waiters */
        } else {
            cv_cancel_init(&r->cv);
        }
        atomic_store(&r->arrived, 0);
        atomic_store(&r->woke, 0);
        atomic_store_explicit(&r->gen, round, memory_order_release);
        futex_wake_u32(&r->gen);
        bool settled = fan_settle(r);

        int64_t t0 = bench_now_ns();
        if (r->weft)
            weft_ctx_cancel(r->ctx);
        else
            cv_cancel_cancel(&r->cv);
        int64_t t_ret = bench_now_ns();
        /* Sleep until the last waiter reports (the watchdog catches a hang). */
        while (atomic_load_explicit(&r->finished, memory_order_acquire) < round)
            futex_wait_u32(&r->finished, round - 1);

        int64_t last = t0;
        for (int i = 0; i < r->n; i++) {
            waiter_lat[(round - 1) * (size_t)r->n + (size_t)i] = r->wake_ns[i] - t0;
            if (r->wake_ns[i] > last)
                last = r->wake_ns[i];
        }
        all[round - 1] = last - t0;
        cancel_call[round - 1] = t_ret - t0;
        total_ns += (double)(last - t0);
        /* Every waiter is past its last use of this round's ctx / cv. */
        if (r->weft) {
            weft_ctx_release(r->ctx);
            r->ctx = NULL;
        } else {
            cv_cancel_destroy(&r->cv);
        }
        if (!settled)
            out->error = "cancel fan-out: the waiters did not all fall asleep within 10 s";
    }

    /* Release the waiters still at a round gate (only after an error), then
       join everyone. */
    atomic_store(&r->abort, true);
    atomic_store_explicit(&r->gen, UINT32_MAX, memory_order_release);
    futex_wake_u32(&r->gen);
    for (int i = 0; i < created; i++)
        pthread_join(th[i], NULL);
    if (out->error == NULL)
        out->error = atomic_load(&r->error);
    if (out->error != NULL)
        goto done;

    out->seconds = total_ns * 1e-9;
    out->cpu_seconds = -1;
    per_op(out, (double)r->rounds);
    bench_sort_i64(all, r->rounds);
    bench_sort_i64(cancel_call, r->rounds);
    bench_sort_i64(waiter_lat, nlat);
    bench_counter_add(out, "all_woken_p50_ns", bench_quantile_sorted(all, r->rounds, 0.5));
    bench_counter_add(out, "all_woken_max_ns", (double)all[r->rounds - 1]);
    bench_counter_add(out, "waiter_p50_ns", bench_quantile_sorted(waiter_lat, nlat, 0.5));
    bench_counter_add(out, "cancel_call_p50_ns", bench_quantile_sorted(cancel_call, r->rounds, 0.5));
done:
    free(r->tids);
    free(r->wake_ns);
    free(fw);
    free(th);
    free(all);
    free(cancel_call);
    free(waiter_lat);
    free(r);
}

static const int FAN_1_WEFT[2] = { 1, 1 }, FAN_1_CV[2] = { 1, 0 };
static const int FAN_100_WEFT[2] = { 100, 1 }, FAN_100_CV[2] = { 100, 0 };
static const int FAN_1000_WEFT[2] = { 1000, 1 }, FAN_1000_CV[2] = { 1000, 0 };

/* ---- contended semaphore -------------------------------------------------- */

#define SEM_THREADS 4
#define SEM_SIZE 2

typedef struct sem_run {
    bool weft;
    uint64_t per_thread;
    weft_sem *ws;
    sem_t ps;
    _Atomic int holders;
    _Atomic int max_holders;
    _Atomic uint64_t acquired;
    _Atomic(const char *) error;
} sem_run;

static void sem_worker(void *ctx, int index)
{
    (void)index;
    sem_run *r = ctx;
    uint64_t got = 0;
    int max = 0;
    for (uint64_t i = 0; i < r->per_thread; i++) {
        if (r->weft) {
            if (weft_sem_acquire(r->ws, 1, NULL) != 0) {
                sync_fail(&r->error, "weft_sem_acquire failed");
                break;
            }
        } else {
            while (sem_wait(&r->ps) != 0)
                ;               /* EINTR */
        }
        int h = atomic_fetch_add_explicit(&r->holders, 1, memory_order_relaxed) + 1;
        if (h > max)
            max = h;
        atomic_fetch_sub_explicit(&r->holders, 1, memory_order_relaxed);
        got++;
        if (r->weft)
            weft_sem_release(r->ws, 1);
        else
            sem_post(&r->ps);
    }
    atomic_fetch_add(&r->acquired, got);
    int m = atomic_load(&r->max_holders);
    while (max > m && !atomic_compare_exchange_weak(&r->max_holders, &m, max))
        ;
}

static void sem_body(const void *arg, bench_result *out)
{
    sem_run r;
    memset(&r, 0, sizeof r);
    r.weft = arg != NULL;
    r.per_thread = bench_sync_slow_ops() / SEM_THREADS;
    if (r.per_thread == 0)
        r.per_thread = 1;
    if (r.weft) {
        if ((r.ws = weft_sem_new(SEM_SIZE)) == NULL) {
            out->error = "weft_sem_new failed";
            return;
        }
    } else if (sem_init(&r.ps, 0, SEM_SIZE) != 0) {
        out->error = "sem_init failed";
        return;
    }
    if (bench_run_threads(SEM_THREADS, sem_worker, &r, out) == 0) {
        uint64_t total = r.per_thread * SEM_THREADS;
        const char *err = atomic_load(&r.error);
        if (err != NULL)
            out->error = err;
        else if (atomic_load(&r.max_holders) > SEM_SIZE)
            out->error = "more holders at once than the semaphore's size";
        else if (atomic_load(&r.acquired) != total)
            out->error = "acquires lost";
        per_op(out, (double)total);
        bench_counter_add(out, "max_holders", atomic_load(&r.max_holders));
    }
    if (r.weft) {
        if (out->error == NULL && weft_sem_try_acquire(r.ws, SEM_SIZE) != 0)
            out->error = "weft_sem: units lost (the full size is not free at the end)";
        weft_sem_free(r.ws);
    } else {
        sem_destroy(&r.ps);
    }
}

/* ---- timers --------------------------------------------------------------- */

#define TIMER_PENDING 10000

typedef struct timer_run {
    uint64_t n;
    bool among_pending;
    weft_timer **pending;
    _Atomic(const char *) error;
} timer_run;

static void timer_worker(void *ctx, int index)
{
    (void)index;
    timer_run *r = ctx;
    const int64_t base = INT64_C(3600) * 1000000000;   /* 1 h */
    for (uint64_t i = 0; i < r->n; i++) {
        int64_t delay = r->among_pending
                            ? base + (int64_t)((i * 7919) % TIMER_PENDING) * 1000000
                            : INT64_C(1000000000);
        weft_timer *t = weft_timer_new(delay);
        if (t == NULL) {
            sync_fail(&r->error, "weft_timer_new failed");
            return;
        }
        int rc = weft_timer_stop(t);
        weft_timer_free(t);
        if (rc != 0) {
            sync_fail(&r->error, "weft_timer_stop: a pending timer was not pending");
            return;
        }
    }
}

static void timer_body(const void *arg, bench_result *out)
{
    timer_run r;
    memset(&r, 0, sizeof r);
    r.n = bench_sync_slow_ops();
    r.among_pending = arg != NULL;
    int made = 0;
    if (r.among_pending) {
        r.pending = calloc(TIMER_PENDING, sizeof *r.pending);
        if (r.pending == NULL) {
            out->error = "out of memory";
            return;
        }
        for (; made < TIMER_PENDING; made++) {
            int64_t d = INT64_C(3600) * 1000000000 + (int64_t)made * 1000000;
            if ((r.pending[made] = weft_timer_new(d)) == NULL) {
                out->error = "weft_timer_new failed";
                break;
            }
        }
    }
    if (out->error == NULL && bench_run_threads(1, timer_worker, &r, out) == 0) {
        const char *err = atomic_load(&r.error);
        if (err != NULL)
            out->error = err;
        per_op(out, (double)r.n);
    }
    for (int i = 0; i < made; i++)
        weft_timer_free(r.pending[i]);
    free(r.pending);
}

typedef struct after_run {
    uint64_t n;
    weft_wg wg;
    _Atomic uint64_t ran;
    _Atomic(const char *) error;
} after_run;

static void after_fn(void *arg)
{
    after_run *r = arg;
    atomic_fetch_add_explicit(&r->ran, 1, memory_order_relaxed);
    weft_wg_done(&r->wg);
}

static void after_worker(void *ctx, int index)
{
    (void)index;
    after_run *r = ctx;
    for (uint64_t i = 0; i < r->n; i++) {
        weft_wg_add(&r->wg, 1);
        if (weft_after_func(0, after_fn, r) != 0) {
            weft_wg_done(&r->wg);
            sync_fail(&r->error, "weft_after_func failed");
            break;
        }
    }
    weft_wg_wait(&r->wg);
}

static void after_body(const void *arg, bench_result *out)
{
    (void)arg;
    after_run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        out->error = "out of memory";
        return;
    }
    r->n = bench_sync_slow_ops() / 4;
    if (r->n == 0)
        r->n = 1;
    if (bench_run_threads(1, after_worker, r, out) == 0) {
        const char *err = atomic_load(&r->error);
        if (err != NULL)
            out->error = err;
        else if (atomic_load(&r->ran) != r->n)
            out->error = "an after_func callback did not run exactly once";
        per_op(out, (double)r->n);
    }
    free(r);
}

/* ---- registration --------------------------------------------------------- */

void sync_bench_register(void)
{
    bench_register("sync/once_done/weft", once_body, (const void *)(intptr_t)ONCE_WEFT);
    bench_register("sync/once_done/acquire_load", once_body, (const void *)(intptr_t)ONCE_LOAD);
    bench_register("sync/once_done/acquire_load_check", once_body,
                   (const void *)(intptr_t)ONCE_LOAD_CHECK);
    bench_register("sync/once_done/acquire_load_call", once_body,
                   (const void *)(intptr_t)ONCE_LOAD_CALL);
    bench_register("sync/once_done/pthread_once", once_body, (const void *)(intptr_t)ONCE_PTHREAD);
    bench_register("sync/wg_add_done/weft", wg_body, (const void *)(intptr_t)WG_WEFT);
    bench_register("sync/wg_add_done/two_atomics", wg_body, (const void *)(intptr_t)WG_ATOMICS);
    bench_register("sync/wg_add_done/mutex", wg_body, (const void *)(intptr_t)WG_MUTEX);
    bench_register("sync/fanin64/weft", spawn_body, &FANIN_WEFT);
    bench_register("sync/fanin64/pthread", spawn_body, &FANIN_PTHREAD);
    bench_register("sync/fanin64/pthread_mutex_wg", spawn_body, &FANIN_PTHREAD_MWG);
    bench_register("sync/spawn/weft_wg", spawn_body, &SPAWN_WEFT_WG);
    bench_register("sync/spawn/weft_chan", spawn_body, &SPAWN_WEFT_CHAN);
    bench_register("sync/spawn/pthread", spawn_body, &SPAWN_PTHREAD);
    bench_register("sync/cancel_fanout_1/weft", fan_body, FAN_1_WEFT);
    bench_register("sync/cancel_fanout_1/condvar", fan_body, FAN_1_CV);
    bench_register("sync/cancel_fanout_100/weft", fan_body, FAN_100_WEFT);
    bench_register("sync/cancel_fanout_100/condvar", fan_body, FAN_100_CV);
    bench_register("sync/cancel_fanout_1000/weft", fan_body, FAN_1000_WEFT);
    bench_register("sync/cancel_fanout_1000/condvar", fan_body, FAN_1000_CV);
    bench_register("sync/sem_4t_size2/weft", sem_body, (const void *)1);
    bench_register("sync/sem_4t_size2/posix", sem_body, NULL);
    bench_register("sync/timer_new_stop/weft", timer_body, NULL);
    bench_register("sync/timer_new_stop_10k/weft", timer_body, (const void *)1);
    bench_register("sync/after_func0/weft", after_body, NULL);
}
