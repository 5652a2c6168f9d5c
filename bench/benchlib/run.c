#include "bench/benchlib/run.h"

#include <curl/curl.h>
#include <stdio.h>
#include <unistd.h>

#include "bench/benchlib/cli.h"
#include "bench/benchlib/env.h"
#include "bench/benchlib/machine.h"
#include "bench/benchlib/report.h"

json_object *
bench_run_begin(const char *tool, const char *json_path)
{
    bench_raise_nofile();
    bench_env_catch_signals();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: cannot initialise libcurl\n", tool);
        return NULL;
    }
    if (json_path) unlink(json_path);
    json_object *machine = bench_machine_describe();
    char line[512];
    bench_machine_line(machine, line, sizeof line);
    printf("%s: machine: %s\n", tool, line);
    return machine;
}

int
bench_run_write_report(const char *tool, json_object *root, const char *json_path, int measured,
                       int exit_code)
{
    if (json_path == NULL || !measured) return exit_code;
    char err[256];
    if (bench_json_write(root, json_path, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", tool, err);
        return 1;
    }
    printf("%s: wrote %s\n", tool, json_path);
    return exit_code;
}
