/* once.c — "Running Code Exactly Once": Parse builds its slow, complicated
 * parser lazily, on first use, under a weft_once, however many tasks call it
 * at the same time. Built and run by ctest as example_once.
 */
#define _POSIX_C_SOURCE 200809L
#include <weft.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* A "slow complicated parser": sums the digits of a string using a table it
   must build first. */
typedef struct parser {
    int digit[256];
} parser;

static parser *the_parser;            /* var parser SlowComplicatedParser */
static weft_once once = WEFT_ONCE_INIT; /* var once sync.Once: zero is ready */
static atomic_int inits;              /* how many times init_parser ran */

static void init_parser(void *arg)
{
    (void)arg;
    atomic_fetch_add(&inits, 1);
    nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL); /* slow setup */
    parser *p = calloc(1, sizeof *p);
    if (p)
        for (int c = '0'; c <= '9'; c++)
            p->digit[c] = c - '0';
    the_parser = p; /* every caller of weft_once_do sees this after it returns */
}

static int parse(const char *data)
{
    weft_once_do(&once, init_parser, NULL); /* once.Do(func() { parser = initParser() }) */
    if (!the_parser)
        return -1;
    int sum = 0;
    for (const unsigned char *s = (const unsigned char *)data; *s; s++)
        sum += the_parser->digit[*s];
    return sum;
}

enum { TASKS = 8 };
static atomic_int right; /* tasks that got the right answer */

static void use_parser(void *arg)
{
    (void)arg;
    if (parse("a1b2c3d4e5") == 15)
        atomic_fetch_add(&right, 1);
}

int main(void)
{
    weft_wg wg = WEFT_WG_INIT;
    for (int i = 0; i < TASKS; i++) /* all race to be first to parse */
        weft_wg_go(&wg, use_parser, NULL);
    weft_wg_wait(&wg);
    int again = parse("999"); /* later calls cost one load; init does not run again */

    printf("init ran %d time(s); %d/%d tasks parsed right; parse(\"999\") = %d\n",
           atomic_load(&inits), atomic_load(&right), TASKS, again);
    int ok = atomic_load(&inits) == 1 && atomic_load(&right) == TASKS && again == 27
             && weft_once_done(&once) && weft_tasks_live() == 0;
    free(the_parser);
    return ok ? 0 : 1;
}
