/* sync/chan_ctx.c — channel operations that give up when a context is done.
 *
 * They live beside the contexts so that chan/ never depends on sync/. A
 * call first checks the context (a done context wins over a ready channel),
 * then tries the operation without blocking, and only then waits in a
 * two-case select: the operation, and the context's done channel.
 */
#include <weft/ctx.h>
#include <weft/select.h>

static int chan_op_ctx(weft_chan *c, int dir, void *elem, weft_ctx *ctx)
{
    if (!c)
        return WEFT_EINVAL;
    int err = weft_ctx_err(ctx);
    if (err)
        return err;
    weft_case cs[2] = {
        { .chan = c, .dir = dir, .elem = elem, .ok = false },
        { .chan = NULL, .dir = WEFT_RECV, .elem = NULL, .ok = false },
    };
    /* A poll first: the common case completes without creating the done
       channel or queueing on it. WEFT_EAGAIN here only means "must wait". */
    int k = weft_select(cs, 1, WEFT_NOWAIT);
    if (k == WEFT_EAGAIN) {
        cs[1].chan = weft_ctx_done(ctx); /* NULL for background: disabled */
        k = weft_select(cs, 2, WEFT_FOREVER);
    }
    if (k == 0)
        return cs[0].ok ? 0 : WEFT_ECLOSED;
    if (k == 1)
        return weft_ctx_err(ctx);
    return k;
}

WEFT_API int weft_chan_send_ctx(weft_chan *c, const void *elem, weft_ctx *ctx)
{
    return chan_op_ctx(c, WEFT_SEND, (void *)elem, ctx);
}

WEFT_API int weft_chan_recv_ctx(weft_chan *c, void *elem, weft_ctx *ctx)
{
    return chan_op_ctx(c, WEFT_RECV, elem, ctx);
}
