/* lockfree/common.h — small internal helpers shared by every weft source file:
 * cache-line size, branch hints, atomic views of public opaque words, and the
 * one-line abort for misuse. Not installed. */
#ifndef WEFT_LOCKFREE_COMMON_H
#define WEFT_LOCKFREE_COMMON_H

#include <stdatomic.h>
#include <stdint.h>

#define WEFT_CACHELINE 64

#define weft_likely(x)   __builtin_expect(!!(x), 1)
#define weft_unlikely(x) __builtin_expect(!!(x), 0)

/* Public headers expose no _Atomic types: their opaque words are plain
   uint32_t that the library only ever accesses through these views. */
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic u32 layout");
_Static_assert(_Alignof(_Atomic uint32_t) == _Alignof(uint32_t), "atomic u32 alignment");
#define WEFT_ATOMIC_U32(p) ((_Atomic uint32_t *)(void *)(p))

/* Deadlines (weft/base.h): has d passed, and the error for a wait that
   could not complete by d (WEFT_EAGAIN for a poll, else WEFT_ETIMEDOUT). */
#include <weft/base.h>
static inline bool weft__deadline_passed(int64_t d)
{
    return d != WEFT_FOREVER && (d == WEFT_NOWAIT || d <= weft_now());
}
static inline int weft__expired(int64_t d)
{
    return d == WEFT_NOWAIT ? WEFT_EAGAIN : WEFT_ETIMEDOUT;
}

/* Print "weft: <msg>" to stderr and abort(): misuse that would corrupt state. */
_Noreturn void weft__panic(const char *msg);

#endif
