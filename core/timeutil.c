#include "core/timeutil.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
time_mono_ms(void)
{
    return time_mono_ns() / 1000000;
}

static void
fmt_base(time_t secs, char *out, size_t outlen)
{
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

char *
time_fmt_rfc3339(int64_t wall_ms, char *out, size_t outlen)
{
    char base[32];
    fmt_base((time_t)floor_div(wall_ms, 1000), base, sizeof base);
    snprintf(out, outlen, "%sZ", base);
    return out;
}

char *
time_fmt_rfc3339nano(int64_t wall_ns, char *out, size_t outlen)
{
    char base[32];
    int64_t secs = floor_div(wall_ns, 1000000000);
    int64_t frac = wall_ns - secs * 1000000000;
    fmt_base((time_t)secs, base, sizeof base);
    if (frac == 0) {
        snprintf(out, outlen, "%sZ", base);
        return out;
    }
    char f[16];
    snprintf(f, sizeof f, "%09lld", (long long)frac);
    size_t n = strlen(f);
    while (n > 0 && f[n - 1] == '0')
        f[--n] = '\0';
    snprintf(out, outlen, "%s.%sZ", base, f);
    return out;
}

char *
time_fmt_micro(int64_t wall_us, char *out, size_t outlen)
{
    char base[32];
    int64_t secs = floor_div(wall_us, 1000000);
    fmt_base((time_t)secs, base, sizeof base);
    snprintf(out, outlen, "%s.%06lldZ", base, (long long)(wall_us - secs * 1000000));
    return out;
}

int
time_parse_rfc3339(const char *s, int64_t *out_ms)
{
    if (s == NULL) return ERR_INVALID;
    int Y, M, D, h, m, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2d%*[Tt]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used) != 6 ||
        used < 19)
        return ERR_INVALID;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return ERR_INVALID;
    const char *p = s + used;
    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) ms = ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0) return ERR_INVALID;
        for (int i = digits; i < 3; i++)
            ms *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) return ERR_INVALID;
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return ERR_INVALID;
    }
    if (*p != '\0') return ERR_INVALID;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *out_ms = ((int64_t)t - off) * 1000 + ms;
    return 0;
}
