/* nil_case.c — "Turning Off a case in a select": merge two channels; when
 * one is closed (ok == false), set its case's channel to NULL (Go's nil
 * channel) so select never picks it again; stop when both are off. Built and
 * run by ctest as example_nil_case.
 */
#include <weft.h>
#include <stdio.h>

#define MS 1000000LL /* nanoseconds */

typedef struct source {
    weft_chan *out;
    int first, count;
} source;

static void produce(void *arg)
{
    source *s = arg;
    for (int v = s->first; v < s->first + s->count; v++)
        weft_chan_send(s->out, &v);
    weft_chan_close(s->out);
}

int main(void)
{
    source s1 = { weft_chan_new(sizeof(int), 0), 1, 50 };
    source s2 = { weft_chan_new(sizeof(int), 0), 1001, 70 };
    weft_ctx *ctx = weft_ctx_with_timeout(NULL, 1000 * MS); /* done: a safety net */
    weft_wg wg = WEFT_WG_INIT;
    if (!s1.out || !s2.out || !ctx)
        return 1;
    weft_wg_go(&wg, produce, &s1);
    weft_wg_go(&wg, produce, &s2);

    weft_chan *in = s1.out, *in2 = s2.out; /* the select's own copies, set to NULL */
    int v, n = 0, sum = 0, last = 0, last2 = 1000, in_order = 1, timed_out = 0;
    while (in || in2) {
        weft_case cs[] = {
            WEFT_CASE_RECV(in, &v),
            WEFT_CASE_RECV(in2, &v),
            WEFT_CASE_RECV(weft_ctx_done(ctx), NULL), /* case <-done: */
        };
        switch (weft_select(cs, 3, WEFT_FOREVER)) {
        case 0:
            if (!cs[0].ok) {
                in = NULL; /* the case will never succeed again */
                continue;
            }
            in_order &= v == last + 1; /* values from one sender keep their order */
            last = v;
            break;
        case 1:
            if (!cs[1].ok) {
                in2 = NULL;
                continue;
            }
            in_order &= v == last2 + 1;
            last2 = v;
            break;
        default: /* 2: done (should not happen here) */
            timed_out = 1;
            weft_chan_close(s1.out); /* release the producers: their sends */
            weft_chan_close(s2.out); /* now return WEFT_ECLOSED */
            in = in2 = NULL;
            continue;
        }
        n++;
        sum += v;
    }

    weft_wg_wait(&wg);
    weft_ctx_cancel(ctx); /* defer cancel() */
    weft_ctx_release(ctx);
    weft_chan_free(s1.out);
    weft_chan_free(s2.out);

    int want = (1 + 50) * 50 / 2 + (1001 + 1070) * 70 / 2;
    printf("merged %d values, sum %d (want 120, %d)%s\n", n, sum, want,
           timed_out ? ", timed out" : "");
    return n == 120 && sum == want && in_order && !timed_out && weft_tasks_live() == 0 ? 0 : 1;
}
