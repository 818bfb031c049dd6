/* sync/after.c — weft_after_func: a timer entry whose fire spawns a task.
 *
 * The entry fires on the timer thread outside the service lock and only
 * hands fn to the pool (weft_go), so a slow fn delays no other timer and fn
 * counts in weft_tasks_live only while it runs. If the pool cannot take it
 * (no thread could be created), the entry is re-armed 1 ms later rather
 * than run on the timer thread or dropped.
 */
#include "chan/timer.h"

#include <stdlib.h>

#include <weft/go.h>
#include <weft/time.h>

typedef struct after_rec {
    weft_timer_entry entry; /* first: the fire callback gets this pointer */
    void (*fn)(void *);
    void *arg;
} after_rec;

static void after_fire(weft_timer_entry *e, int64_t now)
{
    after_rec *r = (after_rec *)e;
    if (weft_go(r->fn, r->arg) == 0) {
        free(r);
        return;
    }
    r->entry.when = now + 1000000;
    if (weft__timer_add(&r->entry) != 0) {
        /* Out of memory twice over: running fn here beats losing it. */
        r->fn(r->arg);
        free(r);
    }
}

WEFT_API int weft_after_func(int64_t delay_ns, void (*fn)(void *), void *arg)
{
    if (!fn)
        return WEFT_EINVAL;
    after_rec *r = malloc(sizeof *r);
    if (!r)
        return WEFT_ENOMEM;
    *r = (after_rec){
        .entry = { .when = weft_deadline_in(delay_ns), .idx = SIZE_MAX, .fire = after_fire },
        .fn = fn,
        .arg = arg,
    };
    int rc = weft__timer_add(&r->entry);
    if (rc)
        free(r);
    return rc == WEFT_EAGAIN ? WEFT_ENOMEM : rc;
}
