/* test_informer_raw.c - watch events applied from their text
 * (informer__refl_raw_event, json-c only for what it declines, as the watch
 * decoder does) leave exactly what the json-c path leaves: the same stored
 * bytes, indexes, change feed, resourceVersions and counters, for a seeded
 * stream of Pods, Sandboxes and Services with the awkward cases mixed in
 * (escaped names, missing or non-string keys, too deep objects, deletes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/log.h"
#include "informer/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_) fail_msg("%s:%d: %s -> %d (%s)", __FILE__, __LINE__, #call, rc_, err_str(rc_));   \
    } while (0)

static int
no_list(void *c, const kube_resource *r, const kube_list_opts *o, kube_done_cb cb, void *u)
{
    (void)c, (void)r, (void)o, (void)cb, (void)u;
    return ERR_INVALID;
}

typedef struct side {
    char dir[64];
    store *st;
    struct ev_loop *loop;
    informer *inf;
    char *feed; /* every change record, one per line */
    size_t feed_n;
} side;

static void
on_feed(const store_change *c, size_t n, void *udata)
{
    side *s = udata;
    for (size_t i = 0; i < n; i++) {
        char line[1024];
        int l = snprintf(
            line, sizeof line, "%d %d %s/%s uid=%s owner=%s/%s/%s old=%s\n", c[i].kind, c[i].type,
            c[i].ns, c[i].name, c[i].uid ? c[i].uid : "-", c[i].owner_kind ? c[i].owner_kind : "-",
            c[i].owner_name ? c[i].owner_name : "-", c[i].owner_uid ? c[i].owner_uid : "-",
            c[i].old_owner_uid ? c[i].old_owner_uid : "-");
        s->feed = realloc(s->feed, s->feed_n + (size_t)l + 1);
        memcpy(s->feed + s->feed_n, line, (size_t)l + 1);
        s->feed_n += (size_t)l;
    }
}

static void
side_open(side *s)
{
    char err[256];
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/test_informer_raw.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    CHECK(store_open(s->dir, NULL, &s->st, err, sizeof err));
    store_set_feed(s->st, on_feed, s);
    s->loop = ev_loop_new(EVFLAG_AUTO);
    informer_transport t = {no_list, NULL, NULL, NULL, NULL, NULL};
    informer_opts o = {.skip_identity = 1, .max_batch = 7};
    s->inf = informer_new_transport(s->loop, &t, s->st, &o);
    assert_non_null(s->inf);
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        s->inf->refl[k].state = REFL_WATCHING;
}

static void
side_close(side *s)
{
    char cmd[128];
    informer_free(s->inf);
    ev_loop_destroy(s->loop);
    store_close(s->st);
    free(s->feed);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

/* The json-c path: what the decoder delivers without a hook. */
static void
apply_tree(side *s, enum store_kind k, enum kube_event_type t, const char *text)
{
    json_tokener *tok = json_tokener_new_ex(512);
    json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
    json_tokener_free(tok);
    assert_non_null(o);
    informer__refl_event(&s->inf->refl[k], t, o);
    json_object_put(o);
}

static int raw_taken, raw_declined;

/* The raw path: the hook first, json-c for what it declines. */
static void
apply_raw(side *s, enum store_kind k, enum kube_event_type t, const char *text)
{
    if (informer__refl_raw_event(t, text, strlen(text), &s->inf->refl[k]) == 0) {
        raw_taken++;
        return;
    }
    raw_declined++;
    apply_tree(s, k, t, text);
}

typedef struct dump_ctx {
    char *p;
    size_t n;
} dump_ctx;

static int
dump_item(const store_item *it, void *udata)
{
    dump_ctx *d = udata;
    size_t l = strlen(it->ns) + strlen(it->name) + 2;
    d->p = realloc(d->p, d->n + l + it->len + 8);
    memcpy(d->p + d->n, it->ns, strlen(it->ns) + 1);
    memcpy(d->p + d->n + strlen(it->ns) + 1, it->name, strlen(it->name) + 1);
    memcpy(d->p + d->n + l, it->data, it->len);
    memcpy(d->p + d->n + l + it->len, &it->len, sizeof it->len);
    d->n += l + it->len + sizeof it->len;
    return 0;
}

/* Objects, every index (through the readers' calls) and resourceVersions. */
static dump_ctx
dump(side *s)
{
    dump_ctx d = {NULL, 0};
    store_rtxn *r;
    char rv[STORE_MAX_RV + 1];
    CHECK(store_rtxn_begin(s->st, &r));
    for (int k = 0; k < STORE_KIND_COUNT; k++) {
        store_list(r, k, NULL, dump_item, &d);
        if (store_get_rv(r, k, rv, sizeof rv) == 0) {
            dump_item(&(store_item){k, "rv", rv, rv, strlen(rv)}, &d);
        }
    }
    for (int i = 0; i < 20; i++) {
        char h[16], ns[16], uid[32];
        snprintf(h, sizeof h, "h%d", i % 5);
        snprintf(ns, sizeof ns, "ns-%d", i % 3);
        snprintf(uid, sizeof uid, "uid-%d", i);
        store_pods_by_hash(r, ns, h, dump_item, &d);
        store_sandboxes_by_pool(r, ns, h, dump_item, &d);
        store_children(r, uid, STORE_KIND_COUNT, dump_item, &d);
    }
    store_rtxn_end(r);
    return d;
}

static uint32_t
rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/* One event's object text: mostly ordinary, some awkward. */
static void
gen(uint64_t *seed, int i, enum store_kind k, char *b, size_t cap)
{
    static const char *kinds[] = {"Sandbox", "Pod", "Service"};
    static const char *names[] = {"\"p-%d\"",       "\"p-%d\"", "\"p-%d\"", "\"p-%d\"",
                                  "\"p\\u002d%d\"", "%d",       "null"};
    static const char *nss[] = {"\"ns-%d\"", "\"ns-%d\"", "\"ns-%d\"", "\"\"", "7"};
    char name[64], ns[64], deep[400] = "1";
    int v = (int)(rnd(seed) % 40), w = (int)(rnd(seed) % 3);
    unsigned pick = rnd(seed);
    snprintf(name, sizeof name, names[pick % 7], v);
    snprintf(ns, sizeof ns, nss[pick / 7 % 5 == 4 && rnd(seed) % 4 ? 0 : pick / 7 % 5], w);
    if (rnd(seed) % 25 == 0) { /* nested deeper than the store keeps */
        size_t o = 0;
        for (int d = 0; d < 40; d++)
            deep[o++] = '[';
        deep[o++] = '1';
        for (int d = 0; d < 40; d++)
            deep[o++] = ']';
        deep[o] = 0;
    }
    snprintf(
        b, cap,
        "{\"apiVersion\":\"v1\",\"kind\":\"%s\",\"metadata\":{\"name\":%s,\"namespace\":%s,"
        "\"uid\":\"u-%d-%d\",\"resourceVersion\":\"%d\",\"labels\":{"
        "\"agents.x-k8s.io/sandbox-name-hash\":\"h%d\",\"agents.x-k8s.io/warm-pool-sandbox\":"
        "\"h%d\",\"a.b/c\":\"caf\\u00e9\"},\"ownerReferences\":[{\"kind\":\"Sandbox\","
        "\"name\":\"o\",\"uid\":\"uid-%d\",\"controller\":%s}],\"managedFields\":[{\"f:x\":{}}]},"
        "\"spec\":{\"nodeName\":\"n%d\",\"deep\":%s,\"big\":18446744073709551615},"
        "\"status\":{\"phase\":\"P%d\",\"podIP\":\"10.0.0.%d\",\"x\":%s,\"d\":%d.25}}",
        kinds[k == STORE_SANDBOX ? 0
              : k == STORE_POD   ? 1
                                 : 2],
        name, ns, v, i, 1000 + i, (int)(rnd(seed) % 5), (int)(rnd(seed) % 5), (int)(rnd(seed) % 20),
        rnd(seed) % 2 ? "true" : "false", i % 3, rnd(seed) % 2 ? deep : "1", i % 4, i % 250,
        rnd(seed) % 3 ? "{}" : deep, i);
}

static void
test_raw_equals_tree(void **state)
{
    (void)state;
    static const enum store_kind kinds[] = {STORE_SANDBOX, STORE_POD, STORE_SERVICE};
    side a, b;
    uint64_t seed = 7;
    char text[4096];
    side_open(&a);
    side_open(&b);
    for (int i = 0; i < 3000; i++) {
        enum store_kind k = kinds[rnd(&seed) % 3];
        unsigned t = rnd(&seed) % 10;
        enum kube_event_type type = t < 5 ? KUBE_ADDED : t < 8 ? KUBE_MODIFIED : KUBE_DELETED;
        gen(&seed, i, k, text, sizeof text);
        apply_tree(&a, k, type, text);
        apply_raw(&b, k, type, text);
        if (i % 50 == 49) {
            CHECK(informer_flush(a.inf));
            CHECK(informer_flush(b.inf));
        }
    }
    CHECK(informer_flush(a.inf));
    CHECK(informer_flush(b.inf));
    informer_stats sa, sb;
    informer_get_stats(a.inf, &sa);
    informer_get_stats(b.inf, &sb);
    assert_int_equal(sa.events, sb.events);
    assert_int_equal(sa.bad_events, sb.bad_events);
    assert_true(sa.events > 1000 && sa.bad_events > 100);
    assert_int_equal(a.feed_n, b.feed_n);
    assert_memory_equal(a.feed, b.feed, a.feed_n);
    dump_ctx da = dump(&a), db = dump(&b);
    assert_true(da.n > 10000);
    assert_int_equal(da.n, db.n);
    assert_memory_equal(da.p, db.p, da.n);
    free(da.p);
    free(db.p);
    print_message("3000 events: %d taken from text, %d declined to json-c; %llu applied, %llu "
                  "bad; feed %zu bytes; stores equal\n",
                  raw_taken, raw_declined, (unsigned long long)sa.events,
                  (unsigned long long)sa.bad_events, a.feed_n);
    assert_true(raw_taken > 1000);
    assert_true(raw_declined > 100);
    side_close(&a);
    side_close(&b);
}

int
main(void)
{
    log_setup(stderr, LOG_ERROR);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_raw_equals_tree)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
