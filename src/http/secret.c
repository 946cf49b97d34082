/* secret.c - comparing a presented secret in constant time; see secret.h. */
#include "http/secret.h"

#include <string.h>

bool sy_secret_matches(const char *want, const char *got)
{
    if (!want || !*want)
        return false;
    size_t n = strlen(want), m = strlen(got);
    /* Every byte of `want` is looked at whatever `got` holds; the OR keeps going past the
     * first difference, where strcmp would stop. */
    unsigned char diff = n != m;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}
