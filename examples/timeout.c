/* timeout.c — "How to Time Out Code": timeLimit races the work's done
 * channel against a timer (Go's time.After) in a select. Going further than
 * the Go snippet, as the seed advises, a context tells the abandoned work to
 * stop, so nothing keeps running. Built and run by ctest as example_timeout.
 *
 *     select { case <-done: return result, err
 *              case <-time.After(limit): return 0, errors.New("work timed out") }
 */
#include <weft.h>
#include <stdio.h>

#define MS 1000000LL /* nanoseconds */

/* doSomeWork: takes work_ns, unless ctx is canceled first. Its wait is a
   receive on ctx's done channel with a deadline: WEFT_ETIMEDOUT means the
   whole time passed (the work is done), anything else that ctx is done. */
static int do_some_work(weft_ctx *ctx, int64_t work_ns, int *result)
{
    if (weft_chan_recv_until(weft_ctx_done(ctx), NULL, weft_deadline_in(work_ns)) != WEFT_ETIMEDOUT)
        return weft_ctx_err(ctx); /* WEFT_ECANCELED */
    *result = 42;
    return 0;
}

typedef struct job {
    weft_ctx *ctx;   /* canceled once nobody waits for the result */
    weft_chan *done; /* closed by the worker after setting result and err */
    int64_t work_ns;
    int result, err;
} job;

static void worker(void *arg)
{
    job *j = arg;
    j->err = do_some_work(j->ctx, j->work_ns, &j->result);
    weft_chan_close(j->done); /* publishes result and err to the receiver */
}

/* Returns 0 with *result, the work's error, or WEFT_ETIMEDOUT. */
static int time_limit(int64_t work_ns, int64_t limit_ns, int *result)
{
    job j = { weft_ctx_with_cancel(NULL), weft_chan_new(0, 0), work_ns, 0, 0 };
    weft_timer *t = weft_timer_new(limit_ns);
    weft_wg wg = WEFT_WG_INIT;
    int rc = WEFT_ENOMEM;
    if (j.ctx && j.done && t && weft_wg_go(&wg, worker, &j) == 0) {
        weft_case cs[] = { WEFT_CASE_RECV(j.done, NULL), WEFT_CASE_RECV(weft_timer_chan(t), NULL) };
        if (weft_select(cs, 2, WEFT_FOREVER) == 0) { /* case <-done */
            rc = j.err;
            *result = j.result;
        } else {                                     /* case <-time.After(limit) */
            rc = WEFT_ETIMEDOUT;
        }
        /* Go would return now and let the worker run on; here the worker uses
           j on this stack, so tell it to stop and wait for it (microseconds). */
        weft_ctx_cancel(j.ctx);
        weft_wg_wait(&wg);
    }
    weft_timer_free(t); /* stops it if it has not fired */
    weft_chan_free(j.done);
    weft_ctx_release(j.ctx);
    return rc;
}

int main(void)
{
    int64_t t0 = weft_now();
    int fast = -1, slow = -1;
    int rc_fast = time_limit(1 * MS, 500 * MS, &fast);        /* 1 ms of work, 500 ms allowed */
    int rc_slow = time_limit(10000 * MS, 50 * MS, &slow);     /* 10 s of work, 50 ms allowed */
    int64_t ms = (weft_now() - t0) / MS;

    printf("fast: %s, result %d\n", weft_strerror(rc_fast), fast);
    printf("slow: %s after %lld ms in all\n", weft_strerror(rc_slow), (long long)ms);
    int ok = rc_fast == 0 && fast == 42 && rc_slow == WEFT_ETIMEDOUT && ms >= 50 && ms < 1000;
    return ok && weft_tasks_live() == 0 ? 0 : 1;
}
