/* weft/select.h — Go's select: wait for the first of several channel
 * operations.
 *
 *     weft_case cs[] = {
 *         WEFT_CASE_RECV(jobs, &job),
 *         WEFT_CASE_SEND(results, &res),
 *         WEFT_CASE_RECV(weft_ctx_done(ctx), NULL),   // case <-ctx.Done()
 *     };
 *     switch (weft_select(cs, 3, WEFT_FOREVER)) { case 0: ...; case 1: ...; }
 *
 * Exactly one case completes, and only that one: a value is never taken from
 * (or given to) a channel for a case that select does not return. When
 * several cases are ready, each is chosen with equal probability (a fresh
 * random order per call), so no case starves. A blocked select parks like a
 * blocked send or receive (no CPU), waiting in every enabled channel's queue
 * at once; there is no global lock: a select over channels A and B never
 * touches channel C.
 *
 * Thread-safety: any number of threads may select over the same channels,
 * and mix selects with plain operations. A case array belongs to one call.
 */
#ifndef WEFT_SELECT_H
#define WEFT_SELECT_H

#include <weft/base.h>
#include <weft/chan.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { WEFT_RECV = 1, WEFT_SEND = 2 };

typedef struct weft_case {
    weft_chan *chan; /* NULL: the case is disabled (Go's nil channel) */
    int dir;         /* WEFT_RECV or WEFT_SEND */
    void *elem;      /* value to send, or where to store the received one (may be NULL) */
    bool ok;         /* out: true if a value moved; false if the case fired because chan is closed */
} weft_case;

#ifdef __cplusplus
static inline weft_case weft_case_make_(weft_chan *ch, int dir, const void *elem)
{
    weft_case c;
    c.chan = ch;
    c.dir = dir;
    c.elem = const_cast<void *>(elem);
    c.ok = false;
    return c;
}
#define WEFT_CASE_RECV(ch, ptr) weft_case_make_((ch), WEFT_RECV, (ptr))
#define WEFT_CASE_SEND(ch, ptr) weft_case_make_((ch), WEFT_SEND, (ptr))
#else
/* A receive case on ch storing into ptr (NULL drops the value). */
#define WEFT_CASE_RECV(ch, ptr) \
    ((weft_case){ .chan = (ch), .dir = WEFT_RECV, .elem = (void *)(ptr), .ok = false })
/* A send case on ch of the value at ptr. */
#define WEFT_CASE_SEND(ch, ptr) \
    ((weft_case){ .chan = (ch), .dir = WEFT_SEND, .elem = (void *)(ptr), .ok = false })
#endif

/* Complete exactly one of the n cases and return its index, with
   cases[i].ok saying whether a value moved (false: the case fired because its
   channel is closed — a receive on a closed, drained channel, or any send on
   a closed channel; elem is then not written and nothing is sent).
   Cases with a NULL channel never fire. Returns
     WEFT_EAGAIN     deadline WEFT_NOWAIT and no case ready (Go's default);
     WEFT_ETIMEDOUT  any other deadline passed first;
     WEFT_EINVAL     cases NULL with n > 0, a dir other than WEFT_RECV or
                     WEFT_SEND, a send case with a NULL elem on a channel with
                     elem_size > 0, or no enabled case with WEFT_FOREVER
                     (which would block forever).
   With no enabled case and a finite deadline it sleeps until the deadline.
   Cost when a case is ready: a random shuffle of n indices plus the cost of
   the ready operation; when blocking: one lock acquisition per enabled
   channel to register and one to withdraw. */
WEFT_API int weft_select(weft_case *cases, size_t n, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SELECT_H */
