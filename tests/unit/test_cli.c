/* test_cli.c - the client's pure pieces: key redaction, profile names,
 * server URLs and keys, job ids, sizes, workspace paths and --file specs,
 * terminal escaping, and the config file (its mode, its owner, every kind
 * of bad line named with its line number, overlong values, a save/load
 * round trip, and how the environment overrides it). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "wspath.h"
#include "parse.h"
#include "tap.h"

static char dir[64];		/* $XDG_CONFIG_HOME for the config tests */
static char cfg_path[160];	/* dir/jobcell/config */
static char errtext[8192];	/* what the last capture saw on stderr */

/* ---- stderr capture: config errors are printed, not returned ---- */

static int saved_stderr = -1;
static FILE *capture_file;

static void
capture_begin(void)
{
	(void) fflush(stderr);
	capture_file = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	if (!capture_file || saved_stderr < 0 ||
	    dup2(fileno(capture_file), STDERR_FILENO) < 0) {
		perror("capture_begin");
		exit(99);
	}
}

static void
capture_end(void)
{
	size_t n;

	(void) fflush(stderr);
	(void) dup2(saved_stderr, STDERR_FILENO);
	(void) close(saved_stderr);
	rewind(capture_file);
	n = fread(errtext, 1, sizeof(errtext) - 1, capture_file);
	errtext[n] = '\0';
	(void) fclose(capture_file);
}

/* Writes text (len bytes) as the config file with mode. */
static void
write_config(const char *text, size_t len, mode_t mode)
{
	int fd;

	(void) unlink(cfg_path);
	fd = open(cfg_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t) len ||
	    fchmod(fd, mode) < 0 || close(fd) < 0) {
		perror("write_config");
		exit(99);
	}
}

static int
load(struct profile_file *cfg)
{
	int r;

	capture_begin();
	r = profile_file_load(cfg);
	capture_end();
	return r;
}

/* ---- pure helpers ---- */

static void
test_key_redact(void)
{
	static const struct { const char *key; size_t size; const char *want; }
	    rows[] = {
		{ "", 64, "(none)" },
		{ "0123456789abcdef.s3cretS3CRETs3cret", 64,
		  "0123456789abcdef.****" },
		{ "nodot", 64, "****" },
		{ ".secretonly", 64, "****" },
		{ "a.b.c", 64, "a.****" },
		/* too small for "<id>.****": never a cut-off id */
		{ "0123456789abcdef.secret", 10, "****" },
		{ "0123456789abcdef.secret", 22, "0123456789abcdef.****" },
		{ "0123456789abcdef.secret", 21, "****" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[64];

		memset(buf, 'X', sizeof(buf));
		key_redact(rows[i].key, buf, rows[i].size);
		is_str(buf, rows[i].want, "key_redact('%s', %zu)", rows[i].key,
		    rows[i].size);
		ok(!strstr(buf, "secret") && !strstr(buf, "s3cret"),
		    "key_redact('%s') shows no secret", rows[i].key);
	}
}

static void
test_names_urls_keys(void)
{
	char long_name[PROFILE_NAME_MAX + 2], long_url[PROFILE_SERVER_MAX + 2];
	char long_key[PROFILE_KEY_MAX + 2];
	static const struct { const char *s; bool ok; } names[] = {
		{ "default", true }, { "a.b-c_D9", true }, { "", false },
		{ "a b", false }, { "a/b", false }, { "a\nb", false },
		{ "\xc3\xa9t\xc3\xa9", false }, { "[x]", false },
		{ "a=b", false },
	};
	static const struct { const char *s; int r; } urls[] = {
		{ "https://127.0.0.1:8443", 0 }, { "http://localhost", 0 },
		{ "https://jobs.example.org/base/", 0 },
		{ "", -EINVAL }, { "https://", -EINVAL }, { "ftp://x", -EINVAL },
		{ "127.0.0.1:8443", -EINVAL }, { "https://a b", -EINVAL },
		{ "https://a\tb", -EINVAL }, { "https://a\x7f", -EINVAL },
		{ "https://\xc3\xa9", -EINVAL }, { "file:///etc/passwd", -EINVAL },
	};
	static const struct { const char *s; int r; } keys[] = {
		{ "0123456789abcdef.AbC-_", 0 }, { "x", 0 }, { "", -EINVAL },
		{ "a b", -EINVAL }, { "a\nb", -EINVAL }, { "\xc3\xa9", -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		is_int(profile_name_valid(names[i].s), names[i].ok,
		    "profile_name_valid('%s')", names[i].s);
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[PROFILE_NAME_MAX] = '\0';
	ok(profile_name_valid(long_name), "a profile name of the maximum "
	    "length is valid");
	long_name[PROFILE_NAME_MAX] = 'n';
	long_name[PROFILE_NAME_MAX + 1] = '\0';
	ok(!profile_name_valid(long_name), "a profile name one byte over "
	    "is refused");

	for (size_t i = 0; i < ARRAY_SIZE(urls); i++)
		is_int(profile_server_valid(urls[i].s), urls[i].r,
		    "profile_server_valid('%s')", urls[i].s);
	memcpy(long_url, "https://", 8);
	memset(long_url + 8, 'h', sizeof(long_url) - 9);
	long_url[PROFILE_SERVER_MAX] = '\0';
	is_int(profile_server_valid(long_url), 0, "a URL of the maximum "
	    "length is valid");
	long_url[PROFILE_SERVER_MAX] = 'h';
	long_url[PROFILE_SERVER_MAX + 1] = '\0';
	is_int(profile_server_valid(long_url), -EINVAL, "a URL one byte over "
	    "is refused");

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		is_int(profile_key_valid(keys[i].s), keys[i].r,
		    "profile_key_valid('%s')", keys[i].s);
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[PROFILE_KEY_MAX] = '\0';
	is_int(profile_key_valid(long_key), 0, "a key of the maximum length "
	    "is valid");
	long_key[PROFILE_KEY_MAX] = 'k';
	long_key[PROFILE_KEY_MAX + 1] = '\0';
	is_int(profile_key_valid(long_key), -EINVAL, "a key one byte over is "
	    "refused");
}

static void
test_ids_sizes(void)
{
	char id[CLI_ID_MAX + 2];
	static const struct { const char *s; bool ok; } ids[] = {
		{ "00mwwrub69s3jtv7d9lfld6set", true }, { "a-b_C", true },
		{ "", false }, { "../etc", false }, { "a/b", false },
		{ "a?b", false }, { "a b", false }, { "a%2f", false },
	};
	static const struct { const char *s; int r; int64_t mb; } sizes[] = {
		{ "512", 0, 512 }, { "512M", 0, 512 }, { "512m", 0, 512 },
		{ "2G", 0, 2048 }, { "2g", 0, 2048 }, { "1", 0, 1 },
		{ "0", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "", -EINVAL, 0 },
		{ "G", -EINVAL, 0 }, { "1.5G", -EINVAL, 0 },
		{ "512MB", -EINVAL, 0 }, { "512K", -EINVAL, 0 },
		{ " 512", -EINVAL, 0 }, { "4096G", 0, 4194304 },
		{ "4097G", -ERANGE, 0 }, { "4194305", -EINVAL, 0 },
		{ "99999999999999999999G", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		is_int(cli_id_valid(ids[i].s), ids[i].ok, "cli_id_valid('%s')",
		    ids[i].s);
	memset(id, 'a', sizeof(id) - 1);
	id[CLI_ID_MAX] = '\0';
	ok(cli_id_valid(id), "an id of the maximum length is valid");
	id[CLI_ID_MAX] = 'a';
	id[CLI_ID_MAX + 1] = '\0';
	ok(!cli_id_valid(id), "an id one byte over is refused");

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		int64_t mb = -7;
		int r = cli_parse_size_mb(sizes[i].s, 4194304, &mb);

		is_int(r, sizes[i].r, "cli_parse_size_mb('%s')", sizes[i].s);
		if (r == 0)
			is_int(mb, sizes[i].mb, "'%s' is %" PRId64 " MiB",
			    sizes[i].s, sizes[i].mb);
		else
			is_int(mb, -7, "'%s' leaves the result alone",
			    sizes[i].s);
	}
}

static void
test_paths(void)
{
	static char spec[WSPATH_MAX + 8], spec_path[JC_PATH_MAX];
	static const struct {
		const char *spec; int r; const char *local, *path;
	} specs[] = {
		{ "x.txt", 0, "x.txt", "x.txt" },
		{ "dir/sub/x.txt", 0, "dir/sub/x.txt", "x.txt" },
		{ "/abs/x", 0, "/abs/x", "x" },
		{ "a:b/c", 0, "a", "b/c" },
		{ "a:b:c", 0, "a", "b:c" },
		{ "../up/x:in/x", 0, "../up/x", "in/x" },
		{ "a:", -EINVAL, NULL, NULL },
		{ ":b", -EINVAL, NULL, NULL },
		{ "", -EINVAL, NULL, NULL },
		{ "a:/etc/passwd", -EINVAL, NULL, NULL },
		{ "a:../b", -EINVAL, NULL, NULL },
		{ "dir/", -EINVAL, NULL, NULL },
		{ "..", -EINVAL, NULL, NULL },
		{ "x/..", -EINVAL, NULL, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		char local[64] = "", path[64] = "";
		int r = cli_file_spec(specs[i].spec, local, sizeof(local),
		    path, sizeof(path));

		is_int(r, specs[i].r, "cli_file_spec('%s')", specs[i].spec);
		if (r == 0 && specs[i].r == 0) {
			is_str(local, specs[i].local, "'%s': local",
			    specs[i].spec);
			is_str(path, specs[i].path, "'%s': path",
			    specs[i].spec);
		}
	}
	{
		char local[4], path[64];

		is_int(cli_file_spec("abcd:x", local, sizeof(local), path,
		    sizeof(path)), -EINVAL, "cli_file_spec: a LOCAL too long "
		    "for the buffer is refused, not cut");
	}
	/* The server's limits, not the CLI's own (test_wspath has the rest):
	 * a part of WSPATH_PART_MAX + 1 bytes and a path of WSPATH_MAX + 1
	 * bytes are refused here, before anything is sent. */
	{
		char local[8];
		size_t n = 2;
		int r;

		memcpy(spec, "x:", 2);
		memset(spec + n, 'p', WSPATH_PART_MAX);
		spec[n + WSPATH_PART_MAX] = '\0';
		r = cli_file_spec(spec, local, sizeof(local), spec_path,
		    sizeof(spec_path));
		is_int(r, 0, "--file x:PATH, a part of %d bytes",
		    WSPATH_PART_MAX);
		spec[n + WSPATH_PART_MAX] = 'p';
		spec[n + WSPATH_PART_MAX + 1] = '\0';
		r = cli_file_spec(spec, local, sizeof(local), spec_path,
		    sizeof(spec_path));
		is_int(r, -EINVAL, "--file x:PATH, a part of %d bytes, is "
		    "refused", WSPATH_PART_MAX + 1);
		/* "p/p/p/...": many short parts */
		for (size_t i = 0; i < WSPATH_MAX; i++)
			spec[n + i] = i % 2 ? '/' : 'p';
		spec[n + WSPATH_MAX - 1] = 'p';
		spec[n + WSPATH_MAX] = '\0';
		r = cli_file_spec(spec, local, sizeof(local), spec_path,
		    sizeof(spec_path));
		is_int(r, 0, "--file x:PATH of %d bytes", WSPATH_MAX);
		spec[n + WSPATH_MAX] = 'p';
		spec[n + WSPATH_MAX + 1] = '\0';
		r = cli_file_spec(spec, local, sizeof(local), spec_path,
		    sizeof(spec_path));
		is_int(r, -EINVAL, "--file x:PATH of %d bytes is refused",
		    WSPATH_MAX + 1);
	}
}

static void
test_put_safe(void)
{
	static const struct { const char *in, *want; } rows[] = {
		{ "plain text", "plain text" },
		{ "a\nb\tc", "a\\nb\\tc" },
		{ "\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m" },
		{ "back\\slash", "back\\\\slash" },
		{ "del\x7f", "del\\x7f" },
		{ "\r\b", "\\x0d\\x08" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },	/* UTF-8 passes */
		{ "", "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		if (!f) {
			ok(false, "open_memstream");
			continue;
		}
		cli_put_safe(f, rows[i].in);
		(void) fclose(f);
		is_str(buf, rows[i].want, "cli_put_safe('%s')", rows[i].in);
		free(buf);
	}
}

/* ---- the config file ---- */

static void
test_config_rows(void)
{
	static const struct {
		const char *text;
		int r;
		const char *err;	/* in the message, NULL: no message */
	} rows[] = {
		{ "", 0, NULL },
		{ "# only a comment\n; and another\n\n   \n", 0, NULL },
		{ "active = a\n[profile a]\nserver = https://h\nkey = k.s\n",
		  0, NULL },
		{ "active=a\r\n[profile a]\r\nserver=https://h\r\n", 0, NULL },
		{ "[profile a]\n  server  =  https://h  \n", 0, NULL },
		{ "garbage\n", -EINVAL, "config:1: expected 'name = value'" },
		{ "\n\n[profile a]\nserver https://h\n", -EINVAL,
		  "config:4: expected 'name = value'" },
		{ "server = https://h\n", -EINVAL,
		  "config:1: only 'active' may come before" },
		{ "active = a b\n", -EINVAL, "config:1: bad profile name" },
		{ "[profile a]\nsrever = https://h\n", -EINVAL,
		  "config:2: unknown setting" },
		{ "[profile a]\nserver = ftp://h\n", -EINVAL,
		  "config:2: server must be an http(s):// URL" },
		{ "[profile a]\nkey = has space\n", -EINVAL,
		  "config:2: bad key" },
		{ "[profile a]\n[profile a]\n", -EINVAL,
		  "config:2: profile defined twice" },
		{ "[profile a/b]\n", -EINVAL, "config:1: bad profile name" },
		{ "[profile ]\n", -EINVAL, "config:1: bad profile name" },
		{ "[profile a\n", -EINVAL, "config:1: expected '[profile NAME]'" },
		{ "[a]\n", -EINVAL, "config:1: expected '[profile NAME]'" },
		{ "[profile a]\n= x\n", -EINVAL, "config:2: unknown setting" },
	};
	struct profile_file cfg;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r;

		write_config(rows[i].text, strlen(rows[i].text), 0600);
		r = load(&cfg);
		is_int(r, rows[i].r, "config row %zu: result", i);
		if (rows[i].err) {
			if (!ok(strstr(errtext, rows[i].err) != NULL,
			    "config row %zu: says '%s'", i, rows[i].err))
				diag("  stderr: %s", errtext);
		} else {
			is_str(errtext, "", "config row %zu: says nothing", i);
		}
		profile_file_release(&cfg);
	}
}

static void
test_config_values(void)
{
	static const char text[] =
	    "# profiles\n"
	    "active = work\n"
	    "\n"
	    "[profile default]\n"
	    "server = https://127.0.0.1:8443\n"
	    "key = 0123456789abcdef.secret\n"
	    "\n"
	    "[profile work]\n"
	    "server = https://jobs.example.org\n"
	    "cacert = /etc/ssl/ca.pem\n";
	struct profile_file cfg;
	const struct profile *p;

	write_config(text, sizeof(text) - 1, 0600);
	is_int(load(&cfg), 0, "a good config loads");
	ok(cfg.exists, "and exists is set");
	is_str(cfg.active, "work", "active profile");
	is_int((int64_t) cfg.n, 2, "two profiles");
	p = profile_file_find(&cfg, "default");
	ok(p && strcmp(p->server, "https://127.0.0.1:8443") == 0 &&
	    strcmp(p->key, "0123456789abcdef.secret") == 0 && !p->cacert[0],
	    "profile default has its server and key, no cacert");
	p = profile_file_find(&cfg, "work");
	ok(p && strcmp(p->server, "https://jobs.example.org") == 0 &&
	    !p->key[0] && strcmp(p->cacert, "/etc/ssl/ca.pem") == 0,
	    "profile work has its server and cacert, no key");
	ok(!profile_file_find(&cfg, "nope"), "no profile 'nope'");
	profile_file_release(&cfg);
}

static void
test_config_limits(void)
{
	static char text[PROFILE_FILE_MAX + 64];
	struct profile_file cfg;
	size_t n;
	int r;

	/* a server, a key and a cacert one byte over their maxima */
	n = (size_t) snprintf(text, sizeof(text), "[profile a]\nserver = "
	    "https://%0*d\n", PROFILE_SERVER_MAX - 7, 0);
	write_config(text, n, 0600);
	is_int(load(&cfg), -EINVAL, "an overlong server is refused");
	ok(strstr(errtext, "config:2:") != NULL, "naming line 2");
	profile_file_release(&cfg);

	n = (size_t) snprintf(text, sizeof(text), "[profile a]\n\nkey = "
	    "%0*d\n", PROFILE_KEY_MAX + 1, 0);
	write_config(text, n, 0600);
	is_int(load(&cfg), -EINVAL, "an overlong key is refused");
	ok(strstr(errtext, "config:3: bad key") != NULL, "naming line 3");
	profile_file_release(&cfg);

	n = (size_t) snprintf(text, sizeof(text), "[profile a]\ncacert = "
	    "/%0*d\n", JC_PATH_MAX, 0);
	write_config(text, n, 0600);
	is_int(load(&cfg), -EINVAL, "an overlong cacert is refused");
	ok(strstr(errtext, "config:2: value too long") != NULL,
	    "naming line 2");
	profile_file_release(&cfg);

	/* exactly at the maximum is fine */
	n = (size_t) snprintf(text, sizeof(text), "[profile a]\nkey = %0*d\n",
	    PROFILE_KEY_MAX, 0);
	write_config(text, n, 0600);
	is_int(load(&cfg), 0, "a key of the maximum length loads");
	profile_file_release(&cfg);

	/* PROFILE_COUNT_MAX profiles load; one more is refused */
	n = 0;
	for (int i = 0; i <= PROFILE_COUNT_MAX; i++)
		n += (size_t) snprintf(text + n, sizeof(text) - n,
		    "[profile p%d]\n", i);
	write_config(text, n - strlen("[profile p64]\n"), 0600);
	is_int(load(&cfg), 0, "%d profiles load", PROFILE_COUNT_MAX);
	is_int((int64_t) cfg.n, PROFILE_COUNT_MAX, "all of them");
	profile_file_release(&cfg);
	write_config(text, n, 0600);
	is_int(load(&cfg), -EINVAL, "one more is refused");
	ok(strstr(errtext, "too many profiles") != NULL, "saying so");
	profile_file_release(&cfg);

	/* a NUL byte, and a file over the size cap */
	write_config("[profile a]\nkey = a\0b\n", 21, 0600);
	is_int(load(&cfg), -EINVAL, "a NUL byte is refused");
	ok(strstr(errtext, "NUL") != NULL, "saying so");
	profile_file_release(&cfg);
	memset(text, '#', PROFILE_FILE_MAX + 1);
	write_config(text, PROFILE_FILE_MAX + 1, 0600);
	is_int(load(&cfg), -E2BIG, "a file over %u bytes is refused",
	    PROFILE_FILE_MAX);
	profile_file_release(&cfg);
	memset(text, '#', PROFILE_FILE_MAX);
	text[PROFILE_FILE_MAX - 1] = '\n';
	write_config(text, PROFILE_FILE_MAX, 0600);
	r = load(&cfg);
	is_int(r, 0, "a file of exactly %u bytes loads", PROFILE_FILE_MAX);
	profile_file_release(&cfg);
}

static void
test_config_modes(void)
{
	static const char text[] = "[profile a]\nkey = k.secret\n";
	static const struct { mode_t mode; int r; } rows[] = {
		{ 0600, 0 }, { 0400, 0 }, { 0640, -EPERM }, { 0604, -EPERM },
		{ 0660, -EPERM }, { 0644, -EPERM }, { 0610, -EPERM },
		{ 0602, -EPERM },
	};
	char target[160];
	struct profile_file cfg;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		write_config(text, sizeof(text) - 1, rows[i].mode);
		is_int(load(&cfg), rows[i].r, "mode %04o", rows[i].mode);
		if (rows[i].r == -EPERM)
			ok(strstr(errtext, "chmod 600") != NULL,
			    "mode %04o: the error says 'chmod 600'",
			    rows[i].mode);
		profile_file_release(&cfg);
	}

	/* a symlink to a private file is fine (dotfile managers) ... */
	(void) snprintf(target, sizeof(target), "%s/real", dir);
	write_config(text, sizeof(text) - 1, 0600);
	if (rename(cfg_path, target) < 0 || symlink(target, cfg_path) < 0) {
		ok(false, "set up a symlink");
		return;
	}
	is_int(load(&cfg), 0, "a symlink to a 0600 file loads");
	profile_file_release(&cfg);
	/* ... to a readable one is not */
	(void) chmod(target, 0644);
	is_int(load(&cfg), -EPERM, "a symlink to a 0644 file is refused");
	profile_file_release(&cfg);
	(void) unlink(cfg_path);
	(void) unlink(target);

	/* a directory or a FIFO where the file should be */
	if (mkdir(cfg_path, 0700) == 0) {
		is_int(load(&cfg), -EINVAL, "a directory is refused");
		ok(strstr(errtext, "not a regular file") != NULL, "saying so");
		profile_file_release(&cfg);
		(void) rmdir(cfg_path);
	}
	if (mkfifo(cfg_path, 0600) == 0) {
		is_int(load(&cfg), -EINVAL, "a FIFO is refused (and does not "
		    "hang)");
		profile_file_release(&cfg);
		(void) unlink(cfg_path);
	}

	/* a missing file is an empty config */
	is_int(load(&cfg), 0, "a missing file loads");
	ok(!cfg.exists && cfg.n == 0 && !cfg.active[0], "as empty");
	profile_file_release(&cfg);
}

static void
test_config_save(void)
{
	struct profile_file cfg, back;
	struct profile p = { 0 };
	char jdir[128];
	struct stat st;

	(void) snprintf(jdir, sizeof(jdir), "%s/jobcell", dir);
	(void) unlink(cfg_path);
	(void) rmdir(jdir);
	is_int(load(&cfg), 0, "no file yet");
	(void) str_copy(p.name, sizeof(p.name), "x");
	(void) str_copy(p.server, sizeof(p.server), "https://x.example");
	(void) str_copy(p.key, sizeof(p.key), "abc.def");
	is_int(profile_file_put(&cfg, &p), 0, "profile_file_put adds");
	(void) str_copy(p.server, sizeof(p.server), "https://y.example");
	is_int(profile_file_put(&cfg, &p), 0, "profile_file_put replaces");
	is_int((int64_t) cfg.n, 1, "one profile");
	(void) str_copy(cfg.active, sizeof(cfg.active), "x");
	capture_begin();
	is_int(profile_file_save(&cfg), 0, "profile_file_save");
	capture_end();
	profile_file_release(&cfg);
	ok(stat(jdir, &st) == 0 && (st.st_mode & 07777) == 0700,
	    "the directory is created 0700");
	ok(stat(cfg_path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "the file is created 0600");
	is_int(load(&back), 0, "what was saved loads");
	ok(back.n == 1 && strcmp(back.active, "x") == 0 &&
	    strcmp(back.profiles[0].server, "https://y.example") == 0 &&
	    strcmp(back.profiles[0].key, "abc.def") == 0,
	    "with the same values");
	profile_file_release(&back);
}

/* ---- effective settings: option > environment > file ---- */

static void
test_settings(void)
{
	static const char text[] =
	    "active = a\n"
	    "[profile a]\nserver = https://a.example\nkey = aaaa.secret\n"
	    "[profile b]\nserver = https://b.example\nkey = bbbb.secret\n";
	struct cli_global g = { 0 };
	struct settings s;
	int r;

	write_config(text, sizeof(text) - 1, 0600);
	capture_begin();
	r = settings_resolve(&g, NEED_SERVER | NEED_KEY, &s);
	capture_end();
	is_int(r, 0, "settings from the active profile");
	is_str(s.server, "https://a.example", "its server");
	is_int(s.server_src, SRC_FILE, "from the file");

	(void) setenv("JOBCELL_PROFILE", "b", 1);
	capture_begin();
	r = settings_resolve(&g, 0, &s);
	capture_end();
	ok(r == 0 && strcmp(s.server, "https://b.example") == 0 &&
	    s.profile_src == SRC_ENV, "JOBCELL_PROFILE picks profile b");

	g.profile = "a";
	capture_begin();
	r = settings_resolve(&g, 0, &s);
	capture_end();
	ok(r == 0 && strcmp(s.profile, "a") == 0 &&
	    s.profile_src == SRC_OPTION, "--profile beats JOBCELL_PROFILE");

	(void) setenv("JOBCELL_SERVER", "https://env.example", 1);
	(void) setenv("JOBCELL_KEY", "eeee.secret", 1);
	(void) setenv("JOBCELL_CACERT", "/env/ca.pem", 1);
	capture_begin();
	r = settings_resolve(&g, 0, &s);
	capture_end();
	ok(r == 0 && strcmp(s.server, "https://env.example") == 0 &&
	    strcmp(s.key, "eeee.secret") == 0 &&
	    strcmp(s.cacert, "/env/ca.pem") == 0 &&
	    s.server_src == SRC_ENV && s.key_src == SRC_ENV &&
	    s.cacert_src == SRC_ENV,
	    "JOBCELL_SERVER, _KEY and _CACERT override the profile");

	(void) setenv("JOBCELL_SERVER", "not-a-url", 1);
	capture_begin();
	r = settings_resolve(&g, 0, &s);
	capture_end();
	is_int(r, -EINVAL, "a JOBCELL_SERVER that is not a URL is refused");
	ok(strstr(errtext, "not-a-url") != NULL, "naming it");
	(void) unsetenv("JOBCELL_SERVER");
	(void) unsetenv("JOBCELL_KEY");
	(void) unsetenv("JOBCELL_CACERT");

	g.profile = "nope";
	capture_begin();
	r = settings_resolve(&g, 0, &s);
	capture_end();
	is_int(r, -ENOENT, "a --profile that does not exist is refused");
	ok(strstr(errtext, "no profile 'nope'") != NULL, "naming it");

	g.profile = "../x";
	capture_begin();
	r = settings_resolve(&g, 0, &s);
	capture_end();
	is_int(r, -EINVAL, "a bad --profile name is refused");
	(void) unsetenv("JOBCELL_PROFILE");

	write_config("", 0, 0600);
	g.profile = NULL;
	capture_begin();
	r = settings_resolve(&g, NEED_SERVER | NEED_KEY, &s);
	capture_end();
	is_int(r, -ENOENT, "no server anywhere is an error");
	ok(strstr(errtext, "jobcell init") != NULL, "that says what to run");
	settings_wipe(&s);
}

int
main(void)
{
	char jdir[128];

	test_key_redact();
	test_names_urls_keys();
	test_ids_sizes();
	test_paths();
	test_put_safe();

	(void) str_copy(dir, sizeof(dir), "/tmp/test_cli.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}
	(void) snprintf(jdir, sizeof(jdir), "%s/jobcell", dir);
	(void) snprintf(cfg_path, sizeof(cfg_path), "%s/config", jdir);
	if (mkdir(jdir, 0700) < 0 || setenv("XDG_CONFIG_HOME", dir, 1) < 0) {
		perror("setup");
		return 99;
	}
	(void) unsetenv("JOBCELL_PROFILE");
	(void) unsetenv("JOBCELL_SERVER");
	(void) unsetenv("JOBCELL_KEY");
	(void) unsetenv("JOBCELL_CACERT");
	test_config_rows();
	test_config_values();
	test_config_limits();
	test_config_modes();
	test_config_save();
	test_settings();

	(void) unlink(cfg_path);
	(void) rmdir(jdir);
	(void) rmdir(dir);
	return done_testing();
}
