/* seccomp.h - the cell's system call filter (DESIGN section 5). Built once
 * in a jobcell-worker process with libseccomp and kept as raw BPF, so the
 * cell's side only makes one system call, between no_new_privs and exec. */
#ifndef JOBCELL_SECCOMP_H
#define JOBCELL_SECCOMP_H

#include <stddef.h>

struct sock_filter;

struct seccomp_prog {
	struct sock_filter *insns;	/* owned; NULL before build */
	unsigned short len;
};

/* Builds the filter: native architecture only (x32 and i386 calls kill
 * the process with SIGSYS), and deny_errno (EPERM in cells; tests pass a
 * distinctive one) for keyctl, add_key, request_key, io_uring_*, bpf,
 * perf_event_open, userfaultfd, kexec_*, open_by_handle_at, ptrace,
 * process_vm_readv/writev, unshare or clone with CLONE_NEWUSER, and
 * ioctl TIOCSTI/TIOCLINUX; clone3 gets ENOSYS (its flags are out of the
 * filter's reach, and libc falls back to clone). 0 or -errno. */
int seccomp_prog_build(int deny_errno, struct seccomp_prog *ret);
void seccomp_prog_release(struct seccomp_prog *p);
/* The same rules as a Docker seccomp profile (JSON, for SecurityOpt
 * "seccomp=<profile>"), appended to sb, so a docker cell refuses what a
 * namespace cell refuses instead of Docker's default list (which allows
 * ptrace). 0 or -errno. */
struct strbuf;
int seccomp_docker_profile(int deny_errno, struct strbuf *sb);
/* Installs p on the calling thread. Needs no_new_privs (or
 * CAP_SYS_ADMIN). No allocation, async-signal-safe: for the cell's child
 * between fork and exec. 0 or -errno. */
int seccomp_prog_install(const struct seccomp_prog *p);

#endif
