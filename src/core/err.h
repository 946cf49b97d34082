/* err.h - the one error convention of switchyard.
 *
 * Functions return 0 on success or a negative code: a negated errno (-EINVAL, -ENOMEM,
 * -ENOENT, -EEXIST) or one of our own SY_E* codes below, which live beyond errno's range.
 * Where a person must learn *why* a call failed, it also takes an optional caller-owned
 * sy_err_t that it fills on failure (and leaves untouched on success). http/ maps a filled
 * sy_err_t one-to-one onto {"error":{"code","message","field"}}.
 *
 * Pure and thread-safe: no allocation, no globals.
 */
#ifndef SY_CORE_ERR_H
#define SY_CORE_ERR_H

#include <errno.h>

/* Our own codes, in the same negative space as -errno but clear of it. */
enum {
    SY_ENOTRIALS = -1001, /* nothing observed where a rate or a count is needed */
    SY_ETOOFEW = -1002,   /* fewer than 2 samples where a sample sd is needed */
    SY_EZEROVAR = -1003,  /* the statistic would be infinite: zero variance, nonzero effect */
    SY_ECONFLICT = -1004, /* the resource's state forbids the change (HTTP 409) */
    SY_EUNKNOWN = -1005,  /* an input names a field or parameter that does not exist (400) */
};

typedef struct sy_err {
    int code;       /* same value as the return */
    char field[64]; /* offending input field ("control.trials", "weights[2]"), "" if none */
    char msg[160];  /* one sentence for a human */
} sy_err_t;

/* Fills `err` (when not NULL) with `code`, `field` (NULL for none) and a printf-style
 * message, truncating each to its buffer. Returns `code`, so callers can write
 * `return sy_err_set(err, -EINVAL, "alpha", "alpha must be in (0, 1)");`. */
int sy_err_set(sy_err_t *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The stable machine name of a code, as the API and the conformance files spell it:
 * -EINVAL -> "invalid_input", SY_ENOTRIALS -> "no_trials", and so on. Never NULL; an
 * unknown code gives "internal". The string is static. */
const char *sy_err_name(int code);

#endif
