/* test_parse.c - unit tests for lib/parse.c: parse_i64 at and past the
 * int64 edges and the caller's bounds, str_copy truncation, prefixes. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cleanup.h"
#include "parse.h"
#include "tap.h"
#include "banned.h"

static void
test_parse_u64(void)
{
	uint64_t v = 7;

	is_int(parse_u64("0", 0, 10, &v), 0, "u64: 0");
	is_int((int) v, 0, "u64: 0 read");
	is_int(parse_u64("4294967295", 1, UINT32_MAX, &v), 0, "u64: UINT32_MAX");
	ok(v == UINT32_MAX, "u64: UINT32_MAX read");
	v = 7;
	is_int(parse_u64("-0", 0, 10, &v), -EINVAL, "u64: no sign");
	is_int(parse_u64("-1", 0, 10, &v), -EINVAL, "u64: no negative");
	is_int(parse_u64("11", 0, 10, &v), -ERANGE, "u64: above max");
	is_int(parse_u64("0", 1, 10, &v), -ERANGE, "u64: below min");
	is_int(parse_u64("1x", 0, 10, &v), -EINVAL, "u64: not a number");
	is_int(parse_u64("", 0, 10, &v), -EINVAL, "u64: empty");
	is_int(parse_u64("1", 0, UINT64_MAX, &v), -EINVAL,
	    "u64: a max past INT64_MAX is the caller's error");
	is_int((int) v, 7, "u64: nothing written on error");
}

static void
test_parse_i64(void)
{
	static const struct {
		const char *in;
		int64_t min, max;
		int r;
		int64_t v;
	} rows[] = {
		{ "42", 0, 100, 0, 42 },
		{ "101", 0, 100, -ERANGE, 0 },
		{ "100", 0, 100, 0, 100 },
		{ "-1", 0, 100, -ERANGE, 0 },
		{ "0", 0, 100, 0, 0 },
		{ "-0", 0, 100, 0, 0 },
		{ "007", 0, 100, 0, 7 },
		{ "4x", 0, 100, -EINVAL, 0 },
		{ "", 0, 100, -EINVAL, 0 },
		{ "-", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "--1", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "+1", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ " 1", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "1 ", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "0x10", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "1e3", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "1.0", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "\xd9\xa3", INT64_MIN, INT64_MAX, -EINVAL, 0 },	/* Arabic 3 */
		{ "9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX },
		{ "9223372036854775808", INT64_MIN, INT64_MAX, -ERANGE, 0 },
		{ "-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN },
		{ "-9223372036854775809", INT64_MIN, INT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999999999999", INT64_MIN, INT64_MAX,
		    -ERANGE, 0 },
		{ "99999999999999999999x", INT64_MIN, INT64_MAX, -EINVAL, 0 },
		{ "00000000000000000000000000000001", INT64_MIN, INT64_MAX, 0, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int64_t v = -12345;
		int r = parse_i64(rows[i].in, rows[i].min, rows[i].max, &v);

		is_int(r, rows[i].r, "parse_i64 result for '%s'", rows[i].in);
		if (r == 0)
			is_int(v, rows[i].v, "parse_i64 value for '%s'",
			    rows[i].in);
		else
			is_int(v, -12345, "no output on error for '%s'",
			    rows[i].in);
	}
	is_int(parse_i64(NULL, 0, 1, &(int64_t) { 0 }), -EINVAL, "NULL input");
}

static void
test_str_copy(void)
{
	static const struct {
		const char *src;
		size_t size;
		int r;
		const char *want;
	} rows[] = {
		{ "", 1, 0, "" },
		{ "abc", 4, 0, "abc" },		/* exact fit */
		{ "abcd", 4, -E2BIG, "abc" },	/* one over */
		{ "abc", 1, -E2BIG, "" },
		{ "abc", 16, 0, "abc" },
	};
	char buf[16];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(buf, 'Z', sizeof(buf));
		is_int(str_copy(buf, rows[i].size, rows[i].src), rows[i].r,
		    "str_copy '%s' into %zu", rows[i].src, rows[i].size);
		is_str(buf, rows[i].want, "str_copy result for '%s' into %zu",
		    rows[i].src, rows[i].size);
	}
	buf[0] = 'Z';
	is_int(str_copy(buf, 0, "a"), -E2BIG, "str_copy into size 0");
	is_int(buf[0], 'Z', "size 0 writes nothing");
}

static void
test_startswith(void)
{
	static const struct {
		const char *s, *prefix;
		int want;
	} rows[] = {
		{ "/v1/jobs", "/v1/", 1 }, { "/v1", "/v1/", 0 },
		{ "", "", 1 }, { "abc", "", 1 }, { "", "a", 0 },
		{ "abc", "abc", 1 }, { "abd", "abc", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(str_startswith(rows[i].s, rows[i].prefix), rows[i].want,
		    "'%s' starts with '%s'", rows[i].s, rows[i].prefix);
}

int
main(void)
{
	test_parse_i64();
	test_parse_u64();
	test_str_copy();
	test_startswith();
	return done_testing();
}
