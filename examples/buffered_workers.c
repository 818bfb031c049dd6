/* buffered_workers.c — "When to Use Buffered and Unbuffered Channels": when
 * you know how many tasks you launched, give their results channel one slot
 * per task, so each sends without waiting and exits. Also "Goroutines, for
 * Loops, and Varying Variables": pass each task its own value. Built and run
 * by ctest as example_buffered_workers.
 */
#include <weft.h>
#include <stdio.h>

/* ---- Varying variables: go func(val int) { ch <- val * 2 }(v) ---------- */

typedef struct doubler {
    weft_chan *out;
    int val; /* this task's own copy of v */
} doubler;

static void double_it(void *arg)
{
    doubler *d = arg;
    int r = d->val * 2;
    weft_chan_send(d->out, &r);
}

static int double_all(void)
{
    const int a[] = { 2, 4, 6, 8, 10 };
    enum { N = sizeof a / sizeof a[0] };
    weft_chan *ch = weft_chan_new(sizeof(int), N); /* make(chan int, len(a)) */
    doubler args[N];
    weft_wg wg = WEFT_WG_INIT;
    if (!ch)
        return 0;
    for (int i = 0; i < N; i++) {
        /* Copy the value into this task's own argument. Passing &v of a loop
           variable would be Go's bug, worse: every task would read whatever
           the variable holds when it runs, or a variable already gone. */
        args[i] = (doubler){ ch, a[i] };
        weft_wg_go(&wg, double_it, &args[i]);
    }
    int seen = 0, v;
    for (int i = 0; i < N; i++) {
        weft_chan_recv(ch, &v);
        seen |= 1 << v / 4; /* 4, 8, ..., 20: bits 1..5 */
    }
    weft_wg_wait(&wg); /* before freeing ch: a sender may still be inside send */
    weft_chan_free(ch);
    return seen == 0x3e;
}

/* ---- processChannel: conc workers, a results channel of conc slots ---- */

enum { CONC = 10 };

typedef struct work {
    weft_chan *in;      /* where the work comes from */
    weft_chan *results; /* buffered, CONC slots: no worker ever waits on it */
} work;

static int process(int v) { return v * v; }

static void worker(void *arg)
{
    work *w = arg;
    int v;
    if (weft_chan_recv(w->in, &v) == 0) { /* v := <-ch */
        int r = process(v);
        weft_chan_send(w->results, &r);   /* results <- process(v): never blocks */
    }
}

static int process_channel(weft_chan *in, int out[CONC])
{
    work w = { in, weft_chan_new(sizeof(int), CONC) };
    weft_wg wg = WEFT_WG_INIT;
    if (!w.results)
        return 0;
    for (int i = 0; i < CONC; i++)
        weft_wg_go(&wg, worker, &w);
    for (int i = 0; i < CONC; i++)
        weft_chan_recv(w.results, &out[i]); /* out = append(out, <-results) */
    weft_wg_wait(&wg);
    weft_chan_free(w.results);
    return CONC;
}

int main(void)
{
    int ok = double_all();

    weft_chan *in = weft_chan_new(sizeof(int), CONC);
    int out[CONC], sum = 0;
    for (int v = 1; v <= CONC; v++)
        weft_chan_send(in, &v); /* in has room for all ten: no wait */
    int n = in ? process_channel(in, out) : 0;
    for (int i = 0; i < n; i++)
        sum += out[i];
    weft_chan_free(in);

    printf("doubling: %s; processChannel: %d results, sum of squares %d\n",
           ok ? "each task got its own value" : "WRONG", n, sum);
    return ok && n == CONC && sum == 385 && weft_tasks_live() == 0 ? 0 : 1;
}
