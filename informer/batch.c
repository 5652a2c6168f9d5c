/* batch.c - decoded events wait here until the end of the loop turn.
 *
 * Watch callbacks and LIST pages only queue (the object, already slimmed and
 * encoded, or
 * the key of a delete). An ev_prepare watcher, which libev runs right before
 * the loop sleeps, commits the whole queue in ONE store write txn together
 * with the resourceVersion each reflector has reached (style.md §13), so a
 * restart resumes exactly after the last committed event. A long burst
 * commits early every max_batch events to bound memory.
 *
 * A failed commit (the map cannot grow, I/O error) loses nothing silently:
 * the reflectors involved drop their position and relist.
 */
#include "informer/internal.h"

#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static int
push(informer *inf, informer__qitem it)
{
    informer__batch *b = &inf->batch;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        informer__qitem *n = realloc(b->items, cap * sizeof *n);
        if (!n) return ERR_NOMEM;
        b->items = n;
        b->cap = cap;
    }
    b->items[b->n++] = it;
    if (b->n >= (size_t)inf->o.max_batch) return informer_flush(inf);
    return 0;
}

int
informer__queue_put(informer *inf, enum store_kind kind, json_object *obj)
{
    informer__qitem it = {OP_PUT, (unsigned char)kind, NULL, 0};
    int rc = store_encode(kind, obj, &it.buf, &it.len);
    if (rc) return rc == ERR_NOMEM ? rc : ERR_INVALID;
    rc = push(inf, it);
    if (rc == ERR_NOMEM) free(it.buf);
    return rc == ERR_NOMEM ? rc : 0;
}

int
informer__queue_put_encoded(informer *inf, enum store_kind kind, char *buf, size_t len)
{
    informer__qitem it = {OP_PUT, (unsigned char)kind, buf, len};
    int rc = push(inf, it);
    if (rc == ERR_NOMEM) free(buf);
    return rc == ERR_NOMEM ? rc : 0;
}

int
informer__queue_del(informer *inf, enum store_kind kind, const char *ns, const char *name)
{
    size_t nsl = strlen(ns), nl = strlen(name);
    informer__qitem it = {OP_DEL, (unsigned char)kind, malloc(nsl + nl + 2), 0};
    int rc;
    if (!it.buf) return ERR_NOMEM;
    memcpy(it.buf, ns, nsl + 1);
    memcpy(it.buf + nsl + 1, name, nl + 1);
    rc = push(inf, it);
    if (rc == ERR_NOMEM) free(it.buf);
    return rc == ERR_NOMEM ? rc : 0;
}

static void
clear(informer__batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].buf); /* PUT buffers already handed to the store are NULL */
    b->n = 0;
}

/* After a failed commit every reflector with queued work loses its place. */
static void
fail_batch(informer *inf, const unsigned char *touched)
{
    for (int k = 0; k < STORE_KIND_COUNT; k++) {
        informer__reflector *r = &inf->refl[k];
        if (!touched[k]) continue;
        r->rv_dirty = 0;
        if (r->state == REFL_WATCHING) {
            informer__refl_stop(r);
            r->relist = 1;
            r->state = REFL_BACKOFF;
            ev_timer_set(&r->timer, informer__backoff_ms(inf, &r->rng, ++r->attempts) / 1000.0, 0.);
            ev_timer_start(inf->loop, &r->timer);
        } else {
            r->relist = 1;
            r->damaged = 1; /* a LIST in progress lost items: redo it */
        }
    }
}

int
informer_flush(informer *inf)
{
    informer__batch *b = &inf->batch;
    unsigned char touched[STORE_KIND_COUNT] = {0};
    store_wtxn *w = NULL;
    int rc, any = b->n > 0;

    for (int k = 0; k < STORE_KIND_COUNT; k++)
        any |= inf->refl[k].rv_dirty;
    if (!any) return 0;
    rc = store_wtxn_begin(inf->st, &w);
    for (size_t i = 0; !rc && i < b->n; i++) {
        informer__qitem *it = &b->items[i];
        touched[it->kind] = 1;
        if (it->op == OP_PUT) {
            rc = store_put_encoded(w, it->kind, it->buf, it->len);
            it->buf = NULL; /* the store owns it now, whatever happened */
        } else {
            rc = store_delete(w, it->kind, it->buf, it->buf + strlen(it->buf) + 1);
        }
        if (rc == ERR_INVALID) {
            /* Unencodable content: the object is skipped, the batch goes on. */
            inf->stats.bad_events++;
            LOG_W("informer", "skipping an object without a usable key", "resource=%s",
                  informer_resource(it->kind)->plural);
            rc = 0;
        }
    }
    for (int k = 0; !rc && k < STORE_KIND_COUNT; k++) {
        informer__reflector *r = &inf->refl[k];
        char enc[STORE_MAX_RV + 1];
        if (!r->rv_dirty) continue;
        touched[k] = 1;
        informer__rv_encode(r, r->rv, enc, sizeof enc);
        rc = store_set_rv(w, k, enc);
    }
    if (rc) {
        store_wtxn_abort(w);
    } else {
        rc = store_wtxn_commit(w);
    }
    clear(b);
    if (rc) {
        LOG_E("informer", "cache commit failed: relisting the resources involved", "err=%s",
              err_str(rc));
        fail_batch(inf, touched);
        return rc;
    }
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        inf->refl[k].rv_dirty = 0;
    inf->stats.commits++;
    return 0;
}
