/* internal.h - private to kube/: the structs behind the opaque handles and
 * the small set of functions the files of this folder share (double
 * underscore, libuv style). Nothing outside kube/ includes this, except
 * informer/kube_transport.c for the raw watch-event hook below.
 *
 * Life of a request (kube__req):
 *   QUEUED  in the client's FIFO, waiting for the QPS limiter (or for the
 *           loop to leave a libcurl callback: transfers are never added from
 *           inside one, curl forbids it);
 *   ACTIVE  its easy handle is in the multi handle;
 *   BACKOFF waiting on its ev_timer before a retry.
 * It ends exactly once: its callback (or the watch's on_end) runs and it is
 * freed. A request canceled while libcurl is inside one of its callbacks is
 * marked and parked on the reap list; the handle is removed once curl has
 * returned (curl forbids removing handles from its callbacks). */
#ifndef ASC_KUBE_INTERNAL_H
#define ASC_KUBE_INTERNAL_H

#include "kube/kube.h"

#include <curl/curl.h>
#include <ev.h>
#include <sys/types.h>
#include <time.h>

enum { KREQ_QUEUED = 1, KREQ_ACTIVE, KREQ_BACKOFF, KREQ_DONE };

typedef struct kube__buf {
    char *p;
    size_t len, cap;
} kube__buf;

/* Append n bytes, keeping a NUL after them. 0 or ERR_NOMEM. */
int kube__buf_add(kube__buf *b, const char *data, size_t n);
void kube__buf_fini(kube__buf *b);

typedef struct kube__sock {
    curl_socket_t fd;
    ev_io io;
    kube_client *c;
    struct kube__sock *prev, *next;
} kube__sock;

typedef struct kube__req kube__req;

struct kube_watch {
    kube__req *req;
    kube_event_cb on_event;
    kube_watch_end_cb on_end;
    void *udata;
    kube_watch_decoder *dec;
    int end_err; /* set by the write callback when it aborts the stream */
    long end_status;
    char end_msg[1024];
    unsigned long events;
};

struct kube__req {
    kube_client *c;
    kube__req *prev, *next; /* every live request of the client */
    kube__req *qnext;       /* FIFO of QUEUED requests, or the reap list */
    int state;
    int canceled;       /* its owner is gone: no callback may run any more */
    int reaping;        /* on the reap list */
    int counted_active; /* its transfer counts in c->active */
    char *method;
    char *path; /* path and query */
    char *content_type;
    char *body;
    size_t body_len;
    int idempotent;
    int attempts;  /* transfers started */
    int start_err; /* the last transfer could not start: fail from the backoff timer */
    kube_done_cb cb;
    void *udata;
    kube_watch *watch; /* non-NULL for a watch stream */

    /* current attempt */
    CURL *easy;
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    kube__buf resp;
    long status;
    long http_version;
    int retry_after_s;
    char *warning;
    ev_timer backoff;
};

struct kube_client {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer curl_timer; /* the one deadline curl asks for */
    ev_timer kick;       /* dispatch/reap outside curl callbacks, or when the limiter refills */
    int in_curl;         /* > 0 while a libcurl callback that runs user code is on the stack */
    int closing;
    kube__sock *socks;

    char *server;
    char *noproxy; /* $NO_PROXY plus loopback */
    char *user_agent;
    char *ca_pem, *cert_pem, *key_pem;
    int insecure;
    int verbose;
    char *token;
    char *token_file;
    int64_t token_read_ms; /* last look at token_file */
    ino_t token_ino;
    off_t token_size;
    struct timespec token_mtime;
    size_t inflight; /* live requests and watches */
    size_t active;   /* requests (not watches) with a transfer in libcurl (opts.max_active) */
    kube_client_opts opts;

    double tokens; /* QPS limiter bucket */
    int64_t tokens_ns;
    kube__req *q_head, *q_tail;
    kube__req *live;
    kube__req *reap;
    kube_stats stats;
    uint64_t rng;
    json_tokener *tok; /* reused for every response body (I/O thread only) */
    int slim_writes;   /* kube_client_slim_write_responses */
};

/* http.c: curl multi on libev */
int kube__http_init(kube_client *c, char *err, size_t errlen);
void kube__http_fini(kube_client *c);
/* Build the easy handle for r's next attempt and add it. 0, or an ERR_* code
 * with a message in r->errbuf. */
int kube__http_start(kube__req *r);
/* Remove r's easy handle from the multi (if any) and free it. */
void kube__http_detach(kube__req *r);
/* Run the queue from the loop soon (not from inside the caller). */
void kube__kick(kube_client *c);

/* client.c */
/* A transfer of r finished (called from the multi drain, outside curl callbacks). */
void kube__req_complete(kube__req *r, CURLcode code);
/* result.c: run r's callback once with its result, then free r. */
void kube__deliver(kube__req *r, int err, const char *message);
/* Start what the limiter allows; remove reaped handles. */
void kube__dispatch(kube_client *c);
void kube__reap(kube_client *c);
kube__req *kube__req_new(kube_client *c, const char *method, const char *path,
                         const char *content_type, const char *body, size_t body_len,
                         int idempotent);
void kube__req_enqueue(kube__req *r);
void kube__req_free(kube__req *r);
/* Cancel r: take it out of whatever state it is in. Does not run callbacks. */
int kube__req_cancel(kube__req *r); /* 1: deferred to the reap list (do not free) */
/* Describe a failed transfer in one line naming method and URL. Returns an ERR_* code. */
int kube__transport_error(kube__req *r, CURLcode code, char *msg, size_t msglen);
/* "https://server/path" into a new string. */
char *kube__url(const kube__req *r);
/* Query string building: appends "&k=v" (or "?k=v" first) with v URL-encoded. */
int kube__query_add(kube__buf *b, const char *key, const char *val);
int kube__list_query(kube__buf *b, const kube_list_opts *o, int watch);

/* Parse a whole JSON document, allowing Kubernetes-deep nesting. NULL with a
 * static reason in *err on failure. */
#define KUBE__JSON_DEPTH 512
json_object *kube__json_parse(const char *buf, size_t len, const char **err);
/* The same with a tokener of the caller's (depth KUBE__JSON_DEPTH; reset here),
 * so that a parse costs no tokener allocation. tok NULL: one of its own. */
json_object *kube__json_parse_tok(json_tokener *tok, const char *buf, size_t len, const char **err);

/* slim.c: the same as kube__json_parse_tok(tok, ...) minus the top-level
 * object's metadata.managedFields (the whole text is parsed when that member
 * cannot be cut out cleanly). tok is required. */
json_object *kube__json_parse_slim(json_tokener *tok, const char *buf, size_t len,
                                   const char **err);

/* Raw watch events (watch_decoder.c): with a hook set, every complete event
 * whose envelope is exactly {"type":"ADDED"|"MODIFIED"|"DELETED","object":{...}}
 * (strict JSON, either key order) is first offered to it as the object's
 * text, before any json-c tree is built. When "object" comes last, the text
 * offered runs to the event's closing brace: the hook must check that it is
 * exactly one JSON object (store_encode_json does). The hook returns 0 when it took the
 * event (the event counts as delivered), anything else to have it decoded by
 * json-c and delivered to the kube_event_cb as before (so the hook may decline
 * whatever it cannot handle, malformed text included: errors stay as they
 * were). After an ERROR event no more events of the stream are offered (the
 * watch is ending; kube_event_cb's side drops them). Same thread as feed. */
typedef int (*kube__raw_event_cb)(enum kube_event_type type, const char *obj, size_t len,
                                  void *udata);
void kube__watch_decoder_set_raw(kube_watch_decoder *d, kube__raw_event_cb cb, void *udata);
/* The same on a watch's decoder (call right after kube_watch_start). */
void kube__watch_set_raw(kube_watch *w, kube__raw_event_cb cb, void *udata);

/* watch.c */
size_t kube__watch_write(kube__req *r, const char *data, size_t n);
void kube__watch_complete(kube__req *r, CURLcode code);
/* End the watch: on_end(err, status, msg), then free r. */
void kube__watch_end(kube__req *r, int err, long status, const char *msg);

/* config helpers (config.c / base64.c) */
int kube__b64_decode(const char *in, size_t inlen, char **out, size_t *outlen, size_t *bad_at);
int kube__read_file(const char *path, char **out, size_t *outlen, size_t max);

#endif
