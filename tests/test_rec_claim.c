/* test_rec_claim.c - SandboxClaim: the Ready condition table, the
 * additionalPodMetadata validation table, the env and volumeClaimTemplates
 * merge matrices (spec/api.md §2.4), and multi-pass flows of the claim pass
 * against a fake store and a real pools/ set: the two-write warm path
 * (write 1 CAS patch, write 2 status, write 3 annotations), 409/404 on
 * write 1, cold create, WarmPoolNotFound, crash between writes, pending
 * warm members, name clash, expiry per shutdown policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json_pointer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "pools/pool.h"
#include "reconciler/claim.h"
#include "reconciler/claim_build.h"
#include "reconciler/claim_policy.h"
#include "reconciler/claim_ready.h"
#include "reconciler/warmpool.h"

static json_object *
J(const char *s)
{
    if (s == NULL) return NULL;
    char *b = malloc(strlen(s) + 3);
    sprintf(b, "[%s]", s); /* scalars need a container to parse */
    for (char *p = b; *p; p++)
        if (*p == '\'') *p = '"';
    const char *err = NULL;
    json_object *arr = jx_parse(b, strlen(b), &err);
    if (arr == NULL) fail_msg("bad test JSON: %s: %s", err, s);
    free(b);
    json_object *o = json_object_get(json_object_array_get_idx(arr, 0));
    json_object_put(arr);
    return o;
}

static json_object *
ptr(json_object *o, const char *p)
{
    json_object *r = NULL;
    return json_pointer_get(o, p, &r) == 0 ? r : NULL;
}

#define CHECK(obj, p, want)                                                                        \
    do {                                                                                           \
        json_object *w_ = J(want);                                                                 \
        json_object *g_ = ptr(obj, p);                                                             \
        if (!json_object_equal(g_, w_))                                                            \
            fail_msg("%s: got %s want %s", p, g_ ? jx_dump(g_) : "(absent)", want);                \
        json_object_put(w_);                                                                       \
    } while (0)

/* ---- Ready table ------------------------------------------------------------- */

typedef struct ready_row {
    const char *name;
    enum rec_claim_err err;
    const char *msg, *ref;
    int expired;
    const char *sandbox;
    const char *status, *reason, *message;
} ready_row;

#define SBC(conds) "{'metadata':{'name':'s'},'status':{'conditions':" conds "}}"

static const ready_row ready_rows[] = {
    {"template-missing", REC_CE_TEMPLATE_NOT_FOUND, NULL, "tpl", 0, NULL, "False",
     "TemplateNotFound", "SandboxTemplate \"tpl\" not found"},
    {"pool-missing", REC_CE_POOL_NOT_FOUND, NULL, "pool", 0, NULL, "False", "WarmPoolNotFound",
     "SandboxWarmPool \"pool\" not found"},
    {"adoption-conflict", REC_CE_ADOPTION_CONFLICT, "sandbox \"x\" was taken", NULL, 0, NULL,
     "False", "AdoptionConflict",
     "sandbox \"x\" was taken; the next pass retries from a converged view"},
    {"create-pending", REC_CE_CREATE_PENDING, NULL, NULL, 0, NULL, "False", "SandboxCreatePending",
     "Sandbox already created; waiting for cache to converge"},
    {"invalid-metadata", REC_CE_INVALID_METADATA, "invalid additionalPodMetadata: x", NULL, 0, NULL,
     "False", "InvalidMetadata", "invalid additionalPodMetadata: x"},
    {"env-rejected", REC_CE_ENV_REJECTED, "environment variable injection rejected: y", NULL, 0,
     NULL, "False", "EnvVarsInjectionRejected", "environment variable injection rejected: y"},
    {"expired-not-ours", REC_CE_EXPIRED_NOT_OURS, "sandbox \"s\" is not controlled by claim \"c\"",
     NULL, 1, NULL, "False", "ClaimExpired",
     "Claim expired. sandbox \"s\" is not controlled by claim \"c\"; deletion skipped."},
    {"vct-error", REC_CE_VCT, "volume claim templates are disallowed by the template", NULL, 0,
     NULL, "False", "VolumeClaimTemplatesError",
     "volume claim templates are disallowed by the template"},
    {"other-error", REC_CE_OTHER, "boom", NULL, 0, SBC("[]"), "False", "ReconcilerError",
     "Error seen: boom"},
    {"error-beats-expired", REC_CE_OTHER, "boom", NULL, 1, NULL, "False", "ReconcilerError",
     "Error seen: boom"},
    {"expired", REC_CE_NONE, NULL, NULL, 1, SBC("[{'type':'Ready','status':'True'}]"), "False",
     "ClaimExpired", "Claim expired. Sandbox cleanup initiated."},
    {"no-sandbox", REC_CE_NONE, NULL, NULL, 0, NULL, "False", "SandboxMissing",
     "Sandbox does not exist"},
    {"sandbox-expired", REC_CE_NONE, NULL, NULL, 0,
     SBC("[{'type':'Ready','status':'False','reason':'SandboxExpired','message':'x'}]"), "False",
     "SandboxExpired", "Underlying Sandbox resource has expired independently of the Claim."},
    {"sandbox-ready-copied", REC_CE_NONE, NULL, NULL, 0,
     SBC("[{'type':'Ready','status':'True','reason':'DependenciesReady','message':'Pod is Ready; "
         "Service Exists','observedGeneration':7}]"),
     "True", "DependenciesReady", "Pod is Ready; Service Exists"},
    {"sandbox-not-ready-copied", REC_CE_NONE, NULL, NULL, 0,
     SBC("[{'type':'Ready','status':'False','reason':'DependenciesNotReady','message':'Pod "
         "exists with phase: Pending'}]"),
     "False", "DependenciesNotReady", "Pod exists with phase: Pending"},
    {"sandbox-without-ready", REC_CE_NONE, NULL, NULL, 0,
     SBC("[{'type':'Suspended','status':'False'}]"), "False", "SandboxNotReady",
     "Sandbox is not ready"},
};

static void
test_ready_row(void **state)
{
    const ready_row *r = *state;
    json_object *sb = J(r->sandbox);
    rec_claim_ready_in in = {r->err, r->msg, r->ref, r->expired, sb};
    rec_claim_ready_out out;
    rec_claim_ready(&in, &out);
    assert_string_equal(out.status, r->status);
    assert_string_equal(out.reason, r->reason);
    assert_string_equal(out.message, r->message);
    json_object_put(sb);
}

/* ---- additionalPodMetadata validation ---------------------------------------- */

typedef struct meta_row {
    const char *name;
    const char *apm;
    const char *domains; /* file contents, NULL = default */
    const char *want;    /* NULL = valid */
} meta_row;

#define PFX "invalid additionalPodMetadata: failed to validate "
static const meta_row meta_rows[] = {
    {"empty", "{}", NULL, NULL},
    {"allowed-domain", "{'labels':{'sandbox.users.io/team':'a'}}", NULL, NULL},
    {"allowed-subdomain", "{'labels':{'x.sandbox.users.io/team':'a'}}", NULL, NULL},
    {"lookalike-domain", "{'labels':{'evilsandbox.users.io/team':'a'}}", NULL,
     PFX "label \"evilsandbox.users.io/team\": label prefix \"evilsandbox.users.io\" is not in the "
         "allowed domains [sandbox.users.io]"},
    {"no-prefix", "{'labels':{'team':'a'}}", NULL,
     PFX "label \"team\": label key must have a prefix in one of the allowed domains "
         "[sandbox.users.io]"},
    {"router-label", "{'labels':{'app':'Sandbox-Router'}}", NULL,
     PFX "label \"app\": the label app=Sandbox-Router is reserved for the sandbox router"},
    {"custom-domains", "{'labels':{'corp.example/x':'1','b.other.io/y':'2'}}",
     " Corp.Example ,\nother.io\n", NULL},
    {"custom-domains-reject", "{'labels':{'sandbox.users.io/x':'1'}}", "corp.example",
     PFX "label \"sandbox.users.io/x\": label prefix \"sandbox.users.io\" is not in the allowed "
         "domains [corp.example]"},
    {"bad-value", "{'labels':{'sandbox.users.io/x':'-bad'}}", NULL,
     PFX "label \"sandbox.users.io/x\": a valid label must be an empty string or consist of "
         "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
         "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
         "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
    {"long-value",
     "{'labels':{'sandbox.users.io/x':'"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}",
     NULL, PFX "label \"sandbox.users.io/x\": must be no more than 63 characters"},
    {"empty-value-ok", "{'labels':{'sandbox.users.io/x':''}}", NULL, NULL},
    {"bad-name-part", "{'labels':{'sandbox.users.io/-x':'1'}}", NULL,
     PFX "label \"sandbox.users.io/-x\": name part must consist of alphanumeric characters, '-', "
         "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
         "'my.name',  or '123-abc', regex used for validation is "
         "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"},
    {"empty-prefix", "{'annotations':{'/x':'1'}}", NULL,
     PFX "annotation \"/x\": prefix part must be non-empty"},
    {"sorted-first-error", "{'labels':{'zz':'1','aa':'1'}}", NULL,
     PFX "label \"aa\": label key must have a prefix in one of the allowed domains "
         "[sandbox.users.io]"},
    {"annotation-unprefixed-ok", "{'annotations':{'note':'anything at all'}}", NULL, NULL},
    {"annotation-k8s-reserved", "{'annotations':{'kubernetes.io/x':'1'}}", NULL,
     PFX "annotation \"kubernetes.io/x\": annotation prefix \"kubernetes.io\" is reserved"},
    {"annotation-k8s-subdomain", "{'annotations':{'foo.k8s.io/x':'1'}}", NULL,
     PFX "annotation \"foo.k8s.io/x\": annotation prefix \"foo.k8s.io\" is reserved"},
    {"annotation-agents-reserved", "{'annotations':{'agents.x-k8s.io/pod-name':'1'}}", NULL,
     PFX "annotation \"agents.x-k8s.io/pod-name\": annotation prefix \"agents.x-k8s.io\" is "
         "reserved"},
    {"annotation-safe-to-evict-ok",
     "{'annotations':{'cluster-autoscaler.kubernetes.io/safe-to-evict':'false'}}", NULL, NULL},
    {"labels-checked-before-annotations",
     "{'labels':{'bad':'1'},'annotations':{'kubernetes.io/x':'1'}}", NULL,
     PFX "label \"bad\": label key must have a prefix in one of the allowed domains "
         "[sandbox.users.io]"},
};

static void
test_meta_row(void **state)
{
    const meta_row *r = *state;
    json_object *apm = J(r->apm);
    rec_domains d = {0};
    if (r->domains) assert_int_equal(rec_domains_parse(&d, r->domains), 0);
    char err[2048] = "";
    int rc = rec_claim_validate_metadata(apm, r->domains ? &d : NULL, err, sizeof err);
    if (r->want == NULL) {
        if (rc != 0) fail_msg("unexpected error: %s", err);
    } else {
        assert_int_equal(rc, ERR_INVALID);
        assert_string_equal(err, r->want);
    }
    rec_domains_fini(&d);
    json_object_put(apm);
}

/* ---- env matrix ---------------------------------------------------------------- */

typedef struct env_row {
    const char *name;
    const char *policy;
    const char *containers; /* template containers */
    const char *env;        /* claim env */
    int rc;
    const char *err;
    const char *want; /* resulting containers, when rc == 0 */
} env_row;

#define C2                                                                                         \
    "[{'name':'main','env':[{'name':'A','value':'1'},{'name':'B','valueFrom':{'x':1}}]},{'name':'" \
    "side'}]"
#define REJ                                                                                        \
    "environment variable injection rejected: environment variable injection is not allowed by "   \
    "the template policy"

static const env_row env_rows[] = {
    {"disallowed", "Disallowed", C2, "[{'name':'X','value':'1'}]", ERR_FORBIDDEN, REJ, NULL},
    {"unset-policy", NULL, C2, "[{'name':'X','value':'1'}]", ERR_FORBIDDEN, REJ, NULL},
    {"empty-env-always-ok", "Disallowed", C2, "[]", 0, NULL, C2},
    {"allowed-append-first-container", "Allowed", C2, "[{'name':'X','value':'1'}]", 0, NULL,
     "[{'name':'main','env':[{'name':'A','value':'1'},{'name':'B','valueFrom':{'x':1}},"
     "{'name':'X','value':'1'}]},{'name':'side'}]"},
    {"allowed-named-container", "Allowed", C2, "[{'name':'X','value':'1','containerName':'side'}]",
     0, NULL,
     "[{'name':'main','env':[{'name':'A','value':'1'},{'name':'B','valueFrom':{'x':1}}]},"
     "{'name':'side','env':[{'name':'X','value':'1'}]}]"},
    {"allowed-override-refused", "Allowed", C2, "[{'name':'A','value':'2'}]", ERR_INVALID,
     "environment variable override is not allowed by the template policy for variable \"A\"",
     NULL},
    {"allowed-envfrom-refused", "Allowed",
     "[{'name':'main','envFrom':[{'configMapRef':{'name':'cm'}}]}]", "[{'name':'X','value':'1'}]",
     ERR_FORBIDDEN,
     "environment variable injection rejected: container \"main\" uses EnvFrom sources; injected "
     "variables could silently override them, which the Allowed policy forbids",
     NULL},
    {"overrides-envfrom-ok", "Overrides",
     "[{'name':'main','envFrom':[{'configMapRef':{'name':'cm'}}]}]", "[{'name':'X','value':'1'}]",
     0, NULL,
     "[{'name':'main','envFrom':[{'configMapRef':{'name':'cm'}}],'env':[{'name':'X','value':'1'}]}"
     "]"},
    {"overrides-replace-drops-valuefrom", "Overrides", C2,
     "[{'name':'B','value':'9'},{'name':'A','value':'8'}]", 0, NULL,
     "[{'name':'main','env':[{'name':'A','value':'8'},{'name':'B','value':'9'}]},{'name':'side'}]"},
    {"unknown-container", "Overrides", C2, "[{'name':'X','value':'1','containerName':'nope'}]",
     ERR_INVALID, "target container \"nope\" not found in template for environment variable \"X\"",
     NULL},
    {"no-containers", "Allowed", "[]", "[{'name':'X','value':'1'}]", ERR_INVALID,
     "target container \"\" not found in template for environment variable \"X\"", NULL},
};

static void
test_env_row(void **state)
{
    const env_row *r = *state;
    json_object *spec = json_object_new_object();
    json_object_object_add(spec, "containers", J(r->containers));
    json_object *env = J(r->env);
    char err[1024] = "";
    int rc = rec_claim_inject_env(spec, env, r->policy, err, sizeof err);
    assert_int_equal(rc, r->rc);
    if (r->err) assert_string_equal(err, r->err);
    if (rc == 0) CHECK(spec, "/containers", r->want);
    json_object_put(env);
    json_object_put(spec);
}

/* ---- VCT matrix ---------------------------------------------------------------- */

typedef struct vct_row {
    const char *name;
    const char *policy;
    const char *tmpl, *claim;
    int rc;
    const char *err;
    const char *want; /* "name:size ..." of the result */
} vct_row;

#define V(n, s)                                                                                    \
    "{'metadata':{'name':'" n "'},'spec':{'resources':{'requests':{'storage':'" s "'}}}}"

static const vct_row vct_rows[] = {
    {"none", NULL, "[]", "[]", 0, NULL, ""},
    {"template-only", NULL, "[" V("a", "1") "," V("b", "1") "]", "[]", 0, NULL, "a:1 b:1"},
    {"template-empty-name", NULL, "[{'metadata':{},'spec':{}}]", "[]", ERR_INVALID,
     "template volume claim template at index 0 has an empty name", NULL},
    {"template-duplicate", NULL, "[" V("a", "1") "," V("a", "2") "]", "[]", ERR_INVALID,
     "template volume claim templates contain duplicate name \"a\"", NULL},
    {"disallowed", "Disallowed", "[]", "[" V("a", "1") "]", ERR_INVALID,
     "volume claim templates are disallowed by the template", NULL},
    {"unset-is-disallowed", NULL, "[" V("t", "1") "]", "[" V("a", "1") "]", ERR_INVALID,
     "volume claim templates are disallowed by the template", NULL},
    {"allowed-append", "Allowed", "[" V("t", "1") "]", "[" V("a", "2") "," V("b", "3") "]", 0, NULL,
     "t:1 a:2 b:3"},
    {"allowed-collision", "Allowed", "[" V("t", "1") "," V("u", "1") "]", "[" V("u", "9") "]",
     ERR_INVALID,
     "overriding volume claim templates is forbidden by the template: cannot override template "
     "volume \"u\"",
     NULL},
    {"overrides-replace-in-place", "Overrides", "[" V("t", "1") "," V("u", "1") "]",
     "[" V("new", "5") "," V("t", "9") "]", 0, NULL, "t:9 u:1 new:5"},
    {"claim-duplicate", "Overrides", "[]", "[" V("a", "1") "," V("a", "1") "]", ERR_INVALID,
     "claim volume claim templates contain duplicate name \"a\"", NULL},
    {"claim-empty-name", "Allowed", "[]", "[{'spec':{}}]", ERR_INVALID,
     "claim volume claim template at index 0 has an empty name", NULL},
};

static void
test_vct_row(void **state)
{
    const vct_row *r = *state;
    json_object *t = J(r->tmpl), *c = J(r->claim), *out = NULL;
    char err[1024] = "";
    int rc = rec_claim_merge_vcts(t, c, r->policy, &out, err, sizeof err);
    assert_int_equal(rc, r->rc);
    if (r->err) assert_string_equal(err, r->err);
    if (rc == 0) {
        char got[256] = "";
        for (size_t i = 0; out && i < json_object_array_length(out); i++) {
            json_object *v = json_object_array_get_idx(out, i);
            char one[64];
            snprintf(one, sizeof one, "%s%s:%c", i ? " " : "", jx_str_or(v, "metadata.name", "?"),
                     jx_str_or(v, "spec.resources.requests.storage", "?")[0]);
            strcat(got, one);
        }
        assert_string_equal(got, r->want);
    }
    json_object_put(out);
    json_object_put(t);
    json_object_put(c);
}

/* ---- flows: a small world --------------------------------------------------------- */

#define T0  1800000000000LL
#define UID "cu-1"

typedef struct world {
    json_object *claim, *pool, *tmpl;
    json_object *sbs[32];
    size_t n_sbs;
    pool_set *pools;
    rec_claim_state st;
    rec_claim_config cfg;
    rec_outcome outs[8];
    json_object *out_objs[8];
    size_t n_outs;
    int64_t now;
    int rv;
} world;

static json_object *
w_lookup(void *ud, const char *ns, const char *name)
{
    world *w = ud;
    (void)ns;
    for (size_t i = 0; i < w->n_sbs; i++)
        if (strcmp(jx_str_or(w->sbs[i], "metadata.name", ""), name) == 0) return w->sbs[i];
    return NULL;
}

json_object *members_lookup(void *ud, const char *ns, const char *name);
json_object *
members_lookup(void *ud, const char *ns, const char *name)
{
    json_object **m = ud;
    (void)ns;
    int i;
    if (sscanf(name, "m%d", &i) != 1 || i < 0 || i >= 2000) return NULL;
    return m[i];
}

static const char *
next_rv(world *w)
{
    static char b[16];
    snprintf(b, sizeof b, "%d", ++w->rv);
    return b;
}

#define TEMPLATE_SPEC                                                                              \
    "{'podTemplate':{'metadata':{'labels':{'app':'agent'},'annotations':{'t':'1'}},'spec':{"       \
    "'containers':[{'name':'main','image':'img'}]}},'envVarsInjectionPolicy':'Overrides',"         \
    "'volumeClaimTemplatesPolicy':'Allowed'}"

static void
w_init(world *w, const char *claim_spec)
{
    char buf[2048], ts[40];
    memset(w, 0, sizeof *w);
    w->now = T0;
    w->rv = 100;
    snprintf(buf, sizeof buf,
             "{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':'SandboxClaim','metadata':{"
             "'name':'c1','namespace':'default','uid':'" UID "','generation':1,"
             "'resourceVersion':'50','creationTimestamp':'%s','labels':{'agents.x-k8s.io/"
             "created-by':'python-client'}},'spec':%s}",
             time_fmt_rfc3339(T0, ts, sizeof ts), claim_spec);
    w->claim = J(buf);
    w->pool = J("{'metadata':{'name':'test-pool','namespace':'default','uid':'pu'},'spec':{"
                "'replicas':2,'sandboxTemplateRef':{'name':'test-template'}}}");
    w->tmpl = J("{'metadata':{'name':'test-template','namespace':'default','uid':'tu'},'spec'"
                ":" TEMPLATE_SPEC "}");
    w->pools = pool_set_new();
    rec_claim_state_init(&w->st);
    rec_claim_config_default(&w->cfg);
}

static void
w_clear_outs(world *w)
{
    for (size_t i = 0; i < w->n_outs; i++)
        json_object_put(w->out_objs[i]);
    w->n_outs = 0;
}

static void
w_fini(world *w)
{
    w_clear_outs(w);
    for (size_t i = 0; i < w->n_sbs; i++)
        json_object_put(w->sbs[i]);
    json_object_put(w->claim);
    json_object_put(w->pool);
    json_object_put(w->tmpl);
    rec_claim_state_fini(&w->st);
    pool_set_free(w->pools);
}

/* A warm member in the store and in pools/. */
static json_object *
w_member(world *w, const char *name, int ready, int ips, int64_t age_s)
{
    json_object *sb = rec_wp_member_new(w->pool, w->tmpl, 1);
    char ts[40];
    json_object *md = jx_obj(sb, "metadata");
    json_object_object_del(md, "generateName");
    jx_set_str(md, "name", name);
    jx_set_str(md, "uid", name);
    jx_set_str(md, "resourceVersion", next_rv(w));
    jx_set_str(md, "creationTimestamp", time_fmt_rfc3339(w->now - age_s * 1000, ts, sizeof ts));
    char st[256];
    snprintf(st, sizeof st,
             "{%s'conditions':[{'type':'Ready','status':'%s','reason':'R','message':'M'}]}",
             ips ? "'podIPs':['10.1.1.1'],'nodeName':'n1'," : "", ready ? "True" : "False");
    json_object_object_add(sb, "status", J(st));
    w->sbs[w->n_sbs++] = sb;
    assert_int_equal(pool_observe(w->pools, sb), 0);
    return sb;
}

typedef struct pass_out {
    rec_result r;
    rec_claim_report rep;
    char tags[256];
} pass_out;

static void
w_pass(world *w, pass_out *o)
{
    json_object *controlled[32];
    size_t nc = 0;
    for (size_t i = 0; i < w->n_sbs; i++) {
        json_object *refs = jx_arr(w->sbs[i], "metadata.ownerReferences");
        for (size_t k = 0; refs && k < json_object_array_length(refs); k++) {
            json_object *r = json_object_array_get_idx(refs, k);
            if (jx_bool(r, "controller", 0) && strcmp(jx_str_or(r, "uid", ""), UID) == 0)
                controlled[nc++] = w->sbs[i];
        }
    }
    rec_claim_input in = {w->claim,  w->pool,  w->pool ? w->tmpl : NULL,
                          w_lookup,  w,        controlled,
                          nc,        NULL,     w->outs,
                          w->n_outs, w->pools, w->now};
    memset(o, 0, sizeof *o);
    rec_result_init(&o->r);
    assert_int_equal(rec_claim_reconcile(&w->cfg, &w->st, &in, &o->r, &o->rep), 0);
    w_clear_outs(w);
    for (size_t i = 0; i < o->r.n_writes; i++) {
        if (i) strcat(o->tags, " ");
        strcat(o->tags, o->r.writes[i].tag);
    }
}

static const rec_write *
W(pass_out *o, const char *tag)
{
    for (size_t i = 0; i < o->r.n_writes; i++)
        if (strcmp(o->r.writes[i].tag, tag) == 0) return &o->r.writes[i];
    fail_msg("no write %s in [%s]", tag, o->tags);
    return NULL;
}

static void
w_outcome(world *w, const char *tag, int err, json_object *obj)
{
    rec_outcome *oc = &w->outs[w->n_outs];
    memset(oc, 0, sizeof *oc);
    oc->tag = tag;
    oc->err = err;
    oc->reason = "";
    oc->message = err ? "the object has been modified" : "";
    oc->object = obj;
    w->out_objs[w->n_outs++] = obj;
}

/* What the API server returns for a merge patch: apply it to a copy (a
 * simple RFC 7386 merge, enough for these bodies) and bump the rv. */
static void
merge(json_object *dst, json_object *patch)
{
    json_object_object_foreach(patch, k, v)
    {
        if (v == NULL || json_object_is_type(v, json_type_null)) {
            json_object_object_del(dst, k);
        } else if (json_object_is_type(v, json_type_object)) {
            json_object *d = jx_child(dst, k);
            if (d == NULL || !json_object_is_type(d, json_type_object)) {
                d = json_object_new_object();
                json_object_object_add(dst, k, d);
            }
            merge(d, v);
        } else {
            json_object *c = NULL;
            json_object_deep_copy(v, &c, NULL);
            json_object_object_add(dst, k, c);
        }
    }
}

static json_object *
server_apply(world *w, json_object *obj, const rec_write *wr)
{
    json_object *c = NULL;
    json_object_deep_copy(obj, &c, NULL);
    json_object *body = NULL;
    json_object_deep_copy(wr->body, &body, NULL);
    json_object_object_del(jx_obj(body, "metadata"), "resourceVersion");
    merge(c, body);
    json_object_put(body);
    jx_set_str(jx_obj(c, "metadata"), "resourceVersion", next_rv(w));
    return c;
}

static void
store_replace(world *w, json_object *obj)
{
    const char *name = jx_str(obj, "metadata.name");
    for (size_t i = 0; i < w->n_sbs; i++)
        if (strcmp(jx_str_or(w->sbs[i], "metadata.name", ""), name) == 0) {
            json_object *keep = json_object_get(obj); /* obj may be w->sbs[i] itself */
            json_object_put(w->sbs[i]);
            w->sbs[i] = keep;
            pool_observe(w->pools, obj);
            return;
        }
    w->sbs[w->n_sbs++] = json_object_get(obj);
    pool_observe(w->pools, obj);
}

static void
test_warm_two_writes(void **state)
{
    int disable_ann = state && *state ? 1 : 0;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'},'additionalPodMetadata':{'labels':{"
               "'sandbox.users.io/team':'a'}}}");
    w.cfg.disable_observability_annotations = disable_ann;
    w_member(&w, "test-pool-old", 1, 1, 100);
    json_object *young = w_member(&w, "test-pool-new", 1, 1, 10);
    (void)young;

    /* pass 1: write 1 only, on the oldest Ready member */
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-adopt");
    const rec_write *a = W(&o, "claim-adopt");
    assert_int_equal(a->op, REC_PATCH_MERGE);
    assert_string_equal(a->name, "test-pool-old");
    json_object *old = w_lookup(&w, "default", "test-pool-old");
    CHECK(a->body, "/metadata/resourceVersion",
          json_object_to_json_string(jx_get(old, "metadata.resourceVersion")));
    CHECK(a->body, "/metadata/ownerReferences",
          "[{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':'SandboxClaim','name':'c1',"
          "'uid':'" UID "','controller':true,'blockOwnerDeletion':true}]");
    CHECK(a->body, "/metadata/labels",
          "{'agents.x-k8s.io/warm-pool-sandbox':null,'agents.x-k8s.io/sandbox-pod-template-hash':"
          "null,'agents.x-k8s.io/sandbox-template-hash':null,'agents.x-k8s.io/launch-type':'warm',"
          "'agents.x-k8s.io/claim-uid':'" UID "','agents.x-k8s.io/created-by':'python-client',"
          "'agents.x-k8s.io/sandbox-template-ref-hash':'69155462'}");
    CHECK(a->body, "/metadata/annotations", "{'agents.x-k8s.io/pod-name':'test-pool-old'}");
    /* podTemplate metadata replaced exactly: pool keys nulled, claim keys added */
    CHECK(
        a->body, "/spec/podTemplate/metadata/labels",
        "{'agents.x-k8s.io/claim-uid':'" UID "','agents.x-k8s.io/created-by':'python-client',"
        "'sandbox.users.io/team':'a','agents.x-k8s.io/warm-pool-sandbox':null,"
        "'agents.x-k8s.io/sandbox-pod-template-hash':null,'agents.x-k8s.io/sandbox-template-hash':"
        "null}");
    CHECK(a->body, "/spec/podTemplate/metadata/annotations",
          "{'cluster-autoscaler.kubernetes.io/safe-to-evict':null}");
    assert_true(pool_is_reserved(w.pools, "default", "test-pool-old"));
    assert_int_equal(o.rep.pool_changed, 1);
    json_object *patched = server_apply(&w, old, a);
    rec_result_fini(&o.r);

    /* a pass before the outcome (e.g. a claim event): nothing */
    w_pass(&w, &o);
    assert_string_equal(o.tags, "");
    rec_result_fini(&o.r);

    /* pass 2: write 1 succeeded; the store has not seen it. Status from the returned object. */
    w.now += 3;
    w_outcome(&w, "claim-adopt", 0, patched);
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-status");
    assert_string_equal(o.rep.launch, "warm");
    assert_int_equal(o.r.n_events, 1);
    assert_string_equal(o.r.events[0].reason, "SandboxAdopted");
    assert_string_equal(o.r.events[0].action, "Adoption");
    assert_string_equal(o.r.events[0].note, "Adopted warm pool Sandbox \"test-pool-old\"");
    const rec_write *s = W(&o, "claim-status");
    assert_string_equal(s->subresource, "status");
    CHECK(s->body, "/metadata/resourceVersion", "'50'");
    CHECK(s->body, "/status/sandbox", "{'name':'test-pool-old','podIPs':['10.1.1.1']}");
    CHECK(s->body, "/status/conditions/0/type", "'Ready'");
    CHECK(s->body, "/status/conditions/0/status", "'True'");
    CHECK(s->body, "/status/conditions/0/reason", "'R'");
    CHECK(s->body, "/status/conditions/0/observedGeneration", "1");
    assert_false(pool_is_reserved(w.pools, "default", "test-pool-old"));
    pool_stats ps;
    pool_get_stats(w.pools, "default", "test-pool", &ps);
    assert_int_equal(ps.members, 1); /* the adopted one left the candidate set */
    assert_int_equal(o.rep.became_ready, 1);
    json_object *claim_after = server_apply(&w, w.claim, s);
    rec_result_fini(&o.r);

    /* pass 3: status written -> write 3, the annotations */
    w_outcome(&w, "claim-status", 0, claim_after);
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-meta");
    const rec_write *m = W(&o, "claim-meta");
    assert_null(m->subresource);
    char t0[64], t1[64];
    time_fmt_rfc3339nano(T0 * 1000000, t0, sizeof t0);
    time_fmt_rfc3339nano((T0 + 3) * 1000000, t1, sizeof t1);
    char want[512];
    if (disable_ann)
        snprintf(want, sizeof want, "{'agents.x-k8s.io/sandbox-name':'test-pool-old'}");
    else
        snprintf(want, sizeof want,
                 "{'agents.x-k8s.io/sandbox-name':'test-pool-old','agents.x-k8s.io/"
                 "controller-first-observed-at':'%s','agents.x-k8s.io/claim-first-ready-at':'%s'}",
                 t0, t1);
    CHECK(m->body, "/metadata/annotations", want);
    json_object *claim_final = server_apply(&w, claim_after, m);
    rec_result_fini(&o.r);

    /* pass 3b: write 3's returned claim replaces the view the state holds
     * (claim_after, whose only reference is now the state's) while the store
     * is still behind: the pass must work on the new view, never on the
     * released one (a use-after-free here crashed the controller). The
     * store has caught up with the adopted Sandbox, so the pass goes on
     * past the adoption check to read the claim. */
    store_replace(&w, patched);
    w_outcome(&w, "claim-meta", 0, json_object_get(claim_final));
    w_pass(&w, &o);
    assert_string_equal(o.tags, "");
    rec_result_fini(&o.r);

    /* the store catches up with everything: steady state, no writes */
    w_outcome(&w, "claim-meta", 0, NULL);
    store_replace(&w, patched);
    json_object_put(w.claim);
    w.claim = claim_final;
    w_pass(&w, &o);
    assert_string_equal(o.tags, "");
    rec_result_fini(&o.r);
    /* and the pool can refill: exactly one member left */
    pool_get_stats(w.pools, "default", "test-pool", &ps);
    assert_int_equal(ps.members, 1);
    w_fini(&w);
}

static void
test_write1_conflict_takes_next(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    w_member(&w, "m-a", 1, 1, 100);
    w_member(&w, "m-b", 1, 1, 50);
    w_member(&w, "m-c", 1, 1, 10);
    w_pass(&w, &o);
    assert_string_equal(W(&o, "claim-adopt")->name, "m-a");
    rec_result_fini(&o.r);
    /* 409: released, the claim takes the next one in the same pass */
    w_outcome(&w, "claim-adopt", ERR_CONFLICT, NULL);
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-adopt");
    assert_string_equal(W(&o, "claim-adopt")->name, "m-b");
    assert_int_equal(o.rep.adopt_conflicts, 1);
    assert_false(pool_is_reserved(w.pools, "default", "m-a"));
    assert_int_equal(o.r.error, 0);
    rec_result_fini(&o.r);
    pool_stats ps;
    pool_get_stats(w.pools, "default", "test-pool", &ps);
    assert_int_equal(ps.parked, 1); /* m-a waits for a fresher version */
    /* 404: that member is dropped from the set */
    w_outcome(&w, "claim-adopt", ERR_NOTFOUND, NULL);
    w_pass(&w, &o);
    assert_string_equal(W(&o, "claim-adopt")->name, "m-c");
    pool_get_stats(w.pools, "default", "test-pool", &ps);
    assert_int_equal(ps.members, 2); /* m-b forgotten, m-a parked, m-c reserved */
    rec_result_fini(&o.r);
    /* a fresher m-a arrives (the sandbox controller wrote it): takeable again */
    json_object *a = w_lookup(&w, "default", "m-a");
    jx_set_str(jx_obj(a, "metadata"), "resourceVersion", "999");
    pool_observe(w.pools, a);
    w_outcome(&w, "claim-adopt", ERR_CONFLICT, NULL); /* m-c conflicts, parked */
    w_pass(&w, &o);
    assert_string_equal(W(&o, "claim-adopt")->name, "m-a");
    CHECK(W(&o, "claim-adopt")->body, "/metadata/resourceVersion", "'999'");
    rec_result_fini(&o.r);
    w_fini(&w);
}

/* Write 1 succeeded but neither the outcome object nor the store shows it
 * yet: the claim must wait, never take a second Sandbox. A 5xx on write 1
 * is retried with backoff and parks the candidate (the patch may have
 * landed). */
static void
test_write1_success_without_view(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object *a = w_member(&w, "m-a", 1, 1, 100);
    w_member(&w, "m-b", 1, 1, 10);
    w_pass(&w, &o);
    json_object *patched = server_apply(&w, a, W(&o, "claim-adopt"));
    rec_result_fini(&o.r);
    w_outcome(&w, "claim-adopt", 0, NULL);
    w_pass(&w, &o);
    assert_string_equal(o.tags, "");
    assert_int_equal(o.r.requeue_after_ms, 20);
    rec_result_fini(&o.r);
    store_replace(&w, patched); /* the watch delivers the adopted Sandbox */
    json_object_put(patched);
    w_pass(&w, &o);
    assert_null(strstr(o.tags, "claim-adopt"));
    CHECK(W(&o, "claim-status")->body, "/status/sandbox/name", "'m-a'");
    rec_result_fini(&o.r);
    w_fini(&w);

    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    w_member(&w, "m-a", 1, 1, 100);
    w_member(&w, "m-b", 1, 1, 10);
    w_pass(&w, &o);
    rec_result_fini(&o.r);
    w_outcome(&w, "claim-adopt", ERR_UNAVAILABLE, NULL);
    w_pass(&w, &o);
    assert_int_equal(o.r.error, ERR_UNAVAILABLE);
    pool_stats ps;
    pool_get_stats(w.pools, "default", "test-pool", &ps);
    assert_int_equal(ps.parked, 1);
    rec_result_fini(&o.r);
    w_fini(&w);
}

/* Adoption when the template is gone: existing pod metadata kept, the
 * claim's keys merged, safe-to-evict dropped only when "true". */
static void
test_adopt_without_template(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'},'additionalPodMetadata':{'annotations':{"
               "'n':'v'}}}");
    w_member(&w, "m-a", 1, 1, 10);
    json_object_put(w.tmpl);
    w.tmpl = NULL;
    w_pass(&w, &o);
    const rec_write *a = W(&o, "claim-adopt");
    CHECK(a->body, "/spec/podTemplate/metadata/annotations",
          "{'cluster-autoscaler.kubernetes.io/safe-to-evict':null,'n':'v'}");
    CHECK(a->body, "/spec/podTemplate/metadata/labels/agents.x-k8s.io~1claim-uid", "'" UID "'");
    /* the pool labels stay on the podTemplate: only the template knows the exact set */
    assert_null(
        ptr(a->body, "/spec/podTemplate/metadata/labels/agents.x-k8s.io~1warm-pool-sandbox"));
    CHECK(a->body, "/metadata/labels/agents.x-k8s.io~1sandbox-template-ref-hash", "'69155462'");
    rec_result_fini(&o.r);
    w_fini(&w);
}

/* Recreate pools: a member of an older blueprint is not handed out. */
static void
test_recreate_rejects_stale_member(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object_put(w.pool);
    w.pool = J("{'metadata':{'name':'test-pool','namespace':'default','uid':'pu'},'spec':{"
               "'replicas':2,'sandboxTemplateRef':{'name':'test-template'},'updateStrategy':{"
               "'type':'Recreate'}}}");
    w_member(&w, "old", 1, 1, 100);
    json_object_put(w.tmpl);
    w.tmpl = J("{'metadata':{'name':'test-template','namespace':'default','uid':'tu'},'spec':{"
               "'podTemplate':{'spec':{'containers':[{'name':'main','image':'img:2'}]}}}}");
    w_member(&w, "new", 1, 1, 5);
    w_pass(&w, &o);
    assert_string_equal(W(&o, "claim-adopt")->name, "new");
    rec_result_fini(&o.r);
    w_fini(&w);
}

/* Retain expiry when the named Sandbox is not the claim's. */
static void
test_expiry_foreign_sandbox(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'},'lifecycle':{'shutdownTime':"
               "'2027-01-15T07:00:00Z'}}");
    json_object_object_add(w.claim, "status",
                           J("{'sandbox':{'name':'c1'},'conditions':[{'type':'Ready','status':"
                             "'False','reason':'ClaimExpired','message':'x','lastTransitionTime':"
                             "'2027-01-15T07:00:00Z'}]}"));
    w.sbs[w.n_sbs++] = J("{'metadata':{'name':'c1','namespace':'default','uid':'zz'}}");
    w_pass(&w, &o);
    assert_null(strstr(o.tags, "delete"));
    const rec_write *s = W(&o, "claim-status");
    CHECK(s->body, "/status/conditions/0/message",
          "'Claim expired. sandbox \\\"c1\\\" is not controlled by claim \\\"c1\\\"; "
          "deletion skipped.'");
    CHECK(s->body, "/status/sandbox", "null");
    rec_result_fini(&o.r);
    w_fini(&w);
}

/* CPU cost of the warm critical path in the reconciler: pass 1 (take +
 * write 1) and pass 2 (outcome + status) for many claims on one pool. */
static void
test_warm_path_cost(void **state)
{
    (void)state;
    enum { N = 2000 };
    world w;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object *members[N];
    char name[32], ts[40];
    for (int i = 0; i < N; i++) {
        members[i] = rec_wp_member_new(w.pool, w.tmpl, 1);
        json_object *md = jx_obj(members[i], "metadata");
        json_object_object_del(md, "generateName");
        snprintf(name, sizeof name, "m%05d", i);
        jx_set_str(md, "name", name);
        jx_set_str(md, "uid", name);
        jx_set_str(md, "resourceVersion", "7");
        jx_set_str(md, "creationTimestamp", time_fmt_rfc3339(T0 - i * 1000, ts, sizeof ts));
        json_object_object_add(members[i], "status",
                               J("{'podIPs':['10.0.0.1'],'nodeName':'n1','conditions':[{'type':"
                                 "'Ready','status':'True','reason':'R','message':'M'}]}"));
        pool_observe(w.pools, members[i]);
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int adopted = 0;
    for (int i = 0; i < N; i++) {
        rec_claim_state st;
        rec_claim_state_init(&st);
        char cj[512];
        snprintf(cj, sizeof cj,
                 "{'metadata':{'name':'c%d','namespace':'default','uid':'u%d','generation':1,"
                 "'resourceVersion':'5','creationTimestamp':'2027-01-15T08:00:00Z'},'spec':{"
                 "'warmPoolRef':{'name':'test-pool'}}}",
                 i, i);
        json_object *claim = J(cj);
        /* the store: members_lookup resolves "m<index>" in the array */
        rec_claim_input in = {claim, w.pool, w.tmpl, members_lookup, members, NULL, 0,
                              NULL,  NULL,   0,      w.pools,        T0};
        rec_result r1, r2;
        rec_result_init(&r1);
        rec_claim_report rep;
        assert_int_equal(rec_claim_reconcile(&w.cfg, &st, &in, &r1, &rep), 0);
        assert_int_equal(r1.n_writes, 1);
        rec_outcome oc = {"claim-adopt", 0, 200, "", "", NULL};
        json_object *target = members_lookup(members, "default", r1.writes[0].name);
        /* the server's answer: our patch applied */
        json_object *applied = NULL;
        json_object_deep_copy(target, &applied, NULL);
        merge(applied, r1.writes[0].body);
        jx_set_str(jx_obj(applied, "metadata"), "resourceVersion", "8");
        oc.object = applied;
        in.outcomes = &oc;
        in.n_outcomes = 1;
        rec_result_init(&r2);
        assert_int_equal(rec_claim_reconcile(&w.cfg, &st, &in, &r2, &rep), 0);
        assert_int_equal(r2.n_writes, 1);
        assert_string_equal(r2.writes[0].tag, "claim-status");
        adopted++;
        json_object_put(applied);
        rec_result_fini(&r1);
        rec_result_fini(&r2);
        rec_claim_state_fini(&st);
        json_object_put(claim);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) / N;
    printf("warm critical path (pass 1 + pass 2, reconciler only): %.1f us/claim over %d claims\n",
           us, N);
    assert_int_equal(adopted, N);
    pool_stats ps;
    pool_get_stats(w.pools, "default", "test-pool", &ps);
    assert_int_equal(ps.members, 0); /* every member handed out exactly once */
    for (int i = 0; i < N; i++)
        json_object_put(members[i]);
    w_fini(&w);
}

/* Every external input can be malformed: no crash, no write that could
 * hurt (no ownerReference without a UID), and nothing leaked (ASan). */
static void
test_malformed_inputs(void **state)
{
    (void)state;
    static const char *const claims[] = {
        "{}",
        "[]",
        "{'metadata':{'name':'c1','namespace':'default'}}",
        "{'metadata':{'name':'c1','namespace':'default','uid':'u'},'spec':'x'}",
        "{'metadata':{'name':'c1','namespace':'default','uid':'u'},'spec':{'warmPoolRef':7,"
        "'env':{'a':1},'volumeClaimTemplates':'v','additionalPodMetadata':{'labels':[1]},"
        "'lifecycle':{'shutdownTime':'yesterday','ttlSecondsAfterFinished':'x'}},'status':{"
        "'conditions':'bad','sandbox':[]}}",
        "{'metadata':{'name':'c1','namespace':'default','uid':'u','labels':'x','annotations':"
        "{'agents.x-k8s.io/sandbox-name':5}},'spec':{'env':[1,'a',{'name':3}],"
        "'additionalPodMetadata':{'labels':{'sandbox.users.io/a':5}}}}",
    };
    static const char *const pools[] = {
        NULL,
        "{}",
        "{'spec':{'replicas':'many','sandboxTemplateRef':[]}}",
        "{'metadata':{'name':'test-pool','namespace':'default','uid':'pu'},'spec':{"
        "'updateStrategy':'Recreate'}}",
    };
    static const char *const tmpls[] = {
        NULL,
        "{}",
        "{'metadata':{'name':'t'},'spec':{'podTemplate':[]}}",
        "{'metadata':{'name':'t'},'spec':{'podTemplate':{'spec':{'containers':'x'}},"
        "'volumeClaimTemplates':[1,{'metadata':{'name':5}}],'envVarsInjectionPolicy':3}}",
    };
    for (size_t c = 0; c < sizeof claims / sizeof claims[0]; c++)
        for (size_t p = 0; p < sizeof pools / sizeof pools[0]; p++)
            for (size_t t = 0; t < sizeof tmpls / sizeof tmpls[0]; t++) {
                world w;
                w_init(&w, "{}");
                w_member(&w, "m-a", 1, 1, 10);
                json_object_put(w.claim);
                json_object_put(w.pool);
                json_object_put(w.tmpl);
                w.claim = J(claims[c]);
                w.pool = J(pools[p]);
                w.tmpl = J(tmpls[t]);
                pass_out o;
                w_pass(&w, &o);
                for (size_t i = 0; i < o.r.n_writes; i++) {
                    json_object *refs = ptr(o.r.writes[i].body, "/metadata/ownerReferences");
                    for (size_t k = 0; refs && k < json_object_array_length(refs); k++)
                        assert_true(*jx_str_or(json_object_array_get_idx(refs, k), "uid", "") !=
                                    '\0');
                }
                rec_result_fini(&o.r);
                w_fini(&w);
            }
}

static void
test_invalid_candidate_skipped(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object *a = w_member(&w, "m-a", 1, 1, 100);
    w_member(&w, "m-b", 1, 1, 10);
    /* the store already shows m-a taken by another claim; pools/ has not heard yet */
    json_object *refs = jx_arr(a, "metadata.ownerReferences");
    jx_set_str(json_object_array_get_idx(refs, 0), "kind", "SandboxClaim");
    w_pass(&w, &o);
    assert_string_equal(W(&o, "claim-adopt")->name, "m-b");
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_cold_create_and_pending(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'},'env':[{'name':'K','value':'v'}],"
               "'additionalPodMetadata':{'annotations':{'note':'x'}}}");
    w_member(&w, "m-a", 1, 1, 100); /* env forces cold even with a Ready member */
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-create");
    const rec_write *c = W(&o, "claim-create");
    assert_int_equal(c->op, REC_CREATE);
    CHECK(c->body, "/metadata/name", "'c1'");
    CHECK(c->body, "/metadata/labels",
          "{'agents.x-k8s.io/claim-uid':'" UID "','agents.x-k8s.io/created-by':'python-client',"
          "'agents.x-k8s.io/launch-type':'cold','agents.x-k8s.io/sandbox-template-ref-hash':"
          "'69155462'}");
    CHECK(c->body, "/metadata/annotations",
          "{'agents.x-k8s.io/sandbox-template-ref':'test-template'}");
    CHECK(c->body, "/metadata/ownerReferences/0/uid", "'" UID "'");
    CHECK(c->body, "/spec/podTemplate/metadata",
          "{'labels':{'app':'agent','agents.x-k8s.io/claim-uid':'" UID "',"
          "'agents.x-k8s.io/sandbox-template-ref-hash':'69155462','agents.x-k8s.io/created-by':"
          "'python-client'},'annotations':{'t':'1','note':'x'}}");
    CHECK(c->body, "/spec/podTemplate/spec/containers/0/env", "[{'name':'K','value':'v'}]");
    CHECK(c->body, "/spec/podTemplate/spec/automountServiceAccountToken", "false");
    CHECK(c->body, "/spec/podTemplate/spec/dnsPolicy", "'None'");
    assert_null(ptr(c->body, "/spec/lifecycle"));
    assert_null(ptr(c->body, "/spec/shutdownTime"));
    rec_result_fini(&o.r);
    /* AlreadyExists: cache lag */
    w_outcome(&w, "claim-create", ERR_EXISTS, NULL);
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-status");
    CHECK(W(&o, "claim-status")->body, "/status/conditions/0/reason", "'SandboxCreatePending'");
    assert_int_equal(o.r.requeue_after_ms, 200);
    assert_int_equal(o.r.error, 0);
    rec_result_fini(&o.r);
    w_fini(&w);

    /* members without podIPs: wait while the claim is young, then go cold */
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    w_member(&w, "m-a", 0, 0, 1);
    w.now = T0 + 500;
    w_pass(&w, &o);
    assert_string_equal(o.tags, "");
    assert_int_equal(o.r.requeue_after_ms, 500);
    rec_result_fini(&o.r);
    w.now = T0 + 1800;
    w_pass(&w, &o);
    assert_string_equal(o.tags, "");
    assert_int_equal(o.r.requeue_after_ms, 200);
    rec_result_fini(&o.r);
    w.now = T0 + 2100;
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-create");
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_not_found_and_recovery(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object *pool = w.pool;
    w.pool = NULL;
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-status");
    CHECK(W(&o, "claim-status")->body, "/status/conditions",
          "[{'type':'Ready','status':'False','observedGeneration':1,'lastTransitionTime':"
          "'2027-01-15T08:00:00Z','reason':'WarmPoolNotFound','message':'SandboxWarmPool "
          "\\\"test-pool\\\" not found'}]");
    assert_int_equal(o.r.requeue_after_ms, 60000);
    assert_int_equal(o.r.error, 0);
    json_object *c2 = server_apply(&w, w.claim, W(&o, "claim-status"));
    rec_result_fini(&o.r);
    /* the same verdict again: no second status write, then write 3 */
    w_outcome(&w, "claim-status", 0, c2);
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-meta");
    rec_result_fini(&o.r);
    /* the template is missing */
    w.pool = pool;
    json_object *tmpl = w.tmpl;
    w.tmpl = NULL;
    w_pass(&w, &o);
    CHECK(W(&o, "claim-status")->body, "/status/conditions/0/message",
          "'SandboxTemplate \\\"test-template\\\" not found'");
    rec_result_fini(&o.r);
    /* both appear with a Ready member: adoption */
    w.tmpl = tmpl;
    w_member(&w, "m-a", 1, 1, 10);
    w_outcome(&w, "claim-status", 0, NULL);
    w_pass(&w, &o);
    assert_string_equal(o.tags, "claim-adopt");
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_crash_between_writes(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object *m = w_member(&w, "m-a", 1, 1, 10);
    w_member(&w, "m-b", 1, 1, 5);
    /* write 1 landed before the crash: the store shows m-a controlled by the claim */
    json_object *refs = J("[{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':"
                          "'SandboxClaim','name':'c1','uid':'" UID "','controller':true}]");
    json_object_object_add(jx_obj(m, "metadata"), "ownerReferences", refs);
    json_object_object_del(jx_obj(m, "metadata.labels"), "agents.x-k8s.io/warm-pool-sandbox");
    pool_observe(w.pools, m);
    /* a fresh controller: new state */
    w_pass(&w, &o);
    assert_null(strstr(o.tags, "claim-adopt")); /* never a second sandbox */
    CHECK(W(&o, "claim-status")->body, "/status/sandbox/name", "'m-a'");
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_name_clash_and_user_errors(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object *foreign = J("{'metadata':{'name':'c1','namespace':'default','uid':'x'}}");
    w.sbs[w.n_sbs++] = foreign;
    w_pass(&w, &o);
    CHECK(W(&o, "claim-status")->body, "/status/conditions/0/reason", "'ReconcilerError'");
    CHECK(W(&o, "claim-status")->body, "/status/conditions/0/message",
          "'Error seen: sandbox \\\"c1\\\" is not controlled by claim \\\"c1\\\". Please use a "
          "different claim name or delete the sandbox manually'");
    assert_int_equal(o.r.error, 0); /* no retry storm */
    assert_int_equal(o.r.requeue_after_ms, -1);
    rec_result_fini(&o.r);
    w_fini(&w);

    static const struct {
        const char *spec, *reason;
    } rows[] = {
        {"{'warmPoolRef':{'name':'test-pool'},'additionalPodMetadata':{'labels':{'x':'1'}}}",
         "InvalidMetadata"},
        {"{'warmPoolRef':{'name':'test-pool'},'volumeClaimTemplates':[{'metadata':{'name':'a'},"
         "'spec':{}},{'metadata':{'name':'a'},'spec':{}}]}",
         "VolumeClaimTemplatesError"},
        {"{'warmPoolRef':{'name':'test-pool'},'env':[{'name':'A','value':'1','containerName':"
         "'zz'}]}",
         "ReconcilerError"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        w_init(&w, rows[i].spec);
        w_pass(&w, &o);
        char want[64];
        snprintf(want, sizeof want, "'%s'", rows[i].reason);
        CHECK(W(&o, "claim-status")->body, "/status/conditions/0/reason", want);
        assert_int_equal(o.r.error, 0);
        rec_result_fini(&o.r);
        w_fini(&w);
    }
    /* env under a Disallowed template */
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'},'env':[{'name':'A','value':'1'}]}");
    json_object_object_del(jx_obj(w.tmpl, "spec"), "envVarsInjectionPolicy");
    w_pass(&w, &o);
    CHECK(W(&o, "claim-status")->body, "/status/conditions/0/reason", "'EnvVarsInjectionRejected'");
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
bind_cold(world *w, const char *ready_conds)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{'metadata':{'name':'c1','namespace':'default','uid':'sb1','resourceVersion':'9',"
             "'labels':{'agents.x-k8s.io/launch-type':'cold','agents.x-k8s.io/claim-uid':'" UID
             "','agents.x-k8s.io/created-by':'python-client','agents.x-k8s.io/"
             "sandbox-template-ref-hash':'69155462'},'ownerReferences':[{'apiVersion':"
             "'extensions.agents.x-k8s.io/v1beta1','kind':'SandboxClaim','name':'c1','uid':'" UID
             "','controller':true}]},'spec':{'podTemplate':{'metadata':{'labels':{'app':'agent',"
             "'agents.x-k8s.io/claim-uid':'" UID "','agents.x-k8s.io/sandbox-template-ref-hash':"
             "'69155462','agents.x-k8s.io/created-by':'python-client'},'annotations':{'t':'1'}}}},"
             "'status':{'conditions':%s}}",
             ready_conds);
    w->sbs[w->n_sbs++] = J(buf);
}

static void
test_finished_and_expiry(void **state)
{
    (void)state;
    static const char *const policies[] = {"Retain", "Delete", "DeleteForeground"};
    for (int pi = 0; pi < 3; pi++) {
        world w;
        pass_out o;
        char spec[512];
        snprintf(spec, sizeof spec,
                 "{'warmPoolRef':{'name':'test-pool'},'lifecycle':{'ttlSecondsAfterFinished':10,"
                 "'shutdownPolicy':'%s'}}",
                 policies[pi]);
        w_init(&w, spec);
        bind_cold(&w,
                  "[{'type':'Ready','status':'False','reason':'PodSucceeded','message':'Pod "
                  "completed successfully'},{'type':'Finished','status':'True','reason':"
                  "'PodSucceeded','message':'Pod completed successfully','observedGeneration':4,"
                  "'lastTransitionTime':'2027-01-15T08:00:00Z'}]");
        w_pass(&w, &o); /* bound: Finished mirrored verbatim, no sync patch needed */
        assert_string_equal(o.tags, "claim-status");
        const rec_write *s = W(&o, "claim-status");
        CHECK(s->body, "/status/conditions/0",
              "{'type':'Finished','status':'True','reason':'PodSucceeded','message':'Pod completed "
              "successfully','observedGeneration':4,'lastTransitionTime':'2027-01-15T08:00:00Z'}");
        CHECK(s->body, "/status/conditions/1/reason", "'PodSucceeded'");
        json_object *c2 = server_apply(&w, w.claim, s);
        json_object_put(w.claim);
        w.claim = c2;
        rec_result_fini(&o.r);
        /* 10 s after Finished: expired; first pass marks it */
        w.now = T0 + 11000;
        w_pass(&w, &o);
        assert_string_equal(o.tags, "claim-status");
        CHECK(W(&o, "claim-status")->body, "/status/conditions/1/message",
              "'Claim expired. Sandbox cleanup initiated.'");
        assert_int_equal(o.r.requeue_after_ms, 1);
        assert_string_equal(o.r.events[0].reason, "ClaimExpired");
        assert_string_equal(o.r.events[0].action, "Claim Expired");
        json_object *c3 = server_apply(&w, w.claim, W(&o, "claim-status"));
        json_object_put(w.claim);
        w.claim = c3;
        rec_result_fini(&o.r);
        /* second pass: the policy */
        w_outcome(&w, "claim-status", 0, NULL);
        w_pass(&w, &o);
        if (pi == 0) {
            const rec_write *d = W(&o, "claim-sandbox-delete");
            assert_string_equal(d->name, "c1");
            assert_string_equal(d->precondition_uid, "sb1");
            assert_null(strstr(o.tags, "claim-delete "));
        } else {
            assert_string_equal(o.tags, "claim-delete"); /* nothing else on a dying claim */
            const rec_write *d = W(&o, "claim-delete");
            assert_string_equal(d->name, "c1");
            assert_string_equal(d->precondition_uid, UID);
            if (pi == 2)
                assert_string_equal(d->propagation, "Foreground");
            else
                assert_null(d->propagation);
            assert_string_equal(o.r.events[0].action, "Deleting");
            char note[64];
            snprintf(note, sizeof note, "Deleting Claim (ShutdownPolicy=%s)", policies[pi]);
            assert_string_equal(o.r.events[0].note, note);
        }
        rec_result_fini(&o.r);
        w_fini(&w);
    }
}

/* A claim from an older controller: the legacy label names its warm
 * Sandbox; it is found, and write 3 moves the record to the annotation. */
static void
test_legacy_label(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    json_object_object_add(jx_obj(w.claim, "metadata.labels"), "agents.x-k8s.io/sandbox-name",
                           json_object_new_string("old-sb"));
    json_object *sb = J("{'metadata':{'name':'old-sb','namespace':'default','uid':'o1',"
                        "'resourceVersion':'3','labels':{'agents.x-k8s.io/launch-type':'warm'},"
                        "'ownerReferences':[{'apiVersion':'extensions.agents.x-k8s.io/v1beta1',"
                        "'kind':'SandboxClaim','name':'c1','uid':'" UID "','controller':true}]},"
                        "'status':{'podIPs':['10.9.9.9'],'conditions':[{'type':'Ready','status':"
                        "'True','reason':'DependenciesReady','message':'ok'}]}}");
    w.sbs[w.n_sbs++] = json_object_get(sb);
    json_object_put(w.pool);
    w.pool = NULL; /* the pool may be long gone */
    w_pass(&w, &o);
    assert_null(strstr(o.tags, "claim-create"));
    const rec_write *s = W(&o, "claim-status");
    CHECK(s->body, "/status/sandbox", "{'name':'old-sb','podIPs':['10.9.9.9']}");
    CHECK(s->body, "/status/conditions/0/status", "'True'");
    json_object *c2 = server_apply(&w, w.claim, s);
    rec_result_fini(&o.r);
    w_outcome(&w, "claim-status", 0, c2);
    w_pass(&w, &o);
    const rec_write *m = W(&o, "claim-meta");
    CHECK(m->body, "/metadata/labels", "{'agents.x-k8s.io/sandbox-name':null}");
    CHECK(m->body, "/metadata/annotations/agents.x-k8s.io~1sandbox-name", "'old-sb'");
    CHECK(m->body, "/metadata/annotations/agents.x-k8s.io~1claim-first-ready-at",
          "'2027-01-15T08:00:00Z'"); /* we wrote its first Ready */
    rec_result_fini(&o.r);
    w_fini(&w);

    /* already Ready before this controller saw it: backfilled with "unknown" */
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'}}");
    w.sbs[w.n_sbs++] = json_object_get(sb);
    json_object_object_add(
        w.claim, "status",
        J("{'sandbox':{'name':'old-sb','podIPs':['10.9.9.9']},'conditions':[{'type':'Ready',"
          "'status':'True','reason':'DependenciesReady','message':'ok','observedGeneration':1,"
          "'lastTransitionTime':'2026-01-01T00:00:00Z'}]}"));
    w_pass(&w, &o);
    assert_null(strstr(o.tags, "claim-status")); /* the status already says it */
    CHECK(W(&o, "claim-meta")->body, "/metadata/annotations/agents.x-k8s.io~1claim-first-ready-at",
          "'unknown'");
    rec_result_fini(&o.r);
    w_fini(&w);
    json_object_put(sb);
}

static void
test_bound_metadata_sync(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, "{'warmPoolRef':{'name':'test-pool'},'additionalPodMetadata':{'labels':{"
               "'sandbox.users.io/t':'2'}}}");
    bind_cold(&w, "[{'type':'Ready','status':'True','reason':'DependenciesReady','message':'ok'}]");
    w_pass(&w, &o);
    const rec_write *p = W(&o, "claim-sandbox-patch");
    CHECK(p->body, "/spec/podTemplate/metadata/labels", "{'sandbox.users.io/t':'2'}");
    CHECK(p->body, "/metadata/resourceVersion", "'9'");
    assert_non_null(strstr(o.tags, "claim-status"));
    rec_result_fini(&o.r);
    w_fini(&w);
}

int
main(void)
{
    struct CMUnitTest t[128];
    size_t n = 0;
    static int on = 1;
#define ROWS(arr, fn)                                                                              \
    for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++)                                        \
    t[n++] = (struct CMUnitTest){arr[i].name, fn, NULL, NULL, (void *)&arr[i]}
    ROWS(ready_rows, test_ready_row);
    ROWS(meta_rows, test_meta_row);
    ROWS(env_rows, test_env_row);
    ROWS(vct_rows, test_vct_row);
    t[n++] = (struct CMUnitTest){"warm-two-writes", test_warm_two_writes, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"warm-two-writes-no-observability", test_warm_two_writes, NULL,
                                 NULL, &on};
    t[n++] = (struct CMUnitTest){"write1-conflict-takes-next", test_write1_conflict_takes_next,
                                 NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"invalid-candidate-skipped", test_invalid_candidate_skipped, NULL,
                                 NULL, NULL};
    t[n++] = (struct CMUnitTest){"cold-create-and-pending", test_cold_create_and_pending, NULL,
                                 NULL, NULL};
    t[n++] = (struct CMUnitTest){"not-found-and-recovery", test_not_found_and_recovery, NULL, NULL,
                                 NULL};
    t[n++] =
        (struct CMUnitTest){"crash-between-writes", test_crash_between_writes, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"name-clash-and-user-errors", test_name_clash_and_user_errors,
                                 NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"finished-and-expiry", test_finished_and_expiry, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"write1-success-without-view", test_write1_success_without_view,
                                 NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"adopt-without-template", test_adopt_without_template, NULL, NULL,
                                 NULL};
    t[n++] = (struct CMUnitTest){"recreate-rejects-stale-member",
                                 test_recreate_rejects_stale_member, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"expiry-foreign-sandbox", test_expiry_foreign_sandbox, NULL, NULL,
                                 NULL};
    t[n++] = (struct CMUnitTest){"warm-path-cost", test_warm_path_cost, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"malformed-inputs", test_malformed_inputs, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"legacy-label", test_legacy_label, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"bound-metadata-sync", test_bound_metadata_sync, NULL, NULL, NULL};
    return _cmocka_run_group_tests("rec_claim", t, n, NULL, NULL);
}
