/* ns_files.c - the job's files and cwd in a namespace cell's /work,
 * created by the cell's init before the job runs: every path is walked
 * part by part under directory fds, never through a symlink, and its rules
 * (no empty, "." or ".." part) are checked again though the API did.
 * Runs after clone(), in the cell; no stdio, no logging. */
#include <errno.h>
#include <fcntl.h>
/* NAME_MAX; under -Ilib, <limits.h> finds lib/limits.h */
#include <linux/limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "ns_int.h"
#include "banned.h"

/* Walks the directories of rel (all its parts but the last, or all of it if
 * !leaf) under dfd, creating them if mkdirs, never following a symlink.
 * Returns an fd of the last directory (>= 0) and *ret_leaf the last part,
 * or -errno. Refuses empty, "." and ".." parts again (the API did too). */
static int
walk_dirs(int dfd, const char *rel, bool mkdirs, bool leaf,
    const char **ret_leaf)
{
	char part[NAME_MAX + 1];
	const char *p = rel, *e;
	int cur = dfd, next;

	for (;;) {
		size_t n;

		e = strchrnul(p, '/');
		n = (size_t) (e - p);
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			if (cur != dfd)
				(void) close(cur);
			return -EINVAL;
		}
		if (*e == '\0' && leaf) {
			*ret_leaf = p;
			if (cur != dfd)
				return cur;
			next = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
			return next < 0 ? -errno : next;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		if (mkdirs && mkdirat(cur, part, 0755) < 0 && errno != EEXIST) {
			next = -errno;
		} else {
			next = openat(cur, part, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				next = -errno;
		}
		if (cur != dfd)
			(void) close(cur);
		if (next < 0)
			return next;
		cur = next;
		if (*e == '\0') {
			*ret_leaf = NULL;
			return cur;
		}
		p = e + 1;
	}
}

/* Creates spec->files under /work (our cwd): O_CREAT | O_EXCL |
 * O_NOFOLLOW under directory fds, so nothing is ever written through a
 * link, even though no job code has run yet to plant one. */
int
ns_write_files(const struct cell_spec *spec)
{
	_cleanup_close_ int work = -1;

	if (spec->nfiles == 0)
		return 0;
	if ((work = open("/work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	for (size_t i = 0; i < spec->nfiles; i++) {
		const struct cell_file *f = &spec->files[i];
		_cleanup_close_ int dir = -1, fd = -1;
		const char *leaf = NULL;
		size_t off = 0;
		ssize_t w;

		if ((dir = walk_dirs(work, f->path, true, true, &leaf)) < 0)
			return dir;
		fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		while (off < f->len) {
			if ((w = write(fd, f->data + off, f->len - off)) < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += (size_t) w;
		}
	}
	return 0;
}

/* chdir into /work/cwd, part by part, without following links. */
int
ns_enter_cwd(const char *cwd)
{
	_cleanup_close_ int work = -1, dir = -1;
	const char *leaf;

	if (!cwd)
		return 0;
	if ((work = open("/work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	if ((dir = walk_dirs(work, cwd, false, false, &leaf)) < 0)
		return dir;
	if (fchdir(dir) < 0)
		return -errno;
	return 0;
}
