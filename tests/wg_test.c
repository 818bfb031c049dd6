/* wg_test — weft_wg: counting, waking every waiter, timed waits, reuse,
 * freeing right after wait returns, misuse aborts.
 *
 *   wg_test [--one-cpu]
 *
 * With --one-cpu every handoff goes through a real park and unpark.
 */
#include "check.h"
#include "sync_check.h"

/* ---- basics -------------------------------------------------------------- */

static void wg_zero_value_waits_not(void)
{
    static weft_wg zero; /* static: all-zero */
    weft_wg init = WEFT_WG_INIT;
    CHECK_EQ(sizeof(weft_wg), 8);
    int64_t t0 = weft_now();
    weft_wg_wait(&zero);
    weft_wg_wait(&init);
    CHECK_OK(weft_wg_wait_until(&zero, WEFT_NOWAIT));
    CHECK_OK(weft_wg_wait_until(&init, weft_now() - 1));
    CHECK_OK(weft_wg_wait_until(&init, WEFT_FOREVER));
    CHECK_LT(weft_now() - t0, 1000000000LL);

    weft_wg_add(&init, 0); /* nothing */
    CHECK_OK(weft_wg_wait_until(&init, WEFT_NOWAIT));
    weft_wg_add(&init, 3);
    CHECK_RC(weft_wg_wait_until(&init, WEFT_NOWAIT), WEFT_EAGAIN);
    weft_wg_add(&init, -2);
    CHECK_RC(weft_wg_wait_until(&init, WEFT_NOWAIT), WEFT_EAGAIN);
    weft_wg_done(&init);
    CHECK_OK(weft_wg_wait_until(&init, WEFT_NOWAIT));
    CHECK_RC(weft_wg_wait_until(NULL, WEFT_FOREVER), WEFT_EINVAL);
}

/* wait_until: WEFT_ETIMEDOUT, never before the deadline; WEFT_EAGAIN for a
   poll; ETIMEDOUT for a deadline already in the past. */
static void wg_wait_until_times_out(void)
{
    weft_wg wg = WEFT_WG_INIT;
    weft_wg_add(&wg, 1);
    for (int i = 0; i < 5; i++) {
        int64_t deadline = weft_deadline_in(20000000LL * (i + 1));
        CHECK_RC(weft_wg_wait_until(&wg, deadline), WEFT_ETIMEDOUT);
        CHECK_GE(weft_now(), deadline);
    }
    CHECK_RC(weft_wg_wait_until(&wg, WEFT_NOWAIT), WEFT_EAGAIN);
    CHECK_RC(weft_wg_wait_until(&wg, weft_now() - 1000), WEFT_ETIMEDOUT);
    CHECK_RC(weft_wg_wait_until(&wg, 1), WEFT_ETIMEDOUT);
    weft_wg_done(&wg);
    CHECK_OK(weft_wg_wait_until(&wg, WEFT_NOWAIT));
}

typedef struct {
    weft_wg *wg;
    _Atomic int *flag;
    long delay_ms;
} done_later_arg;

static void done_later(void *p)
{
    done_later_arg *a = p;
    test_sleep_ms(a->delay_ms);
    atomic_store(a->flag, 1);
    weft_wg_done(a->wg);
}

/* A timed waiter is woken by the done, long before its deadline. */
static void wg_wait_until_woken_by_done(void)
{
    weft_wg wg = WEFT_WG_INIT;
    _Atomic int flag = 0;
    done_later_arg a = { &wg, &flag, 30 };
    weft_wg_add(&wg, 1);
    int64_t t0 = weft_now();
    CHECK_OK(weft_go(done_later, &a));
    CHECK_OK(weft_wg_wait_until(&wg, weft_deadline_in(20000000000LL)));
    CHECK(atomic_load(&flag));
    CHECK_LT(weft_now() - t0, 10000000000LL);
    test_wait_tasks_zero();
}

/* ---- weft_wg_go ---------------------------------------------------------- */

typedef struct {
    _Atomic long *sum;
    long value;
} add_arg;

static void add_value(void *p)
{
    add_arg *a = p;
    atomic_fetch_add(a->sum, a->value);
}

/* 1000 tasks through weft_wg_go, summed; the wait sees every task's write,
   and every task has stopped counting in weft_tasks_live by then. */
static void wg_go_sums_1000_tasks(void)
{
    enum { N = 1000 };
    static add_arg args[N];
    _Atomic long sum = 0;
    weft_wg wg = WEFT_WG_INIT;
    for (int i = 0; i < N; i++) {
        args[i] = (add_arg){ &sum, i + 1 };
        CHECK_OK(weft_wg_go(&wg, add_value, &args[i]));
    }
    weft_wg_wait(&wg);
    CHECK_EQ(atomic_load(&sum), (long)N * (N + 1) / 2);
    CHECK_EQ(weft_tasks_live(), 0);

    CHECK_RC(weft_wg_go(NULL, add_value, &args[0]), WEFT_EINVAL);
    CHECK_RC(weft_wg_go(&wg, NULL, &args[0]), WEFT_EINVAL);
    CHECK_OK(weft_wg_wait_until(&wg, WEFT_NOWAIT)); /* nothing was added */
}

/* One waitgroup reused for many rounds of a few tasks each. */
static void wg_reuse_many_rounds(void)
{
    weft_wg wg = WEFT_WG_INIT;
    _Atomic long sum = 0;
    add_arg a = { &sum, 1 };
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    long rounds = test_n(3000), want = 0;
    for (long r = 0; r < rounds; r++) {
        int k = 1 + (int)(test_rand(&seed) % 8);
        for (int i = 0; i < k; i++)
            CHECK_OK(weft_wg_go(&wg, add_value, &a));
        want += k;
        if (r % 2)
            weft_wg_wait(&wg);
        else
            CHECK_OK(weft_wg_wait_until(&wg, weft_deadline_in(10000000000LL)));
        CHECK_EQ(atomic_load(&sum), want);
    }
    CHECK_EQ(weft_tasks_live(), 0);
}

/* ---- many waiters -------------------------------------------------------- */

typedef struct {
    weft_wg wg;
    _Atomic int released; /* set just before the last done */
    _Atomic int woken;
    _Atomic int parked;   /* waiters that are about to wait */
} crowd;

static void *crowd_waiter(void *p)
{
    crowd *c = p;
    if (atomic_fetch_add(&c->parked, 1) % 2)
        weft_wg_wait(&c->wg);
    else
        CHECK_OK(weft_wg_wait_until(&c->wg, weft_deadline_in(30000000000LL)));
    CHECK(atomic_load(&c->released));
    atomic_fetch_add(&c->woken, 1);
    return NULL;
}

/* Every waiter is woken by the one done that brings the counter to zero. */
static void wg_many_waiters_all_woken(void)
{
    enum { WAITERS = 32 };
    int rounds = (int)test_n(20);
    for (int r = 0; r < rounds; r++) {
        crowd c = { .wg = WEFT_WG_INIT };
        weft_wg_add(&c.wg, 2);
        pthread_t t[WAITERS];
        for (int i = 0; i < WAITERS; i++)
            t[i] = test_thread(crowd_waiter, &c);
        while (atomic_load(&c.parked) < WAITERS)
            sched_yield();
        test_sleep_ms(r % 3 == 0 ? 5 : 0); /* mostly parked, sometimes racing */
        weft_wg_done(&c.wg);
        test_sleep_ms(1);
        CHECK_EQ(atomic_load(&c.woken), 0); /* counter still 1 */
        atomic_store(&c.released, 1);
        weft_wg_done(&c.wg);
        for (int i = 0; i < WAITERS; i++)
            test_join(t[i]);
        CHECK_EQ(atomic_load(&c.woken), WAITERS);
    }
}

/* ---- lifetime: freed as soon as wait returns ----------------------------- */

typedef struct {
    weft_wg *wg;
    unsigned spin;
    long *payload; /* this task's slot: a plain write, published by the done */
} free_arg;

static void free_task(void *p)
{
    free_arg *a = p;
    for (unsigned i = 0; i < a->spin; i++)
        weft_cpu_relax();
    *a->payload = 1;
    weft_wg_done(a->wg);
}

static void *free_thread(void *p)
{
    free_task(p);
    free(p);
    return NULL;
}

/* The waiter frees (and poisons, under ASan) the waitgroup the moment its
   wait returns, while the last done may still be inside weft_wg_done: any
   touch of the waitgroup after the wake is a use-after-free that ASan
   reports. Half the rounds use a pool task, half a fresh thread (so the
   done runs on a thread that is not warm). */
static void wg_freed_right_after_wait(void)
{
    long rounds = test_n(10000);
    uint64_t seed = 12345;
    for (long r = 0; r < rounds; r++) {
        weft_wg *wg = malloc(sizeof *wg);
        long *payload = calloc(2, sizeof *payload);
        CHECK(wg && payload);
        *wg = (weft_wg)WEFT_WG_INIT;
        unsigned spin = (unsigned)(test_rand(&seed) % 2000);
        int dones = 1 + (int)(r % 2);
        weft_wg_add(wg, dones);
        free_arg *args[2];
        pthread_t threads[2];
        for (int d = 0; d < dones; d++) {
            args[d] = malloc(sizeof **args);
            CHECK(args[d] != NULL);
            *args[d] = (free_arg){ wg, spin * (unsigned)d, &payload[d] };
        }
        if (r % 4 < 2) {
            for (int d = 0; d < dones; d++)
                CHECK_OK(weft_go(free_task, args[d]));
        } else {
            for (int d = 0; d < dones; d++)
                threads[d] = test_thread(free_thread, args[d]);
        }
        if (r % 3 == 0)
            CHECK_OK(weft_wg_wait_until(wg, weft_deadline_in(10000000000LL)));
        else
            weft_wg_wait(wg);
        CHECK_EQ(payload[0] + payload[1], dones);
        free(wg);
        free(payload);
        if (r % 4 < 2) {
            for (int d = 0; d < dones; d++)
                free(args[d]); /* a task touches its arg only before its done */
        } else {
            for (int d = 0; d < dones; d++)
                test_join(threads[d]);
        }
    }
}

/* ---- timeouts racing with the done --------------------------------------- */

typedef struct {
    weft_wg wg;
    _Atomic int done_flag;
} race_wg;

static void *race_done(void *p)
{
    race_wg *w = p;
    atomic_store(&w->done_flag, 1);
    weft_wg_done(&w->wg);
    return NULL;
}

/* Short timed waits while the done lands: a wait that returns 0 saw the
   done (its flag), one that times out did so at or after its deadline, and
   a later wait always succeeds (a timed-out waiter left nothing behind that
   would block or lose the next wake). */
static void wg_timeouts_race_done(void)
{
    long rounds = test_n(5000);
    uint64_t seed = 777;
    for (long r = 0; r < rounds; r++) {
        race_wg w = { .wg = WEFT_WG_INIT };
        weft_wg_add(&w.wg, 1);
        pthread_t t = test_thread(race_done, &w);
        int rc;
        do {
            int64_t deadline = weft_deadline_in((int64_t)(test_rand(&seed) % 50000));
            rc = weft_wg_wait_until(&w.wg, deadline);
            if (rc == 0)
                CHECK(atomic_load(&w.done_flag));
            else {
                CHECK_RC(rc, WEFT_ETIMEDOUT);
                CHECK_GE(weft_now(), deadline);
            }
        } while (rc != 0);
        test_join(t);
        weft_wg_add(&w.wg, 1); /* reuse after a round with timed-out waiters */
        weft_wg_done(&w.wg);
        weft_wg_wait(&w.wg);
    }
}

/* ---- many waitgroups in the same buckets --------------------------------- */

enum { GROUPS = 1024, GROUP_WAITERS = 8 };
typedef struct {
    weft_wg wg[GROUPS];
    _Atomic int flag[GROUPS];
} groups;

typedef struct {
    groups *g;
    int first;
} groups_arg;

static void *groups_waiter(void *p)
{
    groups_arg *a = p;
    for (int i = a->first; i < GROUPS; i += GROUP_WAITERS) {
        weft_wg_wait(&a->g->wg[i]);
        CHECK(atomic_load(&a->g->flag[i]));
    }
    return NULL;
}

/* More waitgroups than the parking lot has buckets, finished in a shuffled
   order: a wake for one key never loses or strands a waiter of another key
   that shares its bucket. */
static void wg_many_groups_share_buckets(void)
{
    int rounds = (int)test_n(10);
    uint64_t seed = 4242;
    for (int r = 0; r < rounds; r++) {
        groups *g = calloc(1, sizeof *g);
        CHECK(g != NULL);
        int order[GROUPS];
        for (int i = 0; i < GROUPS; i++) {
            weft_wg_add(&g->wg[i], 1);
            order[i] = i;
        }
        for (int i = GROUPS - 1; i > 0; i--) {
            int j = (int)(test_rand(&seed) % (uint64_t)(i + 1)), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        groups_arg args[GROUP_WAITERS];
        pthread_t t[GROUP_WAITERS];
        for (int k = 0; k < GROUP_WAITERS; k++) {
            args[k] = (groups_arg){ g, k };
            t[k] = test_thread(groups_waiter, &args[k]);
        }
        for (int i = 0; i < GROUPS; i++) {
            atomic_store(&g->flag[order[i]], 1);
            weft_wg_done(&g->wg[order[i]]);
            if (i % 128 == 0)
                test_sleep_ms(1); /* let the waiters park */
        }
        for (int k = 0; k < GROUP_WAITERS; k++)
            test_join(t[k]);
        free(g);
    }
}

/* ---- misuse -------------------------------------------------------------- */

static void negative_from_zero(void)
{
    weft_wg wg = WEFT_WG_INIT;
    weft_wg_done(&wg);
}

static void negative_after_round(void)
{
    weft_wg wg = WEFT_WG_INIT;
    weft_wg_add(&wg, 2);
    weft_wg_add(&wg, -3);
}

static void overflow(void)
{
    weft_wg wg = WEFT_WG_INIT;
    weft_wg_add(&wg, INT32_MAX);
    weft_wg_add(&wg, 1);
}

static void null_add(void)
{
    weft_wg_add(NULL, 1);
}

/* A counter that goes negative aborts with one line; so do overflow and a
   NULL waitgroup (each in a forked child). */
static void wg_misuse_aborts(void)
{
    expect_abort(negative_from_zero, "weft: negative waitgroup counter\n");
    expect_abort(negative_after_round, "weft: negative waitgroup counter\n");
    expect_abort(overflow, "weft: waitgroup counter overflow\n");
    expect_abort(null_add, "weft: weft_wg_add: NULL waitgroup\n");
}

int main(int argc, char **argv)
{
    test_one_cpu_from_args(&argc, &argv);
    test_watchdog(50);
    TEST_RUN(wg_zero_value_waits_not);
    TEST_RUN(wg_wait_until_times_out);
    TEST_RUN(wg_wait_until_woken_by_done);
    TEST_RUN(wg_go_sums_1000_tasks);
    TEST_RUN(wg_reuse_many_rounds);
    TEST_RUN(wg_many_waiters_all_woken);
    TEST_RUN(wg_freed_right_after_wait);
    TEST_RUN(wg_timeouts_race_done);
    TEST_RUN(wg_many_groups_share_buckets);
    TEST_RUN(wg_misuse_aborts);
    test_wait_tasks_zero();
    printf("wg: all passed\n");
    return 0;
}
