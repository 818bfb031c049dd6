/* weft/ctx.h — Go's context: cancellation and deadlines down a tree.
 *
 * A context is done once it is canceled (WEFT_ECANCELED) or its deadline
 * passes (WEFT_ETIMEDOUT); the first error sticks. Done propagates down:
 * canceling a context cancels every descendant before weft_ctx_cancel
 * returns. A canceled child leaves its parent's list of children at once,
 * so a long-lived parent that spawns many short children does not grow.
 *
 *     weft_ctx *ctx = weft_ctx_with_timeout(parent, 50 * 1000000);  // 50 ms
 *     ...
 *     switch (weft_select(cs, n, WEFT_FOREVER)) {             // with
 *         ...                                                 // WEFT_CASE_RECV(
 *     }                                                       //   weft_ctx_done(ctx), NULL)
 *     weft_ctx_cancel(ctx);                                   // Go's defer cancel()
 *     weft_ctx_release(ctx);
 *
 * Lifetime: reference counted. with_* return a context holding one
 * reference for the caller; a child holds one on its parent (a parent
 * released before its children lives until they go); a pending deadline
 * holds one until it fires or the context is canceled. The creator calls
 * weft_ctx_cancel then weft_ctx_release when done with it; threads that keep
 * a context longer take their own reference with weft_ctx_retain. Releasing
 * the last reference of a context that is not done cancels it first.
 *
 * NULL means background wherever a context is taken: never done, no
 * deadline; cancel, retain and release do nothing; err is 0; done is NULL
 * (a disabled select case).
 *
 * Deadlines are served by the timer service (weft/time.h): a context with
 * its own deadline costs one heap entry, no thread. A deadline past the
 * parent's is clipped to it (the child is then canceled through the parent,
 * and reports the parent's error).
 *
 * Thread-safety: every function may be called from any thread on the same
 * context concurrently, provided the caller holds a reference.
 */
#ifndef WEFT_CTX_H
#define WEFT_CTX_H

#include <weft/base.h>
#include <weft/chan.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_ctx weft_ctx;

/* The root: never done, no deadline, no done channel. Static: retain,
   release and cancel do nothing to it. */
WEFT_API weft_ctx *weft_ctx_background(void);

/* A child of parent (NULL: background) that is done when canceled or when
   parent is done. NULL with errno ENOMEM when out of memory. */
WEFT_API weft_ctx *weft_ctx_with_cancel(weft_ctx *parent);

/* As with_cancel, also done with WEFT_ETIMEDOUT at the absolute deadline
   (clipped to parent's). A deadline already passed gives a context that is
   done at once. */
WEFT_API weft_ctx *weft_ctx_with_deadline(weft_ctx *parent, int64_t deadline);

/* weft_ctx_with_deadline(parent, weft_deadline_in(timeout_ns)). */
WEFT_API weft_ctx *weft_ctx_with_timeout(weft_ctx *parent, int64_t timeout_ns);

/* Cancel ctx and all its descendants with WEFT_ECANCELED (unless already
   done: the first error sticks). When it returns, every descendant is done
   and every done channel among them is closed. Idempotent. Costs one lock
   round trip per descendant not yet done. */
WEFT_API void weft_ctx_cancel(weft_ctx *ctx);

/* 0 while not done; then WEFT_ECANCELED or WEFT_ETIMEDOUT, forever. One
   acquire load: what happened before the cancel is visible to a caller that
   sees the error. */
WEFT_API int weft_ctx_err(const weft_ctx *ctx);

/* A channel that is closed when ctx is done (a receive on it returns
   WEFT_ECLOSED at once then), created on first call and living as long as
   ctx; NULL for background. WEFT_CASE_RECV(weft_ctx_done(ctx), NULL) is Go's
   `case <-ctx.Done():`. Aborts with a message if the channel cannot be
   allocated (a NULL here would silently disable a select case). */
WEFT_API weft_chan *weft_ctx_done(weft_ctx *ctx);

/* The earliest deadline on the path from ctx to the root, or WEFT_FOREVER. */
WEFT_API int64_t weft_ctx_deadline(const weft_ctx *ctx);

/* Take a reference (returns ctx), and drop one. */
WEFT_API weft_ctx *weft_ctx_retain(weft_ctx *ctx);
WEFT_API void weft_ctx_release(weft_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CTX_H */
