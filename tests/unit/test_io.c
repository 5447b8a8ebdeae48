/* test_io.c - unit tests for lib/io.c on real pipes and files: short
 * reads and writes (a pipe smaller than the data), EINTR from a real
 * signal delivered while read(2) blocks, the end of a file, the cap of
 * read_all (empty, max, max+1, a NUL byte), and -errno on a bad fd. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "tap.h"
#include "banned.h"

#define BIG (1024u * 1024)	/* well past a pipe's 64 KiB */
#define DEADLINE_S 30		/* for waits on the other process only */

static volatile sig_atomic_t got_usr1;

static void
on_usr1(int sig)
{
	(void) sig;
	got_usr1++;
}

static void
fill(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char) (i * 7 + i / 251);
}

/* A pipe's other end fed from a child: writes len bytes in pieces of
 * `piece`, then exits. Returns the read end. */
static int
pipe_from_child(const char *data, size_t len, size_t piece, pid_t *ret_pid)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		(void) close(p[0]);
		for (size_t off = 0; off < len; off += piece) {
			size_t n = len - off < piece ? len - off : piece;

			if (write_full(p[1], data + off, n) < 0)
				_exit(1);
		}
		_exit(0);
	}
	(void) close(p[1]);
	*ret_pid = pid;
	return p[0];
}

static bool
child_ok(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void
test_short_reads(void)
{
	_cleanup_free_ char *data = malloc(BIG), *got = malloc(BIG + 1);
	_cleanup_close_ int fd = -1;
	pid_t pid;

	fill(data, BIG);
	/* 1000-byte pieces: each read(2) may return a part */
	fd = pipe_from_child(data, BIG, 1000, &pid);
	is_int(read_full(fd, got, BIG + 1), BIG,
	    "read_full over a pipe fed in pieces reads everything, then "
	    "stops at the end");
	ok(memcmp(data, got, BIG) == 0, "and the bytes are the same");
	is_int(read_full(fd, got, 10), 0, "at the end read_full returns 0");
	ok(child_ok(pid), "the writer finished");
}

static void
test_short_writes(void)
{
	_cleanup_free_ char *data = malloc(BIG);
	int p[2];
	pid_t pid;

	fill(data, BIG);
	if (pipe2(p, O_CLOEXEC) < 0) {
		ok(false, "pipe2: %s", strerror(errno));
		return;
	}
	/* The child reads; the parent's 1 MiB write into a 64 KiB pipe
	 * comes back short many times. */
	if ((pid = fork()) == 0) {
		char buf[4096];
		size_t off = 0;
		ssize_t n;

		(void) close(p[1]);
		while ((n = read_full(p[0], buf, sizeof(buf))) > 0) {
			if (off + (size_t) n > BIG ||
			    memcmp(buf, data + off, (size_t) n) != 0)
				_exit(1);
			off += (size_t) n;
		}
		_exit(n == 0 && off == BIG ? 0 : 1);
	}
	(void) close(p[0]);
	is_int(write_full(p[1], data, BIG), 0, "write_full of 1 MiB into a "
	    "pipe succeeds");
	(void) close(p[1]);
	ok(child_ok(pid), "the reader got every byte in order");
}

/* The single-letter state in /proc/PID/stat ('S': sleeping). */
static char
proc_state(pid_t pid)
{
	char path[64], buf[512], *rp;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	(void) snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return '?';
	if ((n = read_full(fd, buf, sizeof(buf) - 1)) <= 0)
		return '?';
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' ? rp[2] : '?';
}

/* Waits (bounded) until pid sleeps, i.e. blocks in read(2). */
static bool
wait_sleeping(pid_t pid)
{
	time_t end = time(NULL) + DEADLINE_S;
	struct timespec ms = { 0, 1000000 };

	while (time(NULL) < end) {
		if (proc_state(pid) == 'S')
			return true;
		(void) nanosleep(&ms, NULL);
	}
	return false;
}

static void
test_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	char got[6];
	int p[2];
	pid_t parent = getpid(), pid;

	if (sigaction(SIGUSR1, &sa, NULL) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		ok(false, "setup: %s", strerror(errno));
		return;
	}
	/* The child interrupts our blocked read twice, waiting each time
	 * until we sleep in it again, then writes in two pieces. */
	if ((pid = fork()) == 0) {
		(void) close(p[0]);
		for (int i = 0; i < 2; i++) {
			if (!wait_sleeping(parent) || kill(parent, SIGUSR1) < 0)
				_exit(1);
		}
		if (!wait_sleeping(parent) || write_full(p[1], "abc", 3) < 0 ||
		    !wait_sleeping(parent) || write_full(p[1], "def", 3) < 0)
			_exit(1);
		_exit(0);
	}
	(void) close(p[1]);
	is_int(read_full(p[0], got, sizeof(got)), 6, "read_full carries on "
	    "after a signal interrupts read(2) (EINTR)");
	ok(memcmp(got, "abcdef", 6) == 0, "and returns the bytes");
	is_int(got_usr1, 2, "both signals arrived during the read");
	ok(child_ok(pid), "the signalling child finished");
	(void) close(p[0]);
	sa.sa_handler = SIG_DFL;
	(void) sigaction(SIGUSR1, &sa, NULL);
}

static void
test_read_all(void)
{
	static const struct {
		size_t len, max;
		int r;
	} rows[] = {
		{ 0, 0, 0 },		/* empty, max 0 */
		{ 0, 10, 0 },		/* empty */
		{ 1, 0, -E2BIG },	/* max + 1 */
		{ 10, 10, 0 },		/* exactly max */
		{ 11, 10, -E2BIG },	/* max + 1 */
		{ 16383, 16383, 0 },	/* the first allocation, exactly */
		{ 16384, 16383, -E2BIG },
		{ BIG, BIG, 0 },	/* several doublings */
		{ BIG + 1, BIG, -E2BIG },
	};
	_cleanup_free_ char *data = malloc(BIG + 1);

	fill(data, BIG + 1);
	data[3] = '\0';		/* a NUL byte inside is data, not the end */
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_free_ char *got = NULL;
		_cleanup_close_ int fd = -1;
		size_t len = 12345;
		pid_t pid;
		int r;

		fd = pipe_from_child(data, rows[i].len, 4096, &pid);
		r = read_all(fd, rows[i].max, &got, &len);
		is_int(r, rows[i].r, "read_all of %zu bytes, max %zu",
		    rows[i].len, rows[i].max);
		if (r == 0) {
			ok(len == rows[i].len && got[len] == '\0' &&
			    memcmp(got, data, len) == 0,
			    "  gives %zu bytes and a NUL", rows[i].len);
		} else {
			ok(!got && len == 12345, "  and leaves the results "
			    "alone");
		}
		close_fd(&fd);	/* the child may still be writing */
		(void) child_ok(pid);
	}
}

static void
test_errors(void)
{
	char c;
	char *s = NULL;

	is_int(read_full(-1, &c, 1), -EBADF, "read_full(-1) is -EBADF");
	is_int(write_full(-1, "x", 1), -EBADF, "write_full(-1) is -EBADF");
	is_int(read_all(-1, 10, &s, NULL), -EBADF, "read_all(-1) is -EBADF");
	ok(!s, "and leaves *ret alone");
	is_int(read_full(-1, &c, 0), 0, "a read of 0 bytes does nothing");
	is_int(write_full(-1, "", 0), 0, "a write of 0 bytes does nothing");
}

static void
test_file(void)
{
	char path[] = "/tmp/jobcell-test-io-XXXXXX", buf[8];
	_cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);

	if (fd < 0) {
		ok(false, "mkostemp: %s", strerror(errno));
		return;
	}
	(void) unlink(path);
	is_int(write_full(fd, "hello", 5), 0, "write_full to a file");
	is_int(lseek(fd, 0, SEEK_SET), 0, "rewind");
	is_int(read_full(fd, buf, sizeof(buf)), 5, "read_full stops at the "
	    "end of a file");
	ok(memcmp(buf, "hello", 5) == 0, "with its bytes");
}

int
main(void)
{
	/* A child writing to a pipe we stopped reading must not kill us. */
	(void) signal(SIGPIPE, SIG_IGN);
	test_short_reads();
	test_short_writes();
	test_eintr();
	test_read_all();
	test_errors();
	test_file();
	return done_testing();
}
