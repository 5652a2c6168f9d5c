/* test_rec_sandbox_shard.c - the Sandbox pass on the real shard machinery
 * with a real LMDB store, end to end without HTTP: the main thread is the
 * I/O thread (libev loop) and plays API server, informer and kubelet: it
 * applies each write to the store (sole writer), answers with outcomes,
 * makes created pods Running/Ready at once (a 0 ms kubelet) and queues the
 * keys the changes touch, as the informer feed will. N Sandboxes must all
 * reach Ready, and the writes per launch are counted (printed and checked:
 * 4 with the status settle window). This is also a small example of the
 * wiring the controller does (process = rec_sandbox_run, submit = kube_*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"
#include "reconciler/conditions.h"
#include "reconciler/sandbox_view.h"
#include "reconciler/shard.h"
#include "store/store.h"
#include "tests/test_rec_sandbox_harness.h"

#define N 300

typedef struct world {
    struct ev_loop *loop;
    store *st;
    rec_shard_set *set;
    char dir[64];
    int rv;
    long writes, by_tag[16];
    int ready;
    int64_t t0, t_ready;
    ev_idle kubelet; /* pods to make Ready on the next loop turn */
    char *pending[N * 2];
    int n_pending;
} world;

static const char *TAGS[] = {"pod-create", "svc-create", "sandbox-meta", "sandbox-status", NULL};

static void
put(world *w, enum store_kind k, json_object *o)
{
    char rv[16];
    snprintf(rv, sizeof rv, "%d", ++w->rv);
    jx_set_str(jx_ensure_obj(o, "metadata"), "resourceVersion", rv);
    store_wtxn *t = NULL;
    assert_int_equal(store_wtxn_begin(w->st, &t), 0);
    assert_int_equal(store_put(t, k, o), 0);
    assert_int_equal(store_wtxn_commit(t), 0);
}

static json_object *
get(world *w, enum store_kind k, const char *name)
{
    store_rtxn *r = NULL;
    json_object *o = NULL;
    store_rtxn_begin(w->st, &r);
    if (store_get(r, k, "ns", name, &o) != 0) o = NULL;
    store_rtxn_end(r);
    return o;
}

static void
enqueue_sandbox(world *w, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "sandbox/ns/%s", name);
    assert_int_equal(rec_shards_add(w->set, NULL, key), 0);
}

/* worker thread */
static void
process(void *udata, int shard, const char *key, const rec_outcome *oc, size_t n, rec_result *out)
{
    (void)shard;
    world *w = udata;
    char ns[64], name[64];
    if (rec_sandbox_key_split(key, ns, sizeof ns, name, sizeof name) != 0) return;
    rec_sandbox_opts o = {.cluster_domain = NULL, .status_settle_ms = 2000};
    int rc = rec_sandbox_run(w->st, ns, name, oc, n, &o, time_now_ms(), out);
    if (rc != 0) out->error = rc;
}

/* I/O thread: the fake API server */
static void
submit(void *udata, rec_ticket *t)
{
    world *w = udata;
    for (size_t i = 0; i < t->result.n_writes; i++) {
        rec_write *x = &t->result.writes[i];
        json_object *obj = NULL;
        w->writes++;
        for (int k = 0; TAGS[k]; k++)
            if (strcmp(TAGS[k], x->tag) == 0) w->by_tag[k]++;
        if (x->op == REC_CREATE) {
            json_object_deep_copy(x->body, &obj, NULL);
            const char *name = jx_str(obj, "metadata.name");
            char uid[96], ts[40];
            snprintf(uid, sizeof uid, "uid-%s-%d", name, w->rv);
            jx_set_str(jx_ensure_obj(obj, "metadata"), "uid", uid);
            jx_set_str(jx_ensure_obj(obj, "metadata"), "creationTimestamp",
                       time_fmt_rfc3339(time_now_ms(), ts, sizeof ts));
            int pod = x->res == &KUBE_PODS;
            if (pod) jx_set_str(obj, "status.phase", "Pending");
            put(w, pod ? STORE_POD : STORE_SERVICE, obj);
            if (pod && w->n_pending < N * 2) {
                w->pending[w->n_pending++] = strdup(name);
                ev_idle_start(w->loop, &w->kubelet);
            }
        } else if (x->op == REC_PATCH_MERGE && x->res == &KUBE_SANDBOXES) {
            obj = get(w, STORE_SANDBOX, x->name);
            int was_ready = rec_cond_is_true(jx_arr(obj, "status.conditions"), "Ready");
            sbx_merge(&obj, x->body);
            put(w, STORE_SANDBOX, obj);
            if (!was_ready && rec_cond_is_true(jx_arr(obj, "status.conditions"), "Ready"))
                if (++w->ready == N) w->t_ready = time_mono_ms();
        } else {
            fail_msg("unexpected write %s", x->tag);
        }
        rec_ticket_set_outcome(t, i, 0, 200, NULL, NULL, obj);
        json_object_put(obj);
    }
    const char *name = strrchr(t->key, '/') + 1;
    char nm[64];
    snprintf(nm, sizeof nm, "%s", name);
    rec_shards_complete(w->set, t);
    enqueue_sandbox(w, nm); /* the informer feed: our own writes come back as events */
}

static void
kubelet_cb(struct ev_loop *loop, ev_idle *iw, int revents)
{
    (void)revents;
    world *w = iw->data;
    ev_idle_stop(loop, iw);
    for (int i = 0; i < w->n_pending; i++) {
        json_object *pod = get(w, STORE_POD, w->pending[i]);
        json_object *st = sbx_parse(
            "{'status':{'phase':'Running','podIPs':[{'ip':'10.1.0.7'}],'conditions':[{'type':"
            "'PodScheduled','status':'True'},{'type':'Ready','status':'True'}]},'spec':{"
            "'nodeName':'n1'}}");
        sbx_merge(&pod, st);
        json_object_put(st);
        put(w, STORE_POD, pod);
        json_object_put(pod);
        enqueue_sandbox(w, w->pending[i]); /* pod MODIFIED -> its owner */
        free(w->pending[i]);
    }
    w->n_pending = 0;
}

static void
check_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    world *w = t->data;
    rec_shard_stats st;
    rec_shards_stats(w->set, &st);
    if (w->ready == N && st.queued == 0 && st.in_io == 0 && st.timers == 0)
        ev_break(loop, EVBREAK_ALL);
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void
test_many_launches(void **state)
{
    (void)state;
    world *w = calloc(1, sizeof *w);
    char err[256];
    snprintf(w->dir, sizeof w->dir, "/tmp/test_rec_shard_XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    assert_int_equal(store_open(w->dir, NULL, &w->st, err, sizeof err), 0);
    w->loop = ev_loop_new(EVFLAG_AUTO);
    ev_idle_init(&w->kubelet, kubelet_cb);
    w->kubelet.data = w;
    rec_shard_opts o = {.shards = 4,
                        .process = process,
                        .process_udata = w,
                        .submit = submit,
                        .submit_udata = w,
                        .loop = w->loop};
    w->set = rec_shards_new(&o, err, sizeof err);
    assert_non_null(w->set);
    w->t0 = time_mono_ms();
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "sb-%d", i);
        json_object *sb = sbx_parse("{'apiVersion':'agents.x-k8s.io/v1beta1','kind':'Sandbox',"
                                    "'metadata':{'namespace':'ns','generation':1},'spec':{"
                                    "'service':true,'podTemplate':{'spec':{'containers':[{"
                                    "'name':'c','image':'x'}]}}}}");
        jx_set_str(jx_obj(sb, "metadata"), "name", name);
        char uid[40];
        snprintf(uid, sizeof uid, "sb-uid-%d", i);
        jx_set_str(jx_obj(sb, "metadata"), "uid", uid);
        put(w, STORE_SANDBOX, sb);
        json_object_put(sb);
        enqueue_sandbox(w, name);
    }
    ev_timer check, wd;
    ev_timer_init(&check, check_cb, 0.01, 0.01);
    check.data = w;
    ev_timer_start(w->loop, &check);
    ev_timer_init(&wd, watchdog_cb, 30.0, 0.);
    ev_timer_start(w->loop, &wd);
    ev_run(w->loop, 0);
    int64_t ms = w->t_ready - w->t0;
    rec_shard_stats st;
    rec_shards_stats(w->set, &st);
    print_message("%d sandboxes Ready in %lld ms (idle after the settle timers); %ld writes (%.2f "
                  "per launch: pod %ld, svc %ld, "
                  "annotation %ld, status %ld); %llu passes\n",
                  w->ready, (long long)ms, w->writes, (double)w->writes / N, w->by_tag[0],
                  w->by_tag[1], w->by_tag[2], w->by_tag[3], (unsigned long long)st.passes);
    assert_int_equal(w->ready, N);
    assert_int_equal(w->by_tag[0], N);
    assert_int_equal(w->by_tag[1], N);
    assert_int_equal(w->by_tag[2], N);
    assert_int_equal(w->by_tag[3], N); /* exactly one status patch per launch */
    assert_int_equal(w->writes, 4 * N);
    ev_timer_stop(w->loop, &check);
    ev_timer_stop(w->loop, &wd);
    ev_idle_stop(w->loop, &w->kubelet);
    rec_shards_free(w->set);
    ev_loop_destroy(w->loop);
    store_close(w->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", w->dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < w->n_pending; i++)
        free(w->pending[i]);
    free(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_many_launches)};
    return cmocka_run_group_tests_name("rec_sandbox_shard", tests, NULL, NULL);
}
