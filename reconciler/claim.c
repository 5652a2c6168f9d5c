/* claim.c - the SandboxClaim pass (see claim.h for the contract and the
 * order of writes).
 *
 * Shape of one pass:
 *   settle outcomes -> legacy NP -> deleting? -> expiry -> active path
 *   (validate, find the bound Sandbox, else adopt a warm one [return:
 *   write 1 in flight], else cold create [return]) -> status (write 2)
 *   -> annotations (write 3, only when no status write is pending).
 * A pass that issued write 1 returns at once: the status is written by the
 * pass that sees write 1's outcome, with the object the server returned. */
#include "reconciler/claim.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "reconciler/claim_build.h"
#include "reconciler/claim_ready.h"
#include "reconciler/conditions.h"
#include "reconciler/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND_REQUEUE_MS 60000
#define CREATE_PENDING_MS    200
#define PENDING_POLL_MS      500
#define ADOPTED_WAIT_MS      30000

void
rec_claim_config_default(rec_claim_config *c)
{
    memset(c, 0, sizeof *c);
    c->warm_grace_ms = 2000;
    c->max_adopt_attempts = 3;
}

void
rec_claim_state_init(rec_claim_state *s)
{
    memset(s, 0, sizeof *s);
}

void
rec_claim_state_fini(rec_claim_state *s)
{
    json_object_put(s->bound);
    json_object_put(s->claim_view);
    json_object_put(s->last_status);
    json_object_put(s->meta_sent);
    memset(s, 0, sizeof *s);
}

void
rec_claim_forget(rec_claim_state *s, pool_set *pools, const char *ns)
{
    if (s->reserved[0] && pools) pool_release(pools, ns ? ns : s->ns, s->reserved);
    rec_claim_state_fini(s);
}

static void
replace_ref(json_object **slot, json_object *v)
{
    json_object *old = *slot;
    *slot = v ? json_object_get(v) : NULL;
    json_object_put(old);
}

/* ---- pass context -------------------------------------------------------- */

typedef struct pass {
    const rec_claim_config *cfg;
    rec_claim_state *st;
    const rec_claim_input *in;
    rec_result *out;
    rec_claim_report *rep;
    json_object *claim; /* freshest of store copy and claim_view */
    const char *ns, *name, *uid, *pool_name, *tmpl_name;
    int64_t gen, now;
    enum rec_claim_err err;
    char msg[1536];
    int create_pending;
    int adopt_exhausted;
    int deleting_claim; /* expiry deletes the claim: no more claim writes */
} pass;

static void
fail(pass *p, enum rec_claim_err e, const char *fmt, const char *a, const char *b)
{
    if (p->err != REC_CE_NONE) return;
    p->err = e;
    snprintf(p->msg, sizeof p->msg, fmt, a ? a : "", b ? b : "");
}

static void
requeue(pass *p, int64_t ms)
{
    if (ms < 0) ms = 0;
    if (p->out->requeue_after_ms < 0 || ms < p->out->requeue_after_ms)
        p->out->requeue_after_ms = ms;
}

static void
event(pass *p, const char *type, const char *reason, const char *action, const char *note)
{
    if (!p->cfg->disable_events)
        rec_result_add_event(p->out, &KUBE_SANDBOXCLAIMS, p->ns, p->name, p->uid, type, reason,
                             action, note);
}

/* The freshest view of Sandbox `name`: the store's copy or the object a
 * write of ours returned (kept until the store catches up). */
static json_object *
sandbox_view(pass *p, const char *name)
{
    json_object *s = p->in->lookup ? p->in->lookup(p->in->lookup_ud, p->ns, name) : NULL;
    json_object *b = p->st->bound;
    if (b == NULL || strcmp(jx_str_or(b, "metadata.name", ""), name) != 0) return s;
    if (s == NULL) return b;
    int c = rec_meta_rv_cmp(s, b);
    int same = strcmp(jx_str_or(s, "metadata.resourceVersion", "s"),
                      jx_str_or(b, "metadata.resourceVersion", "b")) == 0;
    if (c > 0 || same) {
        if (rec_meta_is_controlled_by(s, p->uid))
            replace_ref(&p->st->bound, NULL); /* the store has caught up */
        return s;
    }
    if (c < 0) return b;
    /* not comparable: trust the view that shows our own write */
    return rec_meta_is_controlled_by(s, p->uid) ? s : b;
}

static void
transient(pass *p, int err, const char *what, const char *msg)
{
    if (p->out->error) return;
    p->out->error = err; /* the shard retries with backoff */
    snprintf(p->out->error_msg, sizeof p->out->error_msg, "%s: %s", what, msg);
}

/* ---- outcomes ------------------------------------------------------------ */

static void
settle(pass *p)
{
    rec_claim_state *st = p->st;
    for (size_t i = 0; i < p->in->n_outcomes; i++) {
        const rec_outcome *o = &p->in->outcomes[i];
        if (o->tag == NULL) continue;
        if (strcmp(o->tag, "claim-adopt") == 0) {
            st->write1_inflight = 0;
            if (o->err == 0) {
                char note[400];
                snprintf(note, sizeof note, "Adopted warm pool Sandbox \"%s\"", st->reserved);
                event(p, "Normal", "SandboxAdopted", "Adoption", note);
                replace_ref(&st->bound, o->object);
                snprintf(st->adopted, sizeof st->adopted, "%s", st->reserved);
                st->adopted_at_ms = p->now;
                if (p->in->pools) pool_done(p->in->pools, p->ns, st->reserved);
                p->rep->launch = "warm";
            } else {
                if (o->err == ERR_CONFLICT || o->err == ERR_NOTFOUND)
                    p->rep->adopt_conflicts++;
                else {
                    fail(p, REC_CE_OTHER, "adopting Sandbox \"%s\": %s", st->reserved, o->message);
                    transient(p, o->err, "adopting Sandbox", o->message);
                }
                if (p->in->pools) {
                    if (o->err == ERR_NOTFOUND)
                        pool_done(p->in->pools, p->ns, st->reserved);
                    else if (o->err == ERR_CONFLICT) /* parked until a fresher event */
                        pool_release_conflict(p->in->pools, p->ns, st->reserved, st->reserved_rv);
                    else /* uncertain (the patch may have landed): wait for news */
                        pool_release_conflict(p->in->pools, p->ns, st->reserved, st->reserved_rv);
                }
                LOG_D("claim", "adoption write failed", "ns=%s claim=%s sandbox=%s err=%s", p->ns,
                      p->name, st->reserved, err_str(o->err));
            }
            st->reserved[0] = st->reserved_pool[0] = st->reserved_rv[0] = '\0';
        } else if (strcmp(o->tag, "claim-create") == 0) {
            st->write1_inflight = 0;
            if (o->err == 0) {
                char note[400];
                snprintf(note, sizeof note, "Created Sandbox \"%s\"",
                         jx_str_or(o->object, "metadata.name", p->name));
                event(p, "Normal", "SandboxProvisioned", "Provisioning", note);
                replace_ref(&st->bound, o->object);
                snprintf(st->adopted, sizeof st->adopted, "%s",
                         jx_str_or(o->object, "metadata.name", p->name));
                st->adopted_at_ms = p->now;
                p->rep->launch = "cold";
            } else if (o->err == ERR_EXISTS) {
                p->create_pending = 1;
            } else {
                fail(p, REC_CE_OTHER, "creating Sandbox: %s%s", o->message, NULL);
                transient(p, o->err, "creating Sandbox", o->message);
            }
        } else if (strcmp(o->tag, "claim-status") == 0) {
            st->status_inflight = 0;
            if (o->err == 0) {
                if (o->object && rec_meta_rv_cmp(o->object, p->in->claim) > 0)
                    replace_ref(&st->claim_view, o->object);
            } else {
                replace_ref(&st->last_status, NULL); /* unknown: recompute and resend */
                if (o->err == ERR_CONFLICT)
                    requeue(p, 50); /* the fresher claim is on its way */
                else if (o->err != ERR_NOTFOUND && !p->out->error) {
                    p->out->error = o->err; /* transient: the shard retries with backoff */
                    snprintf(p->out->error_msg, sizeof p->out->error_msg,
                             "writing claim status: %s", o->message);
                }
            }
        } else if (strcmp(o->tag, "claim-meta") == 0) {
            st->meta_inflight = 0;
            if (o->err == 0 && o->object && rec_meta_rv_cmp(o->object, p->in->claim) > 0)
                replace_ref(&st->claim_view, o->object);
            if (o->err != 0) replace_ref(&st->meta_sent, NULL);
        } else if (strcmp(o->tag, "claim-sandbox-patch") == 0) {
            if (o->err == ERR_CONFLICT) requeue(p, 50);
        }
    }
}

/* ---- expiry -------------------------------------------------------------- */

/* expireAt = min(shutdownTime, Finished.lastTransitionTime + ttl); 0 = never. */
static int64_t
expire_at(json_object *claim)
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
static json_object *
current_status(pass *p)
{
    return p->st->last_status ? p->st->last_status : jx_obj(p->claim, "status");
}

static int
ready_true(json_object *status)
{
    return rec_cond_is_true(jx_arr(status, "conditions"), "Ready");
}

/* Build and (if it differs) send write 2. sb may be NULL. */
static int
write_status(pass *p, json_object *sb, int expired, int clear_sandbox)
{
    json_object *cur = current_status(p);
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
    if (ready_true(status) && !ready_true(cur) && p->st->ready_at_ns == 0) {
        p->st->ready_at_ns = p->now * 1000000;
        p->rep->became_ready = 1;
    }
    replace_ref(&p->st->last_status, status);
    json_object_put(status);
    p->st->status_inflight = 1;
    return 0;
fail:
    json_object_put(conds);
    return ERR_NOMEM;
}

/* Write 3: the claim's annotations, once its status is written. */
static int
write_meta(pass *p, json_object *sb)
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
        if (rec_meta_map_str(anns, REC_ANN_FIRST_READY) == NULL && ready_true(current_status(p)))
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

/* ---- finding the claim's Sandbox ------------------------------------------ */

static int
is_valid_candidate(pass *p, json_object *sb)
{
    const char *pool = NULL;
    return sb && strcmp(jx_str_or(sb, "metadata.namespace", p->ns), p->ns) == 0 &&
           pool_sandbox_adoptable(sb, &pool) && strcmp(pool, p->pool_name) == 0;
}

/* Returns the bound Sandbox (controlled by the claim) or NULL; may set an
 * error (name clash) or emit write 1 for a pool-owned Sandbox the claim's
 * annotation already names (*adopting). *launch says how it was bound. */
static json_object *
find_bound(pass *p, const char **launch)
{
    json_object *cur = current_status(p);
    const char *sname = jx_str(cur, "sandbox.name");
    json_object *sb;
    *launch = NULL;
    if (sname && *sname && (sb = sandbox_view(p, sname)) && rec_meta_is_controlled_by(sb, p->uid)) {
        *launch = strcmp(sname, p->name) != 0 || jx_annotation(p->claim, REC_ANN_SANDBOX_NAME)
                      ? "warm"
                      : "cold";
        return sb;
    }
    const char *aname = jx_annotation(p->claim, REC_ANN_SANDBOX_NAME);
    if (aname == NULL) aname = jx_label(p->claim, REC_ANN_SANDBOX_NAME); /* legacy label */
    if (aname && *aname && (sb = sandbox_view(p, aname)) && rec_meta_is_controlled_by(sb, p->uid)) {
        *launch = "warm";
        return sb;
    }
    /* Anything the store shows controlled by the claim: the ownerReference
     * is the record of a finished write 1 (crash between writes 1 and 2). */
    json_object *best = NULL;
    for (size_t i = 0; i < p->in->n_controlled; i++) {
        json_object *c = p->in->controlled[i];
        if (!rec_meta_is_controlled_by(c, p->uid)) continue;
        if (best == NULL || (jx_str(best, "metadata.deletionTimestamp") &&
                             !jx_str(c, "metadata.deletionTimestamp")))
            best = c;
    }
    if (best) {
        best = sandbox_view(p, jx_str_or(best, "metadata.name", ""));
        *launch = strcmp(jx_str_or(best, "metadata.name", ""), p->name) ? "warm" : "cold";
        return best;
    }
    if (p->st->bound && rec_meta_is_controlled_by(p->st->bound, p->uid)) {
        sb = sandbox_view(p, jx_str_or(p->st->bound, "metadata.name", ""));
        if (sb && rec_meta_is_controlled_by(sb, p->uid)) {
            *launch = strcmp(jx_str_or(sb, "metadata.name", ""), p->name) ? "warm" : "cold";
            return sb;
        }
    }
    sb = sandbox_view(p, p->name);
    if (sb) {
        if (rec_meta_is_controlled_by(sb, p->uid)) {
            *launch = "cold";
            return sb;
        }
        fail(p, REC_CE_OTHER,
             "sandbox \"%s\" is not controlled by claim \"%s\". Please use a different claim name "
             "or delete the sandbox manually",
             p->name, p->name);
    }
    return NULL;
}

/* Emit write 1 for candidate sb. Returns 1 when emitted, 0 when the
 * candidate cannot be used (error set for user errors), ERR_NOMEM. */
static int
emit_adopt(pass *p, json_object *sb)
{
    char err[1024];
    enum rec_claim_err kind;
    json_object *patch = rec_claim_adopt_patch(p->claim, sb, p->in->tmpl, &kind, err, sizeof err);
    if (patch == NULL) {
        if (kind == REC_CE_NONE) return ERR_NOMEM;
        fail(p, kind, "%s%s", err, NULL);
        return 0;
    }
    const char *name = jx_str_or(sb, "metadata.name", "");
    if (rec_result_add_write(p->out, REC_PATCH_MERGE, &KUBE_SANDBOXES, p->ns, name, NULL, patch,
                             "claim-adopt") == NULL)
        return ERR_NOMEM;
    snprintf(p->st->reserved, sizeof p->st->reserved, "%s", name);
    snprintf(p->st->reserved_pool, sizeof p->st->reserved_pool, "%s", p->pool_name);
    snprintf(p->st->reserved_rv, sizeof p->st->reserved_rv, "%s",
             jx_str_or(sb, "metadata.resourceVersion", ""));
    p->st->write1_inflight = 1;
    p->rep->pool_changed = 1;
    snprintf(p->rep->sandbox, sizeof p->rep->sandbox, "%s", name);
    return 1;
}

static int
recreate_rejects(pass *p, json_object *sb)
{
    char bp[9];
    json_object *tmpl = p->in->tmpl;
    if (tmpl == NULL ||
        strcmp(jx_str_or(p->in->pool, "spec.updateStrategy.type", ""), "Recreate") != 0)
        return 0;
    if (rec_bp_hashes(tmpl, NULL, bp) != 0) return 0;
    const char *have = jx_label(sb, REC_LABEL_TEMPLATE_HASH);
    if (have && strcmp(have, bp) == 0) return 0;
    return rec_bp_differs(sb, tmpl) == 1;
}

/* Warm adoption from pools/. Returns 1 when write 1 was emitted, 0 when
 * nothing was taken (*pending = members still without podIPs), ERR_NOMEM. */
static int
adopt_warm(pass *p, size_t *pending)
{
    pool_set *ps = p->in->pools;
    *pending = 0;
    if (ps == NULL) return 0;
    /* A legacy crash record: the annotation names a Sandbox still in the pool. */
    const char *aname = jx_annotation(p->claim, REC_ANN_SANDBOX_NAME);
    json_object *named = aname ? sandbox_view(p, aname) : NULL;
    if (named && is_valid_candidate(p, named) && !pool_is_reserved(ps, p->ns, aname))
        return emit_adopt(p, named);
    int attempts = p->cfg->max_adopt_attempts > 0 ? p->cfg->max_adopt_attempts : 3;
    for (int i = 0; i < attempts; i++) {
        pool_pick pick;
        if (pool_take(ps, p->ns, p->pool_name, &pick) != 0) {
            *pending = pick.pending;
            return 0;
        }
        json_object *sb = p->in->lookup ? p->in->lookup(p->in->lookup_ud, p->ns, pick.name) : NULL;
        if (!is_valid_candidate(p, sb) || recreate_rejects(p, sb)) {
            /* gone, taken, or stale under Recreate (the pool deletes it) */
            pool_done(ps, p->ns, pick.name);
            continue;
        }
        int rc = emit_adopt(p, sb);
        if (rc != 1) pool_release(ps, p->ns, pick.name);
        return rc;
    }
    pool_stats stats;
    pool_get_stats(ps, p->ns, p->pool_name, &stats);
    if (stats.ready + stats.fallback > 0)
        p->adopt_exhausted = 1; /* more candidates: try again at once */
    *pending = stats.pending;
    return 0;
}

static int
cold_create(pass *p)
{
    char err[1536];
    enum rec_claim_err kind;
    if (p->in->pool == NULL) {
        fail(p, REC_CE_POOL_NOT_FOUND, "", NULL, NULL);
        return 0;
    }
    if (p->in->tmpl == NULL) {
        fail(p, REC_CE_TEMPLATE_NOT_FOUND, "", NULL, NULL);
        return 0;
    }
    json_object *body = rec_claim_cold_sandbox(p->claim, p->in->tmpl, &kind, err, sizeof err);
    if (body == NULL) {
        if (kind == REC_CE_NONE) return ERR_NOMEM;
        fail(p, kind, "%s%s", err, NULL);
        return 0;
    }
    if (rec_result_add_write(p->out, REC_CREATE, &KUBE_SANDBOXES, p->ns, NULL, NULL, body,
                             "claim-create") == NULL)
        return ERR_NOMEM;
    p->st->write1_inflight = 1;
    snprintf(p->rep->sandbox, sizeof p->rep->sandbox, "%s", p->name);
    return 1;
}

/* ---- the pass ---------------------------------------------------------------- */

static int
has_items(json_object *claim, const char *path)
{
    json_object *a = jx_arr(claim, path);
    return a && json_object_array_length(a) > 0;
}

static int
apm_non_empty(json_object *claim)
{
    json_object *l = jx_obj(claim, "spec.additionalPodMetadata.labels");
    json_object *a = jx_obj(claim, "spec.additionalPodMetadata.annotations");
    return (l && json_object_object_length(l) > 0) || (a && json_object_object_length(a) > 0);
}

static int
expiry(pass *p, int64_t at, int *done)
{
    json_object *cur = current_status(p);
    const char *reason = rec_cond_reason(jx_arr(cur, "conditions"), "Ready");
    *done = 1;
    if (reason == NULL || strcmp(reason, "ClaimExpired") != 0) {
        event(p, "Normal", "ClaimExpired", "Claim Expired", "Claim expired");
        requeue(p, 1);
        json_object *sb = NULL;
        const char *sname = jx_str(cur, "sandbox.name");
        if (sname) sb = sandbox_view(p, sname);
        if (sb && !rec_meta_is_controlled_by(sb, p->uid)) sb = NULL;
        return write_status(p, sb, 1, 0);
    }
    const char *policy = jx_str_or(p->claim, "spec.lifecycle.shutdownPolicy", "Retain");
    if (strcmp(policy, "Delete") == 0 || strcmp(policy, "DeleteForeground") == 0) {
        char note[128];
        snprintf(note, sizeof note, "Deleting Claim (ShutdownPolicy=%s)", policy);
        event(p, "Normal", "ClaimExpired", "Deleting", note);
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
    json_object *sb = sandbox_view(p, sname);
    int clear = 0;
    if (sb && !rec_meta_is_controlled_by(sb, p->uid)) {
        char e[600];
        snprintf(e, sizeof e, "sandbox \"%s\" is not controlled by claim \"%s\"", sname, p->name);
        fail(p, REC_CE_EXPIRED_NOT_OURS, "%s%s", e, NULL);
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
    return write_status(p, sb, 1, clear);
}

int
rec_claim_reconcile(const rec_claim_config *cfg, rec_claim_state *st, const rec_claim_input *in,
                    rec_result *out, rec_claim_report *report)
{
    rec_claim_report rep_local;
    rec_claim_report *rep = report ? report : &rep_local;
    memset(rep, 0, sizeof *rep);
    rep->ready_reason = "";
    json_object *claim = in->claim;
    if (claim == NULL) {
        rec_claim_forget(st, in->pools, NULL);
        return 0;
    }
    pass p = {.cfg = cfg, .st = st, .in = in, .out = out, .rep = rep, .now = in->now_ms};
    p.uid = jx_str_or(claim, "metadata.uid", "");
    p.ns = jx_str_or(claim, "metadata.namespace", "");
    p.name = jx_str_or(claim, "metadata.name", "");
    if (*p.uid == '\0' || *p.name == '\0' || *p.ns == '\0') {
        /* malformed cache object: nothing safe to write (an ownerReference
         * needs the UID); the next event brings a complete one */
        LOG_W("claim", "claim without uid/name/namespace skipped", "ns=%s name=%s", p.ns, p.name);
        return 0;
    }
    if (strcmp(st->uid, p.uid) != 0) { /* first pass, or a new claim with the same name */
        rec_claim_forget(st, in->pools, NULL);
        snprintf(st->uid, sizeof st->uid, "%s", p.uid);
        snprintf(st->ns, sizeof st->ns, "%s", p.ns);
    }
    if (st->first_observed_ns == 0) {
        int64_t t;
        const char *a = jx_annotation(claim, REC_ANN_FIRST_OBSERVED);
        st->first_observed_ns =
            a && time_parse_rfc3339(a, &t) == 0 ? t * 1000000 : in->now_ms * 1000000;
    }
    if (st->claim_view && rec_meta_rv_cmp(st->claim_view, claim) <= 0)
        replace_ref(&st->claim_view, NULL);
    p.claim = st->claim_view ? st->claim_view : claim;
    p.gen = jx_int(claim, "metadata.generation", 0);
    p.pool_name = jx_str_or(claim, "spec.warmPoolRef.name", "");
    p.tmpl_name = jx_str_or(in->pool, "spec.sandboxTemplateRef.name", "");

    settle(&p);
    if (st->write1_inflight) return 0; /* write 1's outcome is not back: nothing to decide yet */
    if (st->adopted[0] && p.now - st->adopted_at_ms >= ADOPTED_WAIT_MS) {
        st->adopted[0] = '\0'; /* the store never showed it: it is gone, start over */
        replace_ref(&st->bound, NULL);
    }
    if (st->adopted[0]) {
        /* Write 1 succeeded: until some view shows that Sandbox as ours
         * (the returned object, or the store catching up), never take
         * another one. */
        json_object *v = sandbox_view(&p, st->adopted);
        if (v == NULL || !rec_meta_is_controlled_by(v, p.uid)) {
            requeue(&p, 20);
            return 0;
        }
        if (st->bound == NULL) st->adopted[0] = '\0'; /* the store has it */
    }

    if (in->legacy_np && rec_meta_is_controlled_by(in->legacy_np, p.uid) &&
        jx_str(in->legacy_np, "metadata.deletionTimestamp") == NULL) {
        char np[300];
        snprintf(np, sizeof np, "%s-network-policy", p.name);
        if (rec_result_add_write(out, REC_DELETE, &KUBE_NETWORKPOLICIES, p.ns, np, NULL, NULL,
                                 "claim-np-delete") == NULL)
            return ERR_NOMEM;
    }
    if (jx_str(claim, "metadata.deletionTimestamp") != NULL)
        return 0; /* no finalizer: GC removes the Sandbox */

    int64_t at = expire_at(p.claim);
    if (at > 0 && p.now >= at) {
        int done;
        int rc = expiry(&p, at, &done);
        if (rc == 0 && !out->error && !p.deleting_claim) rc = write_meta(&p, NULL);
        return rc;
    }
    if (at > 0) requeue(&p, at - p.now);

    /* Active path. */
    json_object *sb = NULL;
    const char *launch = NULL;
    char err[1536];
    int rc = 0;
    if (rec_claim_validate_metadata(jx_get(claim, "spec.additionalPodMetadata"), cfg->label_domains,
                                    err, sizeof err) != 0) {
        fail(&p, REC_CE_INVALID_METADATA, "%s%s", err, NULL);
    } else {
        sb = find_bound(&p, &launch);
    }
    if (sb) {
        snprintf(rep->sandbox, sizeof rep->sandbox, "%s", jx_str_or(sb, "metadata.name", ""));
        if (in->tmpl == NULL && apm_non_empty(claim)) {
            if (in->pool == NULL)
                fail(&p, REC_CE_POOL_NOT_FOUND, "", NULL, NULL);
            else
                fail(&p, REC_CE_TEMPLATE_NOT_FOUND, "", NULL, NULL);
        } else if (jx_str(sb, "metadata.deletionTimestamp") == NULL) {
            enum rec_claim_err kind;
            json_object *patch =
                rec_claim_sync_patch(claim, sb, in->tmpl, launch, &kind, err, sizeof err);
            if (patch) {
                if (rec_result_add_write(out, REC_PATCH_MERGE, &KUBE_SANDBOXES, p.ns,
                                         jx_str_or(sb, "metadata.name", ""), NULL, patch,
                                         "claim-sandbox-patch") == NULL)
                    return ERR_NOMEM;
            } else if (kind != REC_CE_NONE) {
                fail(&p, kind, "%s%s", err, NULL);
            }
        }
    } else if (p.err == REC_CE_NONE && !p.create_pending) {
        size_t pending = 0;
        int cold_only =
            has_items(claim, "spec.env") || has_items(claim, "spec.volumeClaimTemplates");
        if (!cold_only && in->pool) {
            rc = adopt_warm(&p, &pending);
            if (rc != 0) return rc < 0 ? rc : 0; /* write 1 in flight */
            if (p.adopt_exhausted) {
                requeue(&p, 0);
                return 0;
            }
            int64_t born = 0;
            const char *ct = jx_str(claim, "metadata.creationTimestamp");
            if (ct == NULL || time_parse_rfc3339(ct, &born) != 0)
                born = st->first_observed_ns / 1000000;
            int64_t age = p.now - born;
            if (pending > 0 && age < cfg->warm_grace_ms) {
                int64_t wait = cfg->warm_grace_ms - age;
                requeue(&p, wait < PENDING_POLL_MS ? wait : PENDING_POLL_MS);
                return 0; /* warm candidates pending: status untouched */
            }
        }
        rc = cold_create(&p);
        if (rc != 0) return rc < 0 ? rc : 0;
    }
    if (p.create_pending && p.err == REC_CE_NONE && sb == NULL) {
        p.err = REC_CE_CREATE_PENDING;
        requeue(&p, CREATE_PENDING_MS);
        if (jx_str(current_status(&p), "sandbox.name"))
            return 0; /* cache lag with a known name: leave the status alone */
    }
    if (p.err == REC_CE_POOL_NOT_FOUND || p.err == REC_CE_TEMPLATE_NOT_FOUND)
        requeue(&p,
                at > 0 && at - p.now < NOT_FOUND_REQUEUE_MS ? at - p.now : NOT_FOUND_REQUEUE_MS);
    int clear = sb == NULL && (p.err == REC_CE_NONE ||
                               (p.err == REC_CE_OTHER && strstr(p.msg, "is not controlled by")));
    if ((rc = write_status(&p, sb, 0, clear)) != 0) return rc;
    return write_meta(&p, sb);
}
