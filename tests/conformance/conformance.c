/* conformance.c - checks src/core against the reference vectors in ../shared/conformance.
 *
 *   sy-conformance SUITE [FILE|DIR ...]        SUITE: stats | flagd | rules
 *
 * With no path it reads every *.json of the suite's shared folder
 * (SY_SHARED_DIR/conformance/stats, .../flagd/oracle, .../rules); a directory means its
 * *.json files, in name order. Each suite judges its files by the rules of that folder's
 * README (suite_stats.c, suite_flagd.c, suite_rules.c) and prints each failing case with
 * expected and got and a line per file. Cases of a rule not built yet are counted as not
 * run, by kind. Last comes "N passed, N failed"; the exit status is 0 only when every
 * case run passed and there was at least one.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_errno.h>

#include "runner.h"

#ifndef SY_SHARED_DIR
#error "SY_SHARED_DIR must name the shared/ folder (the build sets it)"
#endif

#define MAX_FILES 4096

struct suite {
    const char *name;
    const char *default_dirs[2]; /* below SY_SHARED_DIR; the second may be NULL */
    void (*run_cases)(const char *path, const json_t *doc, const json_t *cases,
                      struct sy_conf_tally *t);
};

static const struct suite suites[] = {
    {"stats", {"/conformance/stats", "/conformance/srm_sequential"}, sy_conf_stats_cases},
    {"flagd", {"/conformance/flagd/oracle", NULL}, sy_conf_flagd_cases},
    {"rules", {"/conformance/rules", NULL}, sy_conf_rules_cases},
};

/* Loads one vector file and has the suite judge its cases. A file that is not JSON or has
 * no case counts as one failure. NUL is allowed in strings: hash.json hashes "A\u0000B". */
static void run_file(const struct suite *suite, const char *path, struct sy_conf_tally *total)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    const json_t *cases = json_object_get(doc, "cases");
    if (!json_is_array(cases) || json_array_size(cases) == 0) {
        printf("FAIL %s: %s\n", path,
               doc ? "no \"cases\" array with at least one case" : jerr.text);
        total->failed++;
        json_decref(doc);
        return;
    }
    struct sy_conf_tally t = {0};
    suite->run_cases(path, doc, cases, &t);
    printf("%s: %u passed, %u failed\n", path, t.passed, t.failed);
    total->passed += t.passed;
    total->failed += t.failed;
    json_decref(doc);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_json(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static void run_path(const struct suite *suite, const char *path, struct sy_conf_tally *total)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("FAIL %s: cannot read it\n", path);
        total->failed++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(suite, path, total);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        printf("FAIL %s: cannot open the folder\n", path);
        total->failed++;
        return;
    }
    char *names[MAX_FILES];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!is_json(de->d_name))
            continue;
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        if (n == MAX_FILES || !(names[n] = malloc(len))) {
            printf("FAIL %s: %s\n", path,
                   n == MAX_FILES ? "more than 4096 .json files" : "out of memory");
            total->failed++;
            break;
        }
        snprintf(names[n], len, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(dir);
    if (n == 0) {
        printf("FAIL %s: no .json files in the folder\n", path);
        total->failed++;
    }
    qsort(names, n, sizeof(names[0]), by_name);
    for (size_t i = 0; i < n; i++) {
        run_file(suite, names[i], total);
        free(names[i]);
    }
}

static int usage(FILE *to)
{
    fprintf(to, "usage: sy-conformance SUITE [FILE|DIR ...]\n"
                "  Checks src/core against reference vectors: the *.json files given, or by\n"
                "  default the shared ones. Suites:\n");
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        for (size_t d = 0; d < 2 && suites[i].default_dirs[d]; d++)
            fprintf(to, "    %-6s %s%s\n", d ? "" : suites[i].name, SY_SHARED_DIR,
                    suites[i].default_dirs[d]);
    return to == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout);
    const struct suite *suite = NULL;
    for (size_t i = 0; argc >= 2 && i < sizeof(suites) / sizeof(suites[0]); i++)
        if (strcmp(argv[1], suites[i].name) == 0)
            suite = &suites[i];
    if (!suite)
        return usage(stderr);
    gsl_set_error_handler_off();

    struct sy_conf_tally total = {0};
    for (size_t d = 0; argc == 2 && d < 2 && suite->default_dirs[d]; d++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s%s", SY_SHARED_DIR, suite->default_dirs[d]);
        run_path(suite, dir, &total);
    }
    for (int i = 2; i < argc; i++)
        run_path(suite, argv[i], &total);
    printf("%u passed, %u failed\n", total.passed, total.failed);
    return total.failed == 0 && total.passed > 0 ? 0 : 1;
}
