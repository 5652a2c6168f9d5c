/* harness.h - integration-test harness: kubesim, the controller, and HTTP against the API.
 *
 * One harness per test (not thread-safe; everything runs on the calling thread). It owns a
 * temporary directory (kubeconfig, logs, cache dir) that harness_free removes.
 *
 * Cluster: harness_start_sim() runs `$ASC_BIN_DIR/kubesim --port 0 --kubeconfig-out F
 * [args]`, waits for its `ready <url>` line and reads the kubeconfig it wrote. When the
 * environment has TEST_KUBECONFIG=F, no kubesim is started: the harness talks to the cluster
 * of F instead, and tests that need kubesim-only features (admin endpoints, counters, flags,
 * other CRDs) call harness_require_kubesim(), which skips them visibly.
 *
 * Controller: harness_start_controller() runs `$ASC_BIN_DIR/agent-sandbox-controller
 * --kubeconfig F --cache-dir D --leader-elect=false --metrics-bind-address=0
 * --health-probe-bind-address=0 [--extensions] [args]` with stdout+stderr in a log file.
 *
 * Logs: both processes' logs are printed to stderr by harness_free() unless the test called
 * harness_pass() (its last statement), so a failed or aborted test shows them.
 *
 * HTTP: blocking helpers over one libcurl multi handle; open watches keep receiving while
 * any request or wait runs. Bearer token, CA and client certificates come from the
 * kubeconfig. Paths are relative to the server URL ("/api/v1/namespaces").
 *
 * Libraries: asc_harness; asc_harness_sim adds harness_use_inprocess_sim() (links asc_sim).
 * Watches left open are closed by harness_free (their handles become invalid then).
 *
 * Returns: 0 or a negative ERR_* code (core/err.h); ERR_CONFIG when a binary or kubeconfig
 * is missing or unusable, ERR_TIMEOUT when a wait expired, ERR_IO on transport failures. */
#ifndef ASC_TESTS_HARNESS_H
#define ASC_TESTS_HARNESS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct harness harness;
typedef struct harness_watch harness_watch;

/* A complete reply. Every pointer is owned by the struct; release with harness_resp_fini. */
typedef struct harness_resp {
    long status;        /* HTTP status, 0 on transport failure */
    char *content_type; /* raw Content-Type header value, "" if none */
    char *headers;      /* all response header lines of the final response, lower-case names */
    char *body;         /* NUL-terminated body bytes */
    size_t len;         /* body length */
    json_object *json;  /* parsed body, NULL unless it is JSON */
    int chunked;        /* Transfer-Encoding: chunked was used */
} harness_resp;

/* NULL on allocation failure or when no temporary directory can be made. */
harness *harness_new(void);
/* Stops what is running (SIGTERM, SIGKILL after 5 s), prints the logs unless harness_pass()
 * was called, removes the temporary directory. NULL is a no-op. */
void harness_free(harness *h);
/* Mark the test as passed: harness_free then stays quiet. */
void harness_pass(harness *h);

/* 1 when the API server is a kubesim started here, 0 with TEST_KUBECONFIG. */
int harness_is_kubesim(const harness *h);
/* "$ASC_BIN_DIR/<name>" written into buf (ASC_BIN_DIR unset: "./<name>"); returns buf. */
const char *harness_bin_path(const char *name, char *buf, size_t len);

/* Start kubesim with the NULL-terminated extra args (may be NULL). With TEST_KUBECONFIG this
 * only loads that kubeconfig and ignores args. ERR_CONFIG if the binary is missing. */
int harness_start_sim(harness *h, const char *const *args);
/* Run kubesim inside this process (library asc_sim, on its own thread) instead of the
 * binary; call before harness_start_sim, which then parses the same args. Only in tests
 * linked with asc_harness_sim. The sim's logs go to this process's stderr. */
int harness_use_inprocess_sim(harness *h);
/* SIGTERM, then SIGKILL after 5 s. *exit_status (may be NULL) gets the exit code, or 128+signal.
 * 0 when nothing was running. */
int harness_stop_sim(harness *h, int *exit_status);
pid_t harness_sim_pid(const harness *h);

/* Base URL ("http://127.0.0.1:PORT"), kubeconfig path and temp dir; valid until harness_free. */
const char *harness_url(const harness *h);
const char *harness_kubeconfig(const harness *h);
const char *harness_tmpdir(const harness *h);

int harness_start_controller(harness *h, int extensions, const char *const *args);
int harness_stop_controller(harness *h, int *exit_status);
/* 1 while the controller process is alive. */
int harness_controller_running(harness *h);

/* Print both logs now (also done by harness_free on failure). */
void harness_print_logs(harness *h, FILE *out);

/* User-Agent sent with every request (default "asc-harness/1.0"). The string is copied. */
int harness_set_user_agent(harness *h, const char *ua);

/* One request. content_type and body may be NULL (no body). extra_headers: NULL-terminated
 * "Name: value" strings or NULL. Fills *out (release with harness_resp_fini) even on a
 * transport error (status 0, ERR_IO returned). */
int harness_request(harness *h, const char *method, const char *path, const char *content_type,
                    const char *body, size_t len, const char *const *extra_headers,
                    harness_resp *out);
void harness_resp_fini(harness_resp *r);
/* Header value of a reply (name case-insensitive), copied into buf; NULL if absent. */
const char *harness_resp_header(const harness_resp *r, const char *name, char *buf, size_t len);

/* GET path and return the parsed JSON body when the status is 200 (caller puts it), else NULL
 * with *status (may be NULL) set. */
json_object *harness_get_json(harness *h, const char *path, long *status);
/* Body given as JSON text; the reply's JSON is returned (caller puts), NULL if not JSON. */
json_object *harness_send_json(harness *h, const char *method, const char *path,
                               const char *content_type, const char *json_text, long *status);

/* Poll: GET path every interval_ms until pred(status, body, ud) returns non-zero or
 * timeout_ms passed. *last (may be NULL) gets the last body (caller puts; NULL if none).
 * Returns 0 when the predicate held, ERR_TIMEOUT otherwise. Open watches keep flowing. */
typedef int (*harness_pred)(long status, json_object *body, void *ud);
int harness_poll(harness *h, const char *path, harness_pred pred, void *ud, int timeout_ms,
                 int interval_ms, json_object **last);
/* Let open watches receive for ms milliseconds. */
void harness_sleep(harness *h, int ms);

/* Sum of the samples of Prometheus metric name at GET /metrics whose labels include every
 * `key="value"` string of the NULL-terminated labels (may be NULL: all samples). 0 with *sum
 * filled (0 when no sample matched), or ERR_IO/ERR_HTTP when /metrics could not be read. */
int harness_metric(harness *h, const char *name, const char *const *labels, double *sum);

/* Watches: a streaming GET (path with query, e.g. "...?watch=true&resourceVersion=5"). The
 * stream is read while other harness calls run. Events are the parsed JSON lines. */
harness_watch *harness_watch_open(harness *h, const char *path);
/* Wait until at least n events arrived, the stream ended, or timeout_ms passed. Returns the
 * number of events now held. */
size_t harness_watch_wait(harness_watch *w, size_t n, int timeout_ms);
/* Wait for the server to end the stream (timeout_ms bound). 0 if it ended, ERR_TIMEOUT. */
int harness_watch_wait_end(harness_watch *w, int timeout_ms);
size_t harness_watch_count(const harness_watch *w);
/* Borrowed event i (owned by the watch). */
json_object *harness_watch_event(const harness_watch *w, size_t i);
/* Status and headers of the stream's reply (valid once headers arrived). */
long harness_watch_status(const harness_watch *w);
const char *harness_watch_content_type(const harness_watch *w);
int harness_watch_chunked(const harness_watch *w);
/* 1 once the stream ended; *clean (may be NULL) = 1 when it ended without transport error. */
int harness_watch_ended(const harness_watch *w, int *clean);
/* Bytes that were not a complete JSON line at the end (0 normally). Non-JSON replies (an error
 * Status on a watch request) are parsed as a single event body; see harness_watch_body. */
const char *harness_watch_body(const harness_watch *w, size_t *len);
void harness_watch_close(harness_watch *w);

/* Skip the current CMocka test visibly unless the server is a kubesim started here. The test
 * ends there (skip() jumps out): h is freed first, so call it right after harness_new(),
 * before the test holds anything else. Include <cmocka.h> before this header to use it. */
#define harness_require_kubesim(h)                                                                 \
    do {                                                                                           \
        if (!harness_is_kubesim(h)) {                                                              \
            fprintf(stderr, "SKIP %s: needs kubesim (TEST_KUBECONFIG is set)\n", __func__);        \
            harness_pass(h);                                                                       \
            harness_free(h);                                                                       \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

#endif
