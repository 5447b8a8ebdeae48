/* cmd_init.c - `jobcell init | use | profiles | config`: saving, choosing
 * and showing profiles. Never prints a key's secret part. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"
#include "json_writer.h"
#include "parse.h"
#include "banned.h"

#define OPT_SERVER	0x2000
#define OPT_KEY		0x2001
#define OPT_CACERT	0x2002
#define OPT_NO_ACTIVE	0x2003

static const char *arg_server;
static const char *arg_key;
static const char *arg_cacert;
static bool arg_no_set_active;

static void
init_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell init --server URL --key KEY [--profile P] "
	    "[--cacert FILE] [--no-set-active]\n\n"
	    "Saves a profile (default 'default') in "
	    "$XDG_CONFIG_HOME/jobcell/config (mode 0600)\n"
	    "and makes it the active one.\n\n"
	    "  --server URL      the API's base URL, e.g. "
	    "https://127.0.0.1:8443\n"
	    "  --key KEY         the API key ('-' reads it from standard "
	    "input)\n"
	    "  --cacert FILE     CA certificate (PEM) for a private CA\n"
	    "  --profile P       the profile to write\n"
	    "  --no-set-active   keep the current active profile\n"
	    "  --json            print {\"profile\",\"config\",\"active\"} "
	    "as JSON\n"
	    "  --help            this help\n");
}

/* {"profile":P,"config":PATH,"active":bool} for init and use --json. */
static int
print_profile_json(const char *what, const char *name, const char *path,
    bool active)
{
	_cleanup_strbuf_ struct strbuf sb = { 0 };
	struct jw w;

	strbuf_init(&sb, 2 * JC_PATH_MAX);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "profile", name);
	jw_kv_str(&w, "config", path);
	jw_kv_bool(&w, "active", active);
	jw_obj_close(&w);
	if (jw_finish(&w) < 0)
		return cli_err(what, "cannot format JSON");
	printf("%s\n", sb.buf);
	return EXIT_OK;
}

/* Reads one key line from standard input (so it stays out of ps). */
static int
read_key_stdin(char *buf, size_t size)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if ((r = read_all(STDIN_FILENO, PROFILE_KEY_MAX + 2, &text,
	    &len)) < 0)
		return r;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	r = str_copy(buf, size, text);
	explicit_bzero(text, len);
	return r;
}

int
cmd_init(struct cli_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "no-set-active", no_argument, NULL, OPT_NO_ACTIVE },
		{ NULL, 0, NULL, 0 },
	};
	struct profile_file cfg;
	struct profile p = { 0 };
	const char *name;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			init_usage(stdout);
			return EXIT_OK;
		case OPT_SERVER:
			arg_server = optarg;
			break;
		case OPT_KEY:
			arg_key = optarg;
			break;
		case OPT_CACERT:
			arg_cacert = optarg;
			break;
		case OPT_NO_ACTIVE:
			arg_no_set_active = true;
			break;
		default:
			return cli_bad_option("init");
		}
	}
	if (optind < argc)
		return cli_usage_err("init", "unexpected argument '%s'",
		    argv[optind]);
	if (!arg_server || !arg_key)
		return cli_usage_err("init", "--server and --key are required");
	name = g->profile ? g->profile : "default";
	if (!profile_name_valid(name))
		return cli_usage_err("init", "bad profile name '%s' (letters, "
		    "digits, '_', '.', '-')", name);
	if (profile_server_valid(arg_server) < 0)
		return cli_usage_err("init", "--server must be an http:// or "
		    "https:// URL, not '%s'", arg_server);
	(void) str_copy(p.name, sizeof(p.name), name);
	(void) str_copy(p.server, sizeof(p.server), arg_server);
	if (strcmp(arg_key, "-") == 0)
		r = read_key_stdin(p.key, sizeof(p.key));
	else
		r = str_copy(p.key, sizeof(p.key), arg_key);
	if (r < 0 || profile_key_valid(p.key) < 0) {
		explicit_bzero(&p, sizeof(p));
		return cli_usage_err("init", "--key must be printable ASCII "
		    "without spaces, at most %d bytes", PROFILE_KEY_MAX);
	}
	if (arg_cacert) {
		/* Store an absolute path: commands run from anywhere. */
		_cleanup_free_ char *abs = realpath(arg_cacert, NULL);

		if (!abs || access(abs, R_OK) < 0) {
			r = -errno;
			explicit_bzero(&p, sizeof(p));
			return cli_err("init", "cannot read CA file '%s': %s",
			    arg_cacert, strerror(-r));
		}
		if (str_copy(p.cacert, sizeof(p.cacert), abs) < 0) {
			explicit_bzero(&p, sizeof(p));
			return cli_err("init", "CA file path too long");
		}
	}
	if (str_startswith(p.server, "http://"))
		fprintf(stderr, "jobcell: init: warning: %s is plain HTTP; "
		    "the key will cross the network unencrypted\n", p.server);

	if ((r = profile_file_load(&cfg)) < 0) {
		explicit_bzero(&p, sizeof(p));
		return EXIT_FAIL;
	}
	r = profile_file_put(&cfg, &p);
	explicit_bzero(&p, sizeof(p));
	if (r < 0) {
		profile_file_release(&cfg);
		return cli_err("init", "too many profiles (at most %d)",
		    PROFILE_COUNT_MAX);
	}
	if (!arg_no_set_active)
		(void) str_copy(cfg.active, sizeof(cfg.active), name);
	r = profile_file_save(&cfg);
	if (r == 0 && g->json) {
		r = print_profile_json("init", name, cfg.path,
		    strcmp(cfg.active, name) == 0) == EXIT_OK ? 0 : -EIO;
	} else if (r == 0) {
		printf("saved profile '%s' in %s\n", name, cfg.path);
		if (!arg_no_set_active)
			printf("active profile: %s\n", name);
	}
	profile_file_release(&cfg);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* Parses the options of a command that takes only the common ones plus
 * `want` positional arguments. Returns -1 to go on, else an exit status. */
static int
simple_opts(struct cli_global *g, const char *cmd, int argc, char **argv,
    int want, void (*usage)(FILE *))
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		return cli_bad_option(cmd);
	}
	if (argc - optind < want)
		return cli_usage_err(cmd, "missing argument");
	if (argc - optind > want)
		return cli_usage_err(cmd, "unexpected argument '%s'",
		    argv[optind + want]);
	return -1;
}

static void
use_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell use PROFILE [--json]\n\n"
	    "Makes PROFILE (from 'jobcell profiles') the active profile.\n"
	    "  --json   print {\"profile\",\"config\",\"active\"} as JSON\n"
	    "  --help   this help\n");
}

int
cmd_use(struct cli_global *g, int argc, char **argv)
{
	struct profile_file cfg;
	const char *name;
	int r;

	if ((r = simple_opts(g, "use", argc, argv, 1, use_usage)) >= 0)
		return r;
	name = argv[optind];
	if ((r = profile_file_load(&cfg)) < 0)
		return EXIT_FAIL;
	if (!profile_file_find(&cfg, name)) {
		fprintf(stderr, "jobcell: use: no profile '");
		cli_put_safe(stderr, name);
		fprintf(stderr, "' in %s (see 'jobcell profiles')\n", cfg.path);
		profile_file_release(&cfg);
		return EXIT_FAIL;
	}
	(void) str_copy(cfg.active, sizeof(cfg.active), name);
	r = profile_file_save(&cfg);
	if (r == 0 && g->json)
		r = print_profile_json("use", name, cfg.path, true) == EXIT_OK ?
		    0 : -EIO;
	else if (r == 0)
		printf("active profile: %s\n", name);
	profile_file_release(&cfg);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static void
profiles_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell profiles [--json]\n\n"
	    "Lists the saved profiles; '*' marks the active one.\n"
	    "  --json   {\"active\",\"profiles\":[{\"name\",\"server\","
	    "\"key\",\"cacert\"}]}, keys redacted\n"
	    "  --help   this help\n");
}

static int
profiles_json(const struct profile_file *cfg)
{
	_cleanup_strbuf_ struct strbuf sb = { 0 };
	struct jw w;

	strbuf_init(&sb, PROFILE_FILE_MAX);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	if (cfg->active[0])
		jw_kv_str(&w, "active", cfg->active);
	else
		jw_kv_null(&w, "active");
	jw_key(&w, "profiles");
	jw_arr_open(&w);
	for (size_t i = 0; i < cfg->n; i++) {
		const struct profile *p = &cfg->profiles[i];
		char key[PROFILE_KEY_MAX + 8];

		key_redact(p->key, key, sizeof(key));
		jw_obj_open(&w);
		jw_kv_str(&w, "name", p->name);
		jw_kv_str(&w, "server", p->server);
		jw_kv_str(&w, "key", key);
		if (p->cacert[0])
			jw_kv_str(&w, "cacert", p->cacert);
		else
			jw_kv_null(&w, "cacert");
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (jw_finish(&w) < 0)
		return cli_err("profiles", "cannot format JSON");
	printf("%s\n", sb.buf);
	return EXIT_OK;
}

int
cmd_profiles(struct cli_global *g, int argc, char **argv)
{
	struct profile_file cfg;
	size_t width = 4;
	int r;

	if ((r = simple_opts(g, "profiles", argc, argv, 0,
	    profiles_usage)) >= 0)
		return r;
	if ((r = profile_file_load(&cfg)) < 0)
		return EXIT_FAIL;
	if (g->json) {
		r = profiles_json(&cfg);
		profile_file_release(&cfg);
		return r;
	}
	if (cfg.n == 0) {
		fprintf(stderr, "no profiles in %s; run 'jobcell init --server "
		    "URL --key KEY'\n", cfg.path);
		profile_file_release(&cfg);
		return EXIT_OK;
	}
	for (size_t i = 0; i < cfg.n; i++)
		if (strlen(cfg.profiles[i].name) > width)
			width = strlen(cfg.profiles[i].name);
	printf("  %-*s  %s\n", (int) width, "NAME", "SERVER");
	for (size_t i = 0; i < cfg.n; i++) {
		const struct profile *p = &cfg.profiles[i];

		printf("%c %-*s  %s\n",
		    strcmp(p->name, cfg.active) == 0 ? '*' : ' ',
		    (int) width, p->name, p->server[0] ? p->server : "-");
	}
	profile_file_release(&cfg);
	return EXIT_OK;
}

static void
config_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell config [--profile P] [--json]\n\n"
	    "Shows the effective settings and where each comes from. The key "
	    "is shown\nonly by its id (the part before the '.').\n"
	    "  --profile P   the profile to show\n"
	    "  --json        the settings as one JSON object\n"
	    "  --help        this help\n");
}

int
cmd_config(struct cli_global *g, int argc, char **argv)
{
	_cleanup_strbuf_ struct strbuf sb = { 0 };
	struct settings s;
	char key[PROFILE_KEY_MAX + 8];
	struct jw w;
	int r;

	if ((r = simple_opts(g, "config", argc, argv, 0, config_usage)) >= 0)
		return r;
	if (settings_resolve(g, 0, &s) < 0)
		return EXIT_FAIL;
	key_redact(s.key, key, sizeof(key));
	if (!g->json) {
		printf("config:  %s\n", s.config_path);
		printf("profile: %s (%s)\n", s.profile,
		    setting_src_name(s.profile_src));
		printf("server:  %s (%s)\n", s.server[0] ? s.server : "(none)",
		    setting_src_name(s.server_src));
		printf("key:     %s (%s)\n", key, setting_src_name(s.key_src));
		printf("cacert:  %s (%s)\n",
		    s.cacert[0] ? s.cacert : "(system CAs)",
		    setting_src_name(s.cacert_src));
		settings_wipe(&s);
		return EXIT_OK;
	}
	strbuf_init(&sb, 64 * 1024);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "config", s.config_path);
	jw_kv_str(&w, "profile", s.profile);
	jw_kv_str(&w, "profile_source", setting_src_name(s.profile_src));
	jw_kv_str(&w, "server", s.server[0] ? s.server : NULL);
	jw_kv_str(&w, "server_source", setting_src_name(s.server_src));
	jw_kv_str(&w, "key", s.key[0] ? key : NULL);
	jw_kv_str(&w, "key_source", setting_src_name(s.key_src));
	jw_kv_str(&w, "cacert", s.cacert[0] ? s.cacert : NULL);
	jw_kv_str(&w, "cacert_source", setting_src_name(s.cacert_src));
	jw_obj_close(&w);
	settings_wipe(&s);
	if (jw_finish(&w) < 0)
		return cli_err("config", "cannot format JSON");
	printf("%s\n", sb.buf);
	return EXIT_OK;
}
