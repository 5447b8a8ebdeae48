/* docker_probe.c - a throwaway docker cell that runs one short command and
 * gives back its output: how the supervisor learns a docker runtime's
 * version from the toolchain in its image (issue 14). The same locked-down
 * container as a job's (docker_cell.c, docker_spec.c), with no network,
 * small limits and a short wall time. Runs in the supervisor
 * (single-threaded). Trusts nothing of the output but its bytes, bounded. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "timefmt.h"
#include "docker_int.h"
#include "banned.h"

#define PROBE_DISK_MB 16 /* /work and /tmp */
#define PROBE_PIDS 64
#define PROBE_END_MS 15000 /* after the kill: the helper's report */

/* Reads what fd holds into out (up to size - 1 bytes in all, *len so
 * far); the rest is dropped. false at EOF. */
static bool
probe_read(int fd, char *out, size_t size, size_t *len)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		size_t room = size - 1 - *len,
		       k = (size_t) n < room ? (size_t) n : room;

		memcpy(out + *len, buf, k);
		*len += k;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR);
}

int
cell_docker_probe(const char *socket_path, const char *image, char *const *argv,
    uid_t uid, gid_t gid, int64_t timeout_ms, char *out, size_t size,
    int *ret_exit_code, char *msg, size_t msg_size)
{
	static unsigned seq;
	static char *const no_env[] = { NULL };
	char job_id[JOB_ID_MAX + 1];
	struct cell_spec spec = {
		.job_id = job_id,
		.argv = argv,
		.envp = no_env,
		.stdin_fd = -1,
		.host_uid = uid,
		.host_gid = gid,
		.disk_mb = PROBE_DISK_MB,
		.memory_mb = DOCKER_PROBE_MEMORY_MB,
		.cpus = 1,
		.pids = PROBE_PIDS,
		.image = image,
		.max_run_ms = timeout_ms,
	};
	struct docker_create o = {
		.socket_path = socket_path,
		.image = image,
		.worker_id = (long) getpid(),
	};
	struct docker_cell c;
	struct cell_result res = { 0 };
	int64_t deadline = time_mono_ms() + timeout_ms, end;
	bool out_open = true, err_open = true, killed = false;
	size_t len = 0;
	int r;

	if (size == 0)
		return -EINVAL;
	out[0] = '\0';
	/* Labelled with the supervisor's pid: the sweep removes what a
	 * crash left once that process is gone. */
	(void) snprintf(job_id, sizeof(job_id), "probe-%ld-%u", (long) getpid(),
	    seq++);
	if (!(o.seccomp_profile = docker_seccomp())) {
		docker_setmsg(msg, msg_size, "cannot make the seccomp profile");
		return -ENOMEM;
	}
	if ((r = docker_cell_start(&spec, &o, &c, msg, msg_size)) < 0)
		return r;
	while (out_open || err_open) {
		struct pollfd pfd[2];
		int64_t left = deadline - time_mono_ms();
		nfds_t n = 0;

		if (left <= 0)
			break;
		if (out_open)
			pfd[n++] = (struct pollfd){ c.stdout_fd, POLLIN, 0 };
		if (err_open)
			pfd[n++] = (struct pollfd){ c.stderr_fd, POLLIN, 0 };
		if (poll(pfd, n, (int) left) < 0 && errno != EINTR)
			break;
		if (out_open)
			out_open = probe_read(c.stdout_fd, out, size, &len);
		if (err_open)
			err_open = probe_read(c.stderr_fd, out, size, &len);
	}
	out[len] = '\0';
	if (out_open || err_open) {
		(void) docker_cell_signal(&c, SIGKILL);
		killed = true;
	}
	end = time_mono_ms() + PROBE_END_MS;
	while (
	    (r = docker_cell_try_wait(&c, &res)) == 0 && time_mono_ms() < end)
		(void) poll(NULL, 0, 10);
	docker_cell_release(&c);
	if (r <= 0) {
		docker_setmsg(msg, msg_size,
		    "the probe's container did not "
		    "end");
		return r < 0 ? r : -ETIMEDOUT;
	}
	if (res.outcome != CELL_EXITED) {
		docker_setmsg(msg, msg_size, "%s", res.error);
		return -EIO;
	}
	if (killed) {
		docker_setmsg(msg, msg_size, "it did not end within %lld ms",
		    (long long) timeout_ms);
		return -ETIMEDOUT;
	}
	*ret_exit_code = res.exit_code;
	return 0;
}
