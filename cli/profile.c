/* profile.c - the client's config file and its effective settings.
 * The file ($XDG_CONFIG_HOME/jobcell/config) holds API keys, so it is
 * written 0600 in a 0700 directory and refused when others could read it.
 * Format: "active = P", then "[profile P]" sections of "name = value"
 * lines (server, key, cacert); '#' and ';' start comment lines. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ini.h"
#include "io.h"
#include "parse.h"
#include "banned.h"

bool
profile_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PROFILE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) name[i]) &&
		    !strchr("_.-", name[i]))
			return false;
	return true;
}

static bool
printable_nospace(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

int
profile_server_valid(const char *url)
{
	size_t n = strlen(url);

	if (n == 0 || n > PROFILE_SERVER_MAX || !printable_nospace(url))
		return -EINVAL;
	if (!str_startswith(url, "https://") && !str_startswith(url, "http://"))
		return -EINVAL;
	/* a host must follow the scheme */
	if (strlen(strstr(url, "://") + 3) == 0)
		return -EINVAL;
	return 0;
}

int
profile_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > PROFILE_KEY_MAX || !printable_nospace(key))
		return -EINVAL;
	return 0;
}

void
key_redact(const char *key, char *buf, size_t size)
{
	const char *dot = strchr(key, '.');
	int n;

	if (!*key) {
		(void) str_copy(buf, size, "(none)");
		return;
	}
	if (!dot || dot == key) {
		(void) str_copy(buf, size, "****");
		return;
	}
	n = snprintf(buf, size, "%.*s.****", (int) (dot - key), key);
	if (n < 0 || (size_t) n >= size)
		(void) str_copy(buf, size, "****");
}

const char *
setting_src_name(enum setting_src s)
{
	switch (s) {
	case SRC_NONE:
		return "unset";
	case SRC_DEFAULT:
		return "default";
	case SRC_FILE:
		return "config file";
	case SRC_OPTION:
		return "--profile";
	case SRC_ENV:
		return "environment";
	}
	return "?";
}

int
profile_file_path(char *buf, size_t size)
{
	const char *xdg = secure_getenv("XDG_CONFIG_HOME");
	const char *home;
	int n;

	/* The XDG spec says relative values are invalid and to be ignored. */
	if (xdg && xdg[0] == '/') {
		n = snprintf(buf, size, "%s/jobcell/config", xdg);
	} else {
		home = secure_getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());

			if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
				return -ENOENT;
			home = pw->pw_dir;
		}
		n = snprintf(buf, size, "%s/.config/jobcell/config", home);
	}
	if (n < 0 || (size_t) n >= size)
		return -E2BIG;
	return 0;
}

void
profile_file_release(struct profile_file *cfg)
{
	if (cfg->profiles) {
		explicit_bzero(cfg->profiles, cfg->n * sizeof(*cfg->profiles));
		free(cfg->profiles);
	}
	cfg->profiles = NULL;
	cfg->n = 0;
}

struct profile *
profile_file_find(const struct profile_file *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

int
profile_file_put(struct profile_file *cfg, const struct profile *p)
{
	struct profile *slot = profile_file_find(cfg, p->name);
	struct profile *np;

	if (slot) {
		*slot = *p;
		return 0;
	}
	if (cfg->n >= PROFILE_COUNT_MAX)
		return -E2BIG;
	/* calloc + copy rather than realloc: the old array holds keys and
	 * must be wiped before it is freed. */
	np = calloc(cfg->n + 1, sizeof(*np));
	if (!np)
		return -ENOMEM;
	if (cfg->n)
		memcpy(np, cfg->profiles, cfg->n * sizeof(*np));
	np[cfg->n] = *p;
	if (cfg->profiles) {
		explicit_bzero(cfg->profiles, cfg->n * sizeof(*np));
		free(cfg->profiles);
	}
	cfg->profiles = np;
	cfg->n++;
	return 0;
}

static int
profile_file_syntax(const struct profile_file *cfg, unsigned line,
    const char *what)
{
	cli_err("config", "%s:%u: %s", cfg->path, line, what);
	return -EINVAL;
}

/* Applies one "name = value" line to the current section. */
static int
profile_file_assign(struct profile_file *cfg, struct profile *cur,
    unsigned line, const char *name, const char *value)
{
	char *dst;
	size_t size;

	if (!cur) {
		if (strcmp(name, "active") != 0)
			return profile_file_syntax(cfg, line,
			    "only 'active' may come before a [profile] "
			    "section");
		if (!profile_name_valid(value))
			return profile_file_syntax(cfg, line,
			    "bad profile name");
		(void) str_copy(cfg->active, sizeof(cfg->active), value);
		return 0;
	}
	if (strcmp(name, "server") == 0) {
		if (profile_server_valid(value) < 0)
			return profile_file_syntax(cfg, line,
			    "server must be an http(s):// URL");
		dst = cur->server;
		size = sizeof(cur->server);
	} else if (strcmp(name, "key") == 0) {
		if (profile_key_valid(value) < 0)
			return profile_file_syntax(cfg, line, "bad key");
		dst = cur->key;
		size = sizeof(cur->key);
	} else if (strcmp(name, "cacert") == 0) {
		dst = cur->cacert;
		size = sizeof(cur->cacert);
	} else {
		return profile_file_syntax(cfg, line, "unknown setting "
		    "(expected server, key or cacert)");
	}
	if (str_copy(dst, size, value) < 0)
		return profile_file_syntax(cfg, line, "value too long");
	return 0;
}

int
profile_file_parse(struct profile_file *cfg, char *text)
{
	struct profile *cur = NULL;
	struct ini_reader rd;
	struct ini_item it;
	int r;

	ini_init(&rd, text);
	while ((r = ini_next(&rd, &it)) != 0) {
		struct profile p = { 0 };
		const char *name;

		if (r < 0)
			return profile_file_syntax(cfg, rd.line,
			    it.kind == INI_SECTION ?
			    "expected '[profile NAME]'" :
			    "expected 'name = value'");
		if (it.kind == INI_PAIR) {
			if ((r = profile_file_assign(cfg, cur, rd.line, it.key,
			    it.value)) < 0)
				return r;
			continue;
		}
		if (!str_startswith(it.section, "profile "))
			return profile_file_syntax(cfg, rd.line,
			    "expected '[profile NAME]'");
		name = ini_trim(it.section + strlen("profile "));
		if (!profile_name_valid(name))
			return profile_file_syntax(cfg, rd.line,
			    "bad profile name");
		if (profile_file_find(cfg, name))
			return profile_file_syntax(cfg, rd.line,
			    "profile defined twice");
		(void) str_copy(p.name, sizeof(p.name), name);
		if (profile_file_put(cfg, &p) < 0)
			return profile_file_syntax(cfg, rd.line,
			    "too many profiles");
		cur = profile_file_find(cfg, name);
	}
	return 0;
}

int
profile_file_load(struct profile_file *cfg)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	*cfg = (struct profile_file) { 0 };
	if ((r = profile_file_path(cfg->path, sizeof(cfg->path))) < 0) {
		cli_err("config", "cannot find the config directory: set "
		    "HOME or XDG_CONFIG_HOME");
		return r;
	}
	/* Symlinks (dotfile managers) are fine: fstat checks the target;
	 * O_NONBLOCK so a FIFO there cannot hang us before that check. */
	fd = open(cfg->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		cli_err("config", "cannot open %s: %s", cfg->path,
		    strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		cli_err("config", "%s is not a regular file", cfg->path);
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		cli_err("config", "%s is owned by uid %u, not by you; "
		    "refusing to use it", cfg->path, (unsigned) st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & 077) {
		cli_err("config", "%s holds API keys but is accessible by "
		    "group or others (mode %04o); run 'chmod 600 %s'",
		    cfg->path, (unsigned) (st.st_mode & 07777), cfg->path);
		return -EPERM;
	}
	if ((size_t) st.st_size > PROFILE_FILE_MAX) {
		cli_err("config", "%s is larger than %u bytes", cfg->path,
		    PROFILE_FILE_MAX);
		return -E2BIG;
	}
	/* Read through the fd we checked, not the path again. */
	r = read_all(fd, PROFILE_FILE_MAX, &text, &len);
	if (r < 0) {
		cli_err("config", "cannot read %s: %s", cfg->path,
		    strerror(-r));
		return r;
	}
	if (memchr(text, '\0', len)) {
		cli_err("config", "%s contains a NUL byte", cfg->path);
		return -EINVAL;
	}
	cfg->exists = true;
	r = profile_file_parse(cfg, text);
	explicit_bzero(text, len);
	if (r < 0)
		profile_file_release(cfg);
	return r;
}

/* mkdir -p for the directory part of path; the last level gets 0700. */
static int
profile_file_mkdirs(const char *path)
{
	char dir[JC_PATH_MAX];
	char *slash;

	if (str_copy(dir, sizeof(dir), path) < 0)
		return -E2BIG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
profile_file_format(const struct profile_file *cfg, struct strbuf *sb)
{
	int r = 0;

	r |= strbuf_addstr(sb, "# jobcell client profiles; holds API keys, "
	    "keep it mode 0600\n");
	if (cfg->active[0])
		r |= strbuf_addf(sb, "active = %s\n", cfg->active);
	for (size_t i = 0; i < cfg->n; i++) {
		const struct profile *p = &cfg->profiles[i];

		r |= strbuf_addf(sb, "\n[profile %s]\n", p->name);
		if (p->server[0])
			r |= strbuf_addf(sb, "server = %s\n", p->server);
		if (p->key[0])
			r |= strbuf_addf(sb, "key = %s\n", p->key);
		if (p->cacert[0])
			r |= strbuf_addf(sb, "cacert = %s\n", p->cacert);
	}
	return r ? -E2BIG : 0;
}

int
profile_file_save(const struct profile_file *cfg)
{
	_cleanup_strbuf_ struct strbuf sb = { 0 };
	_cleanup_close_ int fd = -1;
	char tmp[JC_PATH_MAX];
	int n, r;

	strbuf_init(&sb, PROFILE_FILE_MAX);
	if ((r = profile_file_format(cfg, &sb)) < 0) {
		cli_err("config", "settings too large to save");
		goto out;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", cfg->path,
	    (long) getpid());
	if (n < 0 || (size_t) n >= sizeof(tmp)) {
		r = -E2BIG;
		cli_err("config", "path too long: %s", cfg->path);
		goto out;
	}
	if ((r = profile_file_mkdirs(cfg->path)) < 0) {
		cli_err("config", "cannot create the directory of %s: %s",
		    cfg->path, strerror(-r));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		r = -errno;
		cli_err("config", "cannot create %s: %s", tmp, strerror(-r));
		goto out;
	}
	if ((r = write_full(fd, sb.buf, sb.len)) < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (rename(tmp, cfg->path) < 0) {
		r = -errno;
		goto fail;
	}
	r = 0;
	goto out;
fail:
	cli_err("config", "cannot write %s: %s", cfg->path, strerror(-r));
	(void) unlink(tmp);	/* no half-written file left behind */
out:
	explicit_bzero(sb.buf, sb.len);
	return r;
}

void
settings_wipe(struct settings *s)
{
	explicit_bzero(s->key, sizeof(s->key));
}

/* Copies an environment override if set and non-empty. */
static int
env_override(const char *var, char *dst, size_t size, enum setting_src *src)
{
	const char *v = secure_getenv(var);

	if (!v || !*v)
		return 0;
	if (str_copy(dst, size, v) < 0) {
		cli_err("config", "%s is too long", var);
		return -E2BIG;
	}
	*src = SRC_ENV;
	return 0;
}

static int
settings_pick_profile(const struct cli_global *g,
    const struct profile_file *cfg, struct settings *s)
{
	const char *env = secure_getenv("JOBCELL_PROFILE");
	const char *name = "default";

	s->profile_src = SRC_DEFAULT;
	if (g->profile) {
		name = g->profile;
		s->profile_src = SRC_OPTION;
	} else if (env && *env) {
		name = env;
		s->profile_src = SRC_ENV;
	} else if (cfg->active[0]) {
		name = cfg->active;
		s->profile_src = SRC_FILE;
	}
	if (!profile_name_valid(name)) {
		cli_err("config", "bad profile name '%s' (letters, digits, "
		    "'_', '.', '-'; at most %d)", name, PROFILE_NAME_MAX);
		return -EINVAL;
	}
	(void) str_copy(s->profile, sizeof(s->profile), name);
	return 0;
}

int
settings_resolve(const struct cli_global *g, unsigned need,
    struct settings *ret)
{
	struct profile_file cfg;
	struct settings s = { 0 };
	const struct profile *p;
	int r;

	if ((r = profile_file_load(&cfg)) < 0)
		return r;
	(void) str_copy(s.config_path, sizeof(s.config_path), cfg.path);
	if ((r = settings_pick_profile(g, &cfg, &s)) < 0)
		goto out;
	p = profile_file_find(&cfg, s.profile);
	if (p) {
		(void) str_copy(s.server, sizeof(s.server), p->server);
		(void) str_copy(s.key, sizeof(s.key), p->key);
		(void) str_copy(s.cacert, sizeof(s.cacert), p->cacert);
		s.server_src = p->server[0] ? SRC_FILE : SRC_NONE;
		s.key_src = p->key[0] ? SRC_FILE : SRC_NONE;
		s.cacert_src = p->cacert[0] ? SRC_FILE : SRC_NONE;
	} else if (s.profile_src != SRC_DEFAULT) {
		/* A profile somebody named must exist: a typo in --profile
		 * must not silently send jobs elsewhere. */
		cli_err("config", "no profile '%s' in %s (see 'jobcell "
		    "profiles')", s.profile, cfg.path);
		r = -ENOENT;
		goto out;
	}
	if ((r = env_override("JOBCELL_SERVER", s.server, sizeof(s.server),
	    &s.server_src)) < 0 ||
	    (r = env_override("JOBCELL_KEY", s.key, sizeof(s.key),
	    &s.key_src)) < 0 ||
	    (r = env_override("JOBCELL_CACERT", s.cacert, sizeof(s.cacert),
	    &s.cacert_src)) < 0)
		goto out;
	if (s.server[0] && profile_server_valid(s.server) < 0) {
		cli_err("config", "server '%s' is not an http(s):// URL",
		    s.server);
		r = -EINVAL;
		goto out;
	}
	if (((need & NEED_SERVER) && !s.server[0]) ||
	    ((need & NEED_KEY) && !s.key[0])) {
		cli_err("config", "no %s configured for profile '%s': run "
		    "'jobcell init --server URL --key KEY' or set %s",
		    s.server[0] ? "key" : "server", s.profile,
		    s.server[0] ? "JOBCELL_KEY" : "JOBCELL_SERVER");
		r = -ENOENT;
		goto out;
	}
	*ret = s;
	r = 0;
out:
	settings_wipe(&s);
	profile_file_release(&cfg);
	return r;
}
