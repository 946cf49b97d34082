/* limit.h - a limit that may be unset: "no limit" is a state of its own, not a number
 * (the risk guard's limits; what the API reads from a number or null). */
#ifndef SY_CORE_LIMIT_H
#define SY_CORE_LIMIT_H

#include <stdbool.h>

typedef struct sy_limit {
    bool set;
    double v;
} sy_limit_t;

#endif
