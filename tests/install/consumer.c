/* consumer.c — a program written against the installed weft, nothing else.
 *
 * tests/install/run.sh builds it through pkg-config (shared and static) and
 * through find_package(weft). Two producer threads send 1000 ints each into
 * a buffered channel; the main thread receives until WEFT_ECLOSED; a third
 * thread closes the channel once both producers are done (Go's
 * wg.Wait(); close(ch)). Prints "consumer ok" when every value arrived once.
 */
#define _POSIX_C_SOURCE 200809L

#include <weft.h>

#include <pthread.h>
#include <stdio.h>

enum { PRODUCERS = 2, PER_PRODUCER = 1000, BASE = 100000 };

struct producer {
    weft_chan *c;
    int        first;
    int        status;
    pthread_t  thread;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        int v = p->first + i;
        int rc = weft_chan_send(p->c, &v);
        if (rc != 0) {
            p->status = rc;
            return NULL;
        }
    }
    return NULL;
}

struct closer {
    weft_chan       *c;
    struct producer *producers;
    int              status;
};

static void *close_when_done(void *arg)
{
    struct closer *cl = arg;
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(cl->producers[i].thread, NULL);
    cl->status = weft_chan_close(cl->c);
    return NULL;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "consumer: %s: %d (%s)\n", what, rc, weft_strerror(rc));
    return 1;
}

int main(void)
{
    weft_chan *c = weft_chan_new(sizeof(int), 64);
    if (c == NULL) {
        perror("consumer: weft_chan_new");
        return 1;
    }

    struct producer producers[PRODUCERS];
    long long want = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        producers[i] = (struct producer){ .c = c, .first = (i + 1) * BASE };
        for (int k = 0; k < PER_PRODUCER; k++)
            want += producers[i].first + k;
        if (pthread_create(&producers[i].thread, NULL, produce, &producers[i]) != 0)
            return fail("pthread_create", 0);
    }
    struct closer cl = { .c = c, .producers = producers };
    pthread_t closer_thread;
    if (pthread_create(&closer_thread, NULL, close_when_done, &cl) != 0)
        return fail("pthread_create", 0);

    /* Receive until closed and drained: Go's `for v := range ch`. */
    long long sum = 0;
    int count = 0, v, rc;
    int last[PRODUCERS] = { 0 };
    while ((rc = weft_chan_recv(c, &v)) == 0) {
        int who = v / BASE - 1;
        if (who < 0 || who >= PRODUCERS || v <= last[who])
            return fail("value out of range or out of order", v);
        last[who] = v;
        sum += v;
        count++;
    }
    pthread_join(closer_thread, NULL);

    if (rc != WEFT_ECLOSED)
        return fail("recv after close", rc);
    for (int i = 0; i < PRODUCERS; i++)
        if (producers[i].status != 0)
            return fail("send", producers[i].status);
    if (cl.status != 0)
        return fail("close", cl.status);
    if (count != PRODUCERS * PER_PRODUCER || sum != want) {
        fprintf(stderr, "consumer: got %d values summing to %lld, want %d summing to %lld\n",
                count, sum, PRODUCERS * PER_PRODUCER, want);
        return 1;
    }
    int one = 1;
    if ((rc = weft_chan_send(c, &one)) != WEFT_ECLOSED)
        return fail("send on a closed channel", rc);
    if ((rc = weft_chan_close(c)) != WEFT_ECLOSED)
        return fail("second close", rc);
    weft_chan_free(c);

    printf("consumer ok\n");
    return 0;
}
