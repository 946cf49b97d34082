/* fuzz_stats_json.c - libFuzzer target: JSON text -> codec -> every statistical test.
 *
 * Whatever the bytes, parsing and evaluation must not crash, leak or trip a sanitizer,
 * and a success must never carry a NaN or an infinity (the codec could not even encode
 * one: jansson refuses non-finite reals, so a success whose result is NULL would be a
 * bug that this target reports by aborting).
 */
#include <stdint.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>

#include "codec/stats_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        gsl_set_error_handler_off();
        once = 1;
    }
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (!in)
        return 0;
    json_t *out = NULL;
    sy_err_t err;
    int rc = sy_stats_json_eval(in, &out, &err);
    if (rc == 0 && !out)
        abort();
    if (rc < 0 && rc != -ENOMEM && err.code != rc)
        abort(); /* the error must describe the code returned */
    json_decref(out);
    json_decref(in);
    return 0;
}
