/* ctx_chan_test — weft_chan_send_ctx / weft_chan_recv_ctx:
 *  - a ready channel completes normally: buffered, and unbuffered with a
 *    partner already waiting or arriving later;
 *  - canceled while blocked (buffered full / empty, unbuffered, both
 *    directions; canceled directly or through an ancestor): WEFT_ECANCELED,
 *    and a blocked send delivered nothing;
 *  - the context's deadline passing while blocked: WEFT_ETIMEDOUT, not
 *    before the deadline;
 *  - a context already done when the call starts wins over a ready channel:
 *    a buffered value stays (len unchanged), room stays empty, a waiting
 *    unbuffered partner stays waiting, a closed channel reports the
 *    context's error;
 *  - NULL and background ctx: the plain operation (blocks until a partner
 *    comes);
 *  - NULL channel: WEFT_EINVAL (live, done and NULL contexts);
 *  - closed channel: send WEFT_ECLOSED, receive drains then WEFT_ECLOSED, a
 *    blocked receive_ctx / send_ctx is woken by close with WEFT_ECLOSED;
 *  - no value lost or duplicated when cancel races with send_ctx /
 *    recv_ctx loops (unbuffered, cap 1, cap 8; many rounds, random cancel
 *    times): the values whose send returned 0 are exactly those received
 *    (by the receiver or drained afterwards), in order;
 *  - many threads on one context, each blocked in a _ctx op on its own
 *    channel, all return when it times out.
 */
#include "check.h"

#include <stdatomic.h>

static void drop(weft_ctx *c)
{
    weft_ctx_cancel(c);
    weft_ctx_release(c);
}

/* ---- a thread doing one operation ----------------------------------------- */

enum { OP_SEND, OP_RECV, OP_SEND_CTX, OP_RECV_CTX, OP_CLOSE, OP_CANCEL };

typedef struct op {
    weft_chan *c;
    weft_ctx *ctx;
    int kind;
    long delay_ms;
    long value;
    int rc;
    int64_t returned_at;
    atomic_int started;
} op;

static void *op_main(void *p)
{
    op *o = p;
    atomic_store(&o->started, 1);
    if (o->delay_ms)
        test_sleep_ms(o->delay_ms);
    switch (o->kind) {
    case OP_SEND:
        o->rc = weft_chan_send(o->c, &o->value);
        break;
    case OP_RECV:
        o->rc = weft_chan_recv(o->c, &o->value);
        break;
    case OP_SEND_CTX:
        o->rc = weft_chan_send_ctx(o->c, &o->value, o->ctx);
        break;
    case OP_RECV_CTX:
        o->rc = weft_chan_recv_ctx(o->c, &o->value, o->ctx);
        break;
    case OP_CLOSE:
        o->rc = weft_chan_close(o->c);
        break;
    default:
        weft_ctx_cancel(o->ctx);
        o->rc = 0;
        break;
    }
    o->returned_at = weft_now();
    return NULL;
}

static pthread_t op_start(op *o, weft_chan *c, weft_ctx *ctx, int kind, long delay_ms, long value)
{
    o->c = c;
    o->ctx = ctx;
    o->kind = kind;
    o->delay_ms = delay_ms;
    o->value = value;
    o->rc = 1;
    o->returned_at = 0;
    atomic_store(&o->started, 0);
    return test_thread(op_main, o);
}

/* Start o and give it time to block. */
static pthread_t op_start_blocked(op *o, weft_chan *c, weft_ctx *ctx, int kind, long value)
{
    pthread_t t = op_start(o, c, ctx, kind, 0, value);
    while (!atomic_load(&o->started))
        sched_yield();
    test_sleep_ms(20);
    CHECK_EQ(o->rc, 1); /* still blocked */
    return t;
}

/* ---- ready channels ----------------------------------------------------------- */

static void ready_buffered(void)
{
    weft_ctx *ctx = weft_ctx_with_cancel(NULL);
    weft_ctx *tctx = weft_ctx_with_timeout(NULL, 3600 * 1000 * MS);
    weft_chan *c = weft_chan_new(sizeof(long), 4);
    for (long i = 0; i < 4; i++)
        CHECK_OK(weft_chan_send_ctx(c, &i, i % 2 ? ctx : tctx));
    CHECK_EQ(weft_chan_len(c), 4);
    for (long i = 0; i < 4; i++) {
        long v = -1;
        CHECK_OK(weft_chan_recv_ctx(c, &v, i % 2 ? tctx : ctx));
        CHECK_EQ(v, i);
    }
    CHECK_EQ(weft_chan_len(c), 0);
    /* elem NULL drops the value */
    long x = 5;
    CHECK_OK(weft_chan_send_ctx(c, &x, ctx));
    CHECK_OK(weft_chan_recv_ctx(c, NULL, ctx));
    CHECK_EQ(weft_chan_len(c), 0);
    CHECK_EQ(weft_ctx_err(ctx), 0);
    weft_chan_free(c);
    drop(ctx);
    drop(tctx);
}

static void ready_unbuffered_partner(void)
{
    weft_ctx *ctx = weft_ctx_with_cancel(NULL);
    weft_chan *c = weft_chan_new(sizeof(long), 0);
    op o;

    /* partner already waiting */
    pthread_t t = op_start_blocked(&o, c, NULL, OP_RECV, 0);
    long v = 42;
    CHECK_OK(weft_chan_send_ctx(c, &v, ctx));
    test_join(t);
    CHECK_OK(o.rc);
    CHECK_EQ(o.value, 42);

    t = op_start_blocked(&o, c, NULL, OP_SEND, 43);
    v = 0;
    CHECK_OK(weft_chan_recv_ctx(c, &v, ctx));
    CHECK_EQ(v, 43);
    test_join(t);
    CHECK_OK(o.rc);

    /* partner arriving later: the _ctx op blocks, then completes */
    t = op_start(&o, c, NULL, OP_RECV, 20, 0);
    v = 44;
    CHECK_OK(weft_chan_send_ctx(c, &v, ctx));
    test_join(t);
    CHECK_EQ(o.value, 44);
    t = op_start(&o, c, NULL, OP_SEND, 20, 45);
    CHECK_OK(weft_chan_recv_ctx(c, &v, ctx));
    CHECK_EQ(v, 45);
    test_join(t);

    /* both sides _ctx */
    t = op_start(&o, c, ctx, OP_RECV_CTX, 10, 0);
    v = 46;
    CHECK_OK(weft_chan_send_ctx(c, &v, ctx));
    test_join(t);
    CHECK_OK(o.rc);
    CHECK_EQ(o.value, 46);

    CHECK_EQ(weft_ctx_err(ctx), 0);
    weft_chan_free(c);
    drop(ctx);
}

/* ---- canceled while blocked ------------------------------------------------------ */

typedef struct blocked_case {
    const char *name;
    size_t cap;
    int prefill; /* values already in the channel */
    int kind;    /* OP_SEND_CTX or OP_RECV_CTX */
} blocked_case;

static const blocked_case blocked_cases[] = {
    { "buffered full, send", 2, 2, OP_SEND_CTX },
    { "buffered empty, recv", 2, 0, OP_RECV_CTX },
    { "unbuffered, send", 0, 0, OP_SEND_CTX },
    { "unbuffered, recv", 0, 0, OP_RECV_CTX },
};

static void check_channel_untouched(weft_chan *c, const blocked_case *bc)
{
    CHECK_EQ(weft_chan_len(c), (size_t)bc->prefill);
    for (int i = 0; i < bc->prefill; i++) {
        long v = -1;
        CHECK_OK(weft_chan_try_recv(c, &v));
        CHECK_EQ(v, 100 + i); /* the blocked sender's value never got in */
    }
    CHECK_RC(weft_chan_try_recv(c, NULL), WEFT_EAGAIN);
}

static weft_chan *make_case_chan(const blocked_case *bc)
{
    weft_chan *c = weft_chan_new(sizeof(long), bc->cap);
    for (long i = 0; i < bc->prefill; i++) {
        long v = 100 + i;
        CHECK_OK(weft_chan_send(c, &v));
    }
    return c;
}

static void canceled_while_blocked(void)
{
    for (size_t k = 0; k < sizeof blocked_cases / sizeof blocked_cases[0]; k++) {
        const blocked_case *bc = &blocked_cases[k];
        for (int via_parent = 0; via_parent < 2; via_parent++) {
            weft_chan *c = make_case_chan(bc);
            weft_ctx *root = weft_ctx_with_cancel(NULL);
            weft_ctx *ctx = via_parent ? weft_ctx_with_timeout(root, 3600 * 1000 * MS) : root;
            op o;
            pthread_t t = op_start_blocked(&o, c, ctx, bc->kind, 999);
            int64_t t0 = weft_now();
            weft_ctx_cancel(root);
            test_join(t);
            if (o.rc != WEFT_ECANCELED)
                fprintf(stderr, "%s (via parent %d): rc %d\n", bc->name, via_parent, o.rc);
            CHECK_RC(o.rc, WEFT_ECANCELED);
            CHECK_GE(o.returned_at, t0);
            check_channel_untouched(c, bc);
            if (via_parent)
                drop(ctx);
            drop(root);
            weft_chan_free(c);
        }
    }
}

static void timed_out_while_blocked(void)
{
    for (size_t k = 0; k < sizeof blocked_cases / sizeof blocked_cases[0]; k++) {
        const blocked_case *bc = &blocked_cases[k];
        weft_chan *c = make_case_chan(bc);
        weft_ctx *ctx = weft_ctx_with_timeout(NULL, 30 * MS);
        int64_t dl = weft_ctx_deadline(ctx);
        long v = 999;
        int rc = bc->kind == OP_SEND_CTX ? weft_chan_send_ctx(c, &v, ctx)
                                         : weft_chan_recv_ctx(c, &v, ctx);
        int64_t now = weft_now();
        CHECK_RC(rc, WEFT_ETIMEDOUT);
        CHECK_GE(now, dl);
        CHECK_LT(now, dl + SLACK_MS * MS);
        CHECK_EQ(v, 999); /* a failed receive writes nothing */
        check_channel_untouched(c, bc);
        weft_chan_free(c);
        /* through a with_cancel child whose deadline is its parent's */
        c = make_case_chan(bc);
        weft_ctx *p = weft_ctx_with_timeout(NULL, 20 * MS);
        weft_ctx *k2 = weft_ctx_with_cancel(p);
        rc = bc->kind == OP_SEND_CTX ? weft_chan_send_ctx(c, &v, k2) : weft_chan_recv_ctx(c, &v, k2);
        CHECK_RC(rc, WEFT_ETIMEDOUT);
        CHECK_GE(weft_now(), weft_ctx_deadline(p));
        check_channel_untouched(c, bc);
        drop(k2);
        drop(p);
        drop(ctx);
        weft_chan_free(c);
    }
}

/* ---- a done context wins ----------------------------------------------------------- */

static void done_ctx_wins_over_ready_channel(void)
{
    weft_ctx *canceled = weft_ctx_with_cancel(NULL);
    weft_ctx_cancel(canceled);
    weft_ctx *timed = weft_ctx_with_timeout(NULL, 0);
    weft_ctx *child = weft_ctx_with_cancel(canceled); /* done through its parent */
    weft_ctx *ctxs[3] = { canceled, timed, child };
    int errs[3] = { WEFT_ECANCELED, WEFT_ETIMEDOUT, WEFT_ECANCELED };

    for (int i = 0; i < 3; i++) {
        /* buffered channel holding a value */
        weft_chan *c = weft_chan_new(sizeof(long), 2);
        long v = 7, w = -1;
        CHECK_OK(weft_chan_send(c, &v));
        CHECK_RC(weft_chan_recv_ctx(c, &w, ctxs[i]), errs[i]);
        CHECK_EQ(w, -1);
        CHECK_EQ(weft_chan_len(c), 1);
        /* buffered channel with room */
        CHECK_RC(weft_chan_send_ctx(c, &v, ctxs[i]), errs[i]);
        CHECK_EQ(weft_chan_len(c), 1);
        CHECK_OK(weft_chan_recv(c, &w));
        CHECK_EQ(w, 7);
        CHECK_RC(weft_chan_send_ctx(c, &v, ctxs[i]), errs[i]);
        CHECK_EQ(weft_chan_len(c), 0);
        /* closed channel (ready for both directions) */
        CHECK_OK(weft_chan_send(c, &v));
        CHECK_OK(weft_chan_close(c));
        CHECK_RC(weft_chan_recv_ctx(c, &w, ctxs[i]), errs[i]);
        CHECK_RC(weft_chan_send_ctx(c, &v, ctxs[i]), errs[i]);
        CHECK_EQ(weft_chan_len(c), 1);
        weft_chan_free(c);

        /* unbuffered with a partner waiting: the partner stays waiting */
        weft_chan *u = weft_chan_new(sizeof(long), 0);
        op o;
        pthread_t t = op_start_blocked(&o, u, NULL, OP_RECV, 0);
        CHECK_RC(weft_chan_send_ctx(u, &v, ctxs[i]), errs[i]);
        test_sleep_ms(10);
        CHECK_EQ(o.rc, 1);
        long x = 77;
        CHECK_OK(weft_chan_send(u, &x));
        test_join(t);
        CHECK_EQ(o.value, 77);

        t = op_start_blocked(&o, u, NULL, OP_SEND, 78);
        CHECK_RC(weft_chan_recv_ctx(u, &w, ctxs[i]), errs[i]);
        test_sleep_ms(10);
        CHECK_EQ(o.rc, 1);
        CHECK_OK(weft_chan_recv(u, &w));
        CHECK_EQ(w, 78);
        test_join(t);
        weft_chan_free(u);
    }
    drop(child);
    drop(canceled);
    drop(timed);
}

/* ---- NULL and background contexts, NULL and closed channels -------------------------- */

static void null_ctx_is_plain_op(void)
{
    weft_ctx *ctxs[2] = { NULL, weft_ctx_background() };
    for (int i = 0; i < 2; i++) {
        weft_chan *c = weft_chan_new(sizeof(long), 1);
        long v = 3, w = 0;
        CHECK_OK(weft_chan_send_ctx(c, &v, ctxs[i]));
        CHECK_OK(weft_chan_recv_ctx(c, &w, ctxs[i]));
        CHECK_EQ(w, 3);
        /* blocks until a partner comes (20 ms later) */
        op o;
        int64_t t0 = weft_now();
        pthread_t t = op_start(&o, c, NULL, OP_SEND, 20, 4);
        CHECK_OK(weft_chan_recv_ctx(c, &w, ctxs[i]));
        CHECK_EQ(w, 4);
        CHECK_GE(weft_now() - t0, 20 * MS);
        test_join(t);
        CHECK_OK(weft_chan_send(c, &v));
        t = op_start(&o, c, NULL, OP_RECV, 20, 0);
        CHECK_OK(weft_chan_send_ctx(c, &v, ctxs[i])); /* waits for room */
        test_join(t);
        CHECK_OK(o.rc);
        CHECK_OK(weft_chan_recv(c, NULL));
        weft_chan_free(c);

        weft_chan *u = weft_chan_new(sizeof(long), 0);
        t = op_start(&o, u, NULL, OP_RECV, 20, 0);
        v = 5;
        CHECK_OK(weft_chan_send_ctx(u, &v, ctxs[i]));
        test_join(t);
        CHECK_EQ(o.value, 5);
        weft_chan_free(u);
    }
}

static void null_channel_is_einval(void)
{
    weft_ctx *live = weft_ctx_with_cancel(NULL);
    weft_ctx *done = weft_ctx_with_cancel(NULL);
    weft_ctx_cancel(done);
    weft_ctx *ctxs[4] = { NULL, weft_ctx_background(), live, done };
    long v = 1;
    for (int i = 0; i < 4; i++) {
        CHECK_RC(weft_chan_send_ctx(NULL, &v, ctxs[i]), WEFT_EINVAL);
        CHECK_RC(weft_chan_recv_ctx(NULL, &v, ctxs[i]), WEFT_EINVAL);
    }
    CHECK_EQ(weft_ctx_err(live), 0);
    drop(live);
    drop(done);
}

static void closed_channel(void)
{
    weft_ctx *ctx = weft_ctx_with_cancel(NULL);
    weft_chan *c = weft_chan_new(sizeof(long), 4);
    long v = 9, w = -1;
    CHECK_OK(weft_chan_send_ctx(c, &v, ctx));
    CHECK_OK(weft_chan_close(c));
    CHECK_RC(weft_chan_send_ctx(c, &v, ctx), WEFT_ECLOSED);
    CHECK_RC(weft_chan_send_ctx(c, &v, NULL), WEFT_ECLOSED);
    CHECK_OK(weft_chan_recv_ctx(c, &w, ctx)); /* drains first */
    CHECK_EQ(w, 9);
    w = -1;
    CHECK_RC(weft_chan_recv_ctx(c, &w, ctx), WEFT_ECLOSED);
    CHECK_RC(weft_chan_recv_ctx(c, &w, NULL), WEFT_ECLOSED);
    CHECK_EQ(w, -1);
    weft_chan_free(c);

    weft_chan *u = weft_chan_new(sizeof(long), 0);
    CHECK_OK(weft_chan_close(u));
    CHECK_RC(weft_chan_send_ctx(u, &v, ctx), WEFT_ECLOSED);
    CHECK_RC(weft_chan_recv_ctx(u, &w, ctx), WEFT_ECLOSED);
    weft_chan_free(u);

    /* close wakes blocked _ctx operations with WEFT_ECLOSED */
    for (size_t k = 0; k < sizeof blocked_cases / sizeof blocked_cases[0]; k++) {
        const blocked_case *bc = &blocked_cases[k];
        weft_chan *b = make_case_chan(bc);
        op o;
        pthread_t t = op_start_blocked(&o, b, ctx, bc->kind, 999);
        CHECK_OK(weft_chan_close(b));
        test_join(t);
        CHECK_RC(o.rc, WEFT_ECLOSED);
        CHECK_EQ(weft_chan_len(b), (size_t)bc->prefill);
        weft_chan_free(b);
    }
    CHECK_EQ(weft_ctx_err(ctx), 0);
    drop(ctx);
}

/* ---- cancel racing send_ctx / recv_ctx: no value lost ---------------------------------- */

typedef struct race {
    weft_chan *c;
    weft_ctx *ctx;
    long max;
    long sent;     /* values 0..sent-1 went (send returned 0) */
    int send_rc;   /* the error that ended the sender */
    long *got;     /* what the receiver received, in order */
    long ngot;
    int recv_rc;
    bool recv_ctx; /* receiver uses recv_ctx (else plain recv until close) */
    _Atomic int started; /* threads running: the cancel moment counts from 2 */
} race;

static void *race_sender(void *p)
{
    race *r = p;
    long i = 0;
    int rc = 0;
    atomic_fetch_add(&r->started, 1);
    for (; i < r->max; i++) {
        rc = weft_chan_send_ctx(r->c, &i, r->ctx);
        if (rc != 0)
            break;
    }
    r->sent = i;
    r->send_rc = rc;
    return NULL;
}

static void *race_receiver(void *p)
{
    race *r = p;
    long v;
    int rc;
    atomic_fetch_add(&r->started, 1);
    for (;;) {
        rc = r->recv_ctx ? weft_chan_recv_ctx(r->c, &v, r->ctx) : weft_chan_recv(r->c, &v);
        if (rc != 0)
            break;
        r->got[r->ngot++] = v;
    }
    r->recv_rc = rc;
    return NULL;
}

static void cancel_races_send(void)
{
    static const size_t caps[] = { 0, 1, 8 };
    long rounds = test_n(600);
    long max = 1000000;
    long *got = malloc((size_t)max * sizeof *got);
    CHECK(got != NULL);
    uint64_t rng = 0xC0FFEE;
    long total_sent = 0, rounds_with_sends = 0;
    for (long round = 0; round < rounds; round++) {
        size_t cap = caps[round % 3];
        bool rctx = (round / 3) % 2;
        race r = { .c = weft_chan_new(sizeof(long), cap), .max = max, .got = got, .recv_ctx = rctx };
        weft_ctx *root = weft_ctx_with_cancel(NULL);
        r.ctx = round % 4 == 3 ? weft_ctx_with_cancel(root) : weft_ctx_retain(root);
        pthread_t ts = test_thread(race_sender, &r);
        pthread_t tr = test_thread(race_receiver, &r);
        /* cancel at a random moment: 0-2 ms after both threads run (not
           after their creation, which a loaded machine can delay by more
           than that), busy-waiting */
        while (atomic_load(&r.started) < 2)
            sched_yield();
        int64_t until = weft_now() + (int64_t)(test_rand(&rng) % 2000000);
        while (weft_now() < until) {
        }
        weft_ctx_cancel(root);
        test_join(ts);
        CHECK_RC(r.send_rc, WEFT_ECANCELED);
        if (!rctx)
            CHECK_OK(weft_chan_close(r.c)); /* ends the plain receiver after the drain */
        test_join(tr);
        CHECK_RC(r.recv_rc, rctx ? WEFT_ECANCELED : WEFT_ECLOSED);
        /* What is left in the buffer, after what the receiver took. */
        long v;
        while (weft_chan_try_recv(r.c, &v) == 0) {
            CHECK_LT(r.ngot, max);
            got[r.ngot++] = v;
        }
        if (r.ngot != r.sent)
            fprintf(stderr, "round %ld (cap %zu, recv_ctx %d): %ld sends returned 0, %ld values "
                            "received\n",
                    round, cap, (int)rctx, r.sent, r.ngot);
        CHECK_EQ(r.ngot, r.sent);
        total_sent += r.sent;
        rounds_with_sends += r.sent > 0;
        for (long i = 0; i < r.ngot; i++)
            if (got[i] != i) {
                fprintf(stderr, "round %ld: value %ld is %ld\n", round, i, got[i]);
                CHECK_EQ(got[i], i);
            }
        drop(r.ctx);
        drop(root);
        weft_chan_free(r.c);
    }
    free(got);
    /* the races really happened: most rounds moved values before the cancel */
    CHECK_GT(total_sent, 0);
    CHECK_GT(rounds_with_sends, rounds / 4);
}

/* ---- one context, many blocked threads ------------------------------------------------- */

static void many_ops_one_timeout(void)
{
    enum { NT = 32 };
    weft_ctx *ctx = weft_ctx_with_timeout(NULL, 50 * MS);
    int64_t dl = weft_ctx_deadline(ctx);
    static op ops[NT];
    weft_chan *chans[NT];
    pthread_t ts[NT];
    for (int i = 0; i < NT; i++) {
        chans[i] = weft_chan_new(sizeof(long), (size_t)(i % 3));
        for (int j = 0; j < i % 3 && i % 2; j++) {
            long v = 100 + j;
            CHECK_OK(weft_chan_send(chans[i], &v));
        }
        ts[i] = op_start(&ops[i], chans[i], ctx, i % 2 ? OP_SEND_CTX : OP_RECV_CTX, 0, 1);
    }
    for (int i = 0; i < NT; i++) {
        test_join(ts[i]);
        CHECK_RC(ops[i].rc, WEFT_ETIMEDOUT);
        CHECK_GE(ops[i].returned_at, dl);
        CHECK_EQ(weft_chan_len(chans[i]), (size_t)(i % 2 ? i % 3 : 0));
        weft_chan_free(chans[i]);
    }
    drop(ctx);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_watchdog(30);
    TEST_RUN(ready_buffered);
    TEST_RUN(ready_unbuffered_partner);
    TEST_RUN(canceled_while_blocked);
    TEST_RUN(timed_out_while_blocked);
    TEST_RUN(done_ctx_wins_over_ready_channel);
    TEST_RUN(null_ctx_is_plain_op);
    TEST_RUN(null_channel_is_einval);
    TEST_RUN(closed_channel);
    test_watchdog(40);
    TEST_RUN(cancel_races_send);
    test_watchdog(30);
    TEST_RUN(many_ops_one_timeout);
    printf("ctx_chan: all passed\n");
    return 0;
}
