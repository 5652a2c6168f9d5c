/* routes.c - change feed -> reconcile keys (see routes.h). */
#include "controller/routes.h"

#include <stdio.h>
#include <string.h>

char *
ctl_route_key(char *buf, size_t len, const char *kind, const char *ns, const char *name)
{
    if (!kind || !ns || !name || !*kind || !*ns || !*name) return NULL;
    int n = snprintf(buf, len, "%s/%s/%s", kind, ns, name);
    return n > 0 && (size_t)n < len ? buf : NULL;
}

static int
is_sandbox(const char *kind)
{
    return kind && strcmp(kind, "Sandbox") == 0;
}

static size_t
emit_sandbox(const char *ns, const char *name, ctl_route_emit_fn emit, void *ud)
{
    char key[CTL_KEY_MAX];
    if (!ctl_route_key(key, sizeof key, "sandbox", ns, name)) return 0;
    emit(ud, NULL, key);
    return 1;
}

size_t
ctl_route_change(const store_change *c, ctl_route_exists_fn exists, void *exists_udata,
                 ctl_route_emit_fn emit, void *emit_udata)
{
    size_t n = 0;
    if (c == NULL || emit == NULL) return 0;
    switch (c->kind) {
    case STORE_SANDBOX:
        return emit_sandbox(c->ns, c->name, emit, emit_udata);
    case STORE_POD:
    case STORE_SERVICE:
    case STORE_PVC:
        break;
    default:
        return 0;
    }
    int owned = is_sandbox(c->owner_kind);
    if (owned) n += emit_sandbox(c->ns, c->owner_name, emit, emit_udata);
    if (is_sandbox(c->old_owner_kind) &&
        !(owned && c->old_owner_name && c->owner_name && !strcmp(c->old_owner_name, c->owner_name)))
        n += emit_sandbox(c->ns, c->old_owner_name, emit, emit_udata);
    /* Another controller's object named like a Sandbox still matters to it
     * (the "owned by ..." condition), hence no check of owner_kind here
     * beyond "not already routed to a Sandbox of that name". */
    if (c->kind != STORE_PVC && exists &&
        !(owned && c->owner_name && c->name && !strcmp(c->owner_name, c->name)) &&
        exists(exists_udata, c->ns, c->name))
        n += emit_sandbox(c->ns, c->name, emit, emit_udata);
    return n;
}
