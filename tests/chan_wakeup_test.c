/* chan_wakeup_test — the lost-wakeup hunt. Hundreds of thousands of short
 * blocking handoffs, each of which needs a wakeup, under an alarm watchdog:
 * a single lost wakeup hangs a thread forever and the watchdog fails the
 * test ("watchdog: test hung (lost wakeup?)").
 *  - ping-pong over two unbuffered channels, two cap-1 channels, and two
 *    signal (elem_size 0) channels; and 4 pairs at once (threads outnumber
 *    the cores, so handoffs park instead of spinning);
 *  - 1 producer x 2 consumers and 2 producers x 2 consumers on cap 1, and
 *    4 producers x 1 consumer on cap 32, where blocked senders nap first;
 *  - a sender on a full cap-32 ring: its nap outlives no deadline, and the
 *    receive that makes room wakes it;
 *  - timed handoffs whose deadlines race the peer: a timed-out send was not
 *    delivered, a timed-out receive lost nothing;
 *  - 100 receivers parked on an empty channel use about no CPU, and close
 *    wakes them all.
 *
 *   chan_wakeup_test             on every CPU the process may use
 *   chan_wakeup_test --one-cpu   pinned to one CPU, where weft never spins
 */
#include "check.h"

#include <stdatomic.h>

/* ---- ping-pong ------------------------------------------------------------ */

typedef struct pp {
    weft_chan *to_peer, *from_peer;
    long rounds;
    size_t esize;
} pp;

static void *pp_peer(void *p)
{
    pp *x = p;
    for (long i = 0; i < x->rounds; i++) {
        long v = -1;
        CHECK_OK(weft_chan_recv(x->to_peer, x->esize ? &v : NULL));
        if (x->esize) {
            CHECK_EQ(v, 2 * i);
            v++;
        }
        CHECK_OK(weft_chan_send(x->from_peer, x->esize ? &v : NULL));
    }
    return NULL;
}

static void ping_pong(size_t cap, size_t esize, long rounds)
{
    pp x;
    x.to_peer = weft_chan_new(esize, cap);
    x.from_peer = weft_chan_new(esize, cap);
    CHECK(x.to_peer && x.from_peer);
    x.rounds = rounds;
    x.esize = esize;
    pthread_t t = test_thread(pp_peer, &x);
    for (long i = 0; i < rounds; i++) {
        long v = 2 * i;
        CHECK_OK(weft_chan_send(x.to_peer, esize ? &v : NULL));
        CHECK_OK(weft_chan_recv(x.from_peer, esize ? &v : NULL));
        if (esize)
            CHECK_EQ(v, 2 * i + 1);
    }
    test_join(t);
    CHECK_EQ(weft_chan_len(x.to_peer), 0);
    CHECK_EQ(weft_chan_len(x.from_peer), 0);
    weft_chan_free(x.to_peer);
    weft_chan_free(x.from_peer);
}

/* Several pairs at once on 2 CPUs: threads outnumber cores, so most
   handoffs go through a real park/unpark rather than a spin. */
typedef struct pp_pair {
    size_t cap;
    long rounds;
} pp_pair;

static void *pp_pair_main(void *p)
{
    pp_pair *x = p;
    ping_pong(x->cap, sizeof(long), x->rounds);
    return NULL;
}

static void ping_pong_oversubscribed(size_t cap)
{
    enum { PAIRS = 4 };
    test_watchdog(45);
    pp_pair x = { cap, test_n(25000) };
    pthread_t t[PAIRS];
    for (int i = 0; i < PAIRS; i++)
        t[i] = test_thread(pp_pair_main, &x);
    for (int i = 0; i < PAIRS; i++)
        test_join(t[i]);
}

static void ping_pong_4_pairs_unbuffered(void) { ping_pong_oversubscribed(0); }
static void ping_pong_4_pairs_cap1(void) { ping_pong_oversubscribed(1); }

static void ping_pong_unbuffered(void)
{
    test_watchdog(45);
    ping_pong(0, sizeof(long), test_n(100000));
}

static void ping_pong_cap1(void)
{
    test_watchdog(45);
    ping_pong(1, sizeof(long), test_n(100000));
}

static void ping_pong_signal_unbuffered(void)
{
    test_watchdog(45);
    ping_pong(0, 0, test_n(50000));
}

/* ---- producers x consumers on cap 1 --------------------------------------- */

typedef struct pc {
    weft_chan *c;
    int producers;
    uint32_t per_producer;
    _Atomic uint8_t *seen;
    atomic_long received;
} pc;

typedef struct pc_arg {
    pc *x;
    int id;
} pc_arg;

static void *pc_producer(void *p)
{
    pc_arg *a = p;
    for (uint32_t s = 0; s < a->x->per_producer; s++) {
        uint64_t v = ((uint64_t)a->id << 32) | s;
        CHECK_OK(weft_chan_send(a->x->c, &v));
    }
    return NULL;
}

static void *pc_consumer(void *p)
{
    pc_arg *a = p;
    pc *x = a->x;
    int64_t last[4] = { -1, -1, -1, -1 };
    uint64_t v;
    int rc;
    while ((rc = weft_chan_recv(x->c, &v)) == 0) {
        uint32_t prod = (uint32_t)(v >> 32), seq = (uint32_t)v;
        CHECK_LT(prod, (uint32_t)x->producers);
        CHECK_LT(seq, x->per_producer);
        CHECK_GT((int64_t)seq, last[prod]);
        last[prod] = seq;
        CHECK_EQ(atomic_fetch_add(&x->seen[(size_t)prod * x->per_producer + seq], 1), 0);
        atomic_fetch_add(&x->received, 1);
    }
    CHECK_RC(rc, WEFT_ECLOSED);
    return NULL;
}

static void producers_consumers(int producers, int consumers, size_t cap, long total)
{
    test_watchdog(45);
    pc x;
    memset(&x, 0, sizeof x);
    x.c = weft_chan_new(sizeof(uint64_t), cap);
    CHECK(x.c != NULL);
    x.producers = producers;
    x.per_producer = (uint32_t)(total / producers);
    size_t n = (size_t)producers * x.per_producer;
    x.seen = calloc(n, 1);
    CHECK(x.seen != NULL);
    atomic_init(&x.received, 0);
    pc_arg pa[4], ca[4];
    pthread_t pt[4], ct[4];
    for (int i = 0; i < consumers; i++) {
        ca[i] = (pc_arg){ &x, i };
        ct[i] = test_thread(pc_consumer, &ca[i]);
    }
    for (int i = 0; i < producers; i++) {
        pa[i] = (pc_arg){ &x, i };
        pt[i] = test_thread(pc_producer, &pa[i]);
    }
    for (int i = 0; i < producers; i++)
        test_join(pt[i]);
    CHECK_OK(weft_chan_close(x.c));
    for (int i = 0; i < consumers; i++)
        test_join(ct[i]);
    CHECK_EQ(atomic_load(&x.received), (long)n);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(atomic_load(&x.seen[i]), 1);
    free((void *)x.seen);
    weft_chan_free(x.c);
}

static void one_producer_two_consumers_cap1(void) { producers_consumers(1, 2, 1, test_n(120000)); }
static void two_producers_two_consumers_cap1(void) { producers_consumers(2, 2, 1, test_n(120000)); }
static void two_producers_one_consumer_unbuffered(void) { producers_consumers(2, 1, 0, test_n(60000)); }
/* A ring above the small-ring size: senders that find it full nap before
   they register and park (chan/chan.c), and the one receiver must get every
   one of them going again. */
static void four_producers_one_consumer_cap32(void) { producers_consumers(4, 1, 32, test_n(200000)); }

/* ---- a sender on a full large ring: nap, then park ------------------------ */

static void *recv_one_later(void *p)
{
    test_sleep_ms(20);
    uint64_t v = 0;
    CHECK_OK(weft_chan_recv(p, &v));
    CHECK_EQ(v, 0);
    return NULL;
}

/* The nap must neither outlive a deadline nor replace the wake-up: a timed
   send on a full ring times out at its deadline, not before; a send that
   outlasts its nap parks and is woken by the receive that makes room. */
static void full_ring_sender_deadline_and_wake(void)
{
    test_watchdog(45);
    weft_chan *c = weft_chan_new(sizeof(uint64_t), 32);
    CHECK(c != NULL);
    for (uint64_t i = 0; i < 32; i++)
        CHECK_OK(weft_chan_send(c, &i));
    const int64_t waits[] = { 200 * MS / 1000, 3 * MS };
    for (size_t k = 0; k < 2; k++) {
        uint64_t v = 99;
        int64_t t0 = weft_now();
        CHECK_RC(weft_chan_send_until(c, &v, t0 + waits[k]), WEFT_ETIMEDOUT);
        CHECK_GE(weft_now() - t0, waits[k]);
    }
    pthread_t th = test_thread(recv_one_later, c);
    uint64_t v = 32;
    int64_t t0 = weft_now();
    CHECK_OK(weft_chan_send(c, &v));
    CHECK_GE(weft_now() - t0, 15 * MS);
    test_join(th);
    CHECK_EQ(weft_chan_len(c), 32);
    for (uint64_t i = 1; i <= 32; i++) {
        CHECK_OK(weft_chan_try_recv(c, &v));
        CHECK_EQ(v, i);
    }
    weft_chan_free(c);
}

/* ---- timed handoffs racing their deadlines -------------------------------- */

typedef struct timed {
    weft_chan *c;
    uint32_t n;
    long timeouts;
} timed;

/* Receives with short deadlines; every value 0..n-1 must arrive in order
   exactly once, whatever timed out in between. */
static void *timed_receiver(void *p)
{
    timed *t = p;
    uint64_t rng = 12345;
    uint32_t want = 0;
    while (want < t->n) {
        uint32_t v = 0xFFFFFFFF;
        int64_t d = weft_deadline_in((int64_t)(test_rand(&rng) % 50000));
        int rc = weft_chan_recv_until(t->c, &v, d);
        if (rc == WEFT_ETIMEDOUT) {
            CHECK_EQ(v, 0xFFFFFFFF);
            t->timeouts++;
            continue;
        }
        CHECK_OK(rc);
        CHECK_EQ(v, want);
        want++;
    }
    return NULL;
}

/* Sends with short deadlines and retries the same value after a timeout:
   if a timed-out send had in fact been delivered, the receiver would see
   that value twice and fail its order check. */
static void timed_handoffs(size_t cap)
{
    test_watchdog(45);
    timed t;
    t.c = weft_chan_new(sizeof(uint32_t), cap);
    CHECK(t.c != NULL);
    t.n = (uint32_t)test_n(30000);
    t.timeouts = 0;
    pthread_t th = test_thread(timed_receiver, &t);
    uint64_t rng = 777;
    long timeouts = 0;
    for (uint32_t i = 0; i < t.n; i++) {
        int rc;
        do {
            int64_t d = weft_deadline_in((int64_t)(test_rand(&rng) % 50000));
            rc = weft_chan_send_until(t.c, &i, d);
            if (rc == WEFT_ETIMEDOUT)
                timeouts++;
            else
                CHECK_OK(rc);
        } while (rc != 0);
    }
    test_join(th);
    uint32_t v;
    CHECK_RC(weft_chan_try_recv(t.c, &v), WEFT_EAGAIN);
    printf("(%ld send / %ld recv timeouts) ", timeouts, t.timeouts);
    weft_chan_free(t.c);
}

static void timed_handoffs_unbuffered(void) { timed_handoffs(0); }
static void timed_handoffs_cap1(void) { timed_handoffs(1); }

/* ---- parked receivers use no CPU ------------------------------------------ */

enum { NPARKED = 100 };

typedef struct parked {
    weft_chan *c;
    atomic_int *ready;
    int rc;
} parked;

static void *parked_receiver(void *p)
{
    parked *x = p;
    int v = 0;
    atomic_fetch_add(x->ready, 1);
    x->rc = weft_chan_recv(x->c, &v);
    return NULL;
}

/* 100 receivers blocked on an empty channel: once parked, the whole
   process uses under 5% of one core over 500 ms (it would be ~100%+ if
   they spun); close wakes them all with WEFT_ECLOSED. */
static void parked_receivers_use_no_cpu(void)
{
    test_watchdog(45);
    const size_t caps[] = { 0, 4 };
    for (size_t k = 0; k < 2; k++) {
        weft_chan *c = weft_chan_new(sizeof(int), caps[k]);
        CHECK(c != NULL);
        atomic_int ready = 0;
        parked x[NPARKED];
        pthread_t t[NPARKED];
        for (int i = 0; i < NPARKED; i++) {
            x[i] = (parked){ c, &ready, 1 };
            t[i] = test_thread(parked_receiver, &x[i]);
        }
        while (atomic_load(&ready) < NPARKED)
            test_sleep_ms(1);
        test_sleep_ms(200); /* past any bounded spin */

        double share = test_cpu_share(500);
        printf("(cap %zu: %.2f%% of a core) ", caps[k], share * 100);
#ifdef WEFT_SANITIZED
        const double limit = 0.15; /* sanitizer runtimes have background threads */
#else
        const double limit = 0.05;
#endif
        if (share >= limit)
            fprintf(stderr, "%d parked receivers used %.1f%% of a core over 500 ms\n",
                    NPARKED, share * 100);
        CHECK(share < limit);

        CHECK_OK(weft_chan_close(c));
        for (int i = 0; i < NPARKED; i++) {
            test_join(t[i]);
            CHECK_RC(x[i].rc, WEFT_ECLOSED);
        }
        weft_chan_free(c);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_one_cpu_from_args(&argc, &argv);
    TEST_RUN(ping_pong_unbuffered);
    TEST_RUN(ping_pong_cap1);
    TEST_RUN(ping_pong_signal_unbuffered);
    TEST_RUN(ping_pong_4_pairs_unbuffered);
    TEST_RUN(ping_pong_4_pairs_cap1);
    TEST_RUN(one_producer_two_consumers_cap1);
    TEST_RUN(two_producers_two_consumers_cap1);
    TEST_RUN(two_producers_one_consumer_unbuffered);
    TEST_RUN(four_producers_one_consumer_cap32);
    TEST_RUN(full_ring_sender_deadline_and_wake);
    TEST_RUN(timed_handoffs_unbuffered);
    TEST_RUN(timed_handoffs_cap1);
    TEST_RUN(parked_receivers_use_no_cpu);
    printf("chan_wakeup: all passed\n");
    return 0;
}
