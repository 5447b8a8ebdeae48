/* test_config.c - the config file parser: every kind of bad line is an
 * error naming the file and line; good files set exactly what they say. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "jc_config.h"
#include "tap.h"

static char path[64];

static int
load_text(const char *text, size_t len, struct config *c, char *err,
    size_t size)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		return -EIO;
	config_defaults(c);
	err[0] = '\0';
	return config_load(c, path, err, size);
}

int
main(void)
{
	static const struct { const char *text; int r; const char *where; }
	    rows[] = {
		{ "", 0, NULL },
		{ "# comment\n; other\n\n", 0, NULL },
		{ "[api]\nthreads = 4\n", 0, NULL },
		{ "[api]\r\nthreads=4\r\n", 0, NULL },
		{ "threads = 4\n", -EINVAL, ":1:" },
		{ "[api]\nthreads = 0\n", -EINVAL, ":2:" },
		{ "[api]\nthreads = 257\n", -EINVAL, ":2:" },
		{ "[api]\nthreads = four\n", -EINVAL, ":2:" },
		{ "[api]\nthreads\n", -EINVAL, ":2:" },
		{ "[api]\nmax_waiters_per_consumer = 8\n", 0, NULL },
		{ "[api]\nmax_streams_per_consumer = 256\n", 0, NULL },
		{ "[api]\nmax_waiters = 257\n", -EINVAL, ":2:" },
		{ "[api]\nmax_streams = 0\n", -EINVAL, ":2:" },
		{ "[api]\nmax_streams_per_consumer = 257\n", -EINVAL, ":2:" },
		{ "[api]\nthread = 4\n", -EINVAL, ":2:" },
		{ "[apis]\n", -EINVAL, ":1:" },
		{ "[api\n", -EINVAL, ":1:" },
		{ "[api] x\n", -EINVAL, ":1:" },
		{ "[api]\ndb =\n", -EINVAL, ":2:" },
		{ "[limits]\nnetwork = maybe\n", -EINVAL, ":2:" },
		{ "[limits]\nnetwork = true\n", 0, NULL },
		{ "[limits]\nsandbox = docker\n", 0, NULL },
		{ "[limits]\nsandbox = namespace docker\n", -EINVAL, "sandbox" },
		{ "[limits]\nsandbox = vm\n", -EINVAL, "sandbox" },
		{ "[worker]\nsandbox = namespace, docker\n", 0, NULL },
		{ "[worker]\nsandbox = docker\n", 0, NULL },
		{ "[worker]\nsandbox = docker vm\n", -EINVAL, "sandbox" },
		{ "[worker]\nsandbox = ,\n", -EINVAL, "sandbox" },
		{ "[limits]\ntimeout_default = 100\ntimeout_max = 50\n", -EINVAL,
		  "timeout" },
		{ "[worker]\nslots = 3\n[limits]\ncpus_max = 4\n", 0, NULL },
		{ "[worker]\ndrain_grace_ms = 0\n", 0, NULL },
		{ "[worker]\ndrain_grace_ms = 3600001\n", -EINVAL, ":2:" },
		{ "[api]\nlog_level = debug\n[worker]\nlog_level = err\n", 0,
		  NULL },
		{ "[api]\nlog_level = warn\n", 0, NULL },
		{ "[api]\nlog_level = verbose\n", -EINVAL, ":2: 'log_level'" },
		{ "[worker]\n\nlog_level = INFO\n", -EINVAL, ":3:" },
		{ "[worker]\nlog_level =\n", -EINVAL, ":2:" },
		{ "[limits]\nlog_level = info\n", -EINVAL, ":2: unknown key" },
		{ "[worker]\ndocker_socket = /var/run/docker.sock\n"
		  "docker_image = debian:12\n"
		  "docker_images = debian:12, alpine:3.20\n", 0, NULL },
		{ "[worker]\ndocker_image =\n", -EINVAL, ":2:" },
		{ "[worker]\ndocker_image = Debian\n", -EINVAL, "docker_image" },
		{ "[worker]\ndocker_image = -x\n", -EINVAL, "docker_image" },
		{ "[worker]\ndocker_images = ok:1 bad?img\n", -EINVAL,
		  "docker_images" },
		{ "[limits]\ndocker_image = debian\n", -EINVAL, ":2:" },
	};
	struct config c;
	char err[512];
	int fd;

	(void) snprintf(path, sizeof(path), "/tmp/jobcell-test-config-XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return 1;
	(void) close(fd);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r = load_text(rows[i].text, strlen(rows[i].text), &c, err,
		    sizeof(err));

		is_int(r, rows[i].r, "row %zu '%s'", i, rows[i].text);
		if (r < 0 && rows[i].where)
			ok(strstr(err, path) && strstr(err, rows[i].where),
			    "row %zu error '%s' names the file and %s", i, err,
			    rows[i].where);
	}
	{
		static const char good[] =
		    "[worker]\nslots = 3\n[limits]\nnetwork = yes\n";

		is_int(load_text(good, strlen(good), &c, err, sizeof(err)), 0,
		    "good file");
	}
	is_int(c.worker_slots, 3, "slots read");
	ok(c.limits.network_allowed, "network read");
	is_str(c.limits.sandbox, "namespace", "the default sandbox is namespace");
	{
		unsigned m = 0;

		is_int(config_sandboxes("namespace", &m), 0, "namespace parses");
		is_int((int) m, SANDBOX_NAMESPACE, "namespace alone");
		is_int(config_sandboxes(" docker,namespace ", &m), 0,
		    "a list parses");
		is_int((int) m, SANDBOX_NAMESPACE | SANDBOX_DOCKER, "both");
		is_int(config_sandboxes("docker", &m), 0, "docker parses");
		is_int((int) m, SANDBOX_DOCKER, "docker alone");
		is_int(config_sandboxes("", &m), -EINVAL, "empty refused");
		is_int(config_sandboxes("dockers", &m), -EINVAL,
		    "a longer word refused");
		is_int(config_sandboxes("docke", &m), -EINVAL,
		    "a prefix refused");
	}
	is_int(c.api_threads, 8, "untouched key keeps its default");
	is_int(c.worker_drain_grace_ms, JC_DRAIN_GRACE_MS,
	    "drain grace defaults to JC_DRAIN_GRACE_MS");
	is_str(c.worker_docker_socket, "", "no docker socket by default");
	{
		static const char dk[] = "[worker]\n"
		    "docker_socket = /run/d.sock\ndocker_image = busybox:1\n";
		char longimg[400];

		is_int(load_text(dk, strlen(dk), &c, err, sizeof(err)), 0,
		    "docker keys");
		is_str(c.worker_docker_socket, "/run/d.sock", "docker_socket read");
		is_str(c.limits.docker_image, "busybox:1", "docker_image read");
		(void) snprintf(longimg, sizeof(longimg), "[worker]\n"
		    "docker_image = %0300d\n", 1);
		is_int(load_text(longimg, strlen(longimg), &c, err, sizeof(err)),
		    -EINVAL, "an image name past its buffer");
	}
	is_int(load_text("[api]\nthreads = 4\n\0x", 21, &c, err, sizeof(err)),
	    -EINVAL, "NUL byte refused");
	{
		size_t n = CONFIG_MAX_BYTES + 1;
		char *big = malloc(n);

		if (!big)
			return 1;
		memset(big, '#', n);
		is_int(load_text(big, n, &c, err, sizeof(err)), -E2BIG,
		    "file over the cap refused");
		free(big);
	}
	(void) unlink(path);
	config_defaults(&c);
	is_int(config_load(&c, path, err, sizeof(err)), -ENOENT,
	    "missing file is -ENOENT");
	ok(strstr(err, path) != NULL, "missing file error names it");
	is_int(config_resolve(path, &c, err, sizeof(err)), -ENOENT,
	    "an explicit missing file fails");
	return done_testing();
}
