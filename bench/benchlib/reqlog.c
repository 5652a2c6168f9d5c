/* reqlog.c - parsing kubesim's request log and attributing writes to claims.
 *
 * Attribution sorts an index of the relevant entries (controller writes to
 * sandboxes and sandboxclaims, the bench's POSTs of claims) by (resource,
 * name, seq) once, then finds each claim's and each Sandbox's run by binary
 * search: O(m log m) for m entries, whatever the number of claims. */
#include "bench/benchlib/reqlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

static const char *const VERBS[] = {"", "GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE"};

int
bench_verb_parse(const char *s)
{
    if (s == NULL) return BENCH_VERB_OTHER;
    for (int i = 1; i < (int)(sizeof VERBS / sizeof *VERBS); i++)
        if (strcmp(s, VERBS[i]) == 0) return i;
    return BENCH_VERB_OTHER;
}

const char *
bench_verb_name(int verb)
{
    return verb > 0 && verb < (int)(sizeof VERBS / sizeof *VERBS) ? VERBS[verb] : "OTHER";
}

int
bench_verb_is_write(int verb)
{
    return verb == BENCH_VERB_POST || verb == BENCH_VERB_PUT || verb == BENCH_VERB_PATCH ||
           verb == BENCH_VERB_DELETE;
}

static void
copy_field(char *dst, size_t cap, json_object *o, const char *key)
{
    snprintf(dst, cap, "%s", jx_str_or(o, key, ""));
}

int
bench_logent_parse(const char *line, size_t len, bench_logent *out)
{
    memset(out, 0, sizeof *out);
    const char *perr = NULL;
    json_object *o = jx_parse(line, len, &perr);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return ERR_PARSE;
    }
    json_object *seq = jx_get(o, "seq");
    const char *t = jx_str(o, "time");
    int64_t ms = 0;
    if (seq == NULL || !json_object_is_type(seq, json_type_int) ||
        json_object_get_int64(seq) <= 0 || t == NULL || time_parse_rfc3339(t, &ms) != 0) {
        json_object_put(o);
        return ERR_PARSE;
    }
    out->seq = (uint64_t)json_object_get_int64(seq);
    out->time_ms = ms;
    out->code = (int)jx_int(o, "code", 0);
    out->verb = bench_verb_parse(jx_str(o, "verb"));
    copy_field(out->client, sizeof out->client, o, "client");
    copy_field(out->resource, sizeof out->resource, o, "resource");
    copy_field(out->subresource, sizeof out->subresource, o, "subresource");
    copy_field(out->ns, sizeof out->ns, o, "namespace");
    copy_field(out->name, sizeof out->name, o, "name");
    json_object_put(o);
    return 0;
}

void
bench_reqlog_init(bench_reqlog *l, bench_reqlog_keep_fn keep, void *keep_ud)
{
    memset(l, 0, sizeof *l);
    l->keep = keep;
    l->keep_ud = keep_ud;
}

void
bench_reqlog_fini(bench_reqlog *l)
{
    free(l->e);
    memset(l, 0, sizeof *l);
}

static int
push(bench_reqlog *l, const bench_logent *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        bench_logent *v = realloc(l->e, cap * sizeof *v);
        if (v == NULL) return ERR_NOMEM;
        l->e = v;
        l->cap = cap;
    }
    l->e[l->n++] = *e;
    return 0;
}

int
bench_reqlog_feed(bench_reqlog *l, const char *body, size_t len)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t n = end - i;
        if (n > 0) {
            bench_logent e;
            if (bench_logent_parse(body + i, n, &e) != 0) {
                l->malformed++;
            } else if (e.seq > l->last_seq) {
                if (l->last_seq > 0 && e.seq > l->last_seq + 1) l->lost += e.seq - l->last_seq - 1;
                l->last_seq = e.seq;
                if (l->keep == NULL || l->keep(&e, l->keep_ud)) {
                    int rc = push(l, &e);
                    if (rc != 0) return rc;
                }
            }
        }
        i = end + 1;
    }
    return 0;
}

size_t
bench_reqlog_count(const bench_reqlog *l, const char *client, int verb, const char *resource,
                   const char *subresource, const char *name_prefix, int code)
{
    size_t k = 0, plen = name_prefix ? strlen(name_prefix) : 0;
    for (size_t i = 0; i < l->n; i++) {
        const bench_logent *e = &l->e[i];
        if (client && strcmp(e->client, client)) continue;
        if (verb > 0 && e->verb != verb) continue;
        if (resource && strcmp(e->resource, resource)) continue;
        if (subresource && strcmp(e->subresource, subresource)) continue;
        if (name_prefix && strncmp(e->name, name_prefix, plen)) continue;
        if (code > 0 && e->code != code) continue;
        k++;
    }
    return k;
}

/* ---- attribution ------------------------------------------------------------ */

static int
cmp_ent(const void *a, const void *b)
{
    const bench_logent *x = *(const bench_logent *const *)a, *y = *(const bench_logent *const *)b;
    int c = strcmp(x->resource, y->resource);
    if (c == 0) c = strcmp(x->name, y->name);
    if (c == 0) c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

/* First index in idx[0..n) whose (resource, name) is >= the key. */
static size_t
lower_bound(const bench_logent *const *idx, size_t n, const char *resource, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(idx[mid]->resource, resource);
        if (c == 0) c = strcmp(idx[mid]->name, name);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int
same_key(const bench_logent *e, const char *resource, const char *name)
{
    return strcmp(e->resource, resource) == 0 && strcmp(e->name, name) == 0;
}

static void
attribute_one(const bench_logent *const *idx, size_t m, const char *controller, const char *bench,
              bench_claim_attr *c, size_t k, bench_attr_cb cb, void *ud)
{
    c->create_seq = 0;
    c->critical = -1;
    c->after = 0;
    if (c->claim == NULL) return;
    size_t i0 = lower_bound(idx, m, "sandboxclaims", c->claim);
    /* the bench's create (the first successful POST of that name) */
    for (size_t i = i0; i < m && same_key(idx[i], "sandboxclaims", c->claim); i++) {
        const bench_logent *e = idx[i];
        if (e->verb == BENCH_VERB_POST && e->code == 201 && strcmp(e->client, bench) == 0) {
            c->create_seq = e->seq;
            break;
        }
    }
    if (c->create_seq == 0 || c->ready_wall_ms <= 0 || c->sandbox == NULL) return;
    /* the boundary: the last status write at or before Ready was seen */
    uint64_t boundary = 0, last_before = 0;
    for (size_t i = i0; i < m && same_key(idx[i], "sandboxclaims", c->claim); i++) {
        const bench_logent *e = idx[i];
        if (e->seq <= c->create_seq || strcmp(e->client, controller) ||
            !bench_verb_is_write(e->verb))
            continue;
        if (e->time_ms > c->ready_wall_ms) continue;
        if (strcmp(e->subresource, "status") == 0) boundary = e->seq;
        last_before = e->seq;
    }
    size_t j0 = lower_bound(idx, m, "sandboxes", c->sandbox);
    if (boundary == 0) {
        for (size_t j = j0; j < m && same_key(idx[j], "sandboxes", c->sandbox); j++) {
            const bench_logent *e = idx[j];
            if (e->seq > c->create_seq && e->time_ms <= c->ready_wall_ms &&
                strcmp(e->client, controller) == 0 && bench_verb_is_write(e->verb) &&
                e->seq > last_before)
                last_before = e->seq;
        }
        boundary = last_before;
    }
    int crit = 0, after = 0;
    const char *res[2] = {"sandboxclaims", "sandboxes"};
    const char *names[2] = {c->claim, c->sandbox};
    size_t starts[2] = {i0, j0};
    for (int r = 0; r < 2; r++) {
        for (size_t i = starts[r]; i < m && same_key(idx[i], res[r], names[r]); i++) {
            const bench_logent *e = idx[i];
            if (e->seq <= c->create_seq || strcmp(e->client, controller) ||
                !bench_verb_is_write(e->verb))
                continue;
            if (e->seq <= boundary) {
                crit++;
                if (cb) cb(k, e, ud);
            } else {
                after++;
            }
        }
    }
    c->critical = crit;
    c->after = after;
}

int
bench_reqlog_attribute(const bench_reqlog *l, const char *controller, const char *bench,
                       bench_claim_attr *c, size_t n)
{
    return bench_reqlog_attribute_ex(l, controller, bench, c, n, NULL, NULL);
}

int
bench_reqlog_attribute_ex(const bench_reqlog *l, const char *controller, const char *bench,
                          bench_claim_attr *c, size_t n, bench_attr_cb cb, void *ud)
{
    const bench_logent **idx = malloc((l->n ? l->n : 1) * sizeof *idx);
    if (idx == NULL) return ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < l->n; i++) {
        const bench_logent *e = &l->e[i];
        if (strcmp(e->resource, "sandboxclaims") && strcmp(e->resource, "sandboxes")) continue;
        if (strcmp(e->client, controller) == 0 ? bench_verb_is_write(e->verb)
                                               : strcmp(e->client, bench) == 0)
            idx[m++] = e;
    }
    qsort(idx, m, sizeof *idx, cmp_ent);
    for (size_t k = 0; k < n; k++)
        attribute_one(idx, m, controller, bench, &c[k], k, cb, ud);
    free(idx);
    return 0;
}
