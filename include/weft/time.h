/* weft/time.h — Go's time.Timer, time.Ticker and time.AfterFunc.
 *
 * Timers are served by one library thread, started on first use, that keeps
 * every pending timer in a binary heap and sleeps on a futex until the
 * earliest deadline: ten thousand live timers cost ten thousand heap
 * entries (a few hundred bytes each with their channel), not threads. Scheduling
 * or stopping a timer costs O(log n) under one process-wide lock; a timer
 * that becomes the earliest wakes the timer thread (one syscall).
 *
 * A timer's channel (weft_timer_chan) has capacity 1 and receives the fire
 * time, an int64_t weft_now() value; receive it with weft_chan_recv or a
 * WEFT_CASE_RECV in weft_select. A ticker drops the ticks nobody received
 * (the channel holds at most one), as Go's does.
 *
 * Thread-safety: any function may be called from any thread, concurrently
 * with the timer firing. weft_timer_free must not race with other calls on
 * the same timer, nor with a thread blocked on its channel.
 */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H

#include <weft/base.h>
#include <weft/chan.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_timer weft_timer;

/* A timer that sends its fire time on its channel once, delay_ns from now
   (a delay <= 0 fires at once). NULL with errno ENOMEM when out of memory. */
WEFT_API weft_timer *weft_timer_new(int64_t delay_ns);

/* A ticker that sends the fire time every period_ns, the first one
   period_ns from now. NULL with errno EINVAL for period_ns <= 0, ENOMEM
   when out of memory. */
WEFT_API weft_timer *weft_ticker_new(int64_t period_ns);

/* The channel the timer delivers on (capacity 1, int64_t elements). It
   lives as long as the timer. NULL for a NULL timer. */
WEFT_API weft_chan *weft_timer_chan(weft_timer *t);

/* Stop the timer (Go 1.23 semantics). Returns 0 when this call kept the
   timer from delivering: it was pending, or its fire time sat unreceived in
   the channel and is now discarded (a running ticker always); 1 when there
   was nothing to stop (the fire time was already received, or the timer was
   stopped before); WEFT_EINVAL for NULL. After stop returns, the channel
   yields no stale fire time. */
WEFT_API int weft_timer_stop(weft_timer *t);

/* Stop the timer and free it and its channel. NULL does nothing. */
WEFT_API void weft_timer_free(weft_timer *t);

/* Run fn(arg) as a task (see weft_go in weft/go.h) delay_ns from now; a
   delay <= 0 runs it as soon as possible. fn never runs on the timer thread,
   so a slow fn delays no other timer. Returns 0, WEFT_EINVAL for a NULL fn,
   WEFT_ENOMEM when out of memory. A callback counts in weft_tasks_live()
   while it runs, not while it waits for its delay. */
WEFT_API int weft_after_func(int64_t delay_ns, void (*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TIME_H */
