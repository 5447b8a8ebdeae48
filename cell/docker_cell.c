/* docker_cell.c - the docker backend of the cell (docs/architecture.md,
 * "Cells"), the worker's side; the container's settings are built by
 * docker_spec.c, its output and exit carried by docker_helper.c, its
 * leftovers swept by docker_sweep.c.
 * each job runs in its own container, made and ended through the Docker
 * Engine API (docker_api.c). Runs in a jobcell-worker process and, after
 * fork(), as the cell's helper. Trusts nothing from the container; from
 * the daemon only its exit status and OOMKilled.
 *
 * How it works
 *
 *   worker (docker_cell_start)              helper (forked)
 *   --------------------------              ---------------
 *   GET /version (pick the API version)
 *   POST /containers/create: locked-down
 *     HostConfig, labels jobcell.job and
 *     jobcell.worker
 *   attach (hijacked socket: stdout,
 *     stderr, and stdin if any, or files)
 *   POST /containers/{id}/start
 *   pipes out, err, report; fork -------->  PDEATHSIG; stdin -> socket,
 *   return: the job runs                    then shut the write half (the
 *                                           job sees EOF); socket ->
 *   worker polls out/err like the           demux -> out / err pipes
 *   namespace cell's pipes                  socket EOF: close out, err
 *   TERM/KILL: POST .../kill?signal=        POST .../wait -> StatusCode
 *                                           GET .../json -> OOMKilled
 *   docker_cell_try_wait: reap, read <----  report {EXITED, code, oom}
 *     the report                            or {LOST, errno, message}
 *   docker_cell_release: DELETE             _exit(0)
 *     /containers/{id}?force=1, always
 *
 * Files: the root is read-only and /work a tmpfs that exists only once the
 * container runs, so Docker's archive API cannot reach it. A job with files
 * (or a cwd) starts as jobcell-cell-unpack (cell_unpack.c, static, bound
 * read-only at /.jobcell/unpack), which reads them from the head of stdin
 * (the helper sends them first, then the job's stdin), creates them as the
 * job's user, enters cwd and execs the job. The host never writes into the
 * cell.
 *
 * The helper exists because Docker's stream interleaves stdout and stderr
 * in one framed stream (docker_demux_feed): split into two pipes, the
 * worker reads them exactly like the namespace cell's, live. The helper
 * dies with the worker (PDEATHSIG); a container whose worker died is
 * removed by the supervisor's sweep. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "json_reader.h"
#include "json_writer.h"
#include "log.h"
#include "parse.h"
#include "cell_int.h"
#include "docker_int.h"
#include "seccomp.h"
#include "banned.h"


void
docker_setmsg(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!buf || size == 0)
		return;
	va_start(ap, fmt);
	(void) vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static bool
docker_unpacker_usable(const char *p)
{
	return p && p[0] == '/' && !strpbrk(p, ":,") && access(p, X_OK) == 0;
}

int
cell_unpacker_find(char *buf, size_t size)
{
	char self[JC_PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) && (size_t) snprintf(buf, size,
		    "%.*s/%s", (int) (slash - self), self, DOCKER_UNPACKER_NAME) <
		    size && docker_unpacker_usable(buf))
			return 0;
	}
	if ((size_t) snprintf(buf, size, "%s/%s", PKGLIBEXECDIR,
	    DOCKER_UNPACKER_NAME) < size && docker_unpacker_usable(buf))
		return 0;
	return -ENOENT;
}

/* The "Id" of a create reply. */
static int
reply_id(const struct strbuf *reply, char *id, size_t size)
{
	struct jr_doc *doc = NULL;
	int tok, r = -EPROTO;

	if (jr_parse(reply->buf, reply->len, 256, &doc) < 0)
		return -EPROTO;
	if (jr_type(doc, jr_root(doc)) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, jr_root(doc), "Id")) >= 0 &&
	    jr_str(doc, tok, id, size, NULL) >= 0 && docker_id_ok(id))
		r = 0;
	doc = jr_free(doc);
	return r;
}

/* Words for errno values a reader of a job's error can act on. */
const char *
docker_daemon_failure(int r)
{
	switch (-r) {
	case ENOENT: return "there is no docker socket";
	case ECONNREFUSED: return "the docker daemon does not answer";
	case ETIMEDOUT: return "the docker daemon did not answer in time";
	case ECONNRESET: return "the docker daemon closed the connection";
	default: return strerror(-r);
	}
}

int
docker_remove_container(struct docker *api, const char *id)
{
	char path[160];
	int r;

	(void) snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	r = docker_call(api, "DELETE", path, NULL, REMOVE_TIMEOUT_MS, NULL);
	if (r < 0)
		return r;
	return r == 204 || r == 404 ? 0 : -EIO;
}

/* The job's own network (network: true): a bridge of its own, so no
 * other job shares its segment; labelled like the container, so the
 * supervisor's sweep finds it if the worker dies. Outbound access is
 * the daemon's (its NAT); the host's loopback is not reachable. */
static int
network_create(struct docker_cell *c, const struct cell_spec *s,
    const struct docker_create *o, char *errmsg, size_t size)
{
	_cleanup_strbuf_ struct strbuf body, reply;
	char name[sizeof(c->network)], worker[32];
	struct jw w;
	int r;

	strbuf_init(&body, 4096);
	strbuf_init(&reply, 64 * 1024);
	(void) snprintf(name, sizeof(name), "jobcell-%s", s->job_id);
	(void) snprintf(worker, sizeof(worker), "%ld", o->worker_id);
	jw_init(&w, &body);
	jw_obj_open(&w);
	jw_kv_str(&w, "Name", name);
	jw_kv_str(&w, "Driver", "bridge");
	jw_kv_bool(&w, "CheckDuplicate", true);
	jw_kv_bool(&w, "Internal", false);
	jw_kv_bool(&w, "Attachable", false);
	jw_key(&w, "Labels");
	jw_obj_open(&w);
	jw_kv_str(&w, "jobcell.job", s->job_id);
	jw_kv_str(&w, "jobcell.worker", worker);
	jw_obj_close(&w);
	jw_key(&w, "Options");
	jw_obj_open(&w);
	jw_kv_str(&w, "com.docker.network.bridge.enable_icc", "false");
	jw_kv_str(&w, "com.docker.network.bridge.enable_ip_masquerade", "true");
	jw_obj_close(&w);
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return r;
	r = docker_call(&c->api, "POST", "/networks/create", &body,
	    STEP_TIMEOUT_MS, &reply);
	if (r < 0) {
		docker_setmsg(errmsg, size, "cannot create the job's network: %s",
		    docker_daemon_failure(r));
		return r;
	}
	if (r != 201) {
		docker_setmsg(errmsg, size, "docker refused to create the job's network "
		    "(HTTP %d): %s", r, c->api.err[0] ? c->api.err : "no reason");
		return r == 409 ? -EEXIST : -EIO;
	}
	(void) str_copy(c->network, sizeof(c->network), name);
	return 0;
}

/* DELETE /networks/{name}; 0 also if it is gone already. */
int
docker_network_remove(struct docker *api, const char *name)
{
	char path[160];
	int r;

	(void) snprintf(path, sizeof(path), "/networks/%s", name);
	r = docker_call(api, "DELETE", path, NULL, REMOVE_TIMEOUT_MS, NULL);
	if (r < 0)
		return r;
	return r == 204 || r == 200 || r == 404 ? 0 : -EIO;
}

/* Removes the container (if any), then the job's network (if any). */
static int
remove_cell(struct docker_cell *c)
{
	int r = 0, k;

	if (c->id[0] && !c->removed) {
		if ((r = docker_remove_container(&c->api, c->id)) < 0)
			log_warn("container %.12s: cannot remove it: %s; the "
			    "supervisor's sweep will", c->id, docker_daemon_failure(r));
		else
			c->removed = true;
	}
	/* A network with a container still on it cannot go: leave both to
	 * the sweep. */
	if (c->network[0] && (!c->id[0] || c->removed)) {
		if ((k = docker_network_remove(&c->api, c->network)) < 0)
			log_warn("network %s: cannot remove it: %s; the "
			    "supervisor's sweep will", c->network,
			    docker_daemon_failure(k));
		else
			c->network[0] = '\0';
		if (r == 0)
			r = k;
	}
	return r;
}

int
docker_cgroup_info(const char *socket_path, int timeout_ms, bool *cgroupfs,
    int *version)
{
	_cleanup_strbuf_ struct strbuf reply;
	struct jr_doc *doc = NULL;
	struct docker api;
	char driver[32], ver[8];
	int r, tok, root;

	strbuf_init(&reply, DOCKER_REPLY_MAX);
	*cgroupfs = false;
	*version = 0;
	if ((r = docker_init(&api, socket_path)) < 0)
		return r;
	if ((r = docker_negotiate(&api, timeout_ms)) < 0)
		goto out;
	if ((r = docker_call(&api, "GET", "/info", NULL, timeout_ms,
	    &reply)) < 0)
		goto out;
	if (r != 200) {
		r = -EIO;
		goto out;
	}
	if (jr_parse(reply.buf, reply.len, JC_MAX_JSON_TOKENS, &doc) < 0 ||
	    jr_type(doc, (root = jr_root(doc))) != JR_OBJECT) {
		r = -EPROTO;
		goto out;
	}
	if ((tok = jr_obj_get(doc, root, "CgroupDriver")) >= 0 &&
	    jr_str(doc, tok, driver, sizeof(driver), NULL) >= 0)
		*cgroupfs = strcmp(driver, "cgroupfs") == 0;
	if ((tok = jr_obj_get(doc, root, "CgroupVersion")) >= 0 &&
	    jr_str(doc, tok, ver, sizeof(ver), NULL) >= 0)
		*version = strcmp(ver, "2") == 0 ? 2 : strcmp(ver, "1") == 0 ?
		    1 : 0;
	r = 0;
out:
	doc = jr_free(doc);
	docker_release(&api);
	return r;
}

/* ---- the worker's side ---- */

static int
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Creates the container; fills c->id. */
static int
create(const struct cell_spec *spec, const struct docker_create *o,
    struct docker_cell *c, char *errmsg, size_t size)
{
	_cleanup_strbuf_ struct strbuf body, reply, path;
	struct docker_create oc = *o;
	int r;

	strbuf_init(&body, CREATE_BODY_MAX);
	strbuf_init(&reply, 64 * 1024);
	strbuf_init(&path, 256);
	oc.network = c->network[0] ? c->network : NULL;
	if ((r = docker_create_body(spec, &oc, &body)) < 0) {
		docker_setmsg(errmsg, size, "cannot build the container's settings: "
		    "%s", strerror(-r));
		return r;
	}
	if ((r = strbuf_addf(&path, "/containers/create?name=jobcell-%s",
	    spec->job_id)) < 0)
		return r;
	r = docker_call(&c->api, "POST", path.buf, &body, STEP_TIMEOUT_MS,
	    &reply);
	if (r < 0) {
		docker_setmsg(errmsg, size, "cannot create the container: %s",
		    docker_daemon_failure(r));
		return r;
	}
	if (r == 404) {
		docker_setmsg(errmsg, size, "the image '%s' is not present in the "
		    "docker daemon", o->image);
		return -ENOENT;
	}
	if (r != 201) {
		docker_setmsg(errmsg, size, "docker refused to create the container "
		    "(HTTP %d): %s", r, c->api.err[0] ? c->api.err : "no reason");
		return r == 409 ? -EEXIST : -EIO;
	}
	if ((r = reply_id(&reply, c->id, sizeof(c->id))) < 0) {
		docker_setmsg(errmsg, size, "docker's answer to create held no "
		    "container id");
		c->id[0] = '\0';
		return r;
	}
	return 0;
}

static int
start(struct docker_cell *c, char *errmsg, size_t size)
{
	char path[160];
	int r;

	(void) snprintf(path, sizeof(path), "/containers/%s/start", c->id);
	r = docker_call(&c->api, "POST", path, NULL, STEP_TIMEOUT_MS, NULL);
	if (r == 204 || r == 304)
		return 0;
	if (r < 0)
		docker_setmsg(errmsg, size, "cannot start the container: %s",
		    docker_daemon_failure(r));
	else
		docker_setmsg(errmsg, size, "docker could not start the container "
		    "(HTTP %d): %s", r, c->api.err[0] ? c->api.err : "no reason");
	return r < 0 ? r : -EIO;
}

static void
keepalive(const struct cell_spec *spec)
{
	if (spec->keepalive)
		spec->keepalive(spec->keepalive_arg);
}

/* Checks the job against what this worker can run, builds the files
 * stream into prefix, and opens the API (version negotiated) in c->api.
 * 0, or -errno with errmsg set and nothing open. */
static int
open_api(const struct cell_spec *spec, const struct docker_create *o,
    struct docker_cell *c, struct strbuf *prefix, char *errmsg,
    size_t errmsg_size)
{
	int r;

	if (docker_needs_unpacker(spec) && !docker_unpacker_usable(o->unpacker)) {
		docker_setmsg(errmsg, errmsg_size, "the job has files but this worker "
		    "has no usable %s", DOCKER_UNPACKER_NAME);
		return -ENOENT;
	}
	if (docker_needs_unpacker(spec) && (r = docker_files_stream(spec, prefix)) < 0) {
		docker_setmsg(errmsg, errmsg_size, "the job's files do not fit the "
		    "stream to the cell");
		return r;
	}
	if (!o->image || !o->image[0] ||
	    strlen(o->image) > DOCKER_IMAGE_MAX || !spec->argv ||
	    !spec->argv[0] || !spec->job_id || !docker_job_id_ok(spec->job_id) ||
	    spec->host_uid == 0 || spec->host_gid == 0) {
		docker_setmsg(errmsg, errmsg_size, "invalid docker cell settings");
		return -EINVAL;
	}
	if ((r = docker_init(&c->api, o->socket_path)) < 0) {
		docker_setmsg(errmsg, errmsg_size, "the docker socket path is too long");
		return r;
	}
	if ((r = docker_negotiate(&c->api, NEGOTIATE_TIMEOUT_MS)) < 0) {
		if (r == -EPROTONOSUPPORT)
			docker_setmsg(errmsg, errmsg_size, "%s", c->api.err);
		else
			docker_setmsg(errmsg, errmsg_size, "%s at '%s'",
			    docker_daemon_failure(r), c->api.socket_path);
		docker_release(&c->api);
		return r;
	}
	return 0;
}

int
docker_cell_start(const struct cell_spec *spec,
    const struct docker_create *o, struct docker_cell *ret, char *errmsg,
    size_t errmsg_size)
{
	struct docker_cell c = { .pid = -1, .stdout_fd = -1, .stderr_fd = -1,
		.report_fd = -1 };
	_cleanup_strbuf_ struct strbuf early, prefix;
	_cleanup_close_ int sock = -1;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int64_t max_run_ms = spec->max_run_ms > 0 ? spec->max_run_ms :
	    MAX_RUN_DEFAULT_MS;
	pid_t parent = getpid();
	int r;

	strbuf_init(&early, 64 * 1024);
	strbuf_init(&prefix, FILES_STREAM_MAX);
	if ((r = open_api(spec, o, &c, &prefix, errmsg, errmsg_size)) < 0)
		return r;
	keepalive(spec);
	if (spec->network && (r = network_create(&c, spec, o, errmsg,
	    errmsg_size)) < 0)
		goto fail;
	if ((r = create(spec, o, &c, errmsg, errmsg_size)) < 0)
		goto fail;
	keepalive(spec);
	if ((r = docker_attach(&c.api, c.id, spec->stdin_fd >= 0 ||
	    docker_needs_unpacker(spec),
	    ATTACH_TIMEOUT_MS, &sock, &early)) < 0) {
		docker_setmsg(errmsg, errmsg_size, "cannot attach to the container: %s",
		    c.api.err[0] ? c.api.err : docker_daemon_failure(r));
		goto fail;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		r = -errno;
		docker_setmsg(errmsg, errmsg_size, "cannot make pipes: %s", strerror(-r));
		goto fail;
	}
	if ((r = nonblock(out[0])) < 0 || (r = nonblock(err[0])) < 0 ||
	    (r = nonblock(rep[0])) < 0) {
		docker_setmsg(errmsg, errmsg_size, "cannot set up pipes: %s",
		    strerror(-r));
		goto fail;
	}
	keepalive(spec);
	if ((r = start(&c, errmsg, errmsg_size)) < 0)
		goto fail;
	if ((c.pid = fork()) < 0) {
		r = -errno;
		docker_setmsg(errmsg, errmsg_size, "cannot fork the helper: %s",
		    strerror(-r));
		goto fail;
	}
	if (c.pid == 0) {
		(void) close(out[0]);
		(void) close(err[0]);
		(void) close(rep[0]);
		docker_helper_main(&c.api, c.id, parent, sock, &prefix, spec->stdin_fd,
		    &early, out[1], err[1], rep[1], max_run_ms);
	}
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&rep[1]);
	c.stdout_fd = out[0];
	c.stderr_fd = err[0];
	c.report_fd = rep[0];
	*ret = c;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&out[i]);
		close_fd(&err[i]);
		close_fd(&rep[i]);
	}
	(void) remove_cell(&c);
	docker_release(&c.api);
	return r;
}

int
docker_cell_signal(struct docker_cell *c, int sig)
{
	char path[192];
	const char *name;
	char num[16];
	int r;

	if (!c->id[0] || c->removed)
		return -ESRCH;
	switch (sig) {
	case SIGTERM: name = "TERM"; break;
	case SIGKILL: name = "KILL"; break;
	case SIGINT: name = "INT"; break;
	default:
		(void) snprintf(num, sizeof(num), "%d", sig);
		name = num;
	}
	(void) snprintf(path, sizeof(path), "/containers/%s/kill?signal=%s",
	    c->id, name);
	r = docker_call(&c->api, "POST", path, NULL, SIGNAL_TIMEOUT_MS, NULL);
	if (r < 0)
		return r;
	if (r == 204)
		return 0;
	return r == 404 || r == 409 ? -ESRCH : -EIO;
}

int
docker_helper_reap(pid_t *pid, int report_fd, struct docker_report *ret_rep)
{
	struct docker_report rep;
	ssize_t n;
	pid_t w;

	if (*pid <= 0)
		return -ECHILD;
	if ((w = waitpid(*pid, NULL, WNOHANG)) < 0)
		return -errno;
	if (w == 0)
		return 0;
	*pid = -1;
	n = read_full(report_fd, &rep, sizeof(rep));
	if (n != (ssize_t) sizeof(rep))
		return -EIO; /* the helper died without a word */
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	*ret_rep = rep;
	return 1;
}

int
docker_cell_try_wait(struct docker_cell *c, struct cell_result *ret)
{
	struct docker_report rep;
	struct cell_result res = { 0 };
	int r;

	if ((r = docker_helper_reap(&c->pid, c->report_fd, &rep)) <= 0)
		return r;
	switch (rep.kind) {
	case DOCKER_REPORT_EXITED:
		res.outcome = CELL_EXITED;
		res.exit_code = rep.exit_code;
		c->oom_killed = rep.oom_killed != 0;
		break;
	case DOCKER_REPORT_LOST:
		res.outcome = CELL_LOST;
		(void) snprintf(res.error, sizeof(res.error), "the docker cell "
		    "was lost: %s", rep.msg);
		break;
	default:
		return -EPROTO;
	}
	*ret = res;
	return 1;
}

void
docker_cell_release(struct docker_cell *c)
{
	(void) remove_cell(c);
	if (c->pid > 0) {
		(void) kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
	}
	close_fd(&c->stdout_fd);
	close_fd(&c->stderr_fd);
	close_fd(&c->report_fd);
	docker_release(&c->api);
}

/* ---- the ops table ---- */

/* Whether a docker cell can sit under the job's own cgroup (which holds
 * its limits and gives its usage, as for namespace cells): the daemon uses
 * the cgroupfs driver on our cgroup version, so CgroupParent is a path
 * under ours. Asked once per worker process (GET /info is not free); an
 * unanswered question is asked again at the next docker job. */
static int docker_cg_ok = -1;

static bool
cgroup_parent_ok(void)
{
	bool cgroupfs;
	int version, r;

	if (docker_cg_ok >= 0)
		return docker_cg_ok == 1;
	if ((r = docker_cgroup_info(cell_host.docker_socket, 5000, &cgroupfs,
	    &version)) < 0)
		return false;
	docker_cg_ok = cgroupfs && version == (int) cell_cg_root.version;
	if (!docker_cg_ok)
		log_warn("docker's cgroup driver is %s on cgroup v%d, ours is "
		    "v%d: docker jobs run in the daemon's cgroups, without "
		    "usage numbers", cgroupfs ? "cgroupfs" : "not cgroupfs",
		    version, (int) cell_cg_root.version);
	return docker_cg_ok == 1;
}

/* The docker cells' seccomp profile: the namespace cells' rules as
 * Docker's JSON, made once per worker process. NULL if it could not be
 * made (then docker jobs end as error rather than run with less). */
const char *
docker_seccomp(void)
{
	static struct strbuf sb;
	static bool made;

	if (!made) {
		strbuf_init(&sb, 64 * 1024);
		if (seccomp_docker_profile(EPERM, &sb) < 0) {
			strbuf_release(&sb);
			return NULL;
		}
		made = true;
	}
	return sb.buf;
}

/* The host's part of the container; msg says what is missing. */
static int
dk_create_opts(const struct cell_spec *spec, const char *cg_parent,
    struct docker_create *ret, char *msg, size_t size)
{
	*ret = (struct docker_create) {
		.socket_path = cell_host.docker_socket,
		.image = spec->image ? spec->image : cell_host.docker_image,
		.worker_id = (long) getpid(),
		.unpacker = cell_host.docker_unpacker,
		.cgroup_parent = cg_parent[0] ? cg_parent : NULL,
	};
	if (!ret->image) {
		(void) snprintf(msg, size, "the cell could not be built: the job "
		    "names no image and the server has no default image");
		return -EINVAL;
	}
	if (!(ret->seccomp_profile = docker_seccomp())) {
		(void) snprintf(msg, size, "the cell could not be built: cannot "
		    "make the seccomp profile");
		return -ENOMEM;
	}
	return 0;
}

/* struct cell's priv: the container and the cell's own cgroup. */
struct dk_cell {
	struct docker_cell dk;
	bool have_cg, collected;
	struct cgroup cg;
	char job_id[JOB_ID_MAX + 1];
};

/* Undoes dk_start's cgroup and allocation. */
static int
dk_start_fail(struct dk_cell *dc, int r)
{
	if (dc->have_cg)
		cell_cgroup_destroy(dc->job_id, &dc->cg, true);
	free(dc);
	return r;
}

static int
dk_start(const struct cell_spec *spec, struct cell *ret, char *msg,
    size_t size)
{
	struct dk_cell *dc = calloc(1, sizeof(*dc));
	char cg_parent[CGROUP_PATH_MAX] = "", detail[300];
	struct docker_create o;
	int r;

	if (spec->compile_argv) {
		/* A container runs one command: the worker runs a compile
		 * step as a container of its own (worker/job_run.c). */
		free(dc);
		(void) snprintf(msg, size,
		    "the cell could not be built: the "
		    "docker sandbox runs no compile steps");
		return -ENOTSUP;
	}
	if (!dc) {
		(void) snprintf(msg, size, "the cell could not be built: %s",
		    strerror(ENOMEM));
		return -ENOMEM;
	}
	(void) str_copy(dc->job_id, sizeof(dc->job_id), spec->job_id ?
	    spec->job_id : "");
	/* A docker cell sits in the job's cgroup too when the daemon can
	 * put it there (its own cgroup, with the same limits, below ours);
	 * else its limits are only the daemon's. */
	dc->have_cg = !(spec->flags & CELL_NO_CGROUP) &&
	    cell_host.docker_socket && cgroup_parent_ok();
	if (dc->have_cg && (r = cell_cgroup_create(spec, &dc->cg)) < 0) {
		(void) snprintf(msg, size, "the cell could not be built: "
		    "cannot create its cgroup: %s", strerror(-r));
		dc->have_cg = false;
		return dk_start_fail(dc, r);
	}
	if (dc->have_cg)
		(void) snprintf(cg_parent, sizeof(cg_parent), "/%s/%s",
		    CGROUP_PARENT, spec->job_id);
	if (!cell_host.docker_socket) {
		(void) snprintf(msg, size, "the cell could not be built: this "
		    "worker runs no docker sandbox");
		return dk_start_fail(dc, -ENOTSUP);
	}
	if ((r = dk_create_opts(spec, cg_parent, &o, msg, size)) < 0)
		return dk_start_fail(dc, r);
	if ((r = docker_cell_start(spec, &o, &dc->dk, detail,
	    sizeof(detail))) < 0) {
		(void) snprintf(msg, size, "the cell could not be built: %s",
		    detail);
		return dk_start_fail(dc, r);
	}
	*ret = (struct cell){ .ops = &cell_docker_ops,
		.stdout_fd = dc->dk.stdout_fd,
		.stderr_fd = dc->dk.stderr_fd,
		.exit_fd = -1,
		.compile_out_fd = -1,
		.compile_err_fd = -1,
		.priv = dc };
	return 0;
}

static int
dk_signal(struct cell *c, int sig)
{
	struct dk_cell *dc = c->priv;

	return docker_cell_signal(&dc->dk, sig);
}

static int
dk_try_wait(struct cell *c, struct cell_result *ret)
{
	struct dk_cell *dc = c->priv;

	return docker_cell_try_wait(&dc->dk, ret);
}

static void
dk_collect(struct cell *c, struct cell_result *res, struct cell_usage *ret)
{
	struct dk_cell *dc = c->priv;

	docker_cell_release(&dc->dk);
	dc->collected = true;
	c->stdout_fd = c->stderr_fd = -1;
	/* docker-init reports a death by signal N as 128 + N. */
	if (dc->have_cg)
		cell_cgroup_usage(dc->job_id, &dc->cg,
		    (res->outcome == CELL_EXITED &&
		    res->exit_code == 128 + SIGKILL) ||
		    (res->outcome == CELL_SIGNALED && res->signal == SIGKILL),
		    ret);
	ret->oom_killed = ret->oom_killed || dc->dk.oom_killed;
	/* docker-init reports a death by signal N as 128 + N. */
	if (ret->oom_killed && res->outcome == CELL_EXITED &&
	    res->exit_code == 128 + SIGKILL)
		*res = (struct cell_result) { .outcome = CELL_SIGNALED,
			.signal = SIGKILL };
}

static void
dk_release(struct cell *c)
{
	struct dk_cell *dc = c->priv;

	if (!dc)
		return;
	if (!dc->collected)
		docker_cell_release(&dc->dk);
	/* Also the directories Docker's runtime made for the job in the
	 * hierarchies we do not use (devices, freezer, ...). */
	if (dc->have_cg)
		cell_cgroup_destroy(dc->job_id, &dc->cg, true);
	c->stdout_fd = c->stderr_fd = -1;
	free(dc);
	c->priv = NULL;
}

const struct cell_ops cell_docker_ops = {
	.name = "docker",
	.flags = CELL_OPS_IMAGE,
	.start = dk_start,
	.signal = dk_signal,
	.try_wait = dk_try_wait,
	.collect = dk_collect,
	.release = dk_release,
	.available = docker_ops_available,
	.sweep = docker_ops_sweep,
};
