/* http.c - blocking requests and streaming watches over one libcurl multi handle.
 *
 * Every transfer (hh_xfer) sits on the harness's list while curl runs it. A blocking
 * request adds its easy handle and pumps the multi until that handle is done; watches are
 * pumped by the same loop, so a test can open a watch, make requests, and then read what
 * the watch received, all on one thread. A watch's body is split on '\n' as it arrives and
 * each line is parsed as one event (the API server writes one JSON object per line). */
#include "tests/harness/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

#define HH_REQUEST_TIMEOUT_MS 30000

typedef struct hh_bytes {
    char *p;
    size_t len, cap;
    int oom;
} hh_bytes;

struct hh_xfer {
    harness *h;
    CURL *e;
    struct curl_slist *hdrs;
    hh_bytes body, head;
    char errbuf[CURL_ERROR_SIZE];
    int done;
    CURLcode rc;
    long status;
    int chunked;
    int is_watch;
    size_t parsed; /* watch: bytes of body already split into events */
    json_object *events;
    char ctype[256];
    harness_watch *owner; /* freed with the transfer */
    hh_xfer *next;
};

struct harness_watch {
    hh_xfer *x;
};

static void
bytes_add(hh_bytes *b, const char *p, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
watch_split(hh_xfer *x, int final)
{
    while (x->parsed < x->body.len) {
        char *start = x->body.p + x->parsed;
        char *nl = memchr(start, '\n', x->body.len - x->parsed);
        size_t n = nl ? (size_t)(nl - start) : x->body.len - x->parsed;
        if (nl == NULL && !final) return;
        /* Only a 200 stream holds events; another status carries one Status body. */
        if (x->status != 200) return;
        if (n > 0) {
            const char *err = NULL;
            json_object *ev = jx_parse(start, n, &err);
            if (ev == NULL) {
                /* Keep the raw line so the test can show what arrived. */
                ev = json_object_new_object();
                json_object_object_add(ev, "unparseable",
                                       json_object_new_string_len(start, (int)n));
            }
            json_object_array_add(x->events, ev);
        }
        x->parsed += n + (nl ? 1 : 0);
    }
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    hh_xfer *x = ud;
    bytes_add(&x->body, p, size * n);
    if (x->status == 0) /* headers are complete once the body starts */
        curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->is_watch) watch_split(x, 0);
    return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    hh_xfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect): forget earlier headers. */
        x->head.len = 0;
        x->chunked = 0;
        x->ctype[0] = '\0';
        return len;
    }
    char line[8192];
    size_t l = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, p, l);
    line[l] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    char *colon = strchr(line, ':');
    if (colon == NULL) return len;
    for (char *c = line; c < colon; c++)
        *c = (char)tolower((unsigned char)*c);
    char *val = colon + 1;
    while (*val == ' ' || *val == '\t')
        val++;
    bytes_add(&x->head, line, (size_t)(colon - line));
    bytes_add(&x->head, ": ", 2);
    bytes_add(&x->head, val, strlen(val));
    bytes_add(&x->head, "\n", 1);
    *colon = '\0';
    if (strcmp(line, "content-type") == 0) snprintf(x->ctype, sizeof x->ctype, "%s", val);
    if (strcmp(line, "transfer-encoding") == 0 && strcasestr(val, "chunked")) x->chunked = 1;
    return len;
}

static int
ensure_multi(harness *h)
{
    if (h->multi == NULL) h->multi = curl_multi_init();
    return h->multi ? 0 : ERR_NOMEM;
}

static hh_xfer *
xfer_new(harness *h, const char *method, const char *path, const char *content_type,
         const char *body, size_t len, const char *const *extra)
{
    if (ensure_multi(h) != 0) return NULL;
    hh_xfer *x = calloc(1, sizeof *x);
    if (x == NULL) return NULL;
    x->h = h;
    x->e = curl_easy_init();
    if (x->e == NULL) {
        free(x);
        return NULL;
    }
    size_t ulen = strlen(h->url) + strlen(path) + 1;
    char *url = malloc(ulen);
    if (url == NULL) {
        curl_easy_cleanup(x->e);
        free(x);
        return NULL;
    }
    snprintf(url, ulen, "%s%s", h->url, path);
    curl_easy_setopt(x->e, CURLOPT_URL, url);
    free(url); /* curl copies string options */
    curl_easy_setopt(x->e, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(x->e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(x->e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(x->e, CURLOPT_USERAGENT, h->ua ? h->ua : "asc-harness/1.0");
    curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    /* Transparent decoding would hide what the server sent; we never ask for gzip. */
    curl_easy_setopt(x->e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (h->insecure) {
        curl_easy_setopt(x->e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(x->e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (h->ca_pem) {
        struct curl_blob b = {h->ca_pem, h->ca_len, CURL_BLOB_COPY};
        curl_easy_setopt(x->e, CURLOPT_CAINFO_BLOB, &b);
    }
    if (h->cert_pem && h->key_pem) {
        struct curl_blob c = {h->cert_pem, h->cert_len, CURL_BLOB_COPY};
        struct curl_blob k = {h->key_pem, h->key_len, CURL_BLOB_COPY};
        curl_easy_setopt(x->e, CURLOPT_SSLCERT_BLOB, &c);
        curl_easy_setopt(x->e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(x->e, CURLOPT_SSLKEY_BLOB, &k);
        curl_easy_setopt(x->e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    x->hdrs = curl_slist_append(x->hdrs, "Accept: application/json, */*");
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    if (h->token) {
        size_t tl = strlen(h->token) + 32;
        char *auth = malloc(tl);
        if (auth) {
            snprintf(auth, tl, "Authorization: Bearer %s", h->token);
            x->hdrs = curl_slist_append(x->hdrs, auth);
            free(auth);
        }
    }
    if (content_type) {
        char ct[256];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        x->hdrs = curl_slist_append(x->hdrs, ct);
    }
    for (size_t i = 0; extra && extra[i]; i++)
        x->hdrs = curl_slist_append(x->hdrs, extra[i]);
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
    if (body) {
        curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(x->e, CURLOPT_COPYPOSTFIELDS, body);
        /* COPYPOSTFIELDS switches to POST; restore the method asked for. */
        curl_easy_setopt(x->e, CURLOPT_CUSTOMREQUEST, method);
    }
    if (curl_multi_add_handle(h->multi, x->e) != CURLM_OK) {
        curl_slist_free_all(x->hdrs);
        curl_easy_cleanup(x->e);
        free(x);
        return NULL;
    }
    x->next = h->xfers;
    h->xfers = x;
    return x;
}

static void
xfer_free(hh_xfer *x)
{
    harness *h = x->h;
    for (hh_xfer **pp = &h->xfers; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    }
    if (!x->done) curl_multi_remove_handle(h->multi, x->e);
    curl_easy_cleanup(x->e);
    curl_slist_free_all(x->hdrs);
    free(x->body.p);
    free(x->head.p);
    json_object_put(x->events);
    free(x->owner);
    free(x);
}

/* Run curl for at most wait_ms; marks finished transfers done. */
static void
pump(harness *h, int wait_ms)
{
    int running = 0, n = 0;
    if (h->multi == NULL) {
        struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    curl_multi_perform(h->multi, &running);
    if (wait_ms > 0) curl_multi_poll(h->multi, NULL, 0, wait_ms, &n);
    curl_multi_perform(h->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        hh_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x == NULL) continue;
        x->rc = m->data.result;
        curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->status);
        curl_multi_remove_handle(h->multi, x->e);
        x->done = 1;
        if (x->is_watch) watch_split(x, 1);
    }
    /* The status is known once headers arrived; watches need it to split lines. */
    for (hh_xfer *x = h->xfers; x; x = x->next) {
        if (!x->done && x->status == 0) curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->status);
    }
}

void
harness_sleep(harness *h, int ms)
{
    int64_t end = time_mono_ms() + ms;
    for (int64_t now = time_mono_ms(); now < end; now = time_mono_ms())
        pump(h, (int)(end - now < 50 ? end - now : 50));
}

int
harness_request(harness *h, const char *method, const char *path, const char *content_type,
                const char *body, size_t len, const char *const *extra_headers, harness_resp *out)
{
    memset(out, 0, sizeof *out);
    hh_xfer *x = xfer_new(h, method, path, content_type, body, len, extra_headers);
    if (x == NULL) {
        /* Callers may read the reply's strings even after a failure. */
        out->content_type = strdup("");
        out->headers = strdup("");
        out->body = strdup("");
        return ERR_NOMEM;
    }
    curl_easy_setopt(x->e, CURLOPT_TIMEOUT_MS, (long)HH_REQUEST_TIMEOUT_MS);
    while (!x->done)
        pump(h, 50);
    int rc = 0;
    out->status = x->rc == CURLE_OK ? x->status : 0;
    out->chunked = x->chunked;
    out->content_type = strdup(x->ctype);
    out->headers = strdup(x->head.p ? x->head.p : "");
    out->body = x->body.p ? x->body.p : strdup("");
    out->len = x->body.len;
    x->body.p = NULL;
    if (x->rc != CURLE_OK) {
        fprintf(stderr, "harness: %s %s: %s\n", method, path,
                x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->rc));
        rc = ERR_IO;
    } else if (out->len > 0) {
        const char *err = NULL;
        out->json = jx_parse(out->body, out->len, &err);
    }
    xfer_free(x);
    if (out->content_type == NULL || out->headers == NULL || out->body == NULL) return ERR_NOMEM;
    return rc;
}

void
harness_resp_fini(harness_resp *r)
{
    if (r == NULL) return;
    free(r->content_type);
    free(r->headers);
    free(r->body);
    json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

const char *
harness_resp_header(const harness_resp *r, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 2;
            size_t vl = ll - nl - 2;
            if (vl >= len) vl = len - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        p = eol ? eol + 1 : p + ll;
    }
    return NULL;
}

json_object *
harness_get_json(harness *h, const char *path, long *status)
{
    return harness_send_json(h, "GET", path, NULL, NULL, status);
}

json_object *
harness_send_json(harness *h, const char *method, const char *path, const char *content_type,
                  const char *json_text, long *status)
{
    harness_resp r;
    harness_request(h, method, path,
                    json_text ? (content_type ? content_type : "application/json") : NULL,
                    json_text, json_text ? strlen(json_text) : 0, NULL, &r);
    if (status) *status = r.status;
    json_object *j = r.json;
    r.json = NULL;
    if (strcmp(method, "GET") == 0 && r.status != 200) {
        json_object_put(j);
        j = NULL;
    }
    harness_resp_fini(&r);
    return j;
}

int
harness_poll(harness *h, const char *path, harness_pred pred, void *ud, int timeout_ms,
             int interval_ms, json_object **last)
{
    int64_t end = time_mono_ms() + timeout_ms;
    json_object *body = NULL;
    int ok = 0;
    for (;;) {
        harness_resp r;
        harness_request(h, "GET", path, NULL, NULL, 0, NULL, &r);
        json_object_put(body);
        body = r.json;
        r.json = NULL;
        ok = pred(r.status, body, ud);
        harness_resp_fini(&r);
        if (ok || time_mono_ms() >= end) break;
        harness_sleep(h, interval_ms > 0 ? interval_ms : 50);
    }
    if (last)
        *last = body;
    else
        json_object_put(body);
    return ok ? 0 : ERR_TIMEOUT;
}

/* 1 if the label block [lb, le) holds the pair `k="v"` as a whole element. */
static int
has_label(const char *lb, const char *le, const char *pair)
{
    size_t pl = strlen(pair);
    for (const char *p = lb; p && p + pl <= le; p++) {
        p = strstr(p, pair);
        if (p == NULL || p + pl > le) return 0;
        if ((p == lb || p[-1] == '{' || p[-1] == ',') && (p[pl] == ',' || p[pl] == '}')) return 1;
    }
    return 0;
}

int
harness_metric(harness *h, const char *name, const char *const *labels, double *sum)
{
    *sum = 0;
    harness_resp r;
    int rc = harness_request(h, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
    if (rc == 0 && r.status != 200) rc = ERR_HTTP;
    size_t nl = strlen(name);
    for (const char *line = r.body; rc == 0 && line && *line;) {
        const char *eol = strchr(line, '\n');
        const char *end = eol ? eol : line + strlen(line);
        if (*line != '#' && strncmp(line, name, nl) == 0 && (line[nl] == '{' || line[nl] == ' ')) {
            const char *lb = line + nl, *le = lb;
            int ok = 1;
            if (*lb == '{') {
                le = memchr(lb, '}', (size_t)(end - lb));
                ok = le != NULL;
            }
            for (size_t i = 0; ok && labels && labels[i]; i++)
                ok = *lb == '{' && has_label(lb, le + 1, labels[i]);
            if (ok) {
                const char *v = memchr(le, ' ', (size_t)(end - le));
                if (v) *sum += strtod(v + 1, NULL);
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    harness_resp_fini(&r);
    return rc;
}

harness_watch *
harness_watch_open(harness *h, const char *path)
{
    harness_watch *w = calloc(1, sizeof *w);
    if (w == NULL) return NULL;
    w->x = xfer_new(h, "GET", path, NULL, NULL, 0, NULL);
    if (w->x == NULL) {
        free(w);
        return NULL;
    }
    w->x->owner = w;
    w->x->is_watch = 1;
    w->x->events = json_object_new_array();
    /* Let the request reach the server and its headers come back before the test goes on,
     * so later writes are seen by this watch (bounded: a slow server only costs time). */
    int64_t end = time_mono_ms() + 2000;
    while (!w->x->done && w->x->status == 0 && time_mono_ms() < end)
        pump(h, 10);
    return w;
}

size_t
harness_watch_wait(harness_watch *w, size_t n, int timeout_ms)
{
    int64_t end = time_mono_ms() + timeout_ms;
    pump(w->x->h, 0);
    while (!w->x->done && json_object_array_length(w->x->events) < n && time_mono_ms() < end)
        pump(w->x->h, 20);
    return json_object_array_length(w->x->events);
}

int
harness_watch_wait_end(harness_watch *w, int timeout_ms)
{
    int64_t end = time_mono_ms() + timeout_ms;
    while (!w->x->done && time_mono_ms() < end)
        pump(w->x->h, 20);
    return w->x->done ? 0 : ERR_TIMEOUT;
}

size_t
harness_watch_count(const harness_watch *w)
{
    return json_object_array_length(w->x->events);
}

json_object *
harness_watch_event(const harness_watch *w, size_t i)
{
    return json_object_array_get_idx(w->x->events, i);
}

long
harness_watch_status(const harness_watch *w)
{
    return w->x->status;
}

const char *
harness_watch_content_type(const harness_watch *w)
{
    return w->x->ctype;
}

int
harness_watch_chunked(const harness_watch *w)
{
    return w->x->chunked;
}

int
harness_watch_ended(const harness_watch *w, int *clean)
{
    if (clean) *clean = w->x->done && w->x->rc == CURLE_OK;
    return w->x->done;
}

const char *
harness_watch_body(const harness_watch *w, size_t *len)
{
    *len = w->x->body.len - (w->x->status == 200 ? w->x->parsed : 0);
    if (w->x->body.p == NULL) return "";
    return w->x->body.p + (w->x->status == 200 ? w->x->parsed : 0);
}

void
harness_watch_close(harness_watch *w)
{
    if (w != NULL) xfer_free(w->x); /* frees w too */
}

void
hh__http_fini(harness *h)
{
    while (h->xfers)
        xfer_free(h->xfers);
    if (h->multi) curl_multi_cleanup(h->multi);
    h->multi = NULL;
}
