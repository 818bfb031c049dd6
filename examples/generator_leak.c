/* generator_leak.c — "Always Clean Up Your Goroutines": the countTo
 * generator, the leak it causes when the consumer stops early, and the fix
 * with a done channel. Built and run by ctest as example_generator_leak.
 *
 *     go func() { for i := 0; i < max; i++ { ch <- i }; close(ch) }()
 *     for i := range ch { if i > 5 { break } }   // the generator blocks forever
 */
#include <weft.h>
#include <stdio.h>

#define MS 1000000LL /* nanoseconds */

/* What one generator task works with. */
typedef struct gen {
    weft_chan *ch;   /* unbuffered: each send waits for the consumer */
    weft_chan *done; /* closed by the consumer to say "stop"; NULL: the leaky version */
    int max;
} gen;

/* countTo's goroutine. */
static void count_to(void *arg)
{
    gen *g = arg;
    for (int i = 0; i < g->max; i++) {
        /* select { case ch <- i: case <-done: return }. With done == NULL the
           second case is disabled (Go's nil channel): a plain `ch <- i`,
           which waits forever once nobody reads. */
        weft_case cs[] = { WEFT_CASE_SEND(g->ch, &i), WEFT_CASE_RECV(g->done, NULL) };
        if (weft_select(cs, 2, WEFT_FOREVER) != 0 || !cs[0].ok)
            return;
    }
    weft_chan_close(g->ch);
}

/* for i := range ch { if i > 5 { break }; use(i) }: returns how many were used. */
static int use_first_six(weft_chan *ch)
{
    int i, used = 0;
    while (weft_chan_recv(ch, &i) == 0) {
        if (i > 5)
            break;
        used++;
    }
    return used;
}

int main(void)
{
    weft_wg wg = WEFT_WG_INIT; /* to see whether the generator finished */
    gen leaky = { weft_chan_new(sizeof(int), 0), NULL, 10 };
    gen fixed = { weft_chan_new(sizeof(int), 0), weft_chan_new(0, 0), 10 };
    if (!leaky.ch || !fixed.ch || !fixed.done)
        return 1;

    /* 1. The leak: after the break the generator sits in `ch <- 7` forever. */
    weft_wg_go(&wg, count_to, &leaky);
    int used = use_first_six(leaky.ch);
    int rc = weft_wg_wait_until(&wg, weft_deadline_in(50 * MS));
    printf("leaky: used %d values, generator %s\n", used,
           rc == WEFT_ETIMEDOUT ? "still blocked: leaked" : "finished");
    int ok = used == 6 && rc == WEFT_ETIMEDOUT;
    /* No garbage collector here: a channel a task still waits on cannot be
       freed. Release the stuck generator by draining what it has left. */
    while (weft_chan_recv(leaky.ch, NULL) == 0)
        ;
    weft_wg_wait(&wg);
    weft_chan_free(leaky.ch);

    /* 2. The fix: the consumer closes done when it stops reading. */
    weft_wg_go(&wg, count_to, &fixed);
    used = use_first_six(fixed.ch);
    weft_chan_close(fixed.done);     /* close(done): every `<-done` fires now */
    rc = weft_wg_wait_until(&wg, weft_deadline_in(1000 * MS));
    printf("fixed: used %d values, generator %s\n", used, rc == 0 ? "finished" : "leaked");
    ok = ok && used == 6 && rc == 0;
    if (rc == 0) {                   /* never free what a live task may touch */
        weft_chan_free(fixed.ch);
        weft_chan_free(fixed.done);
    }

    ok = ok && weft_tasks_live() == 0;
    return ok ? 0 : 1;
}
