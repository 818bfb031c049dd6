/* sync_baselines.c — mutex + condvar waitgroup and condvar-broadcast
 * cancellation (see sync_baselines.h). Like mutex_chan.c, they broadcast
 * only when someone waits, and the cancellation broadcasts after unlocking
 * so the woken threads do not run straight into the held mutex.
 */
#include "sync_baselines.h"

#include <stdio.h>
#include <stdlib.h>

void mutex_wg_init(mutex_wg *wg)
{
    pthread_mutex_init(&wg->mu, NULL);
    pthread_cond_init(&wg->zero, NULL);
    wg->count = 0;
    wg->waiting = 0;
}

void mutex_wg_destroy(mutex_wg *wg)
{
    pthread_cond_destroy(&wg->zero);
    pthread_mutex_destroy(&wg->mu);
}

void mutex_wg_add(mutex_wg *wg, long delta)
{
    pthread_mutex_lock(&wg->mu);
    wg->count += delta;
    if (wg->count < 0) {
        fprintf(stderr, "mutex_wg: negative counter\n");
        abort();
    }
    /* Broadcast under the lock here: a waiter may free the waitgroup as
       soon as its wait returns (Go's contract, and weft_wg's), so the last
       done must not touch it after unlocking. */
    if (wg->count == 0 && wg->waiting > 0)
        pthread_cond_broadcast(&wg->zero);
    pthread_mutex_unlock(&wg->mu);
}

void mutex_wg_done(mutex_wg *wg)
{
    mutex_wg_add(wg, -1);
}

void mutex_wg_wait(mutex_wg *wg)
{
    pthread_mutex_lock(&wg->mu);
    while (wg->count != 0) {
        wg->waiting++;
        pthread_cond_wait(&wg->zero, &wg->mu);
        wg->waiting--;
    }
    pthread_mutex_unlock(&wg->mu);
}

void cv_cancel_init(cv_cancel *c)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->canceled = false;
}

void cv_cancel_destroy(cv_cancel *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

void cv_cancel_cancel(cv_cancel *c)
{
    pthread_mutex_lock(&c->mu);
    bool was = c->canceled;
    c->canceled = true;
    pthread_mutex_unlock(&c->mu);
    if (!was)
        pthread_cond_broadcast(&c->cv);
}

void cv_cancel_wait(cv_cancel *c)
{
    pthread_mutex_lock(&c->mu);
    while (!c->canceled)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}
