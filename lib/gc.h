/* gc.h - the garbage collector of [retention] (issue 13), shared by the
 * supervisor (jobcell-worker runs it in a child every gc_interval_s) and
 * `jobcell-admin gc`. One pass deletes, in short write transactions:
 *   - finished jobs older than jobs_days (their logs, artifacts rows and
 *     job_blobs rows cascade; DATA/artifacts/<job id>/ goes after),
 *   - artifacts past expires_at (row, then DATA/artifacts/<job>/<file>),
 *   - blobs unused for blobs_hours that no queued or running job names
 *     (job_blobs),
 *   - images (issue 14) unused for images_days: marked deleted, for the
 *     supervisor to remove from the daemon (gc_images_removable); rows of
 *     builds that ended without an image,
 *   - orphan files: no row and older than GC_ORPHAN_AGE_MS (a crash
 *     between a file and its row; nginx leftovers in DATA/uploads),
 * then returns the database's free pages (PRAGMA incremental_vacuum, in
 * steps) so the file shrinks.
 *
 * Files go after their rows: a reader that found a row either opened the
 * file already (an open fd keeps serving an unlinked file to its end) or
 * finds none (a clean 404), never a truncated one. A blob's file is moved
 * aside under the same write lock that deletes its row, because an upload
 * of the same bytes may put a new file at that path right after. Never
 * logs; callers log the stats. Not thread-safe per db (one pass at a time
 * per connection); two passes in two processes are safe. */
#ifndef JOBCELL_GC_H
#define JOBCELL_GC_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#define GC_ORPHAN_AGE_MS (3600 * 1000LL)
#define GC_BATCH_ROWS 200    /* rows deleted per write transaction */
#define GC_VACUUM_PAGES 2000 /* pages freed per incremental_vacuum step */

enum gc_kind { GC_JOB, GC_ARTIFACT, GC_BLOB, GC_ORPHAN };

struct gc_policy {
	const char *data_dir; /* NULL or "": rows only */
	int64_t now_ms;	      /* wall clock, ms */
	int64_t jobs_days, artifacts_hours, blobs_hours;
	int64_t images_days; /* 0: images are not expired */
	bool dry_run;	     /* count and list, delete nothing */
	/* Called for each thing deleted (or, dry run, that would be): what
	 * is a job id, "JOB/PATH", "CONSUMER/sha256:HEX" or a file path.
	 * May be NULL. */
	void (*seen)(void *arg, enum gc_kind kind, const char *what,
	    int64_t bytes);
	void *arg;
};

struct gc_stats {
	int64_t jobs, job_log_bytes;
	int64_t artifacts, artifact_bytes;
	int64_t blobs, blob_bytes;
	int64_t orphans, orphan_bytes;
	int64_t db_pages_freed;
	int64_t images; /* marked for removal from the daemon */
	int errors;	/* files that could not be removed */
};

/* One pass. 0 with *ret filled, or -errno (-EBUSY: the database stayed
 * locked past its busy timeout; what was done before stays done and is
 * in *ret). */
int gc_run(sqlite3 *db, const struct gc_policy *p, struct gc_stats *ret);
const char *gc_kind_name(enum gc_kind kind);

#endif
