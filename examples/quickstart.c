/* quickstart.c — the README's first example: a buffered channel between a
 * producer thread and main, closed by the producer, drained by main with a
 * range-style loop (Go's `for v := range c`). Built and run by ctest as
 * example_quickstart. */
#define _POSIX_C_SOURCE 200809L
#include <weft.h>
#include <pthread.h>
#include <stdio.h>

static void *produce(void *arg)
{
    weft_chan *c = arg;
    for (int i = 1; i <= 100; i++)
        weft_chan_send(c, &i);  /* blocks while the buffer is full */
    weft_chan_close(c);         /* receivers drain, then get WEFT_ECLOSED */
    return NULL;
}

int main(void)
{
    weft_chan *c = weft_chan_new(sizeof(int), 8);  /* make(chan int, 8) */
    if (c == NULL)
        return 1;
    pthread_t producer;
    pthread_create(&producer, NULL, produce, c);

    int v, sum = 0;
    while (weft_chan_recv(c, &v) == 0)  /* for v := range c */
        sum += v;

    pthread_join(producer, NULL);
    weft_chan_free(c);
    printf("sum = %d\n", sum);          /* sum = 5050 */
    return sum == 5050 ? 0 : 1;
}
