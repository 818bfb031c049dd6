/* tests/check.h — the few helpers every weft test shares.
 *
 *   CHECK(cond)          abort with file:line and the expression if false
 *   CHECK_EQ(a, b) ...   the same for a comparison, printing both values
 *   test_watchdog(s)     alarm(): a test still running after s seconds prints
 *                        "watchdog: test hung (lost wakeup?)" and exits 1
 *   test_scale()         iteration multiplier: 1.0 in a normal build, smaller
 *                        under sanitizers (WEFT_SANITIZED) or WEFT_TEST_SCALE
 *   test_n(n)            n * test_scale(), at least 1
 *   test_thread(fn, a)   pthread_create or abort;  test_join(t) returns fn's result
 *   test_sleep_ms(ms)    sleep (restarted on EINTR)
 *   TEST_RUN(fn)         run a `static void fn(void)` and print its name
 *
 * Tests use only the public headers and never assert speed: the only timing
 * checks are "did not return before its deadline" and "parked threads use
 * about no CPU".
 */
#ifndef WEFT_TESTS_CHECK_H
#define WEFT_TESTS_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <weft.h>

/* ---- assertions ---------------------------------------------------------- */

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
            fflush(stderr);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* sa, sb: the operands as written (stringified before macro expansion). */
#define CHECK_OP_(a, op, b, sa, sb)                                           \
    do {                                                                      \
        long long check_a_ = (long long)(a);                                  \
        long long check_b_ = (long long)(b);                                  \
        if (!(check_a_ op check_b_)) {                                        \
            fprintf(stderr,                                                   \
                    "%s:%d: CHECK failed: %s %s %s  (%lld %s %lld)\n",        \
                    __FILE__, __LINE__, sa, #op, sb, check_a_, #op,           \
                    check_b_);                                                \
            fflush(stderr);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define CHECK_EQ(a, b) CHECK_OP_(a, ==, b, #a, #b)
#define CHECK_NE(a, b) CHECK_OP_(a, !=, b, #a, #b)
#define CHECK_LT(a, b) CHECK_OP_(a, <, b, #a, #b)
#define CHECK_LE(a, b) CHECK_OP_(a, <=, b, #a, #b)
#define CHECK_GT(a, b) CHECK_OP_(a, >, b, #a, #b)
#define CHECK_GE(a, b) CHECK_OP_(a, >=, b, #a, #b)

/* A weft call that must return 0; prints the code's name if not. */
#define CHECK_OK(expr)                                                        \
    do {                                                                      \
        int check_rc_ = (expr);                                               \
        if (check_rc_ != 0) {                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s returned %d (%s)\n",     \
                    __FILE__, __LINE__, #expr, check_rc_,                     \
                    weft_strerror(check_rc_));                                \
            fflush(stderr);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* A weft call that must return the error `code`. */
#define CHECK_RC(expr, code)                                                  \
    do {                                                                      \
        int check_rc_ = (expr);                                               \
        int check_want_ = (code);                                             \
        if (check_rc_ != check_want_) {                                       \
            fprintf(stderr,                                                   \
                    "%s:%d: CHECK failed: %s returned %d (%s), want %s (%d)\n", \
                    __FILE__, __LINE__, #expr, check_rc_,                     \
                    weft_strerror(check_rc_), #code, check_want_);            \
            fflush(stderr);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* ---- scale --------------------------------------------------------------- */

/* The iteration multiplier: 1.0 normally; in sanitizer builds 0.1 under
   TSan (5-20x slower) and 0.5 under ASan (about 2x slower); 0.25 with
   injected delays (WEFT_INJECT_DELAYS: each race window sleeps now and
   then, which is what such a run is for, not volume).
   WEFT_TEST_SCALE=<float> overrides. */
static inline double test_scale(void)
{
    const char *env = getenv("WEFT_TEST_SCALE");
    if (env && *env) {
        double s = atof(env);
        if (s > 0)
            return s;
    }
#if defined(WEFT_INJECT_DELAYS)
    return 0.25;
#elif defined(__SANITIZE_THREAD__)
    return 0.1;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return 0.1;
#elif defined(WEFT_SANITIZED)
    return 0.5;
#else
    return 1.0;
#endif
#elif defined(WEFT_SANITIZED)
    return 0.5;
#else
    return 1.0;
#endif
}

/* n scaled by test_scale(), never below 1. */
static inline long test_n(long n)
{
    double v = (double)n * test_scale();
    return v < 1 ? 1 : (long)v;
}

/* ---- time ---------------------------------------------------------------- */

/* Nanoseconds per millisecond, and a generous upper bound for "soon" in
   tests of timing (the machine is shared; sanitizers are slow). */
#define MS 1000000LL
#ifdef WEFT_SANITIZED
#define SLACK_MS 5000
#else
#define SLACK_MS 1000
#endif

/* ---- watchdog ------------------------------------------------------------ */

static inline void test_watchdog_handler_(int sig)
{
    static const char msg[] = "watchdog: test hung (lost wakeup?)\n";
    (void)sig;
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

/* Arm (or re-arm) a SIGALRM watchdog: if the process still runs `seconds`
   from now it prints "watchdog: test hung (lost wakeup?)" and exits 1.
   Sanitizer builds get 4x the time. 0 disarms it. */
static inline void test_watchdog(unsigned seconds)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = test_watchdog_handler_;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
#ifdef WEFT_SANITIZED
    seconds *= 4;
#endif
    alarm(seconds);
}

/* ---- threads and time ---------------------------------------------------- */

static inline pthread_t test_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int rc = pthread_create(&t, NULL, fn, arg);
    if (rc != 0) {
        fprintf(stderr, "pthread_create: %s\n", strerror(rc));
        abort();
    }
    return t;
}

static inline void *test_join(pthread_t t)
{
    void *ret = NULL;
    int rc = pthread_join(t, &ret);
    if (rc != 0) {
        fprintf(stderr, "pthread_join: %s\n", strerror(rc));
        abort();
    }
    return ret;
}

static inline void test_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* CPU time used by the whole process so far, in nanoseconds. */
static inline int64_t test_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The share of one core the whole process used over the next ms
   milliseconds (CPU time / wall time): "parked threads use no CPU". */
static inline double test_cpu_share(long ms)
{
    int64_t cpu0 = test_cpu_ns(), wall0 = weft_now();
    test_sleep_ms(ms);
    int64_t cpu = test_cpu_ns() - cpu0, wall = weft_now() - wall0;
    return (double)cpu / (double)wall;
}

/* The calling thread's kernel id. */
static inline pid_t test_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* The scheduler state of a thread of this process ('R', 'S', ...), or 0 if
   /proc cannot tell. */
static inline char test_thread_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* A deterministic per-thread PRNG (xorshift64*); seed must be nonzero. */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- one CPU ------------------------------------------------------------- */

/* If argv[1] is "--one-cpu": pin the process to one CPU and re-execute it
   (weft_ncpus() is read once per process, so the pinning must precede the
   library's first look), then drop the flag from argc/argv. On one CPU weft
   never spins, so every blocking handoff goes through a real park/unpark.
   Exits 77 (ctest SKIP_RETURN_CODE) if the affinity cannot be set. */
static inline void test_one_cpu_from_args(int *argc, char ***argv)
{
    if (*argc < 2 || strcmp((*argv)[1], "--one-cpu") != 0)
        return;
    if (!getenv("WEFT_TEST_PINNED")) {
        cpu_set_t set;
        CPU_ZERO(&set);
        int first = -1;
        if (sched_getaffinity(0, sizeof set, &set) == 0)
            for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
                if (CPU_ISSET(i, &set))
                    first = i;
        CPU_ZERO(&set);
        if (first >= 0)
            CPU_SET(first, &set);
        if (first < 0 || sched_setaffinity(0, sizeof set, &set) != 0) {
            printf("skipped: cannot pin to one CPU\n");
            exit(77);
        }
        setenv("WEFT_TEST_PINNED", "1", 1);
        execv("/proc/self/exe", *argv);
        perror("execv /proc/self/exe");
        exit(1);
    }
    (*argc)--;
    (*argv)++;
    CHECK(weft_ncpus() == 1);
    printf("(pinned to one CPU: every wait parks)\n");
}

/* ---- running ------------------------------------------------------------- */

#define TEST_RUN(fn)                                                          \
    do {                                                                      \
        int64_t test_t0_ = weft_now();                                        \
        printf("%-52s ", #fn);                                                \
        fflush(stdout);                                                       \
        fn();                                                                 \
        printf("ok  (%lld ms)\n",                                             \
               (long long)((weft_now() - test_t0_) / 1000000));               \
        fflush(stdout);                                                       \
    } while (0)

#endif /* WEFT_TESTS_CHECK_H */
