/* claim_build.c - Sandbox bodies and patches of the claim pass. */
#include "reconciler/claim_build.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"
#include "reconciler/blueprint.h"
#include "reconciler/claim_policy.h"
#include "reconciler/meta.h"
#include "reconciler/secure_defaults.h"

#include <stdio.h>
#include <string.h>

static json_object *
map_copy(json_object *m)
{
    json_object *c = json_object_is_type(m, json_type_object) ? rec_json_copy(m) : NULL;
    return c ? c : json_object_new_object();
}

static int
put(json_object *m, const char *k, const char *v)
{
    return json_object_object_add(m, k, v ? json_object_new_string(v) : NULL) == 0 ? 0 : ERR_NOMEM;
}

int
rec_claim_pod_meta(json_object *claim, json_object *tmpl, json_object **labels, json_object **anns,
                   enum rec_claim_err *kind, char *err, size_t errlen)
{
    char h[9];
    int rc = ERR_NOMEM;
    *labels = map_copy(jx_get(tmpl, "spec.podTemplate.metadata.labels"));
    *anns = map_copy(jx_get(tmpl, "spec.podTemplate.metadata.annotations"));
    if (*labels == NULL || *anns == NULL) goto fail;
    const char *cb = jx_label(claim, REC_LABEL_CREATED_BY);
    if (put(*labels, REC_LABEL_CLAIM_UID, jx_str_or(claim, "metadata.uid", "")) ||
        put(*labels, REC_LABEL_TEMPLATE_REF_HASH,
            namehash_hex(jx_str_or(tmpl, "metadata.name", ""), h)))
        goto fail;
    if (cb ? put(*labels, REC_LABEL_CREATED_BY, cb) != 0
           : (json_object_object_del(*labels, REC_LABEL_CREATED_BY), 0))
        goto fail;
    json_object *apm = jx_get(claim, "spec.additionalPodMetadata");
    if ((rc = rec_claim_merge_no_override(*labels, jx_child(apm, "labels"), "label", err,
                                          errlen)) != 0 ||
        (rc = rec_claim_merge_no_override(*anns, jx_child(apm, "annotations"), "annotation", err,
                                          errlen)) != 0) {
        if (rc == ERR_INVALID) *kind = REC_CE_OTHER;
        goto fail;
    }
    return 0;
fail:
    json_object_put(*labels);
    json_object_put(*anns);
    *labels = *anns = NULL;
    return rc;
}

json_object *
rec_claim_cold_sandbox(json_object *claim, json_object *tmpl, enum rec_claim_err *kind, char *err,
                       size_t errlen)
{
    char h[9];
    json_object *labels = NULL, *anns = NULL, *vcts = NULL;
    json_object *tspec = jx_obj(tmpl, "spec");
    const char *cname = jx_str_or(claim, "metadata.name", "");
    const char *tname = jx_str_or(tmpl, "metadata.name", "");
    *kind = REC_CE_NONE;
    err[0] = '\0';
    json_object *bp = rec_bp_from_spec(tspec);
    json_object *spec = rec_json_copy(bp);
    json_object_put(bp);
    json_object *sb = json_object_new_object();
    if (spec == NULL || sb == NULL) goto fail;
    int rc = rec_claim_merge_vcts(jx_child(tspec, "volumeClaimTemplates"),
                                  jx_get(claim, "spec.volumeClaimTemplates"),
                                  jx_str(tspec, "volumeClaimTemplatesPolicy"), &vcts, err, errlen);
    if (rc != 0) {
        if (rc == ERR_INVALID) *kind = REC_CE_VCT;
        goto fail;
    }
    json_object_object_add(spec, "volumeClaimTemplates", vcts); /* NULL removes */
    vcts = NULL;

    /* podTemplate labels: claim-uid, created-by, template-ref-hash, then the
     * claim's additions with the no-override rule. */
    json_object *ptl = jx_ensure_obj(spec, "podTemplate.metadata.labels");
    json_object *pta = jx_ensure_obj(spec, "podTemplate.metadata.annotations");
    const char *cb = jx_label(claim, REC_LABEL_CREATED_BY);
    namehash_hex(tname, h);
    if (ptl == NULL || pta == NULL ||
        put(ptl, REC_LABEL_CLAIM_UID, jx_str_or(claim, "metadata.uid", "")) ||
        put(ptl, REC_LABEL_TEMPLATE_REF_HASH, h) || (cb && put(ptl, REC_LABEL_CREATED_BY, cb)))
        goto fail;
    json_object *apm = jx_get(claim, "spec.additionalPodMetadata");
    if ((rc = rec_claim_merge_no_override(ptl, jx_child(apm, "labels"), "label", err, errlen)) ||
        (rc = rec_claim_merge_no_override(pta, jx_child(apm, "annotations"), "annotation", err,
                                          errlen))) {
        if (rc == ERR_INVALID) *kind = REC_CE_OTHER;
        goto fail;
    }
    if (json_object_object_length(pta) == 0)
        json_object_object_del(jx_obj(spec, "podTemplate.metadata"), "annotations");

    json_object *ps = jx_ensure_obj(spec, "podTemplate.spec");
    rc = rec_claim_inject_env(ps, jx_get(claim, "spec.env"),
                              jx_str(tspec, "envVarsInjectionPolicy"), err, errlen);
    if (rc != 0) {
        if (rc == ERR_FORBIDDEN)
            *kind = REC_CE_ENV_REJECTED;
        else if (rc == ERR_INVALID)
            *kind = REC_CE_OTHER;
        goto fail;
    }
    if (ps == NULL || rec_secure_defaults_apply(ps, tspec) != 0) goto fail;

    json_object_object_add(sb, "apiVersion", json_object_new_string(REC_GROUP_AGENTS "/v1beta1"));
    json_object_object_add(sb, "kind", json_object_new_string("Sandbox"));
    json_object *md = jx_ensure_obj(sb, "metadata");
    labels = jx_ensure_obj(md, "labels");
    anns = jx_ensure_obj(md, "annotations");
    if (md == NULL || labels == NULL || anns == NULL || put(md, "name", cname) ||
        put(md, "namespace", jx_str_or(claim, "metadata.namespace", "")) ||
        put(labels, REC_LABEL_CLAIM_UID, jx_str_or(claim, "metadata.uid", "")) ||
        (cb && put(labels, REC_LABEL_CREATED_BY, cb)) ||
        put(labels, REC_LABEL_LAUNCH_TYPE, "cold") || put(labels, REC_LABEL_TEMPLATE_REF_HASH, h) ||
        put(anns, REC_ANN_TEMPLATE_REF, tname))
        goto fail;
    const char *trace = jx_annotation(claim, REC_ANN_TRACE_CONTEXT);
    if (trace && put(anns, REC_ANN_TRACE_CONTEXT, trace)) goto fail;
    json_object *refs = json_object_new_array();
    json_object *ref = rec_meta_owner_ref_new(&KUBE_SANDBOXCLAIMS, claim);
    if (refs == NULL || ref == NULL) {
        json_object_put(refs);
        json_object_put(ref);
        goto fail;
    }
    json_object_array_add(refs, ref);
    json_object_object_add(md, "ownerReferences", refs);
    json_object_object_add(sb, "spec", spec);
    return sb;
fail:
    json_object_put(vcts);
    json_object_put(spec);
    json_object_put(sb);
    return NULL;
}

/* Merge-patch map turning `have` into exactly `want`: changed/new keys set,
 * keys of have missing from want nulled. NULL when nothing differs. */
static json_object *
map_diff(json_object *have, json_object *want)
{
    json_object *d = json_object_new_object();
    if (d == NULL) return NULL;
    json_object_object_foreach(want, k, v)
    {
        const char *hv = rec_meta_map_str(have, k);
        if (hv == NULL || strcmp(hv, json_object_get_string(v)) != 0)
            json_object_object_add(d, k, json_object_get(v));
    }
    if (json_object_is_type(have, json_type_object)) {
        json_object_object_foreach(have, hk, hv)
        {
            (void)hv;
            if (jx_child(want, hk) == NULL) json_object_object_add(d, hk, NULL);
        }
    }
    if (json_object_object_length(d) == 0) {
        json_object_put(d);
        return NULL;
    }
    return d;
}

static int
add_pod_meta_diff(json_object *patch, json_object *sandbox, json_object *labels, json_object *anns)
{
    json_object *dl = map_diff(jx_get(sandbox, "spec.podTemplate.metadata.labels"), labels);
    json_object *da = map_diff(jx_get(sandbox, "spec.podTemplate.metadata.annotations"), anns);
    if (dl == NULL && da == NULL) return 0;
    json_object *pm = jx_ensure_obj(patch, "spec.podTemplate.metadata");
    if (pm == NULL) {
        json_object_put(dl);
        json_object_put(da);
        return ERR_NOMEM;
    }
    if (dl) json_object_object_add(pm, "labels", dl);
    if (da) json_object_object_add(pm, "annotations", da);
    return 0;
}

static int
set_rv(json_object *patch, json_object *sandbox)
{
    const char *rv = jx_str(sandbox, "metadata.resourceVersion");
    json_object *md = jx_ensure_obj(patch, "metadata");
    if (md == NULL) return ERR_NOMEM;
    return rv ? put(md, "resourceVersion", rv) : 0;
}

json_object *
rec_claim_adopt_patch(json_object *claim, json_object *sandbox, json_object *tmpl,
                      enum rec_claim_err *kind, char *err, size_t errlen)
{
    char h[9];
    const char *name = jx_str_or(sandbox, "metadata.name", "");
    const char *cb = jx_label(claim, REC_LABEL_CREATED_BY);
    const char *uid = jx_str_or(claim, "metadata.uid", "");
    json_object *labels = NULL, *anns = NULL;
    *kind = REC_CE_NONE;
    err[0] = '\0';
    json_object *patch = json_object_new_object();
    if (patch == NULL || set_rv(patch, sandbox) != 0) goto fail;
    json_object *md = jx_obj(patch, "metadata");
    json_object *l = jx_ensure_obj(md, "labels");
    json_object *a = jx_ensure_obj(md, "annotations");
    const char *ref_hash = tmpl ? namehash_hex(jx_str_or(tmpl, "metadata.name", ""), h)
                                : jx_label(sandbox, REC_LABEL_TEMPLATE_REF_HASH);
    if (l == NULL || a == NULL || put(l, REC_LABEL_WARM_POOL, NULL) ||
        put(l, REC_LABEL_POD_TEMPLATE_HASH, NULL) || put(l, REC_LABEL_TEMPLATE_HASH, NULL) ||
        put(l, REC_LABEL_LAUNCH_TYPE, "warm") || put(l, REC_LABEL_CLAIM_UID, uid) ||
        ((cb || jx_label(sandbox, REC_LABEL_CREATED_BY)) && put(l, REC_LABEL_CREATED_BY, cb)) ||
        (ref_hash && put(l, REC_LABEL_TEMPLATE_REF_HASH, ref_hash)) ||
        put(a, REC_ANN_POD_NAME, name))
        goto fail;
    const char *trace = jx_annotation(claim, REC_ANN_TRACE_CONTEXT);
    if (trace && put(a, REC_ANN_TRACE_CONTEXT, trace)) goto fail;
    json_object *refs = json_object_new_array();
    json_object *ref = rec_meta_owner_ref_new(&KUBE_SANDBOXCLAIMS, claim);
    if (refs == NULL || ref == NULL) {
        json_object_put(refs);
        json_object_put(ref);
        goto fail;
    }
    json_object_array_add(refs, ref);
    json_object_object_add(md, "ownerReferences", refs);

    if (tmpl) {
        if (rec_claim_pod_meta(claim, tmpl, &labels, &anns, kind, err, errlen) != 0) goto fail;
    } else {
        labels = map_copy(jx_get(sandbox, "spec.podTemplate.metadata.labels"));
        anns = map_copy(jx_get(sandbox, "spec.podTemplate.metadata.annotations"));
        if (labels == NULL || anns == NULL || put(labels, REC_LABEL_CLAIM_UID, uid) ||
            (ref_hash && put(labels, REC_LABEL_TEMPLATE_REF_HASH, ref_hash)))
            goto fail;
        if (cb ? put(labels, REC_LABEL_CREATED_BY, cb) != 0
               : (json_object_object_del(labels, REC_LABEL_CREATED_BY), 0))
            goto fail;
        const char *ste = rec_meta_map_str(anns, REC_ANN_SAFE_TO_EVICT);
        if (ste && strcmp(ste, "true") == 0) json_object_object_del(anns, REC_ANN_SAFE_TO_EVICT);
        json_object *apm = jx_get(claim, "spec.additionalPodMetadata");
        int rc = rec_claim_merge_no_override(labels, jx_child(apm, "labels"), "label", err, errlen);
        if (rc == 0)
            rc = rec_claim_merge_no_override(anns, jx_child(apm, "annotations"), "annotation", err,
                                             errlen);
        if (rc != 0) {
            if (rc == ERR_INVALID) *kind = REC_CE_OTHER;
            goto fail;
        }
    }
    if (add_pod_meta_diff(patch, sandbox, labels, anns) != 0) goto fail;
    json_object_put(labels);
    json_object_put(anns);
    return patch;
fail:
    json_object_put(labels);
    json_object_put(anns);
    json_object_put(patch);
    return NULL;
}

json_object *
rec_claim_sync_patch(json_object *claim, json_object *sandbox, json_object *tmpl,
                     const char *want_launch, enum rec_claim_err *kind, char *err, size_t errlen)
{
    char h[9];
    json_object *labels = NULL, *anns = NULL;
    *kind = REC_CE_NONE;
    err[0] = '\0';
    json_object *patch = json_object_new_object();
    json_object *l = jx_ensure_obj(patch, "metadata.labels");
    if (patch == NULL || l == NULL) goto fail;
    if (want_launch && jx_label(sandbox, REC_LABEL_LAUNCH_TYPE) == NULL &&
        put(l, REC_LABEL_LAUNCH_TYPE, want_launch))
        goto fail;
    if (tmpl) {
        const char *cb = jx_label(claim, REC_LABEL_CREATED_BY);
        const char *have_cb = jx_label(sandbox, REC_LABEL_CREATED_BY);
        namehash_hex(jx_str_or(tmpl, "metadata.name", ""), h);
        const char *have_ref = jx_label(sandbox, REC_LABEL_TEMPLATE_REF_HASH);
        if ((have_ref == NULL || strcmp(have_ref, h) != 0) &&
            put(l, REC_LABEL_TEMPLATE_REF_HASH, h))
            goto fail;
        if (cb && (have_cb == NULL || strcmp(have_cb, cb) != 0) && put(l, REC_LABEL_CREATED_BY, cb))
            goto fail;
        if (cb == NULL && have_cb != NULL && put(l, REC_LABEL_CREATED_BY, NULL)) goto fail;
        if (rec_claim_pod_meta(claim, tmpl, &labels, &anns, kind, err, errlen) != 0) goto fail;
        if (add_pod_meta_diff(patch, sandbox, labels, anns) != 0) goto fail;
    }
    if (json_object_object_length(l) == 0)
        json_object_object_del(jx_obj(patch, "metadata"), "labels");
    if (json_object_object_length(patch) == 1 &&
        json_object_object_length(jx_obj(patch, "metadata")) == 0) {
        json_object_put(patch);
        json_object_put(labels);
        json_object_put(anns);
        return NULL; /* in sync */
    }
    if (set_rv(patch, sandbox) != 0) goto fail;
    json_object_put(labels);
    json_object_put(anns);
    return patch;
fail:
    json_object_put(labels);
    json_object_put(anns);
    json_object_put(patch);
    return NULL;
}
