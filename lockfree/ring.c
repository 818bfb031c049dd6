/* lockfree/ring.c — the public weft_ring over the inline ring in ring.h. */
#include "lockfree/ring.h"

#include <errno.h>
#include <stdlib.h>

static size_t next_pow2(size_t x)
{
    size_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

/* Bytes per slot: the stamp, then the element, rounded to 8. */
static size_t ring_stride(size_t elem_size)
{
    return (sizeof(uint64_t) + elem_size + 7) & ~(size_t)7;
}

static size_t round_line(size_t n)
{
    return (n + WEFT_CACHELINE - 1) & ~(size_t)(WEFT_CACHELINE - 1);
}

void *weft__ring_alloc(size_t header, size_t elem_size, size_t cap, unsigned char **slots)
{
    size_t head = round_line(header), bytes = 0;
    if (cap) {
        /* stride >= elem_size, so this also catches elem_size * cap
           overflowing (API.md: ENOMEM). */
        if (elem_size > SIZE_MAX - 16 || cap > SIZE_MAX / ring_stride(elem_size))
            goto nomem;
        bytes = ring_stride(elem_size) * cap;
    }
    if (bytes > SIZE_MAX - head - WEFT_CACHELINE)
        goto nomem;
    unsigned char *block = aligned_alloc(WEFT_CACHELINE, round_line(head + bytes));
    if (!block)
        goto nomem;
    *slots = block + head;
    return block;

nomem:
    errno = ENOMEM;
    return NULL;
}

void weft__ring_init(weft_ring *r, size_t elem_size, size_t cap, void *slots)
{
    r->cap = cap;
    r->mark_bit = next_pow2(cap + 1);
    r->one_lap = r->mark_bit * 2;
    r->elem_size = elem_size;
    r->stride = ring_stride(elem_size);
    r->stride_shift = 0;
    if ((r->stride & (r->stride - 1)) == 0)
        r->stride_shift = (unsigned)__builtin_ctzll(r->stride);
    r->slots = slots;
    for (uint64_t i = 0; i < cap; i++)
        atomic_init(ring_stamp(r, i), i);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
}

size_t weft__ring_len(const weft_ring *r)
{
    weft_ring *m = (weft_ring *)r; /* atomics are loaded, never stored */
    for (;;) {
        /* seq_cst loads; re-reading tail makes (head, tail) a snapshot. */
        uint64_t tail = atomic_load(&m->tail);
        uint64_t head = atomic_load(&m->head);
        if (atomic_load(&m->tail) != tail)
            continue;
        uint64_t hix = head & (r->mark_bit - 1);
        uint64_t tix = tail & (r->mark_bit - 1);
        if (hix < tix)
            return tix - hix;
        if (hix > tix)
            return r->cap - hix + tix;
        return (tail & ~r->mark_bit) == head ? 0 : r->cap;
    }
}

WEFT_API weft_ring *weft_ring_new(size_t elem_size, size_t cap)
{
    if (cap == 0 || cap > WEFT_RING_MAX_CAP) {
        errno = EINVAL;
        return NULL;
    }
    unsigned char *slots;
    weft_ring *r = weft__ring_alloc(sizeof *r, elem_size, cap, &slots);
    if (r)
        weft__ring_init(r, elem_size, cap, slots);
    return r;
}

WEFT_API void weft_ring_free(weft_ring *r)
{
    free(r);
}

WEFT_API int weft_ring_try_push(weft_ring *r, const void *elem)
{
    if (!r || (!elem && r->elem_size))
        return WEFT_EINVAL;
    return ring_push(r, elem);
}

WEFT_API int weft_ring_try_pop(weft_ring *r, void *elem)
{
    if (!r)
        return WEFT_EINVAL;
    return ring_pop(r, elem);
}
