/* internal.h - private to store/: the environment struct, key layouts and the
 * index-field extractor shared by env.c, write.c, read.c and index.c. */
#ifndef ASC_STORE_INTERNAL_H
#define ASC_STORE_INTERNAL_H

#include "store/store.h"

#include <lmdb.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdint.h>

enum store__idx {
    STORE_IDX_OWNER = 0,
    STORE_IDX_PODHASH,
    STORE_IDX_POOLSB,
    STORE_IDX_CLAIMPOOL,
    STORE_IDX_COUNT
};

#define STORE__RTXN_KEEP 16 /* reset read txns kept for reuse (each holds a reader slot) */

struct store {
    MDB_env *env;
    MDB_dbi meta;
    MDB_dbi obj[STORE_KIND_COUNT];
    MDB_dbi idx[STORE_IDX_COUNT];
    char *dir;
    size_t map_size, max_map_size;
    int max_readers, durable;
    /* Readers hold it shared for their txn's life; the writer takes it
     * exclusively only to grow the map (mdb_env_set_mapsize needs every txn
     * of the process closed). */
    pthread_rwlock_t resize_lock;
    /* Ended read txns kept reset (read.c): a begin renews one instead of
     * allocating a txn (~27k instructions, mostly calloc). MDB_NOTLS lets a
     * reset txn move between threads, so one store-wide stack serves every
     * thread and no thread has to hand anything back when it ends. */
    pthread_mutex_t rtxn_lock;
    struct store_rtxn *rtxn_free[STORE__RTXN_KEEP];
    int rtxn_nfree;
    store_feed_cb feed;
    void *feed_udata;
    int wtxn_open;
    uint64_t grows, commits;
};

/* A (pointer, length) slice into msgpack bytes; not NUL-terminated. */
typedef struct store__str {
    const char *p;
    uint32_t n;
} store__str;

/* The fields of a stored object that keys and indexes are made of. */
typedef struct store__keys {
    store__str ns, name, uid;
    store__str own_uid, own_kind, own_name; /* controller ownerReference */
    store__str idx_val[STORE_IDX_COUNT];    /* index key part per index (n == 0: none) */
} store__keys;

/* Walk the msgpack of a slimmed object (mpwalk.c, no allocation) and fill k
 * with slices into data. ERR_INVALID when name/namespace are missing, empty,
 * too long or contain NUL; ERR_CORRUPT when the bytes are not valid msgpack. */
int store__keys_extract(enum store_kind kind, const void *data, size_t len, store__keys *k);

/* Key dictionary (dict.c): id of a map key, or -1; the key of an id, or NULL. */
int store__dict_id(const char *s, size_t n);
const char *store__dict_key(uint64_t id);

/* Object key: ns NUL name NUL. Returns the length, or 0 if it does not fit. */
size_t store__obj_key(char *buf, size_t cap, const char *ns, size_t nsl, const char *name,
                      size_t namel);
/* Index entry: key (ns NUL part NUL, or uid NUL for the owner index) and a
 * dupsort value (kind byte, ns NUL name NUL for the owner index; name NUL otherwise). */
size_t store__idx_key(char *buf, size_t cap, enum store__idx ix, const store__keys *k);
size_t store__idx_val(char *buf, size_t cap, enum store__idx ix, enum store_kind kind,
                      const store__keys *k);

/* Add (add=1) or remove index entries of k inside txn. Returns 0, ERR_INVALID,
 * or a raw MDB code (MDB_MAP_FULL must reach write.c unchanged). */
int store__idx_apply(store *s, MDB_txn *txn, enum store_kind kind, const store__keys *k, int add);

int store__from_mdb(int rc);
/* Open or create every sub-database in txn. */
int store__dbis_open(store *s, MDB_txn *txn);
/* Grow the map (writer, no txn open). ERR_FULL at the limit. */
int store__grow(store *s);
/* Abort the kept read txns (store_close, before mdb_env_close). */
void store__rtxn_drain(store *s);

#define STORE__KEY_MAX 512

/* msgpack-c unpacks at most 32 nested containers (MSGPACK_EMBED_STACK_SIZE);
 * the top-level map is depth 0, so containers may sit at depth 31 at most. */
#define STORE__MAX_DEPTH 31

/* Slimming (codec.c): top-level keys kept per kind; sub == NULL keeps the
 * whole value, else only those keys of an object value. metadata is always
 * kept (minus managedFields) and is not listed. */
typedef struct store__slim_rule {
    const char *key;
    const char *const *sub;
} store__slim_rule;
/* The kind's rules (NULL-key terminated), or NULL: every key kept. */
const store__slim_rule *store__slim_rules(enum store_kind kind);

/* n bytes at p, big-endian (msgpack's integer and length fields). */
static inline uint64_t
store__be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif
