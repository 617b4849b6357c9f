/* The math.h functions the benchmarks use, as single instructions; see
 * stdio.h. */
#ifndef SHIM_MATH_H
#define SHIM_MATH_H
#define sqrt __builtin_sqrt
#define fabs __builtin_fabs
#endif
