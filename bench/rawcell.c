/* rawcell.c - the physical floor of a cell, for bench/cell (not installed):
 * the least work that gives a process the namespaces, read-only toolchain,
 * /proc, dropped capabilities and cgroup of a jobcell cell. One clone()
 * into new user, pid, mount, net, uts, ipc namespaces; the parent writes
 * the id maps and attaches the child to a fresh cgroup; the child enters
 * a cgroup namespace, binds /usr read-only on a tmpfs root (recreating the
 * merged-/usr symlinks), mounts /proc, pivot_root()s, drops every
 * capability, sets no_new_privs and execs argv directly as pid 1 (no init,
 * no /etc, /dev, /work, seccomp or rlimits). The parent reaps it and
 * removes the cgroup. Run as root. Trusts its command line.
 *
 *   rawcell [--uid N] --repeat N [--samples] -- argv...
 *
 * Prints "raw runs=N p50_us=... p99_us=... min_us=... max_us=...", or with
 * --samples every run's time in microseconds, one a line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "privs.h"
#include "timefmt.h"
#include "banned.h"

#define ROOT "/tmp"	/* inside the child's private mount namespace */

static uint64_t arg_uid = 65534;
static uint64_t arg_repeat = 0;
static bool arg_samples = false;

static int
bind_ro(const char *src, const char *dst)
{
	if (mkdir(dst, 0755) < 0)
		return -1;
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return -1;
	return mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    MS_NOSUID | MS_NODEV | MS_RELATIME, NULL);
}

/* The child: pid 1 of its namespace; exits 127 on any failure. */
static _Noreturn void
child(int sync_r, char *const *argv)
{
	static const char *const links[][2] = {
		{ "usr/bin", ROOT "/bin" }, { "usr/lib", ROOT "/lib" },
		{ "usr/lib64", ROOT "/lib64" }, { "usr/sbin", ROOT "/sbin" },
	};
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct d[2];
	char *const envp[] = { NULL };
	char go;
	int step;

	if (read(sync_r, &go, 1) != 1)
		_exit(127);
	/* The mapped ids, keeping the namespace's capabilities (tmpfs
	 * refuses inodes of an unmapped fsuid). */
	if (privs_enter_cell_ids(1000, 1000, &step) < 0 ||
	    unshare(CLONE_NEWCGROUP) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") < 0 ||
	    bind_ro("/usr", ROOT "/usr") < 0)
		_exit(127);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			_exit(127);
	if (mkdir(ROOT "/proc", 0555) < 0 ||
	    mount("proc", ROOT "/proc", "proc", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, NULL) < 0 || chdir(ROOT) < 0 ||
	    syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		_exit(127);
	memset(d, 0, sizeof(d));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0)
		_exit(127);
	for (unsigned long c = 0; prctl(PR_CAPBSET_DROP, c, 0L, 0L, 0L) == 0; c++)
		;
	if (setresuid(1000, 1000, 1000) < 0 ||
	    syscall(SYS_capset, &h, d) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		_exit(127);
	(void) execve(argv[0], argv, envp);
	_exit(127);
}

static int
run_once(const struct cgroup_root *root, uint64_t i, char *const *argv)
{
	struct cgroup_limits lim = { .memory_mb = 256, .pids = 64, .cpus = 1 };
	struct cgroup cg;
	char name[64];
	int p[2], st, r;
	pid_t pid;

	(void) snprintf(name, sizeof(name), "rawcell-%ld-%" PRIu64,
	    (long) getpid(), i);
	if ((r = cgroup_create(root, name, &lim, &cg)) < 0)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		(void) cgroup_destroy(&cg);
		return r;
	}
	pid = (pid_t) syscall(SYS_clone, (unsigned long) (CLONE_NEWUSER |
	    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS |
	    CLONE_NEWIPC | SIGCHLD), NULL, NULL, NULL, 0UL);
	if (pid == 0) {
		(void) close(p[1]);
		child(p[0], argv);
	}
	(void) close(p[0]);
	r = pid < 0 ? -errno : 0;
	if (r == 0 && (r = privs_write_id_maps(pid, 1000, (uid_t) arg_uid, 1000,
	    (gid_t) arg_uid)) == 0 && (r = cgroup_attach(&cg, pid)) == 0 &&
	    write(p[1], "g", 1) != 1)
		r = -EIO;
	(void) close(p[1]);
	if (pid > 0) {
		if (r < 0)
			(void) kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (r == 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
			r = -ECHILD;
	}
	if (cgroup_destroy(&cg) < 0 && r == 0)
		r = -EBUSY;
	return r;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uid", required_argument, NULL, 'u' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "samples", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct cgroup_root root;
	_cleanup_free_ int64_t *t = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		char *end;
		unsigned long long v;

		if (c == 'S') {
			arg_samples = true;
			continue;
		}
		if (c != 'u' && c != 'r')
			return 2;
		errno = 0;
		v = strtoull(optarg, &end, 10);
		if (errno || *end || v < 1 || v > 100000000)
			return 2;
		*(c == 'u' ? &arg_uid : &arg_repeat) = v;
	}
	if (optind >= argc || !arg_repeat) {
		fprintf(stderr, "usage: rawcell [--uid N] --repeat N [--samples] -- argv...\n");
		return 2;
	}
	if ((r = cgroup_root_init(&root)) < 0) {
		fprintf(stderr, "rawcell: no cgroups: %s\n", strerror(-r));
		return 1;
	}
	if (!(t = calloc(arg_repeat, sizeof(*t))))
		return 1;
	for (uint64_t i = 0; i < arg_repeat; i++) {
		int64_t t0 = time_mono_us();

		if ((r = run_once(&root, i, argv + optind)) < 0) {
			fprintf(stderr, "rawcell: run %" PRIu64 ": %s\n", i + 1,
			    strerror(-r));
			return 1;
		}
		t[i] = time_mono_us() - t0;
	}
	if (arg_samples) {
		for (uint64_t i = 0; i < arg_repeat; i++)
			printf("%" PRId64 "\n", t[i]);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	qsort(t, arg_repeat, sizeof(*t), cmp_i64);
	printf("raw runs=%" PRIu64 " p50_us=%" PRId64 " p99_us=%" PRId64
	    " min_us=%" PRId64 " max_us=%" PRId64 "\n", arg_repeat,
	    t[arg_repeat / 2], t[(arg_repeat * 99) / 100], t[0],
	    t[arg_repeat - 1]);
	return fflush(stdout) == 0 ? 0 : 1;
}
