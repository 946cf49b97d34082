/* semver.h - flagd's `sem_ver` operator: compare two versions with one operator.
 *
 * A version is a string (callers turn numbers into strings first) that loses one leading
 * "v" or "V"; "1" and "1.2" mean 1.0.0 and 1.2.0; anything else must be strict semver 2.0
 * (no leading zeros, no whitespace, non-empty identifiers). Build metadata is ignored and
 * prereleases order as semver.org says. Numeric components may have any number of digits
 * (flagd in Go accepts them; flagd-core's 2^53 limit is a divergence we do not copy).
 * Operators: "=" "!=" "<" "<=" ">" ">="; "^" is "same major", "~" "same major and minor"
 * (flagd's meaning, not npm's ranges).
 *
 * Pure, no allocation. Thread-safe.
 */
#ifndef SY_CORE_SEMVER_H
#define SY_CORE_SEMVER_H

#include <stdbool.h>
#include <stddef.h>

/* Evaluates `a op b` into *result. Returns 0, or -EINVAL when either version or the
 * operator is invalid (flagd then answers null). */
int sy_semver_test(const char *a, size_t alen, const char *op, size_t oplen, const char *b,
                   size_t blen, bool *result);

#endif
