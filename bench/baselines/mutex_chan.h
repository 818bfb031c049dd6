/* mutex_chan.h — the baseline channel: one mutex and condition variables.
 *
 * This is NOT part of weft. It is the channel a competent C programmer would
 * write in an afternoon with pthreads, and the benchmark harness measures
 * weft against it in the same run (RESULTS.md reports every weft figure as a
 * ratio to this one). It must therefore be fair: correct, with the same
 * semantics as weft_chan for the operations it has, and free of needless
 * work (it signals one waiter per value rather than broadcasting, signals
 * only when someone waits, and signals after unlocking so the woken thread
 * does not immediately block on the mutex).
 *
 * Semantics (the same as weft_chan, see include/weft/chan.h):
 *   - values of elem_size bytes (0 allowed) are copied in and out;
 *   - cap > 0: a bounded FIFO ring; send returns once the value is buffered;
 *   - cap == 0: a rendezvous; send returns 0 only once a receiver has taken
 *     the value;
 *   - close: later sends fail with MUTEX_CHAN_ECLOSED; receivers drain what
 *     was sent before the close, then get MUTEX_CHAN_ECLOSED; every blocked
 *     thread is woken; a sender blocked when the close happens returns
 *     MUTEX_CHAN_ECLOSED and its value was not delivered;
 *   - try forms return MUTEX_CHAN_EAGAIN instead of blocking (on cap 0, a
 *     try_send succeeds only if a receiver is waiting, a try_recv only if a
 *     sender has offered a value);
 *   - send_many / recv_many as weft_chan_send_many / weft_chan_recv_many;
 *   - select (mutex_chan_select) as weft_select with WEFT_FOREVER, over
 *     buffered channels only (see below).
 *
 * The error codes are the same negative errno values as weft's, so one
 * benchmark body can check results of both.
 *
 * Thread-safety: every function may be called from any number of threads at
 * once, except mutex_chan_free (no thread may use the channel any more).
 */
#ifndef WEFT_BENCH_MUTEX_CHAN_H
#define WEFT_BENCH_MUTEX_CHAN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MUTEX_CHAN_ECLOSED (-EPIPE)  /* == WEFT_ECLOSED */
#define MUTEX_CHAN_EAGAIN  (-EAGAIN) /* == WEFT_EAGAIN */
#define MUTEX_CHAN_EINVAL  (-EINVAL) /* == WEFT_EINVAL */

typedef struct mutex_chan mutex_chan;

/* A channel of values of elem_size bytes with room for cap values (0: a
   rendezvous channel). NULL with errno ENOMEM on allocation failure or when
   elem_size * cap overflows. */
mutex_chan *mutex_chan_new(size_t elem_size, size_t cap);

/* Free the channel; no thread may use it any more. NULL does nothing. */
void mutex_chan_free(mutex_chan *c);

/* Blocking send / receive (recv may pass elem == NULL to drop the value):
   0, or MUTEX_CHAN_ECLOSED as described above. */
int mutex_chan_send(mutex_chan *c, const void *elem);
int mutex_chan_recv(mutex_chan *c, void *elem);

/* Non-blocking forms: 0, MUTEX_CHAN_EAGAIN, or MUTEX_CHAN_ECLOSED. */
int mutex_chan_try_send(mutex_chan *c, const void *elem);
int mutex_chan_try_recv(mutex_chan *c, void *elem);

/* Close: 0, or MUTEX_CHAN_ECLOSED if already closed. */
int mutex_chan_close(mutex_chan *c);

/* Send n values (n * elem_size contiguous bytes) in order: 0 when all went,
   MUTEX_CHAN_ECLOSED when the channel closed first (*sent, if not NULL, says
   how many went), MUTEX_CHAN_EINVAL for n == 0. Takes the lock once per run
   of values that fit, and wakes receivers once per run. */
int mutex_chan_send_many(mutex_chan *c, const void *elems, size_t n, size_t *sent);

/* Wait for at least one value, then take up to max of those ready: 0 with
   *got >= 1, MUTEX_CHAN_ECLOSED with *got == 0 once closed and drained,
   MUTEX_CHAN_EINVAL for max == 0. elems == NULL drops the values. */
int mutex_chan_recv_many(mutex_chan *c, void *elems, size_t max, size_t *got);

/* ---- select ---------------------------------------------------------------
 *
 * The same contract as weft_select(cases, n, WEFT_FOREVER): complete exactly
 * one enabled case and return its index, with ok false if it fired because
 * its channel is closed (a receive on a closed, drained channel, or a send on
 * a closed channel; nothing moved). When several cases are ready, a fresh
 * random order per call picks one. A selector that must wait sleeps on one
 * condition variable of its own, registered on the waiter list of every
 * case's channel; an operation that makes a case ready signals one
 * registered selector (see mutex_chan.c for why no wakeup is lost).
 *
 * Limits: channels with cap > 0 only (a rendezvous between two selects is
 * not implemented; no workload needs it), at most MUTEX_CHAN_SELECT_MAX
 * cases. MUTEX_CHAN_EINVAL for a cap 0 channel, a bad dir, a send case
 * with a NULL elem (elem_size > 0), too many cases, or no enabled case.
 * Plain operations and selects may be mixed on the same channels.
 */
enum { MUTEX_CHAN_RECV = 1, MUTEX_CHAN_SEND = 2 }; /* == WEFT_RECV, WEFT_SEND */
#define MUTEX_CHAN_SELECT_MAX 16

typedef struct mutex_chan_case {
    mutex_chan *chan;           /* NULL: disabled */
    int dir;                    /* MUTEX_CHAN_RECV or MUTEX_CHAN_SEND */
    void *elem;                 /* value to send, or where to receive (may be NULL) */
    bool ok;                    /* out: true if a value moved, false if closed */
} mutex_chan_case;

int mutex_chan_select(mutex_chan_case *cases, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_MUTEX_CHAN_H */
