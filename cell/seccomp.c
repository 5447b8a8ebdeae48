/* seccomp.c - the cell's system call filter, for both backends. One table
 * of rules (below) becomes the BPF that a namespace cell's job installs
 * last before execve (seccomp_prog_build, libseccomp, in jobcell-worker;
 * seccomp_prog_install in the cell, after privs_drop_all() set
 * no_new_privs) and the profile a docker cell runs under
 * (seccomp_docker_profile), so the two refuse the same calls.
 *
 * Deny by default, as Docker's default profile: a call is allowed only if
 * the table names it. The allowed calls are those Docker's default profile
 * allows a container without capabilities (a cell never has any), less
 * io_uring; the calls Docker allows only with a capability, and the kernel
 * surfaces with a history of exploits (keyrings, io_uring, bpf, perf,
 * userfaultfd), get the cell's errno (EPERM). Some calls are allowed by
 * their argument: socket for AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK only
 * (vsock is not covered by network namespaces: DESIGN section 8), clone
 * without namespace flags, personality for the values Docker allows, ioctl
 * but TIOCSTI and TIOCLINUX. clone3 gets ENOSYS (its flags are out of the
 * filter's reach, and libc falls back to clone). A call the table does not
 * name gets ENOSYS, so that a libc newer than this list falls back as it
 * does on an older kernel (runc does the same for calls newer than its
 * profile). Architecture: x86_64 only; a call through the i386 (int 0x80)
 * or x32 ABI, whose numbers the rules do not cover, kills the process. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "json_writer.h"
#include "seccomp.h"
#include "banned.h"

#define BPF_MAX_BYTES (64u * 1024)	/* ours is ~1,000 instructions */

/* Allowed whatever the arguments (x86_64 names). */
static const char *const allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
	"capget", "capset", "chdir", "chmod", "chown", "clock_adjtime",
	"clock_getres", "clock_gettime", "clock_nanosleep", "close",
	"close_range", "connect", "copy_file_range", "creat", "dup", "dup2",
	"dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve",
	"execveat", "exit", "exit_group", "faccessat", "faccessat2",
	"fadvise64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
	"fchmodat", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr",
	"flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
	"fstatfs", "fsync", "ftruncate", "futex", "futex_waitv", "futimesat",
	"getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid",
	"getgid", "getgroups", "getitimer", "getpeername", "getpgid",
	"getpgrp", "getpid", "getppid", "getpriority", "getrandom",
	"getresgid", "getresuid", "getrlimit", "get_robust_list", "getrusage",
	"getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
	"gettimeofday", "getuid", "getxattr", "inotify_add_watch",
	"inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
	"io_destroy", "io_getevents", "io_pgetevents", "ioprio_get",
	"ioprio_set", "io_setup", "io_submit", "kill", "landlock_add_rule",
	"landlock_create_ruleset", "landlock_restrict_self", "lchown",
	"lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
	"lremovexattr", "lseek", "lsetxattr", "lstat", "madvise",
	"membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
	"mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
	"mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "msgctl",
	"msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
	"munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open",
	"openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal",
	"pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
	"ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
	"process_mrelease", "pselect6", "pwrite64", "pwritev", "pwritev2",
	"read", "readahead", "readlink", "readlinkat", "readv", "recvfrom",
	"recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename",
	"renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
	"sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler",
	"sched_yield", "seccomp", "select", "semctl", "semget", "semop",
	"semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto", "setfsgid",
	"setfsuid", "setgid", "setgroups", "setitimer", "setpgid",
	"setpriority", "setregid", "setresgid", "setresuid", "setreuid",
	"setrlimit", "set_robust_list", "setsid", "setsockopt",
	"set_thread_area", "set_tid_address", "setuid", "setxattr", "shmat",
	"shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
	"signalfd4", "socketpair", "splice", "stat", "statfs", "statx",
	"symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
	"sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_settime",
	"timerfd_create", "timerfd_gettime", "timerfd_settime", "times",
	"tkill", "truncate", "umask", "uname", "unlink", "unlinkat", "utime",
	"utimensat", "utimes", "vfork", "vmsplice", "wait4", "waitid",
	"write", "writev", "arch_prctl", "modify_ldt",
};

/* Refused with the cell's errno whatever the arguments. */
static const char *const denied[] = {
	/* kernel surfaces with a history of exploits */
	"keyctl", "add_key", "request_key",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"bpf", "perf_event_open", "userfaultfd",
	"kexec_load", "kexec_file_load", "open_by_handle_at",
	/* other processes' memory and descriptors (CAP_SYS_PTRACE) */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"pidfd_getfd", "process_madvise",
	/* namespaces and mounts (CAP_SYS_ADMIN) */
	"unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
	"mount_setattr", "quotactl", "quotactl_fd", "lookup_dcookie",
	"fanotify_init", "syslog", "sethostname", "setdomainname",
	/* the machine (CAP_SYS_BOOT, _MODULE, _PACCT, _TIME, _RAWIO, ...) */
	"reboot", "init_module", "finit_module", "delete_module", "acct",
	"swapon", "swapoff", "settimeofday", "clock_settime", "vhangup",
	"iopl", "ioperm",
	/* memory placement (CAP_SYS_NICE) */
	"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node",
	"move_pages", "migrate_pages",
};

#define NS_FLAGS ((uint64_t) (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | \
	CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP))

/* socket's families a job may use; every other is refused. */
static const uint32_t families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };
/* personality's values Docker allows: PER_LINUX, UNAME26, their
 * PER_LINUX32 forms, and the query. */
static const uint32_t personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };
/* ioctl's requests a job may not make: typing into a terminal's input,
 * and the virtual console's TIOCLINUX (selection pasting). */
static const uint32_t bad_ioctls[] = { TIOCSTI, TIOCLINUX };

enum act { ACT_ALLOW, ACT_DENY, ACT_ENOSYS };

/* Where rules go: a libseccomp filter or a docker profile. */
struct emit {
	scmp_filter_ctx ctx;	/* one of the two */
	struct jw *w;
	int deny_errno;
};

static uint32_t
act_scmp(const struct emit *e, enum act a)
{
	switch (a) {
	case ACT_ALLOW:
		return SCMP_ACT_ALLOW;
	case ACT_DENY:
		return SCMP_ACT_ERRNO((uint32_t) e->deny_errno);
	case ACT_ENOSYS:
		return SCMP_ACT_ERRNO(ENOSYS);
	}
	return SCMP_ACT_KILL_PROCESS;
}

static void
act_json(const struct emit *e, enum act a)
{
	switch (a) {
	case ACT_ALLOW:
		jw_kv_str(e->w, "action", "SCMP_ACT_ALLOW");
		return;
	case ACT_DENY:
		jw_kv_str(e->w, "action", "SCMP_ACT_ERRNO");
		jw_kv_i64(e->w, "errnoRet", e->deny_errno);
		return;
	case ACT_ENOSYS:
		jw_kv_str(e->w, "action", "SCMP_ACT_ERRNO");
		jw_kv_i64(e->w, "errnoRet", ENOSYS);
		return;
	}
}

/* A rule for the calls names[0..n), whatever their arguments. */
static int
emit_names(struct emit *e, enum act a, const char *const *names, size_t n)
{
	int nr, r;

	if (e->w) {
		jw_obj_open(e->w);
		jw_key(e->w, "names");
		jw_arr_open(e->w);
		for (size_t i = 0; i < n; i++)
			jw_str(e->w, names[i]);
		jw_arr_close(e->w);
		act_json(e, a);
		jw_obj_close(e->w);
		return 0;
	}
	/* ENOSYS is the filter's default: libseccomp refuses a rule that
	 * repeats it (the profile keeps it, saying so). */
	if (a == ACT_ENOSYS)
		return 0;
	for (size_t i = 0; i < n; i++) {
		/* A name this libseccomp does not know is a build problem,
		 * not something to skip silently. */
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			return -ENOSYS;
		if ((r = seccomp_rule_add(e->ctx, act_scmp(e, a), nr, 0)) < 0)
			return r;
	}
	return 0;
}

/* A rule for name when (argument arg & mask) == value. */
static int
emit_arg(struct emit *e, enum act a, const char *name, unsigned arg,
    uint64_t mask, uint64_t value)
{
	int nr;

	if (e->w) {
		jw_obj_open(e->w);
		jw_key(e->w, "names");
		jw_arr_open(e->w);
		jw_str(e->w, name);
		jw_arr_close(e->w);
		act_json(e, a);
		jw_key(e->w, "args");
		jw_arr_open(e->w);
		jw_obj_open(e->w);
		jw_kv_i64(e->w, "index", arg);
		/* MASKED_EQ: value is the mask, valueTwo the datum. */
		jw_kv_i64(e->w, "value", (int64_t) mask);
		jw_kv_i64(e->w, "valueTwo", (int64_t) value);
		jw_kv_str(e->w, "op", "SCMP_CMP_MASKED_EQ");
		jw_obj_close(e->w);
		jw_arr_close(e->w);
		jw_obj_close(e->w);
		return 0;
	}
	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR ||
	    nr < 0)
		return -ENOSYS;
	return seccomp_rule_add(e->ctx, act_scmp(e, a), nr, 1,
	    (struct scmp_arg_cmp) { .arg = arg, .op = SCMP_CMP_MASKED_EQ,
	    .datum_a = mask, .datum_b = value });
}

/* Rules for name when the low 32 bits of argument arg are none of
 * v[0..n) (all of which agree with value on mask): a filter rule compares
 * one argument once, so "not these values" is spelt as the set of bit
 * patterns that part from every one of them, bit by bit from the lowest:
 * at most 32 rules per value. The kernel reads these arguments as 32-bit
 * ints, so the high bits are never compared. */
static int
emit_except(struct emit *e, enum act a, const char *name, unsigned arg,
    const uint32_t *v, size_t n, unsigned bit, uint32_t mask, uint32_t value)
{
	uint32_t sub[8];
	size_t k;
	int r;

	if (bit == 32 || n == 0 || n > ARRAY_SIZE(sub))
		return n > ARRAY_SIZE(sub) ? -E2BIG : 0;
	for (uint32_t b = 0; b <= 1; b++) {
		k = 0;
		for (size_t i = 0; i < n; i++)
			if (((v[i] >> bit) & 1u) == b)
				sub[k++] = v[i];
		if (k == 0)
			r = emit_arg(e, a, name, arg, mask | 1u << bit,
			    value | b << bit);
		else
			r = emit_except(e, a, name, arg, sub, k, bit + 1,
			    mask | 1u << bit, value | b << bit);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Rules for name: a for the low 32 bits of argument arg equal to one of
 * v[0..n), b for every other value. */
static int
emit_values(struct emit *e, enum act a, enum act b, const char *name,
    unsigned arg, const uint32_t *v, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++)
		if ((r = emit_arg(e, a, name, arg, 0xffffffffu, v[i])) < 0)
			return r;
	return emit_except(e, b, name, arg, v, n, 0, 0, 0);
}

static int
emit_rules(struct emit *e)
{
	static const char *const clone3[] = { "clone3" };
	int r;

	if ((r = emit_names(e, ACT_ALLOW, allowed, ARRAY_SIZE(allowed))) < 0 ||
	    (r = emit_names(e, ACT_DENY, denied, ARRAY_SIZE(denied))) < 0 ||
	    (r = emit_names(e, ACT_ENOSYS, clone3, 1)) < 0 ||
	    (r = emit_values(e, ACT_ALLOW, ACT_DENY, "socket", 0, families,
	    ARRAY_SIZE(families))) < 0 ||
	    (r = emit_values(e, ACT_ALLOW, ACT_DENY, "personality", 0,
	    personas, ARRAY_SIZE(personas))) < 0 ||
	    (r = emit_values(e, ACT_DENY, ACT_ALLOW, "ioctl", 1, bad_ioctls,
	    ARRAY_SIZE(bad_ioctls))) < 0)
		return r;
	/* clone: allowed without a namespace flag, refused with any (its
	 * flags are its first argument on x86_64). */
	if ((r = emit_arg(e, ACT_ALLOW, "clone", 0, NS_FLAGS, 0)) < 0)
		return r;
	for (unsigned bit = 0; bit < 64; bit++)
		if ((NS_FLAGS >> bit) & 1u &&
		    (r = emit_arg(e, ACT_DENY, "clone", 0, 1ull << bit,
		    1ull << bit)) < 0)
			return r;
	return 0;
}

static void
ctx_freep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

int
seccomp_prog_build(int deny_errno, struct seccomp_prog *ret)
{
	_cleanup_(ctx_freep) scmp_filter_ctx ctx = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sock_filter *insns = NULL;
	off_t size;
	ssize_t n;
	int r;

	if (deny_errno <= 0 || deny_errno > 4095)
		return -EINVAL;
	if (!(ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS))))
		return -ENOMEM;
	/* Only the native architecture is in the filter; any other (i386,
	 * and x32, which libseccomp tells apart by the syscall number's
	 * X32 bit) takes the bad-architecture action. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		return r;
	/* We set no_new_privs ourselves and verify it (privs.c). */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return r;
	/* A binary tree of syscall numbers instead of a list: loading the
	 * list (810 instructions) took 0.6 ms of every cell's start here,
	 * and each call walked it (bench/cell, issue 17). */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0)
		return r;
	if ((r = emit_rules(&(struct emit) { .ctx = ctx,
	    .deny_errno = deny_errno })) < 0)
		return r;
	if ((fd = memfd_create("jobcell-seccomp", MFD_CLOEXEC)) < 0)
		return -errno;
	if ((r = seccomp_export_bpf(ctx, fd)) < 0)
		return r;
	if ((size = lseek(fd, 0, SEEK_CUR)) < 0)
		return -errno;
	if (size == 0 || (size_t) size > BPF_MAX_BYTES ||
	    (size_t) size % sizeof(struct sock_filter) != 0)
		return -EINVAL;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	if (!(insns = malloc((size_t) size)))
		return -ENOMEM;
	if ((n = read_full(fd, insns, (size_t) size)) < 0)
		return (int) n;
	if ((size_t) n != (size_t) size)
		return -EIO;
	ret->len = (unsigned short) ((size_t) size / sizeof(struct sock_filter));
	ret->insns = steal_ptr(&insns);
	return 0;
}

int
seccomp_docker_profile(int deny_errno, struct strbuf *sb)
{
	struct jw w;
	int r;

	if (deny_errno <= 0 || deny_errno > 4095)
		return -EINVAL;
	jw_init(&w, sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "defaultAction", "SCMP_ACT_ERRNO");
	jw_kv_i64(&w, "defaultErrnoRet", ENOSYS);
	/* Native only: i386 and x32 calls take the bad-architecture action. */
	jw_key(&w, "architectures");
	jw_arr_open(&w);
	jw_str(&w, "SCMP_ARCH_X86_64");
	jw_arr_close(&w);
	jw_key(&w, "syscalls");
	jw_arr_open(&w);
	if ((r = emit_rules(&(struct emit) { .w = &w,
	    .deny_errno = deny_errno })) < 0)
		return r;
	jw_arr_close(&w);
	jw_obj_close(&w);
	return jw_finish(&w);
}

void
seccomp_prog_release(struct seccomp_prog *p)
{
	free(p->insns);
	p->insns = NULL;
	p->len = 0;
}

int
seccomp_prog_install(const struct seccomp_prog *p)
{
	struct sock_fprog prog = {
		.len = p->len,
		.filter = p->insns,
	};

	if (!p->insns || p->len == 0)
		return -EINVAL;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
