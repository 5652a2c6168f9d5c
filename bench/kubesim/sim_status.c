/* sim_status.c - metav1.Status builders (see sim_status.h). */
#include "bench/kubesim/sim_status.h"

#include "core/jx.h"

#include <stdio.h>
#include <string.h>

json_object *
sim_status(int code, const char *reason, const char *message, json_object *details)
{
    json_object *s = json_object_new_object();
    if (!s) {
        json_object_put(details);
        return NULL;
    }
    json_object_object_add(s, "kind", json_object_new_string("Status"));
    json_object_object_add(s, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(s, "metadata", json_object_new_object());
    json_object_object_add(
        s, "status", json_object_new_string(code >= 200 && code < 300 ? "Success" : "Failure"));
    if (message) json_object_object_add(s, "message", json_object_new_string(message));
    if (reason) json_object_object_add(s, "reason", json_object_new_string(reason));
    if (details) json_object_object_add(s, "details", details);
    json_object_object_add(s, "code", json_object_new_int(code));
    return s;
}

json_object *
sim_status_details(const char *name, const char *group, const char *kind)
{
    json_object *d = json_object_new_object();
    if (!d) return NULL;
    if (name && name[0]) json_object_object_add(d, "name", json_object_new_string(name));
    if (group && group[0]) json_object_object_add(d, "group", json_object_new_string(group));
    if (kind && kind[0]) json_object_object_add(d, "kind", json_object_new_string(kind));
    return d;
}

json_object *
sim_status_not_found(const sim_res *r, const char *name)
{
    char q[512], msg[1024];
    snprintf(msg, sizeof msg, "%s \"%s\" not found", sim_res_qualified(r, q, sizeof q), name);
    return sim_status(404, "NotFound", msg, sim_status_details(name, r->group, r->plural));
}

json_object *
sim_status_already_exists(const sim_res *r, const char *name)
{
    char q[512], msg[1024];
    snprintf(msg, sizeof msg, "%s \"%s\" already exists", sim_res_qualified(r, q, sizeof q), name);
    return sim_status(409, "AlreadyExists", msg, sim_status_details(name, r->group, r->plural));
}

json_object *
sim_status_conflict_msg(const char *what, const char *group, const char *kind, const char *name,
                        const char *m)
{
    char msg[2048];
    snprintf(msg, sizeof msg, "Operation cannot be fulfilled on %s \"%s\": %s", what, name, m);
    return sim_status(409, "Conflict", msg, sim_status_details(name, group, kind));
}

json_object *
sim_status_conflict(const sim_res *r, const char *name)
{
    char q[512];
    return sim_status_conflict_msg(sim_res_qualified(r, q, sizeof q), r->group, r->plural, name,
                                   "the object has been modified; please apply your changes to "
                                   "the latest version and try again");
}

json_object *
sim_status_bad_request(const char *message)
{
    return sim_status(400, "BadRequest", message, NULL);
}

json_object *
sim_status_unsupported_media(const char *accepted)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "the body of the request was in an unknown format - accepted media types include: %s",
             accepted);
    return sim_status(415, "UnsupportedMediaType", msg, NULL);
}

json_object *
sim_status_json_patch_invalid(void)
{
    return sim_status(422, "Invalid",
                      "the server rejected our request due to an error in our request",
                      json_object_new_object());
}

json_object *
sim_status_forbidden_terminating(const sim_res *r, const char *name, const char *ns)
{
    char q[512], msg[1024], cm[512];
    snprintf(msg, sizeof msg,
             "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is "
             "being terminated",
             sim_res_qualified(r, q, sizeof q), name, ns);
    snprintf(cm, sizeof cm, "namespace %s is being terminated", ns);
    json_object *d = sim_status_details(name, r->group, r->plural);
    json_object *causes = json_object_new_array();
    json_object *c = json_object_new_object();
    json_object_object_add(c, "reason", json_object_new_string("NamespaceTerminating"));
    json_object_object_add(c, "message", json_object_new_string(cm));
    json_object_object_add(c, "field", json_object_new_string("metadata.namespace"));
    json_object_array_add(causes, c);
    json_object_object_add(d, "causes", causes);
    return sim_status(403, "Forbidden", msg, d);
}

json_object *
sim_status_invalid1(const char *msg_subject, const char *name, const char *group, const char *kind,
                    const char *reason, const char *field, const char *message)
{
    char msg[2048];
    snprintf(msg, sizeof msg, "%s \"%s\" is invalid: %s: %s", msg_subject, name, field, message);
    json_object *d = sim_status_details(name, group, kind);
    json_object *causes = json_object_new_array();
    json_object *c = json_object_new_object();
    json_object_object_add(c, "reason", json_object_new_string(reason));
    json_object_object_add(c, "message", json_object_new_string(message));
    json_object_object_add(c, "field", json_object_new_string(field));
    json_object_array_add(causes, c);
    json_object_object_add(d, "causes", causes);
    return sim_status(422, "Invalid", msg, d);
}

json_object *
sim_status_invalid(const sim_causes *c, const char *kind, const char *group, const char *name)
{
    json_object *st = sim_causes_status(c, kind, group, name ? name : "");
    json_object *d = st ? jx_obj(st, "details") : NULL;
    const char *n = d ? jx_str(d, "name") : NULL;
    /* the real server omits an empty name (omitempty) */
    if (d && n && !n[0]) json_object_object_del(d, "name");
    return st;
}
