/* workspace_pool.c - disk workspaces made ahead of their jobs and
 * unmounted after them (issue 17), by a helper process per worker, so
 * that neither mkfs, the loop device, the mount nor the umount's
 * writeback is on a job's path. Runs in a jobcell-worker process (root,
 * single-threaded) and in its helper, forked before SQLite is opened
 * ("cell-wspool"). The helper trusts its worker.
 *
 * How it works
 *
 *   worker                                helper
 *   ------                                ------
 *   prepare(disk_mb, uid, gid):     MAKE  the size's template (mkfs.ext4
 *   names the next one             ---->  once, the file unlinked), a
 *   pool-<slot>-<pid>-<n>                 sparse copy of it (no mkfs, no
 *                                         flush), loop device, mount at
 *   take() at the claim: waits     <----  DATA/work/<name>, root chowned;
 *   for the reply, adopts the             reply {0 or -errno}
 *   mount (ws_adopt)
 *   cell_workspace_destroy  UNMOUNT ---->  umount, rmdir (no reply)
 *
 * One workspace is made at a time and each is used by one job only: it
 * is a fresh image, never reused, and the data dies with its loop device.
 * A job of another size takes the cold path (workspace.c). What a killed
 * worker or helper leaves is swept: by the next worker of the slot
 * (cell_workspace_pool_start) and by the supervisor at start and stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "jc_limits.h"
#include "log.h"
#include "parse.h"
#include "workspace_int.h"
#include "banned.h"

enum wsp_op {
	WSP_MAKE = 1,
	WSP_UNMOUNT = 2,
};

struct wsp_req {
	uint32_t op; /* enum wsp_op */
	uint32_t uid;
	uint32_t gid;
	uint32_t pad;
	uint64_t disk_mb;
	char name[JC_PATH_MAX]; /* MAKE: the name; UNMOUNT: the path */
};

struct wsp_rep {
	int32_t err; /* 0, or -errno */
};

static int wsp_fd = -1; /* the worker's end, SOCK_SEQPACKET */
static pid_t wsp_pid = -1;
static char wsp_data_dir[JC_PATH_MAX];
static char wsp_prefix[32]; /* "pool-<slot>-" */
static unsigned wsp_seq;
static struct {
	bool pending; /* a MAKE was sent, its reply not read yet */
	uint64_t disk_mb;
	uid_t uid;
	gid_t gid;
	char name[64];
} wsp_next;

/* ---- the helper ---- */

/* Path must be a workspace of this data directory. */
static bool
helper_path_ok(const char *path)
{
	char dir[JC_PATH_MAX];
	size_t n;

	if ((size_t) snprintf(dir, sizeof(dir), "%s/work/", wsp_data_dir) >=
	    sizeof(dir))
		return false;
	n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] &&
	    !strchr(path + n, '/') && path[n] != '.';
}

static int
helper_make(const struct wsp_req *q, int *tmpl_fd, uint64_t *tmpl_mb)
{
	struct cell_workspace *ws = NULL;
	char name[64];
	int r;

	if (q->disk_mb < 1 || q->disk_mb > CELL_WORKSPACE_POOL_MAX_MB ||
	    q->uid == 0 || q->gid == 0 ||
	    strncmp(q->name, wsp_prefix, strlen(wsp_prefix)) != 0 ||
	    strchr(q->name, '/') || strnlen(q->name, sizeof(q->name)) >= 64)
		return -EINVAL;
	if (*tmpl_fd < 0 || *tmpl_mb != q->disk_mb) {
		close_fd(tmpl_fd);
		(void) snprintf(name, sizeof(name), "%stmpl", wsp_prefix);
		if ((*tmpl_fd = ws_template(wsp_data_dir, name, q->disk_mb)) <
		    0) {
			r = *tmpl_fd;
			*tmpl_fd = -1;
			return r;
		}
		*tmpl_mb = q->disk_mb;
	}
	if ((r = ws_make_from_template(wsp_data_dir, q->name, *tmpl_fd,
		 q->disk_mb, (uid_t) q->uid, (gid_t) q->gid, &ws, NULL, 0)) < 0)
		return r;
	/* The worker adopts the mount; ours goes without unmounting. */
	close_fd(&ws->root_fd);
	free(ws);
	return 0;
}

static _Noreturn void
helper_main(int fd, pid_t parent)
{
	_cleanup_close_ int tmpl_fd = -1;
	uint64_t tmpl_mb = 0;
	struct wsp_req *q;

	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0 ||
	    getppid() != parent)
		_exit(0);
	(void) prctl(PR_SET_NAME, (unsigned long) "cell-wspool", 0L, 0L, 0L);
	/* The worker's TERM/INT (drain) are not ours: EOF ends us. */
	(void) signal(SIGTERM, SIG_IGN);
	(void) signal(SIGINT, SIG_IGN);
	(void) signal(SIGUSR1, SIG_IGN);
	(void) signal(SIGHUP, SIG_IGN);
	(void) signal(SIGPIPE, SIG_IGN);
	if (!(q = malloc(sizeof(*q))))
		_exit(1);
	for (;;) {
		struct wsp_rep rep;
		ssize_t n;
		int r;

		n = recv(fd, q, sizeof(*q), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t) sizeof(*q))
			_exit(0); /* the worker closed its end */
		q->name[sizeof(q->name) - 1] = '\0';
		if (q->op == WSP_UNMOUNT) {
			if (!helper_path_ok(q->name))
				log_warn("workspace pool: refused to unmount "
					 "'%s'",
				    q->name);
			else if ((r = ws_unmount(q->name)) < 0)
				log_errno(r, "workspace '%s': cannot remove it",
				    q->name);
			continue;
		}
		rep.err = q->op == WSP_MAKE ?
		    helper_make(q, &tmpl_fd, &tmpl_mb) :
		    -EINVAL;
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) !=
		    (ssize_t) sizeof(rep))
			_exit(0);
	}
}

/* ---- the worker's side ---- */

int
cell_workspace_pool_start(const char *data_dir, int slot)
{
	int sv[2], r;
	pid_t parent = getpid(), pid;

	if (wsp_fd >= 0)
		return 0;
	if (str_copy(wsp_data_dir, sizeof(wsp_data_dir), data_dir) < 0)
		return -ENAMETOOLONG;
	(void) snprintf(wsp_prefix, sizeof(wsp_prefix), "pool-%d-", slot);
	/* What a killed predecessor of this slot (or its helper) left. */
	if ((r = ws_sweep(data_dir, wsp_prefix)) < 0)
		log_errno(r,
		    "slot %d: cannot sweep the workspace pool, "
		    "ignoring",
		    slot);
	else if (r > 0)
		log_info("slot %d: removed %d pooled workspace(s) left by a "
			 "dead worker",
		    slot, r);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		r = -errno;
		(void) close(sv[0]);
		(void) close(sv[1]);
		return r;
	}
	if (pid == 0) {
		(void) close(sv[0]);
		helper_main(sv[1], parent);
	}
	(void) close(sv[1]);
	wsp_fd = sv[0];
	wsp_pid = pid;
	return 0;
}

/* The helper died or stopped answering: forget it (the cold path and
 * synchronous unmounts from now on). */
static void
pool_lost(const char *why)
{
	log_warn("workspace pool: %s, making workspaces on the job's path",
	    why);
	close_fd(&wsp_fd);
	if (wsp_pid > 0) {
		(void) kill(wsp_pid, SIGKILL);
		while (waitpid(wsp_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	wsp_pid = -1;
	wsp_next.pending = false;
}

/* The pending MAKE's reply: 0 with the name in wsp_next, or -errno. */
static int
pool_reply(void)
{
	struct wsp_rep rep;
	ssize_t n;

	wsp_next.pending = false;
	do
		n = recv(wsp_fd, &rep, sizeof(rep), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t) sizeof(rep)) {
		pool_lost("the helper is gone");
		return -EPIPE;
	}
	return rep.err;
}

void
cell_workspace_pool_prepare(uint64_t disk_mb, uid_t uid, gid_t gid)
{
	struct wsp_req *q;
	char path[JC_PATH_MAX];
	ssize_t n;

	if (wsp_fd < 0 || disk_mb < 1 || disk_mb > CELL_WORKSPACE_POOL_MAX_MB)
		return;
	if (wsp_next.pending) {
		if (wsp_next.disk_mb == disk_mb && wsp_next.uid == uid &&
		    wsp_next.gid == gid)
			return;
		/* Made for another size: it goes, unused. */
		if (pool_reply() == 0 &&
		    (size_t) snprintf(path, sizeof(path), "%s/work/%s",
			wsp_data_dir, wsp_next.name) < sizeof(path))
			(void) ws_pool_unmount_async(path);
		if (wsp_fd < 0)
			return;
	}
	if (!(q = calloc(1, sizeof(*q))))
		return;
	q->op = WSP_MAKE;
	q->uid = (uint32_t) uid;
	q->gid = (uint32_t) gid;
	q->disk_mb = disk_mb;
	(void) snprintf(q->name, sizeof(q->name), "%s%ld-%u", wsp_prefix,
	    (long) getpid(), wsp_seq++);
	do
		n = send(wsp_fd, q, sizeof(*q), MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t) sizeof(*q)) {
		wsp_next.pending = true;
		wsp_next.disk_mb = disk_mb;
		wsp_next.uid = uid;
		wsp_next.gid = gid;
		(void) str_copy(wsp_next.name, sizeof(wsp_next.name), q->name);
	} else if (n < 0 && errno != EAGAIN) {
		pool_lost("the helper is gone");
	}
	free(q);
}

int
cell_workspace_pool_take(uint64_t disk_mb, uid_t uid, gid_t gid,
    struct cell_workspace **ret)
{
	char path[JC_PATH_MAX];
	int r;

	if (wsp_fd < 0 || !wsp_next.pending || wsp_next.disk_mb != disk_mb ||
	    wsp_next.uid != uid || wsp_next.gid != gid)
		return -ENOENT;
	if ((r = pool_reply()) < 0) {
		log_warn("workspace pool: the helper could not make '%s': %s, "
			 "ignoring",
		    wsp_next.name, strerror(-r));
		return -ENOENT;
	}
	if ((size_t) snprintf(path, sizeof(path), "%s/work/%s", wsp_data_dir,
		wsp_next.name) >= sizeof(path))
		return -ENOENT;
	if ((r = ws_adopt(path, ret)) < 0) {
		log_warn("workspace pool: cannot use '%s': %s, ignoring", path,
		    strerror(-r));
		return -ENOENT;
	}
	return 0;
}

int
ws_pool_unmount_async(const char *path)
{
	struct wsp_req *q;
	ssize_t n;
	int r;

	if (wsp_fd < 0)
		return -ENOTCONN;
	if (!(q = calloc(1, sizeof(*q))))
		return -ENOMEM;
	q->op = WSP_UNMOUNT;
	if (str_copy(q->name, sizeof(q->name), path) < 0) {
		free(q);
		return -ENAMETOOLONG;
	}
	/* Never blocks the job's path: a full queue unmounts here. */
	do
		n = send(wsp_fd, q, sizeof(*q), MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : n == (ssize_t) sizeof(*q) ? 0 : -EIO;
	free(q);
	return r;
}

void
cell_workspace_pool_stop(void)
{
	char path[JC_PATH_MAX];

	if (wsp_fd < 0)
		return;
	if (wsp_next.pending && pool_reply() == 0 &&
	    (size_t) snprintf(path, sizeof(path), "%s/work/%s", wsp_data_dir,
		wsp_next.name) < sizeof(path))
		(void) ws_pool_unmount_async(path);
	/* EOF after the queued unmounts: the helper does them, then exits;
	 * waiting for it leaves nothing mounted behind this worker. */
	close_fd(&wsp_fd);
	if (wsp_pid > 0)
		while (waitpid(wsp_pid, NULL, 0) < 0 && errno == EINTR)
			;
	wsp_pid = -1;
}
