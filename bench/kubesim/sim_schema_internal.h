/* sim_schema_internal.h - the compiled schema tree, shared by the
 * sim_schema*.c files only. */
#ifndef ASC_BENCH_SIM_SCHEMA_INTERNAL_H
#define ASC_BENCH_SIM_SCHEMA_INTERNAL_H

#include "bench/kubesim/sim_schema.h"

#include <regex.h>

typedef enum {
    SN_ANY = 0,
    SN_OBJECT,
    SN_ARRAY,
    SN_STRING,
    SN_INTEGER,
    SN_NUMBER,
    SN_BOOLEAN,
} sn_type;

enum {
    SN_NULLABLE = 1 << 0,
    SN_PRESERVE = 1 << 1, /* x-kubernetes-preserve-unknown-fields */
    SN_EMBEDDED = 1 << 2, /* x-kubernetes-embedded-resource */
    SN_INTSTR = 1 << 3,   /* x-kubernetes-int-or-string */
    SN_HAS_MIN = 1 << 4,
    SN_HAS_MAX = 1 << 5,
    SN_EXCL_MIN = 1 << 6,
    SN_EXCL_MAX = 1 << 7,
    SN_ADDL_ANY = 1 << 8,     /* additionalProperties: true */
    SN_VCT_RULE = 1 << 9,     /* the volumeClaimTemplates immutability rule */
    SN_LIST_SET = 1 << 10,    /* x-kubernetes-list-type: set */
    SN_LIST_MAP = 1 << 11,    /* x-kubernetes-list-type: map */
    SN_ANYOF_TYPES = 1 << 12, /* anyOf only restates int-or-string: skip it */
    /* summaries of the subtree, so apply can skip whole branches */
    SN_SUB_DEFAULTS = 1 << 16, /* a default somewhere below (or here) */
    SN_SUB_PRUNE = 1 << 17,    /* something below can be pruned or null-dropped */
    SN_SUB_CHECKS = 1 << 18,   /* some validation below (or here) */
};

enum { SN_FMT_NONE = 0, SN_FMT_DATETIME, SN_FMT_INT32, SN_FMT_INT64 };

typedef struct sn_node sn_node;

typedef struct {
    const char *name; /* owned by the node (names[] block) */
    sn_node *node;
} sn_prop;

struct sn_node {
    sn_type type;
    unsigned flags;
    int format;
    sn_prop *props; /* sorted by name */
    size_t nprops;
    size_t *defaulted; /* indexes into props of properties with a default */
    size_t ndefaulted;
    sn_node *items;
    sn_node *addl; /* additionalProperties schema */
    json_object *deflt;
    char **required;
    size_t nrequired;
    json_object *enum_vals; /* array, owned */
    char **enum_text;       /* rendered supported values */
    size_t nenum;
    double minimum, maximum;
    long long min_len, max_len, min_items, max_items; /* -1 = unset */
    regex_t *re;
    char *pattern; /* as written in the CRD (error text) */
    char **map_keys;
    size_t nmap_keys;
    sn_node **any_of, **all_of, **one_of;
    size_t nany_of, nall_of, none_of;
    char *vct_message;
};

struct sim_schema {
    sn_node *root;
    char **unenforced;
    size_t nunenforced, capunenforced;
};

/* A property's schema by name (bsearch), or NULL. */
sn_node *sim__schema_prop(const sn_node *n, const char *name);

/* Translate a Go RE2 pattern to a POSIX ERE. Returns a malloc'd string or
 * NULL (out of memory, or a construct POSIX cannot express; *why says). */
char *sim__re2_to_ere(const char *re2, const char **why);

#endif
