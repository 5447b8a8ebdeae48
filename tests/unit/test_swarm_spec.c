/* test_swarm_spec.c - the swarm cell's service (cell/swarm_spec.c): the
 * body of POST /services/create for a bare job, for one with limits,
 * constraints and hostile env bytes on an old manager (API 1.41: no
 * Privileges), and on a new one (1.46: no-new-privileges and the seccomp
 * profile, base64), compared byte for byte with
 * tests/unit/golden/swarm_service_*.json; what it refuses; the reading of
 * task and node answers. No daemon needed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "jc_limits.h"
#include "swarm_int.h"
#include "strbuf.h"
#include "tap.h"
#include "banned.h"

#ifndef GOLDEN_DIR
#error GOLDEN_DIR must name tests/unit/golden
#endif

static int
golden(const char *name, struct strbuf *sb)
{
	char path[512], buf[4096];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int r;

	(void) snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if ((r = strbuf_add(sb, buf, (size_t) n)) < 0)
			return r;
	if (n < 0)
		return -errno;
	if (sb->len > 0 && sb->buf[sb->len - 1] == '\n')
		sb->buf[--sb->len] = '\0';
	return 0;
}

static void
check_body(const char *name, const struct cell_spec *s,
    const struct swarm_create *o)
{
	_cleanup_strbuf_ struct strbuf got, want;
	int r;

	strbuf_init(&got, 1 << 20);
	strbuf_init(&want, 1 << 20);
	r = swarm_service_body(s, o, &got);
	is_int(r, 0, "%s: body built", name);
	is_int(golden(name, &want), 0, "%s: golden file read", name);
	if (!ok(strcmp(got.buf, want.buf) == 0, "%s: body is the golden one",
		name))
		diag("got: %s", got.buf);
}

static char a_sh[] = "sh", a_c[] = "-c", a_cmd[] = "echo \"hi\" > out";
static char e_path[] = "PATH=/usr/bin:/bin";
static char e_odd[] = "ODD=\"q\"\\\n\t\x01\x7f caf\xc3\xa9";

static void
test_bodies(void)
{
	char *argv[] = { a_sh, a_c, a_cmd, NULL };
	char *envp[] = { e_path, NULL };
	char *envp2[] = { e_path, e_odd, NULL };
	static const char *const cons[] = { "node.role==worker",
		"node.labels.gpu==true" };
	struct cell_spec s = {
		.job_id = "j0",
		.argv = argv,
		.envp = envp,
		.stdin_fd = -1,
		.host_uid = 200000,
		.host_gid = 200000,
		.disk_mb = 1,
	};
	struct swarm_create o = { .image = "debian:12",
		.worker_id = 42,
		.api_minor = 41,
		.stop_grace_ms = 2000 };

	check_body("swarm_service_bare.json", &s, &o);
	s = (struct cell_spec){
		.job_id = "job_ABC-123",
		.argv = argv,
		.envp = envp2,
		.stdin_fd = -1,
		.host_uid = 200001,
		.host_gid = 200002,
		.disk_mb = 64,
		.memory_mb = 256,
		.cpus = 2,
		.pids = 64,
	};
	o = (struct swarm_create){ .image = "registry.local:5000/team/img:1.2",
		.worker_id = 4242,
		.api_minor = 41,
		.stop_grace_ms = 5000,
		.seccomp_profile = "{\"defaultAction\":\"SCMP_ACT_ERRNO\"}",
		.constraints = cons,
		.nconstraints = 2 };
	check_body("swarm_service_full.json", &s, &o);
	o.api_minor = 46;
	check_body("swarm_service_146.json", &s, &o);
	o.stopping = true; /* the update that stops it */
	check_body("swarm_service_stop.json", &s, &o);
}

static void
test_refusals(void)
{
	char *argv[] = { a_sh, NULL };
	static const struct cell_file files[] = { { "a", "b", 1, false } };
	struct cell_spec base = {
		.job_id = "j", .argv = argv, .stdin_fd = -1,
		.host_uid = 1, .host_gid = 1, .disk_mb = 1,
	}, s;
	struct swarm_create o = { .image = "i", .api_minor = 41 };
	_cleanup_strbuf_ struct strbuf sb;

	strbuf_init(&sb, 1 << 20);
	s = base;
	s.nfiles = 1;
	s.files = files;
	is_int(swarm_service_body(&s, &o, &sb), -EINVAL, "files refused");
	s = base;
	s.stdin_fd = 0;
	is_int(swarm_service_body(&s, &o, &sb), -EINVAL, "stdin refused");
	s = base;
	s.network = true;
	is_int(swarm_service_body(&s, &o, &sb), -EINVAL, "network refused");
	s = base;
	s.cwd = "d";
	is_int(swarm_service_body(&s, &o, &sb), -EINVAL,
	    "cwd refused without configs");
	/* With the unpacker's and the stream's configs: carried, the job
	 * starting through the unpacker; network still refused. */
	{
		static const struct swarm_config_ref refs[] = {
			{ "c1", "n1", SWARM_UNPACKER_IN, 0555 },
			{ "c2", "n2", SWARM_STREAM_IN, 0444 },
			{ "c3", "n3", SWARM_STDIN_IN, 0444 },
		};
		struct swarm_create oc = o;

		oc.configs = refs;
		oc.nconfigs = 3;
		oc.stdin_in = SWARM_STDIN_IN;
		s.stdin_fd = 0;
		strbuf_reset(&sb);
		is_int(swarm_service_body(&s, &oc, &sb), 0,
		    "cwd, stdin carried");
		ok(strstr(sb.buf,
		       "\"Command\":[\"/.jobcell/unpack\",\"--from\","
		       "\"/.jobcell/files\",\"/.jobcell/stdin\",\"sh\"]") !=
			NULL,
		    "the job starts through the unpacker");
		ok(strstr(sb.buf,
		       "{\"File\":{\"Name\":\"/.jobcell/unpack\",\"UID\":"
		       "\"0\",\"GID\":\"0\",\"Mode\":365},\"ConfigID\":"
		       "\"c1\",\"ConfigName\":\"n1\"}") != NULL,
		    "the unpacker's config, mode 0555");
		oc.nconfigs = 1;
		is_int(swarm_service_body(&s, &oc, &sb), -EINVAL,
		    "one config is not enough");
		oc.nconfigs = 3;
		s.network = true;
		is_int(swarm_service_body(&s, &oc, &sb), -EINVAL,
		    "network refused with configs");
	}
	strbuf_reset(&sb);
	is_int(swarm_config_body("n", "j", 7, "abcd", 4, &sb), 0, "a config");
	is_str(sb.buf,
	    "{\"Name\":\"n\",\"Labels\":{\"jobcell.job\":\"j\","
	    "\"jobcell.worker\":\"7\"},\"Data\":\"YWJjZA==\"}",
	    "a config's body: labels, base64");
	is_int(swarm_config_body("n", "j", 7, "", 0, &sb), -EINVAL,
	    "an empty config refused");
	is_int(swarm_config_body("n", "a/b", 7, "x", 1, &sb), -EINVAL,
	    "a config with a bad job id refused");
	{
		static char big[JC_SWARM_CONFIG_MAX + 1];

		is_int(swarm_config_body("n", "j", 7, big, sizeof(big), &sb),
		    -E2BIG, "a config over the cap refused");
	}
	s = base;
	s.host_uid = 0;
	is_int(swarm_service_body(&s, &o, &sb), -EINVAL, "root refused");
	s = base;
	s.job_id = "a/b";
	is_int(swarm_service_body(&s, &o, &sb), -EINVAL, "bad job id refused");
	strbuf_release(&sb);
	strbuf_init(&sb, 64);
	is_int(swarm_service_body(&base, &o, &sb), -E2BIG,
	    "a body over the buffer's max is refused");
}

static void
test_tasks(void)
{
	static const struct {
		const char *in;
		int r;
		enum swarm_task_state st;
		int code;
		const char *node;
	} rows[] = {
		{ "[]", 0, SWARM_TASK_NONE, 0, "" },
		{ "[{\"NodeID\":\"abc123\",\"Status\":{\"State\":\"running\"}}]",
		    0, SWARM_TASK_RUNNING, 0, "abc123" },
		{ "[{\"Status\":{\"State\":\"pending\"}}]", 0,
		    SWARM_TASK_PENDING, 0, "" },
		{ "[{\"NodeID\":\"n1\",\"Status\":{\"State\":\"failed\","
		  "\"Err\":\"task: non-zero exit (3)\",\"ContainerStatus\":"
		  "{\"ExitCode\":3}}}]",
		    0, SWARM_TASK_EXITED, 3, "n1" },
		{ "[{\"Status\":{\"State\":\"complete\",\"ContainerStatus\":"
		  "{}}}]",
		    0, SWARM_TASK_EXITED, 0, "" },
		{ "[{\"Status\":{\"State\":\"rejected\",\"Err\":\"No such "
		  "image\"}}]",
		    0, SWARM_TASK_REJECTED, 0, "" },
		{ "[{\"Status\":{\"State\":\"orphaned\"}}]", 0, SWARM_TASK_LOST,
		    0, "" },
		{ "[{\"Status\":{\"State\":\"brand-new\"}}]", 0,
		    SWARM_TASK_LOST, 0, "" },
		{ "[{\"NodeID\":\"../x\",\"Status\":{\"State\":\"running\"}}]",
		    0, SWARM_TASK_RUNNING, 0, "" },
		{ "[{\"Status\":{\"State\":\"failed\",\"ContainerStatus\":"
		  "{\"ExitCode\":300}}}]",
		    -EPROTO, 0, 0, "" },
		{ "[{\"Status\":{\"State\":\"failed\"}}]", -EPROTO, 0, 0, "" },
		{ "{}", -EPROTO, 0, 0, "" },
		{ "[{\"Status\":7}]", -EPROTO, 0, 0, "" },
		{ "", -EPROTO, 0, 0, "" },
		{ "[[[[", -EPROTO, 0, 0, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct swarm_task t = { .state = 99 };
		int r = swarm_task_parse(rows[i].in, strlen(rows[i].in), NULL,
		    &t);

		is_int(r, rows[i].r, "task '%s': result", rows[i].in);
		if (r < 0 || rows[i].r < 0)
			continue;
		is_int(t.state, rows[i].st, "task '%s': state", rows[i].in);
		is_int(t.exit_code, rows[i].code, "task '%s': exit code",
		    rows[i].in);
		is_str(t.node_id, rows[i].node, "task '%s': node", rows[i].in);
	}
}

static void
test_task_pick_and_version(void)
{
	static const char two[] =
	    "[{\"ID\":\"new1\",\"Status\":{\"State\":"
	    "\"pending\"}},{\"ID\":\"old1\",\"NodeID\":\"n2\",\"Status\":"
	    "{\"State\":\"running\"}}]";
	struct swarm_task t;
	int64_t v = -1;

	is_int(swarm_task_parse(two, strlen(two), "old1", &t), 0, "pick by id");
	is_int(t.state, SWARM_TASK_RUNNING, "the picked task's state");
	is_str(t.id, "old1", "the picked task's id");
	is_str(t.node_id, "n2", "the picked task's node");
	is_int(swarm_task_parse(two, strlen(two), "gone1", &t), 0,
	    "a task that is gone");
	is_int(t.state, SWARM_TASK_NONE, "... is NONE");
	is_int(swarm_task_parse(two, strlen(two), "", &t), 0, "no id: first");
	is_str(t.id, "new1", "... the first");
	static const char ver[] = "{\"Version\":{\"Index\":42}}";

	is_int(swarm_service_version(ver, strlen(ver), &v), 0,
	    "service version read");
	is_int(v, 42, "... 42");
	is_int(swarm_service_version("{\"Version\":{}}", 14, &v), -EPROTO,
	    "no index: refused");
	is_int(swarm_service_version("[]", 2, &v), -EPROTO, "not an object");
}

static void
test_nodes_and_ids(void)
{
	static const struct {
		const char *in;
		bool down;
	} nodes[] = {
		{ "{\"Status\":{\"State\":\"ready\"}}", false },
		{ "{\"Status\":{\"State\":\"down\"}}", true },
		{ "{\"Status\":{\"State\":\"disconnected\"}}", true },
		{ "{\"Status\":{}}", false },
		{ "not json", false },
	};
	static const struct {
		const char *id;
		bool ok;
	} ids[] = {
		{ "nitz7mhzawtwp4hm88zb5bj31", true },
		{ "", false },
		{ "A", false },
		{ "a/b", false },
		{ "../x", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
		is_int(swarm_node_down(nodes[i].in, strlen(nodes[i].in)),
		    nodes[i].down, "node '%s'", nodes[i].in);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		is_int(swarm_id_ok(ids[i].id), ids[i].ok, "id '%s'", ids[i].id);
}

/* ---- the log stream reader ---- */

static void
room_out(void)
{
	diag("test stream: out of room");
	exit(1);
}

static void
frame(struct strbuf *sb, int stream, const char *payload, size_t len)
{
	char hdr[8] = { (char) stream, 0, 0, 0, (char) (len >> 24),
		(char) (len >> 16), (char) (len >> 8), (char) len };

	if (strbuf_add(sb, hdr, sizeof(hdr)) < 0 ||
	    strbuf_add(sb, payload, len) < 0)
		room_out();
}

struct got {
	struct strbuf out, err;
	int calls;
};

static int
got_emit(int stream, const char *data, size_t len, void *arg)
{
	struct got *g = arg;

	g->calls++;
	return strbuf_add(stream == 1 ? &g->out : &g->err, data, len);
}

/* Feeds in pieces of step bytes (0: whole); the reader's result. */
static int
feed(const struct strbuf *in, size_t step, uint64_t skip, const char *skip_ts,
    struct got *g, struct swarm_logs *l)
{
	int r = 0;

	strbuf_init(&g->out, 1 << 20);
	strbuf_init(&g->err, 1 << 20);
	g->calls = 0;
	swarm_logs_init(l, skip, skip_ts, got_emit, g);
	for (size_t i = 0; i < in->len && r == 0; i += step ? step : in->len) {
		size_t n = step && in->len - i > step ? step : in->len - i;

		r = swarm_logs_feed(l, in->buf + i, n);
	}
	return r;
}

static void
test_logs(void)
{
	static const char t1[] = "2026-12-06T15:00:00.000000001Z";
	static const char t2[] = "2026-12-06T15:00:00.000000002Z";
	_cleanup_strbuf_ struct strbuf in, bad;
	struct swarm_logs l;
	struct got g;
	char big[17000];

	strbuf_init(&in, 1 << 20);
	strbuf_init(&bad, 2 << 20);
	memset(big, 'x', sizeof(big));
	memcpy(big, t2, sizeof(t2) - 1);
	big[sizeof(t2) - 1] = ' ';
	frame(&in, 1, "2026-12-06T15:00:00.000000001Z h\303\251llo\n", 38);
	frame(&in, 2, "2026-12-06T15:00:00.000000001Z to-err\n", 38);
	frame(&in, 1, "2026-12-06T15:00:00.000000002Z  two spaces\n", 43);
	frame(&in, 1, big, sizeof(big));
	frame(&in, 1, "2026-12-06T15:00:00.000000002Z no newline", 41);
	for (size_t step = 0; step < 12; step = step ? step * 3 : 1) {
		is_int(feed(&in, step, 0, NULL, &g, &l), 0,
		    "whole read, by %zu", step);
		is_int(g.calls, 5, "five messages, by %zu", step);
		is_int((int) l.seen, 5, "five seen, by %zu", step);
		is_str(l.last_ts, t2, "last time, by %zu", step);
		is_int((int) g.out.len,
		    7 + 12 + (int) (sizeof(big) - sizeof(t2)) + 10,
		    "stdout bytes, by %zu", step);
		ok(memcmp(g.out.buf, "h\303\251llo\n two spaces\n", 19) == 0,
		    "stdout starts as written, by %zu", step);
		ok(memcmp(g.out.buf + g.out.len - 10, "no newline", 10) == 0,
		    "stdout ends as written, by %zu", step);
		is_str(g.err.buf, "to-err\n", "stderr, by %zu", step);
		ok(!l.misaligned, "aligned, by %zu", step);
		swarm_logs_release(&l);
		strbuf_release(&g.out);
		strbuf_release(&g.err);
	}
	/* A second read skips what the first handed on, and checks it. */
	is_int(feed(&in, 5, 2, t1, &g, &l), 0, "skip 2");
	is_int(g.calls, 3, "skip 2: three handed on");
	is_int((int) g.err.len, 0, "skip 2: stderr was the second");
	ok(!l.misaligned, "skip 2: aligned");
	swarm_logs_release(&l);
	strbuf_release(&g.out);
	strbuf_release(&g.err);
	is_int(feed(&in, 0, 2, t2, &g, &l), 0, "skip 2, another time");
	ok(l.misaligned, "skip 2, another time: misaligned");
	swarm_logs_release(&l);
	strbuf_release(&g.out);
	strbuf_release(&g.err);
	is_int(feed(&in, 0, 9, NULL, &g, &l), 0, "skip past the end");
	is_int(g.calls, 0, "skip past the end: nothing");
	swarm_logs_release(&l);
	strbuf_release(&g.out);
	strbuf_release(&g.err);
	/* Hostile: no time, an empty time, a time too long, stream 3, a
	 * message over the cap. */
	frame(&bad, 1, "notime", 6);
	is_int(feed(&bad, 0, 0, NULL, &g, &l), -EPROTO, "no time");
	swarm_logs_release(&l);
	strbuf_release(&g.out);
	strbuf_release(&g.err);
	strbuf_reset(&bad);
	frame(&bad, 1, " x", 2);
	is_int(feed(&bad, 0, 0, NULL, &g, &l), -EPROTO, "empty time");
	swarm_logs_release(&l);
	strbuf_release(&g.out);
	strbuf_release(&g.err);
	strbuf_reset(&bad);
	frame(&bad, 3, "2026-12-06T15:00:00.000000002Z x", 32);
	is_int(feed(&bad, 0, 0, NULL, &g, &l), -EPROTO, "stream 3");
	swarm_logs_release(&l);
	strbuf_release(&g.out);
	strbuf_release(&g.err);
	strbuf_reset(&bad);
	{
		char hdr[8] = { 1, 0, 0, 0, 0x00, 0x10, 0x00, 0x01 };

		if (strbuf_add(&bad, hdr, sizeof(hdr)) < 0 ||
		    strbuf_add(&bad, big, sizeof(big)) < 0)
			room_out();
		for (size_t i = 0; i < 70; i++)
			if (strbuf_add(&bad, big, sizeof(big)) < 0)
				room_out();
		is_int(feed(&bad, 0, 0, NULL, &g, &l), -EPROTO,
		    "a message over the cap");
		swarm_logs_release(&l);
		strbuf_release(&g.out);
		strbuf_release(&g.err);
	}
}

/* ---- the files stream with inputs (ustar) ---- */

static void
tar_add(struct strbuf *sb, const char *name, char type, unsigned mode,
    const char *data, size_t len, bool bad_sum)
{
	unsigned char h[512] = { 0 };
	unsigned sum = 0;
	static const char zero[512];

	memcpy(h, name, strlen(name));
	(void) snprintf((char *) h + 100, 8, "%07o", mode);
	(void) snprintf((char *) h + 124, 12, "%011zo", len);
	h[156] = (unsigned char) type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	(void) snprintf((char *) h + 148, 8, "%06o", sum + (bad_sum ? 1 : 0));
	if (strbuf_add(sb, h, 512) < 0 || strbuf_add(sb, data, len) < 0 ||
	    strbuf_add(sb, zero, (512 - len % 512) % 512) < 0)
		room_out();
}

static void
tar_end(struct strbuf *sb)
{
	static const char zero[1024];

	if (strbuf_add(sb, zero, sizeof(zero)) < 0)
		room_out();
}

static void
test_inputs_stream(void)
{
	char *argv[] = { a_sh, NULL };
	struct cell_spec s = { .job_id = "j",
		.argv = argv,
		.stdin_fd = -1,
		.cwd = "t" };
	_cleanup_strbuf_ struct strbuf tar, out, want;
	struct swarm_blob b[2] = {
		{ "inputs[0]", "f.txt", false, true, "xyz", 3 },
		{ "inputs[1]", "t", true, false, NULL, 0 },
	};
	char msg[256];
	static const struct {
		const char *name;
		char type;
		bool bad_sum;
		const char *words;
	} hostile[] = {
		{ "link", '2', false, "a link" },
		{ "hard", '1', false, "a link" },
		{ "pax", 'x', false, "pax" },
		{ "../up", '0', false, "a path a job cannot have" },
		{ "/abs", '0', false, "a path a job cannot have" },
		{ "sum", '0', true, "not a ustar archive" },
	};

	strbuf_init(&tar, 1 << 20);
	strbuf_init(&out, 1 << 20);
	strbuf_init(&want, 1 << 20);
	tar_add(&tar, "./", '5', 0755, "", 0, false);
	tar_add(&tar, "./a.txt", '0', 0644, "a\n", 2, false);
	tar_add(&tar, "./sub/", '5', 0755, "", 0, false);
	tar_add(&tar, "./sub/tool", '0', 0755, "#!x", 3, false);
	tar_end(&tar);
	b[1].data = tar.buf;
	b[1].len = tar.len;
	is_int(swarm_files_stream(&s, b, 2, &out, msg, sizeof(msg)), 0,
	    "a file and an archive");
	/* JCF2, f.txt (exec), t/a.txt, t/sub/tool (exec), 0, cwd "t" */
	if (strbuf_add(&want,
		"JCF2"
		"\0\0\0\5f.txt\0\0\0\1\0\0\0\3xyz"
		"\0\0\0\7t/a.txt\0\0\0\0\0\0\0\2a\n"
		"\0\0\0\12t/sub/tool\0\0\0\1\0\0\0\3#!x"
		"\0\0\0\0\0\0\0\1t",
		4 + 20 + 21 + 25 + 9) < 0)
		room_out();
	ok(out.len == want.len && memcmp(out.buf, want.buf, out.len) == 0,
	    "the stream, byte for byte (%zu bytes)", out.len);
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		strbuf_reset(&tar);
		strbuf_reset(&out);
		tar_add(&tar, hostile[i].name, hostile[i].type, 0644, "x", 1,
		    hostile[i].bad_sum);
		tar_end(&tar);
		b[1].data = tar.buf;
		b[1].len = tar.len;
		msg[0] = '\0';
		is_int(swarm_files_stream(&s, b, 2, &out, msg, sizeof(msg)),
		    -EINVAL, "archive entry '%s' refused", hostile[i].name);
		ok(strstr(msg, "inputs[1]") && strstr(msg, hostile[i].words),
		    "  saying so: %s", msg);
	}
	/* Not a tar at all (gzip), cut short, no end blocks. */
	b[1].data = "\x1f\x8b\x08";
	b[1].len = 3;
	strbuf_reset(&out);
	is_int(swarm_files_stream(&s, b, 2, &out, msg, sizeof(msg)), -EINVAL,
	    "gzip refused");
	ok(strstr(msg, "not a ustar archive") != NULL, "  %s", msg);
	strbuf_reset(&tar);
	tar_add(&tar, "a", '0', 0644, "abc", 3, false);
	b[1].data = tar.buf;
	b[1].len = tar.len;
	strbuf_reset(&out);
	is_int(swarm_files_stream(&s, b, 2, &out, msg, sizeof(msg)), -EINVAL,
	    "no end blocks refused");
	b[1].len = 512 + 1;
	strbuf_reset(&out);
	is_int(swarm_files_stream(&s, b, 2, &out, msg, sizeof(msg)), -EINVAL,
	    "data cut short refused");
	/* Over the stream's max. */
	strbuf_release(&out);
	strbuf_init(&out, 16);
	b[1].data = NULL;
	is_int(swarm_files_stream(&s, b, 1, &out, msg, sizeof(msg)), -E2BIG,
	    "over the max");
}

/* Which inputs go to the decompressor: by magic bytes only. */
static void
test_compression(void)
{
	static const struct {
		const char *data;
		size_t len;
		const char *want;
	} rows[] = {
		{ "\x1f\x8b\x08\x00", 4, "gzip" },
		{ "\x1f\x8b", 2, "gzip" },
		{ "\x1f", 1, NULL },
		{ "\xfd\x37zXZ\0\0", 7, "xz" },
		{ "\xfd\x37zXZ", 5, NULL },
		{ "\x28\xb5\x2f\xfd\x00", 5, "zstd" },
		{ "\x28\xb5\x2f", 3, NULL },
		{ "BZh9", 4, "bzip2" },
		{ "BZ", 2, NULL },
		{ "", 0, NULL },
		{ "./a.txt\0\0\0", 10, NULL }, /* a ustar header's name */
		{ "\0\x1f\x8b", 3, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *got = swarm_compression(rows[i].data, rows[i].len);

		if (rows[i].want)
			is_str(got ? got : "(null)", rows[i].want,
			    "row %zu is %s", i, rows[i].want);
		else
			ok(got == NULL, "row %zu is none (%s)", i,
			    got ? got : "none");
	}
	/* a plain tar whose first entry's name starts like bzip2 */
	_cleanup_strbuf_ struct strbuf tar;

	strbuf_init(&tar, 1 << 16);
	tar_add(&tar, "BZh.txt", '0', 0644, "x", 1, false);
	tar_end(&tar);
	ok(swarm_compression(tar.buf, tar.len) == NULL,
	    "a ustar archive named like a magic is plain");
}

int
main(void)
{
	test_bodies();
	test_refusals();
	test_tasks();
	test_task_pick_and_version();
	test_nodes_and_ids();
	test_logs();
	test_inputs_stream();
	test_compression();
	return done_testing();
}
