/* waitgroup.c — "Using WaitGroups": wait for three tasks; then
 * processAndGather, where workers write to one channel and a closer task
 * waits on the waitgroup to close it exactly once while main ranges over it.
 * Built and run by ctest as example_waitgroup.
 */
#include <weft.h>
#include <stdio.h>

/* ---- wg.Add(3); go func() { defer wg.Done(); doThingN() }() ... wg.Wait() */

static int things[3];
static void do_thing1(void *arg) { (void)arg; things[0] = 1; }
static void do_thing2(void *arg) { (void)arg; things[1] = 2; }
static void do_thing3(void *arg) { (void)arg; things[2] = 3; }

/* ---- processAndGather ------------------------------------------------- */

typedef struct pool {
    weft_chan *in, *out;
    int (*processor)(int);
    weft_wg wg; /* the workers; shared by pointer, never copied */
} pool;

static void work(void *arg)
{
    pool *p = arg;
    int v;
    while (weft_chan_recv(p->in, &v) == 0) { /* for v := range in */
        int r = p->processor(v);
        weft_chan_send(p->out, &r);
    }
}

/* The monitoring task: once every worker is done, close out. */
static void close_when_done(void *arg)
{
    pool *p = arg;
    weft_wg_wait(&p->wg);
    weft_chan_close(p->out);
}

/* Fills result (room for cap) and returns how many; -1 if out of memory. */
static int process_and_gather(weft_chan *in, int (*processor)(int), int num, int *result, int cap)
{
    pool p = { in, weft_chan_new(sizeof(int), (size_t)num), processor, WEFT_WG_INIT };
    weft_wg closer = WEFT_WG_INIT;
    if (!p.out)
        return -1;
    for (int i = 0; i < num; i++)
        weft_wg_go(&p.wg, work, &p);
    weft_wg_go(&closer, close_when_done, &p);

    int n = 0, v;
    while (weft_chan_recv(p.out, &v) == 0) /* loops until out is closed and drained */
        if (n < cap)
            result[n++] = v;
    /* The closer may still be inside weft_chan_close: wait before freeing. */
    weft_wg_wait(&closer);
    weft_chan_free(p.out);
    return n;
}

static int twice(int v) { return 2 * v; }

static void feed(void *arg) /* the input: 1..100, then close */
{
    weft_chan *in = arg;
    for (int v = 1; v <= 100; v++)
        weft_chan_send(in, &v);
    weft_chan_close(in);
}

int main(void)
{
    weft_wg wg = WEFT_WG_INIT; /* the zero value is ready: no init call */
    weft_wg_go(&wg, do_thing1, NULL); /* add(1) + run as a task + done() */
    weft_wg_go(&wg, do_thing2, NULL);
    weft_wg_go(&wg, do_thing3, NULL);
    weft_wg_wait(&wg); /* waits for three done() calls; their writes are visible */
    int ok = things[0] == 1 && things[1] == 2 && things[2] == 3;

    weft_chan *in = weft_chan_new(sizeof(int), 0);
    int result[100], sum = 0;
    if (!in)
        return 1;
    weft_wg_go(&wg, feed, in); /* wg is reusable once its wait returned */
    int n = process_and_gather(in, twice, 4, result, 100);
    weft_wg_wait(&wg);
    weft_chan_free(in);
    for (int i = 0; i < n; i++)
        sum += result[i];

    printf("three things: %s; gathered %d values, sum %d\n", ok ? "done" : "MISSING", n, sum);
    return ok && n == 100 && sum == 10100 && weft_tasks_live() == 0 ? 0 : 1;
}
