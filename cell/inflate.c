/* inflate.c - the confinement of a forked child that parses untrusted
 * archives (cell_confine, shared with workspace_fill.c's unpacker), and
 * cell_inflate: a compressed stream (gzip, xz, zstd, bzip2) decompressed
 * by libarchive's filters alone in such a child, its bytes read back by
 * the worker with a hard cap. Runs in a jobcell-worker process; trusts
 * nothing of the stream: a bomb ends at the cap, a decoder bug reaches
 * only an empty read-only tmpfs as an unprivileged uid.
 *
 * How it works: the worker forks; the child confines itself, decodes the
 * blob (a copy of the worker's memory) and writes the bytes to a data
 * pipe, then one fixed-size {err, msg} record to a report pipe, then
 * exits. The worker reads the data pipe until EOF under a deadline; past
 * the cap or the deadline it kills the child. No stdio, no logging in the
 * child. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive_dl.h"
#include "cell_int.h"
#include "cleanup.h"
#include "io.h"
#include "banned.h"

/* libarchive's functions: loaded by the entry point below, before it
 * forks the confined child that reads (archive_dl.h). */
static const struct archive_dl *la;

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *) a, y = *(const int *) b;

	return (x > y) - (x < y);
}

int
cell_close_fds_except(int *keep, size_t n)
{
	unsigned lo = 0;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned) keep[i] > lo &&
		    close_range(lo, (unsigned) keep[i] - 1, 0) < 0)
			return -errno;
		lo = (unsigned) keep[i] + 1;
	}
	return close_range(lo, ~0U, 0) < 0 ? -errno : 0;
}

int
cell_confine(int root_fd, uid_t uid, gid_t gid, uint64_t fsize_bytes,
    uint64_t data_bytes, const char **step)
{
	struct rlimit fsz = { fsize_bytes, fsize_bytes };
	struct rlimit data = { data_bytes, data_bytes };

	*step = "cannot enter its root";
	if (uid == 0 || gid == 0)
		return -EPERM;
	/* Its own mount namespace (nothing it could mount reaches the
	 * host), chrooted into root_fd or into an empty read-only tmpfs
	 * mounted over /tmp in that namespace only. */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (root_fd < 0 &&
	    (mount("jobcell-empty", "/tmp", "tmpfs",
		 MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		 "size=4k,nr_inodes=1,mode=0555") < 0 ||
		chdir("/tmp") < 0))
		return -errno;
	if ((root_fd >= 0 && fchdir(root_fd) < 0) || chroot(".") < 0 ||
	    chdir("/") < 0)
		return -errno;
	/* Then the slot's ids: setuid from root clears every capability
	 * (capabilities(7)). */
	*step = "cannot drop privileges";
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0 ||
	    signal(SIGXFSZ, SIG_IGN) == SIG_ERR ||
	    setrlimit(RLIMIT_FSIZE, &fsz) < 0 ||
	    setrlimit(RLIMIT_DATA, &data) < 0)
		return -errno;
	if (geteuid() != uid || getegid() != gid)
		return -EPERM;
	return 0;
}

struct inflate_report {
	int32_t err;   /* positive errno, 0: done */
	char msg[200]; /* the reason, for the job's error */
};

/* Its heap and mappings, the worker's inherited ones included: room for
 * zstd's default 128 MiB window, as workspace_fill.c's unpacker has. */
#define INFLATE_DATA_MAX (256ull << 20)

static _Noreturn void
inflate_child(const char *data, size_t len, int data_w, int rep_w, uid_t uid,
    gid_t gid)
{
	struct inflate_report rep = { 0 };
	int keep[2] = { data_w, rep_w };
	const char *step = "cannot close the worker's fds";
	struct archive *a;
	struct archive_entry *e;
	int r;

	(void) prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L);
	if ((r = cell_close_fds_except(keep, 2)) < 0 ||
	    (r = cell_confine(-1, uid, gid, 0, INFLATE_DATA_MAX, &step)) < 0)
		goto sys;
	step = "cannot start libarchive";
	if (!(a = la->read_new())) {
		r = -ENOMEM;
		goto sys;
	}
	/* Filters only, and only those built into libarchive: the raw
	 * format hands on the decompressed bytes, whatever they are (the
	 * worker parses them); never a filter that runs an outside program
	 * (lrzip, lzop, grzip in archive_read_support_filter_all). */
	if (la->read_support_filter_gzip(a) != ARCHIVE_OK ||
	    la->read_support_filter_xz(a) != ARCHIVE_OK ||
	    la->read_support_filter_zstd(a) != ARCHIVE_OK ||
	    la->read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    la->read_support_format_raw(a) != ARCHIVE_OK ||
	    la->read_open_memory(a, data, len) != ARCHIVE_OK ||
	    la->read_next_header(a, &e) != ARCHIVE_OK)
		goto bad;
	step = "cannot hand on the bytes";
	for (;;) {
		const void *blk;
		size_t n;
		la_int64_t off;
		int ar = la->read_data_block(a, &blk, &n, &off);

		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK)
			goto bad;
		/* EPIPE: the worker stopped reading (the cap) */
		if ((r = write_full(data_w, blk, n)) < 0)
			goto sys;
	}
	(void) close(data_w);
	(void) write_full(rep_w, &rep, sizeof(rep));
	_exit(0);
bad:
	rep.err = EINVAL;
	(void) snprintf(rep.msg, sizeof(rep.msg), "%.180s",
	    la->error_string(a) ? la->error_string(a) : "unreadable");
	(void) write_full(rep_w, &rep, sizeof(rep));
	_exit(1);
sys:
	rep.err = -r;
	(void) snprintf(rep.msg, sizeof(rep.msg), "%s: %s", step, strerror(-r));
	(void) write_full(rep_w, &rep, sizeof(rep));
	_exit(1);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's bytes into out until EOF: 0, -E2BIG past out's max,
 * -ETIMEDOUT past end, or -errno. */
static int
inflate_read(int fd, struct strbuf *out, int64_t end)
{
	char buf[65536];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t now = mono_ms();
		ssize_t n;
		int r;

		if (now >= end)
			return -ETIMEDOUT;
		if ((r = poll(&pfd, 1, (int) (end - now))) < 0 &&
		    errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		if ((n = read(fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		if ((r = strbuf_add(out, buf, (size_t) n)) < 0)
			return r;
	}
}

int
cell_inflate(const char *data, size_t len, uid_t uid, gid_t gid, int64_t max_ms,
    struct strbuf *out, char *msg, size_t size)
{
	_cleanup_close_ int data_r = -1, data_w = -1, rep_r = -1, rep_w = -1;
	struct inflate_report rep = { 0 };
	int fds[2], st, r;
	const char *why;
	ssize_t n = 0;
	pid_t pid;

	if (!la && !(la = archive_dl_load(&why))) {
		(void) snprintf(msg, size, "cannot be decompressed: %s", why);
		return -ELIBACC;
	}
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	data_r = fds[0];
	data_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	rep_r = fds[0];
	rep_w = fds[1];
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0)
		inflate_child(data, len, data_w, rep_w, uid, gid);
	close_fd(&data_w);
	close_fd(&rep_w);
	r = inflate_read(data_r, out, mono_ms() + max_ms);
	if (r < 0)
		(void) kill(pid, SIGKILL); /* over the cap or late */
	else
		n = read_full(rep_r, &rep, sizeof(rep));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (r == -E2BIG) {
		(void) snprintf(msg, size,
		    "decompresses to more than %zu bytes", out->max);
		return r;
	}
	if (r == -ETIMEDOUT) {
		(void) snprintf(msg, size,
		    "takes longer than %" PRId64 " ms to decompress", max_ms);
		return r;
	}
	if (r < 0) {
		(void) snprintf(msg, size, "cannot be read: %s", strerror(-r));
		return r;
	}
	if (n == (ssize_t) sizeof(rep) && rep.err == 0 && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0)
		return 0;
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (n != (ssize_t) sizeof(rep))
		(void) snprintf(msg, size,
		    "the decompressor ended without "
		    "a report (status 0x%x)",
		    (unsigned) st);
	else if (rep.err == EINVAL)
		(void) snprintf(msg, size,
		    "is not a readable gzip, xz, zstd "
		    "or bzip2 stream: %s",
		    rep.msg);
	else
		(void) snprintf(msg, size, "cannot be decompressed: %s",
		    rep.msg);
	return -(rep.err > 0 ? rep.err : EIO);
}
