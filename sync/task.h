/* sync/task.h — the pool's internal entry point. Internal.
 *
 * weft_go(fn, arg) is weft__go_task(fn, arg, NULL). With a waitgroup, the
 * task calls weft_wg_done(wg) after fn returned and after it stopped
 * counting in weft_tasks_live (so a wait that returns sees the count
 * without it) — weft_wg_go without a per-task allocation.
 */
#ifndef WEFT_SYNC_TASK_H
#define WEFT_SYNC_TASK_H

#include <weft/sync.h>

/* As weft_go (same errors); fn must not be NULL. */
int weft__go_task(void (*fn)(void *), void *arg, weft_wg *wg);

#endif
