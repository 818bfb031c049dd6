/* chan_impl.c — the vtables of chan_impl.h. */
#include "chan_impl.h"

#include "baselines/mutex_chan.h"

#include <weft/chan.h>

_Static_assert(WEFT_ECLOSED == CHAN_ECLOSED && MUTEX_CHAN_ECLOSED == CHAN_ECLOSED,
               "both channels report close with the same code");

static void *weft_make(size_t e, size_t cap) { return weft_chan_new(e, cap); }
static void weft_destroy(void *c) { weft_chan_free(c); }
static int weft_send(void *c, const void *e) { return weft_chan_send(c, e); }
static int weft_recv(void *c, void *e) { return weft_chan_recv(c, e); }
static int weft_close(void *c) { return weft_chan_close(c); }
static int weft_send_many(void *c, const void *e, size_t n, size_t *s) { return weft_chan_send_many(c, e, n, s); }
static int weft_recv_many(void *c, void *e, size_t n, size_t *g) { return weft_chan_recv_many(c, e, n, g); }

static void *mutex_make(size_t e, size_t cap) { return mutex_chan_new(e, cap); }
static void mutex_destroy(void *c) { mutex_chan_free(c); }
static int mutex_send(void *c, const void *e) { return mutex_chan_send(c, e); }
static int mutex_recv(void *c, void *e) { return mutex_chan_recv(c, e); }
static int mutex_close(void *c) { return mutex_chan_close(c); }
static int mutex_send_many(void *c, const void *e, size_t n, size_t *s) { return mutex_chan_send_many(c, e, n, s); }
static int mutex_recv_many(void *c, void *e, size_t n, size_t *g) { return mutex_chan_recv_many(c, e, n, g); }

const chan_impl CHAN_IMPL_WEFT = {
    "weft", weft_make, weft_destroy, weft_send, weft_recv, weft_close,
    weft_send_many, weft_recv_many,
};

const chan_impl CHAN_IMPL_MUTEX = {
    "mutex", mutex_make, mutex_destroy, mutex_send, mutex_recv, mutex_close,
    mutex_send_many, mutex_recv_many,
};

const chan_impl *const CHAN_IMPLS[CHAN_NIMPLS] = { &CHAN_IMPL_WEFT, &CHAN_IMPL_MUTEX };
