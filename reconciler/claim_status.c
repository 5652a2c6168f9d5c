/* claim_status.c - the claim's status (write 2: Ready table, Finished
 * mirror, sandbox name and podIPs), its annotations (write 3) and the
 * lifecycle expiry (§2.4 steps 5, 7-9). See claim.h for the order of the
 * writes and claim_internal.h for the pass context. */
#include "reconciler/claim_internal.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "reconciler/blueprint.h"
#include "reconciler/conditions.h"
#include "reconciler/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- expiry -------------------------------------------------------------- */

/* expireAt = min(shutdownTime, Finished.lastTransitionTime + ttl); 0 = never. */
int64_t
rec__claim_expire_at(json_object *claim)
{
    json_object *lc = jx_obj(claim, "spec.lifecycle");
    int64_t at = 0, t;
    if (lc == NULL) return 0;
    const char *st = jx_str(lc, "shutdownTime");
    if (st && time_parse_rfc3339(st, &t) == 0) at = t;
    json_object *ttl = jx_child(lc, "ttlSecondsAfterFinished");
    json_object *fin = rec_cond_find(jx_arr(claim, "status.conditions"), "Finished");
    if (ttl && json_object_is_type(ttl, json_type_int) && fin &&
        strcmp(jx_str_or(fin, "status", ""), "True") == 0 &&
        time_parse_rfc3339(jx_str_or(fin, "lastTransitionTime", ""), &t) == 0) {
        int64_t f = t + json_object_get_int64(ttl) * 1000;
        if (at == 0 || f < at) at = f;
    }
    return at;
}

/* ---- status ---------------------------------------------------------------- */

static int
cond_cmp(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
    return strcmp(jx_str_or(x, "type", ""), jx_str_or(y, "type", ""));
}

/* Current status: the one we last sent, else the freshest claim's. */
json_object *
rec__claim_current_status(rec__claim_pass *p)
{
    return p->st->last_status ? p->st->last_status : jx_obj(p->claim, "status");
}

int
rec__claim_ready_true(json_object *status)
{
    return rec_cond_is_true(jx_arr(status, "conditions"), "Ready");
}

/* Build and (if it differs) send write 2. sb may be NULL. */
int
rec__claim_write_status(rec__claim_pass *p, json_object *sb, int expired, int clear_sandbox)
{
    json_object *cur = rec__claim_current_status(p);
    json_object *conds = rec_json_copy(jx_arr(cur, "conditions"));
    if (conds == NULL) conds = json_object_new_array();
    if (conds == NULL) return ERR_NOMEM;
    rec_claim_ready_in rin = {p->err, p->msg, NULL, expired, sb};
    rin.name = p->err == REC_CE_TEMPLATE_NOT_FOUND ? p->tmpl_name : p->pool_name;
    rec_claim_ready_out rout;
    rec_claim_ready(&rin, &rout);
    p->rep->ready_reason = rout.reason;
    int rc = rec_cond_set(conds, "Ready", rout.status, rout.reason, rout.message, p->gen, p->now);
    if (rc < 0) goto fail;
    /* Finished mirrors the Sandbox's verbatim; kept once the claim expired
     * and its Sandbox is gone. */
    json_object *fin = sb ? rec_cond_find(jx_arr(sb, "status.conditions"), "Finished") : NULL;
    if (fin) {
        rec_cond_remove(conds, "Finished");
        json_object_array_add(conds, rec_json_copy(fin));
    } else if (!(expired && sb == NULL)) {
        rec_cond_remove(conds, "Finished");
    }
    size_t n = json_object_array_length(conds);
    json_object **v = n ? malloc(n * sizeof *v) : NULL;
    if (n && v == NULL) goto fail;
    for (size_t i = 0; i < n; i++)
        v[i] = json_object_get(json_object_array_get_idx(conds, i));
    if (n > 1) qsort(v, n, sizeof *v, cond_cmp);
    json_object *sorted = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(sorted, v[i]);
    free(v);
    json_object_put(conds);
    conds = sorted;

    json_object *status = json_object_new_object();
    json_object_object_add(status, "conditions", conds);
    conds = NULL;
    json_object *sbo = NULL;
    if (sb) {
        sbo = json_object_new_object();
        json_object_object_add(sbo, "name",
                               json_object_new_string(jx_str_or(sb, "metadata.name", "")));
        json_object *ips = jx_arr(sb, "status.podIPs");
        if (ips && json_object_array_length(ips))
            json_object_object_add(sbo, "podIPs", rec_json_copy(ips));
    } else if (!clear_sandbox) {
        sbo = rec_json_copy(jx_obj(cur, "sandbox"));
    }
    if (sbo) json_object_object_add(status, "sandbox", sbo);
    if (rec_json_sem_equal(status, cur) ||
        (p->st->last_status && rec_json_sem_equal(status, p->st->last_status))) {
        json_object_put(status);
        return 0;
    }
    json_object *body = json_object_new_object();
    json_object *md = jx_ensure_obj(body, "metadata");
    const char *rv = jx_str(p->claim, "metadata.resourceVersion");
    if (rv) json_object_object_add(md, "resourceVersion", json_object_new_string(rv));
    json_object *st_body = rec_json_copy(status);
    if (jx_child(st_body, "sandbox") == NULL && jx_obj(cur, "sandbox"))
        json_object_object_add(st_body, "sandbox", NULL); /* merge patch: clear it */
    json_object_object_add(body, "status", st_body);
    if (rec_result_add_write(p->out, REC_PATCH_MERGE, &KUBE_SANDBOXCLAIMS, p->ns, p->name, "status",
                             body, "claim-status") == NULL) {
        json_object_put(status);
        return ERR_NOMEM;
    }
    if (rec__claim_ready_true(status) && !rec__claim_ready_true(cur) && p->st->ready_at_ns == 0) {
        p->st->ready_at_ns = p->now * 1000000;
        p->rep->became_ready = 1;
    }
    rec__claim_ref_set(&p->st->last_status, status);
    json_object_put(status);
    p->st->status_inflight = 1;
    return 0;
fail:
    json_object_put(conds);
    return ERR_NOMEM;
}

/* Write 3: the claim's annotations, once its status is written. */
int
rec__claim_write_meta(rec__claim_pass *p, json_object *sb)
{
    rec_claim_state *st = p->st;
    if (st->status_inflight || st->meta_inflight) return 0;
    char t[64];
    json_object *patch = NULL;
    json_object *anns = rec_meta_map(p->claim, "annotations");
    json_object *sent = st->meta_sent;
#define WANT(key, val)                                                                             \
    do {                                                                                           \
        const char *have_ = rec_meta_map_str(anns, key);                                           \
        const char *sent_ = rec_meta_map_str(sent, key);                                           \
        if ((have_ == NULL || strcmp(have_, val) != 0) && (sent_ == NULL || strcmp(sent_, val)))   \
            if (rec_meta_patch_set(&patch, "annotations", key, val) != 0) goto oom;                \
    } while (0)
    if (sb) WANT(REC_ANN_SANDBOX_NAME, jx_str_or(sb, "metadata.name", ""));
    if (!p->cfg->disable_observability_annotations) {
        if (rec_meta_map_str(anns, REC_ANN_FIRST_OBSERVED) == NULL)
            WANT(REC_ANN_FIRST_OBSERVED, time_fmt_rfc3339nano(st->first_observed_ns, t, sizeof t));
        if (rec_meta_map_str(anns, REC_ANN_FIRST_READY) == NULL &&
            rec__claim_ready_true(rec__claim_current_status(p)))
            WANT(REC_ANN_FIRST_READY,
                 st->ready_at_ns ? time_fmt_rfc3339nano(st->ready_at_ns, t, sizeof t) : "unknown");
    }
#undef WANT
    /* migrate the legacy label of the same key, riding along (§2.4 b.2) */
    if (patch && sb && rec_meta_map_str(rec_meta_map(p->claim, "labels"), REC_ANN_SANDBOX_NAME) &&
        rec_meta_patch_set(&patch, "labels", REC_ANN_SANDBOX_NAME, NULL) != 0)
        goto oom;
    if (patch == NULL) return 0;
    json_object *a = jx_get(patch, "metadata.annotations");
    if (st->meta_sent == NULL) st->meta_sent = json_object_new_object();
    json_object_object_foreach(a, k, v)
    {
        if (st->meta_sent) json_object_object_add(st->meta_sent, k, json_object_get(v));
    }
    if (rec_result_add_write(p->out, REC_PATCH_MERGE, &KUBE_SANDBOXCLAIMS, p->ns, p->name, NULL,
                             patch, "claim-meta") == NULL)
        return ERR_NOMEM;
    st->meta_inflight = 1;
    return 0;
oom:
    json_object_put(patch);
    return ERR_NOMEM;
}

int
rec__claim_expiry(rec__claim_pass *p, int64_t at, int *done)
{
    json_object *cur = rec__claim_current_status(p);
    const char *reason = rec_cond_reason(jx_arr(cur, "conditions"), "Ready");
    *done = 1;
    if (reason == NULL || strcmp(reason, "ClaimExpired") != 0) {
        rec__claim_event(p, "Normal", "ClaimExpired", "Claim Expired", "Claim expired");
        rec__claim_requeue(p, 1);
        json_object *sb = NULL;
        const char *sname = jx_str(cur, "sandbox.name");
        if (sname) sb = rec__claim_view(p, sname);
        if (sb && !rec_meta_is_controlled_by(sb, p->uid)) sb = NULL;
        return rec__claim_write_status(p, sb, 1, 0);
    }
    const char *policy = jx_str_or(p->claim, "spec.lifecycle.shutdownPolicy", "Retain");
    if (strcmp(policy, "Delete") == 0 || strcmp(policy, "DeleteForeground") == 0) {
        char note[128];
        snprintf(note, sizeof note, "Deleting Claim (ShutdownPolicy=%s)", policy);
        rec__claim_event(p, "Normal", "ClaimExpired", "Deleting", note);
        rec_write *w = rec_result_add_write(p->out, REC_DELETE, &KUBE_SANDBOXCLAIMS, p->ns, p->name,
                                            NULL, NULL, "claim-delete");
        if (w == NULL || (w->precondition_uid = strdup(p->uid)) == NULL) return ERR_NOMEM;
        if (strcmp(policy, "DeleteForeground") == 0) w->propagation = "Foreground";
        p->deleting_claim = 1;
        return 0;
    }
    (void)at;
    /* Retain: delete our Sandbox, keep the claim. */
    const char *sname = jx_str(cur, "sandbox.name");
    if (sname == NULL || *sname == '\0') sname = p->name;
    json_object *sb = rec__claim_view(p, sname);
    int clear = 0;
    if (sb && !rec_meta_is_controlled_by(sb, p->uid)) {
        char e[600];
        snprintf(e, sizeof e, "sandbox \"%s\" is not controlled by claim \"%s\"", sname, p->name);
        rec__claim_fail(p, REC_CE_EXPIRED_NOT_OURS, "%s%s", e, NULL);
        sb = NULL;
        clear = 1;
    } else if (sb && jx_str(sb, "metadata.deletionTimestamp") == NULL) {
        rec_write *w = rec_result_add_write(p->out, REC_DELETE, &KUBE_SANDBOXES, p->ns, sname, NULL,
                                            NULL, "claim-sandbox-delete");
        const char *suid = jx_str(sb, "metadata.uid");
        if (w == NULL || (suid && (w->precondition_uid = strdup(suid)) == NULL)) return ERR_NOMEM;
    } else if (sb == NULL) {
        clear = 1;
    }
    return rec__claim_write_status(p, sb, 1, clear);
}
