/* test_seccomp.c - the cell's seccomp filter (cell/seccomp.c), call by call.
 * Each call of the table runs in a forked child that sets no_new_privs,
 * installs the filter built with a distinctive errno (EHWPOISON, which
 * none of these calls returns on its own) and exits with the errno it got;
 * invalid arguments keep an allowed call from doing anything. A rule that
 * did not fire shows up as the kernel's own answer (EFAULT, EBADF...).
 * The docker profile is checked against the same table by evaluating its
 * rules, so the two backends refuse the same calls. Also: the i386 and
 * x32 ABIs end in SIGSYS, and the production errno is EPERM. No root. */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
#define NOT_FAILED 250		/* exit code: the call returned > 0 */
#define ALLOWED -1		/* want: the kernel's own answer */
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

struct call {
	const char *label;
	const char *name;	/* for the profile and the number */
	long a[4];
	int want;		/* MARK, ENOSYS, or ALLOWED */
};

/* Arguments are chosen so that an allowed call fails harmlessly (a bad
 * fd, a NULL pointer) or does nothing lasting. */
static const struct call calls[] = {
	{ "keyctl", "keyctl", { -1 }, MARK },
	{ "add_key", "add_key", { 0 }, MARK },
	{ "request_key", "request_key", { 0 }, MARK },
	{ "io_uring_setup", "io_uring_setup", { 0 }, MARK },
	{ "io_uring_enter", "io_uring_enter", { -1 }, MARK },
	{ "io_uring_register", "io_uring_register", { -1 }, MARK },
	{ "bpf", "bpf", { -1 }, MARK },
	{ "perf_event_open", "perf_event_open", { 0, 0, -1, -1 }, MARK },
	{ "userfaultfd", "userfaultfd", { -1 }, MARK },
	{ "kexec_load", "kexec_load", { 0, 0, 0, -1 }, MARK },
	{ "kexec_file_load", "kexec_file_load", { -1, -1 }, MARK },
	{ "open_by_handle_at", "open_by_handle_at", { -1 }, MARK },
	{ "ptrace", "ptrace", { -1 }, MARK },
	{ "process_vm_readv", "process_vm_readv", { 0 }, MARK },
	{ "process_vm_writev", "process_vm_writev", { 0 }, MARK },
	{ "kcmp", "kcmp", { 0, 0, -1 }, MARK },
	{ "pidfd_getfd", "pidfd_getfd", { -1, -1 }, MARK },
	{ "fanotify_init", "fanotify_init", { 0 }, MARK },
	{ "mount", "mount", { 0 }, MARK },
	{ "setns", "setns", { -1 }, MARK },
	{ "syslog", "syslog", { -1 }, MARK },
	{ "mbind", "mbind", { 0 }, MARK },
	/* unshare of anything: CLONE_PARENT makes it EINVAL in the kernel,
	 * so the probe never creates a namespace by accident */
	{ "unshare(CLONE_NEWUSER)", "unshare", { CLONE_NEWUSER | CLONE_PARENT },
	  MARK },
	{ "unshare(CLONE_PARENT)", "unshare", { CLONE_PARENT }, MARK },
	/* clone with a namespace flag; CLONE_FS with CLONE_NEWUSER or
	 * CLONE_NEWNS is EINVAL in the kernel: nothing is ever cloned */
	{ "clone(CLONE_NEWUSER)", "clone", { CLONE_NEWUSER | CLONE_FS |
	  SIGCHLD }, MARK },
	{ "clone(CLONE_NEWNS)", "clone", { CLONE_NEWNS | CLONE_FS | SIGCHLD },
	  MARK },
	{ "clone3", "clone3", { 0 }, ENOSYS },
	{ "socket(AF_VSOCK)", "socket", { AF_VSOCK, SOCK_STREAM }, MARK },
	{ "socket(AF_VSOCK | 1 << 32)", "socket", { AF_VSOCK | (1l << 32),
	  SOCK_STREAM }, MARK },
	{ "socket(AF_PACKET)", "socket", { AF_PACKET, SOCK_RAW }, MARK },
	{ "socket(AF_BLUETOOTH)", "socket", { AF_BLUETOOTH, SOCK_STREAM },
	  MARK },
	{ "socket(AF_UNIX), bad type", "socket", { AF_UNIX, -1 }, ALLOWED },
	{ "socket(AF_INET6), bad type", "socket", { AF_INET6, -1 }, ALLOWED },
	{ "socket(AF_NETLINK), bad type", "socket", { AF_NETLINK, -1 },
	  ALLOWED },
	{ "personality(READ_IMPLIES_EXEC)", "personality",
	  { READ_IMPLIES_EXEC }, MARK },
	{ "personality(query)", "personality", { 0xffffffffl }, ALLOWED },
	{ "ioctl(TIOCSTI)", "ioctl", { -1, TIOCSTI }, MARK },
	/* The kernel truncates the command to 32 bits; so must the rule. */
	{ "ioctl(TIOCSTI | 1 << 32)", "ioctl", { -1, TIOCSTI | (1l << 32) },
	  MARK },
	{ "ioctl(TIOCLINUX)", "ioctl", { -1, TIOCLINUX }, MARK },
	{ "ioctl(TCGETS)", "ioctl", { -1, TCGETS }, ALLOWED },
	{ "ioctl(TIOCSTI + 1)", "ioctl", { -1, TIOCSTI + 1 }, ALLOWED },
	{ "getpid", "getpid", { 0 }, ALLOWED },
	{ "close(-1)", "close", { -1 }, ALLOWED },
	/* not in the table at all: ENOSYS, as an older kernel says */
	{ "sysfs (unlisted)", "sysfs", { 99 }, ENOSYS },
	{ "ustat (unlisted)", "ustat", { 0 }, ENOSYS },
};

static long
call_it(const struct call *c)
{
	int nr = seccomp_syscall_resolve_name(c->name);

	return syscall(nr, c->a[0], c->a[1], c->a[2], c->a[3], 0L, 0L);
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

/* Runs fn (or the call c) under prog in a child: its errno (0 if it
 * returned 0, NOT_FAILED if more), or 1000 + signal if it was killed. */
static int
probe(const struct seccomp_prog *prog, long (*fn)(void), const struct call *c)
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
		r = fn ? fn() : call_it(c);
		_exit(r == -1 ? (errno > 0 && errno < 250 ? errno : 253) :
		    r == 0 ? 0 : NOT_FAILED);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int64_t
num(const struct jr_doc *doc, int obj, const char *key, int64_t dflt)
{
	int64_t v = dflt;
	int tok = jr_obj_get(doc, obj, key);

	if (tok >= 0)
		(void) jr_i64(doc, tok, &v);
	return v;
}

/* What the docker profile does with call c: the errno of its rule, or
 * ALLOWED; -2 if two rules that disagree both match (a profile whose
 * meaning would depend on the daemon's rule order). */
static int
profile_verdict(const struct jr_doc *doc, const struct call *c)
{
	int calls_tok = jr_obj_get(doc, jr_root(doc), "syscalls"), v = -3;
	char buf[64];

	for (int i = 0; calls_tok >= 0 && i < jr_len(doc, calls_tok); i++) {
		int rule = jr_child(doc, calls_tok, i);
		int names = jr_obj_get(doc, rule, "names");
		int args = jr_obj_get(doc, rule, "args");
		int act = jr_obj_get(doc, rule, "action"), got;
		bool named = false, match = true;

		for (int k = 0; names >= 0 && k < jr_len(doc, names); k++)
			if (jr_str(doc, jr_child(doc, names, k), buf,
			    sizeof(buf), NULL) >= 0 && strcmp(buf, c->name) == 0)
				named = true;
		if (!named)
			continue;
		for (int k = 0; args >= 0 && k < jr_len(doc, args); k++) {
			int a = jr_child(doc, args, k);
			int64_t idx = num(doc, a, "index", -1);
			uint64_t mask = (uint64_t) num(doc, a, "value", 0);
			uint64_t val = (uint64_t) num(doc, a, "valueTwo", 0);

			if (idx < 0 || idx > 3 || !jr_str_eq(doc,
			    jr_obj_get(doc, a, "op"), "SCMP_CMP_MASKED_EQ") ||
			    ((uint64_t) c->a[idx] & mask) != val)
				match = false;
		}
		if (!match)
			continue;
		got = jr_str_eq(doc, act, "SCMP_ACT_ALLOW") ? ALLOWED :
		    (int) num(doc, rule, "errnoRet", -4);
		if (v != -3 && v != got)
			return -2;
		v = got;
	}
	return v == -3 ? (int) num(doc, jr_root(doc), "defaultErrnoRet", -5) : v;
}

/* The docker cells' profile refuses what the filter refuses: every call
 * of the table, evaluated by the profile's rules (the docker e2e suites
 * run the probes for real in a container). */
static void
test_docker_profile(void)
{
	_cleanup_strbuf_ struct strbuf sb;
	struct jr_doc *doc = NULL;
	char buf[64];
	int tok;

	strbuf_init(&sb, 256 * 1024);
	is_int(seccomp_docker_profile(0, &sb), -EINVAL, "profile: errno 0 refused");
	is_int(seccomp_docker_profile(MARK, &sb), 0, "the docker profile is made");
	is_int(jr_parse(sb.buf, sb.len, 65536, &doc), 0, "it is JSON");
	if (!doc)
		return;
	tok = jr_obj_get(doc, jr_root(doc), "defaultAction");
	ok(tok >= 0 && jr_str(doc, tok, buf, sizeof(buf), NULL) >= 0 &&
	    strcmp(buf, "SCMP_ACT_ERRNO") == 0, "default: refuse");
	tok = jr_obj_get(doc, jr_root(doc), "architectures");
	ok(tok >= 0 && jr_len(doc, tok) == 1 && jr_str(doc, jr_child(doc, tok,
	    0), buf, sizeof(buf), NULL) >= 0 && strcmp(buf,
	    "SCMP_ARCH_X86_64") == 0, "native architecture only");
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++)
		is_int(profile_verdict(doc, &calls[i]), calls[i].want,
		    "profile: %s", calls[i].label);
	doc = jr_free(doc);
}

int
main(void)
{
	struct seccomp_prog test = { 0 }, prod = { 0 };
	int r, with, without;

	test_docker_profile();
	r = seccomp_prog_build(MARK, &test);
	is_int(r, 0, "the filter builds");
	if (r < 0)
		return done_testing();
	ok(test.len > 10 && test.insns, "the filter has %u instructions", test.len);
	is_int(seccomp_prog_build(0, &prod), -EINVAL, "errno 0 is refused");
	is_int(seccomp_prog_build(5000, &prod), -EINVAL, "errno 5000 is refused");

	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		const struct call *c = &calls[i];

		ok(seccomp_syscall_resolve_name(c->name) >= 0, "%s: a call "
		    "of this architecture", c->label);
		with = probe(&test, NULL, c);
		without = probe(NULL, NULL, c);
		if (c->want == ALLOWED) {
			is_int(with, without, "%s: reaches the kernel "
			    "(its answer: %d)", c->label, without);
			continue;
		}
		is_int(with, c->want, "%s: the filter's errno", c->label);
		ok(without != c->want, "%s: without the filter errno %d",
		    c->label, without);
	}
	is_int(probe(&test, p_fork, NULL), 0,
	    "fork (clone without namespace flags) is allowed");
	r = probe(NULL, p_i386, NULL);
	if (r == 1000 + SIGSEGV) {
		/* ia32_emulation=0 (or no IA32_EMULATION): int 0x80 faults
		 * before seccomp sees it; the filter still names the rule. */
		diag("the i386 ABI is off in this kernel: int 0x80 faults");
		is_int(probe(&test, p_i386, NULL), 1000 + SIGSEGV,
		    "i386 ABI: unreachable here (SIGSEGV)");
	} else {
		is_int(r, 0, "i386 getpid works without the filter");
		is_int(probe(&test, p_i386, NULL), 1000 + SIGSYS,
		    "i386 ABI: killed by SIGSYS");
	}
	is_int(probe(&test, p_x32, NULL), 1000 + SIGSYS,
	    "x32 ABI: killed by SIGSYS");

	is_int(seccomp_prog_build(EPERM, &prod), 0, "the production filter builds");
	is_int(probe(&prod, NULL, &calls[0]), EPERM,
	    "production errno is EPERM (keyctl)");
	is_int(seccomp_prog_install(&(struct seccomp_prog) { 0 }), -EINVAL,
	    "an empty program is refused");
	seccomp_prog_release(&prod);
	seccomp_prog_release(&test);
	ok(test.insns == NULL && test.len == 0, "release empties it");
	return done_testing();
}
