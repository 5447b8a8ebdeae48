/* workspace_fill.c - puts a job's inputs (tar archives: plain, gzip, xz,
 * zstd, bzip2, via libarchive; or single files) and its files into its disk
 * workspace before any job code runs. Runs in a jobcell-worker process,
 * which forks the unpacker: a child in its own mount namespace, chrooted
 * into the mounted workspace, with the slot's uid and gid, no capabilities
 * and no_new_privs, RLIMIT_FSIZE at disk_mb and SIGXFSZ ignored,
 * RLIMIT_DATA at FILL_DATA_MAX (a decoder's window is the archive's to
 * declare: xz may ask for up to libarchive's 1 GiB, and the unpacker runs
 * in the worker's cgroup, not the job's). Trusts
 * nothing it reads: every archive path is checked by the workspace-path
 * rules (lib/wspath.h) and opened under directory fds without following a
 * link, even one the same archive made; hardlinks only to paths inside,
 * no device nodes, FIFOs or sockets, modes masked to 0777, entries and
 * declared sizes bounded. The chroot, the uid and the file system of the
 * job's own are the second wall: a bug here reaches only what the job
 * could reach anyway.
 *
 * The child reports one fixed-size record on a pipe ({err, message}) and
 * exits; no stdio, no logging in it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "archive_dl.h"
#include "cell_int.h"
#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "wspath.h"
#include "banned.h"

/* libarchive's functions: loaded by the entry point below, before it
 * forks the confined child that reads (archive_dl.h). */
static const struct archive_dl *la;

/* The unpacker's heap and mappings, the worker's inherited ones included
 * (a few MiB): room for zstd's default 128 MiB window, not for an xz
 * stream that declares a 768 MiB dictionary. */
#define FILL_DATA_MAX (256ull << 20)

struct fill_report {
	int32_t err;   /* positive errno, 0: done */
	char msg[280]; /* the sentence for the job's error */
};

struct fill_ctx {
	int root; /* "/" of the chroot: the workspace */
	uint64_t disk_bytes;
	uint64_t declared; /* sum of the entries' sizes so far */
	size_t entries;
	struct fill_report rep;
	char *buf;
	size_t buf_size;
};

/* Copies s for a message: at most 80 bytes, control bytes as '?'. */
static void
quote(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && i + 1 < size && i < 80 && s[i]; i++)
		dst[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' :
								       s[i];
	dst[i] = '\0';
}

static int
fail(struct fill_ctx *c, int err, const char *what, const char *detail)
{
	char q[96];

	quote(q, sizeof(q), detail);
	c->rep.err = err > 0 ? err : EIO;
	(void) snprintf(c->rep.msg, sizeof(c->rep.msg), "%s%s%s%s", what,
	    detail ? " '" : "", detail ? q : "", detail ? "'" : "");
	return -c->rep.err;
}

/* The sentence for a write error: a full workspace is the job's disk_mb. */
static int
fail_write(struct fill_ctx *c, int neg, const char *path)
{
	if (neg == -ENOSPC || neg == -EFBIG || neg == -EDQUOT)
		return fail(c, -neg,
		    "does not fit in the workspace (disk_mb: "
		    "too many bytes or files), at",
		    path);
	char ebuf[96];

	(void) snprintf(ebuf, sizeof(ebuf),
	    "cannot write (%s):", strerror(-neg));
	return fail(c, -neg, ebuf, path);
}

/* An archive path made relative: "./" prefixes and one trailing '/'
 * dropped; "" for the archive's root entry. The rest is for wspath. */
static const char *
archive_rel(const char *p, char *buf, size_t size)
{
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (strcmp(p, ".") == 0)
		return "";
	n = strlen(p);
	if (n >= size)
		return NULL;
	memcpy(buf, p, n + 1);
	if (n > 0 && buf[n - 1] == '/')
		buf[n - 1] = '\0';
	return buf;
}

/* The parent of path (made if missing) and its leaf, with whatever is at
 * the leaf removed (tar replaces; a directory stays, for a directory). */
static int
open_leaf(struct fill_ctx *c, const char *path, bool keep_dir,
    const char **leaf)
{
	int pfd = wspath_open_parent(c->root, path, WSPATH_MKDIR, leaf);
	struct stat st;

	if (pfd < 0)
		return pfd;
	if (fstatat(pfd, *leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode) ?
			(!keep_dir && unlinkat(pfd, *leaf, AT_REMOVEDIR) < 0) :
			unlinkat(pfd, *leaf, 0) < 0) {
			int r = -errno;

			(void) close(pfd);
			return r;
		}
	}
	return pfd;
}

static int
extract_data(struct fill_ctx *c, struct archive *a, int fd, const char *path,
    const char *name)
{
	for (;;) {
		const void *blk;
		size_t len;
		la_int64_t off;
		int r = la->read_data_block(a, &blk, &len, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return fail(c, EINVAL,
			    "is truncated or corrupt "
			    "(libarchive cannot read the data) at",
			    name);
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, (const char *) blk + done,
			    len - done, (off_t) off + (off_t) done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fail_write(c, n < 0 ? -errno : -ENOSPC,
				    path);
			done += (size_t) n;
		}
	}
}

static int
extract_entry(struct fill_ctx *c, struct archive *a, struct archive_entry *e,
    const char *base)
{
	char pbuf[JC_PATH_MAX], full[JC_PATH_MAX], tbuf[JC_PATH_MAX];
	const char *rel, *leaf, *src = la->entry_pathname(e);
	_cleanup_close_ int pfd = -1, fd = -1;
	mode_t type = la->entry_filetype(e);
	mode_t mode = la->entry_perm(e) & 0777;
	int r;

	if (!src || !(rel = archive_rel(src, pbuf, sizeof(pbuf))))
		return fail(c, EINVAL, "has an entry without a usable path",
		    NULL);
	if (++c->entries > JC_MAX_INPUT_ENTRIES) {
		char m[96];

		(void) snprintf(m, sizeof(m),
		    "has more than %u entries, the "
		    "most an input may have; at",
		    JC_MAX_INPUT_ENTRIES);
		return fail(c, EFBIG, m, src);
	}
	if (la->entry_size_is_set(e) && la->entry_size(e) > 0) {
		c->declared += (uint64_t) la->entry_size(e);
		if (c->declared > c->disk_bytes)
			return fail(c, ENOSPC,
			    "unpacks to more bytes than the "
			    "workspace holds (disk_mb), at",
			    src);
	}
	if (rel[0] == '\0' && type == AE_IFDIR)
		return 0; /* "./": the workspace itself */
	if ((size_t) snprintf(full, sizeof(full), "%s%s%s", base,
		base[0] && rel[0] ? "/" : "", rel) >= sizeof(full) ||
	    wspath_check(full) < 0)
		return fail(c, EINVAL,
		    "has an unsafe path (absolute, '..', "
		    "or too long):",
		    src);
	if (la->entry_hardlink(e)) {
		const char *t = la->entry_hardlink(e), *tleaf;
		char tfull[JC_PATH_MAX];
		_cleanup_close_ int tfd = -1;

		if (!(t = archive_rel(t, tbuf, sizeof(tbuf))) ||
		    (size_t) snprintf(tfull, sizeof(tfull), "%s%s%s", base,
			base[0] && t[0] ? "/" : "", t) >= sizeof(tfull) ||
		    wspath_check(tfull) < 0)
			return fail(c, EINVAL,
			    "has a hardlink to outside "
			    "the workspace:",
			    la->entry_hardlink(e));
		if ((tfd = wspath_open_parent(c->root, tfull, 0, &tleaf)) < 0 ||
		    (pfd = open_leaf(c, full, false, &leaf)) < 0)
			return fail(c, tfd < 0 ? -tfd : -pfd,
			    "has a hardlink "
			    "to a path it did not make:",
			    la->entry_hardlink(e));
		if (linkat(tfd, tleaf, pfd, leaf, 0) < 0)
			return fail(c, errno,
			    "has a hardlink that cannot be "
			    "made:",
			    src);
		return 0;
	}
	switch (type) {
	case AE_IFDIR:
		if ((fd = wspath_open_dir(c->root, full, WSPATH_MKDIR)) < 0)
			return fail(c, -fd,
			    "has a directory that cannot be "
			    "made (a link or a file in its way):",
			    src);
		/* the owner keeps rwx, or the rest could not be unpacked */
		if (fchmod(fd, mode | 0700) < 0)
			return fail_write(c, -errno, full);
		return 0;
	case AE_IFLNK:
		if ((pfd = open_leaf(c, full, false, &leaf)) < 0)
			return fail(c, -pfd,
			    "has a symlink that cannot be "
			    "made:",
			    src);
		/* The target may say anything: nothing here ever follows a
		 * link, and the job sees only its own file system. */
		if (symlinkat(la->entry_symlink(e) ? la->entry_symlink(e) : "",
			pfd, leaf) < 0)
			return fail_write(c, -errno, full);
		return 0;
	case AE_IFREG:
		if ((pfd = open_leaf(c, full, false, &leaf)) < 0)
			return fail(c, -pfd,
			    "has a file that cannot be made "
			    "(a link or a file in its way):",
			    src);
		if ((fd = openat(pfd, leaf,
			 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			 0600)) < 0)
			return fail_write(c, -errno, full);
		if ((r = extract_data(c, a, fd, full, src)) < 0)
			return r;
		if (la->entry_size_is_set(e) &&
		    ftruncate(fd, (off_t) la->entry_size(e)) < 0)
			return fail_write(c, -errno, full);
		if (fchmod(fd, mode) < 0)
			return fail_write(c, -errno, full);
		return 0;
	default:
		return fail(c, EPERM,
		    "has a device node, FIFO or socket, which "
		    "inputs may not hold:",
		    src);
	}
}

static int
extract_tar(struct fill_ctx *c, int blob_fd, const char *base)
{
	struct archive *a = la->read_new();
	struct archive_entry *e;
	int r = 0, ar;

	if (!a)
		return fail(c, ENOMEM, "cannot start libarchive", NULL);
	/* Only the filters built into libarchive: never one that runs an
	 * outside program. */
	if (la->read_support_filter_gzip(a) != ARCHIVE_OK ||
	    la->read_support_filter_xz(a) != ARCHIVE_OK ||
	    la->read_support_filter_zstd(a) != ARCHIVE_OK ||
	    la->read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    la->read_support_format_tar(a) != ARCHIVE_OK ||
	    la->read_open_fd(a, blob_fd, 1 << 17) != ARCHIVE_OK) {
		r = fail(c, EINVAL,
		    "is not a readable tar archive (plain, gzip, "
		    "xz, zstd or bzip2):",
		    la->error_string(a));
		goto out;
	}
	while ((ar = la->read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (ar < ARCHIVE_WARN) {
			r = fail(c, EINVAL,
			    c->entries ?
				"is truncated or "
				"corrupt after its first entries:" :
				"is not a "
				"readable tar archive (plain, gzip, xz, zstd or "
				"bzip2):",
			    la->error_string(a));
			goto out;
		}
		if ((r = extract_entry(c, a, e, base)) < 0)
			goto out;
	}
out:
	(void) la->read_free(a);
	return r;
}

static int
place_file(struct fill_ctx *c, int src_fd, const char *data, size_t len,
    const char *path, bool executable)
{
	_cleanup_close_ int pfd = -1, fd = -1;
	const char *leaf;

	if ((pfd = open_leaf(c, path, false, &leaf)) < 0)
		return fail(c, -pfd,
		    "cannot be placed (a link or a file in its "
		    "way) at",
		    path);
	if ((fd = openat(pfd, leaf,
		 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) <
	    0)
		return fail_write(c, -errno, path);
	if (src_fd >= 0) {
		for (;;) {
			ssize_t n = read(src_fd, c->buf, c->buf_size);
			int r;

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return fail(c, errno, "cannot be read", NULL);
			if (n == 0)
				break;
			if ((r = write_full(fd, c->buf, (size_t) n)) < 0)
				return fail_write(c, r, path);
		}
	} else {
		int r = write_full(fd, data, len);

		if (r < 0)
			return fail_write(c, r, path);
	}
	if (fchmod(fd, executable ? 0755 : 0644) < 0)
		return fail_write(c, -errno, path);
	return 0;
}

/* Closes every fd but the workspace's root, the report pipe and the
 * inputs: the worker's others (the database, the doorbell, other pipes)
 * must not be within reach of code that parses hostile archives. */
static int
close_other_fds(int root_fd, int rep_w, const struct cell_input *inputs,
    size_t ninputs)
{
	int keep[2 + JC_MAX_INPUTS];
	size_t n = 0;

	if (ninputs > JC_MAX_INPUTS)
		return -E2BIG;
	keep[n++] = root_fd;
	keep[n++] = rep_w;
	for (size_t i = 0; i < ninputs; i++)
		keep[n++] = inputs[i].fd;
	return cell_close_fds_except(keep, n);
}

/* The unpacker: never returns. */
static _Noreturn void
fill_child(int root_fd, int rep_w, uid_t uid, gid_t gid, uint64_t disk_mb,
    const struct cell_file *files, size_t nfiles,
    const struct cell_input *inputs, size_t ninputs)
{
	struct fill_ctx c = { .disk_bytes = disk_mb << 20 };
	const char *step = "cannot enter the workspace";
	int r = 0;

	(void) prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L);
	if ((errno = -close_other_fds(root_fd, rep_w, inputs, ninputs)) != 0)
		goto sys;
	/* cell_confine: chrooted into the workspace as the slot's ids */
	if ((errno = -cell_confine(root_fd, uid, gid, disk_mb << 20,
		 FILL_DATA_MAX, &step)) != 0)
		goto sys;
	(void) umask(022);
	step = "cannot open the workspace";
	if ((c.root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto sys;
	c.buf_size = 1 << 17;
	if (!(c.buf = malloc(c.buf_size)))
		goto sys;
	for (size_t i = 0; i < ninputs && r == 0; i++) {
		const struct cell_input *in = &inputs[i];

		if (in->tar) {
			int d = -1;

			/* the directory of path, made first (a link in its
			 * way fails) */
			if (in->path[0] &&
			    (d = wspath_open_dir(c.root, in->path,
				 WSPATH_MKDIR)) < 0)
				r = fail(&c, -d,
				    "cannot be unpacked (a link or "
				    "a file in its way) at",
				    in->path);
			else {
				if (d >= 0)
					(void) close(d);
				r = extract_tar(&c, in->fd, in->path);
			}
		} else {
			r = place_file(&c, in->fd, NULL, 0, in->path,
			    in->executable);
		}
		if (r < 0) {
			char m[sizeof(c.rep.msg) + 64];

			(void) snprintf(m, sizeof(m), "input %s %s", in->name,
			    c.rep.msg);
			memcpy(c.rep.msg, m, sizeof(c.rep.msg) - 1);
		}
	}
	for (size_t i = 0; i < nfiles && r == 0; i++)
		if ((r = place_file(&c, -1, files[i].data, files[i].len,
			 files[i].path, files[i].executable)) < 0) {
			char m[sizeof(c.rep.msg) + 64];

			(void) snprintf(m, sizeof(m), "file %s", c.rep.msg);
			memcpy(c.rep.msg, m, sizeof(c.rep.msg) - 1);
		}
	(void) write_full(rep_w, &c.rep, sizeof(c.rep));
	_exit(r < 0 ? 1 : 0);
sys:
	c.rep.err = errno ? errno : EIO;
	(void) snprintf(c.rep.msg, sizeof(c.rep.msg), "%s: %s", step,
	    strerror(c.rep.err));
	(void) write_full(rep_w, &c.rep, sizeof(c.rep));
	_exit(1);
}

/* Monotonic ms. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
cell_workspace_fill(struct cell_workspace *ws, uid_t uid, gid_t gid,
    uint64_t disk_mb, const struct cell_file *files, size_t nfiles,
    const struct cell_input *inputs, size_t ninputs, int64_t max_ms,
    void (*keepalive)(void *arg), void *arg, char *msg, size_t size)
{
	_cleanup_close_ int rep_r = -1, rep_w = -1;
	struct fill_report rep = { 0 };
	int fds[2], st;
	ssize_t n;
	pid_t pid;

	if (nfiles == 0 && ninputs == 0)
		return 0;
	for (size_t i = 0; i < ninputs && !la; i++) {
		const char *why;

		if (inputs[i].tar && !(la = archive_dl_load(&why))) {
			(void) snprintf(msg, size, "cannot read %s: %s",
			    inputs[i].name, why);
			return -ELIBACC;
		}
	}
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	rep_r = fds[0];
	rep_w = fds[1];
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		close_fd(&rep_r);
		fill_child(cell_workspace_dirfd(ws), rep_w, uid, gid, disk_mb,
		    files, nfiles, inputs, ninputs);
	}
	close_fd(&rep_w);
	/* The report comes when the unpacker is done: meanwhile the lease
	 * is renewed, and the job's time bounds the wait. */
	int64_t start = mono_ms(), end = max_ms > 0 ? start + max_ms : 0;
	bool late = false;

	for (;;) {
		struct pollfd pfd = { .fd = rep_r, .events = POLLIN };
		int64_t now = mono_ms();
		int wait = 3000;

		if (end && now >= end) {
			late = true;
			(void) kill(pid, SIGKILL);
			break;
		}
		if (end && end - now < wait)
			wait = (int) (end - now);
		int p = poll(&pfd, 1, wait);

		if (p < 0 && errno != EINTR) {
			(void) kill(pid, SIGKILL);
			break;
		}
		if (p > 0)
			break;
		if (keepalive)
			keepalive(arg);
	}
	n = late ? 0 : read_full(rep_r, &rep, sizeof(rep));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (n == (ssize_t) sizeof(rep) && rep.err == 0 && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0)
		return 0;
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (late) {
		(void) snprintf(rep.msg, sizeof(rep.msg),
		    "the inputs took "
		    "longer than the job's timeout to unpack");
		rep.err = ETIMEDOUT;
	} else if (n != (ssize_t) sizeof(rep))
		(void) snprintf(rep.msg, sizeof(rep.msg),
		    "the unpacker ended "
		    "without a report (status 0x%x)",
		    (unsigned) st);
	(void) snprintf(msg, size, "the workspace could not be filled: %s",
	    rep.msg);
	return -(rep.err > 0 ? rep.err : EIO);
}
