/* project.c - what `jobcell make` knows about a project: its root (the
 * nearest directory upward holding a .jobcell file, else git's top
 * level), where the current directory sits under it, and the .jobcell
 * file itself (INI keys, no sections). Runs in the client; trusts the
 * user's own files but still bounds and checks every value. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "ini.h"
#include "io.h"
#include "parse.h"
#include "banned.h"

extern char **environ;

int
project_root_marker(const char *start, char *ret, size_t size)
{
	char dir[JC_PATH_MAX], probe[JC_PATH_MAX + 16];
	struct stat st;
	int n;

	if (start[0] != '/' || str_copy(dir, sizeof(dir), start) < 0)
		return -EINVAL;
	for (;;) {
		n = snprintf(probe, sizeof(probe), "%s/%s",
		    strcmp(dir, "/") == 0 ? "" : dir, PROJECT_FILE);
		if (n < 0 || (size_t) n >= sizeof(probe))
			return -ENAMETOOLONG;
		if (stat(probe, &st) == 0 && S_ISREG(st.st_mode))
			return str_copy(ret, size, dir) < 0 ? -ENAMETOOLONG : 0;
		if (strcmp(dir, "/") == 0)
			return -ENOENT;
		{
			char *slash = strrchr(dir, '/');

			if (slash == dir)
				dir[1] = '\0';
			else
				*slash = '\0';
		}
	}
}

/* `git rev-parse --show-toplevel` run in dir, without a shell. */
static int
git_toplevel(const char *dir, char *ret, size_t size)
{
	posix_spawn_file_actions_t fa;
	_cleanup_free_ char *out = NULL;
	_cleanup_close_ int devnull = -1;
	int pfd[2] = { -1, -1 };
	char a_git[] = "git", a_c[] = "-C", a_rev[] = "rev-parse";
	char a_top[] = "--show-toplevel", a_dir[JC_PATH_MAX];
	char *argv[] = { a_git, a_c, a_dir, a_rev, a_top, NULL };
	size_t len = 0;
	pid_t pid;
	int r, status;

	if (str_copy(a_dir, sizeof(a_dir), dir) < 0)
		return -ENAMETOOLONG;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
		(void) close(pfd[0]);
		(void) close(pfd[1]);
		return -r;
	}
	r = posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, devnull, 2);
	if (r == 0)
		r = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
	(void) posix_spawn_file_actions_destroy(&fa);
	(void) close(pfd[1]);
	if (r != 0) {
		(void) close(pfd[0]);
		return -r; /* no git: ENOENT */
	}
	r = read_all(pfd[0], JC_PATH_MAX, &out, &len);
	(void) close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ENOENT; /* not in a work tree */
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	if (len == 0 || out[0] != '/' || memchr(out, '\0', len))
		return -EINVAL;
	return str_copy(ret, size, out) < 0 ? -ENAMETOOLONG : 0;
}

int
project_rel(const char *root, const char *cwd, char *ret, size_t size)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		n = 0;
	if (strncmp(cwd, root, n) != 0 || (cwd[n] != '\0' && cwd[n] != '/'))
		return -EINVAL;
	while (cwd[n] == '/')
		n++;
	return str_copy(ret, size, cwd + n) < 0 ? -ENAMETOOLONG : 0;
}

int
project_find(const char *cwd, char *ret_root, size_t root_size,
    bool *ret_marker)
{
	int r;

	r = project_root_marker(cwd, ret_root, root_size);
	if (r != -ENOENT) {
		*ret_marker = true;
		return r;
	}
	*ret_marker = false;
	r = git_toplevel(cwd, ret_root, root_size);
	if (r < 0)
		return r == -EINVAL || r == -ENAMETOOLONG ? r : -ENOENT;
	return 0;
}

static int conf_err(char *err, size_t size, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
conf_err(char *err, size_t size, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, size, "line %u: ", line);

	if (n > 0 && (size_t) n < size) {
		va_start(ap, fmt);
		(void) vsnprintf(err + n, size - (size_t) n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Splits a space-separated list of globs into a[max]; -E2BIG if more. */
static int
conf_words(char *v, char **a, size_t max, size_t *ret_n)
{
	size_t n = 0;

	for (char *p = v; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -E2BIG;
		a[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	*ret_n = n;
	return 0;
}

int
project_conf_parse(char *text, struct project_conf *c, char *err,
    size_t err_size)
{
	struct ini_reader rd;
	struct ini_item it;
	int r;

	*c = (struct project_conf){ .timeout_s = -1,
		.memory_mb = -1,
		.disk_mb = -1 };
	err[0] = '\0';
	ini_init(&rd, text);
	while ((r = ini_next(&rd, &it)) > 0) {
		if (it.kind == INI_SECTION)
			return conf_err(err, err_size, rd.line,
			    "sections are not used in %s", PROJECT_FILE);
		if (strcmp(it.key, "image") == 0) {
			if (!*it.value || strlen(it.value) > JC_MAX_IMAGE_BYTES)
				return conf_err(err, err_size, rd.line,
				    "'image' wants an image name%s", "");
			c->image = it.value;
		} else if (strcmp(it.key, "sandbox") == 0) {
			if (strcmp(it.value, "namespace") != 0 &&
			    strcmp(it.value, "docker") != 0)
				return conf_err(err, err_size, rd.line,
				    "'sandbox' is namespace or docker, not "
				    "'%s'",
				    it.value);
			c->sandbox = it.value;
		} else if (strcmp(it.key, "artifacts") == 0) {
			if (conf_words(it.value, c->artifacts,
				JC_MAX_ARTIFACT_GLOBS, &c->n_artifacts) < 0)
				return conf_err(err, err_size, rd.line,
				    "'artifacts' has more than 32 globs%s", "");
		} else if (strcmp(it.key, "exclude") == 0) {
			if (conf_words(it.value, c->exclude,
				PROJECT_EXCLUDE_MAX, &c->n_exclude) < 0)
				return conf_err(err, err_size, rd.line,
				    "'exclude' has too many globs%s", "");
		} else if (strcmp(it.key, "timeout") == 0) {
			if (parse_i64(it.value, 1, INT32_MAX, &c->timeout_s) <
			    0)
				return conf_err(err, err_size, rd.line,
				    "'timeout' wants seconds, not '%s'",
				    it.value);
		} else if (strcmp(it.key, "memory") == 0 ||
		    strcmp(it.key, "disk") == 0) {
			int64_t *v = it.key[0] == 'm' ? &c->memory_mb :
							&c->disk_mb;

			if (cli_parse_size_mb(it.value, INT32_MAX, v) < 0)
				return conf_err(err, err_size, rd.line,
				    "'%s' wants a size (512, 512M or 8G), not "
				    "'%s'",
				    it.key, it.value);
		} else {
			return conf_err(err, err_size, rd.line,
			    "unknown key '%s' (image, sandbox, artifacts, "
			    "timeout, memory, disk, exclude)",
			    it.key);
		}
	}
	if (r < 0)
		return conf_err(err, err_size, rd.line, "not 'key = value'%s",
		    "");
	return 0;
}
