/* chan/timer.h — the timer service: one thread, one heap. Internal.
 *
 * An entry is embedded in whatever needs a deadline (a weft_timer, a
 * context, an after_func record). The service calls entry->fire when the
 * deadline passes:
 *
 *   on the timer thread with the service lock held, if entry->locked_fire:
 *       it must be short and must not call back into the service (a timer
 *       channel's try_send). Because it runs under the lock, a
 *       weft__timer_del that returns has either removed the entry or seen
 *       its fire complete: this is what makes weft_timer_stop exact;
 *   on the timer thread after the lock is released, otherwise: it may do
 *       anything but block for long (cancel a context, spawn a task). A
 *       weft__timer_del that misses such an entry (false) may run while it
 *       fires; the owner keeps the entry alive until fire ran (contexts hold
 *       a reference for their timer).
 *
 * A periodic entry (period > 0, locked_fire only) is re-armed after each
 * fire at the next multiple of period after now: missed ticks are dropped.
 */
#ifndef WEFT_CHAN_TIMER_H
#define WEFT_CHAN_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define weft_timer_entry weft__timer_entry

typedef struct weft_timer_entry {
    int64_t when;   /* absolute weft_now() deadline */
    int64_t period; /* > 0: re-arm every period (locked_fire only) */
    size_t idx;     /* heap index; SIZE_MAX when not queued (under the lock) */
    bool locked_fire;
    void (*fire)(struct weft_timer_entry *e, int64_t now);
    struct weft_timer_entry *fire_next; /* the timer thread's unlocked-fire list */
} weft_timer_entry;

/* Queue e (fields when, period, locked_fire, fire set by the caller; e not
   queued). Returns 0 or WEFT_ENOMEM (the heap could not grow), or
   WEFT_EAGAIN if the timer thread could not be started. */
int weft__timer_add(weft_timer_entry *e);

/* Remove e if queued: true if this call removed it (it will not fire). */
bool weft__timer_del(weft_timer_entry *e);

/* The service lock, for owners that must serialise with locked fires
   (weft_timer_stop: remove the entry and drain its channel atomically). */
void weft__timer_lock(void);
void weft__timer_unlock(void);
bool weft__timer_del_locked(weft_timer_entry *e);

#endif
