/* sandbox_pvc.c - PVCs from spec.volumeClaimTemplates (spec/api.md §2.1):
 * `<vct>-<sandbox>`, created with a controller ownerRef, adopted when
 * authorised, refused when foreign. Never deleted here (GC does it). A PVC
 * created or adopted in this pass holds back the pod create until the write
 * has completed (requeue 0), as upstream creates PVCs before the pod. */
#include "core/err.h"
#include "core/jx.h"
#include "reconciler/meta.h"
#include "reconciler/sandbox_internal.h"

#include <string.h>

static json_object *
find_pvc(sbx_ctx *c, const char *name)
{
    static const char *const tags[] = {"pvc-create", "pvc-adopt", NULL};
    json_object *cached = NULL;
    for (size_t i = 0; i < c->in->n_pvcs; i++) {
        const char *n = jx_str(c->in->pvcs[i], "metadata.name");
        if (n && strcmp(n, name) == 0) cached = c->in->pvcs[i];
    }
    return sbx__fresh(c, cached, name, tags);
}

static int
create_pvc(sbx_ctx *c, json_object *vct, const char *name)
{
    json_object *b = json_object_new_object();
    json_object *md = json_object_new_object();
    json_object *labels = json_object_new_object();
    if (b == NULL || md == NULL || labels == NULL) {
        json_object_put(b);
        json_object_put(md);
        json_object_put(labels);
        return ERR_NOMEM;
    }
    json_object_object_add(b, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(b, "kind", json_object_new_string("PersistentVolumeClaim"));
    json_object_object_add(b, "metadata", md);
    json_object_object_add(md, "name", json_object_new_string(name));
    json_object_object_add(md, "namespace", json_object_new_string(c->ns));
    rec_meta_copy_map(labels, rec_meta_map(vct, "labels"), NULL);
    json_object_object_add(labels, REC_LABEL_NAME_HASH, json_object_new_string(c->hash));
    json_object_object_add(md, "labels", labels);
    json_object *anns = rec_meta_map(vct, "annotations");
    if (anns && json_object_object_length(anns) > 0) {
        json_object *a = json_object_new_object();
        rec_meta_copy_map(a, anns, NULL);
        json_object_object_add(md, "annotations", a);
    }
    json_object *refs = json_object_new_array();
    json_object_array_add(refs, rec_meta_owner_ref_new(&KUBE_SANDBOXES, c->sb));
    json_object_object_add(md, "ownerReferences", refs);
    json_object *spec = NULL;
    json_object *vspec = jx_obj(vct, "spec");
    if (vspec == NULL || json_object_deep_copy(vspec, &spec, NULL) != 0)
        spec = json_object_new_object();
    json_object_object_add(b, "spec", spec);
    return rec_result_add_write(c->out, REC_CREATE, &KUBE_PVCS, c->ns, NULL, NULL, b, "pvc-create")
               ? 0
               : ERR_NOMEM;
}

static int
adopt_pvc(sbx_ctx *c, json_object *pvc, const char *name)
{
    json_object *p = json_object_new_object();
    json_object *md = jx_ensure_obj(p, "metadata");
    json_object_object_add(
        md, "ownerReferences",
        rec_meta_owner_refs_with(pvc, rec_meta_owner_ref_new(&KUBE_SANDBOXES, c->sb)));
    return rec_result_add_write(c->out, REC_PATCH_MERGE, &KUBE_PVCS, c->ns, name, NULL, p,
                                "pvc-adopt")
               ? 0
               : ERR_NOMEM;
}

int
sbx__reconcile_pvcs(sbx_ctx *c)
{
    json_object *vcts = jx_arr(c->sb, "spec.volumeClaimTemplates");
    size_t n = vcts ? json_object_array_length(vcts) : 0;
    int failed_create = 0, failed_adopt = 0, rc;
    char name[512], desc[700];
    for (size_t i = 0; i < n; i++) {
        json_object *vct = json_object_array_get_idx(vcts, i);
        if (rec_sandbox_pvc_name(vct, c->sb, name, sizeof name) == NULL) {
            sbx__error(c, "volumeClaimTemplates[%zu] has no metadata.name", i);
            c->pvc_error = 1;
            continue;
        }
        json_object *pvc = find_pvc(c, name);
        if (pvc == NULL) {
            if (!failed_create && sbx__outcome_failed(c, "pvc-create"))
                c->pvc_error = failed_create = 1;
            if ((rc = create_pvc(c, vct, name)) < 0) return rc;
            c->pvc_pending = c->creating = 1;
            continue;
        }
        json_object *ref = rec_meta_controller_ref(pvc);
        if (ref != NULL) {
            if (rec_meta_is_controlled_by(pvc, c->uid)) continue;
            sbx__error(c, "PVC \"%s\" is owned by %s, not by sandbox \"%s\"", name,
                       rec_meta_ref_describe(ref, desc, sizeof desc), c->name);
            c->pvc_error = 1;
            continue;
        }
        if (!sbx__adoptable(c, pvc)) {
            sbx__error(c,
                       "cannot adopt unowned PVC \"%s\": missing required pool authorization "
                       "label (\"%s\") or sandbox tracking label (\"%s\")",
                       name, REC_LABEL_ADOPTABLE, REC_LABEL_NAME_HASH);
            c->pvc_error = 1;
            continue;
        }
        if (!failed_adopt && sbx__outcome_failed(c, "pvc-adopt")) c->pvc_error = failed_adopt = 1;
        if ((rc = adopt_pvc(c, pvc, name)) < 0) return rc;
        c->pvc_pending = c->creating = 1;
    }
    return 0;
}
