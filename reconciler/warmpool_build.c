/* warmpool_build.c - the body of a new warm-pool member (spec/api.md §2.3
 * "Pool Sandbox as created"). */
#include "reconciler/warmpool.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/namehash.h"
#include "reconciler/meta.h"
#include "reconciler/secure_defaults.h"

#include <stdio.h>
#include <string.h>

static int
put_str(json_object *obj, const char *key, const char *val)
{
    return obj && json_object_object_add(obj, key, json_object_new_string(val)) == 0 ? 0
                                                                                     : ERR_NOMEM;
}

json_object *
rec_wp_member_new(json_object *pool, json_object *tmpl, int enable_eviction)
{
    char pool_h[9], ref_h[9], pt_h[9], bp_h[9], gen[300];
    const char *pname = jx_str(pool, "metadata.name");
    const char *ns = jx_str(pool, "metadata.namespace");
    const char *tname = jx_str(tmpl, "metadata.name");
    json_object *tspec = jx_obj(tmpl, "spec");
    if (pname == NULL || ns == NULL || tname == NULL || rec_bp_hashes(tmpl, pt_h, bp_h) != 0)
        return NULL;
    namehash_hex(pname, pool_h);
    namehash_hex(tname, ref_h);
    snprintf(gen, sizeof gen, "%s-", pname);

    json_object *sb = json_object_new_object();
    json_object *spec = rec_bp_from_spec(tspec);
    json_object *copy = rec_json_copy(spec);
    json_object_put(spec);
    spec = copy;
    if (sb == NULL || spec == NULL) goto fail;
    json_object_object_add(sb, "apiVersion", json_object_new_string(REC_GROUP_AGENTS "/v1beta1"));
    json_object_object_add(sb, "kind", json_object_new_string("Sandbox"));
    json_object *md = jx_ensure_obj(sb, "metadata");
    if (md == NULL || put_str(md, "generateName", gen) || put_str(md, "namespace", ns)) goto fail;
    json_object *labels = jx_ensure_obj(md, "labels");
    if (put_str(labels, REC_LABEL_WARM_POOL, pool_h) ||
        put_str(labels, REC_LABEL_TEMPLATE_REF_HASH, ref_h) ||
        put_str(labels, REC_LABEL_LAUNCH_TYPE, "warm") ||
        put_str(labels, REC_LABEL_POD_TEMPLATE_HASH, pt_h) ||
        put_str(labels, REC_LABEL_TEMPLATE_HASH, bp_h) ||
        put_str(labels, REC_LABEL_CREATED_BY, "controller"))
        goto fail;
    json_object *ann = jx_ensure_obj(md, "annotations");
    if (put_str(ann, REC_ANN_TEMPLATE_REF, tname)) goto fail;
    json_object *refs = json_object_new_array();
    json_object *ref = rec_meta_owner_ref_new(&KUBE_SANDBOXWARMPOOLS, pool);
    if (refs == NULL || ref == NULL) {
        json_object_put(refs);
        json_object_put(ref);
        goto fail;
    }
    json_object_array_add(refs, ref);
    json_object_object_add(md, "ownerReferences", refs);

    json_object *ptl = jx_ensure_obj(spec, "podTemplate.metadata.labels");
    if (put_str(ptl, REC_LABEL_WARM_POOL, pool_h) ||
        put_str(ptl, REC_LABEL_TEMPLATE_REF_HASH, ref_h) ||
        put_str(ptl, REC_LABEL_POD_TEMPLATE_HASH, pt_h) ||
        put_str(ptl, REC_LABEL_TEMPLATE_HASH, bp_h))
        goto fail;
    if (enable_eviction) {
        json_object *pta = jx_ensure_obj(spec, "podTemplate.metadata.annotations");
        if (pta == NULL) goto fail;
        if (jx_child(pta, REC_ANN_SAFE_TO_EVICT) == NULL &&
            put_str(pta, REC_ANN_SAFE_TO_EVICT, "true"))
            goto fail;
    }
    json_object *ps = jx_ensure_obj(spec, "podTemplate.spec");
    if (ps == NULL || rec_secure_defaults_apply(ps, tspec) != 0) goto fail;
    json_object_object_add(sb, "spec", spec);
    return sb;
fail:
    json_object_put(spec);
    json_object_put(sb);
    return NULL;
}
