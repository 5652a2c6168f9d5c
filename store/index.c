/* index.c - object keys and secondary indexes.
 *
 * Sub-databases (all keys and values are bytes; "\0" separates parts and
 * ends each one, so strings inside the map are NUL-terminated and can be
 * handed out without copying):
 *
 *   obj.<kind>      ns\0name\0                 -> msgpack of the slimmed object
 *   idx.owner       owner-uid\0                -> kind(1 byte) ns\0name\0   (dupsort)
 *   idx.podhash     ns\0sandbox-name-hash\0    -> name\0                    (dupsort, pods)
 *   idx.poolsb      ns\0warm-pool-sandbox\0    -> name\0                    (dupsort, sandboxes)
 *   idx.claimpool   ns\0warmPoolRef.name\0     -> name\0                    (dupsort, claims)
 *   meta            "magic", "schema", "server", "crd_uid", "rv.<kind>" -> string
 *
 * The owner index covers every kind (controller ownerReference only). The
 * writer keeps indexes in the same txn as the object: it reads the stored
 * value, extracts the old index fields, removes the entries that changed
 * and adds the new ones (write.c).
 */
#include "store/internal.h"

#include "core/err.h"

#include <string.h>

size_t
store__obj_key(char *buf, size_t cap, const char *ns, size_t nsl, const char *name, size_t namel)
{
    size_t n = nsl + namel + 2;
    if (n > cap) return 0;
    memcpy(buf, ns, nsl);
    buf[nsl] = 0;
    memcpy(buf + nsl + 1, name, namel);
    buf[n - 1] = 0;
    return n;
}

size_t
store__idx_key(char *buf, size_t cap, enum store__idx ix, const store__keys *k)
{
    const store__str *v = &k->idx_val[ix];
    if (ix == STORE_IDX_OWNER) {
        if (v->n + 1 > cap) return 0;
        memcpy(buf, v->p, v->n);
        buf[v->n] = 0;
        return v->n + 1;
    }
    return store__obj_key(buf, cap, k->ns.p, k->ns.n, v->p, v->n);
}

size_t
store__idx_val(char *buf, size_t cap, enum store__idx ix, enum store_kind kind,
               const store__keys *k)
{
    if (ix == STORE_IDX_OWNER) {
        if (cap < 1) return 0;
        buf[0] = (char)kind;
        size_t n = store__obj_key(buf + 1, cap - 1, k->ns.p, k->ns.n, k->name.p, k->name.n);
        return n ? n + 1 : 0;
    }
    if (k->name.n + 1 > cap) return 0;
    memcpy(buf, k->name.p, k->name.n);
    buf[k->name.n] = 0;
    return k->name.n + 1;
}

int
store__idx_apply(store *s, MDB_txn *txn, enum store_kind kind, const store__keys *k, int add)
{
    char kb[STORE__KEY_MAX], vb[STORE__KEY_MAX];

    for (int ix = 0; ix < STORE_IDX_COUNT; ix++) {
        if (!k->idx_val[ix].n) continue;
        MDB_val key = {store__idx_key(kb, sizeof kb, ix, k), kb};
        MDB_val val = {store__idx_val(vb, sizeof vb, ix, kind, k), vb};
        int rc;
        if (!key.mv_size || !val.mv_size) return ERR_INVALID;
        rc = add ? mdb_put(txn, s->idx[ix], &key, &val, 0) : mdb_del(txn, s->idx[ix], &key, &val);
        if (rc && !(rc == MDB_NOTFOUND && !add)) return rc; /* raw: MAP_FULL must reach write.c */
    }
    return 0;
}
