// headers_cxx17 — the public headers are C++17 (API.md: "Public headers
// compile as C11 and as C++17 (extern "C"), expose no _Atomic types").
//
// Built with -std=c++17 -Wall -Wextra -Wpedantic -Werror. The build also
// compiles one generated translation unit per public header that includes
// that header alone, twice; weft_all_headers.h is generated from
// include/weft/*.h at configure time, so a new header is covered without
// editing this file. This file includes them all and calls the library from
// C++: a missing extern "C" shows up as an undefined (mangled) symbol at link
// time. Behaviour is tested elsewhere (tests/); here a failure means a header
// or link problem.
#include <weft.h>
#include "weft_all_headers.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>

static int failures;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
                         #cond);                                                  \
            failures++;                                                           \
        }                                                                         \
    } while (0)

static_assert(WEFT_ECLOSED == -EPIPE, "WEFT_ECLOSED");
static_assert(WEFT_ETIMEDOUT == -ETIMEDOUT, "WEFT_ETIMEDOUT");
static_assert(WEFT_ECANCELED == -ECANCELED, "WEFT_ECANCELED");
static_assert(WEFT_EAGAIN == -EAGAIN, "WEFT_EAGAIN");
static_assert(WEFT_EINVAL == -EINVAL, "WEFT_EINVAL");
static_assert(WEFT_ENOMEM == -ENOMEM, "WEFT_ENOMEM");
static_assert(WEFT_FOREVER == INT64_MAX, "WEFT_FOREVER");
static_assert(WEFT_NOWAIT == 0, "WEFT_NOWAIT");

int main()
{
    CHECK(weft_strerror(WEFT_ECLOSED) != nullptr);
    CHECK(weft_strerror(12345) != nullptr);
    const std::int64_t t0 = weft_now();
    CHECK(weft_deadline_in(0) >= t0);
    CHECK(weft_deadline_in(INT64_MAX) == WEFT_FOREVER);

    weft_chan *c = weft_chan_new(sizeof(int), 4);
    CHECK(c != nullptr);
    int in = 42, out = 0;
    CHECK(weft_chan_send(c, &in) == 0);
    CHECK(weft_chan_len(c) == 1);
    CHECK(weft_chan_cap(c) == 4);
    CHECK(weft_chan_recv(c, &out) == 0 && out == 42);
    CHECK(weft_chan_try_recv(c, &out) == WEFT_EAGAIN);
    CHECK(weft_chan_close(c) == 0);
    CHECK(weft_chan_recv(c, &out) == WEFT_ECLOSED);
    CHECK(weft_chan_send(c, &in) == WEFT_ECLOSED);
    CHECK(weft_chan_send(nullptr, &in) == WEFT_EINVAL);

#ifdef WEFT_CASE_RECV // <weft/select.h>: the macros build a weft_case in C++
    weft_case cases[2] = { WEFT_CASE_RECV(c, &out), WEFT_CASE_SEND(nullptr, &in) };
    CHECK(cases[0].chan == c && cases[0].dir == WEFT_RECV && cases[0].elem == &out);
    CHECK(cases[1].chan == nullptr && cases[1].dir == WEFT_SEND);
#endif
#ifdef WEFT_ONCE_INIT // <weft/sync.h>: static initializers
    weft_once once = WEFT_ONCE_INIT;
    (void)once;
#endif
#ifdef WEFT_WG_INIT
    weft_wg wg = WEFT_WG_INIT;
    (void)wg;
#endif
    weft_chan_free(c);
    weft_chan_free(nullptr);

    weft_ring *r = weft_ring_new(sizeof(long), 3);
    CHECK(r != nullptr);
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
    CHECK(weft_ncpus() >= 1);

    if (failures) {
        std::fprintf(stderr, "headers_cxx17: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("headers_cxx17: ok\n");
    return 0;
}
