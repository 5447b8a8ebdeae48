/* test_seccomp.c - one probe per rule of the cell's seccomp filter
 * (cell/seccomp.c). Each probe runs in a forked child that sets
 * no_new_privs, installs the filter built with a distinctive errno
 * (EHWPOISON, which none of these calls returns on its own), calls the
 * system call with an invalid argument and exits with the errno it got. A
 * rule that did not fire shows up as the kernel's own answer (EFAULT,
 * EBADF, EINVAL...) instead. Also: the filter leaves ordinary calls alone,
 * the i386 and x32 ABIs end in SIGSYS, and the production errno is EPERM.
 * No root needed. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_reader.h"
#include "seccomp.h"
#include "strbuf.h"
#include "tap.h"

#define MARK EHWPOISON		/* the test filter's errno */
#define NOT_FAILED 250		/* exit code: the call succeeded */
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static long
p_keyctl(void)
{
	return syscall(SYS_keyctl, -1L, 0L, 0L, 0L, 0L);
}
static long
p_add_key(void)
{
	return syscall(SYS_add_key, NULL, NULL, NULL, 0L, 0L);
}
static long
p_request_key(void)
{
	return syscall(SYS_request_key, NULL, NULL, NULL, 0L);
}
static long
p_io_uring_setup(void)
{
	return syscall(SYS_io_uring_setup, 0L, NULL);
}
static long
p_io_uring_enter(void)
{
	return syscall(SYS_io_uring_enter, -1L, 0L, 0L, 0L, NULL, 0L);
}
static long
p_io_uring_register(void)
{
	return syscall(SYS_io_uring_register, -1L, 0L, NULL, 0L);
}
static long
p_bpf(void)
{
	return syscall(SYS_bpf, -1L, NULL, 0L);
}
static long
p_perf_event_open(void)
{
	return syscall(SYS_perf_event_open, NULL, 0L, -1L, -1L, 0L);
}
static long
p_userfaultfd(void)
{
	return syscall(SYS_userfaultfd, -1L);
}
static long
p_kexec_load(void)
{
	return syscall(SYS_kexec_load, 0L, 0L, NULL, -1L);
}
static long
p_kexec_file_load(void)
{
	return syscall(SYS_kexec_file_load, -1L, -1L, 0L, NULL, -1L);
}
static long
p_open_by_handle_at(void)
{
	return syscall(SYS_open_by_handle_at, -1L, NULL, 0L);
}
static long
p_ptrace(void)
{
	return syscall(SYS_ptrace, -1L, 0L, NULL, NULL);
}
static long
p_process_vm_readv(void)
{
	return syscall(SYS_process_vm_readv, 0L, NULL, 0L, NULL, 0L, 0L);
}
static long
p_process_vm_writev(void)
{
	return syscall(SYS_process_vm_writev, 0L, NULL, 0L, NULL, 0L, 0L);
}
/* CLONE_NEWUSER plus CLONE_PARENT, which unshare refuses: EINVAL from the
 * kernel if the rule did not fire, so the probe never creates a namespace
 * by accident. */
static long
p_unshare_newuser(void)
{
	return syscall(SYS_unshare, (long) (CLONE_NEWUSER | CLONE_PARENT));
}
static long
p_clone_newuser(void)
{
	/* An invalid combination (CLONE_NEWUSER | CLONE_FS): EINVAL from
	 * the kernel, so nothing is ever cloned here. */
	return syscall(SYS_clone, (long) (CLONE_NEWUSER | CLONE_FS | SIGCHLD),
	    NULL, NULL, NULL, 0L);
}
static long
p_clone3(void)
{
	return syscall(SYS_clone3, NULL, 0L);
}
static long
p_tiocsti(void)
{
	return syscall(SYS_ioctl, -1L, (long) TIOCSTI, NULL);
}
/* The kernel truncates the command to 32 bits; so must the rule. */
static long
p_tiocsti_high(void)
{
	return syscall(SYS_ioctl, -1L, (long) (TIOCSTI | (1ul << 32)), NULL);
}
static long
p_tioclinux(void)
{
	return syscall(SYS_ioctl, -1L, (long) TIOCLINUX, NULL);
}
/* Allowed calls, for contrast. */
static long
p_tcgets(void)
{
	return syscall(SYS_ioctl, -1L, (long) TCGETS, NULL);
}
static long
p_unshare_invalid(void)
{
	return syscall(SYS_unshare, (long) CLONE_PARENT);
}
static long
p_getpid(void)
{
	return syscall(SYS_getpid) > 0 ? 0 : -1;
}
static long
p_fork(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return 0;
}
static long
p_x32(void)
{
	return syscall(__X32_SYSCALL_BIT | SYS_getpid);
}
/* getpid through the i386 ABI (its number is 20 there). */
static long
p_i386(void)
{
	long r;

	__asm__ volatile ("int $0x80" : "=a" (r) : "a" (20L) : "memory");
	return r > 0 ? 0 : r;
}

/* Runs probe under prog in a child: its errno (0 if it succeeded), or
 * 1000 + signal if it was killed. */
static int
probe(const struct seccomp_prog *prog, long (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		long r;

		/* Default SIGSEGV, so a faulting probe shows as the signal:
		 * raw rt_sigaction, as ASan's interceptor would keep its own
		 * handler (which exits 1). */
		struct { void *handler; unsigned long flags; void *restorer;
			unsigned long mask; } ksa = { 0 };

		ksa.handler = (void *) SIG_DFL;
		if (syscall(SYS_rt_sigaction, SIGSEGV, &ksa, NULL, 8L) < 0)
			_exit(252);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0 ||
		    (prog && seccomp_prog_install(prog) < 0))
			_exit(254);
		errno = 0;
		r = fn();
		_exit(r == -1 ? (errno > 0 && errno < 250 ? errno : 253) :
		    r == 0 ? 0 : NOT_FAILED);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* The rule of the docker profile that names name (the first, or the
 * nth with that name), or -1. */
static int
profile_rule(const struct jr_doc *doc, const char *name, int nth)
{
	int calls = jr_obj_get(doc, jr_root(doc), "syscalls");

	for (int i = 0; calls >= 0 && i < jr_len(doc, calls); i++) {
		int rule = jr_child(doc, calls, i);
		int names = jr_obj_get(doc, rule, "names");

		for (int k = 0; names >= 0 && k < jr_len(doc, names); k++) {
			char buf[64];

			if (jr_str(doc, jr_child(doc, names, k), buf, sizeof(buf),
			    NULL) >= 0 && strcmp(buf, name) == 0 && nth-- == 0)
				return rule;
		}
	}
	return -1;
}

static int64_t
rule_num(const struct jr_doc *doc, int rule, const char *key, int arg)
{
	int64_t v = -1;
	int tok = rule;

	if (arg >= 0) {
		int args = jr_obj_get(doc, rule, "args");

		tok = args >= 0 && jr_len(doc, args) == 1 ? jr_child(doc, args,
		    0) : -1;
	}
	if (tok >= 0 && (tok = jr_obj_get(doc, tok, key)) >= 0)
		(void) jr_i64(doc, tok, &v);
	return v;
}

/* The docker cells' profile says what the filter does (the daemon turns
 * it into the same kind of filter; the docker e2e suites run the probes
 * for real). */
static void
test_docker_profile(void)
{
	static const char *const plain[] = {
		"keyctl", "add_key", "request_key", "io_uring_setup",
		"io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
		"userfaultfd", "kexec_load", "kexec_file_load",
		"open_by_handle_at", "ptrace", "process_vm_readv",
		"process_vm_writev",
	};
	_cleanup_strbuf_ struct strbuf sb;
	struct jr_doc *doc = NULL;
	char buf[64];
	int rule, tok;

	strbuf_init(&sb, 64 * 1024);
	is_int(seccomp_docker_profile(0, &sb), -EINVAL, "profile: errno 0 refused");
	is_int(seccomp_docker_profile(EPERM, &sb), 0, "the docker profile is made");
	is_int(jr_parse(sb.buf, sb.len, 4096, &doc), 0, "it is JSON");
	if (!doc)
		return;
	tok = jr_obj_get(doc, jr_root(doc), "defaultAction");
	ok(tok >= 0 && jr_str(doc, tok, buf, sizeof(buf), NULL) >= 0 &&
	    strcmp(buf, "SCMP_ACT_ALLOW") == 0, "default: allow");
	tok = jr_obj_get(doc, jr_root(doc), "architectures");
	ok(tok >= 0 && jr_len(doc, tok) == 1 && jr_str(doc, jr_child(doc, tok,
	    0), buf, sizeof(buf), NULL) >= 0 && strcmp(buf,
	    "SCMP_ARCH_X86_64") == 0, "native architecture only");
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		rule = profile_rule(doc, plain[i], 0);
		ok(rule >= 0 && rule_num(doc, rule, "errnoRet", -1) == EPERM &&
		    jr_obj_get(doc, rule, "args") < 0,
		    "profile: %s is EPERM whatever its arguments", plain[i]);
	}
	rule = profile_rule(doc, "unshare", 0);
	ok(rule >= 0 && rule_num(doc, rule, "index", 0) == 0 &&
	    rule_num(doc, rule, "value", 0) == CLONE_NEWUSER &&
	    rule_num(doc, rule, "valueTwo", 0) == CLONE_NEWUSER,
	    "profile: unshare with CLONE_NEWUSER");
	rule = profile_rule(doc, "clone", 0);
	ok(rule >= 0 && rule_num(doc, rule, "value", 0) == CLONE_NEWUSER,
	    "profile: clone with CLONE_NEWUSER");
	rule = profile_rule(doc, "clone3", 0);
	ok(rule >= 0 && rule_num(doc, rule, "errnoRet", -1) == ENOSYS,
	    "profile: clone3 is ENOSYS");
	rule = profile_rule(doc, "ioctl", 0);
	ok(rule >= 0 && rule_num(doc, rule, "index", 0) == 1 &&
	    rule_num(doc, rule, "value", 0) == 0xffffffffLL &&
	    rule_num(doc, rule, "valueTwo", 0) == TIOCSTI,
	    "profile: ioctl TIOCSTI on the low 32 bits");
	rule = profile_rule(doc, "ioctl", 1);
	ok(rule >= 0 && rule_num(doc, rule, "valueTwo", 0) == TIOCLINUX,
	    "profile: ioctl TIOCLINUX");
	doc = jr_free(doc);
}

int
main(void)
{
	static const struct {
		const char *name;
		long (*fn)(void);
	} denied[] = {
		{ "keyctl", p_keyctl },
		{ "add_key", p_add_key },
		{ "request_key", p_request_key },
		{ "io_uring_setup", p_io_uring_setup },
		{ "io_uring_enter", p_io_uring_enter },
		{ "io_uring_register", p_io_uring_register },
		{ "bpf", p_bpf },
		{ "perf_event_open", p_perf_event_open },
		{ "userfaultfd", p_userfaultfd },
		{ "kexec_load", p_kexec_load },
		{ "kexec_file_load", p_kexec_file_load },
		{ "open_by_handle_at", p_open_by_handle_at },
		{ "ptrace", p_ptrace },
		{ "process_vm_readv", p_process_vm_readv },
		{ "process_vm_writev", p_process_vm_writev },
		{ "unshare(CLONE_NEWUSER)", p_unshare_newuser },
		{ "clone(CLONE_NEWUSER)", p_clone_newuser },
		{ "ioctl(TIOCSTI)", p_tiocsti },
		{ "ioctl(TIOCSTI | 1 << 32)", p_tiocsti_high },
		{ "ioctl(TIOCLINUX)", p_tioclinux },
	};
	struct seccomp_prog test = { 0 }, prod = { 0 };
	int r;

	test_docker_profile();
	r = seccomp_prog_build(MARK, &test);
	is_int(r, 0, "the filter builds");
	if (r < 0)
		return done_testing();
	ok(test.len > 10 && test.insns, "the filter has %u instructions", test.len);
	is_int(seccomp_prog_build(0, &prod), -EINVAL, "errno 0 is refused");
	is_int(seccomp_prog_build(5000, &prod), -EINVAL, "errno 5000 is refused");

	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		int without = probe(NULL, denied[i].fn);
		int with = probe(&test, denied[i].fn);

		is_int(with, MARK, "%s: the filter's errno", denied[i].name);
		ok(without != MARK, "%s: without the filter errno %d",
		    denied[i].name, without);
	}
	is_int(probe(&test, p_clone3), ENOSYS, "clone3: ENOSYS, libc falls back");
	is_int(probe(&test, p_tcgets), EBADF, "ioctl(TCGETS) reaches the kernel");
	is_int(probe(&test, p_unshare_invalid), EINVAL,
	    "unshare without CLONE_NEWUSER reaches the kernel");
	is_int(probe(&test, p_getpid), 0, "getpid is allowed");
	is_int(probe(&test, p_fork), 0, "fork (clone without NEWUSER) is allowed");
	r = probe(NULL, p_i386);
	if (r == 1000 + SIGSEGV) {
		/* ia32_emulation=0 (or no IA32_EMULATION): int 0x80 faults
		 * before seccomp sees it; the filter still names the rule. */
		diag("the i386 ABI is off in this kernel: int 0x80 faults");
		is_int(probe(&test, p_i386), 1000 + SIGSEGV,
		    "i386 ABI: unreachable here (SIGSEGV)");
	} else {
		is_int(r, 0, "i386 getpid works without the filter");
		is_int(probe(&test, p_i386), 1000 + SIGSYS,
		    "i386 ABI: killed by SIGSYS");
	}
	is_int(probe(&test, p_x32), 1000 + SIGSYS, "x32 ABI: killed by SIGSYS");

	is_int(seccomp_prog_build(EPERM, &prod), 0, "the production filter builds");
	is_int(probe(&prod, p_keyctl), EPERM, "production errno is EPERM (keyctl)");
	is_int(probe(&prod, p_tiocsti), EPERM, "production errno is EPERM (TIOCSTI)");
	is_int(seccomp_prog_install(&(struct seccomp_prog) { 0 }), -EINVAL,
	    "an empty program is refused");
	seccomp_prog_release(&prod);
	seccomp_prog_release(&test);
	ok(test.insns == NULL && test.len == 0, "release empties it");
	return done_testing();
}
