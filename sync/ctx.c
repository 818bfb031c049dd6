/* sync/ctx.c — contexts: a tree of cancellation with deadlines.
 *
 * State. err (0, then the first error, set once by CAS) is the truth about
 * "done"; everything else follows it. Each context keeps an intrusive list
 * of its children that are not done yet, guarded by its own lock; a child's
 * in_parent flag is guarded by its parent's lock. A child holds a reference
 * on its parent; a parent's list holds none on its children.
 *
 * Cancel(c, err), iteratively over the subtree (no recursion, so a deep
 * chain cannot overflow the stack):
 *   1. CAS c.err 0 → err; if it was already set, c (and, by induction, its
 *      subtree) is done or being done by whoever set it: stop here.
 *   2. Under c.lock: detach the children list (each child's in_parent =
 *      false), taking a reference on every child still alive; close c's
 *      done channel if it exists (under the lock, so that a done channel
 *      created lazily afterwards sees err and is created closed).
 *   3. Leave the parent's list (under the parent's lock, if still in it):
 *      a canceled child costs its parent nothing afterwards.
 *   4. Remove the deadline entry; if that removal won, drop the reference
 *      the pending deadline held.
 *   5. Continue with the detached children, then drop their references.
 * Every descendant that was alive when cancel started is therefore done,
 * and its done channel closed, before cancel returns. A child created
 * concurrently either links itself before step 2 (and is canceled with the
 * rest) or finds parent.err set under the parent's lock and starts done.
 *
 * A child whose last reference is dropped while its parent cancels is
 * skipped (retain_if_live fails) and unlinks itself under the parent's lock
 * in its own destroy, so the parent never touches freed memory.
 */
#include "chan/timer.h"
#include "lockfree/common.h"
#include "lockfree/lock.h"

#include <stdlib.h>

#include <weft/ctx.h>

struct weft_ctx {
    _Atomic int32_t refs;
    _Atomic int err;            /* 0, then WEFT_ECANCELED or WEFT_ETIMEDOUT */
    weft_ctx *parent;           /* NULL: child of background (not linked) */
    int64_t deadline;           /* earliest on the path to the root */
    weft_lock lock;             /* kids, the kids' in_parent, done creation */
    weft_ctx *kids;             /* children not done yet */
    weft_ctx *sib_prev, *sib_next;
    bool in_parent;             /* under parent->lock */
    bool has_timer;             /* own deadline entry was queued */
    _Atomic(weft_chan *) done;  /* created on first weft_ctx_done */
    weft_timer_entry timer;
    weft_ctx *work_next;        /* cancel's work list */
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
   destroyed by another thread). Called under c's parent's lock, which
   c's destroy takes before freeing c, so c's memory is valid here. */
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
        if (c->sib_prev)
            c->sib_prev->sib_next = c->sib_next;
        else
            p->kids = c->sib_next;
        if (c->sib_next)
            c->sib_next->sib_prev = c->sib_prev;
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

static void cancel_tree(weft_ctx *root, int err)
{
    weft_ctx *work = root;
    root->work_next = NULL;
    while (work) {
        weft_ctx *c = work;
        work = c->work_next;
        int zero = 0;
        /* acq_rel: release publishes what the canceller did before cancel
           to every thread whose weft_ctx_err (acquire) sees err. */
        if (atomic_compare_exchange_strong_explicit(&c->err, &zero, err, memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            weft_lock_acquire(&c->lock);
            for (weft_ctx *k = c->kids, *next; k; k = next) {
                next = k->sib_next;
                k->in_parent = false;
                k->sib_prev = k->sib_next = NULL;
                if (retain_if_live(k)) {
                    k->work_next = work;
                    work = k;
                }
            }
            c->kids = NULL;
            weft_chan *done = atomic_load_explicit(&c->done, memory_order_relaxed);
            if (done)
                weft_chan_close(done);
            weft_lock_release(&c->lock);
            unlink_from_parent(c);
            if (c->has_timer && weft__timer_del(&c->timer))
                weft_ctx_release(c); /* the deadline's reference; ours keeps c */
        }
        if (c != root)
            weft_ctx_release(c);
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
        /* err is set before cancel takes this lock: if it is set, no cancel
           will close the channel after us, so we do. */
        if (atomic_load_explicit(&c->err, memory_order_acquire))
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
        /* Under the parent's lock: a cancel of the parent either already
           detached its list (then err is set and we start done) or will
           find us in it. */
        perr = atomic_load_explicit(&p->err, memory_order_acquire);
        if (!perr) {
            c->sib_next = p->kids;
            if (p->kids)
                p->kids->sib_prev = c;
            p->kids = c;
            c->in_parent = true;
        }
        weft_lock_release(&p->lock);
    }
    if (perr) {
        atomic_store_explicit(&c->err, perr, memory_order_release);
        return c;
    }
    if (deadline < inherited) {
        if (deadline <= weft_now()) {
            cancel_tree(c, WEFT_ETIMEDOUT);
            return c;
        }
        c->timer.when = deadline;
        c->timer.fire = deadline_fire;
        c->has_timer = true;
        weft_ctx_retain(c); /* held by the pending deadline */
        if (weft__timer_add(&c->timer) != 0) {
            c->has_timer = false;
            atomic_fetch_sub_explicit(&c->refs, 1, memory_order_relaxed);
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
