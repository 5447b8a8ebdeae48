/* swarm_spec.c - the swarm cell's service, as data: the body of POST
 * /services/create (a Mode.ReplicatedJob service whose one task runs the
 * job with the docker cell's walls, as far as a swarm service can spell
 * them), and the reading of the manager's task and node answers. Pure
 * functions, no daemon and no I/O: tests/unit/test_swarm_spec.c holds
 * their golden JSON. Runs in a jobcell-worker process. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cell_int.h"
#include "cleanup.h"
#include "docker_int.h"
#include "json_reader.h"
#include "json_writer.h"
#include "parse.h"
#include "strbuf.h"
#include "swarm_int.h"
#include "wspath.h"
#include "banned.h"

bool
swarm_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
			(s[n] >= '0' && s[n] <= '9')))
			return false;
	return n > 0 && n <= SWARM_ID_MAX;
}

/* Base64 (RFC 4648) of s into sb: the API's []byte fields. */
static int
base64(struct strbuf *sb, const char *s, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *) s;
	int r = 0;

	for (size_t i = 0; i < len && r == 0; i += 3) {
		uint32_t v = (uint32_t) p[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (uint32_t) p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = tab[v >> 18 & 63];
		q[1] = tab[v >> 12 & 63];
		q[2] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		q[3] = i + 2 < len ? tab[v & 63] : '=';
		r = strbuf_add(sb, q, sizeof(q));
	}
	return r;
}

/* A tmpfs for the job, as an anonymous volume of the node's local driver
 * (type tmpfs): a service's own tmpfs mounts take the mode and owner of
 * the image's directory (Docker 20.10 copies them up over TmpfsOptions),
 * so /work of an image that has one was root's 0755; the volume's mount
 * options set the owner, size and inodes as the docker cell's tmpfs
 * (docker_spec.c), exec. Its memory goes when its container stops. */
static int
tmpfs_mount(struct jw *w, const char *target, const struct cell_spec *s,
    const char *mode)
{
	unsigned long long mb = (unsigned long long) s->disk_mb;
	char o[192];
	int n;

	n = snprintf(o, sizeof(o),
	    "size=%llum,nr_inodes=%llu,uid=%lu,gid=%lu,"
	    "mode=%s,exec,nosuid,nodev",
	    mb, mb < 4 ? 1024 : mb * 256, (unsigned long) s->host_uid,
	    (unsigned long) s->host_gid, mode);
	if (n < 0 || (size_t) n >= sizeof(o))
		return -E2BIG;
	jw_obj_open(w);
	jw_kv_str(w, "Type", "volume");
	jw_kv_str(w, "Target", target);
	jw_kv_bool(w, "ReadOnly", false);
	jw_key(w, "VolumeOptions");
	jw_obj_open(w);
	jw_kv_bool(w, "NoCopy", true);
	jw_key(w, "DriverConfig");
	jw_obj_open(w);
	jw_kv_str(w, "Name", "local");
	jw_key(w, "Options");
	jw_obj_open(w);
	jw_kv_str(w, "type", "tmpfs");
	jw_kv_str(w, "device", "tmpfs");
	jw_kv_str(w, "o", o);
	jw_obj_close(w);
	jw_obj_close(w);
	jw_obj_close(w);
	jw_obj_close(w);
	return 0;
}

static void
ulimit(struct jw *w, const char *name, int64_t v)
{
	jw_obj_open(w);
	jw_kv_str(w, "Name", name);
	jw_kv_i64(w, "Soft", v);
	jw_kv_i64(w, "Hard", v);
	jw_obj_close(w);
}

static void
labels(struct jw *w, const struct cell_spec *s, const char *worker)
{
	jw_key(w, "Labels");
	jw_obj_open(w);
	jw_kv_str(w, "jobcell.job", s->job_id);
	jw_kv_str(w, "jobcell.worker", worker);
	jw_obj_close(w);
}

/* Privileges (API 1.46): no-new-privileges and our seccomp profile.
 * Older managers drop the whole object (api/server/router/swarm:
 * adjustForAPIVersion), so it is sent only where it is kept; there the
 * nodes' daemons must enforce both (docs/operations.md, "Swarm"). */
static int
privileges(struct jw *w, const struct swarm_create *o)
{
	_cleanup_strbuf_ struct strbuf b64;
	int r;

	strbuf_init(&b64, 256 * 1024);
	if (o->api_minor < SWARM_API_MINOR)
		return 0;
	jw_key(w, "Privileges");
	jw_obj_open(w);
	jw_kv_bool(w, "NoNewPrivileges", true);
	if (o->seccomp_profile) {
		if ((r = base64(&b64, o->seccomp_profile,
			 strlen(o->seccomp_profile))) < 0)
			return r;
		jw_key(w, "Seccomp");
		jw_obj_open(w);
		jw_kv_str(w, "Mode", "custom");
		jw_kv_str(w, "Profile", b64.buf);
		jw_obj_close(w);
	}
	jw_obj_close(w);
	return 0;
}

/* TaskTemplate.ContainerSpec: the docker cell's container, as far as a
 * service spells it. */
static int
container_spec(struct jw *w, const struct cell_spec *s,
    const struct swarm_create *o, const char *worker)
{
	char user[48];
	int r;

	/* Numeric: the image need not know the uid; never root. */
	(void) snprintf(user, sizeof(user), "%lu:%lu",
	    (unsigned long) s->host_uid, (unsigned long) s->host_gid);
	jw_key(w, "ContainerSpec");
	jw_obj_open(w);
	jw_kv_str(w, "Image", o->image);
	jw_key(w, "Command"); /* replaces the image's ENTRYPOINT and CMD */
	jw_arr_open(w);
	if (o->nconfigs > 0) { /* files, stdin, cwd: through the unpacker */
		jw_str(w, SWARM_UNPACKER_IN);
		jw_str(w, "--from");
		jw_str(w, SWARM_STREAM_IN);
		jw_str(w, o->stdin_in ? o->stdin_in : "-");
	}
	for (size_t i = 0; s->argv[i]; i++)
		jw_str(w, s->argv[i]);
	jw_arr_close(w);
	jw_key(w, "Env");
	jw_arr_open(w);
	for (size_t i = 0; s->envp && s->envp[i]; i++)
		jw_str(w, s->envp[i]);
	jw_arr_close(w);
	labels(w, s, worker);
	jw_kv_str(w, "User", user);
	jw_kv_str(w, "Dir", "/work");
	jw_kv_str(w, "Hostname", "cell");
	jw_kv_bool(w, "TTY", false);
	jw_kv_bool(w, "OpenStdin", false);
	jw_kv_bool(w, "ReadOnly", true);
	jw_kv_bool(w, "Init", true);
	jw_key(w, "Mounts");
	jw_arr_open(w);
	if ((r = tmpfs_mount(w, "/work", s, "0755")) < 0 ||
	    (r = tmpfs_mount(w, "/tmp", s, "1777")) < 0)
		return r;
	jw_arr_close(w);
	jw_key(w, "CapabilityDrop");
	jw_arr_open(w);
	jw_str(w, "ALL");
	jw_arr_close(w);
	if ((r = privileges(w, o)) < 0)
		return r;
	jw_key(w, "Ulimits");
	jw_arr_open(w);
	ulimit(w, "nofile", CELL_NOFILE);
	ulimit(w, "sigpending", CELL_SIGPENDING);
	ulimit(w, "core", 0);
	if (s->disk_mb)
		ulimit(w, "fsize", (int64_t) s->disk_mb << 20);
	jw_arr_close(w);
	if (o->nconfigs > 0) {
		jw_key(w, "Configs");
		jw_arr_open(w);
		for (size_t i = 0; i < o->nconfigs; i++) {
			const struct swarm_config_ref *c = &o->configs[i];

			jw_obj_open(w);
			jw_key(w, "File");
			jw_obj_open(w);
			jw_kv_str(w, "Name", c->target);
			jw_kv_str(w, "UID", "0");
			jw_kv_str(w, "GID", "0");
			jw_kv_i64(w, "Mode", c->mode);
			jw_obj_close(w);
			jw_kv_str(w, "ConfigID", c->id);
			jw_kv_str(w, "ConfigName", c->name);
			jw_obj_close(w);
		}
		jw_arr_close(w);
	}
	jw_kv_str(w, "StopSignal", "SIGTERM");
	jw_kv_i64(w, "StopGracePeriod", o->stop_grace_ms * 1000000);
	jw_kv_str(w, "Isolation", "default");
	jw_obj_close(w);
	return 0;
}

static void
resources(struct jw *w, const struct cell_spec *s)
{
	jw_key(w, "Resources");
	jw_obj_open(w);
	jw_key(w, "Limits");
	jw_obj_open(w);
	if (s->cpus) /* 1e9 per CPU */
		jw_kv_i64(w, "NanoCPUs", (int64_t) (s->cpus * 1000000000u));
	if (s->memory_mb)
		jw_kv_i64(w, "MemoryBytes", (int64_t) s->memory_mb << 20);
	if (s->pids) /* + 1: the container's init counts too */
		jw_kv_i64(w, "Pids", (int64_t) s->pids + 1);
	jw_obj_close(w);
	jw_obj_close(w);
}

static void
task_template(struct jw *w, const struct cell_spec *s,
    const struct swarm_create *o)
{
	jw_key(w, "RestartPolicy"); /* a job never runs twice */
	jw_obj_open(w);
	jw_kv_str(w, "Condition", "none");
	jw_kv_i64(w, "MaxAttempts", 0);
	jw_obj_close(w);
	jw_key(w, "Placement");
	jw_obj_open(w);
	jw_key(w, "Constraints");
	jw_arr_open(w);
	if (o->stopping)
		jw_str(w, SWARM_STOP_CONSTRAINT);
	for (size_t i = 0; !o->stopping && i < o->nconstraints; i++)
		jw_str(w, o->constraints[i]);
	jw_arr_close(w);
	jw_obj_close(w);
	if (o->stopping)
		jw_kv_i64(w, "ForceUpdate", 1);
	/* No network attachment: the task's container has only loopback. */
	jw_key(w, "Networks");
	jw_arr_open(w);
	jw_arr_close(w);
	/* Output reaches us through the service's logs, which need a
	 * driver that can be read back; bounded on the node. */
	jw_key(w, "LogDriver");
	jw_obj_open(w);
	jw_kv_str(w, "Name", "json-file");
	jw_key(w, "Options");
	jw_obj_open(w);
	jw_kv_str(w, "max-size", SWARM_LOG_MAX);
	jw_kv_str(w, "max-file", "1");
	jw_obj_close(w);
	jw_obj_close(w);
	resources(w, s);
}

int
swarm_service_body(const struct cell_spec *s, const struct swarm_create *o,
    struct strbuf *sb)
{
	char name[96], worker[32];
	struct jw w;
	int r;

	/* What a service cannot carry without a shared filesystem is
	 * refused by the API (400 naming the field); here again. Files,
	 * stdin and cwd need the configs (swarm_configs.c made them). */
	if (((s->nfiles > 0 || s->ninputs > 0 || s->cwd || s->stdin_fd >= 0) &&
		(o->nconfigs < 2 || o->nconfigs > SWARM_CONFIGS_MAX)) ||
	    s->network || !s->argv || !s->argv[0] || !o->image || !s->job_id ||
	    !docker_job_id_ok(s->job_id) || s->host_uid == 0 ||
	    s->host_gid == 0)
		return -EINVAL;
	(void) snprintf(name, sizeof(name), "jobcell-%s", s->job_id);
	(void) snprintf(worker, sizeof(worker), "%ld", o->worker_id);
	jw_init(&w, sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "Name", name);
	labels(&w, s, worker);
	jw_key(&w, "TaskTemplate");
	jw_obj_open(&w);
	if ((r = container_spec(&w, s, o, worker)) < 0)
		return r;
	task_template(&w, s, o);
	jw_obj_close(&w);
	jw_key(&w, "Mode");
	jw_obj_open(&w);
	jw_key(&w, "ReplicatedJob");
	jw_obj_open(&w);
	jw_kv_i64(&w, "MaxConcurrent", 1);
	jw_kv_i64(&w, "TotalCompletions", 1);
	jw_obj_close(&w);
	jw_obj_close(&w);
	jw_obj_close(&w);
	return jw_finish(&w);
}

static enum swarm_task_state
task_state(const char *st)
{
	static const struct {
		const char *name;
		enum swarm_task_state s;
	} map[] = {
		{ "new", SWARM_TASK_PENDING },
		{ "allocated", SWARM_TASK_PENDING },
		{ "pending", SWARM_TASK_PENDING },
		{ "assigned", SWARM_TASK_PENDING },
		{ "accepted", SWARM_TASK_PENDING },
		{ "preparing", SWARM_TASK_PENDING },
		{ "ready", SWARM_TASK_PENDING },
		{ "starting", SWARM_TASK_PENDING },
		{ "running", SWARM_TASK_RUNNING },
		{ "complete", SWARM_TASK_EXITED },
		{ "failed", SWARM_TASK_EXITED },
		{ "rejected", SWARM_TASK_REJECTED },
		{ "shutdown", SWARM_TASK_LOST },
		{ "remove", SWARM_TASK_LOST },
		{ "orphaned", SWARM_TASK_LOST },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcmp(map[i].name, st) == 0)
			return map[i].s;
	return SWARM_TASK_LOST;
}

/* The index of the task whose ID is want (the first if want is NULL or
 * ""), -ENOENT if none, -EPROTO. */
static int
task_pick(const struct jr_doc *doc, int root, const char *want)
{
	int n = jr_len(doc, root);

	for (int i = 0; i < n; i++) {
		int task = jr_child(doc, root, i), tok;
		char id[SWARM_ID_MAX + 1];

		if (jr_type(doc, task) != JR_OBJECT)
			return -EPROTO;
		if (!want || !want[0])
			return task;
		if ((tok = jr_obj_get(doc, task, "ID")) >= 0 &&
		    jr_str(doc, tok, id, sizeof(id), NULL) >= 0 &&
		    strcmp(id, want) == 0)
			return task;
	}
	return -ENOENT;
}

int
swarm_service_version(const char *buf, size_t len, int64_t *ret)
{
	struct jr_doc *doc = NULL;
	int ver, tok, r = -EPROTO;
	int64_t v;

	if (jr_parse(buf, len, JC_MAX_JSON_TOKENS, &doc) < 0)
		return -EPROTO;
	if (jr_type(doc, jr_root(doc)) == JR_OBJECT &&
	    (ver = jr_obj_get(doc, jr_root(doc), "Version")) >= 0 &&
	    jr_type(doc, ver) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, ver, "Index")) >= 0 &&
	    jr_i64(doc, tok, &v) == 0 && v >= 0) {
		*ret = v;
		r = 0;
	}
	doc = jr_free(doc);
	return r;
}

int
swarm_task_parse(const char *buf, size_t len, const char *want,
    struct swarm_task *ret)
{
	struct jr_doc *doc = NULL;
	struct swarm_task t = { .state = SWARM_TASK_NONE };
	char state[32];
	int64_t code;
	int root, task, st, tok, cs, r = -EPROTO;

	if (jr_parse(buf, len, JC_MAX_JSON_TOKENS, &doc) < 0)
		return -EPROTO;
	root = jr_root(doc);
	if (jr_type(doc, root) != JR_ARRAY)
		goto out;
	if ((task = task_pick(doc, root, want)) == -ENOENT) {
		r = 0;
		goto out;
	}
	if (task < 0 || jr_type(doc, task) != JR_OBJECT ||
	    (st = jr_obj_get(doc, task, "Status")) < 0 ||
	    jr_type(doc, st) != JR_OBJECT ||
	    (tok = jr_obj_get(doc, st, "State")) < 0 ||
	    jr_str(doc, tok, state, sizeof(state), NULL) < 0)
		goto out;
	t.state = task_state(state);
	if ((tok = jr_obj_get(doc, task, "ID")) >= 0 &&
	    (jr_str(doc, tok, t.id, sizeof(t.id), NULL) < 0 ||
		!swarm_id_ok(t.id)))
		t.id[0] = '\0';
	if ((tok = jr_obj_get(doc, task, "NodeID")) >= 0 &&
	    (jr_str(doc, tok, t.node_id, sizeof(t.node_id), NULL) < 0 ||
		!swarm_id_ok(t.node_id)))
		t.node_id[0] = '\0';
	if ((tok = jr_obj_get(doc, st, "Err")) >= 0 &&
	    jr_str(doc, tok, t.err, sizeof(t.err), NULL) == -E2BIG)
		t.err[sizeof(t.err) - 1] = '\0';
	for (char *p = t.err; *p; p++) /* goes into job errors */
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = '?';
	if (t.state == SWARM_TASK_EXITED) {
		if ((cs = jr_obj_get(doc, st, "ContainerStatus")) < 0 ||
		    (tok = jr_obj_get(doc, cs, "ExitCode")) < 0)
			code = strcmp(state, "complete") == 0 ? 0 : -1;
		else if (jr_i64(doc, tok, &code) < 0 || code < 0 || code > 255)
			goto out;
		if (code < 0)
			goto out;
		t.exit_code = (int) code;
	}
	r = 0;
out:
	doc = jr_free(doc);
	if (r == 0)
		*ret = t;
	return r;
}

bool
swarm_node_down(const char *buf, size_t len)
{
	struct jr_doc *doc = NULL;
	char state[32] = "";
	int root, st, tok;
	bool down = false;

	if (jr_parse(buf, len, JC_MAX_JSON_TOKENS, &doc) < 0)
		return false; /* unreadable: ask again */
	root = jr_root(doc);
	if (jr_type(doc, root) == JR_OBJECT &&
	    (st = jr_obj_get(doc, root, "Status")) >= 0 &&
	    jr_type(doc, st) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, st, "State")) >= 0 &&
	    jr_str(doc, tok, state, sizeof(state), NULL) >= 0)
		down = strcmp(state, "down") == 0 ||
		    strcmp(state, "disconnected") == 0;
	doc = jr_free(doc);
	return down;
}

void
swarm_logs_init(struct swarm_logs *l, uint64_t skip, const char *skip_ts,
    int (*emit)(int stream, const char *data, size_t len, void *arg), void *arg)
{
	*l = (struct swarm_logs){ .skip = skip, .emit = emit, .arg = arg };
	docker_demux_init(&l->dm);
	strbuf_init(&l->msg, SWARM_LOG_MSG_MAX);
	if (skip_ts && str_copy(l->skip_ts, sizeof(l->skip_ts), skip_ts) < 0)
		l->skip_ts[0] = '\0';
}

void
swarm_logs_release(struct swarm_logs *l)
{
	strbuf_release(&l->msg);
}

/* A whole frame in l->msg: "<time> <bytes>". */
static int
logs_message(struct swarm_logs *l, int stream)
{
	const char *sp = memchr(l->msg.buf, ' ', l->msg.len);
	size_t ts_len = sp ? (size_t) (sp - l->msg.buf) : 0;
	int r = 0;

	if (ts_len == 0 || ts_len > SWARM_TS_MAX)
		return -EPROTO;
	l->seen++;
	if (l->seen > l->skip)
		r = l->emit(stream, sp + 1, l->msg.len - ts_len - 1, l->arg);
	memcpy(l->last_ts, l->msg.buf, ts_len);
	l->last_ts[ts_len] = '\0';
	if (l->seen == l->skip && l->skip_ts[0] &&
	    strcmp(l->skip_ts, l->last_ts) != 0)
		l->misaligned = true;
	strbuf_reset(&l->msg);
	return r;
}

static int
logs_piece(int stream, const char *data, size_t len, void *arg)
{
	struct swarm_logs *l = arg;
	bool last = l->dm.left == len; /* docker_demux: before it counts */
	int r;

	if ((r = strbuf_add(&l->msg, data, len)) < 0)
		return r == -E2BIG ? -EPROTO : r;
	return last ? logs_message(l, stream) : 0;
}

int
swarm_logs_feed(struct swarm_logs *l, const char *buf, size_t len)
{
	return docker_demux_feed(&l->dm, buf, len, logs_piece, l);
}

int
swarm_config_body(const char *name, const char *job_id, long worker_id,
    const char *data, size_t len, struct strbuf *sb)
{
	_cleanup_strbuf_ struct strbuf b64;
	char worker[32];
	struct jw w;
	int r;

	if (len == 0 || !docker_job_id_ok(job_id))
		return -EINVAL;
	if (len > JC_SWARM_CONFIG_MAX)
		return -E2BIG;
	strbuf_init(&b64, (JC_SWARM_CONFIG_MAX / 3 + 1) * 4 + 1);
	if ((r = base64(&b64, data, len)) < 0)
		return r;
	(void) snprintf(worker, sizeof(worker), "%ld", worker_id);
	jw_init(&w, sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "Name", name);
	jw_key(&w, "Labels");
	jw_obj_open(&w);
	jw_kv_str(&w, "jobcell.job", job_id);
	jw_kv_str(&w, "jobcell.worker", worker);
	jw_obj_close(&w);
	jw_kv_str(&w, "Data", b64.buf);
	jw_obj_close(&w);
	return jw_finish(&w);
}

static int
put_u32(struct strbuf *sb, size_t v)
{
	unsigned char b[4] = { (unsigned char) (v >> 24),
		(unsigned char) (v >> 16), (unsigned char) (v >> 8),
		(unsigned char) v };

	if (v > UINT32_MAX)
		return -E2BIG;
	return strbuf_add(sb, b, sizeof(b));
}

/* One entry of the stream: path, flags (1: executable), data. */
static int
stream_entry(struct strbuf *sb, const char *path, bool exec, const char *data,
    size_t len)
{
	int r;

	if ((r = put_u32(sb, strlen(path))) < 0 ||
	    (r = strbuf_addstr(sb, path)) < 0 ||
	    (r = put_u32(sb, exec ? 1 : 0)) < 0 || (r = put_u32(sb, len)) < 0)
		return r;
	return strbuf_add(sb, data, len);
}

/* An octal field of a tar header (NUL- or space-terminated, at least one
 * digit); -EINVAL for base-256 or anything else. */
static int
tar_octal(const unsigned char *f, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0, digits = 0;

	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v >> 60)
			return -EINVAL;
		v = v << 3 | (uint64_t) (f[i] - '0');
	}
	if (digits == 0 || (i < n && f[i] != ' ' && f[i] != '\0'))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A NUL-padded field as a C string into buf (size > n). */
static void
tar_str(const unsigned char *f, size_t n, char *buf)
{
	size_t len = strnlen((const char *) f, n);

	memcpy(buf, f, len);
	buf[len] = '\0';
}

const char *
swarm_compression(const char *data, size_t len)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *name;
	} rows[] = {
		{ "\x1f\x8b", 2, "gzip" },
		{ "\xfd\x37zXZ\0", 6, "xz" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd" },
		{ "BZh", 3, "bzip2" },
	};

	/* A plain tar whose first name starts like a magic ("BZh.txt") */
	if (len >= 512 && memcmp(data + 257, "ustar", 5) == 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		if (len >= rows[i].len &&
		    memcmp(data, rows[i].magic, rows[i].len) == 0)
			return rows[i].name;
	return NULL;
}

/* The archive b (ustar, decompressed if it was not plain) as stream
 * entries under b->path. */
static int
tar_entries(struct strbuf *sb, const struct swarm_blob *b, char *msg,
    size_t size)
{
	const unsigned char *p = (const unsigned char *) b->data;
	size_t off = 0, entries = 0;
	int r;

	for (;;) {
		const unsigned char *h = p + off;
		char name[101], prefix[156], rel[WSPATH_MAX + 1],
		    full[2 * WSPATH_MAX + 2];
		uint64_t len, mode, sum, want = 0;
		const char *e;
		int n;

		if (b->len - off < 512) {
			(void) snprintf(msg, size,
			    off == 0 ?
				"%s: not a ustar archive (plain, or compressed "
				"with gzip, xz, zstd or bzip2): a swarm job "
				"unpacks no other" :
				"%s: the archive ends without its end blocks",
			    b->name);
			return -EINVAL;
		}
		for (n = 0; n < 512 && !h[n]; n++)
			;
		if (n == 512)
			return 0; /* the end block */
		for (n = 0; n < 512; n++)
			want += n >= 148 && n < 156 ? ' ' : h[n];
		if (memcmp(h + 257, "ustar", 5) != 0 ||
		    tar_octal(h + 148, 8, &sum) < 0 || sum != want) {
			(void) snprintf(msg, size,
			    "%s: not a ustar archive (plain, or compressed "
			    "with gzip, xz, zstd or bzip2): a swarm job "
			    "unpacks no other",
			    b->name);
			return -EINVAL;
		}
		if (tar_octal(h + 124, 12, &len) < 0 ||
		    tar_octal(h + 100, 8, &mode) < 0 ||
		    len > b->len - off - 512) {
			(void) snprintf(msg, size,
			    "%s: an entry's header is "
			    "malformed or its data cut short",
			    b->name);
			return -EINVAL;
		}
		tar_str(h, 100, name);
		tar_str(h + 345, 155, prefix);
		n = snprintf(rel, sizeof(rel), "%s%s%s", prefix,
		    prefix[0] ? "/" : "", name);
		e = rel;
		while (e[0] == '.' && e[1] == '/')
			e += 2;
		if (n < 0 || (size_t) n >= sizeof(rel) ||
		    ++entries > JC_MAX_INPUT_ENTRIES) {
			(void) snprintf(msg, size,
			    "%s: too many entries or a "
			    "path too long",
			    b->name);
			return -EINVAL;
		}
		if (h[156] == '5' || strcmp(e, ".") == 0 || !e[0] ||
		    e[strlen(e) - 1] == '/') {
			/* a directory: made as its files need it */
		} else if (h[156] == '0' || h[156] == '\0') {
			n = snprintf(full, sizeof(full), "%s%s%s", b->path,
			    b->path[0] ? "/" : "", e);
			if (n < 0 || (size_t) n >= sizeof(full) ||
			    wspath_check(full) < 0) {
				(void) snprintf(msg, size,
				    "%s: the entry '%.80s' "
				    "has a path a job cannot have",
				    b->name, e);
				return -EINVAL;
			}
			if ((r = stream_entry(sb, full, mode & 0111,
				 b->data + off + 512, (size_t) len)) < 0)
				return r;
		} else {
			(void) snprintf(msg, size,
			    "%s: the entry '%.80s' is "
			    "a link, a device or a pax or GNU header: a swarm "
			    "job unpacks only files and directories",
			    b->name, e);
			return -EINVAL;
		}
		off += 512 + ((size_t) len + 511) / 512 * 512;
		if (off > b->len)
			off = b->len;
	}
}

int
swarm_files_stream(const struct cell_spec *s, const struct swarm_blob *b,
    size_t nb, struct strbuf *sb, char *msg, size_t size)
{
	int r;

	if ((r = strbuf_add(sb, "JCF2", 4)) < 0)
		return r;
	for (size_t i = 0; i < s->nfiles; i++)
		if ((r = stream_entry(sb, s->files[i].path,
			 s->files[i].executable, s->files[i].data,
			 s->files[i].len)) < 0)
			return r;
	for (size_t i = 0; i < nb; i++) {
		r = b[i].tar ? tar_entries(sb, &b[i], msg, size) :
			       stream_entry(sb, b[i].path, b[i].executable,
				   b[i].data, b[i].len);
		if (r < 0)
			return r;
	}
	if ((r = put_u32(sb, 0)) < 0 ||
	    (r = put_u32(sb, s->cwd ? strlen(s->cwd) : 0)) < 0)
		return r;
	return s->cwd ? strbuf_addstr(sb, s->cwd) : 0;
}
