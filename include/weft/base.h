/* weft/base.h — error codes, time and the export macro shared by every weft header.
 *
 * Errors: functions that can fail return int, 0 on success or one of the
 * negative codes below (negative errno values, as libuv does).
 *
 * Time: every deadline is an absolute weft_now() time in nanoseconds on
 * CLOCK_MONOTONIC. A deadline at or before now means "do not block". One rule
 * everywhere: an operation that would block returns WEFT_EAGAIN when its
 * deadline is WEFT_NOWAIT (a poll, Go's `default`), and WEFT_ETIMEDOUT when
 * any other deadline has passed.
 *
 * Misuse that cannot be reported through a return value and that would
 * corrupt state prints one line naming the bug to stderr and calls abort(),
 * as Go panics.
 */
#ifndef WEFT_BASE_H
#define WEFT_BASE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The library is built with -fvisibility=hidden; WEFT_API marks what it exports. */
#if defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (negative errno values). */
#define WEFT_ECLOSED   (-EPIPE)      /* the channel is closed */
#define WEFT_ETIMEDOUT (-ETIMEDOUT)  /* the deadline passed (also a context's deadline) */
#define WEFT_ECANCELED (-ECANCELED)  /* the context was canceled */
#define WEFT_EAGAIN    (-EAGAIN)     /* the operation would block (try forms, WEFT_NOWAIT) */
#define WEFT_EINVAL    (-EINVAL)     /* a bad argument (NULL handle, zero count, ...) */
#define WEFT_ENOMEM    (-ENOMEM)     /* out of memory, or a size that overflows */

/* A deadline that never passes, and one that has always passed (a poll). */
#define WEFT_FOREVER INT64_MAX
#define WEFT_NOWAIT  0

/* A short static English description of `code` (one of the WEFT_E* codes,
   0, or any other int: "unknown weft error"). Never NULL. Thread-safe. */
WEFT_API const char *weft_strerror(int code);

/* The current CLOCK_MONOTONIC time in nanoseconds. Thread-safe; costs one
   vDSO clock read (about 20 ns). */
WEFT_API int64_t weft_now(void);

/* weft_now() + ns, saturating at WEFT_FOREVER (and at INT64_MIN + 1 for a
   very negative ns). A result <= weft_now() is a deadline that has passed. */
WEFT_API int64_t weft_deadline_in(int64_t ns);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BASE_H */
