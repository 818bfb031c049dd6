/* sync/ctx.c — contexts: a tree of cancellation with deadlines.
 *
 * State. Each context has a lock guarding its list of children not yet
 * canceled, its children's in_parent flags, cerr (the error a cancel has
 * claimed this context with: 0 until then) and the lazy creation of its
 * done channel. err is the published error, stored (release) when a cancel
 * claims the context, just before its done channel is closed: top-down, as
 * in Go, so a thread woken by a done channel sees the error of the context
 * and of the ancestor that caused it. A child holds a reference on its parent; a parent's list holds
 * none on its children, but a child cannot be freed while it is in the
 * list: its destroy unlinks it under the parent's lock first.
 *
 * Cancel(root, err), Go's algorithm without recursion:
 *   lock root; if root.cerr is set, someone canceled it: they held the lock
 *   until its subtree was done, so it is done now; unlock and return.
 *   Else claim it (cerr = err) and walk the subtree depth-first, holding the
 *   lock of every context on the current path (parent before child, the one
 *   lock order used anywhere): detach a child from the list; lock it; if
 *   its cerr is set it was canceled by someone else and is done; otherwise
 *   take a reference (skip it if its last one is already gone: it is being
 *   destroyed), claim it, publish err, close its done channel and descend.
 *   A context whose children are all handled removes its deadline entry and
 *   unlocks. Then root leaves its parent's list, and the references
 *   taken (and those of removed deadlines) are dropped, with no lock held
 *   (a drop may destroy a context, which takes its parent's lock).
 * A second cancel of any context in the subtree blocks on that context's
 * lock until the first is through, so every cancel returns with the whole
 * subtree done, as the header promises. A child created concurrently either
 * links itself before its parent is claimed (and is canceled with it) or
 * finds the parent's cerr set under the parent's lock and starts done.
 * Depth costs no stack: the path is a list threaded through work_next.
 */
#include "chan/timer.h"
#include "lockfree/common.h"
#include "lockfree/list.h"
#include "lockfree/lock.h"

#include <stdlib.h>

#include <weft/ctx.h>

struct weft_ctx {
    _Atomic int32_t refs;
    _Atomic int err;            /* published error: 0 until the subtree is done */
    int cerr;                   /* under lock: the error a cancel claimed it with */
    weft_ctx *parent;           /* NULL: child of background (not linked) */
    int64_t deadline;           /* earliest on the path to the root */
    weft_lock lock;             /* kids, the kids' in_parent, done creation */
    weft_dlist kids;            /* children not canceled yet */
    weft_dlink sib;             /* in the parent's kids, under parent->lock */
    bool in_parent;             /* under parent->lock */
    bool has_timer;             /* own deadline entry was queued */
    _Atomic(weft_chan *) done;  /* created on first weft_ctx_done */
    weft_timer_entry timer;
    weft_ctx *work_next;        /* the winning cancel's path (stack) */
    weft_ctx *drop_next;        /* the winning cancel's references to drop */
    int drops;
};

static weft_ctx g_background;

static inline bool is_bg(const weft_ctx *c)
{
    return !c || c == &g_background;
}

WEFT_API weft_ctx *weft_ctx_background(void)
{
    return &g_background;
}

WEFT_API weft_ctx *weft_ctx_retain(weft_ctx *c)
{
    if (!is_bg(c))
        /* Relaxed: the caller already holds a reference, which keeps c
           alive; a new reference publishes nothing. */
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

/* Take a reference unless the count already reached zero (c is being
   destroyed by another thread). Called with c's parent locked, which c's
   destroy needs before freeing c, so c's memory is valid here. */
static bool retain_if_live(weft_ctx *c)
{
    int32_t r = atomic_load_explicit(&c->refs, memory_order_relaxed);
    while (r > 0)
        if (atomic_compare_exchange_weak_explicit(&c->refs, &r, r + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    return false;
}

static void unlink_from_parent(weft_ctx *c)
{
    weft_ctx *p = c->parent;
    if (!p)
        return;
    weft_lock_acquire(&p->lock);
    if (c->in_parent) {
        weft__dlist_remove(&p->kids, &c->sib);
        c->in_parent = false;
    }
    weft_lock_release(&p->lock);
}

static void cancel_tree(weft_ctx *root, int err);

WEFT_API void weft_ctx_release(weft_ctx *c)
{
    /* Iterative: dropping a child's last reference drops one on its parent. */
    while (!is_bg(c)) {
        /* acq_rel: release publishes our uses of c to the thread that frees
           it; acquire (for that thread) sees everyone else's. */
        if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
            return;
        /* Last reference: no pending deadline (it holds one), no child
           (each holds one), nobody to observe err or the done channel. Leave
           the parent's list if a cancel has not already detached us. */
        unlink_from_parent(c);
        weft_ctx *parent = c->parent;
        weft_chan_free(atomic_load_explicit(&c->done, memory_order_acquire));
        free(c);
        c = parent;
    }
}

static void deadline_fire(weft_timer_entry *e, int64_t now)
{
    (void)now;
    weft_ctx *c = (weft_ctx *)((char *)e - offsetof(weft_ctx, timer));
    cancel_tree(c, WEFT_ETIMEDOUT);
    weft_ctx_release(c); /* the reference the pending deadline held */
}

/* c claimed, its lock held: make it done, top-down as Go does, so that a
   thread woken by a descendant's done channel already sees this error. */
static void publish(weft_ctx *c)
{
    /* Release: pairs with weft_ctx_err's acquire. Before the close, so that
       a thread woken by the close sees err (Done closed implies Err set). */
    atomic_store_explicit(&c->err, c->cerr, memory_order_release);
    weft_chan *done = atomic_load_explicit(&c->done, memory_order_relaxed);
    if (done)
        weft_chan_close(done);
}

static void cancel_tree(weft_ctx *root, int err)
{
    weft_lock_acquire(&root->lock);
    if (root->cerr) {
        weft_lock_release(&root->lock);
        return;
    }
    root->cerr = err;
    publish(root);
    root->work_next = NULL;
    weft_ctx *path = root, *drop = NULL;
    while (path) {
        weft_ctx *c = path;
        if (c->kids.head) {
            weft_ctx *k = weft__dlist_entry(c->kids.head, weft_ctx, sib);
            weft__dlist_remove(&c->kids, &k->sib);
            k->in_parent = false;
            weft_lock_acquire(&k->lock);
            if (k->cerr || !retain_if_live(k)) {
                /* canceled by someone else (and done: they held k's lock
                   throughout), or being destroyed by its last release */
                weft_lock_release(&k->lock);
                continue;
            }
            k->cerr = err;
            publish(k);
            k->work_next = path;
            path = k;
            continue;
        }
        path = c->work_next;
        c->drops = c != root; /* the reference taken when descending */
        if (c->has_timer && weft__timer_del(&c->timer))
            c->drops++;       /* the pending deadline's */
        weft_lock_release(&c->lock);
        if (c->drops) {
            c->drop_next = drop;
            drop = c;
        }
    }
    unlink_from_parent(root);
    while (drop) {
        weft_ctx *next = drop->drop_next;
        for (int i = drop->drops; i > 0; i--)
            weft_ctx_release(drop);
        drop = next;
    }
}

WEFT_API void weft_ctx_cancel(weft_ctx *c)
{
    if (!is_bg(c))
        cancel_tree(c, WEFT_ECANCELED);
}

WEFT_API int weft_ctx_err(const weft_ctx *c)
{
    /* Acquire: pairs with the CAS in cancel_tree. */
    return is_bg(c) ? 0 : atomic_load_explicit(&((weft_ctx *)c)->err, memory_order_acquire);
}

WEFT_API int64_t weft_ctx_deadline(const weft_ctx *c)
{
    return is_bg(c) ? WEFT_FOREVER : c->deadline;
}

WEFT_API weft_chan *weft_ctx_done(weft_ctx *c)
{
    if (is_bg(c))
        return NULL;
    /* Acquire: pairs with the release store below (a channel fully built). */
    weft_chan *d = atomic_load_explicit(&c->done, memory_order_acquire);
    if (d)
        return d;
    weft_lock_acquire(&c->lock);
    d = atomic_load_explicit(&c->done, memory_order_relaxed);
    if (!d) {
        d = weft_chan_new(0, 0);
        if (!d)
            weft__panic("out of memory creating a context's done channel");
        /* A cancel claims cerr and closes the channel under this lock: if
           it is claimed, that cancel is over and found no channel to close. */
        if (c->cerr)
            weft_chan_close(d);
        atomic_store_explicit(&c->done, d, memory_order_release);
    }
    weft_lock_release(&c->lock);
    return d;
}

static weft_ctx *ctx_new(weft_ctx *parent, int64_t deadline)
{
    weft_ctx *p = is_bg(parent) ? NULL : parent;
    weft_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    atomic_init(&c->refs, 1);
    atomic_init(&c->err, 0);
    atomic_init(&c->done, NULL);
    atomic_init(&c->lock.state, 0);
    c->timer.idx = SIZE_MAX;
    int64_t inherited = p ? p->deadline : WEFT_FOREVER;
    c->deadline = deadline < inherited ? deadline : inherited;

    int perr = 0;
    if (p) {
        c->parent = weft_ctx_retain(p);
        weft_lock_acquire(&p->lock);
        /* Under the parent's lock: a cancel of the parent either claimed it
           already (we start done) or will find us in its list. */
        perr = p->cerr;
        if (!perr) {
            weft__dlist_push_front(&p->kids, &c->sib);
            c->in_parent = true;
        }
        weft_lock_release(&p->lock);
    }
    if (perr) {
        c->cerr = perr;
        atomic_store_explicit(&c->err, perr, memory_order_release);
        return c;
    }
    if (deadline < inherited) {
        if (deadline <= weft_now()) {
            cancel_tree(c, WEFT_ETIMEDOUT);
            return c;
        }
        /* Under c's lock, so that a concurrent cancel (through the parent)
           either sees has_timer and removes the entry, or came first and we
           arm nothing. */
        int rc = 0;
        weft_lock_acquire(&c->lock);
        if (!c->cerr) {
            c->timer.when = deadline;
            c->timer.fire = deadline_fire;
            weft_ctx_retain(c); /* held by the pending deadline */
            rc = weft__timer_add(&c->timer);
            if (rc == 0)
                c->has_timer = true;
            else
                atomic_fetch_sub_explicit(&c->refs, 1, memory_order_relaxed);
        }
        weft_lock_release(&c->lock);
        if (rc) {
            cancel_tree(c, WEFT_ECANCELED);
            weft_ctx_release(c);
            errno = ENOMEM;
            return NULL;
        }
    }
    return c;
}

WEFT_API weft_ctx *weft_ctx_with_cancel(weft_ctx *parent)
{
    return ctx_new(parent, WEFT_FOREVER);
}

WEFT_API weft_ctx *weft_ctx_with_deadline(weft_ctx *parent, int64_t deadline)
{
    return ctx_new(parent, deadline);
}

WEFT_API weft_ctx *weft_ctx_with_timeout(weft_ctx *parent, int64_t timeout_ns)
{
    return ctx_new(parent, weft_deadline_in(timeout_ns));
}
