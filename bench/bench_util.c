/* bench_util.c — sizes, clocks, the start gate and percentiles for the C
 * benchmark bodies (see bench.h).
 *
 * The start gate. bench_run_threads creates every worker first; each one
 * announces itself (ready count, under a mutex, so the main thread can sleep
 * until all are there) and then sleeps on a futex word until the main thread
 * flips it and wakes them all with one FUTEX_WAKE. Only then does the timed
 * region begin: each worker reads CLOCK_MONOTONIC and its thread CPU clock as
 * the first thing after the gate opens, and again as the last thing when its
 * work is done. The region is [min start, max end], so thread creation,
 * the wait for stragglers and pthread_join are never timed.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- sizes ---------------------------------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return dflt;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v == 0)
        return dflt;
    return (uint64_t)v;
}

uint64_t bench_msgs(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_MSGS", 5000000);
    return v;
}

uint64_t bench_slow_msgs(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_SLOW_MSGS", 200000);
    return v;
}

uint64_t bench_rtt_rounds(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_RTT_ROUNDS", 200000);
    return v;
}

uint64_t bench_park_ms(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_PARK_MS", 1000);
    return v;
}

uint64_t bench_select_msgs(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_SELECT_MSGS", 2000000);
    return v;
}

uint64_t bench_sync_ops(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_SYNC_OPS", 50000000);
    return v;
}

uint64_t bench_sync_slow_ops(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_SYNC_SLOW_OPS", 1000000);
    return v;
}

uint64_t bench_spawns(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_SPAWNS", 20000);
    return v;
}

uint64_t bench_cancel_rounds(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_CANCEL_ROUNDS", 50);
    return v;
}

uint64_t bench_scale_msgs(void)
{
    static uint64_t v;
    if (v == 0)
        v = env_u64("WEFT_BENCH_SCALE_MSGS", 2000000);
    return v;
}

/* ---- clocks ------------------------------------------------------------- */

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t bench_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

void bench_sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The state letter of /proc/self/task/<tid>/stat ('S': asleep), or 0. */
static char task_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0)
        return 0;
    buf[k] = '\0';
    char *rp = strrchr(buf, ')'); /* the name may contain anything */
    return rp != NULL && rp[1] == ' ' ? rp[2] : 0;
}

bool bench_all_asleep(const pid_t *tids, int n, int64_t give_up_ns, int64_t poll_ns)
{
    for (int clean = 0; clean < 2;) {
        bool all = true;
        for (int i = 0; i < n && all; i++)
            all = task_state(tids[i]) == 'S';
        if (all) {
            clean++;
            continue;
        }
        clean = 0;
        if (bench_now_ns() > give_up_ns)
            return false;
        bench_sleep_ns(poll_ns);
    }
    return true;
}
int64_t bench_thread_cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }
int64_t bench_process_cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

void bench_counter_add(bench_result *r, const char *name, double value)
{
    if (r->ncounters >= BENCH_MAX_COUNTERS)
        return;
    r->counters[r->ncounters].name = name;
    r->counters[r->ncounters].value = value;
    r->ncounters++;
}

/* ---- threads and the start gate ----------------------------------------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t all_ready;
    int ready;
    _Atomic uint32_t open;      /* futex word: 0 closed, 1 open, 2 aborted */
} gate;

typedef struct worker {
    pthread_t tid;
    gate *g;
    bench_worker_fn fn;
    void *ctx;
    int index;
    int64_t t0, t1, c0, c1;
} worker;

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void *worker_main(void *p)
{
    worker *w = p;
    gate *g = w->g;
    pthread_mutex_lock(&g->mu);
    g->ready++;
    pthread_cond_signal(&g->all_ready);
    pthread_mutex_unlock(&g->mu);
    uint32_t s;
    while ((s = atomic_load_explicit(&g->open, memory_order_acquire)) == 0)
        futex_wait(&g->open, 0);
    if (s == 2)
        return NULL;
    w->t0 = bench_now_ns();
    w->c0 = bench_thread_cpu_ns();
    w->fn(w->ctx, w->index);
    w->c1 = bench_thread_cpu_ns();
    w->t1 = bench_now_ns();
    return NULL;
}

int bench_run_threads(int n, bench_worker_fn fn, void *ctx, bench_result *out)
{
    gate g;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.all_ready, NULL);
    g.ready = 0;
    atomic_init(&g.open, 0);
    worker *ws = calloc((size_t)n, sizeof *ws);
    if (ws == NULL) {
        out->error = "out of memory for worker threads";
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int created = 0;
    for (; created < n; created++) {
        worker *w = &ws[created];
        w->g = &g;
        w->fn = fn;
        w->ctx = ctx;
        w->index = created;
        if (pthread_create(&w->tid, &attr, worker_main, w) != 0)
            break;
    }
    pthread_attr_destroy(&attr);

    pthread_mutex_lock(&g.mu);
    while (g.ready < created)
        pthread_cond_wait(&g.all_ready, &g.mu);
    pthread_mutex_unlock(&g.mu);

    int rc = 0;
    if (created < n) {
        atomic_store_explicit(&g.open, 2, memory_order_release);
        out->error = "pthread_create failed";
        rc = -1;
    } else {
        /* Release: the timed region starts when the first worker wakes. */
        atomic_store_explicit(&g.open, 1, memory_order_release);
    }
    futex_wake_all(&g.open);
    for (int i = 0; i < created; i++)
        pthread_join(ws[i].tid, NULL);

    if (rc == 0) {
        int64_t t0 = INT64_MAX, t1 = INT64_MIN, cpu = 0;
        for (int i = 0; i < n; i++) {
            if (ws[i].t0 < t0)
                t0 = ws[i].t0;
            if (ws[i].t1 > t1)
                t1 = ws[i].t1;
            cpu += ws[i].c1 - ws[i].c0;
        }
        out->seconds = (double)(t1 - t0) * 1e-9;
        out->cpu_seconds = (double)cpu * 1e-9;
    }
    free(ws);
    pthread_cond_destroy(&g.all_ready);
    pthread_mutex_destroy(&g.mu);
    return rc;
}

/* ---- peak RSS ------------------------------------------------------------- */

int bench_peak_rss_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, "5", 1);
    close(fd);
    return n == 1 ? 0 : -1;
}

double bench_peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return -1;
    char line[256];
    double kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long v;
        if (sscanf(line, "VmHWM: %llu kB", &v) == 1) {
            kib = (double)v;
            break;
        }
    }
    fclose(f);
    return kib;
}

/* ---- percentiles -------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void bench_sort_i64(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_i64);
}

double bench_quantile_sorted(int64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(q * (double)n);  /* nearest rank, 0-based */
    if (k >= n)
        k = n - 1;
    return (double)v[k];
}
