/* chan_rendezvous_test — unbuffered channels' rendezvous slot (chan/unbuf.c),
 * through the public API only. A lone waiting party posts itself in the
 * channel's one-line slot (values <= 40 bytes inline, larger ones through a
 * pointer to the poster's buffer; both sizes run everywhere below), parks
 * on it, and is engaged, retracted at its deadline, or closed; select and
 * queued waiters meet it through the wait queues.
 *
 *  - timed_exchanges_exactly_once: 2 senders x 2 receivers with random
 *    deadlines of 0..50 us (sometimes far ones). Every send that returned 0
 *    is received exactly once, with an intact value (256-byte elements carry
 *    a pattern derived from the tag: a torn copy fails); none that returned
 *    WEFT_ETIMEDOUT ever is; a timed-out receive leaves its buffer alone.
 *  - close_wakes_parked_receiver / _sender: a lone receiver (sender), in
 *    every blocking form, is seen sleeping in the kernel, then close: it
 *    returns WEFT_ECLOSED, and the sender's value never appears.
 *    close_races_lone_poster: the same with the close at a random moment of
 *    the post (before, while posting, spinning, arming, sleeping).
 *    close_races_engage: a partner engages the parked post as the close
 *    comes: the send returns 0 exactly when the receive got its value.
 *  - timeout_of_parked_poster: a lone recv_until / send_until 20 ms ahead
 *    returns WEFT_ETIMEDOUT no earlier than its deadline, leaves no trace
 *    (try_send / try_recv find nobody), and the channel then carries 1000
 *    values each way correctly.
 *  - plain_vs_select_mix: a select receiving from two unbuffered channels
 *    fed by plain senders, and a select sending on two channels drained by
 *    plain receivers; also with a competing plain party on the first channel
 *    (it meets its partners in the slot while the select waits in the
 *    queue). Exactly once, and each sender's values in order.
 *  - many_parties: 4 senders x 4 receivers with plain blocking operations,
 *    then with one send_many sender and one recv_many receiver: exactly
 *    once, each receiver sees each sender's values in increasing order.
 *
 * A lost wakeup hangs a thread and the watchdog fails the test.
 *
 *   chan_rendezvous_test             on every CPU the process may use
 *   chan_rendezvous_test --one-cpu   pinned to one CPU, where every wait parks
 */
#include "check.h"

#include <stdatomic.h>

enum { BIG = 256, MAXSRC = 8 };

static const size_t sizes[] = { sizeof(uint64_t), BIG };

/* ---- tagged values ---------------------------------------------------------- */

/* A value is tag = source << 32 | seq in its first 8 bytes; the rest of the
   element is a pattern derived from the tag (a torn or stale copy fails). */
static inline uint64_t tag_of(uint32_t src, uint32_t seq)
{
    return (uint64_t)src << 32 | seq;
}

static inline uint64_t pattern(uint64_t tag, size_t i)
{
    uint64_t x = (tag + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)i * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    return x * 0x94d049bb133111ebull;
}

static void fill(void *buf, size_t esize, uint64_t tag)
{
    unsigned char *p = buf;
    memcpy(p, &tag, sizeof tag);
    for (size_t i = 1; i < esize / 8; i++) {
        uint64_t w = pattern(tag, i);
        memcpy(p + 8 * i, &w, sizeof w);
    }
}

/* The tag of an intact value; aborts on a torn one. */
static uint64_t check_value(const void *buf, size_t esize)
{
    const unsigned char *p = buf;
    uint64_t tag;
    memcpy(&tag, p, sizeof tag);
    for (size_t i = 1; i < esize / 8; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, sizeof w);
        if (w != pattern(tag, i)) {
            fprintf(stderr, "value %#llx: word %zu is %#llx, want %#llx (torn copy)\n",
                    (unsigned long long)tag, i, (unsigned long long)w,
                    (unsigned long long)pattern(tag, i));
            CHECK(w == pattern(tag, i));
        }
    }
    return tag;
}

enum { SENTINEL = 0xA5 };

/* Bytes a receive must not have written: its whole buffer if it failed,
   what lies past the element if it succeeded. */
static void check_untouched(const void *buf, size_t n)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        if (p[i] != SENTINEL) {
            fprintf(stderr, "byte %zu of %zu written (%#x): no value belongs there\n", i, n,
                    p[i]);
            CHECK(p[i] == SENTINEL);
        }
}

/* Sleep about us microseconds. */
static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- a ledger: exactly once, in order per source ---------------------------- */

typedef struct ledger {
    int nsrc;
    uint32_t per;          /* at most this many values per source */
    _Atomic uint8_t *seen; /* [src * per + seq] */
    atomic_long received;
} ledger;

static void ledger_init(ledger *l, int nsrc, uint32_t per)
{
    CHECK(nsrc <= MAXSRC);
    l->nsrc = nsrc;
    l->per = per;
    l->seen = calloc((size_t)nsrc * per, 1);
    CHECK(l->seen != NULL);
    atomic_init(&l->received, 0);
}

static void ledger_free(ledger *l)
{
    free((void *)l->seen);
}

static void last_init(int64_t *last)
{
    for (int i = 0; i < MAXSRC; i++)
        last[i] = -1;
}

/* One received value: from a known source, after that source's previous one
   at this receiver, and never seen before. */
static void ledger_take(ledger *l, uint64_t tag, int64_t *last)
{
    uint32_t s = (uint32_t)(tag >> 32), q = (uint32_t)tag;
    CHECK_LT(s, (uint32_t)l->nsrc);
    CHECK_LT(q, l->per);
    if ((int64_t)q <= last[s]) {
        fprintf(stderr, "source %u: seq %u received after seq %lld\n", s, q,
                (long long)last[s]);
        CHECK_GT((int64_t)q, last[s]);
    }
    last[s] = q;
    uint8_t was = atomic_fetch_add(&l->seen[(size_t)s * l->per + q], 1);
    if (was != 0) {
        fprintf(stderr, "source %u seq %u received twice\n", s, q);
        CHECK_EQ(was, 0);
    }
    atomic_fetch_add(&l->received, 1);
}

/* Source s delivered exactly its first sent[s] values, each once. */
static void ledger_verify(ledger *l, const uint32_t *sent)
{
    long want = 0;
    for (int s = 0; s < l->nsrc; s++) {
        want += sent[s];
        for (uint32_t q = 0; q < l->per; q++) {
            uint8_t n = atomic_load(&l->seen[(size_t)s * l->per + q]);
            if (n != (q < sent[s])) {
                fprintf(stderr, "source %d seq %u: received %u times, sent %u values\n", s, q,
                        n, sent[s]);
                CHECK_EQ(n, q < sent[s]);
            }
        }
    }
    CHECK_EQ(atomic_load(&l->received), want);
}

/* ---- 1. timed exchanges: exactly once ---------------------------------------- */

enum { T_SENDERS = 2, T_RECEIVERS = 2 };
enum { OUT_NONE = 0, OUT_SENT = 1, OUT_TIMEDOUT = 2 };

typedef struct timed {
    weft_chan *c;
    size_t esize;
    uint32_t per;             /* send attempts per sender */
    _Atomic uint8_t *outcome; /* [sender * per + attempt] */
    _Atomic uint8_t *seen;    /* [sender * per + attempt] */
    atomic_long sent, send_timeouts, received, recv_timeouts;
} timed;

typedef struct timed_arg {
    timed *t;
    uint32_t id;
} timed_arg;

/* Mostly 0..50 us ahead; one in 16 forever, one in 16 a second ahead. */
static int64_t random_deadline(uint64_t *rng)
{
    uint64_t r = test_rand(rng);
    switch (r % 16) {
    case 0:
        return WEFT_FOREVER;
    case 1:
        return weft_deadline_in(1000000000);
    default:
        return weft_deadline_in((int64_t)((r >> 8) % 50001));
    }
}

static void *timed_sender(void *p)
{
    timed_arg *a = p;
    timed *t = a->t;
    uint64_t rng = 0x1234567 + a->id * 7919;
    unsigned char buf[BIG];
    for (uint32_t q = 0; q < t->per; q++) {
        uint64_t tag = tag_of(a->id, q);
        fill(buf, t->esize, tag);
        int rc = weft_chan_send_until(t->c, buf, random_deadline(&rng));
        if (rc == 0) {
            atomic_store(&t->outcome[(size_t)a->id * t->per + q], OUT_SENT);
            atomic_fetch_add(&t->sent, 1);
        } else {
            CHECK_RC(rc, WEFT_ETIMEDOUT);
            atomic_store(&t->outcome[(size_t)a->id * t->per + q], OUT_TIMEDOUT);
            atomic_fetch_add(&t->send_timeouts, 1);
        }
        check_value(buf, t->esize); /* a send never writes its buffer */
    }
    return NULL;
}

static void *timed_receiver(void *p)
{
    timed_arg *a = p;
    timed *t = a->t;
    uint64_t rng = 0x7654321 + a->id * 104729;
    int64_t last[T_SENDERS] = { -1, -1 };
    unsigned char buf[BIG];
    for (;;) {
        memset(buf, SENTINEL, sizeof buf);
        int rc = weft_chan_recv_until(t->c, buf, random_deadline(&rng));
        if (rc != 0) {
            check_untouched(buf, sizeof buf);
            if (rc == WEFT_ECLOSED)
                break;
            CHECK_RC(rc, WEFT_ETIMEDOUT);
            atomic_fetch_add(&t->recv_timeouts, 1);
            continue;
        }
        check_untouched(buf + t->esize, sizeof buf - t->esize);
        uint64_t tag = check_value(buf, t->esize);
        uint32_t s = (uint32_t)(tag >> 32), q = (uint32_t)tag;
        CHECK_LT(s, (uint32_t)T_SENDERS);
        CHECK_LT(q, t->per);
        /* one sender's attempts are sequential: they arrive in order */
        CHECK_GT((int64_t)q, last[s]);
        last[s] = q;
        /* a value whose send already reported a timeout must never arrive */
        CHECK_NE(atomic_load(&t->outcome[(size_t)s * t->per + q]), OUT_TIMEDOUT);
        uint8_t was = atomic_fetch_add(&t->seen[(size_t)s * t->per + q], 1);
        if (was != 0) {
            fprintf(stderr, "sender %u attempt %u received twice\n", s, q);
            CHECK_EQ(was, 0);
        }
        atomic_fetch_add(&t->received, 1);
    }
    return NULL;
}

static void timed_exchanges(size_t esize)
{
    timed t;
    memset(&t, 0, sizeof t);
    t.c = weft_chan_new(esize, 0);
    CHECK(t.c != NULL);
    t.esize = esize;
    t.per = (uint32_t)test_n(20000);
    size_t n = (size_t)T_SENDERS * t.per;
    t.outcome = calloc(n, 1);
    t.seen = calloc(n, 1);
    CHECK(t.outcome && t.seen);
    atomic_init(&t.sent, 0);
    atomic_init(&t.send_timeouts, 0);
    atomic_init(&t.received, 0);
    atomic_init(&t.recv_timeouts, 0);

    timed_arg sa[T_SENDERS], ra[T_RECEIVERS];
    pthread_t st[T_SENDERS], rt[T_RECEIVERS];
    for (uint32_t i = 0; i < T_RECEIVERS; i++) {
        ra[i] = (timed_arg){ &t, i };
        rt[i] = test_thread(timed_receiver, &ra[i]);
    }
    for (uint32_t i = 0; i < T_SENDERS; i++) {
        sa[i] = (timed_arg){ &t, i };
        st[i] = test_thread(timed_sender, &sa[i]);
    }
    for (int i = 0; i < T_SENDERS; i++)
        test_join(st[i]);
    CHECK_OK(weft_chan_close(t.c));
    for (int i = 0; i < T_RECEIVERS; i++)
        test_join(rt[i]);

    for (size_t i = 0; i < n; i++) {
        uint8_t o = atomic_load(&t.outcome[i]), s = atomic_load(&t.seen[i]);
        CHECK(o == OUT_SENT || o == OUT_TIMEDOUT);
        if (s != (o == OUT_SENT)) {
            fprintf(stderr, "sender %zu attempt %zu: send %s, received %u times\n", i / t.per,
                    i % t.per, o == OUT_SENT ? "returned 0" : "timed out", s);
            CHECK_EQ(s, o == OUT_SENT);
        }
    }
    CHECK_EQ(atomic_load(&t.sent) + atomic_load(&t.send_timeouts), (long)n);
    CHECK_EQ(atomic_load(&t.received), atomic_load(&t.sent));
    CHECK_GT(atomic_load(&t.sent), 0);
    printf("(%zu B: %ld sent, %ld send / %ld recv timeouts) ", esize, atomic_load(&t.sent),
           atomic_load(&t.send_timeouts), atomic_load(&t.recv_timeouts));
    free((void *)t.outcome);
    free((void *)t.seen);
    weft_chan_free(t.c);
}

static void timed_exchanges_exactly_once(void)
{
    test_watchdog(40);
    for (size_t k = 0; k < 2; k++)
        timed_exchanges(sizes[k]);
}

/* ---- 2. close wakes a parked poster -------------------------------------------- */

/* Wait until thread tid sleeps in the kernel (it parked). If /proc cannot
   tell, sleep well past any spin instead. */
static void wait_sleeping(atomic_int *tidp)
{
    pid_t tid;
    while ((tid = atomic_load(tidp)) == 0)
        sleep_us(20);
    int64_t give_up = weft_deadline_in(20LL * 1000000000);
    for (;;) {
        char st = test_thread_state(tid);
        if (st == 'S') {
            /* still asleep a little later: parked, not passing through */
            sleep_us(200);
            if ((st = test_thread_state(tid)) == 'S')
                return;
        }
        if (st == 0) {
            test_sleep_ms(100);
            return;
        }
        if (weft_now() > give_up) {
            fprintf(stderr, "thread %d never slept (state %c)\n", (int)tid, st);
            CHECK(st == 'S');
        }
        sleep_us(20);
    }
}

enum { DIR_SEND, DIR_RECV };

typedef struct poster {
    weft_chan *c;
    size_t esize;
    int dir;
    int form; /* 0 plain, 1 _until forever, 2 _until an hour ahead, 3 _many */
    uint64_t tag;
    atomic_int tid;
    int rc;
    size_t n;
    int64_t returned; /* weft_now() when the operation returned */
    unsigned char buf[BIG];
} poster;

static void poster_prepare(poster *x)
{
    if (x->dir == DIR_SEND)
        fill(x->buf, x->esize, x->tag);
    else
        memset(x->buf, SENTINEL, sizeof x->buf);
    atomic_store(&x->tid, (int)test_gettid());
}

static void poster_op(poster *x)
{
    int64_t hour = weft_deadline_in(3600LL * 1000000000);
    x->n = 99;
    if (x->dir == DIR_SEND) {
        switch (x->form) {
        case 0: x->rc = weft_chan_send(x->c, x->buf); break;
        case 1: x->rc = weft_chan_send_until(x->c, x->buf, WEFT_FOREVER); break;
        case 2: x->rc = weft_chan_send_until(x->c, x->buf, hour); break;
        default: x->rc = weft_chan_send_many(x->c, x->buf, 1, &x->n); break;
        }
    } else {
        switch (x->form) {
        case 0: x->rc = weft_chan_recv(x->c, x->buf); break;
        case 1: x->rc = weft_chan_recv_until(x->c, x->buf, WEFT_FOREVER); break;
        case 2: x->rc = weft_chan_recv_until(x->c, x->buf, hour); break;
        default: x->rc = weft_chan_recv_many(x->c, x->buf, 1, &x->n); break;
        }
    }
    x->returned = weft_now();
}

static void *poster_main(void *p)
{
    poster_prepare(p);
    poster_op(p);
    return NULL;
}

static void poster_start(poster *x, pthread_t *t, weft_chan *c, size_t esize, int dir, int form,
                         uint64_t tag)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    x->esize = esize;
    x->dir = dir;
    x->form = form;
    x->tag = tag;
    atomic_init(&x->tid, 0);
    *t = test_thread(poster_main, x);
}

/* The poster's operation failed with WEFT_ECLOSED and moved nothing. */
static void poster_check_closed(poster *x)
{
    CHECK_RC(x->rc, WEFT_ECLOSED);
    if (x->dir == DIR_RECV)
        check_untouched(x->buf, sizeof x->buf);
    else
        check_value(x->buf, x->esize);
    if (x->form == 3)
        CHECK_EQ(x->n, 0);
    /* nothing left behind: the sender's value is gone, nobody waits */
    unsigned char buf[BIG];
    memset(buf, SENTINEL, sizeof buf);
    CHECK_RC(weft_chan_try_recv(x->c, buf), WEFT_ECLOSED);
    CHECK_RC(weft_chan_recv(x->c, buf), WEFT_ECLOSED);
    check_untouched(buf, sizeof buf);
    CHECK_RC(weft_chan_try_send(x->c, buf), WEFT_ECLOSED);
}

static void close_wakes_parked(int dir)
{
    int64_t worst = 0;
    for (size_t k = 0; k < 2; k++)
        for (int form = 0; form < 4; form++) {
            weft_chan *c = weft_chan_new(sizes[k], 0);
            CHECK(c != NULL);
            poster x;
            pthread_t t;
            poster_start(&x, &t, c, sizes[k], dir, form, tag_of(1, 7));
            wait_sleeping(&x.tid);
            int64_t t0 = weft_now();
            CHECK_OK(weft_chan_close(c));
            test_join(t);
            if (x.returned - t0 > worst)
                worst = x.returned - t0;
            poster_check_closed(&x);
            weft_chan_free(c);
        }
    printf("(woken in <= %lld us) ", (long long)(worst / 1000));
}

static void close_wakes_parked_receiver(void)
{
    test_watchdog(30);
    close_wakes_parked(DIR_RECV);
}

static void close_wakes_parked_sender(void)
{
    test_watchdog(30);
    close_wakes_parked(DIR_SEND);
}

/* Close at a random moment of a lone poster's life: before it starts,
   while it posts, spins, arms its sleep flag or sleeps. */
static void close_races_lone_poster(void)
{
    test_watchdog(30);
    long rounds = test_n(1000);
    uint64_t rng = 99;
    for (long r = 0; r < rounds; r++) {
        size_t esize = sizes[r % 2];
        int dir = (int)(r / 2) % 2, form = (int)(r / 4) % 4;
        weft_chan *c = weft_chan_new(esize, 0);
        CHECK(c != NULL);
        poster x;
        pthread_t t;
        poster_start(&x, &t, c, esize, dir, form, tag_of(2, (uint32_t)r));
        if (test_rand(&rng) % 4) {
            while (atomic_load(&x.tid) == 0)
                sleep_us(10);
            for (unsigned i = (unsigned)(test_rand(&rng) % 20000); i; i--)
                weft_cpu_relax();
        }
        CHECK_OK(weft_chan_close(c));
        test_join(t);
        poster_check_closed(&x);
        weft_chan_free(c);
    }
}

/* A parked poster, a partner arriving for it and a close, all at once:
   either the exchange happened (both returned 0, the value intact) or it
   did not (both WEFT_ECLOSED, nothing moved). The partner and the close
   start together, each after a random delay, so either may come first;
   the close's delay adapts toward the point where the two collide. */
typedef struct racer {
    poster p;
    atomic_int *go;
    unsigned delay;
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    poster_prepare(&r->p);
    while (!atomic_load(r->go))
        weft_cpu_relax();
    for (unsigned i = r->delay; i; i--)
        weft_cpu_relax();
    poster_op(&r->p);
    return NULL;
}

static void close_races_engage(void)
{
    test_watchdog(40);
    long rounds = test_n(400);
    uint64_t rng = 4242;
    long exchanged = 0, bias = 2000; /* the close's extra delay, in relax rounds */
    for (long r = 0; r < rounds; r++) {
        size_t esize = sizes[r % 2];
        int dir = (int)(r / 2) % 2;
        weft_chan *c = weft_chan_new(esize, 0);
        CHECK(c != NULL);
        poster x;
        racer y;
        pthread_t tx, ty;
        atomic_int go = 0;
        uint64_t tag = tag_of(3, (uint32_t)r);
        poster_start(&x, &tx, c, esize, dir, (int)(r / 4) % 4, tag);
        wait_sleeping(&x.tid);
        memset(&y, 0, sizeof y);
        y.p.c = c;
        y.p.esize = esize;
        y.p.dir = dir == DIR_SEND ? DIR_RECV : DIR_SEND;
        y.p.form = (int)(r / 16) % 4;
        y.p.tag = tag;
        atomic_init(&y.p.tid, 0);
        y.go = &go;
        y.delay = (unsigned)(test_rand(&rng) % 1000);
        ty = test_thread(racer_main, &y);
        while (atomic_load(&y.p.tid) == 0) /* the racer is at its start line */
            sleep_us(20);
        unsigned delay = (unsigned)bias + (unsigned)(test_rand(&rng) % 1000);
        atomic_store(&go, 1);
        for (unsigned i = 1; i <= delay; i++)
            if (i % 1024)
                weft_cpu_relax();
            else
                sched_yield(); /* on one CPU: let the racer run */
        CHECK_OK(weft_chan_close(c));
        test_join(tx);
        test_join(ty);
        poster *s = dir == DIR_SEND ? &x : &y.p, *v = dir == DIR_SEND ? &y.p : &x;
        if (s->rc == 0) {
            CHECK_OK(v->rc);
            CHECK_EQ(check_value(v->buf, esize), tag);
            check_untouched(v->buf + esize, sizeof v->buf - esize);
            if (v->form == 3)
                CHECK_EQ(v->n, 1);
            if (s->form == 3)
                CHECK_EQ(s->n, 1);
            exchanged++;
            bias = bias > 250 ? bias - 250 : 0; /* close earlier */
        } else {
            /* the send failed: the receive got nothing */
            poster_check_closed(s);
            poster_check_closed(v);
            bias = bias < 100000 ? bias + 250 : bias; /* close later */
        }
        weft_chan_free(c);
    }
    printf("(%ld of %ld exchanged before the close; close delay %ld) ", exchanged, rounds,
           bias);
}

/* ---- 3. a parked poster's deadline -------------------------------------------- */

typedef struct stream {
    weft_chan *c;
    size_t esize;
    uint32_t n;
    bool send; /* this thread sends (else receives) */
} stream;

static void stream_run(stream *s)
{
    unsigned char buf[BIG];
    for (uint32_t q = 0; q < s->n; q++) {
        if (s->send) {
            fill(buf, s->esize, tag_of(5, q));
            CHECK_OK(weft_chan_send(s->c, buf));
        } else {
            memset(buf, SENTINEL, sizeof buf);
            CHECK_OK(weft_chan_recv(s->c, buf));
            CHECK_EQ(check_value(buf, s->esize), tag_of(5, q));
            check_untouched(buf + s->esize, sizeof buf - s->esize);
        }
    }
}

static void *stream_main(void *p)
{
    stream_run(p);
    return NULL;
}

/* 1000 values through c from a thread to us (send false) or from us to a
   thread, in order and intact. */
static void exchange_1000(weft_chan *c, size_t esize, bool we_send)
{
    stream peer = { c, esize, 1000, !we_send }, me = { c, esize, 1000, we_send };
    pthread_t t = test_thread(stream_main, &peer);
    stream_run(&me);
    test_join(t);
}

/* Nobody is posted or queued: both try forms find nobody. */
static void check_idle(weft_chan *c, size_t esize)
{
    unsigned char buf[BIG];
    memset(buf, SENTINEL, sizeof buf);
    CHECK_RC(weft_chan_try_recv(c, buf), WEFT_EAGAIN);
    check_untouched(buf, sizeof buf);
    fill(buf, esize, tag_of(6, 0));
    CHECK_RC(weft_chan_try_send(c, buf), WEFT_EAGAIN);
}

static void timeout_of_parked_poster(void)
{
    test_watchdog(30);
    const int64_t wait = 20 * 1000000;
    for (size_t k = 0; k < 2; k++) {
        size_t esize = sizes[k];
        weft_chan *c = weft_chan_new(esize, 0);
        CHECK(c != NULL);
        unsigned char buf[BIG];
        for (int round = 0; round < 3; round++) {
            /* a lone receiver */
            memset(buf, SENTINEL, sizeof buf);
            int64_t d = weft_deadline_in(wait);
            CHECK_RC(weft_chan_recv_until(c, buf, d), WEFT_ETIMEDOUT);
            CHECK_GE(weft_now(), d);
            check_untouched(buf, sizeof buf);
            check_idle(c, esize);
            exchange_1000(c, esize, round % 2);

            /* a lone sender: its value must not linger in the slot */
            fill(buf, esize, tag_of(7, (uint32_t)round));
            d = weft_deadline_in(wait);
            CHECK_RC(weft_chan_send_until(c, buf, d), WEFT_ETIMEDOUT);
            CHECK_GE(weft_now(), d);
            check_idle(c, esize);
            exchange_1000(c, esize, round % 2 == 0);
        }
        /* a deadline already passed: no post at all */
        memset(buf, SENTINEL, sizeof buf);
        CHECK_RC(weft_chan_recv_until(c, buf, weft_now() - 1), WEFT_ETIMEDOUT);
        CHECK_RC(weft_chan_send_until(c, buf, weft_now() - 1), WEFT_ETIMEDOUT);
        check_idle(c, esize);
        exchange_1000(c, esize, true);
        CHECK_OK(weft_chan_close(c));
        CHECK_RC(weft_chan_recv(c, buf), WEFT_ECLOSED);
        weft_chan_free(c);
    }
}

/* ---- 4. plain operations and select on the same channels ----------------------- */

/* Plain senders feed channels A and B (and, with `rival`, a second plain
   receiver competes with the select on A); one thread selects RECV over
   {A, B} until both are closed. Mirror: one thread selects SEND over {A, B},
   a plain receiver drains each (and, with `rival`, a second plain sender
   competes with the select on A). */

typedef struct mix {
    weft_chan *a, *b;
    size_t esize;
    uint32_t n;    /* values per plain sender, or sent by the select sender */
    ledger l;
    long by_select;     /* values the select thread moved */
    uint32_t sel_seq[2]; /* select sender: values sent on A, on B */
} mix;

typedef struct mix_arg {
    mix *m;
    weft_chan *c;
    uint32_t src; /* sender: the source id of its values */
    uint32_t n;   /* sender: how many */
    int parity;   /* receiver: the sources it may see are even (0) or odd (1) */
} mix_arg;

static void *mix_plain_sender(void *p)
{
    mix_arg *a = p;
    unsigned char buf[BIG];
    for (uint32_t q = 0; q < a->n; q++) {
        fill(buf, a->m->esize, tag_of(a->src, q));
        CHECK_OK(weft_chan_send(a->c, buf));
    }
    return NULL;
}

static void *mix_plain_receiver(void *p)
{
    mix_arg *a = p;
    mix *m = a->m;
    int64_t last[MAXSRC];
    last_init(last);
    unsigned char buf[BIG];
    int rc;
    for (;;) {
        memset(buf, SENTINEL, sizeof buf);
        if ((rc = weft_chan_recv(a->c, buf)) != 0)
            break;
        uint64_t tag = check_value(buf, m->esize);
        CHECK_EQ((tag >> 32) % 2, (uint64_t)a->parity);
        ledger_take(&m->l, tag, last);
    }
    CHECK_RC(rc, WEFT_ECLOSED);
    check_untouched(buf, sizeof buf);
    return NULL;
}

static void *mix_select_receiver(void *p)
{
    mix *m = p;
    int64_t last[MAXSRC];
    last_init(last);
    unsigned char ba[BIG], bb[BIG];
    weft_case cs[2] = { WEFT_CASE_RECV(m->a, ba), WEFT_CASE_RECV(m->b, bb) };
    int open = 2;
    long got = 0;
    while (open) {
        memset(ba, SENTINEL, sizeof ba);
        memset(bb, SENTINEL, sizeof bb);
        int k = weft_select(cs, 2, WEFT_FOREVER);
        CHECK(k == 0 || k == 1);
        unsigned char *mine = k ? bb : ba, *other = k ? ba : bb;
        check_untouched(other, BIG); /* only the returned case moved data */
        if (!cs[k].ok) {
            check_untouched(mine, BIG);
            cs[k].chan = NULL; /* closed and drained */
            open--;
            continue;
        }
        uint64_t tag = check_value(mine, m->esize);
        /* A's sources are even, B's odd */
        CHECK_EQ((tag >> 32) % 2, (uint64_t)k);
        ledger_take(&m->l, tag, last);
        got++;
    }
    m->by_select = got;
    return NULL;
}

static void *mix_select_sender(void *p)
{
    mix *m = p;
    unsigned char ba[BIG], bb[BIG];
    weft_case cs[2] = { WEFT_CASE_SEND(m->a, ba), WEFT_CASE_SEND(m->b, bb) };
    for (uint32_t i = 0; i < m->n; i++) {
        /* source 0 on A, 1 on B */
        fill(ba, m->esize, tag_of(0, m->sel_seq[0]));
        fill(bb, m->esize, tag_of(1, m->sel_seq[1]));
        int k = weft_select(cs, 2, WEFT_FOREVER);
        CHECK(k == 0 || k == 1);
        CHECK(cs[k].ok);
        m->sel_seq[k]++;
    }
    m->by_select = m->n;
    return NULL;
}

static void mix_new(mix *m, size_t esize, int nsrc, uint32_t per)
{
    memset(m, 0, sizeof *m);
    m->a = weft_chan_new(esize, 0);
    m->b = weft_chan_new(esize, 0);
    CHECK(m->a && m->b);
    m->esize = esize;
    ledger_init(&m->l, nsrc, per);
}

static void mix_free(mix *m)
{
    ledger_free(&m->l);
    weft_chan_free(m->a);
    weft_chan_free(m->b);
}

/* select RECV over {A, B}; plain senders on A (source 0) and B (source 1);
   with rival, a plain receiver on A too. */
static void select_recv_vs_plain(size_t esize, bool rival)
{
    int64_t t0 = weft_now();
    mix m;
    uint32_t n = (uint32_t)test_n(50000);
    mix_new(&m, esize, 2, n);
    mix_arg sa = { &m, m.a, 0, n, -1 }, sb = { &m, m.b, 1, n, -1 }, ra = { &m, m.a, 0, 0, 0 };
    pthread_t sel = test_thread(mix_select_receiver, &m), rt = 0;
    if (rival)
        rt = test_thread(mix_plain_receiver, &ra);
    pthread_t ta = test_thread(mix_plain_sender, &sa), tb = test_thread(mix_plain_sender, &sb);
    test_join(ta);
    test_join(tb);
    CHECK_OK(weft_chan_close(m.a));
    CHECK_OK(weft_chan_close(m.b));
    test_join(sel);
    if (rival)
        test_join(rt);
    ledger_verify(&m.l, (uint32_t[]){ n, n });
    if (!rival)
        CHECK_EQ(m.by_select, 2L * n);
    printf("(recv %zu B%s: select got %ld of %ld, %lld ms) ", esize, rival ? ", rival" : "",
           m.by_select, 2L * n, (long long)((weft_now() - t0) / 1000000));
    mix_free(&m);
}

/* select SEND over {A, B} (sources 0 and 1); a plain receiver on each; with
   rival, a plain sender on A too (source 2). */
static void select_send_vs_plain(size_t esize, bool rival)
{
    int64_t t0 = weft_now();
    mix m;
    uint32_t n = (uint32_t)test_n(100000), rn = rival ? n / 2 : 0;
    mix_new(&m, esize, 3, n);
    m.n = n;
    mix_arg ra = { &m, m.a, 0, 0, 0 }, rb = { &m, m.b, 0, 0, 1 }, sa = { &m, m.a, 2, rn, -1 };
    pthread_t ta = test_thread(mix_plain_receiver, &ra), tb = test_thread(mix_plain_receiver, &rb);
    pthread_t sel = test_thread(mix_select_sender, &m), st = 0;
    if (rival)
        st = test_thread(mix_plain_sender, &sa);
    test_join(sel);
    if (rival)
        test_join(st);
    CHECK_OK(weft_chan_close(m.a));
    CHECK_OK(weft_chan_close(m.b));
    test_join(ta);
    test_join(tb);
    CHECK_EQ(m.sel_seq[0] + m.sel_seq[1], n);
    ledger_verify(&m.l, (uint32_t[]){ m.sel_seq[0], m.sel_seq[1], rn });
    printf("(send %zu B%s: %u on A, %u on B, %lld ms) ", esize, rival ? ", rival" : "",
           m.sel_seq[0], m.sel_seq[1], (long long)((weft_now() - t0) / 1000000));
    mix_free(&m);
}

static void plain_vs_select_mix(void)
{
    for (size_t k = 0; k < 2; k++)
        for (int rival = 0; rival < 2; rival++) {
            test_watchdog(30);
            select_recv_vs_plain(sizes[k], rival);
            test_watchdog(30);
            select_send_vs_plain(sizes[k], rival);
        }
}

/* ---- 5. many parties on one channel ---------------------------------------------- */

enum { P_SENDERS = 4, P_RECEIVERS = 4, BATCH = 8 };

typedef struct party {
    weft_chan *c;
    size_t esize;
    bool use_many; /* sender 0 uses send_many, receiver 0 recv_many */
    uint32_t per;
    ledger l;
    atomic_long many_calls, many_values;
} party;

typedef struct party_arg {
    party *p;
    uint32_t id;
} party_arg;

static void *party_sender(void *p)
{
    party_arg *a = p;
    party *x = a->p;
    uint64_t rng = 31 + a->id * 7;
    unsigned char batch[BATCH * BIG];
    uint32_t q = 0;
    while (q < x->per) {
        if (x->use_many && a->id == 0) {
            size_t n = 1 + test_rand(&rng) % BATCH;
            if (n > x->per - q)
                n = x->per - q;
            for (size_t i = 0; i < n; i++)
                fill(batch + i * x->esize, x->esize, tag_of(a->id, q + (uint32_t)i));
            size_t sent = 99;
            CHECK_OK(weft_chan_send_many(x->c, batch, n, &sent));
            CHECK_EQ(sent, n);
            q += (uint32_t)n;
        } else {
            fill(batch, x->esize, tag_of(a->id, q));
            CHECK_OK(weft_chan_send(x->c, batch));
            q++;
        }
    }
    return NULL;
}

static void *party_receiver(void *p)
{
    party_arg *a = p;
    party *x = a->p;
    uint64_t rng = 53 + a->id * 11;
    int64_t last[MAXSRC];
    last_init(last);
    unsigned char batch[BATCH * BIG];
    for (;;) {
        memset(batch, SENTINEL, sizeof batch);
        if (x->use_many && a->id == 0) {
            size_t max = 1 + test_rand(&rng) % BATCH, got = 99;
            int rc = weft_chan_recv_many(x->c, batch, max, &got);
            if (rc == WEFT_ECLOSED) {
                CHECK_EQ(got, 0);
                check_untouched(batch, sizeof batch);
                break;
            }
            CHECK_OK(rc);
            CHECK(got >= 1 && got <= max);
            for (size_t i = 0; i < got; i++)
                ledger_take(&x->l, check_value(batch + i * x->esize, x->esize), last);
            check_untouched(batch + got * x->esize, sizeof batch - got * x->esize);
            atomic_fetch_add(&x->many_calls, 1);
            atomic_fetch_add(&x->many_values, (long)got);
        } else {
            int rc = weft_chan_recv(x->c, batch);
            if (rc == WEFT_ECLOSED) {
                check_untouched(batch, sizeof batch);
                break;
            }
            CHECK_OK(rc);
            ledger_take(&x->l, check_value(batch, x->esize), last);
            check_untouched(batch + x->esize, sizeof batch - x->esize);
        }
    }
    return NULL;
}

static void parties(size_t esize, bool use_many)
{
    test_watchdog(30);
    party x;
    memset(&x, 0, sizeof x);
    x.c = weft_chan_new(esize, 0);
    CHECK(x.c != NULL);
    x.esize = esize;
    x.use_many = use_many;
    x.per = (uint32_t)test_n(100000 / P_SENDERS);
    ledger_init(&x.l, P_SENDERS, x.per);
    atomic_init(&x.many_calls, 0);
    atomic_init(&x.many_values, 0);
    party_arg sa[P_SENDERS], ra[P_RECEIVERS];
    pthread_t st[P_SENDERS], rt[P_RECEIVERS];
    for (uint32_t i = 0; i < P_RECEIVERS; i++) {
        ra[i] = (party_arg){ &x, i };
        rt[i] = test_thread(party_receiver, &ra[i]);
    }
    for (uint32_t i = 0; i < P_SENDERS; i++) {
        sa[i] = (party_arg){ &x, i };
        st[i] = test_thread(party_sender, &sa[i]);
    }
    for (int i = 0; i < P_SENDERS; i++)
        test_join(st[i]);
    CHECK_OK(weft_chan_close(x.c));
    for (int i = 0; i < P_RECEIVERS; i++)
        test_join(rt[i]);
    uint32_t sent[P_SENDERS];
    for (int i = 0; i < P_SENDERS; i++)
        sent[i] = x.per;
    ledger_verify(&x.l, sent);
    if (use_many)
        printf("(%zu B: recv_many took %ld values in %ld calls) ", esize,
               atomic_load(&x.many_values), atomic_load(&x.many_calls));
    ledger_free(&x.l);
    weft_chan_free(x.c);
}

static void many_parties(void)
{
    for (size_t k = 0; k < 2; k++)
        parties(sizes[k], false);
}

static void many_parties_send_many_recv_many(void)
{
    for (size_t k = 0; k < 2; k++)
        parties(sizes[k], true);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_one_cpu_from_args(&argc, &argv);
    TEST_RUN(timed_exchanges_exactly_once);
    TEST_RUN(close_wakes_parked_receiver);
    TEST_RUN(close_wakes_parked_sender);
    TEST_RUN(close_races_lone_poster);
    TEST_RUN(close_races_engage);
    TEST_RUN(timeout_of_parked_poster);
    TEST_RUN(plain_vs_select_mix);
    TEST_RUN(many_parties);
    TEST_RUN(many_parties_send_many_recv_many);
    printf("chan_rendezvous: all passed\n");
    return 0;
}
