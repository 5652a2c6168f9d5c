/* sim_delete.c - DELETE (preconditions, propagation, finalizers, graceful pods),
 * deletecollection, and pods/binding. */
#include "bench/kubesim/sim_write_internal.h"

#include "bench/kubesim/sim_core.h"
#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_selector.h"
#include "bench/kubesim/sim_status.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *propagation;
    long grace; /* -1 = unset */
    const char *pre_uid, *pre_rv;
    json_object *body;
} delete_opts;

static int
parse_delete_opts(sim_rq *rq, delete_opts *o)
{
    memset(o, 0, sizeof *o);
    o->grace = -1;
    if (rq->r->body_len) {
        o->body = sim__parse_body(rq->r->body, rq->r->body_len);
        if (!o->body || !json_object_is_type(o->body, json_type_object)) {
            char gerr[256], msg[512];
            sim__json_error_text(rq->r->body, rq->r->body_len, gerr, sizeof gerr);
            snprintf(msg, sizeof msg, "couldn't get version/kind; json parse error: %s", gerr);
            json_object_put(o->body);
            o->body = NULL;
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return -1;
        }
        o->propagation = jx_str(o->body, "propagationPolicy");
        if (jx_get(o->body, "gracePeriodSeconds"))
            o->grace = (long)jx_int(o->body, "gracePeriodSeconds", -1);
        o->pre_uid = jx_str(o->body, "preconditions.uid");
        o->pre_rv = jx_str(o->body, "preconditions.resourceVersion");
        if (jx_bool(o->body, "orphanDependents", 0)) o->propagation = "Orphan";
    }
    const char *qp = sim_q(rq, "propagationPolicy");
    if (qp && qp[0]) o->propagation = qp;
    const char *qg = sim_q(rq, "gracePeriodSeconds");
    if (qg && qg[0]) o->grace = strtol(qg, NULL, 10);
    const char *qo = sim_q(rq, "orphanDependents");
    if (qo && !strcmp(qo, "true")) o->propagation = "Orphan";
    if (o->propagation && strcmp(o->propagation, "Orphan") &&
        strcmp(o->propagation, "Background") && strcmp(o->propagation, "Foreground")) {
        char msg[512];
        snprintf(
            msg, sizeof msg,
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: "
            "\"%.100s\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
            o->propagation);
        json_object_put(o->body); /* propagation may point into it */
        o->body = NULL;
        sim_reply_json(rq, 422, sim_status(422, "Invalid", msg, NULL), NULL);
        return -1;
    }
    return 0;
}

static json_object *
delete_success(const sim_res *r, const char *name, const char *uid)
{
    json_object *d = sim_status_details(name, r->group, r->plural);
    if (uid) json_object_object_add(d, "uid", json_object_new_string(uid));
    json_object *s = sim_status(200, NULL, NULL, d);
    json_object_object_del(s, "code");
    return s;
}

static int
returns_object(const sim_res *r)
{
    return r->hook == SIM_HOOK_POD || r->hook == SIM_HOOK_NAMESPACE ||
           r->hook == SIM_HOOK_SERVICE || r->hook == SIM_HOOK_CRD;
}

/* The delete logic shared by DELETE and the controllers. Returns the HTTP
 * code; replies when rq is set. */
static int
do_delete(sim_state *S, sim_res *r, const char *ns, const char *name, const delete_opts *o,
          sim_rq *rq)
{
    sim_obj *old = sim_lookup(S, r, ns, name);
    if (!old) {
        if (rq) sim_reply_json(rq, 404, sim_status_not_found(r, name), NULL);
        return 404;
    }
    const char *uid = jx_str(sim_obj_tree(old), "metadata.uid");
    char qk[512];
    sim_res_qualified_kind(r, qk, sizeof qk);
    if (o->pre_uid && uid && strcmp(o->pre_uid, uid) != 0) {
        char m[512];
        snprintf(m, sizeof m,
                 "the UID in the precondition (%s) does not match the UID in record (%s). The "
                 "object might have been deleted and then recreated",
                 o->pre_uid, uid);
        if (rq)
            sim_reply_json(rq, 409, sim_status_conflict_msg(qk, r->group, r->kind, name, m), NULL);
        return 409;
    }
    char cur[32];
    snprintf(cur, sizeof cur, "%llu", (unsigned long long)old->rv);
    if (o->pre_rv && strcmp(o->pre_rv, cur) != 0) {
        char m[512];
        snprintf(m, sizeof m,
                 "the ResourceVersion in the precondition (%s) does not match the ResourceVersion "
                 "in record (%s). The object might have been modified",
                 o->pre_rv, cur);
        if (rq)
            sim_reply_json(rq, 409, sim_status_conflict_msg(qk, r->group, r->kind, name, m), NULL);
        return 409;
    }
    json_object *om = jx_obj(sim_obj_tree(old), "metadata");
    int deleting = jx_get(om, "deletionTimestamp") != NULL;
    int is_pod = r->hook == SIM_HOOK_POD;
    int bound = is_pod && jx_str(sim_obj_tree(old), "spec.nodeName") &&
                jx_str(sim_obj_tree(old), "spec.nodeName")[0];
    long grace = o->grace;
    if (is_pod && grace < 0)
        grace = (long)jx_int(sim_obj_tree(old), "spec.terminationGracePeriodSeconds", 30);
    if (is_pod && !bound) grace = 0;
    json_object *fins = jx_arr(om, "finalizers");
    size_t nfins = fins ? json_object_array_length(fins) : 0;
    char now[32];
    sim_meta_now(now);

    if (r->hook == SIM_HOOK_NAMESPACE) {
        if (deleting) {
            if (rq) sim_reply_obj(rq, 200, old, NULL);
            return 200;
        }
        json_object *n = sim_json_copy(sim_obj_tree(old));
        json_object *nm = sim__meta_of(n);
        json_object_object_add(nm, "deletionTimestamp", json_object_new_string(now));
        json_object_object_add(nm, "deletionGracePeriodSeconds", json_object_new_int(0));
        if (!jx_arr(n, "spec.finalizers") ||
            json_object_array_length(jx_arr(n, "spec.finalizers")) == 0) {
            json_object_object_del(nm, "deletionGracePeriodSeconds");
        }
        json_object_object_del(nm, "deletionGracePeriodSeconds");
        jx_set_str(n, "status.phase", "Terminating");
        const sim_obj *so = sim_commit(S, r, SIM_EV_MODIFIED, n);
        if (rq) {
            if (so)
                sim_reply_obj(rq, 200, so, NULL);
            else
                sim__reply_oom(rq);
        }
        return 200;
    }

    if (deleting) {
        /* a second DELETE changes nothing, except a shorter grace for a pod */
        int64_t cur_grace = jx_int(om, "deletionGracePeriodSeconds", 0);
        if (is_pod && nfins == 0 && (grace == 0 || grace < cur_grace)) {
            if (grace == 0) {
                json_object *fin = sim_json_copy(sim_obj_tree(old));
                json_object *fm = sim__meta_of(fin);
                json_object_object_add(fm, "deletionGracePeriodSeconds", json_object_new_int(0));
                const sim_obj *so = sim_commit(S, r, SIM_EV_DELETED, fin);
                if (rq) {
                    if (so)
                        sim_reply_obj(rq, 200, so, NULL);
                    else
                        sim__reply_oom(rq);
                }
                return 200;
            }
        }
        if (rq) sim_reply_obj(rq, 200, old, NULL);
        return 200;
    }

    const char *prop = o->propagation;
    const char *add_fin = NULL;
    if (prop && !strcmp(prop, "Foreground"))
        add_fin = "foregroundDeletion";
    else if (prop && !strcmp(prop, "Orphan"))
        add_fin = "orphan";
    int graceful_pod = is_pod && bound && grace > 0;
    if (nfins || add_fin || graceful_pod) {
        json_object *n = sim_json_copy(sim_obj_tree(old));
        json_object *nm = sim__meta_of(n);
        if (add_fin && !sim__str_in_array(jx_arr(nm, "finalizers"), add_fin)) {
            json_object *fa = jx_arr(nm, "finalizers");
            if (!fa) {
                fa = json_object_new_array();
                json_object_object_add(nm, "finalizers", fa);
            }
            json_object_array_add(fa, json_object_new_string(add_fin));
        }
        if (graceful_pod) {
            char dt[32];
            time_fmt_rfc3339(time_now_ms() + grace * 1000, dt, sizeof dt);
            json_object_object_add(nm, "deletionTimestamp", json_object_new_string(dt));
            json_object_object_add(nm, "deletionGracePeriodSeconds", json_object_new_int64(grace));
        } else {
            json_object_object_add(nm, "deletionTimestamp", json_object_new_string(now));
            json_object_object_add(nm, "deletionGracePeriodSeconds", json_object_new_int(0));
        }
        if (sim__has_generation(r))
            json_object_object_add(nm, "generation",
                                   json_object_new_int64(jx_int(om, "generation", 1) + 1));
        const sim_obj *so = sim_commit(S, r, SIM_EV_MODIFIED, n);
        if (rq) {
            if (so)
                sim_reply_obj(rq, 200, so, NULL);
            else
                sim__reply_oom(rq);
        }
        return 200;
    }
    /* gone now */
    json_object *fin = sim_json_copy(sim_obj_tree(old));
    if (is_pod) {
        json_object *fm = sim__meta_of(fin);
        json_object_object_add(fm, "deletionTimestamp", json_object_new_string(now));
        json_object_object_add(fm, "deletionGracePeriodSeconds", json_object_new_int(0));
    }
    char uidb[64];
    snprintf(uidb, sizeof uidb, "%s", uid ? uid : "");
    const sim_obj *so = sim_commit(S, r, SIM_EV_DELETED, fin);
    if (rq) {
        if (!so)
            sim__reply_oom(rq);
        else if (returns_object(r))
            sim_reply_obj(rq, 200, so, NULL);
        else
            sim_reply_json(rq, 200, delete_success(r, name, uidb), NULL);
    }
    return 200;
}

void
sim_write_delete(sim_rq *rq)
{
    delete_opts o;
    if (parse_delete_opts(rq, &o) != 0) return;
    sim_res *r = rq->res;
    if (r->hook == SIM_HOOK_EVENT_V1) r = sim_find_res(rq->S, "", "events");
    do_delete(rq->S, r, rq->ns, rq->name, &o, rq);
    json_object_put(o.body);
}

int
sim_internal_delete(sim_state *S, sim_res *r, const char *ns, const char *name,
                    const char *propagation, long grace)
{
    delete_opts o = {.propagation = propagation, .grace = grace};
    int code = do_delete(S, r, ns, name, &o, NULL);
    return code == 200 ? 0 : code == 404 ? ERR_NOTFOUND : ERR_CONFLICT;
}

void
sim_write_delete_collection(sim_rq *rq)
{
    sim_state *S = rq->S;
    delete_opts o;
    if (parse_delete_opts(rq, &o) != 0) return;
    sim_store *st = sim_store_of(S, rq->res);
    sim_obj **v = NULL;
    size_t n = 0;
    if (!st ||
        sim_store_snapshot(st, rq->res->namespaced && rq->ns[0] ? rq->ns : NULL, 0, &v, &n) != 0) {
        json_object_put(o.body);
        sim__reply_oom(rq);
        return;
    }
    const char *ls_s = sim_q(rq, "labelSelector");
    sim_selector *ls = NULL;
    char err[256];
    if (ls_s && ls_s[0] && sim_selector_parse(ls_s, &ls, err, sizeof err) != 0) {
        for (size_t i = 0; i < n; i++)
            sim_obj_unref(v[i]);
        free(v);
        json_object_put(o.body);
        sim_reply_json(rq, 400, sim_status_bad_request(err), NULL);
        return;
    }
    char av[256];
    sim_buf b = {0};
    size_t cnt = 0;
    sim_buf_printf(&b,
                   "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":"
                   "\"%llu\"},\"items\":[",
                   rq->res->list_kind, sim__res_av(rq->res, av, sizeof av),
                   (unsigned long long)S->rv);
    for (size_t i = 0; i < n; i++) {
        if (!ls || sim_selector_matches_obj(ls, sim_obj_tree(v[i]))) {
            char nm[256];
            snprintf(nm, sizeof nm, "%s", jx_str_or(sim_obj_tree(v[i]), "metadata.name", ""));
            if (cnt++) sim_buf_puts(&b, ",");
            sim_obj_text(S, rq->res, v[i], 1, &b);
            do_delete(S, rq->res, rq->ns, nm, &o, NULL);
        }
        sim_obj_unref(v[i]);
    }
    free(v);
    sim_selector_free(ls);
    sim_buf_puts(&b, "]}");
    json_object_put(o.body);
    sim_record(rq, 200);
    sim_conn_reply(rq->c, 200, "application/json", NULL, b.data, b.len);
    sim_buf_free(&b);
}

/* ---- pods/binding ---- */

void
sim_write_binding(sim_rq *rq)
{
    sim_state *S = rq->S;
    json_object *b = sim__decode_object(rq, "Binding", "v1");
    if (!b) return;
    sim_res *r = rq->res;
    sim_obj *old = sim_lookup(S, r, rq->ns, rq->name);
    if (!old) {
        json_object_put(b);
        sim_reply_json(rq, 404, sim_status_not_found(r, rq->name), NULL);
        return;
    }
    const char *node = jx_str(b, "target.name");
    if (!node || !node[0]) {
        json_object_put(b);
        sim_causes c;
        sim_causes_init(&c);
        sim_causes_required(&c, "target.name", NULL);
        json_object *st = sim_status_invalid(&c, "Binding", "", rq->name);
        sim_causes_fini(&c);
        sim_reply_json(rq, 422, st, NULL);
        return;
    }
    const char *cur = jx_str(sim_obj_tree(old), "spec.nodeName");
    if ((cur && cur[0]) || jx_get(sim_obj_tree(old), "metadata.deletionTimestamp")) {
        char m[512];
        if (cur && cur[0])
            snprintf(m, sizeof m, "pod %s is already assigned to node \"%s\"", rq->name, cur);
        else
            snprintf(m, sizeof m, "pod %s is being deleted, cannot be assigned to a host",
                     rq->name);
        json_object_put(b);
        sim_reply_json(rq, 409,
                       sim_status_conflict_msg("pods/binding", "", "pods/binding", rq->name, m),
                       NULL);
        return;
    }
    json_object *n = sim_json_copy(sim_obj_tree(old));
    jx_set_str(n, "spec.nodeName", node);
    sim_core_pod_condition(n, "PodScheduled", "True", NULL);
    const sim_obj *so = sim_commit(S, r, SIM_EV_MODIFIED, sim_meta_reorder(n, "Pod", "v1"));
    json_object_put(b);
    if (!so) {
        sim__reply_oom(rq);
        return;
    }
    sim_reply_json(rq, 201, sim_status(201, NULL, NULL, NULL), NULL);
}
