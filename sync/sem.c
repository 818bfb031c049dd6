/* sync/sem.c — weighted semaphore served in arrival order
 * (golang.org/x/sync/semaphore).
 *
 * State, under one lock: size, cur (units held), and a FIFO of waiters, each
 * wanting n units. Units are handed out only at the head of the line, so a
 * large request is never starved by a stream of small ones: while the head
 * waits, later requests wait behind it even if they would fit.
 *
 * A waiter that cannot be canceled (no context, or one that is never done)
 * spins, then parks on its own parker. One with a context blocks in a
 * two-case weft_select: its private ready channel (capacity 1, created for
 * this wait) and the context's done channel. The granting side (release,
 * or a waiter leaving the head of the line) moves units to the head waiter,
 * marks it granted and, under the lock, sends on its ready channel or, after
 * the lock, unparks it; "granted" and "still queued" are never both true.
 * A waiter whose context is done takes the lock and looks: if it was granted
 * meanwhile, it gives the units back (the context's error wins, as in
 * x/sync); otherwise it leaves the line, and if it was the head, it lets
 * the next waiters through. No unit is lost or stranded either way.
 *
 * Lock order: semaphore lock, then a ready channel's lock (inside the
 * try_send). Waiters never hold the semaphore lock while in select.
 */
#include "lockfree/common.h"
#include "lockfree/list.h"
#include "lockfree/lock.h"

#include <weft/lockfree.h>

#include <stdlib.h>

#include <weft/ctx.h>
#include <weft/select.h>
#include <weft/sync.h>

typedef struct sem_waiter {
    weft_dlink link; /* in the line, under the semaphore lock */
    int64_t n;
    weft_chan *ready;        /* cancellable waits; NULL: park on `park` */
    weft_parker park;
    struct sem_waiter *wake; /* the granter's list of parkers to unpark */
    bool granted;
} sem_waiter;

struct weft_sem {
    weft_lock lock;
    int64_t size, cur;
    weft_dlist line; /* FIFO of sem_waiter */
    weft_spin spin;  /* how long a waiter spins before parking */
};

WEFT_API weft_sem *weft_sem_new(int64_t size)
{
    if (size < 0) {
        errno = EINVAL;
        return NULL;
    }
    weft_sem *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    atomic_init(&s->lock.state, 0);
    s->size = size;
    return s;
}

WEFT_API void weft_sem_free(weft_sem *s)
{
    free(s);
}

static sem_waiter *line_head(const weft_sem *s)
{
    return s->line.head ? weft__dlist_entry(s->line.head, sem_waiter, link) : NULL;
}

/* Lock held: grant units to waiters at the head of the line while they
   fit. Parked waiters are returned on a list, to unpark after the lock
   (unpark_granted): a granted waiter returns only after its unpark, so the
   list stays valid until then. */
static sem_waiter *grant_waiters(weft_sem *s)
{
    sem_waiter *w, *list = NULL;
    while ((w = line_head(s)) && s->size - s->cur >= w->n) {
        s->cur += w->n;
        w->granted = true;
        weft__dlist_remove(&s->line, &w->link);
        if (w->ready) {
            (void)weft_chan_try_send(w->ready, NULL); /* capacity 1, never full */
        } else {
            w->wake = list;
            list = w;
        }
    }
    return list;
}

static void unpark_granted(sem_waiter *list)
{
    while (list) {
        sem_waiter *next = list->wake; /* read first: the waiter may return */
        weft_parker_unpark(&list->park);
        list = next;
    }
}

/* Spin while the policy allows, then park, until granted (unparked). */
static void wait_granted(weft_sem *s, sem_waiter *w)
{
    uint32_t budget = weft_spin_enter(&s->spin), i = 0;
    if (budget) {
        while (i < budget && !weft_parker_unparked(&w->park)) {
            weft_cpu_relax();
            i++;
        }
        weft_spin_leave(&s->spin, i, i < budget);
    }
    weft_parker_wait(&w->park, WEFT_FOREVER, 0);
}

WEFT_API int weft_sem_try_acquire(weft_sem *s, int64_t n)
{
    if (!s || n < 0 || n > s->size)
        return WEFT_EINVAL;
    weft_lock_acquire(&s->lock);
    bool ok = s->size - s->cur >= n && !s->line.head;
    if (ok)
        s->cur += n;
    weft_lock_release(&s->lock);
    return ok ? 0 : WEFT_EAGAIN;
}

WEFT_API int weft_sem_acquire(weft_sem *s, int64_t n, weft_ctx *ctx)
{
    if (!s || n < 0 || n > s->size)
        return WEFT_EINVAL;
    int err = weft_ctx_err(ctx);
    if (err)
        return err; /* a done context wins over free units */
    if (weft_sem_try_acquire(s, n) == 0)
        return 0;

    weft_chan *done = weft_ctx_done(ctx); /* NULL: never canceled */
    sem_waiter w = { .n = n, .ready = done ? weft_chan_new(0, 1) : NULL };
    if (done && !w.ready)
        return WEFT_ENOMEM;
    weft_parker_reset(&w.park); /* published by the lock below */
    weft_lock_acquire(&s->lock);
    if (s->size - s->cur >= n && !s->line.head) { /* freed since the try */
        s->cur += n;
        weft_lock_release(&s->lock);
        weft_chan_free(w.ready);
        return 0;
    }
    weft__dlist_push_back(&s->line, &w.link);
    weft_lock_release(&s->lock);
    if (!done) {
        wait_granted(s, &w);
        return 0;
    }

    weft_case cs[2] = { WEFT_CASE_RECV(w.ready, NULL), WEFT_CASE_RECV(done, NULL) };
    int k = weft_select(cs, 2, WEFT_FOREVER);
    if (k != 0) {
        weft_lock_acquire(&s->lock);
        if (w.granted) {
            s->cur -= n; /* granted after the context was done: give back */
        } else {
            weft__dlist_remove(&s->line, &w.link);
        }
        sem_waiter *list = grant_waiters(s); /* we left the line, or units came back */
        weft_lock_release(&s->lock);
        unpark_granted(list);
        weft_chan_free(w.ready);
        return weft_ctx_err(ctx);
    }
    /* The granter may still be inside its try_send on w.ready (which runs
       under the semaphore lock): pass through the lock before freeing it. */
    weft_lock_acquire(&s->lock);
    weft_lock_release(&s->lock);
    weft_chan_free(w.ready);
    return 0;
}

WEFT_API void weft_sem_release(weft_sem *s, int64_t n)
{
    if (!s || n < 0)
        weft__panic("weft_sem_release: NULL semaphore or negative count");
    weft_lock_acquire(&s->lock);
    if (n > s->cur)
        weft__panic("weft_sem_release: released more than held");
    s->cur -= n;
    sem_waiter *list = grant_waiters(s);
    weft_lock_release(&s->lock);
    unpark_granted(list);
}
