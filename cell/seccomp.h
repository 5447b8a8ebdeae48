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

/* Builds the filter of seccomp.c's table: deny by default (ENOSYS), the
 * calls Docker's default profile allows a process without capabilities
 * (less io_uring), socket only for AF_UNIX, AF_INET, AF_INET6 and
 * AF_NETLINK, clone only without namespace flags, ioctl but TIOCSTI and
 * TIOCLINUX; deny_errno (EPERM in cells; tests pass a distinctive one) for
 * the calls named in seccomp.c's denied list and the refused arguments;
 * native architecture only (x32 and i386 calls kill the process with
 * SIGSYS). 0 or -errno. */
int seccomp_prog_build(int deny_errno, struct seccomp_prog *ret);
void seccomp_prog_release(struct seccomp_prog *p);
/* The same table as a Docker seccomp profile (JSON, for SecurityOpt
 * "seccomp=<profile>"), appended to sb, so a docker cell refuses exactly
 * what a namespace cell refuses: at least what Docker's default profile
 * refuses a container without capabilities, plus our rules. 0 or -errno. */
struct strbuf;
int seccomp_docker_profile(int deny_errno, struct strbuf *sb);
/* Installs p on the calling thread. Needs no_new_privs (or
 * CAP_SYS_ADMIN). No allocation, async-signal-safe: for the cell's child
 * between fork and exec. 0 or -errno. */
int seccomp_prog_install(const struct seccomp_prog *p);

#endif
