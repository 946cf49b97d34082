/* rng.h - a small seeded random stream: splitmix64, its uniforms and normals.
 *
 * For simulations that must be deterministic by seed (switchyard simulate, the rule's
 * power in core/stats.c): a state is one uint64_t the caller owns, so streams are cheap,
 * independent by seed and need no allocation. Not for anything secret.
 */
#ifndef SY_CORE_RNG_H
#define SY_CORE_RNG_H

#include <math.h>
#include <stdint.h>

/* The next 64 bits of the stream (Vigna's splitmix64). */
static inline uint64_t sy_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double sy_rng_uniform(uint64_t *s)
{
    return (double)(sy_rng_next(s) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box-Muller, two uniforms a draw). */
static inline double sy_rng_gauss(uint64_t *s)
{
    double u = 1 - sy_rng_uniform(s), v = sy_rng_uniform(s);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Two independent standard normals from the same two uniforms (Box-Muller's pair): half
 * the cost a normal where many are drawn. */
static inline void sy_rng_gauss2(uint64_t *s, double *a, double *b)
{
    double u = 1 - sy_rng_uniform(s), v = sy_rng_uniform(s);
    double r = sqrt(-2 * log(u)), t = 6.283185307179586 * v;
    *a = r * cos(t);
    *b = r * sin(t);
}

#endif
