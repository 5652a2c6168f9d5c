/* claim_merge.c - no-override metadata merge, env injection and the
 * volumeClaimTemplates merge of a claim's cold-created Sandbox
 * (spec/api.md §2.4 c, d, e). */
#include "reconciler/claim_policy.h"

#include "core/err.h"
#include "core/jx.h"
#include "reconciler/meta.h"

#include <stdio.h>
#include <string.h>

int
rec_claim_merge_no_override(json_object *dst, json_object *src, const char *section, char *err,
                            size_t errlen)
{
    if (src == NULL || !json_object_is_type(src, json_type_object)) return 0;
    json_object_object_foreach(src, k, v)
    {
        if (!json_object_is_type(v, json_type_string)) continue;
        const char *have = rec_meta_map_str(dst, k);
        const char *want = json_object_get_string(v);
        if (have != NULL) {
            if (strcmp(have, want) != 0) {
                snprintf(err, errlen,
                         "metadata override conflict: %s \"%s\" is set to \"%s\" by the "
                         "template, the claim asks for \"%s\"",
                         section, k, have, want);
                return ERR_INVALID;
            }
            continue;
        }
        if (json_object_object_add(dst, k, json_object_new_string(want)) != 0) return ERR_NOMEM;
    }
    return 0;
}

/* ---- env ------------------------------------------------------------------- */

static json_object *
find_named(json_object *arr, const char *name, size_t *idx)
{
    size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *en = jx_str(e, "name");
        if (en && strcmp(en, name) == 0) {
            if (idx) *idx = i;
            return e;
        }
    }
    return NULL;
}

int
rec_claim_inject_env(json_object *pod_spec, json_object *env, const char *policy, char *err,
                     size_t errlen)
{
    size_t n = json_object_is_type(env, json_type_array) ? json_object_array_length(env) : 0;
    if (n == 0) return 0;
    int allowed = policy && strcmp(policy, "Allowed") == 0;
    int overrides = policy && strcmp(policy, "Overrides") == 0;
    if (!allowed && !overrides) {
        snprintf(err, errlen,
                 "environment variable injection rejected: environment variable injection is "
                 "not allowed by the template policy");
        return ERR_FORBIDDEN;
    }
    json_object *containers = jx_arr(pod_spec, "containers");
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(env, i);
        const char *name = jx_str_or(e, "name", "");
        const char *value = jx_str_or(e, "value", "");
        const char *cname = jx_str(e, "containerName");
        json_object *c = NULL;
        if (cname && *cname)
            c = find_named(containers, cname, NULL);
        else if (containers && json_object_array_length(containers) > 0)
            c = json_object_array_get_idx(containers, 0); /* first regular container */
        if (c == NULL || !json_object_is_type(c, json_type_object)) {
            snprintf(err, errlen,
                     "target container \"%s\" not found in template for environment variable "
                     "\"%s\"",
                     cname ? cname : "", name);
            return ERR_INVALID;
        }
        const char *target = jx_str_or(c, "name", "");
        json_object *envfrom = jx_arr(c, "envFrom");
        if (allowed && envfrom && json_object_array_length(envfrom) > 0) {
            snprintf(err, errlen,
                     "environment variable injection rejected: container \"%s\" uses EnvFrom "
                     "sources; injected variables could silently override them, which the "
                     "Allowed policy forbids",
                     target);
            return ERR_FORBIDDEN;
        }
        json_object *cenv = jx_arr(c, "env");
        if (cenv == NULL) {
            cenv = json_object_new_array();
            if (cenv == NULL || json_object_object_add(c, "env", cenv) != 0) return ERR_NOMEM;
        }
        size_t at;
        json_object *have = find_named(cenv, name, &at);
        if (have && allowed) {
            snprintf(err, errlen,
                     "environment variable override is not allowed by the template policy for "
                     "variable \"%s\"",
                     name);
            return ERR_INVALID;
        }
        json_object *nv = json_object_new_object();
        if (nv == NULL) return ERR_NOMEM;
        json_object_object_add(nv, "name", json_object_new_string(name));
        json_object_object_add(nv, "value", json_object_new_string(value));
        if (have) /* Overrides: the value replaces, valueFrom is dropped */
            json_object_array_put_idx(cenv, at, nv);
        else
            json_object_array_add(cenv, nv);
    }
    return 0;
}

/* ---- volumeClaimTemplates --------------------------------------------------- */

static int
vcts_validate(json_object *v, const char *whose, char *err, size_t errlen)
{
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = jx_str(json_object_array_get_idx(v, i), "metadata.name");
        if (name == NULL || *name == '\0') {
            snprintf(err, errlen, "%s volume claim template at index %zu has an empty name", whose,
                     i);
            return ERR_INVALID;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(jx_str_or(json_object_array_get_idx(v, j), "metadata.name", ""), name) ==
                0) {
                snprintf(err, errlen, "%s volume claim templates contain duplicate name \"%s\"",
                         whose, name);
                return ERR_INVALID;
            }
    }
    return 0;
}

static size_t
alen(json_object *a)
{
    return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static int
append_copy(json_object *dst, json_object *v)
{
    json_object *c = NULL;
    if (json_object_deep_copy(v, &c, NULL) != 0) return ERR_NOMEM;
    return json_object_array_add(dst, c) == 0 ? 0 : ERR_NOMEM;
}

static json_object *
find_vct(json_object *arr, const char *name)
{
    for (size_t i = 0; i < alen(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (strcmp(jx_str_or(e, "metadata.name", ""), name) == 0) return e;
    }
    return NULL;
}

int
rec_claim_merge_vcts(json_object *tmpl_vcts, json_object *claim_vcts, const char *policy,
                     json_object **out, char *err, size_t errlen)
{
    int rc;
    *out = NULL;
    if ((rc = vcts_validate(tmpl_vcts, "template", err, errlen)) != 0) return rc;
    if (alen(claim_vcts) == 0) {
        if (alen(tmpl_vcts) == 0) return 0;
        json_object *c = NULL;
        if (json_object_deep_copy(tmpl_vcts, &c, NULL) != 0) return ERR_NOMEM;
        *out = c;
        return 0;
    }
    if ((rc = vcts_validate(claim_vcts, "claim", err, errlen)) != 0) return rc;
    int allowed = policy && strcmp(policy, "Allowed") == 0;
    int overrides = policy && strcmp(policy, "Overrides") == 0;
    if (!allowed && !overrides) {
        snprintf(err, errlen, "volume claim templates are disallowed by the template");
        return ERR_INVALID;
    }
    json_object *res = json_object_new_array();
    if (res == NULL) return ERR_NOMEM;
    for (size_t i = 0; i < alen(tmpl_vcts); i++) {
        json_object *t = json_object_array_get_idx(tmpl_vcts, i);
        json_object *mine = find_vct(claim_vcts, jx_str_or(t, "metadata.name", ""));
        if (mine && allowed) {
            snprintf(err, errlen,
                     "overriding volume claim templates is forbidden by the template: cannot "
                     "override template volume \"%s\"",
                     jx_str_or(t, "metadata.name", ""));
            json_object_put(res);
            return ERR_INVALID;
        }
        if (append_copy(res, mine ? mine : t) != 0) goto oom;
    }
    for (size_t i = 0; i < alen(claim_vcts); i++) {
        json_object *c = json_object_array_get_idx(claim_vcts, i);
        if (find_vct(tmpl_vcts, jx_str_or(c, "metadata.name", "")) == NULL &&
            append_copy(res, c) != 0)
            goto oom;
    }
    *out = res;
    return 0;
oom:
    json_object_put(res);
    return ERR_NOMEM;
}
