/* after_func_test — weft_after_func (Go's time.AfterFunc, TestAfterFunc):
 *  - fn(arg) runs once, not before its delay, on a thread that is not the
 *    caller's;
 *  - fn runs as a task, never on the timer thread: a callback that blocks
 *    until a later callback (and a later weft_timer) has fired does not
 *    deadlock the service, and the two run on different threads;
 *  - it counts in weft_tasks_live() while it runs, not while it waits;
 *  - fn NULL: WEFT_EINVAL, and nothing runs;
 *  - a delay <= 0 runs fn soon;
 *  - a callback may schedule the next one (a chain);
 *  - 1000 callbacks with random delays all run exactly once, none early,
 *    and weft_tasks_live() returns to 0 afterwards.
 */
#include "check.h"

#include <stdatomic.h>

/* Poll weft_tasks_live() until 0; fails after SLACK_MS. */
static void wait_tasks_zero(void)
{
    int64_t give_up = weft_deadline_in(SLACK_MS * MS);
    while (weft_tasks_live() != 0 && weft_now() < give_up)
        test_sleep_ms(1);
    CHECK_EQ(weft_tasks_live(), 0);
}

/* ---- one callback --------------------------------------------------------------- */

typedef struct record {
    atomic_int calls;
    int64_t ran_at;
    pthread_t tid;
    size_t live_inside; /* weft_tasks_live() seen by fn */
    weft_chan *done;    /* fn sends a token when it ran */
} record;

static void record_fn(void *p)
{
    record *r = p;
    r->ran_at = weft_now();
    r->tid = pthread_self();
    r->live_inside = weft_tasks_live();
    atomic_fetch_add(&r->calls, 1);
    CHECK_OK(weft_chan_send(r->done, NULL));
}

static void record_init(record *r)
{
    atomic_store(&r->calls, 0);
    r->ran_at = 0;
    r->live_inside = 0;
    r->done = weft_chan_new(0, 4);
    CHECK(r->done != NULL);
}

static void runs_once_after_delay(void)
{
    wait_tasks_zero();
    record r;
    record_init(&r);
    int64_t t0 = weft_now();
    CHECK_OK(weft_after_func(20 * MS, record_fn, &r));
    CHECK_OK(weft_chan_recv_until(r.done, NULL, t0 + (20 + SLACK_MS) * MS));
    CHECK_GE(r.ran_at, t0 + 20 * MS);
    CHECK(!pthread_equal(r.tid, pthread_self()));
    CHECK_GE(r.live_inside, 1); /* a task while it runs */
    test_sleep_ms(50);
    CHECK_EQ(atomic_load(&r.calls), 1);
    CHECK_RC(weft_chan_try_recv(r.done, NULL), WEFT_EAGAIN);
    wait_tasks_zero();
    weft_chan_free(r.done);
}

static void not_live_while_waiting(void)
{
    wait_tasks_zero();
    record r;
    record_init(&r);
    int64_t t0 = weft_now();
    CHECK_OK(weft_after_func(100 * MS, record_fn, &r));
    CHECK_EQ(weft_tasks_live(), 0);
    test_sleep_ms(50);
    if (weft_now() < t0 + 100 * MS) {
        CHECK_EQ(atomic_load(&r.calls), 0);
        CHECK_EQ(weft_tasks_live(), 0); /* waiting for its delay: not a task yet */
    }
    CHECK_OK(weft_chan_recv_until(r.done, NULL, t0 + (100 + SLACK_MS) * MS));
    CHECK_GE(r.ran_at, t0 + 100 * MS);
    CHECK_GE(r.live_inside, 1);
    wait_tasks_zero();
    weft_chan_free(r.done);
}

/* ---- a blocking callback does not hold up the timer service ------------------------ */

typedef struct blocker {
    weft_chan *wake;     /* B sends on it */
    int rc;              /* A's receive: 0 if B ran while A blocked */
    pthread_t tid;
    int64_t timer_fire;  /* a weft_timer A also waited for */
    int timer_rc;
    weft_timer *timer;
    weft_chan *finished;
} blocker;

static void blocker_a(void *p)
{
    blocker *b = p;
    b->tid = pthread_self();
    /* If A ran on the timer thread, neither B nor the timer could fire
       while it waits here: both receives would time out. */
    b->rc = weft_chan_recv_until(b->wake, NULL, weft_deadline_in(SLACK_MS * MS));
    b->timer_rc = weft_chan_recv_until(weft_timer_chan(b->timer), &b->timer_fire,
                                       weft_deadline_in(SLACK_MS * MS));
    CHECK_OK(weft_chan_send(b->finished, NULL));
}

typedef struct waker {
    weft_chan *wake;
    pthread_t tid;
} waker;

static void waker_b(void *p)
{
    waker *w = p;
    w->tid = pthread_self();
    CHECK_OK(weft_chan_send(w->wake, NULL));
}

static void sleep_200(void *p)
{
    (void)p;
    test_sleep_ms(200);
}

static void slow_fn_delays_nothing(void)
{
    blocker a = { .wake = weft_chan_new(0, 1), .rc = 1, .timer_rc = 1,
                  .finished = weft_chan_new(0, 1) };
    waker b = { .wake = a.wake };
    int64_t t0 = weft_now();
    a.timer = weft_timer_new(40 * MS);
    CHECK_OK(weft_after_func(10 * MS, blocker_a, &a));
    CHECK_OK(weft_after_func(30 * MS, waker_b, &b));
    CHECK_OK(weft_chan_recv_until(a.finished, NULL, t0 + (40 + 3 * SLACK_MS) * MS));
    CHECK_OK(a.rc);
    CHECK_OK(a.timer_rc);
    CHECK_GE(a.timer_fire, t0 + 40 * MS);
    CHECK(!pthread_equal(a.tid, b.tid));
    CHECK(!pthread_equal(a.tid, pthread_self()));
    wait_tasks_zero();
    weft_timer_free(a.timer);
    weft_chan_free(a.wake);
    weft_chan_free(a.finished);

    /* Go's shape: a callback sleeping 200 ms; one due 10 ms after it runs
       meanwhile (before the sleeper wakes). */
    record r;
    record_init(&r);
    t0 = weft_now();
    CHECK_OK(weft_after_func(5 * MS, sleep_200, NULL));
    CHECK_OK(weft_after_func(15 * MS, record_fn, &r));
    CHECK_OK(weft_chan_recv_until(r.done, NULL, t0 + (15 + SLACK_MS) * MS));
    CHECK_GE(r.ran_at, t0 + 15 * MS);
    wait_tasks_zero();
    weft_chan_free(r.done);
}

/* ---- arguments and delays --------------------------------------------------------- */

static void null_fn_is_einval(void)
{
    CHECK_RC(weft_after_func(10 * MS, NULL, NULL), WEFT_EINVAL);
    CHECK_RC(weft_after_func(0, NULL, NULL), WEFT_EINVAL);
    CHECK_RC(weft_after_func(-1, NULL, NULL), WEFT_EINVAL);
    test_sleep_ms(20);
    CHECK_EQ(weft_tasks_live(), 0);
}

static void non_positive_delay_runs_soon(void)
{
    int64_t delays[] = { 0, -1, -1000 * MS, INT64_MIN };
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        record r;
        record_init(&r);
        int64_t t0 = weft_now();
        CHECK_OK(weft_after_func(delays[i], record_fn, &r));
        CHECK_OK(weft_chan_recv_until(r.done, NULL, t0 + SLACK_MS * MS));
        CHECK_GE(r.ran_at, t0);
        CHECK(!pthread_equal(r.tid, pthread_self()));
        CHECK_EQ(atomic_load(&r.calls), 1);
        wait_tasks_zero();
        weft_chan_free(r.done);
    }
}

typedef struct chain {
    atomic_int left;
    weft_chan *done;
} chain;

static void chain_fn(void *p)
{
    chain *c = p;
    if (atomic_fetch_sub(&c->left, 1) > 1)
        CHECK_OK(weft_after_func(1 * MS, chain_fn, c));
    else
        CHECK_OK(weft_chan_send(c->done, NULL));
}

static void callback_schedules_next(void)
{
    chain c = { .left = 20, .done = weft_chan_new(0, 1) };
    int64_t t0 = weft_now();
    CHECK_OK(weft_after_func(1 * MS, chain_fn, &c));
    CHECK_OK(weft_chan_recv_until(c.done, NULL, t0 + (20 + SLACK_MS) * MS));
    CHECK_GE(weft_now(), t0 + 20 * MS);
    CHECK_EQ(atomic_load(&c.left), 0);
    wait_tasks_zero();
    weft_chan_free(c.done);
}

/* ---- a thousand ------------------------------------------------------------------- */

enum { NMANY = 1000 };

typedef struct many {
    atomic_int calls[NMANY];
    int64_t ran_at[NMANY];
    int64_t due[NMANY];
    atomic_int total;
} many;

typedef struct many_arg {
    many *m;
    int i;
} many_arg;

static void many_fn(void *p)
{
    many_arg *a = p;
    a->m->ran_at[a->i] = weft_now();
    atomic_fetch_add(&a->m->calls[a->i], 1);
    atomic_fetch_add(&a->m->total, 1); /* last: publishes ran_at */
}

static void thousand_callbacks(void)
{
    static many m;
    static many_arg args[NMANY];
    uint64_t rng = 0xAF7E8;
    for (int i = 0; i < NMANY; i++) {
        int64_t delay = (int64_t)(test_rand(&rng) % 51) * MS; /* 0-50 ms */
        args[i] = (many_arg){ &m, i };
        m.due[i] = weft_now() + delay;
        CHECK_OK(weft_after_func(delay, many_fn, &args[i]));
    }
    int64_t give_up = weft_deadline_in((50 + 2 * SLACK_MS) * MS);
    while (atomic_load(&m.total) < NMANY && weft_now() < give_up)
        test_sleep_ms(1);
    CHECK_EQ(atomic_load(&m.total), NMANY);
    test_sleep_ms(50);
    CHECK_EQ(atomic_load(&m.total), NMANY);
    for (int i = 0; i < NMANY; i++) {
        CHECK_EQ(atomic_load(&m.calls[i]), 1);
        CHECK_GE(m.ran_at[i], m.due[i]);
    }
    wait_tasks_zero();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(30);
    TEST_RUN(runs_once_after_delay);
    TEST_RUN(not_live_while_waiting);
    TEST_RUN(slow_fn_delays_nothing);
    TEST_RUN(null_fn_is_einval);
    TEST_RUN(non_positive_delay_runs_soon);
    TEST_RUN(callback_schedules_next);
    TEST_RUN(thousand_callbacks);
    printf("after_func: all passed\n");
    return 0;
}
