/* sim_write.c - the write verbs: create, update (PUT), patch, delete,
 * pods/binding, and the internal writers the simulated controllers use.
 *
 * Every write follows the real server's order: decode -> preconditions ->
 * build the new object (subresource rules) -> defaults/validation (core
 * hooks or the CRD schema) -> no-op check (same resourceVersion, no event)
 * -> managedFields -> commit (one new resourceVersion, one event). */
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

/* Go's encoding/json wording for the first syntax error in buf. */
static void
go_json_error(const char *buf, size_t len, char *out, size_t outlen)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (i >= len) {
        snprintf(out, outlen, "unexpected end of JSON input");
        return;
    }
    unsigned char c = (unsigned char)buf[i];
    static const char *lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        if (c != (unsigned char)lits[k][0]) continue;
        const char *l = lits[k];
        for (size_t j = 1; l[j]; j++) {
            if (i + j >= len) {
                snprintf(out, outlen, "unexpected end of JSON input");
                return;
            }
            if (buf[i + j] != l[j]) {
                snprintf(out, outlen, "invalid character '%c' in literal %s (expecting '%c')",
                         buf[i + j], l, l[j]);
                return;
            }
        }
    }
    if (!strchr("{[\"-0123456789tfn", c)) {
        if (c < 0x20 || c >= 0x7f)
            snprintf(out, outlen, "invalid character '\\u%04x' looking for beginning of value", c);
        else
            snprintf(out, outlen, "invalid character '%c' looking for beginning of value", c);
        return;
    }
    /* json-c knows where it stopped: incomplete input is Go's "unexpected end" */
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
    enum json_tokener_error e = tok ? json_tokener_get_error(tok) : json_tokener_error_parse_eof;
    size_t at = tok ? (size_t)json_tokener_get_parse_end(tok) : len;
    json_object_put(o);
    if (tok) json_tokener_free(tok);
    if (e == json_tokener_continue || at >= len) {
        snprintf(out, outlen, "unexpected end of JSON input");
        return;
    }
    c = (unsigned char)buf[at < len ? at : len - 1];
    if (c < 0x20 || c >= 0x7f)
        snprintf(out, outlen, "invalid character '\\u%04x' after object key:value pair", c);
    else
        snprintf(out, outlen, "invalid character '%c' after object key:value pair", c);
}

static json_object *
parse_json(const char *buf, size_t len)
{
    if (len > 0x7fffffff) return NULL;
    json_tokener *tok = json_tokener_new_ex(128);
    if (!tok) return NULL;
    json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    if (o && json_tokener_get_error(tok) == json_tokener_success) {
        size_t end = (size_t)json_tokener_get_parse_end(tok);
        while (end < len && isspace((unsigned char)buf[end]))
            end++;
        if (end != len) {
            json_object_put(o);
            o = NULL;
        }
    } else if (o) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static void
reply_oom(sim_rq *rq)
{
    sim_reply_json(rq, 500, sim_status(500, "InternalError", "out of memory", NULL), NULL);
}

/* Decode a POST/PUT body into an object of rq->res's kind. NULL = replied. */
static json_object *
decode_object(sim_rq *rq, const char *expect_kind, const char *expect_av)
{
    const char *ct = rq->r->content_type;
    json_object *o = NULL;
    if (!ct[0] || !strcmp(ct, "application/json") || !strcmp(ct, "*/*")) {
        o = parse_json(rq->r->body, rq->r->body_len);
        if (!o) {
            char gerr[256], snip[128];
            go_json_error(rq->r->body, rq->r->body_len, gerr, sizeof gerr);
            const char *b = rq->r->body;
            size_t n = rq->r->body_len;
            if (n && (b[0] == '{' || b[0] == '[')) {
                size_t k = n > 30 ? 30 : n;
                snprintf(snip, sizeof snip, "%.*s%s", (int)k, b, n > 30 ? " ..." : "");
            } else {
                size_t k = n > 30 ? 30 : n, w = 0;
                for (size_t i = 0; i < k && w + 3 < sizeof snip; i++)
                    w += (size_t)snprintf(snip + w, sizeof snip - w, "%02x", (unsigned char)b[i]);
                snip[w] = '\0';
            }
            char msg[1024];
            snprintf(msg, sizeof msg,
                     "the object provided is unrecognized (must be of type %s): couldn't get "
                     "version/kind; json parse error: %s (%s)",
                     expect_kind, gerr, snip);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return NULL;
        }
    } else if (!strcmp(ct, "application/yaml")) {
        char err[256];
        json_object *docs = yaml_to_json(rq->r->body, rq->r->body_len, err, sizeof err);
        if (!docs) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the object provided is unrecognized (must be of type %s): %s", expect_kind,
                     err);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return NULL;
        }
        o = docs;
    } else {
        sim_reply_json(rq, 415,
                       sim_status_unsupported_media("application/json, application/yaml, "
                                                    "application/vnd.kubernetes.protobuf"),
                       NULL);
        return NULL;
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        char msg[256];
        snprintf(msg, sizeof msg,
                 "the object provided is unrecognized (must be of type %s): couldn't get "
                 "version/kind; json parse error: json: cannot unmarshal into Go value of type "
                 "struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
                 "\"json:\\\"kind,omitempty\\\"\" }",
                 expect_kind);
        sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
        return NULL;
    }
    const char *av = jx_str(o, "apiVersion");
    const char *kind = jx_str(o, "kind");
    if (av && av[0] && strcmp(av, expect_av) != 0) {
        /* another served version of the same group is accepted (conversion None) */
        const char *slash = strchr(av, '/');
        int same_group = rq->res->group[0] && slash &&
                         strlen(rq->res->group) == (size_t)(slash - av) &&
                         !strncmp(av, rq->res->group, (size_t)(slash - av)) &&
                         sim_res_find(&rq->S->res, rq->res->group, slash + 1, rq->res->plural);
        if (!same_group) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the API version in the data (%s) does not match the expected API version "
                     "(%s)",
                     av, expect_av);
            json_object_put(o);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return NULL;
        }
    }
    if (kind && kind[0] && strcmp(kind, expect_kind) != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "the kind in the data (%s) does not match the expected kind (%s)",
                 kind, expect_kind);
        json_object_put(o);
        sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
        return NULL;
    }
    if (jx_get(o, "metadata") && !jx_obj(o, "metadata")) {
        json_object_put(o);
        sim_reply_json(rq, 400,
                       sim_status_bad_request("metadata: Invalid value: must be an object"), NULL);
        return NULL;
    }
    return o;
}

/* ---- helpers ---- */

static const char *
res_av(const sim_res *r, char *buf, size_t len)
{
    return sim_res_api_version(r, buf, len);
}

static int
has_generation(const sim_res *r)
{
    return r->hook == SIM_HOOK_CUSTOM || r->hook == SIM_HOOK_CRD;
}

static json_object *
meta_of(json_object *o)
{
    return jx_ensure_obj(o, "metadata");
}

static void
meta_copy_key(json_object *dst, json_object *src, const char *key)
{
    json_object *v = jx_get(src, key);
    if (v)
        json_object_object_add(dst, key, sim_json_copy(v));
    else
        json_object_object_del(dst, key);
}

/* Server-owned metadata comes from the stored object, never from the request. */
static void
restore_server_meta(json_object *nobj, json_object *old)
{
    json_object *nm = meta_of(nobj), *om = jx_obj(old, "metadata");
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

static int
str_in_array(json_object *arr, const char *s)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
        if (v && !strcmp(v, s)) return 1;
    }
    return 0;
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
apply_schema(sim_rq *rq, json_object *obj, json_object *old, sim_schema_report *rep)
{
    sim_res *r = rq->res;
    if (r->hook != SIM_HOOK_CUSTOM || !r->schema) return 0;
    int rc = sim_schema_apply(r->schema, obj, old, SIM_SCHEMA_ALL, rep);
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
        reply_oom(rq);
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
    json_object *m = meta_of(obj);
    char uid[37], now[32], av[256];
    sim_meta_uid((uint64_t *)&S->rand_state, uid);
    sim_meta_now(now);
    json_object_object_add(m, "uid", json_object_new_string(uid));
    json_object_object_add(m, "creationTimestamp", json_object_new_string(now));
    if (has_generation(r)) json_object_object_add(m, "generation", json_object_new_int64(1));
    if (manager && manager[0])
        sim_meta_managed(obj, fields_src, manager, "Update", res_av(r, av, sizeof av), NULL, 0);
}

/* ---- create ---- */

static void
strip_for_create(json_object *obj)
{
    json_object *m = meta_of(obj);
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
    res_av(r, av, sizeof av);
    obj = sim_meta_reorder(obj, r->kind, av);
    json_object *m = meta_of(obj);
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
    if (rq && apply_schema(rq, obj, NULL, &rep) != 0) {
        sim_schema_report_fini(&rep);
        json_object_put(obj);
        return 422;
    }
    if (!rq && r->hook == SIM_HOOK_CUSTOM && r->schema)
        sim_schema_apply(r->schema, obj, NULL, SIM_SCHEMA_PRUNE | SIM_SCHEMA_DEFAULT, &rep);
    /* managedFields record the decoded, defaulted object: before admission */
    sim_core_defaults(r, obj);
    json_object *fields_src = sim_json_copy(obj);
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
    finalize_created(S, r, obj, manager, fields_src);
    json_object_put(fields_src);
    const sim_obj *so = sim_commit(S, r, SIM_EV_ADDED, obj);
    if (!so) {
        sim_schema_report_fini(&rep);
        if (rq) reply_oom(rq);
        return 500;
    }
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
    res_av(r, av, sizeof av);
    if (rq->res->hook == SIM_HOOK_EVENT_V1) {
        json_object *o = decode_object(rq, r->kind, av);
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
    json_object *o = decode_object(rq, r->kind, av);
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

/* Commit an updated object nobj (taken) replacing old. fields_src: what the
 * writer set (for managedFields). Replies unless rq is NULL. Returns code. */
static int
finish_update(sim_state *S, sim_res *r, sim_rq *rq, const sim_obj *old, json_object *nobj,
              json_object *fields_src, int merge_mf, const char *manager, const char *sub,
              int reply_scale)
{
    char av[256];
    res_av(r, av, sizeof av);
    nobj = sim_meta_reorder(nobj, r->kind, av);
    restore_server_meta(nobj, sim_obj_tree(old));
    if (!fields_src) fields_src = nobj; /* read only, before managedFields change */
    sim_schema_report rep;
    sim_schema_report_init(&rep);
    if (rq && apply_schema(rq, nobj, sim_obj_tree(old), &rep) != 0) {
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
    json_object *om = jx_obj(sim_obj_tree(old), "metadata");
    json_object *nm = meta_of(nobj);
    const char *name = jx_str_or(om, "name", "");
    /* no new finalizers while deleting */
    if (jx_get(om, "deletionTimestamp")) {
        json_object *nf = jx_arr(nm, "finalizers"), *of = jx_arr(om, "finalizers");
        sim_buf added = {0};
        size_t n = nf ? json_object_array_length(nf) : 0;
        for (size_t i = 0; i < n; i++) {
            const char *f = json_object_get_string(json_object_array_get_idx(nf, i));
            if (f && !str_in_array(of, f)) {
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
    if (has_generation(r) && !spec_equal(nobj, sim_obj_tree(old))) {
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
    json_object *fins = jx_arr(nm, "finalizers");
    if (jx_get(nm, "deletionTimestamp") && (!fins || json_object_array_length(fins) == 0) &&
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
        if (rq) reply_oom(rq);
        return 500;
    }
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
        json_object *n = sim_json_copy(old);
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
            json_object_object_add(n, "status", sim_json_copy(st));
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

void
sim_write_update(sim_rq *rq)
{
    sim_state *S = rq->S;
    sim_res *r = rq->res;
    char av[256];
    int scale = !strcmp(rq->sub, "scale");
    json_object *body = scale ? decode_object(rq, "Scale", "autoscaling/v1")
                              : decode_object(rq, r->kind, res_av(r, av, sizeof av));
    if (!body) return;
    if (r->hook == SIM_HOOK_EVENT_V1) {
        json_object *core = sim_event_from_v1(body);
        json_object_put(body);
        body = core;
        rq->res = r = sim_find_res(S, "", "events");
    }
    const char *bname = jx_str(body, "metadata.name");
    if (bname && strcmp(bname, rq->name) != 0) {
        char msg[700];
        snprintf(msg, sizeof msg,
                 "the name of the object (%.300s) does not match the name on the URL (%.300s)",
                 bname, rq->name);
        json_object_put(body);
        sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
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
        patch = parse_json(rq->r->body, rq->r->body_len);
    }
    if (!patch) {
        char gerr[256], msg[512];
        go_json_error(rq->r->body, rq->r->body_len, gerr, sizeof gerr);
        snprintf(msg, sizeof msg, "error decoding patch: %s", gerr);
        sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
        return;
    }
    sim_obj *old = sim_lookup(S, r, rq->ns, rq->name);
    if (!old && kind == P_APPLY && !rq->sub[0] && json_object_is_type(patch, json_type_object)) {
        /* server-side apply of a missing object creates it */
        const char *pn = jx_str(patch, "metadata.name");
        if (pn && strcmp(pn, rq->name) != 0) {
            char msg[700];
            snprintf(msg, sizeof msg,
                     "the name of the object (%.300s) does not match the name on the URL (%.300s)",
                     pn, rq->name);
            json_object_put(patch);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
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
    /* the patch functions never modify their input: the stored tree itself is the base */
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
        res = sim_merge_patch(base, patch);
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
    const char *prv = jx_str(res, "metadata.resourceVersion");
    char cur[32];
    snprintf(cur, sizeof cur, "%llu", (unsigned long long)old->rv);
    if (prv && prv[0] && strcmp(prv, cur) != 0) {
        json_object_put(res);
        json_object_put(patch);
        sim_reply_json(rq, 409, sim_status_conflict(r, rq->name), NULL);
        return;
    }
    const char *puid = jx_str(res, "metadata.uid");
    const char *ouid = jx_str(sim_obj_tree(old), "metadata.uid");
    if (!scale && ouid && (!puid || strcmp(puid, ouid) != 0) && jx_get(res, "metadata.uid")) {
        sim_causes c;
        sim_causes_init(&c);
        json_object *v = jx_get(res, "metadata.uid");
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

int
sim_internal_update(sim_state *S, sim_res *r, const char *ns, const char *name,
                    int (*fn)(void *ud, json_object *obj), void *ud, const char *manager)
{
    sim_obj *old = sim_lookup(S, r, ns, name);
    if (!old) return ERR_NOTFOUND;
    json_object *n = sim_json_copy(sim_obj_tree(old));
    if (!n) return ERR_NOMEM;
    if (fn(ud, n) != 0) {
        json_object_put(n);
        return 0;
    }
    json_object *fsrc = sim_json_copy(n);
    int code = finish_update(S, r, NULL, old, n, fsrc, 1, manager, NULL, 0);
    json_object_put(fsrc);
    return code == 200 ? 0 : ERR_INVALID;
}

/* ---- delete ---- */

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
        o->body = parse_json(rq->r->body, rq->r->body_len);
        if (!o->body || !json_object_is_type(o->body, json_type_object)) {
            char gerr[256], msg[512];
            go_json_error(rq->r->body, rq->r->body_len, gerr, sizeof gerr);
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
        json_object *nm = meta_of(n);
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
                reply_oom(rq);
        }
        return 200;
    }

    if (deleting) {
        /* a second DELETE changes nothing, except a shorter grace for a pod */
        int64_t cur_grace = jx_int(om, "deletionGracePeriodSeconds", 0);
        if (is_pod && nfins == 0 && (grace == 0 || grace < cur_grace)) {
            if (grace == 0) {
                json_object *fin = sim_json_copy(sim_obj_tree(old));
                json_object *fm = meta_of(fin);
                json_object_object_add(fm, "deletionGracePeriodSeconds", json_object_new_int(0));
                const sim_obj *so = sim_commit(S, r, SIM_EV_DELETED, fin);
                if (rq) {
                    if (so)
                        sim_reply_obj(rq, 200, so, NULL);
                    else
                        reply_oom(rq);
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
        json_object *nm = meta_of(n);
        if (add_fin && !str_in_array(jx_arr(nm, "finalizers"), add_fin)) {
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
        if (has_generation(r))
            json_object_object_add(nm, "generation",
                                   json_object_new_int64(jx_int(om, "generation", 1) + 1));
        const sim_obj *so = sim_commit(S, r, SIM_EV_MODIFIED, n);
        if (rq) {
            if (so)
                sim_reply_obj(rq, 200, so, NULL);
            else
                reply_oom(rq);
        }
        return 200;
    }
    /* gone now */
    json_object *fin = sim_json_copy(sim_obj_tree(old));
    if (is_pod) {
        json_object *fm = meta_of(fin);
        json_object_object_add(fm, "deletionTimestamp", json_object_new_string(now));
        json_object_object_add(fm, "deletionGracePeriodSeconds", json_object_new_int(0));
    }
    char uidb[64];
    snprintf(uidb, sizeof uidb, "%s", uid ? uid : "");
    const sim_obj *so = sim_commit(S, r, SIM_EV_DELETED, fin);
    if (rq) {
        if (!so)
            reply_oom(rq);
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
        reply_oom(rq);
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
                   rq->res->list_kind, res_av(rq->res, av, sizeof av), (unsigned long long)S->rv);
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
    json_object *b = decode_object(rq, "Binding", "v1");
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
        reply_oom(rq);
        return;
    }
    sim_reply_json(rq, 201, sim_status(201, NULL, NULL, NULL), NULL);
}
