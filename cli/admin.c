/* admin.c - jobcell-admin: local administration of the jobcell database
 * (consumers, keys, quotas, garbage collection). Runs as the operator on
 * the database file (and, for gc, the data directory) directly; shows a
 * key exactly once, when it is created or rotated. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "jc_config.h"
#include "db.h"
#include "gc.h"
#include "job_status.h"
#include "json_writer.h"
#include "keys.h"
#include "parse.h"
#include "strbuf.h"
#include "timefmt.h"
#include "banned.h"

static const char *arg_config;
static const char *arg_db;
static const char *arg_name;
static bool arg_json;
static bool arg_yes;
static bool arg_dry_run;
static int64_t arg_max_concurrent = -1, arg_max_per_day = -1,
	       arg_max_queued = -1, arg_max_storage_mb = -1,
	       arg_max_images = -1;
static struct config cfg; /* the config file's (gc reads [storage],
				 * [retention]) */

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell-admin --db PATH [--json] COMMAND [OPTION]...\n"
	    "Administer a jobcell database.\n\n"
	    "Commands:\n"
	    "  init                              create or migrate the database\n"
	    "  create-consumer --name N [--max-concurrent C] [--max-per-day D]\n"
	    "                  [--max-queued Q] [--max-storage-mb S]\n"
	    "                                    add a consumer; prints its key once\n"
	    "  list-consumers                    list consumers and their quotas\n"
	    "  disable-consumer --name N         refuse its key (403) from now on\n"
	    "  enable-consumer --name N          accept its key again\n"
	    "  set-quota --name N [--max-concurrent C] [--max-per-day D]\n"
	    "            [--max-queued Q] [--max-storage-mb S]  change its quotas\n"
	    "            [--max-images I]\n"
	    "  rotate-key --name N               new key; the old one fails at once\n"
	    "  delete-consumer --name N --yes    delete it with all its jobs\n"
	    "  db-info                           schema version, job counts, sizes\n"
	    "  gc [--dry-run]                    delete what [retention] no longer\n"
	    "                                    keeps (jobs, logs, artifacts, blobs,\n"
	    "                                    orphan files) and shrink the database\n\n"
	    "Options:\n"
	    "  --db PATH     the SQLite database file\n"
	    "  --config FILE read the database path from [api] db of FILE\n"
	    "                (default " CONFIG_DEFAULT_PATH " if it exists)\n"
	    "  --json        machine-readable output\n"
	    "  --dry-run     gc: list what would go, delete nothing\n"
	    "  --help        show this help and exit\n"
	    "  --version     show the version and exit\n");
}

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("jobcell-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JC_CONSUMER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.'))
			return false;
	return true;
}

/* Ends the document and prints it on a line; 0, or 1 after saying why. */
static int
print_json(struct jw *w, const struct strbuf *sb)
{
	if (jw_finish(w) < 0)
		return fail("cannot write JSON");
	printf("%s\n", sb->buf);
	return 0;
}

/* A command's outcome for --name: "NAME: DONE" or its JSON. */
static int
print_result(const char *done)
{
	if (arg_json)
		printf("{\"name\":\"%s\",\"result\":\"%s\"}\n", arg_name, done);
	else
		printf("%s: %s\n", arg_name, done);
	return 0;
}

/* After an UPDATE/DELETE by --name: 0 if it found the consumer, else 1
 * after saying so. */
static int
name_found(sqlite3 *db)
{
	if (sqlite3_changes(db) == 0)
		return fail("no consumer named '%s'", arg_name);
	return 0;
}

/* A new key and its hash; 0, or 1 after saying why. */
static int
new_key(struct api_key *ret_k, unsigned char ret_hash[KEY_HASH_LEN])
{
	int r;

	if ((r = key_generate(ret_k)) < 0 ||
	    (r = key_hash(ret_k->secret, ret_hash)) < 0)
		return fail("cannot generate a key: %s", strerror(-r));
	return 0;
}

static int
print_key(const char *name, const struct api_key *k)
{
	char text[JC_KEY_LEN + 1];

	if (key_format(k, text, sizeof(text)) < 0)
		return fail("cannot format a key");
	if (arg_json) {
		_cleanup_strbuf_ struct strbuf sb;
		struct jw w;

		strbuf_init(&sb, 4096);
		jw_init(&w, &sb);
		jw_obj_open(&w);
		jw_kv_str(&w, "name", name);
		jw_kv_str(&w, "key", text);
		jw_obj_close(&w);
		if (print_json(&w, &sb) != 0)
			return 1;
	} else {
		printf("consumer: %s\nkey: %s\n", name, text);
		fprintf(stderr, "jobcell-admin: the key is shown only now; "
		    "store it safely\n");
	}
	explicit_bzero(text, sizeof(text));
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_init(sqlite3 *db)
{
	int r = db_auto_vacuum_convert(db);

	if (r == 1)
		fprintf(stderr,
		    "jobcell-admin: the database now returns freed "
		    "pages to the filesystem (auto_vacuum, one VACUUM)\n");
	else if (r < 0)
		fprintf(stderr,
		    "jobcell-admin: cannot switch the database to "
		    "auto_vacuum now (%s): it works, but its file will not "
		    "shrink; run 'jobcell-admin init' again with the services "
		    "stopped\n",
		    r == -EBUSY ? "it is in use" : strerror(-r));
	if (arg_json)
		printf("{\"db\":\"ok\",\"schema_version\":%d}\n", DB_SCHEMA_VERSION);
	else
		printf("database ready (schema version %d)\n", DB_SCHEMA_VERSION);
	return 0;
}

static int
cmd_create(sqlite3 *db)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	unsigned char hash[KEY_HASH_LEN];
	struct api_key k;
	int rc, r;

	if (!arg_name || !name_ok(arg_name))
		return fail("create-consumer needs --name of 1..%d characters "
		    "[A-Za-z0-9._-]", JC_CONSUMER_NAME_MAX);
	if (new_key(&k, hash) != 0)
		return 1;
	if (db_prepare(db,
		"INSERT INTO consumers (name, key_id, key_hash, "
		"max_concurrent, max_per_day, max_queued, created_at, "
		"max_storage_mb) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		&st) < 0)
		return fail("%s", sqlite3_errmsg(db));
	if (sqlite3_bind_text(st, 1, arg_name, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(st, 2, k.id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_blob(st, 3, hash, KEY_HASH_LEN, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 4,
		arg_max_concurrent > 0 ? arg_max_concurrent : 2) ||
	    sqlite3_bind_int64(st, 5,
		arg_max_per_day > 0 ? arg_max_per_day : 10000) ||
	    sqlite3_bind_int64(st, 6,
		arg_max_queued > 0 ? arg_max_queued : 1000) ||
	    sqlite3_bind_int64(st, 7, time_now_ms()) ||
	    sqlite3_bind_int64(st, 8,
		arg_max_storage_mb > 0 ? arg_max_storage_mb :
					 JC_MAX_STORAGE_MB_DEFAULT))
		return fail("%s", sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return fail("a consumer named '%s' already exists", arg_name);
	if (rc != SQLITE_DONE)
		return fail("cannot create the consumer: %s", sqlite3_errmsg(db));
	r = print_key(arg_name, &k);
	key_wipe(&k);
	return r;
}

static int
cmd_rotate(sqlite3 *db)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	unsigned char hash[KEY_HASH_LEN];
	struct api_key k;
	int r;

	if (!arg_name)
		return fail("rotate-key needs --name");
	if (new_key(&k, hash) != 0)
		return 1;
	if (db_prepare(db, "UPDATE consumers SET key_id = ?, key_hash = ? "
	    "WHERE name = ?", &st) < 0 ||
	    sqlite3_bind_text(st, 1, k.id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_blob(st, 2, hash, KEY_HASH_LEN, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(st, 3, arg_name, -1, SQLITE_TRANSIENT) ||
	    sqlite3_step(st) != SQLITE_DONE)
		return fail("cannot rotate the key: %s", sqlite3_errmsg(db));
	if (name_found(db) != 0)
		return 1;
	r = print_key(arg_name, &k);
	key_wipe(&k);
	return r;
}

/* Runs an UPDATE/DELETE bound to --name (and optionally one integer). */
static int
update_by_name(sqlite3 *db, const char *sql, const char *done)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (!arg_name)
		return fail("this command needs --name");
	if (db_prepare(db, sql, &st) < 0 ||
	    sqlite3_bind_text(st, 1, arg_name, -1, SQLITE_TRANSIENT) ||
	    sqlite3_step(st) != SQLITE_DONE)
		return fail("%s", sqlite3_errmsg(db));
	return name_found(db) != 0 ? 1 : print_result(done);
}

static int
cmd_set_quota(sqlite3 *db)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (!arg_name)
		return fail("set-quota needs --name");
	if (arg_max_concurrent < 0 && arg_max_per_day < 0 &&
	    arg_max_queued < 0 && arg_max_storage_mb < 0 && arg_max_images < 0)
		return fail("set-quota needs --max-concurrent, --max-per-day, "
			    "--max-queued, --max-storage-mb or --max-images");
	if (db_prepare(db,
		"UPDATE consumers SET "
		"max_concurrent = CASE WHEN ?1 > 0 THEN ?1 ELSE max_concurrent END, "
		"max_per_day = CASE WHEN ?2 > 0 THEN ?2 ELSE max_per_day END, "
		"max_queued = CASE WHEN ?3 > 0 THEN ?3 ELSE max_queued END, "
		"max_storage_mb = CASE WHEN ?5 > 0 THEN ?5 ELSE max_storage_mb END, "
		"max_images = CASE WHEN ?6 >= 0 THEN ?6 ELSE max_images END "
		"WHERE name = ?4",
		&st) < 0 ||
	    sqlite3_bind_int64(st, 1, arg_max_concurrent) ||
	    sqlite3_bind_int64(st, 2, arg_max_per_day) ||
	    sqlite3_bind_int64(st, 3, arg_max_queued) ||
	    sqlite3_bind_int64(st, 5, arg_max_storage_mb) ||
	    sqlite3_bind_int64(st, 6, arg_max_images) ||
	    sqlite3_bind_text(st, 4, arg_name, -1, SQLITE_TRANSIENT) ||
	    sqlite3_step(st) != SQLITE_DONE)
		return fail("%s", sqlite3_errmsg(db));
	return name_found(db) != 0 ? 1 : print_result("quota set");
}

static int
cmd_list(sqlite3 *db)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_strbuf_ struct strbuf sb;
	struct jw w;
	int rc;

	strbuf_init(&sb, 64 * 1024 * 1024);
	if (db_prepare(db,
		"SELECT name, key_id, disabled, max_concurrent, "
		"max_per_day, max_queued, max_storage_mb, storage_bytes FROM "
		"consumers ORDER BY name",
		&st) < 0)
		return fail("%s", sqlite3_errmsg(db));
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_key(&w, "consumers");
	jw_arr_open(&w);
	if (!arg_json)
		printf("%-24s %-16s %-8s %6s %8s %7s\n", "NAME", "KEY ID",
		    "STATE", "CONCUR", "PER-DAY", "QUEUED");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *) sqlite3_column_text(st, 0);
		const char *kid = (const char *) sqlite3_column_text(st, 1);
		bool disabled = sqlite3_column_int(st, 2) != 0;

		if (arg_json) {
			jw_obj_open(&w);
			jw_kv_str(&w, "name", name);
			jw_kv_str(&w, "key_id", kid);
			jw_kv_bool(&w, "disabled", disabled);
			jw_kv_i64(&w, "max_concurrent", sqlite3_column_int64(st, 3));
			jw_kv_i64(&w, "max_per_day", sqlite3_column_int64(st, 4));
			jw_kv_i64(&w, "max_queued", sqlite3_column_int64(st, 5));
			jw_kv_i64(&w, "max_storage_mb",
			    sqlite3_column_int64(st, 6));
			jw_kv_i64(&w, "storage_bytes",
			    sqlite3_column_int64(st, 7));
			jw_obj_close(&w);
		} else
			printf("%-24s %-16s %-8s %6lld %8lld %7lld\n", name, kid,
			    disabled ? "disabled" : "enabled",
			    (long long) sqlite3_column_int64(st, 3),
			    (long long) sqlite3_column_int64(st, 4),
			    (long long) sqlite3_column_int64(st, 5));
	}
	if (rc != SQLITE_DONE)
		return fail("%s", sqlite3_errmsg(db));
	jw_arr_close(&w);
	jw_obj_close(&w);
	return arg_json ? print_json(&w, &sb) : 0;
}

static int64_t
file_size(const char *path, const char *suffix)
{
	char p[JC_PATH_MAX];
	struct stat sbuf;

	if ((size_t) snprintf(p, sizeof(p), "%s%s", path, suffix) >= sizeof(p) ||
	    stat(p, &sbuf) < 0)
		return 0;
	return (int64_t) sbuf.st_size;
}

static int
cmd_db_info(sqlite3 *db)
{
	_cleanup_strbuf_ struct strbuf sb;
	struct jw w;

	strbuf_init(&sb, 64 * 1024);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_i64(&w, "schema_version", DB_SCHEMA_VERSION);
	jw_kv_i64(&w, "file_bytes", file_size(arg_db, ""));
	jw_kv_i64(&w, "wal_bytes", file_size(arg_db, "-wal"));
	jw_key(&w, "jobs");
	jw_obj_open(&w);
	if (!arg_json)
		printf("schema version: %d\nfile bytes: %lld\nwal bytes: %lld\n",
		    DB_SCHEMA_VERSION, (long long) file_size(arg_db, ""),
		    (long long) file_size(arg_db, "-wal"));
	for (unsigned i = 0; i < JOB_STATUS_COUNT; i++) {
		const char *status = job_status_to_string((enum job_status) i);
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		int64_t n;

		if (db_prepare(db, "SELECT COUNT(*) FROM jobs WHERE status = ?",
		    &st) < 0 || sqlite3_bind_text(st, 1, status, -1,
		    SQLITE_STATIC) || sqlite3_step(st) != SQLITE_ROW)
			return fail("%s", sqlite3_errmsg(db));
		n = sqlite3_column_int64(st, 0);
		jw_kv_i64(&w, status, n);
		if (!arg_json)
			printf("jobs %s: %lld\n", status, (long long) n);
	}
	jw_obj_close(&w);
	jw_obj_close(&w);
	return arg_json ? print_json(&w, &sb) : 0;
}

static void
gc_seen(void *arg, enum gc_kind kind, const char *what, int64_t bytes)
{
	(void) arg;
	if (!arg_json)
		printf("%s %s %s (%lld bytes)\n",
		    arg_dry_run ? "would delete" : "deleted",
		    gc_kind_name(kind), what, (long long) bytes);
}

static int
cmd_gc(sqlite3 *db)
{
	_cleanup_strbuf_ struct strbuf sb;
	struct gc_policy p = {
		.data_dir = cfg.storage_data_dir,
		.now_ms = time_now_ms(),
		.jobs_days = cfg.retention_jobs_days,
		.artifacts_hours = cfg.retention_artifacts_hours,
		.blobs_hours = cfg.retention_blobs_hours,
		.images_days = cfg.retention_images_days,
		.dry_run = arg_dry_run,
		.seen = gc_seen,
	};
	struct gc_stats s;
	struct jw w;
	int r;

	strbuf_init(&sb, 4096);
	if ((r = gc_run(db, &p, &s)) < 0)
		return fail("gc stopped: %s%s", strerror(-r),
		    r == -EBUSY ?
			" (the database stayed locked; what was done is done)" :
			"");
	if (!arg_json) {
		printf(
		    "%s: %lld jobs (%lld log bytes), %lld artifacts (%lld "
		    "bytes), %lld blobs (%lld bytes), %lld orphan files (%lld "
		    "bytes); %lld database pages freed%s\n",
		    arg_dry_run ? "would delete" : "deleted",
		    (long long) s.jobs, (long long) s.job_log_bytes,
		    (long long) s.artifacts, (long long) s.artifact_bytes,
		    (long long) s.blobs, (long long) s.blob_bytes,
		    (long long) s.orphans, (long long) s.orphan_bytes,
		    (long long) s.db_pages_freed,
		    s.errors ? "; some files could not be removed" : "");
		return s.errors ? 1 : 0;
	}
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_bool(&w, "dry_run", arg_dry_run);
	jw_kv_i64(&w, "jobs", s.jobs);
	jw_kv_i64(&w, "images", s.images);
	jw_kv_i64(&w, "job_log_bytes", s.job_log_bytes);
	jw_kv_i64(&w, "artifacts", s.artifacts);
	jw_kv_i64(&w, "artifact_bytes", s.artifact_bytes);
	jw_kv_i64(&w, "blobs", s.blobs);
	jw_kv_i64(&w, "blob_bytes", s.blob_bytes);
	jw_kv_i64(&w, "orphans", s.orphans);
	jw_kv_i64(&w, "orphan_bytes", s.orphan_bytes);
	jw_kv_i64(&w, "db_pages_freed", s.db_pages_freed);
	jw_kv_i64(&w, "errors", s.errors);
	jw_obj_close(&w);
	if (print_json(&w, &sb) != 0)
		return 1;
	return s.errors ? 1 : 0;
}

static int
parse_quota(const char *opt, const char *val, int64_t *ret)
{
	if (parse_i64(val, 1, INT32_MAX, ret) < 0) {
		fail("%s must be a whole number from 1, not '%s'", opt, val);
		return -EINVAL;
	}
	return 0;
}

static int
cmd_disable(sqlite3 *db)
{
	return update_by_name(db,
	    "UPDATE consumers SET disabled = 1 WHERE name = ?", "disabled");
}

static int
cmd_enable(sqlite3 *db)
{
	return update_by_name(db,
	    "UPDATE consumers SET disabled = 0 WHERE name = ?", "enabled");
}

static int
cmd_delete(sqlite3 *db)
{
	return update_by_name(db, "DELETE FROM consumers WHERE name = ?",
	    "deleted");
}

static const struct command {
	const char *name;
	int (*fn)(sqlite3 *db);
} commands[] = {
	{ "init", cmd_init },
	{ "create-consumer", cmd_create },
	{ "list-consumers", cmd_list },
	{ "disable-consumer", cmd_disable },
	{ "enable-consumer", cmd_enable },
	{ "set-quota", cmd_set_quota },
	{ "rotate-key", cmd_rotate },
	{ "delete-consumer", cmd_delete },
	{ "db-info", cmd_db_info },
	{ "gc", cmd_gc },
};

/* One case per option: a flat table. -1 to go on with *ret_cmd set, else
 * main's exit status. */
static int
parse_args(int argc, char **argv, const char **ret_cmd)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "db", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "max-concurrent", required_argument, NULL, 'c' },
		{ "max-per-day", required_argument, NULL, 'p' },
		{ "max-queued", required_argument, NULL, 'q' },
		{ "max-storage-mb", required_argument, NULL, 's' },
		{ "max-images", required_argument, NULL, 'I' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* "+": options may come before and after the command word. */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'C': arg_config = optarg; break;
		case 'd': arg_db = optarg; break;
		case 'n': arg_name = optarg; break;
		case 'j': arg_json = true; break;
		case 'y': arg_yes = true; break;
		case 'c':
			if (parse_quota("--max-concurrent", optarg,
			    &arg_max_concurrent) < 0)
				return 2;
			break;
		case 'p':
			if (parse_quota("--max-per-day", optarg,
			    &arg_max_per_day) < 0)
				return 2;
			break;
		case 'q':
			if (parse_quota("--max-queued", optarg,
			    &arg_max_queued) < 0)
				return 2;
			break;
		case 'I':
			if (parse_i64(optarg, 0, 1000000, &arg_max_images) <
			    0) {
				fprintf(stderr,
				    "jobcell-admin: --max-images must be "
				    "0..1000000\n");
				return 2;
			}
			break;
		case 's':
			if (parse_quota("--max-storage-mb", optarg,
				&arg_max_storage_mb) < 0)
				return 2;
			break;
		case 'D':
			arg_dry_run = true;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jobcell-admin %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fail(optind >= argc ? "a command is required" :
		    "one command at a time");
		usage(stderr);
		return 2;
	}
	*ret_cmd = argv[optind];
	return -1;
}

/* Options, config, command; then the command on the open database. */
int
main(int argc, char **argv)
{
	const struct command *c;
	const char *cmd = NULL;
	sqlite3 *db = NULL;
	char errmsg[512];
	int r;

	if ((r = parse_args(argc, argv, &cmd)) >= 0)
		return r;
	/* Read (and so check) the config even when --db is given: flags
	 * override it, they do not skip it. */
	if (config_resolve(arg_config, &cfg, errmsg, sizeof(errmsg)) < 0)
		return fail("%s", errmsg);
	if (!arg_db && cfg.api_db[0])
		arg_db = cfg.api_db;
	if (!arg_db) {
		fail("--db PATH is required (or db in [api] of the config file)");
		return 2;
	}
	for (c = commands; c < commands + ARRAY_SIZE(commands); c++)
		if (strcmp(c->name, cmd) == 0)
			break;
	if (c == commands + ARRAY_SIZE(commands)) {
		fail("unknown command '%s'", cmd);
		usage(stderr);
		return 2;
	}
	if (c->fn == cmd_delete && !arg_yes) {
		fail("delete-consumer deletes the consumer and all its jobs; "
		    "add --yes to confirm");
		return 2;
	}
	r = db_open(arg_db, c->fn == cmd_init, 1, &db, errmsg, sizeof(errmsg));
	if (r < 0)
		return fail("cannot open the database: %s", errmsg);
	r = c->fn(db);
	db = db_close(db);
	return r;
}
