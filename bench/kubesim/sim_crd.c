/* sim_crd.c - CustomResourceDefinitions: load them from YAML at start, and
 * serve every stored CRD's versions as resource rows (created, changed or
 * deleted at run time too). Conversion is None: one storage per CRD, any
 * served version reads it with its own apiVersion. */
#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_schema.h"
#include "bench/kubesim/sim_state.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/yaml2json.h"
#ifdef ASC_SIM_HAVE_CRDS
#include "deploy/crds.h"
#endif

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *
join_array(json_object *arr)
{
    sim_buf b = {0};
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
        if (!s) continue;
        if (b.len) sim_buf_puts(&b, ",");
        sim_buf_puts(&b, s);
    }
    if (!b.data) sim_buf_puts(&b, "");
    return sim_buf_take(&b, NULL);
}

static void
drop_rows(sim_state *S, const char *crd_name)
{
    for (size_t i = 0; i < S->res.n; i++) {
        sim_res *r = S->res.v[i];
        if (r->crd_name && !strcmp(r->crd_name, crd_name) && r->store)
            sim_watch_close_store(S, r->store);
    }
    sim_res_remove_crd(&S->res, crd_name);
}

int
sim_crd_serve(sim_state *S, json_object *crd, char *err, size_t errlen)
{
    const char *name = jx_str(crd, "metadata.name");
    const char *group = jx_str(crd, "spec.group");
    const char *plural = jx_str(crd, "spec.names.plural");
    const char *kind = jx_str(crd, "spec.names.kind");
    json_object *versions = jx_arr(crd, "spec.versions");
    if (!name || !group || !plural || !kind || !versions) {
        snprintf(err, errlen, "CRD %s: missing group, names or versions", name ? name : "?");
        return ERR_INVALID;
    }
    const char *singular = jx_str(crd, "spec.names.singular");
    char lower[256];
    if (!singular) {
        size_t i = 0;
        for (; kind[i] && i + 1 < sizeof lower; i++)
            lower[i] = (char)((kind[i] >= 'A' && kind[i] <= 'Z') ? kind[i] + 32 : kind[i]);
        lower[i] = '\0';
        singular = lower;
    }
    int namespaced = strcmp(jx_str_or(crd, "spec.scope", "Namespaced"), "Cluster") != 0;
    drop_rows(S, name);
    size_t nv = json_object_array_length(versions);
    for (size_t i = 0; i < nv; i++) {
        json_object *v = json_object_array_get_idx(versions, i);
        if (!jx_bool(v, "served", 1)) continue;
        const char *vn = jx_str(v, "name");
        if (!vn) continue;
        unsigned sub = 0;
        if (jx_get(v, "subresources.status")) sub |= SIM_SUB_STATUS;
        if (jx_get(v, "subresources.scale")) sub |= SIM_SUB_SCALE;
        sim_res *r =
            sim_res_new(group, vn, plural, singular, kind, namespaced, sub, SIM_HOOK_CUSTOM);
        if (!r) return ERR_NOMEM;
        r->storage_version = jx_bool(v, "storage", nv == 1);
        r->crd_name = strdup(name);
        const char *lk = jx_str(crd, "spec.names.listKind");
        if (lk) {
            free(r->list_kind);
            r->list_kind = strdup(lk);
        }
        free(r->short_names);
        r->short_names = join_array(jx_arr(crd, "spec.names.shortNames"));
        free(r->categories);
        r->categories = join_array(jx_arr(crd, "spec.names.categories"));
        if (sub & SIM_SUB_SCALE) {
            json_object *sc = jx_obj(v, "subresources.scale");
            r->scale_spec = strdup(jx_str_or(sc, "specReplicasPath", ".spec.replicas"));
            r->scale_status = strdup(jx_str_or(sc, "statusReplicasPath", ".status.replicas"));
            if (jx_str(sc, "labelSelectorPath"))
                r->scale_selector = strdup(jx_str(sc, "labelSelectorPath"));
        }
        json_object *schema = jx_obj(v, "schema.openAPIV3Schema");
        if (schema) {
            char serr[256] = "";
            if (sim_schema_compile(schema, &r->schema, serr, sizeof serr) != 0) {
                LOG_W("kubesim", "CRD schema not usable, served without validation",
                      "crd=%s version=%s err=%s", name, vn, serr);
                r->schema = NULL;
            } else {
                const char *const *rules = NULL;
                size_t nr = sim_schema_unenforced_rules(r->schema, &rules);
                for (size_t k = 0; k < nr && !S->cfg.quiet; k++)
                    LOG_I("kubesim", "CEL rule not enforced", "crd=%s version=%s rule=%s", name, vn,
                          rules[k]);
            }
        }
        if (!r->crd_name || !r->list_kind || !r->short_names || !r->categories ||
            sim_res_add(&S->res, r) != 0)
            return ERR_NOMEM;
        sim_store_of(S, r);
    }
    return 0;
}

static int
drop_store(sim_state *S, const char *key)
{
    sim_store *st = sim_map_del(&S->stores, key);
    if (st) {
        sim_watch_close_store(S, st);
        sim_store_free(st);
    }
    return 0;
}

void
sim_crd_unserve(sim_state *S, const char *crd_name)
{
    char key[512] = "";
    for (size_t i = 0; i < S->res.n; i++) {
        sim_res *r = S->res.v[i];
        if (r->crd_name && !strcmp(r->crd_name, crd_name)) {
            snprintf(key, sizeof key, "%s", r->store_key);
            break;
        }
    }
    drop_rows(S, crd_name);
    if (key[0]) drop_store(S, key);
}

/* Install the CRDs in one YAML text. */
static int
install_text(sim_state *S, const char *text, size_t len, const char *origin, char *err,
             size_t errlen)
{
    char yerr[256];
    json_object *docs = yaml_to_json_docs(text, len, yerr, sizeof yerr);
    if (!docs) {
        snprintf(err, errlen, "%s: %s", origin, yerr);
        return ERR_INVALID;
    }
    sim_res *cr = sim_find_res(S, "apiextensions.k8s.io", "customresourcedefinitions");
    size_t n = json_object_array_length(docs);
    for (size_t i = 0; i < n; i++) {
        json_object *d = json_object_array_get_idx(docs, i);
        if (strcmp(jx_str_or(d, "kind", ""), "CustomResourceDefinition") != 0) continue;
        json_object *c = sim_json_copy(d);
        /* conversion forced to None for CRDs loaded from files */
        json_object *spec = jx_obj(c, "spec");
        if (spec) json_object_object_del(spec, "conversion");
        int rc = sim_internal_create(S, cr, c, NULL);
        if (rc != 0 && rc != ERR_EXISTS) {
            snprintf(err, errlen, "%s: CRD %s could not be installed", origin,
                     jx_str_or(d, "metadata.name", "?"));
            json_object_put(docs);
            return rc;
        }
    }
    json_object_put(docs);
    return 0;
}

/* Install order: file names, except that the agent-sandbox kinds go in the
 * order a cluster operator applies them (referenced kinds first), which is
 * also the order discovery lists them in. */
static int
crd_rank(const char *name)
{
    static const char *order[] = {"sandboxes", "sandboxtemplates", "sandboxclaims",
                                  "sandboxwarmpools"};
    for (int i = 0; i < 4; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "_%s.", order[i]);
        if (strstr(name, pat)) return i;
    }
    return 4;
}

static int
cmp_names(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int rx = crd_rank(x), ry = crd_rank(y);
    if (rx != ry) return rx - ry;
    return strcmp(x, y);
}

int
sim_crd_install_dir(sim_state *S, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "--crds %s: cannot open directory", dir);
        return ERR_CONFIG;
    }
    char *names[256];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < 256) {
        size_t l = strlen(de->d_name);
        if ((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
            (l > 4 && !strcmp(de->d_name + l - 4, ".yml")))
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < nn; i++) {
        if (!names[i]) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = rc == 0 ? fopen(path, "rb") : NULL;
        if (f) {
            sim_buf b = {0};
            char tmp[65536];
            size_t r;
            while ((r = fread(tmp, 1, sizeof tmp, f)) > 0 && b.len < 64u * 1024 * 1024)
                sim_buf_append(&b, tmp, r);
            fclose(f);
            rc = install_text(S, b.data ? b.data : "", b.len, path, err, errlen);
            sim_buf_free(&b);
        }
        free(names[i]);
    }
    return rc;
}

int
sim_crd_install_builtin(sim_state *S, char *err, size_t errlen)
{
#ifdef ASC_SIM_HAVE_CRDS
    if (asc_crd_count > 0) {
        size_t idx[64], n = asc_crd_count < 64 ? asc_crd_count : 64;
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        for (size_t i = 1; i < n; i++) /* insertion sort by rank */
            for (size_t j = i;
                 j > 0 && cmp_names(&asc_crd_names[idx[j]], &asc_crd_names[idx[j - 1]]) < 0; j--) {
                size_t t = idx[j];
                idx[j] = idx[j - 1];
                idx[j - 1] = t;
            }
        for (size_t k = 0; k < n; k++) {
            size_t i = idx[k];
            int rc = install_text(S, asc_crd_yaml[i], strlen(asc_crd_yaml[i]), asc_crd_names[i],
                                  err, errlen);
            if (rc != 0) return rc;
        }
        return 0;
    }
#endif
    const char *env = getenv("ASC_SOURCE_DIR");
    char dir[4096];
    struct stat sb;
    if (env && env[0]) {
        snprintf(dir, sizeof dir, "%s/deploy/crds", env);
        if (stat(dir, &sb) == 0) return sim_crd_install_dir(S, dir, err, errlen);
    }
#ifdef ASC_SIM_SOURCE_DIR
    snprintf(dir, sizeof dir, "%s/deploy/crds", ASC_SIM_SOURCE_DIR);
    if (stat(dir, &sb) == 0) return sim_crd_install_dir(S, dir, err, errlen);
#endif
    if (!S->cfg.quiet) LOG_W("kubesim", "no CRDs found (use --crds DIR)", "dir=%s", "deploy/crds");
    return 0;
}
