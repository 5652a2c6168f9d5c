/* test_rec_sandbox_harness.c - see test_rec_sandbox_harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"
#include "core/timeutil.h"
#include "tests/test_rec_sandbox_harness.h"

/* 2026-01-01T00:10:00Z */
#define T_NOW 1767226200000LL

static const char *BASE_SB =
    "{\"apiVersion\":\"agents.x-k8s.io/"
    "v1beta1\",\"kind\":\"Sandbox\",\"metadata\":{\"name\":\"sb\","
    "\"namespace\":\"ns\",\"uid\":\"sb-uid\",\"generation\":1,\"resourceVersion\":\"10\"},"
    "\"spec\":{\"podTemplate\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}"
    "},\"shutdownPolicy\":\"Retain\",\"operatingMode\":\"Running\"}}";

static const char *BASE_POD =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"sb\",\"namespace\":\"ns\","
    "\"uid\":\"pod-uid\",\"resourceVersion\":\"20\",\"creationTimestamp\":"
    "\"2026-01-01T00:00:00Z\",\"labels\":{\"agents.x-k8s.io/sandbox-name-hash\":\"$H\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\","
    "\"name\":\"sb\",\"uid\":\"sb-uid\",\"controller\":true,\"blockOwnerDeletion\":true}]},"
    "\"spec\":{\"nodeName\":\"node1\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"podIPs\":[{\"ip\":\"10.0.0.1\"}],"
    "\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"},{\"type\":\"Ready\","
    "\"status\":\"True\"}]}}";

static const char *BASE_SVC =
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"sb\",\"namespace\":"
    "\"ns\",\"uid\":\"svc-uid\",\"resourceVersion\":\"30\",\"labels\":{"
    "\"agents.x-k8s.io/sandbox-name-hash\":\"$H\"},\"ownerReferences\":[{\"apiVersion\":"
    "\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\",\"name\":\"sb\",\"uid\":\"sb-uid\","
    "\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{\"clusterIP\":\"None\","
    "\"selector\":{\"agents.x-k8s.io/sandbox-name-hash\":\"$H\"},\"ports\":[]}}";

static const char *BASE_PVC =
    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
    "\"data-sb\",\"namespace\":\"ns\",\"uid\":\"pvc-uid\",\"resourceVersion\":\"40\","
    "\"ownerReferences\":[{\"apiVersion\":\"agents.x-k8s.io/v1beta1\",\"kind\":\"Sandbox\","
    "\"name\":\"sb\",\"uid\":\"sb-uid\",\"controller\":true,\"blockOwnerDeletion\":true}]},"
    "\"spec\":{}}";

/* ---- JSON helpers ---------------------------------------------------------- */

json_object *
sbx_parse(const char *s)
{
    char hash[9];
    namehash_hex("sb", hash);
    size_t n = strlen(s);
    char *buf = malloc(n * 2 + 1), *o = buf;
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            *o++ = '"'; /* rows write JSON with single quotes */
        } else if (p[0] == '$' && p[1] == 'H') {
            memcpy(o, hash, 8);
            o += 8;
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    const char *err = NULL;
    json_object *j = jx_parse(buf, strlen(buf), &err);
    if (j == NULL) fail_msg("bad JSON in row (%s): %s", err ? err : "?", buf);
    free(buf);
    return j;
}

/* RFC 7386 merge patch applied in place to *target. */
void
sbx_merge(json_object **target, json_object *patch)
{
    if (!json_object_is_type(patch, json_type_object)) {
        json_object_put(*target);
        *target = NULL;
        if (patch) json_object_deep_copy(patch, target, NULL);
        return;
    }
    if (*target == NULL || !json_object_is_type(*target, json_type_object)) {
        json_object_put(*target);
        *target = json_object_new_object();
    }
    json_object_object_foreach(patch, k, v)
    {
        if (v == NULL) {
            json_object_object_del(*target, k);
            continue;
        }
        json_object *cur = NULL;
        json_object_object_get_ex(*target, k, &cur);
        json_object *nv = cur ? json_object_get(cur) : NULL;
        sbx_merge(&nv, v);
        json_object_object_add(*target, k, nv);
    }
}

static json_object *
based(const char *base, const char *patch)
{
    json_object *b = sbx_parse(base);
    if (patch) {
        json_object *p = sbx_parse(patch);
        sbx_merge(&b, p);
        json_object_put(p);
    }
    return b;
}

/* RFC 6901 pointer ("~1" = "/"). Borrowed result or NULL; *found says whether it exists. */
static json_object *
pointer(json_object *root, const char *ptr, int *found)
{
    char tok[256];
    json_object *cur = root;
    const char *p = ptr;
    *found = 1;
    while (*p == '/') {
        p++;
        size_t n = 0;
        while (*p && *p != '/' && n < sizeof tok - 1) {
            if (p[0] == '~' && p[1] == '1') {
                tok[n++] = '/';
                p += 2;
            } else if (p[0] == '~' && p[1] == '0') {
                tok[n++] = '~';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = '\0';
        json_object *next = NULL;
        if (json_object_is_type(cur, json_type_array)) {
            size_t idx = strtoul(tok, NULL, 10);
            if (idx >= json_object_array_length(cur)) {
                *found = 0;
                return NULL;
            }
            next = json_object_array_get_idx(cur, idx);
        } else if (!json_object_is_type(cur, json_type_object) ||
                   !json_object_object_get_ex(cur, tok, &next)) {
            *found = 0;
            return NULL;
        }
        cur = next;
    }
    return cur;
}

/* ---- world --------------------------------------------------------------------- */

typedef struct world {
    json_object *sb, *pods, *svc, *pvcs, *outcomes;
    rec_outcome oc[16];
    size_t n_oc;
} world;

static void
world_build(world *w, const sbx_row *r)
{
    memset(w, 0, sizeof *w);
    w->sb = based(BASE_SB, r->sb);
    w->pods = json_object_new_array();
    if (r->pods) {
        json_object *a = sbx_parse(r->pods);
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *p = sbx_parse(BASE_POD);
            sbx_merge(&p, json_object_array_get_idx(a, i));
            json_object_array_add(w->pods, p);
        }
        json_object_put(a);
    }
    w->svc = r->svc ? based(BASE_SVC, r->svc) : NULL;
    w->pvcs = json_object_new_array();
    if (r->pvcs) {
        json_object *a = sbx_parse(r->pvcs);
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *p = sbx_parse(BASE_PVC);
            sbx_merge(&p, json_object_array_get_idx(a, i));
            json_object_array_add(w->pvcs, p);
        }
        json_object_put(a);
    }
    if (r->outcomes) {
        w->outcomes = sbx_parse(r->outcomes);
        for (size_t i = 0; i < json_object_array_length(w->outcomes) && i < 16; i++) {
            json_object *o = json_object_array_get_idx(w->outcomes, i);
            rec_outcome *x = &w->oc[w->n_oc++];
            x->tag = jx_str_or(o, "tag", "");
            x->err = (int)jx_int(o, "err", 0);
            x->http_status = jx_int(o, "http", 0);
            x->reason = jx_str_or(o, "reason", "");
            x->message = jx_str_or(o, "message", "");
            x->object = jx_obj(o, "object");
        }
    }
}

static void
world_free(world *w)
{
    json_object_put(w->sb);
    json_object_put(w->pods);
    json_object_put(w->svc);
    json_object_put(w->pvcs);
    json_object_put(w->outcomes);
}

/* Emulates the shard's store reads for one Sandbox. */
static int
run_pass(world *w, const sbx_row *r, int with_outcomes, rec_result *out)
{
    json_object *idx[16], *pvcs[16];
    size_t n_idx = 0, n_pvcs = 0;
    char hash[9];
    const char *name = jx_str(w->sb, "metadata.name");
    namehash_hex(name, hash);
    const char *pname = rec_sandbox_pod_name(w->sb);
    json_object *named = NULL;
    for (size_t i = 0; i < json_object_array_length(w->pods) && n_idx < 16; i++) {
        json_object *p = json_object_array_get_idx(w->pods, i);
        const char *h = jx_label(p, "agents.x-k8s.io/sandbox-name-hash");
        if (h && strcmp(h, hash) == 0) idx[n_idx++] = p;
        if (strcmp(jx_str_or(p, "metadata.name", ""), pname) == 0) named = p;
    }
    json_object *vcts = jx_arr(w->sb, "spec.volumeClaimTemplates");
    for (size_t j = 0; vcts && j < json_object_array_length(vcts); j++) {
        char pn[300];
        if (!rec_sandbox_pvc_name(json_object_array_get_idx(vcts, j), w->sb, pn, sizeof pn))
            continue;
        for (size_t i = 0; i < json_object_array_length(w->pvcs) && n_pvcs < 16; i++) {
            json_object *p = json_object_array_get_idx(w->pvcs, i);
            if (strcmp(jx_str_or(p, "metadata.name", ""), pn) == 0) pvcs[n_pvcs++] = p;
        }
    }
    rec_sandbox_input in = {
        .sandbox = w->sb,
        .pods = idx,
        .n_pods = n_idx,
        .named_pod = named,
        .service = w->svc,
        .pvcs = pvcs,
        .n_pvcs = n_pvcs,
        .outcomes = with_outcomes ? w->oc : NULL,
        .n_outcomes = with_outcomes ? w->n_oc : 0,
        .cluster_domain = NULL,
        .pod_lookup_failed = r->lookup_failed,
        .status_settle_ms = r->settle_ms,
    };
    rec_result_init(out);
    return rec_sandbox_reconcile(&in, T_NOW + r->now_offset_s * 1000, out);
}

static const rec_write *
find_write(const rec_result *out, const char *tag)
{
    for (size_t i = 0; i < out->n_writes; i++)
        if (strcmp(out->writes[i].tag, tag) == 0) return &out->writes[i];
    return NULL;
}

static void
check_writes(const rec_result *out, const char *want, const char *row)
{
    char got[1024] = "";
    for (size_t i = 0; i < out->n_writes; i++) {
        if (i) strcat(got, " ");
        strncat(got, out->writes[i].tag, sizeof got - strlen(got) - 1);
    }
    if (strcmp(got, want) != 0) {
        for (size_t i = 0; i < out->n_writes; i++)
            print_message("  write %s: %s\n", out->writes[i].tag,
                          out->writes[i].body ? jx_dump(out->writes[i].body) : "-");
        fail_msg("%s: writes [%s], want [%s]", row, got, want);
    }
}

/* Resulting status: old status with the status merge patch applied. */
static json_object *
result_status(world *w, const rec_result *out)
{
    json_object *st = NULL;
    json_object *old = jx_obj(w->sb, "status");
    if (old) json_object_deep_copy(old, &st, NULL);
    const rec_write *sw = find_write(out, "sandbox-status");
    if (sw) sbx_merge(&st, jx_obj(sw->body, "status"));
    if (st == NULL) st = json_object_new_object();
    return st;
}

static void
check_conds(json_object *st, const char *want, const char *row)
{
    char got[1024] = "";
    json_object *a = jx_arr(st, "conditions");
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        json_object *c = json_object_array_get_idx(a, i);
        char one[256];
        snprintf(one, sizeof one, "%s%s=%s/%s", i ? " " : "", jx_str_or(c, "type", "?"),
                 jx_str_or(c, "status", "?"), jx_str_or(c, "reason", "?"));
        strncat(got, one, sizeof got - strlen(got) - 1);
    }
    if (strcmp(got, want) != 0) fail_msg("%s: conditions [%s], want [%s]", row, got, want);
}

static void
check_pointer(const rec_result *out, json_object *st, json_object *chk, const char *row)
{
    const char *target = json_object_get_string(json_object_array_get_idx(chk, 0));
    const char *ptr = json_object_get_string(json_object_array_get_idx(chk, 1));
    json_object *want = json_object_array_get_idx(chk, 2);
    json_object *root = NULL, *tmp = NULL;
    if (strcmp(target, "status") == 0) {
        root = st;
    } else if (strncmp(target, "write:", 6) == 0) {
        const rec_write *w = find_write(out, target + 6);
        if (w == NULL) fail_msg("%s: no write %s", row, target + 6);
        tmp = json_object_new_object();
        if (w->name) json_object_object_add(tmp, "name", json_object_new_string(w->name));
        if (w->subresource)
            json_object_object_add(tmp, "sub", json_object_new_string(w->subresource));
        if (w->precondition_uid)
            json_object_object_add(tmp, "precondition_uid",
                                   json_object_new_string(w->precondition_uid));
        json_object_object_add(tmp, "op", json_object_new_int(w->op));
        json_object_object_add(tmp, "resource", json_object_new_string(w->res->plural));
        root = tmp;
    } else {
        const rec_write *w = find_write(out, target);
        if (w == NULL) fail_msg("%s: no write %s", row, target);
        root = w->body;
    }
    int found = 0;
    json_object *got = pointer(root, ptr, &found);
    /* expected JSON "absent" string means the path must not exist */
    if (want && json_object_is_type(want, json_type_string) &&
        strcmp(json_object_get_string(want), "<absent>") == 0) {
        if (found) fail_msg("%s: %s %s = %s, want absent", row, target, ptr, jx_dump(got));
    } else if (!found || !json_object_equal(got, want)) {
        fail_msg("%s: %s %s = %s, want %s", row, target, ptr, found ? jx_dump(got) : "<absent>",
                 want ? jx_dump(want) : "null");
    }
    json_object_put(tmp);
}

/* Apply the writes a real server would apply to the objects the pass reads. */
static void
apply_writes(world *w, const rec_result *out)
{
    for (size_t i = 0; i < out->n_writes; i++) {
        const rec_write *x = &out->writes[i];
        if (strcmp(x->tag, "sandbox-status") == 0 || strcmp(x->tag, "sandbox-meta") == 0) {
            sbx_merge(&w->sb, x->body);
        } else if (strcmp(x->tag, "pod-patch") == 0) {
            for (size_t j = 0; j < json_object_array_length(w->pods); j++) {
                json_object *p = json_object_array_get_idx(w->pods, j);
                if (strcmp(jx_str_or(p, "metadata.name", ""), x->name) == 0) {
                    json_object *cp = NULL;
                    json_object_deep_copy(p, &cp, NULL);
                    sbx_merge(&cp, x->body);
                    json_object_array_put_idx(w->pods, j, cp);
                }
            }
        } else if (strcmp(x->tag, "svc-patch") == 0 && w->svc) {
            sbx_merge(&w->svc, x->body);
        } else if (strcmp(x->tag, "svc-update") == 0) {
            json_object_put(w->svc);
            json_object_deep_copy(x->body, &w->svc, NULL);
        }
    }
}

void
sbx_run_row(const sbx_row *r)
{
    world w;
    rec_result out;
    world_build(&w, r);
    int rc = run_pass(&w, r, 1, &out);
    assert_int_equal(rc, 0);
    check_writes(&out, r->writes ? r->writes : "", r->name);
    json_object *st = result_status(&w, &out);
    if (r->conds) check_conds(st, r->conds, r->name);
    if (r->ready_msg) {
        json_object *a = jx_arr(st, "conditions");
        const char *msg = NULL;
        for (size_t i = 0; a && i < json_object_array_length(a); i++)
            if (strcmp(jx_str_or(json_object_array_get_idx(a, i), "type", ""), "Ready") == 0)
                msg = jx_str(json_object_array_get_idx(a, i), "message");
        if (msg == NULL || strcmp(msg, r->ready_msg) != 0)
            fail_msg("%s: Ready message \"%s\", want \"%s\"", r->name, msg ? msg : "(none)",
                     r->ready_msg);
    }
    if (r->checks) {
        json_object *cks = sbx_parse(r->checks);
        for (size_t i = 0; i < json_object_array_length(cks); i++)
            check_pointer(&out, st, json_object_array_get_idx(cks, i), r->name);
        json_object_put(cks);
    }
    long long want_rq = r->requeue ? atoll(r->requeue) : -1;
    if (!(r->requeue && strcmp(r->requeue, "any") == 0) && out.requeue_after_ms != want_rq)
        fail_msg("%s: requeue %lld, want %lld", r->name, (long long)out.requeue_after_ms, want_rq);
    if ((out.error != 0) != (r->error != 0))
        fail_msg("%s: error=%d (%s), want %s", r->name, out.error, out.error_msg,
                 r->error ? "an error" : "none");
    char ev[512] = "";
    for (size_t i = 0; i < out.n_events; i++) {
        if (i) strcat(ev, " ");
        strncat(ev, out.events[i].reason, sizeof ev - strlen(ev) - 1);
    }
    if (strcmp(ev, r->events ? r->events : "") != 0)
        fail_msg("%s: events [%s], want [%s]", r->name, ev, r->events ? r->events : "");
    if (r->idem) {
        rec_result again;
        apply_writes(&w, &out);
        assert_int_equal(run_pass(&w, r, 0, &again), 0);
        check_writes(&again, "", r->name);
        rec_result_fini(&again);
    }
    json_object_put(st);
    rec_result_fini(&out);
    world_free(&w);
}
