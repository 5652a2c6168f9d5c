/* result.c - what a finished request turns into.
 *
 * A kube_result carries the HTTP status, an ERR_* code, the parsed body and,
 * for errors, the API's Status reason and message. When the server did not
 * send a Status (a proxy's page, "404 page not found"), or nothing arrived
 * at all, the message is one line naming the method, the URL and the cause,
 * so a log line alone tells which server failed and why. */
#include "kube/internal.h"

#include "core/err.h"
#include "core/jx.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *
kube__json_parse_tok(json_tokener *tok, const char *buf, size_t len, const char **err)
{
    if (len > INT_MAX) { /* json_tokener_parse_ex takes an int length */
        if (err) *err = "document larger than 2 GiB";
        return NULL;
    }
    /* json-c's default depth (32) is too shallow for Kubernetes objects: a
     * LIST of CRDs nests openAPIV3Schema properties far deeper. */
    json_tokener *own = NULL;
    if (tok == NULL && (tok = own = json_tokener_new_ex(KUBE__JSON_DEPTH)) == NULL) {
        if (err) *err = "out of memory";
        return NULL;
    }
    json_tokener_reset(tok);
    json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    const char *why = NULL;
    if (o != NULL) {
        for (size_t i = (size_t)json_tokener_get_parse_end(tok); i < len && !why; i++)
            if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t')
                why = "unexpected data after the JSON document";
    } else if (jerr == json_tokener_continue) {
        /* a bare number needs a terminator; anything else is cut short */
        o = json_tokener_parse_ex(tok, "", 1);
        if (o == NULL) why = "unexpected end of data";
    } else {
        why = json_tokener_error_desc(jerr);
    }
    /* a reused tokener keeps no partial state into the next document */
    json_tokener_reset(tok);
    if (own) json_tokener_free(own);
    if (why) {
        json_object_put(o);
        o = NULL;
        if (err) *err = why;
    }
    return o;
}

json_object *
kube__json_parse(const char *buf, size_t len, const char **err)
{
    return kube__json_parse_tok(NULL, buf, len, err);
}

/* The delivery whose callback is running on this thread (kube_result_take_body). */
typedef struct delivery {
    kube_result res;
    json_object *owned; /* the client's reference to res.body; NULL once taken */
    struct delivery *outer;
} delivery;

static _Thread_local delivery *running;

json_object *
kube_result_take_body(const kube_result *res)
{
    delivery *d = running;
    if (d == NULL || res != &d->res || d->owned == NULL) return NULL;
    json_object *o = d->owned;
    d->owned = NULL;
    return o;
}

void
kube__deliver(kube__req *r, int err, const char *message)
{
    kube_client *c = r->c;
    delivery dl = {0};
    kube_result res = {0};
    json_object *body = NULL;
    res.err = err;
    res.http_status = r->status;
    res.raw = r->resp.p ? r->resp.p : "";
    res.raw_len = r->resp.len;
    res.retry_after_s = r->retry_after_s;
    res.warning = r->warning;
    res.reason = "";
    res.message = message ? message : "";
    res.http_version = r->http_version;
    res.attempts = r->attempts;
    char msg[1024];
    if (r->status != 0 && r->resp.len > 0) {
        const char *perr = NULL;
        if (c->tok == NULL) c->tok = json_tokener_new_ex(KUBE__JSON_DEPTH);
        if (c->tok == NULL)
            body = NULL;
        else if (c->slim_writes && strcmp(r->method, "GET") != 0)
            body = kube__json_parse_slim(c->tok, r->resp.p, r->resp.len, &perr);
        else
            body = kube__json_parse_tok(c->tok, r->resp.p, r->resp.len, &perr);
        if (c->tok == NULL) perr = "out of memory";
        if (body == NULL && err == 0) {
            snprintf(msg, sizeof(msg), "%s %s%s: HTTP %ld response is not valid JSON: %s",
                     r->method, c->server, r->path, r->status, perr ? perr : "?");
            res.err = ERR_PARSE;
            res.message = msg;
        }
    }
    res.body = body;
    if (err != 0 && r->status >= 300) {
        const char *kind = jx_str(body, "kind");
        if (kind && strcmp(kind, "Status") == 0) {
            res.reason = jx_str_or(body, "reason", "");
            res.message = jx_str_or(body, "message", "");
            if (res.message[0] == '\0') {
                snprintf(msg, sizeof(msg), "HTTP %ld %s", r->status, res.reason);
                res.message = msg;
            }
            if (r->status == 409 && strcmp(res.reason, "AlreadyExists") == 0) res.err = ERR_EXISTS;
        } else {
            /* not a Status (a proxy, or "404 page not found"): quote its first line */
            size_t n = 0;
            while (n < r->resp.len && n < 200 && r->resp.p[n] != '\n' && r->resp.p[n] != '\r')
                n++;
            snprintf(msg, sizeof(msg), "%s %s%s: HTTP %ld%s%.*s", r->method, c->server, r->path,
                     r->status, n ? ": " : "", (int)n, r->resp.p ? r->resp.p : "");
            res.message = msg;
        }
    }
    if (res.err != 0 && res.err != ERR_CANCELED) c->stats.errors++;
    r->state = KREQ_DONE;
    dl.res = res;
    dl.owned = body;
    dl.outer = running;
    running = &dl;
    if (r->cb) r->cb(&dl.res, r->udata);
    running = dl.outer;
    json_object_put(dl.owned); /* unless the callback took it */
    kube__req_free(r);
}

static int
is_tls_error(CURLcode code)
{
    switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

int
kube__transport_error(kube__req *r, CURLcode code, char *msg, size_t msglen)
{
    const char *server = r->c->server;
    const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(msg, msglen, "%s %s%s: cannot resolve the server %s (%s)", r->method, server,
                 r->path, server, detail);
        return ERR_IO;
    case CURLE_COULDNT_CONNECT:
        snprintf(msg, msglen, "%s %s%s: cannot connect to the server %s (%s)", r->method, server,
                 r->path, server, detail);
        return ERR_IO;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(msg, msglen, "%s %s%s: timed out after %d ms (%s)", r->method, server, r->path,
                 r->c->opts.timeout_ms, detail);
        return ERR_TIMEOUT;
    case CURLE_WRITE_ERROR:
    case CURLE_OUT_OF_MEMORY:
        snprintf(msg, msglen, "%s %s%s: out of memory while reading the response", r->method,
                 server, r->path);
        return ERR_NOMEM;
    default:
        break;
    }
    if (is_tls_error(code)) {
        snprintf(msg, msglen, "%s %s%s: TLS with the server %s failed: %s", r->method, server,
                 r->path, server, detail);
        return ERR_TLS;
    }
    snprintf(msg, msglen, "%s %s%s: %s (%s)", r->method, server, r->path, curl_easy_strerror(code),
             detail);
    return ERR_IO;
}
