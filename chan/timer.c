/* chan/timer.c — the timer service and weft_timer / weft_ticker.
 *
 * One detached thread, started on first use (pthread_once), owns a binary
 * min-heap of entries ordered by deadline, guarded by one lock. It sleeps on
 * its weft_parker until the earliest deadline:
 *
 *   timer thread                          weft__timer_add
 *   lock                                  lock
 *   fire what is due                      push e
 *   sleep_until = heap min                wake = e.when < sleep_until
 *   reset parker                          unlock
 *   unlock                                if wake: unpark
 *   wait(parker, sleep_until)
 *
 * No lost wakeup: the parker is reset under the lock, before the thread
 * publishes sleep_until. An add that sees the old sleep_until ran its
 * critical section before the thread's, so the thread sees the new entry in
 * the heap; an add that sees the new sleep_until unparks after the reset,
 * so the wait returns at once (an unpark before the wait is remembered).
 *
 * weft_timer: an entry whose locked fire does a try_send of the fire time
 * on a capacity-1 channel (dropped if full: a ticker drops unreceived
 * ticks). Stop removes the entry and drains the channel under the service
 * lock, so it serialises with firing: after stop, no stale value is in the
 * channel and none can arrive.
 */
#include "chan/timer.h"
#include "chan/chan_internal.h"
#include "lockfree/lock.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <weft/time.h>

static struct {
    weft_lock lock;
    weft_timer_entry **heap;
    size_t len, cap;
    int64_t sleep_until; /* WEFT_FOREVER while the thread has nothing to wait for */
    weft_parker park;
    pthread_once_t once;
    int start_error;
} g_svc = { .sleep_until = WEFT_FOREVER, .once = PTHREAD_ONCE_INIT };

/* ---- heap (lock held) ------------------------------------------------------ */

static void heap_set(size_t i, weft_timer_entry *e)
{
    g_svc.heap[i] = e;
    e->idx = i;
}

static void sift_up(size_t i)
{
    weft_timer_entry *e = g_svc.heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (g_svc.heap[p]->when <= e->when)
            break;
        heap_set(i, g_svc.heap[p]);
        i = p;
    }
    heap_set(i, e);
}

static void sift_down(size_t i)
{
    weft_timer_entry *e = g_svc.heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g_svc.len)
            break;
        if (c + 1 < g_svc.len && g_svc.heap[c + 1]->when < g_svc.heap[c]->when)
            c++;
        if (e->when <= g_svc.heap[c]->when)
            break;
        heap_set(i, g_svc.heap[c]);
        i = c;
    }
    heap_set(i, e);
}

static int heap_push(weft_timer_entry *e)
{
    if (g_svc.len == g_svc.cap) {
        size_t ncap = g_svc.cap ? 2 * g_svc.cap : 64;
        weft_timer_entry **h = realloc(g_svc.heap, ncap * sizeof *h);
        if (!h)
            return WEFT_ENOMEM;
        g_svc.heap = h;
        g_svc.cap = ncap;
    }
    heap_set(g_svc.len++, e);
    sift_up(e->idx);
    return 0;
}

static void heap_remove(weft_timer_entry *e)
{
    size_t i = e->idx;
    weft_timer_entry *last = g_svc.heap[--g_svc.len];
    e->idx = SIZE_MAX;
    if (last == e)
        return;
    heap_set(i, last);
    if (i > 0 && g_svc.heap[(i - 1) / 2]->when > last->when)
        sift_up(i);
    else
        sift_down(i);
}

/* ---- the timer thread -------------------------------------------------------- */

static void *timer_thread(void *unused)
{
    (void)unused;
    for (;;) {
        weft_timer_entry *unlocked = NULL;
        weft_lock_acquire(&g_svc.lock);
        int64_t now = weft_now();
        while (g_svc.len && g_svc.heap[0]->when <= now) {
            weft_timer_entry *e = g_svc.heap[0];
            heap_remove(e);
            if (!e->locked_fire) {
                e->fire_next = unlocked;
                unlocked = e;
                continue;
            }
            e->fire(e, now);
            if (e->period > 0) {
                /* Next multiple of the period after now: missed ticks drop. */
                e->when += e->period * (1 + (now - e->when) / e->period);
                heap_push(e); /* cannot fail: the slot was just freed */
            }
        }
        g_svc.sleep_until = g_svc.len ? g_svc.heap[0]->when : WEFT_FOREVER;
        weft_parker_reset(&g_svc.park);
        int64_t until = g_svc.sleep_until;
        weft_lock_release(&g_svc.lock);

        while (unlocked) {
            weft_timer_entry *next = unlocked->fire_next; /* fire may free it */
            unlocked->fire(unlocked, now);
            unlocked = next;
        }
        if (until > weft_now())
            weft_parker_wait(&g_svc.park, until, 0);
    }
    return NULL;
}

static void start_thread(void)
{
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The thread inherits a mask blocking every signal: signals go to the
       application's threads, never to ours. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    g_svc.start_error = pthread_create(&t, &attr, timer_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

/* ---- service API ------------------------------------------------------------- */

void weft__timer_lock(void)
{
    weft_lock_acquire(&g_svc.lock);
}

void weft__timer_unlock(void)
{
    weft_lock_release(&g_svc.lock);
}

int weft__timer_add(weft_timer_entry *e)
{
    pthread_once(&g_svc.once, start_thread);
    if (g_svc.start_error)
        return WEFT_EAGAIN;
    weft_lock_acquire(&g_svc.lock);
    int rc = heap_push(e);
    bool wake = rc == 0 && e->when < g_svc.sleep_until;
    if (wake)
        g_svc.sleep_until = e->when; /* one wake per new earliest deadline */
    weft_lock_release(&g_svc.lock);
    if (wake)
        weft_parker_unpark(&g_svc.park);
    return rc;
}

bool weft__timer_del_locked(weft_timer_entry *e)
{
    if (e->idx == SIZE_MAX)
        return false;
    heap_remove(e);
    return true;
}

bool weft__timer_del(weft_timer_entry *e)
{
    weft_lock_acquire(&g_svc.lock);
    bool removed = weft__timer_del_locked(e);
    weft_lock_release(&g_svc.lock);
    return removed;
}

/* ---- weft_timer ----------------------------------------------------------------- */

struct weft_timer {
    weft_timer_entry entry;
    weft_chan *ch;
};

static void timer_fire(weft_timer_entry *e, int64_t now)
{
    weft_timer *t = (weft_timer *)e;
    (void)weft_chan_try_send(t->ch, &now); /* full: the tick is dropped */
}

static weft_timer *timer_make(int64_t delay, int64_t period)
{
    weft_timer *t = malloc(sizeof *t);
    if (!t)
        goto fail;
    t->ch = weft_chan_new(sizeof(int64_t), 1);
    if (!t->ch)
        goto fail_chan;
    t->entry = (weft_timer_entry){
        .when = weft_deadline_in(delay), .period = period, .idx = SIZE_MAX,
        .locked_fire = true, .fire = timer_fire,
    };
    if (weft__timer_add(&t->entry) != 0)
        goto fail_add;
    return t;

fail_add:
    weft_chan_free(t->ch);
fail_chan:
    free(t);
fail:
    errno = ENOMEM;
    return NULL;
}

WEFT_API weft_timer *weft_timer_new(int64_t delay_ns)
{
    return timer_make(delay_ns, 0);
}

WEFT_API weft_timer *weft_ticker_new(int64_t period_ns)
{
    if (period_ns <= 0) {
        errno = EINVAL;
        return NULL;
    }
    return timer_make(period_ns, period_ns);
}

WEFT_API weft_chan *weft_timer_chan(weft_timer *t)
{
    return t ? t->ch : NULL;
}

WEFT_API int weft_timer_stop(weft_timer *t)
{
    if (!t)
        return WEFT_EINVAL;
    weft__timer_lock();
    bool pending = weft__timer_del_locked(&t->entry);
    bool discarded = weft_chan_try_recv(t->ch, NULL) == 0;
    weft__timer_unlock();
    return pending || discarded ? 0 : 1;
}

WEFT_API void weft_timer_free(weft_timer *t)
{
    if (!t)
        return;
    weft__timer_del(&t->entry);
    weft_chan_free(t->ch);
    free(t);
}
