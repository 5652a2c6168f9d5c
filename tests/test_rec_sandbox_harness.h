/* test_rec_sandbox_harness.h - a tiny "world" for Sandbox reconcile table
 * tests: base objects patched per row (JSON merge patch), a store emulation
 * that derives rec_sandbox_input the way a shard worker would (tracking-label
 * index, named pod, Service, PVCs), and checks on the rec_result. */
#ifndef TEST_REC_SANDBOX_HARNESS_H
#define TEST_REC_SANDBOX_HARNESS_H

#include <json-c/json.h>
#include <stdint.h>

#include "reconciler/sandbox.h"

/* One table row. JSON strings may use ' for " and $H for NameHash("sb"). */
typedef struct sbx_row {
    const char *name;
    const char *sb;       /* merge patch onto the base Sandbox (NULL: base) */
    const char *pods;     /* JSON array; each element merged onto the base Pod */
    const char *svc;      /* merge patch onto the base Service; NULL: no Service */
    const char *pvcs;     /* JSON array; each merged onto the base PVC */
    const char *outcomes; /* JSON array of {tag, err, message, object} */
    int64_t now_offset_s; /* added to T_NOW */
    int64_t settle_ms;
    int lookup_failed;
    /* expectations */
    const char *writes; /* tags in order, space separated ("" = none) */
    const char *conds;  /* "Type=Status/Reason ..." of the resulting status, in order;
                           NULL: unchecked */
    const char *ready_msg;
    const char *checks;  /* JSON array of [target, "/json/pointer", expected]; target is a
                            write tag (its body), "status" (resulting status), "write:<tag>"
                            (the write's own fields: name, sub, precondition_uid) */
    const char *requeue; /* expected requeue_after_ms: NULL = none (-1), "any", or a number */
    int error;           /* expect out.error != 0 */
    const char *events;  /* reasons, space separated */
    int idem;            /* apply sandbox/pod/svc patches, run again: expect no writes */
} sbx_row;

void sbx_run_row(const sbx_row *r);

/* Parse row-style JSON (' for ", $H for NameHash("sb")); fails the test on bad JSON. */
json_object *sbx_parse(const char *s);
/* RFC 7386 merge patch applied in place to *target (patch is only read). */
void sbx_merge(json_object **target, json_object *patch);

#endif
