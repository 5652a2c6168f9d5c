/* claim.c - the SandboxClaim pass (see claim.h for the contract and the
 * order of writes).
 *
 * Shape of one pass:
 *   settle outcomes -> legacy NP -> deleting? -> expiry -> active path
 *   (validate, find the bound Sandbox, else adopt a warm one [return:
 *   write 1 in flight], else cold create [return]) -> status (write 2)
 *   -> annotations (write 3, only when no status write is pending).
 * A pass that issued write 1 returns at once: the status is written by the
 * pass that sees write 1's outcome, with the object the server returned.
 * Status, annotations and expiry live in claim_status.c. */
#include "reconciler/claim.h"
#include "reconciler/claim_internal.h"

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

void
rec__claim_ref_set(json_object **slot, json_object *v)
{
    json_object *old = *slot;
    *slot = v ? json_object_get(v) : NULL;
    json_object_put(old);
}

/* ---- pass helpers (shared with claim_status.c through claim_internal.h) -- */

void
rec__claim_fail(rec__claim_pass *p, enum rec_claim_err e, const char *fmt, const char *a,
                const char *b)
{
    if (p->err != REC_CE_NONE) return;
    p->err = e;
    snprintf(p->msg, sizeof p->msg, fmt, a ? a : "", b ? b : "");
}

void
rec__claim_requeue(rec__claim_pass *p, int64_t ms)
{
    if (ms < 0) ms = 0;
    if (p->out->requeue_after_ms < 0 || ms < p->out->requeue_after_ms)
        p->out->requeue_after_ms = ms;
}

void
rec__claim_event(rec__claim_pass *p, const char *type, const char *reason, const char *action,
                 const char *note)
{
    if (!p->cfg->disable_events)
        rec_result_add_event(p->out, &KUBE_SANDBOXCLAIMS, p->ns, p->name, p->uid, type, reason,
                             action, note);
}

/* The freshest view of Sandbox `name`: the store's copy or the object a
 * write of ours returned (kept until the store catches up). */
json_object *
rec__claim_view(rec__claim_pass *p, const char *name)
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
            rec__claim_ref_set(&p->st->bound, NULL); /* the store has caught up */
        return s;
    }
    if (c < 0) return b;
    /* not comparable: trust the view that shows our own write */
    return rec_meta_is_controlled_by(s, p->uid) ? s : b;
}

static void
transient(rec__claim_pass *p, int err, const char *what, const char *msg)
{
    if (p->out->error) return;
    p->out->error = err; /* the shard retries with backoff */
    snprintf(p->out->error_msg, sizeof p->out->error_msg, "%s: %s", what, msg);
}

/* ---- outcomes ------------------------------------------------------------ */

static void
settle(rec__claim_pass *p)
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
                rec__claim_event(p, "Normal", "SandboxAdopted", "Adoption", note);
                rec__claim_ref_set(&st->bound, o->object);
                snprintf(st->adopted, sizeof st->adopted, "%s", st->reserved);
                st->adopted_at_ms = p->now;
                if (p->in->pools) pool_done(p->in->pools, p->ns, st->reserved);
                p->rep->launch = "warm";
            } else {
                if (o->err == ERR_CONFLICT || o->err == ERR_NOTFOUND)
                    p->rep->adopt_conflicts++;
                else {
                    rec__claim_fail(p, REC_CE_OTHER, "adopting Sandbox \"%s\": %s", st->reserved,
                                    o->message);
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
                rec__claim_event(p, "Normal", "SandboxProvisioned", "Provisioning", note);
                rec__claim_ref_set(&st->bound, o->object);
                snprintf(st->adopted, sizeof st->adopted, "%s",
                         jx_str_or(o->object, "metadata.name", p->name));
                st->adopted_at_ms = p->now;
                p->rep->launch = "cold";
            } else if (o->err == ERR_EXISTS) {
                p->create_pending = 1;
            } else {
                rec__claim_fail(p, REC_CE_OTHER, "creating Sandbox: %s%s", o->message, NULL);
                transient(p, o->err, "creating Sandbox", o->message);
            }
        } else if (strcmp(o->tag, "claim-status") == 0) {
            st->status_inflight = 0;
            if (o->err == 0) {
                if (o->object && rec_meta_rv_cmp(o->object, p->in->claim) > 0)
                    rec__claim_ref_set(&st->claim_view, o->object);
            } else {
                rec__claim_ref_set(&st->last_status, NULL); /* unknown: recompute and resend */
                if (o->err == ERR_CONFLICT)
                    rec__claim_requeue(p, 50); /* the fresher claim is on its way */
                else if (o->err != ERR_NOTFOUND && !p->out->error) {
                    p->out->error = o->err; /* transient: the shard retries with backoff */
                    snprintf(p->out->error_msg, sizeof p->out->error_msg,
                             "writing claim status: %s", o->message);
                }
            }
        } else if (strcmp(o->tag, "claim-meta") == 0) {
            st->meta_inflight = 0;
            if (o->err == 0 && o->object && rec_meta_rv_cmp(o->object, p->in->claim) > 0)
                rec__claim_ref_set(&st->claim_view, o->object);
            if (o->err != 0) rec__claim_ref_set(&st->meta_sent, NULL);
        } else if (strcmp(o->tag, "claim-sandbox-patch") == 0) {
            if (o->err == ERR_CONFLICT) rec__claim_requeue(p, 50);
        }
    }
}

/* ---- finding the claim's Sandbox ------------------------------------------ */

static int
is_valid_candidate(rec__claim_pass *p, json_object *sb)
{
    const char *pool = NULL;
    return sb && strcmp(jx_str_or(sb, "metadata.namespace", p->ns), p->ns) == 0 &&
           pool_sandbox_adoptable(sb, &pool) && strcmp(pool, p->pool_name) == 0;
}

/* Returns the bound Sandbox (controlled by the claim) or NULL; may set an
 * error (name clash) or emit write 1 for a pool-owned Sandbox the claim's
 * annotation already names (*adopting). *launch says how it was bound. */
static json_object *
find_bound(rec__claim_pass *p, const char **launch)
{
    json_object *cur = rec__claim_current_status(p);
    const char *sname = jx_str(cur, "sandbox.name");
    json_object *sb;
    *launch = NULL;
    if (sname && *sname && (sb = rec__claim_view(p, sname)) &&
        rec_meta_is_controlled_by(sb, p->uid)) {
        *launch = strcmp(sname, p->name) != 0 || jx_annotation(p->claim, REC_ANN_SANDBOX_NAME)
                      ? "warm"
                      : "cold";
        return sb;
    }
    const char *aname = jx_annotation(p->claim, REC_ANN_SANDBOX_NAME);
    if (aname == NULL) aname = jx_label(p->claim, REC_ANN_SANDBOX_NAME); /* legacy label */
    if (aname && *aname && (sb = rec__claim_view(p, aname)) &&
        rec_meta_is_controlled_by(sb, p->uid)) {
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
        best = rec__claim_view(p, jx_str_or(best, "metadata.name", ""));
        *launch = strcmp(jx_str_or(best, "metadata.name", ""), p->name) ? "warm" : "cold";
        return best;
    }
    if (p->st->bound && rec_meta_is_controlled_by(p->st->bound, p->uid)) {
        sb = rec__claim_view(p, jx_str_or(p->st->bound, "metadata.name", ""));
        if (sb && rec_meta_is_controlled_by(sb, p->uid)) {
            *launch = strcmp(jx_str_or(sb, "metadata.name", ""), p->name) ? "warm" : "cold";
            return sb;
        }
    }
    sb = rec__claim_view(p, p->name);
    if (sb) {
        if (rec_meta_is_controlled_by(sb, p->uid)) {
            *launch = "cold";
            return sb;
        }
        rec__claim_fail(
            p, REC_CE_OTHER,
            "sandbox \"%s\" is not controlled by claim \"%s\". Please use a different claim name "
            "or delete the sandbox manually",
            p->name, p->name);
    }
    return NULL;
}

/* Emit write 1 for candidate sb. Returns 1 when emitted, 0 when the
 * candidate cannot be used (error set for user errors), ERR_NOMEM. */
static int
emit_adopt(rec__claim_pass *p, json_object *sb)
{
    char err[1024];
    enum rec_claim_err kind;
    json_object *patch = rec_claim_adopt_patch(p->claim, sb, p->in->tmpl, &kind, err, sizeof err);
    if (patch == NULL) {
        if (kind == REC_CE_NONE) return ERR_NOMEM;
        rec__claim_fail(p, kind, "%s%s", err, NULL);
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
recreate_rejects(rec__claim_pass *p, json_object *sb)
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
adopt_warm(rec__claim_pass *p, size_t *pending)
{
    pool_set *ps = p->in->pools;
    *pending = 0;
    if (ps == NULL) return 0;
    /* A legacy crash record: the annotation names a Sandbox still in the pool. */
    const char *aname = jx_annotation(p->claim, REC_ANN_SANDBOX_NAME);
    json_object *named = aname ? rec__claim_view(p, aname) : NULL;
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
cold_create(rec__claim_pass *p)
{
    char err[1536];
    enum rec_claim_err kind;
    if (p->in->pool == NULL) {
        rec__claim_fail(p, REC_CE_POOL_NOT_FOUND, "", NULL, NULL);
        return 0;
    }
    if (p->in->tmpl == NULL) {
        rec__claim_fail(p, REC_CE_TEMPLATE_NOT_FOUND, "", NULL, NULL);
        return 0;
    }
    json_object *body = rec_claim_cold_sandbox(p->claim, p->in->tmpl, &kind, err, sizeof err);
    if (body == NULL) {
        if (kind == REC_CE_NONE) return ERR_NOMEM;
        rec__claim_fail(p, kind, "%s%s", err, NULL);
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
    rec__claim_pass p = {.cfg = cfg, .st = st, .in = in, .out = out, .rep = rep, .now = in->now_ms};
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
    p.gen = jx_int(claim, "metadata.generation", 0);
    p.pool_name = jx_str_or(claim, "spec.warmPoolRef.name", "");
    p.tmpl_name = jx_str_or(in->pool, "spec.sandboxTemplateRef.name", "");

    settle(&p);
    /* Only now pick the claim view: settle may replace st->claim_view with a
     * newer returned claim, which releases the previous one (the state held
     * its only reference), so a view chosen before settle could dangle. */
    if (st->claim_view && rec_meta_rv_cmp(st->claim_view, claim) <= 0)
        rec__claim_ref_set(&st->claim_view, NULL);
    p.claim = st->claim_view ? st->claim_view : claim;
    if (st->write1_inflight) return 0; /* write 1's outcome is not back: nothing to decide yet */
    if (st->adopted[0] && p.now - st->adopted_at_ms >= ADOPTED_WAIT_MS) {
        st->adopted[0] = '\0'; /* the store never showed it: it is gone, start over */
        rec__claim_ref_set(&st->bound, NULL);
    }
    if (st->adopted[0]) {
        /* Write 1 succeeded: until some view shows that Sandbox as ours
         * (the returned object, or the store catching up), never take
         * another one. */
        json_object *v = rec__claim_view(&p, st->adopted);
        if (v == NULL || !rec_meta_is_controlled_by(v, p.uid)) {
            rec__claim_requeue(&p, 20);
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

    int64_t at = rec__claim_expire_at(p.claim);
    if (at > 0 && p.now >= at) {
        int done;
        int rc = rec__claim_expiry(&p, at, &done);
        if (rc == 0 && !out->error && !p.deleting_claim) rc = rec__claim_write_meta(&p, NULL);
        return rc;
    }
    if (at > 0) rec__claim_requeue(&p, at - p.now);

    /* Active path. */
    json_object *sb = NULL;
    const char *launch = NULL;
    char err[1536];
    int rc = 0;
    if (rec_claim_validate_metadata(jx_get(claim, "spec.additionalPodMetadata"), cfg->label_domains,
                                    err, sizeof err) != 0) {
        rec__claim_fail(&p, REC_CE_INVALID_METADATA, "%s%s", err, NULL);
    } else {
        sb = find_bound(&p, &launch);
    }
    if (sb) {
        snprintf(rep->sandbox, sizeof rep->sandbox, "%s", jx_str_or(sb, "metadata.name", ""));
        if (in->tmpl == NULL && apm_non_empty(claim)) {
            if (in->pool == NULL)
                rec__claim_fail(&p, REC_CE_POOL_NOT_FOUND, "", NULL, NULL);
            else
                rec__claim_fail(&p, REC_CE_TEMPLATE_NOT_FOUND, "", NULL, NULL);
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
                rec__claim_fail(&p, kind, "%s%s", err, NULL);
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
                rec__claim_requeue(&p, 0);
                return 0;
            }
            int64_t born = 0;
            const char *ct = jx_str(claim, "metadata.creationTimestamp");
            if (ct == NULL || time_parse_rfc3339(ct, &born) != 0)
                born = st->first_observed_ns / 1000000;
            int64_t age = p.now - born;
            if (pending > 0 && age < cfg->warm_grace_ms) {
                int64_t wait = cfg->warm_grace_ms - age;
                rec__claim_requeue(&p, wait < PENDING_POLL_MS ? wait : PENDING_POLL_MS);
                return 0; /* warm candidates pending: status untouched */
            }
        }
        rc = cold_create(&p);
        if (rc != 0) return rc < 0 ? rc : 0;
    }
    if (p.create_pending && p.err == REC_CE_NONE && sb == NULL) {
        p.err = REC_CE_CREATE_PENDING;
        rec__claim_requeue(&p, CREATE_PENDING_MS);
        if (jx_str(rec__claim_current_status(&p), "sandbox.name"))
            return 0; /* cache lag with a known name: leave the status alone */
    }
    if (p.err == REC_CE_POOL_NOT_FOUND || p.err == REC_CE_TEMPLATE_NOT_FOUND)
        rec__claim_requeue(&p, at > 0 && at - p.now < NOT_FOUND_REQUEUE_MS ? at - p.now
                                                                           : NOT_FOUND_REQUEUE_MS);
    int clear = sb == NULL && (p.err == REC_CE_NONE ||
                               (p.err == REC_CE_OTHER && strstr(p.msg, "is not controlled by")));
    if ((rc = rec__claim_write_status(&p, sb, 0, clear)) != 0) return rc;
    return rec__claim_write_meta(&p, sb);
}
