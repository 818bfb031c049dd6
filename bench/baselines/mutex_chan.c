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
 *
 * Select (buffered channels only). A selector polls its cases in a fresh
 * random order (one channel lock at a time; never two at once). If none is
 * ready it registers: one node per case, linked into that channel's list of
 * receiving or sending selectors, re-checking the case under the same lock
 * (a case that became ready since the poll completes right there). Then it
 * sleeps on its own condvar until `signaled`, withdraws every node, and
 * polls again. An operation that makes one value (or slot) available wakes,
 * under the channel lock, the first registered selector not yet signaled
 * (unlinking the nodes it passes), and only if there is none, one plain
 * waiter; a selector's `signaled` flag is exact, so a wakeup is never spent
 * on a selector that is already awake. Signaling under the channel lock is
 * what keeps the selector (on its caller's stack) alive while it is
 * signaled: it withdraws under that lock before it returns.
 *
 * No wakeup is lost: registering and re-checking happen under the channel
 * lock, so an operation either precedes the re-check (the selector sees the
 * case ready) or finds the node (and signals it or an earlier selector). A
 * selector records which case woke it; if it then completes a different
 * case (the random poll picked another ready one) while the waking case may
 * still be ready, it passes the wakeup on to that channel's next waiter.
 * A poll that finds the waking case not ready proves someone else took
 * that value, which discharges the obligation. Close signals every
 * registered selector.
 */
#include "mutex_chan.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A selector waiting in mutex_chan_select, on its caller's stack. */
typedef struct selector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool signaled;              /* under mu */
    int woken_by;               /* under mu: the case whose channel signaled it */
} selector;

/* One case of a waiting selector, in its channel's list (under that mu). */
typedef struct selnode {
    selector *sel;
    struct selnode *prev, *next;
    int idx;                    /* the case's index */
    bool linked;
} selnode;

typedef struct sellist {
    selnode *head, *tail;
} sellist;

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
    sellist recv_sels;          /* cap > 0: selectors waiting to receive */
    sellist send_sels;          /* cap > 0: selectors waiting to send */
};

/* ---- selector lists (mu of the channel held) ---------------------------- */

static void sel_link(sellist *l, selnode *s)
{
    s->prev = l->tail;
    s->next = NULL;
    if (l->tail)
        l->tail->next = s;
    else
        l->head = s;
    l->tail = s;
    s->linked = true;
}

static void sel_unlink(sellist *l, selnode *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->linked = false;
}

/* Signal up to n registered selectors not yet signaled, oldest first,
   unlinking every node looked at. Returns how many were signaled. */
static size_t wake_selectors(sellist *l, size_t n)
{
    size_t woken = 0;
    while (woken < n && l->head) {
        selnode *s = l->head;
        sel_unlink(l, s);
        selector *x = s->sel;
        pthread_mutex_lock(&x->mu);
        if (!x->signaled) {
            x->signaled = true;
            x->woken_by = s->idx;
            pthread_cond_signal(&x->cv);
            woken++;
        }
        pthread_mutex_unlock(&x->mu);
    }
    return woken;
}

/* n values (or slots) became available to the side whose selectors are l:
   selectors first, exactly; returns how many wakeups are left for the plain
   waiters of that side. One load when no selector is registered. */
static inline size_t sel_notify(sellist *l, size_t n)
{
    return l->head ? n - wake_selectors(l, n) : n;
}

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
    wake_selectors(&c->recv_sels, SIZE_MAX);
    wake_selectors(&c->send_sels, SIZE_MAX);
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
    bool wake = sel_notify(&c->recv_sels, 1) && c->recv_waiting > 0;
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
    bool wake = sel_notify(&c->send_sels, 1) && c->send_waiting > 0;
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
    bool wake = sel_notify(&c->recv_sels, 1) && c->recv_waiting > 0;
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
    bool wake = sel_notify(&c->send_sels, 1) && c->send_waiting > 0;
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
            wake_n(&c->can_recv, sel_notify(&c->recv_sels, unsignaled), c->recv_waiting);
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
    size_t rest = sel_notify(&c->recv_sels, unsignaled);
    unsigned waiting = c->recv_waiting;
    pthread_mutex_unlock(&c->mu);
    wake_n(&c->can_recv, rest, waiting);
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
    size_t rest = sel_notify(&c->send_sels, m);
    unsigned waiting = c->send_waiting;
    pthread_mutex_unlock(&c->mu);
    wake_n(&c->can_send, rest, waiting);
    if (got != NULL)
        *got = m;
    return 0;
}

/* ---- select ---------------------------------------------------------------- */

/* Per-thread xorshift64* for the poll order (as weft's select). */
static uint32_t sel_rand(void)
{
    static _Thread_local uint64_t x;
    if (x == 0)
        x = (uint64_t)(uintptr_t)&x ^ 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

static void shuffle(uint32_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(((uint64_t)sel_rand() * (i + 1)) >> 32);
        order[i] = order[j];
        order[j] = (uint32_t)i;
    }
}

static inline sellist *case_list(mutex_chan_case *cs)
{
    return cs->dir == MUTEX_CHAN_RECV ? &cs->chan->recv_sels : &cs->chan->send_sels;
}

/* mu of cs->chan held: complete the case if it can complete now (a value
   moved, or the channel is closed: cs->ok says which). *wake is then the
   plain waiters' condvar to signal after unlocking, or NULL. */
static bool try_case_locked(mutex_chan_case *cs, pthread_cond_t **wake)
{
    mutex_chan *c = cs->chan;
    *wake = NULL;
    if (cs->dir == MUTEX_CHAN_RECV) {
        if (c->len > 0) {
            take_locked(c, cs->elem);
            if (sel_notify(&c->send_sels, 1) && c->send_waiting > 0)
                *wake = &c->can_send;
            cs->ok = true;
            return true;
        }
        if (c->closed) {
            cs->ok = false;
            return true;
        }
        return false;
    }
    if (c->closed) {
        cs->ok = false;
        return true;
    }
    if (c->len < c->cap) {
        put_locked(c, cs->elem);
        if (sel_notify(&c->recv_sels, 1) && c->recv_waiting > 0)
            *wake = &c->can_recv;
        cs->ok = true;
        return true;
    }
    return false;
}

/* One pass over the enabled cases in the given order: the index completed,
   or -1. */
static int poll_cases(mutex_chan_case *cases, const uint32_t *order, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        mutex_chan_case *cs = &cases[order[j]];
        if (cs->chan == NULL)
            continue;
        pthread_cond_t *wake;
        pthread_mutex_lock(&cs->chan->mu);
        bool done = try_case_locked(cs, &wake);
        pthread_mutex_unlock(&cs->chan->mu);
        if (done) {
            if (wake)
                pthread_cond_signal(wake);
            return (int)order[j];
        }
    }
    return -1;
}

/* A selector woken for case cs completed another one: if cs may still be
   ready, wake the next waiter for it in our place. */
static void pass_wakeup(mutex_chan_case *cs)
{
    mutex_chan *c = cs->chan;
    pthread_cond_t *wake = NULL;
    pthread_mutex_lock(&c->mu);
    if (!c->closed) {           /* closed: everyone was woken already */
        if (cs->dir == MUTEX_CHAN_RECV) {
            if (c->len > 0 && sel_notify(&c->recv_sels, 1) && c->recv_waiting > 0)
                wake = &c->can_recv;
        } else {
            if (c->len < c->cap && sel_notify(&c->send_sels, 1) && c->send_waiting > 0)
                wake = &c->can_send;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (wake)
        pthread_cond_signal(wake);
}

int mutex_chan_select(mutex_chan_case *cases, size_t n)
{
    if ((cases == NULL && n > 0) || n > MUTEX_CHAN_SELECT_MAX)
        return MUTEX_CHAN_EINVAL;
    size_t enabled = 0;
    for (size_t i = 0; i < n; i++) {
        mutex_chan_case *cs = &cases[i];
        if (cs->chan == NULL)
            continue;
        if (cs->chan->cap == 0 || (cs->dir != MUTEX_CHAN_RECV && cs->dir != MUTEX_CHAN_SEND) ||
            (cs->dir == MUTEX_CHAN_SEND && cs->elem == NULL && cs->chan->elem_size > 0))
            return MUTEX_CHAN_EINVAL;
        cs->ok = false;
        enabled++;
    }
    if (enabled == 0)
        return MUTEX_CHAN_EINVAL;

    uint32_t order[MUTEX_CHAN_SELECT_MAX];
    selnode nodes[MUTEX_CHAN_SELECT_MAX];
    selector sel = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, -1 };
    int owed = -1;              /* a case whose channel woke us, not served yet */
    int k;
    for (;;) {
        shuffle(order, n);
        k = poll_cases(cases, order, n);
        if (k >= 0)
            break;
        /* Every case was seen not ready: a wakeup we got was spent by whoever
           took that value. Nobody can reach sel now (no node is linked). */
        owed = -1;
        sel.signaled = false;

        /* Register, re-checking each case under its channel's lock. */
        size_t reg = 0;
        for (; reg < n && k < 0; reg++) {
            size_t i = order[reg];
            mutex_chan_case *cs = &cases[i];
            nodes[i].linked = false;
            if (cs->chan == NULL)
                continue;
            pthread_cond_t *wake = NULL;
            pthread_mutex_lock(&cs->chan->mu);
            if (try_case_locked(cs, &wake)) {
                k = (int)i;
            } else {
                nodes[i].sel = &sel;
                nodes[i].idx = (int)i;
                sel_link(case_list(cs), &nodes[i]);
            }
            pthread_mutex_unlock(&cs->chan->mu);
            if (wake)
                pthread_cond_signal(wake);
        }
        if (k < 0) {
            pthread_mutex_lock(&sel.mu);
            while (!sel.signaled)
                pthread_cond_wait(&sel.cv, &sel.mu);
            pthread_mutex_unlock(&sel.mu);
        }
        /* Withdraw. After this no signaler can touch sel: each one works
           under the lock of a channel we have just passed through. */
        for (size_t j = 0; j < reg; j++) {
            size_t i = order[j];
            mutex_chan_case *cs = &cases[i];
            if (cs->chan == NULL || (int)i == k)
                continue;
            pthread_mutex_lock(&cs->chan->mu);
            if (nodes[i].linked)
                sel_unlink(case_list(cs), &nodes[i]);
            pthread_mutex_unlock(&cs->chan->mu);
        }
        if (sel.signaled)
            owed = sel.woken_by;
        if (k >= 0)
            break;
    }
    if (owed >= 0 && owed != k)
        pass_wakeup(&cases[owed]);
    pthread_cond_destroy(&sel.cv);
    pthread_mutex_destroy(&sel.mu);
    return k;
}
