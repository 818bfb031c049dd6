/* go_test — weft_go: tasks run, the pool grows so that tasks blocked on each
 * other complete, idle threads are reused and retire, weft_tasks_live counts.
 *
 *   go_test            the behaviour tests, idle timeout 300 ms
 *   go_test retire     spawn bursts racing with retirement, idle timeout 1 ms
 *
 * The idle timeout is set through WEFT_GO_IDLE_MS before the first weft_go
 * (the pool reads it once).
 */
#include "check.h"
#include "sync_check.h"

static void count_task(void *p)
{
    atomic_fetch_add((_Atomic long *)p, 1);
}

/* ---- basics -------------------------------------------------------------- */

typedef struct {
    int in;   /* written by the caller before weft_go */
    int out;  /* written by the task before its done */
    weft_wg wg;
} handoff;

static void handoff_task(void *p)
{
    handoff *h = p;
    h->out = h->in + 1;
    weft_wg_done(&h->wg);
}

/* fn NULL is WEFT_EINVAL and counts nothing; a task sees what the caller
   wrote before weft_go, and the waiter what the task wrote. */
static void go_runs_and_publishes(void)
{
    CHECK_RC(weft_go(NULL, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_tasks_live(), 0);
    for (int i = 0; i < 1000; i++) {
        handoff h = { .in = i, .wg = WEFT_WG_INIT };
        weft_wg_add(&h.wg, 1);
        CHECK_OK(weft_go(handoff_task, &h));
        weft_wg_wait(&h.wg);
        CHECK_EQ(h.out, i + 1);
    }
    test_wait_tasks_zero();
}

/* Tasks that block until the gate closes; `started` counts those that run
   (and so are on a named pool thread). */
typedef struct {
    weft_chan *c;
    _Atomic int started;
} gate;

static void gate_task(void *p)
{
    gate *g = p;
    atomic_fetch_add(&g->started, 1);
    CHECK_RC(weft_chan_recv(g->c, NULL), WEFT_ECLOSED);
}

static void gate_open(gate *g, int n)
{
    g->c = weft_chan_new(0, 0);
    CHECK(g->c != NULL);
    atomic_store(&g->started, 0);
    for (int i = 0; i < n; i++) {
        CHECK_OK(weft_go(gate_task, g));
        CHECK_GE(weft_tasks_live(), (size_t)i + 1);
    }
    while (atomic_load(&g->started) < n)
        test_sleep_ms(1);
}

static void gate_close(gate *g)
{
    CHECK_OK(weft_chan_close(g->c));
    test_wait_tasks_zero();
    weft_chan_free(g->c);
}

/* weft_tasks_live counts tasks from weft_go until fn returns, blocked ones
   included. */
static void go_tasks_live_counts(void)
{
    enum { N = 20 };
    gate g;
    gate_open(&g, N);
    test_sleep_ms(10);
    CHECK_EQ(weft_tasks_live(), N);
    gate_close(&g);
}

/* ---- growth -------------------------------------------------------------- */

typedef struct {
    weft_chan **c;
    weft_chan *result;
    _Atomic int *started;
    int i;
} link_arg;

/* Task i waits for a value on c[i] and passes it on, plus one, to c[i-1]
   (task 0 to the result channel): only the last task's channel is fed from
   outside, so every task waits for the one spawned after it. */
static void chain_link(void *p)
{
    link_arg *a = p;
    int v;
    atomic_fetch_add(a->started, 1);
    CHECK_OK(weft_chan_recv(a->c[a->i], &v));
    v++;
    CHECK_OK(weft_chan_send(a->i ? a->c[a->i - 1] : a->result, &v));
}

/* 1000 tasks (100 under sanitizers) that all block at once on each other
   complete: the pool grew a thread per blocked task instead of queueing. */
static void go_blocked_chain_completes(void)
{
    int n = (int)test_n(1000);
    weft_chan **c = calloc((size_t)n, sizeof *c);
    link_arg *args = calloc((size_t)n, sizeof *args);
    weft_chan *result = weft_chan_new(sizeof(int), 0);
    CHECK(c && args && result);
    for (int i = 0; i < n; i++) {
        c[i] = weft_chan_new(sizeof(int), 0);
        CHECK(c[i] != NULL);
    }
    _Atomic int started = 0;
    for (int i = 0; i < n; i++) {
        args[i] = (link_arg){ c, result, &started, i };
        CHECK_OK(weft_go(chain_link, &args[i]));
    }
    CHECK_EQ(weft_tasks_live(), (size_t)n);
    while (atomic_load(&started) < n)
        test_sleep_ms(1);
    CHECK_GE(test_pool_threads(), n); /* each blocked task has its own thread */
    int v = 0;
    CHECK_OK(weft_chan_send(c[n - 1], &v));
    CHECK_OK(weft_chan_recv(result, &v));
    CHECK_EQ(v, n);
    test_wait_tasks_zero();
    for (int i = 0; i < n; i++)
        weft_chan_free(c[i]);
    weft_chan_free(result);
    free(args);
    free(c);
}

/* ---- reuse and retirement ------------------------------------------------ */

static void who_task(void *p)
{
    *(pthread_t *)p = pthread_self();
}

/* Tasks started one after the other run on a handful of reused threads,
   not on a new thread each. */
static void go_reuses_idle_threads(void)
{
    enum { N = 200 };
    pthread_t seen[N];
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        weft_wg wg = WEFT_WG_INIT;
        pthread_t self;
        CHECK_OK(weft_wg_go(&wg, who_task, &self));
        weft_wg_wait(&wg);
        int k = 0;
        while (k < distinct && !pthread_equal(seen[k], self))
            k++;
        if (k == distinct)
            seen[distinct++] = self;
        test_sleep_ms(i % 10 == 0); /* now and then the worker is parked */
    }
    CHECK_LE(distinct, 10);
    test_wait_tasks_zero();
}

static void sigmask_task(void *p)
{
    sigset_t cur;
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
    int blocked = sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM) &&
                  sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGALRM);
    atomic_store((_Atomic int *)p, blocked ? 1 : 2);
}

/* Pool threads block every signal; the caller's mask is left as it was. */
static void go_workers_block_signals(void)
{
    sigset_t before, after;
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
    for (int i = 0; i < 20; i++) {
        _Atomic int r = 0;
        CHECK_OK(weft_go(sigmask_task, &r));
        while (atomic_load(&r) == 0)
            sched_yield();
        CHECK_EQ(atomic_load(&r), 1);
        test_wait_tasks_zero();
    }
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
    CHECK_EQ(sigismember(&after, SIGUSR1), sigismember(&before, SIGUSR1));
    CHECK_EQ(sigismember(&after, SIGALRM), 0);
}

/* Idle threads exit after the idle timeout: no pool thread is left. */
static void go_idle_threads_retire(void)
{
    enum { N = 50 };
    gate g;
    gate_open(&g, N);
    CHECK_GE(test_pool_threads(), N);
    gate_close(&g);
    int64_t until = weft_deadline_in(10000000000LL);
    while (test_pool_threads() > 0) {
        CHECK_LT(weft_now(), until);
        test_sleep_ms(20);
    }
}

/* ---- stress -------------------------------------------------------------- */

typedef struct {
    _Atomic long *count;
    int depth;
} nest_arg;

static void nest_task(void *p)
{
    nest_arg *a = p;
    atomic_fetch_add(a->count, 1);
    if (a->depth > 0) {
        nest_arg *child = malloc(sizeof *child);
        CHECK(child != NULL);
        *child = (nest_arg){ a->count, a->depth - 1 };
        CHECK_OK(weft_go(nest_task, child));
    }
    free(a);
}

typedef struct {
    _Atomic long *count;
    long tasks;
    long gap_ms_every; /* 0: no pauses; else a 0-2 ms pause every that many */
} spawner_arg;

static void *spawner(void *p)
{
    spawner_arg *s = p;
    uint64_t seed = (uint64_t)(uintptr_t)s | 1;
    for (long i = 0; i < s->tasks; i++) {
        if (i % 16 == 0) {
            nest_arg *a = malloc(sizeof *a);
            CHECK(a != NULL);
            *a = (nest_arg){ s->count, 3 };
            CHECK_OK(weft_go(nest_task, a));
        } else {
            CHECK_OK(weft_go(count_task, s->count));
        }
        if (s->gap_ms_every && i % s->gap_ms_every == 0)
            test_sleep_ms((long)(test_rand(&seed) % 3));
    }
    return NULL;
}

/* Several threads spawn short tasks (some of which spawn more) at once;
   every task runs exactly once and the live count returns to zero. */
static void run_spawners(long per_thread, long gap_ms_every)
{
    enum { SPAWNERS = 4 };
    _Atomic long count = 0;
    spawner_arg args[SPAWNERS];
    pthread_t t[SPAWNERS];
    for (int i = 0; i < SPAWNERS; i++) {
        args[i] = (spawner_arg){ &count, per_thread, gap_ms_every };
        t[i] = test_thread(spawner, &args[i]);
    }
    for (int i = 0; i < SPAWNERS; i++)
        test_join(t[i]);
    test_wait_tasks_zero();
    long nested = (per_thread + 15) / 16; /* each adds 3 more tasks */
    CHECK_EQ(atomic_load(&count), SPAWNERS * (per_thread + 3 * nested));
}

static void go_spawn_stress(void)
{
    run_spawners(test_n(20000), 0);
}

/* With a 1 ms idle timeout, spawners that pause now and then race with
   workers retiring: a popped worker must still run its task. */
static void go_spawn_races_retirement(void)
{
    for (int round = 0; round < 5; round++)
        run_spawners(test_n(3000), 40);
}

int main(int argc, char **argv)
{
    bool retire = argc > 1 && strcmp(argv[1], "retire") == 0;
    setenv("WEFT_GO_IDLE_MS", retire ? "1" : "300", 1);
    test_watchdog(50);
    if (retire) {
        TEST_RUN(go_spawn_races_retirement);
        TEST_RUN(go_idle_threads_retire);
        printf("go retire: all passed\n");
        return 0;
    }
    TEST_RUN(go_runs_and_publishes);
    TEST_RUN(go_tasks_live_counts);
    TEST_RUN(go_reuses_idle_threads);
    TEST_RUN(go_workers_block_signals);
    TEST_RUN(go_blocked_chain_completes);
    TEST_RUN(go_spawn_stress);
    TEST_RUN(go_idle_threads_retire);
    printf("go: all passed\n");
    return 0;
}
