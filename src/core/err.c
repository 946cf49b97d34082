/* err.c - filling and naming errors; see err.h. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sy_err_set(sy_err_t *err, int code, const char *field, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *sy_err_name(int code)
{
    switch (code) {
    case -EINVAL:
        return "invalid_input";
    case -ENOMEM:
        return "out_of_memory";
    case -ENOENT:
        return "not_found";
    case -EEXIST:
        return "already_exists";
    case -ERANGE:
        return "out_of_range";
    case -EACCES:
        return "unauthorized";
    case -EPERM:
        return "forbidden";
    case -E2BIG:
        return "too_large";
    case -EIO:
        return "store_error";
    case -ENOTSUP:
        return "not_supported";
    case -EPROTO:
        return "schema_too_new";
    case -EBUSY:
        return "rate_limited";
    case SY_ENOTRIALS:
        return "no_trials";
    case SY_ETOOFEW:
        return "too_few_samples";
    case SY_EZEROVAR:
        return "zero_variance";
    case SY_ECONFLICT:
        return "conflict";
    case SY_EUNKNOWN:
        return "unknown_field";
    case -EAGAIN:
        return "busy";
    case -ESTALE:
        return "node_behind";
    case -ENOSPC:
        return "limit_reached";
    default:
        return "internal";
    }
}
