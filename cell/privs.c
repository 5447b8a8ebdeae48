/* privs.c - every uid/gid/capability call of jobcell, auditable in one sitting.
 * Runs in jobcell-worker (the id maps, as root) and in a cell's processes
 * between clone() and exec() (everything else): no stdio, no logging, only
 * -errno plus the failing step. Trusts nothing but the kernel's read-backs.
 *
 * The calls, in the order a cell makes them:
 *   worker:  write /proc/PID/uid_map, gid_map    give the cell one inside id
 *   cell:    setgroups(0, NULL)                   root's kgid 0 would survive
 *                                                 into the cell as "nogroup"
 *                                                 and still open group-0 files
 *            PR_SET_KEEPCAPS, setres[ug]id(1000)  become the mapped id so setup
 *                                                 can create inodes on tmpfs
 *            cap_set_proc(effective = permitted)  setup needs its userns caps
 *            ... mounts, pivot_root (ns_root.c) ...
 *            PR_CAP_AMBIENT_CLEAR_ALL             nothing survives exec
 *            PR_CAPBSET_DROP each cap             no way back via file caps;
 *                                                 needs CAP_SETPCAP, so first
 *            setgroups, setresgid, setresuid      the job's ids, all three
 *            cap_set_proc(cap_init())             empty E, P, I
 *            PR_SET_NO_NEW_PRIVS                  no setuid/file-cap gains
 *            read back every one of the above (ids, groups, capget,
 *            CapBnd and CapAmb of /proc/self/status, no_new_privs) */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "privs.h"
#include "banned.h"

static const char *const step_names[PRIVS_STEP__MAX] = {
	[PRIVS_STEP_SETGROUPS] = "setgroups",
	[PRIVS_STEP_KEEPCAPS] = "keepcaps",
	[PRIVS_STEP_SETRESGID] = "setresgid",
	[PRIVS_STEP_SETRESUID] = "setresuid",
	[PRIVS_STEP_RAISE_CAPS] = "raising setup capabilities",
	[PRIVS_STEP_AMBIENT] = "clearing ambient capabilities",
	[PRIVS_STEP_BOUNDING] = "dropping the bounding set",
	[PRIVS_STEP_CLEAR_CAPS] = "clearing capabilities",
	[PRIVS_STEP_NO_NEW_PRIVS] = "setting no_new_privs",
	[PRIVS_STEP_VERIFY_IDS] = "verifying uids and gids",
	[PRIVS_STEP_VERIFY_GROUPS] = "verifying supplementary groups",
	[PRIVS_STEP_VERIFY_CAPS] = "verifying capabilities",
	[PRIVS_STEP_VERIFY_BOUNDING] = "verifying the bounding set",
	[PRIVS_STEP_VERIFY_AMBIENT] = "verifying ambient capabilities",
	[PRIVS_STEP_VERIFY_NO_NEW_PRIVS] = "verifying no_new_privs",
};

/* What a worker process (uid 0) keeps, and why. Everything else goes,
 * from every set: module loading, raw I/O, ptrace, mknod, chown, network
 * administration of the host, time, audit, bpf, resource overrides...
 *   CAP_SETUID, CAP_SETGID  write a cell's uid_map/gid_map mapping host
 *                           ids other than our own (user_namespaces(7))
 *   CAP_KILL                signal cell processes, which run as other uids
 *                           (timeouts, cancel, cgroup cleanup)
 *   CAP_DAC_OVERRIDE        reach the database and sockets whatever their
 *                           owner (a deployment may give them to a service
 *                           user); cgroupfs files are root's anyway
 *   CAP_SYS_ADMIN           slirp4netns (networked jobs) must setns() into
 *                           the cell's network namespace, which checks
 *                           CAP_SYS_ADMIN in the caller's own namespace
 *   CAP_SETPCAP             slirp4netns --enable-sandbox drops its
 *                           bounding set, which needs it
 *   CAP_NET_BIND_SERVICE    the one capability slirp4netns keeps
 *   CAP_CHOWN, CAP_FOWNER   a disk workspace's fresh root (workspace.c):
 *                           given to the slot's uid, mode 0700
 *   CAP_SYS_CHROOT          the workspace's unpacker chroots into it
 *                           before it drops to the slot's uid
 *                           (workspace_fill.c)
 * Cells need none of them: a new user namespace starts with a full set of
 * its own, whatever the bounding set of its creator. */
static const cap_value_t worker_caps[] = {
	CAP_SETUID,
	CAP_SETGID,
	CAP_KILL,
	CAP_DAC_OVERRIDE,
	CAP_SYS_ADMIN,
	CAP_SETPCAP,
	CAP_NET_BIND_SERVICE,
	CAP_CHOWN,
	CAP_FOWNER,
	CAP_SYS_CHROOT,
};

static bool
worker_keeps(unsigned long c)
{
	for (size_t i = 0; i < sizeof(worker_caps) / sizeof(worker_caps[0]); i++)
		if ((unsigned long) worker_caps[i] == c)
			return true;
	return false;
}

int
privs_worker_limit(void)
{
	cap_t caps;
	int r = 0;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0)
		return -errno;
	/* The bounding set first: dropping needs CAP_SETPCAP, kept below. */
	for (unsigned long c = 0;; c++) {
		if (worker_keeps(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0L, 0L, 0L) == 0)
			continue;
		if (errno == EINVAL && c > 0)
			break;
		return -errno;
	}
	if (!(caps = cap_init()))
		return -errno;
	if (cap_set_flag(caps, CAP_PERMITTED, (int) ARRAY_SIZE(worker_caps),
	    worker_caps, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, (int) ARRAY_SIZE(worker_caps),
	    worker_caps, CAP_SET) < 0 || cap_set_proc(caps) < 0)
		r = -errno;
	(void) cap_free(caps);
	return r;
}

const char *
privs_step_name(int step)
{
	if (step < 0 || step >= PRIVS_STEP__MAX || !step_names[step])
		return "dropping privileges";
	return step_names[step];
}

static int
write_map(pid_t pid, const char *file, unsigned inside, unsigned host)
{
	_cleanup_close_ int fd = -1;
	char path[64], line[64];
	ssize_t w;
	int n;

	n = snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
	if (n < 0 || (size_t) n >= sizeof(path))
		return -ENAMETOOLONG;
	n = snprintf(line, sizeof(line), "%u %u 1\n", inside, host);
	if (n < 0 || (size_t) n >= sizeof(line))
		return -E2BIG;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	/* The kernel takes a map in exactly one write(2) (user_namespaces(7)). */
	if ((w = write(fd, line, (size_t) n)) < 0)
		return -errno;
	if (w != n)
		return -EIO;
	return 0;
}

int
privs_write_id_maps(pid_t pid, uid_t inside_uid, uid_t host_uid,
    gid_t inside_gid, gid_t host_gid)
{
	int r;

	/* Never map host root into a cell: a cell process with inside uid
	 * CELL_UID would then be host root on every host file it can see. */
	if (pid <= 0 || host_uid == 0 || host_gid == 0)
		return -EINVAL;
	/* setgroups stays "allow": we write the maps with CAP_SETGID in the
	 * parent namespace, so "deny" is not required, and the child needs
	 * setgroups(2) to shed the worker's supplementary groups. The job
	 * cannot use it: it has no CAP_SETGID once privs_drop_all() ran. */
	if ((r = write_map(pid, "uid_map", inside_uid, host_uid)) < 0)
		return r;
	return write_map(pid, "gid_map", inside_gid, host_gid);
}

int
privs_owner_begin(uid_t uid, gid_t gid, struct privs_owner *ret_saved)
{
	int bits, saved_dumpable, r;

	if (uid == 0 || gid == 0)
		return -EINVAL;
	if ((bits = prctl(PR_GET_SECUREBITS, 0L, 0L, 0L, 0L)) < 0 ||
	    (saved_dumpable = prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L)) < 0 ||
	    prctl(PR_GET_PDEATHSIG, &ret_saved->pdeath_signal, 0L, 0L, 0L) < 0)
		return -errno;
	ret_saved->ppid = getppid();
	/* Needs CAP_SETPCAP, which the worker keeps (worker_caps above). */
	if (prctl(PR_SET_SECUREBITS, (unsigned long) (bits |
	    SECBIT_NO_SETUID_FIXUP), 0L, 0L, 0L) < 0)
		return -errno;
	if (setresgid((gid_t) -1, gid, (gid_t) -1) < 0) {
		r = -errno;
		goto fail;
	}
	if (setresuid((uid_t) -1, uid, (uid_t) -1) < 0) {
		r = -errno;
		/* Back to gid 0: the real and saved gids are 0, so it can
		 * only fail if the kernel broke its own rules. */
		if (setresgid((gid_t) -1, 0, (gid_t) -1) < 0)
			abort();
		goto fail;
	}
	/* An euid change makes the process non-dumpable (prctl(2)); the
	 * cell's init must be born as dumpable as before, or slirp4netns
	 * could not open its namespaces. Nothing can attach to us meanwhile:
	 * our real and saved uids are still 0. */
	if (prctl(PR_SET_DUMPABLE, (unsigned long) saved_dumpable, 0L, 0L,
	    0L) < 0) {
		r = -errno;
		if (setresuid((uid_t) -1, 0, (uid_t) -1) < 0 ||
		    setresgid((gid_t) -1, 0, (gid_t) -1) < 0)
			abort();
		goto fail;
	}
	ret_saved->securebits = bits;
	ret_saved->dumpable = saved_dumpable;
	return 0;
fail:
	(void) prctl(PR_SET_SECUREBITS, (unsigned long) bits, 0L, 0L, 0L);
	return r;
}

int
privs_owner_end(const struct privs_owner *saved)
{
	uid_t r, e, s;

	/* The real and saved ids stayed 0: this is always allowed. */
	if (setresuid((uid_t) -1, 0, (uid_t) -1) < 0 ||
	    setresgid((gid_t) -1, 0, (gid_t) -1) < 0)
		return -errno;
	if (prctl(PR_SET_SECUREBITS, (unsigned long) saved->securebits, 0L, 0L,
	    0L) < 0 ||
	    prctl(PR_SET_DUMPABLE, (unsigned long) saved->dumpable, 0L, 0L,
	    0L) < 0)
		return -errno;
	if (getresuid(&r, &e, &s) < 0)
		return -errno;
	if (r != 0 || e != 0 || s != 0)
		return -EPERM;
	/* The euid changes cleared the parent-death signal (prctl(2)): a
	 * worker must still die with its supervisor. Set it again, then
	 * make sure the parent did not die in between. */
	if (saved->pdeath_signal > 0) {
		if (prctl(PR_SET_PDEATHSIG, (unsigned long) saved->pdeath_signal,
		    0L, 0L, 0L) < 0)
			return -errno;
		if (getppid() != saved->ppid)
			(void) kill(getpid(), saved->pdeath_signal);
	}
	return 0;
}

int
privs_owner_child(void)
{
	int bits;

	if ((bits = prctl(PR_GET_SECUREBITS, 0L, 0L, 0L, 0L)) < 0)
		return -errno;
	if (!(bits & SECBIT_NO_SETUID_FIXUP))
		return 0;
	if (prctl(PR_SET_SECUREBITS, (unsigned long) (bits &
	    ~SECBIT_NO_SETUID_FIXUP), 0L, 0L, 0L) < 0)
		return -errno;
	return 0;
}

/* Effective := permitted, for every capability. */
static int
raise_effective(void)
{
	cap_t caps;
	cap_flag_value_t v;
	int r = 0;

	if (!(caps = cap_get_proc()))
		return -errno;
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (cap_get_flag(caps, c, CAP_PERMITTED, &v) < 0) {
			r = -errno;
			goto out;
		}
		if (cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, v) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (cap_set_proc(caps) < 0)
		r = -errno;
out:
	(void) cap_free(caps);
	return r;
}

static int
fail(int *failed_step, int step, int r)
{
	*failed_step = step;
	return r;
}

int
privs_enter_cell_ids(uid_t uid, gid_t gid, int *failed_step)
{
	int r;

	if (setgroups(0, NULL) < 0)
		return fail(failed_step, PRIVS_STEP_SETGROUPS, -errno);
	/* Keep the permitted set across the uid change (prctl(2)); the
	 * effective set is re-raised below. Inside this user namespace
	 * uid 0 is unmapped, so the kernel's root-to-nonroot fixup would not
	 * even fire, but we do not depend on that subtlety. */
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return fail(failed_step, PRIVS_STEP_KEEPCAPS, -errno);
	if (setresgid(gid, gid, gid) < 0)
		return fail(failed_step, PRIVS_STEP_SETRESGID, -errno);
	if (setresuid(uid, uid, uid) < 0)
		return fail(failed_step, PRIVS_STEP_SETRESUID, -errno);
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
		return fail(failed_step, PRIVS_STEP_KEEPCAPS, -errno);
	if ((r = raise_effective()) < 0)
		return fail(failed_step, PRIVS_STEP_RAISE_CAPS, r);
	return 0;
}

/* 0 if the "Key:\t<hex>" line of /proc/self/status is all zeros, -EPERM if
 * not, -EIO if the line is missing, or -errno. */
static int
status_caps_zero(const char *key)
{
	_cleanup_close_ int fd = -1;
	char buf[4096], *p;
	size_t kl = strlen(key);
	ssize_t n;

	if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((n = read_full(fd, buf, sizeof(buf) - 1)) < 0)
		return (int) n;
	buf[n] = '\0';
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) != 0)
			continue;
		p += kl;
		while (*p == '\t' || *p == ' ')
			p++;
		if (*p < '0' || (*p > '9' && (*p < 'a' || *p > 'f')))
			return -EIO;
		for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
			if (*p != '0')
				return -EPERM;
		return *p == '\n' || *p == '\0' ? 0 : -EIO;
	}
	return -EIO;
}

static int
verify_dropped(uid_t uid, gid_t gid, int *failed_step)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	cap_t have, none;
	int r, cmp;

	if (getresuid(&ru, &eu, &su) < 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_IDS, -errno);
	if (getresgid(&rg, &eg, &sg) < 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_IDS, -errno);
	/* setfs[ug]id(-1) changes nothing and returns the current value. */
	if (ru != uid || eu != uid || su != uid ||
	    setfsuid((uid_t) -1) != (int) uid ||
	    rg != gid || eg != gid || sg != gid ||
	    setfsgid((gid_t) -1) != (int) gid)
		return fail(failed_step, PRIVS_STEP_VERIFY_IDS, -EPERM);
	if ((r = getgroups(0, NULL)) < 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_GROUPS, -errno);
	if (r != 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_GROUPS, -EPERM);

	if (!(have = cap_get_proc()))
		return fail(failed_step, PRIVS_STEP_VERIFY_CAPS, -errno);
	if (!(none = cap_init())) {
		r = -errno;
		(void) cap_free(have);
		return fail(failed_step, PRIVS_STEP_VERIFY_CAPS, r);
	}
	cmp = cap_compare(have, none);
	(void) cap_free(have);
	(void) cap_free(none);
	if (cmp != 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_CAPS, -EPERM);

	/* The bounding and ambient sets, as the kernel shows them: one read
	 * of /proc/self/status (the cell's own /proc by now) instead of two
	 * prctl() per capability, which cost ~80 system calls per cell (each
	 * several microseconds on virtual machines: bench/README.md). */
	if ((r = status_caps_zero("CapBnd:")) < 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_BOUNDING, r);
	if ((r = status_caps_zero("CapAmb:")) < 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_AMBIENT, r);

	if ((r = prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L)) < 0)
		return fail(failed_step, PRIVS_STEP_VERIFY_NO_NEW_PRIVS, -errno);
	if (r != 1)
		return fail(failed_step, PRIVS_STEP_VERIFY_NO_NEW_PRIVS, -EPERM);
	return 0;
}

int
privs_drop_all(uid_t uid, gid_t gid, int *failed_step)
{
	cap_t none;
	int r;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0)
		return fail(failed_step, PRIVS_STEP_AMBIENT, -errno);
	/* Every capability the running kernel knows (it may know more than
	 * CAP_LAST_CAP of our headers or cap_max_bits() of libcap). */
	for (unsigned long c = 0;; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0L, 0L, 0L) == 0)
			continue;
		if (errno == EINVAL && c > 0)
			break;
		return fail(failed_step, PRIVS_STEP_BOUNDING, -errno);
	}
	if (setgroups(0, NULL) < 0)
		return fail(failed_step, PRIVS_STEP_SETGROUPS, -errno);
	if (setresgid(gid, gid, gid) < 0)
		return fail(failed_step, PRIVS_STEP_SETRESGID, -errno);
	if (setresuid(uid, uid, uid) < 0)
		return fail(failed_step, PRIVS_STEP_SETRESUID, -errno);

	if (!(none = cap_init()))
		return fail(failed_step, PRIVS_STEP_CLEAR_CAPS, -errno);
	r = cap_set_proc(none) < 0 ? -errno : 0;
	(void) cap_free(none);
	if (r < 0)
		return fail(failed_step, PRIVS_STEP_CLEAR_CAPS, r);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return fail(failed_step, PRIVS_STEP_NO_NEW_PRIVS, -errno);
	return verify_dropped(uid, gid, failed_step);
}
