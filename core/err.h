/* err.h - the project's return codes.
 *
 * Every call that can fail returns int: 0 on success, a negative errno for
 * system errors, or one of the ERR_* codes below (band -1000 and down, so the
 * two never collide). err_str() names both. Library codes (MDB_*, CURLcode,
 * json-c tokener errors) are translated at the module edge and go no further.
 */
#ifndef ASC_CORE_ERR_H
#define ASC_CORE_ERR_H

enum {
    ERR_OK = 0,
    ERR_NOMEM = -1000,         /* allocation failed */
    ERR_INVALID = -1001,       /* malformed input (bad JSON, bad flag, bad object) */
    ERR_NOTFOUND = -1002,      /* 404 or absent key */
    ERR_CONFLICT = -1003,      /* 409: stale resourceVersion or precondition */
    ERR_GONE = -1004,          /* 410: resourceVersion too old */
    ERR_AGAIN = -1005,         /* not finished; call again on the next event */
    ERR_TIMEOUT = -1006,       /* a deadline passed */
    ERR_IO = -1007,            /* transport failure (connect, reset, DNS) */
    ERR_HTTP = -1008,          /* an HTTP error status not covered by a code here */
    ERR_TLS = -1009,           /* TLS handshake or certificate failure */
    ERR_PARSE = -1010,         /* a document could not be decoded */
    ERR_CONFIG = -1011,        /* configuration (kubeconfig, flags) is unusable */
    ERR_FULL = -1012,          /* a bounded resource (LMDB map, queue) is full */
    ERR_FORBIDDEN = -1013,     /* 401/403 */
    ERR_EXISTS = -1014,        /* 409 AlreadyExists */
    ERR_UNPROCESSABLE = -1015, /* 422 Invalid */
    ERR_TOOMANY = -1016,       /* 429 */
    ERR_UNAVAILABLE = -1017,   /* 5xx */
    ERR_CANCELED = -1018,      /* stopped by its owner */
    ERR_CORRUPT = -1019,       /* stored data failed a consistency check */
    ERR_BADREQUEST = -1020,    /* 400 */
    ERR_TOOLARGE = -1021,      /* input larger than the accepted bound */
};

/* A static description of rc (ERR_* or -errno). Never NULL. */
const char *err_str(int rc);

/* Map an HTTP status to the closest ERR_* code (0 for 2xx). */
int err_from_http(long status);

#endif
