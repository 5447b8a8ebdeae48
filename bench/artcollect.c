/* bench/artcollect.c - the artifact collector alone (worker/artifacts.c),
 * for bench/artifacts: collects GLOB from the directory WS into the empty
 * directory OUT as the worker does (copy_file_range, sha256 of the copy,
 * fdatasync) and prints "files=N bytes=B ms=T sha256=H". Not installed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "artifacts.h"
#include "banned.h"

int
main(int argc, char **argv)
{
	struct artifact_set set;
	struct artifacts_spec spec = { 0 };
	struct timespec a, b;
	const char *pats[1];
	int ws, out, r;

	if (argc != 4) {
		fprintf(stderr, "usage: artcollect WS OUT GLOB\n");
		return 2;
	}
	pats[0] = argv[3];
	spec = (struct artifacts_spec){ .patterns = pats,
		.npatterns = 1,
		.max_bytes = UINT64_MAX,
		.max_files = 1000 };
	if ((ws = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (out = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "artcollect: %s\n", strerror(errno));
		return 1;
	}
	(void) clock_gettime(CLOCK_MONOTONIC, &a);
	r = artifacts_collect(ws, out, &spec, &set);
	(void) clock_gettime(CLOCK_MONOTONIC, &b);
	if (r < 0) {
		fprintf(stderr, "artcollect: %s\n", strerror(-r));
		return 1;
	}
	printf("files=%zu bytes=%llu ms=%.1f sha256=%s\n", set.n,
	    (unsigned long long) set.bytes,
	    (double) (b.tv_sec - a.tv_sec) * 1e3 +
		(double) (b.tv_nsec - a.tv_nsec) / 1e6,
	    set.n ? set.v[0].sha256 : "-");
	artifact_set_release(&set);
	return 0;
}
