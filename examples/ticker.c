/* ticker.c — a ticker drives periodic work until a context says stop:
 *
 *     t := time.NewTicker(10 * time.Millisecond); defer t.Stop()
 *     for { select { case <-t.C: beat() case <-ctx.Done(): return } }
 *
 * The work is a heartbeat; main cancels the context after five of them.
 * Built and run by ctest as example_ticker.
 */
#include <weft.h>
#include <stdio.h>

#define MS 1000000LL /* nanoseconds */

typedef struct heart {
    weft_ctx *ctx;
    weft_chan *beats; /* buffered; a beat nobody has room for is dropped */
    int ticks;        /* read by main once the task is done */
} heart;

static void heartbeat(void *arg)
{
    heart *h = arg;
    weft_timer *ticker = weft_ticker_new(10 * MS);
    if (!ticker)
        return;
    for (;;) {
        int64_t at; /* the tick's fire time */
        weft_case cs[] = {
            WEFT_CASE_RECV(weft_timer_chan(ticker), &at),
            WEFT_CASE_RECV(weft_ctx_done(h->ctx), NULL),
        };
        if (weft_select(cs, 2, WEFT_FOREVER) == 1)
            break; /* case <-ctx.Done(): return */
        h->ticks++; /* the periodic work: one beat, never blocking */
        weft_chan_try_send(h->beats, &h->ticks);
    }
    weft_timer_free(ticker); /* defer t.Stop() */
}

int main(void)
{
    heart h = { weft_ctx_with_cancel(NULL), weft_chan_new(sizeof(int), 16), 0 };
    weft_wg wg = WEFT_WG_INIT;
    if (!h.ctx || !h.beats)
        return 1;
    int64_t t0 = weft_now();
    weft_wg_go(&wg, heartbeat, &h);
    int beat = 0;
    for (int i = 0; i < 5; i++)
        weft_chan_recv(h.beats, &beat);
    weft_ctx_cancel(h.ctx); /* stop the ticking task */
    weft_wg_wait(&wg);
    int64_t ms = (weft_now() - t0) / MS;
    weft_ctx_release(h.ctx);
    weft_chan_free(h.beats);

    /* At least the five beats we saw; at most one per 10 ms that passed: a
       ticker drops ticks nobody received, it never bunches them up. */
    printf("%d ticks in %lld ms (last beat seen: %d)\n", h.ticks, (long long)ms, beat);
    return beat == 5 && h.ticks >= 5 && h.ticks <= ms / 10 + 1 && weft_tasks_live() == 0 ? 0 : 1;
}
