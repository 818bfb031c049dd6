/* base_test — <weft/base.h>: error codes, weft_strerror, weft_now,
 * weft_deadline_in, WEFT_FOREVER / WEFT_NOWAIT.
 */
#include "check.h"

#include <limits.h>

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The codes are the negative errno values API.md lists, all distinct. */
static void error_codes_are_negative_errno(void)
{
    CHECK_EQ(WEFT_ECLOSED, -EPIPE);
    CHECK_EQ(WEFT_ETIMEDOUT, -ETIMEDOUT);
    CHECK_EQ(WEFT_ECANCELED, -ECANCELED);
    CHECK_EQ(WEFT_EAGAIN, -EAGAIN);
    CHECK_EQ(WEFT_EINVAL, -EINVAL);
    CHECK_EQ(WEFT_ENOMEM, -ENOMEM);

    const int codes[] = { WEFT_ECLOSED, WEFT_ETIMEDOUT, WEFT_ECANCELED,
                          WEFT_EAGAIN, WEFT_EINVAL, WEFT_ENOMEM };
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        CHECK_LT(codes[i], 0);
        for (size_t j = i + 1; j < n; j++)
            CHECK_NE(codes[i], codes[j]);
    }
}

static void deadline_constants(void)
{
    CHECK_EQ(WEFT_NOWAIT, 0);
    CHECK(WEFT_FOREVER == INT64_MAX);
    /* Both are usable as int64_t deadlines. */
    int64_t forever = WEFT_FOREVER, nowait = WEFT_NOWAIT;
    CHECK(forever > weft_now());
    CHECK(nowait <= weft_now());
}

/* Each code has its own non-empty string; 0 has one too; any other int
   (including the positive errno values) is the one "unknown" string. */
static void strerror_every_code(void)
{
    const int codes[] = { 0, WEFT_ECLOSED, WEFT_ETIMEDOUT, WEFT_ECANCELED,
                          WEFT_EAGAIN, WEFT_EINVAL, WEFT_ENOMEM };
    const size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = weft_strerror(-9999);
    CHECK(unknown != NULL);
    CHECK(unknown[0] != '\0');

    for (size_t i = 0; i < n; i++) {
        const char *s = weft_strerror(codes[i]);
        CHECK(s != NULL);
        CHECK(s[0] != '\0');
        CHECK(strcmp(s, unknown) != 0);
        /* stable: the same code gives the same text */
        CHECK(strcmp(s, weft_strerror(codes[i])) == 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s, weft_strerror(codes[j])) != 0);
    }

    const int unknowns[] = { -9999, 1, -1, 12345, INT_MIN, INT_MAX,
                             EPIPE, ETIMEDOUT, EAGAIN, -ENOENT };
    for (size_t i = 0; i < sizeof unknowns / sizeof unknowns[0]; i++) {
        const char *s = weft_strerror(unknowns[i]);
        CHECK(s != NULL);
        CHECK(strcmp(s, unknown) == 0);
    }
}

static void *strerror_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        CHECK(weft_strerror(WEFT_ECLOSED) != NULL);
        CHECK(weft_strerror(i) != NULL);
    }
    return NULL;
}

static void strerror_thread_safe(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        t[i] = test_thread(strerror_thread, NULL);
    for (int i = 0; i < 4; i++)
        test_join(t[i]);
}

/* weft_now is CLOCK_MONOTONIC in nanoseconds and never goes back. */
static void now_is_monotonic_clock(void)
{
    int64_t a = mono_ns();
    int64_t w = weft_now();
    int64_t b = mono_ns();
    CHECK_LE(a, w);
    CHECK_LE(w, b);

    int64_t prev = weft_now();
    for (long i = 0; i < test_n(200000); i++) {
        int64_t t = weft_now();
        CHECK_GE(t, prev);
        prev = t;
    }

    int64_t t0 = weft_now();
    test_sleep_ms(20);
    int64_t t1 = weft_now();
    CHECK_GE(t1 - t0, 20 * 1000000LL);
}

static void *now_thread(void *arg)
{
    (void)arg;
    int64_t prev = weft_now();
    for (long i = 0; i < test_n(100000); i++) {
        int64_t t = weft_now();
        CHECK_GE(t, prev);
        prev = t;
    }
    return NULL;
}

static void now_monotonic_in_threads(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = test_thread(now_thread, NULL);
    for (int i = 0; i < 3; i++)
        test_join(t[i]);
}

static void deadline_in_adds(void)
{
    int64_t a = weft_now();
    int64_t d = weft_deadline_in(0);
    int64_t b = weft_now();
    CHECK_LE(a, d);
    CHECK_LE(d, b);

    const int64_t sec = 1000000000;
    a = weft_now();
    d = weft_deadline_in(sec);
    b = weft_now();
    CHECK_LE(a + sec, d);
    CHECK_LE(d, b + sec);

    a = weft_now();
    d = weft_deadline_in(-sec);
    b = weft_now();
    CHECK_LE(a - sec, d);
    CHECK_LE(d, b - sec);
}

/* Saturates at WEFT_FOREVER; a negative ns gives a deadline in the past,
   never below INT64_MIN + 1. */
static void deadline_in_saturates(void)
{
    CHECK(weft_deadline_in(INT64_MAX) == WEFT_FOREVER);
    CHECK(weft_deadline_in(INT64_MAX - 1) == WEFT_FOREVER);
    /* weft_now() is far above 1000 ns on any running system */
    CHECK(weft_deadline_in(INT64_MAX - 1000) == WEFT_FOREVER);
    /* any ns with now + ns > INT64_MAX saturates */
    int64_t half_now = weft_now() / 2;
    CHECK_GT(half_now, 0);
    CHECK(weft_deadline_in(INT64_MAX - half_now) == WEFT_FOREVER);

    /* a huge but non-overflowing value is exact or saturated, never wrapped */
    int64_t d = weft_deadline_in(INT64_MAX / 2);
    CHECK(d > weft_now());

    int64_t now = weft_now();
    d = weft_deadline_in(-1);
    CHECK(d < weft_now());
    CHECK(d >= now - 1);

    d = weft_deadline_in(INT64_MIN);
    CHECK(d <= weft_now());
    CHECK(d >= INT64_MIN + 1);

    d = weft_deadline_in(INT64_MIN + 1);
    CHECK(d <= weft_now());
    CHECK(d >= INT64_MIN + 1);

    d = weft_deadline_in(-INT64_MAX / 2);
    CHECK(d < weft_now());
}

int main(void)
{
    test_watchdog(20);
    TEST_RUN(error_codes_are_negative_errno);
    TEST_RUN(deadline_constants);
    TEST_RUN(strerror_every_code);
    TEST_RUN(strerror_thread_safe);
    TEST_RUN(now_is_monotonic_clock);
    TEST_RUN(now_monotonic_in_threads);
    TEST_RUN(deadline_in_adds);
    TEST_RUN(deadline_in_saturates);
    printf("base: all passed\n");
    return 0;
}
