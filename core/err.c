#include "core/err.h"

#include <string.h>

const char *
err_str(int rc)
{
    switch (rc) {
    case ERR_OK:
        return "ok";
    case ERR_NOMEM:
        return "out of memory";
    case ERR_INVALID:
        return "invalid input";
    case ERR_NOTFOUND:
        return "not found";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_GONE:
        return "resource version too old (gone)";
    case ERR_AGAIN:
        return "try again";
    case ERR_TIMEOUT:
        return "timed out";
    case ERR_IO:
        return "transport error";
    case ERR_HTTP:
        return "HTTP error";
    case ERR_TLS:
        return "TLS error";
    case ERR_PARSE:
        return "parse error";
    case ERR_CONFIG:
        return "configuration error";
    case ERR_FULL:
        return "full";
    case ERR_FORBIDDEN:
        return "forbidden";
    case ERR_EXISTS:
        return "already exists";
    case ERR_UNPROCESSABLE:
        return "invalid object (unprocessable)";
    case ERR_TOOMANY:
        return "too many requests";
    case ERR_UNAVAILABLE:
        return "server unavailable";
    case ERR_CANCELED:
        return "canceled";
    case ERR_CORRUPT:
        return "corrupt data";
    case ERR_BADREQUEST:
        return "bad request";
    case ERR_TOOLARGE:
        return "too large";
    default:
        break;
    }
    if (rc < 0 && rc > -1000) return strerror(-rc);
    return "unknown error";
}

int
err_from_http(long status)
{
    if (status >= 200 && status < 300) return ERR_OK;
    switch (status) {
    case 400:
        return ERR_BADREQUEST;
    case 401:
    case 403:
        return ERR_FORBIDDEN;
    case 404:
        return ERR_NOTFOUND;
    case 409:
        return ERR_CONFLICT;
    case 410:
        return ERR_GONE;
    case 413:
        return ERR_TOOLARGE;
    case 422:
        return ERR_UNPROCESSABLE;
    case 429:
        return ERR_TOOMANY;
    case 504:
        return ERR_TIMEOUT;
    default:
        break;
    }
    if (status >= 500) return ERR_UNAVAILABLE;
    return ERR_HTTP;
}
