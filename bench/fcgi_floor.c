/* bench/fcgi_floor.c - the plumbing's ceiling for bench/submit: a trivial
 * FastCGI responder (libfcgi, a fixed pool of threads, like jobcell-api)
 * that nginx can use in jobcell-api's place, behind the same nginx config
 * and TLS. The auth_request subrequest (JOBCELL_AUTH set) gets 200 with a
 * consumer; every other request has its body read and gets 201 with a
 * small JSON object. No database: what is left is nginx, TLS, auth_request
 * and two FastCGI round trips. Not installed.
 *
 *   bench/fcgi_floor --socket PATH [--threads N]   (runs until killed) */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "banned.h"

#define FLOOR_MAX_THREADS 256

static int listen_fd = -1;

static void *
thread_main(void *arg)
{
	FCGX_Request fr;
	char buf[4096];

	(void) arg;
	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&fr) >= 0) {
		if (FCGX_GetParam("JOBCELL_AUTH", fr.envp)) {
			(void) FCGX_PutS("Status: 200\r\n"
					 "X-Jobcell-Consumer: 1\r\n\r\n",
			    fr.out);
		} else {
			while (FCGX_GetStr(buf, sizeof(buf), fr.in) > 0)
				; /* the body, read as the API reads it */
			(void)
			    FCGX_PutS("Status: 201\r\n"
				      "Content-Type: application/json\r\n"
				      "Location: /v1/jobs/x\r\n\r\n"
				      "{\"id\":\"x\",\"status\":\"queued\"}\n",
				fr.out);
		}
		FCGX_Finish_r(&fr);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = NULL;
	long threads = 64;
	pthread_t tid[FLOOR_MAX_THREADS];
	char *end;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			path = optarg;
			break;
		case 't':
			threads = strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > FLOOR_MAX_THREADS)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (!path || optind != argc || strlen(path) >= sizeof(sa.sun_path))
		goto usage;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (FCGX_Init() != 0)
		return 1;
	/* libfcgi's own TERM handler only sets a flag (DESIGN section 8):
	 * the default action ends us, as the bench expects. */
	(void) signal(SIGTERM, SIG_DFL);
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    (unlink(path) < 0 && errno != ENOENT) ||
	    bind(listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(listen_fd, 128) < 0) {
		fprintf(stderr, "fcgi_floor: cannot listen on '%s': %s\n", path,
		    strerror(errno));
		return 1;
	}
	for (long i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, thread_main, NULL) != 0) {
			fprintf(stderr, "fcgi_floor: cannot start threads\n");
			return 1;
		}
	for (long i = 0; i < threads; i++)
		(void) pthread_join(tid[i], NULL);
	return 0;
usage:
	fprintf(stderr, "usage: fcgi_floor --socket PATH [--threads N]\n");
	return 2;
}
