/* test_wspath.c - unit tests for lib/wspath.c: the path rules, table
 * driven with hostile rows (empty, max, max+1, NUL, "..", "a//b", "./",
 * a long part, control bytes), and the opener on a real temporary tree
 * with symlink traps (a link to a directory outside, a link to a file
 * outside, an absolute link, a file where a directory should be), once
 * through openat2 and once through the part-by-part walk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "wspath.h"
#include "tap.h"
#include "banned.h"

static void
test_rules(void)
{
	static const struct {
		const char *s;
		size_t len;	/* 0: strlen */
		int r;
	} rows[] = {
		{ "a", 0, 0 },
		{ "a/b/c.txt", 0, 0 },
		{ "..a", 0, 0 },
		{ "a..", 0, 0 },
		{ "..a/b..", 0, 0 },	/* dots inside names */
		{ ".hidden", 0, 0 },
		{ "...", 0, 0 },
		{ "a:b", 0, 0 },
		{ "a b", 0, 0 },
		{ "back\\slash", 0, 0 },
		{ "caf\xc3\xa9", 0, 0 },	/* UTF-8 passes */
		{ "\xff", 0, 0 },		/* bytes, not text */
		{ "", 0, -EINVAL },
		{ "/", 0, -EINVAL },
		{ "/etc/passwd", 0, -EINVAL },
		{ "//a", 0, -EINVAL },
		{ ".", 0, -EINVAL },
		{ "..", 0, -EINVAL },
		{ "./", 0, -EINVAL },
		{ "./a", 0, -EINVAL },
		{ "../x", 0, -EINVAL },
		{ "a/../b", 0, -EINVAL },
		{ "a/..", 0, -EINVAL },
		{ "a/.", 0, -EINVAL },
		{ "a/./b", 0, -EINVAL },
		{ "a//b", 0, -EINVAL },
		{ "a/", 0, -EINVAL },
		{ "a\nb", 0, -EINVAL },
		{ "a\x01", 0, -EINVAL },
		{ "\x1f", 0, -EINVAL },
		{ "a\x7f", 0, -EINVAL },
		{ "a\tb", 0, -EINVAL },
		{ "a\0b", 3, -EINVAL },		/* NUL inside */
		{ "a\0", 2, -EINVAL },		/* NUL at the end */
		{ "\0", 1, -EINVAL },
	};
	static char buf[WSPATH_MAX + 64];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].s);

		is_int(wspath_check_len(rows[i].s, len), rows[i].r,
		    "wspath_check_len('%s', %zu)", rows[i].s, len);
		if (!rows[i].len)
			is_int(wspath_valid(rows[i].s), rows[i].r == 0,
			    "wspath_valid('%s')", rows[i].s);
	}

	/* one part: WSPATH_PART_MAX and one more */
	memset(buf, 'p', WSPATH_PART_MAX + 1);
	buf[WSPATH_PART_MAX] = '\0';
	is_int(wspath_check(buf), 0, "a part of %d bytes", WSPATH_PART_MAX);
	buf[WSPATH_PART_MAX] = 'p';
	buf[WSPATH_PART_MAX + 1] = '\0';
	is_int(wspath_check(buf), -ENAMETOOLONG, "a part of %d bytes",
	    WSPATH_PART_MAX + 1);
	/* ... even as the last part of a short path */
	memcpy(buf, "d/", 2);
	memset(buf + 2, 'p', WSPATH_PART_MAX + 1);
	buf[2 + WSPATH_PART_MAX + 1] = '\0';
	is_int(wspath_check(buf), -ENAMETOOLONG, "a long last part");

	/* the whole path: WSPATH_MAX and one more, parts of 200 bytes */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i % 201 == 200 ? '/' : 'q';
	buf[WSPATH_MAX] = '\0';
	if (buf[WSPATH_MAX - 1] == '/')
		buf[WSPATH_MAX - 1] = 'q';
	is_int(wspath_check(buf), 0, "a path of %d bytes", WSPATH_MAX);
	buf[WSPATH_MAX] = 'q';
	buf[WSPATH_MAX + 1] = '\0';
	is_int(wspath_check(buf), -ENAMETOOLONG, "a path of %d bytes",
	    WSPATH_MAX + 1);
	is_int(wspath_check_len(buf, WSPATH_MAX + 1), -ENAMETOOLONG,
	    "the same with a length");
	buf[sizeof(buf) - 1] = '\0';
	is_int(wspath_check(buf), -ENAMETOOLONG, "a path of %zu bytes",
	    sizeof(buf) - 1);
}

/* ---- the opener, on a real tree ---- */

static char root[] = "/tmp/jobcell-test-wspath-XXXXXX";
static char ws[sizeof(root) + 8], outside[sizeof(root) + 16];

static bool
exists_at(const char *dir, const char *rel)
{
	char p[256];
	struct stat st;

	(void) snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static int
make_tree(void)
{
	char p[256];
	_cleanup_close_ int fd = -1;

	if (!mkdtemp(root))
		return -errno;
	(void) snprintf(ws, sizeof(ws), "%s/ws", root);
	(void) snprintf(outside, sizeof(outside), "%s/outside", root);
	if (mkdir(ws, 0755) < 0 || mkdir(outside, 0755) < 0)
		return -errno;
	(void) snprintf(p, sizeof(p), "%s/secret", outside);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -errno;
	if (write_full(fd, "secret", 6) < 0)
		return -EIO;
	/* The traps a job could plant in its workspace. */
	(void) snprintf(p, sizeof(p), "%s/d", ws);
	if (mkdir(p, 0755) < 0)
		return -errno;
	(void) snprintf(p, sizeof(p), "%s/dlink", ws);
	if (symlink("../outside", p) < 0)
		return -errno;
	(void) snprintf(p, sizeof(p), "%s/flink", ws);
	if (symlink("../outside/secret", p) < 0)
		return -errno;
	(void) snprintf(p, sizeof(p), "%s/d/abs", ws);
	if (symlink(outside, p) < 0)
		return -errno;
	(void) snprintf(p, sizeof(p), "%s/dangling", ws);
	if (symlink("../outside/new", p) < 0)
		return -errno;
	(void) snprintf(p, sizeof(p), "%s/file", ws);
	close_fd(&fd);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -errno;
	return 0;
}

static void
remove_tree(void)
{
	static const char *const paths[] = {
		"ws/a/b/c.txt", "ws/a/b", "ws/a", "ws/m/n/o", "ws/m/n", "ws/m",
		"ws/top.txt", "ws/d/abs", "ws/d", "ws/dlink", "ws/flink",
		"ws/dangling", "ws/file", "ws", "outside/secret", "outside",
	};
	char p[256];

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		(void) snprintf(p, sizeof(p), "%s/%s", root, paths[i]);
		if (unlink(p) < 0)
			(void) rmdir(p);
	}
	(void) rmdir(root);
}

static bool
is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl >= 0 && (fl & FD_CLOEXEC);
}

static bool
secret_intact(void)
{
	char p[256], buf[16];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	(void) snprintf(p, sizeof(p), "%s/secret", outside);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read_full(fd, buf, sizeof(buf));
	return n == 6 && memcmp(buf, "secret", 6) == 0;
}

/* A link refused: ELOOP from O_NOFOLLOW or RESOLVE_NO_SYMLINKS, or
 * ENOTDIR where O_DIRECTORY met a link (both are what a user sees). */
static bool
link_refused(int r)
{
	return r == -ELOOP || r == -ENOTDIR;
}

static void
test_traps(int wsfd, unsigned mode, const char *how)
{
	static const int wr = O_WRONLY | O_CREAT | O_EXCL;
	int r;

	r = wspath_open(wsfd, "dlink/x", wr, 0644, mode);
	ok(link_refused(r), "%s: a file under a link to a directory outside "
	    "is refused (%d)", how, r);
	r = wspath_open(wsfd, "dlink/x", wr, 0644, mode | WSPATH_MKDIR);
	ok(link_refused(r), "%s: also when making directories (%d)", how, r);
	r = wspath_open(wsfd, "d/abs/x", wr, 0644, mode | WSPATH_MKDIR);
	ok(link_refused(r), "%s: an absolute link is refused (%d)", how, r);
	ok(!exists_at(outside, "x"), "%s: nothing was made outside", how);
	r = wspath_open(wsfd, "flink", O_WRONLY | O_TRUNC, 0, mode);
	ok(link_refused(r), "%s: a link to a file outside is not opened for "
	    "writing (%d)", how, r);
	r = wspath_open(wsfd, "flink", O_RDONLY, 0, mode);
	ok(link_refused(r), "%s: nor for reading (%d)", how, r);
	ok(secret_intact(), "%s: the file outside is untouched", how);
	r = wspath_open(wsfd, "dangling", O_WRONLY | O_CREAT, 0644, mode);
	ok(link_refused(r), "%s: O_CREAT through a dangling link is refused "
	    "(%d)", how, r);
	ok(!exists_at(outside, "new"), "%s: and made nothing outside", how);
	r = wspath_open_dir(wsfd, "dlink", mode);
	ok(link_refused(r), "%s: a link is not entered as a directory (%d)",
	    how, r);
	r = wspath_open_dir(wsfd, "d/abs", mode);
	ok(link_refused(r), "%s: nor an absolute one below a real directory "
	    "(%d)", how, r);
	is_int(wspath_open(wsfd, "file/x", wr, 0644, mode | WSPATH_MKDIR),
	    -ENOTDIR, "%s: a file where a directory should be", how);
	is_int(wspath_open(wsfd, "missing/x", wr, 0644, mode), -ENOENT,
	    "%s: no directories are made without WSPATH_MKDIR", how);
	ok(!exists_at(ws, "missing"), "%s: none", how);
	is_int(wspath_open(wsfd, "../outside/secret", O_RDONLY, 0, mode),
	    -EINVAL, "%s: '..' is refused by the rules", how);
	is_int(wspath_open_dir(wsfd, "m//n", mode | WSPATH_MKDIR), -EINVAL,
	    "%s: so is 'm//n'", how);
	ok(!exists_at(ws, "m"), "%s: before anything is made", how);
}

static void
test_opens(int wsfd, unsigned mode, const char *how)
{
	_cleanup_close_ int fd = -1, dfd = -1, pfd = -1;
	const char *leaf = NULL;
	struct stat st, st2;

	fd = wspath_open(wsfd, "a/b/c.txt", O_WRONLY | O_CREAT | O_EXCL, 0640,
	    mode | WSPATH_MKDIR);
	ok(fd >= 0 && is_cloexec(fd), "%s: a/b/c.txt is made, O_CLOEXEC "
	    "(%d)", how, fd);
	ok(fd >= 0 && write_full(fd, "hi", 2) == 0, "%s: and written", how);
	ok(exists_at(ws, "a/b/c.txt"), "%s: where it should be", how);
	close_fd(&fd);
	is_int(wspath_open(wsfd, "a/b/c.txt", O_WRONLY | O_CREAT | O_EXCL,
	    0640, mode | WSPATH_MKDIR), -EEXIST, "%s: O_EXCL holds", how);
	fd = wspath_open(wsfd, "a/b/c.txt", O_RDONLY, 0, mode);
	ok(fd >= 0 && is_cloexec(fd), "%s: it opens again (%d)", how, fd);
	close_fd(&fd);
	fd = wspath_open(wsfd, "top.txt", O_WRONLY | O_CREAT, 0644, mode);
	ok(fd >= 0, "%s: a one-part path (%d)", how, fd);
	close_fd(&fd);
	(void) unlinkat(wsfd, "top.txt", 0);

	dfd = wspath_open_dir(wsfd, "m/n/o", mode | WSPATH_MKDIR);
	ok(dfd >= 0 && is_cloexec(dfd) && fstat(dfd, &st) == 0 &&
	    S_ISDIR(st.st_mode), "%s: m/n/o is made and opened (%d)", how,
	    dfd);
	close_fd(&dfd);
	dfd = wspath_open_dir(wsfd, "a/b", mode);
	ok(dfd >= 0 && is_cloexec(dfd), "%s: a/b opens as a directory (%d)",
	    how, dfd);

	pfd = wspath_open_parent(wsfd, "a/b/c.txt", mode, &leaf);
	ok(pfd >= 0 && is_cloexec(pfd) && leaf && strcmp(leaf, "c.txt") == 0,
	    "%s: the parent of a/b/c.txt, leaf 'c.txt' (%d)", how, pfd);
	ok(pfd >= 0 && dfd >= 0 && fstat(pfd, &st) == 0 &&
	    fstat(dfd, &st2) == 0 && st.st_ino == st2.st_ino,
	    "%s: is a/b", how);
	close_fd(&pfd);
	leaf = NULL;
	pfd = wspath_open_parent(wsfd, "one", mode, &leaf);
	ok(pfd >= 0 && pfd != wsfd && is_cloexec(pfd) && leaf &&
	    strcmp(leaf, "one") == 0, "%s: a one-part path's parent is a new "
	    "fd of the directory (%d)", how, pfd);
	(void) unlinkat(wsfd, "a/b/c.txt", 0);
	(void) unlinkat(wsfd, "a/b", AT_REMOVEDIR);
	(void) unlinkat(wsfd, "a", AT_REMOVEDIR);
	(void) unlinkat(wsfd, "m/n/o", AT_REMOVEDIR);
	(void) unlinkat(wsfd, "m/n", AT_REMOVEDIR);
	(void) unlinkat(wsfd, "m", AT_REMOVEDIR);
}

int
main(void)
{
	_cleanup_close_ int wsfd = -1;
	int r;

	test_rules();
	if ((r = make_tree()) < 0) {
		ok(false, "making the test tree: %s", strerror(-r));
		remove_tree();
		return done_testing();
	}
	if ((wsfd = open(ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ok(false, "open %s: %s", ws, strerror(errno));
	} else {
		test_traps(wsfd, 0, "openat2");
		test_traps(wsfd, WSPATH_NO_OPENAT2, "walk");
		test_opens(wsfd, 0, "openat2");
		test_opens(wsfd, WSPATH_NO_OPENAT2, "walk");
	}
	remove_tree();
	return done_testing();
}
