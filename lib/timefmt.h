/* timefmt.h - clocks and RFC 3339 formatting. Thread-safe. */
#ifndef JOBCELL_TIMEFMT_H
#define JOBCELL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_RFC3339_LEN 25	/* "2026-11-25T23:10:07.123Z" + NUL */

int64_t time_now_ms(void);		/* CLOCK_REALTIME, ms since the epoch */
int64_t time_mono_ms(void);		/* CLOCK_MONOTONIC, ms */
int64_t time_mono_us(void);		/* CLOCK_MONOTONIC, us (benchmarks) */
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into buf[size]; 0 or -E2BIG/-EINVAL. */
int time_format_rfc3339(int64_t ms, char *buf, size_t size);

#endif
