/* kube_transport.c - the informer over the real API client (kube/kube.h). */
#include "informer/internal.h"
#include "kube/internal.h" /* kube__watch_set_raw: events encoded from their text */

static int
t_list(void *ctx, const kube_resource *r, const kube_list_opts *o, kube_done_cb cb, void *udata)
{
    return kube_list(ctx, r, NULL, o, cb, udata);
}

static void *
t_watch_start(void *ctx, const kube_resource *r, const kube_list_opts *o, kube_event_cb on_event,
              kube_watch_end_cb on_end, void *udata)
{
    kube_watch *w = kube_watch_start(ctx, r, NULL, o, on_event, on_end, udata);
    /* udata is the reflector: its events go to the store encoder first */
    if (w) kube__watch_set_raw(w, informer__refl_raw_event, udata);
    return w;
}

static void
t_watch_stop(void *ctx, void *w)
{
    (void)ctx;
    kube_watch_stop(w);
}

static int
t_get(void *ctx, const kube_resource *r, const char *ns, const char *name, kube_done_cb cb,
      void *udata)
{
    return kube_get(ctx, r, ns, name, NULL, cb, udata);
}

static const char *
t_server(void *ctx)
{
    return kube_client_server(ctx);
}

informer *
informer_new(struct ev_loop *loop, kube_client *kc, store *st, const informer_opts *o)
{
    informer_transport t = {t_list, t_watch_start, t_watch_stop, t_get, t_server, kc};
    return informer_new_transport(loop, &t, st, o);
}
