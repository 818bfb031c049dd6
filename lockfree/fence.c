/* lockfree/fence.c — the heavy half of the asymmetric fence (see fence.h). */
#include "lockfree/fence.h"

#include <linux/membarrier.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

bool weft_fence_asym;

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

__attribute__((constructor)) static void fence_probe(void)
{
    weft_fence_asym = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
                      membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
}

void weft__fence_full(void)
{
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer does not model fences (and GCC rejects them under
       -fsanitize=thread): a seq_cst RMW is a full barrier on the hardware. */
    static _Atomic uint32_t dummy;
    atomic_fetch_add(&dummy, 0);
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

void weft__fence_heavy(void)
{
    /* A process forked from a registered one may need to register again;
       if expedited membarrier fails, fall back to the global command
       (an RCU grace period: slow but still a barrier on every CPU). */
    if (weft_fence_asym && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
        (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 ||
         membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0))
        membarrier(MEMBARRIER_CMD_GLOBAL);
    weft__fence_full();
}
