/* backpressure.c — the seed's PressureGauge: at most `limit` calls run at
 * once; a call that finds no capacity is refused at once ("no more
 * capacity", WEFT_EAGAIN) instead of queueing. On a weft_sem it is one line;
 * the Go version, a buffered channel of tokens, is shown beside it. Built and
 * run by ctest as example_backpressure.
 */
#define _POSIX_C_SOURCE 200809L
#include <weft.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { LIMIT = 3, CALLS = 8 };

/* Process with a semaphore of LIMIT units. */
static int process_sem(weft_sem *pg, void (*f)(void))
{
    if (weft_sem_try_acquire(pg, 1) != 0) /* the one line: no unit free? */
        return WEFT_EAGAIN;               /* "no more capacity" */
    f();
    weft_sem_release(pg, 1);
    return 0;
}

/* Process as in Go: select { case <-pg.ch: f(); pg.ch <- struct{}{} default: ... } */
static int process_chan(weft_chan *tokens, void (*f)(void))
{
    if (weft_chan_try_recv(tokens, NULL) != 0) /* no token: the default case */
        return WEFT_EAGAIN;
    f();
    weft_chan_send(tokens, NULL); /* give the token back (elem_size 0) */
    return 0;
}

/* doThingThatShouldBeLimited, recording how many run at once. */
static atomic_int running, most;
static void limited_thing(void)
{
    int now = atomic_fetch_add(&running, 1) + 1;
    for (int m = atomic_load(&most); now > m && !atomic_compare_exchange_weak(&most, &m, now);)
        ;
    nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL); /* 100 ms of work */
    atomic_fetch_sub(&running, 1);
}

/* CALLS requests arrive together at a gauge (sem or tokens). */
typedef struct gauge {
    weft_sem *sem;     /* one of the two */
    weft_chan *tokens;
    weft_wg ready;     /* every request is at the starting line */
    weft_chan *start;  /* closed to let every request go at once */
    atomic_int served, refused;
} gauge;

static void request(void *arg)
{
    gauge *g = arg;
    weft_wg_done(&g->ready);
    weft_chan_recv(g->start, NULL); /* wait for the starting gun */
    int rc = g->sem ? process_sem(g->sem, limited_thing) : process_chan(g->tokens, limited_thing);
    atomic_fetch_add(rc == 0 ? &g->served : &g->refused, 1); /* rc: 429 Too Many Requests */
}

static int run(gauge *g, const char *name)
{
    weft_wg wg = WEFT_WG_INIT;
    atomic_store(&most, 0);
    weft_wg_add(&g->ready, CALLS);
    for (int i = 0; i < CALLS; i++)
        weft_wg_go(&wg, request, g);
    weft_wg_wait(&g->ready);
    weft_chan_close(g->start); /* go! */
    weft_wg_wait(&wg);
    int served = atomic_load(&g->served), refused = atomic_load(&g->refused);
    printf("%s: %d served, %d refused (%s), at most %d at once\n", name, served, refused,
           weft_strerror(WEFT_EAGAIN), atomic_load(&most));
    return served >= LIMIT && refused >= 1 && served + refused == CALLS
           && atomic_load(&most) <= LIMIT;
}

int main(void)
{
    gauge a = { .sem = weft_sem_new(LIMIT), .start = weft_chan_new(0, 0) };
    gauge b = { .tokens = weft_chan_new(0, LIMIT), .start = weft_chan_new(0, 0) };
    if (!a.sem || !a.start || !b.tokens || !b.start)
        return 1;
    for (int i = 0; i < LIMIT; i++)
        weft_chan_send(b.tokens, NULL); /* fill the bucket with LIMIT tokens */

    int ok = run(&a, "semaphore") && run(&b, "token channel");

    weft_sem_free(a.sem);
    weft_chan_free(a.start);
    weft_chan_free(b.tokens);
    weft_chan_free(b.start);
    return ok && weft_tasks_live() == 0 ? 0 : 1;
}
