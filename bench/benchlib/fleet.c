/* fleet.c - per-object timelines (see fleet.h). */
#include "bench/benchlib/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchlib/objects.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/timeutil.h"

int
bench_fleet_init(bench_fleet *f, enum bench_fleet_kind kind, const char *prefix, size_t n)
{
    memset(f, 0, sizeof *f);
    if (strlen(prefix) >= sizeof f->prefix) return ERR_INVALID;
    f->kind = kind;
    snprintf(f->prefix, sizeof f->prefix, "%s", prefix);
    f->n = n;
    f->it = calloc(n ? n : 1, sizeof *f->it);
    if (f->it == NULL) return ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        f->it[i].f = f;
    return 0;
}

void
bench_fleet_fini(bench_fleet *f)
{
    free(f->it);
    memset(f, 0, sizeof *f);
}

void
bench_fleet_name(const bench_fleet *f, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%07zu", f->prefix, i);
}

long
bench_fleet_index(const bench_fleet *f, const char *name)
{
    size_t pl = strlen(f->prefix);
    if (name == NULL || strncmp(name, f->prefix, pl) != 0 || name[pl] != '-') return -1;
    const char *d = name + pl + 1;
    size_t nd = strspn(d, "0123456789");
    if (nd < 7 || d[nd] != '\0' || nd > 18) return -1;
    unsigned long long v = strtoull(d, NULL, 10);
    if (v >= f->n) return -1;
    char canon[128];
    bench_fleet_name(f, (size_t)v, canon, sizeof canon);
    return strcmp(canon, name) == 0 ? (long)v : -1;
}

void
bench_fleet_sent(bench_fleet *f, size_t i)
{
    int64_t now = time_mono_ns();
    f->it[i].send_ns = now;
    if (f->sent++ == 0) f->first_send_ns = now;
    f->last_send_ns = now;
}

void *
bench_fleet_item_udata(bench_fleet *f, size_t i)
{
    return &f->it[i];
}

void
bench_fleet_answered(bench_fleet *f, size_t i, const kube_result *res)
{
    bench_item *it = &f->it[i];
    if (it->create_status != 0) return;
    it->answer_ns = time_mono_ns();
    it->create_status = res->http_status > 0 ? (int)res->http_status : -1;
    f->answered++;
    if (res->err == 0) {
        f->created++;
    } else {
        f->failed++;
        if (f->first_err[0] == '\0') {
            char name[128];
            bench_fleet_name(f, i, name, sizeof name);
            snprintf(f->first_err, sizeof f->first_err, "create %s: HTTP %ld: %s", name,
                     res->http_status, res->message ? res->message : "");
        }
    }
}

void
bench_fleet_on_created(const kube_result *res, void *udata)
{
    bench_item *it = udata;
    bench_fleet_answered(it->f, (size_t)(it - it->f->it), res);
}

int
bench_fleet_observe(bench_fleet *f, json_object *obj)
{
    long i = bench_fleet_index(f, jx_str(obj, "metadata.name"));
    if (i < 0) return 0;
    bench_item *it = &f->it[i];
    if (it->ready_ns) return 0;
    int ready;
    if (f->kind == BENCH_FLEET_CLAIMS) {
        const char *sb = bench_claim_ready(obj);
        ready = sb != NULL;
        if (sb) snprintf(it->sandbox, sizeof it->sandbox, "%s", sb);
    } else {
        ready = bench_ready_condition(obj);
    }
    if (!ready) {
        const char *r = bench_ready_reason(obj);
        snprintf(it->reason, sizeof it->reason, "%s", r ? r : "");
        return 0;
    }
    it->ready_ns = time_mono_ns();
    it->ready_wall_ms = time_now_ms();
    f->ready++;
    if (it->ready_ns > f->last_ready_ns) f->last_ready_ns = it->ready_ns;
    return 1;
}

int
bench_fleet_settled(const bench_fleet *f)
{
    return f->answered == f->n && f->ready + f->failed >= f->n;
}

void
bench_fleet_pending_reasons(const bench_fleet *f, char *buf, size_t len)
{
    /* a handful of distinct reasons is the normal case: count them linearly */
    enum { MAXR = 8 };
    const char *names[MAXR];
    size_t counts[MAXR], nr = 0, other = 0;
    for (size_t i = 0; i < f->n; i++) {
        const bench_item *it = &f->it[i];
        if (it->ready_ns || it->create_status != 201) continue;
        const char *r = it->reason[0] ? it->reason : "(no Ready condition)";
        size_t k = 0;
        while (k < nr && strcmp(names[k], r))
            k++;
        if (k == nr) {
            if (nr == MAXR) {
                other++;
                continue;
            }
            names[nr] = r;
            counts[nr++] = 0;
        }
        counts[k]++;
    }
    size_t off = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < nr && off < len; k++)
        off +=
            (size_t)snprintf(buf + off, len - off, "%s%s x%zu", k ? ", " : "", names[k], counts[k]);
    if (other && off < len) snprintf(buf + off, len - off, ", other x%zu", other);
    if (nr == 0 && !other) snprintf(buf, len, "none");
}
