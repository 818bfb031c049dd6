/* once_test — weft_once: fn runs exactly once, every caller returns only
 * after it returned, racing first callers park and are all woken, a
 * recursive call aborts with its message.
 */
#include "check.h"
#include "sync_check.h"

/* ---- tests --------------------------------------------------------------- */

typedef struct {
    weft_once once;
    _Atomic int runs;
    _Atomic int finished; /* set by fn just before it returns */
    start_line start;
    _Atomic int early;    /* callers that returned before fn finished */
} race;

static void slow_fn(void *arg)
{
    race *r = arg;
    atomic_fetch_add(&r->runs, 1);
    test_sleep_ms(20); /* the other callers arrive and park meanwhile */
    atomic_store(&r->finished, 1);
}

static void *race_caller(void *arg)
{
    race *r = arg;
    start_line_wait(&r->start);
    weft_once_do(&r->once, slow_fn, r);
    if (!atomic_load(&r->finished))
        atomic_fetch_add(&r->early, 1);
    CHECK(weft_once_done(&r->once));
    return NULL;
}

/* 64 racing first callers: fn runs once, nobody returns before it did. */
static void once_exactly_once_racing(void)
{
    enum { THREADS = 64 };
    int rounds = (int)test_n(10);
    for (int round = 0; round < rounds; round++) {
        race r = { .once = WEFT_ONCE_INIT, .start = { .n = THREADS } };
        test_threads_run(THREADS, race_caller, &r);
        CHECK_EQ(atomic_load(&r.runs), 1);
        CHECK_EQ(atomic_load(&r.early), 0);
        CHECK(weft_once_done(&r.once));
    }
}

static void count_fn(void *arg)
{
    atomic_fetch_add((_Atomic int *)arg, 1);
}

/* weft_once_done is false before and true after; later calls do not run fn;
   a zeroed once is ready, as WEFT_ONCE_INIT is. */
static void once_done_and_zero_value(void)
{
    static weft_once zero; /* static: all-zero */
    weft_once init = WEFT_ONCE_INIT;
    weft_once *onces[2] = { &zero, &init };
    for (int k = 0; k < 2; k++) {
        _Atomic int runs = 0;
        CHECK(!weft_once_done(onces[k]));
        weft_once_do(onces[k], count_fn, &runs);
        CHECK(weft_once_done(onces[k]));
        for (int i = 0; i < 1000; i++)
            weft_once_do(onces[k], count_fn, &runs);
        CHECK_EQ(atomic_load(&runs), 1);
    }
    CHECK(!weft_once_done(NULL));
    CHECK_EQ(sizeof(weft_once), 4);
}

/* What fn wrote is visible to every caller (a plain, non-atomic write). */
typedef struct {
    weft_once once;
    int value; /* written by fn only */
    start_line start;
} publish;

static void publish_fn(void *arg)
{
    publish *p = arg;
    p->value = 42;
}

static void *publish_caller(void *arg)
{
    publish *p = arg;
    start_line_wait(&p->start);
    weft_once_do(&p->once, publish_fn, p);
    CHECK_EQ(p->value, 42);
    return NULL;
}

static void once_publishes_fn_writes(void)
{
    enum { THREADS = 8 };
    int rounds = (int)test_n(500);
    for (int round = 0; round < rounds; round++) {
        publish p = { .once = WEFT_ONCE_INIT, .start = { .n = THREADS } };
        test_threads_run(THREADS, publish_caller, &p);
    }
}

/* Many onces side by side (more than the parking lot has buckets, so keys
   share buckets), each run by racing threads: each fn runs exactly once and
   a wake for one once never releases a waiter of another. */
enum { MANY = 1024, MANY_THREADS = 8 };
typedef struct {
    weft_once once[MANY];
    _Atomic int runs[MANY];
    _Atomic int finished[MANY];
    start_line start;
} many;

typedef struct {
    many *m;
    int i;
} many_arg;

static void many_fn(void *arg)
{
    many_arg *a = arg;
    atomic_fetch_add(&a->m->runs[a->i], 1);
    if (a->i % 64 == 0)
        sched_yield(); /* give the others time to park on this one */
    atomic_store(&a->m->finished[a->i], 1);
}

static void *many_caller(void *arg)
{
    many *m = arg;
    start_line_wait(&m->start);
    for (int i = 0; i < MANY; i++) {
        many_arg a = { m, i };
        weft_once_do(&m->once[i], many_fn, &a);
        CHECK(atomic_load(&m->finished[i]));
    }
    return NULL;
}

static void once_many_share_buckets(void)
{
    int rounds = (int)test_n(20);
    for (int round = 0; round < rounds; round++) {
        many *m = calloc(1, sizeof *m);
        CHECK(m != NULL);
        m->start.n = MANY_THREADS;
        test_threads_run(MANY_THREADS, many_caller, m);
        for (int i = 0; i < MANY; i++)
            CHECK_EQ(atomic_load(&m->runs[i]), 1);
        free(m);
    }
}

static weft_once g_recursive = WEFT_ONCE_INIT;

static void recursive_fn(void *arg)
{
    (void)arg;
    weft_once_do(&g_recursive, recursive_fn, NULL);
}

static void recurse(void)
{
    weft_once_do(&g_recursive, recursive_fn, NULL);
}

/* fn calling weft_once_do on its own once would wait for itself: abort. */
static void once_recursive_call_aborts(void)
{
    expect_abort(recurse, "weft: weft_once_do called recursively from its own fn\n");
}

int main(void)
{
    test_watchdog(40);
    TEST_RUN(once_done_and_zero_value);
    TEST_RUN(once_exactly_once_racing);
    TEST_RUN(once_publishes_fn_writes);
    TEST_RUN(once_many_share_buckets);
    TEST_RUN(once_recursive_call_aborts);
    printf("once: all passed\n");
    return 0;
}
