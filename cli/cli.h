/* cli.h - private interfaces of `jobcell`, the command-line client.
 * The client trusts its own config file (once its mode is checked) and
 * nothing the server sends: every body is capped, parsed with jr_, and
 * printed with control bytes escaped (job output itself is passed through). */
#ifndef JOBCELL_CLI_H
#define JOBCELL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "blob.h"
#include "cleanup.h"
#include "json_reader.h"
#include "jc_limits.h"
#include "strbuf.h"
#include "wspath.h"

/* Sleeps ms milliseconds; returns early with -EINTR once the user has
 * interrupted us (see cli_interrupt_catch), else 0. */
int cli_sleep_ms(long ms);
/* Ctrl-C while following a job: SIGINT and SIGTERM (unless our parent
 * ignores them) only set a flag, so the command can leave the job running
 * and say how to reattach. Transfers see the flag within about a second
 * (libcurl's progress callback) and fail with -EINTR; a third signal ends
 * the process the default way. 0 or -errno. */
int cli_interrupt_catch(void);
/* True once a caught signal arrived that cli_interrupt_clear has not
 * acknowledged. */
bool cli_interrupted(void);
void cli_interrupt_clear(void);
#define EXIT_INTERRUPTED	130	/* 128 + SIGINT, as shells report it */

/* Exit statuses (DESIGN section 7). */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define PROFILE_NAME_MAX	64	/* [A-Za-z0-9_.-] */
#define PROFILE_SERVER_MAX	1024	/* base URL */
#define PROFILE_KEY_MAX		256	/* API key as given */
#define PROFILE_COUNT_MAX	64	/* profiles in one config file */
#define PROFILE_FILE_MAX	(256u * 1024)	/* config file */

#define CLI_RESP_MAX		(4u * 1024 * 1024)	/* a JSON reply */
#define CLI_LOGS_RESP_MAX	(32u * 1024 * 1024)	/* one logs page */
#define CLI_LINE_MAX		(1024u * 1024)	/* one NDJSON line */
#define CLI_JSON_TOKENS		(64u * 1024)	/* per reply */
#define CLI_ID_MAX		64	/* job id bytes we accept */
#define CLI_FILES_MAX		256	/* --file options */
#define CLI_INPUTS_MAX 16		/* --input options (DESIGN 4) */
#define JC_MAX_ARTIFACT_GLOBS 32	/* "artifacts" patterns (DESIGN 4) */
#define CLI_ARTIFACTS_RESP_MAX (64u * 1024 * 1024) /* a listing */
#define CLI_ARTIFACTS_TOKENS (4u * 1024 * 1024)	   /* its tokens */
#define SHA256_HEX_LEN 64

/* Options every subcommand accepts; filled by main and the subcommand. */
struct cli_global {
	const char *profile;	/* --profile, NULL if not given */
	bool json;		/* --json */
};

/* ---- util.c: helpers every command shares ---- */

/* Prints "jobcell: <what>: <message>" on stderr. Returns EXIT_FAIL. */
int cli_err(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, exit status EXIT_USAGE, followed by a "Try ... --help" hint. */
int cli_usage_err(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* After getopt_long reported an unknown option or a missing argument:
 * prints the help hint, returns EXIT_USAGE. */
int cli_bad_option(const char *cmd);
/* Writes s to f with control bytes, DEL and backslash escaped (\n, \xNN),
 * so server-controlled text cannot drive the terminal. */
void cli_put_safe(FILE *f, const char *s);
/* Reads a whole file ("-" is standard input) of at most max bytes into
 * *ret (NUL-terminated, caller frees). -E2BIG if larger; -errno else. */
int cli_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* Parses an option's whole number in min..max into *ret; else prints a
 * usage error naming opt. 0, or EXIT_USAGE. */
int cli_opt_i64(const char *cmd, const char *opt, const char *s, int64_t min,
    int64_t max, int64_t *ret);
/* "512", "512M"/"512m" (MiB) or "2G"/"2g" (GiB) into MiB, 1..max_mb.
 * -EINVAL for anything else, -ERANGE past max_mb. */
int cli_parse_size_mb(const char *s, int64_t max_mb, int64_t *ret);
/* Splits a --file LOCAL[:PATH] at its first ':' into local and path (the
 * base name of LOCAL when no PATH is given). -EINVAL if either is empty
 * or too long, or PATH is not wspath_valid (the server's rules). */
int cli_file_spec(const char *spec, char *local, size_t local_size,
    char *path, size_t path_size);
/* Splits an --input PATH[:DEST] at its first ':'; DEST defaults to the
 * base name of PATH (of its real path for "." or ".."). -EINVAL if either
 * is empty or too long, or DEST is not wspath_valid; -errno if PATH must
 * be resolved and cannot. */
int cli_input_spec(const char *spec, char *local, size_t local_size, char *dest,
    size_t dest_size);
/* Base64 (RFC 4648, padded, one line) of len bytes into *ret (caller
 * frees). -E2BIG, -ENOMEM. */
int cli_base64(const void *data, size_t len, char **ret);
/* True if s is a job id we are willing to put into a URL path. */
bool cli_id_valid(const char *s);
/* Handles options shared by all subcommands (--profile, --json). Returns
 * 1 if opt was one of them, 0 if not. */
int cli_common_opt(struct cli_global *g, int opt, const char *arg);
#define CLI_OPT_PROFILE	0x1000
#define CLI_OPT_JSON	0x1001
#define CLI_COMMON_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "profile", required_argument, NULL, CLI_OPT_PROFILE }, \
	{ "json", no_argument, NULL, CLI_OPT_JSON }

/* jr_ doc cleanup for locals. */
static inline void
cleanup_jr_freep(struct jr_doc **d)
{
	(void) jr_free(*d);
}
#define _cleanup_jr_ __attribute__((cleanup(cleanup_jr_freep)))

/* Small readers over a parsed reply; all treat absence as the fallback. */
/* String member into buf (control bytes kept; print with cli_put_safe).
 * Missing, null or not a string: copies dflt. */
void cli_json_str(const struct jr_doc *doc, int obj, const char *key,
    char *buf, size_t size, const char *dflt);
/* Integer member; -ENOENT if absent/null, -EINVAL if not an integer. */
int cli_json_i64(const struct jr_doc *doc, int obj, const char *key,
    int64_t *ret);
/* Boolean member, false if absent or not a bool. */
bool cli_json_bool(const struct jr_doc *doc, int obj, const char *key);
/* Prints an object's members as aligned "key: value" lines, nested
 * objects flattened as "outer.inner". */
void cli_print_kv(FILE *f, const struct jr_doc *doc, int obj);

/* ---- profile.c: the config file and effective settings ---- */

struct profile {
	char name[PROFILE_NAME_MAX + 1];
	char server[PROFILE_SERVER_MAX + 1];
	char key[PROFILE_KEY_MAX + 1];
	char cacert[JC_PATH_MAX];
};

struct profile_file {
	char path[JC_PATH_MAX];
	bool exists;			/* the file was there when loaded */
	char active[PROFILE_NAME_MAX + 1];
	struct profile *profiles;	/* owned; keys wiped on release */
	size_t n;
};

/* Where the settings come from, for `jobcell config`. */
enum setting_src { SRC_NONE, SRC_DEFAULT, SRC_FILE, SRC_OPTION, SRC_ENV };

struct settings {
	char profile[PROFILE_NAME_MAX + 1];
	char server[PROFILE_SERVER_MAX + 1];
	char key[PROFILE_KEY_MAX + 1];
	char cacert[JC_PATH_MAX];
	enum setting_src profile_src, server_src, key_src, cacert_src;
	char config_path[JC_PATH_MAX];
};

bool profile_name_valid(const char *name);
/* 0 if url is an http:// or https:// URL without spaces or control bytes
 * that fits PROFILE_SERVER_MAX; -EINVAL otherwise. */
int profile_server_valid(const char *url);
/* 0 if key is printable ASCII without spaces and fits; -EINVAL else. */
int profile_key_valid(const char *key);
/* The config file path ($XDG_CONFIG_HOME/jobcell/config or
 * ~/.config/jobcell/config) into buf[size]. */
int profile_file_path(char *buf, size_t size);
/* Loads the config file into *cfg (zeroed first). A missing file is an
 * empty config (cfg->exists false). Refuses, with a message on stderr, a
 * file readable or writable by group/others or owned by someone else
 * (-EPERM), a malformed one (-EINVAL, naming the line), or one too big. */
int profile_file_load(struct profile_file *cfg);
/* Parses text (the file's contents, edited in place) into cfg, which
 * the caller zeroed; -EINVAL naming the line on stderr. Pure but for
 * that message; profile_file_load calls it, the fuzz target too. */
int profile_file_parse(struct profile_file *cfg, char *text);
/* The file's text for cfg, appended to sb: profile_file_parse of it
 * gives cfg back. -E2BIG if sb is full. */
struct strbuf;
int profile_file_format(const struct profile_file *cfg, struct strbuf *sb);
/* Writes cfg atomically (temp file + rename), mode 0600, creating the
 * directory (0700) if needed. Prints its own error. */
int profile_file_save(const struct profile_file *cfg);
void profile_file_release(struct profile_file *cfg);	/* wipes keys */
struct profile *profile_file_find(const struct profile_file *cfg,
    const char *name);
/* Adds p, or replaces the profile of the same name. -E2BIG if full. */
int profile_file_put(struct profile_file *cfg, const struct profile *p);
/* Effective settings: --profile > JOBCELL_PROFILE > active > "default";
 * then JOBCELL_SERVER/KEY/CACERT over the profile's values. need: fail
 * (with a message) if the server / key named there is not set. */
#define NEED_SERVER	(1u << 0)
#define NEED_KEY	(1u << 1)
int settings_resolve(const struct cli_global *g, unsigned need,
    struct settings *ret);
void settings_wipe(struct settings *s);
const char *setting_src_name(enum setting_src s);
/* Writes "<key id>.****" (or "****") into buf: never the secret. */
void key_redact(const char *key, char *buf, size_t size);

/* ---- progress.c: a progress bar on a terminal ---- */

struct progress {
	bool on; /* stderr is a terminal */
	bool drawn;
	char label[40];
	uint64_t total, done;
	uint64_t last_ms;
};
/* "12.3 MiB" */
void cli_human_size(uint64_t n, char *buf, size_t size);
/* Draws nothing unless stderr is a terminal. */
void progress_init(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done); /* p may be NULL */
/* ok: the full bar and a newline; else the line is wiped for an error. */
void progress_end(struct progress *p, bool ok);

/* ---- ignore.c: .jobcellignore (a gitignore subset; see ignore.c) ---- */

#define IGNORE_PATTERN_MAX WSPATH_MAX
#define IGNORE_RULES_MAX 4096

struct ignore_rule {
	char pat[IGNORE_PATTERN_MAX + 1];
	bool negate;   /* "!pat" */
	bool dir_only; /* "pat/" */
	bool anchored; /* has a '/': matched from the root */
};

struct ignore {
	struct ignore_rule *rules; /* owned */
	size_t n, cap;
};

/* Adds one line (len bytes, no '\n'). Comments and blank lines add
 * nothing. -EINVAL for "!" or "/" alone or a NUL, -ENAMETOOLONG, -E2BIG
 * past IGNORE_RULES_MAX, -ENOMEM. */
int ignore_add(struct ignore *ig, const char *line, size_t len);
/* Adds every line of text; on error *ret_line (if not NULL) is the
 * 1-based number of the bad line. */
int ignore_add_text(struct ignore *ig, const char *text, size_t len,
    unsigned *ret_line);
/* True if path (relative to the tree's root, '/'-separated, no trailing
 * '/') is left out: the last matching rule decides. */
bool ignore_match(const struct ignore *ig, const char *path, bool is_dir);
void ignore_release(struct ignore *ig);

/* ---- pack.c: deterministic tar of a tree, SHA-256 of a file ---- */

#define IGNORE_FILE ".jobcellignore"

struct pack_stats {
	bool keep_git;		 /* in: pack .git too */
	const char *compression; /* out: "zstd" or "gzip" */
	uint64_t entries, files, dirs, links, skipped, bytes;
};

/* Packs the tree at dir (not following any symlink below it) into a new
 * unlinked temporary file, leaving out what ig matches and (unless
 * st->keep_git) every ".git". *ret_fd is that file (CLOEXEC, the caller
 * closes). Prints its own errors naming what. 0 or -errno. */
int pack_tree(const char *what, const char *dir, const struct ignore *ig,
    struct pack_stats *st, int *ret_fd);
/* An unlinked read-write temporary file in $TMPDIR or /tmp; fd or -errno. */
int tmpfile_open(void);
/* Hashing is lib/blob.h's: blob_sha256_fd (all of an fd's bytes),
 * blob_hex, blob_hex_check. */
void names_free(char **v, size_t n);

/* ---- project.c: `jobcell make`'s project root and .jobcell ---- */

#define PROJECT_FILE ".jobcell"
#define PROJECT_EXCLUDE_MAX 256
#define PROJECT_FILE_MAX (64u * 1024)

struct project_conf { /* strings point into the parsed text */
	const char *image, *sandbox;
	char *artifacts[JC_MAX_ARTIFACT_GLOBS];
	size_t n_artifacts;
	char *exclude[PROJECT_EXCLUDE_MAX];
	size_t n_exclude;
	int64_t timeout_s, memory_mb, disk_mb; /* -1: not set */
};

/* The nearest directory at or above start (an absolute path) holding a
 * regular file .jobcell, into ret. -ENOENT if none up to "/". */
int project_root_marker(const char *start, char *ret, size_t size);
/* project_root_marker, else `git rev-parse --show-toplevel` in cwd;
 * *ret_marker says which. -ENOENT if neither finds a root. */
int project_find(const char *cwd, char *ret_root, size_t root_size,
    bool *ret_marker);
/* cwd relative to root ("" for root itself); -EINVAL if cwd is not at or
 * under root. */
int project_rel(const char *root, const char *cwd, char *ret, size_t size);
/* Parses .jobcell's text (edited in place, kept by the caller) into c;
 * -EINVAL with a message naming the line in err. */
int project_conf_parse(char *text, struct project_conf *c, char *err,
    size_t err_size);

/* ---- http.c: libcurl ---- */

struct http {
	CURL *curl;
	char base[PROFILE_SERVER_MAX + 1];	/* no trailing '/' */
	char cacert[JC_PATH_MAX];		/* "" = system CAs */
	char auth[PROFILE_KEY_MAX + 32];	/* the Authorization header */
	char err[PROFILE_SERVER_MAX + JC_PATH_MAX + CURL_ERROR_SIZE + 256];
						/* last error, for messages */
	long connect_timeout_ms;
	long timeout_ms;			/* whole request; not streams */
};

struct http_resp {
	long status;		/* HTTP status, 0 if none was received */
	struct strbuf body;	/* capped; the error body for streams */
	char location[256];	/* Location header, if any */
};

#define HTTP_NOAUTH	(1u << 0)	/* do not send the key */

typedef int (*http_data_fn)(const char *data, size_t len, void *userdata);

/* Resolves the settings and sets up h; prints the error naming what.
 * 0 or -errno. */
int http_open(struct cli_global *g, const char *what, unsigned need,
    struct http *h);
/* Sets up a client for s (copies what it needs). 0, or -errno with h->err
 * set (e.g. an unreadable CA file). */
int http_init(struct http *h, const struct settings *s);
void http_release(struct http *h);	/* wipes the key */
/* One request: method ("GET"/"POST"), path starting with "/", optional
 * JSON body. On 0, ret->status and ret->body (at most max bytes) are set,
 * whatever the HTTP status. On transport failure returns -errno (-E2BIG
 * reply too big, -EIO network/TLS) with h->err naming the server and
 * curl's message. ret->body must be initialised by the caller
 * (http_resp_init) and is reset here. */
int http_request(struct http *h, const char *method, const char *path,
    const struct strbuf *body, unsigned flags, size_t max,
    struct http_resp *ret);
/* GET path and hand each 2xx body chunk to fn as it arrives (no total
 * timeout). A non-2xx body is collected into ret->body (capped) instead.
 * fn returning < 0 aborts the transfer and that value is returned. */
int http_stream(struct http *h, const char *path, http_data_fn fn,
    void *userdata, struct http_resp *ret);
/* PUT the size bytes of fd (read from offset 0) to path as
 * application/octet-stream, no total timeout (a minute without progress
 * fails), a progress bar if prog. As http_request otherwise. */
int http_put_fd(struct http *h, const char *path, int fd, uint64_t size,
    struct progress *prog, struct http_resp *ret);
/* http_stream with "Range: bytes=from-" when from > 0, no total timeout,
 * and a progress bar if prog (counting from). fn sees only 2xx bodies;
 * it can ask http_status_now whether the server sent 200 or 206. */
int http_get_range(struct http *h, const char *path, uint64_t from,
    http_data_fn fn, void *userdata, struct progress *prog,
    struct http_resp *ret);
long http_status_now(struct http *h);
void http_resp_init(struct http_resp *r, size_t max);
void http_resp_release(struct http_resp *r);
/* Prints the failed reply as "jobcell: <what>: <code>: <message>" from
 * the API error body, or the HTTP status when the body is not one. */
int http_report(const char *what, const struct http_resp *r);
/* Prints "jobcell: <what>: <h->err>" for a failed transfer, except when r
 * is -EINTR (the user interrupted us; the caller says what it means).
 * Returns EXIT_FAIL. */
int http_err(const char *what, const struct http *h, int r);
/* Parses a 2xx JSON reply; prints an error naming what on failure. */
int http_json(const char *what, const struct http_resp *r,
    struct jr_doc **ret_doc);

/* Splits a byte stream into lines of at most CLI_LINE_MAX bytes. */
struct ndjson {
	struct strbuf line;
	int (*fn)(const char *line, size_t len, void *userdata);
	void *userdata;
};
void ndjson_init(struct ndjson *nd,
    int (*fn)(const char *line, size_t len, void *userdata), void *userdata);
void ndjson_release(struct ndjson *nd);
/* An http_data_fn: feeds bytes, calling fn for each complete line
 * (without its '\n'). -E2BIG for an over-long line. */
int ndjson_feed(const char *data, size_t len, void *nd);

/* ---- commands: each returns the process exit status ---- */

struct command {
	const char *name;
	int (*fn)(struct cli_global *g, int argc, char **argv);
	const char *summary;
};

/* cmd_init.c */
int cmd_init(struct cli_global *g, int argc, char **argv);
int cmd_use(struct cli_global *g, int argc, char **argv);
int cmd_profiles(struct cli_global *g, int argc, char **argv);
int cmd_config(struct cli_global *g, int argc, char **argv);

/* cmd_submit.c */
int cmd_submit(struct cli_global *g, int argc, char **argv);
int cmd_run(struct cli_global *g, int argc, char **argv);

/* interrupt.c */
/* After Ctrl-C while following job id: leaves it running and prints how to
 * reattach, or (cancel) cancels it and waits briefly for its end. Returns
 * EXIT_INTERRUPTED. */
int job_interrupted(const struct cli_global *g, struct http *h,
    const char *what, const char *id, bool cancel);

/* blob.c */
/* Sends a local input: fd's size bytes, digest hex. HEAD first; PUT only
 * when the server does not have it (progress bar labelled label).
 * *ret_uploaded says whether a PUT was made. Prints its own errors. */
int blob_ensure(struct http *h, const char *what, int fd, uint64_t size,
    const char *hex, const char *label, bool *ret_uploaded);
/* Packs (a directory) or opens (a regular file) local, uploads it if
 * needed, and fills *ret. A directory's .jobcellignore is read from its
 * top; extra (may be NULL) adds rules first. Prints its own errors. */
struct cli_input {
	char digest[8 + SHA256_HEX_LEN + 1]; /* "sha256:<hex>" */
	bool is_tar;
	bool executable;
	uint64_t size;
};
int input_prepare(struct http *h, const char *what, const char *local,
    const struct ignore *extra, struct cli_input *ret);

/* cmd_artifacts.c */
int cmd_artifacts(struct cli_global *g, int argc, char **argv);
int cmd_download(struct cli_global *g, int argc, char **argv);
/* Downloads job id's artifacts into the directory dirfd (named dirname in
 * messages): all of them, or those whose path is in names[n_names];
 * with strip (a path prefix ending in '/'), only those under it, written
 * without it. Never writes outside dirfd or through a symlink; checks
 * sha256; resumes NAME.part files. Returns the exit status. */
int artifacts_download(struct http *h, const char *what, const char *id,
    int dirfd, const char *dirname, char **names, size_t n_names,
    const char *strip);
/* The path of a .part file for leaf into buf: "<leaf>.part", or, for a
 * leaf too long for that, ".jobcell-<sha256 prefix>.part". */
int download_part_name(const char *leaf, const char *hex, char *buf,
    size_t size);

/* cmd_make.c */
int cmd_make(struct cli_global *g, int argc, char **argv);
/* cmd_images.c (issue 14) */
int cmd_images(struct cli_global *g, int argc, char **argv);
/* cmd_runtimes.c */
int cmd_runtimes(struct cli_global *g, int argc, char **argv);
/* cmd_submit.c: exec --runtime R FILE [ARGS...] (issue 14) */
int cmd_exec(struct cli_global *g, int argc, char **argv);

/* cmd_jobs.c */
int cmd_status(struct cli_global *g, int argc, char **argv);
int cmd_list(struct cli_global *g, int argc, char **argv);
int cmd_cancel(struct cli_global *g, int argc, char **argv);
int cmd_me(struct cli_global *g, int argc, char **argv);
int cmd_ping(struct cli_global *g, int argc, char **argv);

/* cmd_logs.c */
int cmd_logs(struct cli_global *g, int argc, char **argv);
int cmd_tail(struct cli_global *g, int argc, char **argv);
/* Follows job id's output to stdout/stderr until its exit record
 * (reconnecting with after=, falling back to polling pages when the server
 * has no follow stream). json: copy the NDJSON records to stdout instead.
 * Errors are printed naming what (the command). Returns 0, or 1 if an
 * output chunk had to be left out (a NUL byte; noted on stderr), and then
 * ret_exit has the exit status `run` should end with; else -errno. */
int logs_follow(struct http *h, const char *what, const char *id,
    int64_t after, bool json, int *ret_exit);
/* Writes a reply body and a newline: --json passes the server's JSON
 * through unchanged. */
void cli_print_body(const struct http_resp *resp);
/* GET path expecting 200 and a JSON object; prints errors naming what.
 * 0 or -errno (-EINTR: interrupted, nothing printed). */
int cli_get_json(struct http *h, const char *what, const char *path,
    unsigned flags, struct http_resp *resp, struct jr_doc **ret_doc);
/* "ID STATUS exit_code=N ... [error='...']" for a job object. */
void job_print_status_line(FILE *f, const struct jr_doc *doc, int job);
/* Polls job id until its status is final (10 ms growing to 500 ms);
 * leaves the last reply in resp and its parse in *ret_doc. 0 or -errno
 * (-EINTR when interrupted). */
int job_wait(struct http *h, const char *what, const char *id,
    struct http_resp *resp, struct jr_doc **ret_doc);
/* The exit status for a finished job: its exit code, 124 timed out, 125
 * error, 1 otherwise without a code. */
int job_exit_status(const char *status, bool have_code, int64_t exit_code,
    bool timed_out);
/* True if status, a string from the server, names a final state
 * (job_status_is_final); false for one this client does not know. */
bool cli_status_final(const char *status);

#endif
