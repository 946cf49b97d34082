/* suggest.c - the closest known name to a misspelt one; see suggest.h. */
#include "core/suggest.h"

#include <stdint.h>
#include <string.h>

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Optimal string alignment distance between a and b (both at most SY_SUGGEST_MAX bytes),
 * three rolling rows on the stack. */
static size_t distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t rows[3][SY_SUGGEST_MAX + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = fold(a[i - 1]) != fold(b[j - 1]);
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
                fold(a[i - 2]) == fold(b[j - 1]) && prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

const char *sy_suggest(const char *word, size_t len, const char *const *names)
{
    if (len > SY_SUGGEST_MAX)
        return NULL;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; names[i]; i++) {
        size_t m = strlen(names[i]);
        if (m > SY_SUGGEST_MAX)
            continue;
        if (m == len && memcmp(word, names[i], len) == 0)
            return NULL;
        size_t d = distance(word, len, names[i], m);
        if (d < best_d && d <= 2 && 3 * d <= m) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}
