/* template.c - SandboxTemplate: template-ref-hash label and the managed
 * NetworkPolicy. See template.h. */
#include "reconciler/template.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"
#include "reconciler/blueprint.h"
#include "reconciler/meta.h"

#include <stdio.h>
#include <string.h>

char *
rec_template_np_name(const char *tmpl_name, char *buf, size_t len)
{
    snprintf(buf, len, "%s-network-policy", tmpl_name ? tmpl_name : "");
    return buf;
}

static json_object *
str_array(const char *const *v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

static json_object *
ip_block(const char *cidr, const char *const *except, size_t n)
{
    json_object *peer = json_object_new_object(), *blk = json_object_new_object();
    json_object_object_add(blk, "cidr", json_object_new_string(cidr));
    json_object_object_add(blk, "except", str_array(except, n));
    json_object_object_add(peer, "ipBlock", blk);
    return peer;
}

/* §2.2 secure default: ingress only from the sandbox-router; egress to the
 * internet but not to private, link-local or cluster ranges (and so not to
 * cluster DNS: secure_defaults.c points pods at public resolvers). */
static void
secure_default_rules(json_object *spec)
{
    static const char *const v4_except[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                            "169.254.0.0/16"};
    static const char *const v6_except[] = {"fc00::/7", "fe80::/10"};
    json_object *peer = json_object_new_object();
    json_object *nsl = jx_ensure_obj(peer, "namespaceSelector.matchLabels");
    json_object_object_add(nsl, "kubernetes.io/metadata.name",
                           json_object_new_string("agent-sandbox-system"));
    json_object *pl = jx_ensure_obj(peer, "podSelector.matchLabels");
    json_object_object_add(pl, "app", json_object_new_string("sandbox-router"));
    json_object *from = json_object_new_array();
    json_object_array_add(from, peer);
    json_object *in_rule = json_object_new_object();
    json_object_object_add(in_rule, "from", from);
    json_object *ingress = json_object_new_array();
    json_object_array_add(ingress, in_rule);

    json_object *to = json_object_new_array();
    json_object_array_add(to, ip_block("0.0.0.0/0", v4_except, 4));
    json_object_array_add(to, ip_block("::/0", v6_except, 2));
    json_object *out_rule = json_object_new_object();
    json_object_object_add(out_rule, "to", to);
    json_object *egress = json_object_new_array();
    json_object_array_add(egress, out_rule);
    json_object_object_add(spec, "ingress", ingress);
    json_object_object_add(spec, "egress", egress);
}

static void
default_protocols(json_object *rules)
{
    size_t n = json_object_is_type(rules, json_type_array) ? json_object_array_length(rules) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *ports = jx_arr(json_object_array_get_idx(rules, i), "ports");
        size_t np = ports ? json_object_array_length(ports) : 0;
        for (size_t j = 0; j < np; j++) {
            json_object *p = json_object_array_get_idx(ports, j);
            if (json_object_is_type(p, json_type_object) && jx_str(p, "protocol") == NULL)
                json_object_object_add(p, "protocol", json_object_new_string("TCP"));
        }
    }
}

json_object *
rec_template_np_spec(json_object *tmpl)
{
    char h[9];
    static const char *const types[] = {"Ingress", "Egress"};
    json_object *spec = json_object_new_object();
    json_object *ml = jx_ensure_obj(spec, "podSelector.matchLabels");
    if (ml == NULL) {
        json_object_put(spec);
        return NULL;
    }
    json_object_object_add(
        ml, REC_LABEL_TEMPLATE_REF_HASH,
        json_object_new_string(namehash_hex(jx_str_or(tmpl, "metadata.name", ""), h)));
    json_object_object_add(spec, "policyTypes", str_array(types, 2));
    json_object *np = jx_get(tmpl, "spec.networkPolicy");
    if (np && json_object_is_type(np, json_type_object)) {
        json_object *ing = rec_json_copy(jx_arr(np, "ingress"));
        json_object *eg = rec_json_copy(jx_arr(np, "egress"));
        default_protocols(ing);
        default_protocols(eg);
        if (ing) json_object_object_add(spec, "ingress", ing);
        if (eg) json_object_object_add(spec, "egress", eg);
    } else {
        secure_default_rules(spec);
    }
    return spec;
}

static void
settle(const rec_tmpl_input *in, rec_result *out)
{
    for (size_t i = 0; i < in->n_outcomes; i++) {
        const rec_outcome *o = &in->outcomes[i];
        if (o->err == 0 || o->tag == NULL) continue;
        if (o->err == ERR_EXISTS || o->err == ERR_CONFLICT) {
            out->requeue_after_ms = 200; /* our cache lags the server: look again */
        } else if (o->err != ERR_NOTFOUND && !out->error) {
            out->error = o->err;
            snprintf(out->error_msg, sizeof out->error_msg, "%s: %s", o->tag, o->message);
        }
    }
}

int
rec_template_reconcile(const rec_tmpl_input *in, rec_result *out)
{
    json_object *t = in->tmpl;
    if (t == NULL) return 0;
    settle(in, out);
    const char *ns = jx_str_or(t, "metadata.namespace", "");
    const char *name = jx_str_or(t, "metadata.name", "");
    const char *uid = jx_str_or(t, "metadata.uid", "");
    if (jx_str(t, "metadata.deletionTimestamp") != NULL) return 0;
    char h[9], npname[300];
    namehash_hex(name, h);
    const char *have = jx_label(t, REC_LABEL_TEMPLATE_REF_HASH);
    if (have == NULL || strcmp(have, h) != 0) {
        json_object *patch = NULL;
        if (rec_meta_patch_set(&patch, "labels", REC_LABEL_TEMPLATE_REF_HASH, h) != 0 ||
            rec_result_add_write(out, REC_PATCH_MERGE, &KUBE_SANDBOXTEMPLATES, ns, name, NULL,
                                 patch, "tmpl-label") == NULL)
            return ERR_NOMEM;
    }
    rec_template_np_name(name, npname, sizeof npname);
    json_object *np = in->np;
    int owned = np != NULL && rec_meta_is_controlled_by(np, uid);
    const char *mgmt = jx_str_or(t, "spec.networkPolicyManagement", "Managed");
    if (strcmp(mgmt, "Unmanaged") == 0) {
        if (owned && jx_str(np, "metadata.deletionTimestamp") == NULL) {
            rec_write *w = rec_result_add_write(out, REC_DELETE, &KUBE_NETWORKPOLICIES, ns, npname,
                                                NULL, NULL, "np-delete");
            const char *npuid = jx_str(np, "metadata.uid");
            if (w == NULL || (npuid && (w->precondition_uid = strdup(npuid)) == NULL))
                return ERR_NOMEM;
        }
        return 0;
    }
    if (np != NULL && !owned) {
        out->error = ERR_CONFLICT;
        snprintf(out->error_msg, sizeof out->error_msg,
                 "refusing to update NetworkPolicy \"%s/%s\": not controlled by SandboxTemplate "
                 "\"%s\"",
                 ns, npname, name);
        return 0;
    }
    json_object *want = rec_template_np_spec(t);
    if (want == NULL) return ERR_NOMEM;
    if (np != NULL) {
        if (rec_json_sem_equal(jx_get(np, "spec"), want)) {
            json_object_put(want);
            return 0;
        }
        /* A merge patch guarded by the cached resourceVersion (the store may
         * hold a slimmed copy, so a PUT of it could drop fields). Members of
         * the stored spec that the desired one lacks are nulled out. */
        json_object *have = jx_obj(np, "spec");
        json_object_object_foreach(have, k, v)
        {
            (void)v;
            if (jx_child(want, k) == NULL) json_object_object_add(want, k, NULL);
        }
        json_object *ps = jx_obj(have, "podSelector");
        json_object *wps = jx_obj(want, "podSelector");
        json_object_object_foreach(ps, pk, pv)
        {
            (void)pv;
            if (wps && jx_child(wps, pk) == NULL) json_object_object_add(wps, pk, NULL);
        }
        json_object *body = json_object_new_object();
        json_object *md = jx_ensure_obj(body, "metadata");
        const char *rv = jx_str(np, "metadata.resourceVersion");
        if (md == NULL) {
            json_object_put(body);
            json_object_put(want);
            return ERR_NOMEM;
        }
        if (rv) json_object_object_add(md, "resourceVersion", json_object_new_string(rv));
        json_object_object_add(body, "spec", want);
        return rec_result_add_write(out, REC_PATCH_MERGE, &KUBE_NETWORKPOLICIES, ns, npname, NULL,
                                    body, "np-update")
                   ? 0
                   : ERR_NOMEM;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "apiVersion", json_object_new_string("networking.k8s.io/v1"));
    json_object_object_add(body, "kind", json_object_new_string("NetworkPolicy"));
    json_object *md = jx_ensure_obj(body, "metadata");
    json_object *refs = json_object_new_array();
    json_object *ref = rec_meta_owner_ref_new(&KUBE_SANDBOXTEMPLATES, t);
    if (md == NULL || refs == NULL || ref == NULL) {
        json_object_put(refs);
        json_object_put(ref);
        json_object_put(body);
        json_object_put(want);
        return ERR_NOMEM;
    }
    json_object_object_add(md, "name", json_object_new_string(npname));
    json_object_object_add(md, "namespace", json_object_new_string(ns));
    json_object_array_add(refs, ref);
    json_object_object_add(md, "ownerReferences", refs);
    json_object_object_add(body, "spec", want);
    return rec_result_add_write(out, REC_CREATE, &KUBE_NETWORKPOLICIES, ns, NULL, NULL, body,
                                "np-create")
               ? 0
               : ERR_NOMEM;
}
