/* suggest.h - "did you mean ...?": the known name closest to a misspelt one.
 *
 * Used where a document may hold members we do not know (a flag's `defaultVarient`,
 * `targetting`): the hint names the member meant. Distance is optimal string alignment
 * (insertions, deletions, substitutions and swaps of neighbours, one each), ASCII letters
 * compared without case, so `default_variant` and `DefaultVariant` find `defaultVariant`.
 * A name is suggested only when it is close for its length: at most 2 edits, and at most
 * one edit per 3 bytes of it, so that short unrelated words are not "corrected".
 *
 * Pure: no allocation, no globals. Thread-safe.
 */
#ifndef SY_CORE_SUGGEST_H
#define SY_CORE_SUGGEST_H

#include <stddef.h>

/* Longest input compared (longer ones are suggested nothing). */
#define SY_SUGGEST_MAX 64

/* The name of `names` (a NULL-terminated list of NUL-terminated names) closest to `word`
 * (`len` bytes), or NULL when none is close enough or `word` is itself one of them. The
 * first of equally close names wins. Returns a pointer borrowed from `names`. */
const char *sy_suggest(const char *word, size_t len, const char *const *names);

#endif
