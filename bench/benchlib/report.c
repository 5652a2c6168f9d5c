/* report.c - JSON report helpers (see report.h). */
#include "bench/benchlib/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jx.h"

/* Three decimals are below any figure's noise; the text form keeps the
 * report readable (json-c would print %.17g otherwise). */
json_object *
bench_json_double(double v)
{
    if (!isfinite(v)) return NULL;
    char buf[64];
    snprintf(buf, sizeof buf, "%.3f", v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf) - 1;
        while (e > dot + 1 && *e == '0')
            *e-- = '\0';
    }
    return json_object_new_double_s(v, buf);
}

int
bench_json_num(json_object *root, const char *path, double v)
{
    return jx_set(root, path, bench_json_double(v));
}

int
bench_json_count(json_object *root, const char *path, int64_t v)
{
    return jx_set(root, path, v >= 0 ? json_object_new_int64(v) : NULL);
}

int
bench_json_pcts(json_object *root, const char *path, const bench_hist *h)
{
    static const struct {
        const char *key;
        double p;
    } P[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}, {"max", 100}};
    for (size_t i = 0; i < sizeof P / sizeof *P; i++) {
        char k[256];
        snprintf(k, sizeof k, "%s.%s", path, P[i].key);
        int rc = bench_json_num(root, k, bench_hist_pct(h, P[i].p));
        if (rc != 0) return rc;
    }
    return 0;
}

int
bench_json_write(json_object *root, const char *file, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", file, (int)getpid());
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        int rc = -errno;
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return rc;
    }
    int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, file) != 0) {
        int rc = -errno;
        snprintf(err, errlen, "cannot write %s: %s", file, strerror(errno));
        unlink(tmp);
        return rc ? rc : ERR_IO;
    }
    return 0;
}

const char *
bench_fmt(double v, int decimals, char *buf, size_t len)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.*f", decimals, v);
    return buf;
}
