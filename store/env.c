/* env.c - the LMDB environment: open, validate, discard, grow.
 *
 * Open sequence: create the directory; open the environment; check the meta
 * sub-database for our magic and schema version. LMDB refusing the file
 * (MDB_INVALID, MDB_VERSION_MISMATCH, MDB_CORRUPTED, MDB_PAGE_NOTFOUND), a
 * non-empty environment without our magic (a foreign file), or another
 * schema version: the two files (data.mdb, lock.mdb) are removed, the reason
 * logged, and an empty environment created. Nothing else in the directory is
 * touched. The identity (server URL, CRD uid) is checked separately once the
 * informer has read the CRD (store_check_identity).
 *
 * Growth: the map starts at map_size (sparse) and doubles up to max_map_size
 * when a write batch hits MDB_MAP_FULL (write.c aborts, grows, replays).
 */
#include "store/internal.h"

#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_MAGIC      "agent-sandbox-controller cache"
#define DEFAULT_MAP_SIZE ((size_t)8 << 30)
#define DEFAULT_MAX_MAP  ((size_t)256 << 30)
#define DEFAULT_READERS  512

static const char *const kind_names[STORE_KIND_COUNT] = {"sandbox", "claim",   "pool", "template",
                                                         "pod",     "service", "pvc",  "netpol"};
static const char *const idx_names[STORE_IDX_COUNT] = {"idx.owner", "idx.podhash", "idx.poolsb",
                                                       "idx.claimpool"};

const char *
store_kind_name(enum store_kind k)
{
    return (unsigned)k < STORE_KIND_COUNT ? kind_names[k] : "unknown";
}

int
store__from_mdb(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        return ERR_NOTFOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
        return ERR_FULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_PANIC:
        return ERR_CORRUPT;
    case MDB_BAD_VALSIZE:
        return ERR_TOOLARGE;
    case ENOMEM:
        return ERR_NOMEM;
    default:
        return rc > 0 ? -rc : ERR_IO;
    }
}

static int
is_damage(int rc)
{
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
           rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC || rc == MDB_INCOMPATIBLE ||
           rc == MDB_BAD_DBI;
}

int
store__dbis_open(store *s, MDB_txn *txn)
{
    char name[32];
    int rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
    for (int k = 0; !rc && k < STORE_KIND_COUNT; k++) {
        snprintf(name, sizeof name, "obj.%s", kind_names[k]);
        rc = mdb_dbi_open(txn, name, MDB_CREATE, &s->obj[k]);
    }
    for (int i = 0; !rc && i < STORE_IDX_COUNT; i++)
        rc = mdb_dbi_open(txn, idx_names[i], MDB_CREATE | MDB_DUPSORT, &s->idx[i]);
    return rc;
}

static int
meta_get(MDB_txn *txn, MDB_dbi dbi, const char *key, MDB_val *out)
{
    MDB_val k = {strlen(key), (void *)key};
    return mdb_get(txn, dbi, &k, out);
}

static int
meta_put(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *val)
{
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(val), (void *)val};
    return mdb_put(txn, dbi, &k, &v, 0);
}

static int
val_eq(const MDB_val *v, const char *s)
{
    return v->mv_size == strlen(s) && memcmp(v->mv_data, s, v->mv_size) == 0;
}

static void
remove_files(const char *dir)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char p[4096];
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (unlink(p) && errno != ENOENT)
            LOG_W("store", "cannot remove cache file", "path=%s err=%s", p, strerror(errno));
    }
}

/* 1: valid and ours; 0: empty (fresh); -1: foreign or other schema (reason set);
 * an MDB code < -1 on LMDB failure. Writes magic+schema into a fresh env. */
static int
check_meta(store *s, const char **why)
{
    MDB_txn *txn;
    MDB_val v;
    MDB_stat st;
    char schema[16];
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return rc;
    /* Before creating anything: is the main database empty? */
    MDB_dbi main;
    rc = mdb_dbi_open(txn, NULL, 0, &main);
    if (!rc) rc = mdb_stat(txn, main, &st);
    if (rc) goto fail;
    snprintf(schema, sizeof schema, "%d", STORE_SCHEMA_VERSION);
    if (st.ms_entries == 0) {
        rc = store__dbis_open(s, txn);
        if (!rc) rc = meta_put(txn, s->meta, "magic", STORE_MAGIC);
        if (!rc) rc = meta_put(txn, s->meta, "schema", schema);
        if (rc) goto fail;
        rc = mdb_txn_commit(txn);
        return rc ? rc : 0;
    }
    rc = mdb_dbi_open(txn, "meta", 0, &s->meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        *why = "not a cache of this controller (no meta records)";
        mdb_txn_abort(txn);
        return -1;
    }
    if (rc) goto fail;
    rc = meta_get(txn, s->meta, "magic", &v);
    if (rc == MDB_NOTFOUND || (!rc && !val_eq(&v, STORE_MAGIC))) {
        *why = "not a cache of this controller (magic differs)";
        mdb_txn_abort(txn);
        return -1;
    }
    if (rc) goto fail;
    rc = meta_get(txn, s->meta, "schema", &v);
    if (rc == MDB_NOTFOUND || (!rc && !val_eq(&v, schema))) {
        *why = "cache schema version differs";
        mdb_txn_abort(txn);
        return -1;
    }
    if (rc) goto fail;
    rc = store__dbis_open(s, txn);
    if (rc) goto fail;
    rc = mdb_txn_commit(txn);
    return rc ? rc : 1;
fail:
    mdb_txn_abort(txn);
    return rc;
}

static int
env_open_once(store *s, const char **why, int *mdb_rc)
{
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (s->durable ? 0 : MDB_NOSYNC);
    MDB_envinfo info;
    int rc = mdb_env_create(&s->env);
    if (rc) {
        *mdb_rc = rc;
        return -2;
    }
    mdb_env_set_maxdbs(s->env, 16);
    mdb_env_set_maxreaders(s->env, (unsigned)s->max_readers);
    mdb_env_set_mapsize(s->env, s->map_size);
    rc = mdb_env_open(s->env, s->dir, flags, 0600);
    if (!rc) {
        /* Reader slots left by a crashed process would pin old pages forever. */
        int dead = 0;
        if (!mdb_reader_check(s->env, &dead) && dead > 0)
            LOG_I("store", "cleared stale reader slots", "dir=%s count=%d", s->dir, dead);
        /* An existing file may have been grown past map_size: LMDB adopts it. */
        if (!mdb_env_info(s->env, &info) && info.me_mapsize > s->map_size)
            s->map_size = info.me_mapsize;
        rc = check_meta(s, why);
        if (rc == 1 || rc == 0) return 0;
        if (rc == -1) {
            mdb_env_close(s->env);
            s->env = NULL;
            return -1;
        }
    }
    *mdb_rc = rc;
    mdb_env_close(s->env);
    s->env = NULL;
    if (is_damage(rc)) {
        *why = mdb_strerror(rc);
        return -1;
    }
    return -2;
}

/* Open, discarding the files once if they are damaged, foreign or stale. */
static int
env_open(store *s, char *err, size_t errlen)
{
    const char *why = NULL;
    int mrc = 0;
    int rc = env_open_once(s, &why, &mrc);
    if (rc == -1) {
        LOG_W("store", "discarding the cache and rebuilding it from a fresh LIST",
              "dir=%s reason=%s", s->dir, why);
        remove_files(s->dir);
        why = NULL;
        rc = env_open_once(s, &why, &mrc);
    }
    if (rc == 0) return 0;
    snprintf(err, errlen, "cannot open cache %s: %s", s->dir, why ? why : mdb_strerror(mrc));
    return mrc == ENOSPC ? ERR_FULL : ERR_IO;
}

static int
mkdir_p(const char *dir)
{
    char p[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p) return -ENAMETOOLONG;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0700) && errno != EEXIST) return -errno;
        p[i] = c;
    }
    return 0;
}

int
store_open(const char *dir, const store_open_opts *o, store **out, char *err, size_t errlen)
{
    store *s;
    int rc;

    *out = NULL;
    if (!dir || !*dir) {
        snprintf(err, errlen, "cache directory not set");
        return ERR_CONFIG;
    }
    rc = mkdir_p(dir);
    if (rc) {
        snprintf(err, errlen, "cannot create cache directory %s: %s", dir, strerror(-rc));
        return rc;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    s->map_size = o && o->map_size ? o->map_size : DEFAULT_MAP_SIZE;
    s->max_map_size = o && o->max_map_size ? o->max_map_size : DEFAULT_MAX_MAP;
    if (s->max_map_size < s->map_size) s->max_map_size = s->map_size;
    s->max_readers = o && o->max_readers > 0 ? o->max_readers : DEFAULT_READERS;
    s->durable = o ? o->durable : 0;
    /* Writer-preferring: with readers looping on worker threads, a
     * reader-preferring lock would starve the growth forever. (So a thread
     * must never nest read txns: documented in store.h.) */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->resize_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&s->rtxn_lock, NULL);
    rc = env_open(s, err, errlen);
    if (rc) {
        pthread_rwlock_destroy(&s->resize_lock);
        pthread_mutex_destroy(&s->rtxn_lock);
        free(s->dir);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
store_close(store *s)
{
    if (!s) return;
    store__rtxn_drain(s);
    if (s->env) mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    pthread_mutex_destroy(&s->rtxn_lock);
    free(s->dir);
    free(s);
}

const char *
store_path(const store *s)
{
    return s->dir;
}

void
store_set_feed(store *s, store_feed_cb cb, void *udata)
{
    s->feed = cb;
    s->feed_udata = udata;
}

int
store__grow(store *s)
{
    size_t next;
    int rc;
    if (s->map_size >= s->max_map_size) {
        LOG_E("store", "cache map is full and may not grow further", "dir=%s map_size=%zu max=%zu",
              s->dir, s->map_size, s->max_map_size);
        return ERR_FULL;
    }
    next = s->map_size * 2;
    if (next > s->max_map_size || next < s->map_size) next = s->max_map_size;
    pthread_rwlock_wrlock(&s->resize_lock);
    rc = mdb_env_set_mapsize(s->env, next);
    pthread_rwlock_unlock(&s->resize_lock);
    if (rc) {
        LOG_E("store", "cannot grow the cache map", "dir=%s to=%zu err=%s", s->dir, next,
              mdb_strerror(rc));
        return store__from_mdb(rc);
    }
    LOG_I("store", "cache map grown", "dir=%s from=%zu to=%zu", s->dir, s->map_size, next);
    s->map_size = next;
    s->grows++;
    return 0;
}

/* Drop every object, index and meta record, then write magic+schema (+identity). */
static int
wipe(store *s, const char *server, const char *crd_uid)
{
    MDB_txn *txn;
    char schema[16];
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return store__from_mdb(rc);
    for (int k = 0; !rc && k < STORE_KIND_COUNT; k++)
        rc = mdb_drop(txn, s->obj[k], 0);
    for (int i = 0; !rc && i < STORE_IDX_COUNT; i++)
        rc = mdb_drop(txn, s->idx[i], 0);
    if (!rc) rc = mdb_drop(txn, s->meta, 0);
    snprintf(schema, sizeof schema, "%d", STORE_SCHEMA_VERSION);
    if (!rc) rc = meta_put(txn, s->meta, "magic", STORE_MAGIC);
    if (!rc) rc = meta_put(txn, s->meta, "schema", schema);
    if (!rc && server) rc = meta_put(txn, s->meta, "server", server);
    if (!rc && crd_uid) rc = meta_put(txn, s->meta, "crd_uid", crd_uid);
    if (rc) {
        mdb_txn_abort(txn);
        return store__from_mdb(rc);
    }
    return store__from_mdb(mdb_txn_commit(txn));
}

int
store_reset(store *s)
{
    if (s->wtxn_open) return ERR_INVALID;
    return wipe(s, NULL, NULL);
}

int
store_check_identity(store *s, const char *server_url, const char *crd_uid, int *discarded)
{
    MDB_txn *txn;
    MDB_val v;
    int same, rc;

    if (discarded) *discarded = 0;
    if (!server_url || !crd_uid || !*server_url || !*crd_uid) return ERR_INVALID;
    if (s->wtxn_open) return ERR_INVALID;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return store__from_mdb(rc);
    same = meta_get(txn, s->meta, "server", &v) == 0 && val_eq(&v, server_url) &&
           meta_get(txn, s->meta, "crd_uid", &v) == 0 && val_eq(&v, crd_uid);
    mdb_txn_abort(txn);
    if (same) return 0;
    LOG_I("store", "cache recorded for another cluster (or none): discarding it",
          "dir=%s server=%s crd_uid=%s", s->dir, server_url, crd_uid);
    rc = wipe(s, server_url, crd_uid);
    if (!rc && discarded) *discarded = 1;
    return rc;
}

int
store_get_stats(store *s, store_stats *out)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat fst;
    char p[4096];

    memset(out, 0, sizeof *out);
    if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &st)) return ERR_IO;
    out->map_size = info.me_mapsize;
    out->used_bytes = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    snprintf(p, sizeof p, "%s/data.mdb", s->dir);
    if (stat(p, &fst) == 0) out->file_bytes = (size_t)fst.st_blocks * 512;
    out->grows = s->grows;
    out->commits = s->commits;
    return 0;
}
