/* timefmt.c - wall and monotonic clocks in milliseconds, and RFC 3339 UTC
 * formatting for API timestamps. Used by every program; thread-safe
 * (gmtime_r, no static buffers). Trusts nothing about ms: range-checked. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "timefmt.h"
#include "banned.h"

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	/* Cannot fail for these clocks on Linux (clock_gettime(2): EINVAL
	 * only for an unsupported clock id); 0 keeps callers simple. */
	if (clock_gettime(id, &ts) < 0)
		return 0;
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
time_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
time_mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;	/* as clock_ms */
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
time_format_rfc3339(int64_t ms, char *buf, size_t size)
{
	int64_t sec = ms / 1000, frac = ms % 1000;
	struct tm tm;
	time_t t;
	int n;

	if (size < TIMEFMT_RFC3339_LEN)
		return -E2BIG;
	if (frac < 0) {	/* floor: 1969 times format correctly */
		frac += 1000;
		sec--;
	}
	t = (time_t) sec;
	if ((int64_t) t != sec || !gmtime_r(&t, &tm))
		return -EINVAL;
	if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return -EINVAL;	/* RFC 3339 years have four digits */
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int) frac);
	if (n < 0 || (size_t) n >= size)
		return -E2BIG;
	return 0;
}
