#include "reconciler/write.h"

#include "core/err.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
rec_result_init(rec_result *r)
{
    memset(r, 0, sizeof *r);
    r->requeue_after_ms = -1;
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void
rec_result_fini(rec_result *r)
{
    for (size_t i = 0; i < r->n_writes; i++) {
        rec_write *w = &r->writes[i];
        free(w->ns);
        free(w->name);
        free(w->subresource);
        free(w->precondition_uid);
        free(w->precondition_rv);
        json_object_put(w->body);
    }
    for (size_t i = 0; i < r->n_events; i++) {
        free(r->events[i].ns);
        free(r->events[i].name);
        free(r->events[i].uid);
        free(r->events[i].note);
    }
    free(r->writes);
    free(r->events);
    rec_result_init(r);
}

rec_write *
rec_result_add_write(rec_result *r, enum rec_op op, const kube_resource *res, const char *ns,
                     const char *name, const char *subresource, json_object *body, const char *tag)
{
    if (r->n_writes == r->cap_writes) {
        size_t cap = r->cap_writes ? r->cap_writes * 2 : 4;
        rec_write *n = realloc(r->writes, cap * sizeof *n);
        if (n == NULL) {
            json_object_put(body);
            return NULL;
        }
        r->writes = n;
        r->cap_writes = cap;
    }
    rec_write *w = &r->writes[r->n_writes++];
    memset(w, 0, sizeof *w);
    w->op = op;
    w->res = res;
    w->ns = dup_or_null(ns);
    w->name = dup_or_null(name);
    w->subresource = dup_or_null(subresource);
    w->body = body;
    w->tag = tag;
    return w;
}

rec_event *
rec_result_add_event(rec_result *r, const kube_resource *res, const char *ns, const char *name,
                     const char *uid, const char *type, const char *reason, const char *action,
                     const char *note)
{
    if (r->n_events == r->cap_events) {
        size_t cap = r->cap_events ? r->cap_events * 2 : 2;
        rec_event *n = realloc(r->events, cap * sizeof *n);
        if (n == NULL) return NULL;
        r->events = n;
        r->cap_events = cap;
    }
    rec_event *e = &r->events[r->n_events++];
    e->regarding_res = res;
    e->ns = dup_or_null(ns);
    e->name = dup_or_null(name);
    e->uid = dup_or_null(uid);
    e->type = type;
    e->reason = reason;
    e->action = action;
    e->note = dup_or_null(note);
    return e;
}

json_object *
rec_event_to_json(const rec_event *e, int64_t now_us)
{
    char t[48], gen[300];
    json_object *ev = json_object_new_object();
    json_object *meta = json_object_new_object();
    json_object *reg = json_object_new_object();
    json_object_object_add(ev, "apiVersion", json_object_new_string("events.k8s.io/v1"));
    json_object_object_add(ev, "kind", json_object_new_string("Event"));
    snprintf(gen, sizeof gen, "%s.", e->name ? e->name : "object");
    json_object_object_add(meta, "generateName", json_object_new_string(gen));
    if (e->ns) json_object_object_add(meta, "namespace", json_object_new_string(e->ns));
    json_object_object_add(ev, "metadata", meta);
    json_object_object_add(ev, "eventTime",
                           json_object_new_string(time_fmt_micro(now_us, t, sizeof t)));
    json_object_object_add(ev, "reportingController",
                           json_object_new_string("agent-sandbox-controller"));
    json_object_object_add(ev, "reportingInstance",
                           json_object_new_string("agent-sandbox-controller"));
    json_object_object_add(ev, "type", json_object_new_string(e->type ? e->type : "Normal"));
    json_object_object_add(ev, "reason", json_object_new_string(e->reason ? e->reason : ""));
    json_object_object_add(ev, "action", json_object_new_string(e->action ? e->action : ""));
    json_object_object_add(ev, "note", json_object_new_string(e->note ? e->note : ""));
    if (e->regarding_res) {
        char av[128];
        if (e->regarding_res->group && *e->regarding_res->group)
            snprintf(av, sizeof av, "%s/%s", e->regarding_res->group, e->regarding_res->version);
        else
            snprintf(av, sizeof av, "%s", e->regarding_res->version);
        json_object_object_add(reg, "apiVersion", json_object_new_string(av));
        json_object_object_add(reg, "kind", json_object_new_string(e->regarding_res->kind));
    }
    if (e->ns) json_object_object_add(reg, "namespace", json_object_new_string(e->ns));
    if (e->name) json_object_object_add(reg, "name", json_object_new_string(e->name));
    if (e->uid) json_object_object_add(reg, "uid", json_object_new_string(e->uid));
    json_object_object_add(ev, "regarding", reg);
    return ev;
}
