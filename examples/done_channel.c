/* done_channel.c — "The Done Channel Pattern": searchData runs several
 * searchers on the same query, keeps the first result, and closes done so
 * the others stop instead of leaking. Built and run by ctest as
 * example_done_channel.
 *
 *     select { case result <- searcher(s): case <-done: }
 */
#define _POSIX_C_SOURCE 200809L
#include <weft.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Three searchers of different speeds: the cache answers at once. */
typedef const char *(*searcher)(const char *query);
static const char *search_cache(const char *q) { (void)q; return "cache"; }
static const char *search_db(const char *q) { (void)q; sleep_ms(100); return "db"; }
static const char *search_web(const char *q) { (void)q; sleep_ms(150); return "web"; }

static atomic_int gave_up; /* searchers that saw done instead of sending */

/* The state every searcher task shares (none of it changes). */
typedef struct search {
    const char *query;
    weft_chan *result; /* unbuffered, carries a const char * */
    weft_chan *done;   /* never written, only closed */
} search;

/* One per task: the searcher is passed by value, as in go func(searcher ...){...}(searcher). */
typedef struct job {
    search *s;
    searcher fn;
} job;

static void run_searcher(void *arg)
{
    job *j = arg;
    const char *r = j->fn(j->s->query);
    weft_case cs[] = { WEFT_CASE_SEND(j->s->result, &r), WEFT_CASE_RECV(j->s->done, NULL) };
    if (weft_select(cs, 2, WEFT_FOREVER) == 1)
        atomic_fetch_add(&gave_up, 1); /* someone else won */
}

static const char *search_data(const char *query, const searcher *fns, int n)
{
    search s = { query, weft_chan_new(sizeof(const char *), 0), weft_chan_new(0, 0) };
    job jobs[8];
    weft_wg wg = WEFT_WG_INIT;
    const char *r = NULL;
    if (s.result && s.done && n <= 8) {
        for (int i = 0; i < n; i++) {
            jobs[i] = (job){ &s, fns[i] };
            weft_wg_go(&wg, run_searcher, &jobs[i]);
        }
        weft_chan_recv(s.result, &r); /* r := <-result */
        weft_chan_close(s.done);      /* close(done) */
        /* Go returns here and lets the losers finish later; in C, s and jobs
           live on this stack, so wait until every searcher has let go. */
        weft_wg_wait(&wg);
    }
    weft_chan_free(s.result);
    weft_chan_free(s.done);
    return r;
}

int main(void)
{
    const searcher fns[] = { search_web, search_cache, search_db };
    const char *r = search_data("weft", fns, 3);
    printf("first result: %s; %d searchers stopped by done\n", r ? r : "(none)",
           atomic_load(&gave_up));
    int ok = r && strcmp(r, "cache") == 0 && atomic_load(&gave_up) == 2
             && weft_tasks_live() == 0;
    return ok ? 0 : 1;
}
