/* secret.h - comparing a presented secret with the one we hold.
 *
 * For every secret a client presents that is not a token (tokens are looked up by their
 * SHA-256 in the engine): the cron secret of POST /v1/auto-promotion/check and the key
 * of an OFREP event stream. A plain strcmp returns at the first differing byte, so the
 * time of a refusal tells a caller how much of its guess was right, and a secret can be
 * found a byte at a time. Pure, no allocation, thread-safe.
 */
#ifndef SY_HTTP_SECRET_H
#define SY_HTTP_SECRET_H

#include <stdbool.h>

/* True when `got` is exactly `want`. Takes time that depends on the two lengths only,
 * never on where the texts differ. An unset `want` (NULL or "") matches nothing, so an
 * unconfigured secret cannot be met by sending an empty one. */
bool sy_secret_matches(const char *want, const char *got);

#endif
