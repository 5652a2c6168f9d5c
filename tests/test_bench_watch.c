/* test_bench_watch.c - the benchmarks' own watch (bench/benchlib/watch.h)
 * against kubesim: objects created before and after the start arrive; a
 * stream the server closes resumes from the last resourceVersion without
 * losing events; after a compaction (410 Gone) it lists again and still
 * sees every object; the blocking helpers report a dead server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib/env.h"
#include "bench/benchlib/kc.h"
#include "bench/benchlib/objects.h"
#include "bench/benchlib/proc.h"
#include "bench/benchlib/watch.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

typedef struct {
    char dir[64], out[128], log[128], kubeconfig[128], url[256];
    bench_child sim;
    struct ev_loop *loop;
    bench_kc k;
    int seen[64]; /* per object index: events seen */
    int added, target;
} wctx;

static int
start(wctx *w)
{
    char sim[PATH_MAX];
    const char *d = getenv("ASC_BIN_DIR");
    snprintf(sim, sizeof sim, "%s/kubesim", d && *d ? d : ".");
    if (access(sim, X_OK) != 0) return -1;
    snprintf(w->dir, sizeof w->dir, "/tmp/asc-test-benchwatch-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->out, sizeof w->out, "%s/out", w->dir);
    snprintf(w->log, sizeof w->log, "%s/log", w->dir);
    snprintf(w->kubeconfig, sizeof w->kubeconfig, "%s/kc", w->dir);
    char *argv[] = {sim, "--port", "0", "--kubeconfig-out", w->kubeconfig, NULL};
    assert_int_equal(bench_child_spawn(&w->sim, "kubesim", argv, w->out, w->log), 0);
    assert_int_equal(bench_child_wait_line(&w->sim, w->out, "ready ", w->url, sizeof w->url, 20000),
                     0);
    w->loop = ev_loop_new(EVFLAG_AUTO);
    char err[256];
    assert_int_equal(
        bench_kc_open(&w->k, w->loop, w->kubeconfig, "watchtest/1.0", 0, err, sizeof err), 0);
    return 0;
}

static void
stop(wctx *w)
{
    bench_kc_close(&w->k);
    ev_loop_destroy(w->loop);
    int code;
    bench_child_stop(&w->sim, 5000, &code);
    unlink(w->out);
    unlink(w->log);
    unlink(w->kubeconfig);
    rmdir(w->dir);
}

static void
on_obj(int type, json_object *obj, void *ud)
{
    wctx *w = ud;
    const char *name = jx_str(obj, "metadata.name");
    int i;
    if (type == KUBE_DELETED || name == NULL || sscanf(name, "w-%d", &i) != 1 || i < 0 || i >= 64)
        return;
    if (w->seen[i]++ == 0) w->added++;
}

static void
create_as(wctx *w, int i, const char *role)
{
    char body[2048], name[32], path[256], why[256];
    snprintf(name, sizeof name, "w-%d", i);
    bench_sandbox_json(body, sizeof body, "default", name, role);
    kube_path(&KUBE_SANDBOXES, "default", NULL, NULL, path, sizeof path);
    assert_int_equal(bench_kc_post(&w->k, path, body, 10000, why, sizeof why), 0);
}

static void
create(wctx *w, int i)
{
    create_as(w, i, "watch");
}

static int
added_at_least(void *ud)
{
    wctx *w = ud;
    return w->added >= w->target;
}

static void
wait_added(wctx *w, int n)
{
    w->target = n;
    char why[128];
    assert_int_equal(
        bench_kc_run_until(&w->k, added_at_least, w, time_mono_ms() + 10000, why, sizeof why), 0);
}

static void
admin(wctx *w, const char *path)
{
    bench_reply r;
    assert_int_equal(bench_kc_call(&w->k, "POST", path, NULL, 10000, &r), 0);
    assert_int_equal(r.status, 200);
    bench_reply_fini(&r);
}

static void
test_watch_resume_and_relist(void **state)
{
    (void)state;
    wctx w = {0};
    if (start(&w) != 0) {
        fprintf(stderr, "SKIP: kubesim not built\n");
        skip();
    }
    create(&w, 0); /* before the watch: delivered by the LIST */
    bench_watch bw;
    assert_int_equal(bench_watch_start(&bw, &w.k, &KUBE_SANDBOXES, "default",
                                       BENCH_ROLE_LABEL "=watch", on_obj, &w, 10000),
                     0);
    assert_int_equal(w.added, 1);
    assert_int_equal(bw.relists, 1);
    create(&w, 1);
    wait_added(&w, 2);
    /* the server ends every stream: resumed from the last rv, nothing lost */
    admin(&w, "/kubesim/watches/close");
    create(&w, 2);
    create(&w, 3);
    wait_added(&w, 4);
    assert_true(bw.restarts >= 1);
    assert_int_equal(bw.relists, 1);
    /* history dropped past our rv (an object our selector does not see moved
     * the clock on), then the stream closed: the resume gets 410, a relist */
    create(&w, 4);
    wait_added(&w, 5);
    create_as(&w, 40, "unwatched");
    admin(&w, "/kubesim/compact");
    admin(&w, "/kubesim/watches/close");
    create(&w, 5);
    wait_added(&w, 6);
    assert_true(bw.relists >= 2);
    assert_false(bw.failed);
    for (int i = 0; i < 6; i++)
        assert_true(w.seen[i] >= 1);
    bench_watch_stop(&bw);
    bench_watch_stop(&bw); /* twice is fine */
    stop(&w);
}

static int
check_sim(void *ud, char *why, size_t whylen)
{
    wctx *w = ud;
    if (bench_child_alive(&w->sim)) return 0;
    snprintf(why, whylen, "kubesim exited with code %d", w->sim.exit_code);
    return ERR_IO;
}

static int
never(void *ud)
{
    (void)ud;
    return 0;
}

static void
test_dead_server_is_reported(void **state)
{
    (void)state;
    wctx w = {0};
    if (start(&w) != 0) skip();
    w.k.check = check_sim;
    w.k.check_ud = &w;
    int code;
    bench_child_stop(&w.sim, 5000, &code);
    char why[128] = "";
    int64_t t0 = time_mono_ms();
    /* the health check fails at once: no waiting for the deadline */
    assert_int_equal(bench_kc_run_until(&w.k, never, NULL, t0 + 10000, why, sizeof why), ERR_IO);
    assert_true(time_mono_ms() - t0 < 2000);
    assert_non_null(strstr(why, "kubesim exited"));
    /* a request to a dead server completes with a transport error, not a hang */
    w.k.check = NULL;
    bench_reply r;
    assert_int_equal(bench_kc_call(&w.k, "GET", "/version", NULL, 10000, &r), 0);
    assert_int_equal(r.status, 0);
    assert_true(r.err != 0);
    bench_reply_fini(&r);
    stop(&w);
}

int
main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_watch_resume_and_relist),
        cmocka_unit_test(test_dead_server_is_reported),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
