/* ns_files.c - the job's files and cwd in a namespace cell's /work,
 * created by the cell's init before the job runs: every path is checked
 * again by the workspace-path rules (lib/wspath.h) though the API did, and
 * opened under directory fds, never through a symlink.
 * Runs after clone(), in the cell; no stdio, no logging. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "ns_int.h"
#include "wspath.h"
#include "banned.h"

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
		_cleanup_close_ int fd = -1;
		int r;

		fd = wspath_open(work, f->path, O_WRONLY | O_CREAT | O_EXCL,
		    f->executable ? 0755 : 0644, WSPATH_MKDIR);
		if (fd < 0)
			return fd;
		if ((r = write_full(fd, f->data, f->len)) < 0)
			return r;
	}
	return 0;
}

/* chdir into /work/cwd without following links (wspath_open_dir). */
int
ns_enter_cwd(const char *cwd)
{
	_cleanup_close_ int work = -1, dir = -1;

	if (!cwd)
		return 0;
	if ((work = open("/work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	if ((dir = wspath_open_dir(work, cwd, 0)) < 0)
		return dir;
	if (fchdir(dir) < 0)
		return -errno;
	return 0;
}
