/* test_kube_h2.c - TLS and HTTP/2 against nghttpd (Debian nghttp2-server).
 *
 * The test makes its own CA-less self-signed server certificate (and a
 * client certificate) with the OpenSSL API, starts nghttpd on a free
 * loopback port serving a small document tree, and checks: HTTP/2 is
 * negotiated through ALPN, concurrent requests share one connection, a
 * watch stream is decoded over h2, client certificates are sent from memory,
 * and TLS failures give one line naming the server. Skipped (visibly) when
 * nghttpd is not installed. */
#include "kube/kube.h"

#include "core/err.h"
#include "core/jx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ev.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define NGHTTPD   "/usr/sbin/nghttpd"
#define NPARALLEL 12

typedef struct h2env {
    char dir[256];
    char *server_cert_pem, *client_cert_pem, *client_key_pem;
    pid_t pid, pid_verify;
    int port, port_verify;
    int have_nghttpd;
} h2env;

static h2env g;

/* ---- certificates ------------------------------------------------------- */

static char *
bio_string(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

/* A self-signed certificate (it is its own CA) for cn with the given SAN. */
static void
make_cert(const char *cn, const char *san, char **cert_pem, char **key_pem)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL) ^ (long)getpid());
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    const struct {
        int nid;
        const char *val;
    } exts[] = {{NID_basic_constraints, "critical,CA:TRUE"},
                {NID_key_usage, "critical,digitalSignature,keyCertSign"},
                {NID_ext_key_usage, "serverAuth,clientAuth"},
                {NID_subject_alt_name, san}};
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].val);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(cb, x);
    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL);
    *cert_pem = bio_string(cb);
    *key_pem = bio_string(kb);
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void
write_file(const char *rel, const char *content)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", g.dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

/* ---- nghttpd -------------------------------------------------------------- */

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static int
port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)port)};
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static pid_t
start_nghttpd(int port, int verify_client)
{
    char portstr[16], docroot[300], key[300], cert[300];
    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(docroot, sizeof(docroot), "%s/htdocs", g.dir);
    snprintf(key, sizeof(key), "%s/server.key", g.dir);
    snprintf(cert, sizeof(cert), "%s/server.crt", g.dir);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (verify_client)
            execl(NGHTTPD, NGHTTPD, "-a", "127.0.0.1", "-d", docroot, "--verify-client", portstr,
                  key, cert, (char *)NULL);
        else
            execl(NGHTTPD, NGHTTPD, "-a", "127.0.0.1", "-d", docroot, portstr, key, cert,
                  (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && !port_open(port); i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return pid;
}

static int
group_setup(void **state)
{
    (void)state;
    g.have_nghttpd = access(NGHTTPD, X_OK) == 0;
    if (!g.have_nghttpd) return 0;
    snprintf(g.dir, sizeof(g.dir), "/tmp/test_kube_h2.XXXXXX");
    if (mkdtemp(g.dir) == NULL) return -1;
    char *skey, *junk;
    make_cert("127.0.0.1", "IP:127.0.0.1", &g.server_cert_pem, &skey);
    make_cert("client", "DNS:client.test", &g.client_cert_pem, &g.client_key_pem);
    (void)junk;
    write_file("server.crt", g.server_cert_pem);
    write_file("server.key", skey);
    free(skey);
    char p[512];
    const char *dirs[] = {"htdocs",
                          "htdocs/api",
                          "htdocs/api/v1",
                          "htdocs/api/v1/namespaces",
                          "htdocs/api/v1/namespaces/ns",
                          "htdocs/api/v1/namespaces/ns/pods"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", g.dir, dirs[i]);
        mkdir(p, 0700);
    }
    for (int i = 0; i < NPARALLEL; i++) {
        char rel[128], body[256];
        snprintf(rel, sizeof(rel), "htdocs/api/v1/namespaces/ns/pods/p%d", i);
        snprintf(body, sizeof(body),
                 "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p%d\"}}", i);
        write_file(rel, body);
    }
    /* a recorded watch stream, served as a file: decoded over h2, then a clean end */
    write_file("htdocs/api/v1/namespaces/ns/services",
               "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"name\":"
               "\"s1\"}}}\n{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"metadata\":"
               "{\"resourceVersion\":\"12\"}}}\n");
    /* a long stream: stopped or aborted by an ERROR event part-way */
    {
        size_t n = 0, cap = 4u << 20;
        char *big = malloc(cap + 512);
        n += (size_t)sprintf(big, "%s",
                             "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"e0\"}}}\n"
                             "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                             "\"reason\":\"Expired\",\"message\":\"too old resource version\"}}\n");
        while (n < cap)
            n += (size_t)sprintf(big + n,
                                 "{\"type\":\"ADDED\",\"object\":{\"metadata\":{"
                                 "\"name\":\"filler-%zu\"}}}\n",
                                 n);
        write_file("htdocs/api/v1/namespaces/ns/events", big);
        free(big);
    }
    /* the free port may be taken by someone else before nghttpd binds it: retry */
    for (int v = 0; v < 2; v++) {
        int *port = v ? &g.port_verify : &g.port;
        pid_t *pid = v ? &g.pid_verify : &g.pid;
        for (int attempt = 0; attempt < 3; attempt++) {
            *port = free_port();
            *pid = start_nghttpd(*port, v);
            if (port_open(*port) && waitpid(*pid, NULL, WNOHANG) == 0) break;
            kill(*pid, SIGTERM);
            waitpid(*pid, NULL, 0);
            *pid = -1;
        }
        if (*pid <= 0) {
            fprintf(stderr, "nghttpd did not start\n");
            return -1;
        }
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    if (!g.have_nghttpd) return 0;
    pid_t pids[2] = {g.pid, g.pid_verify};
    for (int i = 0; i < 2; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGTERM);
            waitpid(pids[i], NULL, 0);
        }
    }
    free(g.server_cert_pem);
    free(g.client_cert_pem);
    free(g.client_key_pem);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- client helpers ----------------------------------------------------------- */

typedef struct res {
    int called, err;
    long status, version;
    char name[32];
    char message[1024];
} res;

static void
on_done(const kube_result *r, void *udata)
{
    res *x = udata;
    x->called++;
    x->err = r->err;
    x->status = r->http_status;
    x->version = r->http_version;
    snprintf(x->message, sizeof(x->message), "%s", r->message);
    snprintf(x->name, sizeof(x->name), "%s", jx_str_or(r->body, "metadata.name", ""));
}

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    *(int *)w->data = 1;
    ev_break(loop, EVBREAK_ALL);
}

static void
run_until(struct ev_loop *loop, int (*done)(void *), void *arg, int timeout_ms)
{
    int timed_out = 0;
    ev_timer t;
    ev_timer_init(&t, guard_cb, timeout_ms / 1000.0, 0.);
    t.data = &timed_out;
    ev_timer_start(loop, &t);
    while (!done(arg) && !timed_out)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
    if (timed_out) fail_msg("timed out after %d ms", timeout_ms);
}

static int
one_done(void *arg)
{
    return ((res *)arg)->called > 0;
}

static kube_client *
client(struct ev_loop *loop, int port, const char *host, int with_ca, int with_cert, int insecure,
       int http2)
{
    kube_config cfg = {0};
    char server[128], err[256];
    snprintf(server, sizeof(server), "https://%s:%d", host, port);
    cfg.server = server;
    cfg.ca_pem = with_ca ? g.server_cert_pem : NULL;
    cfg.client_cert_pem = with_cert ? g.client_cert_pem : NULL;
    cfg.client_key_pem = with_cert ? g.client_key_pem : NULL;
    cfg.insecure_skip_tls_verify = insecure;
    kube_client_opts o;
    kube_client_opts_init(&o);
    o.http2 = http2;
    o.max_retries = 0;
    o.timeout_ms = 5000;
    kube_client *c = kube_client_new(loop, &cfg, &o, err, sizeof(err));
    assert_non_null(c);
    return c;
}

#define SKIP_WITHOUT_NGHTTPD()                                                                     \
    do {                                                                                           \
        if (!g.have_nghttpd) {                                                                     \
            print_message("SKIPPED: %s not installed (apt-get install nghttp2-server)\n",          \
                          NGHTTPD);                                                                \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- tests ---------------------------------------------------------------------- */

typedef struct many {
    res r[NPARALLEL];
} many;

static int
all_done(void *arg)
{
    many *m = arg;
    for (int i = 0; i < NPARALLEL; i++)
        if (!m->r[i].called) return 0;
    return 1;
}

static void
test_h2_multiplexed(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    kube_client *c = client(loop, g.port, "127.0.0.1", 1, 0, 0, 1);
    many m = {0};
    for (int i = 0; i < NPARALLEL; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(kube_get(c, &KUBE_PODS, "ns", name, NULL, on_done, &m.r[i]), 0);
    }
    run_until(loop, all_done, &m, 10000);
    for (int i = 0; i < NPARALLEL; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        if (m.r[i].err) fail_msg("request %d: %s", i, m.r[i].message);
        assert_int_equal(m.r[i].status, 200);
        assert_int_equal(m.r[i].version, 20);
        assert_string_equal(m.r[i].name, name);
    }
    kube_stats st;
    kube_client_stats(c, &st);
    assert_int_equal(st.requests, NPARALLEL);
    /* all of them went over a single connection */
    assert_int_equal(st.connects, 1);
    print_message("h2: %d concurrent requests, %llu connection(s)\n", NPARALLEL,
                  (unsigned long long)st.connects);
    /* keep-alive: a later request reuses it */
    res again = {0};
    kube_get(c, &KUBE_PODS, "ns", "p0", NULL, on_done, &again);
    run_until(loop, one_done, &again, 5000);
    kube_client_stats(c, &st);
    assert_int_equal(st.connects, 1);
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

static void
test_http11_when_h2_off(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    kube_client *c = client(loop, g.port, "127.0.0.1", 1, 0, 0, 0);
    res r = {0};
    kube_get(c, &KUBE_PODS, "ns", "p1", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    /* nghttpd speaks only h2: with ALPN offering http/1.1 alone there is no common protocol */
    assert_int_not_equal(r.err, 0);
    assert_int_not_equal(r.version, 20);
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

typedef struct wres {
    kube_watch *stop_at_first; /* stop from inside the first event */
    int events, ends, end_err;
    enum kube_event_type types[4];
    char end_msg[256];
} wres;

static void
w_event(enum kube_event_type type, json_object *obj, void *udata)
{
    (void)obj;
    wres *w = udata;
    if (w->events < 4) w->types[w->events] = type;
    w->events++;
    if (w->stop_at_first && w->events == 1) kube_watch_stop(w->stop_at_first);
}

static void
w_end(int err, long status, const char *message, void *udata)
{
    (void)status;
    wres *w = udata;
    w->ends++;
    w->end_err = err;
    snprintf(w->end_msg, sizeof(w->end_msg), "%s", message);
}

static int
watch_and_get_done(void *arg)
{
    void **p = arg;
    return ((wres *)p[0])->ends > 0 && ((res *)p[1])->called > 0;
}

static void
test_h2_watch_and_request(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    kube_client *c = client(loop, g.port, "127.0.0.1", 1, 0, 0, 1);
    wres w = {0};
    res r = {0};
    assert_non_null(kube_watch_start(c, &KUBE_SERVICES, "ns", NULL, w_event, w_end, &w));
    kube_get(c, &KUBE_PODS, "ns", "p2", NULL, on_done, &r);
    void *both[2] = {&w, &r};
    run_until(loop, watch_and_get_done, both, 5000);
    assert_int_equal(w.end_err, 0);
    assert_int_equal(w.events, 2);
    assert_int_equal(w.types[0], KUBE_ADDED);
    assert_int_equal(w.types[1], KUBE_BOOKMARK);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.name, "p2");
    kube_stats st;
    kube_client_stats(c, &st);
    assert_int_equal(st.connects, 1);
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

/* An in-stream ERROR aborts only its own h2 stream: the connection, and
 * the requests sharing it, carry on. So does kube_watch_stop mid-stream. */
typedef struct abort_ctx {
    wres w;
    many m;
    kube_watch *stop_me;
    int stopped;
} abort_ctx;

static int
abort_all_done(void *arg)
{
    abort_ctx *a = arg;
    return a->w.ends > 0 && all_done(&a->m);
}

static int
one_end(void *arg)
{
    return ((wres *)arg)->ends > 0;
}

static void
test_h2_abort_keeps_connection(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    kube_client *c = client(loop, g.port, "127.0.0.1", 1, 0, 0, 1);
    abort_ctx a = {0};
    assert_non_null(kube_watch_start(c, &KUBE_EVENTS, "ns", NULL, w_event, w_end, &a.w));
    for (int i = 0; i < NPARALLEL; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        kube_get(c, &KUBE_PODS, "ns", name, NULL, on_done, &a.m.r[i]);
    }
    run_until(loop, abort_all_done, &a, 10000);
    assert_int_equal(a.w.end_err, ERR_GONE);
    assert_int_equal(a.w.events, 2); /* ADDED, ERROR; nothing after */
    for (int i = 0; i < NPARALLEL; i++)
        if (a.m.r[i].err) fail_msg("request %d: %s", i, a.m.r[i].message);
    /* stop a second 4 MB watch mid-stream from inside its first event */
    wres w2 = {0};
    w2.stop_at_first = kube_watch_start(c, &KUBE_EVENTS, "ns", NULL, w_event, w_end, &w2);
    assert_non_null(w2.stop_at_first);
    run_until(loop, one_end, &w2, 5000);
    assert_int_equal(w2.end_err, ERR_CANCELED);
    assert_int_equal(w2.events, 1);
    res r = {0};
    kube_get(c, &KUBE_PODS, "ns", "p1", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    assert_int_equal(r.err, 0);
    kube_stats st;
    kube_client_stats(c, &st);
    assert_int_equal(st.connects, 1);
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

static void
test_tls_unknown_ca(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    kube_client *c = client(loop, g.port, "127.0.0.1", 0, 0, 0, 1);
    res r = {0};
    kube_get(c, &KUBE_PODS, "ns", "p1", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    assert_int_equal(r.err, ERR_TLS);
    char server[64];
    snprintf(server, sizeof(server), "https://127.0.0.1:%d", g.port);
    print_message("unknown CA: %s\n", r.message);
    assert_non_null(strstr(r.message, "TLS with the server"));
    assert_non_null(strstr(r.message, server));
    assert_non_null(strstr(r.message, "certificate"));
    assert_null(strchr(r.message, '\n'));
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

static void
test_tls_wrong_host(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    /* the certificate names IP 127.0.0.1 only */
    kube_client *c = client(loop, g.port, "localhost", 1, 0, 0, 1);
    res r = {0};
    kube_get(c, &KUBE_PODS, "ns", "p1", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    if (r.err == ERR_IO && strstr(r.message, "cannot connect")) {
        /* localhost resolved to ::1 only: nothing to learn here */
        print_message("localhost did not reach 127.0.0.1: %s\n", r.message);
    } else {
        assert_int_equal(r.err, ERR_TLS);
        assert_non_null(strstr(r.message, "localhost"));
    }
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

static void
test_tls_insecure(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    kube_client *c = client(loop, g.port, "127.0.0.1", 0, 0, 1, 1);
    res r = {0};
    kube_get(c, &KUBE_PODS, "ns", "p3", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.name, "p3");
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

static void
test_client_certificate(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    /* without a client certificate the server ends the handshake */
    kube_client *c = client(loop, g.port_verify, "127.0.0.1", 1, 0, 0, 1);
    res r = {0};
    kube_get(c, &KUBE_PODS, "ns", "p4", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    assert_int_not_equal(r.err, 0);
    char server[64];
    snprintf(server, sizeof(server), "https://127.0.0.1:%d", g.port_verify);
    assert_non_null(strstr(r.message, server));
    kube_client_free(c);
    /* with the certificate and key given in memory it works */
    c = client(loop, g.port_verify, "127.0.0.1", 1, 1, 0, 1);
    memset(&r, 0, sizeof(r));
    kube_get(c, &KUBE_PODS, "ns", "p4", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    if (r.err) fail_msg("with client cert: %s", r.message);
    assert_string_equal(r.name, "p4");
    assert_int_equal(r.version, 20);
    kube_client_free(c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

/* Many requests over the one h2 connection, 64 in flight at a time: all
 * succeed and none opens another connection. Prints the rate. */
typedef struct pump {
    kube_client *c;
    int started, finished, failed, total, window;
} pump;

static void pump_next(pump *p);

static void
pump_done(const kube_result *r, void *udata)
{
    pump *p = udata;
    p->finished++;
    if (r->err != 0 || r->http_version != 20) p->failed++;
    pump_next(p);
}

static void
pump_next(pump *p)
{
    while (p->started < p->total && p->started - p->finished < p->window) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", p->started % NPARALLEL);
        p->started++;
        if (kube_get(p->c, &KUBE_PODS, "ns", name, NULL, pump_done, p) != 0) p->failed++;
    }
}

static int
pump_all_done(void *arg)
{
    pump *p = arg;
    return p->finished == p->total;
}

static void
test_h2_throughput(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    pump p = {.c = client(loop, g.port, "127.0.0.1", 1, 0, 0, 1), .total = 3000, .window = 64};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pump_next(&p);
    run_until(loop, pump_all_done, &p, 25000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_int_equal(p.failed, 0);
    kube_stats st;
    kube_client_stats(p.c, &st);
    assert_int_equal(st.connects, 1);
    print_message("h2: %d GETs, 64 in flight, one connection: %.0f req/s\n", p.total,
                  p.total / secs);
    kube_client_free(p.c);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

/* The whole path: a kubeconfig on disk with inline CA and client
 * certificate data, loaded and used for a request over h2. */
static void
test_kubeconfig_end_to_end(void **state)
{
    (void)state;
    SKIP_WITHOUT_NGHTTPD();
    const char *pems[3] = {g.server_cert_pem, g.client_cert_pem, g.client_key_pem};
    char *b64[3];
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(pems[i]);
        b64[i] = malloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64[i], (const unsigned char *)pems[i], (int)n);
    }
    size_t cap = strlen(b64[0]) + strlen(b64[1]) + strlen(b64[2]) + 1024;
    char *doc = malloc(cap);
    snprintf(doc, cap,
             "apiVersion: v1\nkind: Config\ncurrent-context: e2e\n"
             "clusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:%d\n"
             "    certificate-authority-data: %s\n"
             "users:\n- name: me\n  user:\n    client-certificate-data: %s\n"
             "    client-key-data: %s\n"
             "contexts:\n- name: e2e\n  context: {cluster: local, user: me, namespace: ns}\n",
             g.port_verify, b64[0], b64[1], b64[2]);
    write_file("kubeconfig", doc);
    free(doc);
    for (int i = 0; i < 3; i++)
        free(b64[i]);
    char path[300], err[256];
    snprintf(path, sizeof(path), "%s/kubeconfig", g.dir);
    kube_config cfg;
    assert_int_equal(kube_config_load(path, &cfg, err, sizeof(err)), 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    kube_client *c = kube_client_new(loop, &cfg, NULL, err, sizeof(err));
    assert_non_null(c);
    res r = {0};
    kube_get(c, &KUBE_PODS, cfg.namespace, "p5", NULL, on_done, &r);
    run_until(loop, one_done, &r, 5000);
    if (r.err) fail_msg("%s", r.message);
    assert_string_equal(r.name, "p5");
    assert_int_equal(r.version, 20);
    kube_client_free(c);
    kube_config_fini(&cfg);
    assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing left on the loop */
    ev_loop_destroy(loop);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h2_multiplexed),
        cmocka_unit_test(test_http11_when_h2_off),
        cmocka_unit_test(test_h2_watch_and_request),
        cmocka_unit_test(test_tls_unknown_ca),
        cmocka_unit_test(test_h2_abort_keeps_connection),
        cmocka_unit_test(test_tls_wrong_host),
        cmocka_unit_test(test_tls_insecure),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_kubeconfig_end_to_end),
        cmocka_unit_test(test_h2_throughput),
    };
    return cmocka_run_group_tests_name("kube_h2", tests, group_setup, group_teardown);
}
