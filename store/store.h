/* store.h - the LMDB cache of the slimmed objects the controller reads.
 *
 * One LMDB environment per controller (directory from --cache-dir) holding
 * every watched object, slimmed to the fields the reconcilers read and
 * encoded with msgpack, plus secondary indexes and the last resourceVersion
 * per resource. It belongs to one cluster: the server URL and the uid of the
 * CRD sandboxes.agents.x-k8s.io are recorded, and a cache recorded for
 * another cluster is emptied, and one with another schema version, without
 * our records, or that LMDB cannot read has its files replaced: never misread.
 *
 * Slimming (what a reader gets back): managedFields are dropped everywhere.
 * Sandbox, SandboxClaim, SandboxWarmPool, SandboxTemplate: everything else.
 * Pod: apiVersion, kind, metadata, spec.nodeName, status.{phase, conditions,
 * podIPs, podIP}. Service, NetworkPolicy: apiVersion, kind, metadata, spec.
 * PVC: apiVersion, kind, metadata. Objects nested deeper than 32 levels are
 * refused (ERR_INVALID from store_put).
 *
 * Threads: ONE writer (the I/O thread, via store_wtxn_*). Readers on any
 * thread, each inside its own read transaction (MDB_NOTLS: a read txn may be
 * begun on one thread and ended on another, but at most one read txn per
 * thread at a time: never nest them, and never hold one on the writer thread
 * across a write). Readers never block the writer, except while the map
 * grows (rare: the writer then waits for open read txns to end, and new ones
 * wait for the growth).
 *
 * Memory: store_item views (ns, name, data) point into the LMDB map and stay
 * valid until their read txn ends; never write through them. Decoded
 * json_objects (store_get, store_decode) belong to the caller
 * (json_object_put). Change-feed records are valid during the callback only.
 *
 * Returns: 0 or a negative ERR_* (core/err.h) code; MDB_* codes never leave
 * this module. ERR_NOTFOUND for an absent key, ERR_FULL when the map cannot
 * grow further, ERR_INVALID for an object without a usable name/namespace,
 * ERR_CORRUPT when LMDB reports a damaged page at run time.
 */
#ifndef ASC_STORE_H
#define ASC_STORE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 2
#define STORE_MAX_NAME       253 /* longest namespace or name accepted */
#define STORE_MAX_RV         64  /* longest resourceVersion accepted */

enum store_kind {
    STORE_SANDBOX = 0,
    STORE_CLAIM,
    STORE_POOL,
    STORE_TEMPLATE,
    STORE_POD,
    STORE_SERVICE,
    STORE_PVC,
    STORE_NETPOL,
    STORE_KIND_COUNT
};

/* "sandbox", "claim", ... (stable: used in LMDB sub-database names and logs). */
const char *store_kind_name(enum store_kind k);

typedef struct store store;
typedef struct store_wtxn store_wtxn;
typedef struct store_rtxn store_rtxn;

typedef struct store_open_opts {
    size_t map_size;     /* initial map size; 0: 8 GiB (sparse, costs nothing until used) */
    size_t max_map_size; /* growth stops here (ERR_FULL); 0: 256 GiB */
    int max_readers;     /* concurrent read txns; 0: 512 */
    int durable;         /* 1: fsync every commit. 0 (default): MDB_NOSYNC, since the
                          * cache is rebuildable; a system crash only rolls it back to an
                          * older consistent state (older objects with their older RVs). */
} store_open_opts;

/* Open (creating dir and files as needed). o may be NULL. A file LMDB cannot
 * open, that lacks our meta records, or carries another schema version is
 * logged and replaced by an empty environment. On failure *out is NULL and
 * err holds a one-line reason. */
int store_open(const char *dir, const store_open_opts *o, store **out, char *err, size_t errlen);
/* No txn may be open. NULL is a no-op. */
void store_close(store *s);

/* Compare the recorded cluster identity with (server_url, crd_uid). When it
 * differs (or none is recorded), every object, index and resourceVersion is
 * discarded and the new identity recorded; *discarded (may be NULL) says
 * whether anything was dropped. Writer thread, no txn open. */
int store_check_identity(store *s, const char *server_url, const char *crd_uid, int *discarded);
/* Discard everything (identity included). Writer thread, no txn open. */
int store_reset(store *s);

/* ---- change feed ------------------------------------------------------ */

enum store_event { STORE_ADDED = 1, STORE_MODIFIED, STORE_DELETED };

/* One committed change. owner_* name the controller ownerReference of the
 * object as now stored (for DELETED: as it was); old_owner_* are set only
 * when an update changed (or removed) the controller owner. Owners live in
 * the object's namespace. Strings are NUL-terminated; absent ones are NULL. */
typedef struct store_change {
    enum store_kind kind;
    enum store_event type;
    const char *ns, *name, *uid;
    const char *owner_kind, *owner_name, *owner_uid;
    const char *old_owner_kind, *old_owner_name, *old_owner_uid;
} store_change;

/* Runs on the writer thread right after a successful commit, once per commit
 * with at least one change, in the order the changes were made. An update
 * whose slimmed encoding equals what is stored produces no change. */
typedef void (*store_feed_cb)(const store_change *changes, size_t n, void *udata);
void store_set_feed(store *s, store_feed_cb cb, void *udata);

/* ---- write side (writer thread only, one wtxn at a time) --------------- */

int store_wtxn_begin(store *s, store_wtxn **out);
/* Insert or replace the object (keyed by metadata.namespace/name). obj is
 * only read. ERR_INVALID (nothing changed, the txn stays usable) for an
 * object without name/namespace or with unencodable content. */
int store_put(store_wtxn *w, enum store_kind kind, json_object *obj);
/* Same with an object already slimmed and encoded by store_encode(kind, ...).
 * Takes ownership of buf (malloc'd) in every case. Lets the informer encode
 * while the decoded json is still hot and queue 400 bytes instead of a tree. */
int store_put_encoded(store_wtxn *w, enum store_kind kind, char *buf, size_t len);
/* Remove; absent is not an error (no change is emitted). */
int store_delete(store_wtxn *w, enum store_kind kind, const char *ns, const char *name);
/* Record the resourceVersion the batch ends at (rv NULL or "" removes it). */
int store_set_rv(store_wtxn *w, enum store_kind kind, const char *rv);
/* Number of changes so far (the pending feed). */
size_t store_wtxn_changes(const store_wtxn *w);
/* Commit (growing the map and replaying the batch if it was full), then run
 * the feed callback; frees w in every case. On error nothing was committed. */
int store_wtxn_commit(store_wtxn *w);
void store_wtxn_abort(store_wtxn *w);

/* ---- read side (any thread) ------------------------------------------- */

typedef struct store_item {
    enum store_kind kind;
    const char *ns, *name; /* NUL-terminated, inside the map */
    const void *data;      /* msgpack of the slimmed object */
    size_t len;
} store_item;

/* Return 0 to continue, anything else to stop (store_list etc. return it). */
typedef int (*store_item_cb)(const store_item *it, void *udata);

int store_rtxn_begin(store *s, store_rtxn **out);
void store_rtxn_end(store_rtxn *r); /* NULL is a no-op */

/* Decoded copy (caller puts). ERR_NOTFOUND if absent. */
int store_get(store_rtxn *r, enum store_kind kind, const char *ns, const char *name,
              json_object **out);
/* Zero-copy view of data, valid until the txn ends; out->ns/name are the
 * ns/name pointers passed in. */
int store_get_raw(store_rtxn *r, enum store_kind kind, const char *ns, const char *name,
                  store_item *out);
/* Every object of kind, in (ns, name) byte order; ns NULL: all namespaces. */
int store_list(store_rtxn *r, enum store_kind kind, const char *ns, store_item_cb cb, void *udata);
/* Objects of kind (STORE_KIND_COUNT: any kind) whose controller owner has uid. */
int store_children(store_rtxn *r, const char *owner_uid, enum store_kind kind, store_item_cb cb,
                   void *udata);
/* Pods in ns labelled agents.x-k8s.io/sandbox-name-hash=hash. */
int store_pods_by_hash(store_rtxn *r, const char *ns, const char *hash, store_item_cb cb,
                       void *udata);
/* Sandboxes in ns labelled agents.x-k8s.io/warm-pool-sandbox=poolhash. */
int store_sandboxes_by_pool(store_rtxn *r, const char *ns, const char *poolhash, store_item_cb cb,
                            void *udata);
/* Claims in ns whose spec.warmPoolRef.name == pool. */
int store_claims_by_pool(store_rtxn *r, const char *ns, const char *pool, store_item_cb cb,
                         void *udata);
int store_count(store_rtxn *r, enum store_kind kind, size_t *out);
/* Last recorded resourceVersion of kind; ERR_NOTFOUND when none. */
int store_get_rv(store_rtxn *r, enum store_kind kind, char *buf, size_t buflen);

/* Decode a view into a new json_object (caller puts). ERR_PARSE if damaged. */
int store_decode(const store_item *it, json_object **out);

/* ---- encoding (store/codec.c), usable on their own --------------------- */

/* Slim obj for kind (STORE_KIND_COUNT: keep everything) and encode it as
 * msgpack into a malloc'd buffer (*out, caller frees). */
int store_encode(enum store_kind kind, json_object *obj, char **out, size_t *outlen);
/* What store_encode_json saw of metadata: slices of the JSON text (not
 * NUL-terminated), NULL when absent or not a string. */
typedef struct store_json_meta {
    const char *ns, *name, *rv;
    size_t ns_len, name_len, rv_len;
    int escaped; /* internal: one of them was escaped (the call then fails) */
} store_json_meta;
/* The same bytes store_encode(kind, tree) gives, where tree is what json-c's
 * tokener builds from text (one JSON object), without building it (jsonenc.c).
 * Strict JSON only, and only forms whose json-c reading is certain: any
 * other input (malformed or not) gives ERR_PARSE, and the caller must take
 * the json-c path, which accepts or refuses as before. ERR_NOMEM. meta (may
 * be NULL) gets metadata.namespace/name/resourceVersion; an escaped one
 * gives ERR_PARSE. On success *out is malloc'd (caller frees). */
int store_encode_json(enum store_kind kind, const char *text, size_t len, char **out,
                      size_t *outlen, store_json_meta *meta);
/* msgpack bytes -> json_object (caller puts). */
int store_msgpack_to_json(const void *data, size_t len, json_object **out);

/* ---- facts ------------------------------------------------------------ */

typedef struct store_stats {
    size_t map_size;   /* current map size in bytes */
    size_t used_bytes; /* pages in use * page size */
    size_t file_bytes; /* data.mdb size on disk (allocated blocks) */
    uint64_t grows;    /* number of map growths since open */
    uint64_t commits;
} store_stats;
int store_get_stats(store *s, store_stats *out);
const char *store_path(const store *s);

#endif
