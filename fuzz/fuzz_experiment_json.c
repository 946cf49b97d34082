/* fuzz_experiment_json.c - libFuzzer target: JSON text -> codec/experiment_json.h -> an
 * experiment's definition, and back.
 *
 * Whatever the bytes, reading must not crash, leak or trip a sanitizer; a refusal must say
 * which code it returned and name what it refuses unless out of memory; a definition it
 * accepts must write a stored form that reads back to the same stored form (what a
 * restart loads is what was accepted), and any object must merge into it as a patch
 * without harm.
 */
#include <stdint.h>
#include <stdlib.h>

#include "codec/experiment_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (!in)
        return 0;
    sy_exp_def_t *d = malloc(sizeof(*d)), *again = malloc(sizeof(*again));
    if (!d || !again)
        abort();
    sy_err_t err = {0};
    int rc = sy_exp_def_read(in, d, &err);
    if (rc < 0 && (err.code != rc || (rc != -ENOMEM && !err.msg[0])))
        abort(); /* the error must describe the code returned */
    if (rc == 0) {
        json_t *stored = sy_exp_def_json(d);
        if (!stored || sy_exp_def_read(stored, again, &err) < 0)
            abort();
        json_t *twice = sy_exp_def_json(again);
        if (!twice || !json_equal(stored, twice))
            abort();
        sy_exp_def_clear(again);
        json_decref(twice);
        json_decref(stored);
        /* the input as a patch of what it defined */
        err = (sy_err_t){0};
        rc = sy_exp_def_patch(d, in, again, &err);
        if (rc < 0 && err.code != rc)
            abort();
        if (rc == 0)
            sy_exp_def_clear(again);
        sy_exp_def_clear(d);
    }
    free(again);
    free(d);
    json_decref(in);
    return 0;
}
