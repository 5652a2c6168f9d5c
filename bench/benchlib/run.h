/* run.h - the start and the end that every benchmark's main() shares.
 * Both run on the main thread; tool names the program in what they print. */
#ifndef ASC_BENCHLIB_RUN_H
#define ASC_BENCHLIB_RUN_H

#include <json-c/json.h>

/* Raise the file limit, catch SIGINT/SIGTERM, initialise libcurl, remove a
 * report left at json_path by an earlier run (a failed run must not leave it
 * looking like its result), and print "<tool>: machine: ...". Returns the
 * machine description (caller owns), or NULL when libcurl cannot start (the
 * reason is printed). */
json_object *bench_run_begin(const char *tool, const char *json_path);

/* When measured and json_path is set, write root there and say so. Returns
 * exit_code, or 1 when the write failed (the reason is printed). */
int bench_run_write_report(const char *tool, json_object *root, const char *json_path, int measured,
                           int exit_code);

#endif
