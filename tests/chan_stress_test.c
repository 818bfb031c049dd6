/* chan_stress_test — P producers x C consumers for P, C in {1, 4, 16},
 * capacities 0, 1, 7 and 1024, 8-byte and 256-byte elements. Invariants:
 * every value is received exactly once, the values of one producer reach
 * each consumer in the order they were sent, a 256-byte value arrives
 * untorn (its pattern is derived from producer and sequence number), and
 * after the producers finish and main closes the channel every consumer
 * ends with WEFT_ECLOSED.
 *
 *   chan_stress_test blocking   plain send / recv
 *   chan_stress_test mixed      a random mix of try, _until and _many forms
 *   chan_stress_test            both
 */
#include "check.h"

#include <stdatomic.h>

enum { MODE_BLOCKING, MODE_MIXED };

typedef struct msg8 {
    uint64_t v; /* producer << 32 | seq */
} msg8;

typedef struct msg256 {
    uint32_t producer;
    uint32_t seq;
    uint8_t pattern[248];
} msg256;

typedef struct stress {
    weft_chan *c;
    int producers, consumers;
    uint32_t per_producer;
    size_t esize;
    int mode;
    _Atomic uint8_t *seen;       /* [producer * per_producer + seq] */
    atomic_long received;
    pthread_barrier_t start;
} stress;

typedef struct worker {
    stress *s;
    int id;
} worker;

static uint8_t pattern_byte(uint32_t producer, uint32_t seq, size_t i)
{
    return (uint8_t)(producer * 97u + seq * 13u + i * 29u + (seq >> 8));
}

static void make_msg(const stress *s, uint32_t producer, uint32_t seq, void *out)
{
    if (s->esize == sizeof(msg8)) {
        msg8 m = { ((uint64_t)producer << 32) | seq };
        memcpy(out, &m, sizeof m);
    } else {
        msg256 *m = out;
        m->producer = producer;
        m->seq = seq;
        for (size_t i = 0; i < sizeof m->pattern; i++)
            m->pattern[i] = pattern_byte(producer, seq, i);
    }
}

/* Check one received value; update this consumer's per-producer order. */
static void take_msg(stress *s, const void *in, int64_t *last)
{
    uint32_t producer, seq;
    if (s->esize == sizeof(msg8)) {
        msg8 m;
        memcpy(&m, in, sizeof m);
        producer = (uint32_t)(m.v >> 32);
        seq = (uint32_t)m.v;
    } else {
        const msg256 *m = in;
        producer = m->producer;
        seq = m->seq;
        CHECK_LT(producer, (uint32_t)s->producers);
        for (size_t i = 0; i < sizeof m->pattern; i++)
            if (m->pattern[i] != pattern_byte(producer, seq, i)) {
                fprintf(stderr, "torn 256-byte value: producer %u seq %u byte %zu\n",
                        producer, seq, i);
                CHECK(m->pattern[i] == pattern_byte(producer, seq, i));
            }
    }
    CHECK_LT(producer, (uint32_t)s->producers);
    CHECK_LT(seq, s->per_producer);
    CHECK_GT((int64_t)seq, last[producer]); /* per-producer order */
    last[producer] = seq;
    uint8_t was = atomic_fetch_add_explicit(
        &s->seen[(size_t)producer * s->per_producer + seq], 1, memory_order_relaxed);
    CHECK_EQ(was, 0); /* exactly once */
    atomic_fetch_add_explicit(&s->received, 1, memory_order_relaxed);
}

/* ---- producers ------------------------------------------------------------ */

static void send_one_mixed(stress *s, const void *m, uint64_t *rng)
{
    int rc;
    switch (test_rand(rng) % 3) {
    case 0:
        rc = weft_chan_send(s->c, m);
        break;
    case 1: /* try a few times, then wait */
        for (int i = 0; i < 4; i++) {
            rc = weft_chan_try_send(s->c, m);
            if (rc != WEFT_EAGAIN)
                break;
            weft_cpu_relax();
        }
        if (rc == WEFT_EAGAIN)
            rc = weft_chan_send(s->c, m);
        break;
    default: /* short deadlines, retried */
        do {
            int64_t d = (test_rand(rng) & 3) == 0
                            ? WEFT_NOWAIT
                            : weft_deadline_in((int64_t)(test_rand(rng) % 200000));
            rc = weft_chan_send_until(s->c, m, d);
            if (d == WEFT_NOWAIT && rc != 0)
                CHECK_RC(rc, WEFT_EAGAIN);
            else if (rc != 0)
                CHECK_RC(rc, WEFT_ETIMEDOUT);
        } while (rc != 0);
        break;
    }
    CHECK_OK(rc);
}

static void *producer(void *p)
{
    worker *w = p;
    stress *s = w->s;
    uint64_t rng = 0x1234567ULL * (uint64_t)(w->id + 1) + s->per_producer;
    _Alignas(8) unsigned char batch[8 * sizeof(msg256)];
    pthread_barrier_wait(&s->start);
    uint32_t seq = 0;
    while (seq < s->per_producer) {
        if (s->mode == MODE_MIXED && test_rand(&rng) % 4 == 0) {
            size_t n = 1 + test_rand(&rng) % 8;
            if (n > s->per_producer - seq)
                n = s->per_producer - seq;
            for (size_t i = 0; i < n; i++)
                make_msg(s, (uint32_t)w->id, seq + (uint32_t)i, batch + i * s->esize);
            size_t sent = 0;
            CHECK_OK(weft_chan_send_many(s->c, batch, n, &sent));
            CHECK_EQ(sent, n);
            seq += (uint32_t)n;
            continue;
        }
        make_msg(s, (uint32_t)w->id, seq, batch);
        if (s->mode == MODE_MIXED)
            send_one_mixed(s, batch, &rng);
        else
            CHECK_OK(weft_chan_send(s->c, batch));
        seq++;
    }
    return NULL;
}

/* ---- consumers ------------------------------------------------------------ */

static void *consumer(void *p)
{
    worker *w = p;
    stress *s = w->s;
    uint64_t rng = 0x9876543ULL * (uint64_t)(w->id + 1) + s->per_producer;
    int64_t *last = malloc(sizeof *last * (size_t)s->producers);
    unsigned char *buf = malloc(8 * s->esize);
    CHECK(last && buf);
    for (int i = 0; i < s->producers; i++)
        last[i] = -1;
    pthread_barrier_wait(&s->start);
    for (;;) {
        int rc;
        size_t n = 1;
        unsigned op = s->mode == MODE_MIXED ? (unsigned)(test_rand(&rng) % 4) : 0;
        switch (op) {
        case 0:
            rc = weft_chan_recv(s->c, buf);
            break;
        case 1:
            rc = weft_chan_try_recv(s->c, buf);
            if (rc == WEFT_EAGAIN) {
                weft_cpu_relax();
                continue;
            }
            break;
        case 2:
            rc = weft_chan_recv_until(s->c, buf,
                                      weft_deadline_in((int64_t)(test_rand(&rng) % 300000)));
            if (rc == WEFT_ETIMEDOUT)
                continue;
            break;
        default: {
            size_t max = 1 + test_rand(&rng) % 8;
            n = 99;
            rc = weft_chan_recv_many(s->c, buf, max, &n);
            if (rc == 0) {
                CHECK_GE(n, 1);
                CHECK_LE(n, max);
            } else {
                CHECK_EQ(n, 0);
            }
            break;
        }
        }
        if (rc == WEFT_ECLOSED)
            break;
        CHECK_OK(rc);
        for (size_t i = 0; i < n; i++)
            take_msg(s, buf + i * s->esize, last);
    }
    free(buf);
    free(last);
    return NULL;
}

/* ---- one combination ------------------------------------------------------ */

static void run(int mode, int producers, int consumers, size_t cap, size_t esize, long total)
{
    stress s;
    memset(&s, 0, sizeof s);
    s.c = weft_chan_new(esize, cap);
    CHECK(s.c != NULL);
    s.producers = producers;
    s.consumers = consumers;
    s.per_producer = (uint32_t)(total / producers);
    if (s.per_producer == 0)
        s.per_producer = 1;
    s.esize = esize;
    s.mode = mode;
    size_t n = (size_t)producers * s.per_producer;
    s.seen = calloc(n, 1);
    CHECK(s.seen != NULL);
    atomic_init(&s.received, 0);
    pthread_barrier_init(&s.start, NULL, (unsigned)(producers + consumers));

    pthread_t pt[16], ct[16];
    worker pw[16], cw[16];
    for (int i = 0; i < consumers; i++) {
        cw[i] = (worker){ &s, i };
        ct[i] = test_thread(consumer, &cw[i]);
    }
    for (int i = 0; i < producers; i++) {
        pw[i] = (worker){ &s, i };
        pt[i] = test_thread(producer, &pw[i]);
    }
    for (int i = 0; i < producers; i++)
        test_join(pt[i]);
    CHECK_OK(weft_chan_close(s.c));
    for (int i = 0; i < consumers; i++)
        test_join(ct[i]);

    CHECK_EQ(atomic_load(&s.received), (long)n);
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&s.seen[i]) != 1) {
            fprintf(stderr, "value producer %zu seq %zu received %d times\n",
                    i / s.per_producer, i % s.per_producer, (int)atomic_load(&s.seen[i]));
            CHECK_EQ(atomic_load(&s.seen[i]), 1);
        }
    CHECK_EQ(weft_chan_len(s.c), 0);
    CHECK_RC(weft_chan_recv(s.c, NULL), WEFT_ECLOSED);

    pthread_barrier_destroy(&s.start);
    free((void *)s.seen);
    weft_chan_free(s.c);
}

static void matrix(int mode)
{
    const int counts[] = { 1, 4, 16 };
    const size_t caps[] = { 0, 1, 7, 1024 };
    const size_t sizes[] = { sizeof(msg8), sizeof(msg256) };
    /* messages per combination: unbuffered and cap-1 channels hand off one
       value per wakeup, so they get fewer */
    const long base[] = { 40000, 40000, 60000, 60000 };
    for (size_t si = 0; si < 2; si++)
        for (size_t ki = 0; ki < 4; ki++) {
            int64_t t0 = weft_now();
            long total = test_n(mode == MODE_MIXED ? base[ki] / 2 : base[ki]);
            for (size_t pi = 0; pi < 3; pi++)
                for (size_t ci = 0; ci < 3; ci++)
                    run(mode, counts[pi], counts[ci], caps[ki], sizes[si], total);
            printf("%-8s elem %3zu cap %4zu: 9 P x C runs of %ld values ok  (%lld ms)\n",
                   mode == MODE_MIXED ? "mixed" : "blocking", sizes[si], caps[ki], total,
                   (long long)((weft_now() - t0) / 1000000));
        }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK_EQ(sizeof(msg256), 256);
    test_watchdog(100);
    const char *which = argc > 1 ? argv[1] : "all";
    if (strcmp(which, "blocking") == 0 || strcmp(which, "all") == 0)
        matrix(MODE_BLOCKING);
    if (strcmp(which, "mixed") == 0 || strcmp(which, "all") == 0)
        matrix(MODE_MIXED);
    printf("chan_stress %s: all passed\n", which);
    return 0;
}
