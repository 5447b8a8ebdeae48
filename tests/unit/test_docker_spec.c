/* test_docker_spec.c - the docker cell's container settings
 * (cell/docker_spec.c): the body of POST /containers/create for a bare
 * job and for one with everything (files, cwd, stdin, network, cgroup
 * parent, seccomp profile, limits, hostile env bytes), compared byte for
 * byte with tests/unit/golden/docker_create_*.json; the files stream for
 * jobcell-cell-unpack; refusals. No daemon needed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "docker_int.h"
#include "strbuf.h"
#include "tap.h"
#include "banned.h"

#ifndef GOLDEN_DIR
#error GOLDEN_DIR must name tests/unit/golden
#endif

/* The golden file's bytes (without a final newline) into sb. */
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
    const struct docker_create *o)
{
	_cleanup_strbuf_ struct strbuf got, want;
	int r;

	strbuf_init(&got, 1 << 20);
	strbuf_init(&want, 1 << 20);
	r = docker_create_body(s, o, &got);
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
test_bare(void)
{
	char *argv[] = { a_sh, a_c, a_cmd, NULL };
	char *envp[] = { e_path, NULL };
	struct cell_spec s = {
		.job_id = "j0", .argv = argv, .envp = envp, .stdin_fd = -1,
		.host_uid = 200000, .host_gid = 200000, .disk_mb = 1,
	};
	struct docker_create o = { .image = "debian:12", .worker_id = 42 };

	check_body("docker_create_bare.json", &s, &o);
}

static void
test_full(void)
{
	char *argv[] = { a_sh, a_c, a_cmd, NULL };
	char *envp[] = { e_path, e_odd, NULL };
	static const struct cell_file files[] = {
		{ "a.txt", "hello\n", 6, false },
		{ "d/e/b.bin", "\0\1", 2, false },
	};
	struct cell_spec s = {
		.job_id = "job_ABC-123", .argv = argv, .envp = envp,
		.stdin_fd = 0, .host_uid = 200001, .host_gid = 200002,
		.disk_mb = 64, .memory_mb = 256, .cpus = 2, .pids = 64,
		.files = files, .nfiles = 2, .cwd = "d/e", .network = true,
		.image = "ignored: the backend resolves it into o.image",
	};
	struct docker_create o = {
		.image = "registry.local:5000/team/img:1.2", .worker_id = 4242,
		.network = "jobcell-job_ABC-123",
		.unpacker = "/usr/libexec/jobcell/jobcell-cell-unpack",
		.seccomp_profile = "{\"defaultAction\":\"SCMP_ACT_ERRNO\"}",
		.cgroup_parent = "/jobcell/job_ABC-123",
	};

	check_body("docker_create_full.json", &s, &o);
}

static void
test_refusals(void)
{
	_cleanup_strbuf_ struct strbuf sb;
	char *argv[] = { a_sh, NULL };
	char *envp[] = { NULL };
	char longpath[DOCKER_SOCKET_MAX + 300];
	struct cell_spec s = {
		.job_id = "j", .argv = argv, .envp = envp, .stdin_fd = -1,
		.host_uid = 1, .host_gid = 1, .disk_mb = 1, .cwd = "w",
	};
	struct docker_create o = { .image = "i", .unpacker = longpath };

	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	strbuf_init(&sb, 1 << 20);
	is_int(docker_create_body(&s, &o, &sb), -ENAMETOOLONG,
	    "an unpacker path too long for a bind is refused");
	strbuf_release(&sb);
	strbuf_init(&sb, 64);
	o.unpacker = "/u";
	is_int(docker_create_body(&s, &o, &sb), -E2BIG,
	    "a body over the buffer's max is refused");
}

static void
test_files_stream(void)
{
	static const struct cell_file files[] = { { "a/b", "xyz", 3, false },
		{ "x", "\0\1", 2, true } };
	static const char want[] = "JCF2"
				   "\0\0\0\3"
				   "a/b"
				   "\0\0\0\0"
				   "\0\0\0\3"
				   "xyz"
				   "\0\0\0\1"
				   "x"
				   "\0\0\0\1"
				   "\0\0\0\2"
				   "\0\1"
				   "\0\0\0\0"
				   "\0\0\0\1"
				   "w";
	struct cell_spec s = { .files = files, .nfiles = 2, .cwd = "w" };
	_cleanup_strbuf_ struct strbuf sb;

	strbuf_init(&sb, 1024);
	is_int(docker_files_stream(&s, &sb), 0, "files stream built");
	ok(sb.len == sizeof(want) - 1 && memcmp(sb.buf, want, sb.len) == 0,
	    "files stream: magic, {len, path, flags, len, data} (binary, "
	    "executable), 0, len, cwd");
	ok(docker_needs_unpacker(&s), "files need the unpacker");
	s.nfiles = 0;
	ok(docker_needs_unpacker(&s), "a cwd needs the unpacker");
	s.cwd = NULL;
	ok(!docker_needs_unpacker(&s), "neither: no unpacker");
}

static void
test_job_ids(void)
{
	static const struct { const char *id; bool ok; } rows[] = {
		{ "a", true }, { "A-z_09", true }, { "", false },
		{ "a/b", false }, { "a b", false }, { "caf\xc3\xa9", false },
		{ "0123456789012345678901234567890123456789012345678901234567890123",
		  true },
		{ "01234567890123456789012345678901234567890123456789012345678901234",
		  false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(docker_job_id_ok(rows[i].id), rows[i].ok,
		    "job id '%s'", rows[i].id);
}

int
main(void)
{
	test_bare();
	test_full();
	test_refusals();
	test_files_stream();
	test_job_ids();
	return done_testing();
}
