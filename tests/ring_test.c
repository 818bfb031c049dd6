/* ring_test — weft_ring (<weft/lockfree.h>): constructor errors, exact
 * capacity, FIFO, element sizes 0..256, wraparound over many laps with odd
 * capacities, NULL arguments, and an MPMC stress in which every pushed value
 * is popped exactly once and each producer's values come out in order.
 */
#include "check.h"

#include <sched.h>
#include <stdatomic.h>

static void new_rejects_cap_zero(void)
{
    errno = 0;
    CHECK(weft_ring_new(8, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(weft_ring_new(0, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
}

static void new_rejects_cap_beyond_2_40(void)
{
    errno = 0;
    CHECK(weft_ring_new(1, ((size_t)1 << 40) + 1) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(weft_ring_new(0, SIZE_MAX) == NULL);
    CHECK_EQ(errno, EINVAL);
}

static void new_overflow_is_enomem(void)
{
    errno = 0;
    CHECK(weft_ring_new(SIZE_MAX / 2, 4) == NULL);
    CHECK_EQ(errno, ENOMEM);
    /* elem_size alone too big for any slot (elem_size * 1 does not overflow,
       the slot size does) */
    errno = 0;
    CHECK(weft_ring_new(SIZE_MAX, 1) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(weft_ring_new(SIZE_MAX - 3, 2) == NULL);
    CHECK_EQ(errno, ENOMEM);
#ifndef WEFT_SANITIZED
    /* no overflow, but 2^50 bytes: malloc fails (sanitizer allocators abort
       on such requests instead of returning NULL, so not there) */
    errno = 0;
    CHECK(weft_ring_new((size_t)1 << 30, (size_t)1 << 20) == NULL);
    CHECK_EQ(errno, ENOMEM);
#endif
}

static void null_arguments(void)
{
    uint64_t v = 1;
    CHECK_RC(weft_ring_try_push(NULL, &v), WEFT_EINVAL);
    CHECK_RC(weft_ring_try_pop(NULL, &v), WEFT_EINVAL);
    CHECK_RC(weft_ring_try_pop(NULL, NULL), WEFT_EINVAL);
    weft_ring_free(NULL);

    weft_ring *r = weft_ring_new(sizeof v, 2);
    CHECK(r != NULL);
    CHECK_RC(weft_ring_try_push(r, NULL), WEFT_EINVAL);
    /* the rejected push stored nothing */
    CHECK_RC(weft_ring_try_pop(r, &v), WEFT_EAGAIN);
    weft_ring_free(r);
}

/* Holds exactly cap: cap pushes succeed, the next is WEFT_EAGAIN; pops come
   out FIFO and an empty ring pops WEFT_EAGAIN without writing elem. */
static void exact_capacity_and_fifo(size_t cap)
{
    weft_ring *r = weft_ring_new(sizeof(uint64_t), cap);
    CHECK(r != NULL);
    uint64_t v;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < cap; i++) {
            v = round * 1000003 + i;
            CHECK_OK(weft_ring_try_push(r, &v));
        }
        v = 777;
        CHECK_RC(weft_ring_try_push(r, &v), WEFT_EAGAIN);
        for (size_t i = 0; i < cap; i++) {
            v = ~(uint64_t)0;
            CHECK_OK(weft_ring_try_pop(r, &v));
            CHECK_EQ(v, round * 1000003 + i);
        }
        v = 4242;
        CHECK_RC(weft_ring_try_pop(r, &v), WEFT_EAGAIN);
        CHECK_EQ(v, 4242); /* not written */
    }
    weft_ring_free(r);
}

static void capacities(void)
{
    exact_capacity_and_fifo(1);
    exact_capacity_and_fifo(2);
    exact_capacity_and_fifo(3);
    exact_capacity_and_fifo(7);
    exact_capacity_and_fifo(8);
    exact_capacity_and_fifo(1000);
    exact_capacity_and_fifo(1024);
}

static void cap_one(void)
{
    weft_ring *r = weft_ring_new(sizeof(int), 1);
    CHECK(r != NULL);
    for (int i = 0; i < 1000; i++) {
        int x = i, y = -1;
        CHECK_OK(weft_ring_try_push(r, &x));
        CHECK_RC(weft_ring_try_push(r, &x), WEFT_EAGAIN);
        CHECK_OK(weft_ring_try_pop(r, &y));
        CHECK_EQ(y, i);
        CHECK_RC(weft_ring_try_pop(r, &y), WEFT_EAGAIN);
    }
    weft_ring_free(r);
}

/* elem_size 0: the ring still counts (cap slots) and NULL elem is fine. */
static void elem_size_zero(void)
{
    weft_ring *r = weft_ring_new(0, 3);
    CHECK(r != NULL);
    for (int round = 0; round < 5; round++) {
        CHECK_OK(weft_ring_try_push(r, NULL));
        CHECK_OK(weft_ring_try_push(r, NULL));
        char dummy = 'x';
        CHECK_OK(weft_ring_try_push(r, &dummy));
        CHECK_RC(weft_ring_try_push(r, NULL), WEFT_EAGAIN);
        CHECK_OK(weft_ring_try_pop(r, NULL));
        CHECK_OK(weft_ring_try_pop(r, &dummy));
        CHECK_EQ(dummy, 'x'); /* zero bytes copied */
        CHECK_OK(weft_ring_try_pop(r, NULL));
        CHECK_RC(weft_ring_try_pop(r, NULL), WEFT_EAGAIN);
    }
    weft_ring_free(r);
}

typedef struct big {
    uint32_t seq;
    uint8_t fill[252];
} big;

static void big_fill(big *b, uint32_t seq)
{
    b->seq = seq;
    for (size_t i = 0; i < sizeof b->fill; i++)
        b->fill[i] = (uint8_t)(seq * 131 + i * 7 + 1);
}

static void big_check(const big *b, uint32_t seq)
{
    CHECK_EQ(b->seq, seq);
    for (size_t i = 0; i < sizeof b->fill; i++)
        CHECK_EQ(b->fill[i], (uint8_t)(seq * 131 + i * 7 + 1));
}

/* 256-byte elements (and odd sizes) come out intact, byte for byte. */
static void large_and_odd_elements(void)
{
    CHECK_EQ(sizeof(big), 256);
    weft_ring *r = weft_ring_new(sizeof(big), 5);
    CHECK(r != NULL);
    uint32_t in = 0, out = 0;
    for (int i = 0; i < 1000; i++) {
        big b;
        while (1) {
            big_fill(&b, in);
            if (weft_ring_try_push(r, &b) != 0)
                break;
            in++;
        }
        for (int k = 0; k < (i % 4) + 1; k++) {
            memset(&b, 0, sizeof b);
            if (weft_ring_try_pop(r, &b) != 0)
                break;
            big_check(&b, out++);
        }
    }
    big b;
    while (weft_ring_try_pop(r, &b) == 0)
        big_check(&b, out++);
    CHECK_EQ(in, out);
    weft_ring_free(r);

    for (size_t es = 1; es <= 17; es++) {
        r = weft_ring_new(es, 3);
        CHECK(r != NULL);
        unsigned char buf[17], got[17];
        for (int i = 0; i < 20; i++) {
            for (size_t k = 0; k < es; k++)
                buf[k] = (unsigned char)(i * 17 + k);
            CHECK_OK(weft_ring_try_push(r, buf));
            memset(got, 0xEE, sizeof got);
            CHECK_OK(weft_ring_try_pop(r, got));
            CHECK(memcmp(buf, got, es) == 0);
            for (size_t k = es; k < sizeof got; k++)
                CHECK_EQ(got[k], 0xEE); /* wrote exactly elem_size bytes */
        }
        weft_ring_free(r);
    }
}

/* Pop with NULL drops the element. */
static void pop_null_drops(void)
{
    weft_ring *r = weft_ring_new(sizeof(int), 4);
    CHECK(r != NULL);
    for (int i = 0; i < 3; i++)
        CHECK_OK(weft_ring_try_push(r, &i));
    CHECK_OK(weft_ring_try_pop(r, NULL));
    int v = -1;
    CHECK_OK(weft_ring_try_pop(r, &v));
    CHECK_EQ(v, 1);
    CHECK_OK(weft_ring_try_pop(r, NULL));
    CHECK_RC(weft_ring_try_pop(r, NULL), WEFT_EAGAIN);
    weft_ring_free(r);
}

/* Many laps around rings whose capacity is not a power of two, at varying
   fill levels: FIFO and exact capacity hold at every position. */
static void wraparound_many_laps(void)
{
    const size_t caps[] = { 1, 3, 7, 1000 };
    for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
        size_t cap = caps[ci];
        weft_ring *r = weft_ring_new(sizeof(uint64_t), cap);
        CHECK(r != NULL);
        uint64_t in = 0, out = 0, state = 0x9E3779B97F4A7C15ULL + cap;
        size_t held = 0;
        long ops = test_n(200000) + (long)cap * 20;
        for (long i = 0; i < ops; i++) {
            if (test_rand(&state) & 1) {
                int rc = weft_ring_try_push(r, &in);
                if (held == cap) {
                    CHECK_RC(rc, WEFT_EAGAIN);
                } else {
                    CHECK_OK(rc);
                    in++;
                    held++;
                }
            } else {
                uint64_t v = ~(uint64_t)0;
                int rc = weft_ring_try_pop(r, &v);
                if (held == 0) {
                    CHECK_RC(rc, WEFT_EAGAIN);
                } else {
                    CHECK_OK(rc);
                    CHECK_EQ(v, out);
                    out++;
                    held--;
                }
            }
        }
        CHECK_GE(in, 20 * cap / 2); /* really went around several times */
        weft_ring_free(r);
    }
}

/* ---- MPMC stress ---------------------------------------------------------- */

/* Spinning threads (up to 32 on 2 CPUs) yield after this many failed tries;
   sanitizer runtimes make each try expensive, so they yield sooner. */
#ifdef WEFT_SANITIZED
enum { YIELD_EVERY = 8 };
#else
enum { YIELD_EVERY = 64 };
#endif

typedef struct mpmc {
    weft_ring *ring;
    int producers, consumers;
    uint32_t per_producer;
    _Atomic uint64_t popped;  /* total values popped */
    _Atomic uint8_t *seen;    /* [producer * per_producer + seq] */
    pthread_barrier_t start;
} mpmc;

typedef struct mpmc_arg {
    mpmc *m;
    int id;
} mpmc_arg;

static void *mpmc_producer(void *p)
{
    mpmc_arg *a = p;
    mpmc *m = a->m;
    pthread_barrier_wait(&m->start);
    for (uint32_t s = 0; s < m->per_producer; s++) {
        uint64_t v = ((uint64_t)a->id << 32) | s;
        unsigned fails = 0;
        while (weft_ring_try_push(m->ring, &v) != 0) {
            if (++fails % YIELD_EVERY == 0)
                sched_yield(); /* 2 cores, many threads: let others run */
            else
                weft_cpu_relax();
        }
    }
    return NULL;
}

static void *mpmc_consumer(void *p)
{
    mpmc_arg *a = p;
    mpmc *m = a->m;
    uint64_t total = (uint64_t)m->producers * m->per_producer;
    int64_t *last = malloc(sizeof *last * m->producers);
    CHECK(last != NULL);
    for (int i = 0; i < m->producers; i++)
        last[i] = -1;
    pthread_barrier_wait(&m->start);
    unsigned fails = 0;
    while (atomic_load(&m->popped) < total) {
        uint64_t v;
        if (weft_ring_try_pop(m->ring, &v) != 0) {
            if (++fails % YIELD_EVERY == 0)
                sched_yield();
            else
                weft_cpu_relax();
            continue;
        }
        uint32_t prod = (uint32_t)(v >> 32), seq = (uint32_t)v;
        CHECK_LT(prod, (uint32_t)m->producers);
        CHECK_LT(seq, m->per_producer);
        /* one producer's values reach this consumer in push order */
        CHECK_GT((int64_t)seq, last[prod]);
        last[prod] = seq;
        uint8_t was = atomic_fetch_add(&m->seen[(size_t)prod * m->per_producer + seq], 1);
        CHECK_EQ(was, 0); /* popped exactly once */
        atomic_fetch_add(&m->popped, 1);
    }
    free(last);
    return NULL;
}

static void mpmc_run(int producers, int consumers, size_t cap, uint32_t per_producer)
{
    mpmc m;
    m.ring = weft_ring_new(sizeof(uint64_t), cap);
    CHECK(m.ring != NULL);
    m.producers = producers;
    m.consumers = consumers;
    m.per_producer = per_producer;
    atomic_init(&m.popped, 0);
    size_t total = (size_t)producers * per_producer;
    m.seen = calloc(total, 1);
    CHECK(m.seen != NULL);
    pthread_barrier_init(&m.start, NULL, (unsigned)(producers + consumers));

    pthread_t th[64];
    mpmc_arg args[64];
    int n = 0;
    for (int i = 0; i < producers; i++, n++) {
        args[n] = (mpmc_arg){ &m, i };
        th[n] = test_thread(mpmc_producer, &args[n]);
    }
    for (int i = 0; i < consumers; i++, n++) {
        args[n] = (mpmc_arg){ &m, i };
        th[n] = test_thread(mpmc_consumer, &args[n]);
    }
    for (int i = 0; i < n; i++)
        test_join(th[i]);

    CHECK_EQ(atomic_load(&m.popped), total);
    for (size_t i = 0; i < total; i++)
        CHECK_EQ(atomic_load(&m.seen[i]), 1);
    uint64_t v;
    CHECK_RC(weft_ring_try_pop(m.ring, &v), WEFT_EAGAIN);

    pthread_barrier_destroy(&m.start);
    free((void *)m.seen);
    weft_ring_free(m.ring);
}

static void mpmc_stress(void)
{
    const int counts[] = { 1, 4, 16 };
    const size_t caps[] = { 1, 7, 1024 };
    /* a cap-1 ring hands over one value per scheduling of the right thread
       (spinning threads outnumber the cores), so it gets fewer values */
    const long totals[] = { 20000, 100000, 200000 };
    for (size_t pi = 0; pi < 3; pi++)
        for (size_t ci = 0; ci < 3; ci++)
            for (size_t k = 0; k < 3; k++) {
                int p = counts[pi], c = counts[ci];
                uint32_t per = (uint32_t)(test_n(totals[k]) / p);
                int64_t t0 = weft_now();
                mpmc_run(p, c, caps[k], per ? per : 1);
                if (getenv("WEFT_TEST_VERBOSE"))
                    printf("\n  %2dx%-2d cap %4zu: %lld ms", p, c, caps[k],
                           (long long)((weft_now() - t0) / 1000000));
            }
}

int main(void)
{
    test_watchdog(45);
    TEST_RUN(new_rejects_cap_zero);
    TEST_RUN(new_rejects_cap_beyond_2_40);
    TEST_RUN(new_overflow_is_enomem);
    TEST_RUN(null_arguments);
    TEST_RUN(capacities);
    TEST_RUN(cap_one);
    TEST_RUN(elem_size_zero);
    TEST_RUN(large_and_odd_elements);
    TEST_RUN(pop_null_drops);
    TEST_RUN(wraparound_many_laps);
    TEST_RUN(mpmc_stress);
    printf("ring: all passed\n");
    return 0;
}
