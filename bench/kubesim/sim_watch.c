/* sim_watch.c - watch streams: replay from a resourceVersion, synthetic
 * ADDED for a fresh watch, initial-events-end bookmark, periodic bookmarks,
 * selector transitions, 410 as an in-stream ERROR event, fan-out of each
 * committed event to the store's watchers (the object's JSON text is encoded
 * once when stored; a line is that text with a type prefix). */
#include "bench/kubesim/sim_watch.h"

#include "bench/kubesim/sim_status.h"

#include "core/err.h"
#include "core/jx.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
type_name(int t)
{
    return t == SIM_EV_ADDED ? "ADDED" : t == SIM_EV_MODIFIED ? "MODIFIED" : "DELETED";
}

static void
watch_unlink(sim_watch *w)
{
    sim_state *S = w->S;
    if (w->prev)
        w->prev->next = w->next;
    else if (S->watches == w)
        S->watches = w->next;
    if (w->next) w->next->prev = w->prev;
    if (w->sprev)
        w->sprev->snext = w->snext;
    else if (w->st && w->st->watches == w)
        w->st->watches = w->snext;
    if (w->snext) w->snext->sprev = w->sprev;
    w->next = w->prev = w->snext = w->sprev = NULL;
    S->nwatches--;
}

static void
watch_free(sim_watch *w)
{
    ev_timer_stop(w->S->loop, &w->timeout);
    ev_timer_stop(w->S->loop, &w->bookmark);
    ev_timer_stop(w->S->loop, &w->stall);
    sim_buf_free(&w->held);
    watch_unlink(w);
    sim_selector_free(w->ls);
    sim_fsel_free(w->fs);
    free(w);
}

static void
on_conn_close(void *ud, sim_conn *c)
{
    (void)c;
    watch_free(ud);
}

/* End the stream cleanly and forget the watch. */
static void
watch_end(sim_watch *w)
{
    sim_conn *c = w->c;
    sim_conn_on_close(c, NULL, NULL);
    watch_free(w);
    sim_conn_stream_end(c);
}

/* Drop a watcher that fell behind. */
static void
watch_abort(sim_watch *w)
{
    sim_conn *c = w->c;
    watch_free(w);
    sim_conn_abort(c);
}

static int
matches(sim_watch *w, const sim_obj *o)
{
    if (!o) return 0;
    if (w->ns_len && (strncmp(o->key, w->ns, w->ns_len) != 0 || o->key[w->ns_len] != '/')) return 0;
    if (w->ls && !sim_selector_matches_obj(w->ls, sim_obj_tree(o))) return 0;
    if (w->fs && !sim_fsel_matches(w->fs, sim_obj_tree(o))) return 0;
    return 1;
}

/* Output of a watch: one event line, also given as a complete chunk when the
 * caller framed it (chunk NULL: framed here); held back, unframed, while a stall
 * fault applies. */
static void
watch_write(sim_watch *w, const char *data, size_t len, const char *chunk, size_t chunk_len)
{
    if (w->stalled)
        sim_buf_append(&w->held, data, len);
    else if (chunk)
        sim_conn_stream_write_chunk(w->c, chunk, chunk_len);
    else
        sim_conn_stream_write(w->c, data, len);
}

static void
stall_end_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    sim_watch *w = t->data;
    w->stalled = 0;
    if (w->held.len) sim_conn_stream_write(w->c, w->held.data, w->held.len);
    sim_buf_free(&w->held);
}

/* {"type":"<type>","object": (once per event, shared by its watchers) */
static void
event_head(sim_buf *b, const char *type)
{
    sim_buf_append(b, "{\"type\":\"", 9);
    sim_buf_puts(b, type);
    sim_buf_append(b, "\",\"object\":", 11);
}

/* Room before the shared event line for its chunk size line. */
#define WLINE_PAD SIM_HTTP_CHUNK_HEAD_MAX

/* Count an event line queued for w; drops a watcher that fell too far behind
 * (-1). */
static int
line_sent(sim_watch *w)
{
    w->res->watch_events++;
    if (sim_conn_pending(w->c) + w->held.len > SIM_WATCH_MAX_BUFFER) {
        watch_abort(w);
        return -1;
    }
    return 0;
}

static int
send_line(sim_watch *w, const char *type, const sim_obj *o, const char *override_json)
{
    sim_state *S = w->S;
    sim_buf own = {0}, *b = &own;
    if (w->table) {
        /* kubectl get --watch: each event carries a one-row Table */
        sim_obj *tmp = NULL;
        if (override_json) {
            const char *e = NULL;
            json_object *j = jx_parse(override_json, strlen(override_json), &e);
            tmp = j ? sim_obj_new(j, 0, o->key) : NULL;
        }
        char rvs[32];
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)o->rv);
        sim_obj *row = tmp ? tmp : (sim_obj *)o;
        json_object *t = sim_table_build(S, w->res, &row, 1, rvs, NULL, 0);
        sim_buf_printf(b, "{\"type\":\"%s\",\"object\":%s}\n", type,
                       json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(t);
        sim_obj_unref(tmp);
    } else if (!override_json && S->wline_on) {
        /* One encoding of the event for every watcher it goes to, framed once as
         * an HTTP chunk: S->wline is WLINE_PAD bytes of room for the size line,
         * the event line, "\r\n"; its off marks where the chunk starts. */
        if (S->wline_obj != o || S->wline_type != type || S->wline_res != w->res) {
            S->wline.len = S->wline.off = 0;
            S->wline.oom = 0;
            sim_buf_append(&S->wline, "", 0);
            if (sim_buf_reserve(&S->wline, WLINE_PAD) == 0) S->wline.len = WLINE_PAD;
            event_head(&S->wline, type);
            sim_obj_text(S, w->res, o, 1, &S->wline);
            sim_buf_puts(&S->wline, "}\n\r\n");
            if (!S->wline.oom) {
                char head[SIM_HTTP_CHUNK_HEAD_MAX];
                size_t hl = sim_http_chunk_head(head, S->wline.len - WLINE_PAD - 2);
                S->wline.off = WLINE_PAD - hl;
                memcpy(S->wline.data + S->wline.off, head, hl);
            }
            S->wline_obj = o;
            S->wline_type = type;
            S->wline_res = w->res;
        }
        if (S->wline.oom) {
            S->wline_obj = NULL;
            watch_abort(w);
            return -1;
        }
        watch_write(w, S->wline.data + WLINE_PAD, S->wline.len - WLINE_PAD - 2,
                    S->wline.data + S->wline.off, S->wline.len - S->wline.off);
        return line_sent(w);
    } else {
        event_head(b, type);
        if (override_json)
            sim_buf_puts(b, override_json);
        else
            sim_obj_text(S, w->res, o, 1, b);
        sim_buf_puts(b, "}\n");
    }
    if (b->oom) {
        sim_buf_free(&own);
        watch_abort(w);
        return -1;
    }
    watch_write(w, b->data, b->len, NULL, 0);
    sim_buf_free(&own);
    return line_sent(w);
}

/* The old content stamped with the event's resourceVersion (selector exit). */
static char *
old_with_rv(sim_watch *w, const sim_obj *prev, uint64_t rv)
{
    json_object *v = sim_obj_view(w->S, w->res, prev);
    if (!v) return NULL;
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)rv);
    json_object *m = jx_ensure_obj(v, "metadata");
    if (m) json_object_object_add(m, "resourceVersion", json_object_new_string(rvs));
    const char *t =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *s = t ? strdup(t) : NULL;
    json_object_put(v);
    return s;
}

/* Deliver e to w with selector transitions. -1 if w was dropped. */
static int
deliver(sim_watch *w, const sim_event *e)
{
    if (e->rv <= w->last_rv) return 0;
    w->last_rv = e->rv;
    int now = matches(w, e->obj);
    int before = e->type != SIM_EV_ADDED && matches(w, e->prev);
    if (e->type == SIM_EV_DELETED) return now || before ? send_line(w, "DELETED", e->obj, NULL) : 0;
    if (now && (before || e->type == SIM_EV_ADDED))
        return send_line(w, type_name(e->type), e->obj, NULL);
    if (now) return send_line(w, "ADDED", e->obj, NULL);
    if (before) {
        char *txt = old_with_rv(w, e->prev, e->rv);
        int rc = send_line(w, "DELETED", e->prev, txt);
        free(txt);
        return rc;
    }
    return 0;
}

void
sim_watch_dispatch(sim_state *S, sim_store *st, const sim_event *e)
{
    sim_watch *w = st->watches;
    S->wline_on = 1;
    S->wline_obj = NULL;
    while (w) {
        sim_watch *next = w->snext; /* w may be dropped */
        deliver(w, e);
        w = next;
    }
    S->wline_on = 0;
    S->wline_obj = NULL;
}

static void
bookmark_text(sim_watch *w, uint64_t rv, int initial_end, sim_buf *b)
{
    char av[256];
    sim_res_api_version(w->res, av, sizeof av);
    sim_buf_puts(b, "{\"type\":\"BOOKMARK\",\"object\":");
    if (w->res->group[0])
        sim_buf_printf(b, "{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"metadata\":{", av,
                       w->res->kind);
    else
        sim_buf_printf(b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{", w->res->kind,
                       av);
    sim_buf_printf(b, "\"resourceVersion\":\"%llu\"", (unsigned long long)rv);
    if (!w->res->group[0]) sim_buf_puts(b, ",\"creationTimestamp\":null");
    if (initial_end) {
        /* base64 of an empty list of this kind, as the real server */
        /* plus the empty list of this kind, base64, as the real server */
        sim_buf list = {0};
        if (w->res->group[0])
            sim_buf_printf(&list, "{\"apiVersion\":\"%s\",\"items\":[],\"kind\":\"%s\"}\n", av,
                           w->res->list_kind);
        else
            sim_buf_printf(&list,
                           "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{},\"items\":[]}\n",
                           w->res->list_kind, av);
        unsigned char enc[1024];
        if (list.len < 700)
            EVP_EncodeBlock(enc, (const unsigned char *)list.data, (int)list.len);
        else
            enc[0] = '\0';
        sim_buf_free(&list);
        sim_buf_printf(b,
                       ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\","
                       "\"kubernetes.io/initial-events-list-blueprint\":\"%s\"}",
                       enc);
    }
    sim_buf_puts(b, "}}}\n");
}

static void
bookmark_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    sim_watch *w = t->data;
    sim_buf b = {0};
    /* Built-in resources' caches follow the store's progress (the server
     * asks etcd for progress notifications), so their bookmarks carry the
     * global resourceVersion; a custom resource's cache only moves with its
     * own events (golden bookmark.json). */
    const sim_store *st = w->st;
    uint64_t rv = st->n ? sim_store_event(st, st->n - 1)->rv : st->expired_rv;
    if (w->res->hook != SIM_HOOK_CUSTOM) rv = w->S->rv;
    if (rv < w->from_rv) rv = w->from_rv;
    bookmark_text(w, rv, 0, &b);
    if (!b.oom) watch_write(w, b.data, b.len, NULL, 0);
    sim_buf_free(&b);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    watch_end(t->data);
}

static void
send_gone(sim_conn *c, uint64_t rv, uint64_t oldest)
{
    char msg[256];
    snprintf(msg, sizeof msg, "too old resource version: %llu (%llu)", (unsigned long long)rv,
             (unsigned long long)oldest);
    json_object *st = sim_status(410, "Expired", msg, NULL);
    const char *t =
        json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    sim_buf b = {0};
    sim_buf_printf(&b, "{\"type\":\"ERROR\",\"object\":%s}\n", t ? t : "{}");
    sim_conn_stream_write(c, b.data, b.len);
    sim_buf_free(&b);
    json_object_put(st);
    sim_conn_stream_end(c);
}

void
sim_watch_start(sim_rq *rq, uint64_t from_rv, int has_rv, int send_initial, void *label_sel,
                void *field_sel)
{
    sim_state *S = rq->S;
    sim_res *res = rq->res;
    sim_store *st = sim_store_of(S, res);
    if (!st) {
        sim_selector_free(label_sel);
        sim_fsel_free(field_sel);
        sim_reply_json(rq, 500, sim_status(500, NULL, "out of memory", NULL), NULL);
        return;
    }
    sim_record(rq, 200);
    sim_conn_stream_begin(rq->c, 200, "application/json");
    size_t first = 0;
    int replay = has_rv && from_rv > 0 && !send_initial;
    if (replay && from_rv <= S->rv && sim_store_since(st, from_rv, &first) == ERR_GONE) {
        sim_selector_free(label_sel);
        sim_fsel_free(field_sel);
        send_gone(rq->c, from_rv, st->expired_rv + 1);
        return;
    }
    sim_watch *w = calloc(1, sizeof *w);
    if (!w) {
        sim_selector_free(label_sel);
        sim_fsel_free(field_sel);
        sim_conn_stream_end(rq->c);
        return;
    }
    w->S = S;
    w->c = rq->c;
    w->res = res;
    w->st = st;
    if (res->namespaced && rq->ns[0]) {
        snprintf(w->ns, sizeof w->ns, "%s", rq->ns);
        w->ns_len = strlen(w->ns);
    }
    w->ls = label_sel;
    w->fs = field_sel;
    w->table = sim_table_wanted(rq->r->accept);
    int stall = sim_fault_watch_stall(rq);
    if (stall > 0) {
        /* fault: the connection stays open and silent for a while */
        w->stalled = 1;
        ev_timer_init(&w->stall, stall_end_cb, (double)stall, 0.);
        w->stall.data = w;
        ev_timer_start(S->loop, &w->stall);
    }
    w->next = S->watches;
    if (S->watches) S->watches->prev = w;
    S->watches = w;
    w->snext = st->watches;
    if (st->watches) st->watches->sprev = w;
    st->watches = w;
    S->nwatches++;
    sim_conn_on_close(rq->c, on_conn_close, w);

    w->from_rv = has_rv ? from_rv : 0;
    if (replay) {
        w->last_rv = from_rv;
        for (size_t i = first; i < st->n; i++) {
            if (deliver(w, sim_store_event(st, i)) != 0) return;
        }
        w->last_rv = from_rv > S->rv ? from_rv : S->rv;
    } else {
        sim_obj **v = NULL;
        size_t n = 0;
        if (send_initial) res->watch_lists++;
        if (sim_store_snapshot(st, w->ns[0] ? w->ns : NULL, 0, &v, &n) == 0) {
            for (size_t i = 0; i < n; i++) {
                if (matches(w, v[i]) && send_line(w, "ADDED", v[i], NULL) != 0) {
                    for (size_t j = i; j < n; j++)
                        sim_obj_unref(v[j]);
                    free(v);
                    return;
                }
                sim_obj_unref(v[i]);
            }
            free(v);
        }
        w->last_rv = S->rv;
        if (send_initial) {
            sim_buf b = {0};
            bookmark_text(w, S->rv, 1, &b);
            if (!b.oom) watch_write(w, b.data, b.len, NULL, 0);
            sim_buf_free(&b);
        }
    }
    const char *ts = sim_q(rq, "timeoutSeconds");
    double timeout = 1800.0 + (double)(sim_rand_u(S) % 1800);
    if (ts && ts[0]) {
        char *end;
        long t = strtol(ts, &end, 10);
        if (!*end && t > 0) timeout = (double)t;
    }
    ev_timer_init(&w->timeout, timeout_cb, timeout, 0.);
    w->timeout.data = w;
    ev_timer_start(S->loop, &w->timeout);
    const char *bm = sim_q(rq, "allowWatchBookmarks");
    if (bm && !strcmp(bm, "true")) {
        double iv = (double)S->cfg.bookmark_interval_s;
        ev_timer_init(&w->bookmark, bookmark_cb, iv, iv);
        w->bookmark.data = w;
        ev_timer_start(S->loop, &w->bookmark);
    }
}

void
sim_watch_close_all(sim_state *S)
{
    while (S->watches)
        watch_end(S->watches);
}

void
sim_watch_close_store(sim_state *S, sim_store *st)
{
    (void)S;
    while (st->watches)
        watch_end(st->watches);
}
