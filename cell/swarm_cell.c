/* swarm_cell.c - the swarm backend of the cell (docs/architecture.md,
 * "Cells"): each job runs as a one-shot Docker Swarm service
 * (Mode.ReplicatedJob, RestartPolicy none) made through the Engine API of
 * a swarm manager (docker_api.c: a unix socket, or TCP with TLS client
 * certificates), placed by the swarm's scheduler on any node. The
 * service's settings are built by swarm_spec.c. Runs in a jobcell-worker
 * process and, after fork(), as the cell's helper; the supervisor's
 * housekeeping (availability, node count, sweep of leftovers) is at the
 * end. Trusts from the manager only the task's state, node and exit code.
 *
 * How it works
 *
 *   worker (sw_start)                       helper (forked)
 *   -----------------                       ---------------
 *   GET /_ping (API version, up to 1.46)
 *   POST /services/create: labels
 *     jobcell.job, jobcell.worker
 *   pipes out, err, report; fork -------->  PDEATHSIG; forks the follower:
 *   return: the job runs                      GET /services/{id}/logs?
 *                                               follow=1 -> demux -> out/err
 *   worker polls out/err like the           every 100..500 ms
 *   other cells' pipes: output is             GET /tasks?filters=service:
 *   live                                      running: every 1 s GET
 *                                             /nodes/{node}: down -> LOST
 *                                               "node lost"
 *                                             complete/failed: follower
 *                                               ended, the rest (follow=0,
 *                                               its first n messages
 *                                               skipped) -> out/err;
 *   TERM/KILL: SIGUSR1 to the helper ----->     report EXITED
 *                                           SIGUSR1: follower ended, the
 *                                             rest, stop the task (below),
 *                                             wait (bounded) for it to
 *                                             end, DELETE the service
 *   sw_try_wait: reap, read the report <--- report, _exit(0)
 *   sw_collect/sw_release: DELETE
 *     /services/{id}, always
 *
 * Stopping: no API signals a service's task, and a swarm before Docker
 * 24 (swarmkit before PR 3112) leaves the tasks of a removed job service
 * running. So the helper updates the service first, with ForceUpdate 1
 * and a constraint no node meets: the orchestrator shuts down the task of
 * the old iteration (its node sends StopSignal TERM, then KILL after
 * StopGracePeriod, and removes the container) and its replacement stays
 * pending, never placed; then the service is removed. The same update
 * goes out when the task's node is lost, so a node that comes back stops
 * the task rather than finishing it.
 *
 * Files, stdin, cwd: no filesystem is shared with the nodes, and a
 * service has no stdin; they travel as swarm configs made before the
 * service (swarm_configs.c: jobcell-cell-unpack itself, its files stream,
 * stdin), mounted read-only, and the job starts through the unpacker
 * (cell_unpack.c, "--from"), which writes the files into the tmpfs /work,
 * enters cwd and opens stdin. The configs go right after the service (a
 * config in use cannot), or with the sweep.
 *
 * Output: a service's output can be read back only through its log
 * driver, as the manager relays it from the task's node. A follow=1
 * stream never ends by itself (the manager waits for more tasks), and the
 * last lines can reach it after the task is reported complete; so the
 * follower (swarm_logs.c), a child of the helper, counts the messages it
 * hands on in a shared page (SIGTERM blocked while it writes one and
 * counts it), the helper ends it with SIGTERM once the task has ended and
 * reads the logs once more without follow, skipping that many
 * (swarm_int.h, "struct swarm_logs"): no line lost or doubled. The order
 * of stdout and stderr lines is the node's log file's. The task status
 * has no OOMKilled: a task that died of SIGKILL (137) under a memory
 * limit that we did not kill counts as OOM-killed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell_int.h"
#include "cleanup.h"
#include "docker_int.h"
#include "io.h"
#include "jc_limits.h"
#include "json_reader.h"
#include "log.h"
#include "parse.h"
#include "swarm_int.h"
#include "timefmt.h"
#include "banned.h"

enum swarm_report_kind {
	SWARM_REPORT_EXITED = 1,
	SWARM_REPORT_LOST = 2,	/* msg: the whole sentence */
	SWARM_REPORT_SETUP = 3, /* msg: why it never ran */
};

/* struct cell's priv. */
struct swarm_cell {
	pid_t pid; /* the helper; -1 once reaped */
	int stdout_fd, stderr_fd, report_fd;
	char id[SWARM_ID_MAX + 1]; /* the service */
	char job_id[JOB_ID_MAX + 1];
	bool removed, stopped, memory_limited;
	struct docker api;
	/* The job's configs (files, stdin, the unpacker), made before the
	 * service, removed after it. */
	struct swarm_configs cfg;
};

static int
swarm_api_open(struct docker *api, char *msg, size_t size)
{
	struct docker_tls tls = { cell_host.swarm_tls_ca,
		cell_host.swarm_tls_cert, cell_host.swarm_tls_key };
	int r;

	if ((r = docker_init_endpoint(api, cell_host.swarm_endpoint, &tls)) <
	    0) {
		docker_setmsg(msg, size,
		    "the swarm endpoint '%s' is not a "
		    "unix socket nor tcp://host:port",
		    cell_host.swarm_endpoint);
		return r;
	}
	api->max_minor = SWARM_API_MINOR;
	if ((r = docker_negotiate(api, NEGOTIATE_TIMEOUT_MS)) < 0) {
		docker_setmsg(msg, size,
		    "the swarm manager does not answer: %s",
		    r == -EPROTONOSUPPORT ? api->err :
					    docker_daemon_failure(r));
		docker_release(api);
		return r;
	}
	if (api->api_minor < SWARM_API_MIN_MINOR) {
		docker_setmsg(msg, size,
		    "the swarm manager speaks API 1.%d; "
		    "swarm jobs need 1.%d (Docker 20.10) or newer",
		    api->api_minor, SWARM_API_MIN_MINOR);
		docker_release(api);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static int
remove_service(struct docker *api, const char *name)
{
	char path[160];
	int r;

	(void) snprintf(path, sizeof(path), "/services/%s", name);
	r = docker_call(api, "DELETE", path, NULL, REMOVE_TIMEOUT_MS, NULL);
	if (r < 0)
		return r;
	return r == 200 || r == 204 || r == 404 ? 0 : -EIO;
}

static int
fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* ---- the helper ---- */

static volatile sig_atomic_t helper_stop;

static void
on_stop(int sig)
{
	(void) sig;
	helper_stop = 1;
}

static int
get_task(struct docker *api, const char *id, const char *want,
    struct swarm_task *ret)
{
	_cleanup_strbuf_ struct strbuf path, reply;
	char filt[128];
	int r;

	strbuf_init(&path, 512);
	strbuf_init(&reply, DOCKER_REPLY_MAX);
	(void) snprintf(filt, sizeof(filt), "{\"service\":[\"%s\"]}", id);
	if ((r = strbuf_addstr(&path, "/tasks?filters=")) < 0 ||
	    (r = docker_query_escape(&path, filt)) < 0)
		return r;
	if ((r = docker_call(api, "GET", path.buf, NULL, SWARM_STEP_MS,
		 &reply)) < 0)
		return r;
	if (r != 200)
		return -EIO;
	return swarm_task_parse(reply.buf, reply.len, want, ret);
}

/* 1 if the node is down, 0 if not, -errno if it could not be asked. */
static int
node_down(struct docker *api, const char *node)
{
	_cleanup_strbuf_ struct strbuf reply;
	char path[128];
	int r;

	strbuf_init(&reply, DOCKER_REPLY_MAX);
	(void) snprintf(path, sizeof(path), "/nodes/%s", node);
	if ((r = docker_call(api, "GET", path, NULL, SWARM_STEP_MS, &reply)) <
	    0)
		return r;
	if (r == 404)
		return 1; /* removed from the swarm */
	if (r != 200)
		return -EIO;
	return swarm_node_down(reply.buf, reply.len);
}

static void report(int fd, int kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(int fd, int kind, int code, const char *fmt, ...)
{
	struct docker_report rep = { .kind = kind, .exit_code = code };
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(rep.msg, sizeof(rep.msg), fmt, ap);
	va_end(ap);
	(void) write_full(fd, &rep, sizeof(rep));
}

/* The update that stops the job's task (see "Stopping" at the top). */
static int
update_to_stop(struct docker *api, const char *id, const struct strbuf *body)
{
	_cleanup_strbuf_ struct strbuf reply;
	char path[192];
	int64_t version;
	int r;

	strbuf_init(&reply, DOCKER_REPLY_MAX);
	(void) snprintf(path, sizeof(path), "/services/%s", id);
	if ((r = docker_call(api, "GET", path, NULL, SWARM_STEP_MS, &reply)) <
	    0)
		return r;
	if (r != 200)
		return r == 404 ? -ENOENT : -EIO;
	if ((r = swarm_service_version(reply.buf, reply.len, &version)) < 0)
		return r;
	(void) snprintf(path, sizeof(path), "/services/%s/update?version=%lld",
	    id, (long long) version);
	if ((r = docker_call(api, "POST", path, body, SWARM_STEP_MS, NULL)) < 0)
		return r;
	return r == 200 ? 0 : -EIO;
}

/* Stop: the output so far, then the update that makes the node stop the
 * task (TERM, KILL after StopGracePeriod); bounded wait until that task
 * has ended or is gone; then the service goes. */
static void
helper_stop_job(struct docker *api, const char *id, const char *task_id,
    const struct strbuf *stop_body, struct swarm_follower *f, int out_w,
    int err_w, int rep_w)
{
	int64_t until = time_mono_ms() + JC_KILL_GRACE_MS +
	    SWARM_REMOVE_WAIT_MS;
	struct swarm_task t;
	int r;

	(void) swarm_follower_drain(api, id, f, out_w, err_w, SWARM_STEP_MS);
	if ((r = update_to_stop(api, id, stop_body)) < 0)
		(void) fprintf(stderr,
		    "job service %s: cannot stop its task: "
		    "%s\n",
		    id, strerror(-r));
	while (r == 0 && task_id[0] && time_mono_ms() < until &&
	    get_task(api, id, task_id, &t) == 0 &&
	    (t.state == SWARM_TASK_RUNNING || t.state == SWARM_TASK_PENDING))
		(void) poll(NULL, 0, SWARM_POLL_MAX_MS);
	(void) remove_service(api, id);
	report(rep_w, SWARM_REPORT_EXITED, 128 + SIGTERM, "stopped");
}

/* The helper's end: the follower stopped (what it handed on stays; the
 * task did not end, so there is no rest to read), one report. */
__attribute__((noreturn)) static void helper_end(struct swarm_follower *f,
    int rep_w, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
helper_end(struct swarm_follower *f, int rep_w, int kind, const char *fmt, ...)
{
	struct docker_report rep = { .kind = kind };
	char ts[SWARM_TS_MAX + 1];
	uint64_t n;
	va_list ap;

	swarm_follower_stop(f, &n, ts, sizeof(ts));
	va_start(ap, fmt);
	(void) vsnprintf(rep.msg, sizeof(rep.msg), fmt, ap);
	va_end(ap);
	(void) write_full(rep_w, &rep, sizeof(rep));
	_exit(0);
}

/* The helper's loop (see the top of the file); never returns. Gives up
 * on a manager that does not answer for SWARM_REMOVE_WAIT_MS. */
__attribute__((noreturn)) static void
helper_main(struct docker *api, const char *id, const struct strbuf *stop_body,
    pid_t parent, int out_w, int err_w, int rep_w, int64_t max_run_ms)
{
	char task_id[SWARM_ID_MAX + 1] = "";
	struct sigaction sa = { .sa_handler = on_stop };
	int64_t start = time_mono_ms(), next_node = start, silent_since = 0;
	int wait_ms = SWARM_POLL_MS;
	struct swarm_follower f;
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	docker_forget_handle(api); /* the parent's; ours comes on use */
	sigemptyset(&sa.sa_mask);
	sigemptyset(&none);
	(void) sigaction(SIGUSR1, &sa, NULL);
	(void) sigprocmask(SIG_SETMASK, &none, NULL);
	/* Live output: a child follows the logs while the task runs. */
	swarm_follower_start(&f, api, id, out_w, err_w, max_run_ms);
	for (;;) {
		int64_t now = time_mono_ms();
		struct swarm_task t;
		int r;

		if (helper_stop) {
			helper_stop_job(api, id, task_id, stop_body, &f, out_w,
			    err_w, rep_w);
			_exit(0);
		}
		if (now - start > max_run_ms + WAIT_MARGIN_MS) {
			helper_end(&f, rep_w, SWARM_REPORT_LOST,
			    "the swarm job ran "
			    "past its time and its task did not stop");
		}
		if ((r = get_task(api, id, task_id, &t)) < 0) {
			if (!silent_since)
				silent_since = now;
			if (now - silent_since > SWARM_REMOVE_WAIT_MS) {
				helper_end(&f, rep_w, SWARM_REPORT_LOST,
				    "the swarm "
				    "manager stopped answering: %s",
				    docker_daemon_failure(r));
			}
		} else
			silent_since = 0;
		if (r == 0 && !task_id[0] && t.id[0]) /* follow this one */
			(void) str_copy(task_id, sizeof(task_id), t.id);
		if (r == 0 && t.state == SWARM_TASK_EXITED) {
			r = swarm_follower_drain(api, id, &f, out_w, err_w,
			    SWARM_LOGS_MS);
			if (r < 0)
				(void) fprintf(stderr,
				    "job service %s: cannot "
				    "read its output: %s\n",
				    id, strerror(-r));
			report(rep_w, SWARM_REPORT_EXITED, t.exit_code,
			    "exited");
			_exit(0);
		}
		if (r == 0 && t.state == SWARM_TASK_REJECTED) {
			helper_end(&f, rep_w, SWARM_REPORT_SETUP,
			    "the swarm could not "
			    "start the job: %s",
			    t.err[0] ? t.err : "rejected");
		}
		if (r == 0 && t.state == SWARM_TASK_LOST) {
			helper_end(&f, rep_w, SWARM_REPORT_LOST,
			    "node lost: the "
			    "swarm ended the job's task (%s)",
			    t.err[0] ? t.err : "no reason");
		}
		if (r == 0 && t.node_id[0] && now >= next_node) {
			next_node = now + SWARM_NODE_CHECK_MS;
			if (node_down(api, t.node_id) == 1) {
				/* Should the node come back, its task is
				 * told to stop, never to finish late. */
				(void) update_to_stop(api, id, stop_body);
				helper_end(&f, rep_w, SWARM_REPORT_LOST,
				    "node lost: "
				    "the swarm node %s running the job went down",
				    t.node_id);
			}
		}
		(void) poll(NULL, 0, wait_ms); /* SIGUSR1 cuts it short */
		if (wait_ms < SWARM_POLL_MAX_MS)
			wait_ms += SWARM_POLL_MS;
	}
}

/* ---- the worker's side ---- */

static int
create_service(const struct cell_spec *spec, struct swarm_cell *c,
    struct strbuf *stop_body, char *msg, size_t size)
{
	_cleanup_strbuf_ struct strbuf body, reply;
	struct swarm_create o = {
		.image = spec->image ? spec->image : cell_host.docker_image,
		.worker_id = (long) getpid(),
		.api_minor = c->api.api_minor,
		.seccomp_profile = docker_seccomp(), /* as docker cells' */
		.stop_grace_ms = JC_KILL_GRACE_MS,
		.constraints = spec->constraints,
		.nconstraints = spec->nconstraints,
	};
	struct swarm_config_ref refs[SWARM_CONFIGS_MAX];
	struct jr_doc *doc = NULL;
	int r, tok;

	strbuf_init(&body, CREATE_BODY_MAX);
	strbuf_init(&reply, 64 * 1024);
	if (!o.image) {
		docker_setmsg(msg, size,
		    "the job names no image and the server "
		    "has no default image");
		return -EINVAL;
	}
	if ((r = swarm_configs_create(&c->cfg, &c->api, c->job_id, spec, refs,
		 &o.stdin_in, msg, size)) < 0)
		return r;
	o.configs = refs;
	o.nconfigs = (size_t) r;
	if ((r = swarm_service_body(spec, &o, &body)) < 0 ||
	    (o.stopping = true, r = swarm_service_body(spec, &o, stop_body)) <
		0) {
		docker_setmsg(msg, size,
		    "cannot build the service's settings: "
		    "%s",
		    r == -EINVAL ? "network and inputs are not "
				   "carried by swarm cells" :
				   strerror(-r));
		return r;
	}
	r = docker_call(&c->api, "POST", "/services/create", &body,
	    STEP_TIMEOUT_MS, &reply);
	if (r < 0) {
		docker_setmsg(msg, size, "cannot create the job's service: %s",
		    docker_daemon_failure(r));
		return r;
	}
	if (r != 201 && r != 200) {
		docker_setmsg(msg, size,
		    "the swarm refused the job's service "
		    "(HTTP %d): %s",
		    r, c->api.err[0] ? c->api.err : "no reason");
		return r == 409 ? -EEXIST : -EIO;
	}
	r = -EPROTO;
	if (jr_parse(reply.buf, reply.len, 256, &doc) == 0 &&
	    jr_type(doc, jr_root(doc)) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, jr_root(doc), "ID")) >= 0 &&
	    jr_str(doc, tok, c->id, sizeof(c->id), NULL) >= 0 &&
	    swarm_id_ok(c->id))
		r = 0;
	doc = jr_free(doc);
	if (r < 0) {
		c->id[0] = '\0';
		docker_setmsg(msg, size,
		    "the swarm's answer held no service id");
	}
	return r;
}

static void
sw_free(struct swarm_cell *c)
{
	if (c->id[0] && !c->removed) {
		int r = remove_service(&c->api, c->id);

		if (r < 0)
			log_warn("job=%s: cannot remove its swarm service %s: "
				 "%s; the supervisor's sweep will",
			    c->job_id, c->id, docker_daemon_failure(r));
		else
			c->removed = true;
	}
	if (c->pid > 0) {
		(void) kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
	}
	/* After the service (a config in use cannot go); else the sweep. */
	while (c->cfg.n > 0 && (!c->id[0] || c->removed)) {
		int r = swarm_config_remove(&c->api, c->cfg.id[c->cfg.n - 1]);

		if (r < 0) {
			log_warn("job=%s: cannot remove its swarm config %s: "
				 "%s; the supervisor's sweep will",
			    c->job_id, c->cfg.name[c->cfg.n - 1],
			    docker_daemon_failure(r));
			break;
		}
		c->cfg.n--;
	}
	close_fd(&c->stdout_fd);
	close_fd(&c->stderr_fd);
	close_fd(&c->report_fd);
	docker_release(&c->api);
}

static int
sw_start(const struct cell_spec *spec, struct cell *ret, char *msg, size_t size)
{
	struct swarm_cell *c = calloc(1, sizeof(*c));
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int64_t max_run_ms = spec->max_run_ms > 0 ? spec->max_run_ms :
						    MAX_RUN_DEFAULT_MS;
	pid_t parent = getpid();
	_cleanup_strbuf_ struct strbuf stop_body;
	char detail[300];
	int r;

	strbuf_init(&stop_body, CREATE_BODY_MAX);
	if (!c) {
		(void) snprintf(msg, size, "the cell could not be built: %s",
		    strerror(ENOMEM));
		return -ENOMEM;
	}
	*c = (struct swarm_cell){ .pid = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
		.report_fd = -1,
		.memory_limited = spec->memory_mb > 0 };
	(void) str_copy(c->job_id, sizeof(c->job_id),
	    spec->job_id ? spec->job_id : "");
	if (!cell_host.swarm_endpoint) {
		docker_setmsg(detail, sizeof(detail),
		    "this worker runs no swarm "
		    "sandbox");
		r = -ENOTSUP;
		goto fail_noapi;
	}
	if ((r = swarm_api_open(&c->api, detail, sizeof(detail))) < 0)
		goto fail_noapi;
	if (spec->keepalive)
		spec->keepalive(spec->keepalive_arg);
	if ((r = create_service(spec, c, &stop_body, detail, sizeof(detail))) <
	    0)
		goto fail;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0 || fd_nonblock(out[0]) < 0 ||
	    fd_nonblock(err[0]) < 0 || fd_nonblock(rep[0]) < 0) {
		r = -errno;
		docker_setmsg(detail, sizeof(detail), "cannot make pipes: %s",
		    strerror(-r));
		goto fail;
	}
	if ((c->pid = fork()) < 0) {
		r = -errno;
		docker_setmsg(detail, sizeof(detail),
		    "cannot fork the helper: %s", strerror(-r));
		goto fail;
	}
	if (c->pid == 0) {
		(void) close(out[0]);
		(void) close(err[0]);
		(void) close(rep[0]);
		helper_main(&c->api, c->id, &stop_body, parent, out[1], err[1],
		    rep[1], max_run_ms);
	}
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&rep[1]);
	c->stdout_fd = out[0];
	c->stderr_fd = err[0];
	c->report_fd = rep[0];
	*ret = (struct cell){ .ops = &cell_swarm_ops,
		.stdout_fd = out[0],
		.stderr_fd = err[0],
		.exit_fd = -1,
		.priv = c };
	log_debug("job=%s: swarm service %s", c->job_id, c->id);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&out[i]);
		close_fd(&err[i]);
		close_fd(&rep[i]);
	}
	c->pid = -1;
	sw_free(c);
fail_noapi:
	(void) snprintf(msg, size, "the cell could not be built: %s", detail);
	free(c);
	return r;
}

static int
sw_signal(struct cell *cell, int sig)
{
	struct swarm_cell *c = cell->priv;

	if (c->pid <= 0)
		return -ESRCH;
	/* No API signals a service's task: its removal stops it, TERM then
	 * KILL after StopGracePeriod, on its node (the helper does it). */
	(void) sig;
	c->stopped = true;
	return kill(c->pid, SIGUSR1) < 0 ? -errno : 0;
}

static int
sw_try_wait(struct cell *cell, struct cell_result *ret)
{
	struct swarm_cell *c = cell->priv;
	struct cell_result res = { 0 };
	struct docker_report rep;
	int r;

	if ((r = docker_helper_reap(&c->pid, c->report_fd, &rep)) <= 0)
		return r;
	switch (rep.kind) {
	case SWARM_REPORT_EXITED:
		res.outcome = CELL_EXITED;
		res.exit_code = rep.exit_code;
		break;
	case SWARM_REPORT_LOST:
		res.outcome = CELL_LOST;
		(void) snprintf(res.error, sizeof(res.error), "%s", rep.msg);
		break;
	case SWARM_REPORT_SETUP:
		res.outcome = CELL_SETUP_FAILED;
		(void) snprintf(res.error, sizeof(res.error), "%s", rep.msg);
		break;
	default:
		return -EPROTO;
	}
	*ret = res;
	return 1;
}

static void
sw_collect(struct cell *cell, struct cell_result *res, struct cell_usage *ret)
{
	struct swarm_cell *c = cell->priv;

	sw_free(c);
	cell->stdout_fd = cell->stderr_fd = -1;
	/* No cgroup of ours on the node: no usage numbers. The task status
	 * has no OOMKilled; a SIGKILL under a memory limit that we did not
	 * send is the OOM killer's. */
	*ret = (struct cell_usage){ 0 };
	if (res->outcome == CELL_EXITED && res->exit_code == 128 + SIGKILL &&
	    c->memory_limited && !c->stopped) {
		ret->oom_killed = true;
		*res = (struct cell_result){ .outcome = CELL_SIGNALED,
			.signal = SIGKILL };
	}
}

static void
sw_release(struct cell *cell)
{
	struct swarm_cell *c = cell->priv;

	if (!c)
		return;
	sw_free(c);
	cell->stdout_fd = cell->stderr_fd = -1;
	free(c);
	cell->priv = NULL;
}

/* ---- housekeeping, for the supervisor ---- */

static int swarm_nodes_seen;

int
cell_swarm_nodes(void)
{
	return swarm_nodes_seen;
}

/* 0 if the manager answers and is an active manager of a swarm (its node
 * count kept for cell_swarm_nodes), -errno if not. */
static int
sw_available(void)
{
	_cleanup_strbuf_ struct strbuf reply;
	struct jr_doc *doc = NULL;
	struct docker api;
	char msg[256], state[32] = "";
	int64_t nodes = 0;
	bool control = false;
	int r, sw, tok;

	strbuf_init(&reply, DOCKER_REPLY_MAX); /* before any return */
	if (!cell_host.swarm_endpoint)
		return -ENOTSUP;
	if ((r = swarm_api_open(&api, msg, sizeof(msg))) < 0)
		return r;
	r = docker_call(&api, "GET", "/info", NULL, DOCKER_PING_MS, &reply);
	docker_release(&api);
	if (r < 0)
		return r;
	if (r != 200 ||
	    jr_parse(reply.buf, reply.len, JC_MAX_JSON_TOKENS, &doc) < 0)
		return -EIO;
	if (jr_type(doc, jr_root(doc)) == JR_OBJECT &&
	    (sw = jr_obj_get(doc, jr_root(doc), "Swarm")) >= 0) {
		if ((tok = jr_obj_get(doc, sw, "LocalNodeState")) >= 0)
			(void) jr_str(doc, tok, state, sizeof(state), NULL);
		if ((tok = jr_obj_get(doc, sw, "ControlAvailable")) >= 0)
			(void) jr_bool(doc, tok, &control);
		if ((tok = jr_obj_get(doc, sw, "Nodes")) >= 0 &&
		    jr_i64(doc, tok, &nodes) < 0)
			nodes = 0;
	}
	doc = jr_free(doc);
	if (strcmp(state, "active") != 0 || !control)
		return -ENOTCONN; /* not a manager of an active swarm */
	swarm_nodes_seen = (int) nodes;
	return 0;
}

/* The labels of one listed service; false if they are not ours. */
static bool
sweep_labels(const struct jr_doc *doc, int obj, char *id, size_t id_size,
    char *job, size_t job_size, long *ret_worker)
{
	char worker[24];
	int64_t pid;
	int tok, spec, labels;

	if (jr_type(doc, obj) != JR_OBJECT ||
	    (tok = jr_obj_get(doc, obj, "ID")) < 0 ||
	    jr_str(doc, tok, id, id_size, NULL) < 0 || !swarm_id_ok(id) ||
	    (spec = jr_obj_get(doc, obj, "Spec")) < 0 ||
	    (labels = jr_obj_get(doc, spec, "Labels")) < 0 ||
	    jr_type(doc, labels) != JR_OBJECT)
		return false;
	job[0] = '\0';
	if ((tok = jr_obj_get(doc, labels, "jobcell.job")) >= 0 &&
	    (jr_str(doc, tok, job, job_size, NULL) < 0 ||
		!docker_job_id_ok(job)))
		job[0] = '\0';
	*ret_worker = 0;
	if ((tok = jr_obj_get(doc, labels, "jobcell.worker")) >= 0 &&
	    jr_str(doc, tok, worker, sizeof(worker), NULL) >= 0 &&
	    parse_i64(worker, 1, INT32_MAX, &pid) == 0)
		*ret_worker = (long) pid;
	return true;
}

/* Removes each service (or config: kind "services", "configs") labelled
 * jobcell.job for which keep(job, worker) is false. A count, or -errno. */
static int
sweep_kind(struct docker *api, const char *kind,
    bool (*keep)(const char *job_id, long worker_pid, void *arg), void *arg)
{
	_cleanup_strbuf_ struct strbuf path, reply;
	struct jr_doc *doc = NULL;
	int r, n, removed = 0;

	strbuf_init(&path, 512);
	strbuf_init(&reply, 4u * DOCKER_REPLY_MAX);
	if ((r = strbuf_addf(&path, "/%s?filters=", kind)) < 0 ||
	    (r = docker_query_escape(&path, "{\"label\":[\"jobcell.job\"]}")) <
		0)
		return r;
	if ((r = docker_call(api, "GET", path.buf, NULL, DOCKER_SWEEP_MS,
		 &reply)) < 0 ||
	    r != 200)
		return r < 0 ? r : -EIO;
	if (jr_parse(reply.buf, reply.len, 16 * JC_MAX_JSON_TOKENS, &doc) < 0 ||
	    jr_type(doc, jr_root(doc)) != JR_ARRAY) {
		doc = jr_free(doc);
		return -EPROTO;
	}
	n = jr_len(doc, jr_root(doc));
	for (int i = 0; i < n && i < SWARM_SWEEP_MAX; i++) {
		char id[SWARM_ID_MAX + 1], job[JOB_ID_MAX + 1];
		long worker;

		if (!sweep_labels(doc, jr_child(doc, jr_root(doc), i), id,
			sizeof(id), job, sizeof(job), &worker))
			continue;
		if (job[0] && worker > 0 && keep(job, worker, arg))
			continue;
		r = kind[0] == 's' ? remove_service(api, id) :
				     swarm_config_remove(api, id);
		if (r < 0) {
			log_warn("swarm %.*s %s of job %s: cannot remove it: "
				 "%s, retrying later",
			    (int) strlen(kind) - 1, kind, id,
			    job[0] ? job : "?", docker_daemon_failure(r));
			continue;
		}
		log_info("swarm %.*s %s of job %s (worker %ld): removed",
		    (int) strlen(kind) - 1, kind, id, job[0] ? job : "?",
		    worker);
		removed++;
	}
	doc = jr_free(doc);
	return removed;
}

/* Removes each service, then each config, labelled jobcell.job for which
 * keep(job, worker) is false: those of jobs whose worker died (a worker
 * restarted, a supervisor killed). A count, or -errno. */
static int
sw_sweep(bool (*keep)(const char *job_id, long worker_pid, void *arg),
    void *arg)
{
	struct docker api;
	char msg[256];
	int r, n;

	if (!cell_host.swarm_endpoint)
		return 0;
	if ((r = swarm_api_open(&api, msg, sizeof(msg))) < 0)
		return r;
	if ((n = sweep_kind(&api, "services", keep, arg)) >= 0 &&
	    (r = sweep_kind(&api, "configs", keep, arg)) >= 0)
		n += r;
	docker_release(&api);
	return n;
}

/* A job of a previous run: its service goes. */
static void
sw_reap(const char *job_id)
{
	struct docker api;
	char msg[256], name[96];

	if (!cell_host.swarm_endpoint || !docker_job_id_ok(job_id) ||
	    swarm_api_open(&api, msg, sizeof(msg)) < 0)
		return;
	(void) snprintf(name, sizeof(name), "jobcell-%s", job_id);
	if (remove_service(&api, name) < 0)
		log_warn("job=%s: cannot remove its swarm service, the sweep "
			 "will",
		    job_id);
	for (size_t i = 0; i < SWARM_CONFIGS_MAX; i++) {
		swarm_config_name(name, sizeof(name), job_id, i);
		if (swarm_config_remove(&api, name) < 0)
			log_warn("job=%s: cannot remove its swarm config %s, "
				 "the sweep will",
			    job_id, name);
	}
	docker_release(&api);
}

const struct cell_ops cell_swarm_ops = {
	.name = "swarm",
	.flags = CELL_OPS_IMAGE | CELL_OPS_REMOTE,
	.start = sw_start,
	.signal = sw_signal,
	.try_wait = sw_try_wait,
	.collect = sw_collect,
	.release = sw_release,
	.available = sw_available,
	.sweep = sw_sweep,
	.reap = sw_reap,
};
