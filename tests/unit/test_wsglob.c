/* test_wsglob.c - unit tests for lib/wsglob.c: the pattern rules (empty,
 * absolute, "..", ".", empty parts, control bytes, max and max+1 lengths
 * and part counts) and the matcher, table driven: "*", "?", "[...]",
 * escapes, "**" at the start, middle and end, dot files, names with
 * newlines, '%', UTF-8 and 255-byte parts, and directory pruning. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "wsglob.h"
#include "tap.h"
#include "banned.h"

#define SL "/"	/* keeps "**" and "/" apart in C comments' eyes */

static void
test_check(void)
{
	static char max[WSGLOB_MAX + 2], deep[WSGLOB_MAX_PARTS * 2 + 4];
	static const struct {
		const char *s;
		int r;
	} rows[] = {
		{ "a", 0 }, { "*.txt", 0 }, { "build" SL "**" SL "*.o", 0 },
		{ "**", 0 }, { "[a-z]?", 0 }, { ".hidden", 0 }, { "a b%c", 0 },
		{ "caf\xc3\xa9", 0 }, { "", -EINVAL }, { "/etc/passwd", -EINVAL },
		{ "../x", -EINVAL }, { "a" SL ".." SL "b", -EINVAL },
		{ "." SL "a", -EINVAL }, { "a//b", -EINVAL }, { "a" SL, -EINVAL },
		{ "a\nb", -EINVAL }, { "a\x01", -EINVAL }, { "\x7f", -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(wsglob_check_len(rows[i].s, strlen(rows[i].s)),
		    rows[i].r, "check '%s'", rows[i].s);
	is_int(wsglob_check_len("a\0b", 3), -EINVAL, "an embedded NUL");
	/* WSGLOB_MAX bytes pass, one more does not */
	for (size_t i = 0; i < WSGLOB_MAX; i++)
		max[i] = (i % 200 == 199) ? '/' : 'x';
	is_int(wsglob_check_len(max, WSGLOB_MAX), 0, "%d bytes", WSGLOB_MAX);
	max[WSGLOB_MAX] = 'x';
	is_int(wsglob_check_len(max, WSGLOB_MAX + 1), -ENAMETOOLONG,
	    "%d bytes", WSGLOB_MAX + 1);
	memset(max, 'y', 256);
	is_int(wsglob_check_len(max, 255), 0, "a 255-byte part");
	is_int(wsglob_check_len(max, 256), -ENAMETOOLONG, "a 256-byte part");
	/* WSGLOB_MAX_PARTS parts pass, one more does not */
	for (size_t i = 0; i < WSGLOB_MAX_PARTS; i++) {
		deep[2 * i] = 'd';
		deep[2 * i + 1] = '/';
	}
	is_int(wsglob_check_len(deep, WSGLOB_MAX_PARTS * 2 - 1), 0,
	    "%d parts", WSGLOB_MAX_PARTS);
	deep[WSGLOB_MAX_PARTS * 2] = 'd';
	is_int(wsglob_check_len(deep, WSGLOB_MAX_PARTS * 2 + 1),
	    -ENAMETOOLONG, "%d parts", WSGLOB_MAX_PARTS + 1);
}

static void
test_match(void)
{
	static char longname[300];
	static const struct {
		const char *pat, *path;
		bool m;
	} rows[] = {
		{ "a.txt", "a.txt", true },
		{ "a.txt", "b.txt", false },
		{ "a.txt", "d" SL "a.txt", false },	/* anchored */
		{ "*.txt", "a.txt", true },
		{ "*.txt", ".a.txt", true },		/* dots too */
		{ "*.txt", "d" SL "a.txt", false },	/* '*' stops at '/' */
		{ "*", "a" SL "b", false },
		{ "d" SL "*", "d" SL "x", true },
		{ "?.c", "a.c", true },
		{ "?.c", "ab.c", false },
		{ "[ab].c", "b.c", true },
		{ "[!ab].c", "b.c", false },
		{ "[a-c]*", "cat", true },
		{ "\\*", "*", true },
		{ "\\*", "a", false },
		{ "**", "a", true },
		{ "**", "a" SL "b" SL "c", true },
		{ "**" SL "*.xml", "r.xml", true },
		{ "**" SL "*.xml", "a" SL "b" SL "r.xml", true },
		{ "**" SL "*.xml", "a" SL "b" SL "r.xm", false },
		{ "reports" SL "**" SL "*.xml", "reports" SL "t.xml", true },
		{ "reports" SL "**" SL "*.xml", "reports" SL "x" SL "y" SL
		    "t.xml", true },
		{ "reports" SL "**" SL "*.xml", "other" SL "t.xml", false },
		{ "a" SL "**", "a" SL "b" SL "c", true },
		{ "a" SL "**", "a", false },		/* files below a */
		{ "a" SL "**" SL "b" SL "**" SL "c", "a" SL "x" SL "b" SL "c",
		    true },
		{ "a**b", "axxb", true },		/* not alone: two '*' */
		{ "a**b", "ax" SL "b", false },
		{ "out\n*", "out\nfile", true },	/* bytes of the path */
		{ "*", "100%", true },
		{ "*%*", "a%20b", true },
		{ "caf\xc3\xa9.txt", "caf\xc3\xa9.txt", true },
		{ "*.txt", "\xe2\x98\x83.txt", true },
		{ "build" SL "*.tar.gz", "build" SL "x.tar.gz", true },
		{ "x", "", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		ok(wsglob_match(rows[i].pat, rows[i].path) == rows[i].m,
		    "'%s' %s '%s'", rows[i].pat, rows[i].m ? "matches" :
		    "does not match", rows[i].path);
	memset(longname, 'n', 255);
	ok(wsglob_match("*", longname), "a 255-byte name matches '*'");
	ok(wsglob_match(longname, longname), "and itself");
	longname[255] = 'n';
	ok(!wsglob_match("*", longname), "a 256-byte part never matches");
}

static void
test_dir(void)
{
	static const struct {
		const char *pat, *dir;
		bool m;
	} rows[] = {
		{ "a.txt", "", true },		/* the workspace itself */
		{ "a.txt", "d", false },
		{ "d" SL "*.txt", "d", true },
		{ "d" SL "*.txt", "e", false },
		{ "d" SL "*.txt", "d" SL "e", false },
		{ "*" SL "x", "anything", true },
		{ "**" SL "x", "a" SL "b" SL "c", true },
		{ "r" SL "**", "r" SL "s", true },
		{ "r" SL "**", "q", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		ok(wsglob_match_dir(rows[i].pat, rows[i].dir) == rows[i].m,
		    "below '%s': '%s' %s", rows[i].dir, rows[i].pat,
		    rows[i].m ? "may match" : "cannot match");
}

int
main(void)
{
	test_check();
	test_match();
	test_dir();
	return done_testing();
}
