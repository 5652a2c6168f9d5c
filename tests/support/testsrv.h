/* testsrv.h - a small scripted HTTP/1.1 server for tests (libmicrohttpd).
 *
 * A test starts it on a loopback ephemeral port, adds rules, points a client
 * at testsrv_url(), and afterwards inspects what arrived. Each request is
 * answered by the first rule that matches its method and path (query
 * ignored) and still has uses left; no match gives 404 "no rule".
 *
 * A rule can delay its answer, add headers (Retry-After, Warning...), or
 * stream a chunked body: a list of chunks, each sent after its own delay or
 * after the test calls testsrv_release() (so a test can prove an event was
 * delivered before the next one was even sent), optionally ending with a
 * dropped connection instead of a clean end.
 *
 * Threads: the server runs one thread per connection. Rules may be added and
 * requests inspected from the test's thread at any time (a mutex guards
 * them). Everything a rule points to is copied by testsrv_add. */
#ifndef ASC_TESTS_TESTSRV_H
#define ASC_TESTS_TESTSRV_H

#include <stddef.h>
#include <stdint.h>

typedef struct testsrv testsrv;

typedef struct testsrv_chunk {
    int delay_ms;     /* wait before sending */
    int hold;         /* then wait for a testsrv_release() (or testsrv_stop) */
    const char *data; /* bytes to send */
    size_t len;       /* 0: strlen(data) */
} testsrv_chunk;

typedef struct testsrv_rule {
    const char *method;          /* NULL: any */
    const char *path;            /* exact path, query excluded; NULL: any */
    int times;                   /* answers this many requests; 0: unlimited */
    int status;                  /* default 200 */
    const char *content_type;    /* default "application/json" */
    const char *headers;         /* extra "Name: value" lines separated by '\n' */
    const char *body;            /* plain reply body (ignored when chunks are set) */
    size_t body_len;             /* 0: strlen(body) */
    int delay_ms;                /* before the reply starts */
    const testsrv_chunk *chunks; /* streamed, Transfer-Encoding: chunked */
    int nchunks;
    int abort_at_end; /* after the chunks, drop the connection (no final chunk) */
} testsrv_rule;

typedef struct testsrv_req {
    char *method;
    char *uri;  /* as sent, with the raw (still percent-encoded) query */
    char *path; /* decoded path */
    char *body;
    size_t body_len;
    int64_t t_ms; /* CLOCK_MONOTONIC ms when the request was complete */
    int nheaders, nargs;
    char **hname, **hval; /* headers */
    char **aname, **aval; /* decoded query arguments */
} testsrv_req;

/* Start on 127.0.0.1 with an ephemeral port. NULL on failure. */
testsrv *testsrv_start(void);
/* Stop (unblocking held streams) and free. NULL is a no-op. */
void testsrv_stop(testsrv *s);
int testsrv_port(const testsrv *s);
const char *testsrv_url(const testsrv *s); /* "http://127.0.0.1:<port>" */

/* Add a rule (copied). 0 or -1. */
int testsrv_add(testsrv *s, const testsrv_rule *r);
/* Let one held chunk go. */
void testsrv_release(testsrv *s);

/* Requests received so far (complete ones), in arrival order. The returned
 * pointer stays valid until testsrv_stop. NULL when i is out of range. */
int testsrv_count(testsrv *s);
const testsrv_req *testsrv_get(testsrv *s, int i);
/* Header value (case-insensitive name) or query argument of a request, or NULL. */
const char *testsrv_header(const testsrv_req *q, const char *name);
const char *testsrv_arg(const testsrv_req *q, const char *name);

#endif
