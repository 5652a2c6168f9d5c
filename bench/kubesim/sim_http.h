/* sim_http.h - a small HTTP/1.1 server on libev, plain TCP or TLS (OpenSSL).
 *
 * Everything runs on the thread that runs the libev loop given to
 * sim_http_new; no call here is thread-safe. One request per connection is
 * handled at a time (pipelined requests wait in the input buffer). The
 * handler gets a parsed request and answers at once or later (delayed
 * replies, streaming watches) through the sim_conn_* calls; the request and
 * its strings stay valid until the reply is complete or the connection is
 * closed. When a connection closes while a handler still holds it, the
 * close callback set with sim_conn_on_close runs first, so the holder can
 * drop its pointer.
 *
 * Bounds: headers 1 MiB, bodies SIM_HTTP_MAX_BODY (3 MiB, the real server's
 * limit, answered 413); malformed requests get 400 and the connection is
 * closed. Request bodies may use Content-Length or chunked encoding;
 * "Expect: 100-continue" is honoured. */
#ifndef ASC_SIM_HTTP_H
#define ASC_SIM_HTTP_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_HTTP_MAX_BODY (3u * 1024u * 1024u)

typedef struct sim_http sim_http;
typedef struct sim_conn sim_conn;

typedef struct sim_req {
    char *method;       /* "GET" ... */
    char *path;         /* percent-decoded path, no query */
    char *query;        /* raw query string (without '?'), "" if none */
    char *content_type; /* lower-cased media type without parameters, "" if none */
    char *accept;       /* raw Accept header or "" */
    char *user_agent;   /* raw or "" */
    char *body;         /* NUL-terminated */
    size_t body_len;
    uint64_t seq; /* request number on the server */
    int deferred; /* set by the handler's owner when it re-dispatches the request */
} sim_req;

typedef void (*sim_http_handler)(void *ud, sim_conn *c, sim_req *r);
typedef void (*sim_conn_close_cb)(void *ud, sim_conn *c);

/* Listen on 127.0.0.1:port (0 = any free port). ssl_ctx may be NULL for plain
 * HTTP; it is borrowed and must outlive the server. Returns NULL and fills err. */
sim_http *sim_http_new(struct ev_loop *loop, int port, SSL_CTX *ssl_ctx, sim_http_handler h,
                       void *ud, char *err, size_t errlen);
int sim_http_port(const sim_http *s);
/* Close every connection and the listener; frees s. */
void sim_http_free(sim_http *s);
/* Number of open connections (tests, metrics). */
int sim_http_conn_count(const sim_http *s);

/* A complete reply. extra_headers: "Name: value\r\n" lines or NULL. */
void sim_conn_reply(sim_conn *c, int status, const char *content_type, const char *extra_headers,
                    const char *body, size_t len);
/* Streaming reply: headers with chunked encoding, then chunks, then the end. */
void sim_conn_stream_begin(sim_conn *c, int status, const char *content_type);
void sim_conn_stream_write(sim_conn *c, const char *data, size_t len);
/* The chunk size line for a payload of len bytes ("<hex>\r\n", len > 0) into head
 * (at least SIM_HTTP_CHUNK_HEAD_MAX bytes); returns its length. */
#define SIM_HTTP_CHUNK_HEAD_MAX 20
size_t sim_http_chunk_head(char *head, size_t len);
/* Queue one complete chunk (size line, payload, "\r\n") framed by the caller:
 * an event line sent to many streams is framed once. */
void sim_conn_stream_write_chunk(sim_conn *c, const char *chunk, size_t len);
void sim_conn_stream_end(sim_conn *c);
/* Bytes queued and not yet written to the socket. */
size_t sim_conn_pending(const sim_conn *c);
/* Drop the connection on the next loop iteration. The close callback is
 * cleared first (the caller already knows), so it does not run. */
void sim_conn_abort(sim_conn *c);
void sim_conn_on_close(sim_conn *c, sim_conn_close_cb cb, void *ud);

#endif
