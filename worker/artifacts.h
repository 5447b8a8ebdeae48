/* artifacts.h - collecting a job's artifacts (artifacts.c): the files of
 * its workspace that match its globs, copied into the job's directory of
 * the artifact store. Runs in a jobcell-worker process, after every
 * process of the job's cell is dead. */
#ifndef JOBCELL_ARTIFACTS_H
#define JOBCELL_ARTIFACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsglob.h"

#define ARTIFACT_FILE_MAX	16	/* "<n>": the stored file's name */
#define ARTIFACTS_MAX_DIR_ENTRIES 65536	/* names read from one directory;
					 * past it the rest is not looked at
					 * (truncated) */
#define ARTIFACTS_MAX_ENTRIES	1000000	/* names looked at in all */

struct artifact {
	char *path;			/* relative to the workspace, owned */
	char file[ARTIFACT_FILE_MAX];	/* its name in the job's directory */
	int64_t size;
	char sha256[65];		/* lowercase hex */
};

/* The patterns and caps of one collection. */
struct artifacts_spec {
	const char *const *patterns;	/* checked by wsglob_check_len */
	size_t npatterns;		/* <= WSGLOB_MAX_PATTERNS */
	uint64_t max_bytes;		/* all files together */
	size_t max_files;
};

/* What was collected. */
struct artifact_set {
	struct artifact *v;		/* n entries, owned */
	size_t n;
	uint64_t bytes;
	bool truncated;			/* a cap (or a walk bound) left out a
					 * matching file */
	bool matched[WSGLOB_MAX_PATTERNS]; /* pattern i matched a regular
					 * file (collected or not) */
};

/* Walks the tree under ws_fd (an open directory; neither closed nor
 * moved), never following a link and never leaving it, and copies each
 * regular file whose relative path matches a pattern into out_fd (an
 * open, empty directory) as "1", "2", ..., with its sha256. A symlink,
 * FIFO, socket or device is never opened for reading (a FIFO never
 * blocks); a name that is not UTF-8, or a path longer than WSPATH_MAX
 * bytes or WSGLOB_MAX_PARTS parts, is not collected. Past the caps
 * ret->truncated is set and the walk goes on only to fill matched[].
 * 0 with *ret filled (the caller's to release), or -errno (an I/O error
 * of the store: a full disk) with what was copied left in out_fd. */
int artifacts_collect(int ws_fd, int out_fd, const struct artifacts_spec *spec,
    struct artifact_set *ret);
void artifact_set_release(struct artifact_set *s);

#endif
