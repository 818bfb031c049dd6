/* weft/sync.h — Go's sync primitives for C threads: once, waitgroup,
 * error group and weighted semaphore.
 *
 * weft_once and weft_wg are plain structs whose all-zero value is ready to
 * use (Go's "make the zero value useful"): a static or zeroed one needs no
 * initialisation, WEFT_ONCE_INIT / WEFT_WG_INIT spell it out. Do not copy one
 * that is in use. Neither owns any other memory, so neither has a free
 * function.
 *
 * Blocking. A caller that must wait parks (a futex sleep, no CPU) in a
 * process-wide table of waiters keyed by the object's address, so a once is
 * 4 bytes and a waitgroup 8, and the thread that ends the wait touches
 * nothing of the object after waking its waiters.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <weft/base.h>
#include <weft/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- weft_once: run a function exactly once ------------------------------
 *
 * Thread-safety: any number of threads may call weft_once_do and
 * weft_once_done on the same once at once.
 */
typedef struct weft_once {
    uint32_t word_; /* accessed atomically; do not touch */
} weft_once;

#define WEFT_ONCE_INIT { 0 }

/* Run fn(arg) if no call on this once has run its fn yet. fn runs exactly
   once, in the first caller; every caller, that one included, returns only
   after fn has returned, and what fn wrote is visible to every caller after
   its return. Callers that arrive while fn runs park until it returns.

   fn must return: if it never returns (blocks forever, exits the thread,
   longjmps out), every other caller of this once waits forever. A call of
   weft_once_do on the same once from inside fn, on fn's own thread, would
   wait for itself forever: it aborts instead with
   "weft: weft_once_do called recursively from its own fn" (Go deadlocks).
   A recursive call through another thread that fn waits for is not
   detected and deadlocks, as in Go.

   Aborts with a one-line message if once is NULL, or fn is NULL in a call
   made before the once is done.

   Cost: once fn has returned, one acquire load (no RMW, no syscall). The
   first call costs one CAS, one gettid syscall and an exchange; a caller
   that must wait, a few RMWs and a park. */
WEFT_API void weft_once_do(weft_once *once, void (*fn)(void *), void *arg);

/* The fast path inline (GCC and Clang): once fn has returned, a call of
   weft_once_do is one acquire load in the caller, no function call (an
   out-of-line call costs twice the load). `&weft_once_do` and
   `(weft_once_do)(...)` still name the exported function.
   WEFT_ONCE_DONE_ is the word's "done" value (checked in sync/once.c). */
#define WEFT_ONCE_DONE_ 1u
#if defined(__GNUC__) && !defined(WEFT_NO_INLINE_FAST_PATHS)
static inline void weft_once_do_inline_(weft_once *once, void (*fn)(void *), void *arg)
{
    if (once && __atomic_load_n(&once->word_, __ATOMIC_ACQUIRE) == WEFT_ONCE_DONE_)
        return;
    (weft_once_do)(once, fn, arg);
}
#define weft_once_do(once, fn, arg) weft_once_do_inline_((once), (fn), (arg))
#endif

/* True once fn has returned on this once (acquire: what fn wrote is visible
   to the caller when this returns true). False for NULL. One load. */
WEFT_API bool weft_once_done(const weft_once *once);

/* ---- weft_wg: wait for a collection of tasks to finish -------------------
 *
 * A counter of outstanding work: weft_wg_add(n) before starting n pieces of
 * work, weft_wg_done() as each finishes, weft_wg_wait() to wait until the
 * counter is zero. As in Go, the calls that raise the counter from zero must
 * happen before the weft_wg_wait that is meant to see them; a waitgroup may
 * be reused once every weft_wg_wait of the previous round has returned (an
 * add that races with a wait still in progress may leave that wait sleeping
 * until the counter next reaches zero).
 *
 * Lifetime: a waitgroup may be freed or go out of scope as soon as
 * weft_wg_wait returns (the last weft_wg_done touches nothing of it after it
 * wakes the waiters), provided no other thread still calls into it.
 *
 * Thread-safety: every function may be called from any number of threads at
 * once on the same waitgroup.
 */
typedef struct weft_wg {
    uint64_t state_; /* accessed atomically; do not touch: counter << 32 | waiters */
} weft_wg;

#define WEFT_WG_INIT { 0 }

/* Add delta (which may be negative) to the counter. When it reaches zero,
   every thread blocked in weft_wg_wait is woken. A counter that would go
   negative aborts with "weft: negative waitgroup counter"; one above
   INT32_MAX aborts with "weft: waitgroup counter overflow". delta 0 does
   nothing. Aborts if wg is NULL.
   Cost: one atomic RMW (a fetch-add when delta > 0; a load and a CAS
   otherwise), plus a lock round trip and one unpark per waiter when the
   counter reaches zero with waiters. Release: what the caller wrote before
   is visible to a waiter once its wait returns. */
WEFT_API void weft_wg_add(weft_wg *wg, int delta);

/* weft_wg_add(wg, -1). */
WEFT_API void weft_wg_done(weft_wg *wg);

/* Wait until the counter is zero; returns at once if it is. What every
   weft_wg_add/done before that zero wrote is visible after the return
   (acquire). Aborts if wg is NULL. Cost when the counter is zero: one
   acquire load. */
WEFT_API void weft_wg_wait(weft_wg *wg);

/* As weft_wg_wait, but wait at most until the absolute deadline (a
   weft_now() time). Returns 0 when the counter is zero (whatever the
   deadline), WEFT_ETIMEDOUT once the deadline passed first, WEFT_EAGAIN if
   the deadline is WEFT_NOWAIT and the counter is not zero, WEFT_EINVAL for
   a NULL wg. */
WEFT_API int weft_wg_wait_until(weft_wg *wg, int64_t deadline);

/* Go's `wg.Add(1); go func() { defer wg.Done(); fn(arg) }()`: add one to
   the counter and run fn(arg) as a pooled task (weft/go.h) that calls
   weft_wg_done when fn returns (after the task has stopped counting in
   weft_tasks_live). Returns 0, WEFT_EINVAL for a NULL wg or fn (nothing
   added), or weft_go's error (the add is undone, no task runs). */
WEFT_API int weft_wg_go(weft_wg *wg, void (*fn)(void *), void *arg);

/* ---- weft_group: Go's errgroup ------------------------------------------
 *
 * A group runs tasks (pooled, as weft_go) that share a context derived from
 * the group's parent. The first task to return non-zero cancels that
 * context, so its siblings can stop early; weft_group_wait waits for every
 * task, cancels the context, and returns that first non-zero result. An
 * optional limit bounds how many tasks run at once.
 *
 *     weft_group *g = weft_group_new(ctx);
 *     for (i = 0; i < n; i++)
 *         weft_group_go(g, fetch, &urls[i]);  // fetch(ctx, arg) watches ctx
 *     int err = weft_group_wait(g);
 *     weft_group_free(g);
 *
 * Thread-safety: go, try_go, ctx and wait may be called from any thread,
 * also from inside the group's tasks (go only). set_limit only while no task
 * of the group runs; free once wait returned.
 */
typedef struct weft_group weft_group;

/* A group whose context is a child of parent (NULL: background). NULL with
   errno ENOMEM when out of memory. */
WEFT_API weft_group *weft_group_new(weft_ctx *parent);

/* The group's context: canceled on the first error, at wait, or when the
   parent is done. It lives as long as the group. */
WEFT_API weft_ctx *weft_group_ctx(weft_group *g);

/* Allow at most n tasks at once (n <= 0: no limit, unlike Go's SetLimit(0)).
   Aborts with a message if tasks of the group are running. */
WEFT_API void weft_group_set_limit(weft_group *g, int n);

/* Run fn(ctx, arg) as a task of the group, waiting first while the limit is
   reached. Returns 0, WEFT_EINVAL for a NULL group or fn, or weft_go's error
   (fn then never runs). */
WEFT_API int weft_group_go(weft_group *g, int (*fn)(weft_ctx *ctx, void *arg), void *arg);

/* As weft_group_go, but WEFT_EAGAIN instead of waiting at the limit. */
WEFT_API int weft_group_try_go(weft_group *g, int (*fn)(weft_ctx *ctx, void *arg), void *arg);

/* Wait until every task returned, cancel the group's context, and return
   the first non-zero result of a task (0 if none). WEFT_EINVAL for NULL. */
WEFT_API int weft_group_wait(weft_group *g);

/* Free a group after weft_group_wait returned (or before any go). */
WEFT_API void weft_group_free(weft_group *g);

/* ---- weft_sem: weighted semaphore ----------------------------------------
 *
 * size units; acquire(n) waits until n units are free. Waiters are served
 * in arrival order, so a large request is never starved by small ones (while
 * it waits at the head of the line, later requests wait behind it). A
 * waiter whose context is done leaves the line without losing or stranding
 * units: if units had just been granted to it, it gives them back; if it
 * was at the head, the waiters behind it that now fit are let through.
 *
 * The seed's pressure gauge is one line: `if (weft_sem_try_acquire(s, 1))
 * return WEFT_EAGAIN;` before the work, weft_sem_release(s, 1) after it.
 *
 * Thread-safety: all functions from any thread; free when no thread uses
 * it. Cost: one short lock section when acquire does not wait. A waiting
 * acquire without a context (or with one that is never done) spins briefly,
 * then parks; with a context it allocates one small channel and parks in
 * weft_select on it and the context's done channel. Serving in arrival
 * order hands units over instead of letting a running thread barge in: under
 * contention expect a handover per acquire (POSIX sem_t barges, and is
 * faster there).
 */
typedef struct weft_sem weft_sem;

/* A semaphore of size units (size >= 0). NULL with errno EINVAL for a
   negative size, ENOMEM when out of memory. */
WEFT_API weft_sem *weft_sem_new(int64_t size);

/* Acquire n units, waiting in line while they are not free. Returns 0; the
   context's error (WEFT_ECANCELED, WEFT_ETIMEDOUT) if ctx is done first — a
   context already done wins over free units; WEFT_EINVAL for a NULL
   semaphore, n < 0 or n > size (Go blocks forever instead); WEFT_ENOMEM if
   the wait could not be set up. ctx NULL: no cancellation. */
WEFT_API int weft_sem_acquire(weft_sem *s, int64_t n, weft_ctx *ctx);

/* Acquire n units only if they are free now and nobody waits: 0 or
   WEFT_EAGAIN; WEFT_EINVAL as acquire. */
WEFT_API int weft_sem_try_acquire(weft_sem *s, int64_t n);

/* Return n units and let waiters that now fit through. Releasing more than
   is held aborts with "weft: weft_sem_release: released more than held". */
WEFT_API void weft_sem_release(weft_sem *s, int64_t n);

/* Free the semaphore; no thread may use it any more. NULL does nothing. */
WEFT_API void weft_sem_free(weft_sem *s);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SYNC_H */
