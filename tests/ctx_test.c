/* ctx_test — <weft/ctx.h>, Go's context_test.go in spirit:
 *  - background (and NULL, everywhere a context is taken): never done, err 0,
 *    done NULL (a disabled select case), deadline WEFT_FOREVER; retain,
 *    release and cancel do nothing;
 *  - with_cancel: err 0, then WEFT_ECANCELED; the done channel is one
 *    channel, closed by cancel (a receive returns WEFT_ECLOSED at once), also
 *    when first asked for after the cancel; cancel is idempotent and the
 *    first error sticks (timed out then canceled stays WEFT_ETIMEDOUT, and
 *    the converse);
 *  - TestParentFinishesChild: canceling a parent cancels children and
 *    grandchildren (cancel and deadline kinds) before cancel returns: their
 *    err is set and their done channels closed when it returns; a thread
 *    blocked on a grandchild's done channel wakes;
 *  - TestChildFinishesFirst: canceling (or timing out) a child leaves its
 *    parent alone;
 *  - TestWithCancelCanceledParent: a child of a done parent starts done with
 *    the parent's error (cancel, timeout and deadline kinds);
 *  - TestDeadline / TestTimeout: with_timeout(50 ms) is done with
 *    WEFT_ETIMEDOUT, never before its deadline, and (loosely) soon after;
 *    with_deadline keeps the exact deadline;
 *  - deadline clipping: a later child deadline is clipped to the parent's
 *    (weft_ctx_deadline equal) and the child times out with the parent,
 *    with WEFT_ETIMEDOUT; an earlier one is kept and fires alone; a
 *    with_cancel child inherits the deadline;
 *  - a deadline already past (or a timeout <= 0) gives a context done at
 *    once with WEFT_ETIMEDOUT;
 *  - TestCanceledTimeout: canceling a child of a timeout context;
 *  - release order: a parent released before its children lives on through
 *    them (ASan checks the memory); a child released without cancel leaves
 *    its parent's list; a 100 000-deep chain is canceled and freed without
 *    recursion;
 *  - TestCancelRemoves: 100 000 short children (cancel, timeout, deadline,
 *    released with or without cancel) of a long-lived parent leave nothing
 *    behind (heap use measured with mallinfo2 in the plain build, leaks by
 *    ASan in the address build);
 *  - hundreds of threads blocked on descendants (recv_ctx, send_ctx, select
 *    on done channels, plain receive of a done channel) all return the
 *    context's error when the root is canceled;
 *  - TestSimultaneousCancels: a tree whose nodes are canceled at once from
 *    several threads, many rounds: every node ends canceled, no crash, no
 *    leak;
 *  - children created while their parent is being canceled all end done;
 *  - a parent canceled while some children's deadlines fire: when its
 *    cancel returns, every child is done;
 *  - TestInterlockedCancels: a thread woken by the parent's cancel cancels
 *    the child;
 *  - TestLayersCancel / TestLayersTimeout: random chains of cancel and
 *    timeout layers; canceling (or timing out) one layer finishes exactly
 *    the layers below it;
 *  - deadlines firing while the owner cancels and releases (short timeouts
 *    racing cancel): the first error sticks, the child is done when cancel
 *    returns, no use after free.
 *
 * Arguments (optional) select the tests whose names contain one of them:
 *   weft_test_ctx deadline layers
 */
#include "check.h"

#include <stdatomic.h>

#if defined(__GLIBC__) && !defined(WEFT_SANITIZED) &&                         \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

/* ---- helpers --------------------------------------------------------------- */

static void check_not_done(weft_ctx *c)
{
    CHECK_EQ(weft_ctx_err(c), 0);
    CHECK_RC(weft_chan_try_recv(weft_ctx_done(c), NULL), WEFT_EAGAIN);
}

/* Done with `err`, and its done channel already closed. */
static void check_done(weft_ctx *c, int err)
{
    CHECK_EQ(weft_ctx_err(c), err);
    weft_chan *d = weft_ctx_done(c);
    CHECK(d != NULL);
    CHECK_RC(weft_chan_try_recv(d, NULL), WEFT_ECLOSED);
    CHECK_RC(weft_chan_recv(d, NULL), WEFT_ECLOSED);
}

static void drop(weft_ctx *c)
{
    weft_ctx_cancel(c);
    weft_ctx_release(c);
}

/* ---- background and NULL --------------------------------------------------- */

static void background(void)
{
    weft_ctx *bg = weft_ctx_background();
    CHECK(bg != NULL);
    CHECK(weft_ctx_background() == bg);
    CHECK_EQ(weft_ctx_err(bg), 0);
    CHECK(weft_ctx_done(bg) == NULL);
    CHECK_EQ(weft_ctx_deadline(bg), WEFT_FOREVER);
    CHECK(weft_ctx_retain(bg) == bg);
    weft_ctx_release(bg);
    weft_ctx_release(bg);
    weft_ctx_release(bg);
    weft_ctx_cancel(bg);
    weft_ctx_cancel(bg);
    CHECK_EQ(weft_ctx_err(bg), 0);
    CHECK(weft_ctx_done(bg) == NULL);
    CHECK_EQ(weft_ctx_deadline(bg), WEFT_FOREVER);

    /* NULL is background. */
    CHECK_EQ(weft_ctx_err(NULL), 0);
    CHECK(weft_ctx_done(NULL) == NULL);
    CHECK_EQ(weft_ctx_deadline(NULL), WEFT_FOREVER);
    CHECK(weft_ctx_retain(NULL) == NULL);
    weft_ctx_release(NULL);
    weft_ctx_cancel(NULL);

    /* done(background) is a disabled select case: Go's `case <-ctx.Done()`
       on Background never fires. */
    weft_case cs[1] = { WEFT_CASE_RECV(weft_ctx_done(bg), NULL) };
    CHECK_RC(weft_select(cs, 1, WEFT_NOWAIT), WEFT_EAGAIN);
    int64_t t0 = weft_now();
    CHECK_RC(weft_select(cs, 1, weft_deadline_in(10 * MS)), WEFT_ETIMEDOUT);
    CHECK_GE(weft_now() - t0, 10 * MS);

    /* Children of NULL and of background are children of the root. */
    weft_ctx *a = weft_ctx_with_cancel(NULL);
    weft_ctx *b = weft_ctx_with_cancel(bg);
    weft_ctx *c = weft_ctx_with_timeout(NULL, 3600 * 1000 * MS);
    weft_ctx *d = weft_ctx_with_deadline(bg, WEFT_FOREVER);
    CHECK(a && b && c && d);
    CHECK(a != bg && b != bg && a != b);
    check_not_done(a);
    check_not_done(b);
    check_not_done(c);
    check_not_done(d);
    CHECK_EQ(weft_ctx_deadline(a), WEFT_FOREVER);
    CHECK_EQ(weft_ctx_deadline(d), WEFT_FOREVER);
    CHECK_LT(weft_ctx_deadline(c), WEFT_FOREVER);
    drop(a);
    /* canceling one root child touches neither background nor its siblings */
    CHECK_EQ(weft_ctx_err(bg), 0);
    check_not_done(b);
    drop(b);
    drop(c);
    drop(d);
    CHECK_EQ(weft_ctx_err(bg), 0);
}

/* ---- with_cancel ----------------------------------------------------------- */

static void with_cancel_basics(void)
{
    weft_ctx *c = weft_ctx_with_cancel(NULL);
    CHECK(c != NULL);
    CHECK_EQ(weft_ctx_err(c), 0);
    CHECK_EQ(weft_ctx_deadline(c), WEFT_FOREVER);
    weft_chan *d = weft_ctx_done(c);
    CHECK(d != NULL);
    CHECK(weft_ctx_done(c) == d); /* one channel, created once */
    CHECK_RC(weft_chan_try_recv(d, NULL), WEFT_EAGAIN);
    CHECK_RC(weft_chan_recv_until(d, NULL, weft_deadline_in(5 * MS)), WEFT_ETIMEDOUT);

    weft_ctx_cancel(c);
    CHECK_EQ(weft_ctx_err(c), WEFT_ECANCELED);
    CHECK(weft_ctx_done(c) == d);
    CHECK_RC(weft_chan_recv(d, NULL), WEFT_ECLOSED);
    CHECK_RC(weft_chan_try_recv(d, NULL), WEFT_ECLOSED);
    weft_case cs[1] = { WEFT_CASE_RECV(d, NULL) };
    CHECK_EQ(weft_select(cs, 1, WEFT_NOWAIT), 0);
    CHECK(!cs[0].ok);

    /* idempotent */
    weft_ctx_cancel(c);
    weft_ctx_cancel(c);
    CHECK_EQ(weft_ctx_err(c), WEFT_ECANCELED);
    CHECK_RC(weft_chan_recv(d, NULL), WEFT_ECLOSED);
    weft_ctx_release(c);

    /* A done channel first asked for after the cancel is created closed. */
    weft_ctx *e = weft_ctx_with_cancel(NULL);
    weft_ctx_cancel(e);
    check_done(e, WEFT_ECANCELED);
    weft_ctx_release(e);

    /* retain/release from the API: two references, two releases. */
    weft_ctx *f = weft_ctx_with_cancel(NULL);
    CHECK(weft_ctx_retain(f) == f);
    weft_ctx_release(f);
    check_not_done(f);
    weft_ctx_cancel(f);
    weft_ctx_release(f);
}

/* The first error sticks, both ways round. */
static void first_error_sticks(void)
{
    weft_ctx *t = weft_ctx_with_timeout(NULL, 10 * MS);
    CHECK_RC(weft_chan_recv(weft_ctx_done(t), NULL), WEFT_ECLOSED);
    CHECK_EQ(weft_ctx_err(t), WEFT_ETIMEDOUT);
    weft_ctx_cancel(t);
    CHECK_EQ(weft_ctx_err(t), WEFT_ETIMEDOUT);
    weft_ctx_release(t);

    weft_ctx *c = weft_ctx_with_timeout(NULL, 20 * MS);
    weft_chan *d = weft_ctx_done(c);
    weft_ctx_cancel(c);
    CHECK_EQ(weft_ctx_err(c), WEFT_ECANCELED);
    test_sleep_ms(50); /* past the deadline that no longer exists */
    CHECK_EQ(weft_ctx_err(c), WEFT_ECANCELED);
    CHECK_RC(weft_chan_try_recv(d, NULL), WEFT_ECLOSED);
    weft_ctx_release(c);

    /* A child canceled first keeps ECANCELED when its parent times out. */
    weft_ctx *p = weft_ctx_with_timeout(NULL, 20 * MS);
    weft_ctx *k = weft_ctx_with_cancel(p);
    weft_ctx_cancel(k);
    CHECK_RC(weft_chan_recv(weft_ctx_done(p), NULL), WEFT_ECLOSED);
    CHECK_EQ(weft_ctx_err(p), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_ctx_err(k), WEFT_ECANCELED);
    weft_ctx_release(k);
    drop(p);
}

/* ---- parent and children ---------------------------------------------------- */

typedef struct waiter {
    weft_ctx *ctx;
    int rc;
} waiter;

static void *wait_done_main(void *p)
{
    waiter *w = p;
    w->rc = weft_chan_recv(weft_ctx_done(w->ctx), NULL);
    return NULL;
}

static void parent_finishes_child(void)
{
    weft_ctx *parent = weft_ctx_with_cancel(NULL);
    weft_ctx *cancel_child = weft_ctx_with_cancel(parent);
    weft_ctx *timer_child = weft_ctx_with_timeout(parent, 3600 * 1000 * MS);
    weft_ctx *deadline_child = weft_ctx_with_deadline(parent, weft_deadline_in(3600 * 1000 * MS));
    weft_ctx *gc1 = weft_ctx_with_cancel(cancel_child);
    weft_ctx *gc2 = weft_ctx_with_timeout(timer_child, 1800 * 1000 * MS);
    weft_ctx *gc3 = weft_ctx_with_cancel(deadline_child);
    weft_ctx *ggc = weft_ctx_with_cancel(gc1);
    weft_ctx *all[] = { parent, cancel_child, timer_child, deadline_child, gc1, gc2, gc3, ggc };
    enum { N = sizeof all / sizeof all[0] };
    for (int i = 0; i < N; i++)
        CHECK(all[i] != NULL);

    /* Done channels made before the cancel for some, after for the others. */
    weft_chan *pre[N] = { 0 };
    for (int i = 0; i < N; i += 2)
        pre[i] = weft_ctx_done(all[i]);
    for (int i = 0; i < N; i++)
        CHECK_EQ(weft_ctx_err(all[i]), 0);

    /* A thread blocked on the great-grandchild's done channel. */
    waiter w = { .ctx = ggc, .rc = 1 };
    pthread_t t = test_thread(wait_done_main, &w);
    test_sleep_ms(10);

    weft_ctx_cancel(parent);
    /* Everything is done before cancel returned: no wait, no retry. */
    for (int i = 0; i < N; i++) {
        CHECK_EQ(weft_ctx_err(all[i]), WEFT_ECANCELED);
        if (pre[i]) {
            CHECK_RC(weft_chan_try_recv(pre[i], NULL), WEFT_ECLOSED);
        }
    }
    for (int i = 0; i < N; i++)
        check_done(all[i], WEFT_ECANCELED);
    test_join(t);
    CHECK_RC(w.rc, WEFT_ECLOSED);

    /* TestWithCancelCanceledParent: children made now start done. */
    weft_ctx *late1 = weft_ctx_with_cancel(parent);
    weft_ctx *late2 = weft_ctx_with_timeout(gc2, 10 * MS);
    weft_ctx *late3 = weft_ctx_with_deadline(ggc, WEFT_FOREVER);
    check_done(late1, WEFT_ECANCELED);
    check_done(late2, WEFT_ECANCELED);
    check_done(late3, WEFT_ECANCELED);
    test_sleep_ms(20); /* late2's deadline passes: the error stays */
    CHECK_EQ(weft_ctx_err(late2), WEFT_ECANCELED);
    drop(late1);
    drop(late2);
    drop(late3);

    for (int i = N - 1; i >= 0; i--)
        drop(all[i]);
}

static void child_finishes_first(void)
{
    weft_ctx *parent = weft_ctx_with_cancel(NULL);
    weft_ctx *a = weft_ctx_with_cancel(parent);
    weft_ctx *b = weft_ctx_with_timeout(parent, 10 * MS);
    weft_ctx *a1 = weft_ctx_with_cancel(a);
    weft_ctx *sib = weft_ctx_with_cancel(parent);

    weft_ctx_cancel(a);
    check_done(a, WEFT_ECANCELED);
    check_done(a1, WEFT_ECANCELED);
    check_not_done(parent);
    check_not_done(sib);

    CHECK_RC(weft_chan_recv(weft_ctx_done(b), NULL), WEFT_ECLOSED);
    check_done(b, WEFT_ETIMEDOUT);
    check_not_done(parent);
    check_not_done(sib);

    /* The parent still works: it cancels the child that is left. */
    weft_ctx_cancel(parent);
    check_done(sib, WEFT_ECANCELED);
    CHECK_EQ(weft_ctx_err(a), WEFT_ECANCELED);
    CHECK_EQ(weft_ctx_err(b), WEFT_ETIMEDOUT);
    drop(a1);
    drop(a);
    drop(b);
    drop(sib);
    drop(parent);
}

static void child_of_done_parent(void)
{
    weft_ctx *canceled = weft_ctx_with_cancel(NULL);
    weft_ctx_cancel(canceled);
    weft_ctx *timed = weft_ctx_with_timeout(NULL, 1 * MS);
    CHECK_RC(weft_chan_recv(weft_ctx_done(timed), NULL), WEFT_ECLOSED);

    weft_ctx *parents[2] = { canceled, timed };
    int errs[2] = { WEFT_ECANCELED, WEFT_ETIMEDOUT };
    for (int i = 0; i < 2; i++) {
        weft_ctx *k1 = weft_ctx_with_cancel(parents[i]);
        weft_ctx *k2 = weft_ctx_with_timeout(parents[i], 3600 * 1000 * MS);
        weft_ctx *k3 = weft_ctx_with_deadline(parents[i], WEFT_FOREVER);
        weft_ctx *k4 = weft_ctx_with_timeout(parents[i], -1); /* past too: first error is the parent's */
        CHECK(k1 && k2 && k3 && k4);
        check_done(k1, errs[i]);
        check_done(k2, errs[i]);
        check_done(k3, errs[i]);
        check_done(k4, errs[i]);
        weft_ctx *gk = weft_ctx_with_cancel(k1);
        check_done(gk, errs[i]);
        drop(gk);
        drop(k1);
        drop(k2);
        drop(k3);
        drop(k4);
    }
    drop(canceled);
    drop(timed);
}

/* ---- deadlines ------------------------------------------------------------- */

static void timeout_fires(void)
{
    int64_t t0 = weft_now();
    weft_ctx *c = weft_ctx_with_timeout(NULL, 50 * MS);
    int64_t t1 = weft_now();
    int64_t dl = weft_ctx_deadline(c);
    CHECK_GE(dl, t0 + 50 * MS);
    CHECK_LE(dl, t1 + 50 * MS);
    check_not_done(c);
    /* Loosely "soon": a lost deadline would show as ETIMEDOUT here. */
    CHECK_RC(weft_chan_recv_until(weft_ctx_done(c), NULL, dl + SLACK_MS * MS), WEFT_ECLOSED);
    CHECK_GE(weft_now(), dl);
    CHECK_EQ(weft_ctx_err(c), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_ctx_deadline(c), dl); /* still reported after it passed */
    drop(c);

    /* with_deadline keeps the exact value; nobody waits on it, and it still
       becomes done at its deadline (TestDeadline). */
    int64_t want = weft_deadline_in(30 * MS);
    weft_ctx *d = weft_ctx_with_deadline(NULL, want);
    CHECK_EQ(weft_ctx_deadline(d), want);
    for (;;) {
        int e = weft_ctx_err(d); /* read before the clock: set only once now >= want */
        if (weft_now() >= want)
            break;
        CHECK_EQ(e, 0);
        test_sleep_ms(1);
    }
    int64_t give_up = want + SLACK_MS * MS;
    while (weft_ctx_err(d) == 0 && weft_now() < give_up)
        test_sleep_ms(1);
    CHECK_EQ(weft_ctx_err(d), WEFT_ETIMEDOUT);
    check_done(d, WEFT_ETIMEDOUT);
    drop(d);

    /* A thread blocked on the done channel is woken by the deadline. */
    weft_ctx *e = weft_ctx_with_timeout(NULL, 20 * MS);
    waiter w = { .ctx = e, .rc = 1 };
    pthread_t t = test_thread(wait_done_main, &w);
    test_join(t);
    CHECK_RC(w.rc, WEFT_ECLOSED);
    CHECK_GE(weft_now(), weft_ctx_deadline(e));
    CHECK_EQ(weft_ctx_err(e), WEFT_ETIMEDOUT);
    drop(e);
}

static void deadline_clipping(void)
{
    /* A later child deadline is clipped to the parent's. */
    weft_ctx *p = weft_ctx_with_timeout(NULL, 60 * MS);
    int64_t pdl = weft_ctx_deadline(p);
    weft_ctx *late = weft_ctx_with_timeout(p, 10000 * MS);
    weft_ctx *late_abs = weft_ctx_with_deadline(p, pdl + 1);
    weft_ctx *inherit = weft_ctx_with_cancel(p);
    weft_ctx *inherit2 = weft_ctx_with_cancel(late);
    CHECK_EQ(weft_ctx_deadline(late), pdl);
    CHECK_EQ(weft_ctx_deadline(late_abs), pdl);
    CHECK_EQ(weft_ctx_deadline(inherit), pdl);
    CHECK_EQ(weft_ctx_deadline(inherit2), pdl);
    /* The child becomes done when the parent times out, with its error. */
    CHECK_RC(weft_chan_recv_until(weft_ctx_done(late), NULL, pdl + SLACK_MS * MS), WEFT_ECLOSED);
    CHECK_GE(weft_now(), pdl);
    check_done(p, WEFT_ETIMEDOUT);
    check_done(late, WEFT_ETIMEDOUT);
    check_done(late_abs, WEFT_ETIMEDOUT);
    check_done(inherit, WEFT_ETIMEDOUT);
    check_done(inherit2, WEFT_ETIMEDOUT);
    drop(inherit2);
    drop(inherit);
    drop(late_abs);
    drop(late);
    drop(p);

    /* An earlier child deadline is kept, fires alone, and is inherited. */
    weft_ctx *q = weft_ctx_with_timeout(NULL, 10000 * MS);
    int64_t qdl = weft_ctx_deadline(q);
    weft_ctx *early = weft_ctx_with_timeout(q, 30 * MS);
    int64_t edl = weft_ctx_deadline(early);
    CHECK_LT(edl, qdl);
    weft_ctx *below = weft_ctx_with_timeout(early, 5000 * MS);
    CHECK_EQ(weft_ctx_deadline(below), edl);
    weft_ctx *exact = weft_ctx_with_deadline(q, qdl - 1);
    CHECK_EQ(weft_ctx_deadline(exact), qdl - 1);
    CHECK_RC(weft_chan_recv_until(weft_ctx_done(below), NULL, edl + SLACK_MS * MS), WEFT_ECLOSED);
    CHECK_GE(weft_now(), edl);
    check_done(early, WEFT_ETIMEDOUT);
    check_done(below, WEFT_ETIMEDOUT);
    check_not_done(q);
    check_not_done(exact);
    CHECK_EQ(weft_ctx_deadline(q), qdl);
    drop(exact);
    drop(below);
    drop(early);
    drop(q);
}

static void deadline_already_passed(void)
{
    int64_t past[] = { weft_now() - 1, weft_now(), WEFT_NOWAIT, -1000 * MS, INT64_MIN + 1 };
    for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
        weft_ctx *c = weft_ctx_with_deadline(NULL, past[i]);
        CHECK(c != NULL);
        CHECK_EQ(weft_ctx_err(c), WEFT_ETIMEDOUT);
        check_done(c, WEFT_ETIMEDOUT);
        CHECK_LE(weft_ctx_deadline(c), weft_now());
        weft_ctx *k = weft_ctx_with_cancel(c);
        check_done(k, WEFT_ETIMEDOUT);
        drop(k);
        drop(c);
    }
    int64_t timeouts[] = { 0, -1, -1000 * MS, INT64_MIN };
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        weft_ctx *c = weft_ctx_with_timeout(NULL, timeouts[i]);
        CHECK(c != NULL);
        check_done(c, WEFT_ETIMEDOUT);
        drop(c);
    }
    /* A past deadline on a live parent finishes only the child. */
    weft_ctx *p = weft_ctx_with_cancel(NULL);
    weft_ctx *k = weft_ctx_with_timeout(p, 0);
    check_done(k, WEFT_ETIMEDOUT);
    check_not_done(p);
    drop(k);
    drop(p);
}

/* TestCanceledTimeout */
static void canceled_timeout(void)
{
    weft_ctx *c = weft_ctx_with_timeout(NULL, 1000 * MS);
    weft_ctx *o = weft_ctx_with_cancel(c);
    weft_ctx_cancel(o);
    CHECK_RC(weft_chan_recv(weft_ctx_done(o), NULL), WEFT_ECLOSED);
    CHECK_EQ(weft_ctx_err(o), WEFT_ECANCELED);
    check_not_done(c);
    drop(o);
    drop(c);
}

/* ---- lifetimes ------------------------------------------------------------- */

static void release_parent_first(void)
{
    /* The parent's last user reference goes first: children keep it. */
    weft_ctx *p = weft_ctx_with_timeout(NULL, 3600 * 1000 * MS);
    int64_t pdl = weft_ctx_deadline(p);
    weft_ctx *a = weft_ctx_with_cancel(p);
    weft_ctx *b = weft_ctx_with_timeout(p, 3600 * 2000 * MS);
    weft_ctx *a1 = weft_ctx_with_cancel(a);
    weft_chan *pd = weft_ctx_done(p); /* p's done channel, freed with p */
    (void)pd;
    weft_ctx_release(p); /* not canceled: lives on through a, b */
    check_not_done(a);
    check_not_done(b);
    CHECK_EQ(weft_ctx_deadline(b), pdl);
    CHECK_EQ(weft_ctx_deadline(a1), pdl);
    /* Children of children can still be made and freed. */
    weft_ctx *a2 = weft_ctx_with_timeout(a, 10 * MS);
    CHECK_RC(weft_chan_recv(weft_ctx_done(a2), NULL), WEFT_ECLOSED);
    check_done(a2, WEFT_ETIMEDOUT);
    check_not_done(a);
    drop(a2);
    weft_ctx_release(a); /* a lives on through a1 */
    check_not_done(a1);
    weft_ctx_cancel(a1);
    check_done(a1, WEFT_ECANCELED);
    check_not_done(b);
    drop(b);
    weft_ctx_release(a1); /* frees a1, then a, and p goes with b */

    /* Release the parent (canceled) before its children; children that were
       canceled through it are freed last. */
    weft_ctx *q = weft_ctx_with_cancel(NULL);
    weft_ctx *kids[8];
    for (int i = 0; i < 8; i++)
        kids[i] = i % 2 ? weft_ctx_with_cancel(q) : weft_ctx_with_timeout(q, 3600 * 1000 * MS);
    drop(q);
    for (int i = 0; i < 8; i++) {
        check_done(kids[i], WEFT_ECANCELED);
        weft_ctx_release(kids[i]);
    }

    /* Children released without cancel leave the parent's list: cancel of
       the parent afterwards touches none of their memory (ASan). */
    weft_ctx *r = weft_ctx_with_cancel(NULL);
    for (int i = 0; i < 8; i++) {
        kids[i] = weft_ctx_with_cancel(r);
        if (i % 3 == 0)
            (void)weft_ctx_done(kids[i]);
    }
    for (int i = 0; i < 8; i += 2)
        weft_ctx_release(kids[i]); /* no cancel */
    weft_ctx_cancel(r);
    for (int i = 1; i < 8; i += 2) {
        check_done(kids[i], WEFT_ECANCELED);
        weft_ctx_release(kids[i]);
    }
    weft_ctx_release(r);

    /* A timeout context released without cancel: its pending deadline keeps
       it, then it fires and is freed (ASan: no leak, no use after free). */
    weft_ctx *s = weft_ctx_with_timeout(NULL, 5 * MS);
    weft_ctx *s1 = weft_ctx_with_cancel(s);
    weft_ctx_release(s);
    CHECK_RC(weft_chan_recv(weft_ctx_done(s1), NULL), WEFT_ECLOSED);
    CHECK_EQ(weft_ctx_err(s1), WEFT_ETIMEDOUT);
    weft_ctx_release(s1);
    weft_ctx *u = weft_ctx_with_timeout(NULL, 5 * MS);
    weft_ctx_release(u);
    test_sleep_ms(20);
}

/* A 100 000-deep chain: cancel and free are not recursive. */
static void deep_chain(void)
{
    long depth = 100000;
    weft_ctx *root = weft_ctx_with_cancel(NULL);
    weft_ctx *cur = weft_ctx_retain(root);
    weft_ctx *mid = NULL;
    for (long i = 0; i < depth; i++) {
        weft_ctx *next = i % 7 == 3 ? weft_ctx_with_timeout(cur, 3600 * 1000 * MS)
                                    : weft_ctx_with_cancel(cur);
        CHECK(next != NULL);
        if (i == depth / 2)
            mid = weft_ctx_retain(next);
        weft_ctx_release(cur); /* the chain keeps it */
        cur = next;
    }
    weft_ctx *leaf = cur;
    (void)weft_ctx_done(leaf);
    (void)weft_ctx_done(mid);
    CHECK_EQ(weft_ctx_deadline(leaf), weft_ctx_deadline(mid));
    check_not_done(leaf);
    weft_ctx_cancel(root);
    check_done(leaf, WEFT_ECANCELED);
    check_done(mid, WEFT_ECANCELED);
    weft_ctx_release(root);
    weft_ctx_release(mid);
    weft_ctx_release(leaf); /* frees the whole chain, iteratively */

    /* Canceled from the bottom: parents stay alive and not done. */
    root = weft_ctx_with_cancel(NULL);
    cur = weft_ctx_retain(root);
    for (long i = 0; i < depth; i++) {
        weft_ctx *next = weft_ctx_with_cancel(cur);
        weft_ctx_release(cur);
        cur = next;
    }
    weft_ctx_cancel(cur);
    check_done(cur, WEFT_ECANCELED);
    check_not_done(root);
    weft_ctx_release(cur); /* frees everything below root */
    check_not_done(root);
    drop(root);
}

/* TestCancelRemoves, at scale. */
static size_t heap_in_use(void)
{
#ifdef HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static void many_short_children(void)
{
    long n = 100000;
    weft_ctx *parent = weft_ctx_with_timeout(NULL, 3600 * 1000 * MS);
    weft_ctx *other = weft_ctx_with_cancel(NULL);
    /* Warm up (timer thread, heap array, allocator arenas). */
    for (int i = 0; i < 1000; i++) {
        weft_ctx *c = weft_ctx_with_timeout(parent, 1800 * 1000 * MS);
        (void)weft_ctx_done(c);
        drop(c);
    }
    test_sleep_ms(5);
    size_t before = heap_in_use();
    for (long i = 0; i < n; i++) {
        weft_ctx *c;
        switch (i % 6) {
        case 0:
            c = weft_ctx_with_cancel(parent);
            break;
        case 1:
            c = weft_ctx_with_timeout(parent, 1800 * 1000 * MS); /* own timer entry */
            break;
        case 2:
            c = weft_ctx_with_deadline(parent, WEFT_FOREVER); /* clipped: no entry */
            break;
        case 3:
            c = weft_ctx_with_timeout(parent, 0); /* done at once */
            break;
        case 4:
            c = weft_ctx_with_cancel(parent); /* released without cancel */
            break;
        default:
            c = weft_ctx_with_timeout(parent, 1 * MS); /* times out by itself */
            break;
        }
        CHECK(c != NULL);
        if (i % 3 == 0)
            (void)weft_ctx_done(c);
        if (i % 10 == 0) { /* a grandchild too */
            weft_ctx *g = weft_ctx_with_cancel(c);
            weft_ctx_release(g);
        }
        if (i % 6 == 4) {
            weft_ctx_release(c);
        } else if (i % 6 == 5) {
            if (i % 12 == 5)
                weft_ctx_release(c); /* freed when its deadline fires */
            else
                drop(c);
        } else {
            drop(c);
        }
    }
    check_not_done(parent);
    check_not_done(other);
    /* 100 000 contexts of ~150 bytes leaked would be ~15 MB. The 1 ms ones
       released unfired go when their deadlines fire: give the (possibly
       starved: the machine may be loaded) timer thread up to 5 s. A real
       leak never comes back down. */
    size_t after = heap_in_use();
#ifdef HAVE_MALLINFO2
    for (int64_t give_up = weft_deadline_in(5 * SLACK_MS * MS);
         after > before + 1024 * 1024 && weft_now() < give_up; after = heap_in_use())
        test_sleep_ms(10);
    if (after > before + 1024 * 1024) {
        fprintf(stderr, "heap grew from %zu to %zu bytes over %ld short children\n", before,
                after, n);
        CHECK(after <= before + 1024 * 1024);
    }
#else
    (void)before;
    (void)after;
#endif
    /* A child made now still works normally. (Let the released 1 ms
       children fire first: a deadline firing during the parent's cancel is
       cancel_races_child_deadlines' business.) */
    test_sleep_ms(50);
    weft_ctx *c = weft_ctx_with_cancel(parent);
    check_not_done(c);
    weft_ctx_cancel(parent);
    check_done(c, WEFT_ECANCELED);
    drop(c);
    drop(parent);
    drop(other);
}

/* ---- many blocked waiters -------------------------------------------------- */

typedef struct blocked_waiter {
    weft_ctx *ctx;
    weft_chan *never;  /* unbuffered, nobody sends or receives */
    weft_chan *full;   /* buffered, full */
    int mode;
    atomic_int *arrived;
    int rc;
} blocked_waiter;

static void *blocked_waiter_main(void *p)
{
    blocked_waiter *w = p;
    weft_ctx *ctx = weft_ctx_retain(w->ctx); /* the thread's own reference */
    int v = 7;
    atomic_fetch_add(w->arrived, 1);
    switch (w->mode) {
    case 0:
        w->rc = weft_chan_recv_ctx(w->never, &v, ctx);
        break;
    case 1:
        w->rc = weft_chan_send_ctx(w->full, &v, ctx);
        break;
    case 2: {
        weft_case cs[2] = { WEFT_CASE_RECV(w->never, &v), WEFT_CASE_RECV(weft_ctx_done(ctx), NULL) };
        int k = weft_select(cs, 2, WEFT_FOREVER);
        w->rc = k == 1 && !cs[1].ok ? weft_ctx_err(ctx) : 1000 + k;
        break;
    }
    default: {
        int r = weft_chan_recv(weft_ctx_done(ctx), NULL);
        w->rc = r == WEFT_ECLOSED ? weft_ctx_err(ctx) : 2000 + r;
        break;
    }
    }
    weft_ctx_release(ctx);
    return NULL;
}

static void cancel_wakes_many_waiters(void)
{
#ifdef WEFT_SANITIZED
    enum { NT = 64 };
#else
    enum { NT = 200 };
#endif
    enum { NMID = 8, NLEAF = 4 };
    weft_ctx *root = weft_ctx_with_cancel(NULL);
    weft_ctx *mid[NMID], *leaf[NMID][NLEAF];
    for (int i = 0; i < NMID; i++) {
        mid[i] = i % 2 ? weft_ctx_with_cancel(root) : weft_ctx_with_timeout(root, 3600 * 1000 * MS);
        for (int j = 0; j < NLEAF; j++)
            leaf[i][j] = j % 2 ? weft_ctx_with_timeout(mid[i], 1800 * 1000 * MS)
                               : weft_ctx_with_cancel(mid[i]);
    }
    weft_chan *never = weft_chan_new(sizeof(int), 0);
    weft_chan *full = weft_chan_new(sizeof(int), 1);
    int one = 1;
    CHECK_OK(weft_chan_send(full, &one));
    atomic_int arrived = 0;
    static blocked_waiter ws[NT];
    pthread_t ts[NT];
    for (int i = 0; i < NT; i++) {
        int m = i % (NMID * NLEAF + NMID + 1);
        weft_ctx *ctx = m < NMID * NLEAF ? leaf[m / NLEAF][m % NLEAF] : m < NMID * NLEAF + NMID ? mid[m - NMID * NLEAF] : root;
        ws[i] = (blocked_waiter){ .ctx = ctx, .never = never, .full = full, .mode = i % 4,
                                  .arrived = &arrived, .rc = 1 };
        ts[i] = test_thread(blocked_waiter_main, &ws[i]);
    }
    while (atomic_load(&arrived) < NT)
        test_sleep_ms(1);
    test_sleep_ms(100); /* let them park */
    for (int i = 0; i < NT; i++)
        CHECK_EQ(ws[i].rc, 1); /* nobody returned early */

    weft_ctx_cancel(root);
    for (int i = 0; i < NMID; i++) {
        CHECK_EQ(weft_ctx_err(mid[i]), WEFT_ECANCELED);
        for (int j = 0; j < NLEAF; j++)
            CHECK_EQ(weft_ctx_err(leaf[i][j]), WEFT_ECANCELED);
    }
    for (int i = 0; i < NT; i++) {
        test_join(ts[i]);
        if (ws[i].rc != WEFT_ECANCELED)
            fprintf(stderr, "waiter %d (mode %d) returned %d\n", i, ws[i].mode, ws[i].rc);
        CHECK_EQ(ws[i].rc, WEFT_ECANCELED);
    }
    /* Nothing was taken from or added to the channels. */
    CHECK_EQ(weft_chan_len(full), 1);
    CHECK_RC(weft_chan_try_recv(never, NULL), WEFT_EAGAIN);
    for (int i = 0; i < NMID; i++) {
        for (int j = 0; j < NLEAF; j++)
            weft_ctx_release(leaf[i][j]);
        weft_ctx_release(mid[i]);
    }
    weft_ctx_release(root);
    weft_chan_free(never);
    weft_chan_free(full);
}

/* ---- simultaneous cancels -------------------------------------------------- */

enum { SC_KIDS = 16, SC_GK = 3, SC_THREADS = 4 };

typedef struct sc_tree {
    weft_ctx *root;
    weft_ctx *kid[SC_KIDS];
    weft_ctx *gk[SC_KIDS][SC_GK];
    weft_chan *kid_done[SC_KIDS];     /* made before the round, or NULL */
    weft_chan *gk_done[SC_KIDS][SC_GK];
} sc_tree;

typedef struct sc_shared {
    pthread_barrier_t start, end;
    sc_tree tree;
    long rounds;
    /* A weft_ctx_cancel(x) that returned while a descendant of x was not
       done yet (err 0, or a done channel made earlier still open). This
       happens when another thread's cancel got to x first and is still
       walking x's subtree. */
    atomic_long early_return;
    atomic_long early_err, early_chan;
} sc_shared;

typedef struct sc_arg {
    sc_shared *s;
    int id;
} sc_arg;

/* Right after weft_ctx_cancel(kid i) returned: its subtree must be done. */
static void sc_check_kid_subtree(sc_shared *s, int i, bool with_kid)
{
    sc_tree *t = &s->tree;
    bool early = false;
    if (with_kid) {
        if (weft_ctx_err(t->kid[i]) == 0) {
            early = true;
            atomic_fetch_add(&s->early_err, 1);
        }
        if (t->kid_done[i] && weft_chan_try_recv(t->kid_done[i], NULL) != WEFT_ECLOSED) {
            early = true;
            atomic_fetch_add(&s->early_chan, 1);
        }
    }
    for (int j = 0; j < SC_GK; j++) {
        if (weft_ctx_err(t->gk[i][j]) == 0) {
            early = true;
            atomic_fetch_add(&s->early_err, 1);
        }
        if (t->gk_done[i][j] && weft_chan_try_recv(t->gk_done[i][j], NULL) != WEFT_ECLOSED) {
            early = true;
            atomic_fetch_add(&s->early_chan, 1);
        }
    }
    if (early)
        atomic_fetch_add(&s->early_return, 1);
}

static void *sc_canceller(void *p)
{
    sc_arg *a = p;
    sc_shared *s = a->s;
    for (long r = 0; r < s->rounds; r++) {
        pthread_barrier_wait(&s->start);
        sc_tree *t = &s->tree;
        /* Kids i % 4 in {0, 2} and grandchildren 0 and 1 are canceled only
           through their ancestors: one lost by a cancel stays err 0. */
        switch (a->id) {
        case 0: /* the root */
            weft_ctx_cancel(t->root);
            for (int i = 0; i < SC_KIDS; i++)
                sc_check_kid_subtree(s, i, true);
            break;
        case 1: /* kids 1, 5, 9, ... in order */
            for (int i = 1; i < SC_KIDS; i += 4) {
                weft_ctx_cancel(t->kid[i]);
                sc_check_kid_subtree(s, i, true);
            }
            break;
        case 2: /* kids ..., 11, 7, 3 backwards, and the root again */
            for (int i = SC_KIDS - 1; i >= 0; i -= 4) {
                weft_ctx_cancel(t->kid[i]);
                sc_check_kid_subtree(s, i, true);
            }
            weft_ctx_cancel(t->root);
            for (int i = 0; i < SC_KIDS; i++)
                sc_check_kid_subtree(s, i, true);
            break;
        default: /* the last grandchild of every kid */
            for (int i = 0; i < SC_KIDS; i++)
                weft_ctx_cancel(t->gk[i][SC_GK - 1]);
            break;
        }
        pthread_barrier_wait(&s->end);
    }
    return NULL;
}

static void simultaneous_cancels(void)
{
    static sc_shared s;
    s.rounds = test_n(3000);
    CHECK_EQ(pthread_barrier_init(&s.start, NULL, SC_THREADS + 1), 0);
    CHECK_EQ(pthread_barrier_init(&s.end, NULL, SC_THREADS + 1), 0);
    sc_arg args[SC_THREADS];
    pthread_t ts[SC_THREADS];
    for (int i = 0; i < SC_THREADS; i++) {
        args[i] = (sc_arg){ &s, i };
        ts[i] = test_thread(sc_canceller, &args[i]);
    }
    for (long r = 0; r < s.rounds; r++) {
        sc_tree *t = &s.tree;
        t->root = weft_ctx_with_cancel(NULL);
        (void)weft_ctx_done(t->root);
        for (int i = 0; i < SC_KIDS; i++) {
            t->kid[i] = i % 3 == 1 ? weft_ctx_with_timeout(t->root, 3600 * 1000 * MS)
                                   : weft_ctx_with_cancel(t->root);
            t->kid_done[i] = i % 2 ? weft_ctx_done(t->kid[i]) : NULL;
            for (int j = 0; j < SC_GK; j++) {
                t->gk[i][j] = j == 1 ? weft_ctx_with_timeout(t->kid[i], 1800 * 1000 * MS)
                                     : weft_ctx_with_cancel(t->kid[i]);
                t->gk_done[i][j] = (i + j) % 2 ? weft_ctx_done(t->gk[i][j]) : NULL;
            }
        }
        pthread_barrier_wait(&s.start);
        pthread_barrier_wait(&s.end);
        int lost = 0;
        for (int i = 0; i < SC_KIDS; i++) {
            lost += weft_ctx_err(t->kid[i]) != WEFT_ECANCELED;
            for (int j = 0; j < SC_GK; j++)
                lost += weft_ctx_err(t->gk[i][j]) != WEFT_ECANCELED;
        }
        if (lost) {
            fprintf(stderr, "round %ld: %d of %d descendants not canceled after every cancel "
                            "returned:\n",
                    r, lost, SC_KIDS * (1 + SC_GK));
            for (int i = 0; i < SC_KIDS; i++) {
                fprintf(stderr, "  kid %2d: %d  gk:", i, weft_ctx_err(t->kid[i]));
                for (int j = 0; j < SC_GK; j++)
                    fprintf(stderr, " %d", weft_ctx_err(t->gk[i][j]));
                fprintf(stderr, "\n");
            }
        }
        CHECK_EQ(lost, 0);
        check_done(t->root, WEFT_ECANCELED);
        for (int i = 0; i < SC_KIDS; i++) {
            check_done(t->kid[i], WEFT_ECANCELED);
            for (int j = 0; j < SC_GK; j++) {
                check_done(t->gk[i][j], WEFT_ECANCELED);
                weft_ctx_release(t->gk[i][j]);
            }
            weft_ctx_release(t->kid[i]);
        }
        weft_ctx_release(t->root);
    }
    for (int i = 0; i < SC_THREADS; i++)
        test_join(ts[i]);
    pthread_barrier_destroy(&s.start);
    pthread_barrier_destroy(&s.end);
    long early = atomic_load(&s.early_return);
    if (early)
        fprintf(stderr,
                "%ld of %ld concurrent weft_ctx_cancel calls returned before the subtree was "
                "done (%ld descendants with err 0, %ld done channels still open)\n",
                early, s.rounds * (2L + SC_KIDS / 2), atomic_load(&s.early_err),
                atomic_load(&s.early_chan));
    CHECK_EQ(early, 0);
}

/* ---- children created while the parent is canceled ------------------------- */

typedef struct creator {
    weft_ctx *parent;
    weft_ctx **kids;
    long n;
    atomic_long *made;
} creator;

static void *creator_main(void *p)
{
    creator *c = p;
    for (long i = 0; i < c->n; i++) {
        switch (i % 3) {
        case 0:
            c->kids[i] = weft_ctx_with_cancel(c->parent);
            break;
        case 1:
            c->kids[i] = weft_ctx_with_timeout(c->parent, 3600 * 1000 * MS);
            break;
        default:
            c->kids[i] = weft_ctx_with_timeout(c->parent, 1 * MS);
            break;
        }
        CHECK(c->kids[i] != NULL);
        atomic_store(c->made, i + 1);
    }
    return NULL;
}

static void create_while_canceling(void)
{
    long rounds = test_n(2000);
    enum { K = 64 };
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    for (long r = 0; r < rounds; r++) {
        weft_ctx *parent = weft_ctx_with_cancel(NULL);
        weft_ctx *kids[K];
        atomic_long made = 0;
        creator c = { .parent = parent, .kids = kids, .n = K, .made = &made };
        pthread_t t = test_thread(creator_main, &c);
        long at = (long)(test_rand(&rng) % K);
        while (atomic_load(&made) < at)
            sched_yield();
        weft_ctx_cancel(parent);
        test_join(t);
        for (long i = 0; i < K; i++) {
            int e = weft_ctx_err(kids[i]);
            /* the 1 ms ones may have timed out before the cancel */
            if (i % 3 == 2)
                CHECK(e == WEFT_ECANCELED || e == WEFT_ETIMEDOUT);
            else
                CHECK_EQ(e, WEFT_ECANCELED);
            CHECK_RC(weft_chan_try_recv(weft_ctx_done(kids[i]), NULL), WEFT_ECLOSED);
            drop(kids[i]);
        }
        drop(parent);
    }
}

/* ---- a parent canceled while its children's deadlines fire ------------------ */

/* The timer thread cancels a child (its deadline) while another thread
   cancels the parent: when the parent's cancel returns, every child is done
   (the ones only the parent cancels with WEFT_ECANCELED, done channel
   closed). */
static void cancel_races_child_deadlines(void)
{
    enum { K = 32 };
    long rounds = test_n(3000);
    uint64_t rng = 0xFEEDFACE;
    long lost_rounds = 0, lost_total = 0, lost_forever = 0;
    for (long r = 0; r < rounds; r++) {
        weft_ctx *parent = weft_ctx_with_cancel(NULL);
        weft_ctx *kids[K];
        weft_chan *done[K];
        for (int i = 0; i < K; i++) {
            kids[i] = i % 2 ? weft_ctx_with_timeout(parent, (int64_t)(test_rand(&rng) % 300000))
                            : weft_ctx_with_cancel(parent);
            CHECK(kids[i] != NULL);
            done[i] = weft_ctx_done(kids[i]);
        }
        int64_t until = weft_now() + (int64_t)(test_rand(&rng) % 300000);
        while (weft_now() < until) {
        }
        weft_ctx_cancel(parent);
        int lost = 0;
        for (int i = 0; i < K; i++) {
            int e = weft_ctx_err(kids[i]);
            if (i % 2 == 0)
                lost += e != WEFT_ECANCELED ||
                        weft_chan_try_recv(done[i], NULL) != WEFT_ECLOSED;
            else
                lost += e != WEFT_ECANCELED && e != WEFT_ETIMEDOUT;
        }
        if (lost) {
            lost_rounds++;
            lost_total += lost;
            test_sleep_ms(10); /* late, or never canceled at all? */
            for (int i = 0; i < K; i += 2)
                lost_forever += weft_ctx_err(kids[i]) == 0;
        }
        for (int i = 0; i < K; i++) {
            /* whatever happened above, finish them so that they can go */
            weft_ctx_cancel(kids[i]);
            weft_ctx_release(kids[i]);
        }
        drop(parent);
    }
    if (lost_rounds)
        fprintf(stderr, "%ld of %ld rounds: %ld children not done when the parent's cancel "
                        "returned (a sibling's deadline fired during the cancel); %ld of them "
                        "still not canceled 10 ms later\n",
                lost_rounds, rounds, lost_total, lost_forever);
    CHECK_EQ(lost_rounds, 0);
}

/* ---- TestInterlockedCancels --------------------------------------------------- */

typedef struct interlock {
    weft_ctx *wait_on;
    weft_ctx *to_cancel;
} interlock;

static void *interlock_main(void *p)
{
    interlock *x = p;
    CHECK_RC(weft_chan_recv(weft_ctx_done(x->wait_on), NULL), WEFT_ECLOSED);
    weft_ctx_cancel(x->to_cancel);
    return NULL;
}

static void interlocked_cancels(void)
{
    long rounds = test_n(500);
    for (long r = 0; r < rounds; r++) {
        weft_ctx *parent = weft_ctx_with_cancel(NULL);
        weft_ctx *child = weft_ctx_with_cancel(parent);
        /* Go: go func() { <-parent.Done(); cancelChild() }(); cancelParent() */
        interlock a = { parent, child };
        /* and the reverse: woken by the child, cancel the parent (again) */
        interlock b = { child, parent };
        pthread_t ta = test_thread(interlock_main, &a);
        pthread_t tb = test_thread(interlock_main, &b);
        if (r % 2)
            sched_yield();
        weft_ctx_cancel(parent);
        CHECK_RC(weft_chan_recv_until(weft_ctx_done(child), NULL, weft_deadline_in(SLACK_MS * MS)),
                 WEFT_ECLOSED);
        test_join(ta);
        test_join(tb);
        CHECK_EQ(weft_ctx_err(parent), WEFT_ECANCELED);
        CHECK_EQ(weft_ctx_err(child), WEFT_ECANCELED);
        drop(child);
        drop(parent);
    }
}

/* ---- TestLayersCancel / TestLayersTimeout -------------------------------------- */

enum { MAX_LAYERS = 24 };

static void layers(uint64_t seed, bool timeout)
{
    uint64_t rng = seed * 2654435761u + 1;
    weft_ctx *layer[MAX_LAYERS];
    int kind[MAX_LAYERS]; /* 0: cancel, 1: long timeout, 2: the short timeout */
    int n = 0, short_at = -1;
    weft_ctx *cur = NULL;
    int min_layers = 4 + (int)(test_rand(&rng) % 16);
    while (n < min_layers || (timeout && short_at < 0)) {
        CHECK_LT(n, MAX_LAYERS);
        int k = (int)(test_rand(&rng) % 3);
        if (k == 2 && (!timeout || short_at >= 0))
            k = 1;
        if (k == 2 && n < 2)
            k = 0;
        if (timeout && short_at < 0 && n == MAX_LAYERS - 1)
            k = 2;
        switch (k) {
        case 0:
            cur = weft_ctx_with_cancel(cur);
            break;
        case 1:
            cur = weft_ctx_with_timeout(cur, 3600 * 1000 * MS);
            break;
        default:
            cur = weft_ctx_with_timeout(cur, 40 * MS);
            short_at = n;
            break;
        }
        CHECK(cur != NULL);
        layer[n] = cur;
        kind[n] = k;
        n++;
    }
    (void)kind;
    /* Nothing is done yet; deadlines are monotone down the chain. */
    for (int i = 0; i < n; i++) {
        check_not_done(layer[i]);
        if (i > 0)
            CHECK_LE(weft_ctx_deadline(layer[i]), weft_ctx_deadline(layer[i - 1]));
    }
    int from;
    int want;
    if (timeout) {
        from = short_at;
        want = WEFT_ETIMEDOUT;
        int64_t dl = weft_ctx_deadline(layer[short_at]);
        CHECK_EQ(weft_ctx_deadline(layer[n - 1]), dl);
        CHECK_RC(weft_chan_recv_until(weft_ctx_done(layer[n - 1]), NULL, dl + SLACK_MS * MS),
                 WEFT_ECLOSED);
        CHECK_GE(weft_now(), dl);
    } else {
        from = (int)(test_rand(&rng) % (uint64_t)n);
        want = WEFT_ECANCELED;
        weft_ctx_cancel(layer[from]);
    }
    for (int i = 0; i < n; i++) {
        if (i < from)
            check_not_done(layer[i]);
        else
            check_done(layer[i], want);
    }
    /* Release outermost first: the chain keeps itself alive. */
    for (int i = 0; i < n; i++)
        drop(layer[i]);
}

static void layers_cancel(void)
{
    for (uint64_t seed = 1; seed <= 200; seed++)
        layers(seed, false);
}

static void layers_timeout(void)
{
    for (uint64_t seed = 1; seed <= 8; seed++)
        layers(seed, true);
}

/* ---- deadlines racing cancel and release -------------------------------------- */

static atomic_long g_race_early; /* cancel(c) returned with c's child not done */

typedef struct racer {
    long n;
    uint64_t seed;
} racer;

static void *deadline_race_main(void *p)
{
    racer *x = p;
    uint64_t rng = x->seed;
    weft_ctx *parent = weft_ctx_with_cancel(NULL);
    for (long i = 0; i < x->n; i++) {
        int64_t to = (int64_t)(test_rand(&rng) % 200000); /* 0-200 µs */
        weft_ctx *c = weft_ctx_with_timeout(i % 2 ? parent : NULL, to);
        weft_ctx *k = weft_ctx_with_cancel(c);
        if (i % 3 == 0)
            (void)weft_ctx_done(k);
        int64_t until = weft_now() + (int64_t)(test_rand(&rng) % 300000);
        while (weft_now() < until) {
        }
        int e1 = weft_ctx_err(c);
        weft_ctx_cancel(c);
        int e2 = weft_ctx_err(c);
        CHECK(e2 == WEFT_ECANCELED || e2 == WEFT_ETIMEDOUT);
        if (e1)
            CHECK_EQ(e1, e2); /* the first error sticks */
        /* cancel returned: k is done, whoever finished c (us or the timer
           thread, which may still be walking c's subtree). */
        int ek = weft_ctx_err(k);
        if (ek == 0)
            atomic_fetch_add(&g_race_early, 1);
        else
            CHECK_EQ(ek, e2);
        CHECK_EQ(weft_ctx_err(c), e2);
        for (int64_t give_up = weft_deadline_in(SLACK_MS * MS);
             weft_ctx_err(k) == 0 && weft_now() < give_up;)
            sched_yield();
        CHECK_EQ(weft_ctx_err(k), e2);
        if (i % 4 == 0) {
            weft_ctx_release(c); /* parent first */
            weft_ctx_release(k);
        } else {
            weft_ctx_release(k);
            weft_ctx_release(c);
        }
    }
    check_not_done(parent);
    drop(parent);
    return NULL;
}

static void deadlines_racing_cancel(void)
{
    racer rs[3];
    pthread_t ts[3];
    for (int i = 0; i < 3; i++) {
        rs[i] = (racer){ .n = test_n(20000), .seed = 0x1234567ULL * (uint64_t)(i + 1) };
        ts[i] = test_thread(deadline_race_main, &rs[i]);
    }
    for (int i = 0; i < 3; i++)
        test_join(ts[i]);
    long early = atomic_load(&g_race_early);
    if (early)
        fprintf(stderr,
                "%ld of %ld weft_ctx_cancel(c) calls returned while c's child was not done "
                "(c's deadline fired concurrently)\n",
                early, 3 * test_n(20000));
    CHECK_EQ(early, 0);
}

/* With arguments, run only the tests whose names contain one of them. */
static int g_argc;
static char **g_argv;

static bool selected(const char *name)
{
    if (g_argc < 2)
        return true;
    for (int i = 1; i < g_argc; i++)
        if (strstr(name, g_argv[i]))
            return true;
    return false;
}

#define RUN(fn)                                                               \
    do {                                                                      \
        if (selected(#fn))                                                    \
            TEST_RUN(fn);                                                     \
    } while (0)

int main(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(30);
    RUN(background);
    RUN(with_cancel_basics);
    RUN(first_error_sticks);
    RUN(parent_finishes_child);
    RUN(child_finishes_first);
    RUN(child_of_done_parent);
    RUN(timeout_fires);
    RUN(deadline_clipping);
    RUN(deadline_already_passed);
    RUN(canceled_timeout);
    RUN(release_parent_first);
    test_watchdog(30);
    RUN(deep_chain);
    RUN(many_short_children);
    test_watchdog(30);
    RUN(cancel_wakes_many_waiters);
    test_watchdog(30);
    RUN(simultaneous_cancels);
    test_watchdog(30);
    RUN(create_while_canceling);
    RUN(cancel_races_child_deadlines);
    RUN(interlocked_cancels);
    test_watchdog(30);
    RUN(layers_cancel);
    RUN(layers_timeout);
    test_watchdog(30);
    RUN(deadlines_racing_cancel);
    printf("ctx: all passed\n");
    return 0;
}
