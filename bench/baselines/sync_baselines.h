/* sync_baselines.h — the baselines of the sync workloads: what a competent
 * C programmer writes with pthreads in place of weft_wg and of a context's
 * cancellation. NOT part of weft; compiled into weft_bench only.
 *
 *   mutex_wg      a waitgroup: a counter under a mutex, waiters on a
 *                 condvar, broadcast when the counter reaches zero (only if
 *                 someone waits). Same contract as weft_wg's add / done /
 *                 wait (a negative counter aborts).
 *   cv_cancel     a cancellation flag under a mutex; waiters sleep on a
 *                 condvar until it is set; cancel sets it and broadcasts.
 *                 The baseline of "cancel one context, wake every thread
 *                 blocked on its done channel".
 *
 * The remaining baselines of bench/sync_bench.c are libc's own
 * (pthread_once, sem_t, pthread_create + pthread_join) or one line of C11
 * atomics, and live there.
 *
 * Thread-safety: every function may be called from any thread at once,
 * except init and destroy.
 */
#ifndef WEFT_BENCH_SYNC_BASELINES_H
#define WEFT_BENCH_SYNC_BASELINES_H

#include <pthread.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mutex_wg {
    pthread_mutex_t mu;
    pthread_cond_t zero;
    long count;                 /* under mu */
    unsigned waiting;           /* under mu: threads in mutex_wg_wait */
} mutex_wg;

void mutex_wg_init(mutex_wg *wg);
void mutex_wg_destroy(mutex_wg *wg);
void mutex_wg_add(mutex_wg *wg, long delta);
void mutex_wg_done(mutex_wg *wg);
void mutex_wg_wait(mutex_wg *wg);

typedef struct cv_cancel {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool canceled;              /* under mu */
} cv_cancel;

void cv_cancel_init(cv_cancel *c);
void cv_cancel_destroy(cv_cancel *c);
/* Set the flag and wake every waiter. Idempotent. */
void cv_cancel_cancel(cv_cancel *c);
/* Block until canceled. */
void cv_cancel_wait(cv_cancel *c);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_SYNC_BASELINES_H */
