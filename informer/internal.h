/* internal.h - private to informer/: the informer, its reflectors, the
 * per-loop-turn batch and the key set used by relists. */
#ifndef ASC_INFORMER_INTERNAL_H
#define ASC_INFORMER_INTERNAL_H

#include "informer/informer.h"

#include <ev.h>

/* ---- key set (keyset.c): open addressing over "ns\0name" strings -------- */

typedef struct informer__keyset {
    char **slots;
    size_t cap, n;
} informer__keyset;

void informer__keyset_init(informer__keyset *ks);
void informer__keyset_fini(informer__keyset *ks);
/* 0 (added or already there) or ERR_NOMEM. */
int informer__keyset_add(informer__keyset *ks, const char *ns, const char *name);
int informer__keyset_has(const informer__keyset *ks, const char *ns, const char *name);

/* ---- reflector (reflector.c) ------------------------------------------- */

enum informer__state {
    REFL_IDLE = 0, /* not started, or stopped */
    REFL_LISTING,  /* a LIST page request is in flight */
    REFL_WATCHING, /* a watch stream is open */
    REFL_BACKOFF,  /* waiting to retry (list or watch, see relist) */
};

typedef struct informer__reflector {
    informer *inf;
    enum store_kind kind;
    const kube_resource *res;
    enum informer__state state;
    int synced;
    int relist;   /* next step is a LIST (else a WATCH from rv) */
    int rv_dirty; /* rv must be recorded with the next commit */
    int damaged;  /* a commit of this LIST's items failed: relist when it ends */
    char rv[STORE_MAX_RV + 1];
    char cont[1024]; /* continue token of the LIST in progress */
    char list_rv[STORE_MAX_RV + 1];
    informer__keyset seen; /* keys returned by the LIST in progress */
    void *watch;
    double watch_started;
    unsigned attempts; /* consecutive failures (backoff exponent) */
    ev_timer timer;
    unsigned rng;
} informer__reflector;

void informer__refl_init(informer__reflector *r, informer *inf, enum store_kind kind);
void informer__refl_start(informer__reflector *r);
void informer__refl_stop(informer__reflector *r);
void informer__refl_fini(informer__reflector *r);
/* Apply one watch event (also used by tests to drive a reflector). */
void informer__refl_event(informer__reflector *r, enum kube_event_type type, json_object *obj);
/* The same from an event's object text, before any json-c tree: the
 * kube__raw_event_cb the watch decoder offers events to (udata: the
 * reflector). Returns -1 to have the event decoded by json-c and given to
 * informer__refl_event (whatever the fast encoder or the key checks decline). */
int informer__refl_raw_event(enum kube_event_type type, const char *text, size_t len, void *udata);
/* The stored rv string for this reflector's selector mode, and the reverse. */
void informer__rv_encode(const informer__reflector *r, const char *rv, char *out, size_t len);
int informer__rv_decode(const informer__reflector *r, const char *stored, char *out, size_t len);

/* ---- batch (batch.c): events queued until the end of the loop turn ------ */

enum informer__op { OP_PUT = 1, OP_DEL };

typedef struct informer__qitem {
    unsigned char op, kind;
    char *buf; /* OP_PUT: the slimmed msgpack (store_encode); OP_DEL: ns\0name\0 */
    size_t len;
} informer__qitem;

typedef struct informer__batch {
    informer__qitem *items;
    size_t n, cap;
} informer__batch;

/* Encodes at once (the decoded json is released while still hot in cache, and
 * a queued object costs its ~400-byte encoding, not its json tree).
 * ERR_INVALID: the object cannot be encoded (logged and counted by the caller). */
int informer__queue_put(informer *inf, enum store_kind kind, json_object *obj);
/* An object already encoded (store_encode_json); takes buf in every case. */
int informer__queue_put_encoded(informer *inf, enum store_kind kind, char *buf, size_t len);
int informer__queue_del(informer *inf, enum store_kind kind, const char *ns, const char *name);

/* ---- the informer ------------------------------------------------------ */

struct informer {
    struct ev_loop *loop;
    informer_transport t;
    store *st;
    informer_opts o;
    informer__reflector refl[STORE_KIND_COUNT];
    informer__batch batch;
    ev_prepare prepare;
    ev_timer ident_timer;
    unsigned ident_attempts;
    informer_synced_cb synced_cb;
    void *synced_udata;
    int synced_fired;
    int started, stopped, dead;
    int inflight; /* LIST/GET requests whose callback has not run yet */
    informer_stats stats;
};

/* Requests in flight keep a dead informer's memory alive (informer.c). */
void informer__req_begin(informer *inf);
/* Returns 1 when the informer was freed (the caller must not touch it). */
int informer__req_end(informer *inf);
void informer__check_synced(informer *inf);
int informer__backoff_ms(informer *inf, unsigned *rng, unsigned attempts);

#endif
