/* chan_close_test — close under contention:
 *  - close wakes every blocked sender (on a full or unbuffered channel) and
 *    every blocked receiver (on an empty one), in every blocking form: all
 *    return WEFT_ECLOSED, and the senders' values never appear;
 *  - close with values buffered and senders blocked: every value whose send
 *    returned 0 is received exactly once, in order; none whose send
 *    returned WEFT_ECLOSED is;
 *  - close racing send/recv loops (also send_many/recv_many), many rounds:
 *    the same accounting holds each round;
 *  - concurrent closes: exactly one returns 0.
 */
#include "check.h"

#include <stdatomic.h>

enum { NBLOCK = 8 };

/* ---- close wakes blocked threads ------------------------------------------ */

typedef struct blocked {
    weft_chan *c;
    int id;
    atomic_int *started;
    int rc;
    size_t n;
    int value;
} blocked;

static void *blocked_sender(void *p)
{
    blocked *b = p;
    int v = 1000 + b->id;
    atomic_fetch_add(b->started, 1);
    switch (b->id % 4) {
    case 0:
        b->rc = weft_chan_send(b->c, &v);
        break;
    case 1:
        b->rc = weft_chan_send_until(b->c, &v, WEFT_FOREVER);
        break;
    case 2:
        b->rc = weft_chan_send_until(b->c, &v, weft_deadline_in(3600LL * 1000000000));
        break;
    default: {
        int vs[3] = { v, v + 100, v + 200 };
        b->n = 99;
        b->rc = weft_chan_send_many(b->c, vs, 3, &b->n);
        break;
    }
    }
    return NULL;
}

static void *blocked_receiver(void *p)
{
    blocked *b = p;
    b->value = -12345;
    atomic_fetch_add(b->started, 1);
    switch (b->id % 4) {
    case 0:
        b->rc = weft_chan_recv(b->c, &b->value);
        break;
    case 1:
        b->rc = weft_chan_recv_until(b->c, &b->value, WEFT_FOREVER);
        break;
    case 2:
        b->rc = weft_chan_recv_until(b->c, &b->value, weft_deadline_in(3600LL * 1000000000));
        break;
    default:
        b->n = 99;
        b->rc = weft_chan_recv_many(b->c, &b->value, 1, &b->n);
        break;
    }
    return NULL;
}

static void close_wakes_all_blocked(size_t cap)
{
    weft_chan *full = weft_chan_new(sizeof(int), cap);
    weft_chan *empty = weft_chan_new(sizeof(int), cap);
    CHECK(full && empty);
    for (size_t i = 0; i < cap; i++)
        CHECK_OK(weft_chan_send(full, &(int){ (int)i }));

    atomic_int started = 0;
    blocked s[NBLOCK], r[NBLOCK];
    pthread_t st[NBLOCK], rt[NBLOCK];
    for (int i = 0; i < NBLOCK; i++) {
        s[i] = (blocked){ full, i, &started, 1, 0, 0 };
        r[i] = (blocked){ empty, i, &started, 1, 0, 0 };
        st[i] = test_thread(blocked_sender, &s[i]);
        rt[i] = test_thread(blocked_receiver, &r[i]);
    }
    while (atomic_load(&started) < 2 * NBLOCK)
        test_sleep_ms(1);
    test_sleep_ms(100); /* past any spin: all are parked */

    CHECK_OK(weft_chan_close(full));
    CHECK_OK(weft_chan_close(empty));
    for (int i = 0; i < NBLOCK; i++) {
        test_join(st[i]);
        test_join(rt[i]);
        CHECK_RC(s[i].rc, WEFT_ECLOSED);
        CHECK_RC(r[i].rc, WEFT_ECLOSED);
        CHECK_EQ(r[i].value, -12345); /* not written */
        if (i % 4 == 3) {
            CHECK_EQ(s[i].n, 0);
            CHECK_EQ(r[i].n, 0);
        }
    }
    /* exactly the values sent before the close, in order; no sender's */
    for (size_t i = 0; i < cap; i++) {
        int v = -1;
        CHECK_OK(weft_chan_recv(full, &v));
        CHECK_EQ(v, (int)i);
    }
    CHECK_RC(weft_chan_recv(full, NULL), WEFT_ECLOSED);
    CHECK_RC(weft_chan_recv(empty, NULL), WEFT_ECLOSED);
    weft_chan_free(full);
    weft_chan_free(empty);
}

static void close_wakes_blocked_unbuffered(void) { close_wakes_all_blocked(0); }
static void close_wakes_blocked_cap1(void) { close_wakes_all_blocked(1); }
static void close_wakes_blocked_cap4(void) { close_wakes_all_blocked(4); }

/* Signal channels (elem_size 0) too. */
static void *signal_waiter(void *p)
{
    blocked *b = p;
    atomic_fetch_add(b->started, 1);
    b->rc = b->id % 2 ? weft_chan_recv(b->c, NULL) : weft_chan_send(b->c, NULL);
    return NULL;
}

static void close_wakes_signal_waiters(void)
{
    weft_chan *c = weft_chan_new(0, 0);
    CHECK(c != NULL);
    atomic_int started = 0;
    blocked b[NBLOCK];
    pthread_t t[NBLOCK];
    /* senders only, then receivers only: both sides on one unbuffered
       channel would pair up */
    for (int side = 0; side < 2; side++) {
        atomic_store(&started, 0);
        c = side ? weft_chan_new(0, 0) : c;
        CHECK(c != NULL);
        for (int i = 0; i < NBLOCK; i++) {
            b[i] = (blocked){ c, 2 * i + side, &started, 1, 0, 0 };
            t[i] = test_thread(signal_waiter, &b[i]);
        }
        while (atomic_load(&started) < NBLOCK)
            test_sleep_ms(1);
        test_sleep_ms(50);
        CHECK_OK(weft_chan_close(c));
        for (int i = 0; i < NBLOCK; i++) {
            test_join(t[i]);
            CHECK_RC(b[i].rc, WEFT_ECLOSED);
        }
        weft_chan_free(c);
    }
}

/* ---- accounting across close ---------------------------------------------- */

enum { MAXSEND = 8 };

typedef struct ledger {
    weft_chan *c;
    int senders, receivers;
    uint32_t max_per;             /* a sender stops after this many */
    int use_many;                 /* send_many / recv_many in the mix */
    _Atomic uint8_t *seen;        /* [sender * max_per + seq] */
    uint32_t ok[MAXSEND];         /* sends that returned 0 (a prefix) */
    atomic_long received;
    atomic_int running;
} ledger;

typedef struct ledger_arg {
    ledger *a;
    int id;
} ledger_arg;

static void *acct_sender(void *p)
{
    ledger_arg *w = p;
    ledger *a = w->a;
    uint64_t rng = 77 + (uint64_t)w->id * 1000003;
    uint32_t seq = 0;
    atomic_fetch_add(&a->running, 1);
    while (seq < a->max_per) {
        if (a->use_many && test_rand(&rng) % 3 == 0) {
            uint64_t vs[6];
            size_t n = 1 + test_rand(&rng) % 6;
            if (n > a->max_per - seq)
                n = a->max_per - seq;
            for (size_t i = 0; i < n; i++)
                vs[i] = ((uint64_t)w->id << 32) | (seq + i);
            size_t sent = 99;
            int rc = weft_chan_send_many(a->c, vs, n, &sent);
            if (rc == 0) {
                CHECK_EQ(sent, n);
            } else {
                CHECK_RC(rc, WEFT_ECLOSED);
                CHECK_LT(sent, n);
            }
            seq += (uint32_t)sent;
            if (rc != 0)
                break;
        } else {
            uint64_t v = ((uint64_t)w->id << 32) | seq;
            int rc = weft_chan_send(a->c, &v);
            if (rc != 0) {
                CHECK_RC(rc, WEFT_ECLOSED);
                break;
            }
            seq++;
        }
    }
    a->ok[w->id] = seq;
    return NULL;
}

static void acct_take(ledger *a, uint64_t v, int64_t *last)
{
    uint32_t s = (uint32_t)(v >> 32), q = (uint32_t)v;
    CHECK_LT(s, (uint32_t)a->senders);
    CHECK_LT(q, a->max_per);
    CHECK_GT((int64_t)q, last[s]);
    last[s] = q;
    uint8_t was = atomic_fetch_add(&a->seen[(size_t)s * a->max_per + q], 1);
    CHECK_EQ(was, 0);
    atomic_fetch_add(&a->received, 1);
}

static void *acct_receiver(void *p)
{
    ledger_arg *w = p;
    ledger *a = w->a;
    uint64_t rng = 99 + (uint64_t)w->id * 7919;
    int64_t last[MAXSEND];
    for (int i = 0; i < MAXSEND; i++)
        last[i] = -1;
    atomic_fetch_add(&a->running, 1);
    for (;;) {
        if (a->use_many && test_rand(&rng) % 2) {
            uint64_t vs[5];
            size_t n = 99;
            int rc = weft_chan_recv_many(a->c, vs, 1 + test_rand(&rng) % 5, &n);
            if (rc == WEFT_ECLOSED) {
                CHECK_EQ(n, 0);
                break;
            }
            CHECK_OK(rc);
            for (size_t i = 0; i < n; i++)
                acct_take(a, vs[i], last);
        } else {
            uint64_t v;
            int rc = weft_chan_recv(a->c, &v);
            if (rc == WEFT_ECLOSED)
                break;
            CHECK_OK(rc);
            acct_take(a, v, last);
        }
    }
    return NULL;
}

/* Every send that returned 0 is received exactly once; nothing else is. */
static void acct_verify(ledger *a)
{
    long want = 0;
    for (int s = 0; s < a->senders; s++) {
        want += a->ok[s];
        for (uint32_t q = 0; q < a->max_per; q++) {
            uint8_t n = atomic_load(&a->seen[(size_t)s * a->max_per + q]);
            if (n != (q < a->ok[s] ? 1 : 0)) {
                fprintf(stderr,
                        "sender %d seq %u: received %u times, but its send %s\n", s, q,
                        n, q < a->ok[s] ? "returned 0" : "returned WEFT_ECLOSED or never ran");
                CHECK_EQ(n, q < a->ok[s] ? 1 : 0);
            }
        }
    }
    CHECK_EQ(atomic_load(&a->received), want);
}

/* Senders keep sending into a small buffer; main receives some, then
   closes while senders are blocked; the rest is drained by main. */
static void close_with_buffered_values_and_blocked_senders(void)
{
    const size_t caps[] = { 0, 1, 4 };
    for (size_t k = 0; k < 3; k++) {
        ledger a;
        memset(&a, 0, sizeof a);
        a.c = weft_chan_new(sizeof(uint64_t), caps[k]);
        CHECK(a.c != NULL);
        a.senders = NBLOCK;
        a.max_per = 100000;
        a.seen = calloc((size_t)a.senders * a.max_per, 1);
        CHECK(a.seen != NULL);
        atomic_init(&a.received, 0);
        ledger_arg args[NBLOCK];
        pthread_t t[NBLOCK];
        for (int i = 0; i < NBLOCK; i++) {
            args[i] = (ledger_arg){ &a, i };
            t[i] = test_thread(acct_sender, &args[i]);
        }
        int64_t last[MAXSEND];
        for (int i = 0; i < MAXSEND; i++)
            last[i] = -1;
        for (int i = 0; i < 100; i++) {
            uint64_t v;
            CHECK_OK(weft_chan_recv(a.c, &v));
            acct_take(&a, v, last);
        }
        /* senders refill the buffer and block on it */
        while (weft_chan_len(a.c) < caps[k])
            test_sleep_ms(1);
        test_sleep_ms(50);
        CHECK_EQ(weft_chan_len(a.c), caps[k]);
        CHECK_OK(weft_chan_close(a.c));
        for (int i = 0; i < NBLOCK; i++)
            test_join(t[i]);
        uint64_t v;
        int rc;
        while ((rc = weft_chan_recv(a.c, &v)) == 0)
            acct_take(&a, v, last);
        CHECK_RC(rc, WEFT_ECLOSED);
        acct_verify(&a);
        /* what was buffered at close was delivered: */
        CHECK_GE(atomic_load(&a.received), 100 + (long)caps[k]);
        free((void *)a.seen);
        weft_chan_free(a.c);
    }
}

/* Close races running send/recv loops at a random moment, many times. */
static void close_races_send_recv(void)
{
    const size_t caps[] = { 0, 1, 4, 64 };
    long rounds = test_n(1000);
    uint64_t rng = 42;
    for (long r = 0; r < rounds; r++) {
        ledger a;
        memset(&a, 0, sizeof a);
        a.c = weft_chan_new(sizeof(uint64_t), caps[r % 4]);
        CHECK(a.c != NULL);
        a.senders = 1 + (int)(r % 3);
        a.receivers = 1 + (int)((r / 3) % 3);
        a.max_per = 20000;
        a.use_many = (r / 4) % 2;
        a.seen = calloc((size_t)a.senders * a.max_per, 1);
        CHECK(a.seen != NULL);
        atomic_init(&a.received, 0);
        atomic_init(&a.running, 0);
        ledger_arg args[2 * MAXSEND];
        pthread_t t[2 * MAXSEND];
        int n = 0;
        for (int i = 0; i < a.receivers; i++, n++) {
            args[n] = (ledger_arg){ &a, i };
            t[n] = test_thread(acct_receiver, &args[n]);
        }
        for (int i = 0; i < a.senders; i++, n++) {
            args[n] = (ledger_arg){ &a, i };
            t[n] = test_thread(acct_sender, &args[n]);
        }
        /* close at a random moment: before anyone runs, while they start,
           or a little later */
        switch (test_rand(&rng) % 4) {
        case 0:
            break;
        case 1:
            for (unsigned i = test_rand(&rng) % 2000; i; i--)
                weft_cpu_relax();
            break;
        case 2:
            while (atomic_load(&a.running) < n)
                weft_cpu_relax();
            for (unsigned i = test_rand(&rng) % 20000; i; i--)
                weft_cpu_relax();
            break;
        default:
            while (atomic_load(&a.running) < n)
                weft_cpu_relax();
            test_sleep_ms((long)(test_rand(&rng) % 3));
            break;
        }
        CHECK_OK(weft_chan_close(a.c));
        for (int i = 0; i < n; i++)
            test_join(t[i]);
        acct_verify(&a);
        free((void *)a.seen);
        weft_chan_free(a.c);
    }
}

/* ---- concurrent closes ---------------------------------------------------- */

typedef struct closer {
    weft_chan *c;
    atomic_int *go;
    int rc;
} closer;

static void *close_it(void *p)
{
    closer *x = p;
    while (!atomic_load(x->go))
        weft_cpu_relax();
    x->rc = weft_chan_close(x->c);
    return NULL;
}

static void exactly_one_close_wins(void)
{
    long rounds = test_n(300);
    for (long r = 0; r < rounds; r++) {
        weft_chan *c = weft_chan_new(sizeof(int), (size_t)(r % 3));
        CHECK(c != NULL);
        atomic_int go = 0;
        closer x[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            x[i] = (closer){ c, &go, 1 };
            t[i] = test_thread(close_it, &x[i]);
        }
        atomic_store(&go, 1);
        int wins = 0;
        for (int i = 0; i < 4; i++) {
            test_join(t[i]);
            if (x[i].rc == 0)
                wins++;
            else
                CHECK_RC(x[i].rc, WEFT_ECLOSED);
        }
        CHECK_EQ(wins, 1);
        weft_chan_free(c);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(45);
    TEST_RUN(close_wakes_blocked_unbuffered);
    TEST_RUN(close_wakes_blocked_cap1);
    TEST_RUN(close_wakes_blocked_cap4);
    TEST_RUN(close_wakes_signal_waiters);
    TEST_RUN(close_with_buffered_values_and_blocked_senders);
    TEST_RUN(close_races_send_recv);
    TEST_RUN(exactly_one_close_wins);
    printf("chan_close: all passed\n");
    return 0;
}
