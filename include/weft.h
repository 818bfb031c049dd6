/* weft.h — Go's concurrency patterns for C11 threads.
 *
 * The umbrella header: includes every public weft header. See README.md for
 * a quick start and each header for the contract of its functions.
 */
#ifndef WEFT_H
#define WEFT_H

#include <weft/base.h>
#include <weft/chan.h>
#include <weft/go.h>
#include <weft/lockfree.h>
#include <weft/select.h>
#include <weft/sync.h>
#include <weft/time.h>
#include <weft/ctx.h>

#endif /* WEFT_H */
