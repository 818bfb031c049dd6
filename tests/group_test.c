/* group_test — weft_group, Go's errgroup: waiting, the first error winning
 * and canceling the group's context (which blocked tasks observe), the
 * context canceled at wait and by the parent, the limit (go blocks, try_go
 * refuses, <= 0 means none, set_limit while tasks run aborts), argument
 * errors, nested go, tasks blocking on each other, many groups at once.
 *
 *   group_test
 *
 * The abort check forks; it runs first, while the process has no other
 * thread (a sanitizer may refuse threads in the child of a threaded fork).
 */
#include "check.h"
#include "sync_check.h"

#include <errno.h>

/* ---- helpers ------------------------------------------------------------- */

static int64_t bound_ns(int64_t seconds)
{
#ifdef WEFT_SANITIZED
    seconds *= 4;
#endif
    return seconds * 1000000000LL;
}

/* Poll (bounded) until *v >= want. */
static void wait_at_least(_Atomic int *v, int want)
{
    int64_t until = weft_now() + bound_ns(5);
    while (atomic_load(v) < want) {
        CHECK_LT(weft_now(), until);
        sched_yield();
    }
}

static weft_chan *new_chan(size_t elem, size_t cap)
{
    weft_chan *c = weft_chan_new(elem, cap);
    CHECK(c != NULL);
    return c;
}

static int count_task(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    atomic_fetch_add((_Atomic int *)arg, 1);
    return 0;
}

/* Blocks until its channel (elem 0) gets a value or closes. */
static int gate_task(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    int rc = weft_chan_recv((weft_chan *)arg, NULL);
    CHECK(rc == 0 || rc == WEFT_ECLOSED);
    return 0;
}

/* ---- misuse (first: forks) ----------------------------------------------- */

static void set_limit_running(int n)
{
    weft_group *g = weft_group_new(NULL);
    weft_chan *c = weft_chan_new(0, 0);
    if (!g || !c || weft_group_go(g, gate_task, c) != 0)
        _exit(3);
    weft_group_set_limit(g, n); /* a task of the group is running */
}

static void set_limit_2_running(void)
{
    set_limit_running(2);
}

static void set_limit_0_running(void)
{
    set_limit_running(0);
}

/* set_limit while a task of the group runs aborts with a one-line message
   (forked children); after wait returned it is allowed again. */
static void group_set_limit_while_running_aborts(void)
{
    expect_abort(set_limit_2_running, "weft: weft_group_set_limit");
    expect_abort(set_limit_0_running, "weft: weft_group_set_limit");

    weft_group *g = weft_group_new(NULL);
    CHECK(g != NULL);
    _Atomic int n = 0;
    CHECK_OK(weft_group_go(g, count_task, &n));
    CHECK_OK(weft_group_wait(g));
    CHECK_EQ(atomic_load(&n), 1);
    weft_group_set_limit(g, 2); /* no task runs: fine */
    weft_group_set_limit(g, 0);
    weft_group_free(g);
    test_wait_tasks_zero();
}

/* ---- basics -------------------------------------------------------------- */

/* new/free with a NULL parent; wait with no task is 0 and cancels the
   context; argument errors; a refused go takes no limit slot. */
static void group_basics(void)
{
    weft_group *g = weft_group_new(NULL);
    CHECK(g != NULL);
    CHECK(weft_group_ctx(g) != NULL);
    CHECK_EQ(weft_ctx_err(weft_group_ctx(g)), 0);
    weft_group_free(g); /* before any go */

    g = weft_group_new(NULL);
    CHECK(g != NULL);
    weft_ctx *ctx = weft_group_ctx(g);
    CHECK_EQ(weft_ctx_deadline(ctx), WEFT_FOREVER);
    int64_t t0 = weft_now();
    CHECK_OK(weft_group_wait(g));
    CHECK_LT(weft_now() - t0, bound_ns(1));
    CHECK_RC(weft_ctx_err(ctx), WEFT_ECANCELED);
    CHECK_RC(weft_chan_try_recv(weft_ctx_done(ctx), NULL), WEFT_ECLOSED);
    weft_group_free(g);

    int dummy = 0;
    g = weft_group_new(NULL);
    CHECK(g != NULL);
    CHECK_RC(weft_group_go(NULL, count_task, &dummy), WEFT_EINVAL);
    CHECK_RC(weft_group_try_go(NULL, count_task, &dummy), WEFT_EINVAL);
    CHECK_RC(weft_group_go(g, NULL, &dummy), WEFT_EINVAL);
    CHECK_RC(weft_group_try_go(g, NULL, &dummy), WEFT_EINVAL);
    CHECK_RC(weft_group_wait(NULL), WEFT_EINVAL);
    CHECK(weft_group_ctx(NULL) == NULL);
    weft_group_free(NULL);
    CHECK_EQ(weft_tasks_live(), 0);

    weft_group_set_limit(g, 1);
    for (int i = 0; i < 5; i++) {
        CHECK_RC(weft_group_go(g, NULL, NULL), WEFT_EINVAL); /* does not block */
        CHECK_RC(weft_group_try_go(g, NULL, NULL), WEFT_EINVAL);
    }
    _Atomic int n = 0;
    CHECK_OK(weft_group_try_go(g, count_task, &n)); /* the slot is still free */
    CHECK_OK(weft_group_wait(g));
    CHECK_EQ(atomic_load(&n), 1);
    CHECK_EQ(weft_ctx_err(weft_group_ctx(g)), WEFT_ECANCELED);
    weft_group_free(g);
    test_wait_tasks_zero();
}

typedef struct {
    weft_group *g;
    _Atomic int ran;
    _Atomic int wrong_ctx;
    int out[100];
} hundred;

typedef struct {
    hundred *h;
    int i;
} hundred_arg;

static int hundred_task(weft_ctx *ctx, void *arg)
{
    hundred_arg *a = arg;
    if (ctx != weft_group_ctx(a->h->g) || weft_ctx_err(ctx) != 0)
        atomic_fetch_add(&a->h->wrong_ctx, 1);
    a->h->out[a->i] = a->i + 1; /* plain write: visible after wait */
    atomic_fetch_add(&a->h->ran, 1);
    return 0;
}

/* 100 tasks returning 0: wait returns 0 after every one ran, each got the
   group's (not yet canceled) context, and what they wrote is visible. */
static void group_hundred_tasks(void)
{
    for (int round = 0; round < 10; round++) {
        hundred *h = calloc(1, sizeof *h);
        CHECK(h != NULL);
        hundred_arg args[100];
        h->g = weft_group_new(NULL);
        CHECK(h->g != NULL);
        for (int i = 0; i < 100; i++) {
            args[i] = (hundred_arg){ h, i };
            CHECK_OK(round % 2 ? weft_group_try_go(h->g, hundred_task, &args[i])
                               : weft_group_go(h->g, hundred_task, &args[i]));
        }
        CHECK_OK(weft_group_wait(h->g));
        CHECK_EQ(atomic_load(&h->ran), 100);
        CHECK_EQ(atomic_load(&h->wrong_ctx), 0);
        for (int i = 0; i < 100; i++)
            CHECK_EQ(h->out[i], i + 1);
        CHECK_RC(weft_ctx_err(weft_group_ctx(h->g)), WEFT_ECANCELED);
        weft_group_free(h->g);
        free(h);
    }
    test_wait_tasks_zero();
}

/* ---- errors and cancellation --------------------------------------------- */

typedef struct {
    weft_chan *gate;
    int code;
    int linger_ms;
    _Atomic int finished;
} err_task_arg;

static int err_task(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    err_task_arg *a = arg;
    CHECK_OK(weft_chan_recv(a->gate, NULL));
    if (a->linger_ms)
        test_sleep_ms(a->linger_ms);
    atomic_store(&a->finished, 1);
    return a->code;
}

/* Tasks return distinct errors in an order the test sets through channels:
   the first to return cancels the context at once (while the others still
   run) and is what wait returns, after every task returned. */
static void group_first_error_wins(void)
{
    enum { K = 5 };
    static const int codes[K] = { 11, -22, 33, WEFT_ECANCELED, 1 << 20 };
    uint64_t seed = 5;
    int rounds = (int)test_n(40);
    if (rounds < K)
        rounds = K;
    for (int round = 0; round < rounds; round++) {
        weft_group *g = weft_group_new(NULL);
        CHECK(g != NULL);
        weft_ctx *ctx = weft_group_ctx(g);
        err_task_arg a[K];
        int order[K];
        for (int i = 0; i < K; i++) {
            a[i].gate = new_chan(0, 0);
            a[i].code = codes[i];
            a[i].linger_ms = 0;
            atomic_init(&a[i].finished, 0);
            order[i] = i;
        }
        for (int i = K - 1; i > 0; i--) {
            int j = (int)(test_rand(&seed) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int first = round % K; /* every code is first in some round */
        for (int i = 0; i < K; i++)
            if (order[i] == first) {
                order[i] = order[0];
                order[0] = first;
            }
        a[order[K - 1]].linger_ms = 20; /* the last one returns late */
        for (int i = 0; i < K; i++)
            CHECK_OK(weft_group_go(g, err_task, &a[i]));
        _Atomic int n = 0;
        CHECK_OK(weft_group_go(g, count_task, &n)); /* a task returning 0 */

        CHECK_EQ(weft_ctx_err(ctx), 0);
        CHECK_OK(weft_chan_send(a[first].gate, NULL));
        int64_t until = weft_now() + bound_ns(5);
        while (weft_ctx_err(ctx) == 0) { /* canceled by the first error */
            CHECK_LT(weft_now(), until);
            sched_yield();
        }
        CHECK_RC(weft_ctx_err(ctx), WEFT_ECANCELED);
        for (int i = 1; i < K; i++)
            CHECK(!atomic_load(&a[order[i]].finished)); /* still running */
        for (int i = 1; i < K; i++)
            CHECK_OK(weft_chan_send(a[order[i]].gate, NULL));
        CHECK_RC(weft_group_wait(g), codes[first]);
        for (int i = 0; i < K; i++)
            CHECK(atomic_load(&a[i].finished)); /* wait waited for all */
        CHECK_EQ(atomic_load(&n), 1);
        weft_group_free(g);
        for (int i = 0; i < K; i++)
            weft_chan_free(a[i].gate);
    }
    test_wait_tasks_zero();
}

typedef struct {
    weft_chan *never;
    _Atomic int started;
    _Atomic int finished;
    _Atomic int saw_canceled;
} blocked_set;

/* Waits for <-ctx.Done(). */
static int done_waiter(weft_ctx *ctx, void *arg)
{
    blocked_set *b = arg;
    atomic_fetch_add(&b->started, 1);
    CHECK_RC(weft_chan_recv(weft_ctx_done(ctx), NULL), WEFT_ECLOSED);
    if (weft_ctx_err(ctx) == WEFT_ECANCELED)
        atomic_fetch_add(&b->saw_canceled, 1);
    atomic_fetch_add(&b->finished, 1);
    return 0;
}

/* Waits in a receive with the context; returns what it got. */
static int recv_ctx_waiter(weft_ctx *ctx, void *arg)
{
    blocked_set *b = arg;
    atomic_fetch_add(&b->started, 1);
    int rc = weft_chan_recv_ctx(b->never, NULL, ctx);
    if (rc == WEFT_ECANCELED)
        atomic_fetch_add(&b->saw_canceled, 1);
    atomic_fetch_add(&b->finished, 1);
    return rc;
}

/* Selects between a channel and the context. */
static int select_waiter(weft_ctx *ctx, void *arg)
{
    blocked_set *b = arg;
    atomic_fetch_add(&b->started, 1);
    weft_case cs[2] = { WEFT_CASE_RECV(b->never, NULL), WEFT_CASE_RECV(weft_ctx_done(ctx), NULL) };
    int k = weft_select(cs, 2, WEFT_FOREVER);
    if (k == 1 && weft_ctx_err(ctx) == WEFT_ECANCELED)
        atomic_fetch_add(&b->saw_canceled, 1);
    atomic_fetch_add(&b->finished, 1);
    return 0;
}

static int fail_77(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 77;
}

/* Tasks blocked on weft_ctx_done(ctx), in weft_chan_recv_ctx and in a
   select stay blocked until a sibling fails; then each observes
   WEFT_ECANCELED and returns; wait returns the failure (77), not the
   WEFT_ECANCELED that the receivers return after it. */
static void group_error_cancels_blocked_tasks(void)
{
    enum { EACH = 3 };
    int rounds = (int)test_n(20);
    for (int round = 0; round < rounds; round++) {
        weft_group *g = weft_group_new(NULL);
        CHECK(g != NULL);
        blocked_set b;
        b.never = new_chan(0, 0);
        atomic_init(&b.started, 0);
        atomic_init(&b.finished, 0);
        atomic_init(&b.saw_canceled, 0);
        for (int i = 0; i < EACH; i++) {
            CHECK_OK(weft_group_go(g, done_waiter, &b));
            CHECK_OK(weft_group_go(g, recv_ctx_waiter, &b));
            CHECK_OK(weft_group_go(g, select_waiter, &b));
        }
        wait_at_least(&b.started, 3 * EACH);
        if (round == 0)
            test_sleep_ms(20);
        CHECK_EQ(atomic_load(&b.finished), 0);
        CHECK_EQ(weft_ctx_err(weft_group_ctx(g)), 0);
        CHECK_OK(weft_group_go(g, fail_77, NULL));
        CHECK_EQ(weft_group_wait(g), 77);
        CHECK_EQ(atomic_load(&b.finished), 3 * EACH);
        CHECK_EQ(atomic_load(&b.saw_canceled), 3 * EACH);
        weft_group_free(g);
        weft_chan_free(b.never);
    }
    test_wait_tasks_zero();
}

typedef struct {
    _Atomic int err_seen_running;
    _Atomic int started;
    weft_chan *gate;
} at_wait_arg;

static int at_wait_task(weft_ctx *ctx, void *arg)
{
    at_wait_arg *a = arg;
    atomic_fetch_add(&a->started, 1);
    CHECK_RC(weft_chan_recv(a->gate, NULL), WEFT_ECLOSED);
    if (weft_ctx_err(ctx) != 0)
        atomic_fetch_add(&a->err_seen_running, 1);
    return 0;
}

/* No task fails: the context stays live while they run and is canceled by
   wait (Go: "the derived Context is canceled the first time a function
   passed to Go returns a non-nil error or the first time Wait returns"). */
static void group_ctx_canceled_at_wait(void)
{
    weft_group *g = weft_group_new(NULL);
    CHECK(g != NULL);
    weft_ctx *ctx = weft_group_ctx(g);
    at_wait_arg a;
    atomic_init(&a.err_seen_running, 0);
    atomic_init(&a.started, 0);
    a.gate = new_chan(0, 0);
    for (int i = 0; i < 8; i++)
        CHECK_OK(weft_group_go(g, at_wait_task, &a));
    wait_at_least(&a.started, 8);
    test_sleep_ms(10);
    CHECK_EQ(weft_ctx_err(ctx), 0);
    CHECK_OK(weft_chan_close(a.gate));
    CHECK_OK(weft_group_wait(g));
    CHECK_EQ(atomic_load(&a.err_seen_running), 0);
    CHECK_RC(weft_ctx_err(ctx), WEFT_ECANCELED);
    CHECK_RC(weft_chan_recv(weft_ctx_done(ctx), NULL), WEFT_ECLOSED);
    weft_group_free(g);
    weft_chan_free(a.gate);
    test_wait_tasks_zero();
}

static int parent_waiter(weft_ctx *ctx, void *arg)
{
    atomic_fetch_add((_Atomic int *)arg, 1);
    CHECK_RC(weft_chan_recv(weft_ctx_done(ctx), NULL), WEFT_ECLOSED);
    return weft_ctx_err(ctx);
}

/* A parent canceled (or timing out) cancels the group's context, which the
   tasks see; a parent done before new gives a done group context; a group
   done (by an error or wait) does not cancel its parent. */
static void group_parent_cancels(void)
{
    /* canceled while tasks wait */
    weft_ctx *parent = weft_ctx_with_cancel(NULL);
    CHECK(parent != NULL);
    weft_group *g = weft_group_new(parent);
    CHECK(g != NULL);
    _Atomic int started = 0;
    for (int i = 0; i < 4; i++)
        CHECK_OK(weft_group_go(g, parent_waiter, &started));
    wait_at_least(&started, 4);
    CHECK_EQ(weft_ctx_err(weft_group_ctx(g)), 0);
    weft_ctx_cancel(parent);
    CHECK_RC(weft_ctx_err(weft_group_ctx(g)), WEFT_ECANCELED); /* before cancel returned */
    CHECK_RC(weft_group_wait(g), WEFT_ECANCELED);
    weft_group_free(g);
    weft_ctx_release(parent);

    /* a parent's deadline */
    parent = weft_ctx_with_timeout(NULL, 30000000LL);
    CHECK(parent != NULL);
    g = weft_group_new(parent);
    CHECK(g != NULL);
    CHECK_EQ(weft_ctx_deadline(weft_group_ctx(g)), weft_ctx_deadline(parent));
    atomic_store(&started, 0);
    CHECK_OK(weft_group_go(g, parent_waiter, &started));
    CHECK_RC(weft_group_wait(g), WEFT_ETIMEDOUT);
    CHECK_GE(weft_now(), weft_ctx_deadline(parent));
    CHECK_RC(weft_ctx_err(weft_group_ctx(g)), WEFT_ETIMEDOUT);
    weft_group_free(g);
    weft_ctx_release(parent);

    /* a parent already done */
    parent = weft_ctx_with_cancel(NULL);
    CHECK(parent != NULL);
    weft_ctx_cancel(parent);
    g = weft_group_new(parent);
    CHECK(g != NULL);
    CHECK_RC(weft_ctx_err(weft_group_ctx(g)), WEFT_ECANCELED);
    atomic_store(&started, 0);
    CHECK_OK(weft_group_go(g, parent_waiter, &started));
    CHECK_RC(weft_group_wait(g), WEFT_ECANCELED);
    weft_group_free(g);
    weft_ctx_release(parent);

    /* the group's cancel stays below the parent */
    parent = weft_ctx_with_cancel(NULL);
    CHECK(parent != NULL);
    g = weft_group_new(parent);
    CHECK(g != NULL);
    CHECK_OK(weft_group_go(g, fail_77, NULL));
    CHECK_EQ(weft_group_wait(g), 77);
    CHECK_RC(weft_ctx_err(weft_group_ctx(g)), WEFT_ECANCELED);
    CHECK_EQ(weft_ctx_err(parent), 0);
    weft_group_free(g);
    CHECK_EQ(weft_ctx_err(parent), 0);
    weft_ctx_cancel(parent);
    weft_ctx_release(parent);
    test_wait_tasks_zero();
}

/* ---- limit --------------------------------------------------------------- */

typedef struct {
    int limit;
    _Atomic int running, high, finished, over;
} limit_state;

static int limit_task(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    limit_state *l = arg;
    int r = atomic_fetch_add(&l->running, 1) + 1;
    if (r > l->limit)
        atomic_fetch_add(&l->over, 1);
    int hw = atomic_load(&l->high);
    while (r > hw && !atomic_compare_exchange_weak(&l->high, &hw, r)) {
    }
    /* the first `limit` tasks wait until all of them run at once */
    wait_at_least(&l->high, l->limit);
    test_sleep_ms(1);
    atomic_fetch_add(&l->finished, 1);
    atomic_fetch_sub(&l->running, 1);
    return 0;
}

/* set_limit(n): go blocks while n tasks run — when go returns for task i,
   at least i + 1 - n tasks have finished — so never more than n run at
   once, and n do. */
static void group_limit_bounds_running(void)
{
    static const int limits[] = { 1, 3, 5 };
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
        int n = limits[li];
        int tasks = 6 * n + 3;
        weft_group *g = weft_group_new(NULL);
        CHECK(g != NULL);
        weft_group_set_limit(g, n);
        limit_state l = { .limit = n };
        for (int i = 0; i < tasks; i++) {
            CHECK_OK(weft_group_go(g, limit_task, &l));
            CHECK_GE(atomic_load(&l.finished), i + 1 - n);
        }
        CHECK_OK(weft_group_wait(g));
        CHECK_EQ(atomic_load(&l.finished), tasks);
        CHECK_EQ(atomic_load(&l.over), 0);
        CHECK_EQ(atomic_load(&l.high), n);
        weft_group_free(g);
    }
    test_wait_tasks_zero();
}

typedef struct {
    weft_group *g;
    weft_chan *gate;
    _Atomic int done;
    int rc;
} go_caller;

static void *go_caller_main(void *p)
{
    go_caller *c = p;
    c->rc = weft_group_go(c->g, gate_task, c->gate);
    atomic_store(&c->done, 1);
    return NULL;
}

/* At the limit try_go returns WEFT_EAGAIN (its fn never runs) and go
   blocks; each task that finishes lets one more in. */
static void group_try_go_at_limit(void)
{
    weft_group *g = weft_group_new(NULL);
    CHECK(g != NULL);
    weft_group_set_limit(g, 2);
    weft_chan *gate = new_chan(0, 0);
    _Atomic int n = 0;
    CHECK_OK(weft_group_try_go(g, gate_task, gate));
    CHECK_OK(weft_group_go(g, gate_task, gate));
    for (int i = 0; i < 100; i++)
        CHECK_RC(weft_group_try_go(g, count_task, &n), WEFT_EAGAIN);

    go_caller c = { g, gate, 0, 1 };
    pthread_t t = test_thread(go_caller_main, &c);
    test_sleep_ms(30);
    CHECK(!atomic_load(&c.done)); /* go waits for a slot */
    CHECK_OK(weft_chan_send(gate, NULL)); /* one gate task finishes */
    int64_t until = weft_now() + bound_ns(5);
    while (!atomic_load(&c.done)) {
        CHECK_LT(weft_now(), until);
        sched_yield();
    }
    test_join(t);
    CHECK_OK(c.rc);
    CHECK_RC(weft_group_try_go(g, count_task, &n), WEFT_EAGAIN); /* full again */
    CHECK_EQ(atomic_load(&n), 0);

    CHECK_OK(weft_chan_send(gate, NULL)); /* another finishes: room for one */
    until = weft_now() + bound_ns(5);
    int rc;
    while ((rc = weft_group_try_go(g, count_task, &n)) == WEFT_EAGAIN) {
        CHECK_LT(weft_now(), until);
        sched_yield();
    }
    CHECK_OK(rc);
    CHECK_OK(weft_chan_send(gate, NULL)); /* the last gate task */
    CHECK_OK(weft_group_wait(g));
    CHECK_EQ(atomic_load(&n), 1);
    weft_group_free(g);
    weft_chan_free(gate);
    test_wait_tasks_zero();
}

typedef struct {
    int want;
    _Atomic int running;
} all_at_once;

static int all_at_once_task(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    all_at_once *a = arg;
    atomic_fetch_add(&a->running, 1);
    wait_at_least(&a->running, a->want); /* fails unless all run together */
    return 0;
}

/* A limit <= 0 means no limit (unlike Go's SetLimit(0)): 20 tasks that each
   wait until all 20 run at once complete, by go and by try_go; so does
   setting a limit and then 0 before any task. */
static void group_no_limit(void)
{
    static const int limits[] = { 0, -1, INT32_MIN, 3 };
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
        for (int use_try = 0; use_try < 2; use_try++) {
            weft_group *g = weft_group_new(NULL);
            CHECK(g != NULL);
            weft_group_set_limit(g, limits[li]);
            if (limits[li] > 0)
                weft_group_set_limit(g, 0); /* removes it again */
            all_at_once a = { .want = 20 };
            for (int i = 0; i < a.want; i++)
                CHECK_OK(use_try ? weft_group_try_go(g, all_at_once_task, &a)
                                 : weft_group_go(g, all_at_once_task, &a));
            CHECK_OK(weft_group_wait(g));
            CHECK_EQ(atomic_load(&a.running), a.want);
            weft_group_free(g);
        }
    }
    test_wait_tasks_zero();
}

/* ---- nesting, blocking, stress ------------------------------------------- */

static weft_group *nested_g;
static _Atomic int nested_ran;
static _Atomic int nested_go_failed;

/* arg: depth << 8 | fail-leaf flag. Spawns two children on the same group
   until depth 0. */
static int nested_task(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    intptr_t v = (intptr_t)arg;
    int depth = (int)(v >> 8);
    atomic_fetch_add(&nested_ran, 1);
    if (depth == 0)
        return (v & 1) ? 5 : 0;
    for (int i = 0; i < 2; i++) {
        intptr_t child = (intptr_t)(depth - 1) << 8 | ((v & 1) && i == 0);
        if (weft_group_go(nested_g, nested_task, (void *)child) != 0)
            atomic_fetch_add(&nested_go_failed, 1);
    }
    return 0;
}

/* Tasks that call weft_group_go on their own group: wait returns after the
   whole tree (127 tasks) ran; with one failing leaf, that leaf's error. */
static void group_nested_go(void)
{
    for (int fail = 0; fail < 2; fail++) {
        int rounds = (int)test_n(10);
        for (int r = 0; r < rounds; r++) {
            nested_g = weft_group_new(NULL);
            CHECK(nested_g != NULL);
            atomic_store(&nested_ran, 0);
            atomic_store(&nested_go_failed, 0);
            CHECK_OK(weft_group_go(nested_g, nested_task, (void *)((intptr_t)6 << 8 | fail)));
            CHECK_EQ(weft_group_wait(nested_g), fail ? 5 : 0);
            CHECK_EQ(atomic_load(&nested_ran), 127);
            CHECK_EQ(atomic_load(&nested_go_failed), 0);
            weft_group_free(nested_g);
            nested_g = NULL;
        }
    }
    test_wait_tasks_zero();
}

typedef struct {
    weft_chan *in, *out;
    _Atomic int *started;
} link_arg;

static int link_task(weft_ctx *ctx, void *arg)
{
    (void)ctx;
    link_arg *l = arg;
    atomic_fetch_add(l->started, 1);
    int v;
    CHECK_OK(weft_chan_recv(l->in, &v));
    v++;
    CHECK_OK(weft_chan_send(l->out, &v));
    return 0;
}

/* A chain of 64 tasks, each waiting for the one before it, started in
   reverse order: all are blocked at once (each on its own pool thread: the
   pool grew), then a value runs down the chain and every task completes. */
static void group_chain_grows_pool(void)
{
    enum { N = 64 };
    for (int round = 0; round < 3; round++) {
        weft_group *g = weft_group_new(NULL);
        CHECK(g != NULL);
        weft_chan *ch[N + 1];
        link_arg la[N];
        _Atomic int started = 0;
        for (int i = 0; i <= N; i++)
            ch[i] = new_chan(sizeof(int), round == 2 ? 1 : 0);
        for (int i = N - 1; i >= 0; i--) {
            la[i] = (link_arg){ ch[i], ch[i + 1], &started };
            CHECK_OK(weft_group_go(g, link_task, &la[i]));
        }
        wait_at_least(&started, N);
        CHECK_GE(test_pool_threads(), N);
        int v = 0;
        CHECK_OK(weft_chan_send(ch[0], &v));
        CHECK_OK(weft_chan_recv(ch[N], &v));
        CHECK_EQ(v, N);
        CHECK_OK(weft_group_wait(g));
        weft_group_free(g);
        for (int i = 0; i <= N; i++)
            weft_chan_free(ch[i]);
    }
    test_wait_tasks_zero();
}

/* Many groups at once: each of 4 threads runs rounds of a group of 1..16
   tasks (some with a limit, some under a parent that a task cancels) that
   succeed, fail with a code of their own, or block until the context is
   done. wait returns 0 exactly when no task failed and otherwise one of
   the failures; every task ran; the context is done afterwards. */
enum { SK_OK, SK_ERR, SK_BLOCK, SK_CANCEL_PARENT };
enum { STRESS_MAXK = 16, STRESS_THREADS = 4 };

typedef struct {
    weft_ctx *parent;
    _Atomic int ran;
    int result[STRESS_MAXK];
} sgroup;

typedef struct {
    sgroup *sg;
    int idx, kind, spin;
} stask;

static int stress_task(weft_ctx *ctx, void *arg)
{
    stask *t = arg;
    int rc = 0;
    for (volatile int i = 0; i < t->spin; i++) {
    }
    switch (t->kind) {
    case SK_OK:
        break;
    case SK_ERR:
        rc = 1000 + t->idx;
        break;
    case SK_BLOCK:
        CHECK_RC(weft_chan_recv(weft_ctx_done(ctx), NULL), WEFT_ECLOSED);
        rc = weft_ctx_err(ctx);
        CHECK(rc == WEFT_ECANCELED);
        if (t->idx % 2)
            rc = 0;
        break;
    case SK_CANCEL_PARENT:
        weft_ctx_cancel(t->sg->parent);
        break;
    }
    t->sg->result[t->idx] = rc;
    atomic_fetch_add(&t->sg->ran, 1);
    return rc;
}

static void *group_stress_thread(void *p)
{
    uint64_t seed = (uint64_t)(uintptr_t)p;
    int rounds = (int)test_n(2000);
    for (int r = 0; r < rounds; r++) {
        sgroup sg;
        stask t[STRESS_MAXK];
        int k = 1 + (int)(test_rand(&seed) % STRESS_MAXK);
        bool use_parent = test_rand(&seed) % 4 == 0;
        int limit = test_rand(&seed) % 3 == 0 ? (int)(test_rand(&seed) % 4) : 0;
        sg.parent = use_parent ? weft_ctx_with_cancel(NULL) : NULL;
        CHECK(!use_parent || sg.parent != NULL);
        atomic_init(&sg.ran, 0);
        bool any_trigger = false;
        for (int i = 0; i < k; i++) {
            int kind = (int)(test_rand(&seed) % 4);
            if (kind == SK_CANCEL_PARENT && !use_parent)
                kind = SK_OK;
            if (kind == SK_BLOCK && !any_trigger)
                kind = SK_OK; /* something before it must end the wait */
            if (kind == SK_ERR || kind == SK_CANCEL_PARENT)
                any_trigger = true;
            t[i] = (stask){ &sg, i, kind, (int)(test_rand(&seed) % 3000) };
            sg.result[i] = -1;
        }
        weft_group *g = weft_group_new(sg.parent);
        CHECK(g != NULL);
        weft_group_set_limit(g, limit);
        for (int i = 0; i < k; i++)
            CHECK_OK(weft_group_go(g, stress_task, &t[i]));
        int rc = weft_group_wait(g);
        CHECK_EQ(atomic_load(&sg.ran), k);
        CHECK_NE(weft_ctx_err(weft_group_ctx(g)), 0);
        bool any_err = false, rc_found = false, parent_canceled = false;
        for (int i = 0; i < k; i++) {
            if (t[i].kind == SK_ERR)
                any_err = true;
            if (t[i].kind == SK_CANCEL_PARENT)
                parent_canceled = true;
            if (sg.result[i] != 0 && sg.result[i] == rc)
                rc_found = true;
        }
        if (rc == 0) {
            for (int i = 0; i < k; i++)
                CHECK_EQ(sg.result[i], 0);
        } else {
            CHECK(rc_found);
            /* without a parent cancel only a real failure can come first */
            if (!parent_canceled)
                CHECK(rc >= 1000 && rc < 1000 + k);
        }
        if (any_err)
            CHECK_NE(rc, 0);
        weft_group_free(g);
        if (sg.parent) {
            weft_ctx_cancel(sg.parent);
            weft_ctx_release(sg.parent);
        }
    }
    return NULL;
}

static void group_stress_many_groups(void)
{
    pthread_t t[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++)
        t[i] = test_thread(group_stress_thread, (void *)(uintptr_t)(i * 7919 + 1));
    for (int i = 0; i < STRESS_THREADS; i++)
        test_join(t[i]);
    test_wait_tasks_zero();
}

int main(void)
{
    test_watchdog(50);
    TEST_RUN(group_set_limit_while_running_aborts);
    TEST_RUN(group_basics);
    TEST_RUN(group_hundred_tasks);
    TEST_RUN(group_first_error_wins);
    TEST_RUN(group_error_cancels_blocked_tasks);
    TEST_RUN(group_ctx_canceled_at_wait);
    TEST_RUN(group_parent_cancels);
    TEST_RUN(group_limit_bounds_running);
    TEST_RUN(group_try_go_at_limit);
    TEST_RUN(group_no_limit);
    TEST_RUN(group_nested_go);
    TEST_RUN(group_chain_grows_pool);
    TEST_RUN(group_stress_many_groups);
    test_wait_tasks_zero();
    printf("group: all passed\n");
    return 0;
}
