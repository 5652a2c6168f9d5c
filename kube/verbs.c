/* verbs.c - the typed verbs: paths, query strings, bodies, idempotency.
 *
 * Each verb builds the path with kube_path, adds the query (every value
 * percent-encoded: label selectors carry '=', '!', ',' and spaces), picks
 * the content type, decides whether a retry after a 5xx is safe, and queues
 * a kube__req. */
#include "kube/internal.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 1024

static int
unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

int
kube__query_add(kube__buf *b, const char *key, const char *val)
{
    static const char hex[] = "0123456789ABCDEF";
    int has_q = b->p && memchr(b->p, '?', b->len) != NULL;
    int rc = kube__buf_add(b, has_q ? "&" : "?", 1);
    if (rc == 0) rc = kube__buf_add(b, key, strlen(key));
    if (rc == 0) rc = kube__buf_add(b, "=", 1);
    for (const unsigned char *p = (const unsigned char *)val; rc == 0 && *p; p++) {
        if (unreserved(*p)) {
            rc = kube__buf_add(b, (const char *)p, 1);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = kube__buf_add(b, enc, 3);
        }
    }
    return rc;
}

int
kube__list_query(kube__buf *b, const kube_list_opts *o, int watch)
{
    int rc = 0;
    char num[32];
    if (watch) rc = kube__query_add(b, "watch", "1");
    if (o == NULL) return rc;
    if (rc == 0 && o->label_selector && o->label_selector[0])
        rc = kube__query_add(b, "labelSelector", o->label_selector);
    if (rc == 0 && o->field_selector && o->field_selector[0])
        rc = kube__query_add(b, "fieldSelector", o->field_selector);
    if (rc == 0 && o->resource_version && o->resource_version[0])
        rc = kube__query_add(b, "resourceVersion", o->resource_version);
    if (rc == 0 && o->resource_version_match && o->resource_version_match[0])
        rc = kube__query_add(b, "resourceVersionMatch", o->resource_version_match);
    if (rc == 0 && !watch && o->limit > 0) {
        snprintf(num, sizeof(num), "%ld", o->limit);
        rc = kube__query_add(b, "limit", num);
    }
    if (rc == 0 && !watch && o->continue_token && o->continue_token[0])
        rc = kube__query_add(b, "continue", o->continue_token);
    if (rc == 0 && watch && o->allow_bookmarks)
        rc = kube__query_add(b, "allowWatchBookmarks", "true");
    if (rc == 0 && watch && o->send_initial_events)
        rc = kube__query_add(b, "sendInitialEvents", "true");
    if (rc == 0 && watch && o->timeout_seconds > 0) {
        snprintf(num, sizeof(num), "%d", o->timeout_seconds);
        rc = kube__query_add(b, "timeoutSeconds", num);
    }
    return rc;
}

int
kube_request(kube_client *c, const char *method, const char *path_and_query,
             const char *content_type, const char *body, size_t body_len, int idempotent,
             kube_done_cb cb, void *udata)
{
    if (c == NULL || method == NULL || path_and_query == NULL || path_and_query[0] != '/')
        return ERR_INVALID;
    if (c->closing) return ERR_CANCELED;
    kube__req *r =
        kube__req_new(c, method, path_and_query, content_type, body, body_len, idempotent);
    if (r == NULL) return ERR_NOMEM;
    r->cb = cb;
    r->udata = udata;
    kube__req_enqueue(r);
    kube__dispatch(c);
    return 0;
}

int
kube_get(kube_client *c, const kube_resource *r, const char *ns, const char *name,
         const char *subresource, kube_done_cb cb, void *udata)
{
    char path[PATH_MAX_LEN];
    if (name == NULL) return ERR_INVALID;
    int rc = kube_path(r, ns, name, subresource, path, sizeof(path));
    if (rc != 0) return rc;
    return kube_request(c, "GET", path, NULL, NULL, 0, 1, cb, udata);
}

int
kube_list(kube_client *c, const kube_resource *r, const char *ns, const kube_list_opts *opts,
          kube_done_cb cb, void *udata)
{
    char path[PATH_MAX_LEN];
    int rc = kube_path(r, ns, NULL, NULL, path, sizeof(path));
    if (rc != 0) return rc;
    kube__buf b = {0};
    rc = kube__buf_add(&b, path, strlen(path));
    if (rc == 0) rc = kube__list_query(&b, opts, 0);
    if (rc == 0) rc = kube_request(c, "GET", b.p, NULL, NULL, 0, 1, cb, udata);
    kube__buf_fini(&b);
    return rc;
}

int
kube_create(kube_client *c, const kube_resource *r, const char *ns, const char *body,
            kube_done_cb cb, void *udata)
{
    char path[PATH_MAX_LEN];
    if (body == NULL) return ERR_INVALID;
    int rc = kube_path(r, ns, NULL, NULL, path, sizeof(path));
    if (rc != 0) return rc;
    return kube_request(c, "POST", path, "application/json", body, strlen(body), 0, cb, udata);
}

int
kube_update(kube_client *c, const kube_resource *r, const char *ns, const char *name,
            const char *subresource, const char *body, kube_done_cb cb, void *udata)
{
    char path[PATH_MAX_LEN];
    if (name == NULL || body == NULL) return ERR_INVALID;
    int rc = kube_path(r, ns, name, subresource, path, sizeof(path));
    if (rc != 0) return rc;
    /* PUT replaces the object: repeating it gives the same state (and with
     * a resourceVersion the server refuses a stale repeat with 409). */
    return kube_request(c, "PUT", path, "application/json", body, strlen(body), 1, cb, udata);
}

/* A patch is safe to repeat only when it is conditional on the
 * resourceVersion: a merge patch that sets metadata.resourceVersion, or a
 * JSON patch that tests /metadata/resourceVersion. */
static int
patch_is_conditional(kube_client *c, enum kube_patch_type type, const char *body, size_t len)
{
    /* Most patches name no resourceVersion: the key (or the path) cannot be
     * in the document without this text, so those need no parse. (A key
     * spelled with backslash-u escapes is not seen: the patch is then not retried,
     * the safe side.) */
    if (memmem(body, len, "resourceVersion", 15) == NULL) return 0;
    if (c->tok == NULL) c->tok = json_tokener_new_ex(KUBE__JSON_DEPTH);
    json_object *o = kube__json_parse_tok(c->tok, body, len, NULL);
    int cond = 0;
    if (o == NULL) return 0;
    if (type == KUBE_PATCH_JSON && json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            json_object *op = json_object_array_get_idx(o, i);
            const char *opn = jx_str(op, "op"), *p = jx_str(op, "path");
            if (opn && p && strcmp(opn, "test") == 0 && strcmp(p, "/metadata/resourceVersion") == 0)
                cond = 1;
        }
    } else if (type != KUBE_PATCH_JSON) {
        const char *rv = jx_str(o, "metadata.resourceVersion");
        cond = rv && rv[0];
    }
    json_object_put(o);
    return cond;
}

int
kube_patch(kube_client *c, const kube_resource *r, const char *ns, const char *name,
           const char *subresource, enum kube_patch_type type, const char *body, kube_done_cb cb,
           void *udata)
{
    static const char *const ctypes[] = {
        [KUBE_PATCH_MERGE] = "application/merge-patch+json",
        [KUBE_PATCH_JSON] = "application/json-patch+json",
        [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
    };
    char path[PATH_MAX_LEN];
    if (name == NULL || body == NULL || (unsigned)type > KUBE_PATCH_STRATEGIC) return ERR_INVALID;
    int rc = kube_path(r, ns, name, subresource, path, sizeof(path));
    if (rc != 0) return rc;
    size_t len = strlen(body);
    return kube_request(c, "PATCH", path, ctypes[type], body, len,
                        patch_is_conditional(c, type, body, len), cb, udata);
}

int
kube_delete(kube_client *c, const kube_resource *r, const char *ns, const char *name,
            const kube_delete_opts *opts, kube_done_cb cb, void *udata)
{
    char path[PATH_MAX_LEN];
    if (name == NULL) return ERR_INVALID;
    int rc = kube_path(r, ns, name, NULL, path, sizeof(path));
    if (rc != 0) return rc;
    if (opts == NULL) return kube_request(c, "DELETE", path, NULL, NULL, 0, 1, cb, udata);
    json_object *o = json_object_new_object();
    if (o == NULL) return ERR_NOMEM;
    rc = jx_set_str(o, "kind", "DeleteOptions");
    if (rc == 0) rc = jx_set_str(o, "apiVersion", "v1");
    if (rc == 0 && opts->precondition_uid)
        rc = jx_set_str(o, "preconditions.uid", opts->precondition_uid);
    if (rc == 0 && opts->precondition_rv)
        rc = jx_set_str(o, "preconditions.resourceVersion", opts->precondition_rv);
    if (rc == 0 && opts->propagation_policy)
        rc = jx_set_str(o, "propagationPolicy", opts->propagation_policy);
    if (rc == 0 && opts->grace_period_seconds >= 0)
        rc = jx_set(o, "gracePeriodSeconds", json_object_new_int64(opts->grace_period_seconds));
    if (rc == 0) {
        const char *s = jx_dump(o);
        rc = kube_request(c, "DELETE", path, "application/json", s, strlen(s), 1, cb, udata);
    }
    json_object_put(o);
    return rc;
}
