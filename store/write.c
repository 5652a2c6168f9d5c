/* write.c - the writer: one LMDB write txn per batch, indexes and the
 * change feed kept in step with the objects.
 *
 * Every operation is applied to the LMDB txn at once AND recorded in an op
 * log (the encoded object, the deleted key, the resourceVersion). When LMDB
 * answers MDB_MAP_FULL (on a put or at commit) the txn is aborted, the map
 * grown (env.c) and the log replayed into a new txn, so a batch is never
 * half-applied and the caller never sees the growth.
 *
 * Change records are built while applying; their strings live in the txn's
 * arena, so the feed callback gets keys and owners without object copies.
 */
#include "store/internal.h"

#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

enum op_type { OP_PUT = 1, OP_DEL, OP_RV };

typedef struct store_op {
    unsigned char type, kind;
    char *buf; /* OP_PUT: msgpack; OP_DEL: ns\0name\0; OP_RV: rv string (may be "") */
    size_t len;
} store_op;

/* Bump allocator for change-record strings: chunks freed together. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

struct store_wtxn {
    store *s;
    MDB_txn *txn;
    store_op *ops;
    size_t nops, capops;
    store_change *ch;
    size_t nch, capch;
    arena_chunk *arena;
    int broken; /* an LMDB error other than MAP_FULL: only abort remains */
};

static void
arena_free(arena_chunk *a)
{
    while (a) {
        arena_chunk *n = a->next;
        free(a);
        a = n;
    }
}

static const char *
arena_str(store_wtxn *w, const char *p, size_t n)
{
    arena_chunk *a = w->arena;
    if (!p) return NULL;
    if (!a || a->cap - a->used < n + 1) {
        size_t cap = n + 1 > 16384 ? n + 1 : 16384;
        a = malloc(sizeof *a + cap);
        if (!a) return NULL;
        a->next = w->arena;
        a->used = 0;
        a->cap = cap;
        w->arena = a;
    }
    char *d = a->data + a->used;
    memcpy(d, p, n);
    d[n] = 0;
    a->used += n + 1;
    return d;
}

static const char *
arena_s(store_wtxn *w, const store__str *s)
{
    return s->n ? arena_str(w, s->p, s->n) : NULL;
}

static int
add_change(store_wtxn *w, enum store_kind kind, enum store_event type, const store__keys *k,
           const store__keys *old)
{
    store_change *c;
    if (w->nch == w->capch) {
        size_t cap = w->capch ? w->capch * 2 : 64;
        store_change *n = realloc(w->ch, cap * sizeof *n);
        if (!n) return ERR_NOMEM;
        w->ch = n;
        w->capch = cap;
    }
    c = &w->ch[w->nch];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->type = type;
    c->ns = arena_s(w, &k->ns);
    c->name = arena_s(w, &k->name);
    if (!c->ns || !c->name) return ERR_NOMEM;
    c->uid = arena_s(w, &k->uid);
    c->owner_uid = arena_s(w, &k->own_uid);
    c->owner_kind = arena_s(w, &k->own_kind);
    c->owner_name = arena_s(w, &k->own_name);
    if (old && old->own_uid.n &&
        (old->own_uid.n != k->own_uid.n || memcmp(old->own_uid.p, k->own_uid.p, k->own_uid.n))) {
        c->old_owner_uid = arena_s(w, &old->own_uid);
        c->old_owner_kind = arena_s(w, &old->own_kind);
        c->old_owner_name = arena_s(w, &old->own_name);
    }
    w->nch++;
    return 0;
}

static int
str_eq(const store__str *a, const store__str *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/* MDB codes (positive errno, or the MDB_* band) become ERR_*; ERR_* pass. */
static int
to_err(int rc)
{
    if (rc > 0 || (rc <= MDB_LAST_ERRCODE && rc >= MDB_KEYEXIST)) return store__from_mdb(rc);
    return rc;
}

/* Apply one encoded object: store it, move its index entries, record the
 * change. Returns 0, ERR_INVALID (nothing touched), or an MDB code. The old
 * value's slices are used (change record copied, index entries removed)
 * before mdb_put may rewrite its page. */
static int
apply_put(store_wtxn *w, enum store_kind kind, const char *buf, size_t len)
{
    store *s = w->s;
    store__keys nk, ok, orm;
    char kb[STORE__KEY_MAX];
    MDB_val key, val, old;
    int rc, had_old;

    rc = store__keys_extract(kind, buf, len, &nk);
    if (rc) return ERR_INVALID;
    key.mv_size = store__obj_key(kb, sizeof kb, nk.ns.p, nk.ns.n, nk.name.p, nk.name.n);
    key.mv_data = kb;
    rc = mdb_get(w->txn, s->obj[kind], &key, &old);
    if (rc && rc != MDB_NOTFOUND) return rc;
    had_old = rc == 0;
    if (had_old && old.mv_size == len && memcmp(old.mv_data, buf, len) == 0)
        return 0; /* unchanged: no write, no change record */
    if (had_old && store__keys_extract(kind, old.mv_data, old.mv_size, &ok)) {
        LOG_W("store", "stored object undecodable: replacing it", "kind=%s", store_kind_name(kind));
        memset(&ok, 0, sizeof ok);
    }
    rc = add_change(w, kind, had_old ? STORE_MODIFIED : STORE_ADDED, &nk, had_old ? &ok : NULL);
    if (rc) return rc;
    /* Index entries that stay the same are neither removed nor re-added. */
    if (had_old) {
        orm = ok;
        orm.ns = nk.ns;
        orm.name = nk.name;
        for (int ix = 0; ix < STORE_IDX_COUNT; ix++)
            if (str_eq(&orm.idx_val[ix], &nk.idx_val[ix])) orm.idx_val[ix].n = nk.idx_val[ix].n = 0;
        rc = store__idx_apply(s, w->txn, kind, &orm, 0);
        if (rc) return rc;
    }
    val.mv_size = len;
    val.mv_data = (void *)buf;
    rc = mdb_put(w->txn, s->obj[kind], &key, &val, 0);
    if (!rc) rc = store__idx_apply(s, w->txn, kind, &nk, 1);
    return rc;
}

static int
apply_del(store_wtxn *w, enum store_kind kind, const char *kb, size_t klen)
{
    store *s = w->s;
    MDB_val key = {klen, (void *)kb}, old;
    store__keys ok;
    int rc = mdb_get(w->txn, s->obj[kind], &key, &old);

    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return rc;
    if (store__keys_extract(kind, old.mv_data, old.mv_size, &ok) == 0) {
        rc = add_change(w, kind, STORE_DELETED, &ok, NULL);
        if (!rc) rc = store__idx_apply(s, w->txn, kind, &ok, 0);
        if (rc) return rc;
    } else {
        LOG_W("store", "stored object undecodable: deleting it", "kind=%s", store_kind_name(kind));
    }
    return mdb_del(w->txn, s->obj[kind], &key, NULL);
}

static int
apply_rv(store_wtxn *w, enum store_kind kind, const char *rv, size_t len)
{
    char kb[32];
    MDB_val key, val = {len, (void *)rv};
    key.mv_size = (size_t)snprintf(kb, sizeof kb, "rv.%s", store_kind_name(kind));
    key.mv_data = kb;
    if (len == 0) {
        int rc = mdb_del(w->txn, w->s->meta, &key, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return mdb_put(w->txn, w->s->meta, &key, &val, 0);
}

static int
apply_op(store_wtxn *w, const store_op *op)
{
    switch (op->type) {
    case OP_PUT:
        return apply_put(w, op->kind, op->buf, op->len);
    case OP_DEL:
        return apply_del(w, op->kind, op->buf, op->len);
    default:
        return apply_rv(w, op->kind, op->buf, op->len);
    }
}

static void
reset_changes(store_wtxn *w)
{
    arena_free(w->arena);
    w->arena = NULL;
    w->nch = 0;
}

/* MAP_FULL: abort, grow, and replay every op recorded so far into a new txn. */
static int
grow_and_replay(store_wtxn *w)
{
    for (;;) {
        int rc;
        mdb_txn_abort(w->txn);
        w->txn = NULL;
        reset_changes(w);
        rc = store__grow(w->s);
        if (rc) return rc;
        rc = mdb_txn_begin(w->s->env, NULL, 0, &w->txn);
        if (rc) return store__from_mdb(rc);
        for (size_t i = 0; !rc && i < w->nops; i++)
            rc = apply_op(w, &w->ops[i]);
        if (rc == MDB_MAP_FULL) continue;
        return to_err(rc);
    }
}

/* Apply a new op and log it; the op owns buf from here on (freed on failure). */
static int
do_op(store_wtxn *w, unsigned char type, enum store_kind kind, char *buf, size_t len)
{
    int rc;
    if (w->broken) {
        free(buf);
        return ERR_INVALID;
    }
    if (w->nops == w->capops) {
        size_t cap = w->capops ? w->capops * 2 : 64;
        store_op *n = realloc(w->ops, cap * sizeof *n);
        if (!n) {
            free(buf);
            return ERR_NOMEM;
        }
        w->ops = n;
        w->capops = cap;
    }
    store_op *op = &w->ops[w->nops];
    op->type = type;
    op->kind = (unsigned char)kind;
    op->buf = buf;
    op->len = len;
    rc = apply_op(w, op);
    if (rc == MDB_MAP_FULL) {
        w->nops++;
        rc = grow_and_replay(w);
        if (rc) w->broken = 1;
        return rc;
    }
    if (rc == ERR_INVALID) {
        /* Refused before LMDB was touched: the txn stays usable. */
        free(buf);
        return rc;
    }
    if (rc) {
        free(buf);
        w->broken = 1;
        return to_err(rc);
    }
    w->nops++;
    return 0;
}

int
store_wtxn_begin(store *s, store_wtxn **out)
{
    store_wtxn *w;
    int rc;
    *out = NULL;
    if (s->wtxn_open) return ERR_INVALID;
    w = calloc(1, sizeof *w);
    if (!w) return ERR_NOMEM;
    w->s = s;
    rc = mdb_txn_begin(s->env, NULL, 0, &w->txn);
    if (rc) {
        free(w);
        return store__from_mdb(rc);
    }
    s->wtxn_open = 1;
    *out = w;
    return 0;
}

int
store_put(store_wtxn *w, enum store_kind kind, json_object *obj)
{
    char *buf;
    size_t len;
    int rc;
    if ((unsigned)kind >= STORE_KIND_COUNT) return ERR_INVALID;
    rc = store_encode(kind, obj, &buf, &len);
    if (rc) return rc == ERR_NOMEM ? rc : ERR_INVALID;
    return do_op(w, OP_PUT, kind, buf, len);
}

int
store_put_encoded(store_wtxn *w, enum store_kind kind, char *buf, size_t len)
{
    if ((unsigned)kind >= STORE_KIND_COUNT || !buf) {
        free(buf);
        return ERR_INVALID;
    }
    return do_op(w, OP_PUT, kind, buf, len);
}

int
store_delete(store_wtxn *w, enum store_kind kind, const char *ns, const char *name)
{
    size_t nsl, nl;
    char *buf;
    if ((unsigned)kind >= STORE_KIND_COUNT || !ns || !name) return ERR_INVALID;
    nsl = strlen(ns);
    nl = strlen(name);
    if (!nsl || !nl || nsl > STORE_MAX_NAME || nl > STORE_MAX_NAME) return ERR_INVALID;
    buf = malloc(nsl + nl + 2);
    if (!buf) return ERR_NOMEM;
    return do_op(w, OP_DEL, kind, buf, store__obj_key(buf, nsl + nl + 2, ns, nsl, name, nl));
}

int
store_set_rv(store_wtxn *w, enum store_kind kind, const char *rv)
{
    size_t n = rv ? strlen(rv) : 0;
    char *buf;
    if ((unsigned)kind >= STORE_KIND_COUNT || n > STORE_MAX_RV) return ERR_INVALID;
    buf = malloc(n + 1);
    if (!buf) return ERR_NOMEM;
    memcpy(buf, rv ? rv : "", n + 1);
    return do_op(w, OP_RV, kind, buf, n);
}

size_t
store_wtxn_changes(const store_wtxn *w)
{
    return w->nch;
}

static void
wtxn_free(store_wtxn *w)
{
    if (w->txn) mdb_txn_abort(w->txn);
    for (size_t i = 0; i < w->nops; i++)
        free(w->ops[i].buf);
    free(w->ops);
    free(w->ch);
    arena_free(w->arena);
    w->s->wtxn_open = 0;
    free(w);
}

void
store_wtxn_abort(store_wtxn *w)
{
    if (w) wtxn_free(w);
}

int
store_wtxn_commit(store_wtxn *w)
{
    store *s = w->s;
    int rc;
    if (w->broken) {
        wtxn_free(w);
        return ERR_INVALID;
    }
    for (;;) {
        rc = mdb_txn_commit(w->txn);
        w->txn = NULL;
        if (rc != MDB_MAP_FULL) break;
        /* The txn is gone after a failed commit: start over with a bigger map. */
        reset_changes(w);
        rc = store__grow(s);
        if (!rc) rc = mdb_txn_begin(s->env, NULL, 0, &w->txn);
        for (size_t i = 0; !rc && i < w->nops; i++)
            rc = apply_op(w, &w->ops[i]);
        if (rc == MDB_MAP_FULL) rc = grow_and_replay(w);
        if (rc) break;
    }
    if (rc) {
        rc = to_err(rc);
        LOG_E("store", "cache commit failed", "dir=%s err=%s", s->dir, err_str(rc));
        wtxn_free(w);
        return rc;
    }
    s->commits++;
    if (s->feed && w->nch) s->feed(w->ch, w->nch, s->feed_udata);
    wtxn_free(w);
    return 0;
}
