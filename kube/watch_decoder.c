/* watch_decoder.c - incremental decoding of a watch stream.
 *
 * The API server writes one JSON object per line: {"type": T, "object": O}.
 * Bytes arrive split anywhere (curl hands over whatever the socket gave).
 * Rather than collecting lines, the bytes go straight into a json-c tokener,
 * which keeps its own partial state between calls; when it completes an
 * object, the bytes after it start the next event. So memory is bounded by
 * the one event being built, never by the stream, and an event is delivered
 * as soon as its closing brace arrives.
 *
 * Between events only whitespace (newlines) is allowed; an event must start
 * with '{' (this also keeps the tokener from waiting forever on a bare
 * number). Bytes counted from an event's '{' are bounded by max_event_bytes.
 * Errors name the event's ordinal and the byte offset in the stream. */
#include "kube/internal.h"

#include "core/err.h"
#include "core/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kubernetes objects nest deeply (CRD schemas, managedFields): far beyond
 * json-c's default of 32. */
#define DEC_DEPTH KUBE__JSON_DEPTH
/* json_tokener_parse_ex takes an int length. */
#define DEC_SLICE (1 << 20)

struct kube_watch_decoder {
    json_tokener *tok;
    size_t max;
    size_t cur;             /* bytes of the event in progress, 0 between events */
    unsigned long long off; /* bytes consumed from the stream */
    unsigned long events;
    int broken;
};

kube_watch_decoder *
kube_watch_decoder_new(size_t max_event_bytes)
{
    kube_watch_decoder *d = calloc(1, sizeof(*d));
    if (d == NULL) return NULL;
    d->tok = json_tokener_new_ex(DEC_DEPTH);
    if (d->tok == NULL) {
        free(d);
        return NULL;
    }
    d->max = max_event_bytes ? max_event_bytes : (size_t)64 << 20;
    return d;
}

void
kube_watch_decoder_free(kube_watch_decoder *d)
{
    if (d == NULL) return;
    json_tokener_free(d->tok);
    free(d);
}

static int
dec_fail(kube_watch_decoder *d, int rc, char *err, size_t errlen, const char *fmt,
         const char *detail)
{
    d->broken = 1;
    if (err && errlen) {
        char what[256];
        snprintf(what, sizeof(what), fmt, detail);
        snprintf(err, errlen, "watch stream: event #%lu at byte %llu: %s", d->events + 1, d->off,
                 what);
    }
    return rc;
}

static int
too_large(kube_watch_decoder *d, char *err, size_t errlen)
{
    char lim[32];
    snprintf(lim, sizeof(lim), "%zu", d->max);
    return dec_fail(d, ERR_TOOLARGE, err, errlen, "event larger than the limit of %s bytes", lim);
}

static int
event_type(const char *s)
{
    static const struct {
        const char *name;
        enum kube_event_type t;
    } types[] = {{"ADDED", KUBE_ADDED},
                 {"MODIFIED", KUBE_MODIFIED},
                 {"DELETED", KUBE_DELETED},
                 {"BOOKMARK", KUBE_BOOKMARK},
                 {"ERROR", KUBE_ERROR}};
    for (size_t i = 0; s && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(s, types[i].name) == 0) return (int)types[i].t;
    return 0;
}

/* A complete JSON object arrived: check its shape and hand it over. */
static int
deliver(kube_watch_decoder *d, json_object *ev, kube_event_cb cb, void *udata, char *err,
        size_t errlen)
{
    const char *ts = jx_str(ev, "type");
    int t = event_type(ts);
    json_object *obj = jx_obj(ev, "object");
    int rc = 0;
    if (ts == NULL)
        rc = dec_fail(d, ERR_PARSE, err, errlen, "%s", "event has no \"type\" string");
    else if (t == 0)
        rc = dec_fail(d, ERR_PARSE, err, errlen, "unknown event type \"%.64s\"", ts);
    else if (obj == NULL)
        rc = dec_fail(d, ERR_PARSE, err, errlen, "%s", "event has no \"object\" object");
    if (rc == 0) {
        d->events++;
        if (cb) cb((enum kube_event_type)t, obj, udata);
    }
    json_object_put(ev);
    return rc;
}

int
kube_watch_decoder_feed(kube_watch_decoder *d, const char *buf, size_t len, kube_event_cb cb,
                        void *udata, char *err, size_t errlen)
{
    if (d->broken) return dec_fail(d, ERR_PARSE, err, errlen, "%s", "decoder already failed");
    size_t i = 0;
    while (i < len) {
        if (d->cur == 0) {
            /* between events: skip whitespace, then expect '{' */
            char ch = buf[i];
            if (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t') {
                i++;
                d->off++;
                continue;
            }
            if (ch != '{')
                return dec_fail(d, ERR_PARSE, err, errlen, "expected a JSON object, found '%s'",
                                (char[]){(ch >= 0x20 && ch < 0x7f) ? ch : '?', '\0'});
        }
        size_t n = len - i;
        if (n > DEC_SLICE) n = DEC_SLICE;
        json_object *ev = json_tokener_parse_ex(d->tok, buf + i, (int)n);
        enum json_tokener_error jerr = json_tokener_get_error(d->tok);
        if (ev != NULL) {
            size_t used = (size_t)json_tokener_get_parse_end(d->tok);
            if (d->cur + used > d->max) {
                json_object_put(ev);
                return too_large(d, err, errlen);
            }
            i += used;
            d->off += used;
            d->cur = 0;
            json_tokener_reset(d->tok);
            if (!json_object_is_type(ev, json_type_object)) {
                json_object_put(ev);
                return dec_fail(d, ERR_PARSE, err, errlen, "%s", "event is not a JSON object");
            }
            int rc = deliver(d, ev, cb, udata, err, errlen);
            if (rc != 0) return rc;
            continue;
        }
        if (jerr != json_tokener_continue) {
            return dec_fail(d, ERR_PARSE, err, errlen, "malformed JSON: %s",
                            json_tokener_error_desc(jerr));
        }
        /* the whole slice was consumed into a partial event */
        d->cur += n;
        d->off += n;
        i += n;
        if (d->cur > d->max) return too_large(d, err, errlen);
    }
    return 0;
}

int
kube_watch_decoder_finish(kube_watch_decoder *d, char *err, size_t errlen)
{
    if (d->broken) return dec_fail(d, ERR_PARSE, err, errlen, "%s", "decoder already failed");
    if (d->cur != 0)
        return dec_fail(d, ERR_PARSE, err, errlen, "%s",
                        "stream ended in the middle of an event (truncated)");
    return 0;
}
