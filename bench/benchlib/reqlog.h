/* reqlog.h - kubesim's request log, and which API writes a claim cost.
 *
 * kubesim answers GET /kubesim/requests?since=<seq> with one JSON object per
 * line: {"seq","time","client","verb","resource","subresource","namespace",
 * "name","code"} (bench/kubesim/README.md). The log is a ring (100,000
 * entries), so a benchmark polls it while it runs, passing the last seq it
 * got; bench_reqlog_feed appends what a poll returned, skips entries it
 * already holds, and counts the entries the ring dropped before they were
 * read (a gap in seq) in `lost`, so a caller can tell that a figure is
 * incomplete instead of reporting a silently low one.
 *
 * Attribution (bench_reqlog_attribute): the critical path of a claim is the
 * set of writes (POST/PUT/PATCH/DELETE) by the controller's client to that
 * claim (any subresource) and to the Sandbox it got, after the bench's own
 * POST of the claim and up to the write that made the claim Ready. That
 * write is taken to be the controller's last write to the claim's status
 * subresource at or before the moment the benchmark saw Ready on its watch
 * (kubesim's log times and the benchmark's clock are the same wall clock of
 * this machine, at millisecond resolution); writes that follow it (the
 * metadata stamp, the refill) are off the critical path and are counted in
 * `after`. Without such a status write, every write up to the Ready time is
 * counted.
 *
 * Memory: bench_reqlog is embedded by the caller (init/fini); entries are
 * copied into it (strings truncated to the field sizes below, which hold
 * every name a benchmark makes). Not thread-safe.
 * Returns: 0, ERR_NOMEM, ERR_PARSE (a malformed line: bench_logent_parse
 * only; bench_reqlog_feed skips such lines and counts them in `malformed`).
 */
#ifndef ASC_BENCH_REQLOG_H
#define ASC_BENCH_REQLOG_H

#include <stddef.h>
#include <stdint.h>

enum {
    BENCH_VERB_OTHER = 0,
    BENCH_VERB_GET,
    BENCH_VERB_LIST,
    BENCH_VERB_WATCH,
    BENCH_VERB_POST,
    BENCH_VERB_PUT,
    BENCH_VERB_PATCH,
    BENCH_VERB_DELETE,
};

typedef struct bench_logent {
    uint64_t seq;
    int64_t time_ms; /* wall clock, ms since the epoch */
    int code;
    int verb; /* BENCH_VERB_* */
    char client[32];
    char resource[48];
    char subresource[24];
    char ns[64];
    char name[96];
} bench_logent;

/* One line (no newline needed). 0 or ERR_PARSE (not JSON, no seq, bad time). */
int bench_logent_parse(const char *line, size_t len, bench_logent *out);
int bench_verb_parse(const char *s);
const char *bench_verb_name(int verb);
/* POST, PUT, PATCH, DELETE. */
int bench_verb_is_write(int verb);

/* Which entries to keep (the rest only advance `last_seq`); NULL keeps all. */
typedef int (*bench_reqlog_keep_fn)(const bench_logent *e, void *ud);

typedef struct bench_reqlog {
    bench_logent *e;
    size_t n, cap;
    uint64_t last_seq; /* highest seq seen (kept or not) */
    uint64_t lost;     /* entries the ring dropped before they were read */
    size_t malformed;  /* lines that did not parse */
    bench_reqlog_keep_fn keep;
    void *keep_ud;
} bench_reqlog;

void bench_reqlog_init(bench_reqlog *l, bench_reqlog_keep_fn keep, void *keep_ud);
void bench_reqlog_fini(bench_reqlog *l);
/* Feed the body of one /kubesim/requests reply. Lines with seq <= last_seq
 * are skipped. With last_seq > 0, a first new seq beyond last_seq + 1 adds
 * the gap to `lost`. 0 or ERR_NOMEM. */
int bench_reqlog_feed(bench_reqlog *l, const char *body, size_t len);

/* Count kept entries matching every given field (NULL / 0 / -1: any):
 * client, verb, resource, subresource ("" = none), name prefix, code. */
size_t bench_reqlog_count(const bench_reqlog *l, const char *client, int verb, const char *resource,
                          const char *subresource, const char *name_prefix, int code);

typedef struct bench_claim_attr {
    const char *claim;     /* in: the claim's name */
    const char *sandbox;   /* in: status.sandbox.name when Ready, else NULL */
    int64_t ready_wall_ms; /* in: wall ms when the bench saw Ready, 0 if never */
    uint64_t create_seq;   /* out: seq of the bench's POST of the claim, 0 if absent */
    int critical;          /* out: writes on the critical path, -1 if unknown */
    int after;             /* out: later writes to the claim and its Sandbox */
} bench_claim_attr;

/* Fill create_seq/critical/after for the n claims (all in the log's one
 * namespace). controller and bench are client names (User-Agent up to '/').
 * 0 or ERR_NOMEM. */
int bench_reqlog_attribute(const bench_reqlog *l, const char *controller, const char *bench,
                           bench_claim_attr *c, size_t n);
/* The same, and cb (may be NULL) hears each critical-path write of claim
 * c[k] (which writes they were: a diagnosis of a path longer than 2). */
typedef void (*bench_attr_cb)(size_t k, const bench_logent *e, void *ud);
int bench_reqlog_attribute_ex(const bench_reqlog *l, const char *controller, const char *bench,
                              bench_claim_attr *c, size_t n, bench_attr_cb cb, void *ud);

#endif
