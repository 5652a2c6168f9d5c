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
 * Errors name the event's ordinal and the byte offset in the stream.
 *
 * With a raw hook (kube__watch_decoder_set_raw) events are first delimited
 * by a scanner (braces and brackets counted outside strings) without json-c,
 * and a well-formed envelope's object text goes to the hook: the informer
 * encodes it for the store straight from the text. Whatever the hook
 * declines is replayed through the tokener from the event's first byte,
 * exactly as without a hook (the tokener then finds the event's end itself,
 * and reports malformed text the same way). Partial events are copied only
 * when they straddle two feeds. */
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
    /* raw mode (a hook is set) */
    kube__raw_event_cb raw;
    void *raw_udata;
    int tokmode; /* the tokener owns the event in progress (declined, or no hook) */
    int raw_off; /* an ERROR event was seen: no more raw offers */
    int inev;    /* the scanner is inside an event */
    int depth, instr, esc;
    int multiline; /* the scanner met a newline inside the event */
    char *pend;    /* the scanned event's bytes from earlier feeds */
    size_t pend_n, pend_cap;
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
    free(d->pend);
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

/* A byte between two events: 1 for white space (skipped), 0 for the '{'
 * that starts the next one, else the decoder fails (< 0). */
static int
between_events(kube_watch_decoder *d, char ch, char *err, size_t errlen)
{
    if (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t') {
        d->off++;
        return 1;
    }
    if (ch != '{')
        return dec_fail(d, ERR_PARSE, err, errlen, "expected a JSON object, found '%s'",
                        (char[]){(ch >= 0x20 && ch < 0x7f) ? ch : '?', '\0'});
    return 0;
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
        if (t == KUBE_ERROR) d->raw_off = 1;
        if (cb) cb((enum kube_event_type)t, obj, udata);
    }
    json_object_put(ev);
    return rc;
}

/* The tokener path (no hook, or an event the hook declined): bytes go to
 * json-c until one event is delivered; *used says how many were taken. In
 * raw mode it then hands back to the scanner (tokmode cleared). */
static int
tok_feed(kube_watch_decoder *d, const char *buf, size_t len, size_t *used_out, kube_event_cb cb,
         void *udata, char *err, size_t errlen)
{
    size_t i = 0;
    *used_out = 0;
    while (i < len) {
        if (d->cur == 0) {
            int b = between_events(d, buf[i], err, errlen);
            if (b < 0) return b;
            if (b) {
                i++;
                continue;
            }
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
            if (d->raw) {
                d->tokmode = 0;
                *used_out = i;
                return 0;
            }
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
    *used_out = i;
    return 0;
}

void
kube__watch_decoder_set_raw(kube_watch_decoder *d, kube__raw_event_cb cb, void *udata)
{
    /* Between events only: the scanner starts at an event's first byte. */
    if (d->cur == 0 && !d->inev) {
        d->raw = cb;
        d->raw_udata = udata;
    }
}

void
kube__watch_set_raw(kube_watch *w, kube__raw_event_cb cb, void *udata)
{
    if (w && w->dec) kube__watch_decoder_set_raw(w->dec, cb, udata);
}

static const char *
skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* A quoted string without escapes at p: its body, p moved past it. */
static const char *
plain_str(const char **p, const char *e, size_t *n)
{
    const char *s = *p + 1, *q = s;
    if (*p >= e || **p != '"') return NULL;
    while (q < e && *q != '"' && *q != '\\')
        q++;
    if (q >= e || *q != '"') return NULL;
    *n = (size_t)(q - s);
    *p = q + 1;
    return s;
}

/* End of the container at p (its matching close), or NULL. Only a guess for
 * malformed text: the hook validates what it takes. */
static const char *
container_end(const char *p, const char *e)
{
    int depth = 0;
    for (; p < e; p++) {
        char c = *p;
        if (c == '"') {
            for (p++; p < e && *p != '"'; p++)
                if (*p == '\\') p++;
            if (p >= e) return NULL;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return p + 1;
        }
    }
    return NULL;
}

/* Offer one complete event text to the hook: 0 when it took it. */
static int
offer_raw(kube_watch_decoder *d, const char *t, size_t n)
{
    static const struct {
        const char *name;
        size_t len;
        enum kube_event_type t;
    } types[] = {
        {"ADDED", 5, KUBE_ADDED}, {"MODIFIED", 8, KUBE_MODIFIED}, {"DELETED", 7, KUBE_DELETED}};
    const char *p = t + 1, *e = t + n, *obj = NULL, *oend = NULL, *ts = NULL;
    size_t tl = 0;
    for (int k = 0; k < 2; k++) {
        size_t kl;
        const char *key;
        p = skip_ws(p, e);
        if (!(key = plain_str(&p, e, &kl))) return -1;
        p = skip_ws(p, e);
        if (p >= e || *p++ != ':') return -1;
        p = skip_ws(p, e);
        if (kl == 4 && !memcmp(key, "type", 4) && !ts) {
            if (!(ts = plain_str(&p, e, &tl))) return -1;
        } else if (kl == 6 && !memcmp(key, "object", 6) && !obj) {
            if (p >= e || *p != '{') return -1;
            obj = p;
            if (ts) {
                /* the last member: the object ends where the event's closing
                 * brace (the scanner found it) and white space before it begin */
                const char *q = e - 1;
                while (q > p && (q[-1] == ' ' || q[-1] == '\n' || q[-1] == '\r' || q[-1] == '\t'))
                    q--;
                oend = q;
            } else if (!(oend = container_end(p, e))) {
                return -1;
            }
            p = oend;
        } else {
            return -1;
        }
        p = skip_ws(p, e);
        if (p >= e || *p++ != (k ? '}' : ',')) return -1;
    }
    if (skip_ws(p, e) != e) return -1;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (tl == types[i].len && !memcmp(ts, types[i].name, tl)) {
            if (d->raw(types[i].t, obj, (size_t)(oend - obj), d->raw_udata)) return -1;
            d->events++;
            return 0;
        }
    return -1;
}

static int
pend_add(kube_watch_decoder *d, const char *p, size_t n)
{
    if (d->pend_n + n > d->pend_cap) {
        size_t cap = d->pend_cap ? d->pend_cap : 65536;
        while (cap < d->pend_n + n)
            cap *= 2;
        char *q = realloc(d->pend, cap);
        if (!q) return ERR_NOMEM;
        d->pend = q;
        d->pend_cap = cap;
    }
    memcpy(d->pend + d->pend_n, p, n);
    d->pend_n += n;
    return 0;
}

/* Scan from buf for the end of the event in progress; the state carries
 * over between feeds. Returns the index just past its closing brace, or len. */
/* Bytes the scanner stops at: outside strings 1 ('"', braces, brackets,
 * newline), inside strings 2 ('"', backslash). */
static const unsigned char scan_class[256] = {
    ['"'] = 3, ['\\'] = 2, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1, ['\n'] = 1};

/* Scan from buf for the end of the event in progress; the state carries
 * over between feeds. Returns the index just past its closing brace, or len. */
static size_t
scan(kube_watch_decoder *d, const char *buf, size_t len)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t i = 0;
    int depth = d->depth, instr = d->instr, esc = d->esc;
    while (i < len) {
        if (instr) {
            if (esc) {
                esc = 0;
                i++;
                continue;
            }
            while (i < len && !(scan_class[b[i]] & 2))
                i++;
            if (i >= len) break;
            if (b[i++] == '\\')
                esc = 1;
            else
                instr = 0;
            continue;
        }
        while (i < len && !(scan_class[b[i]] & 1))
            i++;
        if (i >= len) break;
        unsigned char c = b[i++];
        if (c == '"') {
            instr = 1;
        } else if (c == '\n') {
            /* The API server writes an event per line: a newline inside one
             * means another writer, or damage the tokener should report now
             * (rather than after the scanner waited for a brace that never
             * comes). Either way the tokener takes this event. */
            d->depth = d->instr = d->esc = 0;
            d->multiline = 1;
            return i;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (--depth == 0) {
            d->depth = d->instr = d->esc = 0;
            return i;
        }
    }
    d->depth = depth;
    d->instr = instr;
    d->esc = esc;
    return len;
}

int
kube_watch_decoder_feed(kube_watch_decoder *d, const char *buf, size_t len, kube_event_cb cb,
                        void *udata, char *err, size_t errlen)
{
    if (d->broken) return dec_fail(d, ERR_PARSE, err, errlen, "%s", "decoder already failed");
    size_t i = 0;
    const char *nl = NULL; /* the next newline at or after i, when known */
    int no_nl = 0;         /* none left in buf */
    while (i < len) {
        if (!d->raw || d->tokmode) {
            size_t used;
            int rc = tok_feed(d, buf + i, len - i, &used, cb, udata, err, errlen);
            if (rc) return rc;
            i += used;
            continue;
        }
        if (!d->inev) {
            int b = between_events(d, buf[i], err, errlen);
            if (b < 0) return b;
            if (b) {
                i++;
                continue;
            }
            if (d->raw_off) { /* the stream is ending: json-c's path drops the rest */
                d->tokmode = 1;
                continue;
            }
            /* One event per line: when the line is all here, offer it as is
             * (the hook's strict reading proves it is exactly one event, so
             * no scan is needed); anything else on a whole line goes to the
             * tokener at once. A line that goes on in the next feed is
             * scanned for the event's end. */
            /* (the next newline is looked up once per feed, not per event,
             * when a newline-less stream leaves none in the buffer) */
            if (!no_nl && (!nl || nl < buf + i)) {
                nl = memchr(buf + i, '\n', len - i);
                no_nl = nl == NULL;
            }
            if (nl && nl >= buf + i && (size_t)(nl - (buf + i)) <= d->max) {
                size_t n = (size_t)(nl - (buf + i));
                while (n > 1 &&
                       (buf[i + n - 1] == '\r' || buf[i + n - 1] == ' ' || buf[i + n - 1] == '\t'))
                    n--;
                if (buf[i + n - 1] == '}' && offer_raw(d, buf + i, n) == 0) {
                    i += n;
                    d->off += n;
                } else {
                    d->tokmode = 1;
                }
                continue;
            }
            d->inev = 1;
            d->pend_n = 0;
        }
        size_t start = i, end = i + scan(d, buf + i, len - i);
        if (d->pend_n + (end - start) > d->max) return too_large(d, err, errlen);
        d->off += end - start;
        i = end;
        if (!d->multiline && (d->depth || d->instr)) { /* goes on in the next feed */
            if (pend_add(d, buf + start, end - start))
                return dec_fail(d, ERR_NOMEM, err, errlen, "%s", "out of memory");
            continue;
        }
        d->inev = 0;
        if (d->pend_n == 0) {
            if (!d->multiline && offer_raw(d, buf + start, end - start) == 0) continue;
            /* declined: the tokener reads it from its first byte */
            d->multiline = 0;
            d->off -= end - start;
            d->tokmode = 1;
            i = start;
            continue;
        }
        if (pend_add(d, buf + start, end - start))
            return dec_fail(d, ERR_NOMEM, err, errlen, "%s", "out of memory");
        char *p = d->pend;
        size_t n = d->pend_n;
        d->pend_n = 0;
        if (!d->multiline && offer_raw(d, p, n) == 0) {
            if (d->pend_cap > ((size_t)1 << 20)) { /* one big event: do not keep its room */
                free(d->pend);
                d->pend = NULL;
                d->pend_cap = 0;
            }
            continue;
        }
        /* declined: replay the event so far through the tokener (taken from
         * pend, which the replay may need again for what follows it) */
        d->multiline = 0;
        d->pend = NULL;
        d->pend_cap = 0;
        d->off -= n;
        d->tokmode = 1;
        int rc = kube_watch_decoder_feed(d, p, n, cb, udata, err, errlen);
        free(p); /* d->pend starts small again */
        if (rc) return rc;
    }
    return 0;
}

int
kube_watch_decoder_finish(kube_watch_decoder *d, char *err, size_t errlen)
{
    if (d->broken) return dec_fail(d, ERR_PARSE, err, errlen, "%s", "decoder already failed");
    if (d->cur != 0 || d->inev)
        return dec_fail(d, ERR_PARSE, err, errlen, "%s",
                        "stream ended in the middle of an event (truncated)");
    return 0;
}
