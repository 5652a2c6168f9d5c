/* shard.c - worker threads, each owning one rec_queue, and the handoff of
 * passes with writes to the I/O thread (mutex-protected array + ev_async).
 *
 * Locking: each shard has one mutex guarding its queue and counters; the
 * handoff array has its own. No lock is held while process() or submit()
 * runs, and no two locks are ever held together. A worker sleeps on its
 * condition variable (CLOCK_MONOTONIC) until a key is added or its earliest
 * timer is due. */
#include "reconciler/shard.h"

#include "core/err.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "reconciler/queue.h"

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct parked {
    rec_outcome *oc;
    size_t n;
} parked;

typedef struct ticket {
    rec_ticket pub; /* first: rec_ticket* <-> ticket* */
    struct ticket *next;
    char key[];
} ticket;

/* ASC_SHARD_PROFILE: per key kind, since the last log line. */
#define PROF_KINDS 8
typedef struct prof_kind {
    char kind[16];
    uint64_t n;
    int64_t pass_us, pass_max_us, wait_ms, wait_max_ms;
} prof_kind;

typedef struct shard {
    rec_shard_set *set;
    int idx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rec_queue *q;
    pthread_t th;
    int started;
    int stop;
    uint64_t passes, failures, tickets;
    size_t in_io;
    prof_kind prof[PROF_KINDS]; /* worker thread only */
    int64_t prof_last_ms;
} shard;

struct rec_shard_set {
    int n;
    shard *shards;
    rec_shard_opts opts;
    pthread_mutex_t hmu;
    ticket *hhead, *htail;
    struct ev_loop *loop;
    ev_async async;
    int stopped;
    int profile;
};

/* ---- outcomes ------------------------------------------------------------ */

static void
outcomes_free(rec_outcome *oc, size_t n)
{
    for (size_t i = 0; oc && i < n; i++) {
        free((char *)oc[i].reason);
        free((char *)oc[i].message);
        json_object_put(oc[i].object);
    }
    free(oc);
}

static void
parked_free(void *p)
{
    parked *x = p;
    outcomes_free(x->oc, x->n);
    free(x);
}

int
rec_ticket_set_outcome(rec_ticket *t, size_t i, int err, long http_status, const char *reason,
                       const char *message, json_object *object)
{
    if (t == NULL || i >= t->result.n_writes || t->outcomes == NULL) return ERR_INVALID;
    rec_outcome *o = &t->outcomes[i];
    free((char *)o->reason);
    free((char *)o->message);
    json_object_put(o->object);
    o->tag = t->result.writes[i].tag;
    o->err = err;
    o->http_status = http_status;
    o->reason = strdup(reason ? reason : "");
    o->message = strdup(message ? message : "");
    o->object = object ? json_object_get(object) : NULL;
    return o->reason && o->message ? 0 : ERR_NOMEM;
}

static void
ticket_free(ticket *t)
{
    outcomes_free(t->pub.outcomes, t->pub.result.n_writes);
    rec_result_fini(&t->pub.result);
    free(t);
}

/* ---- completion (shard lock held) ------------------------------------------ */

static void
finish(shard *sh, const char *key, const rec_result *r, int failed)
{
    int64_t now = time_mono_ms();
    rec_queue_tick(sh->q, now);
    if (failed) {
        /* backoff only: an asked-for requeue would bypass it (hot loop) */
        sh->failures++;
        rec_queue_add_rate_limited(sh->q, key, now, NULL);
    } else {
        rec_queue_forget(sh->q, key);
        if (r->requeue_after_ms == 0)
            rec_queue_add(sh->q, key); /* in flight: marks dirty, queued at done */
        else if (r->requeue_after_ms > 0)
            rec_queue_add_after(sh->q, key, r->requeue_after_ms, now);
    }
    rec_queue_done(sh->q, key);
    pthread_cond_signal(&sh->cv);
}

void
rec_shards_complete(rec_shard_set *s, rec_ticket *pub)
{
    ticket *t = (ticket *)pub;
    shard *sh = &s->shards[pub->shard];
    int failed = pub->result.error != 0;
    size_t n = pub->result.n_writes;
    for (size_t i = 0; i < n; i++) {
        rec_outcome *o = &pub->outcomes[i];
        if (o->tag == NULL) /* never filled: the I/O side dropped it */
            o->tag = pub->result.writes[i].tag, o->err = ERR_CANCELED;
        if (o->message == NULL) o->message = strdup("");
        if (o->reason == NULL) o->reason = strdup("");
        if (o->err != 0 && o->err != ERR_NOTFOUND) failed = 1;
    }
    parked *p = NULL;
    if (n > 0 && (p = malloc(sizeof *p)) != NULL) {
        p->oc = pub->outcomes;
        p->n = n;
        pub->outcomes = NULL;
    }
    pthread_mutex_lock(&sh->mu);
    if (p) rec_queue_park(sh->q, t->key, p, parked_free);
    if (n > 0 && !failed) { /* the outcomes' pass: read-your-writes, then idle */
        int64_t d = s->opts.followup_delay
                        ? s->opts.followup_delay(s->opts.process_udata, pub->shard, t->key)
                        : 0;
        if (d > 0)
            rec_queue_add_after(sh->q, t->key, d, time_mono_ms());
        else
            rec_queue_add(sh->q, t->key);
    }
    finish(sh, t->key, &pub->result, failed);
    sh->in_io--;
    pthread_mutex_unlock(&sh->mu);
    ticket_free(t);
}

/* ---- handoff ---------------------------------------------------------------- */

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    rec_shard_set *s = w->data;
    pthread_mutex_lock(&s->hmu);
    ticket *t = s->hhead;
    s->hhead = s->htail = NULL;
    pthread_mutex_unlock(&s->hmu);
    while (t) {
        ticket *next = t->next;
        t->next = NULL;
        s->opts.submit(s->opts.submit_udata, &t->pub);
        t = next;
    }
}

static void
handoff(rec_shard_set *s, ticket *t)
{
    if (s->loop == NULL) {
        s->opts.submit(s->opts.submit_udata, &t->pub);
        return;
    }
    pthread_mutex_lock(&s->hmu);
    if (s->htail)
        s->htail->next = t;
    else
        s->hhead = t;
    s->htail = t;
    pthread_mutex_unlock(&s->hmu);
    ev_async_send(s->loop, &s->async); /* the one libev call made off the loop thread */
}

/* ---- worker ------------------------------------------------------------------ */

static void
wait_ms(shard *sh, int64_t ms)
{
    if (ms < 0) {
        pthread_cond_wait(&sh->cv, &sh->mu);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
}

static int64_t
mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
prof_note(shard *sh, const char *key, int64_t pass_us, int64_t wait_ms)
{
    size_t kl = strcspn(key, "/");
    if (kl >= sizeof sh->prof[0].kind) kl = sizeof sh->prof[0].kind - 1;
    prof_kind *p = NULL;
    for (int i = 0; i < PROF_KINDS && p == NULL; i++) {
        prof_kind *c = &sh->prof[i];
        if (c->kind[0] == '\0') {
            memcpy(c->kind, key, kl);
            c->kind[kl] = '\0';
        }
        if (strlen(c->kind) == kl && memcmp(c->kind, key, kl) == 0) p = c;
    }
    if (p == NULL) return; /* more kinds than slots: not profiled */
    p->n++;
    p->pass_us += pass_us;
    if (pass_us > p->pass_max_us) p->pass_max_us = pass_us;
    p->wait_ms += wait_ms;
    if (wait_ms > p->wait_max_ms) p->wait_max_ms = wait_ms;
    int64_t now = time_mono_ms();
    if (now - sh->prof_last_ms < 5000) return;
    sh->prof_last_ms = now;
    for (int i = 0; i < PROF_KINDS; i++) {
        prof_kind *c = &sh->prof[i];
        if (c->n == 0) continue;
        LOG_I("reconciler", "shard profile",
              "shard=%d kind=%s passes=%llu pass_mean_us=%lld pass_max_us=%lld "
              "wait_mean_ms=%lld wait_max_ms=%lld",
              sh->idx, c->kind, (unsigned long long)c->n, (long long)(c->pass_us / (int64_t)c->n),
              (long long)c->pass_max_us, (long long)(c->wait_ms / (int64_t)c->n),
              (long long)c->wait_max_ms);
        c->n = 0;
        c->pass_us = c->pass_max_us = c->wait_ms = c->wait_max_ms = 0;
    }
}

static void *
worker(void *arg)
{
    shard *sh = arg;
    rec_shard_set *s = sh->set;
    pthread_mutex_lock(&sh->mu);
    while (!sh->stop) {
        int64_t next = rec_queue_promote(sh->q, time_mono_ms());
        const char *key = rec_queue_get(sh->q);
        if (key == NULL) {
            wait_ms(sh, next);
            continue;
        }
        /* key stays valid: its entry cannot go away while it is processing */
        parked *p = rec_queue_unpark(sh->q, key);
        int64_t waited = rec_queue_last_wait(sh->q);
        sh->passes++;
        pthread_mutex_unlock(&sh->mu);

        rec_result r;
        rec_result_init(&r);
        int64_t t0 = s->profile ? mono_us() : 0;
        s->opts.process(s->opts.process_udata, sh->idx, key, p ? p->oc : NULL, p ? p->n : 0, &r);
        if (s->profile) prof_note(sh, key, mono_us() - t0, waited);
        if (p) parked_free(p);

        ticket *t = NULL;
        if (r.n_writes > 0 || r.n_events > 0) {
            size_t kl = strlen(key);
            t = calloc(1, sizeof *t + kl + 1);
            rec_outcome *oc = r.n_writes ? calloc(r.n_writes, sizeof *oc) : NULL;
            if (t == NULL || (r.n_writes && oc == NULL)) {
                free(t);
                free(oc);
                t = NULL;
                LOG_E("reconciler", "out of memory handing a pass to the I/O thread",
                      "key=%s shard=%d", key, sh->idx);
                r.error = ERR_NOMEM;
                rec_result_fini(&r);
                r.error = ERR_NOMEM;
            } else {
                memcpy(t->key, key, kl + 1);
                t->pub.shard = sh->idx;
                t->pub.key = t->key;
                t->pub.result = r;
                t->pub.outcomes = oc;
            }
        }
        pthread_mutex_lock(&sh->mu);
        if (t != NULL) {
            sh->in_io++;
            sh->tickets++;
            pthread_mutex_unlock(&sh->mu);
            handoff(s, t);
            pthread_mutex_lock(&sh->mu);
        } else {
            finish(sh, key, &r, r.error != 0);
            rec_result_fini(&r);
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return NULL;
}

/* ---- public ------------------------------------------------------------------ */

static uint32_t
route_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int
rec_shards_route(const rec_shard_set *s, const char *route)
{
    return (int)(route_hash(route) % (uint32_t)s->n);
}

int
rec_shards_count(const rec_shard_set *s)
{
    return s->n;
}

rec_shard_set *
rec_shards_new(const rec_shard_opts *opts, char *err, size_t errlen)
{
    if (opts == NULL || opts->process == NULL || opts->submit == NULL) {
        snprintf(err, errlen, "rec_shards_new: process and submit callbacks are required");
        return NULL;
    }
    rec_shard_set *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opts = *opts;
    const char *prof = getenv("ASC_SHARD_PROFILE");
    s->profile = prof != NULL && *prof != '\0' && strcmp(prof, "0") != 0;
    s->n = opts->shards > 0 ? opts->shards : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (s->n <= 0) s->n = 1;
    if (s->n > 1024) s->n = 1024;
    int64_t max = opts->backoff_max_ms > 0 ? opts->backoff_max_ms : 300000;
    pthread_mutex_init(&s->hmu, NULL);
    s->loop = opts->loop;
    if (s->loop) {
        ev_async_init(&s->async, async_cb);
        s->async.data = s;
        ev_async_start(s->loop, &s->async);
    }
    s->shards = calloc((size_t)s->n, sizeof *s->shards);
    if (s->shards == NULL) {
        snprintf(err, errlen, "out of memory");
        rec_shards_free(s);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (int i = 0; i < s->n; i++) {
        shard *sh = &s->shards[i];
        sh->set = s;
        sh->idx = i;
        pthread_mutex_init(&sh->mu, NULL);
        pthread_cond_init(&sh->cv, &ca);
        sh->q = rec_queue_new(opts->backoff_base_ms, max);
        if (sh->q != NULL) rec_queue_set_lanes(sh->q, opts->priority, opts->priority_max_wait_ms);
        if (sh->q == NULL) {
            snprintf(err, errlen, "out of memory");
            pthread_condattr_destroy(&ca);
            rec_shards_free(s);
            return NULL;
        }
    }
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < s->n; i++) {
        int rc = pthread_create(&s->shards[i].th, NULL, worker, &s->shards[i]);
        if (rc != 0) {
            snprintf(err, errlen, "pthread_create: %s", strerror(rc));
            rec_shards_free(s);
            return NULL;
        }
        s->shards[i].started = 1;
    }
    return s;
}

void
rec_shards_stop(rec_shard_set *s)
{
    if (s == NULL || s->stopped || s->shards == NULL) return;
    s->stopped = 1;
    for (int i = 0; i < s->n; i++) {
        shard *sh = &s->shards[i];
        pthread_mutex_lock(&sh->mu);
        sh->stop = 1;
        pthread_cond_broadcast(&sh->cv);
        pthread_mutex_unlock(&sh->mu);
    }
    for (int i = 0; i < s->n; i++)
        if (s->shards[i].started) {
            pthread_join(s->shards[i].th, NULL);
            s->shards[i].started = 0;
        }
}

void
rec_shards_free(rec_shard_set *s)
{
    if (s == NULL) return;
    rec_shards_stop(s);
    if (s->loop) ev_async_stop(s->loop, &s->async);
    ticket *t = s->hhead;
    while (t) {
        ticket *n = t->next;
        ticket_free(t);
        t = n;
    }
    if (s->shards) {
        for (int i = 0; i < s->n; i++) {
            if (s->shards[i].set == NULL) continue;
            rec_queue_free(s->shards[i].q);
            pthread_mutex_destroy(&s->shards[i].mu);
            pthread_cond_destroy(&s->shards[i].cv);
        }
        free(s->shards);
    }
    pthread_mutex_destroy(&s->hmu);
    free(s);
}

static int
add_common(rec_shard_set *s, const char *route, const char *key, int64_t delay_ms)
{
    if (s == NULL || key == NULL) return ERR_INVALID;
    shard *sh = &s->shards[rec_shards_route(s, route ? route : key)];
    int64_t now = time_mono_ms();
    pthread_mutex_lock(&sh->mu);
    rec_queue_tick(sh->q, now);
    int rc =
        delay_ms > 0 ? rec_queue_add_after(sh->q, key, delay_ms, now) : rec_queue_add(sh->q, key);
    pthread_cond_signal(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

int
rec_shards_add(rec_shard_set *s, const char *route, const char *key)
{
    return add_common(s, route, key, 0);
}

int
rec_shards_add_after(rec_shard_set *s, const char *route, const char *key, int64_t delay_ms)
{
    return add_common(s, route, key, delay_ms);
}

void
rec_shards_stats(rec_shard_set *s, rec_shard_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->n; i++) {
        shard *sh = &s->shards[i];
        pthread_mutex_lock(&sh->mu);
        out->passes += sh->passes;
        out->failures += sh->failures;
        out->tickets += sh->tickets;
        out->queued += rec_queue_len(sh->q);
        out->timers += rec_queue_timers(sh->q);
        out->keys += rec_queue_keys(sh->q);
        out->in_io += sh->in_io;
        pthread_mutex_unlock(&sh->mu);
    }
}
