/* lockfree/list.h — an intrusive doubly linked list. Internal.
 *
 * A weft_dlink is embedded in the element; a weft_dlist holds the two ends
 * and is empty when all-zero (so a static array of lists needs no setup).
 * Every operation is O(1), allocates nothing and is not thread-safe: the
 * owner's lock protects the list and the links of its elements. An
 * element knows nothing of whether it is on a list: its owner keeps that
 * (a flag under the same lock).
 */
#ifndef WEFT_LOCKFREE_LIST_H
#define WEFT_LOCKFREE_LIST_H

#include <stddef.h>

typedef struct weft_dlink {
    struct weft_dlink *prev, *next;
} weft_dlink;

typedef struct weft_dlist {
    weft_dlink *head, *tail; /* NULL, NULL: empty */
} weft_dlist;

/* The element that holds link l as its member `member`. */
#define weft__dlist_entry(l, type, member) ((type *)(void *)((char *)(l) - offsetof(type, member)))

static inline void weft__dlist_push_back(weft_dlist *q, weft_dlink *l)
{
    l->next = NULL;
    l->prev = q->tail;
    if (q->tail)
        q->tail->next = l;
    else
        q->head = l;
    q->tail = l;
}

static inline void weft__dlist_push_front(weft_dlist *q, weft_dlink *l)
{
    l->prev = NULL;
    l->next = q->head;
    if (q->head)
        q->head->prev = l;
    else
        q->tail = l;
    q->head = l;
}

/* Unlink l, which must be on q. */
static inline void weft__dlist_remove(weft_dlist *q, weft_dlink *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        q->head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    else
        q->tail = l->prev;
    l->prev = l->next = NULL;
}

#endif
