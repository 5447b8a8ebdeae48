/* seccomp.c - the cell's system call filter. jobcell-worker builds it once
 * with libseccomp (seccomp_prog_build) and exports the BPF; the cell's job
 * process installs it last before execve (seccomp_prog_install), after
 * privs_drop_all() set no_new_privs. Default: allow. The filter is a second
 * wall behind the user namespace and the dropped capabilities: it removes
 * kernel surfaces that a process without privileges still reaches and that
 * have a history of exploits (keyrings, io_uring, bpf, perf, userfaultfd),
 * new user namespaces (which would hand the job a fresh set of
 * capabilities over new namespaces), ptrace, and terminal input injection.
 * Architecture: x86_64 only; a call through the i386 (int 0x80) or x32
 * ABI, whose numbers the rules do not cover, kills the process (SIGSYS). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_writer.h"
#include "seccomp.h"
#include "banned.h"

#define BPF_MAX_BYTES (64u * 1024)	/* ours is ~100 instructions */

/* Denied outright, whatever the arguments. */
static const char *const denied[] = {
	"keyctl", "add_key", "request_key",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"bpf", "perf_event_open", "userfaultfd",
	"kexec_load", "kexec_file_load", "open_by_handle_at",
	"ptrace", "process_vm_readv", "process_vm_writev",
};

static void
ctx_freep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int
add_rules(scmp_filter_ctx ctx, int deny_errno)
{
	uint32_t deny = SCMP_ACT_ERRNO((uint32_t) deny_errno);
	int nr, r;

	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		/* A name this libseccomp does not know is a build problem,
		 * not something to skip silently. */
		if ((nr = seccomp_syscall_resolve_name(denied[i])) == __NR_SCMP_ERROR)
			return -ENOSYS;
		if ((r = seccomp_rule_add(ctx, deny, nr, 0)) < 0)
			return r;
	}
	/* New user namespaces, by either call. clone's flags are its first
	 * argument on x86_64. */
	if ((r = seccomp_rule_add(ctx, deny, SCMP_SYS(unshare), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))) < 0)
		return r;
	if ((r = seccomp_rule_add(ctx, deny, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))) < 0)
		return r;
	/* clone3 passes its flags in memory the filter cannot read: ENOSYS
	 * makes glibc fall back to clone, which the rule above sees. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0)) < 0)
		return r;
	/* The kernel reads ioctl's command as a 32-bit int: compare only the
	 * low 32 bits, or TIOCSTI | 1 << 32 would slip through. */
	if ((r = seccomp_rule_add(ctx, deny, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI))) < 0)
		return r;
	if ((r = seccomp_rule_add(ctx, deny, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX))) < 0)
		return r;
	return 0;
}

int
seccomp_prog_build(int deny_errno, struct seccomp_prog *ret)
{
	_cleanup_(ctx_freep) scmp_filter_ctx ctx = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sock_filter *insns = NULL;
	off_t size;
	size_t off = 0;
	ssize_t n;
	int r;

	if (deny_errno <= 0 || deny_errno > 4095)
		return -EINVAL;
	if (!(ctx = seccomp_init(SCMP_ACT_ALLOW)))
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
	if ((r = add_rules(ctx, deny_errno)) < 0)
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
	while (off < (size_t) size) {
		n = read(fd, (char *) insns + off, (size_t) size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t) n;
	}
	ret->len = (unsigned short) ((size_t) size / sizeof(struct sock_filter));
	ret->insns = steal_ptr(&insns);
	return 0;
}

/* One rule of a docker profile: names, an errno, and at most one masked
 * argument test (arg index; mask; value). */
static void
profile_rule(struct jw *w, const char *const *names, size_t n, int err,
    int arg, uint64_t mask, uint64_t value)
{
	jw_obj_open(w);
	jw_key(w, "names");
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++)
		jw_str(w, names[i]);
	jw_arr_close(w);
	jw_kv_str(w, "action", "SCMP_ACT_ERRNO");
	jw_kv_i64(w, "errnoRet", err);
	if (arg >= 0) {
		jw_key(w, "args");
		jw_arr_open(w);
		jw_obj_open(w);
		jw_kv_i64(w, "index", arg);
		/* MASKED_EQ: value is the mask, valueTwo the datum. */
		jw_kv_i64(w, "value", (int64_t) mask);
		jw_kv_i64(w, "valueTwo", (int64_t) value);
		jw_kv_str(w, "op", "SCMP_CMP_MASKED_EQ");
		jw_obj_close(w);
		jw_arr_close(w);
	}
	jw_obj_close(w);
}

int
seccomp_docker_profile(int deny_errno, struct strbuf *sb)
{
	static const char *const unshare[] = { "unshare" }, *const clone[] = {
		"clone" }, *const clone3[] = { "clone3" }, *const ioctl[] = {
		"ioctl" };
	struct jw w;

	if (deny_errno <= 0 || deny_errno > 4095)
		return -EINVAL;
	jw_init(&w, sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "defaultAction", "SCMP_ACT_ALLOW");
	/* Native only: i386 and x32 calls take the bad-architecture action. */
	jw_key(&w, "architectures");
	jw_arr_open(&w);
	jw_str(&w, "SCMP_ARCH_X86_64");
	jw_arr_close(&w);
	jw_key(&w, "syscalls");
	jw_arr_open(&w);
	profile_rule(&w, denied, ARRAY_SIZE(denied), deny_errno, -1, 0, 0);
	profile_rule(&w, unshare, 1, deny_errno, 0, CLONE_NEWUSER,
	    CLONE_NEWUSER);
	profile_rule(&w, clone, 1, deny_errno, 0, CLONE_NEWUSER, CLONE_NEWUSER);
	profile_rule(&w, clone3, 1, ENOSYS, -1, 0, 0);
	profile_rule(&w, ioctl, 1, deny_errno, 1, 0xffffffffu, TIOCSTI);
	profile_rule(&w, ioctl, 1, deny_errno, 1, 0xffffffffu, TIOCLINUX);
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
