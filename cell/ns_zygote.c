/* ns_zygote.c - the helper ("cell-zygote") that clones warm cells for a
 * jobcell-worker process (ns_pool.c), and the worker's side of talking to
 * it. The helper is forked early, runs as root in the worker's namespaces
 * and trusts only its worker's requests (ids and a disk size).
 *
 * A cell cloned from the worker shares the worker's pages copy-on-write
 * for as long as it lives, and a warm cell lives through the worker's
 * whole next transaction: every page the worker then writes (SQLite's
 * cache, malloc) was copied, each with a TLB shootdown (perf: the largest
 * item of the worker's profile). So warm cells are cloned by a helper
 * forked before the worker opens SQLite: its memory is small and the
 * worker never forks again for them. CLONE_PARENT makes each cell the
 * worker's child all the same (waitpid, pidfd, PDEATHSIG as before).
 *
 *   worker (ns_zygote_prepare)          helper (zygote_main)
 *   --------------------------          --------------------
 *   struct zyg_req {uid, gid, disk} ->  ns_pool_warm_clone(CLONE_PARENT)
 *                                       (the seccomp filter built first)
 *   the cell's pid, its fds        <-   struct zyg_rep + SCM_RIGHTS
 *   (out, err, report, job)             (its copies closed)
 *
 * Over one SOCK_SEQPACKET pair. The helper exits when the worker closes
 * its end or dies (PDEATHSIG); if it is gone, the worker clones warm
 * cells itself. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "ns_int.h"
#include "seccomp.h"
#include "banned.h"

struct zyg_req {
	uint32_t uid;
	uint32_t gid;
	uint64_t disk_mb;
};

struct zyg_rep {
	int32_t err; /* 0, or -errno */
	int32_t pid; /* the cell (the worker's child), or -1 */
};

#define ZYG_NFDS 4 /* out_r, err_r, report_r, job_w */

/* The control buffer of a reply: its fds, SCM_RIGHTS (aligned). */
union zyg_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(ZYG_NFDS * sizeof(int))];
};

static int zygote_fd = -1; /* the worker's end, SOCK_SEQPACKET */
static pid_t zygote_pid = -1;

static _Noreturn void
zygote_main(int fd, pid_t parent)
{
	struct zyg_req q;
	ssize_t n;

	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0 ||
	    getppid() != parent)
		_exit(0);
	(void) prctl(PR_SET_NAME, (unsigned long) "cell-zygote", 0L, 0L, 0L);
	for (;;) {
		struct warm_cell w = WARM_CELL_INIT;
		struct cell_pool_config c;
		struct zyg_rep rep;
		union zyg_cmsg cm;
		struct iovec iov = { &rep, sizeof(rep) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		int r = 0;

		n = recv(fd, &q, sizeof(q), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t) sizeof(q))
			_exit(0); /* the worker closed its end */
		c = (struct cell_pool_config){ .host_uid = q.uid,
			.host_gid = q.gid,
			.disk_mb = q.disk_mb };
		if (!ns_cell_filter.insns)
			r = seccomp_prog_build(EPERM, &ns_cell_filter);
		if (r == 0)
			r = ns_pool_warm_clone(&c, &w, CLONE_PARENT);
		rep = (struct zyg_rep){ .err = r, .pid = w.pid };
		if (r == 0) {
			int fds[ZYG_NFDS] = { w.out_r, w.err_r, w.report_r,
				w.job_w };

			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			cm.h.cmsg_level = SOL_SOCKET;
			cm.h.cmsg_type = SCM_RIGHTS;
			cm.h.cmsg_len = CMSG_LEN(sizeof(fds));
			memcpy(CMSG_DATA(&cm.h), fds, sizeof(fds));
		} else if (w.pid > 0) {
			(void) kill(w.pid, SIGKILL); /* the worker reaps */
		}
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t) sizeof(rep))
			_exit(0);
		/* Ours are copies now; the cell is the worker's child. */
		w.pid = -1;
		ns_pool_warm_end(&w);
	}
}

int
cell_pool_start_helper(void)
{
	int sv[2];
	pid_t parent = getpid(), pid;

	if (zygote_fd >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		int r = -errno;

		(void) close(sv[0]);
		(void) close(sv[1]);
		return r;
	}
	if (pid == 0) {
		(void) close(sv[0]);
		zygote_main(sv[1], parent);
	}
	(void) close(sv[1]);
	zygote_fd = sv[0];
	zygote_pid = pid;
	return 0;
}

bool
ns_zygote_running(void)
{
	return zygote_fd >= 0;
}

void
ns_zygote_stop(void)
{
	close_fd(&zygote_fd); /* it exits on EOF */
	if (zygote_pid > 0)
		ns_kill_and_reap(zygote_pid);
	zygote_pid = -1;
}

int
ns_zygote_prepare(const struct cell_pool_config *cfg, struct warm_cell *w)
{
	struct zyg_req q = { .uid = cfg->host_uid,
		.gid = cfg->host_gid,
		.disk_mb = cfg->disk_mb };
	struct zyg_rep rep;
	union zyg_cmsg cm;
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.buf,
		.msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	int fds[ZYG_NFDS] = { -1, -1, -1, -1 };
	ssize_t n;

	do
		n = send(zygote_fd, &q, sizeof(q), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t) sizeof(q)) {
		do
			n = recvmsg(zygote_fd, &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
	}
	if (n != (ssize_t) sizeof(rep)) {
		log_warn("warm cell: the helper is gone, cloning from the "
			 "worker");
		ns_zygote_stop();
		return -EPIPE;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(fds)))
			memcpy(fds, CMSG_DATA(c), sizeof(fds));
	w->pid = rep.pid > 0 ? (pid_t) rep.pid : -1;
	w->out_r = fds[0];
	w->err_r = fds[1];
	w->report_r = fds[2];
	w->job_w = fds[3];
	if (rep.err < 0 || fds[3] < 0) {
		ns_pool_warm_end(w); /* kills and reaps our child, closes */
		return rep.err < 0 ? rep.err : -EIO;
	}
	w->uid = cfg->host_uid;
	w->gid = cfg->host_gid;
	w->disk_mb = cfg->disk_mb;
	return 0;
}
