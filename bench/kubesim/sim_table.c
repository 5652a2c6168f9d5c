/* sim_table.c - server-side printing (Accept: application/json;as=Table;g=meta.k8s.io;v=v1),
 * the way `kubectl get` asks for it: custom resources get their CRD's
 * additionalPrinterColumns (JSONPath: .a.b, [n], [?(@.k=='v')]; date columns
 * as an age), built-in kinds a Name/Age table (pods: Ready, Status, Restarts). */
#include "bench/kubesim/sim_state.h"

#include "core/jx.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sim_table_wanted(const char *accept)
{
    return accept && strstr(accept, "as=Table") != NULL;
}

/* A small JSONPath: a dotted path with [n] and [?(@.field=='value')] steps.
 * Returns a borrowed value or NULL. */
static json_object *
jsonpath(json_object *cur, const char *p)
{
    while (cur && *p) {
        if (*p == '.') {
            p++;
            char key[256];
            size_t k = 0;
            while (*p && *p != '.' && *p != '[' && k + 1 < sizeof key)
                key[k++] = *p++;
            key[k] = '\0';
            if (!k) continue;
            json_object *next = NULL;
            if (!json_object_is_type(cur, json_type_object) ||
                !json_object_object_get_ex(cur, key, &next))
                return NULL;
            cur = next;
        } else if (*p == '[') {
            const char *end = strchr(p, ']');
            if (!end || !json_object_is_type(cur, json_type_array)) return NULL;
            if (p[1] == '?') {
                /* [?(@.field=='value')] or "value" */
                char field[128], value[256];
                if (sscanf(p, "[?(@.%127[^=!]==%*[\"']%255[^\"']", field, value) != 2) return NULL;
                json_object *hit = NULL;
                for (size_t i = 0; i < json_object_array_length(cur) && !hit; i++) {
                    json_object *e = json_object_array_get_idx(cur, i);
                    const char *v = jx_str(e, field);
                    if (v && !strcmp(v, value)) hit = e;
                }
                cur = hit;
                end = strstr(p, ")]");
                if (!end) return NULL;
                end++;
            } else {
                long idx = strtol(p + 1, NULL, 10);
                if (idx < 0 || (size_t)idx >= json_object_array_length(cur)) return NULL;
                cur = json_object_array_get_idx(cur, (size_t)idx);
            }
            p = end + 1;
        } else {
            return NULL;
        }
    }
    return cur;
}

/* Kubernetes' short human durations ("5s", "3m12s", "4h", "2d3h"). */
static void
age(const char *ts, char *out, size_t len)
{
    int64_t ms = 0;
    if (!ts || time_parse_rfc3339(ts, &ms) != 0) {
        snprintf(out, len, "<unknown>");
        return;
    }
    int64_t s = (time_now_ms() - ms) / 1000;
    if (s < 0) s = 0;
    if (s < 120)
        snprintf(out, len, "%llds", (long long)s);
    else if (s < 600)
        snprintf(out, len, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 3 * 3600)
        snprintf(out, len, "%lldm", (long long)(s / 60));
    else if (s < 8 * 3600)
        snprintf(out, len, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s < 48 * 3600)
        snprintf(out, len, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, len, "%lldd", (long long)(s / 86400));
}

static json_object *
coldef(const char *name, const char *type, const char *format, const char *desc, int priority)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "name", json_object_new_string(name));
    json_object_object_add(c, "type", json_object_new_string(type));
    json_object_object_add(c, "format", json_object_new_string(format ? format : ""));
    json_object_object_add(c, "description", json_object_new_string(desc ? desc : ""));
    json_object_object_add(c, "priority", json_object_new_int(priority));
    return c;
}

/* The CRD's printer columns for r's version (borrowed), or NULL. */
static json_object *
printer_columns(sim_state *S, const sim_res *r)
{
    if (r->hook != SIM_HOOK_CUSTOM || !r->crd_name) return NULL;
    sim_res *cr = sim_find_res(S, "apiextensions.k8s.io", "customresourcedefinitions");
    sim_obj *crd = cr ? sim_lookup(S, cr, "", r->crd_name) : NULL;
    json_object *vers = crd ? jx_arr(sim_obj_tree(crd), "spec.versions") : NULL;
    for (size_t i = 0; vers && i < json_object_array_length(vers); i++) {
        json_object *v = json_object_array_get_idx(vers, i);
        if (!strcmp(jx_str_or(v, "name", ""), r->version))
            return jx_arr(v, "additionalPrinterColumns");
    }
    return NULL;
}

static json_object *
cell_of(json_object *obj, const char *path, const char *type)
{
    json_object *v = jsonpath(obj, path);
    if (!v) return NULL;
    if (!strcmp(type, "date")) {
        char a[32];
        age(json_object_get_string(v), a, sizeof a);
        return json_object_new_string(a);
    }
    if (!strcmp(type, "integer") && json_object_is_type(v, json_type_int))
        return json_object_new_int64(json_object_get_int64(v));
    if (json_object_is_type(v, json_type_string))
        return json_object_new_string(json_object_get_string(v));
    json_object *c = NULL;
    json_object_deep_copy(v, &c, NULL);
    return c;
}

static void
pod_cells(json_object *row, json_object *pod)
{
    json_object *cs = jx_arr(pod, "status.containerStatuses");
    json_object *spec = jx_arr(pod, "spec.containers");
    size_t total = spec ? json_object_array_length(spec) : 0, ready = 0;
    int64_t restarts = 0;
    for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
        json_object *c = json_object_array_get_idx(cs, i);
        ready += jx_bool(c, "ready", 0) ? 1 : 0;
        restarts += jx_int(c, "restartCount", 0);
    }
    char r[32];
    snprintf(r, sizeof r, "%zu/%zu", ready, total);
    json_object_array_add(row, json_object_new_string(r));
    const char *phase = jx_str_or(pod, "status.phase", "Pending");
    if (jx_get(pod, "metadata.deletionTimestamp")) phase = "Terminating";
    json_object_array_add(row, json_object_new_string(phase));
    json_object_array_add(row, json_object_new_int64(restarts));
}

json_object *
sim_table_build(sim_state *S, const sim_res *r, sim_obj *const *objs, size_t n, const char *rv,
                const char *cont, int64_t remaining)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "kind", json_object_new_string("Table"));
    json_object_object_add(t, "apiVersion", json_object_new_string("meta.k8s.io/v1"));
    json_object *meta = json_object_new_object();
    if (rv) json_object_object_add(meta, "resourceVersion", json_object_new_string(rv));
    if (cont && cont[0]) json_object_object_add(meta, "continue", json_object_new_string(cont));
    if (remaining > 0)
        json_object_object_add(meta, "remainingItemCount", json_object_new_int64(remaining));
    json_object_object_add(t, "metadata", meta);
    json_object *cols = json_object_new_array();
    json_object_array_add(
        cols, coldef("Name", "string", "name", "Name must be unique within a namespace.", 0));
    json_object *pcs = printer_columns(S, r);
    int is_pod = r->hook == SIM_HOOK_POD;
    if (pcs) {
        for (size_t i = 0; i < json_object_array_length(pcs); i++) {
            json_object *pc = json_object_array_get_idx(pcs, i);
            json_object_array_add(cols, coldef(jx_str_or(pc, "name", ""),
                                               !strcmp(jx_str_or(pc, "type", "string"), "date")
                                                   ? "date"
                                                   : jx_str_or(pc, "type", "string"),
                                               jx_str(pc, "format"), jx_str(pc, "description"),
                                               (int)jx_int(pc, "priority", 0)));
        }
    } else {
        if (is_pod) {
            json_object_array_add(
                cols,
                coldef("Ready", "string", "",
                       "The aggregate readiness state of this pod for accepting traffic.", 0));
            json_object_array_add(cols,
                                  coldef("Status", "string", "",
                                         "The aggregate status of the containers in this pod.", 0));
            json_object_array_add(
                cols,
                coldef("Restarts", "string", "",
                       "The number of times the containers in this pod have been restarted.", 0));
        }
        json_object_array_add(cols, coldef("Age", "string", "",
                                           "CreationTimestamp is a timestamp representing the "
                                           "server time when this object was created.",
                                           0));
    }
    json_object_object_add(t, "columnDefinitions", cols);
    json_object *rows = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = sim_obj_tree(objs[i]);
        json_object *row = json_object_new_object();
        json_object *cells = json_object_new_array();
        json_object_array_add(cells, json_object_new_string(jx_str_or(o, "metadata.name", "")));
        if (pcs) {
            for (size_t k = 0; k < json_object_array_length(pcs); k++) {
                json_object *pc = json_object_array_get_idx(pcs, k);
                json_object_array_add(cells, cell_of(o, jx_str_or(pc, "jsonPath", ""),
                                                     jx_str_or(pc, "type", "string")));
            }
        } else {
            if (is_pod) pod_cells(cells, o);
            char a[32];
            age(jx_str(o, "metadata.creationTimestamp"), a, sizeof a);
            json_object_array_add(cells, json_object_new_string(a));
        }
        json_object_object_add(row, "cells", cells);
        json_object *pom = json_object_new_object();
        json_object_object_add(pom, "kind", json_object_new_string("PartialObjectMetadata"));
        json_object_object_add(pom, "apiVersion", json_object_new_string("meta.k8s.io/v1"));
        json_object *m = NULL;
        json_object_deep_copy(jx_get(o, "metadata"), &m, NULL);
        json_object_object_add(pom, "metadata", m ? m : json_object_new_object());
        json_object_object_add(row, "object", pom);
        json_object_array_add(rows, row);
    }
    json_object_object_add(t, "rows", rows);
    return t;
}
