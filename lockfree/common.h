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

/* One step of a polling spin with exponential backoff: 1, 2, 4, ... up to
   32 pause rounds between polls. Polling a line another CPU is writing
   steals it from that CPU at every look; backing off lets the producer run
   ahead and the poller then finds several values at once. Returns the
   rounds spent (to charge against a weft_spin budget). */
void weft_cpu_relax(void);
static inline uint32_t weft__backoff(uint32_t *step)
{
    uint32_t rounds = 1u << (*step < 5 ? *step : 5);
    for (uint32_t k = 0; k < rounds; k++)
        weft_cpu_relax();
    (*step)++;
    return rounds;
}

/* The least spin worth granting where the wait is for one partner's next
   step (a rendezvous, a ring of a few slots): ~1.4 µs of pause, a small
   fraction of the ~30 µs a park and wake cost, and long enough to cover the
   partner returning from its call and coming back. The adaptive budget
   alone (lockfree/spin.c) decays below this after a few waits that ran
   into a park, and a rendezvous then parks on every message (1x1
   unbuffered measured 1.2 -> 1.7 M msgs/s, capacity 1 0.8 -> 1.8 M with the
   floor). Polling a large ring keeps the pure adaptive budget: there, a
   spinner steals the line and the CPU producers need when threads
   outnumber cores (16x16 fell from ~50 to ~32 M msgs/s with the floor). */
enum { WEFT_SPIN_PARTNER_FLOOR = 128, WEFT_SPIN_SMALL_RING = 16 };

/* A race window of a protocol: between two steps whose interleaving with
   other threads the protocol's argument covers (a CAS and the store that
   publishes it, a registration and its re-check, ...). Nothing in normal
   builds; with WEFT_INJECT_DELAYS (test builds, see CMakeLists.txt) a
   random short sleep, as a preemption there would cause. */
#ifdef WEFT_INJECT_DELAYS
void weft__inject(void);
#define WEFT_INJECT() weft__inject()
#else
#define WEFT_INJECT() ((void)0)
#endif

/* Print "weft: <msg>" to stderr and abort(): misuse that would corrupt state. */
_Noreturn void weft__panic(const char *msg);

#endif
