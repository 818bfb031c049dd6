/* select_unit_test — every rule of <weft/select.h>, one at a time:
 *  - the case macros build the fields they name;
 *  - a ready case: its index is returned with ok == true and exactly that
 *    one operation happens (the other ready cases keep their values);
 *  - nothing ready: WEFT_NOWAIT -> WEFT_EAGAIN (Go's default), a finite
 *    deadline -> WEFT_ETIMEDOUT and never before it, a past deadline other
 *    than WEFT_NOWAIT -> WEFT_ETIMEDOUT at once;
 *  - NULL-channel cases never fire; with no enabled case: a finite deadline
 *    sleeps until it, WEFT_FOREVER is WEFT_EINVAL, WEFT_NOWAIT is EAGAIN;
 *  - argument errors (cases NULL with n > 0, a bad dir, a NULL send elem on
 *    a non-empty element type) are WEFT_EINVAL and consume nothing;
 *  - a receive case with elem NULL drops the value;
 *  - closed channels: a receive case drains the buffer first and then fires
 *    with ok == false leaving elem untouched; a send case fires with
 *    ok == false and sends nothing; close wakes a blocked select;
 *  - the same channel in several cases and in both directions; an
 *    unbuffered select never pairs with itself (Go's TestSelfSelect);
 *  - blocked selects are completed by a partner arriving later, on the
 *    channel and case that partner used (send and receive, unbuffered and
 *    buffered, and with more than 8 cases);
 *  - Go's select6.go (issue 2075) and TestSelectDuplicateChannel: failed
 *    cases leave the wait queues intact.
 */
#include "check.h"

#include <stdatomic.h>

#define SENTINEL 0x5A5A5A5AL

/* ---- a thread that does one channel operation after a delay -------------- */

enum { OP_SEND, OP_RECV, OP_CLOSE };

typedef struct delayed {
    weft_chan *c;
    int op;
    long delay_ms;
    long value; /* sent, or received */
    int rc;
} delayed;

static void *delayed_main(void *p)
{
    delayed *d = p;
    test_sleep_ms(d->delay_ms);
    switch (d->op) {
    case OP_SEND:
        d->rc = weft_chan_send(d->c, &d->value);
        break;
    case OP_RECV:
        d->rc = weft_chan_recv(d->c, &d->value);
        break;
    default:
        d->rc = weft_chan_close(d->c);
        break;
    }
    return NULL;
}

static pthread_t delayed_start(delayed *d, weft_chan *c, int op, long delay_ms, long value)
{
    d->c = c;
    d->op = op;
    d->delay_ms = delay_ms;
    d->value = value;
    d->rc = 1;
    return test_thread(delayed_main, d);
}

static weft_chan *new_chan(size_t cap)
{
    weft_chan *c = weft_chan_new(sizeof(long), cap);
    CHECK(c != NULL);
    return c;
}

/* ---- macros ---------------------------------------------------------------- */

static void case_macros(void)
{
    weft_chan *c = new_chan(1);
    long v = 0;
    weft_case r = WEFT_CASE_RECV(c, &v);
    CHECK(r.chan == c);
    CHECK_EQ(r.dir, WEFT_RECV);
    CHECK(r.elem == (void *)&v);
    CHECK(!r.ok);
    const long cv = 3; /* the send macro accepts a pointer to const */
    weft_case s = WEFT_CASE_SEND(c, &cv);
    CHECK(s.chan == c);
    CHECK_EQ(s.dir, WEFT_SEND);
    CHECK(s.elem == (const void *)&cv);
    CHECK(!s.ok);
    weft_case n = WEFT_CASE_RECV(NULL, NULL);
    CHECK(n.chan == NULL);
    CHECK(n.elem == NULL);
    CHECK_EQ(n.dir, WEFT_RECV);
    CHECK(WEFT_RECV != WEFT_SEND);
    /* usable in an array initialiser, as the header's example does */
    weft_case cs[] = { WEFT_CASE_RECV(c, &v), WEFT_CASE_SEND(c, &cv) };
    CHECK_EQ(cs[0].dir, WEFT_RECV);
    CHECK_EQ(cs[1].dir, WEFT_SEND);
    weft_chan_free(c);
}

/* ---- ready cases ------------------------------------------------------------ */

/* One ready receive case among disabled and not-ready ones, at every
   position: its index is returned, ok is true, the value arrives. */
static void ready_recv_case_returns_its_index(void)
{
    enum { N = 5 };
    for (int pos = 0; pos < N; pos++) {
        weft_chan *ready = new_chan(2), *empty = new_chan(2), *unbuf = new_chan(0);
        for (int rep = 0; rep < 20; rep++) {
            long x = 100 + rep;
            CHECK_OK(weft_chan_send(ready, &x));
            long got[N];
            weft_case cs[N];
            for (int i = 0; i < N; i++) {
                got[i] = SENTINEL;
                weft_chan *ch = i % 3 == 0 ? empty : i % 3 == 1 ? unbuf : NULL;
                cs[i] = WEFT_CASE_RECV(ch, &got[i]);
                cs[i].ok = true; /* select must reset it */
            }
            cs[pos].chan = ready;
            int64_t d = rep % 2 ? WEFT_NOWAIT : WEFT_FOREVER;
            CHECK_EQ(weft_select(cs, N, d), pos);
            CHECK(cs[pos].ok);
            CHECK_EQ(got[pos], x);
            for (int i = 0; i < N; i++)
                if (i != pos)
                    CHECK_EQ(got[i], SENTINEL);
            CHECK_EQ(weft_chan_len(ready), 0);
        }
        weft_chan_free(ready);
        weft_chan_free(empty);
        weft_chan_free(unbuf);
    }
}

static void ready_send_case_returns_its_index(void)
{
    enum { N = 4 };
    for (int pos = 0; pos < N; pos++) {
        weft_chan *room = new_chan(3), *full = new_chan(1), *unbuf = new_chan(0);
        long f = -1;
        CHECK_OK(weft_chan_send(full, &f));
        long vals[N];
        weft_case cs[N];
        for (int i = 0; i < N; i++) {
            vals[i] = 1000 + i;
            cs[i] = WEFT_CASE_SEND(i % 2 ? full : unbuf, &vals[i]);
        }
        cs[pos].chan = room;
        CHECK_EQ(weft_select(cs, N, weft_deadline_in(1000000000)), pos);
        CHECK(cs[pos].ok);
        CHECK_EQ(weft_chan_len(room), 1);
        CHECK_EQ(weft_chan_len(full), 1);
        long v;
        CHECK_OK(weft_chan_try_recv(room, &v));
        CHECK_EQ(v, 1000 + pos);
        CHECK_OK(weft_chan_try_recv(full, &v));
        CHECK_EQ(v, -1); /* the full channel kept its old value only */
        CHECK_RC(weft_chan_try_recv(unbuf, &v), WEFT_EAGAIN);
        weft_chan_free(room);
        weft_chan_free(full);
        weft_chan_free(unbuf);
    }
}

/* Several ready cases: exactly one completes, the others keep their values
   (receive) or send nothing (send). */
static void exactly_one_of_several_ready_cases(void)
{
    enum { N = 4 };
    weft_chan *c[N];
    for (int i = 0; i < N; i++)
        c[i] = new_chan(4);
    for (int rep = 0; rep < 200; rep++) {
        for (int i = 0; i < N; i++) {
            long x = i * 10;
            CHECK_OK(weft_chan_send(c[i], &x));
        }
        long got[N];
        weft_case cs[N];
        for (int i = 0; i < N; i++) {
            got[i] = SENTINEL;
            cs[i] = WEFT_CASE_RECV(c[i], &got[i]);
        }
        int k = weft_select(cs, N, WEFT_NOWAIT);
        CHECK_GE(k, 0);
        CHECK_LT(k, N);
        CHECK(cs[k].ok);
        CHECK_EQ(got[k], k * 10);
        for (int i = 0; i < N; i++) {
            CHECK_EQ(weft_chan_len(c[i]), i == k ? 0u : 1u);
            if (i != k)
                CHECK_EQ(got[i], SENTINEL);
        }
        /* now the sends: channels i != k hold 1 value, k holds 0 */
        long vals[N];
        for (int i = 0; i < N; i++) {
            vals[i] = 500 + i;
            cs[i] = WEFT_CASE_SEND(c[i], &vals[i]);
        }
        int j = weft_select(cs, N, WEFT_NOWAIT);
        CHECK_GE(j, 0);
        CHECK_LT(j, N);
        CHECK(cs[j].ok);
        size_t total = 0;
        for (int i = 0; i < N; i++)
            total += weft_chan_len(c[i]);
        CHECK_EQ(total, N); /* N - 1 before, exactly one more */
        for (int i = 0; i < N; i++) {
            long v;
            while (weft_chan_try_recv(c[i], &v) == 0)
                CHECK(v == i * 10 || (i == j && v == 500 + i));
        }
    }
    for (int i = 0; i < N; i++)
        weft_chan_free(c[i]);
}

/* An unbuffered case is ready when a partner is already blocked on it. */
static void ready_unbuffered_partner(void)
{
    weft_chan *u = new_chan(0), *empty = new_chan(4);
    /* a blocked sender: the receive case completes with its value */
    delayed d;
    pthread_t t = delayed_start(&d, u, OP_SEND, 0, 77);
    long got = SENTINEL, e = SENTINEL;
    weft_case cs[] = { WEFT_CASE_RECV(empty, &e), WEFT_CASE_RECV(u, &got) };
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 1);
    CHECK(cs[1].ok);
    CHECK_EQ(got, 77);
    CHECK_EQ(e, SENTINEL);
    test_join(t);
    CHECK_OK(d.rc);

    /* a blocked receiver: the send case completes, the receiver has it */
    t = delayed_start(&d, u, OP_RECV, 0, 0);
    long v = 88;
    weft_case ss[] = { WEFT_CASE_RECV(empty, &e), WEFT_CASE_SEND(u, &v) };
    CHECK_EQ(weft_select(ss, 2, WEFT_FOREVER), 1);
    CHECK(ss[1].ok);
    test_join(t);
    CHECK_OK(d.rc);
    CHECK_EQ(d.value, 88);
    weft_chan_free(u);
    weft_chan_free(empty);
}

/* ---- nothing ready ---------------------------------------------------------- */

static void nowait_nothing_ready_is_eagain(void)
{
    weft_chan *empty = new_chan(2), *full = new_chan(1), *unbuf = new_chan(0);
    long f = 5;
    CHECK_OK(weft_chan_send(full, &f));
    long got = SENTINEL, v = 9;
    weft_case cs[] = {
        WEFT_CASE_RECV(empty, &got), WEFT_CASE_RECV(unbuf, &got),
        WEFT_CASE_SEND(full, &v),    WEFT_CASE_SEND(unbuf, &v),
    };
    for (int i = 0; i < 100; i++)
        CHECK_RC(weft_select(cs, 4, WEFT_NOWAIT), WEFT_EAGAIN);
    CHECK_EQ(got, SENTINEL);
    CHECK_EQ(weft_chan_len(full), 1);
    CHECK_EQ(weft_chan_len(empty), 0);
    long x;
    CHECK_OK(weft_chan_try_recv(full, &x));
    CHECK_EQ(x, 5);
    /* a poll did not leave anything queued: an unbuffered try finds nobody */
    CHECK_RC(weft_chan_try_send(unbuf, &v), WEFT_EAGAIN);
    CHECK_RC(weft_chan_try_recv(unbuf, &x), WEFT_EAGAIN);
    weft_chan_free(empty);
    weft_chan_free(full);
    weft_chan_free(unbuf);
}

static void finite_deadline_times_out_not_before(void)
{
    weft_chan *empty = new_chan(2), *unbuf = new_chan(0);
    long got = SENTINEL, v = 1;
    weft_case cs[] = { WEFT_CASE_RECV(empty, &got), WEFT_CASE_RECV(unbuf, &got),
                       WEFT_CASE_SEND(unbuf, &v) };
    const int64_t waits[] = { 1000000, 20000000, 60000000 };
    for (int i = 0; i < 3; i++) {
        int64_t d = weft_deadline_in(waits[i]);
        CHECK_RC(weft_select(cs, 3, d), WEFT_ETIMEDOUT);
        CHECK_GE(weft_now(), d);
    }
    CHECK_EQ(got, SENTINEL);
    /* a deadline in the past that is not WEFT_NOWAIT: ETIMEDOUT at once */
    CHECK_RC(weft_select(cs, 3, weft_now() - 1), WEFT_ETIMEDOUT);
    CHECK_RC(weft_select(cs, 3, 1), WEFT_ETIMEDOUT);
    CHECK_RC(weft_select(cs, 3, weft_deadline_in(-1000000000)), WEFT_ETIMEDOUT);
    /* after a timeout nothing stays queued on the unbuffered channel */
    long x;
    CHECK_RC(weft_chan_try_recv(unbuf, &x), WEFT_EAGAIN);
    CHECK_RC(weft_chan_try_send(unbuf, &x), WEFT_EAGAIN);
    weft_chan_free(empty);
    weft_chan_free(unbuf);
}

/* A ready case completes whatever the deadline (even one long passed). */
static void ready_case_wins_over_passed_deadline(void)
{
    weft_chan *c = new_chan(1);
    long x = 4, got = 0;
    CHECK_OK(weft_chan_send(c, &x));
    weft_case cs[] = { WEFT_CASE_RECV(c, &got) };
    CHECK_EQ(weft_select(cs, 1, 1), 0);
    CHECK(cs[0].ok);
    CHECK_EQ(got, 4);
    weft_chan_free(c);
}

/* ---- NULL channels ---------------------------------------------------------- */

static void null_channel_cases_never_fire(void)
{
    weft_chan *ready = new_chan(1);
    long got = SENTINEL, v = 3;
    for (int rep = 0; rep < 500; rep++) {
        long x = rep;
        CHECK_OK(weft_chan_send(ready, &x));
        weft_case cs[] = {
            WEFT_CASE_RECV(NULL, &got), WEFT_CASE_SEND(NULL, &v),
            WEFT_CASE_RECV(ready, &got), WEFT_CASE_SEND(NULL, NULL),
            WEFT_CASE_RECV(NULL, NULL),
        };
        CHECK_EQ(weft_select(cs, 5, WEFT_FOREVER), 2);
        CHECK(cs[2].ok);
        CHECK_EQ(got, rep);
    }
    weft_chan_free(ready);
}

static void all_disabled(void)
{
    long got = SENTINEL, v = 3;
    weft_case cs[] = { WEFT_CASE_RECV(NULL, &got), WEFT_CASE_SEND(NULL, &v) };
    /* finite deadline: sleeps until it */
    int64_t t0 = weft_now();
    int64_t d = weft_deadline_in(40000000);
    CHECK_RC(weft_select(cs, 2, d), WEFT_ETIMEDOUT);
    CHECK_GE(weft_now(), d);
    CHECK_GE(weft_now() - t0, 40000000);
    /* forever would block forever */
    CHECK_RC(weft_select(cs, 2, WEFT_FOREVER), WEFT_EINVAL);
    /* a poll */
    CHECK_RC(weft_select(cs, 2, WEFT_NOWAIT), WEFT_EAGAIN);
    /* a passed deadline that is not a poll */
    CHECK_RC(weft_select(cs, 2, weft_now() - 1), WEFT_ETIMEDOUT);
    /* n == 0 is "no enabled case", with or without an array */
    CHECK_RC(weft_select(cs, 0, WEFT_FOREVER), WEFT_EINVAL);
    CHECK_RC(weft_select(NULL, 0, WEFT_FOREVER), WEFT_EINVAL);
    CHECK_RC(weft_select(NULL, 0, WEFT_NOWAIT), WEFT_EAGAIN);
    d = weft_deadline_in(10000000);
    CHECK_RC(weft_select(NULL, 0, d), WEFT_ETIMEDOUT);
    CHECK_GE(weft_now(), d);
    CHECK_EQ(got, SENTINEL);
}

/* ---- argument errors ---------------------------------------------------------- */

static void invalid_arguments(void)
{
    weft_chan *c = new_chan(2), *sig = weft_chan_new(0, 2);
    CHECK(sig != NULL);
    long x = 42, got = SENTINEL;
    CHECK_OK(weft_chan_send(c, &x));

    CHECK_RC(weft_select(NULL, 1, WEFT_NOWAIT), WEFT_EINVAL);
    CHECK_RC(weft_select(NULL, 3, WEFT_FOREVER), WEFT_EINVAL);

    /* a bad dir, next to a ready case: EINVAL and nothing consumed */
    const int bad[] = { 0, 3, -1, WEFT_RECV | WEFT_SEND, 100 };
    for (int i = 0; i < 5; i++) {
        weft_case cs[] = { WEFT_CASE_RECV(c, &got), WEFT_CASE_RECV(c, &got) };
        cs[1].dir = bad[i];
        CHECK_RC(weft_select(cs, 2, WEFT_NOWAIT), WEFT_EINVAL);
        CHECK_RC(weft_select(cs, 2, WEFT_FOREVER), WEFT_EINVAL);
        cs[0].dir = bad[i];
        cs[1].dir = WEFT_RECV;
        CHECK_RC(weft_select(cs, 2, weft_deadline_in(1000000)), WEFT_EINVAL);
    }
    CHECK_EQ(got, SENTINEL);
    CHECK_EQ(weft_chan_len(c), 1);

    /* a send case with a NULL elem on elem_size > 0, even next to a ready
       receive case */
    weft_case s1[] = { WEFT_CASE_RECV(c, &got), WEFT_CASE_SEND(c, NULL) };
    CHECK_RC(weft_select(s1, 2, WEFT_NOWAIT), WEFT_EINVAL);
    CHECK_RC(weft_select(s1, 2, WEFT_FOREVER), WEFT_EINVAL);
    CHECK_EQ(got, SENTINEL);
    CHECK_EQ(weft_chan_len(c), 1);

    /* ...but NULL is fine on a signal channel (elem_size 0) */
    weft_case s2[] = { WEFT_CASE_SEND(sig, NULL) };
    CHECK_EQ(weft_select(s2, 1, WEFT_NOWAIT), 0);
    CHECK(s2[0].ok);
    CHECK_EQ(weft_chan_len(sig), 1);
    weft_case r2[] = { WEFT_CASE_RECV(sig, NULL) };
    CHECK_EQ(weft_select(r2, 1, WEFT_NOWAIT), 0);
    CHECK(r2[0].ok);
    CHECK_EQ(weft_chan_len(sig), 0);
    CHECK_RC(weft_select(r2, 1, WEFT_NOWAIT), WEFT_EAGAIN);

    long v;
    CHECK_OK(weft_chan_try_recv(c, &v));
    CHECK_EQ(v, 42);
    weft_chan_free(c);
    weft_chan_free(sig);
}

/* ---- dropping received values ------------------------------------------------ */

static void recv_case_null_elem_drops_value(void)
{
    weft_chan *c = new_chan(4);
    for (long i = 1; i <= 3; i++)
        CHECK_OK(weft_chan_send(c, &i));
    weft_case cs[] = { WEFT_CASE_RECV(c, NULL) };
    CHECK_EQ(weft_select(cs, 1, WEFT_NOWAIT), 0);
    CHECK(cs[0].ok);
    CHECK_EQ(weft_chan_len(c), 2);
    long v;
    CHECK_OK(weft_chan_recv(c, &v));
    CHECK_EQ(v, 2); /* 1 was dropped, not left behind */
    weft_chan_free(c);

    /* unbuffered: from a sender already waiting and from one arriving later */
    weft_chan *u = new_chan(0);
    for (int late = 0; late < 2; late++) {
        delayed d;
        pthread_t t = delayed_start(&d, u, OP_SEND, late ? 20 : 0, 5);
        weft_case us[] = { WEFT_CASE_RECV(u, NULL) };
        CHECK_EQ(weft_select(us, 1, WEFT_FOREVER), 0);
        CHECK(us[0].ok);
        test_join(t);
        CHECK_OK(d.rc);
    }
    weft_chan_free(u);
}

/* ---- closed channels ---------------------------------------------------------- */

static void closed_recv_case_drains_then_fires_not_ok(void)
{
    weft_chan *c = new_chan(4), *empty = new_chan(1), *unbuf = new_chan(0);
    for (long i = 1; i <= 3; i++)
        CHECK_OK(weft_chan_send(c, &i));
    CHECK_OK(weft_chan_close(c));
    for (long i = 1; i <= 3; i++) {
        long got = SENTINEL, e = SENTINEL;
        weft_case cs[] = { WEFT_CASE_RECV(empty, &e), WEFT_CASE_RECV(c, &got),
                           WEFT_CASE_RECV(unbuf, &e) };
        CHECK_EQ(weft_select(cs, 3, i % 2 ? WEFT_NOWAIT : WEFT_FOREVER), 1);
        CHECK(cs[1].ok); /* buffered values first */
        CHECK_EQ(got, i);
        CHECK_EQ(e, SENTINEL);
    }
    for (int rep = 0; rep < 3; rep++) { /* then closed, every time */
        long got = SENTINEL, e = SENTINEL;
        weft_case cs[] = { WEFT_CASE_RECV(empty, &e), WEFT_CASE_RECV(c, &got),
                           WEFT_CASE_RECV(unbuf, &e) };
        cs[1].ok = true;
        const int64_t ds[] = { WEFT_NOWAIT, WEFT_FOREVER, 1 };
        CHECK_EQ(weft_select(cs, 3, ds[rep]), 1); /* a closed case is ready */
        CHECK(!cs[1].ok);
        CHECK_EQ(got, SENTINEL); /* elem not written */
        CHECK_EQ(e, SENTINEL);
    }
    /* unbuffered closed */
    CHECK_OK(weft_chan_close(unbuf));
    long got = SENTINEL;
    weft_case us[] = { WEFT_CASE_RECV(empty, &got), WEFT_CASE_RECV(unbuf, &got) };
    us[1].ok = true;
    CHECK_EQ(weft_select(us, 2, WEFT_FOREVER), 1);
    CHECK(!us[1].ok);
    CHECK_EQ(got, SENTINEL);
    weft_chan_free(c);
    weft_chan_free(empty);
    weft_chan_free(unbuf);
}

static void closed_send_case_fires_not_ok_sends_nothing(void)
{
    const size_t caps[] = { 0, 1, 4 };
    for (int k = 0; k < 3; k++) {
        weft_chan *c = new_chan(caps[k]), *full = new_chan(1);
        long f = -7;
        CHECK_OK(weft_chan_send(full, &f));
        CHECK_OK(weft_chan_close(c));
        long v = 11;
        weft_case cs[] = { WEFT_CASE_SEND(full, &v), WEFT_CASE_SEND(c, &v) };
        cs[1].ok = true;
        CHECK_EQ(weft_select(cs, 2, k == 1 ? WEFT_NOWAIT : WEFT_FOREVER), 1);
        CHECK(!cs[1].ok);
        CHECK_EQ(weft_chan_len(c), 0);
        long x;
        CHECK_RC(weft_chan_try_recv(c, &x), WEFT_ECLOSED);
        CHECK_EQ(weft_chan_len(full), 1);
        weft_chan_free(c);
        weft_chan_free(full);
    }
    /* closed with values still buffered: the send still fails, the values
       stay and drain */
    weft_chan *c = new_chan(4);
    long a = 1;
    CHECK_OK(weft_chan_send(c, &a));
    CHECK_OK(weft_chan_close(c));
    long v = 2;
    weft_case cs[] = { WEFT_CASE_SEND(c, &v) };
    CHECK_EQ(weft_select(cs, 1, WEFT_NOWAIT), 0);
    CHECK(!cs[0].ok);
    CHECK_EQ(weft_chan_len(c), 1);
    long x;
    CHECK_OK(weft_chan_recv(c, &x));
    CHECK_EQ(x, 1);
    CHECK_RC(weft_chan_recv(c, &x), WEFT_ECLOSED);
    weft_chan_free(c);
}

/* Close wakes a select blocked on it, in either direction, and the case
   on the closed channel fires with ok == false. */
static void close_wakes_blocked_select(void)
{
    const size_t caps[] = { 0, 1, 3 };
    for (int k = 0; k < 3; k++)
        for (int dir = 0; dir < 2; dir++) {
            weft_chan *c = new_chan(caps[k]), *other = new_chan(0);
            long v = 9, got = SENTINEL;
            if (dir == 1) /* a send case must block: fill the buffer */
                for (size_t i = 0; i < caps[k]; i++)
                    CHECK_OK(weft_chan_send(c, &v));
            weft_case cs[] = { WEFT_CASE_RECV(other, &got),
                               dir ? WEFT_CASE_SEND(c, &v) : WEFT_CASE_RECV(c, &got) };
            int64_t t0 = weft_now();
            delayed d;
            pthread_t t = delayed_start(&d, c, OP_CLOSE, 30, 0);
            cs[1].ok = true;
            CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 1);
            CHECK_GE(weft_now() - t0, 30000000);
            CHECK(!cs[1].ok);
            CHECK_EQ(got, SENTINEL);
            test_join(t);
            CHECK_OK(d.rc);
            CHECK_EQ(weft_chan_len(c), dir ? caps[k] : 0); /* nothing sent */
            weft_chan_free(c);
            weft_chan_free(other);
        }
}

/* ---- the same channel in several cases --------------------------------------- */

/* A buffered channel with room and values, in a send and a receive case:
   either may fire, each does what it says, and both happen over time. */
static void same_buffered_channel_both_directions(void)
{
    weft_chan *c = new_chan(8);
    long next_in = 0, next_out = 0;
    for (int i = 0; i < 4; i++, next_in++)
        CHECK_OK(weft_chan_send(c, &next_in));
    int fired[2] = { 0, 0 };
    for (int rep = 0; rep < 400; rep++) {
        long got = SENTINEL, v = next_in;
        weft_case cs[] = { WEFT_CASE_SEND(c, &v), WEFT_CASE_RECV(c, &got) };
        size_t before = weft_chan_len(c);
        int k = weft_select(cs, 2, WEFT_NOWAIT);
        CHECK(k == 0 || k == 1);
        CHECK(cs[k].ok);
        fired[k]++;
        if (k == 0) {
            next_in++;
            CHECK_EQ(weft_chan_len(c), before + 1);
            CHECK_EQ(got, SENTINEL);
        } else {
            CHECK_EQ(got, next_out); /* FIFO: our own earlier values */
            next_out++;
            CHECK_EQ(weft_chan_len(c), before - 1);
        }
        /* keep it strictly between empty and full */
        if (weft_chan_len(c) == 1) {
            CHECK_OK(weft_chan_send(c, &next_in));
            next_in++;
        } else if (weft_chan_len(c) == 7) {
            long x;
            CHECK_OK(weft_chan_recv(c, &x));
            CHECK_EQ(x, next_out);
            next_out++;
        }
    }
    CHECK_GT(fired[0], 100);
    CHECK_GT(fired[1], 100);
    weft_chan_free(c);
}

/* The same buffered channel in a send and a receive case when it is full
   (only the receive can fire) and when it is empty (only the send can);
   and an unbuffered channel in both directions of one blocked select,
   closed meanwhile: one of the two fires, with ok == false. */
static void same_channel_one_direction_ready(void)
{
    weft_chan *c = new_chan(2);
    long a = 1, b = 2;
    CHECK_OK(weft_chan_send(c, &a));
    CHECK_OK(weft_chan_send(c, &b));
    for (int rep = 0; rep < 100; rep++) {
        long got = SENTINEL, v = 3;
        weft_case cs[] = { WEFT_CASE_SEND(c, &v), WEFT_CASE_RECV(c, &got) };
        /* full: the receive */
        CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 1);
        CHECK(cs[1].ok);
        CHECK_EQ(weft_chan_len(c), 1);
        CHECK_OK(weft_chan_send(c, &got));
        /* empty: the send */
        long x, y;
        CHECK_OK(weft_chan_recv(c, &x));
        CHECK_OK(weft_chan_recv(c, &y));
        got = SENTINEL;
        CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 0);
        CHECK(cs[0].ok);
        CHECK_EQ(got, SENTINEL);
        CHECK_EQ(weft_chan_len(c), 1);
        long z;
        CHECK_OK(weft_chan_recv(c, &z));
        CHECK_EQ(z, 3);
        CHECK_OK(weft_chan_send(c, &x));
        CHECK_OK(weft_chan_send(c, &y));
    }
    weft_chan_free(c);

    weft_chan *u = new_chan(0);
    long v = 5, got = SENTINEL;
    weft_case us[] = { WEFT_CASE_SEND(u, &v), WEFT_CASE_RECV(u, &got) };
    delayed d;
    pthread_t t = delayed_start(&d, u, OP_CLOSE, 20, 0);
    int k = weft_select(us, 2, WEFT_FOREVER);
    CHECK(k == 0 || k == 1);
    CHECK(!us[k].ok);
    CHECK_EQ(got, SENTINEL);
    test_join(t);
    CHECK_OK(d.rc);
    weft_chan_free(u);
}

/* The same buffered channel in three receive cases: one value per select,
   in FIFO order, and every case index gets used. */
static void same_channel_several_recv_cases(void)
{
    weft_chan *c = new_chan(1024);
    enum { VALS = 600 };
    for (long i = 0; i < VALS; i++)
        CHECK_OK(weft_chan_send(c, &i));
    int fired[3] = { 0, 0, 0 };
    for (long i = 0; i < VALS; i++) {
        long g[3] = { SENTINEL, SENTINEL, SENTINEL };
        weft_case cs[] = { WEFT_CASE_RECV(c, &g[0]), WEFT_CASE_RECV(c, &g[1]),
                           WEFT_CASE_RECV(c, &g[2]) };
        int k = weft_select(cs, 3, WEFT_NOWAIT);
        CHECK(k >= 0 && k < 3);
        CHECK(cs[k].ok);
        CHECK_EQ(g[k], i);
        for (int j = 0; j < 3; j++)
            if (j != k)
                CHECK_EQ(g[j], SENTINEL);
        fired[k]++;
    }
    for (int j = 0; j < 3; j++)
        CHECK_GT(fired[j], 100);
    long x;
    CHECK_RC(weft_chan_try_recv(c, &x), WEFT_EAGAIN);
    weft_chan_free(c);
}

/* An unbuffered channel in a send and a receive case of one select, with
   nobody else: the select must not pair with itself. */
static void unbuffered_select_never_pairs_with_itself(void)
{
    weft_chan *u = new_chan(0);
    for (int rep = 0; rep < 20; rep++) {
        long v = 1, got = SENTINEL;
        weft_case cs[] = { WEFT_CASE_SEND(u, &v), WEFT_CASE_RECV(u, &got),
                           WEFT_CASE_SEND(u, &v), WEFT_CASE_RECV(u, &got) };
        CHECK_RC(weft_select(cs, 4, WEFT_NOWAIT), WEFT_EAGAIN);
        int64_t d = weft_deadline_in(rep < 3 ? 30000000 : 2000000);
        CHECK_RC(weft_select(cs, 4, d), WEFT_ETIMEDOUT);
        CHECK_GE(weft_now(), d);
        CHECK_EQ(got, SENTINEL);
    }
    /* with a third party, it pairs with that party */
    delayed d;
    pthread_t t = delayed_start(&d, u, OP_RECV, 10, 0);
    long v = 31, got = SENTINEL;
    weft_case cs[] = { WEFT_CASE_SEND(u, &v), WEFT_CASE_RECV(u, &got) };
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 0);
    CHECK(cs[0].ok);
    test_join(t);
    CHECK_EQ(d.value, 31);
    t = delayed_start(&d, u, OP_SEND, 10, 32);
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 1);
    CHECK(cs[1].ok);
    CHECK_EQ(got, 32);
    test_join(t);
    CHECK_OK(d.rc);
    weft_chan_free(u);
}

/* Go's TestSelfSelect: two threads each select {send c <- p; v := <-c}
   1000 times on one channel, caps 0 and 10: no crash, no deadlock, and on
   the unbuffered channel nobody receives its own value. */
typedef struct self_sel {
    weft_chan *c;
    long p;
    size_t cap;
    atomic_int *self_recv;
} self_sel;

static void *self_select_main(void *arg)
{
    self_sel *s = arg;
    for (int i = 0; i < 1000; i++) {
        long v = -1, mine = s->p;
        weft_case cs[2];
        if (s->p == 0 || i % 2 == 0) {
            cs[0] = WEFT_CASE_SEND(s->c, &mine);
            cs[1] = WEFT_CASE_RECV(s->c, &v);
        } else {
            cs[0] = WEFT_CASE_RECV(s->c, &v);
            cs[1] = WEFT_CASE_SEND(s->c, &mine);
        }
        int k = weft_select(cs, 2, WEFT_FOREVER);
        CHECK(k == 0 || k == 1);
        CHECK(cs[k].ok);
        if (cs[k].dir == WEFT_RECV) {
            CHECK(v == 0 || v == 1);
            if (s->cap == 0 && v == s->p)
                atomic_fetch_add(s->self_recv, 1);
        }
    }
    return NULL;
}

static void go_self_select(void)
{
    test_watchdog(30);
    const size_t caps[] = { 0, 10 };
    for (int k = 0; k < 2; k++) {
        weft_chan *c = new_chan(caps[k]);
        atomic_int self_recv = 0;
        self_sel s[2];
        pthread_t t[2];
        for (int p = 0; p < 2; p++) {
            s[p] = (self_sel){ c, p, caps[k], &self_recv };
            t[p] = test_thread(self_select_main, &s[p]);
        }
        test_join(t[0]);
        test_join(t[1]);
        CHECK_EQ(atomic_load(&self_recv), 0);
        weft_chan_free(c);
    }
}

/* ---- blocked selects completed later ------------------------------------------ */

static void unbuffered_blocked_select_completed_by_late_partner(void)
{
    weft_chan *u = new_chan(0), *idle = new_chan(0), *idle_b = new_chan(2);
    for (int rep = 0; rep < 4; rep++) {
        /* send case, receiver arrives later */
        long v = 1000 + rep, e = SENTINEL;
        weft_case ss[] = { WEFT_CASE_RECV(idle, &e), WEFT_CASE_SEND(u, &v),
                           WEFT_CASE_RECV(idle_b, &e) };
        int64_t t0 = weft_now();
        delayed d;
        pthread_t t = delayed_start(&d, u, OP_RECV, rep ? 5 : 40, 0);
        CHECK_EQ(weft_select(ss, 3, WEFT_FOREVER), 1);
        CHECK(ss[1].ok);
        CHECK_GE(weft_now() - t0, (rep ? 5 : 40) * 1000000L);
        test_join(t);
        CHECK_OK(d.rc);
        CHECK_EQ(d.value, 1000 + rep);

        /* receive case, sender arrives later; deadline far away */
        long got = SENTINEL;
        weft_case rs[] = { WEFT_CASE_RECV(idle, &e), WEFT_CASE_RECV(u, &got) };
        t0 = weft_now();
        t = delayed_start(&d, u, OP_SEND, rep ? 5 : 40, 2000 + rep);
        CHECK_EQ(weft_select(rs, 2, weft_deadline_in(30000000000LL)), 1);
        CHECK(rs[1].ok);
        CHECK_EQ(got, 2000 + rep);
        CHECK_GE(weft_now() - t0, (rep ? 5 : 40) * 1000000L);
        test_join(t);
        CHECK_OK(d.rc);
        CHECK_EQ(e, SENTINEL);
    }
    /* nothing left queued anywhere */
    long x;
    CHECK_RC(weft_chan_try_recv(u, &x), WEFT_EAGAIN);
    CHECK_RC(weft_chan_try_send(u, &x), WEFT_EAGAIN);
    CHECK_RC(weft_chan_try_send(idle, &x), WEFT_EAGAIN);
    CHECK_EQ(weft_chan_len(idle_b), 0);
    weft_chan_free(u);
    weft_chan_free(idle);
    weft_chan_free(idle_b);
}

/* A select blocked on several channels (receive cases; unbuffered and
   buffered) is woken by the one that gets a value and returns its index;
   the others are untouched. Then the same for send cases on full
   channels. Also with 12 cases (more than fit the select's stack arrays). */
static void blocked_select_woken_by_the_right_channel(void)
{
    enum { N = 12 };
    const size_t caps[N] = { 0, 1, 4, 0, 1, 4, 0, 1, 4, 0, 1, 4 };
    for (int n = 4; n <= N; n += N - 4) {
        for (int k = 0; k < n; k++) {
            weft_chan *c[N];
            for (int i = 0; i < n; i++)
                c[i] = new_chan(caps[i]);
            /* receive cases */
            long got[N];
            weft_case cs[N];
            for (int i = 0; i < n; i++) {
                got[i] = SENTINEL;
                cs[i] = WEFT_CASE_RECV(c[i], &got[i]);
            }
            delayed d;
            pthread_t t = delayed_start(&d, c[k], OP_SEND, k % 3 == 0 ? 15 : 2, 300 + k);
            CHECK_EQ(weft_select(cs, (size_t)n, WEFT_FOREVER), k);
            CHECK(cs[k].ok);
            CHECK_EQ(got[k], 300 + k);
            test_join(t);
            CHECK_OK(d.rc);
            for (int i = 0; i < n; i++) {
                if (i != k)
                    CHECK_EQ(got[i], SENTINEL);
                CHECK_EQ(weft_chan_len(c[i]), 0);
            }

            /* send cases on full channels (unbuffered: no receiver) */
            long old = -5, vals[N];
            for (int i = 0; i < n; i++)
                for (size_t j = 0; j < caps[i]; j++)
                    CHECK_OK(weft_chan_send(c[i], &old));
            for (int i = 0; i < n; i++) {
                vals[i] = 400 + i;
                cs[i] = WEFT_CASE_SEND(c[i], &vals[i]);
            }
            t = delayed_start(&d, c[k], OP_RECV, k % 3 == 0 ? 15 : 2, 0);
            CHECK_EQ(weft_select(cs, (size_t)n, WEFT_FOREVER), k);
            CHECK(cs[k].ok);
            test_join(t);
            CHECK_OK(d.rc);
            if (caps[k] == 0)
                CHECK_EQ(d.value, 400 + k);
            else
                CHECK_EQ(d.value, -5); /* freed a slot; our value went in behind */
            for (int i = 0; i < n; i++) {
                CHECK_EQ(weft_chan_len(c[i]), caps[i]);
                long x, last = SENTINEL;
                while (weft_chan_try_recv(c[i], &x) == 0)
                    last = x;
                if (caps[i])
                    CHECK_EQ(last, i == k ? 400 + k : -5);
            }
            for (int i = 0; i < n; i++)
                weft_chan_free(c[i]);
        }
    }
}

/* Buffered: a select blocked on an empty channel gets the value a later
   send puts in; on a full one, it sends once a later receive makes room. */
static void buffered_blocked_select_completed_later(void)
{
    weft_chan *c = new_chan(2), *idle = new_chan(0);
    for (int rep = 0; rep < 4; rep++) {
        long got = SENTINEL, e = SENTINEL;
        weft_case rs[] = { WEFT_CASE_RECV(idle, &e), WEFT_CASE_RECV(c, &got) };
        delayed d;
        int64_t t0 = weft_now();
        pthread_t t = delayed_start(&d, c, OP_SEND, 20, 50 + rep);
        CHECK_EQ(weft_select(rs, 2, weft_deadline_in(20000000000LL)), 1);
        CHECK_GE(weft_now() - t0, 20000000);
        CHECK(rs[1].ok);
        CHECK_EQ(got, 50 + rep);
        test_join(t);

        long a = 1, b = 2, v = 3;
        CHECK_OK(weft_chan_send(c, &a));
        CHECK_OK(weft_chan_send(c, &b));
        weft_case ss[] = { WEFT_CASE_SEND(c, &v), WEFT_CASE_RECV(idle, &e) };
        t0 = weft_now();
        t = delayed_start(&d, c, OP_RECV, 20, 0);
        CHECK_EQ(weft_select(ss, 2, WEFT_FOREVER), 0);
        CHECK_GE(weft_now() - t0, 20000000);
        CHECK(ss[0].ok);
        test_join(t);
        CHECK_EQ(d.value, 1);
        long x;
        CHECK_OK(weft_chan_recv(c, &x));
        CHECK_EQ(x, 2);
        CHECK_OK(weft_chan_recv(c, &x));
        CHECK_EQ(x, 3);
        CHECK_EQ(e, SENTINEL);
    }
    weft_chan_free(c);
    weft_chan_free(idle);
}

/* A blocked select on signal channels (elem_size 0). */
static void signal_channels(void)
{
    weft_chan *s0 = weft_chan_new(0, 0), *s1 = weft_chan_new(0, 1);
    CHECK(s0 && s1);
    weft_case cs[] = { WEFT_CASE_RECV(s0, NULL), WEFT_CASE_RECV(s1, NULL) };
    CHECK_RC(weft_select(cs, 2, WEFT_NOWAIT), WEFT_EAGAIN);
    delayed d;
    /* delayed_main sends &d.value, which a 0-size channel ignores */
    pthread_t t = delayed_start(&d, s0, OP_SEND, 10, 0);
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 0);
    CHECK(cs[0].ok);
    test_join(t);
    CHECK_OK(d.rc);
    CHECK_OK(weft_chan_send(s1, NULL));
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 1);
    CHECK(cs[1].ok);
    CHECK_OK(weft_chan_close(s0));
    CHECK_EQ(weft_select(cs, 2, WEFT_FOREVER), 0);
    CHECK(!cs[0].ok);
    weft_chan_free(s0);
    weft_chan_free(s1);
}

/* ---- queue integrity (Go's select6.go and TestSelectDuplicateChannel) -------- */

typedef struct s6 {
    weft_chan *c1, *c2, *c3;
    int which;
} s6;

static void *s6_plain_recv_c1(void *p)
{
    s6 *x = p;
    CHECK_OK(weft_chan_recv(x->c1, NULL));
    return NULL;
}

static void *s6_selector(void *p)
{
    s6 *x = p;
    weft_case cs[] = { WEFT_CASE_RECV(x->c1, NULL), WEFT_CASE_RECV(x->c2, NULL) };
    x->which = weft_select(cs, 2, WEFT_FOREVER);
    long v = 1;
    CHECK_OK(weft_chan_send(x->c3, &v));
    CHECK_OK(weft_chan_recv(x->c1, NULL));
    return NULL;
}

static void *s6_send_c2(void *p)
{
    s6 *x = p;
    long v = 1;
    CHECK_OK(weft_chan_send(x->c2, &v));
    return NULL;
}

/* Issue 2075: a select's failed case (on c1) must not corrupt c1's queue
   while other receivers wait there. */
static void go_select6_failed_cases_keep_queues(void)
{
    test_watchdog(30);
    for (int rep = 0; rep < 50; rep++) {
        s6 x = { new_chan(0), new_chan(0), new_chan(0), -1 };
        pthread_t a = test_thread(s6_plain_recv_c1, &x);
        pthread_t b = test_thread(s6_selector, &x);
        pthread_t c = test_thread(s6_send_c2, &x);
        CHECK_OK(weft_chan_recv(x.c3, NULL));
        long v = 1;
        CHECK_OK(weft_chan_send(x.c1, &v));
        CHECK_OK(weft_chan_send(x.c1, &v));
        test_join(a);
        test_join(b);
        test_join(c);
        CHECK_EQ(x.which, 1);
        weft_chan_free(x.c1);
        weft_chan_free(x.c2);
        weft_chan_free(x.c3);
    }
}

typedef struct dupsel {
    weft_chan *c, *d, *e;
    int which;
    long got;
} dupsel;

static void *dup_a(void *p)
{
    dupsel *x = p;
    weft_case cs[] = { WEFT_CASE_RECV(x->c, NULL), WEFT_CASE_RECV(x->c, NULL),
                       WEFT_CASE_RECV(x->d, NULL) };
    x->which = weft_select(cs, 3, WEFT_FOREVER);
    long v = 9;
    CHECK_OK(weft_chan_send(x->e, &v));
    return NULL;
}

static void *dup_b(void *p)
{
    dupsel *x = p;
    CHECK_OK(weft_chan_recv(x->c, &x->got));
    return NULL;
}

/* A select queued twice on c (plus on d) is completed through d; its
   withdrawal from c must leave the plain receiver B queued on c intact. */
static void go_select_duplicate_channel(void)
{
    test_watchdog(30);
    for (int rep = 0; rep < 20; rep++) {
        dupsel x = { new_chan(0), new_chan(0), new_chan(0), -1, 0 };
        pthread_t a = test_thread(dup_a, &x);
        test_sleep_ms(2); /* A queued on c first */
        pthread_t b = test_thread(dup_b, &x);
        test_sleep_ms(2); /* then B */
        long v = 7;
        CHECK_OK(weft_chan_send(x.d, &v)); /* wakes A, which leaves c */
        CHECK_OK(weft_chan_recv(x.e, &v));
        CHECK_EQ(v, 9);
        v = 8;
        CHECK_OK(weft_chan_send(x.c, &v)); /* must reach B */
        test_join(a);
        test_join(b);
        CHECK_EQ(x.which, 2);
        CHECK_EQ(x.got, 8);
        weft_chan_free(x.c);
        weft_chan_free(x.d);
        weft_chan_free(x.e);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(60);
    TEST_RUN(case_macros);
    TEST_RUN(ready_recv_case_returns_its_index);
    TEST_RUN(ready_send_case_returns_its_index);
    TEST_RUN(exactly_one_of_several_ready_cases);
    TEST_RUN(ready_unbuffered_partner);
    TEST_RUN(nowait_nothing_ready_is_eagain);
    TEST_RUN(finite_deadline_times_out_not_before);
    TEST_RUN(ready_case_wins_over_passed_deadline);
    TEST_RUN(null_channel_cases_never_fire);
    TEST_RUN(all_disabled);
    TEST_RUN(invalid_arguments);
    TEST_RUN(recv_case_null_elem_drops_value);
    TEST_RUN(closed_recv_case_drains_then_fires_not_ok);
    TEST_RUN(closed_send_case_fires_not_ok_sends_nothing);
    TEST_RUN(close_wakes_blocked_select);
    TEST_RUN(same_buffered_channel_both_directions);
    TEST_RUN(same_channel_one_direction_ready);
    TEST_RUN(same_channel_several_recv_cases);
    TEST_RUN(unbuffered_select_never_pairs_with_itself);
    TEST_RUN(go_self_select);
    test_watchdog(60);
    TEST_RUN(unbuffered_blocked_select_completed_by_late_partner);
    TEST_RUN(blocked_select_woken_by_the_right_channel);
    TEST_RUN(buffered_blocked_select_completed_later);
    TEST_RUN(signal_channels);
    TEST_RUN(go_select6_failed_cases_keep_queues);
    TEST_RUN(go_select_duplicate_channel);
    printf("select_unit: all passed\n");
    return 0;
}
