/* wsglob.h - artifact globs: the rules for a pattern a job request names
 * ("artifacts", DESIGN section 4) and the matcher the worker walks the
 * workspace with. Pure: no I/O, no allocation, thread-safe.
 *
 * A pattern is a relative path whose parts are fnmatch(3) patterns ("*",
 * "?", "[...]", "\" escapes; "*" matches a leading dot too, never a "/"),
 * and a part that is exactly "**" matches any number of directories,
 * none included: "**" alone matches every file, and the parts a, **, b
 * (joined by slashes; a comment cannot spell it) match a/b, a/x/b and
 * a/x/y/b. Paths are matched part against part, so no pattern part ever
 * spans a "/". */
#ifndef JOBCELL_WSGLOB_H
#define JOBCELL_WSGLOB_H

#include <stdbool.h>
#include <stddef.h>

#define WSGLOB_MAX_PATTERNS	32	/* "artifacts" entries of one job */
#define WSGLOB_MAX		1024	/* bytes of one pattern */
#define WSGLOB_MAX_PARTS	64	/* parts of a pattern, and the depth
					 * a path is matched (and walked) to */

/* Checks the len bytes of pattern: 1..WSGLOB_MAX bytes, relative (no
 * leading '/'), no empty part, no part "." or "..", no NUL or control
 * byte, at most WSGLOB_MAX_PARTS parts, each at most 255 bytes. 0,
 * -EINVAL or -ENAMETOOLONG. Refused, never repaired. */
int wsglob_check_len(const char *pattern, size_t len);

/* True if the relative path (parts split by '/', any bytes but NUL, as
 * the walker builds it) matches pattern (checked by wsglob_check_len). */
bool wsglob_match(const char *pattern, const char *path);

/* True if some path below the directory dir (a relative path as above)
 * could match pattern: the walker descends only into such directories. */
bool wsglob_match_dir(const char *pattern, const char *dir);

#endif
