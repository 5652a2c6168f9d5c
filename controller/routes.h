/* routes.h - from the store's change feed to reconcile keys.
 *
 * A key is "<kind>/<namespace>/<name>" (kind: "sandbox", later "claim",
 * "pool", "template"); its route (the string hashed to pick a shard) is the
 * key itself unless said otherwise. Rules for the Sandbox controller:
 *   - a Sandbox change (add, update, delete) queues "sandbox/ns/name";
 *   - a Pod, Service or PVC change queues the Sandbox named by its
 *     controller ownerReference (owner_kind "Sandbox"), and the previous
 *     controller when an update changed it (so a released child is seen);
 *   - a Pod or Service not controlled by a Sandbox of its own name queues
 *     "sandbox/ns/<its name>" when the store holds a Sandbox of that name:
 *     the Pod and the Service are named like their Sandbox, so this is how
 *     an unowned, adoptable or tracking-labelled object (whose
 *     agents.x-k8s.io/sandbox-name-hash label cannot be reversed to a name)
 *     reaches the Sandbox that may adopt it. A PVC is named
 *     "<vct>-<sandbox>" and has no such shortcut (upstream does not watch
 *     PVCs either); its Sandbox sees it on its next pass.
 * Other kinds produce nothing here: the extension controllers add their own
 * rules (claims route to "pool/ns/<pool>" so a pool and its claims share a
 * shard, see manager.h).
 *
 * Pure except for the callbacks; any thread. Keys longer than CTL_KEY_MAX
 * are dropped (names are at most 253 bytes, so that never happens for
 * objects the API server accepted). */
#ifndef ASC_CONTROLLER_ROUTES_H
#define ASC_CONTROLLER_ROUTES_H

#include <stddef.h>

#include "store/store.h"

#define CTL_KEY_MAX 600

/* emit: one key to queue (route NULL: the key itself). Return 0 to go on. */
typedef int (*ctl_route_emit_fn)(void *udata, const char *route, const char *key);
/* exists: 1 when the store holds a Sandbox ns/name, else 0 (errors: 0). */
typedef int (*ctl_route_exists_fn)(void *udata, const char *ns, const char *name);

/* "<kind>/<ns>/<name>" into buf. Returns buf, or NULL when it does not fit
 * or a part is missing. */
char *ctl_route_key(char *buf, size_t len, const char *kind, const char *ns, const char *name);

/* The keys one change affects, each passed to emit. exists may be NULL (then
 * unowned Pods/Services produce nothing). Returns the number of keys emitted. */
size_t ctl_route_change(const store_change *c, ctl_route_exists_fn exists, void *exists_udata,
                        ctl_route_emit_fn emit, void *emit_udata);

#endif
