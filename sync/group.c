/* sync/group.c — weft_group, Go's errgroup.
 *
 * A group is a waitgroup, a context derived from the parent, the first
 * error (0 until a task returns non-zero; set once by CAS), and an optional
 * semaphore that bounds the tasks running at once. A task is a small record
 * run by the pool with the group's waitgroup (sync/task.h), so its done
 * comes after the task stopped counting in weft_tasks_live.
 */
#include "lockfree/common.h"
#include "sync/task.h"

#include <stdlib.h>

#include <weft/go.h>
#include <weft/sync.h>

struct weft_group {
    weft_wg wg;
    weft_ctx *ctx;
    weft_sem *limit;      /* NULL: no limit */
    _Atomic int err;      /* the first non-zero task result */
    _Atomic int running;  /* tasks started and not finished, for set_limit */
};

typedef struct group_task {
    weft_group *g;
    int (*fn)(weft_ctx *, void *);
    void *arg;
} group_task;

WEFT_API weft_group *weft_group_new(weft_ctx *parent)
{
    weft_group *g = calloc(1, sizeof *g);
    if (!g)
        goto fail;
    g->ctx = weft_ctx_with_cancel(parent);
    if (!g->ctx)
        goto fail_ctx;
    atomic_init(&g->err, 0);
    atomic_init(&g->running, 0);
    return g;

fail_ctx:
    free(g);
fail:
    errno = ENOMEM;
    return NULL;
}

WEFT_API weft_ctx *weft_group_ctx(weft_group *g)
{
    return g ? g->ctx : NULL;
}

WEFT_API void weft_group_set_limit(weft_group *g, int n)
{
    if (!g)
        return;
    /* Relaxed: only a guard against misuse (Go panics likewise). */
    if (atomic_load_explicit(&g->running, memory_order_relaxed))
        weft__panic("weft_group_set_limit: tasks of the group are running");
    weft_sem_free(g->limit);
    g->limit = NULL;
    if (n > 0 && !(g->limit = weft_sem_new(n)))
        weft__panic("weft_group_set_limit: out of memory");
}

static void group_run(void *p)
{
    group_task *t = p;
    weft_group *g = t->g;
    int rc = t->fn(g->ctx, t->arg);
    if (rc) {
        int zero = 0;
        /* acq_rel: publishes the failing task's writes to wait's acquire. */
        if (atomic_compare_exchange_strong_explicit(&g->err, &zero, rc, memory_order_acq_rel,
                                                    memory_order_relaxed))
            weft_ctx_cancel(g->ctx);
    }
    free(t);
    atomic_fetch_sub_explicit(&g->running, 1, memory_order_relaxed);
    if (g->limit)
        weft_sem_release(g->limit, 1);
    /* the pool calls weft_wg_done(&g->wg) after this returns */
}

static int group_start(weft_group *g, int (*fn)(weft_ctx *, void *), void *arg, bool wait)
{
    if (!g || !fn)
        return WEFT_EINVAL;
    group_task *t = malloc(sizeof *t);
    if (!t)
        return WEFT_ENOMEM;
    *t = (group_task){ g, fn, arg };
    if (g->limit) {
        int rc = wait ? weft_sem_acquire(g->limit, 1, NULL) : weft_sem_try_acquire(g->limit, 1);
        if (rc) {
            free(t);
            return rc;
        }
    }
    atomic_fetch_add_explicit(&g->running, 1, memory_order_relaxed);
    weft_wg_add(&g->wg, 1);
    int rc = weft__go_task(group_run, t, &g->wg);
    if (rc) { /* the pool did not take the task: undo */
        weft_wg_done(&g->wg);
        atomic_fetch_sub_explicit(&g->running, 1, memory_order_relaxed);
        if (g->limit)
            weft_sem_release(g->limit, 1);
        free(t);
    }
    return rc;
}

WEFT_API int weft_group_go(weft_group *g, int (*fn)(weft_ctx *ctx, void *arg), void *arg)
{
    return group_start(g, fn, arg, true);
}

WEFT_API int weft_group_try_go(weft_group *g, int (*fn)(weft_ctx *ctx, void *arg), void *arg)
{
    return group_start(g, fn, arg, false);
}

WEFT_API int weft_group_wait(weft_group *g)
{
    if (!g)
        return WEFT_EINVAL;
    weft_wg_wait(&g->wg);
    weft_ctx_cancel(g->ctx);
    return atomic_load_explicit(&g->err, memory_order_acquire);
}

WEFT_API void weft_group_free(weft_group *g)
{
    if (!g)
        return;
    weft_ctx_cancel(g->ctx);
    weft_ctx_release(g->ctx);
    weft_sem_free(g->limit);
    free(g);
}
