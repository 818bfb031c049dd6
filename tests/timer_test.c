/* timer_test — <weft/time.h>: timers and tickers (Go's sleep_test.go and
 * tick_test.go in spirit):
 *  - weft_timer_new(20 ms): the channel (capacity 1) receives one int64_t
 *    fire time >= creation + 20 ms; the receive returns no earlier than the
 *    deadline and (loosely) soon after; one value only;
 *  - a delay <= 0 fires at once;
 *  - a new earliest deadline wakes the timer thread (a 20 ms timer made after
 *    a 30 s one fires on time);
 *  - weft_ticker_new(period <= 0): NULL, errno EINVAL;
 *  - a ticker's k-th received tick is >= start + k * period, fire times
 *    increasing (TestTicker);
 *  - a ticker drops ticks nobody received: after 5 periods unread the
 *    channel holds exactly one, and no backlog follows it;
 *  - stop, Go 1.23: pending -> 0 and nothing ever arrives; fire time
 *    already received -> 1; fired but unreceived -> 0 and the channel is
 *    empty (no stale value); second stop -> 1; a running ticker -> 0 and no
 *    more ticks (also with a tick sitting unread);
 *  - NULL: stop WEFT_EINVAL, chan NULL, free a no-op;
 *  - free of a pending timer / running ticker / fired timer: nothing fires
 *    into freed memory (ASan), the service goes on working;
 *  - 10 000 live timers with random delays 1-200 ms all fire, each no
 *    earlier than its deadline, exactly once, while the process gains
 *    fewer than 10 threads (TestAfterStress-like);
 *  - stop and free racing the fire (~1 ms timers, several threads): stop's
 *    result matches what was received: with the receive done by the
 *    stopping thread, and with a concurrent receiver blocked in select; a
 *    stopped ticker delivers no tick stamped after stop returned
 *    (TestTimerStopStress);
 *  - the time-out select pattern: select { case v := <-ch: case
 *    <-time.After(d): } both ways, and in a loop.
 */
#include "check.h"

#include <dirent.h>
#include <stdatomic.h>

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Receive a timer's fire time, failing (not hanging) if it does not come
   within SLACK_MS of `expected`. */
static int64_t recv_fire(weft_timer *t, int64_t expected)
{
    int64_t fire = -1;
    int rc = weft_chan_recv_until(weft_timer_chan(t), &fire, expected + SLACK_MS * MS);
    if (rc != 0)
        fprintf(stderr, "timer due at %lld not received by %lld: %s\n", (long long)expected,
                (long long)(expected + SLACK_MS * MS), weft_strerror(rc));
    CHECK_OK(rc);
    return fire;
}

/* ---- one-shot timers ------------------------------------------------------------- */

static void one_shot(void)
{
    int64_t t0 = weft_now();
    weft_timer *t = weft_timer_new(20 * MS);
    CHECK(t != NULL);
    weft_chan *ch = weft_timer_chan(t);
    CHECK(ch != NULL);
    CHECK(weft_timer_chan(t) == ch);
    CHECK_EQ(weft_chan_cap(ch), 1);
    CHECK_RC(weft_chan_try_recv(ch, NULL), WEFT_EAGAIN);
    int64_t fire = recv_fire(t, t0 + 20 * MS);
    int64_t t1 = weft_now();
    CHECK_GE(fire, t0 + 20 * MS);
    CHECK_GE(t1, t0 + 20 * MS);
    CHECK_LE(fire, t1);
    /* one value only */
    CHECK_RC(weft_chan_recv_until(ch, NULL, weft_deadline_in(30 * MS)), WEFT_ETIMEDOUT);
    CHECK_EQ(weft_timer_stop(t), 1);
    CHECK_EQ(weft_timer_stop(t), 1);
    weft_timer_free(t);

    /* a blocking recv and a select both work on the channel */
    t0 = weft_now();
    t = weft_timer_new(10 * MS);
    weft_case cs[1] = { WEFT_CASE_RECV(weft_timer_chan(t), &fire) };
    CHECK_EQ(weft_select(cs, 1, WEFT_FOREVER), 0);
    CHECK(cs[0].ok);
    CHECK_GE(fire, t0 + 10 * MS);
    CHECK_GE(weft_now(), t0 + 10 * MS);
    weft_timer_free(t);
}

static void zero_and_negative_delay(void)
{
    int64_t delays[] = { 0, -1, -1000 * MS, INT64_MIN };
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        int64_t t0 = weft_now();
        weft_timer *t = weft_timer_new(delays[i]);
        CHECK(t != NULL);
        int64_t fire = recv_fire(t, t0);
        CHECK_GE(fire, t0);
        CHECK_EQ(weft_timer_stop(t), 1);
        weft_timer_free(t);
    }
    /* not received: stop discards it */
    weft_timer *t = weft_timer_new(0);
    int64_t give_up = weft_deadline_in(SLACK_MS * MS);
    while (weft_chan_len(weft_timer_chan(t)) == 0 && weft_now() < give_up)
        test_sleep_ms(1);
    CHECK_EQ(weft_chan_len(weft_timer_chan(t)), 1);
    CHECK_EQ(weft_timer_stop(t), 0);
    CHECK_EQ(weft_chan_len(weft_timer_chan(t)), 0);
    weft_timer_free(t);
}

/* A timer that becomes the earliest wakes the sleeping timer thread. */
static void new_earliest_wakes_service(void)
{
    weft_timer *far = weft_timer_new(30000 * MS);
    test_sleep_ms(10); /* the service now sleeps until `far` */
    int64_t t0 = weft_now();
    weft_timer *near = weft_timer_new(20 * MS);
    int64_t fire = recv_fire(near, t0 + 20 * MS);
    CHECK_GE(fire, t0 + 20 * MS);
    /* and a third, earlier than far again, after near fired */
    t0 = weft_now();
    weft_timer *near2 = weft_timer_new(15 * MS);
    fire = recv_fire(near2, t0 + 15 * MS);
    CHECK_GE(fire, t0 + 15 * MS);
    CHECK_EQ(weft_timer_stop(far), 0);
    weft_timer_free(near2);
    weft_timer_free(near);
    weft_timer_free(far);
}

/* ---- tickers ------------------------------------------------------------------------ */

static void ticker_invalid(void)
{
    errno = 0;
    CHECK(weft_ticker_new(0) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(weft_ticker_new(-1) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(weft_ticker_new(INT64_MIN) == NULL);
    CHECK_EQ(errno, EINVAL);
}

static void ticker_ticks(void)
{
    const int64_t period = 20 * MS;
    int64_t t0 = weft_now();
    weft_timer *tk = weft_ticker_new(period);
    CHECK(tk != NULL);
    CHECK_EQ(weft_chan_cap(weft_timer_chan(tk)), 1);
    int64_t prev = t0;
    for (int k = 1; k <= 6; k++) {
        int64_t fire = recv_fire(tk, t0 + k * period);
        /* missed ticks are dropped, never delivered early: the k-th one
           received is due at a distinct multiple >= k of the period */
        CHECK_GE(fire, t0 + k * period);
        CHECK_GT(fire, prev);
        CHECK_LE(fire, weft_now());
        prev = fire;
    }
    CHECK_EQ(weft_timer_stop(tk), 0); /* a running ticker */
    test_sleep_ms(3 * 20);
    CHECK_RC(weft_chan_try_recv(weft_timer_chan(tk), NULL), WEFT_EAGAIN);
    CHECK_EQ(weft_timer_stop(tk), 1);
    weft_timer_free(tk);
}

/* Ticks fall on the grid start + k * period and are stamped with the time
   they were sent (so two stamps may be closer than a period when the first
   was late). A tick that finds the channel full is dropped, not queued. */
static void ticker_drops_unreceived(void)
{
    const int64_t period = 20 * MS;
    int64_t t0 = weft_now();
    weft_timer *tk = weft_ticker_new(period);
    weft_chan *ch = weft_timer_chan(tk);
    for (int pass = 0; pass < 2; pass++) {
        test_sleep_ms(5 * 20 + 10);
        CHECK_EQ(weft_chan_len(ch), 1); /* five or so ticks, one kept */
        /* Drain for 2.5 periods. A ticker that queued the missed ticks would
           now deliver its backlog (4-5 more) at once; a dropping one gives
           the kept tick, at most one late tick from before, and the <= 3
           grid points of the window. */
        int64_t until = weft_now() + 5 * period / 2;
        int64_t prev = 0, v;
        int count = 0;
        int rc;
        while ((rc = weft_chan_recv_until(ch, &v, until)) == 0) {
            CHECK_GE(v, t0 + (count + 1) * period);
            CHECK_GT(v, prev);
            prev = v;
            count++;
        }
        CHECK_RC(rc, WEFT_ETIMEDOUT);
        CHECK_GE(count, 1);
        CHECK_LE(count, 5);
    }
    CHECK_EQ(weft_timer_stop(tk), 0);
    weft_timer_free(tk);
}

/* ---- stop (Go 1.23) --------------------------------------------------------------- */

static void stop_pending(void)
{
    int64_t t0 = weft_now();
    weft_timer *t = weft_timer_new(30 * MS);
    CHECK_EQ(weft_timer_stop(t), 0);
    CHECK_EQ(weft_timer_stop(t), 1);
    /* wait past the deadline: nothing is ever delivered */
    CHECK_RC(weft_chan_recv_until(weft_timer_chan(t), NULL, t0 + 80 * MS), WEFT_ETIMEDOUT);
    CHECK_RC(weft_chan_try_recv(weft_timer_chan(t), NULL), WEFT_EAGAIN);
    CHECK_EQ(weft_chan_len(weft_timer_chan(t)), 0);
    CHECK_EQ(weft_timer_stop(t), 1);
    weft_timer_free(t);
}

static void stop_after_received(void)
{
    int64_t t0 = weft_now();
    weft_timer *t = weft_timer_new(5 * MS);
    (void)recv_fire(t, t0 + 5 * MS);
    CHECK_EQ(weft_timer_stop(t), 1);
    CHECK_EQ(weft_timer_stop(t), 1);
    weft_timer_free(t);
}

static void stop_after_fired_unreceived(void)
{
    weft_timer *t = weft_timer_new(5 * MS);
    weft_chan *ch = weft_timer_chan(t);
    int64_t give_up = weft_deadline_in(SLACK_MS * MS);
    while (weft_chan_len(ch) == 0 && weft_now() < give_up)
        test_sleep_ms(1);
    CHECK_EQ(weft_chan_len(ch), 1);
    CHECK_EQ(weft_timer_stop(t), 0); /* discarded the unreceived fire time */
    CHECK_EQ(weft_chan_len(ch), 0);
    CHECK_RC(weft_chan_try_recv(ch, NULL), WEFT_EAGAIN);
    CHECK_EQ(weft_timer_stop(t), 1);
    test_sleep_ms(20);
    CHECK_RC(weft_chan_try_recv(ch, NULL), WEFT_EAGAIN);
    weft_timer_free(t);
}

static void stop_ticker(void)
{
    /* before its first tick */
    weft_timer *tk = weft_ticker_new(10 * MS);
    CHECK_EQ(weft_timer_stop(tk), 0);
    test_sleep_ms(40);
    CHECK_RC(weft_chan_try_recv(weft_timer_chan(tk), NULL), WEFT_EAGAIN);
    CHECK_EQ(weft_timer_stop(tk), 1);
    weft_timer_free(tk);

    /* running, its last tick received */
    tk = weft_ticker_new(10 * MS);
    (void)recv_fire(tk, weft_now() + 10 * MS);
    CHECK_EQ(weft_timer_stop(tk), 0);
    CHECK_EQ(weft_chan_len(weft_timer_chan(tk)), 0);
    test_sleep_ms(40);
    CHECK_RC(weft_chan_try_recv(weft_timer_chan(tk), NULL), WEFT_EAGAIN);
    CHECK_EQ(weft_timer_stop(tk), 1);
    weft_timer_free(tk);

    /* a tick sitting unread is discarded */
    tk = weft_ticker_new(5 * MS);
    test_sleep_ms(30);
    CHECK_EQ(weft_chan_len(weft_timer_chan(tk)), 1);
    CHECK_EQ(weft_timer_stop(tk), 0);
    CHECK_EQ(weft_chan_len(weft_timer_chan(tk)), 0);
    test_sleep_ms(20);
    CHECK_RC(weft_chan_try_recv(weft_timer_chan(tk), NULL), WEFT_EAGAIN);
    CHECK_EQ(weft_timer_stop(tk), 1);
    weft_timer_free(tk);
}

static void null_timer(void)
{
    CHECK_RC(weft_timer_stop(NULL), WEFT_EINVAL);
    CHECK(weft_timer_chan(NULL) == NULL);
    weft_timer_free(NULL);
}

static void free_without_stop(void)
{
    weft_timer *pending = weft_timer_new(10 * MS);
    weft_timer *ticker = weft_ticker_new(1 * MS);
    weft_timer *fired = weft_timer_new(1 * MS);
    weft_timer *long_ticker = weft_ticker_new(3600 * 1000 * MS);
    test_sleep_ms(5);
    weft_timer_free(pending);
    weft_timer_free(ticker);
    weft_timer_free(fired);
    weft_timer_free(long_ticker);
    /* many short ones freed right around their fire time */
    for (int i = 0; i < 2000; i++) {
        weft_timer *t = i % 2 ? weft_timer_new(i % 7 * 10000) : weft_ticker_new(10000 + i % 5 * 10000);
        int64_t until = weft_now() + i % 11 * 7000;
        while (weft_now() < until) {
        }
        weft_timer_free(t);
    }
    test_sleep_ms(20); /* past every deadline: nothing fires into freed memory */
    int64_t t0 = weft_now();
    weft_timer *t = weft_timer_new(5 * MS);
    CHECK_GE(recv_fire(t, t0 + 5 * MS), t0 + 5 * MS);
    weft_timer_free(t);
}

/* ---- ten thousand timers ------------------------------------------------------------ */

static void many_timers(void)
{
    enum { N = 10000 };
    /* the service thread exists already (earlier tests); count from here */
    int threads0 = count_threads();
    static weft_timer *ts[N];
    static int64_t due[N];
    uint64_t rng = 0xDEADBEEF;
    for (int i = 0; i < N; i++) {
        int64_t delay = (int64_t)(1 + test_rand(&rng) % 200) * MS;
        due[i] = weft_now() + delay; /* before the timer computes its own */
        ts[i] = weft_timer_new(delay);
        CHECK(ts[i] != NULL);
    }
    int threads1 = count_threads();
    CHECK_LT(threads1, threads0 + 10);
    int max_threads = threads1;
    for (int i = 0; i < N; i++) {
        int64_t fire = recv_fire(ts[i], due[i]);
        CHECK_GE(fire, due[i]);
        if (i % 500 == 0) {
            int n = count_threads();
            if (n > max_threads)
                max_threads = n;
        }
    }
    CHECK_LT(max_threads, threads0 + 10);
    /* each fired once */
    test_sleep_ms(10);
    for (int i = 0; i < N; i++) {
        CHECK_RC(weft_chan_try_recv(weft_timer_chan(ts[i]), NULL), WEFT_EAGAIN);
        CHECK_EQ(weft_timer_stop(ts[i]), 1);
        weft_timer_free(ts[i]);
    }
}

/* Several threads make and receive short timers at once (TestAfterStress). */
typedef struct short_arg {
    long n;
    uint64_t seed;
} short_arg;

static void *short_timers_main(void *p)
{
    long n = ((short_arg *)p)->n;
    uint64_t rng = ((short_arg *)p)->seed;
    for (long i = 0; i < n; i++) {
        int64_t delay = (int64_t)(test_rand(&rng) % 2000000); /* 0-2 ms */
        int64_t due = weft_now() + delay;
        weft_timer *t = weft_timer_new(delay);
        CHECK_GE(recv_fire(t, due), due);
        weft_timer_free(t);
    }
    return NULL;
}

static void short_timers_from_threads(void)
{
    enum { NT = 4 };
    short_arg args[NT];
    pthread_t ts[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (short_arg){ test_n(400), 0x1111ULL * (uint64_t)(i + 1) };
        ts[i] = test_thread(short_timers_main, &args[i]);
    }
    for (int i = 0; i < NT; i++)
        test_join(ts[i]);
}

/* ---- stop and free racing the fire ------------------------------------------------------ */

static atomic_long g_stop_zero, g_stop_one;

typedef struct stopper {
    long n;
    uint64_t seed;
} stopper;

static void *stopper_main(void *p)
{
    stopper *s = p;
    uint64_t rng = s->seed;
    enum { KEEP = 64 };
    weft_timer *stopped[KEEP];
    int nstopped = 0;
    for (long i = 0; i < s->n; i++) {
        int64_t delay = 500000 + (int64_t)(test_rand(&rng) % 1000000); /* 0.5-1.5 ms */
        weft_timer *t = weft_timer_new(delay);
        CHECK(t != NULL);
        int64_t until = weft_now() + (int64_t)(test_rand(&rng) % 1600000);
        while (weft_now() < until) {
        }
        int mode = (int)(test_rand(&rng) % 4);
        if (mode == 0) { /* free racing the fire */
            weft_timer_free(t);
            continue;
        }
        bool got = false;
        if (mode == 1)
            got = weft_chan_try_recv(weft_timer_chan(t), NULL) == 0;
        int rc = weft_timer_stop(t);
        /* Nobody else receives: 1 exactly when we took the fire time. */
        if (rc != (got ? 1 : 0))
            fprintf(stderr, "stop returned %d, fire time received by us: %d\n", rc, (int)got);
        CHECK_EQ(rc, got ? 1 : 0);
        atomic_fetch_add(rc ? &g_stop_one : &g_stop_zero, 1);
        CHECK_RC(weft_chan_try_recv(weft_timer_chan(t), NULL), WEFT_EAGAIN);
        CHECK_EQ(weft_timer_stop(t), 1);
        stopped[nstopped++] = t;
        if (nstopped == KEEP) {
            /* past every deadline: a stopped timer never delivers */
            test_sleep_ms(3);
            for (int k = 0; k < nstopped; k++) {
                CHECK_RC(weft_chan_try_recv(weft_timer_chan(stopped[k]), NULL), WEFT_EAGAIN);
                weft_timer_free(stopped[k]);
            }
            nstopped = 0;
        }
    }
    test_sleep_ms(3);
    for (int k = 0; k < nstopped; k++) {
        CHECK_RC(weft_chan_try_recv(weft_timer_chan(stopped[k]), NULL), WEFT_EAGAIN);
        weft_timer_free(stopped[k]);
    }
    return NULL;
}

static void stop_and_free_racing_fire(void)
{
    enum { NT = 2 };
    stopper ss[NT];
    pthread_t ts[NT];
    for (int i = 0; i < NT; i++) {
        ss[i] = (stopper){ .n = test_n(1200), .seed = 0xABCDEF01ULL * (uint64_t)(i + 1) };
        ts[i] = test_thread(stopper_main, &ss[i]);
    }
    for (int i = 0; i < NT; i++)
        test_join(ts[i]);
    /* both outcomes happened: the race was real */
    if (getenv("WEFT_TEST_VERBOSE"))
        fprintf(stderr, "[stop 0: %ld, stop 1: %ld] ", atomic_load(&g_stop_zero),
                atomic_load(&g_stop_one));
    CHECK_GT(atomic_load(&g_stop_zero), 0);
    CHECK_GT(atomic_load(&g_stop_one), 0);
}

/* A receiver blocked in select on the timer's channel while another thread
   stops the timer: stop returns 1 exactly when the receiver got the fire
   time. */
typedef struct job {
    weft_chan *tc;   /* the timer's channel */
    weft_chan *quit; /* closed by the stopper once stop returned */
    bool ticker;
} job;

typedef struct result {
    int got;             /* fire times received */
    int64_t last_fire;   /* the latest one */
} result;

static void *select_receiver_main(void *p)
{
    weft_chan **io = p; /* io[0]: jobs in, io[1]: results out */
    job j;
    while (weft_chan_recv(io[0], &j) == 0) {
        result r = { 0, 0 };
        for (;;) {
            int64_t fire;
            weft_case cs[2] = { WEFT_CASE_RECV(j.tc, &fire), WEFT_CASE_RECV(j.quit, NULL) };
            int k = weft_select(cs, 2, WEFT_FOREVER);
            if (k == 0) {
                CHECK(cs[0].ok);
                r.got++;
                if (fire > r.last_fire)
                    r.last_fire = fire;
                if (!j.ticker)
                    break; /* a timer delivers once: wait for nothing else */
            } else {
                CHECK_EQ(k, 1);
                break;
            }
        }
        CHECK_OK(weft_chan_send(io[1], &r));
    }
    return NULL;
}

static void stop_racing_concurrent_receiver(void)
{
    weft_chan *io[2] = { weft_chan_new(sizeof(job), 0), weft_chan_new(sizeof(result), 0) };
    pthread_t tr = test_thread(select_receiver_main, io);
    uint64_t rng = 0x5EED;
    long rounds = test_n(600);
    long zero = 0, one = 0;
    for (long i = 0; i < rounds; i++) {
        bool ticker = i % 4 == 3;
        int64_t delay = ticker ? 200000 : 500000 + (int64_t)(test_rand(&rng) % 1000000);
        weft_timer *t = ticker ? weft_ticker_new(delay) : weft_timer_new(delay);
        job j = { weft_timer_chan(t), weft_chan_new(0, 0), ticker };
        CHECK_OK(weft_chan_send(io[0], &j));
        int64_t until = weft_now() + (int64_t)(test_rand(&rng) % 2000000);
        while (weft_now() < until) {
        }
        int rc = weft_timer_stop(t);
        int64_t stopped_at = weft_now();
        CHECK_OK(weft_chan_close(j.quit));
        result r;
        CHECK_OK(weft_chan_recv(io[1], &r));
        if (ticker) {
            CHECK_EQ(rc, 0); /* a running ticker: always 0 */
            if (r.got)
                CHECK_LT(r.last_fire, stopped_at); /* no tick after stop */
        } else {
            if (rc != (r.got ? 1 : 0))
                fprintf(stderr, "round %ld: stop returned %d, receiver got %d fire times\n", i, rc,
                        r.got);
            CHECK_EQ(rc, r.got ? 1 : 0);
            zero += rc == 0;
            one += rc == 1;
        }
        CHECK_RC(weft_chan_try_recv(j.tc, NULL), WEFT_EAGAIN);
        weft_timer_free(t);
        weft_chan_free(j.quit);
    }
    CHECK_OK(weft_chan_close(io[0]));
    test_join(tr);
    weft_chan_free(io[0]);
    weft_chan_free(io[1]);
    if (getenv("WEFT_TEST_VERBOSE"))
        fprintf(stderr, "[stop 0: %ld, stop 1: %ld] ", zero, one);
    CHECK_GT(zero, 0);
    CHECK_GT(one, 0);
}

/* ---- the time-out pattern ------------------------------------------------------------ */

typedef struct late_sender {
    weft_chan *c;
    long delay_ms;
    long value;
} late_sender;

static void *late_sender_main(void *p)
{
    late_sender *s = p;
    test_sleep_ms(s->delay_ms);
    CHECK_OK(weft_chan_send(s->c, &s->value));
    return NULL;
}

static void select_with_timeout(void)
{
    weft_chan *ch = weft_chan_new(sizeof(long), 0);

    /* nothing comes: the timer case fires, not before its deadline */
    int64_t t0 = weft_now();
    weft_timer *t = weft_timer_new(30 * MS);
    long v = -1;
    int64_t fire = -1;
    weft_case cs[2] = { WEFT_CASE_RECV(ch, &v), WEFT_CASE_RECV(weft_timer_chan(t), &fire) };
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 1);
    CHECK(cs[1].ok);
    CHECK_GE(fire, t0 + 30 * MS);
    CHECK_GE(weft_now(), t0 + 30 * MS);
    CHECK_EQ(v, -1);
    weft_timer_free(t);

    /* the value comes first: the timer is stopped before it fired */
    late_sender s = { ch, 10, 99 };
    pthread_t th = test_thread(late_sender_main, &s);
    t = weft_timer_new(10000 * MS);
    cs[1] = WEFT_CASE_RECV(weft_timer_chan(t), &fire);
    cs[0] = WEFT_CASE_RECV(ch, &v);
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 0);
    CHECK_EQ(v, 99);
    CHECK_EQ(weft_timer_stop(t), 0);
    weft_timer_free(t);
    test_join(th);

    /* time.After in a loop, the value always ready: timers made and freed */
    weft_chan *b = weft_chan_new(sizeof(long), 1);
    for (long i = 0; i < 20000; i++) {
        CHECK_OK(weft_chan_send(b, &i));
        weft_timer *tt = weft_timer_new(i % 2 ? 3600 * 1000 * MS : 50 * MS);
        weft_case c2[2] = { WEFT_CASE_RECV(b, &v), WEFT_CASE_RECV(weft_timer_chan(tt), NULL) };
        CHECK_EQ(weft_select(c2, 2, WEFT_FOREVER), 0);
        CHECK_EQ(v, i);
        weft_timer_free(tt);
    }
    weft_chan_free(b);
    weft_chan_free(ch);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(30);
    TEST_RUN(one_shot);
    TEST_RUN(zero_and_negative_delay);
    TEST_RUN(new_earliest_wakes_service);
    TEST_RUN(ticker_invalid);
    TEST_RUN(ticker_ticks);
    TEST_RUN(ticker_drops_unreceived);
    TEST_RUN(stop_pending);
    TEST_RUN(stop_after_received);
    TEST_RUN(stop_after_fired_unreceived);
    TEST_RUN(stop_ticker);
    TEST_RUN(null_timer);
    TEST_RUN(free_without_stop);
    test_watchdog(30);
    TEST_RUN(many_timers);
    test_watchdog(30);
    TEST_RUN(short_timers_from_threads);
    test_watchdog(40);
    TEST_RUN(stop_and_free_racing_fire);
    test_watchdog(40);
    TEST_RUN(stop_racing_concurrent_receiver);
    test_watchdog(30);
    TEST_RUN(select_with_timeout);
    printf("timer: all passed\n");
    return 0;
}
