/* sync/go.c — weft_go: a pool of threads that parks idle ones for reuse.
 *
 * Each pool thread owns a heap `worker`: its parker, its current task
 * (fn, arg, wg) and two links, one in the list of every worker (which keeps
 * each one reachable from a global, so LeakSanitizer never reports the pool
 * at exit) and one in the idle list (LIFO, so the coldest threads are the
 * ones that time out). Both lists are under one short futex lock.
 *
 * A worker's life:
 *
 *   created with a task ──▶ running ──(fn returned)──▶ idle: on the idle list,
 *        ▲                                               parked with a deadline
 *        │                                                  │          │
 *        └────(a spawner pops it under the lock, writes ────┘          │
 *              the task, unparks it)                    (deadline passed, still
 *                                                        on the list: unlink, free,
 *                                                        exit the thread)
 *
 * Why no task is lost: a spawner pops a worker only under the lock, and a
 * worker whose deadline passed retires only if, under the same lock, it is
 * still on the idle list. If a spawner got there first, the worker waits for
 * its unpark (the parker absorbs an unpark that came before) and runs the
 * task. The task's fields are written before the unpark, whose release pairs
 * with the worker's acquire when its wait returns.
 *
 * Growth: weft_go never waits for a busy thread; with no idle worker it
 * starts a detached thread named "weft-go" (all signals blocked, default
 * stack), so tasks that block on each other cannot starve the pool.
 * weft_tasks_live() is an atomic counter: +1 in weft_go, -1 when fn returns.
 *
 * fork: the pool lock is held across fork() (pthread_atfork), and the child
 * forgets the idle workers, whose threads do not exist in it.
 */
#include "lockfree/common.h"
#include "lockfree/list.h"
#include "lockfree/lock.h"
#include "sync/task.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <weft/go.h>
#include <weft/lockfree.h>

enum { IDLE_MS_DEFAULT = 5000 };

typedef struct worker {
    weft_parker park; /* unparked by the spawner that hands over a task */
    void (*fn)(void *);
    void *arg;
    weft_wg *wg;      /* weft_wg_go: done() after fn */
    weft_dlink all;   /* g_pool.all, under the lock */
    weft_dlink idle;  /* g_pool.idle while is_idle, under the lock */
    bool is_idle;     /* under the lock */
} worker;

static struct {
    weft_lock lock;
    weft_dlist all;  /* every worker, running or idle */
    weft_dlist idle; /* idle workers, most recently idle first */
    int64_t idle_ns;
} g_pool;

static _Atomic size_t g_live;
static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;
static _Thread_local worker *t_self; /* this thread's worker, in pool threads */

static void pool_lock_for_fork(void)
{
    weft_lock_acquire(&g_pool.lock);
}

static void pool_unlock_after_fork(void)
{
    weft_lock_release(&g_pool.lock);
}

/* In the child of a fork only the forking thread exists: no worker is idle
   any more, and the only live task is the forking thread's own, if it is a
   pool thread. The parent's workers stay on `all` (reachable, never used). */
static void pool_reset_in_child(void)
{
    g_pool.idle = (weft_dlist){ NULL, NULL };
    atomic_store_explicit(&g_live, t_self ? 1 : 0, memory_order_relaxed);
    weft_lock_release(&g_pool.lock);
}

static void pool_init(void)
{
    int64_t ms = IDLE_MS_DEFAULT;
    const char *env = getenv("WEFT_GO_IDLE_MS");
    if (env && *env) {
        long long v = strtoll(env, NULL, 10);
        if (v >= 1 && v <= INT64_MAX / 1000000)
            ms = v;
    }
    g_pool.idle_ns = ms * 1000000;
    pthread_atfork(pool_lock_for_fork, pool_unlock_after_fork, pool_reset_in_child);
}

static weft_spin g_idle_spin = WEFT_SPIN_INIT;

/* Park w on the idle list until a spawner hands it a task (true) or the
   idle timeout retires it (false: w is freed). */
static bool worker_idle(worker *w)
{
    /* The lock section below publishes the reset to the spawner that pops w. */
    weft_parker_reset(&w->park);
    weft_lock_acquire(&g_pool.lock);
    weft__dlist_push_front(&g_pool.idle, &w->idle);
    w->is_idle = true;
    weft_lock_release(&g_pool.lock);

    /* A short spin first (the spin policy decides how long, none when
       threads outnumber CPUs): a program that spawns tasks back to back
       finds the worker awake and skips the ~30 µs wake of a parked one. */
    uint32_t budget = weft_spin_enter(&g_idle_spin), i = 0;
    if (budget) {
        while (i < budget && !weft_parker_unparked(&w->park)) {
            weft_cpu_relax();
            i++;
        }
        weft_spin_leave(&g_idle_spin, i, i < budget);
    }
    if (weft_parker_wait(&w->park, weft_deadline_in(g_pool.idle_ns), 0) == 0)
        return true;

    weft_lock_acquire(&g_pool.lock);
    bool retire = w->is_idle; /* nobody popped us */
    if (retire) {
        weft__dlist_remove(&g_pool.idle, &w->idle);
        weft__dlist_remove(&g_pool.all, &w->all);
    }
    weft_lock_release(&g_pool.lock);
    if (!retire) {
        /* A spawner popped us: its task and its unpark are coming. */
        weft_parker_wait(&w->park, WEFT_FOREVER, 0);
        return true;
    }
    free(w);
    return false;
}

static void *worker_main(void *p)
{
    worker *w = p;
    t_self = w;
    pthread_setname_np(pthread_self(), "weft-go"); /* for ps, gdb and the tests */
    do {
        w->fn(w->arg);
        weft_wg *wg = w->wg;
        /* Release: pairs with the acquire in weft_tasks_live, so a caller
           that reads the lowered count sees what fn wrote. */
        atomic_fetch_sub_explicit(&g_live, 1, memory_order_release);
        if (wg)
            weft_wg_done(wg);
    } while (worker_idle(w));
    return NULL;
}

/* Start a detached thread for w. The thread inherits the signal mask of its
   creator, so block everything around the create. */
static int worker_start(worker *w)
{
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    if (pthread_attr_init(&attr) != 0)
        return WEFT_ENOMEM;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &attr, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : WEFT_ENOMEM;
}

int weft__go_task(void (*fn)(void *), void *arg, weft_wg *wg)
{
    pthread_once(&g_pool_once, pool_init);
    /* Relaxed: counted before the task exists; the unpark or pthread_create
       below orders this before the task's decrement. */
    atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);

    worker *w = NULL;
    weft_lock_acquire(&g_pool.lock);
    if (g_pool.idle.head) {
        w = weft__dlist_entry(g_pool.idle.head, worker, idle);
        weft__dlist_remove(&g_pool.idle, &w->idle);
        w->is_idle = false;
    }
    weft_lock_release(&g_pool.lock);

    if (w) {
        w->fn = fn;
        w->arg = arg;
        w->wg = wg;
        /* Release: publishes the task (and the caller's earlier writes) to
           the worker, whose wait returns after an acquire of the unpark. */
        weft_parker_unpark(&w->park);
        return 0;
    }

    w = calloc(1, sizeof *w);
    if (weft_unlikely(!w))
        goto fail_alloc;
    w->fn = fn;
    w->arg = arg;
    w->wg = wg;
    weft_lock_acquire(&g_pool.lock);
    weft__dlist_push_front(&g_pool.all, &w->all);
    weft_lock_release(&g_pool.lock);
    if (weft_unlikely(worker_start(w) != 0))
        goto fail_thread;
    return 0; /* w is the new thread's now: it may already be gone */

fail_thread:
    weft_lock_acquire(&g_pool.lock);
    weft__dlist_remove(&g_pool.all, &w->all);
    weft_lock_release(&g_pool.lock);
    free(w);
fail_alloc:
    atomic_fetch_sub_explicit(&g_live, 1, memory_order_relaxed);
    return WEFT_ENOMEM;
}

WEFT_API int weft_go(void (*fn)(void *), void *arg)
{
    if (!fn)
        return WEFT_EINVAL;
    return weft__go_task(fn, arg, NULL);
}

WEFT_API size_t weft_tasks_live(void)
{
    /* Acquire: pairs with the tasks' release decrements. */
    return atomic_load_explicit(&g_live, memory_order_acquire);
}
