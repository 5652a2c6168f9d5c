/* ext_routes.h - change feed -> keys of the extension controllers (the
 * keys and routes are listed in ext.h).
 *
 * Rules (one committed store change at a time):
 *   SandboxClaim  add/update/delete: "claim/<ns>/<c>" on its pool's route.
 *                 The claim -> pool map kept here routes a DELETED claim
 *                 (no longer in the store) to the shard that holds its state.
 *   SandboxWarmPool: "pool/<ns>/<p>"; when it appears, disappears or its
 *                 metadata.generation changes, also every unbound
 *                 (status.sandbox.name empty), non-deleting claim of it.
 *   SandboxTemplate: "template/<ns>/<t>"; when it appears, disappears or its
 *                 generation changes, every pool of the namespace whose
 *                 spec.sandboxTemplateRef.name is <t>; when it appears, also
 *                 the non-deleting claims of those pools.
 *   Sandbox controlled by a SandboxWarmPool (now, or before this update):
 *                 "poolmember/<ns>/<p>:<s>" on "<ns>/<p>" (its process
 *                 function feeds pools/ and queues the pool's pass).
 *   Sandbox controlled by a SandboxClaim (now, or before): that claim; a
 *                 Sandbox named like a known claim: that claim too (cold
 *                 create, name clash with a foreign Sandbox).
 *   NetworkPolicy: controlled by a template, or named "<t>-network-policy":
 *                 the template; controlled by a claim (legacy NP): the claim.
 *
 * Thread: the I/O thread only (the feed and the synced callback); the
 * router's maps are not locked. The caller holds one store read txn. */
#ifndef ASC_CONTROLLER_EXT_ROUTES_H
#define ASC_CONTROLLER_EXT_ROUTES_H

#include <stddef.h>

#include "store/store.h"

typedef struct ctl_ext_router ctl_ext_router;
typedef int (*ctl_ext_router_emit_fn)(void *udata, const char *route, const char *key);

ctl_ext_router *ctl_ext_router_new(void); /* NULL: out of memory */
void ctl_ext_router_free(ctl_ext_router *r);

/* Route one change. Returns the number of keys emitted. */
size_t ctl_ext_route_change(ctl_ext_router *rt, store_rtxn *r, const store_change *c,
                            ctl_ext_router_emit_fn emit, void *ud);
/* Once the caches synced: learn every claim, pool and template and queue
 * them all (a pool's first pass feeds pools/ with its members). */
size_t ctl_ext_route_all(ctl_ext_router *rt, store_rtxn *r, ctl_ext_router_emit_fn emit, void *ud);

/* "<ns>/<pool>" into buf (the route of a pool and its claims); NULL when it
 * does not fit or a part is empty. */
char *ctl_ext_pool_route(char *buf, size_t len, const char *ns, const char *pool);

#endif
