/* rule.h - targeting rules compiled once and shared, and the evaluators they name.
 *
 * A rule is a flag's `targeting` compiled (core/logic.h) against the evaluators of its set:
 * a piece (pool.h) that every flag with the same rule over the same evaluators and the same
 * bucketing rule shares. Through a pool, "the same" is cheap to tell: the rule as written
 * is an interned value, and so is each evaluator, so a rule is found again by those
 * pointers. A rule remembers every evaluator it names, directly or through another (the
 * missing ones too, by name), which is what says whether it still holds when the set's
 * evaluators change: only a rule naming a changed evaluator must be compiled again.
 *
 * A rule that does not compile is a rule too: it keeps why (and where, below the
 * targeting), so that every flag holding it answers PARSE_ERROR and reports it.
 *
 * Memory: each rule is one block of exactly the size it needs (compiled twice: once to
 * learn that size, once into it). Thread-safety: as pool.h; a rule is immutable, and may
 * be evaluated by any number of threads and released from any.
 */
#ifndef SY_CORE_RULE_H
#define SY_CORE_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/logic.h"
#include "core/pool.h"
#include "core/value.h"

/* The `$evaluators` of a set: a piece that sets share until it changes. Each entry's
 * value is interned, so that an unchanged entry is the same piece in the next document
 * and the rules compiled over it stay valid. */
typedef struct sy_evaluators {
    sy_piece_t piece;
    uint32_t n;
    struct sy_evaluator {
        const char *name; /* in this block, NUL-terminated */
        uint32_t len;
        const sy_ival_t *val; /* a reference */
    } items[];
} sy_evaluators_t;

/* A new evaluators piece from the object `ev` (NULL or not an object: none), each value
 * interned in `pool` (may be NULL). Returns a new reference, or NULL when out of memory. */
sy_evaluators_t *sy_evaluators_new(sy_pool_t *pool, const sy_value_t *ev);
/* The value of evaluator `name` (`len` bytes), or NULL. Borrowed from `ev` (may be NULL). */
const sy_ival_t *sy_evaluators_get(const sy_evaluators_t *ev, const char *name, size_t len);

/* A compiled rule. Read-only: every pointer is into the rule's block or a reference it
 * holds, valid while the rule is. */
typedef struct sy_rule {
    sy_piece_t piece;
    const sy_ival_t *expr; /* the rule as written (the logic borrows it) */
    sy_fractional_t fractional;
    uint32_t n_deps;
    const struct sy_rule_dep {
        const char *name; /* NUL-terminated */
        uint32_t len;
        const sy_ival_t *val; /* NULL: the set had no such evaluator */
    } * deps;                 /* every evaluator it names, transitively, once each */
    const sy_logic_t *logic;  /* NULL: it does not compile */
    int rc;                   /* why not: -EINVAL (a schema warning) or -ENOENT (a note:
                                 a `$ref` to a missing evaluator) */
    const char *err_field;    /* where, as a JSON path below the targeting */
    const char *err_msg;      /* why */
    bool is_split;            /* `split` holds a static `fractional` valid under v2 */
    sy_logic_split_t split;   /* borrows the logic */
} sy_rule_t;

/* The rule `t` compiled over `ev` (may be NULL) with bucketing rule `fractional`: the
 * pool's when it has an equal one, else compiled (and added to `pool`, which may be
 * NULL). A rule that does not compile is still returned (rc < 0 in it). Returns 0 with
 * *out (a new reference), or -ENOMEM. */
int sy_rule_get(sy_pool_t *pool, const sy_evaluators_t *ev, sy_fractional_t fractional,
                const sy_value_t *t, const sy_rule_t **out);

/* Takes one more reference; returns `r`. */
const sy_rule_t *sy_rule_ref(const sy_rule_t *r);
/* Drops one reference (any thread). NULL is a no-op. */
void sy_rule_release(const sy_rule_t *r);

#endif
