/* read.c - read transactions, lookups, listings and index queries.
 *
 * A read txn holds the store's resize lock shared for its whole life, so the
 * writer can only grow the map between readers (see env.c). An ended txn is
 * reset and kept (up to STORE__RTXN_KEEP, store-wide) so the next begin on
 * any thread costs an mdb_txn_renew instead of an allocation; a kept txn
 * pins no pages, only its reader slot, until store_close. Index queries
 * walk the dupsort entries of one index key and look each object up in the
 * same txn, so results are always consistent with the objects.
 */
#include "store/internal.h"

#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

struct store_rtxn {
    store *s;
    MDB_txn *txn;
};

/* Take a kept (reset) txn, or NULL. */
static store_rtxn *
rtxn_pop(store *s)
{
    store_rtxn *r = NULL;
    pthread_mutex_lock(&s->rtxn_lock);
    if (s->rtxn_nfree > 0) r = s->rtxn_free[--s->rtxn_nfree];
    pthread_mutex_unlock(&s->rtxn_lock);
    return r;
}

/* Keep a reset txn for the next begin; 0 when the stack is full. */
static int
rtxn_push(store *s, store_rtxn *r)
{
    int kept = 0;
    pthread_mutex_lock(&s->rtxn_lock);
    if (s->rtxn_nfree < STORE__RTXN_KEEP) {
        s->rtxn_free[s->rtxn_nfree++] = r;
        kept = 1;
    }
    pthread_mutex_unlock(&s->rtxn_lock);
    return kept;
}

int
store_rtxn_begin(store *s, store_rtxn **out)
{
    store_rtxn *r = rtxn_pop(s);
    int rc;
    *out = NULL;
    pthread_rwlock_rdlock(&s->resize_lock);
    if (r) {
        /* Renew takes a fresh snapshot in the reader slot the txn kept. */
        rc = mdb_txn_renew(r->txn);
        if (!rc) {
            *out = r;
            return 0;
        }
        mdb_txn_abort(r->txn);
    } else {
        r = malloc(sizeof *r);
        if (!r) {
            pthread_rwlock_unlock(&s->resize_lock);
            return ERR_NOMEM;
        }
        r->s = s;
    }
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
    if (rc) {
        pthread_rwlock_unlock(&s->resize_lock);
        free(r);
        return store__from_mdb(rc);
    }
    *out = r;
    return 0;
}

void
store_rtxn_end(store_rtxn *r)
{
    store *s;
    if (!r) return;
    s = r->s;
    /* Reset releases the snapshot at once (the writer may reuse its pages,
     * the map may grow); only the reader slot stays with the txn. */
    mdb_txn_reset(r->txn);
    pthread_rwlock_unlock(&s->resize_lock);
    if (rtxn_push(s, r)) return;
    mdb_txn_abort(r->txn);
    free(r);
}

void
store__rtxn_drain(store *s)
{
    pthread_mutex_lock(&s->rtxn_lock);
    while (s->rtxn_nfree > 0) {
        store_rtxn *r = s->rtxn_free[--s->rtxn_nfree];
        mdb_txn_abort(r->txn);
        free(r);
    }
    pthread_mutex_unlock(&s->rtxn_lock);
}

/* Fill an item from an object key (ns\0name\0) and its value. */
static int
item_from(enum store_kind kind, const MDB_val *k, const MDB_val *v, store_item *it)
{
    const char *p = k->mv_data;
    size_t nsl = strnlen(p, k->mv_size);
    if (nsl + 2 > k->mv_size || p[k->mv_size - 1] != 0) return ERR_CORRUPT;
    it->kind = kind;
    it->ns = p;
    it->name = p + nsl + 1;
    it->data = v->mv_data;
    it->len = v->mv_size;
    return 0;
}

int
store_get_raw(store_rtxn *r, enum store_kind kind, const char *ns, const char *name,
              store_item *out)
{
    char kb[STORE__KEY_MAX];
    MDB_val k, v;
    int rc;
    if ((unsigned)kind >= STORE_KIND_COUNT || !ns || !name) return ERR_INVALID;
    k.mv_size = store__obj_key(kb, sizeof kb, ns, strlen(ns), name, strlen(name));
    k.mv_data = kb;
    if (!k.mv_size) return ERR_NOTFOUND;
    rc = mdb_get(r->txn, r->s->obj[kind], &k, &v);
    if (rc) return store__from_mdb(rc);
    out->kind = kind;
    out->ns = ns; /* the caller's strings (or, from idx_walk, the index's in the map) */
    out->name = name;
    out->data = v.mv_data;
    out->len = v.mv_size;
    return 0;
}

int
store_get(store_rtxn *r, enum store_kind kind, const char *ns, const char *name, json_object **out)
{
    store_item it;
    int rc = store_get_raw(r, kind, ns, name, &it);
    *out = NULL;
    if (rc) return rc;
    return store_decode(&it, out);
}

int
store_list(store_rtxn *r, enum store_kind kind, const char *ns, store_item_cb cb, void *udata)
{
    MDB_cursor *c;
    MDB_val k, v;
    size_t nsl = ns ? strlen(ns) + 1 : 0; /* prefix includes the NUL */
    int rc, op;

    if ((unsigned)kind >= STORE_KIND_COUNT) return ERR_INVALID;
    rc = mdb_cursor_open(r->txn, r->s->obj[kind], &c);
    if (rc) return store__from_mdb(rc);
    if (ns) {
        k.mv_size = nsl;
        k.mv_data = (void *)ns;
        op = MDB_SET_RANGE;
    } else {
        op = MDB_FIRST;
    }
    for (rc = mdb_cursor_get(c, &k, &v, op); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        store_item it;
        if (ns && (k.mv_size < nsl || memcmp(k.mv_data, ns, nsl) != 0)) break;
        if (item_from(kind, &k, &v, &it)) continue;
        int stop = cb(&it, udata);
        if (stop) {
            mdb_cursor_close(c);
            return stop;
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : store__from_mdb(rc);
}

/* Walk the dupsort values under key in index ix; resolve each to an object. */
static int
idx_walk(store_rtxn *r, enum store__idx ix, const char *key, size_t klen, enum store_kind kind,
         const char *ns, store_item_cb cb, void *udata)
{
    MDB_cursor *c;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_cursor_open(r->txn, r->s->idx[ix], &c);
    if (rc) return store__from_mdb(rc);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
        const char *p = v.mv_data;
        enum store_kind ok = kind;
        const char *ons = ns, *oname = p;
        store_item it;
        if (v.mv_size < 2 || p[v.mv_size - 1] != 0) continue;
        if (ix == STORE_IDX_OWNER) {
            ok = (enum store_kind)(unsigned char)p[0];
            if ((unsigned)ok >= STORE_KIND_COUNT) continue;
            if (kind != STORE_KIND_COUNT && ok != kind) continue;
            ons = p + 1;
            oname = ons + strnlen(ons, v.mv_size - 1) + 1;
            if (oname >= p + v.mv_size) continue;
        }
        int grc = store_get_raw(r, ok, ons, oname, &it);
        if (grc == ERR_NOTFOUND) {
            LOG_W("store", "index entry without object", "kind=%s ns=%s name=%s",
                  store_kind_name(ok), ons, oname);
            continue;
        }
        if (grc) {
            mdb_cursor_close(c);
            return grc;
        }
        int stop = cb(&it, udata);
        if (stop) {
            mdb_cursor_close(c);
            return stop;
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : store__from_mdb(rc);
}

int
store_children(store_rtxn *r, const char *owner_uid, enum store_kind kind, store_item_cb cb,
               void *udata)
{
    if (!owner_uid || !*owner_uid || (unsigned)kind > STORE_KIND_COUNT) return ERR_INVALID;
    return idx_walk(r, STORE_IDX_OWNER, owner_uid, strlen(owner_uid) + 1, kind, NULL, cb, udata);
}

static int
ns_query(store_rtxn *r, enum store__idx ix, enum store_kind kind, const char *ns, const char *val,
         store_item_cb cb, void *udata)
{
    char kb[STORE__KEY_MAX];
    size_t n;
    if (!ns || !val) return ERR_INVALID;
    n = store__obj_key(kb, sizeof kb, ns, strlen(ns), val, strlen(val));
    if (!n) return 0;
    return idx_walk(r, ix, kb, n, kind, ns, cb, udata);
}

int
store_pods_by_hash(store_rtxn *r, const char *ns, const char *hash, store_item_cb cb, void *udata)
{
    return ns_query(r, STORE_IDX_PODHASH, STORE_POD, ns, hash, cb, udata);
}

int
store_sandboxes_by_pool(store_rtxn *r, const char *ns, const char *poolhash, store_item_cb cb,
                        void *udata)
{
    return ns_query(r, STORE_IDX_POOLSB, STORE_SANDBOX, ns, poolhash, cb, udata);
}

int
store_claims_by_pool(store_rtxn *r, const char *ns, const char *pool, store_item_cb cb, void *udata)
{
    return ns_query(r, STORE_IDX_CLAIMPOOL, STORE_CLAIM, ns, pool, cb, udata);
}

int
store_count(store_rtxn *r, enum store_kind kind, size_t *out)
{
    MDB_stat st;
    int rc;
    *out = 0;
    if ((unsigned)kind >= STORE_KIND_COUNT) return ERR_INVALID;
    rc = mdb_stat(r->txn, r->s->obj[kind], &st);
    if (rc) return store__from_mdb(rc);
    *out = st.ms_entries;
    return 0;
}

int
store_get_rv(store_rtxn *r, enum store_kind kind, char *buf, size_t buflen)
{
    char kb[32];
    MDB_val k, v;
    int rc;
    if ((unsigned)kind >= STORE_KIND_COUNT || buflen == 0) return ERR_INVALID;
    buf[0] = 0;
    k.mv_size = (size_t)snprintf(kb, sizeof kb, "rv.%s", store_kind_name(kind));
    k.mv_data = kb;
    rc = mdb_get(r->txn, r->s->meta, &k, &v);
    if (rc) return store__from_mdb(rc);
    if (v.mv_size >= buflen) return ERR_TOOLARGE;
    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size] = 0;
    return 0;
}
