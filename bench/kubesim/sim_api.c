/* sim_api.c - request routing, replies and the read verbs (GET, LIST).
 *
 * Path grammar (as kube-apiserver):
 *   /api/v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
 *   /apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
 * plus discovery (/api, /apis, /version), /metrics, /healthz and /kubesim/....
 * Writes are handed to sim_write.c, watches to sim_watch.c. */
#include "bench/kubesim/sim_selector.h"
#include "bench/kubesim/sim_state.h"
#include "bench/kubesim/sim_status.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "bench/kubesim/sim_meta.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- query ---- */

static int
hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void
qdecode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '+')
            *o++ = ' ';
        else if (*p == '%' && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
            *o++ = (char)(hexv(p[1]) * 16 + hexv(p[2]));
            p += 2;
        } else
            *o++ = *p;
    }
    *o = '\0';
}

static json_object *
parse_query(const char *q)
{
    /* most requests have no query: no table for them (sim_q takes NULL) */
    if (!q || !q[0]) return NULL;
    json_object *o = json_object_new_object();
    char *dup = strdup(q ? q : "");
    if (!o || !dup) {
        free(dup);
        return o;
    }
    char *save = NULL;
    for (char *t = strtok_r(dup, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');
        const char *v = "";
        if (eq) {
            *eq = '\0';
            v = eq + 1;
        }
        char *k = strdup(t), *vv = strdup(v);
        if (k && vv) {
            qdecode(k);
            qdecode(vv);
            if (!json_object_object_get_ex(o, k, NULL))
                json_object_object_add(o, k, json_object_new_string(vv));
        }
        free(k);
        free(vv);
    }
    free(dup);
    return o;
}

const char *
sim_q(const sim_rq *rq, const char *key)
{
    json_object *v = NULL;
    if (!rq->q || !json_object_object_get_ex(rq->q, key, &v)) return NULL;
    return json_object_get_string(v);
}

/* ---- replies ---- */

static void
copy_bounded(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A metric series key built by bounded appends (no printf: sim_record runs on
 * every request); truncates like snprintf into the same buffer would. */
typedef struct {
    char *p;
    size_t n, cap;
} series_key;

static void
key_putn(series_key *k, const char *s, size_t l)
{
    if (l > k->cap - 1 - k->n) l = k->cap - 1 - k->n;
    memcpy(k->p + k->n, s, l);
    k->n += l;
    k->p[k->n] = '\0';
}

static void
key_put(series_key *k, const char *s)
{
    key_putn(k, s, strlen(s));
}

#define KEY_LIT(k, lit) key_putn((k), (lit), sizeof(lit) - 1)

static void
key_code(series_key *k, int code)
{
    char d[24];
    key_putn(k, d, sim_fmt_dec(d, code));
}

/* Per request, sim_record finds both counters with one short key: the request's
 * labels, each prefixed with its length + 1 (unambiguous, never NUL), after a
 * '\x01' no series name starts with. The entry (a counter_pair, freed with the
 * counters) lives in S->metrics; /metrics skips such keys (sim_admin.c). */
typedef struct {
    uint64_t *api, *kube; /* borrowed from S->metrics; api NULL without a resource */
} counter_pair;

#define PAIR_KEY_PART 200

static int
pair_key_put(series_key *k, const char *s)
{
    size_t l = strlen(s);
    if (l > PAIR_KEY_PART || k->n + l + 2 > k->cap) return -1;
    k->p[k->n++] = (char)(l + 1);
    memcpy(k->p + k->n, s, l);
    k->n += l;
    k->p[k->n] = '\0';
    return 0;
}

/* 0 and the key in k, or -1 when a label is too long to take the shortcut. */
static int
pair_key(series_key *k, const sim_rq *rq, const char *verb, int code)
{
    char d[24];
    sim_fmt_dec(d, code);
    k->n = 0;
    k->p[k->n++] = '\x01';
    /* appended in order: one statement per part */
    if (pair_key_put(k, d) || pair_key_put(k, rq->client) || pair_key_put(k, verb) ||
        pair_key_put(k, rq->sub))
        return -1;
    if (!rq->res) return pair_key_put(k, "\x01"); /* fewer parts than any resource's key */
    if (pair_key_put(k, rq->res->group) || pair_key_put(k, rq->res->plural) ||
        pair_key_put(k, rq->res->version) || pair_key_put(k, rq->scope ? rq->scope : ""))
        return -1;
    return 0;
}

void
sim_record(sim_rq *rq, int code)
{
    sim_state *S = rq->S;
    if (rq->done) return;
    rq->done = 1;
    const char *res = rq->res ? rq->res->plural : "";
    const char *verb = rq->verb ? rq->verb : rq->r->method;
    char pkey[1024];
    series_key pk = {pkey, 0, sizeof pkey};
    int have_pkey = pair_key(&pk, rq, verb, code) == 0;
    counter_pair *cp = have_pkey ? sim_map_get(&S->metrics, pkey) : NULL;
    if (cp) {
        if (cp->api) (*cp->api)++;
        (*cp->kube)++;
        goto log;
    }
    /* first request with these labels: the series themselves */
    char series[1024];
    series_key k = {series, 0, sizeof series};
    uint64_t *api = NULL, *kube = NULL;
    if (rq->res) {
        KEY_LIT(&k, "apiserver_request_total{code=\"");
        key_code(&k, code);
        KEY_LIT(&k, "\",component=\"apiserver\",dry_run=\"\",group=\"");
        key_put(&k, rq->res->group);
        KEY_LIT(&k, "\",resource=\"");
        key_put(&k, res);
        KEY_LIT(&k, "\",scope=\"");
        key_put(&k, rq->scope ? rq->scope : "");
        KEY_LIT(&k, "\",subresource=\"");
        key_put(&k, rq->sub);
        KEY_LIT(&k, "\",system_client=\"\",verb=\"");
        key_put(&k, verb);
        KEY_LIT(&k, "\",version=\"");
        key_put(&k, rq->res->version);
        KEY_LIT(&k, "\"}");
        sim_metrics_inc(S, series);
        api = sim_map_get(&S->metrics, series);
    }
    k.n = 0;
    KEY_LIT(&k, "kubesim_requests_total{client=\"");
    key_put(&k, rq->client);
    KEY_LIT(&k, "\",verb=\"");
    key_put(&k, verb);
    KEY_LIT(&k, "\",resource=\"");
    key_put(&k, res);
    KEY_LIT(&k, "\",subresource=\"");
    key_put(&k, rq->sub);
    KEY_LIT(&k, "\",code=\"");
    key_code(&k, code);
    KEY_LIT(&k, "\"}");
    sim_metrics_inc(S, series);
    kube = sim_map_get(&S->metrics, series);
    if (have_pkey && kube && (api || !rq->res)) {
        cp = malloc(sizeof *cp);
        if (cp) {
            cp->api = api;
            cp->kube = kube;
            sim_map_put(&S->metrics, pkey, cp);
            if (sim_map_get(&S->metrics, pkey) != cp) free(cp);
        }
    }
log:
    /* request log ring */
    if (!S->log) return;
    sim_logent *e = &S->log[S->log_seq % SIM_LOG_CAP];
    e->seq = ++S->log_seq;
    if (S->log_n < SIM_LOG_CAP) S->log_n++;
    e->time_ms = time_now_ms();
    /* bounded copies: this runs on every request (no 1 KiB memset, no printf) */
    copy_bounded(e->client, sizeof e->client, rq->client);
    copy_bounded(e->verb, sizeof e->verb, verb);
    copy_bounded(e->resource, sizeof e->resource, res);
    copy_bounded(e->subresource, sizeof e->subresource, rq->sub);
    copy_bounded(e->ns, sizeof e->ns, rq->ns);
    copy_bounded(e->name, sizeof e->name, rq->name);
    e->code = code;
}

void
sim_reply_json(sim_rq *rq, int code, json_object *body, const char *extra_headers)
{
    sim_record(rq, code);
    const char *txt = body ? json_object_to_json_string_ext(
                                 body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                           : NULL;
    if (!txt)
        txt = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
              "\"message\":\"out of memory\",\"code\":500}";
    sim_conn_reply(rq->c, code, "application/json", extra_headers, txt, strlen(txt));
    json_object_put(body);
}

void
sim_reply_text(sim_rq *rq, int code, const char *ctype, const char *text)
{
    sim_record(rq, code);
    sim_conn_reply(rq->c, code, ctype, NULL, text, strlen(text));
}

void
sim_reply_obj(sim_rq *rq, int code, const sim_obj *o, const char *extra_headers)
{
    if (!sim_obj_needs_view(rq->res, o)) {
        /* the stored text as it is: straight into the reply, no copy in between */
        sim_record(rq, code);
        sim_conn_reply(rq->c, code, "application/json", extra_headers, o->json, o->len);
        return;
    }
    sim_buf b = {0};
    sim_obj_text(rq->S, rq->res, o, 1, &b);
    sim_record(rq, code);
    if (b.oom) {
        sim_buf_free(&b);
        sim_conn_reply(rq->c, 500, "application/json", NULL, "{}", 2);
        return;
    }
    sim_conn_reply(rq->c, code, "application/json", extra_headers, b.data ? b.data : "", b.len);
    sim_buf_free(&b);
}

/* ---- object views ---- */

int
sim_obj_needs_view(const sim_res *res, const sim_obj *o)
{
    if (res->hook == SIM_HOOK_EVENT_V1) return 1;
    /* custom resources: objects keep the version they were written in
     * (conversion None); any other served version reads them as its own */
    if (res->hook == SIM_HOOK_CUSTOM) {
        const char *av = jx_str(sim_obj_tree(o), "apiVersion");
        char buf[256];
        return !av || strcmp(av, sim_res_api_version(res, buf, sizeof buf)) != 0;
    }
    return 0;
}

/* core/v1 Event <-> events.k8s.io/v1 Event (one storage, two shapes). */
static json_object *
event_to_v1(json_object *src)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "kind", json_object_new_string("Event"));
    json_object_object_add(e, "apiVersion", json_object_new_string("events.k8s.io/v1"));
    static const struct {
        const char *from, *to;
    } m[] = {{"metadata", "metadata"},
             {"eventTime", "eventTime"},
             {"series", "series"},
             {"reportingComponent", "reportingController"},
             {"reportingInstance", "reportingInstance"},
             {"action", "action"},
             {"reason", "reason"},
             {"involvedObject", "regarding"},
             {"related", "related"},
             {"message", "note"},
             {"type", "type"},
             {"source", "deprecatedSource"},
             {"firstTimestamp", "deprecatedFirstTimestamp"},
             {"lastTimestamp", "deprecatedLastTimestamp"},
             {"count", "deprecatedCount"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        json_object *v = jx_get(src, m[i].from);
        if (v) json_object_object_add(e, m[i].to, sim_json_copy(v));
    }
    return e;
}

json_object *
sim_event_from_v1(json_object *src)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "kind", json_object_new_string("Event"));
    json_object_object_add(e, "apiVersion", json_object_new_string("v1"));
    static const struct {
        const char *from, *to;
    } m[] = {{"metadata", "metadata"},
             {"eventTime", "eventTime"},
             {"series", "series"},
             {"reportingController", "reportingComponent"},
             {"reportingInstance", "reportingInstance"},
             {"action", "action"},
             {"reason", "reason"},
             {"regarding", "involvedObject"},
             {"related", "related"},
             {"note", "message"},
             {"type", "type"},
             {"deprecatedSource", "source"},
             {"deprecatedFirstTimestamp", "firstTimestamp"},
             {"deprecatedLastTimestamp", "lastTimestamp"},
             {"deprecatedCount", "count"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        json_object *v = jx_get(src, m[i].from);
        if (v) json_object_object_add(e, m[i].to, sim_json_copy(v));
    }
    if (!jx_get(e, "source") && jx_str(e, "reportingComponent")) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "component",
                               json_object_new_string(jx_str(e, "reportingComponent")));
        json_object_object_add(e, "source", s);
    }
    return e;
}

json_object *
sim_obj_view(sim_state *S, const sim_res *res, const sim_obj *o)
{
    (void)S;
    if (res->hook == SIM_HOOK_EVENT_V1) return event_to_v1(sim_obj_tree(o));
    json_object *c = sim_json_copy(sim_obj_tree(o));
    if (c && res->hook == SIM_HOOK_CUSTOM) {
        char av[256];
        json_object_object_add(c, "apiVersion",
                               json_object_new_string(sim_res_api_version(res, av, sizeof av)));
    }
    return c;
}

void
sim_obj_text(sim_state *S, const sim_res *res, const sim_obj *o, int tm, sim_buf *b)
{
    if (sim_obj_needs_view(res, o)) {
        json_object *v = sim_obj_view(S, res, o);
        if (!tm) {
            json_object_object_del(v, "kind");
            json_object_object_del(v, "apiVersion");
        }
        const char *t = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE)
                          : "{}";
        sim_buf_puts(b, t ? t : "{}");
        json_object_put(v);
        return;
    }
    if (tm || o->tm_len == 0) {
        sim_buf_append(b, o->json, o->len);
        return;
    }
    sim_buf_append(b, "{", 1);
    sim_buf_append(b, o->json + 1 + o->tm_len, o->len - 1 - o->tm_len);
}

/* ---- routing ---- */

static const char *const pod_fields[] = {"metadata.name",
                                         "metadata.namespace",
                                         "spec.nodeName",
                                         "spec.restartPolicy",
                                         "spec.schedulerName",
                                         "spec.serviceAccountName",
                                         "spec.hostNetwork",
                                         "status.phase",
                                         "status.podIP",
                                         "status.nominatedNodeName",
                                         NULL};
static const char *const event_fields[] = {"metadata.name",
                                           "metadata.namespace",
                                           "involvedObject.kind",
                                           "involvedObject.namespace",
                                           "involvedObject.name",
                                           "involvedObject.uid",
                                           "involvedObject.apiVersion",
                                           "involvedObject.resourceVersion",
                                           "involvedObject.fieldPath",
                                           "reason",
                                           "reportingComponent",
                                           "source",
                                           "type",
                                           NULL};
static const char *const ns_fields[] = {"metadata.name", "metadata.namespace", "status.phase",
                                        NULL};
static const char *const node_fields[] = {"metadata.name", "metadata.namespace",
                                          "spec.unschedulable", NULL};
static const char *const secret_fields[] = {"metadata.name", "metadata.namespace", "type", NULL};
static const char *const basic_fields[] = {"metadata.name", "metadata.namespace", NULL};

const char *const *
sim_field_labels(const sim_res *r)
{
    switch (r->hook) {
    case SIM_HOOK_POD:
        return pod_fields;
    case SIM_HOOK_EVENT:
        return event_fields;
    case SIM_HOOK_NAMESPACE:
        return ns_fields;
    case SIM_HOOK_NODE:
        return node_fields;
    case SIM_HOOK_SECRET:
        return secret_fields;
    default:
        return basic_fields;
    }
}

static void
reply_404_text(sim_rq *rq)
{
    sim_reply_text(rq, 404, "text/plain; charset=utf-8", "404 page not found\n");
}

static void
reply_404_json(sim_rq *rq)
{
    sim_reply_json(rq, 404,
                   sim_status(404, "NotFound", "the server could not find the requested resource",
                              json_object_new_object()),
                   NULL);
}

static int
parse_rv(sim_rq *rq, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-' || s[0] == '+') goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) goto bad;
    *out = v;
    return 0;
bad:;
    char msg[512];
    snprintf(msg, sizeof msg,
             "resourceVersion: Invalid value: \"%.200s\": strconv.ParseUint: parsing \"%.200s\": "
             "invalid syntax",
             s, s);
    sim_reply_json(rq, 500, sim_status(500, NULL, msg, NULL), NULL);
    return -1;
}

static void
do_get(sim_rq *rq)
{
    sim_obj *o = sim_lookup(rq->S, rq->res, rq->ns, rq->name);
    if (!o) {
        sim_reply_json(rq, 404, sim_status_not_found(rq->res, rq->name), NULL);
        return;
    }
    if (!strcmp(rq->sub, "scale")) {
        sim_reply_json(rq, 200, sim_scale_of(rq->res, sim_obj_tree(o)), NULL);
        return;
    }
    if (!rq->sub[0] && sim_table_wanted(rq->r->accept)) {
        char rvs[32];
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)o->rv);
        sim_reply_json(rq, 200, sim_table_build(rq->S, rq->res, &o, 1, rvs, NULL, 0), NULL);
        return;
    }
    sim_reply_obj(rq, 200, o, NULL);
}

/* ---- continue tokens: base64url(JSON {"v","rv","start"}) as the real server ---- */

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
b64_encode(const unsigned char *in, size_t n, sim_buf *out)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        char c[4] = {b64u[(v >> 18) & 63], b64u[(v >> 12) & 63], b64u[(v >> 6) & 63], b64u[v & 63]};
        sim_buf_append(out, c, n - i >= 3 ? 4 : n - i + 1);
    }
}

static int
b64_decode(const char *s, sim_buf *out, size_t *bad_at)
{
    unsigned v = 0;
    int bits = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        const char *p = strchr(b64u, s[i]);
        if (!p || s[i] == '\0') {
            *bad_at = i;
            return -1;
        }
        v = (v << 6) | (unsigned)(p - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            unsigned char c = (unsigned char)((v >> bits) & 0xff);
            sim_buf_append(out, &c, 1);
        }
    }
    if (i % 4 == 1) {
        *bad_at = i - 1;
        return -1;
    }
    return 0;
}

static void
make_continue(uint64_t rv, const char *key, sim_buf *out)
{
    sim_buf j = {0};
    sim_buf_printf(&j, "{\"v\":\"meta.k8s.io/v1\",\"rv\":%llu,\"start\":", (unsigned long long)rv);
    sim_buf k = {0};
    sim_buf_puts(&k, key);
    sim_buf_json_str(&j, k.data);
    /* the start key is "last key + \0": strings above are without the \0 marker */
    j.len--; /* drop the closing quote and add the marker */
    sim_buf_puts(&j, "\\u0000\"}");
    b64_encode((unsigned char *)j.data, j.len, out);
    sim_buf_free(&j);
    sim_buf_free(&k);
}

/* 0 ok, -1 replied */
static int
parse_continue(sim_rq *rq, const char *tok, uint64_t *rv, char **start)
{
    sim_buf raw = {0};
    size_t bad = 0;
    char msg[512];
    if (b64_decode(tok, &raw, &bad) != 0) {
        snprintf(msg, sizeof msg, "invalid continue token: illegal base64 data at input byte %zu",
                 bad);
        goto fail;
    }
    const char *jerr = NULL;
    json_object *j = raw.len ? jx_parse(raw.data, raw.len, &jerr) : NULL;
    if (!j) {
        unsigned char c = raw.len ? (unsigned char)raw.data[0] : 0;
        size_t i = 0;
        while (i < raw.len && isspace((unsigned char)raw.data[i]))
            i++;
        c = i < raw.len ? (unsigned char)raw.data[i] : 0;
        if (i >= raw.len)
            snprintf(msg, sizeof msg,
                     "invalid continue token: continue key is not valid: unexpected end of JSON "
                     "input");
        else if (!strchr("{[\"tfn-0123456789", c) || c == 0)
            snprintf(msg, sizeof msg,
                     (c < 0x20 || c >= 0x7f)
                         ? "invalid continue token: continue key is not valid: invalid character "
                           "'\\u%04x' looking for beginning of value"
                         : "invalid continue token: continue key is not valid: invalid character "
                           "'%c' looking for beginning of value",
                     c);
        else
            snprintf(msg, sizeof msg,
                     "invalid continue token: continue key is not valid: unexpected end of JSON "
                     "input");
        goto fail;
    }
    const char *v = jx_str(j, "v");
    json_object *jrv = jx_get(j, "rv");
    const char *st = jx_str(j, "start");
    if (!v || strcmp(v, "meta.k8s.io/v1") != 0 || !jrv || !st) {
        json_object_put(j);
        snprintf(msg, sizeof msg,
                 "invalid continue token: continue key is not valid: incorrect encoded start "
                 "resourceVersion (version meta.k8s.io/v1)");
        goto fail;
    }
    *rv = (uint64_t)json_object_get_int64(jrv);
    *start = strdup(st);
    json_object_put(j);
    sim_buf_free(&raw);
    return *start ? 0 : -1;
fail:
    sim_buf_free(&raw);
    sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
    return -1;
}

typedef struct {
    sim_rq rq;
    json_object *q;
    char path[512];
    ev_timer t;
    char msg[256];
} delayed_504;

static void
too_large_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    delayed_504 *d = w->data;
    json_object *det = json_object_new_object();
    json_object *causes = json_object_new_array();
    json_object *c = json_object_new_object();
    json_object_object_add(c, "reason", json_object_new_string("ResourceVersionTooLarge"));
    json_object_object_add(c, "message", json_object_new_string("Too large resource version"));
    json_object_array_add(causes, c);
    json_object_object_add(det, "causes", causes);
    json_object_object_add(det, "retryAfterSeconds", json_object_new_int(1));
    json_object *st = sim_status(504, "Timeout", d->msg, det);
    const char *txt =
        json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    sim_conn_on_close(d->rq.c, NULL, NULL);
    sim_conn_reply(d->rq.c, 504, "application/json", "Retry-After: 1\r\n", txt, strlen(txt));
    json_object_put(st);
    ev_timer_stop(d->rq.S->loop, &d->t);
    free(d);
}

static void
too_large_closed(void *ud, sim_conn *c)
{
    (void)c;
    delayed_504 *d = ud;
    ev_timer_stop(d->rq.S->loop, &d->t);
    free(d);
}

static void
reply_too_large(sim_rq *rq, uint64_t rv)
{
    delayed_504 *d = calloc(1, sizeof *d);
    if (!d) {
        sim_reply_json(rq, 500, sim_status(500, NULL, "out of memory", NULL), NULL);
        return;
    }
    sim_record(rq, 504);
    d->rq = *rq;
    d->rq.q = NULL;
    snprintf(d->msg, sizeof d->msg, "Timeout: Too large resource version: %llu, current: %llu",
             (unsigned long long)rv, (unsigned long long)rq->S->rv);
    ev_timer_init(&d->t, too_large_cb, 3.0, 0.);
    d->t.data = d;
    ev_timer_start(rq->S->loop, &d->t);
    sim_conn_on_close(rq->c, too_large_closed, d);
}

static int
obj_matches(sim_obj *o, const char *ns, sim_selector *ls, sim_fsel *fs)
{
    (void)ns;
    if (ls && !sim_selector_matches_obj(ls, sim_obj_tree(o))) return 0;
    if (fs && !sim_fsel_matches(fs, sim_obj_tree(o))) return 0;
    return 1;
}

typedef struct {
    sim_selector *ls;
    sim_fsel *fs;
} list_filter;

static int
list_want(void *ud, sim_obj *o)
{
    list_filter *f = ud;
    return obj_matches(o, NULL, f->ls, f->fs);
}

static void
do_list(sim_rq *rq)
{
    sim_state *S = rq->S;
    const char *ls_s = sim_q(rq, "labelSelector");
    const char *fs_s = sim_q(rq, "fieldSelector");
    const char *rv_s = sim_q(rq, "resourceVersion");
    const char *rvm = sim_q(rq, "resourceVersionMatch");
    const char *limit_s = sim_q(rq, "limit");
    const char *cont = sim_q(rq, "continue");
    int watch = sim_q(rq, "watch") &&
                (!strcmp(sim_q(rq, "watch"), "true") || !strcmp(sim_q(rq, "watch"), "1"));
    char err[512] = "";
    sim_selector *ls = NULL;
    sim_fsel *fs = NULL;
    if (watch) rq->verb = "WATCH";
    if (ls_s && ls_s[0] && sim_selector_parse(ls_s, &ls, err, sizeof err) != 0) {
        sim_reply_json(rq, 400, sim_status_bad_request(err), NULL);
        return;
    }
    if (fs_s && fs_s[0] &&
        sim_fsel_parse(fs_s, sim_field_labels(rq->res), &fs, err, sizeof err) != 0) {
        sim_selector_free(ls);
        sim_reply_json(rq, 400, sim_status_bad_request(err), NULL);
        return;
    }
    const char *sie_s = sim_q(rq, "sendInitialEvents");
    int sie = watch && sie_s && !strcmp(sie_s, "true");
    if (rvm && rvm[0] && (!rv_s || !rv_s[0]) && !sie) {
        sim_selector_free(ls);
        sim_fsel_free(fs);
        sim_causes c;
        sim_causes_init(&c);
        sim_causes_forbidden(
            &c, "resourceVersionMatch",
            "resourceVersionMatch is forbidden unless resourceVersion is provided");
        json_object *st = sim_status_invalid(&c, "ListOptions", "meta.k8s.io", "");
        sim_causes_fini(&c);
        sim_reply_json(rq, 422, st, NULL);
        return;
    }
    uint64_t rv = 0;
    int has_rv = rv_s && rv_s[0];
    if (has_rv && parse_rv(rq, rv_s, &rv) != 0) {
        sim_selector_free(ls);
        sim_fsel_free(fs);
        return;
    }
    if (watch) {
        const char *sie = sim_q(rq, "sendInitialEvents");
        int send_initial = sie && !strcmp(sie, "true");
        sim_watch_start(rq, rv, has_rv, send_initial, ls, fs);
        return;
    }
    if (has_rv && rv > S->rv) {
        sim_selector_free(ls);
        sim_fsel_free(fs);
        reply_too_large(rq, rv);
        return;
    }
    long limit = 0;
    if (limit_s && limit_s[0]) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (*end || limit < 0) limit = 0;
    }
    int exact = rvm && !strcmp(rvm, "Exact");
    uint64_t at_rv = 0, list_rv = S->rv;
    char *start = NULL;
    if (has_rv && rv == 0 && !exact) limit = 0; /* served from the watch cache: limit ignored */
    if (cont && cont[0]) {
        if (parse_continue(rq, cont, &at_rv, &start) != 0) {
            sim_selector_free(ls);
            sim_fsel_free(fs);
            return;
        }
        list_rv = at_rv;
    } else if (exact) {
        at_rv = rv;
        list_rv = rv;
    }
    sim_store *st = sim_store_of(S, rq->res);
    sim_obj **v = NULL;
    size_t n = 0, remaining = 0;
    const char *lns = rq->res->namespaced && rq->ns[0] ? rq->ns : NULL;
    int rc;
    const sim_sel_req *best = NULL;
    if (st && ls && (at_rv == 0 || at_rv == S->rv)) {
        /* start from the label index: the EQ/IN requirement with fewest
         * objects, when it is selective enough to beat walking key order */
        size_t best_n = (size_t)-1;
        for (size_t i = 0; i < sim_selector_count(ls); i++) {
            const sim_sel_req *q = sim_selector_req(ls, i);
            if (q->op != SIM_SEL_EQ && q->op != SIM_SEL_IN) continue;
            size_t c = 0;
            for (size_t k = 0; k < q->nvalues; k++)
                c += sim_store_label_count(st, q->key, q->values[k]);
            if (c < best_n) {
                best_n = c;
                best = q;
            }
        }
        if (best && limit > 0 && best_n > 4096 && best_n * 8 > sim_store_count(st)) best = NULL;
    }
    list_filter lf = {.ls = ls, .fs = fs};
    if (!st)
        rc = ERR_NOMEM;
    else if (best) {
        rc = sim_store_select(st, lns, best->key, best->values, best->nvalues, &v, &n);
        size_t k = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            int ok = !(start && strcmp(v[i]->key, start) <= 0) && obj_matches(v[i], NULL, ls, fs);
            if (ok && (limit <= 0 || k < (size_t)limit)) {
                v[k++] = v[i];
                continue;
            }
            if (ok) remaining++;
            sim_obj_unref(v[i]);
        }
        if (rc == 0) n = k;
    } else
        rc = sim_store_page(st, lns, at_rv == S->rv ? 0 : at_rv, start, ls || fs ? list_want : NULL,
                            &lf, limit > 0 ? (size_t)limit : 0, &v, &n, &remaining);
    if (rc != 0) {
        sim_selector_free(ls);
        sim_fsel_free(fs);
        free(start);
        if (rc == ERR_GONE) {
            char msg[640];
            if (cont && cont[0])
                snprintf(msg, sizeof msg,
                         "The provided continue parameter is too old to display a consistent list "
                         "result. You can start a new list without the continue parameter, or use "
                         "the continue token in this response to retrieve the remainder of the "
                         "results. Continuing with the provided token results in an inconsistent "
                         "list - objects that were created, modified, or deleted between the time "
                         "the first chunk was returned and now may show up in the list.");
            else
                snprintf(msg, sizeof msg, "too old resource version: %llu (%llu)",
                         (unsigned long long)at_rv, (unsigned long long)(st->expired_rv + 1));
            sim_reply_json(rq, 410, sim_status(410, "Expired", msg, NULL), NULL);
        } else {
            sim_reply_json(rq, 500, sim_status(500, NULL, "out of memory", NULL), NULL);
        }
        return;
    }
    int core = rq->res->group[0] == '\0';
    char av[256];
    sim_res_api_version(rq->res, av, sizeof av);
    sim_buf items = {0};
    const char *last_key = n ? v[n - 1]->key : NULL;
    for (size_t i = 0; i < n; i++) {
        if (i) sim_buf_append(&items, ",", 1);
        sim_obj_text(S, rq->res, v[i], !core, &items);
    }
    sim_buf body = {0};
    sim_buf ctok = {0};
    if (remaining && last_key) make_continue(list_rv, last_key, &ctok);
    if (sim_table_wanted(rq->r->accept)) {
        /* kubectl get: the same page as rows of a Table */
        char rvs[32];
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)list_rv);
        json_object *t =
            sim_table_build(S, rq->res, v, n, rvs, ctok.data, ls || fs ? 0 : (int64_t)remaining);
        for (size_t i = 0; i < n; i++)
            sim_obj_unref(v[i]);
        free(v);
        free(start);
        sim_selector_free(ls);
        sim_fsel_free(fs);
        sim_buf_free(&items);
        sim_buf_free(&ctok);
        sim_reply_json(rq, 200, t, NULL);
        return;
    }
    if (core) {
        sim_buf_printf(&body,
                       "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":"
                       "\"%llu\"",
                       rq->res->list_kind, av, (unsigned long long)list_rv);
        if (remaining) {
            sim_buf_printf(&body, ",\"continue\":\"%s\"", ctok.data ? ctok.data : "");
            if (!ls && !fs) sim_buf_printf(&body, ",\"remainingItemCount\":%zu", remaining);
        }
        sim_buf_puts(&body, "},\"items\":[");
        sim_buf_append(&body, items.data ? items.data : "", items.len);
        sim_buf_puts(&body, "]}");
    } else {
        sim_buf_printf(&body, "{\"apiVersion\":\"%s\",\"items\":[", av);
        sim_buf_append(&body, items.data ? items.data : "", items.len);
        sim_buf_printf(&body, "],\"kind\":\"%s\",\"metadata\":{\"continue\":\"%s\"",
                       rq->res->list_kind, ctok.data ? ctok.data : "");
        if (remaining && !ls && !fs)
            sim_buf_printf(&body, ",\"remainingItemCount\":%zu", remaining);
        sim_buf_printf(&body, ",\"resourceVersion\":\"%llu\"}}", (unsigned long long)list_rv);
    }
    for (size_t i = 0; i < n; i++)
        sim_obj_unref(v[i]);
    free(v);
    free(start);
    sim_selector_free(ls);
    sim_fsel_free(fs);
    sim_buf_free(&items);
    sim_buf_free(&ctok);
    sim_record(rq, body.oom ? 500 : 200);
    if (body.oom)
        sim_conn_reply(rq->c, 500, "application/json", NULL, "{}", 2);
    else
        sim_conn_reply(rq->c, 200, "application/json", NULL, body.data, body.len);
    sim_buf_free(&body);
}

/* Split path in place at '/' (empty segments skipped, as strtok), at most max. */
static int
split_path(char *path, char **seg, int max)
{
    int n = 0;
    char *p = path;
    while (n < max) {
        while (*p == '/')
            p++;
        if (!*p) break;
        seg[n++] = p;
        p = strchrnul(p, '/');
        if (*p) *p++ = '\0';
    }
    return n;
}

static void
client_of(const char *ua, char *out, size_t len)
{
    size_t i = 0;
    for (; ua[i] && ua[i] != '/' && i + 1 < len; i++)
        out[i] = ua[i];
    out[i] = '\0';
}

static void
route_resource(sim_rq *rq, char **seg, int n, int core)
{
    sim_state *S = rq->S;
    const char *group = core ? "" : seg[1];
    const char *version = core ? seg[1] : seg[2];
    int i = core ? 2 : 3;
    if (!sim_res_gv_known(&S->res, group, version)) {
        reply_404_text(rq);
        return;
    }
    if (n <= i) {
        sim_discovery_handle(rq);
        return;
    }
    /* namespaces/<ns>/<plural>... */
    sim_res *r = NULL;
    if (!strcmp(seg[i], "namespaces") && n >= i + 3) {
        sim_res *nr = sim_res_find(&S->res, group, version, seg[i + 2]);
        if (!(n == i + 3 && (!strcmp(seg[i + 2], "status") || !strcmp(seg[i + 2], "finalize"))) &&
            nr && nr->namespaced) {
            copy_bounded(rq->ns, sizeof rq->ns, seg[i + 1]);
            i += 2;
            r = nr; /* the row of seg[i] now: found once */
        }
    }
    if (!r) r = sim_res_find(&S->res, group, version, seg[i]);
    if (!r) {
        if (core)
            reply_404_json(rq);
        else
            reply_404_text(rq);
        return;
    }
    rq->res = r;
    if (n > i + 1) copy_bounded(rq->name, sizeof rq->name, seg[i + 1]);
    if (n > i + 2) copy_bounded(rq->sub, sizeof rq->sub, seg[i + 2]);
    if (n > i + 3) {
        reply_404_json(rq);
        return;
    }
    const char *m = rq->r->method;
    int collection = n == i + 1;
    if (!strcmp(m, "GET"))
        rq->verb = collection ? "LIST" : "GET";
    else if (!strcmp(m, "POST"))
        rq->verb = "POST";
    else if (!strcmp(m, "PUT"))
        rq->verb = "PUT";
    else if (!strcmp(m, "PATCH"))
        rq->verb = "PATCH";
    else if (!strcmp(m, "DELETE"))
        rq->verb = collection ? "DELETECOLLECTION" : "DELETE";
    else
        rq->verb = m;
    /* apiserver metrics: one object (or a create) is "resource" scope */
    rq->scope = (!collection || !strcmp(m, "POST")) ? "resource"
                : (r->namespaced && rq->ns[0])      ? "namespace"
                                                    : "cluster";
    if (rq->sub[0]) {
        unsigned need = !strcmp(rq->sub, "status")     ? SIM_SUB_STATUS
                        : !strcmp(rq->sub, "scale")    ? SIM_SUB_SCALE
                        : !strcmp(rq->sub, "binding")  ? SIM_SUB_BINDING
                        : !strcmp(rq->sub, "finalize") ? SIM_SUB_FINALIZE
                                                       : 0;
        if (!(r->subres & need)) {
            reply_404_json(rq);
            return;
        }
    }
    if (sim_fault_match(rq)) return;
    const char *dry = sim_q(rq, "dryRun");
    if (dry && strcmp(m, "GET") != 0) {
        if (strcmp(dry, "All") != 0) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "dryRun: Unsupported value: []string{\"%.100s\"}: supported values: \"All\"",
                     dry);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return;
        }
        rq->S->dry_run = 1;
    }
    if (!strcmp(m, "GET")) {
        if (collection)
            do_list(rq);
        else
            do_get(rq);
    } else if (!strcmp(m, "POST")) {
        if (!strcmp(rq->sub, "binding"))
            sim_write_binding(rq);
        else if (collection)
            sim_write_create(rq);
        else
            sim_reply_json(rq, 405,
                           sim_status(405, "MethodNotAllowed",
                                      "the server does not allow this method on the requested "
                                      "resource",
                                      json_object_new_object()),
                           NULL);
    } else if (!strcmp(m, "PUT") && !collection) {
        sim_write_update(rq);
    } else if (!strcmp(m, "PATCH") && !collection) {
        sim_write_patch(rq);
    } else if (!strcmp(m, "DELETE") && !collection) {
        sim_write_delete(rq);
    } else if (!strcmp(m, "DELETE") && collection) {
        sim_write_delete_collection(rq);
    } else {
        sim_reply_json(rq, 405,
                       sim_status(405, "MethodNotAllowed",
                                  "the server does not allow this method on the requested resource",
                                  json_object_new_object()),
                       NULL);
    }
}

void
sim_api_handle(void *ud, sim_conn *c, sim_req *r)
{
    sim_state *S = ud;
    sim_rq rq = {.S = S, .c = c, .r = r, .verb = NULL, .scope = ""};
    client_of(r->user_agent, rq.client, sizeof rq.client);
    copy_bounded(rq.manager, sizeof rq.manager, rq.client);
    rq.q = parse_query(r->query);
    const char *fm = sim_q(&rq, "fieldManager");
    if (fm && fm[0]) copy_bounded(rq.manager, sizeof rq.manager, fm);
    /* a stack copy for ordinary paths (split in place) */
    char pstack[1024];
    size_t plen = strlen(r->path);
    char *path = plen < sizeof pstack ? pstack : malloc(plen + 1);
    if (path) memcpy(path, r->path, plen + 1);
    char *seg[16];
    int n = path ? split_path(path, seg, 16) : 0;
    if (!path) {
        sim_conn_reply(c, 500, "text/plain", NULL, "oom\n", 4);
    } else if (n >= 1 && !strcmp(seg[0], "kubesim")) {
        rq.verb = r->method;
        if (!sim_admin_handle(&rq)) reply_404_text(&rq);
    } else if (n == 1 && !strcmp(seg[0], "metrics")) {
        rq.verb = r->method;
        sim_admin_handle(&rq);
    } else if (n >= 2 && !strcmp(seg[0], "api") && !strcmp(seg[1], "v1")) {
        route_resource(&rq, seg, n, 1);
    } else if (n >= 3 && !strcmp(seg[0], "apis")) {
        route_resource(&rq, seg, n, 0);
    } else {
        rq.verb = r->method;
        if (!sim_discovery_handle(&rq) && !sim_openapi_handle(&rq)) reply_404_text(&rq);
    }
    if (path != pstack) free(path);
    json_object_put(rq.q);
    S->dry_run = 0;
    sim_obj_unref(S->dry_obj);
    S->dry_obj = NULL;
}
