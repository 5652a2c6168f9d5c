/* sim_patch_smp.c - Kubernetes strategic merge patch for core kinds.
 *
 * The patch is applied in place to a private deep copy of the stored
 * object. While descending, the dotted path of map keys (list positions are
 * not part of it) selects the list strategy from a small table, the way the
 * Go structs' patchStrategy/patchMergeKey tags do on the real server.
 *
 * Order of a merged list (observed on kube-apiserver v1.32, goldens
 * strategic-merge-pod and pod-status): the patch's elements keep the patch
 * order, elements only on the server keep theirs, and each server-only
 * element is placed before the first later patch element that the server
 * held further down; elements new to the server rank before everything.
 * So a new ownerReference or condition lands at the front, while merging
 * into the middle element of [a, b, c] keeps [a, b', c]. */
#include "bench/kubesim/sim_patch.h"
#include "bench/kubesim/sim_patch_internal.h"

#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMP_PATH_MAX  512
#define SMP_PRIMITIVE ""

typedef struct {
    const char *kind; /* NULL: every kind */
    const char *path; /* dotted map-key path of the list */
    const char *key;  /* merge key, or SMP_PRIMITIVE for a set of primitives */
} smp_rule;

static const smp_rule smp_rules[] = {
    {NULL, "metadata.ownerReferences", "uid"},
    {NULL, "metadata.finalizers", SMP_PRIMITIVE},
    {NULL, "status.conditions", "type"},
    {"Pod", "spec.containers", "name"},
    {"Pod", "spec.initContainers", "name"},
    {"Pod", "spec.ephemeralContainers", "name"},
    {"Pod", "spec.containers.ports", "containerPort"},
    {"Pod", "spec.initContainers.ports", "containerPort"},
    {"Pod", "spec.ephemeralContainers.ports", "containerPort"},
    {"Pod", "spec.containers.env", "name"},
    {"Pod", "spec.initContainers.env", "name"},
    {"Pod", "spec.ephemeralContainers.env", "name"},
    {"Pod", "spec.containers.volumeMounts", "mountPath"},
    {"Pod", "spec.initContainers.volumeMounts", "mountPath"},
    {"Pod", "spec.ephemeralContainers.volumeMounts", "mountPath"},
    {"Pod", "spec.containers.volumeDevices", "devicePath"},
    {"Pod", "spec.initContainers.volumeDevices", "devicePath"},
    {"Pod", "spec.ephemeralContainers.volumeDevices", "devicePath"},
    {"Pod", "spec.volumes", "name"},
    {"Pod", "spec.imagePullSecrets", "name"},
    {"Pod", "spec.hostAliases", "ip"},
    {"Pod", "spec.topologySpreadConstraints", "topologyKey"},
    {"Pod", "spec.resourceClaims", "name"},
    {"Pod", "spec.schedulingGates", "name"},
    {"Pod", "status.podIPs", "ip"},
    {"Pod", "status.hostIPs", "ip"},
    {"Node", "status.addresses", "type"},
    {"Service", "spec.ports", "port"},
    {"ServiceAccount", "secrets", "name"},
};

typedef struct {
    const char *kind;
    char path[SMP_PATH_MAX];
    size_t len;
    char *err;
    size_t errlen;
} smp_ctx;

static int merge_map(smp_ctx *c, json_object *t, json_object *p);

static const char *
rule_for(const smp_ctx *c)
{
    for (size_t i = 0; i < sizeof smp_rules / sizeof smp_rules[0]; i++) {
        const smp_rule *r = &smp_rules[i];
        if (r->kind != NULL && (c->kind == NULL || strcmp(r->kind, c->kind) != 0)) continue;
        if (strcmp(r->path, c->path) == 0) return r->key;
    }
    return NULL;
}

/* Push ".key" onto the path; returns the old length for path_pop. An
 * overlong path is truncated, which only means no list rule can match. */
static size_t
path_push(smp_ctx *c, const char *key)
{
    size_t old = c->len, kl = strlen(key), need = kl + (old ? 1 : 0);

    if (old + need + 1 > sizeof c->path) {
        c->path[old] = '\0';
        c->len = sizeof c->path; /* marks overflow; nothing matches */
        return old;
    }
    if (old) c->path[c->len++] = '.';
    memcpy(c->path + c->len, key, kl + 1);
    c->len += kl;
    return old;
}

static void
path_pop(smp_ctx *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

static int
is_directive(const char *k)
{
    return k[0] == '$' && (strcmp(k, "$patch") == 0 || strcmp(k, "$retainKeys") == 0 ||
                           strncmp(k, "$deleteFromPrimitiveList/", 25) == 0 ||
                           strncmp(k, "$setElementOrder/", 17) == 0);
}

/* The $patch directive of a map: "" when absent, NULL when not a string. */
static const char *
patch_directive(json_object *m)
{
    json_object *d = NULL;

    if (!json_object_is_type(m, json_type_object) || !json_object_object_get_ex(m, "$patch", &d))
        return "";
    if (!json_object_is_type(d, json_type_string)) return NULL;
    return json_object_get_string(d);
}

/* A map value to store for key k: patch map p merged into a fresh map. */
static json_object *
fresh_map(smp_ctx *c, json_object *p, int *rc)
{
    json_object *n = json_object_new_object();

    if (n == NULL) {
        *rc = ERR_NOMEM;
        return NULL;
    }
    *rc = merge_map(c, n, p);
    if (*rc != 0) {
        json_object_put(n);
        return NULL;
    }
    return n;
}

typedef struct {
    json_object *v; /* owned */
    long idx;       /* position on the server, -1 when new */
} smp_item;

/* Interleave patch items (patch order) with server-only items (server
 * order) as described at the top of the file, into a new array. Ownership
 * of every item moves into the array (or is released on failure). */
static json_object *
interleave(smp_item *right, size_t nr, smp_item *left, size_t nl)
{
    json_object *out = json_object_new_array_ext((int)(nr + nl));
    size_t pos = 0, i = 0;

    if (out == NULL) goto fail;
    for (; i < nl; i++) {
        while (pos < nr && !(right[pos].idx > left[i].idx)) {
            if (json_object_array_add(out, right[pos].v) != 0) goto fail;
            right[pos++].v = NULL;
        }
        if (json_object_array_add(out, left[i].v) != 0) goto fail;
        left[i].v = NULL;
    }
    for (; pos < nr; pos++) {
        if (json_object_array_add(out, right[pos].v) != 0) goto fail;
        right[pos].v = NULL;
    }
    return out;
fail:
    json_object_put(out);
    for (size_t k = pos; k < nr; k++)
        json_object_put(right[k].v);
    for (size_t k = i; k < nl; k++)
        json_object_put(left[k].v);
    return NULL;
}

static int
item_matches(json_object *item, json_object *want, const char *key)
{
    json_object *a = NULL, *b = NULL;

    if (key == NULL) return sim_json_equal(item, want);
    if (!json_object_is_type(item, json_type_object) ||
        !json_object_is_type(want, json_type_object) || !json_object_object_get_ex(item, key, &a) ||
        !json_object_object_get_ex(want, key, &b))
        return 0;
    return sim_json_equal(a, b);
}

/* "$setElementOrder/<field>" (kubectl apply sends it): the listed elements
 * become the ordered "patch" side, in the listed order, and everything else
 * the server-ordered side (elements new to the server last). The arrays are
 * replaced by new ones of the same kind; on allocation failure nothing
 * changes (the order is then the default one). */
typedef struct {
    smp_item it;
    size_t at; /* position in the pool, for a stable sort */
} pool_item;

static int
cmp_server_order(const void *a, const void *b)
{
    const pool_item *x = a, *y = b;
    /* by server position, elements new to the server (-1) last */
    if ((x->it.idx < 0) != (y->it.idx < 0)) return x->it.idx < 0 ? 1 : -1;
    if (x->it.idx != y->it.idx) return x->it.idx < y->it.idx ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

static uint64_t
item_hash(json_object *item, const char *key)
{
    json_object *kv = NULL;

    if (key == NULL) return sim__json_hash(item);
    if (json_object_is_type(item, json_type_object)) json_object_object_get_ex(item, key, &kv);
    return sim__json_hash(kv);
}

/* "$setElementOrder/<field>" (kubectl apply sends it): the listed elements
 * become the ordered "patch" side, in the listed order, and everything else
 * the server-ordered side (elements new to the server last). The arrays are
 * replaced by new ones of the same kind; on allocation failure nothing
 * changes (the order is then the default one). */
static void
apply_element_order(smp_item **right, size_t *nr, smp_item **left, size_t *nl, json_object *order,
                    const char *key)
{
    size_t total = *nr + *nl, n_r = 0, n_l = 0, cur;
    pool_item *pool = calloc(total + 1, sizeof *pool), *rest = calloc(total + 1, sizeof *rest);
    smp_item *r2 = calloc(total + 1, sizeof *r2), *l2 = calloc(total + 1, sizeof *l2);
    char *taken = calloc(total + 1, 1);
    sim__hidx ix = {0};

    if (pool == NULL || rest == NULL || r2 == NULL || l2 == NULL || taken == NULL ||
        sim__hidx_init(&ix, total) != 0)
        goto out;
    for (size_t k = 0; k < total; k++) {
        pool[k].it = k < *nr ? (*right)[k] : (*left)[k - *nr];
        pool[k].at = k;
        if (sim__hidx_add(&ix, item_hash(pool[k].it.v, key), k) != 0) goto out;
    }
    for (size_t i = 0; i < json_object_array_length(order); i++) {
        json_object *want = json_object_array_get_idx(order, i);
        cur = SIZE_MAX;
        for (size_t k; (k = sim__hidx_find(&ix, item_hash(want, key), &cur)) != SIZE_MAX;) {
            if (!taken[k] && item_matches(pool[k].it.v, want, key)) {
                taken[k] = 1;
                r2[n_r++] = pool[k].it;
                break;
            }
        }
    }
    for (size_t k = 0; k < total; k++)
        if (!taken[k]) rest[n_l++] = pool[k];
    qsort(rest, n_l, sizeof *rest, cmp_server_order);
    for (size_t k = 0; k < n_l; k++)
        l2[k] = rest[k].it;
    free(*right);
    free(*left);
    *right = r2;
    *left = l2;
    *nr = n_r;
    *nl = n_l;
    r2 = l2 = NULL;
out:
    sim__hidx_fini(&ix);
    free(pool);
    free(rest);
    free(r2);
    free(l2);
    free(taken);
}

/* Set-like merge of primitive lists (metadata.finalizers). Hash indexes
 * keep it linear however long the lists are. */
static int
merge_primitive_list(json_object *orig, json_object *p, json_object *order, json_object **out)
{
    size_t no = orig ? json_object_array_length(orig) : 0, np = json_object_array_length(p);
    smp_item *right = calloc(np + 1, sizeof *right), *left = calloc(no + 1, sizeof *left);
    char *used = calloc(no + 1, 1);
    sim__hidx oix = {0}, rix = {0}, lix = {0};
    size_t nr = 0, nl = 0, cur, k;
    int ok = 1, rc = 0;

    if (right == NULL || left == NULL || used == NULL || sim__hidx_init(&oix, no) != 0 ||
        sim__hidx_init(&rix, np) != 0 || sim__hidx_init(&lix, no) != 0) {
        rc = ERR_NOMEM;
        goto done;
    }
    for (k = 0; k < no; k++)
        if ((rc = sim__hidx_add(&oix, sim__json_hash(json_object_array_get_idx(orig, k)), k)) != 0)
            goto done;
    for (size_t i = 0; i < np; i++) {
        json_object *e = json_object_array_get_idx(p, i);
        const char *d = patch_directive(e);
        if (d != NULL && strcmp(d, "replace") == 0) {
            /* {"$patch":"replace"}: the list is exactly the other elements. */
            for (k = 0; k < nr; k++)
                json_object_put(right[k].v);
            nr = 0;
            no = 0;
            sim__hidx_fini(&rix);
            if ((rc = sim__hidx_init(&rix, np)) != 0) goto done;
            continue;
        }
        if (json_object_is_type(e, json_type_object))
            continue; /* other directives have no meaning on primitives */
        uint64_t h = sim__json_hash(e);
        int dup = 0;
        cur = SIZE_MAX;
        while (!dup && (k = sim__hidx_find(&rix, h, &cur)) != SIZE_MAX)
            dup = k < nr && sim_json_equal(right[k].v, e);
        if (dup) continue;
        long at = -1;
        cur = SIZE_MAX;
        while ((k = sim__hidx_find(&oix, h, &cur)) != SIZE_MAX) {
            if (k < no && sim_json_equal(json_object_array_get_idx(orig, k), e)) {
                if (at < 0) at = (long)k;
                used[k] = 1; /* every copy: the result is a set */
            }
        }
        right[nr].v = sim__json_copy(e, &ok);
        right[nr].idx = at;
        if (!ok || (rc = sim__hidx_add(&rix, h, nr)) != 0) {
            rc = ERR_NOMEM;
            nr += ok;
            goto done;
        }
        nr++;
    }
    for (k = 0; k < no; k++) {
        json_object *e = json_object_array_get_idx(orig, k);
        uint64_t h = sim__json_hash(e);
        int dup = used[k];
        size_t j;
        cur = SIZE_MAX;
        while (!dup && (j = sim__hidx_find(&lix, h, &cur)) != SIZE_MAX)
            dup = sim_json_equal(left[j].v, e);
        if (dup) continue;
        left[nl].v = sim__json_copy(e, &ok);
        left[nl].idx = (long)k;
        if (!ok || (rc = sim__hidx_add(&lix, h, nl)) != 0) {
            rc = ERR_NOMEM;
            nl += ok;
            goto done;
        }
        nl++;
    }
    if (order != NULL) apply_element_order(&right, &nr, &left, &nl, order, NULL);
    *out = interleave(right, nr, left, nl);
    nr = nl = 0;
    if (*out == NULL) rc = ERR_NOMEM;
done:
    for (k = 0; k < nr; k++)
        json_object_put(right[k].v);
    for (k = 0; k < nl; k++)
        json_object_put(left[k].v);
    sim__hidx_fini(&oix);
    sim__hidx_fini(&rix);
    sim__hidx_fini(&lix);
    free(right);
    free(left);
    free(used);
    return rc;
}

/* Merge a list of maps by key. orig may be NULL (no stored list). Stored
 * and patch elements are found through hash indexes on the key value;
 * elements a "$patch: delete" removes from the patch side are marked dead
 * (v == NULL) and dropped at the end. */
static int
merge_keyed_list(smp_ctx *c, const char *key, json_object *orig, json_object *p, json_object *order,
                 json_object **out)
{
    size_t no = orig ? json_object_array_length(orig) : 0, np = json_object_array_length(p);
    smp_item *right = calloc(np + 1, sizeof *right), *left = calloc(no + 1, sizeof *left);
    char *gone = calloc(no + 1, 1); /* server element consumed or deleted */
    sim__hidx oix = {0}, rix = {0};
    size_t nr = 0, nl = 0, cur, k;
    int ok = 1, rc = 0;

    if (right == NULL || left == NULL || gone == NULL || sim__hidx_init(&oix, no) != 0 ||
        sim__hidx_init(&rix, np) != 0) {
        rc = ERR_NOMEM;
        goto done;
    }
    for (k = 0; k < no; k++) {
        json_object *se = json_object_array_get_idx(orig, k), *sk = NULL;
        if (json_object_is_type(se, json_type_object) && json_object_object_get_ex(se, key, &sk) &&
            (rc = sim__hidx_add(&oix, sim__json_hash(sk), k)) != 0)
            goto done;
    }
    for (size_t i = 0; i < np; i++) {
        json_object *e = json_object_array_get_idx(p, i), *kv = NULL;
        const char *d = patch_directive(e);
        if (!json_object_is_type(e, json_type_object) || d == NULL) {
            sim__errf(c->err, c->errlen, "%s: list element is not a map", c->path);
            rc = ERR_BADREQUEST;
            goto done;
        }
        if (strcmp(d, "replace") == 0) {
            for (k = 0; k < nr; k++)
                json_object_put(right[k].v);
            nr = 0;
            memset(gone, 1, no);
            sim__hidx_fini(&rix);
            if ((rc = sim__hidx_init(&rix, np)) != 0) goto done;
            continue;
        }
        if (d[0] != '\0' && strcmp(d, "delete") != 0 && strcmp(d, "merge") != 0) {
            sim__errf(c->err, c->errlen, "%s: unknown patch type %s", c->path, d);
            rc = ERR_BADREQUEST;
            goto done;
        }
        if (!json_object_object_get_ex(e, key, &kv) || kv == NULL) {
            sim__errf(c->err, c->errlen, "map: %s does not contain declared merge key: %s", c->path,
                      key);
            rc = ERR_BADREQUEST;
            goto done;
        }
        uint64_t h = sim__json_hash(kv);
        json_object *target = NULL;
        cur = SIZE_MAX;
        while ((k = sim__hidx_find(&rix, h, &cur)) != SIZE_MAX) {
            json_object *sk = NULL;
            if (k >= nr || right[k].v == NULL || !json_object_object_get_ex(right[k].v, key, &sk) ||
                !sim_json_equal(sk, kv))
                continue;
            if (strcmp(d, "delete") == 0) {
                json_object_put(right[k].v);
                right[k].v = NULL; /* dead */
            } else if (target == NULL) {
                target = right[k].v; /* a key seen before in this patch */
            }
        }
        if (strcmp(d, "delete") == 0) {
            cur = SIZE_MAX;
            while ((k = sim__hidx_find(&oix, h, &cur)) != SIZE_MAX) {
                json_object *sk = NULL;
                if (k < no &&
                    json_object_object_get_ex(json_object_array_get_idx(orig, k), key, &sk) &&
                    sim_json_equal(sk, kv))
                    gone[k] = 1;
            }
            continue;
        }
        if (target == NULL) {
            long at = -1;
            cur = SIZE_MAX;
            while (at < 0 && (k = sim__hidx_find(&oix, h, &cur)) != SIZE_MAX) {
                json_object *sk = NULL;
                if (k < no && !gone[k] &&
                    json_object_object_get_ex(json_object_array_get_idx(orig, k), key, &sk) &&
                    sim_json_equal(sk, kv))
                    at = (long)k;
            }
            if (at >= 0) {
                target = sim__json_copy(json_object_array_get_idx(orig, (size_t)at), &ok);
                gone[at] = 1;
            } else {
                target = json_object_new_object();
                ok = target != NULL;
            }
            if (!ok) {
                rc = ERR_NOMEM;
                goto done;
            }
            right[nr].v = target;
            right[nr].idx = at;
            nr++;
            if ((rc = sim__hidx_add(&rix, h, nr - 1)) != 0) goto done;
        }
        rc = merge_map(c, target, e);
        if (rc != 0) goto done;
    }
    /* drop the dead */
    size_t w = 0;
    for (k = 0; k < nr; k++)
        if (right[k].v != NULL) right[w++] = right[k];
    nr = w;
    for (k = 0; k < no; k++) {
        if (gone[k]) continue;
        left[nl].v = sim__json_copy(json_object_array_get_idx(orig, k), &ok);
        left[nl++].idx = (long)k;
        if (!ok) {
            rc = ERR_NOMEM;
            goto done;
        }
    }
    if (order != NULL) apply_element_order(&right, &nr, &left, &nl, order, key);
    *out = interleave(right, nr, left, nl);
    nr = nl = 0;
    if (*out == NULL) rc = ERR_NOMEM;
done:
    for (k = 0; k < nr; k++)
        json_object_put(right[k].v);
    for (k = 0; k < nl; k++)
        json_object_put(left[k].v);
    sim__hidx_fini(&oix);
    sim__hidx_fini(&rix);
    free(right);
    free(left);
    free(gone);
    return rc;
}

/* t[k] = merge of list p into the stored value. */
static int
merge_list_field(smp_ctx *c, json_object *t, const char *k, json_object *p, json_object *order)
{
    json_object *orig = NULL, *res = NULL;
    const char *key = rule_for(c);
    int ok = 1, rc = 0;

    json_object_object_get_ex(t, k, &orig);
    if (orig != NULL && !json_object_is_type(orig, json_type_array)) orig = NULL;
    if (key == NULL) {
        /* No strategy: the patch's list replaces the stored one. */
        res = sim__json_copy(p, &ok);
        if (!ok) return ERR_NOMEM;
    } else if (key[0] == '\0') {
        rc = merge_primitive_list(orig, p, order, &res);
    } else {
        rc = merge_keyed_list(c, key, orig, p, order, &res);
    }
    if (rc != 0) return rc;
    return json_object_object_add(t, k, res) == 0 ? 0 : ERR_NOMEM;
}

/* "$deleteFromPrimitiveList/<field>": drop those values from t[field]. */
static int
delete_from_primitive_list(json_object *t, const char *field, json_object *vals)
{
    json_object *lst = NULL, *kept;
    sim__hidx ix = {0};
    size_t nv, cur, k;

    if (!json_object_is_type(vals, json_type_array) || !json_object_object_get_ex(t, field, &lst) ||
        !json_object_is_type(lst, json_type_array))
        return 0;
    nv = json_object_array_length(vals);
    if (sim__hidx_init(&ix, nv) != 0) return ERR_NOMEM;
    for (k = 0; k < nv; k++)
        if (sim__hidx_add(&ix, sim__json_hash(json_object_array_get_idx(vals, k)), k) != 0)
            goto nomem;
    /* rebuild rather than delete one by one (each delete shifts the tail) */
    if ((kept = json_object_new_array()) == NULL) goto nomem;
    for (size_t i = 0; i < json_object_array_length(lst); i++) {
        json_object *e = json_object_array_get_idx(lst, i);
        int drop = 0;
        cur = SIZE_MAX;
        while (!drop && (k = sim__hidx_find(&ix, sim__json_hash(e), &cur)) != SIZE_MAX)
            drop = sim_json_equal(e, json_object_array_get_idx(vals, k));
        if (!drop && json_object_array_add(kept, json_object_get(e)) != 0) {
            json_object_put(e);
            json_object_put(kept);
            goto nomem;
        }
    }
    sim__hidx_fini(&ix);
    return json_object_object_add(t, field, kept) == 0 ? 0 : ERR_NOMEM;
nomem:
    sim__hidx_fini(&ix);
    return ERR_NOMEM;
}

/* "$retainKeys": keys of t not listed go. The list becomes a json-c
 * object (a hash table) so the check stays linear. */
static void
retain_keys(json_object *t, json_object *keys)
{
    json_object *keep, *drop;

    if (!json_object_is_type(keys, json_type_array)) return;
    keep = json_object_new_object();
    drop = json_object_new_array();
    if (keep == NULL || drop == NULL) goto out;
    for (size_t i = 0; i < json_object_array_length(keys); i++) {
        json_object *e = json_object_array_get_idx(keys, i);
        if (json_object_is_type(e, json_type_string))
            json_object_object_add(keep, json_object_get_string(e), NULL);
    }
    json_object_object_foreach(t, k, v)
    {
        (void)v;
        if (!json_object_object_get_ex(keep, k, NULL))
            json_object_array_add(drop, json_object_new_string(k));
    }
    for (size_t i = 0; i < json_object_array_length(drop); i++)
        json_object_object_del(t, json_object_get_string(json_object_array_get_idx(drop, i)));
out:
    json_object_put(keep);
    json_object_put(drop);
}

/* Merge patch map p into map t (owned copy), in place. */
static int
merge_map(smp_ctx *c, json_object *t, json_object *p)
{
    json_object *v = NULL;
    int rc = 0, ok = 1;

    /* Deletions from primitive lists apply to the stored values first. */
    json_object_object_foreach(p, dk, dv)
    {
        if (strncmp(dk, "$deleteFromPrimitiveList/", 25) == 0 &&
            delete_from_primitive_list(t, dk + 25, dv) != 0)
            return ERR_NOMEM;
    }
    json_object_object_foreach(p, k, pv)
    {
        if (is_directive(k)) continue;
        if (pv == NULL) {
            json_object_object_del(t, k);
            continue;
        }
        size_t old = path_push(c, k);
        if (json_object_is_type(pv, json_type_object)) {
            const char *d = patch_directive(pv);
            if (d == NULL ||
                (d[0] && strcmp(d, "delete") && strcmp(d, "replace") && strcmp(d, "merge"))) {
                sim__errf(c->err, c->errlen, "%s: unknown patch type in $patch", c->path);
                rc = ERR_BADREQUEST;
            } else if (strcmp(d, "delete") == 0) {
                json_object_object_del(t, k);
            } else if (strcmp(d, "replace") != 0 && json_object_object_get_ex(t, k, &v) &&
                       json_object_is_type(v, json_type_object)) {
                rc = merge_map(c, v, pv);
            } else {
                json_object *n = fresh_map(c, pv, &rc);
                if (n != NULL && json_object_object_add(t, k, n) != 0) {
                    json_object_put(n);
                    rc = ERR_NOMEM;
                }
            }
        } else if (json_object_is_type(pv, json_type_array)) {
            char okey[300];
            json_object *order = NULL;
            snprintf(okey, sizeof okey, "$setElementOrder/%s", k);
            if (!json_object_object_get_ex(p, okey, &order) ||
                !json_object_is_type(order, json_type_array))
                order = NULL;
            rc = merge_list_field(c, t, k, pv, order);
        } else {
            json_object *cp = sim__json_copy(pv, &ok);
            if (!ok || json_object_object_add(t, k, cp) != 0) {
                json_object_put(cp);
                rc = ERR_NOMEM;
            }
        }
        path_pop(c, old);
        if (rc != 0) return rc;
    }
    if (json_object_object_get_ex(p, "$retainKeys", &v)) retain_keys(t, v);
    return 0;
}

int
sim_strategic_merge(json_object *doc, json_object *patch, const char *kind, json_object **out,
                    char *err, size_t errlen)
{
    smp_ctx c = {.kind = kind, .len = 0, .err = err, .errlen = errlen};
    json_object *root;
    int ok = 1, rc;
    const char *d;

    *out = NULL;
    c.path[0] = '\0';
    if (patch == NULL || !json_object_is_type(patch, json_type_object)) {
        sim__errf(err, errlen, "strategic merge patch must be a JSON object");
        return ERR_BADREQUEST;
    }
    d = patch_directive(patch);
    if (d != NULL && strcmp(d, "replace") == 0)
        root = json_object_new_object();
    else if (doc != NULL && json_object_is_type(doc, json_type_object))
        root = sim__json_copy(doc, &ok);
    else
        root = json_object_new_object();
    if (!ok || root == NULL) return ERR_NOMEM;
    rc = merge_map(&c, root, patch);
    if (rc != 0) {
        json_object_put(root);
        return rc;
    }
    *out = root;
    return 0;
}
