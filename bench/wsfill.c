/* wsfill.c - one disk workspace made and filled from an input, timed, for
 * bench/unpack (not installed). Run as root. Trusts its command line.
 *
 *   wsfill DATA_DIR TAR|- [DISK_MB] [UID]
 *
 * Makes a workspace under DATA_DIR/work (cell_workspace_create), unpacks
 * TAR into it as UID (cell_workspace_fill: the job's path), and prints
 * "create_ms fill_ms" on stdout; with JOBCELL_BENCH_KEEP set, it then
 * prints the workspace's path and waits for a line on stdin before it
 * destroys the workspace (bench/unpack runs GNU tar in a twin meanwhile). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cell.h"
#include "parse.h"
#include "banned.h"

static double
now_ms(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct cell_workspace *ws = NULL;
	struct cell_input in = { .name = "inputs[0]", .path = "", .tar = true };
	int64_t disk_mb = 1024, uid = 65534;
	char msg[512], id[64];
	double t0, t1, t2;
	int r;

	if (argc < 3 ||
	    (argc > 3 && parse_i64(argv[3], 1, 1 << 20, &disk_mb) < 0) ||
	    (argc > 4 && parse_i64(argv[4], 1, 1 << 30, &uid) < 0)) {
		fprintf(stderr, "usage: wsfill DATA_DIR TAR [DISK_MB] [UID]\n");
		return 2;
	}
	bool none = strcmp(argv[2], "-") == 0; /* an empty workspace */

	if (!none && (in.fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0) {
		perror(argv[2]);
		return 1;
	}
	(void) snprintf(id, sizeof(id), "bench-%ld", (long) getpid());
	t0 = now_ms();
	if ((r = cell_workspace_create(argv[1], id, (uid_t) uid, (gid_t) uid,
		 (uint64_t) disk_mb, &ws, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	t1 = now_ms();
	r = cell_workspace_fill(ws, (uid_t) uid, (gid_t) uid,
	    (uint64_t) disk_mb, NULL, 0, &in, none ? 0 : 1, 0, NULL, NULL, msg,
	    sizeof(msg));
	t2 = now_ms();
	if (r < 0)
		fprintf(stderr, "%s\n", msg);
	else
		printf("%.1f %.1f\n", t1 - t0, t2 - t1);
	if (r == 0 && secure_getenv("JOBCELL_BENCH_KEEP")) {
		char line[8];

		printf("%s\n", cell_workspace_path(ws));
		(void) fflush(stdout);
		(void) !fgets(line, sizeof(line), stdin);
	}
	cell_workspace_destroy(ws);
	return r < 0 ? 1 : 0;
}
