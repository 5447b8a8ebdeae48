/* wsglob.c - artifact globs (see wsglob.h). Each part is matched with
 * fnmatch(3) (glibc's, flags 0: a part holds no '/'); "**" parts are
 * this file's. Runs in jobcell-api (checking requests) and in
 * jobcell-worker (matching the workspace's paths); trusts neither the
 * pattern nor the path beyond their C strings.
 *
 * How it works: the pattern and the path are cut into parts (pointers
 * and lengths, at most WSGLOB_MAX_PARTS each), then matched from the
 * left: a plain part must match the path's part; a "**" part tries to
 * swallow 0, 1, 2 ... path parts. The recursion is bounded by the part
 * counts (64 x 64 steps at worst for each "**"). */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "wsglob.h"
#include "banned.h"

#define PART_MAX 255

struct parts {
	const char *p[WSGLOB_MAX_PARTS];
	size_t len[WSGLOB_MAX_PARTS];
	size_t n;
};

int
wsglob_check_len(const char *pattern, size_t len)
{
	size_t part = 0, nparts = 0;

	if (len == 0 || pattern[0] == '/')
		return -EINVAL;
	if (len > WSGLOB_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char) pattern[i] : '/';

		if (c == '/') {
			const char *start = pattern + i - part;

			if (part == 0 || (part == 1 && start[0] == '.') ||
			    (part == 2 && start[0] == '.' && start[1] == '.'))
				return -EINVAL;
			if (++nparts > WSGLOB_MAX_PARTS)
				return -ENAMETOOLONG;
			part = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)	/* NUL included */
			return -EINVAL;
		if (++part > PART_MAX)
			return -ENAMETOOLONG;
	}
	return 0;
}

/* Cuts s at '/': false if it has more than WSGLOB_MAX_PARTS parts. An
 * empty s has no parts. */
static bool
split(const char *s, struct parts *ret)
{
	ret->n = 0;
	if (*s == '\0')
		return true;
	for (;;) {
		const char *e = strchrnul(s, '/');

		if (ret->n == WSGLOB_MAX_PARTS)
			return false;
		ret->p[ret->n] = s;
		ret->len[ret->n] = (size_t) (e - s);
		ret->n++;
		if (*e == '\0')
			return true;
		s = e + 1;
	}
}

static bool
is_globstar(const struct parts *pat, size_t i)
{
	return pat->len[i] == 2 && pat->p[i][0] == '*' && pat->p[i][1] == '*';
}

/* One pattern part against one path part (fnmatch needs C strings). */
static bool
part_match(const struct parts *pat, size_t i, const struct parts *path,
    size_t j)
{
	char p[PART_MAX + 1], s[PART_MAX + 1];

	if (pat->len[i] > PART_MAX || path->len[j] > PART_MAX)
		return false;
	memcpy(p, pat->p[i], pat->len[i]);
	p[pat->len[i]] = '\0';
	memcpy(s, path->p[j], path->len[j]);
	s[path->len[j]] = '\0';
	return fnmatch(p, s, 0) == 0;
}

/* Pattern parts i.. against path parts j..; prefix: true as well when the
 * path runs out first (a directory some match may lie below). */
static bool
match_from(const struct parts *pat, size_t i, const struct parts *path,
    size_t j, bool prefix)
{
	for (; i < pat->n; i++, j++) {
		if (is_globstar(pat, i)) {
			/* Swallow k path parts; a directory is always a
			 * candidate under "**". */
			if (prefix)
				return true;
			/* A trailing globstar takes at least one part: it is
			 * what lies below the directory, not the directory. */
			for (size_t k = j + (i + 1 == pat->n); k <= path->n;
			    k++)
				if (match_from(pat, i + 1, path, k, false))
					return true;
			return false;
		}
		if (j == path->n)
			return prefix;
		if (!part_match(pat, i, path, j))
			return false;
	}
	return j == path->n && !prefix;
}

bool
wsglob_match(const char *pattern, const char *path)
{
	struct parts pat, p;

	if (!split(pattern, &pat) || !split(path, &p) || p.n == 0)
		return false;
	return match_from(&pat, 0, &p, 0, false);
}

bool
wsglob_match_dir(const char *pattern, const char *dir)
{
	struct parts pat, p;

	if (!split(pattern, &pat) || !split(dir, &p))
		return false;
	return match_from(&pat, 0, &p, 0, true);
}
