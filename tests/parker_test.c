/* parker_test — weft_parker and the spin policy (<weft/lockfree.h>):
 * unpark-before-wait, poll and timeout results, deadlines honoured, a
 * cross-thread wake that publishes data, reset/unparked, concurrent unparks,
 * a ping-pong lost-wakeup hunt, weft_ncpus, and weft_spin_enter/leave
 * (including "no spinning on one CPU", checked in a re-executed child pinned
 * to one CPU).
 */
#include "check.h"

#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>

static void fresh_parker_is_idle(void)
{
    weft_parker p = WEFT_PARKER_INIT;
    CHECK(!weft_parker_unparked(&p));
    weft_parker z;
    memset(&z, 0, sizeof z); /* all-zero is a reset parker */
    CHECK(!weft_parker_unparked(&z));
    CHECK_RC(weft_parker_wait(&z, WEFT_NOWAIT, 0), WEFT_EAGAIN);
}

/* An unpark before the wait makes the wait return 0 at once, whatever the
   deadline and spin count. */
static void unpark_before_wait(void)
{
    weft_parker p = WEFT_PARKER_INIT;
    weft_parker_unpark(&p);
    CHECK(weft_parker_unparked(&p));
    CHECK_OK(weft_parker_wait(&p, WEFT_FOREVER, 0));

    weft_parker_reset(&p);
    weft_parker_unpark(&p);
    CHECK_OK(weft_parker_wait(&p, WEFT_FOREVER, 1000));

    /* a ready parker is ready even for a poll or a passed deadline */
    weft_parker_reset(&p);
    weft_parker_unpark(&p);
    CHECK_OK(weft_parker_wait(&p, WEFT_NOWAIT, 0));
    weft_parker_reset(&p);
    weft_parker_unpark(&p);
    CHECK_OK(weft_parker_wait(&p, weft_now() - 1000, 0));
    weft_parker_reset(&p);
}

/* Unpark any number of times; still one-shot until reset. */
static void unpark_is_idempotent_until_reset(void)
{
    weft_parker p = WEFT_PARKER_INIT;
    for (int i = 0; i < 5; i++)
        weft_parker_unpark(&p);
    CHECK(weft_parker_unparked(&p));
    CHECK_OK(weft_parker_wait(&p, WEFT_FOREVER, 0));
    /* still unparked until reset: a second wait also returns at once */
    CHECK(weft_parker_unparked(&p));
    CHECK_OK(weft_parker_wait(&p, weft_deadline_in(1000000000), 0));
    weft_parker_reset(&p);
    CHECK(!weft_parker_unparked(&p));
    CHECK_RC(weft_parker_wait(&p, WEFT_NOWAIT, 0), WEFT_EAGAIN);
}

static void poll_is_eagain(void)
{
    weft_parker p = WEFT_PARKER_INIT;
    CHECK_RC(weft_parker_wait(&p, WEFT_NOWAIT, 0), WEFT_EAGAIN);
    CHECK_RC(weft_parker_wait(&p, WEFT_NOWAIT, 100), WEFT_EAGAIN);
    CHECK(!weft_parker_unparked(&p));
}

/* A passed deadline other than WEFT_NOWAIT is WEFT_ETIMEDOUT. */
static void passed_deadline_is_etimedout(void)
{
    weft_parker p = WEFT_PARKER_INIT;
    CHECK_RC(weft_parker_wait(&p, 1, 0), WEFT_ETIMEDOUT);
    CHECK_RC(weft_parker_wait(&p, -1, 0), WEFT_ETIMEDOUT);
    CHECK_RC(weft_parker_wait(&p, INT64_MIN + 1, 0), WEFT_ETIMEDOUT);
    CHECK_RC(weft_parker_wait(&p, weft_now(), 0), WEFT_ETIMEDOUT);
    CHECK_RC(weft_parker_wait(&p, weft_deadline_in(-1000000), 50), WEFT_ETIMEDOUT);
    CHECK(!weft_parker_unparked(&p));
}

/* A deadline 50 ms out: WEFT_ETIMEDOUT, and not before the deadline. */
static void timeout_not_before_deadline(void)
{
    weft_parker p = WEFT_PARKER_INIT;
    for (uint32_t spins = 0; spins <= 1000; spins += 1000) {
        int64_t deadline = weft_deadline_in(50 * 1000000LL);
        CHECK_RC(weft_parker_wait(&p, deadline, spins), WEFT_ETIMEDOUT);
        CHECK_GE(weft_now(), deadline);
    }
    /* short deadlines, many times */
    for (int i = 0; i < 20; i++) {
        int64_t deadline = weft_deadline_in(100000 + i * 10000);
        CHECK_RC(weft_parker_wait(&p, deadline, 0), WEFT_ETIMEDOUT);
        CHECK_GE(weft_now(), deadline);
    }
    CHECK(!weft_parker_unparked(&p));
}

/* ---- cross-thread wake ---------------------------------------------------- */

typedef struct wake_arg {
    weft_parker p;
    uint32_t spins;
    int64_t deadline;
    atomic_int waiting;
    int payload;          /* plain data, published by the unpark */
    atomic_int unparked;  /* set just before unpark */
    int rc;
    int seen_payload;
    int unparked_before_return;
} wake_arg;

static void *wake_waiter(void *p)
{
    wake_arg *a = p;
    atomic_store(&a->waiting, 1);
    a->rc = weft_parker_wait(&a->p, a->deadline, a->spins);
    a->unparked_before_return = atomic_load(&a->unparked);
    a->seen_payload = a->payload;
    return NULL;
}

/* A sleeping owner (spins 0: it goes straight to the futex) is woken by an
   unpark from another thread, and sees what the waker wrote before it. */
static void cross_thread_unpark_wakes_sleeper(void)
{
    for (uint32_t spins = 0; spins <= 100000; spins += 100000) {
        for (int deadline_kind = 0; deadline_kind < 2; deadline_kind++) {
            wake_arg a;
            memset(&a, 0, sizeof a);
            a.spins = spins;
            a.deadline = deadline_kind ? weft_deadline_in(60LL * 1000000000) : WEFT_FOREVER;
            pthread_t t = test_thread(wake_waiter, &a);
            while (!atomic_load(&a.waiting))
                test_sleep_ms(1);
            test_sleep_ms(50); /* long past any spin: it sleeps in the kernel */
            a.payload = 12345;
            atomic_store(&a.unparked, 1);
            weft_parker_unpark(&a.p);
            test_join(t);
            CHECK_OK(a.rc);
            CHECK_EQ(a.unparked_before_return, 1);
            CHECK_EQ(a.seen_payload, 12345);
            CHECK(weft_parker_unparked(&a.p));
        }
    }
}

/* ---- many wakers ------------------------------------------------------------ */

typedef struct many {
    weft_parker p;
    atomic_int go;
    atomic_long unparks;
} many;

static void *many_unparker(void *p)
{
    many *m = p;
    while (!atomic_load(&m->go))
        weft_cpu_relax();
    for (int i = 0; i < 100; i++) {
        weft_parker_unpark(&m->p);
        atomic_fetch_add(&m->unparks, 1);
    }
    return NULL;
}

/* Any number of threads may unpark at once; the owner wakes once per
   round and every round ends. */
static void concurrent_unparks(void)
{
    long rounds = test_n(200);
    for (long r = 0; r < rounds; r++) {
        many m;
        memset(&m, 0, sizeof m);
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            t[i] = test_thread(many_unparker, &m);
        atomic_store(&m.go, 1);
        CHECK_OK(weft_parker_wait(&m.p, WEFT_FOREVER, (uint32_t)(r % 2) * 200));
        CHECK(weft_parker_unparked(&m.p));
        for (int i = 0; i < 4; i++)
            test_join(t[i]);
        CHECK_EQ(atomic_load(&m.unparks), 400);
        weft_parker_reset(&m.p);
        CHECK_RC(weft_parker_wait(&m.p, WEFT_NOWAIT, 0), WEFT_EAGAIN);
    }
}

/* ---- ping-pong lost-wakeup hunt ------------------------------------------- */

typedef struct pingpong {
    weft_parker a, b;   /* a: main's parker, b: the peer's */
    uint32_t spins;
    long rounds;
    long ball;          /* plain data handed back and forth */
} pingpong;

static void *pong(void *p)
{
    pingpong *pp = p;
    for (long i = 0; i < pp->rounds; i++) {
        CHECK_OK(weft_parker_wait(&pp->b, WEFT_FOREVER, pp->spins));
        weft_parker_reset(&pp->b);
        CHECK_EQ(pp->ball, 2 * i + 1);
        pp->ball++;
        weft_parker_unpark(&pp->a);
    }
    return NULL;
}

static void ping_pong_run(uint32_t spins, long rounds)
{
    pingpong pp;
    memset(&pp, 0, sizeof pp);
    pp.spins = spins;
    pp.rounds = rounds;
    pthread_t t = test_thread(pong, &pp);
    for (long i = 0; i < rounds; i++) {
        CHECK_EQ(pp.ball, 2 * i);
        pp.ball++;
        weft_parker_unpark(&pp.b);
        CHECK_OK(weft_parker_wait(&pp.a, WEFT_FOREVER, spins));
        weft_parker_reset(&pp.a);
    }
    test_join(t);
    CHECK_EQ(pp.ball, 2 * rounds);
}

/* 100k+ round trips of unpark/wait/reset between two threads: a lost wakeup
   hangs the test and the watchdog reports it. */
static void ping_pong_lost_wakeup_hunt(void)
{
    test_watchdog(45);
    static const uint32_t spins[] = { 0, 64, 2000 };
    for (int i = 0; i < 3; i++) {
        int64_t t0 = weft_now();
        ping_pong_run(spins[i], test_n(60000));
        printf("[spins %u: %lld ms] ", spins[i], (long long)((weft_now() - t0) / 1000000));
    }
    test_watchdog(45);
}

/* Same, with timed waits that mostly do not expire: a timed wait racing an
   unpark still returns 0 exactly when unparked. */
static void *timed_pong(void *p)
{
    pingpong *pp = p;
    for (long i = 0; i < pp->rounds; i++) {
        int rc;
        while ((rc = weft_parker_wait(&pp->b, weft_deadline_in(20000), pp->spins)) ==
               WEFT_ETIMEDOUT) {
        }
        CHECK_OK(rc);
        weft_parker_reset(&pp->b);
        CHECK_EQ(pp->ball, 2 * i + 1);
        pp->ball++;
        weft_parker_unpark(&pp->a);
    }
    return NULL;
}

static void timed_ping_pong(void)
{
    pingpong pp;
    memset(&pp, 0, sizeof pp);
    pp.spins = 0;
    pp.rounds = test_n(20000);
    pthread_t t = test_thread(timed_pong, &pp);
    for (long i = 0; i < pp.rounds; i++) {
        CHECK_EQ(pp.ball, 2 * i);
        pp.ball++;
        weft_parker_unpark(&pp.b);
        int rc;
        while ((rc = weft_parker_wait(&pp.a, weft_deadline_in(30000), 0)) == WEFT_ETIMEDOUT) {
        }
        CHECK_OK(rc);
        weft_parker_reset(&pp.a);
    }
    test_join(t);
    CHECK_EQ(pp.ball, 2 * pp.rounds);
}

/* ---- ncpus and spin policy ------------------------------------------------ */

static void ncpus_matches_affinity(void)
{
    unsigned n = weft_ncpus();
    CHECK_GE(n, 1);
    CHECK_EQ(n, weft_ncpus()); /* read once */
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        CHECK_EQ(n, CPU_COUNT(&set));
    weft_cpu_relax(); /* exists and returns */
}

/* On >= 2 CPUs: a fresh site may spin, at most ncpus grants are out at
   once, and leaving returns the grant. */
static void spin_enter_leave_contract(void)
{
    unsigned n = weft_ncpus();
    if (n < 2) {
        weft_spin s = WEFT_SPIN_INIT;
        CHECK_EQ(weft_spin_enter(&s), 0);
        return;
    }
    enum { MAXS = 64 };
    weft_spin sites[MAXS];
    uint32_t got[MAXS] = { 0 };
    memset(sites, 0, sizeof sites);
    unsigned granted = 0;
    unsigned tries = n + 2 < MAXS ? n + 2 : MAXS;
    for (unsigned i = 0; i < tries; i++) {
        got[i] = weft_spin_enter(&sites[i]);
        if (got[i])
            granted++;
    }
    /* other processes do not count; in this single-threaded moment, the first
       grant must be given and no more than ncpus */
    CHECK_GT(got[0], 0);
    CHECK_LE(granted, n);
    for (unsigned i = 0; i < tries; i++)
        if (got[i])
            weft_spin_leave(&sites[i], got[i], false);

    /* all grants returned: a site may spin again */
    weft_spin s = WEFT_SPIN_INIT;
    uint32_t b = weft_spin_enter(&s);
    CHECK_GT(b, 0);
    weft_spin_leave(&s, 0, true);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The budget adapts: spins that succeed using their whole budget never
   shrink it (it grows toward twice the successful spin); a run of failed
   spins shrinks it. The comparisons use the median of the late budgets, so
   an occasional probe with a larger budget does not matter. Single-threaded,
   on >= 2 CPUs, so the process-wide limit never interferes. */
static void spin_budget_adapts(void)
{
    if (weft_ncpus() < 2)
        return;
    enum { ROUNDS = 200, LATE = 51 };
    uint32_t late[LATE];

    weft_spin s = WEFT_SPIN_INIT;
    uint32_t first = weft_spin_enter(&s);
    CHECK_GT(first, 0);
    weft_spin_leave(&s, first, true);
    for (int i = 0; i < ROUNDS; i++) {
        uint32_t b = weft_spin_enter(&s);
        CHECK_GT(b, 0);
        weft_spin_leave(&s, b, true);
        if (i >= ROUNDS - LATE)
            late[i - (ROUNDS - LATE)] = b;
    }
    qsort(late, LATE, sizeof late[0], cmp_u32);
    CHECK_GE(late[LATE / 2], first);

    weft_spin f = WEFT_SPIN_INIT;
    first = weft_spin_enter(&f);
    CHECK_GT(first, 0);
    weft_spin_leave(&f, first, false);
    for (int i = 0; i < ROUNDS; i++) {
        uint32_t b = weft_spin_enter(&f);
        if (b)
            weft_spin_leave(&f, b, false);
        if (i >= ROUNDS - LATE)
            late[i - (ROUNDS - LATE)] = b;
    }
    qsort(late, LATE, sizeof late[0], cmp_u32);
    CHECK_LT(late[LATE / 2], first);
}

typedef struct spin_arg {
    weft_spin *site;
    atomic_int *spinning;
    atomic_int *max_spinning;
    long iters;
} spin_arg;

static void *spin_worker(void *p)
{
    spin_arg *a = p;
    for (long i = 0; i < a->iters; i++) {
        uint32_t b = weft_spin_enter(a->site);
        if (b) {
            int now = atomic_fetch_add(a->spinning, 1) + 1;
            int m = atomic_load(a->max_spinning);
            while (now > m && !atomic_compare_exchange_weak(a->max_spinning, &m, now)) {
            }
            uint32_t used = b < 50 ? b : 50;
            for (uint32_t k = 0; k < used; k++)
                weft_cpu_relax();
            atomic_fetch_sub(a->spinning, 1);
            weft_spin_leave(a->site, used, (i & 1) != 0);
        }
    }
    return NULL;
}

/* Threads hammering one site: never more than ncpus hold a grant. */
static void spin_limit_under_contention(void)
{
    weft_spin site = WEFT_SPIN_INIT;
    atomic_int spinning = 0, max_spinning = 0;
    spin_arg a = { &site, &spinning, &max_spinning, test_n(20000) };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        t[i] = test_thread(spin_worker, &a);
    for (int i = 0; i < 4; i++)
        test_join(t[i]);
    int max_seen = atomic_load(&max_spinning), left = atomic_load(&spinning);
    CHECK_LE(max_seen, (int)weft_ncpus());
    CHECK_EQ(left, 0);
}

/* Runs in a child re-executed with a one-CPU affinity mask. */
static int one_cpu_child(void)
{
    CHECK_EQ(weft_ncpus(), 1);
    weft_spin s = WEFT_SPIN_INIT;
    for (int i = 0; i < 100; i++)
        CHECK_EQ(weft_spin_enter(&s), 0);
    /* parking still works with no spinning */
    weft_parker p = WEFT_PARKER_INIT;
    weft_parker_unpark(&p);
    CHECK_OK(weft_parker_wait(&p, WEFT_FOREVER, 1000));
    CHECK_RC(weft_parker_wait(&(weft_parker)WEFT_PARKER_INIT, weft_deadline_in(1000000), 1000),
             WEFT_ETIMEDOUT);
    return 0;
}

/* On a one-CPU affinity mask weft_ncpus() is 1 and weft_spin_enter always
   says "park at once". ncpus is read once per process, so the check runs in
   a fresh process: fork, pin to one CPU, exec this test again. */
static void one_cpu_never_spins(void)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        printf("(skipped: no /proc/self/exe) ");
        return;
    }
    exe[len] = '\0';
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof set, &set) != 0)
            _exit(77);
        int first = -1;
        for (int i = 0; i < CPU_SETSIZE; i++)
            if (CPU_ISSET(i, &set)) {
                first = i;
                break;
            }
        if (first < 0)
            _exit(77);
        CPU_ZERO(&set);
        CPU_SET(first, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            _exit(77);
        execl(exe, exe, "--one-cpu", (char *)NULL);
        _exit(78);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        printf("(skipped: cannot set affinity) ");
        return;
    }
    CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--one-cpu") == 0)
        return one_cpu_child();

    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(45);
    TEST_RUN(one_cpu_never_spins);
    TEST_RUN(fresh_parker_is_idle);
    TEST_RUN(unpark_before_wait);
    TEST_RUN(unpark_is_idempotent_until_reset);
    TEST_RUN(poll_is_eagain);
    TEST_RUN(passed_deadline_is_etimedout);
    TEST_RUN(timeout_not_before_deadline);
    TEST_RUN(cross_thread_unpark_wakes_sleeper);
    TEST_RUN(concurrent_unparks);
    TEST_RUN(ping_pong_lost_wakeup_hunt);
    TEST_RUN(timed_ping_pong);
    TEST_RUN(ncpus_matches_affinity);
    TEST_RUN(spin_budget_adapts);
    TEST_RUN(spin_enter_leave_contract);
    TEST_RUN(spin_limit_under_contention);
    printf("parker: all passed\n");
    return 0;
}
