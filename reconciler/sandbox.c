/* sandbox.c - the Sandbox reconcile pass (spec/api.md §2.1): flow, expiry,
 * conditions, status diff. Children live in sandbox_pvc.c, sandbox_pod.c and
 * sandbox_svc.c; they record what they found in sbx_ctx, which this file
 * turns into conditions and one status merge patch.
 *
 * Write economy: status is written only when it differs from the freshest
 * view of the Sandbox (cache or a write's returned object), never in a pass
 * that creates or adopts a child without an error (the outcome pass that
 * follows writes it), not
 * when only nodeName changed while Ready is not True (upstream's rule), and,
 * with status_settle_ms, not for a transitional state of a young pod nor,
 * within the window, when only the conditions' observedGeneration moved. */
#include "reconciler/sandbox.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "reconciler/conditions.h"
#include "reconciler/meta.h"
#include "reconciler/sandbox_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small shared helpers ------------------------------------------------ */

void
sbx__error(sbx_ctx *c, const char *fmt, ...)
{
    size_t used = strlen(c->err);
    if (used && used + 1 < sizeof c->err) c->err[used++] = '\n';
    if (used >= sizeof c->err - 1) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + used, sizeof c->err - used, fmt, ap);
    va_end(ap);
}

const rec_outcome *
sbx__outcome(const sbx_ctx *c, const char *tag, const char *name)
{
    for (size_t i = 0; i < c->in->n_outcomes; i++) {
        const rec_outcome *o = &c->in->outcomes[i];
        if (o->tag == NULL || strcmp(o->tag, tag) != 0) continue;
        if (name == NULL || o->err != 0) return o;
        const char *n = jx_str(o->object, "metadata.name");
        if (n != NULL && strcmp(n, name) == 0) return o;
    }
    return NULL;
}

json_object *
sbx__fresh(const sbx_ctx *c, json_object *cached, const char *name, const char *const *tags)
{
    json_object *best = cached;
    for (size_t i = 0; i < c->in->n_outcomes; i++) {
        const rec_outcome *o = &c->in->outcomes[i];
        if (o->err != 0 || o->object == NULL || o->tag == NULL) continue;
        int match = 0;
        for (const char *const *t = tags; *t; t++)
            match |= strcmp(o->tag, *t) == 0;
        const char *n = jx_str(o->object, "metadata.name");
        if (!match || n == NULL || strcmp(n, name) != 0) continue;
        /* uid must match the cached object's, else the cache is newer (recreated) */
        const char *cu = jx_str(best, "metadata.uid"), *ou = jx_str(o->object, "metadata.uid");
        if (best == NULL ||
            (cu && ou && strcmp(cu, ou) == 0 && rec_meta_rv_cmp(o->object, best) > 0))
            best = o->object;
    }
    return best;
}

int
sbx__outcome_failed(sbx_ctx *c, const char *tag)
{
    const rec_outcome *o = sbx__outcome(c, tag, NULL);
    if (o == NULL || o->err == 0 || o->err == ERR_NOTFOUND) return 0;
    sbx__error(c, "%s", o->message && *o->message ? o->message : "request failed");
    c->retry = 1;
    return 1;
}

int
sbx__delete(sbx_ctx *c, const kube_resource *res, json_object *obj, const char *tag)
{
    const char *name = jx_str(obj, "metadata.name");
    if (name == NULL || *name == '\0') return 0;
    rec_write *w = rec_result_add_write(c->out, REC_DELETE, res, c->ns, name, NULL, NULL, tag);
    const char *uid = jx_str(obj, "metadata.uid");
    if (w == NULL || (uid && *uid && (w->precondition_uid = strdup(uid)) == NULL)) return ERR_NOMEM;
    return 0;
}

int
sbx__adoptable(const sbx_ctx *c, json_object *obj)
{
    const char *a = jx_label(obj, REC_LABEL_ADOPTABLE);
    const char *h = jx_label(obj, REC_LABEL_NAME_HASH);
    return (a && strcmp(a, "true") == 0) || (h && strcmp(h, c->hash) == 0);
}

int
sbx__set_pod_name_ann(sbx_ctx *c, const char *value)
{
    return rec_meta_patch_set(&c->sb_patch, "annotations", REC_ANN_POD_NAME, value);
}

const char *
rec_sandbox_pod_name(json_object *sandbox)
{
    const char *a = jx_annotation(sandbox, REC_ANN_POD_NAME);
    if (a != NULL && *a != '\0') return a;
    return jx_str(sandbox, "metadata.name");
}

char *
rec_sandbox_pvc_name(json_object *vct, json_object *sandbox, char *buf, size_t len)
{
    const char *v = jx_str(vct, "metadata.name"), *s = jx_str(sandbox, "metadata.name");
    if (v == NULL || *v == '\0' || s == NULL) return NULL;
    int n = snprintf(buf, len, "%s-%s", v, s);
    return n < 0 || (size_t)n >= len ? NULL : buf;
}

/* ---- conditions ------------------------------------------------------------ */

static int
pod_cond_true(json_object *pod, const char *type)
{
    return rec_cond_is_true(jx_arr(pod, "status.conditions"), type);
}

static int
pod_has_ips(json_object *pod)
{
    json_object *a = jx_arr(pod, "status.podIPs");
    if (a && json_object_array_length(a) > 0) return 1;
    const char *ip = jx_str(pod, "status.podIP");
    return ip && *ip;
}

static int
set_conditions(sbx_ctx *c, json_object *conds, json_object *old_conds)
{
    int rc;
    int64_t g = c->gen, now = c->now_ms;
    json_object *pod = c->pod;
    const char *phase = jx_str_or(pod, "status.phase", "");

    /* Suspended */
    if (!c->suspended)
        rc = rec_cond_set(conds, "Suspended", "False", "NotSuspended", "Sandbox is not suspended",
                          g, now);
    else if (c->pod_lookup_err)
        rc = rec_cond_set(conds, "Suspended", "Unknown", "PodStateUnknown",
                          "Pod state is unknown. Sandbox suspension cannot be confirmed", g, now);
    else if (pod == NULL)
        rc = rec_cond_set(conds, "Suspended", "True", "PodTerminated",
                          "Pod has been terminated. Sandbox is suspended", g, now);
    else if (!c->pod_owned)
        rc = rec_cond_set(conds, "Suspended", "False", "PodNotOwned",
                          "Refused to delete pod because it is not owned by this sandbox", g, now);
    else
        rc = rec_cond_set(conds, "Suspended", "False", "PodTerminating",
                          "Pod is terminating. Sandbox is suspending", g, now);
    if (rc < 0) return rc;

    /* Finished */
    if (pod && c->pod_owned && strcmp(phase, "Succeeded") == 0)
        rc = rec_cond_set(conds, "Finished", "True", "PodSucceeded", "Pod completed successfully",
                          g, now);
    else if (pod && c->pod_owned && strcmp(phase, "Failed") == 0)
        rc = rec_cond_set(conds, "Finished", "True", "PodFailed", "Pod failed", g, now);
    else
        rc = rec_cond_remove(conds, "Finished");
    if (rc < 0) return rc;

    /* PodScheduled */
    if (pod == NULL && c->pod_lookup_err) {
        rc = rec_cond_set(conds, "PodScheduled", "Unknown", "PodSchedulingUnknown",
                          "Pod state is unknown. Pod scheduling cannot be determined", g, now);
    } else if (pod == NULL || !c->pod_owned) {
        rc = rec_cond_remove(conds, "PodScheduled");
    } else {
        json_object *pc = rec_cond_find(jx_arr(pod, "status.conditions"), "PodScheduled");
        if (pc == NULL) {
            rc = rec_cond_set(conds, "PodScheduled", "Unknown", "PodSchedulingUnknown",
                              "Pod has not reported a PodScheduled condition yet", g, now);
        } else {
            const char *st = jx_str_or(pc, "status", "Unknown");
            const char *reason = jx_str_or(pc, "reason", "");
            if (*reason == '\0')
                reason = strcmp(st, "True") == 0 ? "PodScheduled" : "PodSchedulingUnknown";
            rc = rec_cond_set(conds, "PodScheduled", st, reason, jx_str_or(pc, "message", ""), g,
                              now);
        }
    }
    if (rc < 0) return rc;

    /* Ready, by precedence */
    char msg[SBX_ERR_MAX + 64];
    if (c->n_owned > 1) {
        snprintf(msg, sizeof msg,
                 "multiple Pods (%d) are controlled by this Sandbox; refusing to choose or "
                 "create a Pod",
                 c->n_owned);
        const char *prev = rec_cond_reason(old_conds, "Ready");
        if (prev == NULL || strcmp(prev, "MultiplePods") != 0)
            rec_result_add_event(c->out, &KUBE_SANDBOXES, c->ns, c->name, c->uid, "Warning",
                                 "MultiplePods", "Reconciling", msg);
        return rec_cond_set(conds, "Ready", "False", "MultiplePods", msg, g, now);
    }
    if (c->err[0]) {
        snprintf(msg, sizeof msg, "Error seen: %s", c->err);
        return rec_cond_set(conds, "Ready", "False", "ReconcilerError", msg, g, now);
    }
    if (c->suspended)
        return rec_cond_set(conds, "Ready", "False", "SandboxSuspended",
                            pod ? "Sandbox is suspending" : "Sandbox is suspended", g, now);
    if (pod && strcmp(phase, "Succeeded") == 0)
        return rec_cond_set(conds, "Ready", "False", "PodSucceeded", "Pod completed successfully",
                            g, now);
    if (pod && strcmp(phase, "Failed") == 0)
        return rec_cond_set(conds, "Ready", "False", "PodFailed", "Pod failed", g, now);
    int ready = 0;
    if (pod == NULL)
        snprintf(msg, sizeof msg, "Pod does not exist");
    else if (strcmp(phase, "Running") != 0)
        snprintf(msg, sizeof msg, "Pod exists with phase: %s", phase);
    else if (!pod_cond_true(pod, "Ready"))
        snprintf(msg, sizeof msg, "Pod is Running but not Ready");
    else if (!pod_has_ips(pod))
        snprintf(msg, sizeof msg, "Pod is Ready but has no podIPs yet");
    else {
        snprintf(msg, sizeof msg, "Pod is Ready");
        ready = 1;
    }
    if (c->svc_required) {
        size_t l = strlen(msg);
        snprintf(msg + l, sizeof msg - l, "; Service %s",
                 c->svc_exists ? "Exists" : "does not exist");
        ready = ready && c->svc_exists;
    }
    return rec_cond_set(conds, "Ready", ready ? "True" : "False",
                        ready ? "DependenciesReady" : "DependenciesNotReady", msg, g, now);
}

/* ---- status ---------------------------------------------------------------- */

/* status.selector / podIPs / nodeName from the resolved pod. */
static int
set_pod_fields(sbx_ctx *c, json_object *st)
{
    char sel[64];
    if (c->pod == NULL) {
        json_object_object_del(st, "podIPs");
        json_object_object_del(st, "nodeName");
        return 0;
    }
    snprintf(sel, sizeof sel, "%s=%s", REC_LABEL_NAME_HASH, c->hash);
    jx_set_str(st, "selector", sel);
    if (!c->pod_owned) {
        json_object_object_del(st, "podIPs");
        json_object_object_del(st, "nodeName");
        return 0;
    }
    json_object *ips = json_object_new_array();
    json_object *src = jx_arr(c->pod, "status.podIPs");
    size_t n = src ? json_object_array_length(src) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *ip = jx_str(json_object_array_get_idx(src, i), "ip");
        if (ip && *ip) json_object_array_add(ips, json_object_new_string(ip));
    }
    const char *ip1 = jx_str(c->pod, "status.podIP");
    if (json_object_array_length(ips) == 0 && ip1 && *ip1)
        json_object_array_add(ips, json_object_new_string(ip1));
    if (json_object_array_length(ips) > 0)
        json_object_object_add(st, "podIPs", ips);
    else {
        json_object_put(ips);
        json_object_object_del(st, "podIPs");
    }
    const char *node = jx_str(c->pod, "spec.nodeName");
    if (node && *node)
        jx_set_str(st, "nodeName", node);
    else
        json_object_object_del(st, "nodeName");
    return 0;
}

/* Merge patch {"status":{...}} of the top-level fields that differ between
 * old and new (removed fields => null). NULL when equal. *only_node is set
 * when nodeName is the sole difference. */
static json_object *
status_diff(json_object *old, json_object *new, int *only_node)
{
    static const char *const keys[] = {"serviceFQDN", "service",  "conditions", "selector",
                                       "podIPs",      "nodeName", NULL};
    json_object *d = NULL;
    int n = 0, node = 0;
    for (const char *const *k = keys; *k; k++) {
        json_object *a = jx_child(old, *k), *b = jx_child(new, *k);
        /* an empty string / array is what Go's omitempty would drop: same as absent */
        if (a && json_object_is_type(a, json_type_string) && !*json_object_get_string(a)) a = NULL;
        if (a && json_object_is_type(a, json_type_array) && !json_object_array_length(a)) a = NULL;
        if (a == NULL && b == NULL) continue;
        if (a && b && json_object_equal(a, b)) continue;
        if (d == NULL) d = json_object_new_object();
        json_object_object_add(d, *k, b ? json_object_get(b) : NULL);
        n++;
        node |= strcmp(*k, "nodeName") == 0;
    }
    *only_node = n == 1 && node;
    if (d == NULL) return NULL;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "status", d);
    return p;
}

static void
emit_status(sbx_ctx *c, json_object *old, json_object *st, int allow_node_skip)
{
    int only_node = 0;
    json_object *patch = status_diff(old, st, &only_node);
    if (patch == NULL) return;
    if (allow_node_skip && only_node && !rec_cond_is_true(jx_child(st, "conditions"), "Ready")) {
        json_object_put(patch);
        return;
    }
    rec_result_add_write(c->out, REC_PATCH_MERGE, &KUBE_SANDBOXES, c->ns, c->name, "status", patch,
                         "sandbox-status");
}

static void
emit_sb_patch(sbx_ctx *c)
{
    if (c->sb_patch == NULL) return;
    /* drop no-op entries: annotation already has the value (or is absent for a delete) */
    json_object *anns = jx_get(c->sb_patch, "metadata.annotations");
    const char *want = rec_meta_map_str(anns, REC_ANN_POD_NAME);
    const char *have = jx_annotation(c->sb, REC_ANN_POD_NAME);
    int noop = want ? (have && strcmp(have, want) == 0) : (have == NULL);
    if (noop) {
        json_object_put(c->sb_patch);
    } else {
        rec_result_add_write(c->out, REC_PATCH_MERGE, &KUBE_SANDBOXES, c->ns, c->name, NULL,
                             c->sb_patch, "sandbox-meta");
    }
    c->sb_patch = NULL;
}

static void
requeue_at_most(rec_result *out, int64_t ms)
{
    if (ms < 0) return;
    if (out->requeue_after_ms < 0 || ms < out->requeue_after_ms) out->requeue_after_ms = ms;
}

/* Young owned pod, not yet Ready, Ready was not True: transitional. */
static int
settling(sbx_ctx *c, json_object *old_st, json_object *st, int64_t *until)
{
    int64_t win = c->in->status_settle_ms, created;
    if (win <= 0 || c->pod == NULL || !c->pod_owned || c->err[0] || c->suspended || c->n_owned > 1)
        return 0;
    if (rec_cond_is_true(jx_child(old_st, "conditions"), "Ready") ||
        rec_cond_is_true(jx_child(st, "conditions"), "Ready"))
        return 0;
    const char *phase = jx_str_or(c->pod, "status.phase", "");
    if (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0) return 0;
    const char *ts = jx_str(c->pod, "metadata.creationTimestamp");
    if (ts == NULL || time_parse_rfc3339(ts, &created) != 0) return 0;
    /* creationTimestamp has 1 s resolution: measure from the end of that second */
    *until = created + 1000 + win;
    return c->now_ms < *until;
}

/* ---- generation-only status ------------------------------------------------ */

/* A spec edit (a claim adopting a warm member rewrites podTemplate labels)
 * bumps metadata.generation; if nothing else changed, the only news is the
 * conditions' observedGeneration. With status_settle_ms that write waits
 * the window, counted from the first pass that saw it, so it leaves the
 * claim's critical path. The pass is otherwise stateless: when the window
 * began is kept per worker thread (a Sandbox key always runs on the one
 * shard that owns it) in a small fixed table without allocations; a full
 * table, or a forgotten slot, only means writing at once (upstream's
 * behaviour), never a lost write. */
#define GEN_SLOTS    1024
#define GEN_SLOT_TTL (10 * 60 * 1000)

typedef struct gen_slot {
    uint64_t key; /* FNV-1a of the Sandbox uid; 0 = free */
    int64_t since;
} gen_slot;

static _Thread_local gen_slot gen_tab[GEN_SLOTS];

static uint64_t
uid_key(const char *uid)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *uid; uid++)
        h = (h ^ (unsigned char)*uid) * 1099511628211ULL;
    return h ? h : 1;
}

static gen_slot *
gen_slot_find(uint64_t key, int64_t now, int take)
{
    gen_slot *free_slot = NULL;
    for (size_t i = 0; i < GEN_SLOTS; i++) {
        gen_slot *g = &gen_tab[i];
        if (g->key == key) return g;
        if (g->key != 0 && now - g->since > GEN_SLOT_TTL) g->key = 0; /* never settled */
        if (g->key == 0 && free_slot == NULL) free_slot = g;
    }
    if (!take || free_slot == NULL) return NULL;
    free_slot->key = key;
    free_slot->since = now;
    return free_slot;
}

/* Every condition of b equals the one of a with the same type, except for
 * observedGeneration; same count. */
static int
conds_gen_only(json_object *a, json_object *b)
{
    size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
    if (b == NULL || !json_object_is_type(b, json_type_array) || json_object_array_length(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        json_object *nb = json_object_array_get_idx(b, i);
        const char *type = jx_str(nb, "type");
        json_object *na = type ? rec_cond_find(a, type) : NULL;
        if (na == NULL || !json_object_is_type(nb, json_type_object) ||
            !json_object_is_type(na, json_type_object))
            return 0;
        int keys_a = 0, keys_b = 0;
        json_object_object_foreach(na, ka, va)
        {
            (void)va;
            keys_a += strcmp(ka, "observedGeneration") != 0;
        }
        json_object_object_foreach(nb, kb, vb)
        {
            if (strcmp(kb, "observedGeneration") == 0) continue;
            keys_b++;
            if (!json_object_equal(vb, jx_child(na, kb))) return 0;
        }
        if (keys_a != keys_b) return 0;
    }
    return 1;
}

/* 1 when the status write is held; *until = end of the window. */
static int
gen_settling(sbx_ctx *c, json_object *old_st, json_object *st, int64_t *until)
{
    int64_t win = c->in->status_settle_ms;
    if (win <= 0 || c->err[0] || *c->uid == '\0') return 0;
    uint64_t key = uid_key(c->uid);
    int only_node = 0;
    json_object *patch = status_diff(old_st, st, &only_node);
    json_object *d = jx_child(patch, "status");
    int gen_only = d && json_object_object_length(d) == 1 && jx_child(d, "conditions") &&
                   conds_gen_only(jx_child(old_st, "conditions"), jx_child(st, "conditions"));
    json_object_put(patch);
    gen_slot *g = gen_slot_find(key, c->now_ms, gen_only);
    if (!gen_only || g == NULL) {
        if (g) g->key = 0; /* written now (or nothing to write): the window ends */
        return 0;
    }
    *until = g->since + win;
    if (c->now_ms < *until) return 1;
    g->key = 0;
    return 0;
}

/* ---- expiry ---------------------------------------------------------------- */

static int
expiry_pass(sbx_ctx *c, json_object *old_st, json_object *st)
{
    json_object *conds = jx_child(st, "conditions");
    const char *reason = rec_cond_reason(conds, "Ready");
    if (reason == NULL || strcmp(reason, "SandboxExpired") != 0) {
        /* first pass only marks */
        int rc = rec_cond_set(conds, "Ready", "False", "SandboxExpired", "Sandbox has expired",
                              c->gen, c->now_ms);
        if (rc < 0) return rc;
        rec_cond_remove(conds, "PodScheduled");
        emit_status(c, old_st, st, 0);
        c->out->requeue_after_ms = 1;
        return 0;
    }
    int rc = sbx__teardown_children(c);
    if (rc < 0) return rc;
    const char *policy = jx_str_or(c->sb, "spec.shutdownPolicy", "Retain");
    if (strcmp(policy, "Delete") == 0) {
        const rec_outcome *o = sbx__outcome(c, "sandbox-delete", NULL);
        if (o && o->err != 0 && o->err != ERR_NOTFOUND) {
            sbx__outcome_failed(c, "sandbox-delete");
        } else if (o && (o->err == 0 || o->err == ERR_NOTFOUND)) {
            return 0; /* already deleted; the cache will drop it */
        }
        if ((rc = sbx__delete(c, &KUBE_SANDBOXES, c->sb, "sandbox-delete")) < 0) return rc;
        return 0;
    }
    if (c->err[0]) return 0;
    /* Retain: conditions only; Suspended and Finished kept as they were */
    json_object *keep = json_object_get(conds);
    json_object_object_foreach(st, k, v)
    {
        (void)v;
        if (strcmp(k, "conditions") != 0) json_object_object_del(st, k);
    }
    json_object_object_add(st, "conditions", keep);
    if ((rc = rec_cond_set(keep, "Ready", "False", "SandboxExpired", "Sandbox has expired", c->gen,
                           c->now_ms)) < 0)
        return rc;
    rec_cond_remove(keep, "PodScheduled");
    emit_status(c, old_st, st, 0);
    return 0;
}

/* ---- main pass ------------------------------------------------------------- */

static int
running_pass(sbx_ctx *c, json_object *old_st, json_object *st, int has_deadline, int64_t deadline)
{
    int rc;
    if ((rc = sbx__reconcile_pvcs(c)) < 0) return rc;
    if ((rc = sbx__reconcile_pod(c)) < 0) return rc;
    if (c->n_owned <= 1 && (rc = sbx__reconcile_service(c, st)) < 0) return rc;
    if ((rc = set_pod_fields(c, st)) < 0) return rc;
    json_object *conds = jx_child(st, "conditions");
    if ((rc = set_conditions(c, conds, jx_child(old_st, "conditions"))) < 0) return rc;
    emit_sb_patch(c);
    int64_t until = 0;
    if ((c->creating || c->pod_wait) && !c->err[0]) {
        /* A child is being created or adopted: its outcome decides the
         * status, and the shard runs the key again as soon as the outcome is
         * in (a failure then shows as ReconcilerError). Writing now would
         * publish a guess, and a pass without outcomes would flip a standing
         * ReconcilerError to a guess and back. */
    } else if (settling(c, old_st, st, &until) || gen_settling(c, old_st, st, &until)) {
        requeue_at_most(c->out, until - c->now_ms);
    } else {
        emit_status(c, old_st, st, 1);
    }
    if (has_deadline) requeue_at_most(c->out, deadline - c->now_ms);
    return 0;
}

int
rec_sandbox_reconcile(const rec_sandbox_input *in, int64_t now_ms, rec_result *out)
{
    static const char *const sb_tags[] = {"sandbox-status", "sandbox-meta", NULL};
    sbx_ctx c;
    int rc;

    if (in == NULL || out == NULL || in->sandbox == NULL ||
        !json_object_is_type(in->sandbox, json_type_object))
        return ERR_INVALID;
    memset(&c, 0, sizeof c);
    c.in = in;
    c.out = out;
    c.now_ms = now_ms;
    c.name = jx_str(in->sandbox, "metadata.name");
    if (c.name == NULL || *c.name == '\0') return ERR_INVALID;
    c.sb = sbx__fresh(&c, in->sandbox, c.name, sb_tags);
    c.ns = jx_str_or(c.sb, "metadata.namespace", "");
    c.uid = jx_str_or(c.sb, "metadata.uid", "");
    c.gen = jx_int(c.sb, "metadata.generation", 0);
    namehash_hex(c.name, c.hash);
    c.suspended = strcmp(jx_str_or(c.sb, "spec.operatingMode", "Running"), "Suspended") == 0;
    json_object *svc_flag = jx_get(c.sb, "spec.service");
    c.want_svc = svc_flag && json_object_is_type(svc_flag, json_type_boolean)
                     ? json_object_get_boolean(svc_flag) != 0
                     : -1;

    if (jx_get(c.sb, "metadata.deletionTimestamp") != NULL)
        return 0; /* garbage collection removes the children */

    json_object *old_st = jx_obj(c.sb, "status");
    json_object *st = NULL;
    if (old_st == NULL || json_object_deep_copy(old_st, &st, NULL) != 0)
        st = json_object_new_object();
    if (st == NULL) return ERR_NOMEM;
    if (jx_arr(st, "conditions") == NULL)
        json_object_object_add(st, "conditions", json_object_new_array());

    int has_deadline = 0, expired = 0;
    int64_t deadline = 0;
    const char *shutdown = jx_str(c.sb, "spec.shutdownTime");
    if (shutdown != NULL && *shutdown) {
        if (time_parse_rfc3339(shutdown, &deadline) == 0) {
            has_deadline = 1;
            expired = now_ms >= deadline;
        } else {
            sbx__error(&c, "invalid spec.shutdownTime %s", shutdown);
        }
    }
    rc = expired ? expiry_pass(&c, old_st, st)
                 : running_pass(&c, old_st, st, has_deadline, deadline);
    json_object_put(st);
    json_object_put(c.sb_patch);
    if (rc < 0) {
        rec_result_fini(out);
        return rc;
    }
    if (c.retry || c.err[0]) {
        out->error = ERR_AGAIN;
        const char *m = c.err[0] ? c.err : "waiting for the cache";
        size_t l = strnlen(m, sizeof out->error_msg - 1);
        memcpy(out->error_msg, m, l);
        out->error_msg[l] = '\0';
    }
    return 0;
}
