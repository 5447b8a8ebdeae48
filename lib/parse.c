/* parse.c - strict decimal integers and bounded string copies. Used by every
 * program on outside input (query strings, config, argv): the whole string
 * must be a number, and every copy is bounded by the destination size. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jc_limits.h"
#include "parse.h"
#include "banned.h"

/* Accumulates negatively so INT64_MIN parses without overflow; no strtoll()
 * because it skips spaces, takes '+' and depends on the locale. */
int
parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	const char *p = s;
	bool neg = false;
	int64_t v = 0;

	if (!s)
		return -EINVAL;
	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p == '\0')
		return -EINVAL;
	for (; *p; p++) {
		int d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = *p - '0';
		if (v < (INT64_MIN + d) / 10)
			goto range;
		v = v * 10 - d;
	}
	if (!neg) {
		if (v == INT64_MIN)
			goto range;
		v = -v;
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
range:
	/* keep scanning: "9999999999999999999x" is not a number at all */
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	return -ERANGE;
}

int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	int64_t v;
	int r;

	if (!s || s[0] == '-' || max > INT64_MAX)
		return -EINVAL;
	if ((r = parse_i64(s, (int64_t) min, (int64_t) max, &v)) < 0)
		return r;
	*ret = (uint64_t) v;
	return 0;
}

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return -E2BIG;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
image_ref_ok(const char *s)
{
	size_t n;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (n = 0; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' &&
		    s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		    strchr("._/:@-", s[n])))
			return 0;
	return n <= JC_MAX_IMAGE_BYTES;
}
