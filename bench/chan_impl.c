/* chan_impl.c — the vtables of chan_impl.h. */
#include "chan_impl.h"

#include "baselines/mutex_chan.h"

#include <weft/chan.h>
#include <weft/select.h>

_Static_assert(WEFT_ECLOSED == CHAN_ECLOSED && MUTEX_CHAN_ECLOSED == CHAN_ECLOSED,
               "both channels report close with the same code");
_Static_assert(CHAN_SELECT_MAX <= MUTEX_CHAN_SELECT_MAX, "the baseline takes as many cases");

static void *weft_make(size_t e, size_t cap) { return weft_chan_new(e, cap); }
static void weft_destroy(void *c) { weft_chan_free(c); }
static int weft_send(void *c, const void *e) { return weft_chan_send(c, e); }
static int weft_recv(void *c, void *e) { return weft_chan_recv(c, e); }
static int weft_close(void *c) { return weft_chan_close(c); }
static int weft_send_many(void *c, const void *e, size_t n, size_t *s) { return weft_chan_send_many(c, e, n, s); }
static int weft_recv_many(void *c, void *e, size_t n, size_t *g) { return weft_chan_recv_many(c, e, n, g); }

static int weft_select_(chan_case *cs, size_t n)
{
    weft_case wc[CHAN_SELECT_MAX];
    if (n > CHAN_SELECT_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        wc[i] = (weft_case){ .chan = cs[i].chan, .dir = cs[i].dir == CHAN_SEND ? WEFT_SEND : WEFT_RECV,
                             .elem = cs[i].elem, .ok = false };
    int k = weft_select(wc, n, WEFT_FOREVER);
    if (k >= 0)
        cs[k].ok = wc[k].ok;
    return k;
}

static void *mutex_make(size_t e, size_t cap) { return mutex_chan_new(e, cap); }
static void mutex_destroy(void *c) { mutex_chan_free(c); }
static int mutex_send(void *c, const void *e) { return mutex_chan_send(c, e); }
static int mutex_recv(void *c, void *e) { return mutex_chan_recv(c, e); }
static int mutex_close(void *c) { return mutex_chan_close(c); }
static int mutex_send_many(void *c, const void *e, size_t n, size_t *s) { return mutex_chan_send_many(c, e, n, s); }
static int mutex_recv_many(void *c, void *e, size_t n, size_t *g) { return mutex_chan_recv_many(c, e, n, g); }

static int mutex_select(chan_case *cs, size_t n)
{
    mutex_chan_case mc[CHAN_SELECT_MAX];
    if (n > CHAN_SELECT_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        mc[i] = (mutex_chan_case){ .chan = cs[i].chan,
                                   .dir = cs[i].dir == CHAN_SEND ? MUTEX_CHAN_SEND : MUTEX_CHAN_RECV,
                                   .elem = cs[i].elem, .ok = false };
    int k = mutex_chan_select(mc, n);
    if (k >= 0)
        cs[k].ok = mc[k].ok;
    return k;
}

const chan_impl CHAN_IMPL_WEFT = {
    "weft", weft_make, weft_destroy, weft_send, weft_recv, weft_close,
    weft_send_many, weft_recv_many, weft_select_, 0,
};

const chan_impl CHAN_IMPL_MUTEX = {
    "mutex", mutex_make, mutex_destroy, mutex_send, mutex_recv, mutex_close,
    mutex_send_many, mutex_recv_many, mutex_select, 0,
};

const chan_impl *const CHAN_IMPLS[CHAN_NIMPLS] = { &CHAN_IMPL_WEFT, &CHAN_IMPL_MUTEX };

const chan_impl *const CHAN_PEERS[CHAN_NPEERS] = { &CHAN_IMPL_CK, &CHAN_IMPL_URCU };
