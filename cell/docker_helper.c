/* docker_helper.c - the docker cell's attach/wait helper: forked by the
 * worker once the container runs, it sends the files stream and the job's
 * stdin into the attach socket, splits Docker's multiplexed output into the
 * worker's stdout and stderr pipes, then waits for the container's exit
 * and reports it (with OOMKilled) as one fixed-size record. Dies with the
 * worker (PDEATHSIG). Trusts from the daemon only the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "docker_int.h"
#include "json_reader.h"
#include "strbuf.h"
#include "banned.h"

struct helper_out {
	int fd[3];	/* [1] stdout pipe, [2] stderr pipe */
};

/* Writes to the worker's pipe; if the worker stopped reading (it only
 * does when the job ends) the bytes are dropped so the job never blocks. */
static int
emit_pipe(int stream, const char *data, size_t len, void *arg)
{
	struct helper_out *o = arg;
	int fd = o->fd[stream];

	if (fd >= 0 && write_full(fd, data, len) < 0) {
		(void) close(fd);
		o->fd[stream] = -1;
	}
	return 0;
}

/* Copies the attach stream into the pipes and stdin into the stream, until
 * the daemon closes it (the job's stdout and stderr are closed). */
static void
helper_pump(int sock, const struct strbuf *prefix, int in_fd,
    const struct strbuf *early, struct helper_out *o)
{
	struct docker_demux dm;
	char buf[65536], inbuf[16384];
	const char *pend = NULL;
	size_t pend_len = 0;
	bool in_open = prefix->len > 0 || in_fd >= 0, prefix_sent = false;
	bool fd_eof = in_fd < 0;

	docker_demux_init(&dm);
	if (early->len > 0 &&
	    docker_demux_feed(&dm, early->buf, early->len, emit_pipe, o) < 0)
		return;
	for (;;) {
		struct pollfd p = { sock, POLLIN, 0 };
		ssize_t n;

		/* What goes in: the files stream, then the job's stdin. */
		if (in_open && pend_len == 0) {
			if (!prefix_sent) {
				prefix_sent = true;
				pend = prefix->buf;
				pend_len = prefix->len;
			}
			/* An empty prefix (no files stream) goes straight
			 * on to stdin: waiting for the socket first would
			 * wait for the job's output, which a job that reads
			 * before it writes never makes. */
			if (pend_len == 0 && !fd_eof) {
				/* one read of what is there, not read_full:
				 * a pipe's bytes go on as they come */
				n = read(in_fd, inbuf, sizeof(inbuf));
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					fd_eof = true;
				else {
					pend = inbuf;
					pend_len = (size_t) n;
				}
			}
			if (pend_len == 0 && fd_eof && prefix_sent) {
				/* EOF for the job: StdinOnce closes its stdin. */
				(void) shutdown(sock, SHUT_WR);
				in_open = false;
			}
		}
		if (in_open && pend_len > 0)
			p.events |= POLLOUT;
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (in_open && pend_len > 0 && (p.revents & POLLOUT)) {
			n = send(sock, pend, pend_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				pend += n;
				pend_len -= (size_t) n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR)
				in_open = false;	/* the job stopped reading */
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return;
		if (docker_demux_feed(&dm, buf, (size_t) n, emit_pipe, o) < 0)
			return;
	}
}

/* POST /containers/{id}/wait, then GET /containers/{id}/json. */
static void
helper_result(struct docker *api, const char *id, int64_t max_run_ms,
    struct docker_report *rep)
{
	_cleanup_strbuf_ struct strbuf reply;
	struct jr_doc *doc = NULL;
	char path[160];
	int64_t code = -1, wait_ms = max_run_ms + WAIT_MARGIN_MS;
	bool oom = false;
	int r, tok, state;

	strbuf_init(&reply, DOCKER_REPLY_MAX);
	if (wait_ms > 0x7fffffff)
		wait_ms = 0x7fffffff;
	(void) snprintf(path, sizeof(path),
	    "/containers/%s/wait?condition=not-running", id);
	r = docker_call(api, "POST", path, NULL, (int) wait_ms, &reply);
	if (r != 200) {
		rep->kind = DOCKER_REPORT_LOST;
		rep->err = r < 0 ? -r : EIO;
		if (r < 0)
			docker_setmsg(rep->msg, sizeof(rep->msg), "waiting for the "
			    "container failed: %s", docker_daemon_failure(r));
		else
			docker_setmsg(rep->msg, sizeof(rep->msg), "waiting for the "
			    "container failed: HTTP %d%s%s", r,
			    api->err[0] ? ": " : "", api->err);
		return;
	}
	if (jr_parse(reply.buf, reply.len, 64, &doc) < 0 ||
	    jr_type(doc, jr_root(doc)) != JR_OBJECT ||
	    (tok = jr_obj_get(doc, jr_root(doc), "StatusCode")) < 0 ||
	    jr_i64(doc, tok, &code) < 0 || code < 0 || code > 255) {
		doc = jr_free(doc);
		rep->kind = DOCKER_REPORT_LOST;
		rep->err = EPROTO;
		docker_setmsg(rep->msg, sizeof(rep->msg), "the docker daemon sent no "
		    "exit status");
		return;
	}
	doc = jr_free(doc);
	/* OOMKilled is only in the inspect answer; if that fails the exit
	 * status still stands. */
	(void) snprintf(path, sizeof(path), "/containers/%s/json", id);
	r = docker_call(api, "GET", path, NULL, INSPECT_TIMEOUT_MS, &reply);
	if (r == 200 && jr_parse(reply.buf, reply.len, JC_MAX_JSON_TOKENS,
	    &doc) == 0) {
		if (jr_type(doc, jr_root(doc)) == JR_OBJECT &&
		    (state = jr_obj_get(doc, jr_root(doc), "State")) >= 0 &&
		    jr_type(doc, state) == JR_OBJECT &&
		    (tok = jr_obj_get(doc, state, "OOMKilled")) >= 0)
			(void) jr_bool(doc, tok, &oom);
		doc = jr_free(doc);
	}
	rep->kind = DOCKER_REPORT_EXITED;
	rep->exit_code = (int32_t) code;
	rep->oom_killed = oom;
}

__attribute__((noreturn)) void
docker_helper_main(struct docker *api, const char *id, pid_t parent, int sock,
    const struct strbuf *prefix, int in_fd, const struct strbuf *early,
    int out_w, int err_w, int rep_w, int64_t max_run_ms)
{
	struct helper_out o = { { -1, out_w, err_w } };
	struct docker_report rep = { 0 };

	/* Dies with the worker; a container left behind is the sweep's. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	(void) signal(SIGPIPE, SIG_IGN);
	(void) signal(SIGTERM, SIG_DFL);
	(void) signal(SIGINT, SIG_DFL);
	/* The worker's curl handle (and its connection) is the worker's. */
	docker_forget_handle(api);
	helper_pump(sock, prefix, in_fd, early, &o);
	(void) close(sock);
	for (int i = 1; i <= 2; i++)
		if (o.fd[i] >= 0)
			(void) close(o.fd[i]);	/* EOF for the worker */
	helper_result(api, id, max_run_ms, &rep);
	_exit(write_full(rep_w, &rep, sizeof(rep)) == 0 ? 0 : 127);
}
