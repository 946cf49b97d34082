/* layer_keys.c - the library's answers for many targeting keys, for layers_api.sh to
 * compare with OFREP's: loads a flagd document with sy_flags_load and evaluates every flag
 * named for the keys PREFIX0 .. PREFIX(N-1), one line each:
 * "KEY<TAB>FLAG<TAB>VARIANT<TAB>REASON<TAB>VALUE" (VARIANT "-" for none).
 *
 *   layer_keys DOC.json PREFIX N FLAG...
 */
#include <stdio.h>
#include <stdlib.h>

#include <switchyard/switchyard.h>

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: layer_keys DOC PREFIX N FLAG...\n");
        return 2;
    }
    sy_flags_t *flags = NULL;
    sy_load_report_t rep;
    if (sy_flags_load_file(&flags, argv[1], 0, &rep) < 0) {
        fprintf(stderr, "layer_keys: %s does not load (%s)\n", argv[1],
                rep.count ? rep.issues[0].message : "");
        return 1;
    }
    sy_context_t *ctx = NULL;
    if (sy_context_new(&ctx) < 0)
        return 1;
    long n = strtol(argv[3], NULL, 10);
    char key[256];
    for (long k = 0; k < n; k++) {
        snprintf(key, sizeof(key), "%s%ld", argv[2], k);
        sy_context_clear(ctx);
        if (sy_context_set_targeting_key(ctx, key) < 0)
            return 1;
        for (int f = 4; f < argc; f++) {
            sy_eval_details_t d;
            const char *v = sy_eval_string(flags, argv[f], ctx, "(none)", &d);
            printf("%s\t%s\t%s\t%s\t%s\n", key, argv[f], d.variant ? d.variant : "-",
                   sy_eval_reason_name(d.reason), v);
        }
    }
    sy_context_free(ctx);
    sy_flags_free(flags);
    return 0;
}
