/* ns_net.c - the namespace cell's network: loopback up inside the cell
 * (run by its init, after clone()) and, for a job with network, the
 * slirp4netns process the worker starts in the cell's network namespace.
 * Trusts nothing from slirp4netns but its ready byte. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "ns_int.h"
#include "banned.h"

int
ns_loopback_up(void)
{
	_cleanup_close_ int s = -1;
	struct ifreq ifr;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", sizeof("lo"));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	/* Needs CAP_NET_ADMIN over the new netns, which we hold in its
	 * owning user namespace. */
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}


/* Starts slirp4netns in the cell's user and network namespaces (fds the
 * worker opened while it was their owner: ns_cell_start) and waits until it has configured tap0 (10.0.2.100/24, gateway
 * 10.0.2.2, DNS 10.0.2.3). It runs as root only to enter that namespace
 * and open /dev/net/tun, then sandboxes itself (--enable-sandbox: own
 * mount namespace, capabilities dropped; --enable-seccomp);
 * --disable-host-loopback keeps the job away from the host's 127.0.0.1
 * services. It exits when *ret_exit_w is closed. */
int
ns_slirp_start(int netns_fd, int userns_fd, pid_t *ret_pid, int *ret_exit_w)
{
	_cleanup_close_ int ready_r = -1, ready_w = -1, exit_r = -1, exit_w = -1;
	char snetns[32], suserns[48], sready[16], sexit[16], ok;
	struct pollfd p;
	pid_t child;
	int r;

	if (access(SLIRP4NETNS, X_OK) < 0)
		return -errno;
	if ((r = ns_make_pipe(&ready_r, &ready_w, false)) < 0 ||
	    (r = ns_make_pipe(&exit_r, &exit_w, false)) < 0)
		return r;
	(void) snprintf(snetns, sizeof(snetns), "/proc/self/fd/%d", netns_fd);
	(void) snprintf(suserns, sizeof(suserns), "--userns-path=/proc/self/fd/%d",
	    userns_fd);
	(void) snprintf(sready, sizeof(sready), "--ready-fd=%d", ready_w);
	(void) snprintf(sexit, sizeof(sexit), "--exit-fd=%d", exit_r);
	if ((child = fork()) < 0)
		return -errno;
	if (child == 0) {
		static char a0[] = SLIRP4NETNS, a1[] = "--configure",
		    a2[] = "--mtu=65520", a3[] = "--disable-host-loopback",
		    a4[] = "--enable-sandbox", a5[] = "--enable-seccomp",
		    a6[] = "tap0", a7[] = "--netns-type=path";
		char *const argv[] = {
			a0, a1, a2, a3, a4, a5, a7, suserns, sready, sexit,
			snetns, a6, NULL,
		};
		char *const envp[] = { NULL };
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		sigset_t none;

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
		    dup2(nul, 2) < 0 ||
		    fcntl(ready_w, F_SETFD, 0) < 0 || fcntl(exit_r, F_SETFD, 0) < 0 ||
		    fcntl(netns_fd, F_SETFD, 0) < 0 ||
		    fcntl(userns_fd, F_SETFD, 0) < 0 ||
		    ns_close_all_except((const int[]) { 0, 1, 2, ready_w, exit_r,
		    netns_fd, userns_fd }, 7) < 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR ||
		    signal(SIGHUP, SIG_DFL) == SIG_ERR ||
		    signal(SIGTERM, SIG_DFL) == SIG_ERR ||
		    sigemptyset(&none) < 0 ||
		    sigprocmask(SIG_SETMASK, &none, NULL) < 0)
			_exit(127);
		(void) execve(SLIRP4NETNS, argv, envp);
		_exit(127);
	}
	close_fd(&ready_w);
	close_fd(&exit_r);
	p = (struct pollfd) { .fd = ready_r, .events = POLLIN };
	do
		r = poll(&p, 1, SLIRP_READY_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || read(ready_r, &ok, 1) != 1 || ok != '1') {
		r = r < 0 ? -errno : -ETIMEDOUT;
		ns_kill_and_reap(child);
		return r;
	}
	*ret_pid = child;
	*ret_exit_w = steal_fd(&exit_w);
	return 0;
}

void
ns_slirp_stop(struct ns_cell *c)
{
	pid_t w = 0;

	if (c->slirp_pid <= 0)
		return;
	close_fd(&c->slirp_exit_fd);	/* slirp4netns exits on EOF */
	for (int i = 0; i < 100 && w == 0; i++) {
		w = waitpid(c->slirp_pid, NULL, WNOHANG);
		if (w == 0)
			(void) poll(NULL, 0, 10);
	}
	if (w == 0)
		ns_kill_and_reap(c->slirp_pid);
	c->slirp_pid = -1;
}
