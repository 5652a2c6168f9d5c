/* warmpool.h - the SandboxWarmPool reconcile pass (spec/api.md §2.3).
 *
 * Pure: (pool, its template, its member Sandboxes, outcomes of the previous
 * pass's writes, in-memory state, now) -> rec_result (creates, deletes,
 * label patches, one status patch, events, requeue). No HTTP.
 *
 * Threading and state: one rec_wp_state per pool key "<ns>/<pool>", owned
 * by the shard that owns that key (the same shard as pools/ and the claims
 * of the pool). Never shared between threads, so no locks.
 *
 * What the wiring gathers from the store for each pass (rec_wp_input):
 *   pool     the SandboxWarmPool (NULL when NotFound);
 *   tmpl     SandboxTemplate <pool ns>/<spec.sandboxTemplateRef.name>
 *            (NULL when NotFound);
 *   members  every Sandbox in the pool's namespace whose label
 *            agents.x-k8s.io/warm-pool-sandbox == NameHash(pool name)
 *            (the store's pool -> members index), deleting ones included;
 *   lookup   Sandbox by name in the pool namespace (any labels): used to
 *            settle create expectations of members that left the pool (a
 *            claim adopted them) before the pool ever listed them;
 *   outcomes the rec_outcome of every write the previous pass of THIS pool
 *            issued (tags "wp-create", "wp-delete", "wp-patch", "wp-status").
 * The wiring must re-run the pass when: the pool changes; a member Sandbox
 * is added/updated/deleted; the template changes (every pool whose
 * sandboxTemplateRef.name equals it); write outcomes come back; and after
 * rec_result.requeue_after_ms.
 *
 * Expectations (never over-create): state counts creates in flight (POST
 * sent, no outcome yet) and created names not yet listed, and deletes
 * issued but not yet observed. A pass creates exactly
 *   desired - (listed active + terminating + in-flight + created-unseen)
 * so the pool never over-creates while its own writes are invisible in the
 * cache, and creates at once (no waiting for expectations to settle, unlike
 * upstream). Stale expectations expire after 5 minutes. */
#ifndef ASC_RECONCILER_WARMPOOL_H
#define ASC_RECONCILER_WARMPOOL_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "reconciler/blueprint.h"
#include "reconciler/write.h"

typedef struct rec_wp_config {
    int max_batch;                    /* --sandbox-warm-pool-max-batch-size, default 300 */
    int64_t readiness_grace_ms;       /* --sandbox-warm-pool-readiness-grace-period, 5m */
    int64_t unschedulable_recheck_ms; /* --sandbox-warm-pool-unschedulable-recheck-interval, 1m */
    int enable_eviction;              /* --enable-warm-pool-eviction, default 1 */
    /* Pacing, both off (0) by default. replenish_delay: once the pool has
     * been full, a deficit waits this long before the refill starts.
     * max_refill_rate: creates per second per pool (token bucket holding
     * max(1, rate) tokens). Without them creates == deficit at once. */
    int64_t replenish_delay_ms; /* --sandbox-warm-pool-replenish-delay */
    double max_refill_rate;     /* --sandbox-warm-pool-max-refill-rate */
    /* Status settle: a status change that only moves replicas/readyReplicas
     * is written this long after the first unwritten change (default 1 s;
     * 0 = at once), so a member leaving (adopted by a claim) and its refill
     * becoming Ready usually net out to no write at all. The pass asks to
     * run again at the deadline, so status.replicas (what /scale and an HPA
     * read) is never staler than the window. Selector / observedGeneration
     * changes and a pool's first status are written at once. */
    int64_t status_settle_ms;
} rec_wp_config;

/* Defaults of the flags above. */
void rec_wp_config_default(rec_wp_config *c);

typedef struct rec_wp_name_at {
    char *name;
    int64_t at_ms;
} rec_wp_name_at;

typedef struct rec_wp_expect {
    size_t inflight;         /* creates sent, outcome not seen */
    int64_t inflight_at_ms;  /* when the newest of them was sent */
    rec_wp_name_at *created; /* created (outcome seen) but not yet listed */
    size_t n_created, cap_created;
    rec_wp_name_at *deleting; /* delete sent, not yet observed */
    size_t n_deleting, cap_deleting;
} rec_wp_expect;

typedef struct rec_wp_state {
    char uid[64]; /* the pool UID this state belongs to */
    rec_wp_expect exp;
    rec_bp_memo memo;     /* staleness verdicts per old blueprint hash */
    int unschedulable;    /* WarmPoolNotProgressing was reported */
    int template_missing; /* TemplateNotFound was reported */
    int status_known;     /* last status written (outcome not failed) */
    int64_t st_replicas, st_ready, st_generation;
    int filled;               /* total reached desired at least once */
    int64_t deficit_since_ms; /* replenish delay: when the current deficit began */
    double tokens;            /* refill token bucket */
    int64_t tokens_at_ms;
    char st_selector[80];
    int64_t st_due_ms; /* count-only change pending: write at this time (0 = none) */
} rec_wp_state;

void rec_wp_state_init(rec_wp_state *s);
void rec_wp_state_fini(rec_wp_state *s);

/* What a pass reads of one member, digested by rec_wp_member_digest. A
 * pass over ~1,000 members spent most of its time in json-c lookups of
 * these few fields; the wiring can digest a member once per version (next
 * to its decoded object) and hand the digests in (rec_wp_input.facts).
 * Strings are borrowed from the member object and live as long as it does. */
typedef struct rec_wp_mfacts {
    const char *name;    /* metadata.name; NULL: not a member the pass can use */
    const char *ns;      /* metadata.namespace; NULL: taken as the pool's */
    const char *ctl_uid; /* uid of the controller ownerReference (NULL: none, or no uid) */
    int has_ctl;         /* a controller ownerReference exists (none: an orphan) */
    int deleting;        /* metadata.deletionTimestamp is set */
    int launch_warm;     /* label agents.x-k8s.io/launch-type is "warm" */
    int ready;           /* condition Ready is True */
    int unschedulable;   /* condition PodScheduled is False with reason Unschedulable */
    int64_t created_ms;  /* metadata.creationTimestamp (0: missing or malformed) */
} rec_wp_mfacts;

/* Digest one member Sandbox into *f (a malformed object gives NULL/0
 * fields, never an error). */
void rec_wp_member_digest(json_object *sb, rec_wp_mfacts *f);

typedef struct rec_wp_input {
    json_object *pool;
    json_object *tmpl;
    json_object *const *members;
    size_t n_members;
    rec_obj_lookup_fn lookup; /* may be NULL: created names then settle by expiry only */
    void *lookup_ud;
    const rec_outcome *outcomes;
    size_t n_outcomes;
    int64_t now_ms; /* wall clock */
    /* Optional: facts[i] = rec_wp_member_digest(members[i]) (same count);
     * NULL: the pass digests the members itself. */
    const rec_wp_mfacts *facts;
} rec_wp_input;

/* Counters of the pass, for metrics, logs and tests. */
typedef struct rec_wp_report {
    int64_t desired, active, ready, terminating, pending_creates;
    int creates, deletes, stale_deletes, stuck_deletes, held_unschedulable;
    int template_ok;
} rec_wp_report;

/* Run one pass. out must be rec_result_init()ed; report may be NULL.
 * Returns 0 (the pass ran; out->error may still be set when an earlier
 * write failed, so the shard retries with backoff) or ERR_NOMEM. */
int rec_warmpool_reconcile(const rec_wp_config *cfg, rec_wp_state *st, const rec_wp_input *in,
                           rec_result *out, rec_wp_report *report);

/* The Sandbox a pool creates (spec/api.md §2.3 "Pool Sandbox as created"):
 * generateName "<pool>-", hash labels, template-ref annotation, blueprint
 * copy with podTemplate labels, safe-to-evict (when enable_eviction and the
 * template does not set it), secure defaults, controller ownerRef -> pool.
 * New reference, NULL on allocation failure or a template without podTemplate. */
json_object *rec_wp_member_new(json_object *pool, json_object *tmpl, int enable_eviction);

/* Expectations, exposed for tests and for the wiring's metrics. */
void rec_wp_expect_fini(rec_wp_expect *e);
size_t rec_wp_expect_pending_creates(const rec_wp_expect *e);

#endif
