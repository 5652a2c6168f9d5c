/* sim_schema.h - CustomResourceDefinition structural schemas, applied the way
 * kube-apiserver applies them on every write of a custom resource:
 * prune unknown fields -> apply defaults -> validate.
 *
 * A sim_schema is compiled once per CRD version (regexes compiled, enums,
 * properties and defaults indexed) and is then immutable: any number of
 * threads may call sim_schema_apply() on it concurrently. Nothing here does
 * I/O or keeps global state.
 *
 * The validation-cause helpers (sim_causes_*) are shared with the server's
 * own validation of core objects: they produce the exact field.Error texts
 * and the aggregated 422 message of kube-apiserver, e.g.
 *   Sandbox.agents.x-k8s.io "x" is invalid: spec.operatingMode: Unsupported value: "Bogus":
 * supported values: "Running", "Suspended" SandboxWarmPool.extensions.agents.x-k8s.io "p" is
 * invalid: [spec.replicas: Invalid value: -1: ..., .spec.replicas: ...]
 *
 * Returns 0 or a negative ERR_* code (core/err.h).
 */
#ifndef ASC_BENCH_SIM_SCHEMA_H
#define ASC_BENCH_SIM_SCHEMA_H

#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>

/* ---- validation causes (metav1.StatusCause) ------------------------------ */

/* Reasons, as the wire spells them. */
#define SIM_CAUSE_INVALID       "FieldValueInvalid"
#define SIM_CAUSE_REQUIRED      "FieldValueRequired"
#define SIM_CAUSE_NOT_SUPPORTED "FieldValueNotSupported"
#define SIM_CAUSE_TYPE_INVALID  "FieldValueTypeInvalid"
#define SIM_CAUSE_DUPLICATE     "FieldValueDuplicate"
#define SIM_CAUSE_FORBIDDEN     "FieldValueForbidden"
#define SIM_CAUSE_TOO_LONG      "FieldValueTooLong"
#define SIM_CAUSE_TOO_MANY      "FieldValueTooMany"

typedef struct {
    const char *reason; /* one of SIM_CAUSE_* (static) */
    char *message;      /* e.g. "Required value", "Invalid value: -1: ..." (owned) */
    char *field;        /* e.g. "spec.containers[0].name" (owned) */
} sim_cause;

/* A growable list the caller embeds: sim_causes_init / sim_causes_fini. */
typedef struct {
    sim_cause *v;
    size_t n, cap;
    int nomem; /* set when an add failed for lack of memory */
} sim_causes;

void sim_causes_init(sim_causes *c);
void sim_causes_fini(sim_causes *c);

/* Append a cause whose message is printf(fmt, ...). Returns 0 or ERR_NOMEM
 * (and sets c->nomem). */
int sim_causes_add(sim_causes *c, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The field.Error constructors of kube-apiserver, with their exact texts.
 * value is the offending JSON value (borrowed; NULL = JSON null), printed as
 * the Go server prints it: strings quoted, numbers and booleans bare.
 *   invalid:       "Invalid value: <value>: <detail>"     (detail may be NULL)
 *   required:      "Required value" [": <detail>"]
 *   not_supported: "Unsupported value: <value>: supported values: "a", "b""
 *   forbidden:     "Forbidden: <detail>"
 *   duplicate:     "Duplicate value: <value>"
 *   too_long:      "Too long: may not be more than <max> bytes"
 *   too_many:      "Too many: <n>: must have at most <max> items"
 *   type_invalid:  "Invalid value: <value>: <detail>" with reason TypeInvalid */
int sim_causes_invalid(sim_causes *c, const char *field, json_object *value, const char *detail);
int sim_causes_required(sim_causes *c, const char *field, const char *detail);
int sim_causes_not_supported(sim_causes *c, const char *field, json_object *value,
                             const char *const *supported, size_t nsupported);
int sim_causes_forbidden(sim_causes *c, const char *field, const char *detail);
int sim_causes_duplicate(sim_causes *c, const char *field, json_object *value);
int sim_causes_too_long(sim_causes *c, const char *field, long long max);
int sim_causes_too_many(sim_causes *c, const char *field, long long n, long long max);
int sim_causes_type_invalid(sim_causes *c, const char *field, json_object *value,
                            const char *detail);

/* Go-style rendering of a bad value into buf ("\"x\"", "-1", "true",
 * "null", ...). Returns buf. */
const char *sim_value_text(json_object *value, char *buf, size_t len);

/* The aggregated message: `<Kind>[.<group>] "<name>" is invalid: <body>`
 * where body is "<field>: <message>" for one cause and "[c1, c2, ...]" for
 * several (a cause with an empty field contributes only its message). group
 * NULL or "" for core kinds. Returns a malloc'd string (caller frees) or NULL
 * on allocation failure. */
char *sim_causes_message(const sim_causes *c, const char *kind, const char *group,
                         const char *name);

/* The whole 422 Status object: {kind: Status, apiVersion: v1, metadata: {},
 * status: Failure, message, reason: Invalid, details: {name, group (omitted
 * for core), kind, causes: [...]}, code: 422}. New object (caller puts) or
 * NULL on allocation failure. */
json_object *sim_causes_status(const sim_causes *c, const char *kind, const char *group,
                               const char *name);

/* ---- schemas ------------------------------------------------------------ */

typedef struct sim_schema sim_schema;

/* Compile a CRD version's `schema.openAPIV3Schema` (a json-c tree, e.g. from
 * core/yaml2json; borrowed, not kept: defaults and enums are copied).
 * Supported: type, properties, required, items, additionalProperties (bool
 * or schema), enum, minimum/maximum (+exclusive), minLength/maxLength,
 * minItems/maxItems, pattern (Go RE2 syntax translated to POSIX ERE, compiled
 * here once), format (date-time checked; int32, int64 and others accepted unchecked),
 * default, nullable, anyOf/allOf/oneOf (only for their value checks; an
 * anyOf of integer|string with x-kubernetes-int-or-string accepts both),
 * x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
 * x-kubernetes-int-or-string, x-kubernetes-list-type (set/map uniqueness),
 * x-kubernetes-list-map-keys, x-kubernetes-validations (only the upstream
 * volumeClaimTemplates immutability rule is enforced, natively; the others
 * are recorded, see sim_schema_unenforced_rules).
 * Returns 0 with *out (free with sim_schema_free); ERR_INVALID with a
 * message in err for a malformed schema (a schema node that is not an
 * object, nesting deeper than 128 levels); ERR_NOMEM. A pattern POSIX
 * cannot express (\b, \pL, flags) is not an error: it is left unchecked
 * and listed by sim_schema_unenforced_rules. Compiling upstream's Sandbox
 * CRD (400 KB of YAML) takes a few milliseconds. */
int sim_schema_compile(json_object *openapi_v3_schema, sim_schema **out, char *err, size_t errlen);
void sim_schema_free(sim_schema *s);

/* What this schema does NOT enforce, for the server to log at start:
 * x-kubernetes-validations rules as "<path>: <rule>" and untranslatable
 * patterns as "<path>: pattern <p> (<why>)" (path like ".spec.a"). Strings
 * are borrowed and live as long as s. Returns their count; *rules may be
 * NULL. */
size_t sim_schema_unenforced_rules(const sim_schema *s, const char *const **rules);

/* What one apply found. Embed, sim_schema_report_init / _fini. */
typedef struct {
    char **pruned; /* unknown fields dropped: "spec.bogusField", "spec.a[0].b" (owned) */
    size_t npruned;
    size_t cappruned;
    sim_causes causes; /* validation failures: per object its required
                        * fields first, then its members in key order */
} sim_schema_report;

void sim_schema_report_init(sim_schema_report *r);
void sim_schema_report_fini(sim_schema_report *r);

enum {
    SIM_SCHEMA_PRUNE = 1 << 0,    /* drop unknown fields (recorded in report->pruned) */
    SIM_SCHEMA_DEFAULT = 1 << 1,  /* apply defaults (also inside arrays / maps) */
    SIM_SCHEMA_VALIDATE = 1 << 2, /* collect causes */
    SIM_SCHEMA_ALL = 7,
    /* old is a fixed point of s (it came out of sim_schema_apply with no
     * causes; only ObjectMeta changed since): a subtree of obj that is old's
     * very node at the same path (sim_merge_patch_shared's sharing) is
     * skipped, as applying s to it would change and report nothing. */
    SIM_SCHEMA_OLD_CLEAN = 1 << 3,
};

/* Apply s to a whole custom resource obj, in place: pruning, then defaults
 * (a null in a non-nullable field is dropped first, so its default comes
 * back: golden crd-defaulting), then validation. At the root apiVersion and
 * kind are left alone and metadata is only pruned to ObjectMeta's fields;
 * embedded resources (x-kubernetes-embedded-resource) likewise.
 * old is the stored object on update (NULL on create): transition rules
 * (volumeClaimTemplates immutability) need it.
 * Returns 0 when valid, ERR_UNPROCESSABLE when report->causes is non-empty
 * (answer sim_causes_status(...)), ERR_INVALID for a NULL argument,
 * ERR_NOMEM. Thread-safe on a shared s (nothing in s changes). With fieldValidation=Strict
 * the server refuses the write (400) when report->npruned > 0, using
 * sim_schema_strict_message; otherwise it sends one
 * `Warning: 299 - "unknown field \"<path>\""` header per pruned path. */
int sim_schema_apply(const sim_schema *s, json_object *obj, json_object *old, unsigned flags,
                     sim_schema_report *report);

/* `<Kind> in version "<version>" cannot be handled as a <Kind>: strict
 * decoding error: unknown field "a", unknown field "b"` (malloc'd, caller
 * frees; NULL on allocation failure). */
char *sim_schema_strict_message(const char *kind, const char *version,
                                const sim_schema_report *report);

#endif
