/* hello_flags.c - evaluate flags from a flagd document with libswitchyard.
 *
 * Build against the installed library:
 *     cc hello_flags.c $(pkg-config --cflags --libs switchyard) -o hello_flags
 * Run:
 *     ./hello_flags flags.json user-42 DE 2.1.0
 */
#include <stdio.h>

#include <switchyard/switchyard.h>

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "flags.json";
    sy_load_report_t report;
    sy_flags_t *flags;
    if (sy_flags_load_file(&flags, file, 0, &report) < 0) {
        fprintf(stderr, "%s: cannot load (%zu errors)\n", file, report.errors);
        for (size_t i = 0; i < report.count; i++)
            fprintf(stderr, "  %s: %s\n", report.issues[i].path, report.issues[i].message);
        return 1;
    }

    sy_context_t *ctx;
    if (sy_context_new(&ctx) < 0)
        return 1;
    sy_context_set_targeting_key(ctx, argc > 2 ? argv[2] : "user-42");
    sy_context_set_string(ctx, "country", argc > 3 ? argv[3] : "DE");
    sy_context_set_string(ctx, "appVersion", argc > 4 ? argv[4] : "2.1.0");

    sy_eval_details_t d;
    bool checkout = sy_eval_bool(flags, "new-checkout", ctx, false, &d);
    printf("new-checkout = %s (%s, variant %s)\n", checkout ? "true" : "false",
           sy_eval_reason_name(d.reason), d.variant ? d.variant : "-");

    const char *color = sy_eval_string(flags, "banner-color", ctx, "#000", &d);
    printf("banner-color = %s (%s)", color, sy_eval_reason_name(d.reason));
    for (size_t i = 0; i < sy_details_metadata_count(&d); i++) {
        sy_meta_value_t v;
        const char *key = sy_details_metadata_entry(&d, i, &v);
        if (v.type == SY_META_STRING)
            printf(" %s=%s", key, v.string);
    }
    printf("\n");

    long long items = (long long)sy_eval_int(flags, "max-items", ctx, 5, &d);
    printf("max-items = %lld (%s)\n", items, sy_eval_reason_name(d.reason));

    sy_eval_string(flags, "no-such-flag", ctx, "fallback", &d);
    printf("no-such-flag -> %s\n", sy_eval_error_name(d.error));

    sy_context_free(ctx);
    sy_flags_free(flags);
    return 0;
}
