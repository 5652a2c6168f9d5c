/* sim_write.c - the write verbs create, update (PUT) and patch, and the
 * internal writers the simulated controllers use (DELETE and pods/binding are
 * in sim_delete.c).
 *
 * Every write follows the real server's order: decode -> preconditions ->
 * build the new object (subresource rules) -> defaults/validation (core
 * hooks or the CRD schema) -> no-op check (same resourceVersion, no event)
 * -> managedFields -> commit (one new resourceVersion, one event). */
#include "bench/kubesim/sim_write_internal.h"

#include "bench/kubesim/sim_core.h"
#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_schema.h"
#include "bench/kubesim/sim_selector.h"
#include "bench/kubesim/sim_state.h"
#include "bench/kubesim/sim_status.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "core/yaml2json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- decoding ---- */

/* m.<key> as a string (no path parsing: these run on every write). */
static const char *
member_str(json_object *m, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(m, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* o.<key> (NULL when absent, JSON null or o is not an object). */
static json_object *
member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static json_object *
member_obj(json_object *o, const char *key)
{
    json_object *v = member(o, key);
    return json_object_is_type(v, json_type_object) ? v : NULL;
}

/* o.metadata, created when missing (sim__meta_of without the path parsing
 * when it is there, as on every write). */
static json_object *
meta_of(json_object *o)
{
    json_object *m = member_obj(o, "metadata");
    return m ? m : sim__meta_of(o);
}

/* "%llu" without printf (once per write). */
static const char *
u64_text(uint64_t v, char out[24])
{
    char *p = out + 23;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

static void
meta_copy_key(json_object *dst, json_object *src, const char *key)
{
    json_object *v = jx_get(src, key), *cur = NULL;
    /* most writes leave these as they were: compare instead of copying */
    if (v && json_object_object_get_ex(dst, key, &cur) &&
        json_object_get_type(cur) == json_object_get_type(v) &&
        !json_object_is_type(v, json_type_double) && sim_json_equal(cur, v))
        return;
    if (v)
        json_object_object_add(dst, key, sim_json_copy(v));
    else
        json_object_object_del(dst, key);
}

/* Server-owned metadata comes from the stored object, never from the request. */
static void
restore_server_meta(json_object *nobj, json_object *old)
{
    json_object *nm = sim__meta_of(nobj), *om = jx_obj(old, "metadata");
    static const char *keys[] = {"name",
                                 "namespace",
                                 "uid",
                                 "creationTimestamp",
                                 "deletionTimestamp",
                                 "deletionGracePeriodSeconds",
                                 "generation",
                                 "managedFields",
                                 "resourceVersion",
                                 "generateName"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        meta_copy_key(nm, om, keys[i]);
    json_object_object_del(nm, "selfLink");
}

/* Objects a and b equal on their keys, ignoring the keys in skip. No copies:
 * this runs on every write. */
static int
equal_except(json_object *a, json_object *b, const char *const *skip, size_t nskip)
{
    if (!json_object_is_type(a, json_type_object) || !json_object_is_type(b, json_type_object))
        return sim_json_equal(a, b);
    size_t na = 0, nb = 0;
    json_object_object_foreach(a, ka, va)
    {
        int skipped = 0;
        for (size_t k = 0; k < nskip; k++)
            if (!strcmp(ka, skip[k])) skipped = 1;
        if (skipped) continue;
        na++;
        json_object *vb = NULL;
        if (!json_object_object_get_ex(b, ka, &vb) || !sim_json_equal(va, vb)) return 0;
    }
    json_object_object_foreach(b, kb, vb2)
    {
        (void)vb2;
        int skipped = 0;
        for (size_t k = 0; k < nskip; k++)
            if (!strcmp(kb, skip[k])) skipped = 1;
        if (!skipped) nb++;
    }
    return na == nb;
}

/* Everything except metadata and status: what moves generation. */
static int
spec_equal(json_object *a, json_object *b)
{
    static const char *const skip[] = {"metadata", "status", "apiVersion", "kind"};
    return equal_except(a, b, skip, 4);
}

/* Equal apart from managedFields and resourceVersion: a no-op write. */
static int
noop_equal(json_object *a, json_object *b)
{
    static const char *const top[] = {"metadata", "apiVersion"};
    static const char *const meta[] = {"managedFields", "resourceVersion"};
    return equal_except(a, b, top, 2) &&
           equal_except(jx_get(a, "metadata"), jx_get(b, "metadata"), meta, 2);
}

/* Warning headers for pruned fields (one per path). */
static char *
warning_headers(const sim_schema_report *rep)
{
    if (!rep || rep->npruned == 0) return NULL;
    sim_buf b = {0};
    for (size_t i = 0; i < rep->npruned; i++)
        sim_buf_printf(&b, "Warning: 299 - \"unknown field \\\"%s\\\"\"\r\n", rep->pruned[i]);
    return sim_buf_take(&b, NULL);
}

/* Apply the CRD schema (custom resources). Returns 0, or -1 after replying. */
static int
apply_schema(sim_rq *rq, json_object *obj, json_object *old, int old_clean, sim_schema_report *rep)
{
    sim_res *r = rq->res;
    if (r->hook != SIM_HOOK_CUSTOM || !r->schema) return 0;
    int rc = sim_schema_apply(r->schema, obj, old,
                              SIM_SCHEMA_ALL | (old && old_clean ? SIM_SCHEMA_OLD_CLEAN : 0u), rep);
    const char *fv = sim_q(rq, "fieldValidation");
    if (fv && !strcmp(fv, "Strict") && rep->npruned > 0) {
        char *m = sim_schema_strict_message(r->kind, r->version, rep);
        sim_reply_json(rq, 400, sim_status_bad_request(m ? m : "strict decoding error"), NULL);
        free(m);
        return -1;
    }
    /* a scale subresource's replicas path must hold a non-negative integer */
    if ((r->subres & SIM_SUB_SCALE) && rc != ERR_NOMEM) {
        const char *sp = r->scale_spec ? r->scale_spec : ".spec.replicas";
        json_object *v = jx_get(obj, sp[0] == '.' ? sp + 1 : sp);
        if (v && json_object_is_type(v, json_type_int) && json_object_get_int64(v) < 0) {
            sim_causes_invalid(&rep->causes, sp, v, "should be a non-negative integer");
            rc = ERR_UNPROCESSABLE;
        }
    }
    if (rc == ERR_UNPROCESSABLE) {
        sim_reply_json(rq, 422,
                       sim_status_invalid(&rep->causes, r->kind, r->group,
                                          jx_str_or(obj, "metadata.name", "")),
                       NULL);
        return -1;
    }
    if (rc != 0) {
        sim__reply_oom(rq);
        return -1;
    }
    return 0;
}

/* Core kinds' validation. Returns 0, or -1 after replying. */
static int
check_core(sim_rq *rq, json_object *obj, json_object *old)
{
    sim_causes c;
    sim_causes_init(&c);
    sim_core_validate(rq->S, rq->res, obj, old, rq->sub, &c);
    if (c.n == 0) {
        sim_causes_fini(&c);
        return 0;
    }
    json_object *st =
        sim_status_invalid(&c, rq->res->kind, rq->res->group, jx_str_or(obj, "metadata.name", ""));
    sim_causes_fini(&c);
    sim_reply_json(rq, 422, st, NULL);
    return -1;
}

static sim_obj *
namespace_obj(sim_state *S, const char *ns)
{
    sim_res *nr = sim_find_res(S, "", "namespaces");
    return nr ? sim_lookup(S, nr, "", ns) : NULL;
}

static void
finalize_created(sim_state *S, sim_res *r, json_object *obj, const char *manager,
                 json_object *fields_src)
{
    json_object *m = sim__meta_of(obj);
    char uid[37], now[32], av[256];
    sim_meta_uid((uint64_t *)&S->rand_state, uid);
    sim_meta_now(now);
    json_object_object_add(m, "uid", json_object_new_string(uid));
    json_object_object_add(m, "creationTimestamp", json_object_new_string(now));
    if (sim__has_generation(r)) json_object_object_add(m, "generation", json_object_new_int64(1));
    if (manager && manager[0])
        sim_meta_managed(obj, fields_src, manager, "Update", sim__res_av(r, av, sizeof av), NULL,
                         0);
}

/* ---- schema fixed points ----
 * A custom resource version committed right after sim_schema_apply pruned
 * and defaulted it (only ObjectMeta changes follow, which the schema leaves
 * alone) is a fixed point of its row's schema: applying it again changes
 * nothing. A subtree a later write shares with it (sim_merge_patch_shared)
 * sits at the same path, and pruning and defaults depend only on the path's
 * schema node and the subtree itself: the schema leaves it alone there too,
 * so it needs no private copy. Validated too (API writes only), the schema
 * pass skips such shared subtrees altogether (SIM_SCHEMA_OLD_CLEAN). Rows remember such versions by
 * resourceVersion (unique), one slot per key hash; a CRD change makes new
 * rows, so a row's schema never changes under a remembered version. */
#define CLEAN_SLOTS 16384u

static size_t
clean_slot(const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h & (CLEAN_SLOTS - 1);
}

static void
clean_note(sim_state *S, sim_res *r, const sim_obj *o)
{
    if (!o || S->dry_run || r->hook != SIM_HOOK_CUSTOM || !r->schema || !o->key) return;
    if (!r->schema_clean && !(r->schema_clean = calloc(CLEAN_SLOTS, sizeof *r->schema_clean)))
        return;
    r->schema_clean[clean_slot(o->key)] = o->rv;
}

static int
clean_has(const sim_res *r, const sim_obj *o)
{
    return r->schema_clean && o->key && o->rv &&
           r->schema_clean[clean_slot(o->key)] == (unsigned long long)o->rv;
}

/* ---- create ---- */

static void
strip_for_create(json_object *obj)
{
    json_object *m = sim__meta_of(obj);
    static const char *drop[] = {"uid",
                                 "resourceVersion",
                                 "creationTimestamp",
                                 "deletionTimestamp",
                                 "deletionGracePeriodSeconds",
                                 "generation",
                                 "managedFields",
                                 "selfLink"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        json_object_object_del(m, drop[i]);
}

/* Shared by the API and the controllers. Returns the HTTP code; *reply set
 * to a Status on failure. On success *out is the stored object. */
static int
do_create(sim_state *S, sim_res *r, const char *ns, json_object *obj, const char *manager,
          sim_rq *rq, const sim_obj **out)
{
    char av[256];
    sim__res_av(r, av, sizeof av);
    obj = sim_meta_reorder(obj, r->kind, av);
    json_object *m = sim__meta_of(obj);
    if (!m) {
        json_object_put(obj);
        return 500;
    }
    if (r->namespaced)
        json_object_object_add(m, "namespace", json_object_new_string(ns));
    else
        json_object_object_del(m, "namespace");
    strip_for_create(obj);
    const char *name = jx_str(m, "name");
    const char *gen = jx_str(m, "generateName");
    char namebuf[300];
    if ((!name || !name[0]) && gen && gen[0]) {
        char sfx[6];
        sim_meta_suffix((uint64_t *)&S->rand_state, sfx);
        snprintf(namebuf, sizeof namebuf, "%.250s%s", gen, sfx);
        json_object_object_add(m, "name", json_object_new_string(namebuf));
        name = jx_str(m, "name");
    }
    /* validation of the name */
    sim_causes c;
    sim_causes_init(&c);
    if (!name || !name[0]) {
        sim_causes_required(&c, "metadata.name", "name or generateName is required");
    } else {
        const char *(*chk)(const char *) = sim_meta_check_subdomain;
        if (r->hook == SIM_HOOK_SERVICE)
            chk = sim_meta_check_dns1035;
        else if (r->hook == SIM_HOOK_NAMESPACE)
            chk = sim_meta_check_label;
        sim_meta_name_cause(&c, "metadata.name", name, chk);
    }
    if (c.n) {
        json_object *st = sim_status_invalid(&c, r->kind, r->group, name ? name : "");
        sim_causes_fini(&c);
        json_object_put(obj);
        if (rq)
            sim_reply_json(rq, 422, st, NULL);
        else
            json_object_put(st);
        return 422;
    }
    sim_causes_fini(&c);
    char nm[256];
    snprintf(nm, sizeof nm, "%s", name);
    /* the namespace must exist and be active */
    if (r->namespaced) {
        sim_obj *nso = namespace_obj(S, ns);
        if (!nso) {
            sim_res *nr = sim_find_res(S, "", "namespaces");
            json_object_put(obj);
            if (rq) sim_reply_json(rq, 404, sim_status_not_found(nr, ns), NULL);
            return 404;
        }
        if (jx_get(sim_obj_tree(nso), "metadata.deletionTimestamp")) {
            json_object_put(obj);
            if (rq) sim_reply_json(rq, 403, sim_status_forbidden_terminating(r, nm, ns), NULL);
            return 403;
        }
    }
    /* status is not set on create where it has its own subresource */
    if (r->hook == SIM_HOOK_CUSTOM && (r->subres & SIM_SUB_STATUS))
        json_object_object_del(obj, "status");
    sim_schema_report rep;
    sim_schema_report_init(&rep);
    if (rq && apply_schema(rq, obj, NULL, 0, &rep) != 0) {
        sim_schema_report_fini(&rep);
        json_object_put(obj);
        return 422;
    }
    if (!rq && r->hook == SIM_HOOK_CUSTOM && r->schema)
        sim_schema_apply(r->schema, obj, NULL, SIM_SCHEMA_PRUNE | SIM_SCHEMA_DEFAULT, &rep);
    /* managedFields record the decoded, defaulted object: before admission */
    sim_core_defaults(r, obj);
    /* a copy only where admission changes obj before managedFields are
     * computed (below, only metadata's uid, creationTimestamp and generation
     * change, which managedFields do not read) */
    int copy_src = sim_core_create_changes(r);
    json_object *fields_src = copy_src ? sim_json_copy(obj) : NULL;
    /* admission */
    json_object *err_status = NULL;
    int code = sim_core_admit_create(S, r, obj, &err_status);
    if (code) {
        sim_schema_report_fini(&rep);
        json_object_put(obj);
        json_object_put(fields_src);
        if (rq)
            sim_reply_json(rq, code, err_status, NULL);
        else
            json_object_put(err_status);
        return code;
    }
    if (rq && check_core(rq, obj, NULL) != 0) {
        sim_schema_report_fini(&rep);
        json_object_put(obj);
        json_object_put(fields_src);
        return 422;
    }
    if (sim_lookup(S, r, ns, nm)) {
        sim_schema_report_fini(&rep);
        json_object_put(obj);
        json_object_put(fields_src);
        if (rq) sim_reply_json(rq, 409, sim_status_already_exists(r, nm), NULL);
        return 409;
    }
    sim_core_normalize(r, obj);
    finalize_created(S, r, obj, manager, copy_src ? fields_src : obj);
    json_object_put(fields_src);
    const sim_obj *so = sim_commit(S, r, SIM_EV_ADDED, obj);
    if (!so) {
        sim_schema_report_fini(&rep);
        if (rq) sim__reply_oom(rq);
        return 500;
    }
    /* pruned, defaulted and validated above (an internal create is not
     * validated: SIM_SCHEMA_OLD_CLEAN would skip checks it never had) */
    if (rq) clean_note(S, r, so);
    if (out) *out = so;
    if (rq) {
        snprintf(rq->name, sizeof rq->name, "%s", nm); /* the request log names the object */
        char *warn = warning_headers(&rep);
        sim_reply_obj(rq, 201, so, warn);
        free(warn);
    }
    sim_schema_report_fini(&rep);
    return 201;
}

void
sim_write_create(sim_rq *rq)
{
    sim_res *r = rq->res;
    char av[256];
    sim__res_av(r, av, sizeof av);
    if (rq->res->hook == SIM_HOOK_EVENT_V1) {
        json_object *o = sim__decode_object(rq, r->kind, av);
        if (!o) return;
        json_object *core = sim_event_from_v1(o);
        json_object_put(o);
        sim_res *cr = sim_find_res(rq->S, "", "events");
        const sim_obj *so = NULL;
        sim_res *keep = rq->res;
        rq->res = cr;
        int code = do_create(rq->S, cr, rq->ns, core, rq->manager, NULL, &so);
        rq->res = keep;
        if (code == 201 && so)
            sim_reply_obj(rq, 201, so, NULL);
        else
            sim_reply_json(rq, code,
                           sim_status(code, "Invalid", "event could not be created", NULL), NULL);
        return;
    }
    json_object *o = sim__decode_object(rq, r->kind, av);
    if (!o) return;
    const char *bns = jx_str(o, "metadata.namespace");
    if (r->namespaced && bns && bns[0] && strcmp(bns, rq->ns) != 0) {
        json_object_put(o);
        sim_reply_json(rq, 400,
                       sim_status_bad_request("the namespace of the provided object does not match "
                                              "the namespace sent on the request"),
                       NULL);
        return;
    }
    do_create(rq->S, r, rq->ns, o, rq->manager, rq, NULL);
}

int
sim_internal_create(sim_state *S, sim_res *r, json_object *obj, const char *manager)
{
    const char *ns = jx_str_or(obj, "metadata.namespace", "");
    char nsb[256];
    snprintf(nsb, sizeof nsb, "%s", ns);
    int code = do_create(S, r, nsb, obj, manager, NULL, NULL);
    return code == 201 ? 0 : code == 409 ? ERR_EXISTS : ERR_INVALID;
}

/* ---- update / patch (shared tail) ---- */

/* Make nobj.metadata a private object (a shallow copy when it is the stored
 * object's om itself; created when missing). *shared tells which. Returns 0
 * or ERR_NOMEM. */
static int
own_meta(json_object *nobj, json_object *om, int *shared)
{
    json_object *m = NULL;
    *shared = 0;
    if (om && json_object_object_get_ex(nobj, "metadata", &m) && m == om) {
        json_object *c = sim_json_shallow_copy(m);
        if (!c || json_object_object_add(nobj, "metadata", c) != 0) {
            json_object_put(c);
            return ERR_NOMEM;
        }
        *shared = 1;
        return 0;
    }
    return sim__meta_of(nobj) ? 0 : ERR_NOMEM;
}

/* Commit an updated object nobj (taken) replacing old. fields_src: what the
 * writer set (for managedFields). Replies unless rq is NULL. Returns code. */
static int
finish_update(sim_state *S, sim_res *r, sim_rq *rq, const sim_obj *old, json_object *nobj,
              json_object *fields_src, int merge_mf, const char *manager, const char *sub,
              int reply_scale)
{
    char av[256];
    sim__res_av(r, av, sizeof av);
    json_object *ot = sim_obj_tree(old), *om = member_obj(ot, "metadata");
    nobj = sim_meta_reorder(nobj, r->kind, av);
    /* nobj may share untouched subtrees with the stored (immutable) tree
     * (sim_merge_patch_shared, subresource_merge): everything changed in
     * place below must be private first. metadata always changes; the CRD
     * schema may prune or default anywhere (unless the stored version is a
     * fixed point of it); a namespace's labels get the name label; the
     * rest (sim_core_normalize's condition times, generation, managedFields)
     * copies on write. */
    int meta_shared = 0, schema_runs = rq && r->hook == SIM_HOOK_CUSTOM && r->schema;
    if (own_meta(nobj, om, &meta_shared) != 0 ||
        (((schema_runs && !clean_has(r, old)) || r->hook == SIM_HOOK_NAMESPACE) &&
         sim_json_unshare(nobj, ot) != 0)) {
        json_object_put(nobj);
        if (rq) sim__reply_oom(rq);
        return 500;
    }
    if (meta_shared)
        json_object_object_del(meta_of(nobj), "selfLink"); /* the rest is the stored one's */
    else
        restore_server_meta(nobj, ot);
    if (!fields_src) fields_src = nobj; /* read only, before managedFields change */
    sim_schema_report rep;
    sim_schema_report_init(&rep);
    if (rq && apply_schema(rq, nobj, sim_obj_tree(old), clean_has(r, old), &rep) != 0) {
        sim_schema_report_fini(&rep);
        json_object_put(nobj);
        return 422;
    }
    if (rq && check_core(rq, nobj, sim_obj_tree(old)) != 0) {
        sim_schema_report_fini(&rep);
        json_object_put(nobj);
        return 422;
    }
    sim_core_admit_update(S, r, nobj, sim_obj_tree(old));
    sim_core_normalize(r, nobj);
    json_object *nm = meta_of(nobj);
    const char *name = member_str(om, "name");
    if (!name) name = "";
    /* no new finalizers while deleting */
    if (member(om, "deletionTimestamp")) {
        json_object *nf = jx_arr(nm, "finalizers"), *of = jx_arr(om, "finalizers");
        sim_buf added = {0};
        size_t n = nf ? json_object_array_length(nf) : 0;
        for (size_t i = 0; i < n; i++) {
            const char *f = json_object_get_string(json_object_array_get_idx(nf, i));
            if (f && !sim__str_in_array(of, f)) {
                sim_buf_puts(&added, added.len ? ", " : "");
                sim_buf_printf(&added, "\"%s\"", f);
            }
        }
        if (added.len) {
            char detail[1024];
            snprintf(detail, sizeof detail,
                     "no new finalizers can be added if the object is being deleted, found new "
                     "finalizers []string{%s}",
                     added.data);
            sim_buf_free(&added);
            sim_causes c;
            sim_causes_init(&c);
            sim_causes_forbidden(&c, "metadata.finalizers", detail);
            /* the real server reports it twice (two validation passes) */
            sim_causes_forbidden(&c, "metadata.finalizers", detail);
            json_object *st = sim_status_invalid(&c, r->kind, r->group, name);
            sim_causes_fini(&c);
            sim_schema_report_fini(&rep);
            json_object_put(nobj);
            if (rq)
                sim_reply_json(rq, 422, st, NULL);
            else
                json_object_put(st);
            return 422;
        }
        sim_buf_free(&added);
    }
    if (sim__has_generation(r) && !spec_equal(nobj, sim_obj_tree(old))) {
        int64_t g = jx_int(om, "generation", 1);
        json_object_object_add(nm, "generation", json_object_new_int64(g + 1));
    }
    char *warn = warning_headers(&rep);
    sim_schema_report_fini(&rep);
    if (noop_equal(nobj, sim_obj_tree(old))) {
        json_object_put(nobj);
        if (rq) {
            if (reply_scale)
                sim_reply_json(rq, 200, sim_scale_of(r, sim_obj_tree(old)), warn);
            else
                sim_reply_obj(rq, 200, old, warn);
        }
        free(warn);
        return 200;
    }
    /* (a Node's status writes record no managedFields on the real server) */
    if (manager && manager[0] && !(r->hook == SIM_HOOK_NODE && sub && !strcmp(sub, "status")))
        sim_meta_managed(nobj, fields_src, manager, "Update", av, sub && sub[0] ? sub : NULL,
                         merge_mf);
    /* the last finalizer gone on a deleting object: the object goes */
    json_object *fins = member(nm, "finalizers");
    if (!json_object_is_type(fins, json_type_array)) fins = NULL;
    if (member(nm, "deletionTimestamp") && (!fins || json_object_array_length(fins) == 0) &&
        !(r->hook == SIM_HOOK_POD && jx_str(nobj, "spec.nodeName") &&
          jx_int(nm, "deletionGracePeriodSeconds", 0) > 0) &&
        r->hook != SIM_HOOK_NAMESPACE) {
        /* answer: the new object at the previous resourceVersion; event: the
         * last stored object at a new resourceVersion (golden #5) */
        if (fins) json_object_object_del(nm, "finalizers");
        const char *txt = json_object_to_json_string_ext(nobj, JSON_C_TO_STRING_PLAIN |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
        char *copy = txt ? strdup(txt) : NULL;
        json_object_put(nobj);
        json_object *fin = sim_json_copy(sim_obj_tree(old));
        sim_commit(S, r, SIM_EV_DELETED, fin);
        if (rq) {
            sim_record(rq, 200);
            if (copy)
                sim_conn_reply(rq->c, 200, "application/json", warn, copy, strlen(copy));
            else
                sim_conn_reply(rq->c, 500, "application/json", NULL, "{}", 2);
        }
        free(copy);
        free(warn);
        return 200;
    }
    const sim_obj *so = sim_commit(S, r, SIM_EV_MODIFIED, nobj);
    if (!so) {
        free(warn);
        if (rq) sim__reply_oom(rq);
        return 500;
    }
    if (schema_runs) clean_note(S, r, so);
    if (rq) {
        if (reply_scale)
            sim_reply_json(rq, 200, sim_scale_of(r, sim_obj_tree(so)), warn);
        else
            sim_reply_obj(rq, 200, so, warn);
    }
    free(warn);
    return 200;
}

/* Build the object a subresource write produces from src (the body or the
 * patched object; taken) and old (the stored one). Returns a new object. */
static json_object *
subresource_merge(sim_res *r, const char *sub, json_object *src, json_object *old)
{
    if (!strcmp(sub, "status")) {
        /* shares old's other members and src's status (both at their own
         * paths): finish_update makes private what it changes */
        json_object *n = sim_json_shallow_copy(old);
        if (!n) n = json_object_new_object();
        json_object *st = jx_get(src, "status");
        if (st)
            json_object_object_add(n, "status", json_object_get(st));
        else
            json_object_object_del(n, "status");
        json_object_put(src);
        return n;
    }
    json_object *n = src;
    if ((r->subres & SIM_SUB_STATUS) && r->hook != SIM_HOOK_NAMESPACE) {
        json_object *st = jx_get(old, "status");
        if (st)
            json_object_object_add(n, "status", json_object_get(st));
        else
            json_object_object_del(n, "status");
    }
    return n;
}

/* Scale subresource: the Scale's spec.replicas into the object. */
static json_object *
scale_apply(sim_res *r, json_object *scale, json_object *old)
{
    json_object *n = sim_json_copy(old);
    const char *path = r->scale_spec ? r->scale_spec : ".spec.replicas";
    if (path[0] == '.') path++;
    json_object *rep = jx_get(scale, "spec.replicas");
    jx_set(n, path, rep ? sim_json_copy(rep) : json_object_new_int(0));
    return n;
}

json_object *
sim_scale_of(const sim_res *r, json_object *obj)
{
    json_object *s = json_object_new_object();
    json_object_object_add(s, "kind", json_object_new_string("Scale"));
    json_object_object_add(s, "apiVersion", json_object_new_string("autoscaling/v1"));
    json_object *m = json_object_new_object();
    static const char *keys[] = {"name", "namespace", "uid", "resourceVersion",
                                 "creationTimestamp"};
    for (size_t i = 0; i < 5; i++) {
        json_object *v = jx_get(obj, "metadata") ? jx_get(jx_obj(obj, "metadata"), keys[i]) : NULL;
        if (v) json_object_object_add(m, keys[i], sim_json_copy(v));
    }
    json_object_object_add(s, "metadata", m);
    const char *sp = r->scale_spec ? r->scale_spec : ".spec.replicas";
    const char *stp = r->scale_status ? r->scale_status : ".status.replicas";
    const char *sel = r->scale_selector;
    json_object *spec = json_object_new_object();
    int64_t want = jx_int(obj, sp[0] == '.' ? sp + 1 : sp, 0);
    if (want) json_object_object_add(spec, "replicas", json_object_new_int64(want));
    json_object_object_add(s, "spec", spec);
    json_object *status = json_object_new_object();
    json_object_object_add(status, "replicas",
                           json_object_new_int64(jx_int(obj, stp[0] == '.' ? stp + 1 : stp, 0)));
    if (sel) {
        const char *sv = jx_str(obj, sel[0] == '.' ? sel + 1 : sel);
        if (sv && sv[0]) json_object_object_add(status, "selector", json_object_new_string(sv));
    }
    json_object_object_add(s, "status", status);
    return s;
}

/* 400 for a body whose metadata.name is not the URL's (PUT, or apply creating). */
static void
reply_name_mismatch(sim_rq *rq, const char *body_name)
{
    char msg[700];
    snprintf(msg, sizeof msg,
             "the name of the object (%.300s) does not match the name on the URL (%.300s)",
             body_name, rq->name);
    sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
}

void
sim_write_update(sim_rq *rq)
{
    sim_state *S = rq->S;
    sim_res *r = rq->res;
    char av[256];
    int scale = !strcmp(rq->sub, "scale");
    json_object *body = scale ? sim__decode_object(rq, "Scale", "autoscaling/v1")
                              : sim__decode_object(rq, r->kind, sim__res_av(r, av, sizeof av));
    if (!body) return;
    if (r->hook == SIM_HOOK_EVENT_V1) {
        json_object *core = sim_event_from_v1(body);
        json_object_put(body);
        body = core;
        rq->res = r = sim_find_res(S, "", "events");
    }
    const char *bname = jx_str(body, "metadata.name");
    if (bname && strcmp(bname, rq->name) != 0) {
        reply_name_mismatch(rq, bname);
        json_object_put(body);
        return;
    }
    const char *bns = jx_str(body, "metadata.namespace");
    if (r->namespaced && bns && bns[0] && strcmp(bns, rq->ns) != 0) {
        json_object_put(body);
        sim_reply_json(rq, 400,
                       sim_status_bad_request("the namespace of the provided object does not match "
                                              "the namespace sent on the request"),
                       NULL);
        return;
    }
    sim_obj *old = sim_lookup(S, r, rq->ns, rq->name);
    if (!old) {
        json_object_put(body);
        sim_reply_json(rq, 404, sim_status_not_found(r, rq->name), NULL);
        return;
    }
    const char *brv = jx_str(body, "metadata.resourceVersion");
    if (!brv || !brv[0]) {
        if (r->hook == SIM_HOOK_CUSTOM || scale) {
            char q[512], msg[1024];
            snprintf(msg, sizeof msg,
                     "%s \"%s\" is invalid: metadata.resourceVersion: Invalid "
                     "value: 0x0: must be specified for an update",
                     sim_res_qualified(r, q, sizeof q), rq->name);
            json_object *d = sim_status_details(rq->name, r->group, r->plural);
            json_object *causes = json_object_new_array();
            json_object *c = json_object_new_object();
            json_object_object_add(c, "reason", json_object_new_string("FieldValueInvalid"));
            json_object_object_add(
                c, "message",
                json_object_new_string("Invalid value: 0x0: must be specified for an update"));
            json_object_object_add(c, "field", json_object_new_string("metadata.resourceVersion"));
            json_object_array_add(causes, c);
            json_object_object_add(d, "causes", causes);
            json_object_put(body);
            sim_reply_json(rq, 422, sim_status(422, "Invalid", msg, d), NULL);
            return;
        }
    } else {
        char cur[32];
        snprintf(cur, sizeof cur, "%llu", (unsigned long long)old->rv);
        if (strcmp(brv, cur) != 0) {
            json_object_put(body);
            sim_reply_json(rq, 409, sim_status_conflict(r, rq->name), NULL);
            return;
        }
    }
    const char *buid = jx_str(body, "metadata.uid");
    const char *ouid = jx_str(sim_obj_tree(old), "metadata.uid");
    if (buid && buid[0] && ouid && strcmp(buid, ouid) != 0) {
        char q[512], m[512];
        snprintf(m, sizeof m,
                 "Precondition failed: UID in precondition: %s, UID in object meta: %s", buid,
                 ouid);
        json_object_put(body);
        sim_reply_json(rq, 409,
                       sim_status_conflict_msg(sim_res_qualified(r, q, sizeof q), r->group,
                                               r->plural, rq->name, m),
                       NULL);
        return;
    }
    json_object *nobj, *fsrc = NULL;
    if (scale) {
        nobj = scale_apply(r, body, sim_obj_tree(old));
        fsrc = json_object_new_object();
        jx_set(fsrc, "spec.replicas", json_object_new_int(0));
        json_object_put(body);
    } else {
        /* a PUT sets every field it sends: managedFields come from the new object */
        nobj = subresource_merge(r, rq->sub, body, sim_obj_tree(old));
    }
    finish_update(S, r, rq, old, nobj, fsrc, 0, rq->manager, rq->sub, scale);
    json_object_put(fsrc);
}

static const char *patch_types_core =
    "application/json-patch+json, application/merge-patch+json, "
    "application/strategic-merge-patch+json, application/apply-patch+yaml";
static const char *patch_types_cr =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

void
sim_write_patch(sim_rq *rq)
{
    sim_state *S = rq->S;
    sim_res *r = rq->res;
    const char *ct = rq->r->content_type;
    int core = r->hook != SIM_HOOK_CUSTOM;
    enum { P_MERGE, P_JSON, P_SMP, P_APPLY } kind;
    if (!strcmp(ct, "application/merge-patch+json"))
        kind = P_MERGE;
    else if (!strcmp(ct, "application/json-patch+json"))
        kind = P_JSON;
    else if (!strcmp(ct, "application/strategic-merge-patch+json") && core)
        kind = P_SMP;
    else if (!strcmp(ct, "application/apply-patch+yaml"))
        kind = P_APPLY;
    else {
        sim_reply_json(
            rq, 415, sim_status_unsupported_media(core ? patch_types_core : patch_types_cr), NULL);
        return;
    }
    json_object *patch = NULL;
    if (kind == P_APPLY) {
        char err[256];
        patch = yaml_to_json(rq->r->body, rq->r->body_len, err, sizeof err);
    } else {
        patch = sim__parse_body(rq->r->body, rq->r->body_len);
    }
    if (!patch) {
        char gerr[256], msg[512];
        sim__json_error_text(rq->r->body, rq->r->body_len, gerr, sizeof gerr);
        snprintf(msg, sizeof msg, "error decoding patch: %s", gerr);
        sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
        return;
    }
    sim_obj *old = sim_lookup(S, r, rq->ns, rq->name);
    if (!old && kind == P_APPLY && !rq->sub[0] && json_object_is_type(patch, json_type_object)) {
        /* server-side apply of a missing object creates it */
        const char *pn = jx_str(patch, "metadata.name");
        if (pn && strcmp(pn, rq->name) != 0) {
            reply_name_mismatch(rq, pn);
            json_object_put(patch);
            return;
        }
        jx_set_str(patch, "metadata.name", rq->name);
        do_create(S, r, rq->ns, patch, rq->manager, rq, NULL);
        return;
    }
    if (!old) {
        json_object_put(patch);
        sim_reply_json(rq, 404, sim_status_not_found(r, rq->name), NULL);
        return;
    }
    int scale = !strcmp(rq->sub, "scale");
    /* the patch functions never modify their input: the stored tree itself is the base
     * (a merge patch's result shares what it leaves alone with it, see finish_update) */
    json_object *base = scale                        ? sim_scale_of(r, sim_obj_tree(old))
                        : sim_obj_needs_view(r, old) ? sim_obj_view(S, r, old)
                                                     : json_object_get(sim_obj_tree(old));
    json_object *res = NULL;
    char err[256] = "";
    if (kind == P_MERGE || kind == P_APPLY) {
        if (!json_object_is_type(patch, json_type_object)) {
            json_object_put(patch);
            json_object_put(base);
            sim_reply_json(rq, 400,
                           sim_status_bad_request("error decoding patch: json: cannot unmarshal "
                                                  "into Go value of type map[string]interface {}"),
                           NULL);
            return;
        }
        res = sim_merge_patch_shared(base, patch);
    } else if (kind == P_JSON) {
        int rc = sim_json_patch(base, patch, &res, err, sizeof err);
        if (rc == ERR_BADREQUEST) {
            char msg[512];
            snprintf(msg, sizeof msg, "error decoding patch: %s", err);
            json_object_put(patch);
            json_object_put(base);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return;
        }
        if (rc != 0) {
            json_object_put(patch);
            json_object_put(base);
            sim_reply_json(rq, 422, sim_status_json_patch_invalid(), NULL);
            return;
        }
    } else {
        int rc = sim_strategic_merge(base, patch, r->kind, &res, err, sizeof err);
        if (rc != 0) {
            json_object_put(patch);
            json_object_put(base);
            sim_reply_json(rq, 400, sim_status_bad_request(err[0] ? err : "invalid patch"), NULL);
            return;
        }
    }
    json_object_put(base);
    if (!res || !json_object_is_type(res, json_type_object)) {
        json_object_put(res);
        json_object_put(patch);
        sim_reply_json(rq, 422, sim_status_json_patch_invalid(), NULL);
        return;
    }
    /* resourceVersion in the result is a precondition */
    json_object *rm = NULL, *ruid = NULL;
    json_object_object_get_ex(res, "metadata", &rm);
    const char *prv = member_str(rm, "resourceVersion");
    char cur[24];
    if (prv && prv[0] && strcmp(prv, u64_text(old->rv, cur)) != 0) {
        json_object_put(res);
        json_object_put(patch);
        sim_reply_json(rq, 409, sim_status_conflict(r, rq->name), NULL);
        return;
    }
    const char *puid = member_str(rm, "uid");
    const char *ouid = member_str(jx_obj(sim_obj_tree(old), "metadata"), "uid");
    if (!scale && ouid && (!puid || strcmp(puid, ouid) != 0) &&
        json_object_object_get_ex(rm, "uid", &ruid) && ruid) {
        sim_causes c;
        sim_causes_init(&c);
        json_object *v = ruid;
        sim_causes_invalid(&c, "metadata.uid", v, "field is immutable");
        if (core) sim_causes_invalid(&c, "metadata.uid", v, "field is immutable");
        json_object *st = sim_status_invalid(&c, r->kind, r->group, rq->name);
        sim_causes_fini(&c);
        json_object_put(res);
        json_object_put(patch);
        sim_reply_json(rq, 422, st, NULL);
        return;
    }
    json_object *nobj;
    json_object *fsrc = patch;
    if (scale) {
        nobj = scale_apply(r, res, sim_obj_tree(old));
        fsrc = res;
    } else {
        /* res moves into nobj; for a JSON patch the new object names the fields */
        nobj = subresource_merge(r, rq->sub, res, sim_obj_tree(old));
        if (kind == P_JSON) fsrc = NULL;
        res = NULL;
    }
    finish_update(S, r, rq, old, nobj, fsrc, kind != P_JSON && !scale, rq->manager, rq->sub, scale);
    json_object_put(res);
    json_object_put(patch);
}

/* The stored tree's top-level members in order: those named in deep as
 * private deep copies, those in shallow (objects) as private shallow copies,
 * the rest shared with the stored (immutable) tree. NULL lists: all deep. */
static int
key_in(const char *const *list, const char *k)
{
    for (; list && *list; list++)
        if (!strcmp(*list, k)) return 1;
    return 0;
}

static json_object *
copy_for_update(json_object *t, const char *const *deep, const char *const *shallow)
{
    if (!deep && !shallow) return sim_json_copy(t);
    if (!json_object_is_type(t, json_type_object)) return NULL;
    json_object *n = json_object_new_object();
    if (!n) return NULL;
    json_object_object_foreach(t, k, v)
    {
        json_object *c = key_in(deep, k) ? sim_json_copy(v)
                         : key_in(shallow, k) && json_object_is_type(v, json_type_object)
                             ? sim_json_shallow_copy(v)
                             : json_object_get(v);
        if ((v && !c) || json_object_object_add(n, k, c) != 0) {
            json_object_put(c);
            json_object_put(n);
            return NULL;
        }
    }
    return n;
}

int
sim_internal_update_keys(sim_state *S, sim_res *r, const char *ns, const char *name,
                         int (*fn)(void *ud, json_object *obj), void *ud, const char *manager,
                         const char *const *deep, const char *const *shallow)
{
    sim_obj *old = sim_lookup(S, r, ns, name);
    if (!old) return ERR_NOTFOUND;
    json_object *n = copy_for_update(sim_obj_tree(old), deep, shallow);
    if (!n) return ERR_NOMEM;
    if (fn(ud, n) != 0) {
        json_object_put(n);
        return 0;
    }
    /* What fn set is what the manager owns. finish_update (no request)
     * changes nothing that managedFields reads (the non-status members, of
     * metadata only generateName, labels, annotations, finalizers and
     * ownerReferences) before it reads them, except a namespace's name
     * label: only there the fields come from a copy taken now. */
    json_object *fsrc = NULL;
    if (r->hook == SIM_HOOK_NAMESPACE && !(fsrc = sim_json_copy(n))) {
        json_object_put(n);
        return ERR_NOMEM;
    }
    int code = finish_update(S, r, NULL, old, n, fsrc, 1, manager, NULL, 0);
    json_object_put(fsrc);
    return code == 200 ? 0 : ERR_INVALID;
}

int
sim_internal_update(sim_state *S, sim_res *r, const char *ns, const char *name,
                    int (*fn)(void *ud, json_object *obj), void *ud, const char *manager)
{
    return sim_internal_update_keys(S, r, ns, name, fn, ud, manager, NULL, NULL);
}

/* ---- delete ---- */
