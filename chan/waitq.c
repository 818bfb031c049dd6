/* chan/waitq.c — wait queue operations and waiting on a waiter record.
 * The protocol is described in waitq.h. */
#include "chan/waitq.h"

void wq_enqueue(weft_waitq *q, weft_wnode *n)
{
    weft__dlist_push_back(&q->list, &n->link);
    n->queued = true;
    /* seq_cst RMW: the store half of the waiter's register/re-check Dekker
       pair; an operation's seq_cst load of n after its ring update either
       sees this node or the waiter's re-check sees that update. */
    atomic_fetch_add(&q->n, 1);
}

void wq_remove(weft_waitq *q, weft_wnode *n)
{
    if (!n->queued)
        return;
    weft__dlist_remove(&q->list, &n->link);
    n->queued = false;
    /* Relaxed is enough for a decrement: a stale larger count only sends a
       notifier into the lock to find nobody. */
    atomic_fetch_sub_explicit(&q->n, 1, memory_order_relaxed);
}

weft_wnode *wq_claim(weft_waitq *q, const weft_waiter *skip, bool ok)
{
    for (weft_dlink *l = q->list.head, *next; l; l = next) {
        next = l->next;
        weft_wnode *n = weft__dlist_entry(l, weft_wnode, link);
        if (n->w == skip)
            continue;
        wq_remove(q, n);
        uint32_t open = WAITER_OPEN;
        /* acq_rel: acquire pairs with the waiter's initialisation published
           through the lock; release orders the claim before our writes to
           the waiter's buffers for whoever reads claim with acquire. */
        if (atomic_compare_exchange_strong_explicit(&n->w->claim, &open, WAITER_CLAIMED + n->idx,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            n->w->ok = ok;
            return n;
        }
        /* claimed by another channel or abandoned: already dropped */
    }
    return NULL;
}

bool wq_has_open(const weft_waitq *q, const weft_waiter *skip)
{
    for (const weft_dlink *l = q->list.head; l; l = l->next) {
        const weft_wnode *n = weft__dlist_entry(l, weft_wnode, link);
        /* Relaxed: a hint; the claim CAS decides. */
        if (n->w != skip &&
            atomic_load_explicit(&n->w->claim, memory_order_relaxed) == WAITER_OPEN)
            return true;
    }
    return false;
}

size_t wq_claim_many(weft_waitq *q, size_t max, bool ok, weft_wnode **list)
{
    size_t k = 0;
    weft_wnode *n;
    while (k < max && (n = wq_claim(q, NULL, ok))) {
        n->wake_next = *list;
        *list = n;
        k++;
    }
    return k;
}

void wq_wake_list(weft_wnode *list)
{
    while (list) {
        /* Read the link before unparking: the waiter may return at once and
           its node (on its stack) is gone. */
        weft_wnode *next = list->wake_next;
        weft_parker_unpark(&list->w->park);
        list = next;
    }
}

/* Spin, then park. The wait is for one partner's next step (a rendezvous),
   so a first phase of WEFT_SPIN_PARTNER_FLOOR rounds polls our own word and
   touches nothing shared; only then the spin policy's capped, adaptive
   phase (its counter and statistics are contended lines that, paid on
   every message, cost a rendezvous more than the wait itself). */
int waiter_park(weft_waiter *w, weft_spin *site, int64_t deadline)
{
    if (weft_ncpus() > 1)
        for (uint32_t k = 0; k < WEFT_SPIN_PARTNER_FLOOR; k++) {
            if (weft_parker_unparked(&w->park))
                return 0;
            weft_cpu_relax();
        }
    uint32_t budget = weft_spin_enter(site), i = 0;
    if (budget) {
        while (i < budget && !weft_parker_unparked(&w->park)) {
            weft_cpu_relax();
            i++;
        }
        weft_spin_leave(site, i, i < budget);
        if (i < budget)
            return 0;
    }
    return weft_parker_wait(&w->park, deadline, 0);
}
