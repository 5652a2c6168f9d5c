/* test_rec_template.c - SandboxTemplate pass (spec/api.md §2.2) as a table:
 * template-ref-hash label, the managed NetworkPolicy (secure default or the
 * template's rules), update on drift, Unmanaged deletes only an owned NP,
 * a foreign NP is refused. Strings use ' for " (see J()). */
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
#include "reconciler/template.h"

/* ---- helpers ---------------------------------------------------------------- */

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

static const rec_write *
find_write(const rec_result *r, const char *tag)
{
    for (size_t i = 0; i < r->n_writes; i++)
        if (strcmp(r->writes[i].tag, tag) == 0) return &r->writes[i];
    return NULL;
}

static void
check_tags(const rec_result *r, const char *want)
{
    char got[512] = "";
    for (size_t i = 0; i < r->n_writes; i++) {
        if (i) strcat(got, " ");
        strcat(got, r->writes[i].tag);
    }
    assert_string_equal(got, want);
}

/* checks: JSON array of [tag, pointer, expected] */
static void
check_bodies(const rec_result *r, const char *checks)
{
    if (checks == NULL) return;
    json_object *c = J(checks);
    for (size_t i = 0; i < json_object_array_length(c); i++) {
        json_object *row = json_object_array_get_idx(c, i);
        const char *tag = json_object_get_string(json_object_array_get_idx(row, 0));
        const char *ptr = json_object_get_string(json_object_array_get_idx(row, 1));
        json_object *want = json_object_array_get_idx(row, 2);
        const rec_write *w = find_write(r, tag);
        if (w == NULL) fail_msg("no write %s", tag);
        json_object *got = NULL;
        if (json_pointer_get(w->body, ptr, &got) != 0) got = NULL;
        if (!json_object_equal(got, want))
            fail_msg("%s %s: got %s want %s", tag, ptr, got ? jx_dump(got) : "(absent)",
                     jx_dump(want));
    }
    json_object_put(c);
}

/* ---- table -------------------------------------------------------------------- */

#define TH "69155462" /* NameHash("test-template") */
#define OWNED                                                                                      \
    "'ownerReferences':[{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':"                \
    "'SandboxTemplate','name':'test-template','uid':'tu','controller':true}]"
#define FOREIGN                                                                                    \
    "'ownerReferences':[{'apiVersion':'apps/v1','kind':'Deployment','name':'x','uid':'zz',"        \
    "'controller':true}]"
#define DEFAULT_SPEC                                                                               \
    "{'podSelector':{'matchLabels':{'agents.x-k8s.io/sandbox-template-ref-hash':'" TH "'}},"       \
    "'policyTypes':['Ingress','Egress'],'ingress':[{'from':[{'namespaceSelector':{'matchLabels':"  \
    "{'kubernetes.io/metadata.name':'agent-sandbox-system'}},'podSelector':{'matchLabels':{'app':" \
    "'sandbox-router'}}}]}],'egress':[{'to':[{'ipBlock':{'cidr':'0.0.0.0/0','except':["            \
    "'10.0.0.0/8','172.16.0.0/12','192.168.0.0/16','169.254.0.0/16']}},{'ipBlock':{'cidr':'::/0'," \
    "'except':['fc00::/7','fe80::/10']}}]}]}"
#define LABELED "{'agents.x-k8s.io/sandbox-template-ref-hash':'" TH "'}"

typedef struct tmpl_row {
    const char *name;
    const char *labels;     /* template labels (NULL: none) */
    const char *spec;       /* template spec */
    const char *extra_meta; /* merged into template metadata, e.g. deletionTimestamp */
    int no_template;
    const char *np;       /* the existing NP or NULL */
    const char *outcomes; /* [[tag, err]] */
    const char *writes;
    const char *checks;
    const char *error; /* expected out.error_msg, NULL: no error */
    int64_t requeue;   /* expected requeue_after_ms */
} tmpl_row;

static const tmpl_row rows[] = {
    {"secure-default-create", NULL, "{'podTemplate':{'spec':{}}}", NULL, 0, NULL, NULL,
     "tmpl-label np-create",
     "[['tmpl-label','/metadata/labels/agents.x-k8s.io~1sandbox-template-ref-hash','" TH "'],"
     "['np-create','/spec'," DEFAULT_SPEC "],"
     "['np-create','/metadata/name','test-template-network-policy'],"
     "['np-create','/metadata/namespace','default'],"
     "['np-create','/metadata/ownerReferences/0/kind','SandboxTemplate'],"
     "['np-create','/metadata/ownerReferences/0/uid','tu'],"
     "['np-create','/metadata/ownerReferences/0/controller',true],"
     "['np-create','/metadata/ownerReferences/0/blockOwnerDeletion',true]]",
     NULL, -1},
    {"label-present-only-np", LABELED, "{'podTemplate':{'spec':{}}}", NULL, 0, NULL, NULL,
     "np-create", NULL, NULL, -1},
    {"wrong-label-value-fixed", "{'agents.x-k8s.io/sandbox-template-ref-hash':'nope'}",
     "{'podTemplate':{'spec':{}}}", NULL, 0, NULL, NULL, "tmpl-label np-create",
     "[['tmpl-label','/metadata/labels/agents.x-k8s.io~1sandbox-template-ref-hash','" TH "']]",
     NULL, -1},
    {"template-rules-verbatim-tcp-defaulted", LABELED,
     "{'podTemplate':{'spec':{}},'networkPolicy':{'ingress':[{'ports':[{'port':8080}]}],"
     "'egress':[{'to':[{'ipBlock':{'cidr':'1.2.3.4/"
     "32'}}],'ports':[{'port':53,'protocol':'UDP'}]}]}}",
     NULL, 0, NULL, NULL, "np-create",
     "[['np-create','/spec/ingress',[{'ports':[{'port':8080,'protocol':'TCP'}]}]],"
     "['np-create','/spec/egress',[{'to':[{'ipBlock':{'cidr':'1.2.3.4/32'}}],'ports':[{'port':53,"
     "'protocol':'UDP'}]}]],"
     "['np-create','/spec/policyTypes',['Ingress','Egress']]]",
     NULL, -1},
    {"template-rules-empty-deny-all", LABELED, "{'podTemplate':{'spec':{}},'networkPolicy':{}}",
     NULL, 0, NULL, NULL, "np-create",
     "[['np-create','/spec',{'podSelector':{'matchLabels':{'agents.x-k8s.io/"
     "sandbox-template-ref-hash':'" TH "'}},'policyTypes':['Ingress','Egress']}]]",
     NULL, -1},
    {"owned-equal-noop", LABELED, "{'podTemplate':{'spec':{}}}", NULL, 0,
     "{'metadata':{'name':'test-template-network-policy','namespace':'default','uid':'np1',"
     "'resourceVersion':'7'," OWNED "},'spec':" DEFAULT_SPEC "}",
     NULL, "", NULL, NULL, -1},
    {"owned-equal-server-defaulted-protocol", LABELED,
     "{'podTemplate':{'spec':{}},'networkPolicy':{'ingress':[{'ports':[{'port':80}]}]}}", NULL, 0,
     "{'metadata':{'name':'test-template-network-policy','namespace':'default','uid':'np1',"
     "'resourceVersion':'7'," OWNED "},'spec':{'podSelector':{'matchLabels':{'agents.x-k8s.io/"
     "sandbox-template-ref-hash':'" TH "'}},'policyTypes':['Ingress','Egress'],'ingress':[{"
     "'ports':[{'port':80,'protocol':'TCP'}]}]}}",
     NULL, "", NULL, NULL, -1},
    {"owned-drift-updated", LABELED, "{'podTemplate':{'spec':{}}}", NULL, 0,
     "{'metadata':{'name':'test-template-network-policy','namespace':'default','uid':'np1',"
     "'resourceVersion':'7'," OWNED "},'spec':{'podSelector':{'matchLabels':{'a':'b'}},"
     "'policyTypes':['Ingress'],'ingress':[]}}",
     NULL, "np-update",
     "[['np-update','/metadata/resourceVersion','7'],"
     "['np-update','/spec/policyTypes',['Ingress','Egress']],"
     "['np-update','/spec/egress/0/to/0/ipBlock/cidr','0.0.0.0/0'],"
     "['np-update','/spec/podSelector/matchLabels/a',null],"
     "['np-update','/spec/podSelector/matchLabels/agents.x-k8s.io~1sandbox-template-ref-hash','" TH
     "']]",
     NULL, -1},
    {"foreign-refused", LABELED, "{'podTemplate':{'spec':{}}}", NULL, 0,
     "{'metadata':{'name':'test-template-network-policy','namespace':'default','uid':'np1'," FOREIGN
     "},'spec':{}}",
     NULL, "", NULL,
     "refusing to update NetworkPolicy \"default/test-template-network-policy\": not controlled "
     "by SandboxTemplate \"test-template\"",
     -1},
    {"unowned-refused", LABELED, "{'podTemplate':{'spec':{}}}", NULL, 0,
     "{'metadata':{'name':'test-template-network-policy','namespace':'default','uid':'np1'},"
     "'spec':{}}",
     NULL, "", NULL,
     "refusing to update NetworkPolicy \"default/test-template-network-policy\": not controlled "
     "by SandboxTemplate \"test-template\"",
     -1},
    {"unmanaged-owned-deleted", LABELED,
     "{'podTemplate':{'spec':{}},'networkPolicyManagement':'Unmanaged'}", NULL, 0,
     "{'metadata':{'name':'test-template-network-policy','namespace':'default','uid':'np1'," OWNED
     "},'spec':{}}",
     NULL, "np-delete", NULL, NULL, -1},
    {"unmanaged-foreign-untouched", LABELED,
     "{'podTemplate':{'spec':{}},'networkPolicyManagement':'Unmanaged'}", NULL, 0,
     "{'metadata':{'name':'test-template-network-policy','namespace':'default','uid':'np1'," FOREIGN
     "},'spec':{}}",
     NULL, "", NULL, NULL, -1},
    {"unmanaged-absent", NULL, "{'podTemplate':{'spec':{}},'networkPolicyManagement':'Unmanaged'}",
     NULL, 0, NULL, NULL, "tmpl-label", NULL, NULL, -1},
    {"deleting-template-nothing", NULL, "{'podTemplate':{'spec':{}}}",
     "{'deletionTimestamp':'2026-01-01T00:00:00Z'}", 0, NULL, NULL, "", NULL, NULL, -1},
    {"template-not-found", NULL, NULL, NULL, 1, NULL, NULL, "", NULL, NULL, -1},
    {"create-already-exists-requeues", LABELED, "{'podTemplate':{'spec':{}}}", NULL, 0, NULL,
     "[['np-create',-1014]]", "np-create", NULL, NULL, 200},
    {"update-failure-is-error", LABELED, "{'podTemplate':{'spec':{}}}", NULL, 0, NULL,
     "[['np-update',-1017]]", "np-create", NULL, "np-update: boom", -1},
};

static void
run_row(void **state)
{
    const tmpl_row *r = *state;
    json_object *t = NULL;
    if (!r->no_template) {
        t = J("{'apiVersion':'extensions.agents.x-k8s.io/v1beta1','kind':'SandboxTemplate',"
              "'metadata':{'name':'test-template','namespace':'default','uid':'tu'}}");
        json_object *md = jx_obj(t, "metadata");
        if (r->labels) json_object_object_add(md, "labels", J(r->labels));
        if (r->extra_meta) {
            json_object *x = J(r->extra_meta);
            json_object_object_foreach(x, k, v) json_object_object_add(md, k, json_object_get(v));
            json_object_put(x);
        }
        json_object_object_add(t, "spec", J(r->spec));
    }
    json_object *np = J(r->np);
    rec_outcome outs[4];
    size_t n_out = 0;
    json_object *oj = J(r->outcomes);
    for (size_t i = 0; oj && i < json_object_array_length(oj) && i < 4; i++) {
        json_object *o = json_object_array_get_idx(oj, i);
        outs[n_out++] = (rec_outcome){
            .tag = json_object_get_string(json_object_array_get_idx(o, 0)),
            .err = json_object_get_int(json_object_array_get_idx(o, 1)),
            .reason = "",
            .message = "boom",
        };
    }
    rec_tmpl_input in = {t, np, outs, n_out, 0};
    rec_result out;
    rec_result_init(&out);
    assert_int_equal(rec_template_reconcile(&in, &out), 0);
    check_tags(&out, r->writes);
    check_bodies(&out, r->checks);
    if (r->error) {
        assert_true(out.error != 0);
        assert_string_equal(out.error_msg, r->error);
    } else {
        assert_int_equal(out.error, 0);
    }
    assert_int_equal(out.requeue_after_ms, r->requeue);
    const rec_write *d = find_write(&out, "np-delete");
    if (d) {
        assert_string_equal(d->precondition_uid, "np1");
        assert_string_equal(d->name, "test-template-network-policy");
        assert_ptr_equal(d->res, &KUBE_NETWORKPOLICIES);
    }
    const rec_write *c = find_write(&out, "np-create");
    if (c) assert_int_equal(c->op, REC_CREATE);
    rec_result_fini(&out);
    json_object_put(oj);
    json_object_put(np);
    json_object_put(t);
}

int
main(void)
{
    struct CMUnitTest t[sizeof rows / sizeof rows[0]];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        t[i] = (struct CMUnitTest){rows[i].name, run_row, NULL, NULL, (void *)&rows[i]};
    return _cmocka_run_group_tests("rec_template", t, sizeof rows / sizeof rows[0], NULL, NULL);
}
