/* cellrun.c - runs one command in a namespace cell, for debugging and
 * benchmarks (not installed). Run as root. Trusts its command line.
 *
 *   cellrun [--uid N] [--gid N] [--disk-mb N] [--timeout-ms N]
 *           [--no-cgroup] -- argv...
 *   cellrun --repeat N [--quiet] [--plain] [--no-cgroup] -- argv...
 *
 * Exits with the job's exit code, 124 on timeout, 125 if the cell could not
 * be built, 128+N for signal N, 2 for usage errors. --repeat prints the p50
 * and p99 of start-to-reaped in microseconds (--samples: every run's time,
 * one a line, in run order); --plain runs argv with a plain
 * fork+execve instead of a cell, as the baseline. Each cell gets a cgroup
 * of its own (memory 256 MiB, 64 pids, 1 CPU), removed after it, as the
 * worker does; --no-cgroup leaves that out.
 *
 * --warm: each cell comes from the namespace backend's pool (ns_pool.c),
 * prepared before the clock starts and waiting, as a worker's is while it
 * waits for a job. --first: the time measured is start -> the job's first
 * output, which must be the realtime clock in ns (argv: /bin/date +%s%N),
 * i.e. claimed -> the job runs (date's own start-up included; --plain
 * measures that alone). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

#define EXIT_TIMEOUT	124
#define EXIT_SETUP	125
#define REPEAT_MAX	1000000

static uint64_t arg_uid = 65534;
static uint64_t arg_gid = 0;		/* 0: same as --uid */
static uint64_t arg_disk_mb = 64;
static uint64_t arg_timeout_ms = 0;	/* 0: none */
static uint64_t arg_repeat = 0;
static bool arg_quiet = false;
static bool arg_plain = false;
static bool arg_cgroup = true;
static bool arg_samples = false;
static bool arg_warm = false;
static bool arg_first = false;

static char first_buf[64]; /* --first: the job's first output */
static size_t first_len;

static uint64_t cg_seq;

static char env_path[] = "PATH=/usr/bin:/bin";
static char env_home[] = "HOME=/work";
static char *const job_env[] = { env_path, env_home, NULL };

/* Copies what is available on fd to out; -1 on EOF after the copy. */
static int
pump(int *fd, int out)
{
	char buf[65536];
	ssize_t n;
	int r;

	for (;;) {
		/* what is there now (non-blocking), not read_full */
		n = read(*fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			*fd = -1;	/* the cell's release closes it */
			return n < 0 ? -errno : 0;
		}
		if (arg_first && out == 1) {
			size_t k = (size_t) n <
				sizeof(first_buf) - 1 - first_len ?
			    (size_t) n :
			    sizeof(first_buf) - 1 - first_len;

			memcpy(first_buf + first_len, buf, k);
			first_len += k;
			first_buf[first_len] = '\0';
		}
		if (arg_quiet)
			continue;
		if ((r = write_full(out, buf, (size_t) n)) < 0)
			return r;
	}
}

/* Runs argv in one cell, in a cgroup of its own (memory 256 MiB, 64 pids,
 * 1 CPU; removed after) unless --no-cgroup; returns the exit status for
 * our own exit. */
static int
run_cell(char *const *argv)
{
	char name[64], msg[512];
	struct cell_spec spec = {
		.job_id = name, .argv = argv, .envp = job_env,
		.stdin_fd = arg_repeat ? -1 : 0,
		.host_uid = (uid_t) arg_uid,
		.host_gid = (gid_t) (arg_gid ? arg_gid : arg_uid),
		.disk_mb = arg_disk_mb,
		/* pids + 1 (the cell's init) = 64 */
		.memory_mb = 256, .pids = 63, .cpus = 1,
		.flags = arg_cgroup ? 0 : CELL_NO_CGROUP,
	};
	const struct cell_ops *ops = &cell_ns_ops;
	struct cell c;
	struct cell_result res;
	int64_t term_at = -1, kill_at = -1, now;
	bool timed_out = false, done = false;
	int r, timeout;

	(void) snprintf(name, sizeof(name), "cellrun-%ld-%" PRIu64,
	    (long) getpid(), cg_seq++);
	if ((r = ops->start(&spec, &c, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "cellrun: cannot start the cell: %s\n", msg);
		return EXIT_SETUP;
	}
	/* Our unreaped child: the pid cannot be reused under us. */
	if (c.exit_fd < 0) {
		fprintf(stderr, "cellrun: pidfd_open failed\n");
		ops->release(&c);
		return EXIT_SETUP;
	}
	if (arg_timeout_ms)
		term_at = time_mono_us() + (int64_t) arg_timeout_ms * 1000;

	while (!done) {
		struct pollfd p[3] = {
			{ .fd = c.stdout_fd, .events = POLLIN },
			{ .fd = c.stderr_fd, .events = POLLIN },
			{ .fd = c.exit_fd, .events = POLLIN },
		};

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
		timeout = -1;
		if (term_at >= 0)
			timeout = (int) ((term_at - now) / 1000 + 1);
		else if (kill_at >= 0)
			timeout = (int) ((kill_at - now) / 1000 + 1);
		if (poll(p, 3, timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "cellrun: poll: %s\n", strerror(errno));
			ops->release(&c);
			return EXIT_SETUP;
		}
		if (c.stdout_fd >= 0 && p[0].revents)
			(void) pump(&c.stdout_fd, 1);
		if (c.stderr_fd >= 0 && p[1].revents)
			(void) pump(&c.stderr_fd, 2);
		if (p[2].revents) {
			if ((r = ops->try_wait(&c, &res)) < 0) {
				fprintf(stderr, "cellrun: wait: %s\n", strerror(-r));
				ops->release(&c);
				return EXIT_SETUP;
			}
			done = r == 1;
		}
	}
/* Every writer is dead: drain to EOF. */
	while (c.stdout_fd >= 0 && pump(&c.stdout_fd, 1) == 0)
		;
	while (c.stderr_fd >= 0 && pump(&c.stderr_fd, 2) == 0)
		;
	/* No collect(): the bench needs no usage numbers, and release()
	 * ends and removes everything as the worker's path does. */
	ops->release(&c);

	switch (res.outcome) {
	case CELL_SETUP_FAILED:
	case CELL_LOST:
		fprintf(stderr, "cellrun: %s\n", res.error);
		return EXIT_SETUP;
	case CELL_EXITED:
		return timed_out ? EXIT_TIMEOUT : res.exit_code;
	case CELL_SIGNALED:
		if (timed_out)
			return EXIT_TIMEOUT;
		if (!arg_quiet)
			fprintf(stderr, "cellrun: killed by signal %d\n", res.signal);
		return 128 + res.signal;
	}
	return EXIT_SETUP;
}

/* The baseline: fork + execve, stdout and stderr to /dev/null if quiet. */
static int
run_plain(char *const *argv)
{
	pid_t pid, w;
	int st, nul, p[2] = { -1, -1 };

	if (arg_first && pipe2(p, O_CLOEXEC) < 0)
		return EXIT_SETUP;
	if ((pid = fork()) < 0)
		return EXIT_SETUP;
	if (pid == 0) {
		if (arg_first && dup2(p[1], 1) < 0)
			_exit(127);
		if (arg_quiet && !arg_first) {
			if ((nul = open("/dev/null", O_WRONLY)) < 0 ||
			    dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
				_exit(127);
		}
		(void) execve(argv[0], argv, job_env);
		_exit(127);
	}
	if (arg_first) {
		ssize_t n;

		(void) close(p[1]);
		n = read_full(p[0], first_buf, sizeof(first_buf) - 1);
		first_len = n > 0 ? (size_t) n : 0;
		first_buf[first_len] = '\0';
		(void) close(p[0]);
	}
	do
		w = waitpid(pid, &st, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return EXIT_SETUP;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static int64_t
real_ns(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --warm: a warm cell prepared and waiting for its job (its init named
 * itself cell-warm and sleeps) before the clock starts. */
static int
warm_up(void)
{
	struct cell_pool_config pc = {
		.host_uid = (uid_t) arg_uid,
		.host_gid = (gid_t) (arg_gid ? arg_gid : arg_uid),
		.disk_mb = arg_disk_mb,
	};
	char path[64], buf[512];
	int r;

	if ((r = cell_pool_prepare(&pc)) < 0) {
		fprintf(stderr, "cellrun: cannot prepare a warm cell: %s\n",
		    strerror(-r));
		return 1;
	}
	(void) snprintf(path, sizeof(path), "/proc/%ld/stat",
	    (long) cell_pool_pid());
	for (int i = 0; i < 100000; i++) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, "(cell-warm) S"))
				return 0;
		}
		(void) poll(NULL, 0, 0);
	}
	fprintf(stderr, "cellrun: the warm cell did not get ready\n");
	return 1;
}

static int
repeat(char *const *argv)
{
	_cleanup_free_ int64_t *t = NULL;
	int64_t t0;
	int status = 0;

	if (!(t = calloc(arg_repeat, sizeof(*t)))) {
		fprintf(stderr, "cellrun: out of memory\n");
		return 1;
	}
	for (uint64_t i = 0; i < arg_repeat; i++) {
		int64_t t0_real_ns;
		uint64_t first_ns;

		if (arg_warm && (status = warm_up()) != 0)
			return status;
		first_len = 0;
		first_buf[0] = '\0';
		t0_real_ns = real_ns();
		t0 = time_mono_us();
		status = arg_plain ? run_plain(argv) : run_cell(argv);
		t[i] = time_mono_us() - t0;
		if (arg_first && status == 0) {
			first_buf[strcspn(first_buf, "\n")] = '\0';
			if (parse_u64(first_buf, 1, INT64_MAX, &first_ns) < 0) {
				fprintf(stderr,
				    "cellrun: --first: the job printed "
				    "'%s', not a time in ns\n",
				    first_buf);
				return 1;
			}
			t[i] = ((int64_t) first_ns - t0_real_ns) / 1000;
		}
		if (status != 0) {
			fprintf(stderr, "cellrun: run %" PRIu64 " exited %d\n",
			    i + 1, status);
			return status;
		}
	}
	if (arg_samples) {
		for (uint64_t i = 0; i < arg_repeat; i++)
			printf("%" PRId64 "\n", t[i]);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	qsort(t, arg_repeat, sizeof(*t), cmp_i64);
	printf("%s runs=%" PRIu64 " p50_us=%" PRId64 " p99_us=%" PRId64
	    " min_us=%" PRId64 " max_us=%" PRId64 "\n",
	    arg_plain ? "plain" : "cell", arg_repeat, t[arg_repeat / 2],
	    t[(arg_repeat * 99) / 100 < arg_repeat ? (arg_repeat * 99) / 100 :
	    arg_repeat - 1], t[0], t[arg_repeat - 1]);
	return fflush(stdout) == 0 ? 0 : 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cellrun [--uid N] [--gid N] [--disk-mb N] [--timeout-ms N]\n"
	    "               [--no-cgroup] [--repeat N [--quiet] [--plain] [--samples]\n"
	    "               [--warm] [--first]]\n"
	    "               -- argv...\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "disk-mb", required_argument, NULL, 'd' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "plain", no_argument, NULL, 'p' },
		{ "no-cgroup", no_argument, NULL, 'n' },
		{ "samples", no_argument, NULL, 'S' },
		{ "warm", no_argument, NULL, 'w' },
		{ "first", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t *dst;
	uint64_t max;
	char msg[256];
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'u': dst = &arg_uid; max = UINT32_MAX - 1; break;
		case 'g': dst = &arg_gid; max = UINT32_MAX - 1; break;
		case 'd': dst = &arg_disk_mb; max = 1024 * 1024; break;
		case 't': dst = &arg_timeout_ms; max = 86400000; break;
		case 'r': dst = &arg_repeat; max = REPEAT_MAX; break;
		case 'q': arg_quiet = true; continue;
		case 'p': arg_plain = true; continue;
		case 'n': arg_cgroup = false; continue;
		case 'S': arg_samples = true; continue;
		case 'w':
			arg_warm = true;
			continue;
		case 'f':
			arg_first = true;
			continue;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (parse_u64(optarg, 1, max, dst) < 0) {
			fprintf(stderr, "cellrun: bad value '%s' for --%s\n",
			    optarg, opts[c == 'u' ? 0 : c == 'g' ? 1 : c == 'd' ? 2 :
			    c == 't' ? 3 : 4].name);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!arg_plain && arg_cgroup && (c = cell_host_init(NULL, NULL, msg,
	    sizeof(msg))) < 0) {
		fprintf(stderr, "cellrun: no cgroups (try --no-cgroup): %s\n",
		    strerror(-c));
		return 1;
	}
	/* A job's own signals must not be ignored because we ignore them. */
	(void) signal(SIGPIPE, SIG_DFL);
	if (arg_repeat)
		return repeat(argv + optind);
	return arg_plain ? run_plain(argv + optind) : run_cell(argv + optind);
}
