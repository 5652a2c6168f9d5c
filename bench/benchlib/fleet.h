/* fleet.h - n objects a benchmark creates and waits for, named
 * "<prefix>-%07zu", each with its own timeline on CLOCK_MONOTONIC:
 * create sent -> create answered -> ready seen (on the benchmark's watch).
 *
 * The watch callback hands every object to bench_fleet_observe(); an object
 * whose name is not "<prefix>-<index>" with index < n is ignored, so other
 * objects in the namespace do not disturb the counts. Readiness is decided
 * by the fleet's predicate (bench_fleet_kind): a Sandbox's Ready condition,
 * or a claim's Ready condition plus status.sandbox.name (kept in the item).
 * A ready item stays ready (later events do not move its time).
 *
 * Create callbacks (kube_done_cb) take bench_fleet_item_udata(f, i).
 * Memory: items are allocated by init and freed by fini; close the client
 * (which completes pending requests) before bench_fleet_fini.
 * Not thread-safe: the loop's thread only. Returns 0 or ERR_NOMEM / ERR_INVALID.
 */
#ifndef ASC_BENCH_FLEET_H
#define ASC_BENCH_FLEET_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"

enum bench_fleet_kind { BENCH_FLEET_SANDBOXES = 1, BENCH_FLEET_CLAIMS };

struct bench_fleet;

typedef struct bench_item {
    struct bench_fleet *f;
    int64_t send_ns;       /* mono; 0 until sent */
    int64_t answer_ns;     /* mono; 0 until the create was answered */
    int64_t ready_ns;      /* mono; 0 until ready was seen */
    int64_t ready_wall_ms; /* wall clock at ready (matches kubesim's log times) */
    int create_status;     /* HTTP status of the create, -1 transport error, 0 pending */
    char sandbox[96];      /* claims: status.sandbox.name when ready */
    char reason[64];       /* the last Ready reason seen while not ready */
} bench_item;

typedef struct bench_fleet {
    enum bench_fleet_kind kind;
    char prefix[48];
    size_t n;
    bench_item *it;
    size_t sent, answered, created, failed, ready;
    int64_t first_send_ns, last_send_ns, last_ready_ns;
    char first_err[256];
} bench_fleet;

int bench_fleet_init(bench_fleet *f, enum bench_fleet_kind kind, const char *prefix, size_t n);
void bench_fleet_fini(bench_fleet *f);
/* "<prefix>-0000042" */
void bench_fleet_name(const bench_fleet *f, size_t i, char *buf, size_t len);
/* The index of name in this fleet, or -1. */
long bench_fleet_index(const bench_fleet *f, const char *name);
/* Stamp the send time of item i (call right before sending). */
void bench_fleet_sent(bench_fleet *f, size_t i);
/* kube_done_cb: udata is bench_fleet_item_udata(f, i). */
void bench_fleet_on_created(const kube_result *res, void *udata);
void *bench_fleet_item_udata(bench_fleet *f, size_t i);
/* Record the create result of item i (what bench_fleet_on_created does). */
void bench_fleet_answered(bench_fleet *f, size_t i, const kube_result *res);
/* Feed a watched object; returns 1 when it made an item ready. */
int bench_fleet_observe(bench_fleet *f, json_object *obj);
/* All items answered, and each either failed or ready. */
int bench_fleet_settled(const bench_fleet *f);
/* A one-line summary of the Ready reasons of created, not-ready items
 * ("SandboxNotReady x12, (none) x3"). */
void bench_fleet_pending_reasons(const bench_fleet *f, char *buf, size_t len);

#endif
