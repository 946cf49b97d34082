/* test_log.c - the structured log line (http/server.h sy_log): in JSON, a '#' key's number
 * is a JSON number, an '@' key's object nested, a '?' key's boolean a boolean, a NULL value
 * null, and anything else (a '#' value that is no number too) a string; in text, each is
 * k=v, quoted when it must be, "" for none. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "http/server.h"

/* The line sy_log writes for the pairs below, in `fmt`. */
static char *line_of(sy_log_format_t fmt)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_true(dup2(fileno(f), 2) >= 0);
    sy_log(fmt, "retention", "#events", "121", "#ms", "2.5", "#bad", "12x", "@detail",
           "{\"a\":[1,2]}", "?more", "false", "winner", NULL, "reason", "a b=\"c\"", NULL);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    static char buf[1024];
    rewind(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void json_lines_type_their_values(void **state)
{
    (void)state;
    json_error_t je;
    json_t *o = json_loads(line_of(SY_LOG_JSON), 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "event")), "retention");
    assert_true(json_is_integer(json_object_get(o, "events")));
    assert_int_equal(json_integer_value(json_object_get(o, "events")), 121);
    assert_true(json_is_real(json_object_get(o, "ms")));
    assert_string_equal(json_string_value(json_object_get(o, "bad")), "12x");
    assert_true(json_is_array(json_object_get(json_object_get(o, "detail"), "a")));
    assert_true(json_is_false(json_object_get(o, "more")));
    assert_true(json_is_null(json_object_get(o, "winner")));
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "a b=\"c\"");
    json_decref(o);
}

static void text_lines_quote_what_they_must(void **state)
{
    (void)state;
    const char *l = line_of(SY_LOG_TEXT);
    assert_non_null(strstr(l, " event=retention events=121 ms=2.5 bad=12x"));
    assert_non_null(strstr(l, " more=false winner=\"\" reason=\"a b=\\\"c\\\"\"\n"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_lines_type_their_values),
        cmocka_unit_test(text_lines_quote_what_they_must),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
