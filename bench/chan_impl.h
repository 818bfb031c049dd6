/* chan_impl.h — one small vtable over the channels being compared.
 *
 * Benchmark bodies are written once against chan_impl and run on every
 * implementation in CHAN_IMPLS: weft's channel and the mutex+condvar
 * baseline (baselines/mutex_chan.h); the channel and parked workloads also
 * on the peers in CHAN_PEERS (bench/peers/). All return the same error
 * codes (negative errno values; CHAN_ECLOSED is WEFT_ECLOSED and
 * MUTEX_CHAN_ECLOSED, and the peers return it too). The indirect call costs every implementation the
 * same.
 */
#ifndef WEFT_BENCH_CHAN_IMPL_H
#define WEFT_BENCH_CHAN_IMPL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#define CHAN_ECLOSED (-EPIPE)

/* A select case, as weft_case and mutex_chan_case: each implementation's
   select copies the cases into its own type (as a caller builds its case
   array for every call), so both pay the same for the translation. */
enum { CHAN_RECV = 1, CHAN_SEND = 2 };
#define CHAN_SELECT_MAX 16

typedef struct chan_case {
    void *chan;                 /* NULL: disabled */
    int dir;                    /* CHAN_RECV or CHAN_SEND */
    void *elem;
    bool ok;                    /* out, for the case returned: a value moved */
} chan_case;

typedef struct chan_impl {
    const char *name;           /* "weft", "mutex": the last part of benchmark names */
    void *(*make)(size_t elem_size, size_t cap);
    void (*destroy)(void *c);
    int (*send)(void *c, const void *elem);
    int (*recv)(void *c, void *elem);
    int (*close)(void *c);
    int (*send_many)(void *c, const void *elems, size_t n, size_t *sent);
    int (*recv_many)(void *c, void *elems, size_t max, size_t *got);
    /* Block until one of the n (<= CHAN_SELECT_MAX) cases completes: its
       index, with cases[index].ok set; or a negative error. Buffered
       channels only (the baseline's limit). */
    int (*select)(chan_case *cases, size_t n);
    /* What it cannot run (CHAN_IMPL_* bits; 0 for weft and the baseline):
       the harness does not register those workloads for it, RESULTS.md
       shows n/a. */
    unsigned flags;
} chan_impl;

enum {
    /* No capacity 0: the 1x1_cap0 throughput workload is skipped; make(e, 0)
       (ping-pong only, one message in flight) gives its smallest buffer. */
    CHAN_IMPL_NO_UNBUFFERED = 1,
    /* Capacity is ignored and sends never block: the cap 0 and cap 1
       throughput workloads would be different workloads and are skipped. */
    CHAN_IMPL_UNBOUNDED = 2,
    /* Producers spin on one another with no yield or park (ck_ring's MP
       enqueue waits for every earlier producer to publish): with several
       producers and more threads than CPUs a preempted producer stalls the
       others for a scheduler tick each time, a convoy that took minutes
       for 200 k messages here. Those workloads are skipped unless
       WEFT_BENCH_PEER_OVERSUB=1. */
    CHAN_IMPL_PRODUCERS_SPIN = 4,
};

extern const chan_impl CHAN_IMPL_WEFT;
extern const chan_impl CHAN_IMPL_MUTEX;

#define CHAN_NIMPLS 2
extern const chan_impl *const CHAN_IMPLS[CHAN_NIMPLS];

/* Peers (bench/peers/): other libraries' queues made into blocking channels,
   run on the channel workloads (chan_bench.c, parked_cpu.c) but not on the
   select workloads (select is NULL). */
extern const chan_impl CHAN_IMPL_CK;    /* peers/ck_chan.c: ck_ring MPMC + ck_ec */
extern const chan_impl CHAN_IMPL_URCU;  /* peers/urcu_chan.c: liburcu wfcqueue */

#define CHAN_NPEERS 2
extern const chan_impl *const CHAN_PEERS[CHAN_NPEERS];

#endif /* WEFT_BENCH_CHAN_IMPL_H */
