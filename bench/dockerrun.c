/* dockerrun.c - runs one command in a docker cell (cell/docker_cell.c)
 * for debugging and benchmarks (not installed). Needs a docker daemon and
 * the right to use its socket. Trusts its command line.
 *
 *   dockerrun [--socket PATH] [--image REF] [--memory-mb N] [--cpus N]
 *             [--pids N] [--disk-mb N] [--timeout-ms N] [-i] -- argv...
 *   dockerrun --repeat N [--quiet] ... -- argv...
 *
 * Prints the job's output as it comes (stdout to stdout, stderr to
 * stderr) and exits with the job's exit code, 124 on timeout, 125 if the
 * cell could not be built or the daemon failed, 2 for usage errors; with
 * -i the job reads our stdin. --repeat prints the p50 and p99 of
 * start-to-removed in microseconds. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "cell.h"
#include "strbuf.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

#define EXIT_TIMEOUT	124
#define EXIT_SETUP	125
#define REPEAT_MAX	100000
#define BENCH_CELL_UID	200000	/* slot 0 of the default uid_base */

static const char *arg_socket;
static const char *arg_image = "jobcell-test:busybox";
static uint64_t arg_memory_mb = 256;
static uint64_t arg_cpus = 1;
static uint64_t arg_pids = 128;
static uint64_t arg_disk_mb = 64;
static uint64_t arg_timeout_ms = 0;	/* 0: none */
static uint64_t arg_repeat = 0;
static bool arg_quiet = false;
static bool arg_stdin = false;

static char env_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
static char env_home[] = "HOME=/work";
static char *const job_env[] = { env_path, env_home, NULL };

/* Copies what is available on fd to out; closes fd at EOF. */
static void
pump(int *fd, int out)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		/* what is there now (non-blocking), not read_full */
		n = read(*fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			*fd = -1;	/* the cell's release closes it */
			return;
		}
		if (arg_quiet)
			continue;
		if (write_full(out, buf, (size_t) n) < 0)
			return;
	}
}

static int
run_cell(char *const *argv, uint64_t n)
{
	char job_id[64], errmsg[512];
	/* No cgroup of its own (CELL_NO_CGROUP): the daemon's, as before. */
	struct cell_spec spec = {
		.image = arg_image, .job_id = job_id,
		.argv = argv, .envp = job_env,
		.host_uid = BENCH_CELL_UID, .host_gid = BENCH_CELL_UID,
		.stdin_fd = arg_stdin ? 0 : -1, .disk_mb = arg_disk_mb,
		.memory_mb = arg_memory_mb, .cpus = arg_cpus,
		.pids = arg_pids, .max_run_ms = (int64_t) arg_timeout_ms,
		.flags = CELL_NO_CGROUP,
	};
	const struct cell_ops *ops = &cell_docker_ops;
	struct cell c;
	struct cell_result res = { 0 };
	struct cell_usage usage = { 0 };
	int64_t term_at = -1, kill_at = -1, now;
	bool timed_out = false;
	int r;

	(void) snprintf(job_id, sizeof(job_id), "dockerrun-%ld-%" PRIu64,
	    (long) getpid(), n);
	/* The worker's seccomp profile, made the same way (by the backend). */
	if ((r = ops->start(&spec, &c, errmsg, sizeof(errmsg))) < 0) {
		fprintf(stderr, "dockerrun: %s\n", errmsg);
		return EXIT_SETUP;
	}
	if (arg_timeout_ms)
		term_at = time_mono_us() + (int64_t) arg_timeout_ms * 1000;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c.stdout_fd, .events = POLLIN },
			{ .fd = c.stderr_fd, .events = POLLIN },
		};
		int timeout = -1;

		if ((r = ops->try_wait(&c, &res)) != 0)
			break;
		now = time_mono_us();
		if (term_at >= 0 && now >= term_at) {
			timed_out = true;
			(void) ops->signal(&c, SIGTERM);
			term_at = -1;
			kill_at = now + (int64_t) JC_KILL_GRACE_MS * 1000;
		}
		if (kill_at >= 0 && now >= kill_at) {
			(void) ops->signal(&c, SIGKILL);
			kill_at = -1;
		}
		if (term_at >= 0)
			timeout = (int) ((term_at - now) / 1000 + 1);
		else if (kill_at >= 0)
			timeout = (int) ((kill_at - now) / 1000 + 1);
		/* The helper's exit does not wake poll: look again soon once
		 * the pipes are closed. */
		if (c.stdout_fd < 0 && c.stderr_fd < 0)
			timeout = timeout < 0 || timeout > 2 ? 2 : timeout;
		if (poll(p, 2, timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "dockerrun: poll: %s\n", strerror(errno));
			ops->release(&c);
			return EXIT_SETUP;
		}
		if (c.stdout_fd >= 0 && p[0].revents)
			pump(&c.stdout_fd, 1);
		if (c.stderr_fd >= 0 && p[1].revents)
			pump(&c.stderr_fd, 2);
	}
	/* Every writer is gone: drain to EOF. */
	while (c.stdout_fd >= 0)
		pump(&c.stdout_fd, 1);
	while (c.stderr_fd >= 0)
		pump(&c.stderr_fd, 2);
	if (r < 0) {
		ops->release(&c);
		fprintf(stderr, "dockerrun: lost the helper: %s\n", strerror(-r));
		return EXIT_SETUP;
	}
	ops->collect(&c, &res, &usage);
	ops->release(&c);
	if (res.outcome == CELL_LOST) {
		fprintf(stderr, "dockerrun: %s\n", res.error);
		return EXIT_SETUP;
	}
	if (usage.oom_killed && !arg_quiet)
		fprintf(stderr, "dockerrun: out of memory (OOMKilled)\n");
	if (timed_out)
		return EXIT_TIMEOUT;
	return res.outcome == CELL_SIGNALED ? 128 + res.signal : res.exit_code;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static int
repeat(char *const *argv)
{
	_cleanup_free_ int64_t *t = NULL;
	int64_t t0;
	int status;

	if (!(t = calloc(arg_repeat, sizeof(*t)))) {
		fprintf(stderr, "dockerrun: out of memory\n");
		return 1;
	}
	for (uint64_t i = 0; i < arg_repeat; i++) {
		t0 = time_mono_us();
		status = run_cell(argv, i);
		t[i] = time_mono_us() - t0;
		if (status != 0) {
			fprintf(stderr, "dockerrun: run %" PRIu64 " exited %d\n",
			    i + 1, status);
			return status;
		}
	}
	qsort(t, arg_repeat, sizeof(*t), cmp_i64);
	printf("docker-cell runs=%" PRIu64 " p50_us=%" PRId64 " p99_us=%" PRId64
	    " min_us=%" PRId64 " max_us=%" PRId64 "\n", arg_repeat,
	    t[arg_repeat / 2], t[(arg_repeat * 99) / 100 < arg_repeat ?
	    (arg_repeat * 99) / 100 : arg_repeat - 1], t[0], t[arg_repeat - 1]);
	return fflush(stdout) == 0 ? 0 : 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dockerrun [--socket PATH] [--image REF] [--memory-mb N]\n"
	    "                 [--cpus N] [--pids N] [--disk-mb N] [--timeout-ms N]\n"
	    "                 [-i] [--repeat N [--quiet]] -- argv...\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'I' },
		{ "memory-mb", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "pids", required_argument, NULL, 'P' },
		{ "disk-mb", required_argument, NULL, 'd' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t *dst;
	uint64_t min, max;
	int c, idx = 0;

	while ((c = getopt_long(argc, argv, "+i", opts, &idx)) != -1) {
		min = 1;
		switch (c) {
		case 's': arg_socket = optarg; continue;
		case 'I': arg_image = optarg; continue;
		case 'm': dst = &arg_memory_mb; max = 1 << 20; min = 6; break;
		case 'c': dst = &arg_cpus; max = 1024; break;
		case 'P': dst = &arg_pids; max = 1 << 22; break;
		case 'd': dst = &arg_disk_mb; max = 1 << 20; break;
		case 't': dst = &arg_timeout_ms; max = 86400000; break;
		case 'r': dst = &arg_repeat; max = REPEAT_MAX; break;
		case 'q': arg_quiet = true; continue;
		case 'i': arg_stdin = true; continue;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (parse_u64(optarg, min, max, dst) < 0) {
			fprintf(stderr, "dockerrun: bad value '%s' for --%s\n",
			    optarg, opts[idx].name);
			return 2;
		}
	}
	if (optind >= argc || (arg_repeat && arg_stdin)) {
		usage(stderr);
		return 2;
	}
	(void) signal(SIGPIPE, SIG_IGN);
	{
		struct cell_host_config host = { .docker_socket = arg_socket };
		char msg[256];
		int r;

		if (!host.docker_socket)
			host.docker_socket = CELL_DOCKER_SOCKET_DEFAULT;
		if ((r = cell_host_init(&host, NULL, msg, sizeof(msg))) < 0) {
			fprintf(stderr, "dockerrun: %s\n", msg);
			return 1;
		}
	}
	if (arg_repeat)
		return repeat(argv + optind);
	return run_cell(argv + optind, 0);
}
