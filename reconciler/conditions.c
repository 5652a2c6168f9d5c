/* conditions.c - metav1.Condition set/remove on json-c arrays (see conditions.h). */
#include "reconciler/conditions.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

#include <string.h>

json_object *
rec_cond_find(json_object *conds, const char *type)
{
    if (conds == NULL || type == NULL || !json_object_is_type(conds, json_type_array)) return NULL;
    size_t n = json_object_array_length(conds);
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        const char *t = jx_str(c, "type");
        if (t != NULL && strcmp(t, type) == 0) return c;
    }
    return NULL;
}

const char *
rec_cond_reason(json_object *conds, const char *type)
{
    json_object *c = rec_cond_find(conds, type);
    return c ? jx_str_or(c, "reason", "") : NULL;
}

const char *
rec_cond_status(json_object *conds, const char *type)
{
    json_object *c = rec_cond_find(conds, type);
    return c ? jx_str_or(c, "status", "") : NULL;
}

int
rec_cond_is_true(json_object *conds, const char *type)
{
    const char *s = rec_cond_status(conds, type);
    return s != NULL && strcmp(s, "True") == 0;
}

/* Set key to a string if it differs; 1 when changed, 0 same, <0 error. */
static int
set_str(json_object *c, const char *key, const char *v)
{
    const char *cur = jx_str(c, key);
    if (cur != NULL && strcmp(cur, v) == 0) return 0;
    json_object *s = json_object_new_string(v);
    if (s == NULL) return ERR_NOMEM;
    json_object_object_add(c, key, s);
    return 1;
}

static int
set_gen(json_object *c, int64_t gen)
{
    json_object *cur = jx_child(c, "observedGeneration");
    if (gen <= 0) {
        if (cur == NULL) return 0;
        json_object_object_del(c, "observedGeneration");
        return 1;
    }
    if (cur != NULL && json_object_is_type(cur, json_type_int) && json_object_get_int64(cur) == gen)
        return 0;
    json_object *v = json_object_new_int64(gen);
    if (v == NULL) return ERR_NOMEM;
    json_object_object_add(c, "observedGeneration", v);
    return 1;
}

int
rec_cond_set(json_object *conds, const char *type, const char *status, const char *reason,
             const char *message, int64_t observed_generation, int64_t now_ms)
{
    char ts[40];
    if (conds == NULL || !json_object_is_type(conds, json_type_array) || type == NULL ||
        status == NULL)
        return ERR_INVALID;
    if (reason == NULL) reason = "";
    if (message == NULL) message = "";
    time_fmt_rfc3339(now_ms, ts, sizeof ts);
    json_object *c = rec_cond_find(conds, type);
    if (c == NULL) {
        c = json_object_new_object();
        if (c == NULL) return ERR_NOMEM;
        /* Go field order: type, status, observedGeneration, lastTransitionTime, reason, message */
        json_object_object_add(c, "type", json_object_new_string(type));
        json_object_object_add(c, "status", json_object_new_string(status));
        if (observed_generation > 0)
            json_object_object_add(c, "observedGeneration",
                                   json_object_new_int64(observed_generation));
        json_object_object_add(c, "lastTransitionTime", json_object_new_string(ts));
        json_object_object_add(c, "reason", json_object_new_string(reason));
        json_object_object_add(c, "message", json_object_new_string(message));
        if (json_object_array_add(conds, c) != 0) {
            json_object_put(c);
            return ERR_NOMEM;
        }
        return 1;
    }
    int changed = 0, rc;
    const char *cur = jx_str(c, "status");
    if (cur == NULL || strcmp(cur, status) != 0) {
        if ((rc = set_str(c, "status", status)) < 0) return rc;
        if ((rc = set_str(c, "lastTransitionTime", ts)) < 0) return rc;
        changed = 1;
    } else if (jx_str(c, "lastTransitionTime") == NULL) {
        /* malformed stored condition: Go would keep a zero time; give it now */
        if ((rc = set_str(c, "lastTransitionTime", ts)) < 0) return rc;
        changed = 1;
    }
    if ((rc = set_str(c, "reason", reason)) < 0) return rc;
    changed |= rc;
    if ((rc = set_str(c, "message", message)) < 0) return rc;
    changed |= rc;
    if ((rc = set_gen(c, observed_generation)) < 0) return rc;
    changed |= rc;
    return changed;
}

int
rec_cond_remove(json_object *conds, const char *type)
{
    if (conds == NULL || type == NULL || !json_object_is_type(conds, json_type_array)) return 0;
    int removed = 0;
    for (size_t i = json_object_array_length(conds); i > 0; i--) {
        const char *t = jx_str(json_object_array_get_idx(conds, i - 1), "type");
        if (t != NULL && strcmp(t, type) == 0) {
            json_object_array_del_idx(conds, i - 1, 1);
            removed = 1;
        }
    }
    return removed;
}
