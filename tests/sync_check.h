/* tests/sync_check.h — helpers shared by the once, waitgroup and task tests
 * (on top of check.h):
 *
 *   start_line           every thread waits at it until all n have arrived,
 *                        so that first calls really race
 *   test_threads_run(n, fn, arg)  run fn(arg) on n new threads, join them all
 *   expect_abort(fn, m)  run fn in a forked child with stderr captured; check
 *                        that it died of SIGABRT after printing m
 *   test_pool_threads()  the number of weft_go pool threads of this process
 *                        (/proc/self/task/<tid>/comm is "weft-go")
 *   test_wait_tasks_zero()  poll weft_tasks_live() until 0 (a task stops
 *                        counting when its fn returns, just after whatever
 *                        the test waited for); fails after 5 s
 */
#ifndef WEFT_TESTS_SYNC_CHECK_H
#define WEFT_TESTS_SYNC_CHECK_H

#include "check.h"

#include <dirent.h>
#include <stdatomic.h>
#include <sys/wait.h>

typedef struct {
    _Atomic int arrived;
    int n;
} start_line;

static inline void start_line_wait(start_line *s)
{
    atomic_fetch_add(&s->arrived, 1);
    while (atomic_load(&s->arrived) < s->n)
        sched_yield();
}

static inline void test_threads_run(int n, void *(*fn)(void *), void *arg)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    CHECK(t != NULL);
    for (int i = 0; i < n; i++)
        t[i] = test_thread(fn, arg);
    for (int i = 0; i < n; i++)
        test_join(t[i]);
    free(t);
}

static inline void expect_abort(void (*fn)(void), const char *want)
{
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0); /* reached only if fn did not abort */
    }
    close(fds[1]);
    char buf[512];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fds[0]);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT || strstr(buf, want) == NULL) {
        fprintf(stderr, "child status %#x printed \"%s\", want SIGABRT and \"%s\"\n", status, buf,
                want);
        CHECK(0);
    }
}

static inline int test_pool_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[64], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%.20s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread just exited */
        if (fgets(comm, sizeof comm, f) && strcmp(comm, "weft-go\n") == 0)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

static inline void test_wait_tasks_zero(void)
{
    int64_t until = weft_deadline_in(5000000000LL);
    while (weft_tasks_live() != 0) {
        CHECK_LT(weft_now(), until);
        test_sleep_ms(1);
    }
}

#endif /* WEFT_TESTS_SYNC_CHECK_H */
