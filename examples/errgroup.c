/* errgroup.c — golang.org/x/sync/errgroup as weft_group: tasks share the
 * group's context; the first to fail cancels it, the others notice and stop,
 * and wait returns that first error. A limit bounds the tasks running at
 * once. Built and run by ctest as example_errgroup.
 */
#include <weft.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define MS 1000000LL /* nanoseconds */
enum { ERR_NOT_FOUND = 404 }; /* a task's own error: any non-zero int */

/* Sleep ns unless ctx is done first: 0, or the context's error. */
static int sleep_ctx(weft_ctx *ctx, int64_t ns)
{
    if (weft_chan_recv_until(weft_ctx_done(ctx), NULL, weft_deadline_in(ns)) == WEFT_ETIMEDOUT)
        return 0;
    return weft_ctx_err(ctx);
}

/* ---- first error cancels the rest ------------------------------------- */

static atomic_int stopped; /* tasks that stopped because the context was canceled */

static int fetch(weft_ctx *ctx, void *arg)
{
    int id = (int)(intptr_t)arg; /* the value itself, passed by argument */
    if (id == 2) {
        sleep_ctx(ctx, 20 * MS);
        return ERR_NOT_FOUND;       /* fails: the group's context is canceled */
    }
    int rc = sleep_ctx(ctx, 10000 * MS); /* 10 s of work, watching ctx */
    if (rc != 0)
        atomic_fetch_add(&stopped, 1);
    return rc;                      /* WEFT_ECANCELED: too late to be "the" error */
}

/* ---- set_limit: at most 2 at once -------------------------------------- */

static atomic_int running, most, ran;

static int limited(weft_ctx *ctx, void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&running, 1) + 1;
    for (int m = atomic_load(&most); now > m && !atomic_compare_exchange_weak(&most, &m, now);)
        ;
    sleep_ctx(ctx, 20 * MS); /* some work */
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&ran, 1);
    return 0;
}

int main(void)
{
    int64_t t0 = weft_now();
    weft_group *g = weft_group_new(NULL);
    if (!g)
        return 1;
    for (int i = 0; i < 4; i++)
        weft_group_go(g, fetch, (void *)(intptr_t)i);
    int err = weft_group_wait(g); /* every task returned; the first error */
    int64_t ms = (weft_now() - t0) / MS;
    int canceled = weft_ctx_err(weft_group_ctx(g)) == WEFT_ECANCELED;
    weft_group_free(g);
    printf("group: error %d after %lld ms, %d siblings stopped early\n", err, (long long)ms,
           atomic_load(&stopped));
    int ok = err == ERR_NOT_FOUND && atomic_load(&stopped) == 3 && canceled && ms < 1000;

    g = weft_group_new(NULL);
    if (!g)
        return 1;
    weft_group_set_limit(g, 2);   /* before any task starts */
    weft_group_go(g, limited, NULL);
    weft_group_go(g, limited, NULL);                    /* two running now */
    int full = weft_group_try_go(g, limited, NULL);     /* WEFT_EAGAIN: at the limit */
    for (int i = 0; i < 4; i++)
        weft_group_go(g, limited, NULL); /* waits for a free slot */
    err = weft_group_wait(g);
    weft_group_free(g);
    printf("limit 2: try_go at the limit: %s; %d ran, at most %d at once\n",
           weft_strerror(full), atomic_load(&ran), atomic_load(&most));
    ok = ok && full == WEFT_EAGAIN && err == 0 && atomic_load(&ran) == 6 && atomic_load(&most) <= 2;

    return ok && weft_tasks_live() == 0 ? 0 : 1;
}
