/* test_rec_queue.c - the shard workqueue (dedup, processing/dirty, backoff,
 * timer heap, parking) on a driven clock, and the shard set with real
 * threads: routing, no concurrent passes of one key, outcome delivery,
 * backoff on failure, timer order, the ev_async handoff, clean shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/timeutil.h"
#include "reconciler/queue.h"
#include "reconciler/shard.h"

/* ---- queue (single thread, driven clock) ----------------------------------- */

static void
test_queue_dedup(void **state)
{
    (void)state;
    rec_queue *q = rec_queue_new(0, 0);
    assert_int_equal(rec_queue_add(q, "a"), 0);
    assert_int_equal(rec_queue_add(q, "b"), 0);
    assert_int_equal(rec_queue_add(q, "a"), 0);
    assert_int_equal(rec_queue_len(q), 2);
    assert_string_equal(rec_queue_get(q), "a");
    assert_string_equal(rec_queue_get(q), "b");
    assert_null(rec_queue_get(q));
    rec_queue_done(q, "a");
    rec_queue_done(q, "b");
    assert_int_equal(rec_queue_keys(q), 0);
    rec_queue_free(q);
}

static void
test_queue_dirty_while_processing(void **state)
{
    (void)state;
    rec_queue *q = rec_queue_new(0, 0);
    rec_queue_add(q, "k");
    const char *k = rec_queue_get(q);
    assert_string_equal(k, "k");
    rec_queue_add(q, "k"); /* event during the pass */
    rec_queue_add(q, "k");
    assert_int_equal(rec_queue_len(q), 0); /* never handed out twice at once */
    assert_null(rec_queue_get(q));
    rec_queue_done(q, k);
    assert_int_equal(rec_queue_len(q), 1); /* re-run once after */
    k = rec_queue_get(q);
    assert_string_equal(k, "k");
    rec_queue_done(q, k);
    assert_int_equal(rec_queue_len(q), 0);
    assert_int_equal(rec_queue_keys(q), 0);
    rec_queue_free(q);
}

static void
test_queue_backoff(void **state)
{
    (void)state;
    rec_queue *q = rec_queue_new(5, 100);
    const int64_t want[] = {5, 10, 20, 40, 80, 100, 100};
    int64_t d = 0, now = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(rec_queue_add_rate_limited(q, "k", now, &d), 0);
        assert_int_equal(d, want[i]);
        assert_int_equal(rec_queue_promote(q, now), want[i]);
        assert_int_equal(rec_queue_promote(q, now + want[i] - 1), 1);
        assert_int_equal(rec_queue_promote(q, now + want[i]), -1);
        now += want[i];
        const char *k = rec_queue_get(q);
        assert_non_null(k);
        rec_queue_done(q, k);
    }
    assert_int_equal(rec_queue_failures(q, "k"), 7);
    rec_queue_forget(q, "k"); /* success resets */
    assert_int_equal(rec_queue_failures(q, "k"), 0);
    assert_int_equal(rec_queue_keys(q), 0);
    rec_queue_add_rate_limited(q, "k", now, &d);
    assert_int_equal(d, 5);
    rec_queue_free(q); /* pending timer freed */
}

static void
test_queue_timers(void **state)
{
    (void)state;
    rec_queue *q = rec_queue_new(0, 0);
    rec_queue_add_after(q, "a", 30, 0);
    rec_queue_add_after(q, "b", 10, 0);
    rec_queue_add_after(q, "c", 20, 0);
    rec_queue_add_after(q, "d", 100, 0);
    rec_queue_add_after(q, "d", 5, 0);   /* earlier deadline wins */
    rec_queue_add_after(q, "d", 500, 0); /* later one ignored */
    assert_int_equal(rec_queue_timers(q), 4);
    assert_int_equal(rec_queue_promote(q, 4), 1);
    assert_int_equal(rec_queue_len(q), 0);
    assert_int_equal(rec_queue_promote(q, 25), 5);
    const char *order[] = {"d", "b", "c"};
    for (int i = 0; i < 3; i++) {
        const char *k = rec_queue_get(q);
        assert_string_equal(k, order[i]);
        rec_queue_done(q, k);
    }
    assert_int_equal(rec_queue_promote(q, 30), -1);
    const char *k = rec_queue_get(q);
    assert_string_equal(k, "a");
    rec_queue_done(q, k);
    assert_int_equal(rec_queue_keys(q), 0);
    /* many timers: heap order holds */
    for (int i = 0; i < 500; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        rec_queue_add_after(q, key, 1 + (i * 7919) % 1000, 0);
    }
    int64_t last = -1;
    for (int64_t t = 1; t <= 1000; t++) {
        rec_queue_promote(q, t);
        while ((k = rec_queue_get(q)) != NULL) {
            int i = atoi(k + 1);
            int64_t due = 1 + (i * 7919) % 1000;
            assert_int_equal(due, t);
            assert_true(due >= last);
            last = due;
            rec_queue_done(q, k);
        }
    }
    assert_int_equal(rec_queue_keys(q), 0);
    rec_queue_free(q);
}

static int frees;
static void
count_free(void *p)
{
    frees++;
    free(p);
}

static void
test_queue_park(void **state)
{
    (void)state;
    frees = 0;
    rec_queue *q = rec_queue_new(0, 0);
    rec_queue_park(q, "k", malloc(4), count_free);
    rec_queue_park(q, "k", malloc(4), count_free); /* replaces, frees the old one */
    assert_int_equal(frees, 1);
    assert_int_equal(rec_queue_keys(q), 1);
    void *p = rec_queue_unpark(q, "k");
    assert_non_null(p);
    assert_null(rec_queue_unpark(q, "k"));
    free(p);
    assert_int_equal(rec_queue_keys(q), 0);
    rec_queue_park(q, "x", malloc(4), count_free);
    rec_queue_free(q); /* parked payload released */
    assert_int_equal(frees, 2);
}

/* ---- lanes (single thread, driven clock) ----------------------------------- */

static int
is_claim(const char *key)
{
    return strncmp(key, "claim/", 6) == 0;
}

static void
get_done(rec_queue *q, const char *want)
{
    const char *k = rec_queue_get(q);
    assert_non_null(k);
    assert_string_equal(k, want);
    rec_queue_done(q, k);
}

static void
test_queue_lanes_order(void **state)
{
    (void)state;
    rec_queue *q = rec_queue_new(0, 0);
    rec_queue_set_lanes(q, is_claim, 50);
    rec_queue_tick(q, 1000);
    rec_queue_add(q, "pool/ns/p");
    rec_queue_add(q, "sandbox/ns/a");
    rec_queue_add(q, "claim/ns/c1");
    rec_queue_add(q, "claim/ns/c2");
    rec_queue_add(q, "pool/ns/p"); /* dedup holds across lanes */
    rec_queue_add(q, "claim/ns/c1");
    assert_int_equal(rec_queue_len(q), 4);
    get_done(q, "claim/ns/c1");
    get_done(q, "claim/ns/c2");
    get_done(q, "pool/ns/p");
    get_done(q, "sandbox/ns/a");
    assert_null(rec_queue_get(q));
    assert_int_equal(rec_queue_keys(q), 0);
    rec_queue_free(q);
}

static void
test_queue_lanes_aging(void **state)
{
    (void)state;
    rec_queue *q = rec_queue_new(0, 0);
    rec_queue_set_lanes(q, is_claim, 50);
    rec_queue_tick(q, 0);
    rec_queue_add(q, "pool/ns/p");
    rec_queue_add(q, "claim/ns/c1");
    rec_queue_tick(q, 49); /* the pool has waited 49 ms: claims first */
    get_done(q, "claim/ns/c1");
    assert_int_equal(rec_queue_last_wait(q), 49);
    rec_queue_add(q, "claim/ns/c2");
    rec_queue_add(q, "claim/ns/c3");
    rec_queue_tick(q, 50); /* 50 ms: the pool's turn, whatever is queued */
    get_done(q, "pool/ns/p");
    assert_int_equal(rec_queue_last_wait(q), 50);
    get_done(q, "claim/ns/c2");
    assert_int_equal(rec_queue_last_wait(q), 1);
    rec_queue_tick(q, 10); /* the clock never goes back */
    get_done(q, "claim/ns/c3");
    assert_int_equal(rec_queue_last_wait(q), 1);
    /* an aged key queued after a claim does not overtake it */
    rec_queue_tick(q, 100);
    rec_queue_add(q, "claim/ns/c4");
    rec_queue_tick(q, 120);
    rec_queue_add(q, "pool/ns/p2");
    rec_queue_add(q, "claim/ns/c5");
    rec_queue_tick(q, 200);
    get_done(q, "claim/ns/c4"); /* queued at 100, before the pool (120) */
    get_done(q, "pool/ns/p2");  /* aged, and queued before c5 (120 <= 120) */
    get_done(q, "claim/ns/c5");
    rec_queue_free(q);
}

static void
test_queue_lanes_dirty_and_timers(void **state)
{
    (void)state;
    rec_queue *q = rec_queue_new(0, 0);
    rec_queue_set_lanes(q, is_claim, 50);
    rec_queue_promote(q, 0);
    rec_queue_add(q, "claim/ns/c");
    const char *k = rec_queue_get(q);
    assert_string_equal(k, "claim/ns/c");
    rec_queue_add(q, "claim/ns/c"); /* during its pass: dirty, not handed out */
    rec_queue_add(q, "pool/ns/p");
    assert_string_equal(rec_queue_get(q), "pool/ns/p");
    assert_null(rec_queue_get(q));
    rec_queue_done(q, k); /* back in its own lane, ahead of later low keys */
    rec_queue_done(q, "pool/ns/p");
    rec_queue_add(q, "sandbox/ns/a");
    get_done(q, "claim/ns/c");
    /* a timer promotes a key into its lane */
    rec_queue_add_after(q, "claim/ns/t", 10, 0);
    assert_int_equal(rec_queue_promote(q, 10), -1);
    get_done(q, "claim/ns/t");
    get_done(q, "sandbox/ns/a");
    assert_int_equal(rec_queue_keys(q), 0);
    rec_queue_free(q);
}

/* ---- shard set (threads) ---------------------------------------------------------- */

#define NKEYS 8

typedef struct fixture {
    pthread_mutex_t mu;
    atomic_int active[NKEYS];
    atomic_int max_active;
    atomic_int passes[NKEYS];
    atomic_int shard_of[NKEYS];
    atomic_int total;
    /* outcome test */
    atomic_int saw_outcome;
    atomic_int outcome_passes;
    /* backoff test */
    int fail_key;
    int64_t pass_ms[64];
    atomic_int n_pass_ms;
    /* order test */
    char order[64];
    /* I/O thread checks */
    pthread_t io_thread;
    atomic_int submit_wrong_thread;
    atomic_int submitted;
    struct ev_loop *loop;
    int want_submits;
    rec_shard_set *set;
} fixture;

static int
key_idx(const char *key)
{
    return atoi(key + 1) % NKEYS;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
process_concurrency(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n,
                    rec_result *out)
{
    (void)oc;
    (void)n;
    (void)out;
    fixture *f = udata;
    int i = key_idx(key);
    int a = atomic_fetch_add(&f->active[i], 1) + 1;
    int m = atomic_load(&f->max_active);
    while (a > m && !atomic_compare_exchange_weak(&f->max_active, &m, a))
        ;
    atomic_store(&f->shard_of[i], shard);
    sleep_ms(1);
    atomic_fetch_add(&f->passes[i], 1);
    atomic_fetch_add(&f->total, 1);
    atomic_fetch_sub(&f->active[i], 1);
}

static void
submit_sync(void *udata, rec_ticket *t)
{
    fixture *f = udata;
    for (size_t i = 0; i < t->result.n_writes; i++)
        rec_ticket_set_outcome(t, i, ERR_UNPROCESSABLE, 422, "Invalid", "bad template", NULL);
    atomic_fetch_add(&f->submitted, 1);
    rec_shards_complete(f->set, t);
}

static void
wait_until(atomic_int *v, int want, int timeout_ms)
{
    for (int t = 0; t < timeout_ms && atomic_load(v) < want; t++)
        sleep_ms(1);
}

static void
test_shards_no_concurrent_key(void **state)
{
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    rec_shard_opts o = {.shards = 4,
                        .process = process_concurrency,
                        .process_udata = f,
                        .submit = submit_sync,
                        .submit_udata = f};
    char err[128];
    f->set = rec_shards_new(&o, err, sizeof err);
    assert_non_null(f->set);
    assert_int_equal(rec_shards_count(f->set), 4);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < NKEYS; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            assert_int_equal(rec_shards_add(f->set, NULL, key), 0);
        }
        if (round % 10 == 0) sleep_ms(2);
    }
    rec_shard_stats st;
    for (int t = 0; t < 3000; t++) {
        rec_shards_stats(f->set, &st);
        if (st.queued == 0 && st.keys == 0) break;
        sleep_ms(1);
    }
    rec_shards_stats(f->set, &st);
    assert_int_equal(st.keys, 0);
    assert_int_equal(atomic_load(&f->max_active), 1);
    for (int i = 0; i < NKEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_true(atomic_load(&f->passes[i]) >= 1);
        assert_true(atomic_load(&f->passes[i]) <= 50); /* de-duplicated */
        assert_int_equal(atomic_load(&f->shard_of[i]), rec_shards_route(f->set, key));
    }
    /* routing key: both keys land on the shard of the route */
    int r = rec_shards_route(f->set, "ns/pool");
    rec_shards_add(f->set, "ns/pool", "k0");
    rec_shards_add(f->set, "ns/pool", "k1");
    wait_until(&f->total, (int)st.passes + 2, 2000);
    sleep_ms(5);
    assert_int_equal(atomic_load(&f->shard_of[0]), r);
    assert_int_equal(atomic_load(&f->shard_of[1]), r);
    rec_shards_free(f->set);
    free(f);
}

/* First pass emits a write; the (failed) outcome reaches the second pass,
 * which succeeds without writes; the third pass (added by hand) sees none. */
static void
process_outcome(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n,
                rec_result *out)
{
    (void)shard;
    (void)key;
    fixture *f = udata;
    int p = atomic_fetch_add(&f->outcome_passes, 1);
    if (p == 0) {
        rec_result_add_write(out, REC_CREATE, NULL, "ns", NULL, NULL, json_object_new_object(),
                             "pod-create");
        return;
    }
    if (p == 1 && n == 1 && strcmp(oc[0].tag, "pod-create") == 0 &&
        oc[0].err == ERR_UNPROCESSABLE && strcmp(oc[0].message, "bad template") == 0)
        atomic_store(&f->saw_outcome, 1);
    if (p == 2 && n != 0) atomic_store(&f->saw_outcome, -1);
}

static void
test_shards_outcomes_once(void **state)
{
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    rec_shard_opts o = {.shards = 2,
                        .backoff_base_ms = 1,
                        .process = process_outcome,
                        .process_udata = f,
                        .submit = submit_sync,
                        .submit_udata = f};
    char err[128];
    f->set = rec_shards_new(&o, err, sizeof err);
    rec_shards_add(f->set, NULL, "sandbox/ns/a");
    wait_until(&f->outcome_passes, 2, 2000); /* failed write => backoff retry */
    assert_int_equal(atomic_load(&f->saw_outcome), 1);
    sleep_ms(5);
    rec_shards_add(f->set, NULL, "sandbox/ns/a");
    wait_until(&f->outcome_passes, 3, 2000);
    sleep_ms(5);
    assert_int_equal(atomic_load(&f->saw_outcome), 1);
    rec_shard_stats st;
    rec_shards_stats(f->set, &st);
    assert_int_equal(st.tickets, 1);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.keys, 0); /* backoff forgotten after the successful pass */
    rec_shards_free(f->set);
    free(f);
}

static void
process_backoff(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n,
                rec_result *out)
{
    (void)shard;
    (void)key;
    (void)oc;
    (void)n;
    fixture *f = udata;
    int i = atomic_fetch_add(&f->n_pass_ms, 1);
    if (i < 64) f->pass_ms[i] = time_mono_ms();
    if (i < 5) out->error = ERR_UNAVAILABLE;
}

static void
test_shards_backoff(void **state)
{
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    rec_shard_opts o = {.shards = 1,
                        .backoff_base_ms = 8,
                        .process = process_backoff,
                        .process_udata = f,
                        .submit = submit_sync,
                        .submit_udata = f};
    char err[128];
    f->set = rec_shards_new(&o, err, sizeof err);
    rec_shards_add(f->set, NULL, "k");
    wait_until(&f->n_pass_ms, 6, 3000);
    sleep_ms(50);
    assert_int_equal(atomic_load(&f->n_pass_ms), 6); /* success stops the retries */
    rec_shard_stats st;
    rec_shards_stats(f->set, &st);
    assert_int_equal(st.failures, 5);
    assert_int_equal(st.keys, 0);
    rec_shards_stop(f->set); /* join: pass_ms is now safe to read */
    for (int i = 1; i < 6; i++) {
        int64_t gap = f->pass_ms[i] - f->pass_ms[i - 1];
        int64_t want = 8LL << (i - 1); /* 8, 16, 32, 64, 128 */
        assert_true(gap >= want - 1);
        assert_true(gap < want + 200); /* generous: shared CI cores */
    }
    rec_shards_free(f->set);
    free(f);
}

static void
process_order(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n,
              rec_result *out)
{
    (void)shard;
    (void)oc;
    (void)n;
    (void)out;
    fixture *f = udata;
    pthread_mutex_lock(&f->mu);
    strncat(f->order, key, sizeof f->order - strlen(f->order) - 1);
    pthread_mutex_unlock(&f->mu);
    atomic_fetch_add(&f->total, 1);
}

static void
test_shards_timer_order(void **state)
{
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    rec_shard_opts o = {.shards = 1,
                        .process = process_order,
                        .process_udata = f,
                        .submit = submit_sync,
                        .submit_udata = f};
    char err[128];
    f->set = rec_shards_new(&o, err, sizeof err);
    rec_shards_add_after(f->set, NULL, "C", 90);
    rec_shards_add_after(f->set, NULL, "A", 30);
    rec_shards_add_after(f->set, NULL, "B", 60);
    rec_shards_add_after(f->set, NULL, "B", 600); /* later deadline ignored */
    wait_until(&f->total, 3, 3000);
    pthread_mutex_lock(&f->mu);
    assert_string_equal(f->order, "ABC");
    pthread_mutex_unlock(&f->mu);
    /* shutdown with pending timers and queued keys: no leak, no hang */
    rec_shards_add_after(f->set, NULL, "late", 60000);
    rec_shards_free(f->set);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* followup_delay: a successful pass with writes consumes its outcomes after
 * the delay the option gives for its key (and at once for other keys). */
static void
process_followup(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n,
                 rec_result *out)
{
    (void)shard;
    fixture *f = udata;
    int i = atomic_fetch_add(&f->n_pass_ms, 1);
    if (i < 64) f->pass_ms[i] = time_mono_ms();
    if (n == 0)
        rec_result_add_write(out, REC_CREATE, NULL, "ns", NULL, NULL, json_object_new_object(),
                             "create");
    else if (n == 1 && oc[0].err == 0 && strcmp(oc[0].tag, "create") == 0)
        atomic_store(&f->saw_outcome, key[0] == 's' ? 2 : 1);
}

static void
submit_ok(void *udata, rec_ticket *t)
{
    fixture *f = udata;
    for (size_t i = 0; i < t->result.n_writes; i++)
        rec_ticket_set_outcome(t, i, 0, 201, NULL, NULL, NULL);
    rec_shards_complete(f->set, t);
}

static int64_t
followup_slow(void *udata, int shard, const char *key)
{
    (void)udata;
    (void)shard;
    return key[0] == 's' ? 80 : 0; /* "slow": 80 ms; others at once */
}

static void
test_shards_followup_delay(void **state)
{
    (void)state;
    const char *keys[] = {"fast", "slow"};
    for (int k = 0; k < 2; k++) {
        fixture *f = calloc(1, sizeof *f);
        rec_shard_opts o = {.shards = 1,
                            .process = process_followup,
                            .process_udata = f,
                            .submit = submit_ok,
                            .submit_udata = f,
                            .followup_delay = followup_slow};
        char err[128];
        f->set = rec_shards_new(&o, err, sizeof err);
        assert_non_null(f->set);
        assert_int_equal(rec_shards_add(f->set, NULL, keys[k]), 0);
        for (int t = 0; t < 2000 && atomic_load(&f->saw_outcome) == 0; t++)
            sleep_ms(1);
        assert_int_equal(atomic_load(&f->saw_outcome), k + 1);
        int64_t gap = f->pass_ms[1] - f->pass_ms[0];
        if (k == 0)
            assert_true(gap < 60);
        else
            assert_true(gap >= 80);
        rec_shards_free(f->set);
        free(f);
    }
}

/* ---- handoff through ev_async to the loop thread ----------------------------------- */

static void
process_write(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n,
              rec_result *out)
{
    (void)udata;
    (void)shard;
    (void)oc;
    if (n == 0) /* first pass of each key writes; the pass after sees the outcome */
        rec_result_add_write(out, REC_PATCH_MERGE, NULL, "ns", key, "status",
                             json_object_new_object(), "sandbox-status");
}

static void
submit_loop(void *udata, rec_ticket *t)
{
    fixture *f = udata;
    if (!pthread_equal(pthread_self(), f->io_thread)) atomic_fetch_add(&f->submit_wrong_thread, 1);
    json_object *obj = json_object_new_object();
    for (size_t i = 0; i < t->result.n_writes; i++)
        rec_ticket_set_outcome(t, i, 0, 200, NULL, NULL, obj);
    json_object_put(obj);
    rec_shards_complete(f->set, t);
    if (atomic_fetch_add(&f->submitted, 1) + 1 >= f->want_submits) ev_break(f->loop, EVBREAK_ALL);
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void
test_shards_ev_async(void **state)
{
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->io_thread = pthread_self();
    f->want_submits = 200;
    rec_shard_opts o = {.shards = 3,
                        .process = process_write,
                        .process_udata = f,
                        .submit = submit_loop,
                        .submit_udata = f,
                        .loop = f->loop};
    char err[128];
    f->set = rec_shards_new(&o, err, sizeof err);
    assert_non_null(f->set);
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "sandbox/ns/s%d", i);
        rec_shards_add(f->set, NULL, key);
    }
    ev_timer wd;
    ev_timer_init(&wd, watchdog_cb, 10.0, 0.);
    ev_timer_start(f->loop, &wd);
    ev_run(f->loop, 0);
    ev_timer_stop(f->loop, &wd);
    assert_int_equal(atomic_load(&f->submitted), 200);
    assert_int_equal(atomic_load(&f->submit_wrong_thread), 0);
    rec_shard_stats st;
    for (int t = 0; t < 2000; t++) {
        rec_shards_stats(f->set, &st);
        if (st.keys == 0 && st.in_io == 0) break;
        sleep_ms(1);
    }
    /* every key ran twice: the write pass and the pass that consumed its outcome */
    assert_int_equal(st.passes, 400);
    assert_int_equal(st.in_io, 0);
    assert_int_equal(st.keys, 0);
    rec_shards_free(f->set);
    ev_loop_destroy(f->loop);
    free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_dedup),
        cmocka_unit_test(test_queue_dirty_while_processing),
        cmocka_unit_test(test_queue_backoff),
        cmocka_unit_test(test_queue_timers),
        cmocka_unit_test(test_queue_park),
        cmocka_unit_test(test_queue_lanes_order),
        cmocka_unit_test(test_queue_lanes_aging),
        cmocka_unit_test(test_queue_lanes_dirty_and_timers),
        cmocka_unit_test(test_shards_no_concurrent_key),
        cmocka_unit_test(test_shards_outcomes_once),
        cmocka_unit_test(test_shards_backoff),
        cmocka_unit_test(test_shards_timer_order),
        cmocka_unit_test(test_shards_followup_delay),
        cmocka_unit_test(test_shards_ev_async),
    };
    return cmocka_run_group_tests_name("rec_queue", tests, NULL, NULL);
}
