/* privs.h - every uid, gid and capability change jobcell makes, in one file
 * (STYLE section 6). Runs in a jobcell-worker process and in the cell's
 * processes between clone() and exec(); no stdio, no logging, no locks. */
#ifndef JOBCELL_PRIVS_H
#define JOBCELL_PRIVS_H

#include <sys/types.h>

/* Which call failed, for the cell's fixed-size error record. */
enum privs_step {
	PRIVS_STEP_SETGROUPS,
	PRIVS_STEP_KEEPCAPS,
	PRIVS_STEP_SETRESGID,
	PRIVS_STEP_SETRESUID,
	PRIVS_STEP_RAISE_CAPS,
	PRIVS_STEP_AMBIENT,
	PRIVS_STEP_BOUNDING,
	PRIVS_STEP_CLEAR_CAPS,
	PRIVS_STEP_NO_NEW_PRIVS,
	PRIVS_STEP_VERIFY_IDS,
	PRIVS_STEP_VERIFY_GROUPS,
	PRIVS_STEP_VERIFY_CAPS,
	PRIVS_STEP_VERIFY_BOUNDING,
	PRIVS_STEP_VERIFY_AMBIENT,
	PRIVS_STEP_VERIFY_NO_NEW_PRIVS,
	PRIVS_STEP__MAX
};

/* jobcell-worker's worker processes, once at start (as root): keeps only
 * the capabilities listed and justified in privs.c, in every set (the
 * bounding set too, so nothing it execs, slirp4netns included, gets more).
 * Stays uid 0: cgroupfs and the database are root's files. 0 or -errno. */
int privs_worker_limit(void);

/* A short lowercase name ("bounding set"); never NULL. */
const char *privs_step_name(int step);

/* Worker side, as root: writes /proc/<pid>/uid_map "<inside_uid> <host_uid> 1"
 * and gid_map likewise, for a child just cloned into a new user namespace.
 * Leaves /proc/<pid>/setgroups at "allow" so the child can drop its
 * supplementary groups. 0 or -errno. */
int privs_write_id_maps(pid_t pid, uid_t inside_uid, uid_t host_uid,
    gid_t inside_gid, gid_t host_gid);

/* Worker side, as root, around the clone() that makes a cell's user
 * namespace: between privs_owner_begin() and privs_owner_end() the
 * worker's effective uid and gid are the slot's, so the namespace it
 * creates is owned by them (user_namespaces(7)), and the kernel charges
 * every per-user counter the cell drives (inotify instances and watches,
 * fanotify groups, queued signals, user namespaces) to the slot's uid
 * instead of to root's (issue 12). SECBIT_NO_SETUID_FIXUP keeps the
 * effective capabilities across the change, so the clone is as privileged
 * as before; the child clears the bit (privs_owner_child). begin: 0 or
 * -errno, nothing changed on failure. end: 0, or -errno if the worker
 * could not become root again (a broken invariant: the caller aborts). */
struct privs_owner {
	int securebits;		/* as before begin */
	int dumpable;		/* likewise (an euid change clears it) */
	int pdeath_signal;	/* likewise (an euid change clears it too) */
	pid_t ppid;		/* to tell if the parent died meanwhile */
};
int privs_owner_begin(uid_t uid, gid_t gid, struct privs_owner *ret_saved);
int privs_owner_end(const struct privs_owner *saved);
/* Cell side, first thing after clone(): drops the securebit the worker
 * set for the clone. 0 or -errno. */
int privs_owner_child(void);

/* Cell side, right after the id maps exist: drops supplementary groups and
 * becomes uid/gid (inside ids, mapped) while keeping every capability of the
 * new user namespace, so the cell's setup can create files on its own tmpfs
 * (the kernel refuses inode creation with an unmapped fsuid: EOVERFLOW).
 * 0, or -errno with *failed_step set. */
int privs_enter_cell_ids(uid_t uid, gid_t gid, int *failed_step);

/* Cell side, after setup and before any job code: ambient caps -> bounding
 * set -> setgroups, setresgid, setresuid -> empty cap sets -> no_new_privs,
 * then reads every one of them back. 0, or -errno with *failed_step set
 * (-EPERM when a read-back disagrees). Irreversible. */
int privs_drop_all(uid_t uid, gid_t gid, int *failed_step);

#endif
