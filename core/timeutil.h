/* timeutil.h - clocks and Kubernetes timestamps.
 * Times inside the project are int64 milliseconds (wall: since the epoch;
 * mono: CLOCK_MONOTONIC). Kubernetes metav1.Time has one-second resolution
 * on the wire (RFC 3339, "Z"); MicroTime has microseconds. */
#ifndef ASC_CORE_TIMEUTIL_H
#define ASC_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t time_now_ms(void);  /* wall clock */
int64_t time_mono_ms(void); /* monotonic */
int64_t time_mono_ns(void);

/* "2026-11-23T18:55:00Z" (seconds truncated) into out (>= 21 bytes). */
char *time_fmt_rfc3339(int64_t wall_ms, char *out, size_t outlen);
/* RFC3339Nano in UTC, trailing zeros trimmed as Go does ("…T18:55:00.123Z"). */
char *time_fmt_rfc3339nano(int64_t wall_ns, char *out, size_t outlen);
/* MicroTime: "2026-11-23T18:55:00.123456Z". */
char *time_fmt_micro(int64_t wall_us, char *out, size_t outlen);
/* Parse RFC 3339 (with optional fraction and Z or ±hh:mm offset) into wall ms.
 * Returns 0, or ERR_INVALID. */
int time_parse_rfc3339(const char *s, int64_t *out_ms);

#endif
