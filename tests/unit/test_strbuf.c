/* test_strbuf.c - unit tests for lib/strbuf.c: the hard maximum (exact,
 * max+1, overflowing sizes), NUL bytes in data, addf growth, detach. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "strbuf.h"
#include "tap.h"
#include "banned.h"

static void
test_add_rows(void)
{
	static const struct {
		size_t max;
		const char *a, *b;	/* added in turn */
		int r;			/* of the second add */
		const char *want;	/* contents afterwards */
	} rows[] = {
		{ 10, "", "", 0, "" },
		{ 10, "hello", "world", 0, "helloworld" },	/* exactly max */
		{ 10, "hello", "world!", -E2BIG, "hello" },	/* max + 1 */
		{ 0, "", "", 0, "" },
		{ 0, "", "x", -E2BIG, "" },
		{ 1, "x", "y", -E2BIG, "x" },
		{ 200, "", "a long string past the first allocation of sixty-four "
		    "bytes, so that strbuf_grow has to double at least once", 0,
		    "a long string past the first allocation of sixty-four "
		    "bytes, so that strbuf_grow has to double at least once" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_strbuf_ struct strbuf sb;
		int r;

		strbuf_init(&sb, rows[i].max);
		is_int(strbuf_addstr(&sb, rows[i].a), 0, "row %zu: first add", i);
		r = strbuf_addstr(&sb, rows[i].b);
		is_int(r, rows[i].r, "row %zu: second add", i);
		is_str(sb.buf, rows[i].want, "row %zu: contents", i);
		is_int((int64_t) sb.len, (int64_t) strlen(rows[i].want),
		    "row %zu: len", i);
		ok(sb.len <= sb.max, "row %zu: len within max", i);
	}
}

static void
test_addf(void)
{
	_cleanup_strbuf_ struct strbuf sb;
	char big[300];

	strbuf_init(&sb, 256);
	is_int(strbuf_addf(&sb, "%s=%d", "a", 42), 0, "addf into empty");
	is_str(sb.buf, "a=42", "addf contents");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(strbuf_addf(&sb, "%.200s", big), 0, "addf grows");
	is_int((int64_t) sb.len, 204, "addf len after growth");
	is_int(strbuf_addf(&sb, "%.52s", big), 0, "addf to exactly max");
	is_int((int64_t) sb.len, 256, "len is max");
	is_int(strbuf_addf(&sb, "%s", "y"), -E2BIG, "addf past max");
	is_int((int64_t) sb.len, 256, "len unchanged after failed addf");
	is_int(sb.buf[256], '\0', "still NUL-terminated");
	is_int(strbuf_addf(&sb, "%s", ""), 0, "empty addf at max");

	/* in-place attempt that fits the allocation but not max */
	strbuf_release(&sb);
	strbuf_init(&sb, 3);
	is_int(strbuf_addch(&sb, 'a'), 0, "addch");
	is_int(strbuf_addf(&sb, "%s", "bcd"), -E2BIG, "addf fits alloc, not max");
	is_str(sb.buf, "a", "contents unchanged");
	is_int(strbuf_addf(&sb, "%s", "bc"), 0, "addf to exactly max");
	is_str(sb.buf, "abc", "contents at max");
}

static void
test_nul_and_grow(void)
{
	_cleanup_strbuf_ struct strbuf sb;
	size_t len = 0;
	char *p;

	strbuf_init(&sb, 16);
	is_str(sb.buf, "", "empty before the first write");
	strbuf_reset(&sb);	/* must not write to the shared "" */
	is_int(strbuf_add(&sb, "a\0b", 3), 0, "add with an embedded NUL");
	is_int((int64_t) sb.len, 3, "len counts the NUL");
	ok(memcmp(sb.buf, "a\0b", 4) == 0, "bytes and terminator kept");
	is_int(strbuf_grow(&sb, SIZE_MAX), -E2BIG, "grow by SIZE_MAX");
	is_int(strbuf_grow(&sb, SIZE_MAX - 1), -E2BIG, "grow overflowing len");
	is_int(strbuf_add(&sb, NULL, 0), 0, "add nothing from NULL");
	is_int(strbuf_addch(&sb, '\0'), 0, "addch NUL");
	is_int((int64_t) sb.len, 4, "len after addch NUL");

	p = strbuf_detach(&sb, &len);
	ok(p != NULL, "detach");
	is_int((int64_t) len, 4, "detached len");
	ok(p && memcmp(p, "a\0b\0", 5) == 0, "detached bytes");
	free(p);
	is_str(sb.buf, "", "re-initialised after detach");
	is_int((int64_t) sb.max, 16, "max kept after detach");

	p = strbuf_detach(&sb, NULL);	/* never written: still a heap copy */
	is_str(p, "", "detach of an empty buffer");
	free(p);

	is_int(strbuf_addstr(&sb, "0123456789abcdef"), 0, "fill to max");
	strbuf_reset(&sb);
	is_int((int64_t) sb.len, 0, "reset");
	is_str(sb.buf, "", "reset contents");
	is_int(strbuf_addstr(&sb, "again"), 0, "reuse after reset");
	strbuf_release(&sb);
	is_str(sb.buf, "", "release");
	is_int(strbuf_addstr(&sb, "and again"), 0, "reuse after release");

	{
		_cleanup_strbuf_ struct strbuf huge;

		strbuf_init(&huge, SIZE_MAX);
		is_int(strbuf_grow(&huge, SIZE_MAX), -E2BIG,
		    "grow to SIZE_MAX with max SIZE_MAX");
		is_int(strbuf_addstr(&huge, "ok"), 0, "unbounded max still works");
	}
}

int
main(void)
{
	test_add_rows();
	test_addf();
	test_nul_and_grow();
	return done_testing();
}
