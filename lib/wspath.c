/* wspath.c - workspace path rules and the no-symlink opener (see
 * wspath.h). Used by the API and the CLI to refuse bad paths, and by the
 * cells to create a job's files; trusts neither the path nor anything
 * already in the directory tree under dirfd.
 *
 * How it works: a lookup is one openat2(2) with RESOLVE_BENEATH (no
 * escaping dirfd) and RESOLVE_NO_SYMLINKS (no link in any part) where the
 * kernel allows it. Otherwise, and always when directories are to be
 * made, the path is walked a part at a time: mkdirat() if asked (EEXIST
 * is fine), then openat(O_DIRECTORY | O_NOFOLLOW) of that one name under
 * the fd of the directory before, so a link in place of any part fails
 * the open instead of being followed. The rules refuse "." and ".."
 * before any of this. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#if defined(SYS_openat2) && __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif

#include "wspath.h"
#include "banned.h"

_Static_assert(WSPATH_PART_MAX <= NAME_MAX, "a valid part must fit a name");
_Static_assert(WSPATH_MAX < PATH_MAX, "a valid path must fit a path");

int
wspath_check_len(const char *path, size_t len)
{
	size_t part = 0;

	if (len == 0 || path[0] == '/')
		return -EINVAL;
	if (len > WSPATH_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char) path[i] : '/';

		if (c == '/') {
			const char *start = path + i - part;

			if (part == 0 || (part == 1 && start[0] == '.') ||
			    (part == 2 && start[0] == '.' && start[1] == '.'))
				return -EINVAL;
			part = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)	/* NUL included */
			return -EINVAL;
		if (++part > WSPATH_PART_MAX)
			return -ENAMETOOLONG;
	}
	return 0;
}

int
wspath_check(const char *path)
{
	/* strnlen: a path longer than the limit is not read to its end */
	return wspath_check_len(path, strnlen(path, WSPATH_MAX + 1));
}

/* openat2 beneath dirfd with no link anywhere: fd >= 0, -errno, or
 * -ENOSYS where the caller must walk instead. */
static int
open_beneath(int dirfd, const char *path, int oflags, mode_t mode)
{
#ifdef HAVE_OPENAT2
	struct open_how how = {
		.flags = (unsigned long long) (oflags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (oflags & O_CREAT) || (oflags & O_TMPFILE) ==
		    O_TMPFILE ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	if (fd >= 0)
		return (int) fd;
	/* ENOSYS: before Linux 5.6. EPERM: a seccomp filter (older Docker
	 * profiles) refusing a syscall it does not know. EAGAIN: a rename
	 * raced the lookup (openat2(2)). The walk is as safe, only slower. */
	if (errno == ENOSYS || errno == EPERM || errno == EAGAIN)
		return -ENOSYS;
	return -errno;
#else
	(void) dirfd;
	(void) path;
	(void) oflags;
	(void) mode;
	return -ENOSYS;
#endif
}

/* Walks path (already checked) under dirfd, one part at a time, making
 * directories if WSPATH_MKDIR. all: open every part as a directory and
 * return the last; else stop before the last part and point *ret_leaf at
 * it. fd >= 0 (never dirfd itself) or -errno. */
static int
walk(int dirfd, const char *path, unsigned flags, bool all,
    const char **ret_leaf)
{
	char part[WSPATH_PART_MAX + 1];
	const char *p = path;
	int cur = -1;	/* owned once >= 0; -1 stands for dirfd */

	for (;;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t) (e - p);
		int at = cur >= 0 ? cur : dirfd, next;

		if (*e == '\0' && !all) {
			if (cur < 0 && (cur = fcntl(dirfd, F_DUPFD_CLOEXEC,
			    3)) < 0)
				return -errno;
			*ret_leaf = p;
			return cur;
		}
		memcpy(part, p, n);	/* n <= WSPATH_PART_MAX: checked */
		part[n] = '\0';
		if ((flags & WSPATH_MKDIR) &&
		    mkdirat(at, part, WSPATH_DIR_MODE) < 0 && errno != EEXIST)
			next = -errno;
		else if ((next = openat(at, part, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) < 0)
			next = -errno;
		if (cur >= 0)
			(void) close(cur);
		if (next < 0)
			return next;
		cur = next;
		if (*e == '\0')
			return cur;
		p = e + 1;
	}
}

int
wspath_open_parent(int dirfd, const char *path, unsigned flags,
    const char **ret_leaf)
{
	int r;

	if ((r = wspath_check(path)) < 0)
		return r;
	return walk(dirfd, path, flags, false, ret_leaf);
}

int
wspath_open_dir(int dirfd, const char *path, unsigned flags)
{
	int r;

	if ((r = wspath_check(path)) < 0)
		return r;
	if (!(flags & (WSPATH_MKDIR | WSPATH_NO_OPENAT2)) &&
	    (r = open_beneath(dirfd, path, O_RDONLY | O_DIRECTORY, 0)) !=
	    -ENOSYS)
		return r;
	return walk(dirfd, path, flags, true, NULL);
}

int
wspath_open(int dirfd, const char *path, int oflags, mode_t mode,
    unsigned flags)
{
	const char *leaf = NULL;
	int dfd, fd, r;

	if ((r = wspath_check(path)) < 0)
		return r;
	if (!(flags & (WSPATH_MKDIR | WSPATH_NO_OPENAT2)) &&
	    (r = open_beneath(dirfd, path, oflags, mode)) != -ENOSYS)
		return r;
	if ((dfd = walk(dirfd, path, flags, false, &leaf)) < 0)
		return dfd;
	fd = openat(dfd, leaf, oflags | O_NOFOLLOW | O_CLOEXEC, mode);
	r = fd < 0 ? -errno : fd;
	(void) close(dfd);
	return r;
}

int
wspath_open_name(int dirfd, const char *name, int oflags)
{
	int r, fd;

	/* Any byte but '/' and NUL: the name came from readdir. */
	if (name[0] == '\0' || strchr(name, '/') ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if ((r = open_beneath(dirfd, name, oflags, 0)) != -ENOSYS)
		return r;
	fd = openat(dirfd, name, oflags | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
