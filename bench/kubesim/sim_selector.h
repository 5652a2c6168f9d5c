/* sim_selector.h - label and field selectors as kube-apiserver parses them.
 *
 * Pure functions, no globals; a parsed selector is immutable and may be
 * shared by any number of threads for matching. Parse errors are written to
 * the caller's err buffer with the real server's text (the server answers
 * 400 BadRequest with it as the Status message), e.g.
 *   labelSelector "env in (prod"  -> "unable to parse requirement: found '', expected: ',' or ')'"
 *   labelSelector "a b"           -> "unable to parse requirement: found 'b', expected: in, notin,
 * =, ==, !=, gt, lt" fieldSelector "spec.bogus=1"  -> "field label not supported: spec.bogus"
 *
 * Label selector grammar (comma = AND; whitespace around tokens ignored):
 *   key=v  key==v  key!=v  key in (v1,v2)  key notin (v1,v2)  key  !key
 *   key gt N  key lt N
 * `!=` and `notin` match objects that lack the label (golden #24).
 * Requirements are kept sorted by key (as the real parser does) so the
 * server can pick an index on (key, value) for EQ / IN requirements.
 */
#ifndef ASC_BENCH_SIM_SELECTOR_H
#define ASC_BENCH_SIM_SELECTOR_H

#include <json-c/json.h>
#include <stddef.h>

typedef enum {
    SIM_SEL_EQ,        /* = or ==: label present with that value */
    SIM_SEL_NEQ,       /* != : label absent or another value */
    SIM_SEL_IN,        /* in (...) */
    SIM_SEL_NOTIN,     /* notin (...): label absent or not listed */
    SIM_SEL_EXISTS,    /* key */
    SIM_SEL_NOTEXISTS, /* !key */
    SIM_SEL_GT,        /* key gt N (integer compare; absent never matches) */
    SIM_SEL_LT,        /* key lt N */
} sim_sel_op;

/* One requirement. Strings are owned by the selector and live as long as it.
 * values: 1 for EQ/NEQ/GT/LT, >= 1 for IN/NOTIN (sorted, unique), 0 for
 * EXISTS/NOTEXISTS. */
typedef struct {
    const char *key;
    sim_sel_op op;
    size_t nvalues;
    const char *const *values;
} sim_sel_req;

typedef struct sim_selector sim_selector; /* label selector (opaque) */
typedef struct sim_fsel sim_fsel;         /* field selector (opaque) */

/* ---- label selectors ---------------------------------------------------- */

/* Parse text (NULL or "" = everything). Returns 0 with *out (caller frees
 * with sim_selector_free), ERR_BADREQUEST with the server's message in err,
 * or ERR_NOMEM. Keys must be qualified names ([prefix/]name) and values
 * valid label values, as the real server checks. */
int sim_selector_parse(const char *text, sim_selector **out, char *err, size_t errlen);
void sim_selector_free(sim_selector *sel);

/* Requirements, sorted by key; 0 for the empty selector. Borrowed. */
size_t sim_selector_count(const sim_selector *sel);
const sim_sel_req *sim_selector_req(const sim_selector *sel, size_t i);
int sim_selector_empty(const sim_selector *sel); /* 1 if it matches everything */

/* labels: the metadata.labels object (NULL or a non-object = no labels).
 * Returns 1 when every requirement holds, else 0. */
int sim_selector_matches(const sim_selector *sel, json_object *labels);
/* Same against obj's metadata.labels. */
int sim_selector_matches_obj(const sim_selector *sel, json_object *obj);

/* Canonical text (requirements sorted, "in (a,b)"), for logs and for
 * keying caches. Borrowed, lives as long as sel. */
const char *sim_selector_string(const sim_selector *sel);

/* ---- field selectors ---------------------------------------------------- */

/* Parse a field selector "f=v,f2!=v2" (= and == are the same; values may
 * escape ',', '=' and '\' with '\'). allowed is a NULL-terminated list of
 * dotted field paths this resource supports (always metadata.name and
 * metadata.namespace; pods add spec.nodeName, status.phase, ...); a field not
 * in it gives ERR_BADREQUEST "field label not supported: <field>". A
 * malformed term gives ERR_BADREQUEST "invalid selector: '<text>'; can't
 * understand '<term>'". NULL or "" = everything. */
int sim_fsel_parse(const char *text, const char *const *allowed, sim_fsel **out, char *err,
                   size_t errlen);
void sim_fsel_free(sim_fsel *fs);

/* Requirements in input order; op is SIM_SEL_EQ or SIM_SEL_NEQ, nvalues 1,
 * key the dotted field path. Borrowed. */
size_t sim_fsel_count(const sim_fsel *fs);
const sim_sel_req *sim_fsel_req(const sim_fsel *fs, size_t i);
int sim_fsel_empty(const sim_fsel *fs);

/* Match against an object: the field's value is read by dotted path; a
 * missing field or null reads as "" (so spec.nodeName= selects unscheduled
 * pods, as on the real server); numbers and booleans compare by their JSON
 * text. Returns 1 or 0. */
int sim_fsel_matches(const sim_fsel *fs, json_object *obj);

#endif
