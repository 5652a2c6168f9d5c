/* yaml2json.c - see yaml2json.h. A stack of open containers follows the
 * libyaml event stream; each finished node is attached to its parent (as a
 * value, or as a mapping key awaiting its value). */
#include "core/yaml2json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define Y2J_MAX_DEPTH 256

typedef struct {
    json_object *node;
    char *pending_key; /* for mappings: key read, value not yet */
    char *anchor;
} y2j_frame;

typedef struct {
    char *name;
    json_object *node;
} y2j_anchor;

typedef struct {
    y2j_anchor *items;
    size_t len, cap;
} y2j_anchors;

static int
anchor_add(y2j_anchors *a, const char *name, json_object *node)
{
    if (a->len == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        y2j_anchor *n = realloc(a->items, cap * sizeof *n);
        if (n == NULL) return -1;
        a->items = n;
        a->cap = cap;
    }
    a->items[a->len].name = strdup(name);
    a->items[a->len].node = json_object_get(node);
    a->len++;
    return 0;
}

static void
anchors_free(y2j_anchors *a)
{
    for (size_t i = 0; i < a->len; i++) {
        free(a->items[i].name);
        json_object_put(a->items[i].node);
    }
    free(a->items);
}

static json_object *
resolve_plain(const char *s, size_t len)
{
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0)
        return NULL;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_object_new_boolean(1);
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_object_new_boolean(0);
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (*p >= '0' && *p <= '9') {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*end == '\0' && errno == 0) return json_object_new_int64(v);
        errno = 0;
        double d = strtod(s, &end);
        if (*end == '\0' && errno == 0 && isfinite(d) && strpbrk(s, ".eE") != NULL &&
            strpbrk(s, "xX") == NULL)
            return json_object_new_double(d);
    }
    return json_object_new_string_len(s, (int)len);
}

static void
set_err(char *err, size_t errlen, const yaml_mark_t *m, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "line %zu column %zu: %s", m->line + 1, m->column + 1,
                 what ? what : "invalid YAML");
}

/* Attach a finished node to the top frame. Takes ownership of node.
 * Returns 0, or -1 when a mapping key is not a scalar. */
static int
attach(y2j_frame *top, json_object *node, int is_scalar, const char *scalar)
{
    if (json_object_is_type(top->node, json_type_array)) {
        json_object_array_add(top->node, node);
        return 0;
    }
    if (top->pending_key == NULL) {
        if (!is_scalar) {
            json_object_put(node);
            return -1;
        }
        top->pending_key = strdup(scalar ? scalar : "");
        json_object_put(node);
        return 0;
    }
    json_object_object_add(top->node, top->pending_key, node);
    free(top->pending_key);
    top->pending_key = NULL;
    return 0;
}

json_object *
yaml_to_json_docs(const char *buf, size_t len, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    y2j_frame stack[Y2J_MAX_DEPTH + 1];
    int depth = 0;
    y2j_anchors anchors = {0};
    json_object *docs = json_object_new_array();
    json_object *doc_root = NULL;
    int have_root = 0, done = 0, ok = 1;

    if (docs == NULL || !yaml_parser_initialize(&parser)) {
        json_object_put(docs);
        if (err && errlen) snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

    while (!done && ok) {
        if (!yaml_parser_parse(&parser, &ev)) {
            set_err(err, errlen, &parser.problem_mark, parser.problem);
            ok = 0;
            break;
        }
        json_object *node = NULL;
        int finished = 0, is_scalar = 0;
        const char *scalar = NULL;
        const char *anchor = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            doc_root = NULL;
            have_root = 0;
            break;
        case YAML_DOCUMENT_END_EVENT:
            if (have_root) json_object_array_add(docs, doc_root);
            doc_root = NULL;
            have_root = 0;
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (depth >= Y2J_MAX_DEPTH) {
                set_err(err, errlen, &ev.start_mark, "nesting too deep");
                ok = 0;
                break;
            }
            stack[depth].node = ev.type == YAML_MAPPING_START_EVENT ? json_object_new_object()
                                                                    : json_object_new_array();
            stack[depth].pending_key = NULL;
            anchor = ev.type == YAML_MAPPING_START_EVENT
                         ? (const char *)ev.data.mapping_start.anchor
                         : (const char *)ev.data.sequence_start.anchor;
            stack[depth].anchor = anchor ? strdup(anchor) : NULL;
            depth++;
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            node = stack[depth].node;
            free(stack[depth].pending_key);
            if (stack[depth].anchor) {
                anchor_add(&anchors, stack[depth].anchor, node);
                free(stack[depth].anchor);
            }
            finished = 1;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t n = ev.data.scalar.length;
            if (ev.data.scalar.plain_implicit && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                node = resolve_plain(v, n);
            else
                node = json_object_new_string_len(v, (int)n);
            if (ev.data.scalar.anchor)
                anchor_add(&anchors, (const char *)ev.data.scalar.anchor, node);
            is_scalar = 1;
            scalar = v;
            finished = 1;
            break;
        }
        case YAML_ALIAS_EVENT: {
            const char *name = (const char *)ev.data.alias.anchor;
            size_t i;
            for (i = anchors.len; i > 0; i--)
                if (strcmp(anchors.items[i - 1].name, name) == 0) break;
            if (i == 0) {
                set_err(err, errlen, &ev.start_mark, "unknown alias");
                ok = 0;
                break;
            }
            json_object *src = anchors.items[i - 1].node;
            node = NULL;
            if (src && json_object_deep_copy(src, &node, NULL) != 0) {
                ok = 0;
                break;
            }
            is_scalar = src == NULL || (!json_object_is_type(src, json_type_object) &&
                                        !json_object_is_type(src, json_type_array));
            scalar = src ? json_object_get_string(src) : "";
            finished = 1;
            break;
        }
        default:
            break;
        }
        if (ok && finished) {
            if (depth == 0) {
                doc_root = node;
                have_root = 1;
            } else if (attach(&stack[depth - 1], node, is_scalar, scalar) != 0) {
                set_err(err, errlen, &ev.start_mark, "mapping key is not a scalar");
                ok = 0;
            }
        }
        yaml_event_delete(&ev);
    }
    while (depth > 0) {
        depth--;
        json_object_put(stack[depth].node);
        free(stack[depth].pending_key);
        free(stack[depth].anchor);
    }
    if (!ok && have_root) json_object_put(doc_root);
    yaml_parser_delete(&parser);
    anchors_free(&anchors);
    if (!ok) {
        json_object_put(docs);
        return NULL;
    }
    return docs;
}

json_object *
yaml_to_json(const char *buf, size_t len, char *err, size_t errlen)
{
    json_object *docs = yaml_to_json_docs(buf, len, err, errlen);
    if (docs == NULL) return NULL;
    json_object *first = NULL;
    for (size_t i = 0; i < json_object_array_length(docs); i++) {
        json_object *d = json_object_array_get_idx(docs, i);
        if (d != NULL) {
            first = json_object_get(d);
            break;
        }
    }
    json_object_put(docs);
    if (first == NULL && err && errlen) snprintf(err, errlen, "no YAML document found");
    return first;
}
