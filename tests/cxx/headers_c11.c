/* headers_c11 — the public headers are strict C11.
 *
 * Built with -std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror
 * and no feature-test macro (the library's _GNU_SOURCE is private to it).
 * The build also compiles one generated translation unit per public header
 * that includes that header alone, twice (self-contained, include-guarded);
 * weft_all_headers.h is generated from the headers in include/weft/ at
 * configure time, so a new header is covered without editing this file.
 *
 * This file includes them all together and calls a few functions, so the
 * declarations link against libweft.a with C linkage. Behaviour is tested
 * elsewhere (tests/); here a failure means a header or link problem.
 */
#include <weft.h>
#include "weft_all_headers.h"

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* The error codes are the negative errno values of the contract. */
_Static_assert(WEFT_ECLOSED == -EPIPE, "WEFT_ECLOSED");
_Static_assert(WEFT_ETIMEDOUT == -ETIMEDOUT, "WEFT_ETIMEDOUT");
_Static_assert(WEFT_ECANCELED == -ECANCELED, "WEFT_ECANCELED");
_Static_assert(WEFT_EAGAIN == -EAGAIN, "WEFT_EAGAIN");
_Static_assert(WEFT_EINVAL == -EINVAL, "WEFT_EINVAL");
_Static_assert(WEFT_ENOMEM == -ENOMEM, "WEFT_ENOMEM");
_Static_assert(WEFT_FOREVER == INT64_MAX, "WEFT_FOREVER");
_Static_assert(WEFT_NOWAIT == 0, "WEFT_NOWAIT");

int main(void)
{
    CHECK(weft_strerror(WEFT_ECLOSED) != NULL);
    CHECK(weft_strerror(0) != NULL);
    CHECK(weft_strerror(12345) != NULL);
    CHECK(weft_deadline_in(0) >= 0);
    CHECK(weft_deadline_in(INT64_MAX) == WEFT_FOREVER);

    weft_chan *c = weft_chan_new(sizeof(int), 2);
    CHECK(c != NULL);
    int in = 7, out = 0;
    CHECK(weft_chan_send(c, &in) == 0);
    CHECK(weft_chan_recv(c, &out) == 0 && out == 7);
    CHECK(weft_chan_close(c) == 0);
    CHECK(weft_chan_recv(c, &out) == WEFT_ECLOSED);

#ifdef WEFT_CASE_RECV /* <weft/select.h>: the macros build a weft_case in C */
    weft_case cases[2] = { WEFT_CASE_RECV(c, &out), WEFT_CASE_SEND(NULL, &in) };
    CHECK(cases[0].chan == c && cases[0].dir == WEFT_RECV && cases[0].elem == &out);
    CHECK(cases[1].chan == NULL && cases[1].dir == WEFT_SEND);
#endif
#ifdef WEFT_ONCE_INIT /* <weft/sync.h>: static initializers */
    weft_once once = WEFT_ONCE_INIT;
    (void)once;
#endif
#ifdef WEFT_WG_INIT
    weft_wg wg = WEFT_WG_INIT;
    (void)wg;
#endif
    weft_chan_free(c);

    weft_ring *r = weft_ring_new(sizeof(long), 3);
    CHECK(r != NULL);
    long l = 5, m = 0;
    CHECK(weft_ring_try_push(r, &l) == 0);
    CHECK(weft_ring_try_pop(r, &m) == 0 && m == 5);
    CHECK(weft_ring_try_pop(r, &m) == WEFT_EAGAIN);
    weft_ring_free(r);

    weft_parker p = WEFT_PARKER_INIT;
    weft_parker_unpark(&p);
    CHECK(weft_parker_wait(&p, WEFT_FOREVER, 0) == 0);
    weft_spin s = WEFT_SPIN_INIT;
    (void)s;

    if (failures) {
        fprintf(stderr, "headers_c11: %d check(s) failed\n", failures);
        return 1;
    }
    printf("headers_c11: ok\n");
    return 0;
}
