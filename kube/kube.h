/* kube.h - asynchronous Kubernetes API client on a libev loop.
 *
 * Thread rule: every call here, and every callback, runs on the thread that
 * runs the client's ev_loop (the I/O thread). Other threads hand work over
 * through their own queue + ev_async (see reconciler/).
 *
 * Transport: libcurl multi on libev (socket + timer callbacks, no polling),
 * keep-alive, HTTP/2 multiplexing when the server offers it (ALPN), a
 * per-request timeout, a client-side QPS/burst limiter (default unlimited),
 * retries with jittered backoff for 429 on any verb (the server did not act
 * on it; Retry-After honoured, capped at 60 s), and for 500/502/503/504 and
 * transport errors on idempotent verbs (GET, LIST, PUT, DELETE; not POST,
 * not PATCH unless the request carries a resourceVersion precondition); a
 * refused connection is retried on any verb (nothing was sent). Timeouts
 * and TLS failures are not retried. Watches are never retried: their
 * failures go to on_end and the caller (the informer) decides.
 *
 * Errors: a request always completes through its callback exactly once
 * (unless kube_client_new/kube_request fail synchronously, in which case the
 * callback never runs). Errors arrive as kube_result: the HTTP status, an
 * ERR_* code, and the API's Status object fields (reason, message) when the
 * server sent one, else a one-line description of the transport failure.
 */
#ifndef ASC_KUBE_H
#define ASC_KUBE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

/* ---- configuration (kube/config.c) ------------------------------------ */

typedef struct kube_config {
    char *server; /* https://host:port (no trailing slash) */
    char *ca_pem; /* certificate-authority-data (decoded PEM) or file contents */
    char *client_cert_pem;
    char *client_key_pem;
    char *token;      /* bearer token (token or tokenFile contents) */
    char *token_file; /* re-read when it changes (bound SA tokens rotate) */
    int insecure_skip_tls_verify;
    char *namespace; /* context namespace or in-cluster namespace; may be NULL */
    char *source;    /* where it came from: a file path or "in-cluster" */
    char *context;   /* the context name used */
} kube_config;

/* Load configuration: explicit path if non-NULL, else $KUBECONFIG (first
 * file of a ':' list), else ~/.kube/config, else in-cluster (service-account
 * token + CA + KUBERNETES_SERVICE_HOST/PORT). An explicit path that cannot be
 * read is an error (never a silent fallback). On failure returns ERR_CONFIG
 * and writes a one-line reason naming the file into err. */
int kube_config_load(const char *explicit_path, kube_config *out, char *err, size_t errlen);
/* Parse a kubeconfig document already in memory (tests); path is for messages. */
int kube_config_parse(const char *yaml, size_t len, const char *path, const char *context,
                      kube_config *out, char *err, size_t errlen);
int kube_config_in_cluster(kube_config *out, char *err, size_t errlen);
void kube_config_fini(kube_config *cfg);

/* ---- resources -------------------------------------------------------- */

typedef struct kube_resource {
    const char *group;   /* "" for core */
    const char *version; /* "v1", "v1beta1" */
    const char *plural;  /* "pods", "sandboxes" */
    const char *kind;    /* "Pod", "Sandbox" */
    int namespaced;
} kube_resource;

/* The resources the controller uses (defined in kube/resources.c). */
/* KUBE_EVENTS is core/v1; KUBE_EVENTS_V1 is events.k8s.io/v1 (the same store on the server). */
extern const kube_resource KUBE_PODS, KUBE_SERVICES, KUBE_PVCS, KUBE_EVENTS, KUBE_EVENTS_V1,
    KUBE_LEASES, KUBE_NETWORKPOLICIES, KUBE_NAMESPACES, KUBE_NODES, KUBE_CRDS, KUBE_SANDBOXES,
    KUBE_SANDBOXTEMPLATES, KUBE_SANDBOXCLAIMS, KUBE_SANDBOXWARMPOOLS;

/* Build "/api/v1/namespaces/ns/pods/name/status" into buf. ns/name/sub may be NULL. */
int kube_path(const kube_resource *r, const char *ns, const char *name, const char *sub, char *buf,
              size_t buflen);

/* ---- client ----------------------------------------------------------- */

typedef struct kube_client kube_client;

typedef struct kube_client_opts {
    const char *user_agent; /* default "agent-sandbox-controller/<version>" */
    double qps;             /* <= 0: unlimited (default) */
    int burst;              /* tokens; default 10 */
    int timeout_ms;         /* per request, non-watch; default 30000 */
    int max_retries;        /* default 5 */
    int connections;        /* max connections per host; <= 0 (default): no cap. With
                             * HTTP/2 requests wait for and share one connection anyway
                             * (PIPEWAIT); a cap on HTTP/1.1 would queue requests behind
                             * open watches, so none is set by default. */
    int http2;              /* 1 (default): offer h2 via ALPN; 0: HTTP/1.1 only */
    int max_active;         /* requests (not watches) handed to libcurl at once; the rest
                             * wait in the client's queue, their timeout not yet running.
                             * <= 0 (default): no cap. libcurl removes a finished transfer
                             * in time linear in the transfers it holds: thousands at once
                             * made that the client's whole CPU. */
} kube_client_opts;

/* Fill o with the defaults above (http2 1, burst 10, timeout 30000 ms,
 * max_retries 5). With an opts struct passed to kube_client_new, zero or
 * negative burst/timeout_ms mean the default, max_retries < 0 means the
 * default and 0 means no retries, http2 0 means HTTP/1.1: start from this. */
void kube_client_opts_init(kube_client_opts *o);

/* opts may be NULL for defaults. Returns NULL and fills err on failure. */
kube_client *kube_client_new(struct ev_loop *loop, const kube_config *cfg,
                             const kube_client_opts *opts, char *err, size_t errlen);
/* Cancels every pending request and watch (their callbacks run with
 * ERR_CANCELED before this returns; new requests from those callbacks are
 * refused with ERR_CANCELED), then frees. NULL is a no-op. Must not be
 * called from inside one of this client's callbacks. */
void kube_client_free(kube_client *c);
const char *kube_client_server(const kube_client *c);
/* on != 0: the parsed body (kube_result.body) of every later response to a
 * write (any method but GET) lacks the object's metadata.managedFields, as
 * objects read from the cache do (store.h); kube_result.raw keeps the whole
 * text. Parsing a write response costs much less: the controller's writes
 * only want the returned object's fields. Off by default. */
void kube_client_slim_write_responses(kube_client *c, int on);
/* Requests and watches started and not yet completed (queued, in flight or
 * waiting to retry). */
size_t kube_client_inflight(const kube_client *c);

typedef struct kube_stats {
    uint64_t requests, retries, errors, bytes_in, bytes_out;
    uint64_t connects; /* new connections opened (HTTP/2: one carries many requests) */
} kube_stats;
void kube_client_stats(const kube_client *c, kube_stats *out);

/* ---- requests --------------------------------------------------------- */

typedef struct kube_result {
    int err;          /* 0, or ERR_* (ERR_NOTFOUND for 404, ERR_CONFLICT / ERR_EXISTS for 409...) */
    long http_status; /* 0 when no response arrived */
    json_object *body; /* parsed body (object or Status), borrowed: valid during the callback;
                        * call json_object_get() to keep it */
    const char *raw;   /* raw body bytes (NUL-terminated), borrowed likewise */
    size_t raw_len;
    const char *reason;  /* Status.reason ("NotFound", "Conflict", "AlreadyExists"...) or "" */
    const char *message; /* Status.message or a transport error text; never NULL */
    int retry_after_s;   /* Retry-After seconds when sent, else 0 */
    const char *warning; /* Warning header text or NULL */
    long http_version;   /* of the last response: 10, 11, 20 (HTTP/2), 30; 0 if none */
    int attempts;        /* transfers made (1 + retries) */
} kube_result;

typedef void (*kube_done_cb)(const kube_result *res, void *udata);

/* Take the parsed body out of res, inside the callback that res was passed
 * to: the caller gets the only reference (json_object_put it when done) and
 * may hand it to another thread, since the client keeps no reference to it
 * (json-c's reference counts are not atomic: a body merely json_object_get()
 * by the callback is still released by the client on the I/O thread after
 * the callback). res->body stays valid for the rest of the callback while
 * the caller holds it. NULL when there is no body, when it was taken
 * already, or when res is not the result of the running callback. */
json_object *kube_result_take_body(const kube_result *res);

enum kube_patch_type {
    KUBE_PATCH_MERGE = 0, /* application/merge-patch+json */
    KUBE_PATCH_JSON,      /* application/json-patch+json */
    KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (core kinds only) */
};

typedef struct kube_list_opts {
    const char *label_selector;
    const char *field_selector;
    const char *resource_version;
    const char *resource_version_match; /* "NotOlderThan" / "Exact" */
    long limit;                         /* 0: no limit */
    const char *continue_token;
    /* watch only */
    int allow_bookmarks;
    int send_initial_events;
    int timeout_seconds; /* 0: server default */
} kube_list_opts;

typedef struct kube_delete_opts {
    const char *precondition_uid;
    const char *precondition_rv;
    const char *propagation_policy; /* "Background" / "Foreground" / "Orphan" or NULL */
    long grace_period_seconds;      /* < 0: unset */
} kube_delete_opts;

/* All calls return 0 when queued (the callback will run exactly once) or a
 * negative code when nothing was queued (the callback never runs).
 * body strings are copied; ns may be NULL for cluster-scoped resources. */
int kube_get(kube_client *c, const kube_resource *r, const char *ns, const char *name,
             const char *subresource, kube_done_cb cb, void *udata);
int kube_list(kube_client *c, const kube_resource *r, const char *ns, const kube_list_opts *opts,
              kube_done_cb cb, void *udata);
int kube_create(kube_client *c, const kube_resource *r, const char *ns, const char *body,
                kube_done_cb cb, void *udata);
int kube_update(kube_client *c, const kube_resource *r, const char *ns, const char *name,
                const char *subresource, const char *body, kube_done_cb cb, void *udata);
int kube_patch(kube_client *c, const kube_resource *r, const char *ns, const char *name,
               const char *subresource, enum kube_patch_type type, const char *body,
               kube_done_cb cb, void *udata);
int kube_delete(kube_client *c, const kube_resource *r, const char *ns, const char *name,
                const kube_delete_opts *opts, kube_done_cb cb, void *udata);
/* A raw request: method, path with query, content type and body (may be NULL). */
int kube_request(kube_client *c, const char *method, const char *path_and_query,
                 const char *content_type, const char *body, size_t body_len, int idempotent,
                 kube_done_cb cb, void *udata);

/* ---- watches ---------------------------------------------------------- */

enum kube_event_type {
    KUBE_ADDED = 1,
    KUBE_MODIFIED,
    KUBE_DELETED,
    KUBE_BOOKMARK,
    KUBE_ERROR, /* object is a Status; code 410 means resourceVersion expired */
};

typedef struct kube_watch kube_watch;

/* One decoded event. obj is borrowed for the duration of the callback
 * (json_object_get() to keep it). Runs on the I/O thread. */
typedef void (*kube_event_cb)(enum kube_event_type type, json_object *obj, void *udata);
/* The stream ended: err 0 for a clean server close (timeout), ERR_GONE after
 * an ERROR event with code 410 or an HTTP 410, ERR_CANCELED after
 * kube_watch_stop, else the failure. message is never NULL. After this
 * callback the watch handle is freed by the library. */
typedef void (*kube_watch_end_cb)(int err, long http_status, const char *message, void *udata);

/* Start a watch (?watch=1). Lines are decoded incrementally (json-c tokener),
 * never buffering the whole stream; a malformed line ends the watch with
 * ERR_PARSE. Returns NULL when nothing was started (callbacks never run). */
kube_watch *kube_watch_start(kube_client *c, const kube_resource *r, const char *ns,
                             const kube_list_opts *opts, kube_event_cb on_event,
                             kube_watch_end_cb on_end, void *udata);
/* Stop: on_end runs once with ERR_CANCELED (synchronously, before return). */
void kube_watch_stop(kube_watch *w);

/* ---- watch stream decoder (kube/watch_decoder.c), usable without HTTP -- */

typedef struct kube_watch_decoder kube_watch_decoder;
/* max_event_bytes: a single event larger than this is an error (0: 64 MiB). */
kube_watch_decoder *kube_watch_decoder_new(size_t max_event_bytes);
void kube_watch_decoder_free(kube_watch_decoder *d);
/* Feed bytes (any split). Calls cb for each complete event. Returns 0, or
 * ERR_PARSE / ERR_TOOLARGE with a message in err (decoder unusable after). */
int kube_watch_decoder_feed(kube_watch_decoder *d, const char *buf, size_t len, kube_event_cb cb,
                            void *udata, char *err, size_t errlen);
/* At end of stream: ERR_PARSE if a partial event is pending. */
int kube_watch_decoder_finish(kube_watch_decoder *d, char *err, size_t errlen);

#endif
