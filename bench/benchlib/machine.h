/* machine.h - what a benchmark ran on, for its JSON report.
 *
 * bench_machine_describe returns a new json object (caller puts) with:
 * cpu_model, cpus_online, cpus_allowed (this process's affinity), mem_total_bytes,
 * kernel (uname -r), os (PRETTY_NAME of /etc/os-release), loadavg_1m at the
 * time of the call, hostname, and the build: version, commit, build_type.
 * A field that cannot be read is null, never an error. NULL only on
 * allocation failure.
 */
#ifndef ASC_BENCH_MACHINE_H
#define ASC_BENCH_MACHINE_H

#include <json-c/json.h>

json_object *bench_machine_describe(void);
/* One line for the printed table: "AMD EPYC, 2 CPUs, 23.5 GiB, Linux 6.1". */
void bench_machine_line(json_object *m, char *buf, size_t len);

#endif
