/* cancel_func.c — "Using a Cancel Function to Terminate a Goroutine":
 * countTo returns its channel and a cancel function. The done channel is a
 * weft_ctx here, and the cancel function also cleans up what countTo made.
 * Built and run by ctest as example_cancel_func.
 *
 *     ch, cancel := countTo(10)
 *     for i := range ch { if i > 5 { break } }
 *     cancel()
 */
#include <weft.h>
#include <stdio.h>
#include <stdlib.h>

/* What the cancel closure captures. Callers only hold a pointer to it. */
typedef struct counter {
    weft_chan *ch;
    weft_ctx *ctx;  /* canceled by count_to_cancel: Go's close(done) */
    weft_wg wg;     /* lets cancel wait until the generator has returned */
    int max;
} counter;

static void generate(void *arg)
{
    counter *c = arg;
    for (int i = 0; i < c->max; i++)
        /* select { case <-done: return; case ch <- i: } in one call. */
        if (weft_chan_send_ctx(c->ch, &i, c->ctx) != 0)
            return; /* WEFT_ECANCELED */
    weft_chan_close(c->ch);
}

/* countTo(max) (<-chan int, func()): the channel, and in *cancel what to
   pass to count_to_cancel. NULL when out of memory. */
static weft_chan *count_to(int max, counter **cancel)
{
    counter *c = calloc(1, sizeof *c); /* a zeroed weft_wg is ready to use */
    if (!c)
        return NULL;
    c->max = max;
    c->ch = weft_chan_new(sizeof(int), 0);
    c->ctx = weft_ctx_with_cancel(NULL);
    if (!c->ch || !c->ctx || weft_wg_go(&c->wg, generate, c) != 0) {
        weft_ctx_release(c->ctx); /* NULL-safe, as weft_chan_free */
        weft_chan_free(c->ch);
        free(c);
        return NULL;
    }
    *cancel = c;
    return c->ch;
}

/* cancel(): stop the generator, then the "additional clean-up work" a cancel
   function allows: wait for it and free the channel and the context. */
static void count_to_cancel(counter *c)
{
    weft_ctx_cancel(c->ctx);
    weft_wg_wait(&c->wg);
    weft_ctx_release(c->ctx);
    weft_chan_free(c->ch);
    free(c);
}

/* Read from countTo(10), stopping after `stop_after` (or at the end). */
static int sum_until(int stop_after)
{
    counter *cancel;
    weft_chan *ch = count_to(10, &cancel);
    if (!ch)
        return -1;
    int i, sum = 0;
    while (weft_chan_recv(ch, &i) == 0) { /* for i := range ch */
        if (i > stop_after)
            break;
        sum += i;
    }
    count_to_cancel(cancel); /* in Go often `defer cancel()` */
    return sum;
}

int main(void)
{
    int early = sum_until(5);  /* 0+1+2+3+4+5: the generator is canceled mid-way */
    int all = sum_until(100);  /* 0+...+9: it finished and closed ch; cancel is harmless */
    printf("stopped early: sum %d; read all: sum %d; tasks live: %zu\n", early, all,
           weft_tasks_live());
    return early == 15 && all == 45 && weft_tasks_live() == 0 ? 0 : 1;
}
