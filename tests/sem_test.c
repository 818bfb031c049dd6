/* sem_test — weft_sem, the weighted semaphore: argument errors, try_acquire,
 * release waking waiters, FIFO service in arrival order, a large request
 * not starved by small ones, cancellation and timeouts while queued (no
 * unit lost or stranded), the golang.org/x/sync cases (a canceled head of
 * line lets the line through; a done context wins over free units; cancel
 * racing a grant), release above what is held aborting, a weighted stress
 * with a high-water check and the seed's try_acquire pressure gauge.
 *
 *   sem_test
 *
 * Probe used throughout: weft_sem_try_acquire(s, 0) takes nothing and, by
 * the contract ("only if they are free now and nobody waits"), returns
 * WEFT_EAGAIN exactly when some acquire is queued — so a test can tell
 * without sleeping that the first waiter is in line. For the second and
 * later waiters of a FIFO check the test waits until the thread sleeps in
 * the kernel (/proc/self/task/<tid>/stat state 'S') and then 20 ms more.
 */
#include "check.h"
#include "sync_check.h"

#include <errno.h>
#include <sys/syscall.h>

/* ---- helpers ------------------------------------------------------------- */

/* A bound for "this must happen soon" waits: generous, scaled for
   sanitizers (the checks never assert speed, only that progress happens). */
static int64_t bound_ns(int64_t seconds)
{
#ifdef WEFT_SANITIZED
    seconds *= 4;
#endif
    return seconds * 1000000000LL;
}



/* Wait until some acquire is queued on s (try_acquire(s, 0) says EAGAIN). */
static void wait_line_nonempty(weft_sem *s)
{
    int64_t until = weft_now() + bound_ns(5);
    while (weft_sem_try_acquire(s, 0) != WEFT_EAGAIN) {
        CHECK_LT(weft_now(), until);
        sched_yield();
    }
}

static void check_line_empty(weft_sem *s)
{
    CHECK_OK(weft_sem_try_acquire(s, 0));
}

/* One acquire on its own thread. */
typedef struct {
    weft_sem *s;
    int64_t n;
    weft_ctx *ctx;
    _Atomic int *seq; /* if set: grant order, taken when acquire returns 0 */
    _Atomic int started;
    _Atomic pid_t tid;
    _Atomic int done;
    int rc;
    int order;
    pthread_t t;
} acquirer;

static void *acquirer_main(void *p)
{
    acquirer *a = p;
    atomic_store(&a->tid, test_gettid());
    atomic_store(&a->started, 1);
    a->rc = weft_sem_acquire(a->s, a->n, a->ctx);
    a->order = a->rc == 0 && a->seq ? atomic_fetch_add(a->seq, 1) : -1;
    atomic_store(&a->done, 1);
    return NULL;
}

static void acquirer_start(acquirer *a, weft_sem *s, int64_t n, weft_ctx *ctx, _Atomic int *seq)
{
    a->s = s;
    a->n = n;
    a->ctx = ctx;
    a->seq = seq;
    atomic_init(&a->started, 0);
    atomic_init(&a->tid, 0);
    atomic_init(&a->done, 0);
    a->rc = 1;
    a->order = -1;
    a->t = test_thread(acquirer_main, a);
}

/* Wait until the acquirer sleeps (state 'S') and then 20 ms more, so it is
   parked in the semaphore's line; it must not have returned. */
static void acquirer_wait_parked(acquirer *a)
{
    int64_t until = weft_now() + bound_ns(5);
    while (!atomic_load(&a->started) || atomic_load(&a->tid) == 0) {
        CHECK_LT(weft_now(), until);
        sched_yield();
    }
    if (test_thread_state(test_gettid()) == 'R') { /* /proc works */
        while (test_thread_state(atomic_load(&a->tid)) != 'S') {
            CHECK_LT(weft_now(), until);
            CHECK(!atomic_load(&a->done));
            test_sleep_ms(1);
        }
    }
    test_sleep_ms(20);
    CHECK(!atomic_load(&a->done));
}

/* Wait (bounded) until the acquirer returned; join it; its result. */
static int acquirer_join(acquirer *a)
{
    int64_t t0 = weft_now(), until = t0 + bound_ns(10);
    while (!atomic_load(&a->done)) {
        int64_t now = weft_now();
        CHECK_LT(now, until);
        if (now - t0 < 2000000)
            sched_yield();
        else
            test_sleep_ms(1);
    }
    test_join(a->t);
    return a->rc;
}

/* The whole semaphore is free: no unit lost, leaked or stranded. */
static void check_all_free(weft_sem *s, int64_t size)
{
    check_line_empty(s);
    CHECK_OK(weft_sem_try_acquire(s, size));
    if (size > 0)
        CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN);
    weft_sem_release(s, size);
}

/* ---- arguments ----------------------------------------------------------- */

/* new(size < 0) is NULL with EINVAL; NULL, n < 0 and n > size are
   WEFT_EINVAL from both acquire forms (never blocking), and take nothing. */
static void sem_arguments(void)
{
    errno = 0;
    CHECK(weft_sem_new(-1) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(weft_sem_new(INT64_MIN) == NULL);
    CHECK_EQ(errno, EINVAL);

    weft_sem *z = weft_sem_new(0);
    CHECK(z != NULL);
    CHECK_OK(weft_sem_try_acquire(z, 0));
    CHECK_OK(weft_sem_acquire(z, 0, NULL));
    CHECK_RC(weft_sem_try_acquire(z, 1), WEFT_EINVAL);
    CHECK_RC(weft_sem_acquire(z, 1, NULL), WEFT_EINVAL);
    weft_sem_release(z, 0);
    weft_sem_free(z);

    weft_sem *s = weft_sem_new(10);
    CHECK(s != NULL);
    CHECK_RC(weft_sem_acquire(NULL, 1, NULL), WEFT_EINVAL);
    CHECK_RC(weft_sem_try_acquire(NULL, 1), WEFT_EINVAL);
    CHECK_RC(weft_sem_acquire(s, -1, NULL), WEFT_EINVAL);
    CHECK_RC(weft_sem_try_acquire(s, -1), WEFT_EINVAL);
    CHECK_RC(weft_sem_acquire(s, INT64_MIN, NULL), WEFT_EINVAL);
    CHECK_RC(weft_sem_try_acquire(s, INT64_MIN), WEFT_EINVAL);
    CHECK_RC(weft_sem_acquire(s, 11, NULL), WEFT_EINVAL);
    CHECK_RC(weft_sem_try_acquire(s, 11), WEFT_EINVAL);
    CHECK_RC(weft_sem_acquire(s, INT64_MAX, NULL), WEFT_EINVAL);
    CHECK_RC(weft_sem_try_acquire(s, INT64_MAX), WEFT_EINVAL);
    check_all_free(s, 10); /* the errors took nothing */

    /* n > size is EINVAL, not a wait, even while units are held. */
    CHECK_OK(weft_sem_try_acquire(s, 10));
    int64_t t0 = weft_now();
    CHECK_RC(weft_sem_acquire(s, 11, NULL), WEFT_EINVAL);
    CHECK_RC(weft_sem_acquire(s, -1, NULL), WEFT_EINVAL);
    CHECK_LT(weft_now() - t0, bound_ns(1));
    weft_sem_release(s, 10);
    check_all_free(s, 10);
    weft_sem_free(s);
    weft_sem_free(NULL);
    test_wait_tasks_zero();
}

/* try_acquire: 0 while the units are free, WEFT_EAGAIN when not (taking
   nothing); 0 units always fit an empty line; a timed acquire of units that
   stay busy times out, never before its deadline. */
static void sem_try_acquire(void)
{
    weft_sem *s = weft_sem_new(3);
    CHECK(s != NULL);
    CHECK_OK(weft_sem_try_acquire(s, 1));
    CHECK_OK(weft_sem_try_acquire(s, 2));
    CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN);
    CHECK_RC(weft_sem_try_acquire(s, 3), WEFT_EAGAIN);
    CHECK_OK(weft_sem_try_acquire(s, 0)); /* 0 units fit, nobody waits */
    weft_sem_release(s, 2);
    CHECK_RC(weft_sem_try_acquire(s, 3), WEFT_EAGAIN);
    CHECK_OK(weft_sem_try_acquire(s, 2));
    CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN);

    weft_ctx *ctx = weft_ctx_with_timeout(NULL, 30000000LL);
    CHECK(ctx != NULL);
    int64_t deadline = weft_ctx_deadline(ctx);
    CHECK_RC(weft_sem_acquire(s, 1, ctx), WEFT_ETIMEDOUT);
    CHECK_GE(weft_now(), deadline);
    weft_ctx_release(ctx);

    weft_sem_release(s, 3);
    check_all_free(s, 3);
    /* The plain acquire without waiting. */
    CHECK_OK(weft_sem_acquire(s, 2, NULL));
    CHECK_OK(weft_sem_acquire(s, 1, NULL));
    CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN);
    weft_sem_release(s, 1);
    weft_sem_release(s, 2);
    check_all_free(s, 3);
    weft_sem_free(s);
    test_wait_tasks_zero();
}

/* ---- waking -------------------------------------------------------------- */

/* A waiter for 2 units stays parked while fewer are free and is woken by
   the release that frees enough. */
static void sem_release_wakes_waiter(void)
{
    weft_sem *s = weft_sem_new(2);
    CHECK(s != NULL);
    for (int round = 0; round < 20; round++) {
        CHECK_OK(weft_sem_try_acquire(s, 2));
        acquirer a;
        acquirer_start(&a, s, 2, NULL, NULL);
        wait_line_nonempty(s);
        if (round == 0) {
            test_sleep_ms(20);
            CHECK(!atomic_load(&a.done));
        }
        weft_sem_release(s, 1); /* not enough */
        if (round == 0) {
            test_sleep_ms(20);
            CHECK(!atomic_load(&a.done));
        }
        wait_line_nonempty(s); /* still in line */
        weft_sem_release(s, 1);
        CHECK_OK(acquirer_join(&a));
        check_line_empty(s);
        CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN); /* the waiter holds 2 */
        weft_sem_release(s, 2);
        check_all_free(s, 2);
    }
    weft_sem_free(s);
    test_wait_tasks_zero();
}

/* ---- FIFO ---------------------------------------------------------------- */

/* Waiters queued one after the other are granted in arrival order, one
   unit released at a time: a waiter behind a head that does not fit yet is
   not let through even if it would fit itself. */
static void fifo_round(const int64_t *want, int nw, int64_t size)
{
    weft_sem *s = weft_sem_new(size);
    CHECK(s != NULL);
    CHECK_OK(weft_sem_try_acquire(s, size));
    _Atomic int seq = 0;
    acquirer *a = calloc((size_t)nw, sizeof *a);
    CHECK(a != NULL);
    int64_t total = 0;
    for (int k = 0; k < nw; k++) {
        acquirer_start(&a[k], s, want[k], NULL, &seq);
        if (k == 0)
            wait_line_nonempty(s);
        acquirer_wait_parked(&a[k]); /* in line before the next one starts */
        total += want[k];
    }
    CHECK_LE(total, size);

    int64_t released = 0;
    for (int64_t u = 1; u <= size; u++) {
        weft_sem_release(s, 1);
        released++;
        int expect = 0; /* the longest prefix of the line that fits */
        int64_t sum = 0;
        while (expect < nw && sum + want[expect] <= released) {
            sum += want[expect];
            expect++;
        }
        int64_t until = weft_now() + bound_ns(5);
        for (int k = 0; k < expect; k++)
            while (!atomic_load(&a[k].done)) {
                CHECK_LT(weft_now(), until);
                test_sleep_ms(1);
            }
        test_sleep_ms(2); /* room for a wrong grant to show */
        CHECK_EQ(atomic_load(&seq), expect);
        for (int k = 0; k < nw; k++) {
            CHECK_EQ(atomic_load(&a[k].done), k < expect);
            if (k < expect)
                CHECK_EQ(a[k].order, k); /* granted in arrival order */
        }
    }
    for (int k = 0; k < nw; k++)
        CHECK_OK(acquirer_join(&a[k]));
    /* The waiters hold `total`, the test size - total: all of it. */
    CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN);
    weft_sem_release(s, size);
    check_all_free(s, size);
    free(a);
    weft_sem_free(s);
}

static void sem_fifo_order(void)
{
    static const int64_t ones[] = { 1, 1, 1, 1, 1, 1 };
    static const int64_t weights[] = { 2, 1, 3, 1, 2, 1 };
    static const int64_t big_first[] = { 5, 1, 1, 1 };
    fifo_round(ones, 6, 6);
    fifo_round(weights, 6, 10);
    fifo_round(big_first, 4, 8);
    test_wait_tasks_zero();
}

/* ---- a large request is not starved -------------------------------------- */

typedef struct {
    weft_sem *s;
    uint64_t seed;
    _Atomic int *stop;
    _Atomic int *small_held;
    _Atomic int *big_held;
    _Atomic int *big_queued;   /* set once the test saw the big one in line */
    _Atomic int *big_released; /* set by the big one before its release */
    _Atomic long *ok_after_queued;
    _Atomic long *refused_while_queued;
} small_arg;

static void *small_main(void *p)
{
    small_arg *x = p;
    while (!atomic_load(x->stop)) {
        int queued = atomic_load(x->big_queued);
        int rc;
        unsigned kind = (unsigned)(test_rand(&x->seed) % 8);
        if (kind <= 2) {
            /* Waiting, but bounded (2 ms or 20 ms): a thread that started
               waiting just before the big one queued must not stay stuck
               behind it, or the refusals the test counts would stop. */
            weft_ctx *ctx = weft_ctx_with_timeout(NULL, kind < 2 ? 2000000LL : 20000000LL);
            CHECK(ctx != NULL);
            rc = weft_sem_acquire(x->s, 1, ctx);
            CHECK(rc == 0 || rc == WEFT_ETIMEDOUT);
            weft_ctx_cancel(ctx);
            weft_ctx_release(ctx);
        } else {
            rc = weft_sem_try_acquire(x->s, 1);
            CHECK(rc == 0 || rc == WEFT_EAGAIN);
        }
        if (rc != 0) {
            if (queued)
                atomic_fetch_add(x->refused_while_queued, 1);
            sched_yield();
            continue;
        }
        /* A request made after the big one was seen in line succeeds only
           after the big one had its turn and released. */
        if (queued) {
            CHECK(atomic_load(x->big_released));
            atomic_fetch_add(x->ok_after_queued, 1);
        }
        int h = atomic_fetch_add(x->small_held, 1) + 1;
        CHECK_LE(h + atomic_load(x->big_held), 10);
        if (test_rand(&x->seed) % 2)
            sched_yield();
        atomic_fetch_sub(x->small_held, 1);
        weft_sem_release(x->s, 1);
    }
    return NULL;
}

typedef struct {
    weft_sem *s;
    _Atomic int *small_held;
    _Atomic int *big_held;
    _Atomic int *big_released;
    _Atomic int done;
    int rc;
} big_arg;

static void *big_main(void *p)
{
    big_arg *b = p;
    b->rc = weft_sem_acquire(b->s, 10, NULL);
    if (b->rc == 0) {
        atomic_store(b->big_held, 10);
        CHECK_EQ(atomic_load(b->small_held), 0);
        test_sleep_ms(2);
        CHECK_EQ(atomic_load(b->small_held), 0); /* nobody got in meanwhile */
        atomic_store(b->big_held, 0);
        atomic_store(b->big_released, 1);
        weft_sem_release(b->s, 10);
    }
    atomic_store(&b->done, 1);
    return NULL;
}

/* Size 10; many threads keep acquiring and releasing 1 unit (try_acquire,
   acquire with a 2 ms or a 20 ms timeout). A waiter for all 10 queues; from
   then on no small request succeeds — try_acquire gets EAGAIN, a timed
   acquire times out — though up to 9 units are free (the test holds 1 so
   that the big one cannot be served yet). Once the test releases its unit
   the big one gets all 10 within a bound while the small ones keep coming,
   and after it releases they go on. */
static void sem_large_not_starved(void)
{
    enum { SMALL = 6 };
    int rounds = (int)test_n(5);
    for (int round = 0; round < rounds; round++) {
        weft_sem *s = weft_sem_new(10);
        CHECK(s != NULL);
        _Atomic int stop = 0, small_held = 0, big_held = 0, big_queued = 0, big_released = 0;
        _Atomic long ok_after = 0, refused = 0;
        small_arg sa[SMALL];
        pthread_t st[SMALL];
        CHECK_OK(weft_sem_try_acquire(s, 1)); /* the test's unit */
        for (int i = 0; i < SMALL; i++) {
            sa[i] = (small_arg){ s,          (uint64_t)(round * 100 + i + 1),
                                 &stop,      &small_held,
                                 &big_held,  &big_queued,
                                 &big_released, &ok_after,
                                 &refused };
            st[i] = test_thread(small_main, &sa[i]);
        }
        test_sleep_ms(20); /* the small ones are busy */

        big_arg b = { s, &small_held, &big_held, &big_released, 0, 1 };
        pthread_t bt = test_thread(big_main, &b);
        wait_line_nonempty(s); /* the small ones never queue while nobody waits */
        atomic_store(&big_queued, 1);

        /* While the big one waits, every small request is refused. */
        int64_t until = weft_now() + bound_ns(5);
        while (atomic_load(&refused) < 200) {
            CHECK_LT(weft_now(), until);
            test_sleep_ms(1);
        }
        test_sleep_ms(20);
        CHECK(!atomic_load(&b.done));
        CHECK_EQ(atomic_load(&ok_after), 0);
        CHECK_EQ(atomic_load(&big_released), 0);

        /* Its turn comes at once, while the small ones keep asking. */
        int64_t t0 = weft_now();
        weft_sem_release(s, 1);
        until = t0 + bound_ns(5);
        while (!atomic_load(&b.done)) {
            CHECK_LT(weft_now(), until);
            test_sleep_ms(1);
        }
        test_join(bt);
        CHECK_OK(b.rc);

        /* And the small ones go on afterwards. */
        until = weft_now() + bound_ns(5);
        while (atomic_load(&ok_after) < 20) {
            CHECK_LT(weft_now(), until);
            test_sleep_ms(1);
        }
        atomic_store(&stop, 1);
        for (int i = 0; i < SMALL; i++)
            test_join(st[i]);
        CHECK_EQ(atomic_load(&small_held), 0);
        check_all_free(s, 10);
        weft_sem_free(s);
    }
    test_wait_tasks_zero();
}

/* ---- cancellation -------------------------------------------------------- */

/* A waiter whose context is canceled (or times out) while it is queued
   returns the context's error and takes nothing; a canceled waiter in the
   middle of the line leaves the others in order. */
static void sem_cancel_while_queued(void)
{
    weft_sem *s = weft_sem_new(4);
    CHECK(s != NULL);

    /* Canceled. */
    CHECK_OK(weft_sem_try_acquire(s, 4));
    weft_ctx *ctx = weft_ctx_with_cancel(NULL);
    CHECK(ctx != NULL);
    acquirer a;
    acquirer_start(&a, s, 2, ctx, NULL);
    wait_line_nonempty(s);
    test_sleep_ms(10);
    CHECK(!atomic_load(&a.done));
    weft_ctx_cancel(ctx);
    CHECK_RC(acquirer_join(&a), WEFT_ECANCELED);
    check_line_empty(s);
    CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN); /* still the test's 4 */
    weft_sem_release(s, 4);
    check_all_free(s, 4);
    weft_ctx_release(ctx);

    /* Timed out, on the caller's own thread: not before the deadline. */
    CHECK_OK(weft_sem_try_acquire(s, 3));
    ctx = weft_ctx_with_timeout(NULL, 40000000LL);
    CHECK(ctx != NULL);
    int64_t deadline = weft_ctx_deadline(ctx);
    CHECK_RC(weft_sem_acquire(s, 2, ctx), WEFT_ETIMEDOUT);
    CHECK_GE(weft_now(), deadline);
    check_line_empty(s);
    CHECK_OK(weft_sem_try_acquire(s, 1)); /* the 1 unit still free */
    weft_sem_release(s, 4);
    check_all_free(s, 4);
    weft_ctx_release(ctx);
    weft_sem_free(s);

    /* A canceled waiter in the middle: A(4) B(3, canceled) C(3). */
    s = weft_sem_new(10);
    CHECK(s != NULL);
    CHECK_OK(weft_sem_try_acquire(s, 10));
    ctx = weft_ctx_with_cancel(NULL);
    CHECK(ctx != NULL);
    _Atomic int seq = 0;
    acquirer w[3];
    acquirer_start(&w[0], s, 4, NULL, &seq);
    wait_line_nonempty(s);
    acquirer_wait_parked(&w[0]);
    acquirer_start(&w[1], s, 3, ctx, &seq);
    acquirer_wait_parked(&w[1]);
    acquirer_start(&w[2], s, 3, NULL, &seq);
    acquirer_wait_parked(&w[2]);
    weft_ctx_cancel(ctx);
    CHECK_RC(acquirer_join(&w[1]), WEFT_ECANCELED);
    test_sleep_ms(10);
    CHECK(!atomic_load(&w[0].done));
    CHECK(!atomic_load(&w[2].done));
    weft_sem_release(s, 3); /* 3 free: A (4) is the head and does not fit */
    test_sleep_ms(20);
    CHECK(!atomic_load(&w[0].done));
    CHECK(!atomic_load(&w[2].done)); /* C would fit, but waits behind A */
    weft_sem_release(s, 1);
    CHECK_OK(acquirer_join(&w[0]));
    CHECK_EQ(w[0].order, 0);
    test_sleep_ms(10);
    CHECK(!atomic_load(&w[2].done));
    weft_sem_release(s, 3);
    CHECK_OK(acquirer_join(&w[2]));
    CHECK_EQ(w[2].order, 1);
    /* A 4 + C 3 + the test's 3 = 10. */
    CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN);
    weft_sem_release(s, 10);
    check_all_free(s, 10);
    weft_ctx_release(ctx);
    weft_sem_free(s);
    test_wait_tasks_zero();
}

/* x/sync: size 10, 5 held; A wants 10 (waits), B wants 5 (fits, but waits
   behind A). When A's context is done, B is granted at once. */
static void sem_canceled_head_lets_line_through(void)
{
    for (int variant = 0; variant < 2; variant++) {
        weft_sem *s = weft_sem_new(10);
        CHECK(s != NULL);
        CHECK_OK(weft_sem_try_acquire(s, 5));
        weft_ctx *ctx = variant == 0 ? weft_ctx_with_cancel(NULL)
                                     : weft_ctx_with_timeout(NULL, bound_ns(1) / 5);
        CHECK(ctx != NULL);
        acquirer a, b;
        acquirer_start(&a, s, 10, ctx, NULL);
        wait_line_nonempty(s);
        acquirer_wait_parked(&a);
        acquirer_start(&b, s, 5, NULL, NULL);
        acquirer_wait_parked(&b);
        CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN); /* 5 free, but a line */
        int64_t t0 = weft_now();
        if (variant == 0)
            weft_ctx_cancel(ctx);
        CHECK_RC(acquirer_join(&a), variant == 0 ? WEFT_ECANCELED : WEFT_ETIMEDOUT);
        CHECK_OK(acquirer_join(&b));
        CHECK_LT(weft_now() - t0, bound_ns(2));
        check_line_empty(s);
        CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN); /* B 5 + test 5 */
        weft_sem_release(s, 5);
        weft_sem_release(s, 5);
        check_all_free(s, 10);
        weft_ctx_release(ctx);
        weft_sem_free(s);
    }
    test_wait_tasks_zero();
}

/* x/sync: a context already done wins over free units, and nothing is
   taken. */
static void sem_done_ctx_wins(void)
{
    weft_sem *s = weft_sem_new(5);
    CHECK(s != NULL);
    weft_ctx *c = weft_ctx_with_cancel(NULL);
    CHECK(c != NULL);
    weft_ctx_cancel(c);
    weft_ctx *child = weft_ctx_with_cancel(c);
    CHECK(child != NULL);
    weft_ctx *t = weft_ctx_with_deadline(NULL, weft_now() - 1);
    CHECK(t != NULL);
    for (int i = 0; i < 100; i++) {
        CHECK_RC(weft_sem_acquire(s, 1, c), WEFT_ECANCELED);
        CHECK_RC(weft_sem_acquire(s, 5, c), WEFT_ECANCELED);
        CHECK_RC(weft_sem_acquire(s, 0, c), WEFT_ECANCELED);
        CHECK_RC(weft_sem_acquire(s, 2, child), WEFT_ECANCELED);
        CHECK_RC(weft_sem_acquire(s, 2, t), WEFT_ETIMEDOUT);
    }
    check_all_free(s, 5);
    /* Also when part is held. */
    CHECK_OK(weft_sem_try_acquire(s, 2));
    CHECK_RC(weft_sem_acquire(s, 3, c), WEFT_ECANCELED);
    CHECK_OK(weft_sem_try_acquire(s, 3));
    weft_sem_release(s, 5);
    check_all_free(s, 5);
    weft_ctx_release(child);
    weft_ctx_release(c);
    weft_ctx_release(t);
    weft_sem_free(s);
    test_wait_tasks_zero();
}

/* ---- cancel racing grant ------------------------------------------------- */

typedef struct {
    weft_sem *s;
    int64_t n;
    _Atomic int go;
    int64_t spin;
} releaser_arg;

/* Busy-wait for about ns nanoseconds. */
static void spin_for(int64_t ns)
{
    int64_t until = weft_now() + ns;
    while (weft_now() < until) {
    }
}

static void *releaser_main(void *p)
{
    releaser_arg *r = p;
    while (!atomic_load(&r->go))
        ;
    spin_for(r->spin);
    weft_sem_release(r->s, r->n);
    return NULL;
}

/* Many rounds: the test holds every unit, a waiter with a context queues
   (sometimes a second waiter without one behind it), then the release of
   every unit and the cancel happen at the same moment. Either the waiter got
   0 and holds exactly its units, or the context's error and holds nothing;
   the second waiter always gets its units; nothing is lost. */
static void sem_cancel_races_grant(void)
{
    enum { SIZE = 3 };
    weft_sem *s = weft_sem_new(SIZE);
    CHECK(s != NULL);
    int rounds = (int)test_n(2000);
    uint64_t seed = 99;
    long granted = 0, canceled = 0;
    for (int r = 0; r < rounds; r++) {
        int64_t n = 1 + (int64_t)(test_rand(&seed) % SIZE);
        bool second = test_rand(&seed) % 3 == 0;
        int64_t m = 1 + (int64_t)(test_rand(&seed) % SIZE);
        CHECK_OK(weft_sem_try_acquire(s, SIZE));
        weft_ctx *ctx = weft_ctx_with_cancel(NULL);
        CHECK(ctx != NULL);
        acquirer w, x;
        acquirer_start(&w, s, n, ctx, NULL);
        wait_line_nonempty(s);
        if (second)
            acquirer_start(&x, s, m, NULL, NULL);
        /* Who goes first and by how much (0..100 us) varies by round, so
           that the release sometimes wakes the waiter before the cancel,
           sometimes after, and often both land before it runs. */
        int64_t lead = (int64_t)(test_rand(&seed) % 100000);
        bool release_first = test_rand(&seed) % 2;
        releaser_arg ra = { s, SIZE, 0, release_first ? 0 : lead };
        pthread_t rt = test_thread(releaser_main, &ra);
        int64_t my_spin = release_first ? lead : 0;
        atomic_store(&ra.go, 1);
        spin_for(my_spin);
        weft_ctx_cancel(ctx);
        test_join(rt);
        int rc = acquirer_join(&w);
        CHECK(rc == 0 || rc == WEFT_ECANCELED);
        if (!second) {
            check_line_empty(s);
            if (rc == 0) {
                /* exactly n held by the waiter */
                if (SIZE - n > 0)
                    CHECK_OK(weft_sem_try_acquire(s, SIZE - n));
                CHECK_RC(weft_sem_try_acquire(s, 1), WEFT_EAGAIN);
                weft_sem_release(s, SIZE);
                granted++;
            } else {
                check_all_free(s, SIZE); /* holds nothing */
                canceled++;
            }
        } else {
            if (rc == 0) {
                weft_sem_release(s, n);
                granted++;
            } else {
                canceled++;
            }
            CHECK_OK(acquirer_join(&x)); /* never stranded */
            weft_sem_release(s, m);
        }
        check_all_free(s, SIZE);
        weft_ctx_release(ctx);
    }
    printf("[%ld granted, %ld canceled] ", granted, canceled);
    weft_sem_free(s);
    test_wait_tasks_zero();
}

/* ---- misuse -------------------------------------------------------------- */

static void release_unheld(void)
{
    weft_sem *s = weft_sem_new(4);
    weft_sem_release(s, 1);
}

static void release_too_many(void)
{
    weft_sem *s = weft_sem_new(4);
    if (weft_sem_try_acquire(s, 3) != 0)
        _exit(3);
    weft_sem_release(s, 4);
}

static void release_once_too_often(void)
{
    weft_sem *s = weft_sem_new(4);
    if (weft_sem_acquire(s, 2, NULL) != 0)
        _exit(3);
    weft_sem_release(s, 1);
    weft_sem_release(s, 1);
    weft_sem_release(s, 1);
}

/* Releasing more than is held aborts with one line (forked children). */
static void sem_release_above_held_aborts(void)
{
    expect_abort(release_unheld, "weft: weft_sem_release: released more than held\n");
    expect_abort(release_too_many, "weft: weft_sem_release: released more than held\n");
    expect_abort(release_once_too_often, "weft: weft_sem_release: released more than held\n");
    test_wait_tasks_zero();
}

/* ---- stress -------------------------------------------------------------- */

enum { STRESS_SIZE = 10, STRESS_THREADS = 8 };

typedef struct {
    pthread_mutex_t mu;
    weft_ctx *ctx; /* the owner's cancelable context while it acquires */
} cancel_slot;

typedef struct {
    weft_sem *s;
    uint64_t seed;
    long iters;
    cancel_slot *slot;
    _Atomic int *held;
    _Atomic int *high;
    _Atomic long *ok, *timedout, *canceled, *refused;
    start_line *line;
} stress_arg;

static void *stress_main(void *p)
{
    stress_arg *x = p;
    start_line_wait(x->line);
    for (long i = 0; i < x->iters; i++) {
        int64_t n = 1 + (int64_t)(test_rand(&x->seed) % STRESS_SIZE);
        unsigned kind = (unsigned)(test_rand(&x->seed) % 8);
        weft_ctx *ctx = NULL;
        int rc;
        if (kind == 0) {
            rc = weft_sem_try_acquire(x->s, n);
            CHECK(rc == 0 || rc == WEFT_EAGAIN);
        } else {
            if (kind == 1) {
                ctx = weft_ctx_with_timeout(NULL, (int64_t)(test_rand(&x->seed) % 300000));
            } else if (kind == 2) {
                ctx = weft_ctx_with_cancel(NULL);
                pthread_mutex_lock(&x->slot->mu);
                x->slot->ctx = ctx;
                pthread_mutex_unlock(&x->slot->mu);
            }
            rc = weft_sem_acquire(x->s, n, ctx);
            if (kind == 2) {
                pthread_mutex_lock(&x->slot->mu);
                x->slot->ctx = NULL;
                pthread_mutex_unlock(&x->slot->mu);
            }
            if (kind == 1)
                CHECK(rc == 0 || rc == WEFT_ETIMEDOUT);
            else if (kind == 2)
                CHECK(rc == 0 || rc == WEFT_ECANCELED);
            else
                CHECK_OK(rc);
        }
        if (rc == 0) {
            int h = atomic_fetch_add(x->held, (int)n) + (int)n;
            CHECK_LE(h, STRESS_SIZE);
            int hw = atomic_load(x->high);
            while (h > hw && !atomic_compare_exchange_weak(x->high, &hw, h)) {
            }
            if (test_rand(&x->seed) % 4 == 0)
                sched_yield();
            atomic_fetch_sub(x->held, (int)n);
            weft_sem_release(x->s, n);
            atomic_fetch_add(x->ok, 1);
        } else if (rc == WEFT_ETIMEDOUT) {
            atomic_fetch_add(x->timedout, 1);
        } else if (rc == WEFT_ECANCELED) {
            atomic_fetch_add(x->canceled, 1);
        } else {
            atomic_fetch_add(x->refused, 1);
        }
        if (ctx) {
            weft_ctx_cancel(ctx);
            weft_ctx_release(ctx);
        }
    }
    return NULL;
}

typedef struct {
    cancel_slot *slots;
    _Atomic int *stop;
    uint64_t seed;
} canceler_arg;

static void *canceler_main(void *p)
{
    canceler_arg *c = p;
    while (!atomic_load(c->stop)) {
        int i = (int)(test_rand(&c->seed) % STRESS_THREADS);
        pthread_mutex_lock(&c->slots[i].mu);
        if (c->slots[i].ctx)
            weft_ctx_cancel(c->slots[i].ctx);
        pthread_mutex_unlock(&c->slots[i].mu);
        struct timespec ts = { 0, 50000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* 8 threads acquire random weights 1..10 of a size-10 semaphore (waiting,
   try, with timeouts, with contexts another thread cancels at random),
   counting the units they hold in an atomic: the count never exceeds the
   size, and at the end every unit is free. */
static void sem_stress_weights_cancels(void)
{
    weft_sem *s = weft_sem_new(STRESS_SIZE);
    CHECK(s != NULL);
    cancel_slot slots[STRESS_THREADS];
    stress_arg args[STRESS_THREADS];
    pthread_t t[STRESS_THREADS];
    _Atomic int held = 0, high = 0, stop = 0;
    _Atomic long ok = 0, timedout = 0, canceled = 0, refused = 0;
    start_line line = { 0, STRESS_THREADS };
    long iters = test_n(4000);
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_mutex_init(&slots[i].mu, NULL);
        slots[i].ctx = NULL;
        args[i] = (stress_arg){ s,         (uint64_t)(1000 + i), iters, &slots[i], &held,
                                &high,     &ok,                  &timedout, &canceled,
                                &refused,  &line };
        t[i] = test_thread(stress_main, &args[i]);
    }
    canceler_arg ca = { slots, &stop, 7 };
    pthread_t ct = test_thread(canceler_main, &ca);
    for (int i = 0; i < STRESS_THREADS; i++)
        test_join(t[i]);
    atomic_store(&stop, 1);
    test_join(ct);
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_mutex_destroy(&slots[i].mu);
    CHECK_EQ(atomic_load(&held), 0);
    CHECK_LE(atomic_load(&high), STRESS_SIZE);
    CHECK_GT(atomic_load(&high), 0);
    CHECK_GT(atomic_load(&ok), 0);
    CHECK_EQ(atomic_load(&ok) + atomic_load(&timedout) + atomic_load(&canceled) +
                 atomic_load(&refused),
             iters * STRESS_THREADS);
    printf("[ok %ld, timed out %ld, canceled %ld, try refused %ld, high %d] ",
           (long)atomic_load(&ok), (long)atomic_load(&timedout), (long)atomic_load(&canceled),
           (long)atomic_load(&refused), atomic_load(&high));
    check_all_free(s, STRESS_SIZE);
    weft_sem_free(s);
    test_wait_tasks_zero();
}

/* ---- the seed's pressure gauge ------------------------------------------- */

typedef struct {
    weft_sem *s;
    int limit, callers;
    _Atomic int running, high, attempts, admitted;
    _Atomic int hold; /* admitted callers wait until every caller tried */
    start_line line;
} gauge;

/* `if (weft_sem_try_acquire(s, 1)) return WEFT_EAGAIN;` before the work,
   weft_sem_release(s, 1) after it. */
static int gauged_work(gauge *g)
{
    if (weft_sem_try_acquire(g->s, 1))
        return WEFT_EAGAIN;
    int r = atomic_fetch_add(&g->running, 1) + 1;
    CHECK_LE(r, g->limit);
    int hw = atomic_load(&g->high);
    while (r > hw && !atomic_compare_exchange_weak(&g->high, &hw, r)) {
    }
    atomic_fetch_add(&g->admitted, 1);
    atomic_fetch_add(&g->attempts, 1);
    if (atomic_load(&g->hold)) {
        int64_t until = weft_now() + bound_ns(10);
        while (atomic_load(&g->attempts) < g->callers) {
            CHECK_LT(weft_now(), until);
            sched_yield();
        }
    } else {
        sched_yield();
    }
    atomic_fetch_sub(&g->running, 1);
    weft_sem_release(g->s, 1);
    return 0;
}

static void *gauge_caller(void *p)
{
    gauge *g = p;
    start_line_wait(&g->line);
    int rc = gauged_work(g);
    if (rc) {
        CHECK_RC(rc, WEFT_EAGAIN);
        atomic_fetch_add(&g->attempts, 1);
    }
    return NULL;
}

typedef struct {
    gauge *g;
    long calls;
    _Atomic long *ok, *busy;
} gauge_loop_arg;

static void *gauge_loop(void *p)
{
    gauge_loop_arg *a = p;
    for (long i = 0; i < a->calls; i++) {
        int rc = gauged_work(a->g);
        if (rc == 0)
            atomic_fetch_add(a->ok, 1);
        else {
            CHECK_RC(rc, WEFT_EAGAIN);
            atomic_fetch_add(a->busy, 1);
        }
    }
    return NULL;
}

/* Limit N = 3, M = 12 concurrent callers: those admitted stay until every
   caller tried, so exactly N run at once and the M - N others get
   WEFT_EAGAIN. Then free-running callers: never more than N at once. */
static void sem_pressure_gauge(void)
{
    enum { N = 3, M = 12 };
    int rounds = (int)test_n(30);
    for (int r = 0; r < rounds; r++) {
        gauge g = { .limit = N, .callers = M };
        g.s = weft_sem_new(N);
        CHECK(g.s != NULL);
        atomic_init(&g.hold, 1);
        g.line.n = M;
        test_threads_run(M, gauge_caller, &g);
        CHECK_EQ(atomic_load(&g.admitted), N);
        CHECK_EQ(atomic_load(&g.attempts), M);
        CHECK_EQ(atomic_load(&g.high), N);
        CHECK_EQ(atomic_load(&g.running), 0);
        check_all_free(g.s, N);
        weft_sem_free(g.s);
    }

    gauge g = { .limit = N, .callers = M };
    g.s = weft_sem_new(N);
    CHECK(g.s != NULL);
    atomic_init(&g.hold, 0);
    _Atomic long ok = 0, busy = 0;
    gauge_loop_arg la = { &g, test_n(20000), &ok, &busy };
    test_threads_run(M, gauge_loop, &la);
    CHECK_EQ(atomic_load(&ok) + atomic_load(&busy), la.calls * M);
    CHECK_GT(atomic_load(&ok), 0);
    CHECK_LE(atomic_load(&g.high), N);
    CHECK_EQ(atomic_load(&g.running), 0);
    printf("[ok %ld, busy %ld] ", (long)atomic_load(&ok), (long)atomic_load(&busy));
    check_all_free(g.s, N);
    weft_sem_free(g.s);
    test_wait_tasks_zero();
}

int main(void)
{
    test_watchdog(50);
    TEST_RUN(sem_arguments);
    TEST_RUN(sem_try_acquire);
    TEST_RUN(sem_release_wakes_waiter);
    TEST_RUN(sem_fifo_order);
    TEST_RUN(sem_large_not_starved);
    TEST_RUN(sem_cancel_while_queued);
    TEST_RUN(sem_canceled_head_lets_line_through);
    TEST_RUN(sem_done_ctx_wins);
    TEST_RUN(sem_cancel_races_grant);
    TEST_RUN(sem_release_above_held_aborts);
    TEST_RUN(sem_stress_weights_cancels);
    TEST_RUN(sem_pressure_gauge);
    test_wait_tasks_zero();
    printf("sem: all passed\n");
    return 0;
}
