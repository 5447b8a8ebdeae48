/* runtimes.c - the runtimes of code jobs (issue 14), in the jobcell-worker
 * supervisor: reads the INI files of the runtimes directory, finds each
 * toolchain's version by running its version command (as the slots' base
 * uid, with the cells' PATH, bounded in time and output), and publishes
 * what answered in the runtimes table (jobstore_runtimes_publish), so the
 * API lists and accepts only what a live worker can run; a docker runtime
 * whose daemon does not answer yet is published unprobed, so that a job
 * naming it is told to come back later, not that it does not exist. Trusts its
 * runtimes directory like its config file; not the toolchains' output. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "ini.h"
#include "io.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "worker.h"
#include "banned.h"

#define RUNTIME_FILE_MAX (16 * 1024) /* one INI file */
#define RUNTIME_PROBE_MS 10000	     /* a version command's time */
#define RUNTIME_PROBE_OUT 4096	     /* ... and output read */
#define RUNTIME_PATH "/usr/local/bin:/usr/bin:/bin" /* the cells' */

static bool
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
			*s == '+' || *s == '-' || *s == '_' || *s == '.' ||
			(*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static int
set_str(char *dst, size_t size, const char *v)
{
	return str_copy(dst, size, v);
}

/* One "key = value" of a runtime file. 0, or -EINVAL with errmsg. */
static int
runtime_set(struct runtime_def *rt, const char *key, const char *v,
    char *errmsg, size_t size)
{
	int64_t n;
	int r = 0;

	if (strcmp(key, "name") == 0)
		r = set_str(rt->name, sizeof(rt->name), v);
	else if (strcmp(key, "aliases") == 0)
		r = set_str(rt->aliases, sizeof(rt->aliases), v);
	else if (strcmp(key, "sandbox") == 0)
		r = set_str(rt->sandbox, sizeof(rt->sandbox), v);
	else if (strcmp(key, "image") == 0)
		r = set_str(rt->image, sizeof(rt->image), v);
	else if (strcmp(key, "file") == 0)
		r = set_str(rt->file, sizeof(rt->file), v);
	else if (strcmp(key, "compile") == 0)
		r = set_str(rt->compile, sizeof(rt->compile), v);
	else if (strcmp(key, "run") == 0)
		r = set_str(rt->run, sizeof(rt->run), v);
	else if (strcmp(key, "version") == 0)
		r = set_str(rt->version_cmd, sizeof(rt->version_cmd), v);
	else if (strcmp(key, "compile_timeout") == 0) {
		if (parse_i64(v, 1, 3600, &n) < 0) {
			(void) snprintf(errmsg, size,
			    "'compile_timeout' must be "
			    "1..3600 seconds");
			return -EINVAL;
		}
		rt->compile_timeout_ms = n * 1000;
	} else if (strcmp(key, "compile_memory_mb") == 0) {
		if (parse_i64(v, 1, 1048576, &n) < 0) {
			(void) snprintf(errmsg, size,
			    "'compile_memory_mb' must "
			    "be 1..1048576");
			return -EINVAL;
		}
		rt->compile_memory_mb = n;
	} else {
		(void) snprintf(errmsg, size, "unknown key '%s'", key);
		return -EINVAL;
	}
	if (r < 0)
		(void) snprintf(errmsg, size, "'%s' is too long", key);
	return r < 0 ? -EINVAL : 0;
}

static int
runtime_check(const struct runtime_def *rt, char *errmsg, size_t size)
{
	const char *bad = NULL;

	if (!name_ok(rt->name, 31))
		bad = "'name' must be 1..31 characters [A-Za-z0-9+._-]";
	else if (!name_ok(rt->file, 63) || strcmp(rt->file, ".") == 0 ||
	    strcmp(rt->file, "..") == 0)
		bad = "'file' must be a plain file name [A-Za-z0-9+._-]";
	else if (!rt->run[0])
		bad = "'run' is required";
	else if (!rt->version_cmd[0])
		bad = "'version' (the command that prints the version) is "
		      "required";
	else if (strcmp(rt->sandbox, "namespace") != 0 &&
	    strcmp(rt->sandbox, "docker") != 0)
		bad = "'sandbox' must be namespace or docker";
	else if (strcmp(rt->sandbox, "docker") == 0 && !image_ref_ok(rt->image))
		bad = "a docker runtime needs 'image' (an image reference)";
	else if (strcmp(rt->sandbox, "namespace") == 0 && rt->image[0])
		bad = "'image' is for sandbox = docker";
	if (bad)
		(void) snprintf(errmsg, size, "%s", bad);
	return bad ? -EINVAL : 0;
}

/* Reads one runtime file. 0, or -errno with errmsg (no FILE: prefix). */
static int
runtime_read(int dfd, const char *fname, struct runtime_def *ret, char *errmsg,
    size_t size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct runtime_def rt = {
		.sandbox = "namespace",
		.compile_timeout_ms = 10000,
		.compile_memory_mb = 512,
	};
	struct ini_reader rd;
	struct ini_item it;
	ssize_t n;
	bool in_runtime = false;
	int r;

	if ((fd = openat(dfd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		(void) snprintf(errmsg, size, "cannot open: %s",
		    strerror(errno));
		return -errno;
	}
	if (!(text = malloc(RUNTIME_FILE_MAX + 1)))
		return -ENOMEM;
	if ((n = read_full(fd, text, RUNTIME_FILE_MAX + 1)) < 0) {
		(void) snprintf(errmsg, size, "cannot read: %s",
		    strerror((int) -n));
		return (int) n;
	}
	if (n > RUNTIME_FILE_MAX || memchr(text, '\0', (size_t) n)) {
		(void) snprintf(errmsg, size,
		    "longer than %d bytes or holds a "
		    "NUL byte",
		    RUNTIME_FILE_MAX);
		return -EINVAL;
	}
	text[n] = '\0';
	ini_init(&rd, text);
	while ((r = ini_next(&rd, &it)) > 0) {
		if (it.kind == INI_SECTION) {
			in_runtime = strcmp(ini_trim(it.section), "runtime") ==
			    0;
			if (!in_runtime) {
				(void) snprintf(errmsg, size,
				    "line %u: the only "
				    "section is [runtime]",
				    rd.line);
				return -EINVAL;
			}
			continue;
		}
		if (!in_runtime) {
			(void) snprintf(errmsg, size,
			    "line %u: a key before "
			    "[runtime]",
			    rd.line);
			return -EINVAL;
		}
		if (runtime_set(&rt, it.key, it.value, errmsg, size) < 0) {
			char tmp[300];
			size_t k = (size_t) snprintf(tmp, sizeof(tmp),
			    "line "
			    "%u: ",
			    rd.line);

			if (k < sizeof(tmp))
				(void) str_copy(tmp + k, sizeof(tmp) - k,
				    errmsg);
			(void) str_copy(errmsg, size, tmp);
			return -EINVAL;
		}
	}
	if (r < 0) {
		(void) snprintf(errmsg, size,
		    "line %u: not a [section] or a "
		    "key = value line",
		    rd.line);
		return -EINVAL;
	}
	if ((r = runtime_check(&rt, errmsg, size)) < 0)
		return r;
	*ret = rt;
	return 0;
}

static int
cmp_runtime(const void *a, const void *b)
{
	return strcmp(((const struct runtime_def *) a)->name,
	    ((const struct runtime_def *) b)->name);
}

int
runtimes_load(const char *dir, struct runtime_def **ret, size_t *ret_n)
{
	_cleanup_close_ int dfd = -1;
	struct runtime_def *list = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(d = fdopendir(dfd)))
		return -errno;
	dfd = -1; /* closedir closes it */
	if (!(list = calloc(JC_MAX_RUNTIMES, sizeof(*list)))) {
		(void) closedir(d);
		return -ENOMEM;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char errmsg[300];
		struct runtime_def rt;
		bool dup = false;

		if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0 ||
		    e->d_name[0] == '.')
			continue;
		if (n == JC_MAX_RUNTIMES) {
			log_warn(
			    "runtimes: more than %d files in '%s': the rest "
			    "is ignored",
			    JC_MAX_RUNTIMES, dir);
			break;
		}
		if (runtime_read(dirfd(d), e->d_name, &rt, errmsg,
			sizeof(errmsg)) < 0) {
			log_warn("runtimes: %s/%s: %s, ignoring", dir,
			    e->d_name, errmsg);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			dup = dup || strcmp(list[i].name, rt.name) == 0;
		if (dup) {
			log_warn("runtimes: %s/%s: a second runtime '%s', "
				 "ignoring",
			    dir, e->d_name, rt.name);
			continue;
		}
		list[n++] = rt;
	}
	(void) closedir(d);
	qsort(list, n, sizeof(*list), cmp_runtime);
	*ret = list;
	*ret_n = n;
	return 0;
}

/* The full path of prog in RUNTIME_PATH (what a cell's exec finds), or
 * -ENOENT. */
static int
find_program(const char *prog, char *buf, size_t size)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 &&
			str_copy(buf, size, prog) == 0 ?
		    0 :
		    -ENOENT;
	for (const char *p = RUNTIME_PATH; *p;) {
		size_t w = strcspn(p, ":");

		if ((size_t) snprintf(buf, size, "%.*s/%s", (int) w, p, prog) <
			size &&
		    access(buf, X_OK) == 0)
			return 0;
		p += w;
		p += *p == ':';
	}
	return -ENOENT;
}

/* Splits cmd on blanks into words[max] (pointing into cmd, edited). */
static size_t
split_words(char *cmd, char **words, size_t max)
{
	size_t n = 0;

	for (char *p = cmd; *p && n + 1 < max;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		words[n++] = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = '\0';
	}
	words[n] = NULL;
	return n;
}

/* The first "N.N[.N...]" of out, copied to ver. 0 or -ENOENT. */
static int
version_from(const char *out, char *ver, size_t size)
{
	for (const char *p = out; *p; p++) {
		size_t n = 0;
		int dots = 0;

		if (*p < '0' || *p > '9')
			continue;
		while ((p[n] >= '0' && p[n] <= '9') ||
		    (p[n] == '.' && p[n + 1] >= '0' && p[n + 1] <= '9')) {
			dots += p[n] == '.';
			n++;
		}
		if (dots > 0 && n < size) {
			memcpy(ver, p, n);
			ver[n] = '\0';
			return 0;
		}
		p += n - 1;
	}
	return -ENOENT;
}

/* Runs the version command as uid (output to a pipe, nothing else open,
 * the cells' PATH) and reads its version. 0, or -errno (-ENOENT: the
 * toolchain is not installed). */
static int
runtime_probe(struct runtime_def *rt, uid_t uid)
{
	static char env_path[] = "PATH=" RUNTIME_PATH,
		    env_lang[] = "LANG=C.UTF-8", env_home[] = "HOME=/";
	char *const envp[] = { env_path, env_lang, env_home, NULL };
	char cmd[sizeof(rt->version_cmd)], *words[32], path[512];
	char out[RUNTIME_PROBE_OUT + 1];
	size_t len = 0;
	int p[2], st = 0, r;
	int64_t deadline = time_mono_ms() + RUNTIME_PROBE_MS;
	pid_t pid;

	memcpy(cmd, rt->version_cmd, sizeof(cmd));
	if (split_words(cmd, words, ARRAY_SIZE(words)) == 0)
		return -EINVAL;
	if ((r = find_program(words[0], path, sizeof(path))) < 0)
		return r;
	/* Every program of the compile and run commands must be there too
	 * (a runtime whose compiler is gone is not listed). */
	for (int k = 0; k < 2; k++) {
		char c2[sizeof(rt->run)], *w2[4], p2[512];

		memcpy(c2, k ? rt->run : rt->compile, sizeof(c2));
		if (split_words(c2, w2, ARRAY_SIZE(w2)) > 0 &&
		    w2[0][0] != '{' && strncmp(w2[0], "/work/", 6) != 0 &&
		    find_program(w2[0], p2, sizeof(p2)) < 0)
			return -ENOENT;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		r = -errno;
		(void) close(p[0]);
		(void) close(p[1]);
		return r;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 ||
		    dup2(p[1], 2) < 0 || setsid() < 0 ||
		    setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0 || chdir("/") < 0)
			_exit(127);
		(void) execve(path, words, envp);
		_exit(127);
	}
	(void) close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int64_t left = deadline - time_mono_ms();
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int) left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0)
			break;
		n = read(p[0], out + len, RUNTIME_PROBE_OUT - len);
		if (n <= 0 || (len += (size_t) n) == RUNTIME_PROBE_OUT)
			break;
	}
	(void) close(p[0]);
	(void) kill(-pid, SIGKILL); /* its group: whatever it started */
	(void) kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out[len] = '\0';
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
	    !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && len > 0))
		return -ENOENT;
	return version_from(out, rt->version, sizeof(rt->version));
}

/* A docker runtime: its image is in the daemon and its version command,
 * run in a throwaway container of it (cell_docker_probe: as uid, no
 * network, small limits, RUNTIME_PROBE_MS), exits 0 and prints a version.
 * 0, or -errno (-ENOENT: no image, no toolchain or no version). */
static int
runtime_probe_docker(struct runtime_def *rt, const char *docker_socket,
    uid_t uid)
{
	char cmd[sizeof(rt->version_cmd)], *words[32];
	char out[RUNTIME_PROBE_OUT + 1], msg[300];
	int r, code = -1;

	if (!docker_socket)
		return -ENOTSUP;
	if ((r = cell_docker_image_exists(docker_socket, rt->image)) <= 0)
		return r == 0 ? -ENOENT : r;
	memcpy(cmd, rt->version_cmd, sizeof(cmd));
	if (split_words(cmd, words, ARRAY_SIZE(words)) == 0)
		return -EINVAL;
	if ((r = cell_docker_probe(docker_socket, rt->image, words, uid,
		 (gid_t) uid, RUNTIME_PROBE_MS, out, sizeof(out), &code, msg,
		 sizeof(msg))) < 0) {
		log_info("runtime '%s': its version command in '%s' did not "
			 "run: %s",
		    rt->name, rt->image, msg);
		return r;
	}
	if (code != 0) {
		log_info("runtime '%s': its version command in '%s' exited "
			 "with %d",
		    rt->name, rt->image, code);
		return -ENOENT;
	}
	return version_from(out, rt->version, sizeof(rt->version));
}

size_t
runtimes_probe(struct runtime_def *list, size_t n, uid_t uid,
    const char *docker_socket, bool docker_away, void (*keepalive)(void *arg),
    void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		bool docker = strcmp(list[i].sandbox, "docker") == 0;
		int r;

		list[i].unprobed = false;
		list[i].version[0] = '\0';
		if (docker && docker_socket && docker_away) {
			log_info("runtime '%s': the docker daemon does not "
				 "answer: not listed until it does",
			    list[i].name);
			list[i].unprobed = true;
			list[kept++] = list[i];
			continue;
		}
		if (keepalive)
			keepalive(arg);
		r = docker ?
		    runtime_probe_docker(&list[i], docker_socket, uid) :
		    runtime_probe(&list[i], uid);

		if (r < 0) {
			log_info("runtime '%s': not available ('%s' %s), not "
				 "listed",
			    list[i].name,
			    list[i].image[0] ? list[i].image :
					       list[i].version_cmd,
			    r == -ENOENT ? "found no toolchain or no version" :
					   strerror(-r));
			continue;
		}
		log_info("runtime '%s' %s available", list[i].name,
		    list[i].version);
		list[kept++] = list[i];
	}
	return kept;
}
