/* test_rec_warmpool.c - canonical JSON and blueprint hashes, the staleness
 * table (spec/api.md §2.3 step 4), the member body, and multi-pass scenarios
 * of the SandboxWarmPool pass: create expectations (never over-create while
 * creates are invisible), scale down order, Recreate vs OnReplenish, stuck
 * and unschedulable members, missing template, status only on change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json_pointer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "reconciler/blueprint.h"
#include "reconciler/warmpool.h"

static json_object *
J(const char *s)
{
    if (s == NULL) return NULL;
    char *b = strdup(s);
    for (char *p = b; *p; p++)
        if (*p == '\'') *p = '"';
    const char *err = NULL;
    json_object *o = jx_parse(b, strlen(b), &err);
    if (o == NULL) fail_msg("bad test JSON: %s: %s", err, s);
    free(b);
    return o;
}

static json_object *
ptr(json_object *o, const char *p)
{
    json_object *r = NULL;
    return json_pointer_get(o, p, &r) == 0 ? r : NULL;
}

static void
assert_ptr_json(json_object *o, const char *p, const char *want)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "[%s]", want); /* scalars need a container to parse */
    json_object *arr = J(buf);
    json_object *w = json_object_array_get_idx(arr, 0);
    json_object *g = ptr(o, p);
    if (!json_object_equal(g, w))
        fail_msg("%s: got %s want %s", p, g ? jx_dump(g) : "(absent)", want);
    json_object_put(arr);
}

/* ---- canonical JSON ---------------------------------------------------- */

static void
test_canon(void **state)
{
    (void)state;
    json_object *a = J("{'b':1,'a':[1,{'d':null,'c':'x\\u0001\\\"'}],'e':true,'f':1.5}");
    json_object *b = J("{'f':1.5,'e':true,'a':[1,{'c':'x\\u0001\\\"'}],'b':1}");
    size_t n;
    char *ca = rec_json_canon(a, &n);
    char *cb = rec_json_canon(b, NULL);
    assert_string_equal(ca, "{\"a\":[1,{\"c\":\"x\\u0001\\\"\"}],\"b\":1,\"e\":true,\"f\":1.5}");
    assert_int_equal(n, strlen(ca));
    assert_string_equal(ca, cb);
    char ha[9], hb[9], want[9];
    assert_int_equal(rec_json_hash(a, ha), 0);
    assert_int_equal(rec_json_hash(b, hb), 0);
    assert_string_equal(ha, hb);
    assert_string_equal(ha, namehash_hex(ca, want));
    free(ca);
    free(cb);
    json_object_put(a);
    json_object_put(b);
}

static void
test_sem_equal(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int eq;
    } rows[] = {
        {"{'x':[]}", "{}", 1},
        {"{'x':''}", "{'x':null}", 1},
        {"{'x':{}}", "{}", 1},
        {"{'x':false}", "{}", 0},
        {"{'x':0}", "{}", 0},
        {"{'x':1}", "{'x':1.0}", 1},
        {"{'x':[1,2]}", "{'x':[2,1]}", 0},
        {"{'x':{'y':'a','z':[]}}", "{'x':{'y':'a'}}", 1},
        {"{'x':'a'}", "{'x':'b'}", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_object *a = J(rows[i].a), *b = J(rows[i].b);
        if (rec_json_sem_equal(a, b) != rows[i].eq || rec_json_sem_equal(b, a) != rows[i].eq)
            fail_msg("row %zu: %s vs %s", i, rows[i].a, rows[i].b);
        json_object_put(a);
        json_object_put(b);
    }
}

/* ---- staleness table ------------------------------------------------------ */

#define POOL_JSON(replicas_and_strategy)                                                           \
    "{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':'SandboxWarmPool','metadata':{"     \
    "'name':'test-pool','namespace':'default','uid':'pu','generation':3},'spec':{"                 \
    "'sandboxTemplateRef':{'name':'test-template'}" replicas_and_strategy "}}"

static json_object *
mk_template(const char *name, const char *spec)
{
    json_object *t = J("{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':"
                       "'SandboxTemplate','metadata':{'namespace':'default','uid':'tu'}}");
    jx_set_str(jx_obj(t, "metadata"), "name", name);
    json_object_object_add(t, "spec", J(spec));
    return t;
}

#define BASE_SPEC                                                                                  \
    "{'podTemplate':{'metadata':{'labels':{'app':'x'}},'spec':{'containers':[{'name':'c',"         \
    "'image':'img:1'}]}},'volumeClaimTemplates':[{'metadata':{'name':'data','labels':{'l':'1'}},"  \
    "'spec':{'resources':{'requests':{'storage':'1Gi'}}}}]}"

typedef struct stale_row {
    const char *name;
    const char *old_spec; /* template the member was created from */
    const char *new_spec; /* current template */
    const char *new_name; /* current template name (NULL: test-template) */
    int orphan;           /* judge as an orphan (semantic path only) */
    int stale;
} stale_row;

static const stale_row stale_rows[] = {
    {"unchanged", BASE_SPEC, BASE_SPEC, NULL, 0, 0},
    {"unchanged-orphan", BASE_SPEC, BASE_SPEC, NULL, 1, 0},
    {"pod-label-edit-not-stale", BASE_SPEC,
     "{'podTemplate':{'metadata':{'labels':{'app':'y','new':'z'},'annotations':{'a':'b'}},'spec':{"
     "'containers':[{'name':'c','image':'img:1'}]}},'volumeClaimTemplates':[{'metadata':{'name':"
     "'data','labels':{'l':'2'}},'spec':{'resources':{'requests':{'storage':'1Gi'}}}}]}",
     NULL, 0, 0},
    {"image-change-stale", BASE_SPEC,
     "{'podTemplate':{'metadata':{'labels':{'app':'x'}},'spec':{'containers':[{'name':'c',"
     "'image':'img:2'}]}},'volumeClaimTemplates':[{'metadata':{'name':'data','labels':{'l':'1'}},"
     "'spec':{'resources':{'requests':{'storage':'1Gi'}}}}]}",
     NULL, 0, 1},
    {"image-change-orphan-stale", BASE_SPEC,
     "{'podTemplate':{'spec':{'containers':[{'name':'c','image':'img:2'}]}},"
     "'volumeClaimTemplates':[{'metadata':{'name':'data'},'spec':{'resources':{'requests':{"
     "'storage':'1Gi'}}}}]}",
     NULL, 1, 1},
    {"service-nil-vs-false-stale", BASE_SPEC,
     "{'podTemplate':{'metadata':{'labels':{'app':'x'}},'spec':{'containers':[{'name':'c',"
     "'image':'img:1'}]}},'volumeClaimTemplates':[{'metadata':{'name':'data','labels':{'l':'1'}},"
     "'spec':{'resources':{'requests':{'storage':'1Gi'}}}}],'service':false}",
     NULL, 0, 1},
    {"vct-size-stale", BASE_SPEC,
     "{'podTemplate':{'metadata':{'labels':{'app':'x'}},'spec':{'containers':[{'name':'c',"
     "'image':'img:1'}]}},'volumeClaimTemplates':[{'metadata':{'name':'data'},"
     "'spec':{'resources':{'requests':{'storage':'2Gi'}}}}]}",
     NULL, 0, 1},
    {"vct-renamed-stale", BASE_SPEC,
     "{'podTemplate':{'metadata':{'labels':{'app':'x'}},'spec':{'containers':[{'name':'c',"
     "'image':'img:1'}]}},'volumeClaimTemplates':[{'metadata':{'name':'other'},"
     "'spec':{'resources':{'requests':{'storage':'1Gi'}}}}]}",
     NULL, 0, 1},
    {"template-ref-switch-stale", BASE_SPEC, BASE_SPEC, "other-template", 0, 1},
    {"dns-default-consistent", "{'podTemplate':{'spec':{'containers':[{'name':'c'}]}}}",
     "{'podTemplate':{'spec':{'containers':[{'name':'c'}]}},'networkPolicyManagement':'Managed'}",
     NULL, 0, 0},
    /* networkPolicyManagement is outside the blueprint: an owned member keeps
     * its hash and stays fresh; an orphan is judged semantically and the
     * DNS default no longer applies to the template copy */
    {"unmanaged-owned-same-hash-fresh", "{'podTemplate':{'spec':{'containers':[{'name':'c'}]}}}",
     "{'podTemplate':{'spec':{'containers':[{'name':'c'}]}},'networkPolicyManagement':"
     "'Unmanaged'}",
     NULL, 0, 0},
    {"unmanaged-orphan-dns-stale", "{'podTemplate':{'spec':{'containers':[{'name':'c'}]}}}",
     "{'podTemplate':{'spec':{'containers':[{'name':'c'}]}},'networkPolicyManagement':"
     "'Unmanaged'}",
     NULL, 1, 1},
};

static void
test_stale_row(void **state)
{
    const stale_row *r = *state;
    json_object *pool = J(POOL_JSON(""));
    json_object *old = mk_template("test-template", r->old_spec);
    json_object *cur = mk_template(r->new_name ? r->new_name : "test-template", r->new_spec);
    json_object *sb = rec_wp_member_new(pool, old, 1);
    assert_non_null(sb);
    if (r->orphan) json_object_object_del(jx_obj(sb, "metadata"), "ownerReferences");
    char bp[9];
    assert_int_equal(rec_bp_hashes(cur, NULL, bp), 0);
    rec_bp_memo memo = {0};
    int got = rec_bp_stale(sb, cur, bp, !r->orphan, &memo);
    assert_int_equal(got, r->stale);
    /* the memoised verdict agrees */
    assert_int_equal(rec_bp_stale(sb, cur, bp, !r->orphan, &memo), r->stale);
    /* hashes move iff the blueprint changed byte-wise */
    char bp_old[9];
    rec_bp_hashes(old, NULL, bp_old);
    json_object *bo = rec_bp_from_spec(jx_obj(old, "spec"));
    json_object *bn = rec_bp_from_spec(jx_obj(cur, "spec"));
    if (json_object_equal(bo, bn))
        assert_string_equal(bp, bp_old);
    else
        assert_string_not_equal(bp, bp_old);
    json_object_put(bo);
    json_object_put(bn);
    rec_bp_memo_fini(&memo);
    json_object_put(sb);
    json_object_put(old);
    json_object_put(cur);
    json_object_put(pool);
}

/* ---- member body ---------------------------------------------------------- */

static void
test_member_body(void **state)
{
    (void)state;
    json_object *pool = J(POOL_JSON(""));
    json_object *t = mk_template("test-template", BASE_SPEC);
    json_object *sb = rec_wp_member_new(pool, t, 1);
    char pt[9], bp[9];
    rec_bp_hashes(t, pt, bp);
    assert_ptr_json(sb, "/metadata/generateName", "'test-pool-'");
    assert_null(ptr(sb, "/metadata/name"));
    assert_ptr_json(sb, "/metadata/labels/agents.x-k8s.io~1warm-pool-sandbox", "'59733166'");
    assert_ptr_json(sb, "/metadata/labels/agents.x-k8s.io~1sandbox-template-ref-hash",
                    "'69155462'");
    assert_ptr_json(sb, "/metadata/labels/agents.x-k8s.io~1launch-type", "'warm'");
    assert_ptr_json(sb, "/metadata/labels/agents.x-k8s.io~1created-by", "'controller'");
    assert_string_equal(jx_label(sb, "agents.x-k8s.io/sandbox-pod-template-hash"), pt);
    assert_string_equal(jx_label(sb, "agents.x-k8s.io/sandbox-template-hash"), bp);
    assert_ptr_json(sb, "/metadata/annotations",
                    "{'agents.x-k8s.io/sandbox-template-ref':'test-template'}");
    assert_ptr_json(sb, "/metadata/ownerReferences/0/kind", "'SandboxWarmPool'");
    assert_ptr_json(sb, "/metadata/ownerReferences/0/uid", "'pu'");
    assert_ptr_json(sb, "/metadata/ownerReferences/0/controller", "true");
    assert_ptr_json(sb, "/spec/podTemplate/metadata/labels/app", "'x'");
    assert_ptr_json(sb, "/spec/podTemplate/metadata/labels/agents.x-k8s.io~1warm-pool-sandbox",
                    "'59733166'");
    assert_ptr_json(
        sb,
        "/spec/podTemplate/metadata/annotations/cluster-autoscaler.kubernetes.io~1safe-to-evict",
        "'true'");
    assert_ptr_json(sb, "/spec/podTemplate/spec/automountServiceAccountToken", "false");
    assert_ptr_json(sb, "/spec/podTemplate/spec/dnsPolicy", "'None'");
    assert_ptr_json(sb, "/spec/podTemplate/spec/dnsConfig/nameservers", "['8.8.8.8','1.1.1.1']");
    assert_ptr_json(sb, "/spec/volumeClaimTemplates/0/metadata/name", "'data'");
    assert_null(ptr(sb, "/spec/lifecycle"));
    /* the template's own object was not modified */
    assert_null(ptr(t, "/spec/podTemplate/spec/dnsPolicy"));
    json_object_put(sb);
    json_object_put(t);
    /* a template-provided safe-to-evict (false) is kept; eviction flag off adds nothing */
    t = mk_template("test-template",
                    "{'podTemplate':{'metadata':{'annotations':{'cluster-autoscaler.kubernetes.io/"
                    "safe-to-evict':'false'}},'spec':{'dnsPolicy':'ClusterFirst',"
                    "'automountServiceAccountToken':true}}}");
    sb = rec_wp_member_new(pool, t, 1);
    assert_ptr_json(
        sb,
        "/spec/podTemplate/metadata/annotations/cluster-autoscaler.kubernetes.io~1safe-to-evict",
        "'false'");
    assert_ptr_json(sb, "/spec/podTemplate/spec/dnsPolicy", "'ClusterFirst'");
    assert_ptr_json(sb, "/spec/podTemplate/spec/automountServiceAccountToken", "true");
    json_object_put(sb);
    json_object_put(t);
    t = mk_template("test-template", "{'podTemplate':{'spec':{}}}");
    sb = rec_wp_member_new(pool, t, 0);
    assert_null(ptr(sb, "/spec/podTemplate/metadata/annotations/"
                        "cluster-autoscaler.kubernetes.io~1safe-to-evict"));
    json_object_put(sb);
    json_object_put(t);
    json_object_put(pool);
}

/* ---- the pass: a small world ----------------------------------------------- */

#define T0 1800000000000LL /* wall ms */

typedef struct world {
    json_object *pool, *tmpl;
    json_object *all[64]; /* the store: every Sandbox of the namespace */
    size_t n_all;
    rec_wp_state st;
    rec_wp_config cfg;
    rec_outcome outs[400];
    json_object *out_objs[400];
    size_t n_outs;
    int seq;
    int64_t now;
    int passes; /* odd passes hand in digested facts (rec_wp_input.facts) */
} world;

static json_object *
w_lookup(void *ud, const char *ns, const char *name)
{
    world *w = ud;
    (void)ns;
    for (size_t i = 0; i < w->n_all; i++)
        if (strcmp(jx_str_or(w->all[i], "metadata.name", ""), name) == 0) return w->all[i];
    return NULL;
}

static void
w_init(world *w, const char *pool_json)
{
    memset(w, 0, sizeof *w);
    w->pool = J(pool_json);
    w->tmpl = mk_template("test-template", BASE_SPEC);
    rec_wp_state_init(&w->st);
    rec_wp_config_default(&w->cfg);
    w->now = T0;
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
    for (size_t i = 0; i < w->n_all; i++)
        json_object_put(w->all[i]);
    json_object_put(w->pool);
    json_object_put(w->tmpl);
    rec_wp_state_fini(&w->st);
}

/* A pool member as the API server would store it. */
static json_object *
w_member(world *w, const char *name, int ready, int64_t age_s)
{
    json_object *sb = rec_wp_member_new(w->pool, w->tmpl, 1);
    char ts[40], rv[16];
    json_object *md = jx_obj(sb, "metadata");
    json_object_object_del(md, "generateName");
    jx_set_str(md, "name", name);
    jx_set_str(md, "uid", name);
    snprintf(rv, sizeof rv, "%d", ++w->seq);
    jx_set_str(md, "resourceVersion", rv);
    jx_set_str(md, "creationTimestamp", time_fmt_rfc3339(w->now - age_s * 1000, ts, sizeof ts));
    if (ready)
        json_object_object_add(sb, "status",
                               J("{'podIPs':['10.0.0.1'],'conditions':[{'type':'Ready',"
                                 "'status':'True','reason':'DependenciesReady'}]}"));
    return sb;
}

static void
w_add(world *w, json_object *sb)
{
    w->all[w->n_all++] = sb;
}

static void
w_remove(world *w, const char *name)
{
    for (size_t i = 0; i < w->n_all; i++)
        if (strcmp(jx_str_or(w->all[i], "metadata.name", ""), name) == 0) {
            json_object_put(w->all[i]);
            w->all[i] = w->all[--w->n_all];
            return;
        }
}

typedef struct pass_out {
    rec_result r;
    rec_wp_report rep;
    int creates, deletes, patches, status;
    char deleted[16][64];
} pass_out;

/* One pass: members = store Sandboxes with the pool's label. The outcomes
 * queued in w are handed in, then cleared. */
static void
w_pass(world *w, pass_out *o)
{
    json_object *members[64];
    size_t n = 0;
    for (size_t i = 0; i < w->n_all; i++) {
        const char *l = jx_label(w->all[i], "agents.x-k8s.io/warm-pool-sandbox");
        if (l && strcmp(l, "59733166") == 0) members[n++] = w->all[i];
    }
    /* Both ways of reading members (the pass digests them, or the caller
     * hands its digests in) must give the same passes: every scenario runs
     * through both, alternately. */
    rec_wp_mfacts facts[64];
    for (size_t i = 0; i < n; i++)
        rec_wp_member_digest(members[i], &facts[i]);
    rec_wp_input in = {w->pool, w->tmpl, members,   n,      w_lookup,
                       w,       w->outs, w->n_outs, w->now, w->passes++ % 2 ? facts : NULL};
    memset(o, 0, sizeof *o);
    rec_result_init(&o->r);
    assert_int_equal(rec_warmpool_reconcile(&w->cfg, &w->st, &in, &o->r, &o->rep), 0);
    w_clear_outs(w);
    for (size_t i = 0; i < o->r.n_writes; i++) {
        const rec_write *wr = &o->r.writes[i];
        if (strcmp(wr->tag, "wp-create") == 0) {
            o->creates++;
            assert_int_equal(wr->op, REC_CREATE);
        } else if (strcmp(wr->tag, "wp-delete") == 0) {
            assert_int_equal(wr->op, REC_DELETE);
            assert_string_equal(wr->precondition_uid, wr->name); /* uid == name in this world */
            if (o->deletes < 16) snprintf(o->deleted[o->deletes], 64, "%s", wr->name);
            o->deletes++;
        } else if (strcmp(wr->tag, "wp-patch") == 0) {
            o->patches++;
        } else if (strcmp(wr->tag, "wp-status") == 0) {
            o->status++;
            assert_string_equal(wr->subresource, "status");
        }
    }
}

/* The server answers every create of pass o: objects named gen-<k>. */
static void
w_answer_creates(world *w, pass_out *o, int fail_first)
{
    for (size_t i = 0; i < o->r.n_writes; i++) {
        if (strcmp(o->r.writes[i].tag, "wp-create") != 0) continue;
        rec_outcome *oc = &w->outs[w->n_outs];
        memset(oc, 0, sizeof *oc);
        oc->tag = "wp-create";
        oc->message = "";
        oc->reason = "";
        if (fail_first-- > 0) {
            oc->err = ERR_UNAVAILABLE;
            oc->message = "etcd is sad";
            w->out_objs[w->n_outs++] = NULL;
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "test-pool-g%d", ++w->seq);
        json_object *obj = w_member(w, name, 0, 0);
        oc->object = obj;
        w->out_objs[w->n_outs++] = obj;
    }
}

/* The created objects become visible in the store (up to k of them). */
static void
w_make_visible(world *w, size_t k)
{
    for (size_t i = 0; i < w->n_outs && k > 0; i++)
        if (w->out_objs[i] &&
            w_lookup(w, "default", jx_str(w->out_objs[i], "metadata.name")) == NULL) {
            w_add(w, json_object_get(w->out_objs[i]));
            k--;
        }
}

static void
test_expectations_never_over_create(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':5"));
    w.cfg.status_settle_ms = 0; /* status on every change: see status-settle */
    int total_creates = 0;

    w_pass(&w, &o); /* empty store: the whole deficit at once */
    assert_int_equal(o.creates, 5);
    total_creates += o.creates;
    pass_out first = o;

    w_pass(&w, &o); /* no outcome yet, nothing visible */
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.rep.pending_creates, 5);
    assert_true(o.r.requeue_after_ms > 0);
    rec_result_fini(&o.r);

    w_answer_creates(&w, &first, 0); /* outcomes arrive, store still blind */
    json_object *keep[8];
    size_t nk = w.n_outs;
    for (size_t i = 0; i < nk; i++)
        keep[i] = json_object_get(w.out_objs[i]);
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.rep.pending_creates, 5);
    rec_result_fini(&o.r);
    rec_result_fini(&first.r);

    /* three become visible */
    for (size_t i = 0; i < 3; i++)
        w_add(&w, json_object_get(keep[i]));
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.rep.active, 3);
    assert_int_equal(o.rep.pending_creates, 2);
    rec_result_fini(&o.r);

    /* all five */
    for (size_t i = 3; i < nk; i++)
        w_add(&w, json_object_get(keep[i]));
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.rep.active, 5);
    assert_int_equal(o.rep.pending_creates, 0);
    assert_int_equal(o.status, 1);
    rec_result_fini(&o.r);

    /* a claim adopts one: it leaves the pool listing; exactly one refill */
    json_object *adopted = w_lookup(&w, "default", jx_str(keep[0], "metadata.name"));
    json_object_object_del(jx_obj(adopted, "metadata.labels"), "agents.x-k8s.io/warm-pool-sandbox");
    w_pass(&w, &o);
    assert_int_equal(o.creates, 1);
    total_creates += o.creates;
    pass_out refill = o;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    rec_result_fini(&o.r);
    /* the refill is created and adopted before the pool ever lists it:
     * lookup settles the expectation, so exactly one more refill */
    w_answer_creates(&w, &refill, 0);
    rec_result_fini(&refill.r);
    json_object *ghost = json_object_get(w.out_objs[0]);
    json_object_object_del(jx_obj(ghost, "metadata.labels"), "agents.x-k8s.io/warm-pool-sandbox");
    w_add(&w, ghost);
    w_pass(&w, &o);
    assert_int_equal(o.creates, 1);
    total_creates += o.creates;
    rec_result_fini(&o.r);
    assert_int_equal(total_creates, 7); /* 5 + one per adoption, never more */
    for (size_t i = 0; i < nk; i++)
        json_object_put(keep[i]);
    w_fini(&w);
}

static void
test_create_failure_retried_exactly(void **state)
{
    (void)state;
    world w;
    pass_out o, first;
    w_init(&w, POOL_JSON(",'replicas':3"));
    w_pass(&w, &first);
    assert_int_equal(first.creates, 3);
    w_answer_creates(&w, &first, 1); /* one of three fails */
    rec_result_fini(&first.r);
    w_make_visible(&w, 0);
    w_pass(&w, &o);
    assert_true(o.r.error != 0);    /* reported: the shard backs off */
    assert_int_equal(o.status, 0);  /* no status write on a failed pass */
    assert_int_equal(o.creates, 1); /* only the failed one is replaced */
    assert_int_equal(o.rep.pending_creates, 3);
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_replicas_defaults(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int members, creates, deletes;
    } rows[] = {
        {"", 0, 1, 0},               /* nil => 1 */
        {",'replicas':0", 2, 0, 2},  /* cold only */
        {",'replicas':-4", 1, 0, 1}, /* tolerated as 0 */
        {",'replicas':2", 2, 0, 0},
        {",'replicas':100000000", 0, 300, 0}, /* absurd: one batch per pass */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        world w;
        pass_out o;
        char pj[512];
        snprintf(pj, sizeof pj, POOL_JSON("%s"), rows[i].spec);
        w_init(&w, pj);
        for (int k = 0; k < rows[i].members; k++) {
            char n[16];
            snprintf(n, sizeof n, "m%d", k);
            w_add(&w, w_member(&w, n, 1, 10));
        }
        w_pass(&w, &o);
        if (o.creates != rows[i].creates || o.deletes != rows[i].deletes)
            fail_msg("row %zu: creates %d deletes %d", i, o.creates, o.deletes);
        rec_result_fini(&o.r);
        w_fini(&w);
    }
}

static void
test_scale_down_order_and_no_double_delete(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':1"));
    w_add(&w, w_member(&w, "ready-old", 1, 100));
    w_add(&w, w_member(&w, "ready-new", 1, 10));
    w_add(&w, w_member(&w, "wait-old", 0, 90));
    w_add(&w, w_member(&w, "wait-new", 0, 5));
    w_pass(&w, &o);
    assert_int_equal(o.deletes, 3);
    assert_string_equal(o.deleted[0], "wait-new");
    assert_string_equal(o.deleted[1], "wait-old");
    assert_string_equal(o.deleted[2], "ready-new");
    assert_int_equal(o.creates, 0);
    rec_result_fini(&o.r);
    /* the store has not seen the deletes yet: no second round, no creates */
    w_pass(&w, &o);
    assert_int_equal(o.deletes, 0);
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.rep.terminating, 3);
    rec_result_fini(&o.r);
    /* gone */
    w_remove(&w, "wait-new");
    w_remove(&w, "wait-old");
    w_remove(&w, "ready-new");
    w_pass(&w, &o);
    assert_int_equal(o.deletes + o.creates, 0);
    assert_int_equal(o.rep.active, 1);
    assert_int_equal(o.rep.terminating, 0);
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_update_strategies(void **state)
{
    (void)state;
    for (int recreate = 0; recreate < 2; recreate++) {
        world w;
        pass_out o;
        w_init(&w, recreate ? POOL_JSON(",'replicas':2,'updateStrategy':{'type':'Recreate'}")
                            : POOL_JSON(",'replicas':2"));
        w_add(&w, w_member(&w, "a", 1, 10));
        w_add(&w, w_member(&w, "b", 1, 10));
        /* metadata-only edit: never replaces members */
        json_object_put(w.tmpl);
        w.tmpl = mk_template(
            "test-template",
            "{'podTemplate':{'metadata':{'labels':{'app':'x','team':'t'}},'spec':{'containers':[{"
            "'name':'c','image':'img:1'}]}},'volumeClaimTemplates':[{'metadata':{'name':'data'},"
            "'spec':{'resources':{'requests':{'storage':'1Gi'}}}}]}");
        w_pass(&w, &o);
        assert_int_equal(o.deletes + o.creates, 0);
        rec_result_fini(&o.r);
        /* spec edit: Recreate deletes both at once, OnReplenish keeps them */
        json_object_put(w.tmpl);
        w.tmpl =
            mk_template("test-template",
                        "{'podTemplate':{'spec':{'containers':[{'name':'c','image':'img:2'}]}}}");
        w_pass(&w, &o);
        assert_int_equal(o.deletes, recreate ? 2 : 0);
        assert_int_equal(o.rep.stale_deletes, recreate ? 2 : 0);
        assert_int_equal(o.creates, 0); /* replacements wait until the stale ones are gone */
        rec_result_fini(&o.r);
        if (recreate) {
            w_remove(&w, "a");
            w_remove(&w, "b");
            w_pass(&w, &o);
            assert_int_equal(o.creates, 2);
            /* replacements carry the new template's hash */
            char bp[9];
            rec_bp_hashes(w.tmpl, NULL, bp);
            assert_string_equal(
                jx_label(o.r.writes[0].body, "agents.x-k8s.io/sandbox-template-hash"), bp);
            rec_result_fini(&o.r);
        }
        w_fini(&w);
    }
}

static void
test_stuck_and_unschedulable(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':3"));
    w_add(&w, w_member(&w, "young", 0, 60));  /* 1 minute: within the grace period */
    w_add(&w, w_member(&w, "stuck", 0, 400)); /* > 5 minutes */
    json_object *u = w_member(&w, "unsched", 0, 400);
    json_object_object_add(u, "status",
                           J("{'conditions':[{'type':'PodScheduled','status':'False','reason':"
                             "'Unschedulable'}]}"));
    w_add(&w, u);
    w_pass(&w, &o);
    assert_int_equal(o.deletes, 1);
    assert_string_equal(o.deleted[0], "stuck");
    assert_int_equal(o.rep.stuck_deletes, 1);
    assert_int_equal(o.rep.held_unschedulable, 1);
    assert_int_equal(o.creates, 0); /* the stuck one is terminating; replaced once gone */
    assert_int_equal(o.r.n_events, 1);
    assert_string_equal(o.r.events[0].reason, "WarmPoolNotProgressing");
    assert_string_equal(o.r.events[0].type, "Warning");
    /* young: grace - age + 2s = 242s; unschedulable recheck: 60s */
    assert_int_equal(o.r.requeue_after_ms, 30000); /* expectations recheck is the smallest */
    rec_result_fini(&o.r);
    w_pass(&w, &o);
    assert_int_equal(o.r.n_events, 0); /* once per transition */
    rec_result_fini(&o.r);
    w_remove(&w, "stuck");
    w_remove(&w, "unsched");
    w_pass(&w, &o);
    assert_int_equal(o.r.n_events, 1);
    assert_string_equal(o.r.events[0].reason, "WarmPoolProgressing");
    assert_string_equal(o.r.events[0].note, "Warm pool is progressing again");
    assert_int_equal(o.creates, 2);
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_missing_template(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':2"));
    w_add(&w, w_member(&w, "a", 1, 10));
    json_object_put(w.tmpl);
    w.tmpl = NULL;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.deletes, 0);
    assert_int_equal(o.rep.template_ok, 0);
    assert_int_equal(o.r.error, 0);
    assert_int_equal(o.status, 1); /* counts still reported */
    assert_int_equal(o.r.n_events, 1);
    assert_string_equal(o.r.events[0].reason, "TemplateNotFound");
    assert_string_equal(o.r.events[0].note, "SandboxTemplate \"test-template\" not found");
    rec_result_fini(&o.r);
    w_pass(&w, &o);
    assert_int_equal(o.r.n_events, 0);
    assert_int_equal(o.status, 0); /* unchanged */
    rec_result_fini(&o.r);
    w.tmpl = mk_template("test-template", BASE_SPEC);
    w_pass(&w, &o);
    assert_int_equal(o.creates, 1);
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_status_only_on_change_and_orphans(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':2"));
    w.cfg.status_settle_ms = 0; /* the settle window has its own table below */
    json_object_object_add(w.pool, "status",
                           J("{'replicas':2,'readyReplicas':1,'selector':'agents.x-k8s.io/"
                             "warm-pool-sandbox=59733166','observedGeneration':3}"));
    w_add(&w, w_member(&w, "a", 1, 10));
    json_object *orphan = w_member(&w, "b", 0, 10);
    json_object_object_del(jx_obj(orphan, "metadata"), "ownerReferences");
    json_object_object_del(jx_obj(orphan, "metadata.labels"), "agents.x-k8s.io/launch-type");
    w_add(&w, orphan);
    w_pass(&w, &o);
    assert_int_equal(o.status, 0); /* already says replicas 2, ready 1 */
    assert_int_equal(o.patches, 1);
    assert_int_equal(o.creates, 0);
    const rec_write *p = &o.r.writes[0];
    assert_string_equal(p->tag, "wp-patch");
    assert_string_equal(p->name, "b");
    assert_ptr_json(p->body, "/metadata/ownerReferences/0/uid", "'pu'");
    assert_ptr_json(p->body, "/metadata/labels/agents.x-k8s.io~1launch-type", "'warm'");
    assert_ptr_json(p->body, "/metadata/resourceVersion",
                    json_object_to_json_string(jx_get(orphan, "metadata.resourceVersion")));
    rec_result_fini(&o.r);
    /* a is no longer Ready: status changes once, not again while the store lags */
    json_object_object_del(w_lookup(&w, "default", "a"), "status");
    w_pass(&w, &o);
    assert_int_equal(o.status, 1);
    assert_ptr_json(o.r.writes[o.r.n_writes - 1].body, "/status",
                    "{'replicas':2,'readyReplicas':0,'selector':'agents.x-k8s.io/"
                    "warm-pool-sandbox=59733166','observedGeneration':3}");
    rec_result_fini(&o.r);
    w_pass(&w, &o);
    assert_int_equal(o.status, 0);
    rec_result_fini(&o.r);
    w_fini(&w);
}

/* Status settle: steps run in order against one pool (replicas 2, members
 * a and b, both Ready at first), window 1000 ms. Each step may make one
 * member not Ready / Ready again and bump the pool's generation, then runs
 * a pass at T0 + at. requeue: the pass's requeue_after_ms, -1 = none
 * sooner than a minute (the stuck-member re-check is minutes away). */
typedef struct settle_step {
    int64_t at;
    const char *unready, *ready;
    int bump_gen;
    int status;         /* status writes expected */
    int64_t want_ready; /* readyReplicas written (when status) */
    int64_t requeue;
} settle_step;

static const settle_step settle_steps[] = {
    {0, NULL, NULL, 0, 1, 2, -1},     /* first status: at once */
    {100, "a", NULL, 0, 0, 0, 1000},  /* count change: held, run again at the deadline */
    {600, NULL, NULL, 0, 0, 0, 500},  /* inside the window: nothing, same deadline */
    {700, NULL, "a", 0, 0, 0, -1},    /* back to what was written: no write, no deadline */
    {800, "b", NULL, 0, 0, 0, 1000},  /* a new change opens a new window */
    {1799, NULL, NULL, 0, 0, 0, 1},   /* 1 ms before the deadline */
    {1800, NULL, NULL, 0, 1, 1, -1},  /* at the deadline: written */
    {1900, NULL, NULL, 0, 0, 0, -1},  /* written: nothing more */
    {2000, NULL, "b", 0, 0, 0, 1000}, /* held again ... */
    {2100, NULL, NULL, 1, 1, 2, -1},  /* ... until a generation change: at once, counts too */
    {2200, "a", NULL, 0, 0, 0, 1000},
    {5000, NULL, NULL, 0, 1, 1, -1}, /* a late pass (after the deadline) writes */
};

static void
test_status_settle(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':2"));
    assert_int_equal(w.cfg.status_settle_ms, 1000); /* the default */
    w_add(&w, w_member(&w, "a", 1, 10));
    w_add(&w, w_member(&w, "b", 1, 10));
    json_object *ready_st = json_object_get(jx_obj(w_lookup(&w, "default", "a"), "status"));
    for (size_t i = 0; i < sizeof settle_steps / sizeof settle_steps[0]; i++) {
        const settle_step *s = &settle_steps[i];
        print_message("step %zu at %lld\n", i, (long long)s->at);
        if (s->unready) json_object_object_del(w_lookup(&w, "default", s->unready), "status");
        if (s->ready)
            json_object_object_add(w_lookup(&w, "default", s->ready), "status",
                                   json_object_get(ready_st));
        if (s->bump_gen)
            jx_set(w.pool, "metadata.generation",
                   json_object_new_int64(jx_int(w.pool, "metadata.generation", 0) + 1));
        w.now = T0 + s->at;
        w_pass(&w, &o);
        assert_int_equal(o.status, s->status);
        assert_int_equal(o.creates + o.deletes, 0);
        if (s->status) {
            const rec_write *wr = &o.r.writes[o.r.n_writes - 1];
            assert_ptr_json(wr->body, "/status/replicas", "2");
            char want[8];
            snprintf(want, sizeof want, "%lld", (long long)s->want_ready);
            assert_ptr_json(wr->body, "/status/readyReplicas", want);
            snprintf(want, sizeof want, "%lld",
                     (long long)jx_int(w.pool, "metadata.generation", 0));
            assert_ptr_json(wr->body, "/status/observedGeneration", want);
        }
        if (s->requeue < 0)
            assert_true(o.r.requeue_after_ms < 0 || o.r.requeue_after_ms > 60000);
        else
            assert_int_equal(o.r.requeue_after_ms, s->requeue);
        rec_result_fini(&o.r);
    }
    json_object_put(ready_st);
    w_fini(&w);

    /* window 0: a count change is written by the pass that sees it */
    w_init(&w, POOL_JSON(",'replicas':1"));
    w.cfg.status_settle_ms = 0;
    w_add(&w, w_member(&w, "a", 1, 10));
    w_pass(&w, &o);
    assert_int_equal(o.status, 1);
    rec_result_fini(&o.r);
    json_object_object_del(w_lookup(&w, "default", "a"), "status");
    w.now += 10;
    w_pass(&w, &o);
    assert_int_equal(o.status, 1);
    assert_ptr_json(o.r.writes[o.r.n_writes - 1].body, "/status/readyReplicas", "0");
    rec_result_fini(&o.r);
    w_fini(&w);

    /* a stored status with the same selector and generation is not "first":
     * a restarted controller holds a count-only change too */
    w_init(&w, POOL_JSON(",'replicas':1"));
    json_object_object_add(w.pool, "status",
                           J("{'replicas':1,'readyReplicas':1,'selector':'agents.x-k8s.io/"
                             "warm-pool-sandbox=59733166','observedGeneration':3}"));
    w_add(&w, w_member(&w, "a", 0, 10));
    w_pass(&w, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.r.requeue_after_ms, 1000);
    rec_result_fini(&o.r);
    w.now += 1000;
    w_pass(&w, &o);
    assert_int_equal(o.status, 1);
    assert_ptr_json(o.r.writes[o.r.n_writes - 1].body, "/status/readyReplicas", "0");
    rec_result_fini(&o.r);
    w_fini(&w);
}

static void
test_pool_gone_resets_state(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':2"));
    w_pass(&w, &o);
    assert_int_equal(o.creates, 2);
    rec_result_fini(&o.r);
    json_object *pool = w.pool;
    w.pool = NULL;
    w_pass(&w, &o);
    assert_int_equal(o.r.n_writes, 0);
    assert_int_equal(rec_wp_expect_pending_creates(&w.st.exp), 0);
    rec_result_fini(&o.r);
    w.pool = pool;
    w_fini(&w);
}

/* Pacing flags: replenish delay after the pool was full, refill rate. */
static void
test_pacing(void **state)
{
    (void)state;
    world w;
    pass_out o;
    w_init(&w, POOL_JSON(",'replicas':2"));
    w.cfg.status_settle_ms = 0; /* requeues below are the pacing's alone */
    w.cfg.replenish_delay_ms = 10000;
    w_add(&w, w_member(&w, "a", 1, 10));
    w_add(&w, w_member(&w, "b", 1, 10));
    w_pass(&w, &o); /* full */
    assert_int_equal(o.creates, 0);
    rec_result_fini(&o.r);
    w_remove(&w, "a"); /* adopted */
    w.now += 1000;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.r.requeue_after_ms, 10000);
    rec_result_fini(&o.r);
    w.now += 9999;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    assert_int_equal(o.r.requeue_after_ms, 1);
    rec_result_fini(&o.r);
    w.now += 1;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 1);
    rec_result_fini(&o.r);
    w_fini(&w);

    /* 2 creates per second: a deficit of 5 is spread over time */
    w_init(&w, POOL_JSON(",'replicas':5"));
    w.cfg.max_refill_rate = 2;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 2);
    assert_int_equal(o.r.requeue_after_ms, 501);
    rec_result_fini(&o.r);
    w.now += 500;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 1);
    rec_result_fini(&o.r);
    w.now += 250;
    w_pass(&w, &o);
    assert_int_equal(o.creates, 0);
    rec_result_fini(&o.r);
    w.now += 10000; /* the bucket holds at most 2 */
    w_pass(&w, &o);
    assert_int_equal(o.creates, 2);
    assert_int_equal(o.rep.pending_creates, 5);
    rec_result_fini(&o.r);
    w_fini(&w);
}

/* Malformed pools, templates and members: no crash, no leak, no create
 * without a usable template. */
static void
test_malformed_inputs(void **state)
{
    (void)state;
    static const char *const pools[] = {
        "{}",
        "[]",
        "{'metadata':{'name':'p','namespace':'default'}}",
        "{'metadata':{'name':'p','namespace':'default','uid':'pu'},'spec':{'replicas':'3',"
        "'updateStrategy':{'type':7}}}",
        "{'metadata':{'name':'p','namespace':'default','uid':'pu','generation':'x'},'spec':{"
        "'replicas':2.5},'status':'bad'}",
    };
    static const char *const tmpls[] = {
        "{}",
        "{'metadata':{'name':'test-template'},'spec':{'podTemplate':'x'}}",
        "{'metadata':{'name':'test-template'},'spec':{'podTemplate':{'spec':[]},"
        "'networkPolicyManagement':5}}",
    };
    static const char *const members[] = {
        "{}",
        "[]",
        "{'metadata':{'name':'m','ownerReferences':'x','labels':[]}}",
        "{'metadata':{'name':'m','creationTimestamp':'never','ownerReferences':[{'controller':"
        "true,'uid':'pu'}]},'status':{'conditions':[1,{'type':'Ready'}]},'spec':7}",
    };
    for (size_t p = 0; p < sizeof pools / sizeof pools[0]; p++)
        for (size_t t = 0; t < sizeof tmpls / sizeof tmpls[0]; t++) {
            json_object *pool = J(pools[p]), *tmpl = J(tmpls[t]);
            json_object *m[4];
            for (size_t k = 0; k < 4; k++)
                m[k] = J(members[k]);
            rec_wp_state st;
            rec_wp_config cfg;
            rec_wp_state_init(&st);
            rec_wp_config_default(&cfg);
            rec_wp_mfacts f[4];
            for (size_t k = 0; k < 4; k++)
                rec_wp_member_digest(m[k], &f[k]);
            for (int digested = 0; digested < 2; digested++) {
                rec_wp_input in = {pool, tmpl, m, 4, NULL, NULL, NULL, 0, T0, digested ? f : NULL};
                rec_result r;
                rec_result_init(&r);
                assert_int_equal(rec_warmpool_reconcile(&cfg, &st, &in, &r, NULL), 0);
                for (size_t i = 0; i < r.n_writes; i++)
                    assert_string_not_equal(r.writes[i].tag, "wp-create"); /* no usable template */
                rec_result_fini(&r);
            }
            rec_wp_state_fini(&st);
            for (size_t k = 0; k < 4; k++)
                json_object_put(m[k]);
            json_object_put(pool);
            json_object_put(tmpl);
        }
}

/* ---- member digests ------------------------------------------------------ */

typedef struct digest_row {
    const char *name;
    const char *json;
    const char *want_name, *want_ns, *want_ctl_uid;
    int has_ctl, deleting, launch_warm, ready, unschedulable;
    int64_t created_ms;
} digest_row;

static const digest_row digest_rows[] = {
    {"digest-full",
     "{'metadata':{'name':'p-1','namespace':'ns','creationTimestamp':'2026-01-01T00:00:01Z',"
     "'labels':{'agents.x-k8s.io/launch-type':'warm'},'ownerReferences':[{'uid':'o','controller':"
     "false},{'uid':'pu','controller':true}]},'status':{'conditions':[{'type':'PodScheduled',"
     "'status':'True'},{'type':'Ready','status':'True'}]}}",
     "p-1", "ns", "pu", 1, 0, 1, 1, 0, 1767225601000},
    {"digest-orphan-deleting-cold",
     "{'metadata':{'name':'p-2','deletionTimestamp':'2026-01-01T00:00:02Z','labels':{'agents.x-"
     "k8s.io/launch-type':'cold'},'ownerReferences':[{'uid':'o'}]},'status':{'conditions':[{"
     "'type':'Ready','status':'False'},{'type':'PodScheduled','status':'False','reason':"
     "'Unschedulable'}]}}",
     "p-2", NULL, NULL, 0, 1, 0, 0, 1, 0},
    {"digest-controller-without-uid",
     "{'metadata':{'name':'p-3','ownerReferences':[{'controller':true}]},'status':{'conditions':"
     "[{'type':'PodScheduled','status':'False','reason':'Other'}]}}",
     "p-3", NULL, NULL, 1, 0, 0, 0, 0, 0},
    {"digest-malformed",
     "{'metadata':{'name':7,'namespace':[],'creationTimestamp':'never','labels':[],"
     "'ownerReferences':'x','deletionTimestamp':{}},'status':{'conditions':[1,{'type':'Ready'}]}}",
     NULL, NULL, NULL, 0, 0, 0, 0, 0, 0},
    {"digest-not-an-object", "[]", NULL, NULL, NULL, 0, 0, 0, 0, 0, 0},
};

static void
assert_str_or_null(const char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static void
test_digest_row(void **state)
{
    const digest_row *r = *state;
    json_object *o = J(r->json);
    rec_wp_mfacts f;
    memset(&f, 0x5a, sizeof f); /* every field must be written */
    rec_wp_member_digest(o, &f);
    assert_str_or_null(f.name, r->want_name);
    assert_str_or_null(f.ns, r->want_ns);
    assert_str_or_null(f.ctl_uid, r->want_ctl_uid);
    assert_int_equal(f.has_ctl, r->has_ctl);
    assert_int_equal(f.deleting, r->deleting);
    assert_int_equal(f.launch_warm, r->launch_warm);
    assert_int_equal(f.ready, r->ready);
    assert_int_equal(f.unschedulable, r->unschedulable);
    assert_int_equal(f.created_ms, r->created_ms);
    json_object_put(o);
}

int
main(void)
{
    struct CMUnitTest t[64];
    size_t n = 0;
    t[n++] = (struct CMUnitTest){"canonical-json", test_canon, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"semantic-equality", test_sem_equal, NULL, NULL, NULL};
    for (size_t i = 0; i < sizeof stale_rows / sizeof stale_rows[0]; i++)
        t[n++] = (struct CMUnitTest){stale_rows[i].name, test_stale_row, NULL, NULL,
                                     (void *)&stale_rows[i]};
    t[n++] = (struct CMUnitTest){"member-body", test_member_body, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"expectations-never-over-create",
                                 test_expectations_never_over_create, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"create-failure-retried-exactly",
                                 test_create_failure_retried_exactly, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"replicas-defaults", test_replicas_defaults, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"scale-down-order", test_scale_down_order_and_no_double_delete,
                                 NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"update-strategies", test_update_strategies, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"stuck-and-unschedulable", test_stuck_and_unschedulable, NULL,
                                 NULL, NULL};
    t[n++] = (struct CMUnitTest){"missing-template", test_missing_template, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"status-on-change-orphans", test_status_only_on_change_and_orphans,
                                 NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"status-settle", test_status_settle, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"pacing", test_pacing, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"malformed-inputs", test_malformed_inputs, NULL, NULL, NULL};
    t[n++] = (struct CMUnitTest){"pool-gone-resets", test_pool_gone_resets_state, NULL, NULL, NULL};
    for (size_t i = 0; i < sizeof digest_rows / sizeof digest_rows[0]; i++)
        t[n++] = (struct CMUnitTest){digest_rows[i].name, test_digest_row, NULL, NULL,
                                     (void *)&digest_rows[i]};
    return _cmocka_run_group_tests("rec_warmpool", t, n, NULL, NULL);
}
