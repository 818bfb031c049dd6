/* mutex_chan.c — the baseline channel: one mutex and condition variables.
 *
 * Design note.
 *
 * All state is guarded by one pthread mutex `mu`. Threads that must wait
 * sleep on a condition variable, always in a loop that re-checks the
 * predicate (spurious wakeups, and a value taken by a thread that was not
 * waiting, are both absorbed):
 *
 *   can_recv  receivers wait here for "a value is ready (or closed)";
 *   can_send  senders wait here for "there is room (or closed)" — for
 *             cap 0, "the offer slot is free";
 *   taken     cap 0 only: the one sender that owns the offer slot waits here
 *             for a receiver to take its value. It is a separate condvar so
 *             that the receiver's wakeup reaches exactly that sender (on
 *             can_send a signal could reach a queued sender instead, and
 *             waking them all would be the thundering herd we avoid).
 *
 * Wakeups. Each value made available wakes at most one receiver and each
 * slot freed wakes at most one sender (pthread_cond_signal), and only when
 * the waiter count says someone sleeps. The signal is sent after unlocking
 * where the thread does not wait again afterwards, so the woken thread does
 * not run straight into the held mutex. No wakeup is lost: a thread tests
 * the predicate and starts waiting atomically (under mu), and every change
 * that can make a predicate true happens under mu and, if the thread counted
 * in the waiter count might need it, is followed by a signal; a signaled
 * thread that finds nothing re-waits, so the value it was signaled for was
 * taken by a thread that did not need the signal. close broadcasts on all
 * three condvars, since every waiter must return.
 *
 * Buffered (cap > 0): a ring of cap slots, `head` the oldest, `len` used.
 *
 * Unbuffered (cap 0): a rendezvous through one offer slot. A sender waits
 * until the slot is free, claims it (`offering`), publishes a pointer to its
 * own value (`offer`, `offered`), wakes one receiver and waits on `taken`
 * until `offered` is false. A receiver copies straight from the sender's
 * buffer (the sender is blocked, so the buffer is alive) and clears
 * `offered`. If the channel closes while the value is still offered, the
 * sender withdraws it and returns ECLOSED; whether the value was taken is
 * decided under mu, so it is delivered exactly once or not at all.
 */
#include "mutex_chan.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mutex_chan {
    pthread_mutex_t mu;
    pthread_cond_t can_recv;
    pthread_cond_t can_send;
    pthread_cond_t taken;       /* cap 0 only */
    size_t elem_size;
    size_t cap;
    size_t head;                /* cap > 0: index of the oldest value */
    size_t len;                 /* cap > 0: values buffered */
    unsigned recv_waiting;      /* threads waiting on can_recv */
    unsigned send_waiting;      /* threads waiting on can_send */
    bool closed;
    bool offering;              /* cap 0: a sender owns the offer slot */
    bool offered;               /* cap 0: its value is there, not yet taken */
    const void *offer;          /* cap 0: the sender's value */
    unsigned char *buf;         /* cap > 0: cap * elem_size bytes */
};

mutex_chan *mutex_chan_new(size_t elem_size, size_t cap)
{
    if (elem_size != 0 && cap > SIZE_MAX / elem_size) {
        errno = ENOMEM;
        return NULL;
    }
    mutex_chan *c = calloc(1, sizeof *c);
    if (c == NULL)
        goto fail_chan;
    c->elem_size = elem_size;
    c->cap = cap;
    if (cap > 0) {
        size_t bytes = cap * elem_size;
        c->buf = malloc(bytes ? bytes : 1);
        if (c->buf == NULL)
            goto fail_buf;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->can_recv, NULL);
    pthread_cond_init(&c->can_send, NULL);
    pthread_cond_init(&c->taken, NULL);
    return c;

fail_buf:
    free(c);
fail_chan:
    errno = ENOMEM;
    return NULL;
}

void mutex_chan_free(mutex_chan *c)
{
    if (c == NULL)
        return;
    pthread_cond_destroy(&c->taken);
    pthread_cond_destroy(&c->can_send);
    pthread_cond_destroy(&c->can_recv);
    pthread_mutex_destroy(&c->mu);
    free(c->buf);
    free(c);
}

int mutex_chan_close(mutex_chan *c)
{
    if (c == NULL)
        return MUTEX_CHAN_EINVAL;
    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_ECLOSED;
    }
    c->closed = true;
    pthread_mutex_unlock(&c->mu);
    /* Every waiter must see the close: broadcast is the right call here. */
    pthread_cond_broadcast(&c->can_recv);
    pthread_cond_broadcast(&c->can_send);
    pthread_cond_broadcast(&c->taken);
    return 0;
}

/* Wake up to n waiters of cv, of which `waiting` are known to sleep. */
static void wake_n(pthread_cond_t *cv, size_t n, unsigned waiting)
{
    if (n == 0 || waiting == 0)
        return;
    if (n >= waiting) {
        pthread_cond_broadcast(cv);
        return;
    }
    for (size_t i = 0; i < n; i++)
        pthread_cond_signal(cv);
}

/* ---- buffered (cap > 0); mu held ---------------------------------------- */

static inline unsigned char *slot(mutex_chan *c, size_t i)
{
    return c->buf + i * c->elem_size;
}

static inline void put_locked(mutex_chan *c, const void *elem)
{
    size_t tail = c->head + c->len;
    if (tail >= c->cap)
        tail -= c->cap;
    memcpy(slot(c, tail), elem, c->elem_size);
    c->len++;
}

static inline void take_locked(mutex_chan *c, void *elem)
{
    if (elem != NULL)
        memcpy(elem, slot(c, c->head), c->elem_size);
    if (++c->head == c->cap)
        c->head = 0;
    c->len--;
}

/* ---- unbuffered (cap 0) ------------------------------------------------- */

/* Offer elem through the slot (mu held, slot free, not closed) and wait
   until a receiver took it or the channel closed. Returns with mu held. */
static int offer_locked(mutex_chan *c, const void *elem)
{
    c->offering = true;
    c->offer = elem;
    c->offered = true;
    if (c->recv_waiting > 0)
        pthread_cond_signal(&c->can_recv);  /* we wait right after: signal under mu */
    while (c->offered && !c->closed)
        pthread_cond_wait(&c->taken, &c->mu);
    int rc = 0;
    if (c->offered) {           /* closed before anyone took it: withdraw */
        c->offered = false;
        rc = MUTEX_CHAN_ECLOSED;
    }
    c->offer = NULL;
    c->offering = false;
    return rc;
}

static int send0(mutex_chan *c, const void *elem)
{
    pthread_mutex_lock(&c->mu);
    while (c->offering && !c->closed) {
        c->send_waiting++;
        pthread_cond_wait(&c->can_send, &c->mu);
        c->send_waiting--;
    }
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_ECLOSED;
    }
    int rc = offer_locked(c, elem);
    bool wake = c->send_waiting > 0 && !c->closed;  /* the slot is free again */
    pthread_mutex_unlock(&c->mu);
    if (wake)
        pthread_cond_signal(&c->can_send);
    return rc;
}

static int recv0(mutex_chan *c, void *elem)
{
    pthread_mutex_lock(&c->mu);
    while (!c->offered && !c->closed) {
        c->recv_waiting++;
        pthread_cond_wait(&c->can_recv, &c->mu);
        c->recv_waiting--;
    }
    if (!c->offered) {          /* closed, and nothing offered */
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_ECLOSED;
    }
    if (elem != NULL)
        memcpy(elem, c->offer, c->elem_size);
    c->offered = false;
    pthread_mutex_unlock(&c->mu);
    pthread_cond_signal(&c->taken); /* only the offering sender waits there */
    return 0;
}

/* ---- public operations -------------------------------------------------- */

int mutex_chan_send(mutex_chan *c, const void *elem)
{
    if (c == NULL)
        return MUTEX_CHAN_EINVAL;
    if (c->cap == 0)
        return send0(c, elem);
    pthread_mutex_lock(&c->mu);
    while (c->len == c->cap && !c->closed) {
        c->send_waiting++;
        pthread_cond_wait(&c->can_send, &c->mu);
        c->send_waiting--;
    }
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_ECLOSED;
    }
    put_locked(c, elem);
    bool wake = c->recv_waiting > 0;
    pthread_mutex_unlock(&c->mu);
    if (wake)
        pthread_cond_signal(&c->can_recv);
    return 0;
}

int mutex_chan_recv(mutex_chan *c, void *elem)
{
    if (c == NULL)
        return MUTEX_CHAN_EINVAL;
    if (c->cap == 0)
        return recv0(c, elem);
    pthread_mutex_lock(&c->mu);
    while (c->len == 0 && !c->closed) {
        c->recv_waiting++;
        pthread_cond_wait(&c->can_recv, &c->mu);
        c->recv_waiting--;
    }
    if (c->len == 0) {          /* closed and drained */
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_ECLOSED;
    }
    take_locked(c, elem);
    bool wake = c->send_waiting > 0;
    pthread_mutex_unlock(&c->mu);
    if (wake)
        pthread_cond_signal(&c->can_send);
    return 0;
}

int mutex_chan_try_send(mutex_chan *c, const void *elem)
{
    if (c == NULL)
        return MUTEX_CHAN_EINVAL;
    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_ECLOSED;
    }
    if (c->cap == 0) {
        /* Succeeds only if a receiver already waits (and no other offer is
           pending); that receiver takes the value without blocking on
           anything but mu, so the wait below is short. */
        if (c->offering || c->recv_waiting == 0) {
            pthread_mutex_unlock(&c->mu);
            return MUTEX_CHAN_EAGAIN;
        }
        int rc = offer_locked(c, elem);
        bool wake = c->send_waiting > 0 && !c->closed;
        pthread_mutex_unlock(&c->mu);
        if (wake)
            pthread_cond_signal(&c->can_send);
        return rc;
    }
    if (c->len == c->cap) {
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_EAGAIN;
    }
    put_locked(c, elem);
    bool wake = c->recv_waiting > 0;
    pthread_mutex_unlock(&c->mu);
    if (wake)
        pthread_cond_signal(&c->can_recv);
    return 0;
}

int mutex_chan_try_recv(mutex_chan *c, void *elem)
{
    if (c == NULL)
        return MUTEX_CHAN_EINVAL;
    pthread_mutex_lock(&c->mu);
    if (c->cap == 0) {
        if (!c->offered) {
            int rc = c->closed ? MUTEX_CHAN_ECLOSED : MUTEX_CHAN_EAGAIN;
            pthread_mutex_unlock(&c->mu);
            return rc;
        }
        if (elem != NULL)
            memcpy(elem, c->offer, c->elem_size);
        c->offered = false;
        pthread_mutex_unlock(&c->mu);
        pthread_cond_signal(&c->taken);
        return 0;
    }
    if (c->len == 0) {
        int rc = c->closed ? MUTEX_CHAN_ECLOSED : MUTEX_CHAN_EAGAIN;
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    take_locked(c, elem);
    bool wake = c->send_waiting > 0;
    pthread_mutex_unlock(&c->mu);
    if (wake)
        pthread_cond_signal(&c->can_send);
    return 0;
}

int mutex_chan_send_many(mutex_chan *c, const void *elems, size_t n, size_t *sent)
{
    if (sent != NULL)
        *sent = 0;
    if (c == NULL || n == 0 || (elems == NULL && c->elem_size > 0))
        return MUTEX_CHAN_EINVAL;
    const unsigned char *src = elems;
    size_t i = 0;
    int rc = 0;
    if (c->cap == 0) {          /* a rendezvous per value */
        for (; i < n; i++) {
            rc = send0(c, src + i * c->elem_size);
            if (rc != 0)
                break;
        }
        if (sent != NULL)
            *sent = i;
        return rc;
    }
    size_t unsignaled = 0;      /* values added since receivers were last woken */
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->len == c->cap && !c->closed) {
            /* Wake receivers for what we added before we sleep. */
            wake_n(&c->can_recv, unsignaled, c->recv_waiting);
            unsignaled = 0;
            c->send_waiting++;
            pthread_cond_wait(&c->can_send, &c->mu);
            c->send_waiting--;
        }
        if (c->closed) {
            rc = MUTEX_CHAN_ECLOSED;
            break;
        }
        size_t room = c->cap - c->len;
        size_t m = n - i < room ? n - i : room;
        for (size_t k = 0; k < m; k++)
            put_locked(c, src + (i + k) * c->elem_size);
        i += m;
        unsignaled += m;
        if (i == n)
            break;
    }
    unsigned waiting = c->recv_waiting;
    pthread_mutex_unlock(&c->mu);
    wake_n(&c->can_recv, unsignaled, waiting);
    if (sent != NULL)
        *sent = i;
    return rc;
}

int mutex_chan_recv_many(mutex_chan *c, void *elems, size_t max, size_t *got)
{
    if (got != NULL)
        *got = 0;
    if (c == NULL || max == 0)
        return MUTEX_CHAN_EINVAL;
    if (c->cap == 0) {          /* at most one value is ever ready */
        int rc = recv0(c, elems);
        if (rc == 0 && got != NULL)
            *got = 1;
        return rc;
    }
    unsigned char *dst = elems;
    pthread_mutex_lock(&c->mu);
    while (c->len == 0 && !c->closed) {
        c->recv_waiting++;
        pthread_cond_wait(&c->can_recv, &c->mu);
        c->recv_waiting--;
    }
    if (c->len == 0) {
        pthread_mutex_unlock(&c->mu);
        return MUTEX_CHAN_ECLOSED;
    }
    size_t m = c->len < max ? c->len : max;
    for (size_t k = 0; k < m; k++)
        take_locked(c, dst != NULL ? dst + k * c->elem_size : NULL);
    unsigned waiting = c->send_waiting;
    pthread_mutex_unlock(&c->mu);
    wake_n(&c->can_send, m, waiting);
    if (got != NULL)
        *got = m;
    return 0;
}
