/* sandbox_pod.c - the Sandbox's pod (spec/api.md §2.1): resolution among
 * owned pods and the named pod, suspend (delete owned, never foreign),
 * adoption / refusal, metadata sync by one merge patch, and creation from
 * spec.podTemplate. Adoption and metadata sync of an unowned pod go in the
 * same merge patch (upstream makes two writes). */
#include "core/err.h"
#include "core/jx.h"
#include "reconciler/meta.h"
#include "reconciler/sandbox_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OWNED 64

static int
same_uid(json_object *a, json_object *b)
{
    const char *x = jx_str(a, "metadata.uid"), *y = jx_str(b, "metadata.uid");
    return x && y && strcmp(x, y) == 0;
}

static int
keep_label(const char *k)
{
    return !rec_meta_is_system_key(k);
}

static int
keep_annotation(const char *k)
{
    return !rec_meta_is_system_annotation(k);
}

/* Extension labels the pod should carry (value or NULL = must be absent). */
static void
extension_labels(sbx_ctx *c, const char **warm, const char **tref, const char **created)
{
    char group[128];
    json_object *ref = rec_meta_controller_ref(c->sb);
    int ext =
        ref && strcmp(rec_meta_ref_group(ref, group, sizeof group), REC_GROUP_EXTENSIONS) == 0;
    *warm = *tref = NULL;
    if (ext && strcmp(jx_str_or(ref, "kind", ""), "SandboxWarmPool") == 0)
        *warm = jx_label(c->sb, REC_LABEL_WARM_POOL);
    if (ext) *tref = jx_label(c->sb, REC_LABEL_TEMPLATE_REF_HASH);
    *created = rec_meta_created_by_normalize(jx_label(c->sb, REC_LABEL_CREATED_BY));
}

/* ---- create -------------------------------------------------------------- */

static json_object *
pod_volumes(sbx_ctx *c, json_object *tmpl_vols)
{
    json_object *vcts = jx_arr(c->sb, "spec.volumeClaimTemplates");
    size_t nv = vcts ? json_object_array_length(vcts) : 0;
    size_t nt = tmpl_vols ? json_object_array_length(tmpl_vols) : 0;
    json_object *out = json_object_new_array();
    char pvc[512];
    for (size_t i = 0; i < nt; i++) {
        json_object *v = json_object_array_get_idx(tmpl_vols, i);
        const char *vn = jx_str_or(v, "name", "");
        int replaced = 0;
        for (size_t j = 0; j < nv && !replaced; j++)
            replaced =
                strcmp(jx_str_or(json_object_array_get_idx(vcts, j), "metadata.name", ""), vn) == 0;
        if (!replaced) json_object_array_add(out, json_object_get(v));
    }
    for (size_t j = 0; j < nv; j++) {
        json_object *vct = json_object_array_get_idx(vcts, j);
        if (rec_sandbox_pvc_name(vct, c->sb, pvc, sizeof pvc) == NULL) continue;
        json_object *v = json_object_new_object();
        json_object *src = json_object_new_object();
        json_object_object_add(v, "name", json_object_new_string(jx_str(vct, "metadata.name")));
        json_object_object_add(src, "claimName", json_object_new_string(pvc));
        json_object_object_add(v, "persistentVolumeClaim", src);
        json_object_array_add(out, v);
    }
    return out;
}

static int
create_pod(sbx_ctx *c)
{
    const char *warm, *tref, *created;
    json_object *tmpl = jx_obj(c->sb, "spec.podTemplate");
    json_object *tlabels = jx_obj(tmpl, "metadata.labels");
    json_object *tanns = jx_obj(tmpl, "metadata.annotations");
    json_object *b = json_object_new_object(), *md = json_object_new_object();
    json_object *labels = json_object_new_object(), *anns = json_object_new_object();
    json_object *spec = NULL;

    extension_labels(c, &warm, &tref, &created);
    json_object_object_add(b, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(b, "kind", json_object_new_string("Pod"));
    json_object_object_add(b, "metadata", md);
    json_object_object_add(md, "name", json_object_new_string(c->name));
    json_object_object_add(md, "namespace", json_object_new_string(c->ns));
    rec_meta_copy_map(labels, tlabels, keep_label);
    json_object_object_add(labels, REC_LABEL_NAME_HASH, json_object_new_string(c->hash));
    if (warm) json_object_object_add(labels, REC_LABEL_WARM_POOL, json_object_new_string(warm));
    if (tref)
        json_object_object_add(labels, REC_LABEL_TEMPLATE_REF_HASH, json_object_new_string(tref));
    if (created)
        json_object_object_add(labels, REC_LABEL_CREATED_BY, json_object_new_string(created));
    json_object_object_add(md, "labels", labels);
    rec_meta_copy_map(anns, tanns, keep_annotation);
    char *pl = rec_meta_keys_csv(tlabels, keep_label);
    char *pa = rec_meta_keys_csv(tanns, keep_annotation);
    if (pl && *pl)
        json_object_object_add(anns, REC_ANN_PROPAGATED_LABELS, json_object_new_string(pl));
    if (pa && *pa)
        json_object_object_add(anns, REC_ANN_PROPAGATED_ANNS, json_object_new_string(pa));
    free(pl);
    free(pa);
    if (json_object_object_length(anns) > 0)
        json_object_object_add(md, "annotations", anns);
    else
        json_object_put(anns);
    json_object *refs = json_object_new_array();
    json_object_array_add(refs, rec_meta_owner_ref_new(&KUBE_SANDBOXES, c->sb));
    json_object_object_add(md, "ownerReferences", refs);

    json_object *tspec = jx_obj(tmpl, "spec");
    if (tspec == NULL || json_object_deep_copy(tspec, &spec, NULL) != 0)
        spec = json_object_new_object();
    if (jx_arr(c->sb, "spec.volumeClaimTemplates") != NULL)
        json_object_object_add(spec, "volumes", pod_volumes(c, jx_arr(tspec, "volumes")));
    json_object_object_add(b, "spec", spec);
    if (rec_result_add_write(c->out, REC_CREATE, &KUBE_PODS, c->ns, NULL, NULL, b, "pod-create") ==
        NULL)
        return ERR_NOMEM;
    c->pod_creating = c->creating = 1;
    return 0;
}

/* ---- metadata sync of an existing pod ---------------------------------------- */

static int
want_str(json_object **patch, json_object *have, const char *section, const char *k, const char *v)
{
    const char *cur = rec_meta_map_str(have, k);
    if (v == NULL)
        return cur || jx_child(have, k) ? rec_meta_patch_set(patch, section, k, NULL) : 0;
    if (cur && strcmp(cur, v) == 0) return 0;
    return rec_meta_patch_set(patch, section, k, v);
}

/* One section (labels or annotations): deletions of stale propagated keys,
 * then the wanted values (a later set overrides an earlier delete). */
static int
sync_section(json_object **patch, json_object *pod, const char *section, json_object *tmpl_map,
             const char *prev_csv, int (*keep)(const char *), const char *exempt1,
             const char *exempt2)
{
    json_object *have = rec_meta_map(pod, section);
    const char *p = prev_csv ? prev_csv : "";
    char key[512];
    int rc;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        if (l > 0 && l < sizeof key) {
            memcpy(key, p, l);
            key[l] = '\0';
            int in_tmpl = keep(key) && jx_child(tmpl_map, key) != NULL;
            int exempt =
                (exempt1 && strcmp(key, exempt1) == 0) || (exempt2 && strcmp(key, exempt2) == 0);
            if (!in_tmpl && !exempt && jx_child(have, key) != NULL &&
                (rc = rec_meta_patch_set(patch, section, key, NULL)) < 0)
                return rc;
        }
        if (comma == NULL) break;
        p = comma + 1;
    }
    if (tmpl_map && json_object_is_type(tmpl_map, json_type_object)) {
        json_object_object_foreach(tmpl_map, k, v)
        {
            if (!keep(k) || !json_object_is_type(v, json_type_string)) continue;
            if ((rc = want_str(patch, have, section, k, json_object_get_string(v))) < 0) return rc;
        }
    }
    return 0;
}

static int
sync_pod_metadata(sbx_ctx *c, json_object *pod, json_object **patch)
{
    const char *warm, *tref, *created;
    json_object *tmpl = jx_obj(c->sb, "spec.podTemplate");
    json_object *tlabels = jx_obj(tmpl, "metadata.labels");
    json_object *tanns = jx_obj(tmpl, "metadata.annotations");
    json_object *labels = rec_meta_map(pod, "labels");
    json_object *anns = rec_meta_map(pod, "annotations");
    int rc;

    extension_labels(c, &warm, &tref, &created);
    if ((rc = sync_section(patch, pod, "labels", tlabels,
                           rec_meta_map_str(anns, REC_ANN_PROPAGATED_LABELS), keep_label,
                           REC_LABEL_NAME_HASH, NULL)) < 0)
        return rc;
    if ((rc = want_str(patch, labels, "labels", REC_LABEL_NAME_HASH, c->hash)) < 0 ||
        (rc = want_str(patch, labels, "labels", REC_LABEL_WARM_POOL, warm)) < 0 ||
        (rc = want_str(patch, labels, "labels", REC_LABEL_TEMPLATE_REF_HASH, tref)) < 0 ||
        (rc = want_str(patch, labels, "labels", REC_LABEL_CREATED_BY, created)) < 0)
        return rc;
    if ((rc = sync_section(patch, pod, "annotations", tanns,
                           rec_meta_map_str(anns, REC_ANN_PROPAGATED_ANNS), keep_annotation,
                           REC_ANN_PROPAGATED_LABELS, REC_ANN_PROPAGATED_ANNS)) < 0)
        return rc;
    char *pl = rec_meta_keys_csv(tlabels, keep_label);
    char *pa = rec_meta_keys_csv(tanns, keep_annotation);
    if (pl == NULL || pa == NULL) {
        free(pl);
        free(pa);
        return ERR_NOMEM;
    }
    rc = want_str(patch, anns, "annotations", REC_ANN_PROPAGATED_LABELS, *pl ? pl : NULL);
    if (rc == 0)
        rc = want_str(patch, anns, "annotations", REC_ANN_PROPAGATED_ANNS, *pa ? pa : NULL);
    free(pl);
    free(pa);
    return rc;
}

/* reconcileExistingPod: ownership, adoption, metadata sync, pod-name annotation. */
static int
existing_pod(sbx_ctx *c, json_object *pod)
{
    const char *pname = jx_str_or(pod, "metadata.name", "");
    json_object *ref = rec_meta_controller_ref(pod);
    json_object *patch = NULL;
    char desc[700];
    int rc;
    if (ref != NULL && !rec_meta_is_controlled_by(pod, c->uid)) {
        if ((rc = sbx__set_pod_name_ann(c, NULL)) < 0) return rc;
        sbx__error(c, "pod \"%s\" is owned by %s, not by sandbox \"%s\"", pname,
                   rec_meta_ref_describe(ref, desc, sizeof desc), c->name);
        c->pod = NULL;
        return 0;
    }
    if (ref == NULL) {
        if (!sbx__adoptable(c, pod)) {
            sbx__error(c,
                       "cannot adopt unowned pod \"%s\": missing required pool authorization "
                       "label (\"%s\") or sandbox tracking label (\"%s\")",
                       pname, REC_LABEL_ADOPTABLE, REC_LABEL_NAME_HASH);
            c->pod = NULL;
            return 0;
        }
        patch = json_object_new_object();
        json_object *md = jx_ensure_obj(patch, "metadata");
        json_object_object_add(
            md, "ownerReferences",
            rec_meta_owner_refs_with(pod, rec_meta_owner_ref_new(&KUBE_SANDBOXES, c->sb)));
    }
    if ((rc = sync_pod_metadata(c, pod, &patch)) < 0) {
        json_object_put(patch);
        return rc;
    }
    c->pod = pod;
    c->pod_owned = 1;
    if (patch != NULL) {
        sbx__outcome_failed(c, "pod-patch");
        if (rec_result_add_write(c->out, REC_PATCH_MERGE, &KUBE_PODS, c->ns, pname, NULL, patch,
                                 "pod-patch") == NULL)
            return ERR_NOMEM;
    }
    const char *ann = jx_annotation(c->sb, REC_ANN_POD_NAME);
    if (ann == NULL || *ann == '\0' || jx_get(c->sb_patch, "metadata.annotations") != NULL) {
        /* absent/empty, or removed earlier in this pass because another pod won */
        if ((rc = sbx__set_pod_name_ann(c, pname)) < 0) return rc;
    }
    return 0;
}

/* ---- resolution ---------------------------------------------------------------- */

int
sbx__reconcile_pod(sbx_ctx *c)
{
    static const char *const pod_tags[] = {"pod-create", "pod-patch", NULL};
    json_object *owned[MAX_OWNED];
    int n_owned = 0, rc;
    const char *ann = jx_annotation(c->sb, REC_ANN_POD_NAME);
    int has_ann = ann && *ann;
    const char *pname = has_ann ? ann : c->name;

    if (c->in->pod_lookup_failed) {
        c->pod_lookup_err = 1;
        sbx__error(c, "failed to list pods for sandbox \"%s\"", c->name);
        return 0;
    }
    json_object *named = c->in->named_pod;
    if (named && strcmp(jx_str_or(named, "metadata.name", ""), pname) != 0) named = NULL;
    named = sbx__fresh(c, named, pname, pod_tags);

    for (size_t i = 0; i < c->in->n_pods; i++) {
        json_object *p = c->in->pods[i];
        if (!rec_meta_is_controlled_by(p, c->uid)) continue;
        int dup = 0;
        for (int j = 0; j < n_owned && !dup; j++)
            dup = same_uid(owned[j], p);
        if (!dup && n_owned < MAX_OWNED)
            owned[n_owned++] = sbx__fresh(c, p, jx_str_or(p, "metadata.name", ""), pod_tags);
    }
    if (named && rec_meta_is_controlled_by(named, c->uid)) {
        int dup = 0;
        for (int j = 0; j < n_owned && !dup; j++)
            dup = same_uid(owned[j], named);
        if (!dup && n_owned < MAX_OWNED) owned[n_owned++] = named;
    }
    if (named == NULL && has_ann && (rc = sbx__set_pod_name_ann(c, NULL)) < 0) return rc;
    c->n_owned = n_owned;
    if (n_owned > 1) {
        c->pod_lookup_err = 1;
        return 0;
    }
    json_object *pod = named;
    if (n_owned == 1 && (named == NULL || !same_uid(named, owned[0]))) {
        pod = owned[0];
        if (has_ann && (rc = sbx__set_pod_name_ann(c, NULL)) < 0) return rc;
    }

    if (c->suspended) {
        if ((rc = sbx__set_pod_name_ann(c, NULL)) < 0) return rc;
        c->pod = pod;
        c->pod_owned = pod && rec_meta_is_controlled_by(pod, c->uid);
        if (c->pod_owned && jx_get(pod, "metadata.deletionTimestamp") == NULL) {
            const rec_outcome *o = sbx__outcome(c, "pod-delete", NULL);
            if (o && (o->err == 0 || o->err == ERR_NOTFOUND) &&
                (o->object == NULL || same_uid(o->object, pod)))
                return 0; /* already asked; the watch will show it terminating */
            sbx__outcome_failed(c, "pod-delete");
            if ((rc = sbx__delete(c, &KUBE_PODS, pod, "pod-delete")) < 0) return rc;
        }
        return 0;
    }
    if (pod != NULL) return existing_pod(c, pod);

    /* Running and no pod: create it (after PVCs are in place) */
    if (c->pvc_error) return 0;
    if (c->pvc_pending) {
        c->out->requeue_after_ms = 0;
        c->pod_wait = 1;
        return 0;
    }
    /* A failed create (422 invalid template, 409 AlreadyExists for a pod the
     * cache cannot see, e.g. an unlabelled foreign pod hidden by
     * --cache-label-selectors) is reported as ReconcilerError with the
     * server's message and retried with backoff. */
    sbx__outcome_failed(c, "pod-create");
    return create_pod(c);
}
