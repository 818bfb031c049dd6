/* chan_impl.h — one small vtable over the channels being compared.
 *
 * Benchmark bodies are written once against chan_impl and run on every
 * implementation in CHAN_IMPLS: weft's channel and the mutex+condvar
 * baseline (baselines/mutex_chan.h). Both return the same error codes
 * (negative errno values; CHAN_ECLOSED is WEFT_ECLOSED and
 * MUTEX_CHAN_ECLOSED). The indirect call costs every implementation the
 * same.
 */
#ifndef WEFT_BENCH_CHAN_IMPL_H
#define WEFT_BENCH_CHAN_IMPL_H

#include <errno.h>
#include <stddef.h>

#define CHAN_ECLOSED (-EPIPE)

typedef struct chan_impl {
    const char *name;           /* "weft", "mutex": the last part of benchmark names */
    void *(*make)(size_t elem_size, size_t cap);
    void (*destroy)(void *c);
    int (*send)(void *c, const void *elem);
    int (*recv)(void *c, void *elem);
    int (*close)(void *c);
    int (*send_many)(void *c, const void *elems, size_t n, size_t *sent);
    int (*recv_many)(void *c, void *elems, size_t max, size_t *got);
} chan_impl;

extern const chan_impl CHAN_IMPL_WEFT;
extern const chan_impl CHAN_IMPL_MUTEX;

#define CHAN_NIMPLS 2
extern const chan_impl *const CHAN_IMPLS[CHAN_NIMPLS];

#endif /* WEFT_BENCH_CHAN_IMPL_H */
