/* tap.h - a tiny TAP producer for the unit tests (run by make check through
 * tap-driver.sh): ok, is_int, is_str, diag, done_testing. Plan-less: the
 * plan "1..N" is printed at the end. Descriptions come from hostile test
 * rows, so '#', control bytes and non-ASCII are escaped before printing. */
#ifndef JOBCELL_TAP_H
#define JOBCELL_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TAP_UNUSED __attribute__((unused))
#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))

static unsigned tap_count TAP_UNUSED;
static unsigned tap_failed TAP_UNUSED;

/* Prints s with '#' as "\#" (TAP directive marker) and bytes outside
 * printable ASCII as \xNN, so a test row cannot break the TAP stream. */
static TAP_UNUSED void
tap_puts_escaped(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p == '#')
			fputs("\\#", stdout);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

static TAP_UNUSED TAP_PRINTF(2, 0) bool
tap_vresult(bool pass, const char *fmt, va_list ap)
{
	char desc[512];
	int n;

	n = vsnprintf(desc, sizeof(desc), fmt, ap);
	if (n < 0)
		desc[0] = '\0';
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %u - ", pass ? "" : "not ", tap_count);
	tap_puts_escaped(desc);
	putchar('\n');
	(void) fflush(stdout);
	return pass;
}

static TAP_UNUSED TAP_PRINTF(1, 2) void
diag(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	fputs("# ", stdout);
	for (const unsigned char *p = (const unsigned char *) msg; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('\n');
	(void) fflush(stdout);
}

static TAP_UNUSED TAP_PRINTF(2, 3) bool
ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vresult(cond, fmt, ap);
	va_end(ap);
	return r;
}

static TAP_UNUSED TAP_PRINTF(3, 4) bool
is_int(int64_t got, int64_t want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vresult(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		diag("  got: %" PRId64 ", want: %" PRId64, got, want);
	return r;
}

static TAP_UNUSED TAP_PRINTF(3, 4) bool
is_str(const char *got, const char *want, const char *fmt, ...)
{
	bool same = (!got && !want) || (got && want && strcmp(got, want) == 0);
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vresult(same, fmt, ap);
	va_end(ap);
	if (!r)
		diag("  got: '%s', want: '%s'", got ? got : "(null)",
		    want ? want : "(null)");
	return r;
}

/* Prints the plan; main() returns this. */
static TAP_UNUSED int
done_testing(void)
{
	printf("1..%u\n", tap_count);
	if (tap_failed)
		diag("failed %u of %u", tap_failed, tap_count);
	(void) fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
