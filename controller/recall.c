/* recall.c - per-shard read-your-writes memory (see recall.h).
 *
 * A chained hash table of keys; each key holds at most RC_MAX entries (one
 * per write tag, and a pass has a handful). Entries hold a reference to the
 * returned object. Expired keys are swept when they are looked up, and the
 * whole table every RC_SWEEP calls, so idle keys do not accumulate. */
#include "controller/recall.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdlib.h>
#include <string.h>

#define RC_BUCKETS 4096
#define RC_MAX     8
#define RC_SWEEP   4096

typedef struct rc_item {
    const char *tag; /* static (write tags are static strings) */
    json_object *obj;
    int64_t at_ms;
    int seen;
    /* A delete answered with Status Success (the object went at once): obj
     * is that Status; the entry lasts while the store still holds the
     * object (ns, details.name, details.uid) and goes once it does not. */
    char *gone_ns;
    enum store_kind gone_kind;
} rc_item;

typedef struct rc_key {
    struct rc_key *next;
    rc_item items[RC_MAX];
    size_t n;
    char key[];
} rc_key;

struct ctl_recall {
    rc_key *b[RC_BUCKETS];
    size_t nkeys;
    unsigned calls;
    rec_outcome *scratch;
    size_t cap;
};

static uint32_t
hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

ctl_recall *
ctl_recall_new(void)
{
    return calloc(1, sizeof(ctl_recall));
}

static void
item_drop(rc_key *k, size_t i)
{
    json_object_put(k->items[i].obj);
    free(k->items[i].gone_ns);
    k->items[i] = k->items[--k->n];
}

void
ctl_recall_free(ctl_recall *r)
{
    if (r == NULL) return;
    for (size_t i = 0; i < RC_BUCKETS; i++)
        for (rc_key *k = r->b[i], *next; k; k = next) {
            next = k->next;
            while (k->n)
                item_drop(k, 0);
            free(k);
        }
    free(r->scratch);
    free(r);
}

size_t
ctl_recall_keys(const ctl_recall *r)
{
    return r ? r->nkeys : 0;
}

static void
expire(rc_key *k, int64_t now_ms)
{
    for (size_t i = 0; i < k->n;)
        if (now_ms - k->items[i].at_ms >= CTL_RECALL_TTL_MS)
            item_drop(k, i);
        else
            i++;
}

/* Unlink and free empty keys of bucket b (after expiring when now_ms >= 0). */
static void
sweep_bucket(ctl_recall *r, size_t b, int64_t now_ms)
{
    rc_key **pp = &r->b[b];
    while (*pp) {
        rc_key *k = *pp;
        if (now_ms >= 0) expire(k, now_ms);
        if (k->n == 0) {
            *pp = k->next;
            free(k);
            r->nkeys--;
        } else {
            pp = &k->next;
        }
    }
}

static rc_key *
find(ctl_recall *r, const char *key, int create)
{
    size_t b = hash(key) % RC_BUCKETS;
    for (rc_key *k = r->b[b]; k; k = k->next)
        if (strcmp(k->key, key) == 0) return k;
    if (!create) return NULL;
    size_t len = strlen(key);
    rc_key *k = calloc(1, sizeof *k + len + 1);
    if (k == NULL) return NULL;
    memcpy(k->key, key, len + 1);
    k->next = r->b[b];
    r->b[b] = k;
    r->nkeys++;
    return k;
}

/* The store kind of a Status's details.kind (a resource's plural). */
static int
store_kind_of_plural(const char *plural, enum store_kind *out)
{
    static const struct {
        const char *plural;
        enum store_kind k;
    } map[] = {{"pods", STORE_POD},
               {"services", STORE_SERVICE},
               {"persistentvolumeclaims", STORE_PVC},
               {"sandboxes", STORE_SANDBOX},
               {"sandboxclaims", STORE_CLAIM},
               {"sandboxwarmpools", STORE_POOL},
               {"sandboxtemplates", STORE_TEMPLATE},
               {"networkpolicies", STORE_NETPOL}};
    for (size_t i = 0; plural && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].plural, plural) == 0) {
            *out = map[i].k;
            return 1;
        }
    return 0;
}

/* A DELETE that removed the object at once answers Status Success naming
 * it (details.name, details.kind, details.uid); the store still shows the
 * object until the watch's DELETED event arrives, and a pass in between
 * must not delete it again. */
static int
gone_status(const rec_outcome *o, const char *ns, enum store_kind *kind)
{
    json_object *d = jx_obj(o->object, "details");
    return ns && ns[0] && strcmp(jx_str_or(o->object, "kind", ""), "Status") == 0 &&
           strcmp(jx_str_or(o->object, "status", ""), "Success") == 0 && d && jx_str(d, "name") &&
           jx_str(d, "uid") && store_kind_of_plural(jx_str(d, "kind"), kind);
}

static int
recallable(const rec_outcome *o, const char *ns, enum store_kind *gone_kind, int *gone)
{
    *gone = 0;
    if (!o->tag || o->err != 0 || !o->object || !json_object_is_type(o->object, json_type_object))
        return 0;
    if (jx_str(o->object, "metadata.uid") && jx_str(o->object, "metadata.name")) return 1;
    return *gone = gone_status(o, ns, gone_kind);
}

static void
remember(ctl_recall *r, const char *key, const char *ns, const rec_outcome *oc, size_t n,
         int64_t now_ms)
{
    rc_key *k = NULL;
    for (size_t i = 0; i < n; i++) {
        enum store_kind gk = STORE_POD;
        int gone = 0;
        if (!recallable(&oc[i], ns, &gk, &gone)) continue;
        char *gns = gone ? strdup(ns) : NULL;
        if (gone && gns == NULL) continue; /* out of memory: not recalled, as before */
        if (k == NULL && (k = find(r, key, 1)) == NULL) {
            free(gns);
            return;
        }
        size_t j = 0;
        while (j < k->n && strcmp(k->items[j].tag, oc[i].tag) != 0)
            j++;
        if (j == k->n) {
            if (k->n == RC_MAX) item_drop(k, 0);
            j = k->n++;
        } else {
            json_object_put(k->items[j].obj);
            free(k->items[j].gone_ns);
        }
        k->items[j] = (rc_item){oc[i].tag, json_object_get(oc[i].object), now_ms, 0, gns, gk};
    }
}

static int
store_kind_of(json_object *obj, enum store_kind *out)
{
    static const struct {
        const char *kind;
        enum store_kind k;
    } map[] = {{"Pod", STORE_POD},
               {"Service", STORE_SERVICE},
               {"PersistentVolumeClaim", STORE_PVC},
               {"Sandbox", STORE_SANDBOX},
               {"SandboxClaim", STORE_CLAIM},
               {"SandboxWarmPool", STORE_POOL},
               {"SandboxTemplate", STORE_TEMPLATE},
               {"NetworkPolicy", STORE_NETPOL}};
    const char *kind = jx_str(obj, "kind");
    for (size_t i = 0; kind && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].kind, kind) == 0) {
            *out = map[i].k;
            return 1;
        }
    return 0;
}

typedef struct lazy_txn {
    store *st;
    store_rtxn *r;
    int failed;
} lazy_txn;

/* 1 when resourceVersion a >= b. resourceVersions are opaque to clients in
 * general, but every server we talk to issues etcd revisions (decimal
 * integers); anything else compares as "not known to be newer". */
static int
rv_at_least(const char *a, const char *b)
{
    if (a == NULL || b == NULL || *a == '\0' || *b == '\0') return 0;
    char *ea, *eb;
    unsigned long long va = strtoull(a, &ea, 10), vb = strtoull(b, &eb, 10);
    if (*ea != '\0' || *eb != '\0') return 0;
    return va >= vb;
}

/* A deleted object's entry: kept while the store still holds it. */
static int
still_gone_pending(rc_item *it, lazy_txn *t)
{
    json_object *d = jx_obj(it->obj, "details");
    if (t->st == NULL) return 1;
    if (t->r == NULL && !t->failed && store_rtxn_begin(t->st, &t->r) != 0) t->failed = 1;
    if (t->r == NULL) return 1;
    json_object *cached = NULL;
    int rc = store_get(t->r, it->gone_kind, it->gone_ns, jx_str_or(d, "name", ""), &cached);
    if (rc == ERR_NOTFOUND) return 0; /* the store saw the deletion */
    if (rc != 0) return 1;
    int same = strcmp(jx_str_or(cached, "metadata.uid", ""), jx_str_or(d, "uid", "")) == 0;
    json_object_put(cached);
    return same; /* another uid: recreated since, the store is the truth */
}

/* 1 keep, 0 drop: compare an entry with what the store holds now. */
static int
still_useful(rc_item *it, lazy_txn *t)
{
    if (it->gone_ns) return still_gone_pending(it, t);
    enum store_kind kind;
    const char *ns = jx_str(it->obj, "metadata.namespace"),
               *name = jx_str(it->obj, "metadata.name");
    if (t->st == NULL || ns == NULL || !store_kind_of(it->obj, &kind)) return 1;
    if (t->r == NULL && !t->failed && store_rtxn_begin(t->st, &t->r) != 0) t->failed = 1;
    if (t->r == NULL) return 1;
    json_object *cached = NULL;
    int rc = store_get(t->r, kind, ns, name, &cached);
    if (rc == ERR_NOTFOUND) return !it->seen; /* not yet seen: keep; seen, now gone: drop */
    if (rc != 0) return 1;
    int same =
        strcmp(jx_str_or(cached, "metadata.uid", ""), jx_str_or(it->obj, "metadata.uid", "")) == 0;
    int caught_up = same && rv_at_least(jx_str(cached, "metadata.resourceVersion"),
                                        jx_str(it->obj, "metadata.resourceVersion"));
    json_object_put(cached);
    if (!same) return 0; /* recreated: the store is newer */
    /* The store holds this write's result or a newer one: nothing left to
     * recall, and keeping the copy would only hold memory until the TTL
     * (a 10k-launch burst held several objects per key for 10 s). */
    if (caught_up) return 0;
    it->seen = 1;
    return 1;
}

int
ctl_recall_outcomes(ctl_recall *r, store *st, const char *key, const char *ns,
                    const rec_outcome *oc, size_t n, int64_t now_ms, const rec_outcome **out,
                    size_t *nout)
{
    *out = oc;
    *nout = n;
    if (r == NULL || key == NULL) return 0;
    if (++r->calls % RC_SWEEP == 0)
        for (size_t b = 0; b < RC_BUCKETS; b++)
            sweep_bucket(r, b, now_ms);
    remember(r, key, ns, oc, n, now_ms);
    rc_key *k = find(r, key, 0);
    if (k == NULL) return 0;
    expire(k, now_ms);
    lazy_txn t = {st, NULL, 0};
    size_t extra = 0;
    for (size_t i = 0; i < k->n;) {
        int superseded = 0;
        for (size_t j = 0; j < n && !superseded; j++)
            superseded = oc[j].tag && strcmp(oc[j].tag, k->items[i].tag) == 0;
        if (superseded) { /* this pass sees the newest outcome of that tag itself */
            i++;
            continue;
        }
        if (!still_useful(&k->items[i], &t)) {
            item_drop(k, i);
            continue;
        }
        extra++;
        i++;
    }
    store_rtxn_end(t.r); /* before the pass opens its own: one read txn per thread */
    if (k->n == 0) {
        sweep_bucket(r, hash(key) % RC_BUCKETS, -1);
        return 0;
    }
    if (extra == 0) return 0;
    if (r->cap < n + extra) {
        rec_outcome *s = realloc(r->scratch, (n + extra) * sizeof *s);
        if (s == NULL) return 0;
        r->scratch = s;
        r->cap = n + extra;
    }
    if (n) memcpy(r->scratch, oc, n * sizeof *oc);
    size_t m = n;
    for (size_t i = 0; i < k->n; i++) {
        int superseded = 0;
        for (size_t j = 0; j < n && !superseded; j++)
            superseded = oc[j].tag && strcmp(oc[j].tag, k->items[i].tag) == 0;
        if (superseded) continue;
        r->scratch[m++] = (rec_outcome){.tag = k->items[i].tag,
                                        .err = 0,
                                        .http_status = 200,
                                        .reason = "",
                                        .message = "",
                                        .object = k->items[i].obj};
    }
    *out = r->scratch;
    *nout = m;
    return 0;
}
