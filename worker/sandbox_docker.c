/* sandbox_docker.c - the docker backend of the cell (DESIGN section 5):
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
#include "jc_limits.h"
#include "json_reader.h"
#include "json_writer.h"
#include "log.h"
#include "parse.h"
#include "sandbox_docker.h"
#include "banned.h"

#define CREATE_BODY_MAX		(8u * 1024 * 1024)	/* argv + env, bounded */
#define NEGOTIATE_TIMEOUT_MS	5000
#define SIGNAL_TIMEOUT_MS	5000
#define REMOVE_TIMEOUT_MS	10000
#define INSPECT_TIMEOUT_MS	10000
#define ATTACH_TIMEOUT_MS	10000
/* Create and start: each below the job's lease (15 s, renewed through
 * spec->keepalive between the calls), so a slow daemon cannot make the
 * supervisor take a starting job for lost. */
#define STEP_TIMEOUT_MS		10000
#define MAX_RUN_DEFAULT_MS	(24LL * 3600 * 1000)
#define WAIT_MARGIN_MS		60000	/* wait bound past max_run_ms */
#define CELL_NOFILE		1024	/* RLIMIT_NOFILE in the container */
#define JOB_ID_MAX		64
/* The files stream: contents, plus per file a path and two lengths. */
#define FILES_STREAM_MAX	(JC_MAX_FILES_BYTES + JC_MAX_FILES * \
				 (JC_MAX_FILE_PATH + 8) + JC_MAX_FILE_PATH + 16)

/* The helper's one record on the report pipe (atomic: < PIPE_BUF). */
enum docker_report_kind {
	DOCKER_REPORT_EXITED = 1,
	DOCKER_REPORT_LOST = 2,
};
struct docker_report {
	int32_t kind;
	int32_t exit_code;
	int32_t oom_killed;
	int32_t err;		/* positive errno for LOST */
	char msg[240];		/* NUL-terminated sentence for LOST */
};

static void
setmsg(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
setmsg(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!buf || size == 0)
		return;
	va_start(ap, fmt);
	(void) vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static bool
job_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' &&
		    s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '_' || s[n] == '-'))
			return false;
	return n > 0 && n <= JOB_ID_MAX;
}

/* The tmpfs options of /tmp and /work: sized, executable (jobs build and
 * run programs there), owned by the job's user. */
static int
tmpfs_opts(char *buf, size_t size, const struct docker_cell_spec *s,
    const char *mode)
{
	int n = snprintf(buf, size, "rw,exec,nosuid,nodev,size=%llum,"
	    "uid=%lu,gid=%lu,mode=%s", (unsigned long long) s->disk_mb,
	    (unsigned long) s->uid, (unsigned long) s->gid, mode);

	return n < 0 || (size_t) n >= size ? -E2BIG : 0;
}

/* POST /containers/create's body. Every setting that keeps the job in its
 * cell is here, spelt out even where it is Docker's default, so a daemon
 * configured otherwise cannot loosen it. */
static bool
needs_unpacker(const struct docker_cell_spec *s)
{
	return s->nfiles > 0 || s->cwd;
}

static int
create_body(const struct docker_cell_spec *s, const char *network,
    struct strbuf *sb)
{
	char work[160], tmp[160], worker[32], user[48];
	bool in = s->stdin_fd >= 0 || needs_unpacker(s);
	struct jw w;
	int r;

	if ((r = tmpfs_opts(work, sizeof(work), s, "0755")) < 0 ||
	    (r = tmpfs_opts(tmp, sizeof(tmp), s, "1777")) < 0)
		return r;
	/* Numeric: the image need not know the uid; never root. */
	(void) snprintf(user, sizeof(user), "%lu:%lu", (unsigned long) s->uid,
	    (unsigned long) s->gid);
	(void) snprintf(worker, sizeof(worker), "%ld", s->worker_id);
	jw_init(&w, sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "Image", s->image);
	jw_key(&w, "Entrypoint");
	jw_arr_open(&w);	/* [] (not null): no image ENTRYPOINT */
	if (needs_unpacker(s))
		jw_str(&w, DOCKER_UNPACKER_IN);
	jw_arr_close(&w);
	jw_key(&w, "Cmd");
	jw_arr_open(&w);
	for (size_t i = 0; s->argv[i]; i++)
		jw_str(&w, s->argv[i]);
	jw_arr_close(&w);
	jw_key(&w, "Env");
	jw_arr_open(&w);
	for (size_t i = 0; s->envp && s->envp[i]; i++)
		jw_str(&w, s->envp[i]);
	jw_arr_close(&w);
	jw_kv_str(&w, "User", user);
	jw_kv_str(&w, "WorkingDir", "/work");
	jw_kv_str(&w, "Hostname", "cell");
	jw_kv_bool(&w, "Tty", false);
	jw_kv_bool(&w, "AttachStdin", in);
	jw_kv_bool(&w, "OpenStdin", in);
	jw_kv_bool(&w, "StdinOnce", in);
	jw_kv_bool(&w, "AttachStdout", true);
	jw_kv_bool(&w, "AttachStderr", true);
	jw_key(&w, "Labels");
	jw_obj_open(&w);
	jw_kv_str(&w, "jobcell.job", s->job_id);
	jw_kv_str(&w, "jobcell.worker", worker);
	jw_obj_close(&w);
	jw_key(&w, "HostConfig");
	jw_obj_open(&w);
	jw_kv_str(&w, "NetworkMode", network ? network : "none");
	if (s->cgroup_parent)
		jw_kv_str(&w, "CgroupParent", s->cgroup_parent);
	jw_key(&w, "CapDrop");
	jw_arr_open(&w);
	jw_str(&w, "ALL");
	jw_arr_close(&w);
	jw_key(&w, "SecurityOpt");
	jw_arr_open(&w);
	jw_str(&w, "no-new-privileges");
	jw_arr_close(&w);
	jw_kv_bool(&w, "Privileged", false);
	jw_kv_bool(&w, "ReadonlyRootfs", true);
	jw_kv_bool(&w, "Init", true);
	jw_kv_bool(&w, "AutoRemove", false);
	jw_kv_str(&w, "IpcMode", "private");
	jw_key(&w, "Binds");
	jw_arr_open(&w);	/* nothing of the host, never the socket; */
	if (needs_unpacker(s)) {	/* only our unpacker, read-only */
		char bind[DOCKER_SOCKET_MAX + 256];

		if ((size_t) snprintf(bind, sizeof(bind), "%s:%s:ro",
		    s->unpacker, DOCKER_UNPACKER_IN) >= sizeof(bind))
			return -ENAMETOOLONG;
		jw_str(&w, bind);
	}
	jw_arr_close(&w);
	jw_key(&w, "Tmpfs");
	jw_obj_open(&w);
	jw_kv_str(&w, "/tmp", tmp);
	jw_kv_str(&w, "/work", work);
	jw_obj_close(&w);
	if (s->memory_mb) {
		jw_kv_i64(&w, "Memory", (int64_t) s->memory_mb << 20);
		jw_kv_i64(&w, "MemorySwap", (int64_t) s->memory_mb << 20);
	}
	if (s->nano_cpus)
		jw_kv_i64(&w, "NanoCpus", (int64_t) s->nano_cpus);
	if (s->pids)	/* + 1: the container's init counts too */
		jw_kv_i64(&w, "PidsLimit", (int64_t) s->pids + 1);
	jw_key(&w, "Ulimits");
	jw_arr_open(&w);
	jw_obj_open(&w);
	jw_kv_str(&w, "Name", "nofile");
	jw_kv_i64(&w, "Soft", CELL_NOFILE);
	jw_kv_i64(&w, "Hard", CELL_NOFILE);
	jw_obj_close(&w);
	jw_obj_open(&w);
	jw_kv_str(&w, "Name", "core");
	jw_kv_i64(&w, "Soft", 0);
	jw_kv_i64(&w, "Hard", 0);
	jw_obj_close(&w);
	jw_arr_close(&w);
	/* Output reaches us through attach; no log file on the host that a
	 * chatty job could grow without bound. */
	jw_key(&w, "LogConfig");
	jw_obj_open(&w);
	jw_kv_str(&w, "Type", "none");
	jw_obj_close(&w);
	jw_obj_close(&w);
	jw_obj_close(&w);
	return jw_finish(&w);
}

static int
put_u32(struct strbuf *sb, size_t v)
{
	unsigned char b[4] = { (unsigned char) (v >> 24),
		(unsigned char) (v >> 16), (unsigned char) (v >> 8),
		(unsigned char) v };

	return v > UINT32_MAX ? -E2BIG : strbuf_add(sb, b, sizeof(b));
}

/* The stream jobcell-cell-unpack reads before the job's stdin
 * (cell_unpack.c): "JCF1", {len, path, len, data}..., 0, len, cwd. */
static int
files_stream(const struct docker_cell_spec *s, struct strbuf *sb)
{
	int r;

	if ((r = strbuf_add(sb, "JCF1", 4)) < 0)
		return r;
	for (size_t i = 0; i < s->nfiles; i++) {
		const struct docker_file *f = &s->files[i];

		if ((r = put_u32(sb, strlen(f->path))) < 0 ||
		    (r = strbuf_addstr(sb, f->path)) < 0 ||
		    (r = put_u32(sb, f->len)) < 0 ||
		    (r = strbuf_add(sb, f->data, f->len)) < 0)
			return r;
	}
	if ((r = put_u32(sb, 0)) < 0 ||
	    (r = put_u32(sb, s->cwd ? strlen(s->cwd) : 0)) < 0)
		return r;
	return s->cwd ? strbuf_addstr(sb, s->cwd) : 0;
}

static bool
unpacker_usable(const char *p)
{
	return p && p[0] == '/' && !strpbrk(p, ":,") && access(p, X_OK) == 0;
}

int
docker_unpacker_find(char *buf, size_t size)
{
	char self[JC_PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) && (size_t) snprintf(buf, size,
		    "%.*s/%s", (int) (slash - self), self, DOCKER_UNPACKER_NAME) <
		    size && unpacker_usable(buf))
			return 0;
	}
	if ((size_t) snprintf(buf, size, "%s/%s", PKGLIBEXECDIR,
	    DOCKER_UNPACKER_NAME) < size && unpacker_usable(buf))
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
static const char *
daemon_failure(int r)
{
	switch (-r) {
	case ENOENT: return "there is no docker socket";
	case ECONNREFUSED: return "the docker daemon does not answer";
	case ETIMEDOUT: return "the docker daemon did not answer in time";
	case ECONNRESET: return "the docker daemon closed the connection";
	default: return strerror(-r);
	}
}

static int
remove_container(struct docker *api, const char *id)
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
network_create(struct docker_cell *c, const struct docker_cell_spec *s,
    char *errmsg, size_t size)
{
	_cleanup_strbuf_ struct strbuf body, reply;
	char name[sizeof(c->network)], worker[32];
	struct jw w;
	int r;

	strbuf_init(&body, 4096);
	strbuf_init(&reply, 64 * 1024);
	(void) snprintf(name, sizeof(name), "jobcell-%s", s->job_id);
	(void) snprintf(worker, sizeof(worker), "%ld", s->worker_id);
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
		setmsg(errmsg, size, "cannot create the job's network: %s",
		    daemon_failure(r));
		return r;
	}
	if (r != 201) {
		setmsg(errmsg, size, "docker refused to create the job's network "
		    "(HTTP %d): %s", r, c->api.err[0] ? c->api.err : "no reason");
		return r == 409 ? -EEXIST : -EIO;
	}
	(void) str_copy(c->network, sizeof(c->network), name);
	return 0;
}

/* DELETE /networks/{name}; 0 also if it is gone already. */
static int
network_remove(struct docker *api, const char *name)
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
		if ((r = remove_container(&c->api, c->id)) < 0)
			log_warn("container %.12s: cannot remove it: %s; the "
			    "supervisor's sweep will", c->id, daemon_failure(r));
		else
			c->removed = true;
	}
	/* A network with a container still on it cannot go: leave both to
	 * the sweep. */
	if (c->network[0] && (!c->id[0] || c->removed)) {
		if ((k = network_remove(&c->api, c->network)) < 0)
			log_warn("network %s: cannot remove it: %s; the "
			    "supervisor's sweep will", c->network,
			    daemon_failure(k));
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

/* ---- the helper ---- */

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

	while (len > 0 && fd >= 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void) close(fd);
			o->fd[stream] = -1;
			return 0;
		}
		data += n;
		len -= (size_t) n;
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
			} else if (!fd_eof) {
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
			setmsg(rep->msg, sizeof(rep->msg), "waiting for the "
			    "container failed: %s", daemon_failure(r));
		else
			setmsg(rep->msg, sizeof(rep->msg), "waiting for the "
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
		setmsg(rep->msg, sizeof(rep->msg), "the docker daemon sent no "
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

static __attribute__((noreturn)) void
helper_main(struct docker *api, const char *id, pid_t parent, int sock,
    const struct strbuf *prefix, int in_fd, const struct strbuf *early,
    int out_w, int err_w, int rep_w, int64_t max_run_ms)
{
	struct helper_out o = { { -1, out_w, err_w } };
	struct docker_report rep = { 0 };
	ssize_t n;

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
	do
		n = write(rep_w, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	_exit(n == (ssize_t) sizeof(rep) ? 0 : 127);
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
create(const struct docker_cell_spec *spec, struct docker_cell *c,
    char *errmsg, size_t size)
{
	_cleanup_strbuf_ struct strbuf body, reply, path;
	int r;

	strbuf_init(&body, CREATE_BODY_MAX);
	strbuf_init(&reply, 64 * 1024);
	strbuf_init(&path, 256);
	if ((r = create_body(spec, c->network[0] ? c->network : NULL,
	    &body)) < 0) {
		setmsg(errmsg, size, "cannot build the container's settings: "
		    "%s", strerror(-r));
		return r;
	}
	if ((r = strbuf_addf(&path, "/containers/create?name=jobcell-%s",
	    spec->job_id)) < 0)
		return r;
	r = docker_call(&c->api, "POST", path.buf, &body, STEP_TIMEOUT_MS,
	    &reply);
	if (r < 0) {
		setmsg(errmsg, size, "cannot create the container: %s",
		    daemon_failure(r));
		return r;
	}
	if (r == 404) {
		setmsg(errmsg, size, "the image '%s' is not present in the "
		    "docker daemon", spec->image);
		return -ENOENT;
	}
	if (r != 201) {
		setmsg(errmsg, size, "docker refused to create the container "
		    "(HTTP %d): %s", r, c->api.err[0] ? c->api.err : "no reason");
		return r == 409 ? -EEXIST : -EIO;
	}
	if ((r = reply_id(&reply, c->id, sizeof(c->id))) < 0) {
		setmsg(errmsg, size, "docker's answer to create held no "
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
		setmsg(errmsg, size, "cannot start the container: %s",
		    daemon_failure(r));
	else
		setmsg(errmsg, size, "docker could not start the container "
		    "(HTTP %d): %s", r, c->api.err[0] ? c->api.err : "no reason");
	return r < 0 ? r : -EIO;
}

static void
keepalive(const struct docker_cell_spec *spec)
{
	if (spec->keepalive)
		spec->keepalive(spec->keepalive_arg);
}

int
docker_cell_start(const struct docker_cell_spec *spec, struct docker_cell *ret,
    char *errmsg, size_t errmsg_size)
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
	if (needs_unpacker(spec) && !unpacker_usable(spec->unpacker)) {
		setmsg(errmsg, errmsg_size, "the job has files but this worker "
		    "has no usable %s", DOCKER_UNPACKER_NAME);
		return -ENOENT;
	}
	if (needs_unpacker(spec) && (r = files_stream(spec, &prefix)) < 0) {
		setmsg(errmsg, errmsg_size, "the job's files do not fit the "
		    "stream to the cell");
		return r;
	}
	if (!spec->image || !spec->image[0] ||
	    strlen(spec->image) > DOCKER_IMAGE_MAX || !spec->argv ||
	    !spec->argv[0] || !spec->job_id || !job_id_ok(spec->job_id) ||
	    spec->uid == 0 || spec->gid == 0) {
		setmsg(errmsg, errmsg_size, "invalid docker cell settings");
		return -EINVAL;
	}
	if ((r = docker_init(&c.api, spec->socket_path)) < 0) {
		setmsg(errmsg, errmsg_size, "the docker socket path is too long");
		return r;
	}
	if ((r = docker_negotiate(&c.api, NEGOTIATE_TIMEOUT_MS)) < 0) {
		if (r == -EPROTONOSUPPORT)
			setmsg(errmsg, errmsg_size, "%s", c.api.err);
		else
			setmsg(errmsg, errmsg_size, "%s at '%s'",
			    daemon_failure(r), c.api.socket_path);
		docker_release(&c.api);
		return r;
	}
	keepalive(spec);
	if (spec->network && (r = network_create(&c, spec, errmsg,
	    errmsg_size)) < 0)
		goto fail;
	if ((r = create(spec, &c, errmsg, errmsg_size)) < 0)
		goto fail;
	keepalive(spec);
	if ((r = docker_attach(&c.api, c.id, spec->stdin_fd >= 0 ||
	    needs_unpacker(spec),
	    ATTACH_TIMEOUT_MS, &sock, &early)) < 0) {
		setmsg(errmsg, errmsg_size, "cannot attach to the container: %s",
		    c.api.err[0] ? c.api.err : daemon_failure(r));
		goto fail;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		r = -errno;
		setmsg(errmsg, errmsg_size, "cannot make pipes: %s", strerror(-r));
		goto fail;
	}
	if ((r = nonblock(out[0])) < 0 || (r = nonblock(err[0])) < 0 ||
	    (r = nonblock(rep[0])) < 0) {
		setmsg(errmsg, errmsg_size, "cannot set up pipes: %s",
		    strerror(-r));
		goto fail;
	}
	keepalive(spec);
	if ((r = start(&c, errmsg, errmsg_size)) < 0)
		goto fail;
	if ((c.pid = fork()) < 0) {
		r = -errno;
		setmsg(errmsg, errmsg_size, "cannot fork the helper: %s",
		    strerror(-r));
		goto fail;
	}
	if (c.pid == 0) {
		(void) close(out[0]);
		(void) close(err[0]);
		(void) close(rep[0]);
		helper_main(&c.api, c.id, parent, sock, &prefix, spec->stdin_fd,
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
docker_cell_try_wait(struct docker_cell *c, struct docker_result *ret)
{
	struct docker_report rep;
	struct docker_result res = { 0 };
	ssize_t n;
	pid_t w;
	int st;

	if (c->pid <= 0)
		return -ECHILD;
	w = waitpid(c->pid, &st, WNOHANG);
	if (w < 0)
		return -errno;
	if (w == 0)
		return 0;
	c->pid = -1;
	do
		n = read(c->report_fd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t) sizeof(rep))
		return -EIO;	/* the helper died without a word */
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	switch (rep.kind) {
	case DOCKER_REPORT_EXITED:
		res.outcome = DOCKER_EXITED;
		res.exit_code = rep.exit_code;
		res.oom_killed = rep.oom_killed != 0;
		break;
	case DOCKER_REPORT_LOST:
		res.outcome = DOCKER_LOST;
		(void) str_copy(res.error, sizeof(res.error), rep.msg);
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

/* The labels of one listed container; false if they are not ours. */
static bool
sweep_labels(const struct jr_doc *doc, int obj, char *id, size_t id_size,
    char *job, size_t job_size, long *ret_worker)
{
	char worker[24];
	int64_t pid;
	int tok, labels;

	if (jr_type(doc, obj) != JR_OBJECT ||
	    (tok = jr_obj_get(doc, obj, "Id")) < 0 ||
	    jr_str(doc, tok, id, id_size, NULL) < 0 || !docker_id_ok(id) ||
	    (labels = jr_obj_get(doc, obj, "Labels")) < 0 ||
	    jr_type(doc, labels) != JR_OBJECT)
		return false;
	job[0] = '\0';
	if ((tok = jr_obj_get(doc, labels, "jobcell.job")) >= 0 &&
	    (jr_str(doc, tok, job, job_size, NULL) < 0 || !job_id_ok(job)))
		job[0] = '\0';
	*ret_worker = 0;
	if ((tok = jr_obj_get(doc, labels, "jobcell.worker")) >= 0 &&
	    jr_str(doc, tok, worker, sizeof(worker), NULL) >= 0 &&
	    parse_i64(worker, 1, INT32_MAX, &pid) == 0)
		*ret_worker = (long) pid;
	return true;
}

/* One kind of labelled object: "containers" (removed forcibly) or
 * "networks" (after their containers). How many were removed, or -errno
 * if the daemon could not be asked. */
static int
sweep_kind(struct docker *api, bool networks, int timeout_ms,
    bool (*keep)(const char *job_id, long worker_pid, void *arg), void *arg)
{
	_cleanup_strbuf_ struct strbuf path, reply;
	struct jr_doc *doc = NULL;
	const char *what = networks ? "network" : "container";
	int r, n, removed = 0;

	strbuf_init(&path, 512);
	strbuf_init(&reply, DOCKER_REPLY_MAX);
	if ((r = networks ? strbuf_addstr(&path, "/networks?filters=") :
	    strbuf_addf(&path, "/containers/json?all=1&limit=%d&filters=",
	    DOCKER_SWEEP_MAX)) < 0 ||
	    (r = docker_query_escape(&path, "{\"label\":[\"jobcell.job\"]}")) < 0)
		return r;
	if ((r = docker_call(api, "GET", path.buf, NULL, timeout_ms,
	    &reply)) < 0)
		return r;
	if (r != 200)
		return -EIO;
	if ((r = jr_parse(reply.buf, reply.len, JC_MAX_JSON_TOKENS, &doc)) < 0 ||
	    jr_type(doc, jr_root(doc)) != JR_ARRAY) {
		doc = jr_free(doc);
		return -EPROTO;
	}
	n = jr_len(doc, jr_root(doc));
	for (int i = 0; i < n && i < DOCKER_SWEEP_MAX; i++) {
		char id[DOCKER_ID_LEN + 1], job[JOB_ID_MAX + 1];
		long worker;

		if (!sweep_labels(doc, jr_child(doc, jr_root(doc), i), id,
		    sizeof(id), job, sizeof(job), &worker))
			continue;
		if (job[0] && worker > 0 && keep(job, worker, arg))
			continue;
		r = networks ? network_remove(api, id) :
		    remove_container(api, id);
		if (r < 0) {
			log_warn("%s %.12s of job %s: cannot remove it: %s, "
			    "retrying later", what, id, job[0] ? job : "?",
			    daemon_failure(r));
			continue;
		}
		log_info("%s %.12s of job %s (worker %ld): removed", what, id,
		    job[0] ? job : "?", worker);
		removed++;
	}
	doc = jr_free(doc);
	return removed;
}

int
docker_cell_sweep(const char *socket_path, int timeout_ms,
    bool (*keep)(const char *job_id, long worker_pid, void *arg), void *arg)
{
	struct docker api;
	int r, k;

	if ((r = docker_init(&api, socket_path)) < 0)
		return r;
	if ((r = docker_negotiate(&api, timeout_ms)) >= 0 &&
	    (r = sweep_kind(&api, false, timeout_ms, keep, arg)) >= 0 &&
	    (k = sweep_kind(&api, true, timeout_ms, keep, arg)) >= 0)
		r += k;
	docker_release(&api);
	return r;
}
