/* weft/go.h — Go's `go` statement for C: run a function on a pooled thread.
 *
 * weft_go hands fn(arg) to an idle pool thread (parked on a futex) and
 * returns at once; if every pool thread is busy it starts a new one, so the
 * pool grows with the number of tasks running at once and tasks that block
 * on each other (through channels, waitgroups, anything) never deadlock it.
 * A thread that has been idle for 5 seconds exits; the pool keeps no thread
 * otherwise. There is no limit on the number of threads but the system's:
 * to bound concurrency, use a semaphore or a group limit.
 *
 * Pool threads are detached, named "weft-go" (/proc/<pid>/task/<tid>/comm),
 * run with the default pthread stack size and with every signal blocked
 * (signals go to the program's own threads).
 *
 * Process exit: like Go's main returning, exit() (or returning from main)
 * does not wait for running tasks; they die with the process, their
 * remaining work undone. Wait for the tasks you need with a weft_wg
 * (weft_wg_go) or a channel before exiting. Idle pool threads need no
 * cleanup, and what the pool allocated stays reachable (no leak report).
 *
 * fork(): the child starts with an empty pool (the parent's pool threads do
 * not exist in it) and weft_tasks_live() counts only the child's tasks.
 * weft_go should not be called while another thread forks.
 *
 * Environment: WEFT_GO_IDLE_MS (read once, at the first weft_go) overrides
 * the 5 s idle timeout, in milliseconds (at least 1); meant for tests.
 */
#ifndef WEFT_GO_H
#define WEFT_GO_H

#include <weft/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Run fn(arg) as a task on a pool thread and return without waiting for it.
   Returns 0 once the task is handed over; WEFT_EINVAL for a NULL fn;
   WEFT_ENOMEM if no thread was idle and none could be created
   (pthread_create failed, typically EAGAIN from RLIMIT_NPROC or the kernel's
   thread limit, or memory ran out) — fn then never runs. What the caller
   wrote before weft_go is visible to fn. Thread-safe, also from inside a
   task. Cost: with an idle thread, one short lock section and one unpark (a
   FUTEX_WAKE); otherwise a pthread_create. */
WEFT_API int weft_go(void (*fn)(void *), void *arg);

/* The number of tasks started by weft_go (or weft_wg_go) whose fn has not
   returned yet. A snapshot; when it reads 0, what every finished task wrote
   is visible to the caller (acquire). Thread-safe; one load. */
WEFT_API size_t weft_tasks_live(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_GO_H */
