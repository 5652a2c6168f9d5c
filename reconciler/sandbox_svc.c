/* sandbox_svc.c - the headless Service named like the Sandbox (spec/api.md
 * §2.1): create when spec.service is true, delete an owned one when false,
 * keep/repair when unset or true, adoption rules, and the port rules:
 * container ports + restartPolicy=Always init containers, port 0 skipped,
 * protocol default TCP, dedupe by (port, protocol), sorted by port then
 * protocol, first explicit name unless taken, else p-<port>-<proto> with
 * -2, -3... on collision, targetPort = port. */
#include "core/err.h"
#include "core/jx.h"
#include "reconciler/meta.h"
#include "reconciler/sandbox_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbx_port {
    int64_t port;
    char proto[16];
    const char *explicit_name; /* borrowed from the sandbox */
    char name[96];
} sbx_port;

static int
port_cmp(const void *a, const void *b)
{
    const sbx_port *x = a, *y = b;
    if (x->port != y->port) return x->port < y->port ? -1 : 1;
    return strcmp(x->proto, y->proto);
}

static int
name_taken(const sbx_port *p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].name[0] && strcmp(p[i].name, name) == 0) return 1;
    return 0;
}

static void
collect(json_object *containers, int sidecars_only, sbx_port **ports, size_t *n, size_t *cap)
{
    size_t nc = containers ? json_object_array_length(containers) : 0;
    for (size_t i = 0; i < nc; i++) {
        json_object *ct = json_object_array_get_idx(containers, i);
        if (sidecars_only && strcmp(jx_str_or(ct, "restartPolicy", ""), "Always") != 0) continue;
        json_object *cps = jx_arr(ct, "ports");
        size_t np = cps ? json_object_array_length(cps) : 0;
        for (size_t j = 0; j < np; j++) {
            json_object *cp = json_object_array_get_idx(cps, j);
            int64_t port = jx_int(cp, "containerPort", 0);
            const char *proto = jx_str_or(cp, "protocol", "");
            const char *name = jx_str(cp, "name");
            if (port <= 0) continue;
            if (*proto == '\0') proto = "TCP";
            sbx_port *hit = NULL;
            for (size_t k = 0; k < *n && !hit; k++)
                if ((*ports)[k].port == port && strcmp((*ports)[k].proto, proto) == 0)
                    hit = &(*ports)[k];
            if (hit == NULL) {
                if (*n == *cap) {
                    size_t nc2 = *cap ? *cap * 2 : 8;
                    sbx_port *np2 = realloc(*ports, nc2 * sizeof *np2);
                    if (np2 == NULL) return;
                    *ports = np2;
                    *cap = nc2;
                }
                hit = &(*ports)[(*n)++];
                memset(hit, 0, sizeof *hit);
                hit->port = port;
                snprintf(hit->proto, sizeof hit->proto, "%s", proto);
            }
            if (hit->explicit_name == NULL && name && *name) hit->explicit_name = name;
        }
    }
}

json_object *
sbx__service_ports(json_object *spec)
{
    sbx_port *p = NULL;
    size_t n = 0, cap = 0;
    collect(jx_arr(spec, "containers"), 0, &p, &n, &cap);
    collect(jx_arr(spec, "initContainers"), 1, &p, &n, &cap);
    if (n > 1) qsort(p, n, sizeof *p, port_cmp);
    /* explicit names first, so a generated name never steals one */
    for (size_t i = 0; i < n; i++)
        if (p[i].explicit_name && !name_taken(p, n, p[i].explicit_name))
            snprintf(p[i].name, sizeof p[i].name, "%s", p[i].explicit_name);
    for (size_t i = 0; i < n; i++) {
        if (p[i].name[0]) continue;
        char base[64], lp[16];
        size_t k;
        for (k = 0; p[i].proto[k] && k < sizeof lp - 1; k++)
            lp[k] = (char)tolower((unsigned char)p[i].proto[k]);
        lp[k] = '\0';
        snprintf(base, sizeof base, "p-%lld-%s", (long long)p[i].port, lp);
        char cand[96];
        snprintf(cand, sizeof cand, "%s", base);
        for (int k2 = 2; name_taken(p, n, cand); k2++)
            snprintf(cand, sizeof cand, "%s-%d", base, k2);
        snprintf(p[i].name, sizeof p[i].name, "%s", cand);
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(p[i].name));
        json_object_object_add(o, "protocol", json_object_new_string(p[i].proto));
        json_object_object_add(o, "port", json_object_new_int64(p[i].port));
        json_object_object_add(o, "targetPort", json_object_new_int64(p[i].port));
        json_object_array_add(arr, o);
    }
    free(p);
    return arr;
}

/* Ports equal on the fields we set (the server adds none for headless). */
static int
ports_equal(json_object *have, json_object *want)
{
    size_t n = have ? json_object_array_length(have) : 0;
    if (n != json_object_array_length(want)) return 0;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(have, i),
                    *b = json_object_array_get_idx(want, i);
        if (strcmp(jx_str_or(a, "name", ""), jx_str_or(b, "name", "")) != 0 ||
            strcmp(jx_str_or(a, "protocol", "TCP"), jx_str_or(b, "protocol", "")) != 0 ||
            jx_int(a, "port", -1) != jx_int(b, "port", -2) ||
            jx_int(a, "targetPort", -1) != jx_int(b, "targetPort", -2))
            return 0;
    }
    return 1;
}

static json_object *
selector(const sbx_ctx *c)
{
    json_object *s = json_object_new_object();
    json_object_object_add(s, REC_LABEL_NAME_HASH, json_object_new_string(c->hash));
    return s;
}

static int
selector_ok(const sbx_ctx *c, json_object *svc)
{
    json_object *s = jx_obj(svc, "spec.selector");
    json_object *h = jx_child(s, REC_LABEL_NAME_HASH);
    return s && json_object_object_length(s) == 1 && h &&
           json_object_is_type(h, json_type_string) &&
           strcmp(json_object_get_string(h), c->hash) == 0;
}

static int
create_service(sbx_ctx *c)
{
    json_object *b = json_object_new_object();
    json_object *md = jx_ensure_obj(b, "metadata");
    json_object *spec = jx_ensure_obj(b, "spec");
    json_object_object_add(b, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(b, "kind", json_object_new_string("Service"));
    json_object_object_add(md, "name", json_object_new_string(c->name));
    json_object_object_add(md, "namespace", json_object_new_string(c->ns));
    json_object *labels = jx_ensure_obj(md, "labels");
    json_object_object_add(labels, REC_LABEL_NAME_HASH, json_object_new_string(c->hash));
    json_object *refs = json_object_new_array();
    json_object_array_add(refs, rec_meta_owner_ref_new(&KUBE_SANDBOXES, c->sb));
    json_object_object_add(md, "ownerReferences", refs);
    json_object_object_add(spec, "clusterIP", json_object_new_string("None"));
    json_object_object_add(spec, "selector", selector(c));
    json_object_object_add(spec, "ports",
                           sbx__service_ports(jx_obj(c->sb, "spec.podTemplate.spec")));
    return rec_result_add_write(c->out, REC_CREATE, &KUBE_SERVICES, c->ns, NULL, NULL, b,
                                "svc-create")
               ? 0
               : ERR_NOMEM;
}

/* Full Update for adoption: label, selector, ports, ownerRef rewritten. */
static int
adopt_service(sbx_ctx *c, json_object *svc)
{
    json_object *b = NULL;
    if (json_object_deep_copy(svc, &b, NULL) != 0) return ERR_NOMEM;
    json_object *md = jx_ensure_obj(b, "metadata");
    json_object *labels = jx_ensure_obj(md, "labels");
    json_object_object_add(labels, REC_LABEL_NAME_HASH, json_object_new_string(c->hash));
    json_object_object_add(
        md, "ownerReferences",
        rec_meta_owner_refs_with(svc, rec_meta_owner_ref_new(&KUBE_SANDBOXES, c->sb)));
    json_object *spec = jx_ensure_obj(b, "spec");
    json_object_object_add(spec, "selector", selector(c));
    json_object_object_add(spec, "ports",
                           sbx__service_ports(jx_obj(c->sb, "spec.podTemplate.spec")));
    json_object_object_del(b, "status");
    return rec_result_add_write(c->out, REC_UPDATE, &KUBE_SERVICES, c->ns, c->name, NULL, b,
                                "svc-update")
               ? 0
               : ERR_NOMEM;
}

/* Owned: repair label / selector drift, ports only when service == true. */
static int
repair_service(sbx_ctx *c, json_object *svc)
{
    json_object *p = NULL;
    const char *h = jx_label(svc, REC_LABEL_NAME_HASH);
    if (h == NULL || strcmp(h, c->hash) != 0)
        rec_meta_patch_set(&p, "labels", REC_LABEL_NAME_HASH, c->hash);
    if (!selector_ok(c, svc)) {
        if (p == NULL) p = json_object_new_object();
        json_object *sel = selector(c);
        json_object *cur = jx_obj(svc, "spec.selector");
        if (cur) {
            json_object_object_foreach(cur, k, v)
            {
                (void)v;
                if (strcmp(k, REC_LABEL_NAME_HASH) != 0) json_object_object_add(sel, k, NULL);
            }
        }
        json_object_object_add(jx_ensure_obj(p, "spec"), "selector", sel);
    }
    if (c->want_svc == 1) {
        json_object *want = sbx__service_ports(jx_obj(c->sb, "spec.podTemplate.spec"));
        if (!ports_equal(jx_arr(svc, "spec.ports"), want)) {
            if (p == NULL) p = json_object_new_object();
            json_object_object_add(jx_ensure_obj(p, "spec"), "ports", want);
        } else {
            json_object_put(want);
        }
    }
    if (p == NULL) return 0;
    sbx__outcome_failed(c, "svc-patch");
    return rec_result_add_write(c->out, REC_PATCH_MERGE, &KUBE_SERVICES, c->ns, c->name, NULL, p,
                                "svc-patch")
               ? 0
               : ERR_NOMEM;
}

static void
status_service(sbx_ctx *c, json_object *st, int set)
{
    char fqdn[512];
    if (!set) {
        json_object_object_del(st, "service");
        json_object_object_del(st, "serviceFQDN");
        return;
    }
    snprintf(fqdn, sizeof fqdn, "%s.%s.svc.%s", c->name, c->ns,
             c->in->cluster_domain && *c->in->cluster_domain ? c->in->cluster_domain
                                                             : "cluster.local");
    jx_set_str(st, "serviceFQDN", fqdn);
    jx_set_str(st, "service", c->name);
}

int
sbx__reconcile_service(sbx_ctx *c, json_object *st)
{
    static const char *const tags[] = {"svc-create", "svc-update", "svc-patch", NULL};
    json_object *svc = sbx__fresh(c, c->in->service, c->name, tags);
    char desc[700];
    int rc;
    if (svc && strcmp(jx_str_or(svc, "metadata.name", ""), c->name) != 0) svc = NULL;
    const rec_outcome *del = sbx__outcome(c, "svc-delete", NULL);
    if (svc && del && (del->err == 0 || del->err == ERR_NOTFOUND) &&
        (del->object == NULL || strcmp(jx_str_or(del->object, "metadata.uid", ""),
                                       jx_str_or(svc, "metadata.uid", "")) == 0))
        svc = NULL; /* deleted; the cache has not seen it yet */

    if (svc == NULL) {
        if (c->want_svc != 1) {
            status_service(c, st, 0);
            return 0;
        }
        sbx__outcome_failed(c, "svc-create");
        if ((rc = create_service(c)) < 0) return rc;
        c->creating = 1;
        c->svc_required = c->svc_exists = 1;
        status_service(c, st, 1);
        return 0;
    }
    json_object *ref = rec_meta_controller_ref(svc);
    int owned = rec_meta_is_controlled_by(svc, c->uid);
    if (c->want_svc == 0) {
        if (owned && jx_get(svc, "metadata.deletionTimestamp") == NULL) {
            sbx__outcome_failed(c, "svc-delete");
            if ((rc = sbx__delete(c, &KUBE_SERVICES, svc, "svc-delete")) < 0) return rc;
        }
        status_service(c, st, 0);
        return 0;
    }
    c->svc_required = 1; /* true, or unset with a Service found */
    if (ref && !owned) {
        sbx__error(c, "service \"%s\" is owned by %s, not by sandbox \"%s\"", c->name,
                   rec_meta_ref_describe(ref, desc, sizeof desc), c->name);
        status_service(c, st, 0);
        return 0;
    }
    if (ref == NULL) {
        if (c->want_svc != 1) { /* unset: an unowned Service is not ours to manage */
            c->svc_required = 0;
            status_service(c, st, 0);
            return 0;
        }
        if (!sbx__adoptable(c, svc)) {
            sbx__error(c,
                       "cannot adopt unowned service \"%s\": missing required pool authorization "
                       "label (\"%s\") or sandbox tracking label (\"%s\")",
                       c->name, REC_LABEL_ADOPTABLE, REC_LABEL_NAME_HASH);
            status_service(c, st, 0);
            return 0;
        }
        const char *ip = jx_str_or(svc, "spec.clusterIP", "");
        if (*ip && strcmp(ip, "None") != 0) {
            sbx__error(c,
                       "cannot adopt service \"%s\": ClusterIP is \"%s\" (expected \"None\", "
                       "field is immutable)",
                       c->name, ip);
            status_service(c, st, 0);
            return 0;
        }
        sbx__outcome_failed(c, "svc-update");
        if ((rc = adopt_service(c, svc)) < 0) return rc;
        c->creating = 1;
    } else if ((rc = repair_service(c, svc)) < 0) {
        return rc;
    }
    c->svc_exists = 1;
    status_service(c, st, 1);
    return 0;
}

int
sbx__teardown_children(sbx_ctx *c)
{
    json_object *seen[64];
    int n = 0, rc;
    const rec_outcome *pdel = sbx__outcome(c, "pod-delete", NULL);
    json_object *cands[65];
    size_t nc = 0;
    for (size_t i = 0; i < c->in->n_pods && nc < 64; i++)
        cands[nc++] = c->in->pods[i];
    if (c->in->named_pod) cands[nc++] = c->in->named_pod;
    for (size_t i = 0; i < nc; i++) {
        json_object *p = cands[i];
        int dup = 0;
        for (int j = 0; j < n && !dup; j++)
            dup = strcmp(jx_str_or(seen[j], "metadata.uid", ""),
                         jx_str_or(p, "metadata.uid", "")) == 0;
        if (dup || !rec_meta_is_controlled_by(p, c->uid) ||
            jx_get(p, "metadata.deletionTimestamp") != NULL)
            continue;
        seen[n++] = p;
        if (pdel && (pdel->err == 0 || pdel->err == ERR_NOTFOUND) &&
            (pdel->object == NULL || strcmp(jx_str_or(pdel->object, "metadata.uid", ""),
                                            jx_str_or(p, "metadata.uid", "")) == 0))
            continue;
        sbx__outcome_failed(c, "pod-delete");
        if ((rc = sbx__delete(c, &KUBE_PODS, p, "pod-delete")) < 0) return rc;
    }
    json_object *svc = c->in->service;
    const rec_outcome *sdel = sbx__outcome(c, "svc-delete", NULL);
    if (svc && rec_meta_is_controlled_by(svc, c->uid) &&
        jx_get(svc, "metadata.deletionTimestamp") == NULL &&
        !(sdel && (sdel->err == 0 || sdel->err == ERR_NOTFOUND))) {
        sbx__outcome_failed(c, "svc-delete");
        if ((rc = sbx__delete(c, &KUBE_SERVICES, svc, "svc-delete")) < 0) return rc;
    }
    return 0;
}
