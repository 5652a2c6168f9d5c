/* warmpool.c - SandboxWarmPool reconcile pass and its expectations.
 *
 * One pass: settle the previous pass's write outcomes into the
 * expectations; classify the listed members (terminating, foreign, stale,
 * orphan to adopt, label repair, stuck, active); then size the pool:
 *   total   = active + terminating + in-flight creates + created-unseen
 *   creates = desired - total            (when > 0 and the template exists)
 *   deletes = active + pending - desired (when > 0; non-Ready first, newest first)
 * and write status only when it changed and the pass saw no write error;
 * a change of the counts alone waits cfg->status_settle_ms (status_due). */
#include "reconciler/warmpool.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "reconciler/conditions.h"
#include "reconciler/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define EXPECT_TTL_MS  (5 * 60 * 1000)
#define EXPECT_RECHECK (30 * 1000)
#define STUCK_SLACK_MS 2000

void
rec_wp_config_default(rec_wp_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_batch = 300;
    c->readiness_grace_ms = 5 * 60 * 1000;
    c->unschedulable_recheck_ms = 60 * 1000;
    c->enable_eviction = 1;
    c->status_settle_ms = 1000;
}

/* ---- expectations ------------------------------------------------------ */

static void
names_free(rec_wp_name_at *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

void
rec_wp_expect_fini(rec_wp_expect *e)
{
    names_free(e->created, e->n_created);
    names_free(e->deleting, e->n_deleting);
    memset(e, 0, sizeof *e);
}

size_t
rec_wp_expect_pending_creates(const rec_wp_expect *e)
{
    return e->inflight + e->n_created;
}

static int
names_add(rec_wp_name_at **v, size_t *n, size_t *cap, const char *name, int64_t at)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        rec_wp_name_at *nv = realloc(*v, c * sizeof *nv);
        if (nv == NULL) return ERR_NOMEM;
        *v = nv;
        *cap = c;
    }
    if (((*v)[*n].name = strdup(name)) == NULL) return ERR_NOMEM;
    (*v)[(*n)++].at_ms = at;
    return 0;
}

static ssize_t
names_find(const rec_wp_name_at *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) return (ssize_t)i;
    return -1;
}

static void
names_del(rec_wp_name_at *v, size_t *n, size_t i)
{
    free(v[i].name);
    v[i] = v[--*n];
}

void
rec_wp_state_init(rec_wp_state *s)
{
    memset(s, 0, sizeof *s);
}

void
rec_wp_state_fini(rec_wp_state *s)
{
    rec_wp_expect_fini(&s->exp);
    rec_bp_memo_fini(&s->memo);
    memset(s, 0, sizeof *s);
}

/* ---- helpers ----------------------------------------------------------- */

typedef struct member {
    json_object *sb;
    const char *name;
    int ready;
    int64_t created_ms;
} member;

static int64_t
created_ms(json_object *sb)
{
    int64_t t = 0;
    const char *s = jx_str(sb, "metadata.creationTimestamp");
    if (s == NULL || time_parse_rfc3339(s, &t) != 0) return 0;
    return t;
}

/* delete order: non-Ready first, then newest first (then name, for determinism) */
static int
delete_order(const void *a, const void *b)
{
    const member *x = a, *y = b;
    if (x->ready != y->ready) return x->ready - y->ready;
    if (x->created_ms != y->created_ms) return x->created_ms > y->created_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void
min_requeue(rec_result *out, int64_t ms)
{
    if (ms < 0) ms = 0;
    if (out->requeue_after_ms < 0 || ms < out->requeue_after_ms) out->requeue_after_ms = ms;
}

static void
set_error(rec_result *out, int err, const char *fmt, const char *a, const char *b)
{
    if (out->error) return;
    out->error = err ? err : ERR_HTTP;
    snprintf(out->error_msg, sizeof out->error_msg, fmt, a ? a : "", b ? b : "");
}

static int
add_delete(rec_result *out, rec_wp_state *st, json_object *sb, const char *ns, int64_t now)
{
    const char *name = jx_str(sb, "metadata.name");
    rec_write *w =
        rec_result_add_write(out, REC_DELETE, &KUBE_SANDBOXES, ns, name, NULL, NULL, "wp-delete");
    if (w == NULL) return ERR_NOMEM;
    const char *uid = jx_str(sb, "metadata.uid");
    if (uid && (w->precondition_uid = strdup(uid)) == NULL) return ERR_NOMEM;
    return names_add(&st->exp.deleting, &st->exp.n_deleting, &st->exp.cap_deleting, name, now);
}

/* Outcomes of the previous pass. */
static void
settle_outcomes(rec_wp_state *st, const rec_wp_input *in, rec_result *out)
{
    for (size_t i = 0; i < in->n_outcomes; i++) {
        const rec_outcome *o = &in->outcomes[i];
        if (o->tag == NULL) continue;
        if (strcmp(o->tag, "wp-create") == 0) {
            if (st->exp.inflight > 0) st->exp.inflight--;
            const char *name = jx_str(o->object, "metadata.name");
            if (o->err == 0 && name != NULL)
                names_add(&st->exp.created, &st->exp.n_created, &st->exp.cap_created, name,
                          in->now_ms);
            else if (o->err != 0)
                set_error(out, o->err, "creating warm pool sandbox: %s%s", o->message, NULL);
        } else if (strcmp(o->tag, "wp-delete") == 0) {
            if (o->err != 0 && o->err != ERR_NOTFOUND && o->err != ERR_CONFLICT) {
                /* We cannot tell which delete failed: forget them all; the
                 * listing shows which are really gone (a repeated delete of
                 * one already gone answers 404, which is fine). */
                names_free(st->exp.deleting, st->exp.n_deleting);
                st->exp.deleting = NULL;
                st->exp.n_deleting = st->exp.cap_deleting = 0;
                set_error(out, o->err, "deleting warm pool sandbox: %s%s", o->message, NULL);
            }
        } else if (strcmp(o->tag, "wp-patch") == 0) {
            if (o->err != 0 && o->err != ERR_NOTFOUND && o->err != ERR_CONFLICT)
                set_error(out, o->err, "updating warm pool sandbox: %s%s", o->message, NULL);
            else if (o->err == ERR_CONFLICT)
                min_requeue(out, 0); /* the fresher object is on its way */
        } else if (strcmp(o->tag, "wp-status") == 0) {
            if (o->err != 0) st->status_known = 0;
        }
    }
}

void
rec_wp_member_digest(json_object *sb, rec_wp_mfacts *f)
{
    memset(f, 0, sizeof *f);
    f->name = jx_str(sb, "metadata.name");
    f->ns = jx_str(sb, "metadata.namespace");
    json_object *cref = rec_meta_controller_ref(sb);
    f->has_ctl = cref != NULL;
    f->ctl_uid = jx_str(cref, "uid");
    f->deleting = jx_str(sb, "metadata.deletionTimestamp") != NULL;
    const char *lt = jx_label(sb, REC_LABEL_LAUNCH_TYPE);
    f->launch_warm = lt != NULL && strcmp(lt, "warm") == 0;
    json_object *conds = jx_arr(sb, "status.conditions");
    f->ready = rec_cond_is_true(conds, "Ready");
    json_object *c = rec_cond_find(conds, "PodScheduled");
    f->unschedulable = c && strcmp(jx_str_or(c, "status", ""), "False") == 0 &&
                       strcmp(jx_str_or(c, "reason", ""), "Unschedulable") == 0;
    f->created_ms = created_ms(sb);
}

enum { ST_SAME, ST_COUNTS, ST_NOW };

/* How the wanted status differs from the last one written (or, before this
 * state wrote one, from the pool's stored status): ST_SAME, ST_COUNTS (only
 * replicas/readyReplicas: may settle) or ST_NOW (selector, generation, or
 * no status yet: write at once). */
static int
status_change(const rec_wp_state *st, json_object *pool, int64_t replicas, int64_t ready,
              const char *selector, int64_t gen)
{
    if (st->status_known && strcmp(st->st_selector, selector) == 0 && st->st_generation == gen)
        return st->st_replicas == replicas && st->st_ready == ready ? ST_SAME : ST_COUNTS;
    json_object *s = jx_obj(pool, "status");
    if (s == NULL || jx_int(s, "observedGeneration", -1) != gen ||
        strcmp(jx_str_or(s, "selector", ""), selector) != 0)
        return ST_NOW;
    return jx_int(s, "replicas", -1) == replicas && jx_int(s, "readyReplicas", -1) == ready
               ? ST_SAME
               : ST_COUNTS;
}

/* Write now? A count-only change waits until st_due_ms (set on the first
 * unwritten change); a change that nets out cancels the wait. */
static int
status_due(const rec_wp_config *cfg, rec_wp_state *st, int change, int64_t now, rec_result *out)
{
    if (change == ST_SAME) {
        st->st_due_ms = 0;
        return 0;
    }
    if (change == ST_NOW || cfg->status_settle_ms <= 0) return 1;
    if (st->st_due_ms == 0) st->st_due_ms = now + cfg->status_settle_ms;
    if (now >= st->st_due_ms) return 1;
    min_requeue(out, st->st_due_ms - now);
    return 0;
}

/* ---- the pass ------------------------------------------------------------ */

int
rec_warmpool_reconcile(const rec_wp_config *cfg, rec_wp_state *st, const rec_wp_input *in,
                       rec_result *out, rec_wp_report *report)
{
    rec_wp_report rep = {0};
    json_object *pool = in->pool;
    int64_t now = in->now_ms;
    int rc = 0;

    if (pool == NULL || jx_str(pool, "metadata.deletionTimestamp") != NULL) {
        rec_wp_state_fini(st); /* members go by ownerReference GC */
        if (report) *report = rep;
        return 0;
    }
    const char *ns = jx_str_or(pool, "metadata.namespace", "");
    const char *pname = jx_str_or(pool, "metadata.name", "");
    const char *uid = jx_str_or(pool, "metadata.uid", "");
    if (*uid == '\0' || *pname == '\0') {
        LOG_W("warmpool", "pool without uid/name skipped", "ns=%s name=%s", ns, pname);
        if (report) *report = rep;
        return 0;
    }
    if (strcmp(st->uid, uid) != 0) { /* a new incarnation of the pool */
        rec_wp_state_fini(st);
        snprintf(st->uid, sizeof st->uid, "%s", uid);
    }
    settle_outcomes(st, in, out);

    /* Template and its hashes. */
    char bp_hash[9] = "";
    json_object *tmpl = in->tmpl;
    const char *tname = jx_str_or(pool, "spec.sandboxTemplateRef.name", "");
    if (tmpl && rec_bp_hashes(tmpl, NULL, bp_hash) != 0)
        tmpl = NULL; /* a template without podTemplate cannot seed members */
    rep.template_ok = tmpl != NULL;
    if (!rep.template_ok && !st->template_missing) {
        char note[400];
        snprintf(note, sizeof note, "SandboxTemplate \"%s\" not found", tname);
        rec_result_add_event(out, &KUBE_SANDBOXWARMPOOLS, ns, pname, uid, "Warning",
                             "TemplateNotFound", "Reconciling", note);
        LOG_W("warmpool", "template not found", "ns=%s pool=%s template=%s", ns, pname, tname);
    }
    st->template_missing = !rep.template_ok;
    const char *strategy = jx_str_or(pool, "spec.updateStrategy.type", "OnReplenish");
    int recreate = strcmp(strategy, "Recreate") == 0;

    member *active = in->n_members ? calloc(in->n_members, sizeof *active) : NULL;
    if (in->n_members && active == NULL) return ERR_NOMEM;
    rec_wp_mfacts *own_facts = NULL;
    const rec_wp_mfacts *facts = in->facts;
    if (facts == NULL && in->n_members) {
        if ((own_facts = malloc(in->n_members * sizeof *own_facts)) == NULL) {
            free(active);
            return ERR_NOMEM;
        }
        for (size_t i = 0; i < in->n_members; i++)
            rec_wp_member_digest(in->members[i], &own_facts[i]);
        facts = own_facts;
    }
    size_t n_active = 0;
    int64_t terminating = 0;
    int held = 0;

    for (size_t i = 0; i < in->n_members; i++) {
        json_object *sb = in->members[i];
        const rec_wp_mfacts *f = &facts[i];
        const char *name = f->name;
        if (name == NULL || (f->ns != NULL && strcmp(f->ns, ns) != 0)) continue;
        ssize_t ci = names_find(st->exp.created, st->exp.n_created, name);
        if (ci >= 0) names_del(st->exp.created, &st->exp.n_created, (size_t)ci);
        int owned = *uid && f->ctl_uid != NULL && strcmp(f->ctl_uid, uid) == 0;
        int orphan = !f->has_ctl;
        ssize_t di = names_find(st->exp.deleting, st->exp.n_deleting, name);
        if (f->deleting) {
            if (di >= 0) names_del(st->exp.deleting, &st->exp.n_deleting, (size_t)di);
            if (owned) terminating++;
            continue;
        }
        if (!owned && !orphan) continue; /* e.g. adopted by a claim, label not yet gone */
        if (owned && di >= 0) {
            terminating++;
            continue;
        }
        if (tmpl && (recreate || orphan)) {
            int stale = rec_bp_stale(sb, tmpl, bp_hash, owned, &st->memo);
            if (stale < 0) {
                rc = stale;
                goto done;
            }
            if (stale) {
                if ((rc = add_delete(out, st, sb, ns, now)) != 0) goto done;
                rep.stale_deletes++;
                if (owned) terminating++;
                continue;
            }
        }
        if (orphan || !f->launch_warm) {
            json_object *patch = NULL;
            if (rec_meta_patch_set(&patch, "labels", REC_LABEL_LAUNCH_TYPE, "warm") != 0) {
                rc = ERR_NOMEM;
                goto done;
            }
            json_object *md = jx_obj(patch, "metadata");
            const char *rv = jx_str(sb, "metadata.resourceVersion");
            if (rv) /* compare-and-swap: never adopt over someone else's write */
                jx_set_str(md, "resourceVersion", rv);
            if (orphan) {
                /* A copy: the member object may be held across passes by
                 * the wiring (and freed on this thread) while the I/O thread
                 * serializes and frees this patch; json-c reference counts
                 * are not atomic, so the patch shares nothing with it. */
                json_object *shared = rec_meta_owner_refs_with(
                    sb, rec_meta_owner_ref_new(&KUBE_SANDBOXWARMPOOLS, pool));
                json_object *refs = shared ? rec_json_copy(shared) : NULL;
                json_object_put(shared);
                if (refs == NULL) {
                    json_object_put(patch);
                    rc = ERR_NOMEM;
                    goto done;
                }
                json_object_object_add(md, "ownerReferences", refs);
            }
            if (rec_result_add_write(out, REC_PATCH_MERGE, &KUBE_SANDBOXES, ns, name, NULL, patch,
                                     "wp-patch") == NULL) {
                rc = ERR_NOMEM;
                goto done;
            }
        }
        int ready = f->ready;
        int64_t born = f->created_ms;
        if (!ready) {
            int64_t age = now - born;
            if (age >= cfg->readiness_grace_ms) {
                if (f->unschedulable) {
                    held++;
                } else {
                    if ((rc = add_delete(out, st, sb, ns, now)) != 0) goto done;
                    rep.stuck_deletes++;
                    terminating++;
                    continue;
                }
            } else {
                /* jittered up to +50% (per member, deterministic) so a
                 * batch created together is not re-checked together */
                int64_t base = cfg->readiness_grace_ms - age + STUCK_SLACK_MS;
                uint32_t j = namehash32(name, strlen(name)) % 1001;
                min_requeue(out, base + base * (int64_t)j / 2000);
            }
        }
        active[n_active++] = (member){sb, name, ready, born};
    }

    /* Expectations nobody will settle: deletes of members no longer listed
     * are done; created names that left the pool before we listed them are
     * visible through lookup; anything older than the TTL is dropped. */
    for (size_t i = 0; i < st->exp.n_deleting;) {
        int listed = 0;
        for (size_t j = 0; j < in->n_members && !listed; j++)
            listed = facts[j].name && strcmp(facts[j].name, st->exp.deleting[i].name) == 0;
        if (!listed || now - st->exp.deleting[i].at_ms > EXPECT_TTL_MS)
            names_del(st->exp.deleting, &st->exp.n_deleting, i);
        else
            i++;
    }
    for (size_t i = 0; i < st->exp.n_created;) {
        int seen = in->lookup && in->lookup(in->lookup_ud, ns, st->exp.created[i].name) != NULL;
        if (seen || now - st->exp.created[i].at_ms > EXPECT_TTL_MS)
            names_del(st->exp.created, &st->exp.n_created, i);
        else
            i++;
    }
    if (st->exp.inflight && now - st->exp.inflight_at_ms > EXPECT_TTL_MS) st->exp.inflight = 0;

    /* Size the pool. */
    json_object *rep_v = jx_get(pool, "spec.replicas");
    int64_t desired = 1;
    if (rep_v && json_object_is_type(rep_v, json_type_int)) desired = json_object_get_int64(rep_v);
    if (desired < 0) desired = 0; /* the CRD rejects it; tolerate a bad object anyway */
    int64_t pending = (int64_t)rec_wp_expect_pending_creates(&st->exp);
    int64_t total = (int64_t)n_active + terminating + pending;
    int64_t batch = cfg->max_batch > 0 ? cfg->max_batch : 300;
    if (total >= desired) {
        st->filled = 1;
        st->deficit_since_ms = 0;
    }
    if (total < desired && tmpl) {
        int64_t n = desired - total;
        if (cfg->replenish_delay_ms > 0 && st->filled) {
            if (st->deficit_since_ms == 0) st->deficit_since_ms = now;
            int64_t wait = st->deficit_since_ms + cfg->replenish_delay_ms - now;
            if (wait > 0) {
                min_requeue(out, wait);
                n = 0;
            }
        }
        if (n > 0 && cfg->max_refill_rate > 0) {
            double rate = cfg->max_refill_rate, cap = rate > 1 ? rate : 1;
            if (st->tokens_at_ms == 0)
                st->tokens = cap;
            else
                st->tokens += (double)(now - st->tokens_at_ms) / 1000.0 * rate;
            if (st->tokens > cap) st->tokens = cap;
            st->tokens_at_ms = now;
            int64_t allow = (int64_t)st->tokens;
            if (n > allow) {
                n = allow;
                min_requeue(out,
                            (int64_t)((1.0 - (st->tokens - (double)allow)) / rate * 1000.0) + 1);
            }
            st->tokens -= (double)n;
        }
        if (n > batch) {
            n = batch;
            min_requeue(out, 0); /* more batches follow */
        }
        for (int64_t k = 0; k < n; k++) {
            json_object *body = rec_wp_member_new(pool, tmpl, cfg->enable_eviction);
            if (body == NULL || rec_result_add_write(out, REC_CREATE, &KUBE_SANDBOXES, ns, NULL,
                                                     NULL, body, "wp-create") == NULL) {
                rc = ERR_NOMEM;
                goto done;
            }
            st->exp.inflight++;
            st->exp.inflight_at_ms = now;
            rep.creates++;
        }
    }
    int64_t excess = (int64_t)n_active + pending - desired;
    if (excess > (int64_t)n_active) excess = (int64_t)n_active;
    if (excess > batch) excess = batch;
    if (excess > 0) {
        qsort(active, n_active, sizeof *active, delete_order);
        for (int64_t k = 0; k < excess; k++) {
            if ((rc = add_delete(out, st, active[k].sb, ns, now)) != 0) goto done;
            rep.deletes++;
        }
        /* the deleted ones stay "active" in this pass's status: they are
         * still listed; the next pass counts them as terminating */
    }
    if (rec_wp_expect_pending_creates(&st->exp) || st->exp.n_deleting)
        min_requeue(out, EXPECT_RECHECK);

    /* Unschedulable members held back from the stuck GC. */
    if (held > 0) {
        min_requeue(out, cfg->unschedulable_recheck_ms);
        if (!st->unschedulable) {
            char note[200];
            snprintf(note, sizeof note,
                     "Warm pool is not progressing: %d sandbox(es) cannot be scheduled", held);
            rec_result_add_event(out, &KUBE_SANDBOXWARMPOOLS, ns, pname, uid, "Warning",
                                 "WarmPoolNotProgressing", "Reconciling", note);
        }
    } else if (st->unschedulable) {
        rec_result_add_event(out, &KUBE_SANDBOXWARMPOOLS, ns, pname, uid, "Normal",
                             "WarmPoolProgressing", "Reconciling",
                             "Warm pool is progressing again");
    }
    st->unschedulable = held > 0;

    /* Status. */
    int64_t ready = 0;
    for (size_t i = 0; i < n_active; i++)
        ready += active[i].ready;
    char h[9], selector[80];
    snprintf(selector, sizeof selector, "%s=%s", REC_LABEL_WARM_POOL, namehash_hex(pname, h));
    int64_t gen = jx_int(pool, "metadata.generation", 0);
    int change = status_change(st, pool, (int64_t)n_active, ready, selector, gen);
    if (!out->error && status_due(cfg, st, change, now, out)) {
        json_object *body = json_object_new_object();
        json_object *s = jx_ensure_obj(body, "status");
        if (s == NULL) {
            json_object_put(body);
            rc = ERR_NOMEM;
            goto done;
        }
        json_object_object_add(s, "replicas", json_object_new_int64((int64_t)n_active));
        json_object_object_add(s, "readyReplicas", json_object_new_int64(ready));
        json_object_object_add(s, "selector", json_object_new_string(selector));
        json_object_object_add(s, "observedGeneration", json_object_new_int64(gen));
        if (rec_result_add_write(out, REC_PATCH_MERGE, &KUBE_SANDBOXWARMPOOLS, ns, pname, "status",
                                 body, "wp-status") == NULL) {
            rc = ERR_NOMEM;
            goto done;
        }
        st->status_known = 1;
        st->st_replicas = (int64_t)n_active;
        st->st_ready = ready;
        st->st_generation = gen;
        st->st_due_ms = 0;
        snprintf(st->st_selector, sizeof st->st_selector, "%s", selector);
    }
    rep.desired = desired;
    rep.active = (int64_t)n_active;
    rep.ready = ready;
    rep.terminating = terminating;
    rep.pending_creates = (int64_t)rec_wp_expect_pending_creates(&st->exp);
    rep.held_unschedulable = held;
done:
    free(active);
    free(own_facts);
    if (report) *report = rep;
    return rc;
}
