/* printf format macros for 64-bit values; see stdio.h. */
#ifndef SHIM_INTTYPES_H
#define SHIM_INTTYPES_H
#include <stdint.h>
#define PRIx64 "llx"
#define PRIu64 "llu"
#define PRId64 "lld"
#define PRIu32 "u"
#endif
