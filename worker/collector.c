/* collector.c - the supervisor's garbage collection (lib/gc.c) in a child
 * process: forked every [retention] gc_interval_s, it opens its own
 * database connection, runs one pass in short write transactions, logs
 * what went and exits. The supervisor keeps dispatching meanwhile (it
 * never waits for the child; SIGCHLD reaps it), and a SIGTERM ends a
 * pass between transactions or inside one (rolled back): both are safe. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "db.h"
#include "gc.h"
#include "log.h"
#include "timefmt.h"
#include "worker.h"
#include "banned.h"

/* Images marked deleted (DELETE /v1/images/..., or expired by gc_run):
 * out of the daemon, then their rows. One in use stays for the next pass. */
static void
remove_images(const struct collector_config *c, sqlite3 *db)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int n = 0, r;

	if (!c->docker_socket ||
	    db_prepare(db,
		"SELECT consumer_id, name, tag FROM images "
		"WHERE deleted = 1 LIMIT 100",
		&st) < 0)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		_cleanup_stmt_ sqlite3_stmt *del = NULL;
		char ref[512];
		int64_t cid = sqlite3_column_int64(st, 0);
		const char *name = (const char *) sqlite3_column_text(st, 1);
		const char *tag = (const char *) sqlite3_column_text(st, 2);

		if (!name || !tag ||
		    (size_t) snprintf(ref, sizeof(ref), "jobcell/%lld/%s:%s",
			(long long) cid, name, tag) >= sizeof(ref))
			continue;
		if ((r = cell_docker_image_remove(c->docker_socket, ref)) < 0) {
			log_info("gc: image '%s' stays for now: %s", ref,
			    strerror(-r));
			continue;
		}
		if (db_prepare(db,
			"DELETE FROM images WHERE consumer_id = ? AND "
			"name = ? AND tag = ? AND deleted = 1",
			&del) < 0 ||
		    sqlite3_bind_int64(del, 1, cid) != SQLITE_OK ||
		    sqlite3_bind_text(del, 2, name, -1, SQLITE_TRANSIENT) !=
			SQLITE_OK ||
		    sqlite3_bind_text(del, 3, tag, -1, SQLITE_TRANSIENT) !=
			SQLITE_OK ||
		    sqlite3_step(del) != SQLITE_DONE)
			log_warn("gc: image '%s' removed but its row stays, "
				 "retrying",
			    ref);
		else
			n++;
	}
	if (n > 0)
		log_info("gc: removed %d images from the docker daemon", n);
}

static int
collect(const struct collector_config *c)
{
	struct gc_policy p = {
		.data_dir = c->data_dir,
		.now_ms = time_now_ms(),
		.jobs_days = c->jobs_days,
		.artifacts_hours = c->artifacts_hours,
		.blobs_hours = c->blobs_hours,
		.images_days = c->images_days,
	};
	struct gc_stats s;
	sqlite3 *db = NULL;
	char errmsg[256];
	int64_t t0 = time_mono_ms();
	int r;

	if ((r = db_open(c->db_path, 0, 0, &db, errmsg, sizeof(errmsg))) < 0) {
		log_warn("gc: cannot open the database: %s, retrying at the "
			 "next interval",
		    errmsg);
		return 1;
	}
	r = gc_run(db, &p, &s);
	if (r >= 0)
		remove_images(c, db);
	db = db_close(db);
	if (r < 0) {
		log_errno(r,
		    "gc: pass stopped after %lld jobs, %lld "
		    "artifacts, %lld blobs, retrying at the next interval",
		    (long long) s.jobs, (long long) s.artifacts,
		    (long long) s.blobs);
		return 1;
	}
	if (s.jobs || s.artifacts || s.blobs || s.orphans || s.db_pages_freed)
		log_info(
		    "gc: deleted %lld jobs (%lld log bytes), %lld "
		    "artifacts (%lld bytes), %lld blobs (%lld bytes), %lld "
		    "orphan files (%lld bytes); %lld database pages freed in "
		    "%lld ms",
		    (long long) s.jobs, (long long) s.job_log_bytes,
		    (long long) s.artifacts, (long long) s.artifact_bytes,
		    (long long) s.blobs, (long long) s.blob_bytes,
		    (long long) s.orphans, (long long) s.orphan_bytes,
		    (long long) s.db_pages_freed,
		    (long long) (time_mono_ms() - t0));
	if (s.errors)
		log_warn("gc: %d files could not be removed, retrying at the "
			 "next interval",
		    s.errors);
	return 0;
}

pid_t
collector_spawn(const struct collector_config *c, const sigset_t *oldmask)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	(void) sigprocmask(SIG_SETMASK, oldmask, NULL);
	/* A pass is atomic per transaction: ending with the supervisor
	 * loses nothing. */
	(void) prctl(PR_SET_PDEATHSIG, SIGTERM);
	_exit(collect(c));
}
