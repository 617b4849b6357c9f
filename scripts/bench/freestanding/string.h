/* The string.h functions the benchmarks use, as compiler builtins (with
 * -mbulk-memory, memory.copy and memory.fill); see stdio.h. */
#ifndef SHIM_STRING_H
#define SHIM_STRING_H
#include <stddef.h>
#define memcpy __builtin_memcpy
#define memmove __builtin_memmove
#define memset __builtin_memset
#define memcmp __builtin_memcmp
#define strlen __builtin_strlen
#endif
