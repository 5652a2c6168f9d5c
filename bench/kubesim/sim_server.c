/* sim_server.c - start/stop, configuration, and the storage core shared by
 * every module (commit, lookup). See sim_server.h and sim_state.h. */
#include "bench/kubesim/sim_server.h"

#include "bench/kubesim/sim_state.h"
#include "bench/kubesim/sim_write_internal.h"
#include "bench/kubesim/sim_meta.h"
#include "bench/kubesim/sim_tls.h"

#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void
sim_config_defaults(sim_config *c)
{
    memset(c, 0, sizeof *c);
    c->pod_ready_delay_ms = 0;
    c->pod_stop_delay_ms = 20;
    c->nodes = 3;
    c->bookmark_interval_s = 60;
    c->tree_cache = SIM_TREE_CACHE;
}

static int
parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 1000000000) return -1;
    *out = (int)v;
    return 0;
}

int
sim_config_parse(sim_config *c, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *iv = NULL;
        const char **sv = NULL;
        if (!strcmp(a, "--tls")) {
            c->tls = 1;
            continue;
        } else if (!strcmp(a, "--no-kubelet")) {
            c->no_kubelet = 1;
            continue;
        } else if (!strcmp(a, "--quiet")) {
            c->quiet = 1;
            continue;
        } else if (!strcmp(a, "--port"))
            iv = &c->port;
        else if (!strcmp(a, "--pod-ready-delay-ms"))
            iv = &c->pod_ready_delay_ms;
        else if (!strcmp(a, "--pod-stop-delay-ms"))
            iv = &c->pod_stop_delay_ms;
        else if (!strcmp(a, "--nodes"))
            iv = &c->nodes;
        else if (!strcmp(a, "--watch-window"))
            iv = &c->watch_window;
        else if (!strcmp(a, "--tree-cache"))
            iv = &c->tree_cache;
        else if (!strcmp(a, "--bookmark-interval"))
            iv = &c->bookmark_interval_s;
        else if (!strcmp(a, "--tls-cert"))
            sv = &c->tls_cert;
        else if (!strcmp(a, "--tls-key"))
            sv = &c->tls_key;
        else if (!strcmp(a, "--kubeconfig-out"))
            sv = &c->kubeconfig_out;
        else if (!strcmp(a, "--crds"))
            sv = &c->crds_dir;
        else if (!strcmp(a, "--fault")) {
            if (!v || c->nfaults >= 16) {
                snprintf(err, errlen, "--fault needs a JSON value (at most 16)");
                return -1;
            }
            c->faults[c->nfaults++] = v;
            i++;
            continue;
        } else if (!strcmp(a, "--fault-seed")) {
            char *end;
            if (!v || (c->fault_seed = strtoull(v, &end, 10), *end)) {
                snprintf(err, errlen, "--fault-seed needs a number");
                return -1;
            }
            i++;
            continue;
        } else {
            snprintf(err, errlen, "unknown flag %s", a);
            return -1;
        }
        if (!v) {
            snprintf(err, errlen, "flag %s needs a value", a);
            return -1;
        }
        if (iv && parse_int(v, iv) != 0) {
            snprintf(err, errlen, "flag %s: bad number %s", a, v);
            return -1;
        }
        if (sv) *sv = v;
        i++;
    }
    if (c->port > 65535) {
        snprintf(err, errlen, "--port out of range");
        return -1;
    }
    if (!!c->tls_cert != !!c->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (c->tls_cert && c->tls) {
        snprintf(err, errlen, "--tls and --tls-cert are exclusive");
        return -1;
    }
    return 0;
}

/* ---- storage core ---- */

uint64_t
sim_rand_u(sim_state *S)
{
    return sim_rand((uint64_t *)&S->rand_state);
}

void
sim_key(const char *ns, const char *name, char *out, size_t len)
{
    /* "<ns>/<name>", truncated to len like snprintf (per request: no printf) */
    if (!len) return;
    size_t n = 0;
    for (const char *p = ns ? ns : ""; *p && n + 1 < len; p++)
        out[n++] = *p;
    if (n + 1 < len) out[n++] = '/';
    for (const char *p = name ? name : ""; *p && n + 1 < len; p++)
        out[n++] = *p;
    out[n] = '\0';
}

sim_store *
sim_store_of(sim_state *S, const sim_res *r)
{
    if (r->store) return r->store;
    sim_store *st = sim_map_get(&S->stores, r->store_key);
    if (!st) {
        st = sim_store_new(r->store_key, S->rv);
        if (!st) return NULL;
        sim_map_put(&S->stores, r->store_key, st);
        if (sim_map_get(&S->stores, r->store_key) != st) {
            sim_store_free(st);
            return NULL;
        }
    }
    ((sim_res *)r)->store = st;
    return st;
}

sim_obj *
sim_lookup(sim_state *S, const sim_res *r, const char *ns, const char *name)
{
    sim_store *st = sim_store_of(S, r);
    if (!st) return NULL;
    char key[600];
    sim_key(r->namespaced ? ns : "", name, key, sizeof key);
    return sim_store_get(st, key);
}

sim_res *
sim_find_res(sim_state *S, const char *group, const char *plural)
{
    for (size_t i = 0; i < S->res.n; i++) {
        sim_res *r = S->res.v[i];
        if (r->storage_version && !strcmp(r->group, group) && !strcmp(r->plural, plural)) return r;
    }
    return NULL;
}

const sim_obj *
sim_commit(sim_state *S, sim_res *r, int type, json_object *obj)
{
    if (S->dry_run) {
        /* dryRun=All: the answer shows the result, nothing is stored or sent */
        json_object *m = jx_ensure_obj(obj, "metadata");
        if (m && type == SIM_EV_ADDED) json_object_object_del(m, "resourceVersion");
        char key[600];
        sim_key(r->namespaced ? jx_str_or(m, "namespace", "") : "", jx_str_or(m, "name", ""), key,
                sizeof key);
        sim_obj_unref(S->dry_obj);
        S->dry_obj = sim_obj_new(obj, 0, key);
        return S->dry_obj;
    }
    sim_store *st = sim_store_of(S, r);
    if (!st) {
        json_object_put(obj);
        return NULL;
    }
    uint64_t rv = ++S->rv;
    char rvs[32], key[600];
    sim_fmt_dec(rvs, (long long)rv);
    json_object *m = jx_ensure_obj(obj, "metadata");
    if (!m) {
        json_object_put(obj);
        return NULL;
    }
    json_object_object_add(m, "resourceVersion", json_object_new_string(rvs));
    sim_key(r->namespaced ? jx_str_or(m, "namespace", "") : "", jx_str_or(m, "name", ""), key,
            sizeof key);
    sim_obj *o = sim_obj_new(obj, rv, key);
    if (!o) return NULL;
    const sim_event *e = sim_store_apply(st, type, o, time_mono_ms());
    if (!e) return NULL;
    if (S->cfg.watch_window > 0) sim_store_trim(st, (size_t)S->cfg.watch_window, 0);
    sim_obj *keep = e->obj;
    sim_watch_dispatch(S, st, e);
    sim_ctl_on_event(S, r, e);
    /* versions that are only history keep their text; trees are re-parsed on demand */
    if (e->prev) sim_obj_drop_tree(e->prev);
    if (type == SIM_EV_DELETED) sim_obj_drop_tree(e->obj);
    return keep;
}

void
sim_ctl_kick(sim_state *S)
{
    if (S->ctl_scheduled) return;
    S->ctl_scheduled = 1;
    ev_timer_set(&S->ctl_timer, 0., 0.);
    ev_timer_start(S->loop, &S->ctl_timer);
}

static void
ctl_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_state *S = w->data;
    S->ctl_scheduled = 0;
    sim_ctl_run(S);
}

static int
trim_store(void *ud, const char *key, void *val)
{
    (void)key;
    sim_state *S = ud;
    sim_store_trim(val, (size_t)S->cfg.watch_window, time_mono_ms());
    return 0;
}

static void
housekeeping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_state *S = w->data;
    sim_map_each(&S->stores, trim_store, S);
}

static void
stop_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void
tree_trim_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    sim_state *S = w->data;
    if (S->cfg.tree_cache > 0) sim_tree_cache_trim(&S->trees, (size_t)S->cfg.tree_cache);
}

static void *
thread_main(void *arg)
{
    sim_state *S = arg;
    if (S->cfg.tree_cache > 0) sim_tree_cache_bind(&S->trees);
    ev_run(S->loop, 0);
    sim_tree_cache_bind(NULL);
    sim__parse_body_release();
    sim_obj_parser_release();
    return NULL;
}

/* ---- kubeconfig ---- */

static int
write_kubeconfig(sim_state *S, const char *path, const char *ca_pem, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "kubeconfig %s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n"
            "    server: %s\n",
            S->url);
    if (ca_pem) {
        size_t n = strlen(ca_pem);
        unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (b64) {
            EVP_EncodeBlock(b64, (const unsigned char *)ca_pem, (int)n);
            fprintf(f, "    certificate-authority-data: %s\n", b64);
            free(b64);
        }
    }
    fprintf(f,
            "users:\n- name: kubesim\n  user:\n    token: %s\n"
            "contexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n    user: kubesim\n"
            "    namespace: default\ncurrent-context: kubesim\n",
            S->token);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        snprintf(err, errlen, "kubeconfig %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void free_state(sim_state *S);

sim_server *
sim_start(const sim_config *cfg, char *err, size_t errlen)
{
    signal(SIGPIPE, SIG_IGN);
    sim_state *S = calloc(1, sizeof *S);
    if (!S) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    S->cfg = *cfg;
    if (S->cfg.bookmark_interval_s <= 0) S->cfg.bookmark_interval_s = 60;
    S->rand_state = (int64_t)(time_now_ms() ^ ((int64_t)getpid() << 20));
    uint64_t seed = (uint64_t)S->rand_state;
    snprintf(S->token, sizeof S->token, "kubesim-%016llx",
             (unsigned long long)(seed * 2654435761u));
    /* the request log ring (~75 MiB) is mapped, not calloc'd: its pages cost memory
     * only once written (tcmalloc's calloc would clear, and so touch, all of it) */
    void *ring = mmap(NULL, SIM_LOG_CAP * sizeof *S->log, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    S->log = ring == MAP_FAILED ? NULL : ring;
    S->loop = ev_loop_new(EVFLAG_AUTO);
    if (!S->log || !S->loop) {
        snprintf(err, errlen, "out of memory");
        free_state(S);
        return NULL;
    }
    ev_async_init(&S->stop_async, stop_cb);
    ev_async_start(S->loop, &S->stop_async);
    ev_timer_init(&S->ctl_timer, ctl_cb, 0., 0.);
    S->ctl_timer.data = S;
    ev_prepare_init(&S->tree_trim, tree_trim_cb);
    S->tree_trim.data = S;
    ev_prepare_start(S->loop, &S->tree_trim);
    sim_fault_init(S);
    for (int i = 0; i < cfg->nfaults; i++) {
        const char *je = NULL;
        json_object *spec = jx_parse(cfg->faults[i], strlen(cfg->faults[i]), &je);
        int frc = sim_fault_add(S, spec, err, errlen);
        json_object_put(spec);
        if (frc != 0) {
            free_state(S);
            return NULL;
        }
    }
    ev_timer_init(&S->housekeeping, housekeeping_cb, 1., 1.);
    S->housekeeping.data = S;
    ev_timer_start(S->loop, &S->housekeeping);
    if (sim_res_builtin(&S->res) != 0) {
        snprintf(err, errlen, "out of memory");
        free_state(S);
        return NULL;
    }
    if (sim_ctl_bootstrap(S) != 0) {
        snprintf(err, errlen, "bootstrap failed");
        free_state(S);
        return NULL;
    }
    /* CRDs after the built-in objects: a custom resource's history starts
     * when its CRD is established, so resourceVersion 1 is too old for it */
    int rc;
    if (cfg->crds_dir)
        rc = sim_crd_install_dir(S, cfg->crds_dir, err, errlen);
    else
        rc = sim_crd_install_builtin(S, err, errlen);
    if (rc != 0) {
        free_state(S);
        return NULL;
    }
    char *ca_pem = NULL;
    if (cfg->tls || cfg->tls_cert) {
        S->ssl = sim_tls_ctx(cfg->tls_cert, cfg->tls_key, &ca_pem, err, errlen);
        if (!S->ssl) {
            free_state(S);
            return NULL;
        }
    }
    S->http = sim_http_new(S->loop, cfg->port, S->ssl, sim_api_handle, S, err, errlen);
    if (!S->http) {
        free(ca_pem);
        free_state(S);
        return NULL;
    }
    snprintf(S->url, sizeof S->url, "%s://127.0.0.1:%d", S->ssl ? "https" : "http",
             sim_http_port(S->http));
    if (cfg->kubeconfig_out) {
        snprintf(S->kubeconfig, sizeof S->kubeconfig, "%s", cfg->kubeconfig_out);
    } else {
        const char *tmpdir = getenv("TMPDIR");
        snprintf(S->kubeconfig, sizeof S->kubeconfig, "%s/kubesim-%d-%d.kubeconfig",
                 tmpdir && tmpdir[0] ? tmpdir : "/tmp", (int)getpid(), sim_http_port(S->http));
        S->tmp_kubeconfig = 1;
    }
    rc = write_kubeconfig(S, S->kubeconfig, ca_pem, err, errlen);
    free(ca_pem);
    if (rc != 0) {
        S->tmp_kubeconfig = 0;
        free_state(S);
        return NULL;
    }
    if (pthread_create(&S->thread, NULL, thread_main, S) != 0) {
        snprintf(err, errlen, "pthread_create failed");
        free_state(S);
        return NULL;
    }
    S->thread_started = 1;
    sim_obj_parser_release(); /* the setup above ran on the caller's thread */
    return S;
}

const char *
sim_url(const sim_server *s)
{
    return s->url;
}
int
sim_port(const sim_server *s)
{
    return s->http ? sim_http_port(s->http) : 0;
}
const char *
sim_kubeconfig(const sim_server *s)
{
    return s->kubeconfig;
}
const char *
sim_token(const sim_server *s)
{
    return s->token;
}

static int
free_store(void *ud, const char *key, void *val)
{
    (void)ud;
    (void)key;
    sim_store_free(val);
    return 0;
}

static int
free_counter(void *ud, const char *key, void *val)
{
    (void)ud;
    (void)key;
    free(val);
    return 0;
}

void sim_kubelet_free_all(sim_state *S);

static void
free_state(sim_state *S)
{
    if (S->http) {
        sim_watch_close_all(S);
        sim_http_free(S->http);
    }
    sim_kubelet_free_all(S);
    if (S->loop) {
        ev_timer_stop(S->loop, &S->ctl_timer);
        ev_timer_stop(S->loop, &S->housekeeping);
        ev_prepare_stop(S->loop, &S->tree_trim);
        ev_timer_stop(S->loop, &S->watch_closer);
        ev_async_stop(S->loop, &S->stop_async);
        ev_loop_destroy(S->loop);
    }
    sim_tree_cache_free(&S->trees);
    sim_map_each(&S->stores, free_store, NULL);
    sim_map_free(&S->stores);
    sim_res_table_free(&S->res);
    sim_map_each(&S->metrics, free_counter, NULL);
    sim_map_free(&S->metrics);
    if (S->ssl) SSL_CTX_free(S->ssl);
    if (S->tmp_kubeconfig) unlink(S->kubeconfig);
    free(S->faults);
    sim_buf_free(&S->wline);
    if (S->log) munmap(S->log, SIM_LOG_CAP * sizeof *S->log);
    free(S);
}

void
sim_stop(sim_server *S)
{
    if (!S) return;
    if (S->thread_started) {
        ev_async_send(S->loop, &S->stop_async);
        pthread_join(S->thread, NULL);
    }
    free_state(S);
}
