/* machine.c - the machine description (see machine.h). */
#include "bench/benchlib/machine.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/jx.h"

#ifndef ASC_VERSION
#define ASC_VERSION "unknown"
#endif
#ifndef ASC_GIT_COMMIT
#define ASC_GIT_COMMIT "unknown"
#endif
#ifndef ASC_BUILD_TYPE
#define ASC_BUILD_TYPE "unknown"
#endif

/* The value after "key<spaces>:" on the first matching line of a file. */
static int
file_field(const char *path, const char *key, char sep, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    char line[512];
    size_t kl = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0) continue;
        char *p = line + kl;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != sep) continue;
        p++;
        while (*p == ' ' || *p == '\t' || *p == '"')
            p++;
        size_t n = strcspn(p, "\"\n");
        snprintf(buf, len, "%.*s", (int)n, p);
        found = 1;
    }
    fclose(f);
    return found;
}

static json_object *
str_or_null(int ok, const char *s)
{
    return ok ? json_object_new_string(s) : NULL;
}

json_object *
bench_machine_describe(void)
{
    json_object *m = json_object_new_object();
    if (m == NULL) return NULL;
    char buf[256];
    int ok = file_field("/proc/cpuinfo", "model name", ':', buf, sizeof buf);
    json_object_object_add(m, "cpu_model", str_or_null(ok, buf));
    json_object_object_add(m, "cpus_online", json_object_new_int64(sysconf(_SC_NPROCESSORS_ONLN)));
    cpu_set_t set;
    CPU_ZERO(&set);
    json_object_object_add(
        m, "cpus_allowed",
        sched_getaffinity(0, sizeof set, &set) == 0 ? json_object_new_int(CPU_COUNT(&set)) : NULL);
    ok = file_field("/proc/meminfo", "MemTotal", ':', buf, sizeof buf);
    json_object_object_add(m, "mem_total_bytes",
                           ok ? json_object_new_int64(strtoll(buf, NULL, 10) * 1024) : NULL);
    struct utsname u;
    int uok = uname(&u) == 0;
    json_object_object_add(m, "kernel", str_or_null(uok, uok ? u.release : ""));
    json_object_object_add(m, "hostname", str_or_null(uok, uok ? u.nodename : ""));
    ok = file_field("/etc/os-release", "PRETTY_NAME", '=', buf, sizeof buf);
    json_object_object_add(m, "os", str_or_null(ok, buf));
    double load[1];
    json_object_object_add(m, "loadavg_1m",
                           getloadavg(load, 1) == 1 ? json_object_new_double(load[0]) : NULL);
    json_object_object_add(m, "version", json_object_new_string(ASC_VERSION));
    json_object_object_add(m, "commit", json_object_new_string(ASC_GIT_COMMIT));
    json_object_object_add(m, "build_type", json_object_new_string(ASC_BUILD_TYPE));
    return m;
}

void
bench_machine_line(json_object *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s, %lld CPUs, %.1f GiB, Linux %s, load %.2f, build %s %s",
             jx_str_or(m, "cpu_model", "?"), (long long)jx_int(m, "cpus_online", 0),
             (double)jx_int(m, "mem_total_bytes", 0) / (1024.0 * 1024 * 1024),
             jx_str_or(m, "kernel", "?"), json_object_get_double(jx_get(m, "loadavg_1m")),
             jx_str_or(m, "build_type", "?"), jx_str_or(m, "commit", "?"));
}
