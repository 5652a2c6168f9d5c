/* sim_wcommon.c - helpers shared by the write verbs (sim_write.c, sim_delete.c):
 * request body decoding with the real server's error texts, small metadata helpers. */
#include "bench/kubesim/sim_write_internal.h"

#include "bench/kubesim/sim_jsontext.h"
#include "bench/kubesim/sim_status.h"

#include "core/jx.h"
#include "core/yaml2json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Go's encoding/json wording for the first syntax error in buf. */
void
sim__json_error_text(const char *buf, size_t len, char *out, size_t outlen)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (i >= len) {
        snprintf(out, outlen, "unexpected end of JSON input");
        return;
    }
    unsigned char c = (unsigned char)buf[i];
    static const char *lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        if (c != (unsigned char)lits[k][0]) continue;
        const char *l = lits[k];
        for (size_t j = 1; l[j]; j++) {
            if (i + j >= len) {
                snprintf(out, outlen, "unexpected end of JSON input");
                return;
            }
            if (buf[i + j] != l[j]) {
                snprintf(out, outlen, "invalid character '%c' in literal %s (expecting '%c')",
                         buf[i + j], l, l[j]);
                return;
            }
        }
    }
    if (!strchr("{[\"-0123456789tfn", c)) {
        if (c < 0x20 || c >= 0x7f)
            snprintf(out, outlen, "invalid character '\\u%04x' looking for beginning of value", c);
        else
            snprintf(out, outlen, "invalid character '%c' looking for beginning of value", c);
        return;
    }
    /* json-c knows where it stopped: incomplete input is Go's "unexpected end" */
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
    enum json_tokener_error e = tok ? json_tokener_get_error(tok) : json_tokener_error_parse_eof;
    size_t at = tok ? (size_t)json_tokener_get_parse_end(tok) : len;
    json_object_put(o);
    if (tok) json_tokener_free(tok);
    if (e == json_tokener_continue || at >= len) {
        snprintf(out, outlen, "unexpected end of JSON input");
        return;
    }
    c = (unsigned char)buf[at < len ? at : len - 1];
    if (c < 0x20 || c >= 0x7f)
        snprintf(out, outlen, "invalid character '\\u%04x' after object key:value pair", c);
    else
        snprintf(out, outlen, "invalid character '%c' after object key:value pair", c);
}

/* Request bodies go through sim_jsontext (exactly a json_tokener of depth 128 that
 * succeeds with only white space after the value): compact bodies take its direct
 * pass, without json_tokener_parse_ex's per-call locale switch (newlocale,
 * duplocale, freelocale: ~1,800 instructions of a small patch's ~4,900). */
#define SIM_BODY_DEPTH 128

void
sim__parse_body_release(void)
{
    sim_json_release();
}

json_object *
sim__parse_body(const char *buf, size_t len)
{
    return sim_json_parse_doc(buf, len, SIM_BODY_DEPTH);
}

void
sim__reply_oom(sim_rq *rq)
{
    sim_reply_json(rq, 500, sim_status(500, "InternalError", "out of memory", NULL), NULL);
}

/* Decode a POST/PUT body into an object of rq->res's kind. NULL = replied. */
json_object *
sim__decode_object(sim_rq *rq, const char *expect_kind, const char *expect_av)
{
    const char *ct = rq->r->content_type;
    json_object *o = NULL;
    if (!ct[0] || !strcmp(ct, "application/json") || !strcmp(ct, "*/*")) {
        o = sim__parse_body(rq->r->body, rq->r->body_len);
        if (!o) {
            char gerr[256], snip[128];
            sim__json_error_text(rq->r->body, rq->r->body_len, gerr, sizeof gerr);
            const char *b = rq->r->body;
            size_t n = rq->r->body_len;
            if (n && (b[0] == '{' || b[0] == '[')) {
                size_t k = n > 30 ? 30 : n;
                snprintf(snip, sizeof snip, "%.*s%s", (int)k, b, n > 30 ? " ..." : "");
            } else {
                size_t k = n > 30 ? 30 : n, w = 0;
                for (size_t i = 0; i < k && w + 3 < sizeof snip; i++)
                    w += (size_t)snprintf(snip + w, sizeof snip - w, "%02x", (unsigned char)b[i]);
                snip[w] = '\0';
            }
            char msg[1024];
            snprintf(msg, sizeof msg,
                     "the object provided is unrecognized (must be of type %s): couldn't get "
                     "version/kind; json parse error: %s (%s)",
                     expect_kind, gerr, snip);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return NULL;
        }
    } else if (!strcmp(ct, "application/yaml")) {
        char err[256];
        json_object *docs = yaml_to_json(rq->r->body, rq->r->body_len, err, sizeof err);
        if (!docs) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the object provided is unrecognized (must be of type %s): %s", expect_kind,
                     err);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return NULL;
        }
        o = docs;
    } else {
        sim_reply_json(rq, 415,
                       sim_status_unsupported_media("application/json, application/yaml, "
                                                    "application/vnd.kubernetes.protobuf"),
                       NULL);
        return NULL;
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        char msg[256];
        snprintf(msg, sizeof msg,
                 "the object provided is unrecognized (must be of type %s): couldn't get "
                 "version/kind; json parse error: json: cannot unmarshal into Go value of type "
                 "struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
                 "\"json:\\\"kind,omitempty\\\"\" }",
                 expect_kind);
        sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
        return NULL;
    }
    const char *av = jx_str(o, "apiVersion");
    const char *kind = jx_str(o, "kind");
    if (av && av[0] && strcmp(av, expect_av) != 0) {
        /* another served version of the same group is accepted (conversion None) */
        const char *slash = strchr(av, '/');
        int same_group = rq->res->group[0] && slash &&
                         strlen(rq->res->group) == (size_t)(slash - av) &&
                         !strncmp(av, rq->res->group, (size_t)(slash - av)) &&
                         sim_res_find(&rq->S->res, rq->res->group, slash + 1, rq->res->plural);
        if (!same_group) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the API version in the data (%s) does not match the expected API version "
                     "(%s)",
                     av, expect_av);
            json_object_put(o);
            sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
            return NULL;
        }
    }
    if (kind && kind[0] && strcmp(kind, expect_kind) != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "the kind in the data (%s) does not match the expected kind (%s)",
                 kind, expect_kind);
        json_object_put(o);
        sim_reply_json(rq, 400, sim_status_bad_request(msg), NULL);
        return NULL;
    }
    if (jx_get(o, "metadata") && !jx_obj(o, "metadata")) {
        json_object_put(o);
        sim_reply_json(rq, 400,
                       sim_status_bad_request("metadata: Invalid value: must be an object"), NULL);
        return NULL;
    }
    return o;
}

/* ---- helpers ---- */

const char *
sim__res_av(const sim_res *r, char *buf, size_t len)
{
    return sim_res_api_version(r, buf, len);
}

int
sim__has_generation(const sim_res *r)
{
    return r->hook == SIM_HOOK_CUSTOM || r->hook == SIM_HOOK_CRD;
}

json_object *
sim__meta_of(json_object *o)
{
    return jx_ensure_obj(o, "metadata");
}

int
sim__str_in_array(json_object *arr, const char *s)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
        if (v && !strcmp(v, s)) return 1;
    }
    return 0;
}
