/* select_stress_test — many threads selecting at once, under a watchdog
 * (a lost wakeup hangs a thread and fails the test with "watchdog: test
 * hung"):
 *  - mesh: selecting senders, selecting receivers, threads selecting in
 *    both directions and plain senders/receivers over shared channels of
 *    caps 0, 1, 7 and 1024: every value is received exactly once, on the
 *    channel the sending select reported, in order per (sender, channel)
 *    as each receiver sees it, never by its own sender over the unbuffered
 *    channel; then close: every receiver sees ok == false on each channel,
 *    drops that case, and exits;
 *  - Go's TestSelectStress (exact counts, no deadlock) and doubleselect.go
 *    (a value sent through one of 4 send cases is never sent twice);
 *  - selects racing close: selects blocked in both directions on channels
 *    closed at random moments all return; what a send case reported as
 *    sent is received exactly once, and nothing else is;
 *  - selects with short deadlines racing senders and receivers: a select
 *    that timed out moved nothing, a value whose send reported success is
 *    received exactly once (counted and order-checked per channel);
 *  - ping-pong with select (unbuffered, cap 1, both sides selecting, one
 *    side selecting, a windowed pipeline selecting send and receive at
 *    once, 4 pairs on 2 cores): hundreds of thousands of handoffs;
 *  - threads parked in select use about no CPU, and close wakes them;
 *  - polling selects are linearizable (Go's TestNonblockRecvRace,
 *    TestNonblockSelectRace and Race2; crossbeam's linearizable_try): a
 *    poll must not report "nothing ready" while at every instant one of
 *    its cases was ready — with WEFT_NOWAIT (EAGAIN) and with a deadline
 *    already passed (ETIMEDOUT). These count failures and report them at
 *    the end rather than aborting.
 *
 *   select_stress_test [--one-cpu] [name-substring]
 *       --one-cpu: pinned to one CPU, where weft never spins and every
 *       blocking handoff parks; a substring runs only the matching tests
 */
#include "check.h"

#include <stdatomic.h>

static weft_chan *new_chan(size_t cap)
{
    weft_chan *c = weft_chan_new(sizeof(uint64_t), cap);
    CHECK(c != NULL);
    return c;
}

static uint64_t enc(uint32_t id, uint32_t seq)
{
    return ((uint64_t)id << 32) | seq;
}

/* ---- mesh: exactly once, per (sender, channel) order --------------------- */

enum { MC = 4 };             /* channels */
enum { M_SELSEND = 4 };      /* selecting senders:   ids 0..3 */
enum { M_PLAINSEND = 2 };    /* plain senders:       ids 4..5 */
enum { M_MIXED = 2 };        /* selecting both ways: ids 6..7 */
enum { M_SENDERS = M_SELSEND + M_PLAINSEND + M_MIXED };
enum { M_SELRECV = 4, M_PLAINRECV = 2 };

typedef struct mesh {
    weft_chan *c[MC];
    uint32_t n;                 /* values per sender */
    _Atomic uint8_t *seen;      /* [sender][seq]: times received */
    _Atomic uint8_t *recv_chan; /* [sender][seq]: channel it arrived on */
    uint8_t *sent_chan;         /* [sender][seq]: channel the sender reported */
    atomic_long received;
    atomic_int mixed_done;      /* mixed threads that finished sending */
} mesh;

typedef struct mesh_arg {
    mesh *m;
    uint32_t id;
    /* receiver state: last seq seen per (sender, channel) */
    int64_t last[M_SENDERS][MC];
    long got;
} mesh_arg;

static void mesh_record(mesh_arg *a, uint64_t v, int ch)
{
    mesh *m = a->m;
    uint32_t s = (uint32_t)(v >> 32), seq = (uint32_t)v;
    CHECK_LT(s, M_SENDERS);
    CHECK_LT(seq, m->n);
    CHECK_GT((int64_t)seq, a->last[s][ch]);
    a->last[s][ch] = seq;
    if (ch == 0) /* caps[0] == 0: a value of our own would be a self-pairing */
        CHECK(s != a->id);
    size_t i = (size_t)s * m->n + seq;
    CHECK_EQ(atomic_fetch_add(&m->seen[i], 1), 0);
    atomic_store_explicit(&m->recv_chan[i], (uint8_t)ch, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->received, 1, memory_order_relaxed);
    a->got++;
}

static void mesh_arg_init(mesh_arg *a, mesh *m, uint32_t id)
{
    a->m = m;
    a->id = id;
    a->got = 0;
    for (int s = 0; s < M_SENDERS; s++)
        for (int c = 0; c < MC; c++)
            a->last[s][c] = -1;
}

static void *mesh_sel_sender(void *p)
{
    mesh_arg *a = p;
    mesh *m = a->m;
    for (uint32_t seq = 0; seq < m->n; seq++) {
        uint64_t v = enc(a->id, seq);
        weft_case cs[MC];
        for (int i = 0; i < MC; i++)
            cs[(i + a->id) % MC] = WEFT_CASE_SEND(m->c[i], &v);
        int k = weft_select(cs, MC, WEFT_FOREVER);
        CHECK(k >= 0 && k < MC);
        CHECK(cs[k].ok);
        int ch = (int)((k + MC - a->id % MC) % MC);
        CHECK(cs[k].chan == m->c[ch]);
        m->sent_chan[(size_t)a->id * m->n + seq] = (uint8_t)ch;
    }
    return NULL;
}

static void *mesh_plain_sender(void *p)
{
    mesh_arg *a = p;
    mesh *m = a->m;
    for (uint32_t seq = 0; seq < m->n; seq++) {
        uint64_t v = enc(a->id, seq);
        int ch = (int)((seq + a->id) % MC);
        CHECK_OK(weft_chan_send(m->c[ch], &v));
        m->sent_chan[(size_t)a->id * m->n + seq] = (uint8_t)ch;
    }
    return NULL;
}

/* Receive cases on every channel until each reported closed. */
static void mesh_drain_select(mesh_arg *a, weft_case *rcs, uint64_t *got, int open)
{
    mesh *m = a->m;
    while (open > 0) {
        int k = weft_select(rcs, MC, WEFT_FOREVER);
        CHECK(k >= 0 && k < MC);
        if (!rcs[k].ok) {
            uint64_t x;
            CHECK_RC(weft_chan_try_recv(m->c[k], &x), WEFT_ECLOSED);
            rcs[k].chan = NULL;
            open--;
            continue;
        }
        mesh_record(a, *got, k);
    }
    /* every case disabled: forever is EINVAL, a poll is EAGAIN */
    CHECK_RC(weft_select(rcs, MC, WEFT_FOREVER), WEFT_EINVAL);
    CHECK_RC(weft_select(rcs, MC, WEFT_NOWAIT), WEFT_EAGAIN);
}

static void *mesh_sel_receiver(void *p)
{
    mesh_arg *a = p;
    uint64_t got = 0;
    weft_case rcs[MC];
    for (int i = 0; i < MC; i++)
        rcs[i] = WEFT_CASE_RECV(a->m->c[i], &got);
    mesh_drain_select(a, rcs, &got, MC);
    return NULL;
}

static void *mesh_plain_receiver(void *p)
{
    mesh_arg *a = p;
    int ch = a->id == 100 ? 0 : 2; /* the unbuffered and the cap-7 channel */
    uint64_t v;
    int rc;
    while ((rc = weft_chan_recv(a->m->c[ch], &v)) == 0)
        mesh_record(a, v, ch);
    CHECK_RC(rc, WEFT_ECLOSED);
    return NULL;
}

/* Send cases and receive cases in one select (8 cases) until our values
   are out, then receive cases only. */
static void *mesh_mixed(void *p)
{
    mesh_arg *a = p;
    mesh *m = a->m;
    uint64_t got = 0, v = 0;
    weft_case cs[2 * MC];
    for (int i = 0; i < MC; i++) {
        cs[i] = WEFT_CASE_RECV(m->c[i], &got);
        cs[MC + i] = WEFT_CASE_SEND(m->c[i], &v);
    }
    uint32_t seq = 0;
    while (seq < m->n) {
        v = enc(a->id, seq);
        int k = weft_select(cs, 2 * MC, WEFT_FOREVER);
        CHECK(k >= 0 && k < 2 * MC);
        CHECK(cs[k].ok); /* nothing is closed yet */
        if (k < MC) {
            mesh_record(a, got, k);
        } else {
            m->sent_chan[(size_t)a->id * m->n + seq] = (uint8_t)(k - MC);
            seq++;
        }
    }
    atomic_fetch_add(&m->mixed_done, 1);
    mesh_drain_select(a, cs, &got, MC);
    return NULL;
}

static void select_mesh_exactly_once(void)
{
    test_watchdog(90);
    const size_t caps[MC] = { 0, 1, 7, 1024 };
    mesh m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < MC; i++)
        m.c[i] = new_chan(caps[i]);
    m.n = (uint32_t)test_n(20000);
    size_t total = (size_t)M_SENDERS * m.n;
    m.seen = calloc(total, 1);
    m.recv_chan = calloc(total, 1);
    m.sent_chan = calloc(total, 1);
    CHECK(m.seen && m.recv_chan && m.sent_chan);
    atomic_init(&m.received, 0);
    atomic_init(&m.mixed_done, 0);

    static mesh_arg snd[M_SENDERS], rcv[M_SELRECV + M_PLAINRECV];
    pthread_t st[M_SENDERS], rt[M_SELRECV + M_PLAINRECV];
    for (int i = 0; i < M_SELRECV; i++) {
        mesh_arg_init(&rcv[i], &m, 50 + (uint32_t)i);
        rt[i] = test_thread(mesh_sel_receiver, &rcv[i]);
    }
    for (int i = 0; i < M_PLAINRECV; i++) {
        mesh_arg_init(&rcv[M_SELRECV + i], &m, 100 + (uint32_t)i);
        rt[M_SELRECV + i] = test_thread(mesh_plain_receiver, &rcv[M_SELRECV + i]);
    }
    for (uint32_t id = 0; id < M_SENDERS; id++) {
        mesh_arg_init(&snd[id], &m, id);
        void *(*fn)(void *) = id < M_SELSEND ? mesh_sel_sender
                              : id < M_SELSEND + M_PLAINSEND ? mesh_plain_sender
                                                              : mesh_mixed;
        st[id] = test_thread(fn, &snd[id]);
    }
    for (int id = 0; id < M_SELSEND + M_PLAINSEND; id++)
        test_join(st[id]);
    while (atomic_load(&m.mixed_done) < M_MIXED)
        test_sleep_ms(1);
    for (int i = 0; i < MC; i++)
        CHECK_OK(weft_chan_close(m.c[i]));
    for (int id = M_SELSEND + M_PLAINSEND; id < M_SENDERS; id++)
        test_join(st[id]);
    for (int i = 0; i < M_SELRECV + M_PLAINRECV; i++)
        test_join(rt[i]);

    CHECK_EQ(atomic_load(&m.received), (long)total);
    long per_chan[MC] = { 0 };
    for (size_t i = 0; i < total; i++) {
        CHECK_EQ(atomic_load(&m.seen[i]), 1);
        CHECK_EQ(atomic_load(&m.recv_chan[i]), m.sent_chan[i]);
        per_chan[m.sent_chan[i]]++;
    }
    printf("(per channel:");
    for (int i = 0; i < MC; i++)
        printf(" %ld", per_chan[i]);
    printf("; per receiver:");
    for (int i = 0; i < M_SELRECV + M_PLAINRECV; i++)
        printf(" %ld", rcv[i].got);
    printf("; mixed got %ld %ld) ", snd[6].got, snd[7].got);
    for (int i = 0; i < MC; i++) {
        CHECK_EQ(weft_chan_len(m.c[i]), 0);
        weft_chan_free(m.c[i]);
    }
    free((void *)m.seen);
    free((void *)m.recv_chan);
    free(m.sent_chan);
}

/* ---- Go's TestSelectStress ------------------------------------------------- */

typedef struct gss {
    weft_chan *c[4];
    long n;
    int k;
} gss;

static void *gss_sender(void *p)
{
    gss *g = p;
    uint64_t v = 0;
    for (long i = 0; i < g->n; i++)
        CHECK_OK(weft_chan_send(g->c[g->k], &v));
    return NULL;
}

static void *gss_receiver(void *p)
{
    gss *g = p;
    for (long i = 0; i < g->n; i++)
        CHECK_OK(weft_chan_recv(g->c[g->k], NULL));
    return NULL;
}

static void *gss_sel_sender(void *p)
{
    gss *g = p;
    long n[4] = { 0 };
    uint64_t v = 0;
    weft_case cs[4];
    for (int i = 0; i < 4; i++)
        cs[i] = WEFT_CASE_SEND(g->c[3 - i], &v);
    for (long i = 0; i < 4 * g->n; i++) {
        int k = weft_select(cs, 4, WEFT_FOREVER);
        CHECK(k >= 0 && k < 4);
        CHECK(cs[k].ok);
        if (++n[k] == g->n)
            cs[k].chan = NULL;
    }
    CHECK_RC(weft_select(cs, 4, WEFT_FOREVER), WEFT_EINVAL);
    return NULL;
}

static void *gss_sel_receiver(void *p)
{
    gss *g = p;
    long n[4] = { 0 };
    weft_case cs[4];
    for (int i = 0; i < 4; i++)
        cs[i] = WEFT_CASE_RECV(g->c[i], NULL);
    for (long i = 0; i < 4 * g->n; i++) {
        int k = weft_select(cs, 4, WEFT_FOREVER);
        CHECK(k >= 0 && k < 4);
        CHECK(cs[k].ok);
        if (++n[k] == g->n)
            cs[k].chan = NULL;
    }
    return NULL;
}

/* 4 channels (caps 0, 0, 2, 3); a sender and a receiver of N values on
   each, a select sending N on each and a select receiving N from each:
   every channel sees exactly 2N sends and 2N receives, so nothing may be
   left blocked. */
static void go_select_stress(void)
{
    test_watchdog(90);
    const size_t caps[4] = { 0, 0, 2, 3 };
    gss g[10];
    weft_chan *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = new_chan(caps[i]);
    long n = test_n(100000);
    pthread_t t[10];
    for (int i = 0; i < 10; i++) {
        memcpy(g[i].c, c, sizeof c);
        g[i].n = n;
        g[i].k = i / 2; /* 0..7: a sender and a receiver per channel */
    }
    for (int k = 0; k < 4; k++) {
        t[2 * k] = test_thread(gss_sender, &g[2 * k]);
        t[2 * k + 1] = test_thread(gss_receiver, &g[2 * k + 1]);
    }
    t[8] = test_thread(gss_sel_sender, &g[8]);
    t[9] = test_thread(gss_sel_receiver, &g[9]);
    for (int i = 0; i < 10; i++)
        test_join(t[i]);
    for (int i = 0; i < 4; i++) {
        uint64_t x;
        CHECK_RC(weft_chan_try_recv(c[i], &x), WEFT_EAGAIN);
        weft_chan_free(c[i]);
    }
}

/* ---- Go's doubleselect.go ------------------------------------------------------ */

typedef struct dsel {
    weft_chan *c[4], *cmux, *done;
    long n;
    int k;
} dsel;

static void *dsel_sender(void *p)
{
    dsel *d = p;
    for (long i = 0; i < d->n; i++) {
        uint64_t v = (uint64_t)i;
        weft_case cs[4];
        for (int j = 0; j < 4; j++)
            cs[j] = WEFT_CASE_SEND(d->c[j], &v);
        int k = weft_select(cs, 4, WEFT_FOREVER);
        CHECK(k >= 0 && k < 4 && cs[k].ok);
    }
    for (int j = 0; j < 4; j++)
        CHECK_OK(weft_chan_close(d->c[j]));
    return NULL;
}

static void *dsel_mux(void *p)
{
    dsel *d = p;
    uint64_t v;
    while (weft_chan_recv(d->c[d->k], &v) == 0)
        CHECK_OK(weft_chan_send(d->cmux, &v));
    CHECK_OK(weft_chan_send(d->done, NULL));
    return NULL;
}

/* One sender selects over 4 unbuffered send cases with the same counter;
   4 muxes forward onto one channel; the receiver must see every counter
   value exactly once (two cases both running would send one twice). */
static void go_doubleselect(void)
{
    test_watchdog(60);
    dsel d[5];
    weft_chan *c[4];
    for (int j = 0; j < 4; j++)
        c[j] = new_chan(0);
    weft_chan *cmux = new_chan(0), *done = weft_chan_new(0, 4);
    CHECK(done != NULL);
    long n = test_n(20000);
    pthread_t t[5];
    for (int i = 0; i < 5; i++) {
        memcpy(d[i].c, c, sizeof c);
        d[i].cmux = cmux;
        d[i].done = done;
        d[i].n = n;
        d[i].k = i;
    }
    t[4] = test_thread(dsel_sender, &d[4]);
    for (int i = 0; i < 4; i++)
        t[i] = test_thread(dsel_mux, &d[i]);
    uint8_t *seen = calloc((size_t)n, 1);
    CHECK(seen != NULL);
    int muxes_done = 0;
    long got = 0;
    while (muxes_done < 4) {
        uint64_t v = 0;
        weft_case cs[] = { WEFT_CASE_RECV(cmux, &v), WEFT_CASE_RECV(done, NULL) };
        int k = weft_select(cs, 2, WEFT_FOREVER);
        CHECK(k == 0 || k == 1);
        CHECK(cs[k].ok);
        if (k == 1) {
            muxes_done++;
            continue;
        }
        CHECK_LT(v, (uint64_t)n);
        CHECK_EQ(seen[v], 0);
        seen[v] = 1;
        got++;
    }
    /* a done signal may overtake a mux's last forwarded value: drain */
    uint64_t v;
    while (weft_chan_try_recv(cmux, &v) == 0) {
        CHECK_LT(v, (uint64_t)n);
        CHECK_EQ(seen[v], 0);
        seen[v] = 1;
        got++;
    }
    for (int i = 0; i < 5; i++)
        test_join(t[i]);
    CHECK_EQ(got, n);
    free(seen);
    for (int j = 0; j < 4; j++)
        weft_chan_free(c[j]);
    weft_chan_free(cmux);
    weft_chan_free(done);
}

/* ---- selects racing close ------------------------------------------------------ */

enum { CR_CH = 4, CR_SEL = 4, CR_MAXSEQ = 4096, CR_THREADS = CR_SEL + 2 };

typedef struct crace {
    weft_chan *c[CR_CH];
    _Atomic uint8_t seen[CR_THREADS][CR_MAXSEQ];
    uint32_t sent[CR_THREADS]; /* values 0..sent-1 reported sent */
    uint32_t quota;            /* sends per thread this round (<= CR_MAXSEQ) */
    atomic_long received;
} crace;

typedef struct crace_arg {
    crace *x;
    uint32_t id;
    uint64_t rng;
} crace_arg;

static void crace_record(crace *x, uint64_t v)
{
    uint32_t s = (uint32_t)(v >> 32), seq = (uint32_t)v;
    CHECK_LT(s, CR_THREADS);
    CHECK_LT(seq, CR_MAXSEQ);
    CHECK_EQ(atomic_fetch_add(&x->seen[s][seq], 1), 0);
    atomic_fetch_add_explicit(&x->received, 1, memory_order_relaxed);
}

/* Send and receive cases on every channel, in a random layout, blocking
   forever, until every case has fired with ok == false (or, for sends,
   the quota is used up). */
static void *crace_selector(void *p)
{
    crace_arg *a = p;
    crace *x = a->x;
    uint64_t got = 0, v = 0;
    weft_case cs[2 * CR_CH];
    for (int i = 0; i < 2 * CR_CH; i++)
        cs[i] = i % 2 ? WEFT_CASE_SEND(x->c[i / 2], &v) : WEFT_CASE_RECV(x->c[i / 2], &got);
    for (int i = 2 * CR_CH - 1; i > 0; i--) { /* shuffle the layout */
        int j = (int)(test_rand(&a->rng) % (uint64_t)(i + 1));
        weft_case tmp = cs[i];
        cs[i] = cs[j];
        cs[j] = tmp;
    }
    uint32_t seq = 0;
    int rc;
    for (;;) {
        v = enc(a->id, seq);
        rc = weft_select(cs, 2 * CR_CH, WEFT_FOREVER);
        if (rc == WEFT_EINVAL)
            break; /* nothing enabled any more */
        CHECK(rc >= 0 && rc < 2 * CR_CH);
        weft_case *k = &cs[rc];
        uint64_t junk;
        if (k->dir == WEFT_SEND) {
            if (k->ok) {
                if (++seq == x->quota) /* quota used: stop sending */
                    for (int i = 0; i < 2 * CR_CH; i++)
                        if (cs[i].dir == WEFT_SEND)
                            cs[i].chan = NULL;
            } else {
                CHECK_RC(weft_chan_try_send(k->chan, &junk), WEFT_ECLOSED);
                k->chan = NULL;
            }
        } else if (k->ok) {
            crace_record(x, got);
        } else {
            CHECK_RC(weft_chan_try_recv(k->chan, &junk), WEFT_ECLOSED);
            k->chan = NULL;
        }
    }
    x->sent[a->id] = seq;
    return NULL;
}

static void *crace_plain_sender(void *p)
{
    crace_arg *a = p;
    crace *x = a->x;
    uint32_t seq = 0;
    int ch = (int)(a->id % CR_CH);
    while (seq < x->quota) {
        uint64_t v = enc(a->id, seq);
        int rc = weft_chan_send(x->c[ch], &v);
        if (rc == WEFT_ECLOSED)
            break;
        CHECK_OK(rc);
        seq++;
    }
    x->sent[a->id] = seq;
    return NULL;
}

static void *crace_plain_receiver(void *p)
{
    crace_arg *a = p;
    crace *x = a->x;
    uint64_t v;
    int rc;
    while ((rc = weft_chan_recv(x->c[a->id % CR_CH], &v)) == 0)
        crace_record(x, v);
    CHECK_RC(rc, WEFT_ECLOSED);
    x->sent[a->id] = 0;
    return NULL;
}

static void select_racing_close(void)
{
    test_watchdog(90);
    const size_t caps[CR_CH] = { 0, 1, 7, 0 };
    crace *x = malloc(sizeof *x);
    CHECK(x != NULL);
    uint64_t rng = 0x1234567;
    long rounds = test_n(300), sent_total = 0;
    for (long r = 0; r < rounds; r++) {
        memset(x, 0, sizeof *x);
        /* small quotas: the selects are blocked when the closes come;
           large ones: the closes race active traffic */
        x->quota = r % 2 ? CR_MAXSEQ : 1 + (uint32_t)(test_rand(&rng) % 512);
        for (int i = 0; i < CR_CH; i++)
            x->c[i] = new_chan(caps[i]);
        crace_arg a[CR_THREADS];
        pthread_t t[CR_THREADS];
        for (uint32_t i = 0; i < CR_THREADS; i++) {
            a[i] = (crace_arg){ x, i, test_rand(&rng) | 1 };
            void *(*fn)(void *) = i < CR_SEL ? crace_selector
                                  : i == CR_SEL ? crace_plain_sender
                                                : crace_plain_receiver;
            t[i] = test_thread(fn, &a[i]);
        }
        /* close the channels in a random order at random moments */
        int order[CR_CH] = { 0, 1, 2, 3 };
        for (int i = CR_CH - 1; i > 0; i--) {
            int j = (int)(test_rand(&rng) % (uint64_t)(i + 1)), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        for (int i = 0; i < CR_CH; i++) {
            uint64_t us = test_rand(&rng) % 1500;
            if (us > 100) {
                struct timespec ts = { 0, (long)us * 1000 };
                nanosleep(&ts, NULL);
            }
            CHECK_OK(weft_chan_close(x->c[order[i]]));
        }
        for (int i = 0; i < CR_THREADS; i++)
            test_join(t[i]);
        long sent = 0;
        for (int s = 0; s < CR_THREADS; s++) {
            for (uint32_t q = 0; q < CR_MAXSEQ; q++)
                CHECK_EQ(atomic_load(&x->seen[s][q]), q < x->sent[s] ? 1 : 0);
            sent += x->sent[s];
        }
        CHECK_EQ(atomic_load(&x->received), sent);
        sent_total += sent;
        for (int i = 0; i < CR_CH; i++) {
            uint64_t v;
            CHECK_RC(weft_chan_try_recv(x->c[i], &v), WEFT_ECLOSED);
            CHECK_EQ(weft_chan_len(x->c[i]), 0);
            weft_chan_free(x->c[i]);
        }
    }
    printf("(%ld rounds, %ld values) ", rounds, sent_total);
    free(x);
}

/* ---- selects with deadlines racing their partners ------------------------------ */

enum { TS_CH = 2 }; /* channel 0 unbuffered, channel 1 cap 1 */

typedef struct tsel {
    weft_chan *c[TS_CH];
    uint32_t n; /* values per channel */
    atomic_long timeouts;
} tsel;

static int64_t short_deadline(uint64_t *rng)
{
    uint64_t r = test_rand(rng) % 64;
    if (r == 0)
        return WEFT_NOWAIT;
    return weft_deadline_in((int64_t)(r * 1000)); /* up to 63 us */
}

static void count_timeout(tsel *x, int rc)
{
    CHECK(rc == WEFT_ETIMEDOUT || rc == WEFT_EAGAIN);
    atomic_fetch_add_explicit(&x->timeouts, 1, memory_order_relaxed);
}

typedef struct tsel_arg {
    tsel *x;
    int ch;
    uint64_t rng;
} tsel_arg;

/* Plain sender on one channel with short deadlines, retrying the same
   value after a timeout. */
static void *ts_plain_sender(void *p)
{
    tsel_arg *a = p;
    tsel *x = a->x;
    for (uint32_t i = 0; i < x->n; i++) {
        uint64_t v = i;
        int rc;
        while ((rc = weft_chan_send_until(x->c[a->ch], &v, short_deadline(&a->rng))) != 0)
            count_timeout(x, rc);
    }
    return NULL;
}

/* Plain receiver on one channel with short deadlines: values in order,
   each exactly once. */
static void *ts_plain_receiver(void *p)
{
    tsel_arg *a = p;
    tsel *x = a->x;
    for (uint32_t want = 0; want < x->n;) {
        uint64_t v = 0xDEAD;
        int rc = weft_chan_recv_until(x->c[a->ch], &v, short_deadline(&a->rng));
        if (rc != 0) {
            count_timeout(x, rc);
            CHECK_EQ(v, 0xDEAD);
            continue;
        }
        CHECK_EQ(v, want);
        want++;
    }
    return NULL;
}

/* Select over send cases on both channels (each with its own next value)
   with short deadlines; a timed-out select must have sent nothing: the
   receivers' order check would see a repeated value. */
static void *ts_sel_sender(void *p)
{
    tsel_arg *a = p;
    tsel *x = a->x;
    uint64_t next[TS_CH] = { 0, 0 };
    weft_case cs[TS_CH];
    for (int i = 0; i < TS_CH; i++)
        cs[i] = WEFT_CASE_SEND(x->c[i], &next[i]);
    int open = TS_CH;
    while (open > 0) {
        int rc = weft_select(cs, TS_CH, short_deadline(&a->rng));
        if (rc < 0) {
            count_timeout(x, rc);
            continue;
        }
        CHECK(cs[rc].ok);
        if (++next[rc] == x->n) {
            cs[rc].chan = NULL;
            open--;
        }
    }
    return NULL;
}

/* Select over receive cases on both channels with short deadlines; values
   per channel in order, exactly once; a timed-out select wrote nothing. */
static void *ts_sel_receiver(void *p)
{
    tsel_arg *a = p;
    tsel *x = a->x;
    uint64_t want[TS_CH] = { 0, 0 }, got[TS_CH];
    weft_case cs[TS_CH];
    for (int i = 0; i < TS_CH; i++)
        cs[i] = WEFT_CASE_RECV(x->c[i], &got[i]);
    int open = TS_CH;
    while (open > 0) {
        got[0] = got[1] = 0xDEAD;
        int rc = weft_select(cs, TS_CH, short_deadline(&a->rng));
        if (rc < 0) {
            count_timeout(x, rc);
            CHECK_EQ(got[0], 0xDEAD);
            CHECK_EQ(got[1], 0xDEAD);
            continue;
        }
        CHECK(cs[rc].ok);
        CHECK_EQ(got[rc], want[rc]);
        CHECK_EQ(got[1 - rc], 0xDEAD);
        if (++want[rc] == x->n) {
            cs[rc].chan = NULL;
            open--;
        }
    }
    return NULL;
}

/* mode 0: plain timed senders vs a timed selecting receiver;
   mode 1: a timed selecting sender vs plain timed receivers;
   mode 2: a timed selecting sender vs a timed selecting receiver. */
static void timed_selects(int mode)
{
    test_watchdog(60);
    tsel x;
    x.c[0] = new_chan(0);
    x.c[1] = new_chan(1);
    x.n = (uint32_t)test_n(20000);
    atomic_init(&x.timeouts, 0);
    tsel_arg a[4];
    pthread_t t[4];
    int nt = 0;
    for (int i = 0; i < 4; i++)
        a[i] = (tsel_arg){ &x, i % 2, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1 + 4 * mode) };
    if (mode == 0) {
        t[nt++] = test_thread(ts_plain_sender, &a[0]);
        t[nt++] = test_thread(ts_plain_sender, &a[1]);
        t[nt++] = test_thread(ts_sel_receiver, &a[2]);
    } else if (mode == 1) {
        t[nt++] = test_thread(ts_sel_sender, &a[2]);
        t[nt++] = test_thread(ts_plain_receiver, &a[0]);
        t[nt++] = test_thread(ts_plain_receiver, &a[1]);
    } else {
        t[nt++] = test_thread(ts_sel_sender, &a[0]);
        t[nt++] = test_thread(ts_sel_receiver, &a[1]);
    }
    for (int i = 0; i < nt; i++)
        test_join(t[i]);
    uint64_t v;
    CHECK_RC(weft_chan_try_recv(x.c[0], &v), WEFT_EAGAIN);
    CHECK_RC(weft_chan_try_recv(x.c[1], &v), WEFT_EAGAIN);
    printf("(%ld timeouts) ", atomic_load(&x.timeouts));
    weft_chan_free(x.c[0]);
    weft_chan_free(x.c[1]);
}

static void timed_plain_senders_vs_select_receiver(void) { timed_selects(0); }
static void timed_select_sender_vs_plain_receivers(void) { timed_selects(1); }
static void timed_select_sender_vs_select_receiver(void) { timed_selects(2); }

/* ---- ping-pong through select --------------------------------------------------- */

typedef struct spp {
    weft_chan *ping, *pong, *idle_u, *idle_b;
    long rounds;
    bool peer_selects;
} spp;

/* One operation through a select that also waits on two channels that
   never become ready (so it registers in three queues every time). */
static void spp_op(spp *x, weft_chan *c, bool send, uint64_t *v)
{
    uint64_t junk = 0xDEAD;
    weft_case cs[3] = { WEFT_CASE_RECV(x->idle_u, &junk),
                        send ? WEFT_CASE_SEND(c, v) : WEFT_CASE_RECV(c, v),
                        WEFT_CASE_RECV(x->idle_b, &junk) };
    int k = weft_select(cs, 3, WEFT_FOREVER);
    CHECK_EQ(k, 1);
    CHECK(cs[1].ok);
    CHECK_EQ(junk, 0xDEAD);
}

static void *spp_peer(void *p)
{
    spp *x = p;
    for (long i = 0; i < x->rounds; i++) {
        uint64_t v = 0;
        if (x->peer_selects)
            spp_op(x, x->ping, false, &v);
        else
            CHECK_OK(weft_chan_recv(x->ping, &v));
        CHECK_EQ(v, (uint64_t)(2 * i));
        v++;
        if (x->peer_selects)
            spp_op(x, x->pong, true, &v);
        else
            CHECK_OK(weft_chan_send(x->pong, &v));
    }
    return NULL;
}

static void select_ping_pong(size_t cap, bool peer_selects, long rounds)
{
    spp x = { new_chan(cap), new_chan(cap), new_chan(0), new_chan(4), rounds, peer_selects };
    pthread_t t = test_thread(spp_peer, &x);
    for (long i = 0; i < rounds; i++) {
        uint64_t v = (uint64_t)(2 * i);
        spp_op(&x, x.ping, true, &v);
        spp_op(&x, x.pong, false, &v);
        CHECK_EQ(v, (uint64_t)(2 * i + 1));
    }
    test_join(t);
    CHECK_EQ(weft_chan_len(x.ping), 0);
    CHECK_EQ(weft_chan_len(x.pong), 0);
    CHECK_EQ(weft_chan_len(x.idle_b), 0);
    weft_chan_free(x.ping);
    weft_chan_free(x.pong);
    weft_chan_free(x.idle_u);
    weft_chan_free(x.idle_b);
}

static void ping_pong_select_both_unbuffered(void)
{
    test_watchdog(60);
    select_ping_pong(0, true, test_n(100000));
}

static void ping_pong_select_both_cap1(void)
{
    test_watchdog(60);
    select_ping_pong(1, true, test_n(100000));
}

static void ping_pong_select_vs_plain_unbuffered(void)
{
    test_watchdog(60);
    select_ping_pong(0, false, test_n(100000));
}

static void ping_pong_select_vs_plain_cap1(void)
{
    test_watchdog(60);
    select_ping_pong(1, false, test_n(100000));
}

/* Threads outnumber the cores, so handoffs park rather than spin. */
typedef struct spp_pair {
    size_t cap;
    long rounds;
} spp_pair;

static void *spp_pair_main(void *p)
{
    spp_pair *x = p;
    select_ping_pong(x->cap, true, x->rounds);
    return NULL;
}

static void ping_pong_select_4_pairs(void)
{
    test_watchdog(60);
    spp_pair x[4] = { { 0, test_n(25000) }, { 1, test_n(25000) }, { 0, test_n(25000) },
                      { 1, test_n(25000) } };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        t[i] = test_thread(spp_pair_main, &x[i]);
    for (int i = 0; i < 4; i++)
        test_join(t[i]);
}

/* A windowed pipeline where each side selects a send and a receive at
   once: A sends pings while fewer than W are outstanding and receives
   pongs; B receives pings while it holds fewer than W and sends back the
   oldest it holds. Each select waits on two channels in opposite
   directions. */
enum { WIN = 3 };

typedef struct wpipe {
    weft_chan *ping, *pong;
    long n;
} wpipe;

static void *wpipe_b(void *p)
{
    wpipe *x = p;
    uint64_t held[WIN], in = 0, out;
    int nheld = 0;
    long done = 0;
    while (done < x->n) {
        out = nheld ? held[0] : 0;
        weft_case cs[2] = { WEFT_CASE_RECV(nheld < WIN ? x->ping : NULL, &in),
                            WEFT_CASE_SEND(nheld ? x->pong : NULL, &out) };
        int k = weft_select(cs, 2, WEFT_FOREVER);
        CHECK(k == 0 || k == 1);
        CHECK(cs[k].ok);
        if (k == 0) {
            held[nheld++] = in;
        } else {
            memmove(held, held + 1, (size_t)(nheld - 1) * sizeof held[0]);
            nheld--;
            done++;
        }
    }
    CHECK_EQ(nheld, 0);
    return NULL;
}

static void windowed_select_pipeline(size_t cap)
{
    test_watchdog(60);
    wpipe x = { new_chan(cap), new_chan(cap), test_n(100000) };
    pthread_t t = test_thread(wpipe_b, &x);
    uint64_t next_send = 0, next_recv = 0, got = 0;
    while ((long)next_recv < x.n) {
        bool can_send = (long)next_send < x.n && next_send - next_recv < WIN;
        uint64_t v = next_send;
        weft_case cs[2] = { WEFT_CASE_SEND(can_send ? x.ping : NULL, &v),
                            WEFT_CASE_RECV(x.pong, &got) };
        int k = weft_select(cs, 2, WEFT_FOREVER);
        CHECK(k == 0 || k == 1);
        CHECK(cs[k].ok);
        if (k == 0) {
            next_send++;
        } else {
            CHECK_EQ(got, next_recv);
            next_recv++;
        }
    }
    test_join(t);
    weft_chan_free(x.ping);
    weft_chan_free(x.pong);
}

static void windowed_select_pipeline_unbuffered(void) { windowed_select_pipeline(0); }
static void windowed_select_pipeline_cap1(void) { windowed_select_pipeline(1); }

/* ---- parked selects use no CPU -------------------------------------------------- */

enum { NPARKED = 20 };

typedef struct psel {
    weft_chan **c;
    atomic_int *ready;
    int rc;
    bool ok;
    bool finite;
} psel;

static void *parked_selector(void *p)
{
    psel *x = p;
    uint64_t a = 0, b = 0, v = 1;
    weft_case cs[5] = { WEFT_CASE_RECV(x->c[0], &a), WEFT_CASE_RECV(x->c[1], &b),
                        WEFT_CASE_SEND(x->c[2], &v), WEFT_CASE_RECV(x->c[3], NULL),
                        WEFT_CASE_SEND(x->c[4], &v) };
    atomic_fetch_add(x->ready, 1);
    x->rc = weft_select(cs, 5, x->finite ? weft_deadline_in(600000000000LL) : WEFT_FOREVER);
    if (x->rc >= 0)
        x->ok = cs[x->rc].ok;
    return NULL;
}

/* NPARKED threads blocked in select over five channels (receive and send
   cases, unbuffered and buffered) use under 5% of one core over 300 ms;
   closing one channel wakes each with that case and ok == false. */
static void parked_selects_use_no_cpu(void)
{
    test_watchdog(60);
    weft_chan *c[5] = { new_chan(0), new_chan(4), new_chan(0), new_chan(2), new_chan(1) };
    uint64_t fill = 7;
    CHECK_OK(weft_chan_send(c[4], &fill)); /* full: its send case blocks */
    atomic_int ready = 0;
    psel x[NPARKED];
    pthread_t t[NPARKED];
    for (int i = 0; i < NPARKED; i++) {
        x[i] = (psel){ c, &ready, 1, true, i % 2 == 1 };
        t[i] = test_thread(parked_selector, &x[i]);
    }
    while (atomic_load(&ready) < NPARKED)
        test_sleep_ms(1);
    test_sleep_ms(200); /* past any bounded spin */

    double share = test_cpu_share(300);
    printf("(%.2f%% of a core) ", share * 100);
#ifdef WEFT_SANITIZED
    const double limit = 0.15; /* sanitizer runtimes have background threads */
#else
    const double limit = 0.05;
#endif
    if (share >= limit)
        fprintf(stderr, "%d parked selects used %.1f%% of a core over 300 ms\n", NPARKED,
                share * 100);
    CHECK(share < limit);

    CHECK_OK(weft_chan_close(c[3]));
    for (int i = 0; i < NPARKED; i++) {
        test_join(t[i]);
        CHECK_EQ(x[i].rc, 3);
        CHECK(!x[i].ok);
    }
    CHECK_EQ(weft_chan_len(c[4]), 1);
    for (int i = 0; i < 5; i++)
        weft_chan_free(c[i]);
}

static int g_failures;

/* ---- non-blocking selects are linearizable -------------------------------------- */

/* A worker thread runs one non-blocking select per round, started by the
   main thread through a spinning handshake so that it overlaps the main
   thread's channel operations as closely as possible. */
typedef struct nbr {
    int kind;
    int cpu; /* the worker's CPU, or -1 */
    weft_chan *c1, *c2;
    atomic_long go, done;
    int rc;
    bool ok;
    atomic_bool quit;
} nbr;

/* The n-th CPU this process may run on, or -1. */
static int nth_cpu(int n)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set) && n-- == 0)
            return i;
    return -1;
}

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *nbr_worker(void *p)
{
    nbr *x = p;
    pin_self(x->cpu);
    for (long r = 1;; r++) {
        /* spin (yielding now and then) so that the select starts within
           nanoseconds of the main thread's release */
        for (unsigned i = 1; atomic_load(&x->go) < r; i++) {
            if (atomic_load(&x->quit))
                return NULL;
            if (i % 64 == 0)
                sched_yield();
        }
        weft_case cs[2] = { WEFT_CASE_RECV(x->c1, NULL), WEFT_CASE_RECV(x->c2, NULL) };
        /* kind 3 polls with a passed deadline other than WEFT_NOWAIT */
        x->rc = weft_select(cs, x->kind == 0 ? 1 : 2, x->kind == 3 ? 1 : WEFT_NOWAIT);
        x->ok = x->rc >= 0 ? cs[x->rc].ok : false;
        atomic_store(&x->done, r);
    }
}

/* kind 0, Go's TestNonblockRecvRace: c (cap 1) holds a value and is then
   closed and drained by the main thread: at every instant a receive on it
   can proceed, so the worker's poll must not report EAGAIN.
   kind 1, TestNonblockSelectRace: c1 holds a value; the main thread sends
   on c2 and then takes c1's value: one of them is ready at every instant.
   kind 2, TestNonblockSelectRace2: the same with c2 unbuffered and closed
   instead of sent on.
   kind 3: kind 1 with a deadline that has passed but is not WEFT_NOWAIT
   (a computed deadline already behind us): a poll as well, which must not
   report WEFT_ETIMEDOUT while a case was ready at every instant ("an
   operation that can complete at once completes whatever the deadline"). */
static void nonblock_race(int kind)
{
    test_watchdog(60);
    nbr x;
    memset(&x, 0, sizeof x);
    x.kind = kind;
    atomic_init(&x.go, 0);
    atomic_init(&x.done, 0);
    atomic_init(&x.quit, false);
    /* the two threads on two different CPUs, so that they truly overlap
       even when the machine is busy */
    cpu_set_t saved;
    CHECK_EQ(pthread_getaffinity_np(pthread_self(), sizeof saved, &saved), 0);
    x.cpu = nth_cpu(1);
    if (x.cpu >= 0)
        pin_self(nth_cpu(0));
    pthread_t t = test_thread(nbr_worker, &x);
    long rounds = test_n(200000), misses = 0;
    uint64_t rng = 0xC0FFEE + (uint64_t)kind;
    /* bounded in time too: on a busy machine the handshake slows down */
    int64_t stop = weft_deadline_in(5000000000LL);
    for (long r = 1; r <= rounds; r++) {
        if (r % 1024 == 0 && weft_now() > stop) {
            rounds = r - 1;
            break;
        }
        uint64_t one = 1;
        x.c1 = new_chan(1);
        x.c2 = kind == 2 ? new_chan(0) : new_chan(1);
        CHECK_OK(weft_chan_send(x.c1, &one));
        atomic_store(&x.go, r);
        /* a random delay (0 to ~2 us, over ranges of several scales) so
           that our operations land at every point of the worker's select */
        for (volatile uint64_t d = test_rand(&rng) % (64u << (r % 6)); d > 0; d--) {
        }
        if (kind == 0) {
            CHECK_OK(weft_chan_close(x.c1));
            int rc = weft_chan_recv(x.c1, NULL); /* the worker may have it */
            CHECK(rc == 0 || rc == WEFT_ECLOSED);
        } else {
            if (kind == 2)
                CHECK_OK(weft_chan_close(x.c2));
            else
                CHECK_OK(weft_chan_send(x.c2, &one));
            (void)weft_chan_try_recv(x.c1, NULL);
        }
        for (unsigned i = 1; atomic_load(&x.done) < r; i++)
            if (i % 64 == 0)
                sched_yield();
        if (x.rc < 0) {
            CHECK_RC(x.rc, kind == 3 ? WEFT_ETIMEDOUT : WEFT_EAGAIN);
            misses++;
        }
        weft_chan_free(x.c1);
        weft_chan_free(x.c2);
    }
    atomic_store(&x.quit, true);
    test_join(t);
    pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    if (misses) {
        /* reported, and the program fails at the end, after the others */
        fprintf(stderr, "FAIL: a polling select (deadline %s) returned %s %ld times in %ld "
                        "rounds although a case was ready at every instant\n",
                kind == 3 ? "1, passed" : "WEFT_NOWAIT",
                kind == 3 ? "WEFT_ETIMEDOUT" : "WEFT_EAGAIN", misses, rounds);
        printf("(%ld of %ld polls said nothing ready) ", misses, rounds);
        g_failures++;
    }
}

static void go_nonblock_recv_race(void) { nonblock_race(0); }
static void go_nonblock_select_race(void) { nonblock_race(1); }
static void go_nonblock_select_race2(void) { nonblock_race(2); }
static void passed_deadline_select_race(void) { nonblock_race(3); }

/* ---- running -------------------------------------------------------------------- */

static const char *g_filter;

/* TEST_RUN, but saying FAILED for a test that counted a failure in
   g_failures instead of aborting. */
#define RUN(fn)                                                               \
    do {                                                                      \
        if (!g_filter || strstr(#fn, g_filter)) {                             \
            int run_f0_ = g_failures;                                         \
            int64_t run_t0_ = weft_now();                                     \
            printf("%-52s ", #fn);                                            \
            fflush(stdout);                                                   \
            fn();                                                             \
            printf("%s  (%lld ms)\n", g_failures == run_f0_ ? "ok" : "FAILED", \
                   (long long)((weft_now() - run_t0_) / 1000000));            \
            fflush(stdout);                                                   \
        }                                                                     \
    } while (0)

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_one_cpu_from_args(&argc, &argv);
    g_filter = argc > 1 ? argv[1] : NULL;
    RUN(select_mesh_exactly_once);
    RUN(go_select_stress);
    RUN(go_doubleselect);
    RUN(select_racing_close);
    RUN(timed_plain_senders_vs_select_receiver);
    RUN(timed_select_sender_vs_plain_receivers);
    RUN(timed_select_sender_vs_select_receiver);
    RUN(ping_pong_select_both_unbuffered);
    RUN(ping_pong_select_both_cap1);
    RUN(ping_pong_select_vs_plain_unbuffered);
    RUN(ping_pong_select_vs_plain_cap1);
    RUN(ping_pong_select_4_pairs);
    RUN(windowed_select_pipeline_unbuffered);
    RUN(windowed_select_pipeline_cap1);
    RUN(parked_selects_use_no_cpu);
    RUN(go_nonblock_recv_race);
    RUN(go_nonblock_select_race);
    RUN(go_nonblock_select_race2);
    RUN(passed_deadline_select_race);
    if (g_failures) {
        printf("select_stress: %d test(s) FAILED\n", g_failures);
        return 1;
    }
    printf("select_stress: all passed\n");
    return 0;
}
