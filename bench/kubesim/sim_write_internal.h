/* sim_write_internal.h - helpers shared by sim_write.c and sim_delete.c (server
 * thread only). Replies are sent through the sim_rq given. */
#ifndef ASC_SIM_WRITE_INTERNAL_H
#define ASC_SIM_WRITE_INTERNAL_H

#include "bench/kubesim/sim_state.h"

#include <json-c/json.h>
#include <stddef.h>

/* Go's encoding/json wording for the first syntax error in buf. */
void sim__json_error_text(const char *buf, size_t len, char *out, size_t outlen);
/* One complete JSON document (trailing spaces allowed) or NULL. */
json_object *sim__parse_body(const char *buf, size_t len);
/* Free this thread's body tokener (the server thread, when it ends). */
void sim__parse_body_release(void);
void sim__reply_oom(sim_rq *rq);
/* A POST/PUT body decoded as an object of expect_kind/expect_av; NULL after replying. */
json_object *sim__decode_object(sim_rq *rq, const char *expect_kind, const char *expect_av);
const char *sim__res_av(const sim_res *r, char *buf, size_t len);
int sim__has_generation(const sim_res *r);
json_object *sim__meta_of(json_object *o); /* metadata, created if missing */
int sim__str_in_array(json_object *arr, const char *s);

#endif
