/* weft/chan.h — Go channels for C threads.
 *
 * A channel carries fixed-size values (elem_size bytes, copied in and out)
 * between any number of sending and receiving threads.
 *
 *   buffered (cap > 0)   a lock-free bounded MPMC ring (see weft/lockfree.h).
 *                        A send or receive that does not block costs one CAS
 *                        and one sequentially consistent store, and makes no
 *                        syscall and takes no lock.
 *   unbuffered (cap 0)   a rendezvous: a send completes only when a receiver
 *                        has taken the value. One waiting party and its
 *                        partner meet in a one-cache-line slot (a value of
 *                        up to 40 bytes passes through it; a larger one is
 *                        copied from the sender's buffer into the
 *                        receiver's); several, or a select, meet as in Go,
 *                        under the channel's lock, with the value copied
 *                        directly between the two callers' buffers.
 *
 * Blocking. A thread that must wait spins briefly (only while spinning can
 * pay: never when threads outnumber cores) and then parks on a futex; a
 * parked thread uses no CPU. A sender that finds a buffered channel of more
 * than 16 slots full first naps once (the kernel's shortest timed sleep,
 * ~50-100 µs, never past its deadline) so that its receivers need not wake
 * it; a site whose naps outlast the receivers' work (they run dry and wait)
 * parks at once for its next waits. Every operation that can block comes in four
 * forms: plain (waits forever), try (never waits: WEFT_EAGAIN), _until (an
 * absolute weft_now() deadline: WEFT_ETIMEDOUT) and, with contexts, _ctx.
 *
 * Ordering and delivery. Values from one sender are received in the order
 * they were sent. A value that a send reported as delivered (0) is received
 * exactly once, even across close: close lets receivers drain what was sent
 * before it.
 *
 * Thread-safety: every function may be called from any number of threads at
 * once on the same channel, except weft_chan_free, which the caller runs
 * once no other thread uses the channel.
 *
 * Errors: any operation on a NULL channel returns WEFT_EINVAL.
 */
#ifndef WEFT_CHAN_H
#define WEFT_CHAN_H

#include <weft/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_chan weft_chan;
typedef struct weft_ctx weft_ctx; /* weft/ctx.h */

/* Create a channel of values of elem_size bytes (0 is allowed: a signal
   channel, Go's chan struct{}) with room for cap values (0: unbuffered).
   Returns NULL and sets errno to ENOMEM when memory is short or
   elem_size * cap overflows, or to EINVAL for a capacity beyond 2^40.
   Costs one allocation of about 64 + cap * round8(elem_size + 8) bytes. */
WEFT_API weft_chan *weft_chan_new(size_t elem_size, size_t cap);

/* Free a channel. The caller guarantees that no thread uses it any more:
   every call on it has returned (none is blocked on it, and none is still
   inside a send, even one whose value was already received: a sender wakes
   receivers after its value became visible). weft_chan_free(NULL) does
   nothing. */
WEFT_API void weft_chan_free(weft_chan *c);

/* Send the elem_size bytes at elem. Returns 0 once the value is in the
   buffer (buffered) or taken by a receiver (unbuffered); WEFT_ECLOSED if the
   channel is closed, or becomes closed while waiting (the value was then not
   delivered); WEFT_EINVAL for a NULL channel, or a NULL elem when
   elem_size > 0. */
WEFT_API int weft_chan_send(weft_chan *c, const void *elem);

/* Receive one value into elem (NULL: drop it). Returns 0 with a value, or
   WEFT_ECLOSED once the channel is closed and every value sent before the
   close has been received (elem is then not written); WEFT_EINVAL for a NULL
   channel. */
WEFT_API int weft_chan_recv(weft_chan *c, void *elem);

/* As send and recv, but return WEFT_EAGAIN instead of waiting. On a buffered
   channel they cost one CAS when they succeed and a few loads when they do
   not. A try_send on an unbuffered channel succeeds only if a receiver is
   already waiting, and a try_recv only if a sender is. */
WEFT_API int weft_chan_try_send(weft_chan *c, const void *elem);
WEFT_API int weft_chan_try_recv(weft_chan *c, void *elem);

/* As send and recv, but wait at most until the absolute deadline (a
   weft_now() time): WEFT_ETIMEDOUT once it passed, WEFT_EAGAIN if the
   deadline is WEFT_NOWAIT and the operation would block, WEFT_FOREVER to
   wait forever. An operation that can complete at once completes whatever
   the deadline. */
WEFT_API int weft_chan_send_until(weft_chan *c, const void *elem, int64_t deadline);
WEFT_API int weft_chan_recv_until(weft_chan *c, void *elem, int64_t deadline);

/* As send and recv, but give up when the context ctx is done: they return
   its error (WEFT_ECANCELED, or WEFT_ETIMEDOUT at its deadline). A context
   that is already done when the call starts wins over a ready channel. A
   NULL ctx (or background) never is done: the plain forms. Implemented in
   sync/ beside the contexts; each call that waits uses the context's done
   channel (created on first use) through weft_select. */
WEFT_API int weft_chan_send_ctx(weft_chan *c, const void *elem, weft_ctx *ctx);
WEFT_API int weft_chan_recv_ctx(weft_chan *c, void *elem, weft_ctx *ctx);

/* Close the channel: later sends return WEFT_ECLOSED; receivers drain the
   values already sent, then get WEFT_ECLOSED. Every blocked sender (which
   returns WEFT_ECLOSED) and receiver is woken before close returns. Returns
   0, or WEFT_ECLOSED if the channel was already closed (Go panics),
   WEFT_EINVAL for NULL. */
WEFT_API int weft_chan_close(weft_chan *c);

/* The number of values buffered right now (a snapshot: other threads may
   change it at once), and the capacity. Both are 0 for an unbuffered or a
   NULL channel (Go's len(nil), cap(nil)). */
WEFT_API size_t weft_chan_len(const weft_chan *c);
WEFT_API size_t weft_chan_cap(const weft_chan *c);

/* Send the n values at elems (n * elem_size contiguous bytes) in order,
   waiting as send does. Returns 0 when all n went, WEFT_ECLOSED when the
   channel closed first (*sent, if not NULL, says how many went: the first
   *sent values), WEFT_EINVAL for a NULL channel, NULL elems or n == 0. On
   a buffered channel, a batch wakes receivers once rather than per value. */
WEFT_API int weft_chan_send_many(weft_chan *c, const void *elems, size_t n, size_t *sent);

/* Wait until at least one value is available, then take it and up to
   max - 1 more of the values that are ready without waiting again, into
   elems (room for max values; NULL drops them). *got (if not NULL) says how
   many. Returns 0 with *got >= 1, WEFT_ECLOSED with *got == 0 once the
   channel is closed and drained, WEFT_EINVAL for a NULL channel or
   max == 0. */
WEFT_API int weft_chan_recv_many(weft_chan *c, void *elems, size_t max, size_t *got);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CHAN_H */
