/* select_fairness_test — "when several cases are ready, each is chosen with
 * equal probability (a fresh random order per call)". Every check is a
 * statistical bound: with n trials and k equally likely cases each count is
 * Binomial(n, 1/k), and must lie within Z sigma of n/k, sigma =
 * sqrt(n p (1 - p)). Z = 5 (Go's test uses 4.89, "six nines") gives each
 * count a 6e-7 chance of a false failure, under 1 in 30,000 for the ~50
 * counts of this file, while a select that favours its first case,
 * rotates deterministically or ignores a kind of case misses by dozens of
 * sigma.
 *  - Go's TestSelectFairness, ported: two always-ready buffered channels
 *    and two never-ready unbuffered ones, Go's bound;
 *  - 4 always-ready channels (refilled), receive and send cases mixed;
 *    16 cases (beyond the select's small stack arrays); one channel listed
 *    three times next to another (crossbeam's fairness_duplicates);
 *  - the first-listed case does not always win, and the choice of one call
 *    does not predict the next (a rotation would be "fair" but not random);
 *  - Go's TestPseudoRandomSend: select { c <- 1; c <- 0 } on caps 0 and n;
 *  - a ready buffered case against a ready unbuffered partner (a thread
 *    known to be parked in a send or receive on it), and two unbuffered
 *    partners against each other.
 */
#include "check.h"

#include <stdatomic.h>
#include <sys/syscall.h>

/* No libm: the test links only weft and threads. */
static double t_abs(double x)
{
    return x < 0 ? -x : x;
}

static double t_sqrt(double x)
{
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 100; i++)
        r = 0.5 * (r + x / r);
    return r;
}

/* Every count within z sigma of n/k. */
static void check_fair(const long *cnt, int k, long n, double z, const char *what)
{
    double p = 1.0 / k, mean = (double)n * p, sigma = t_sqrt((double)n * p * (1 - p));
    printf("(%s:", what);
    for (int i = 0; i < k; i++)
        printf(" %ld", cnt[i]);
    printf(") ");
    long total = 0;
    for (int i = 0; i < k; i++) {
        total += cnt[i];
        if (t_abs((double)cnt[i] - mean) > z * sigma) {
            fprintf(stderr, "%s: case %d won %ld of %ld trials; want %.0f +- %.0f (%.1f sigma)\n",
                    what, i, cnt[i], n, mean, z * sigma, z);
            CHECK(t_abs((double)cnt[i] - mean) <= z * sigma);
        }
    }
    CHECK_EQ(total, n);
}

/* Fairness tests are cheap (buffered polls); keep them large enough for a
   meaningful bound even under sanitizers. */
static long trials(long n, long min)
{
    long t = test_n(n);
    return t < min ? min : t;
}

static weft_chan *new_chan(size_t cap)
{
    weft_chan *c = weft_chan_new(sizeof(long), cap);
    CHECK(c != NULL);
    return c;
}

/* ---- Go's TestSelectFairness ----------------------------------------------- */

typedef struct gofair {
    weft_chan *c1, *c2, *c3, *c4, *out, *done;
} gofair;

static void *gofair_main(void *p)
{
    gofair *g = p;
    for (;;) {
        unsigned char b = 0;
        weft_case cs[] = { WEFT_CASE_RECV(g->c3, &b), WEFT_CASE_RECV(g->c4, &b),
                           WEFT_CASE_RECV(g->c1, &b), WEFT_CASE_RECV(g->c2, &b) };
        int k = weft_select(cs, 4, WEFT_FOREVER);
        CHECK(k == 2 || k == 3);
        CHECK(cs[k].ok);
        weft_case os[] = { WEFT_CASE_SEND(g->out, &b), WEFT_CASE_RECV(g->done, NULL) };
        if (weft_select(os, 2, WEFT_FOREVER) == 1)
            return NULL;
    }
}

static void go_select_fairness(void)
{
    test_watchdog(60);
    const long n = 10000; /* Go's count; its bound below assumes it */
    gofair g;
    g.c1 = weft_chan_new(1, (size_t)n + 1);
    g.c2 = weft_chan_new(1, (size_t)n + 1);
    g.c3 = weft_chan_new(1, 0);
    g.c4 = weft_chan_new(1, 0);
    g.out = weft_chan_new(1, 0);
    g.done = weft_chan_new(0, 0);
    CHECK(g.c1 && g.c2 && g.c3 && g.c4 && g.out && g.done);
    for (long i = 0; i < n + 1; i++) {
        unsigned char one = 1, two = 2;
        CHECK_OK(weft_chan_send(g.c1, &one));
        CHECK_OK(weft_chan_send(g.c2, &two));
    }
    pthread_t t = test_thread(gofair_main, &g);
    long cnt1 = 0, cnt2 = 0;
    for (long i = 0; i < n; i++) {
        unsigned char b = 0;
        CHECK_OK(weft_chan_recv(g.out, &b));
        if (b == 1)
            cnt1++;
        else if (b == 2)
            cnt2++;
        else
            CHECK(!"unexpected value on out");
    }
    CHECK_OK(weft_chan_close(g.done));
    test_join(t);
    double r = (double)cnt1 / (double)n, e = t_abs(r - 0.5);
    printf("(%ld %ld) ", cnt1, cnt2);
    if (e > 4.891676 / (2 * t_sqrt((double)n)))
        fprintf(stderr, "unfair select: in %ld trials, results were %ld, %ld\n", n, cnt1, cnt2);
    CHECK(e <= 4.891676 / (2 * t_sqrt((double)n)));
    weft_chan_free(g.c1);
    weft_chan_free(g.c2);
    weft_chan_free(g.c3);
    weft_chan_free(g.c4);
    weft_chan_free(g.out);
    weft_chan_free(g.done);
}

/* ---- always-ready buffered channels ----------------------------------------- */

static void four_always_ready_recv_cases(void)
{
    enum { K = 4 };
    weft_chan *c[K];
    for (int i = 0; i < K; i++) {
        c[i] = new_chan(4);
        long v = i;
        CHECK_OK(weft_chan_send(c[i], &v));
    }
    long n = trials(40000, 10000), cnt[K] = { 0 };
    for (long t = 0; t < n; t++) {
        long got = -1;
        weft_case cs[K];
        for (int i = 0; i < K; i++)
            cs[i] = WEFT_CASE_RECV(c[i], &got);
        int k = weft_select(cs, K, (t & 1) ? WEFT_NOWAIT : WEFT_FOREVER);
        CHECK(k >= 0 && k < K);
        CHECK(cs[k].ok);
        CHECK_EQ(got, k);
        cnt[k]++;
        CHECK_OK(weft_chan_send(c[k], &got)); /* refill */
    }
    check_fair(cnt, K, n, 5, "recv");
    for (int i = 0; i < K; i++)
        weft_chan_free(c[i]);
}

/* Two receive cases on channels that always hold a value and two send
   cases on channels that always have room. */
static void four_always_ready_mixed_directions(void)
{
    enum { K = 4 };
    weft_chan *c[K];
    for (int i = 0; i < K; i++)
        c[i] = new_chan(4);
    long v0 = 0, v1 = 1;
    CHECK_OK(weft_chan_send(c[0], &v0));
    CHECK_OK(weft_chan_send(c[1], &v1));
    long n = trials(40000, 10000), cnt[K] = { 0 };
    for (long t = 0; t < n; t++) {
        long got = -1, s2 = 2, s3 = 3;
        weft_case cs[K] = { WEFT_CASE_RECV(c[0], &got), WEFT_CASE_SEND(c[2], &s2),
                            WEFT_CASE_RECV(c[1], &got), WEFT_CASE_SEND(c[3], &s3) };
        int k = weft_select(cs, K, WEFT_NOWAIT);
        CHECK(k >= 0 && k < K);
        CHECK(cs[k].ok);
        cnt[k]++;
        if (k == 0 || k == 2) {
            CHECK_EQ(got, k / 2);
            CHECK_OK(weft_chan_send(cs[k].chan, &got));
        } else {
            long x = -1;
            CHECK_OK(weft_chan_recv(cs[k].chan, &x));
            CHECK_EQ(x, k == 1 ? 2 : 3);
        }
    }
    check_fair(cnt, K, n, 5, "mixed");
    for (int i = 0; i < K; i++) {
        CHECK_EQ(weft_chan_len(c[i]), i < 2 ? 1u : 0u);
        weft_chan_free(c[i]);
    }
}

/* 16 ready cases: the shuffle covers the cases beyond the first 8. */
static void sixteen_ready_cases(void)
{
    enum { K = 16 };
    weft_chan *c[K];
    for (int i = 0; i < K; i++) {
        c[i] = new_chan(2);
        long v = i;
        CHECK_OK(weft_chan_send(c[i], &v));
    }
    long n = trials(64000, 16000), cnt[K] = { 0 };
    for (long t = 0; t < n; t++) {
        long got = -1;
        weft_case cs[K];
        for (int i = 0; i < K; i++)
            cs[i] = WEFT_CASE_RECV(c[i], &got);
        int k = weft_select(cs, K, WEFT_NOWAIT);
        CHECK(k >= 0 && k < K);
        CHECK_EQ(got, k);
        cnt[k]++;
        CHECK_OK(weft_chan_send(c[k], &got));
    }
    check_fair(cnt, K, n, 5, "16 cases");
    for (int i = 0; i < K; i++)
        weft_chan_free(c[i]);
}

/* One channel in cases 0, 1 and 3, another in case 2: each case, not each
   channel, gets a quarter. */
static void duplicate_cases_are_each_fair(void)
{
    enum { K = 4 };
    weft_chan *a = new_chan(1024), *b = new_chan(1024);
    long v = 0;
    for (int i = 0; i < 8; i++) {
        CHECK_OK(weft_chan_send(a, &v));
        CHECK_OK(weft_chan_send(b, &v));
    }
    long n = trials(40000, 10000), cnt[K] = { 0 };
    for (long t = 0; t < n; t++) {
        weft_case cs[K] = { WEFT_CASE_RECV(a, &v), WEFT_CASE_RECV(a, &v), WEFT_CASE_RECV(b, &v),
                            WEFT_CASE_RECV(a, &v) };
        int k = weft_select(cs, K, WEFT_NOWAIT);
        CHECK(k >= 0 && k < K);
        cnt[k]++;
        CHECK_OK(weft_chan_send(cs[k].chan, &v));
    }
    check_fair(cnt, K, n, 5, "duplicates");
    CHECK_EQ(weft_chan_len(a), 8);
    CHECK_EQ(weft_chan_len(b), 8);
    weft_chan_free(a);
    weft_chan_free(b);
}

/* Two ready cases: the first listed does not always win (nor the last),
   and consecutive calls are independent: "same choice as last time" is a
   fair coin too, which a rotation (always alternating) fails. Also with a
   disabled case between them. */
static void first_case_does_not_always_win(void)
{
    weft_chan *a = new_chan(2), *b = new_chan(2);
    long v = 0;
    CHECK_OK(weft_chan_send(a, &v));
    CHECK_OK(weft_chan_send(b, &v));
    for (int layout = 0; layout < 2; layout++) {
        long n = trials(20000, 10000), cnt[2] = { 0 }, same[2] = { 0 };
        int prev = -1;
        for (long t = 0; t < n; t++) {
            weft_case cs[3] = { WEFT_CASE_RECV(a, &v), WEFT_CASE_RECV(b, &v),
                                WEFT_CASE_RECV(NULL, &v) };
            if (layout == 1) { /* first and last, a disabled case between */
                cs[2] = cs[1];
                cs[1] = WEFT_CASE_RECV(NULL, &v);
            }
            int k = weft_select(cs, 3, WEFT_NOWAIT);
            int which = k == 0 ? 0 : 1;
            CHECK(k == 0 || k == (layout ? 2 : 1));
            cnt[which]++;
            if (t > 0)
                same[prev == which]++;
            prev = which;
            CHECK_OK(weft_chan_send(cs[k].chan, &v));
        }
        check_fair(cnt, 2, n, 5, layout ? "first/last" : "first/second");
        check_fair(same, 2, n - 1, 5, "changed/same as previous");
    }
    weft_chan_free(a);
    weft_chan_free(b);
}

/* ---- Go's TestPseudoRandomSend ----------------------------------------------- */

typedef struct prs {
    weft_chan *c;
    long n;
    long *l;
} prs;

static void *prs_receiver(void *p)
{
    prs *x = p;
    for (long i = 0; i < x->n; i++) {
        sched_yield();
        CHECK_OK(weft_chan_recv(x->c, &x->l[i]));
    }
    return NULL;
}

static void go_pseudo_random_send(void)
{
    test_watchdog(60);
    const long n = test_n(1000) < 100 ? 100 : test_n(1000);
    const size_t caps[] = { 0, (size_t)n };
    for (int k = 0; k < 2; k++) {
        prs x = { new_chan(caps[k]), n, calloc((size_t)n, sizeof(long)) };
        CHECK(x.l != NULL);
        pthread_t t = test_thread(prs_receiver, &x);
        for (long i = 0; i < n; i++) {
            long one = 1, zero = 0;
            weft_case cs[] = { WEFT_CASE_SEND(x.c, &one), WEFT_CASE_SEND(x.c, &zero) };
            int r = weft_select(cs, 2, WEFT_FOREVER);
            CHECK(r == 0 || r == 1);
            CHECK(cs[r].ok);
        }
        test_join(t);
        long n0 = 0, n1 = 0;
        for (long i = 0; i < n; i++) {
            CHECK(x.l[i] == 0 || x.l[i] == 1);
            n0 += x.l[i] == 0;
            n1 += x.l[i] == 1;
        }
        printf("(cap %zu: %ld zeros, %ld ones) ", caps[k], n0, n1);
        if (n0 <= n / 10 || n1 <= n / 10)
            fprintf(stderr, "want pseudorandom, got %ld zeros and %ld ones (cap %zu)\n", n0, n1,
                    caps[k]);
        CHECK_GT(n0, n / 10);
        CHECK_GT(n1, n / 10);
        free(x.l);
        weft_chan_free(x.c);
    }
}

/* ---- ready unbuffered partners ----------------------------------------------- */

/* A helper thread that sends (or receives) on an unbuffered channel over
   and over; `started` counts the operations it has begun. The main thread
   waits until the helper has begun operation i and sleeps in the kernel:
   after the counter store the only ways it can sleep are the channel lock
   (uncontended here) and the park of that operation, which follows its
   registration in the channel's queue. So the partner is ready, for sure,
   when the select starts. */
typedef struct partner {
    weft_chan *c;
    bool send;
    atomic_long started;
    _Atomic pid_t tid;
} partner;

static void *partner_main(void *p)
{
    partner *x = p;
    atomic_store(&x->tid, test_gettid());
    for (long i = 1;; i++) {
        long v = i;
        atomic_store(&x->started, i);
        int rc = x->send ? weft_chan_send(x->c, &v) : weft_chan_recv(x->c, &v);
        if (rc == WEFT_ECLOSED)
            return NULL;
        CHECK_OK(rc);
    }
}


static bool proc_works(void)
{
    return test_thread_state(test_gettid()) == 'R';
}

/* Wait until the partner began operation `op` and sleeps in it. */
static void partner_wait_parked(partner *x, long op)
{
    while (atomic_load(&x->started) < op || atomic_load(&x->tid) == 0)
        sched_yield();
    CHECK_EQ(atomic_load(&x->started), op);
    while (test_thread_state(atomic_load(&x->tid)) != 'S')
        sched_yield();
}

static void partner_start(partner *x, pthread_t *t, bool send)
{
    x->c = new_chan(0);
    x->send = send;
    atomic_init(&x->started, 0);
    atomic_init(&x->tid, 0);
    *t = test_thread(partner_main, x);
}

static void partner_stop(partner *x, pthread_t t)
{
    CHECK_OK(weft_chan_close(x->c));
    test_join(t);
    weft_chan_free(x->c);
}

/* select { <-buffered (always a value); <-unbuffered (a parked sender) }
   and the same with send cases: each case half of the time. */
static void buffered_vs_unbuffered_partner(void)
{
    if (!proc_works()) {
        printf("(skipped: no /proc/self/task) ");
        return;
    }
    test_watchdog(60);
    for (int dir = 0; dir < 2; dir++) {
        bool sel_recv = dir == 0;
        partner x;
        pthread_t t;
        partner_start(&x, &t, sel_recv); /* the partner does the opposite */
        weft_chan *b = new_chan(4);
        long v = 0;
        if (sel_recv)
            CHECK_OK(weft_chan_send(b, &v));
        long n = trials(4000, 2000), cnt[2] = { 0 }, ops = 1, last = 0;
        for (long i = 0; i < n; i++) {
            partner_wait_parked(&x, ops);
            long got = -1, mine = -100 - i;
            weft_case cs[2];
            if (sel_recv) {
                cs[0] = WEFT_CASE_RECV(b, &got);
                cs[1] = WEFT_CASE_RECV(x.c, &got);
            } else {
                cs[0] = WEFT_CASE_SEND(b, &mine);
                cs[1] = WEFT_CASE_SEND(x.c, &mine);
            }
            int k = weft_select(cs, 2, WEFT_NOWAIT); /* both ready: never EAGAIN */
            CHECK(k == 0 || k == 1);
            CHECK(cs[k].ok);
            cnt[k]++;
            if (k == 1) {
                if (sel_recv) {
                    CHECK_EQ(got, ops); /* the partner's ops-th value */
                    CHECK_GT(got, last);
                    last = got;
                }
                ops++;
            } else if (sel_recv) {
                CHECK_EQ(got, 0);
                CHECK_OK(weft_chan_send(b, &got));
            } else {
                CHECK_OK(weft_chan_recv(b, &got));
                CHECK_EQ(got, mine);
            }
        }
        check_fair(cnt, 2, n, 5, sel_recv ? "recv: buffered/unbuffered" : "send: buffered/unbuffered");
        partner_stop(&x, t);
        weft_chan_free(b);
    }
}

/* Two unbuffered channels, each with a parked sender. */
static void two_unbuffered_partners(void)
{
    if (!proc_works()) {
        printf("(skipped: no /proc/self/task) ");
        return;
    }
    test_watchdog(60);
    partner x[2];
    pthread_t t[2];
    partner_start(&x[0], &t[0], true);
    partner_start(&x[1], &t[1], true);
    long n = trials(4000, 2000), cnt[2] = { 0 }, ops[2] = { 1, 1 };
    for (long i = 0; i < n; i++) {
        partner_wait_parked(&x[0], ops[0]);
        partner_wait_parked(&x[1], ops[1]);
        long got = -1;
        weft_case cs[] = { WEFT_CASE_RECV(x[0].c, &got), WEFT_CASE_RECV(x[1].c, &got) };
        int k = weft_select(cs, 2, WEFT_NOWAIT);
        CHECK(k == 0 || k == 1);
        CHECK(cs[k].ok);
        CHECK_EQ(got, ops[k]);
        ops[k]++;
        cnt[k]++;
    }
    check_fair(cnt, 2, n, 5, "two partners");
    partner_stop(&x[0], t[0]);
    partner_stop(&x[1], t[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(60);
    TEST_RUN(go_select_fairness);
    test_watchdog(60);
    TEST_RUN(four_always_ready_recv_cases);
    TEST_RUN(four_always_ready_mixed_directions);
    TEST_RUN(sixteen_ready_cases);
    TEST_RUN(duplicate_cases_are_each_fair);
    TEST_RUN(first_case_does_not_always_win);
    TEST_RUN(go_pseudo_random_send);
    TEST_RUN(buffered_vs_unbuffered_partner);
    TEST_RUN(two_unbuffered_partners);
    printf("select_fairness: all passed\n");
    return 0;
}
