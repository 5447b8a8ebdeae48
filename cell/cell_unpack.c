/* cell_unpack.c - jobcell-cell-unpack: the first program of a docker cell
 * whose job has files (docker_cell.c). Runs inside the container, as
 * the job's user, before any job code: reads the job's files from the
 * head of its stdin, creates them under the working directory (/work),
 * enters cwd, and execs the job with the rest of stdin as its stdin.
 * Trusts nothing it reads (the worker wrote it, but it is checked again).
 *
 * Why: the container's root is read-only and /work is a tmpfs that exists
 * only once it runs, so Docker's archive API cannot put files there; the
 * attach stream is the one way in, and the image need not have a shell or
 * tar. Linked statically so it runs in any image.
 *
 * Stream (all numbers big-endian u32): "JCF2", then per file: path length
 * (1..JC_MAX_FILE_PATH), path, flags (1: executable), data length, data
 * (any bytes); then 0; then the cwd's
 * length (0: none) and the cwd. It reads exactly that, never further, so
 * the job gets the rest of stdin untouched.
 *
 * A swarm cell (swarm_cell.c) has no attach stream: there the worker ships
 * this program, the stream and stdin as swarm configs (read-only files in
 * the container) and the job starts as
 *   jobcell-cell-unpack --from STREAM-FILE STDIN-FILE|- PROGRAM [ARG]...
 * which reads the stream from STREAM-FILE and gives the job STDIN-FILE as
 * its stdin ("-": the container's own).
 *
 * Exit status 127 and one line on stderr if anything fails, like a shell
 * that cannot run a program. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "jc_limits.h"
#include "wspath.h"
#include "banned.h"

#define UNPACK_EXIT 127

static const char *step = "start";
static int in_fd; /* the stream: stdin, or --from's file */

static void __attribute__((noreturn))
die(int err)
{
	fprintf(stderr, "jobcell-cell-unpack: %s: %s\n", step,
	    err ? strerror(err) : "malformed file stream");
	exit(UNPACK_EXIT);
}

/* Exactly len bytes from fd 0 (no buffering: the rest is the job's). */
static void
read_exact(void *buf, size_t len)
{
	ssize_t n = read_full(in_fd, buf, len);

	if (n < 0)
		die((int) -n);
	if ((size_t) n < len)
		die(0);		/* the stream ended early */
}

static uint32_t
read_u32(void)
{
	unsigned char b[4];

	read_exact(b, sizeof(b));
	return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 |
	    (uint32_t) b[2] << 8 | (uint32_t) b[3];
}

static char *
read_path(uint32_t len)
{
	char *p;

	if (len > JC_MAX_FILE_PATH || !(p = malloc(len + 1)))
		die(len > JC_MAX_FILE_PATH ? 0 : ENOMEM);
	read_exact(p, len);
	p[len] = '\0';
	/* the workspace-path rules (lib/wspath.h), again: the API checked
	 * them, but nothing read here is trusted; an embedded NUL fails */
	if (wspath_check_len(p, len) < 0)
		die(0);
	return p;
}

/* Creates path under dfd, its parent directories too, never following a
 * link (wspath_open), and fills it with the next len bytes of the stream. */
static void
unpack_file(int dfd, const char *path, uint32_t flags, uint32_t len)
{
	char buf[65536];
	int fd, r;

	if (flags > 1)
		die(0);
	fd = wspath_open(dfd, path, O_WRONLY | O_CREAT | O_EXCL,
	    flags & 1 ? 0755 : 0644, WSPATH_MKDIR);
	if (fd < 0)
		die(-fd);
	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		read_exact(buf, n);
		if ((r = write_full(fd, buf, n)) < 0)
			die(-r);
		len -= (uint32_t) n;
	}
	if (close(fd) < 0)
		die(errno);
}

int
main(int argc, char **argv)
{
	const char *stdin_file = NULL;
	char magic[4];
	uint32_t len;
	int dfd;
	unsigned files = 0;

	if (argc >= 5 && strcmp(argv[1], "--from") == 0) {
		step = "opening the file stream";
		if ((in_fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0)
			die(errno);
		stdin_file = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
		argv += 3;
		argc -= 3;
	}
	if (argc < 2) {
		fprintf(stderr,
		    "usage: jobcell-cell-unpack PROGRAM [ARG]... "
		    "< file stream + stdin\n"
		    "       jobcell-cell-unpack --from STREAM STDIN|- "
		    "PROGRAM [ARG]...\n");
		return 2;
	}
	step = "reading the file stream";
	read_exact(magic, sizeof(magic));
	if (memcmp(magic, "JCF2", 4) != 0)
		die(0);
	if ((dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die(errno);
	for (;;) {
		char *path;

		step = "reading the file stream";
		if ((len = read_u32()) == 0)
			break;
		/* a swarm job's stream holds its inputs' files too */
		if (++files > JC_MAX_FILES + JC_MAX_INPUT_ENTRIES)
			die(0);
		uint32_t flags;

		path = read_path(len);
		flags = read_u32();
		len = read_u32();
		step = "creating a file";
		unpack_file(dfd, path, flags, len);
		free(path);
	}
	step = "reading the file stream";
	if ((len = read_u32()) != 0) {
		char *cwd = read_path(len);
		int cfd;

		step = "entering cwd";
		/* under dfd, never through a link, as the files were made */
		if ((cfd = wspath_open_dir(dfd, cwd, 0)) < 0)
			die(-cfd);
		if (fchdir(cfd) < 0)
			die(errno);
		(void) close(cfd);
		free(cwd);
	}
	(void) close(dfd);
	if (stdin_file) {
		int fd;

		step = "opening stdin";
		if ((fd = open(stdin_file, O_RDONLY)) < 0)
			die(errno);
		if (fd != 0 && (dup2(fd, 0) < 0 || close(fd) < 0))
			die(errno);
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "jobcell-cell-unpack: cannot run '%s': %s\n", argv[1],
	    strerror(errno));
	return UNPACK_EXIT;
}
