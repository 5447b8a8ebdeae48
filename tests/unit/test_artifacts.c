/* test_artifacts.c - unit tests for worker/artifacts.c, the collector, on
 * real temporary trees built to be hostile: symlinks to /etc/passwd, to a
 * "database" file outside the workspace and to /proc/self/environ, a
 * symlinked directory leading out, a FIFO (which must not hang the
 * collector: an alarm turns a hang into a failure), a socket, a device
 * node where the test may make one, names with a newline, '%', UTF-8, a
 * 255-byte part and a non-UTF-8 byte; then the caps (files, bytes) and
 * which patterns matched nothing. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "artifacts.h"
#include "cleanup.h"
#include "io.h"
#include "tap.h"
#include "banned.h"

#define HELLO_SHA "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static char root[256];
static char long_name[256];

static void
put(int dfd, const char *path, const char *data)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);

	if (fd < 0 || write_full(fd, data, strlen(data)) < 0) {
		diag("cannot write %s: %s", path, strerror(errno));
		exit(1);
	}
	(void) close(fd);
}

static void
must(int r, const char *what)
{
	if (r < 0) {
		diag("%s: %s", what, strerror(errno));
		exit(1);
	}
}

/* root/ws (the workspace), root/outside (what lies beyond it). */
static int
build_tree(void)
{
	char p[512];
	int ws, sock;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void) snprintf(p, sizeof(p), "%s/outside", root);
	must(mkdir(p, 0755), "mkdir outside");
	(void) snprintf(p, sizeof(p), "%s/outside/jobcell.db", root);
	put(AT_FDCWD, p, "SQLite format 3 secret");
	(void) snprintf(p, sizeof(p), "%s/outside/secret.txt", root);
	put(AT_FDCWD, p, "secret");
	(void) snprintf(p, sizeof(p), "%s/ws", root);
	must(mkdir(p, 0755), "mkdir ws");
	must(ws = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open ws");
	put(ws, "hello.txt", "hello");
	must(mkdirat(ws, "sub", 0755), "mkdir sub");
	must(mkdirat(ws, "sub/deep", 0755), "mkdir sub/deep");
	put(ws, "sub/deep/x.bin", "hello");
	put(ws, "new\nline.txt", "hello");
	put(ws, "100%.txt", "hello");
	put(ws, "caf\xc3\xa9.txt", "hello");
	put(ws, "bad\xff.txt", "hello");
	memset(long_name, 'L', 251);
	memcpy(long_name + 251, ".txt", 5);
	put(ws, long_name, "hello");
	(void) snprintf(p, sizeof(p), "%s/outside/jobcell.db", root);
	must(symlinkat("/etc/passwd", ws, "passwd.txt"), "symlink passwd");
	must(symlinkat(p, ws, "db.txt"), "symlink db");
	must(symlinkat("/proc/self/environ", ws, "environ.txt"), "symlink env");
	(void) snprintf(p, sizeof(p), "%s/outside", root);
	must(symlinkat(p, ws, "out"), "symlink out");
	must(symlinkat("/", ws, "slash"), "symlink /");
	must(mkfifoat(ws, "fifo.txt", 0644), "mkfifo");
	if (strlen(root) + 12 >= sizeof(sa.sun_path)) {
		diag("the temporary directory's name is too long");
		exit(1);
	}
	memcpy(sa.sun_path, root, strlen(root));
	memcpy(sa.sun_path + strlen(root), "/ws/sock.txt", 13);
	must(sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
	must(bind(sock, (struct sockaddr *) &sa, sizeof(sa)), "bind");
	(void) close(sock);
	/* A device: only root may make one (here, /dev/zero's numbers) */
	if (mknodat(ws, "zero.txt", S_IFCHR | 0644, makedev(1, 5)) < 0)
		diag("no device node in the tree: %s", strerror(errno));
	return ws;
}

static int
new_out(const char *name)
{
	char p[512];
	int fd;

	(void) snprintf(p, sizeof(p), "%s/%s", root, name);
	must(mkdir(p, 0755), "mkdir out");
	must(fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open out");
	return fd;
}

static const struct artifact *
find(const struct artifact_set *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].path, path) == 0)
			return &s->v[i];
	return NULL;
}

static void
test_hostile(int ws)
{
	const char *pats[] = { "**" };
	struct artifacts_spec spec = { pats, 1, 1u << 30, 1000 };
	struct artifact_set s;
	_cleanup_close_ int out = new_out("store1");
	static const char *const want[] = {
		"100%.txt", "caf\xc3\xa9.txt", "hello.txt", "new\nline.txt",
		"sub/deep/x.bin",
	};
	char buf[64];
	int r;

	r = artifacts_collect(ws, out, &spec, &s);
	is_int(r, 0, "collect '**' from the hostile tree");
	if (r < 0)
		return;
	is_int((int64_t) s.n, ARRAY_SIZE(want) + 1, "only the regular files "
	    "with text names are taken");
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct artifact *a = find(&s, want[i]);

		ok(a != NULL, "'%s' collected", want[i]);
		if (!a)
			continue;
		is_int(a->size, 5, "its size");
		is_str(a->sha256, HELLO_SHA, "its sha256");
	}
	ok(find(&s, long_name) != NULL, "a 255-byte name collected");
	ok(!s.truncated, "not truncated");
	is_int((int64_t) s.bytes, 5 * (int64_t) s.n, "bytes counted");
	static const char *const never[] = {
		"passwd.txt", "db.txt", "environ.txt", "out/secret.txt",
		"out/jobcell.db", "fifo.txt", "sock.txt", "zero.txt",
		"bad\xff.txt",
	};
	for (size_t i = 0; i < ARRAY_SIZE(never); i++)
		ok(find(&s, never[i]) == NULL, "'%s' never taken", never[i]);
	for (size_t i = 0; i < s.n; i++)
		ok(!strstr(s.v[i].path, "slash/"), "nothing through a link "
		    "to / ('%s')", s.v[i].path);
	/* The stored bytes are the file's */
	int fd = openat(out, s.v[0].file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

	ok(n == 5 && memcmp(buf, "hello", 5) == 0, "stored file %s holds "
	    "the bytes", s.v[0].file);
	if (fd >= 0)
		(void) close(fd);
	artifact_set_release(&s);
}

static void
test_links_named(int ws)
{
	/* Patterns that name the traps exactly match nothing */
	const char *pats[] = { "passwd.txt", "db.txt", "environ.txt",
		"out/secret.txt", "fifo.txt", "zero.txt", "slash/etc/passwd",
		"hello.txt" };
	struct artifacts_spec spec = { pats, ARRAY_SIZE(pats), 1u << 30, 1000 };
	struct artifact_set s;
	_cleanup_close_ int out = new_out("store2");

	is_int(artifacts_collect(ws, out, &spec, &s), 0, "collect the traps "
	    "by name");
	is_int((int64_t) s.n, 1, "only hello.txt");
	for (size_t i = 0; i + 1 < ARRAY_SIZE(pats); i++)
		ok(!s.matched[i], "'%s' matched nothing", pats[i]);
	ok(s.matched[ARRAY_SIZE(pats) - 1], "'hello.txt' matched");
	artifact_set_release(&s);
}

static void
test_caps(int ws)
{
	const char *pats[] = { "*.txt", "sub/**", "nothing/*" };
	struct artifacts_spec files = { pats, 3, 1u << 30, 2 };
	struct artifacts_spec bytes = { pats, 3, 12, 1000 };
	struct artifact_set s;
	_cleanup_close_ int o1 = new_out("store3"), o2 = new_out("store4");

	is_int(artifacts_collect(ws, o1, &files, &s), 0, "collect, 2 files");
	is_int((int64_t) s.n, 2, "2 files taken");
	ok(s.truncated, "truncated past max_files");
	ok(s.matched[0] && s.matched[1] && !s.matched[2], "matched: the "
	    "patterns with files, not 'nothing/*'");
	/* sorted walk: the same two every time */
	ok(s.n == 2 && strcmp(s.v[0].path, "100%.txt") == 0,
	    "the first in name order");
	artifact_set_release(&s);
	is_int(artifacts_collect(ws, o2, &bytes, &s), 0, "collect, 12 bytes");
	is_int((int64_t) s.n, 2, "2 files of 5 bytes fit in 12");
	ok(s.truncated, "truncated past max_bytes");
	artifact_set_release(&s);
}

static void
cleanup_root(void)
{
	char cmd[400];

	/* rm -rf of our own mkdtemp directory only */
	(void) snprintf(cmd, sizeof(cmd), "%s", root);
	if (fork() == 0) {
		execlp("rm", "rm", "-rf", "--", cmd, (char *) NULL);
		_exit(127);
	}
}

int
main(void)
{
	const char *tmp = "/tmp";
	int ws;

	(void) snprintf(root, sizeof(root), "%s/jc-artifacts-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		diag("mkdtemp: %s", strerror(errno));
		return 1;
	}
	alarm(60);	/* a FIFO read would hang: fail instead */
	ws = build_tree();
	test_hostile(ws);
	test_links_named(ws);
	test_caps(ws);
	(void) close(ws);
	cleanup_root();
	return done_testing();
}
