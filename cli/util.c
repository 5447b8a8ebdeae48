/* util.c - the small output, file, option and JSON helpers every
 * `jobcell` command shares, and the Ctrl-C flag (kept apart from main so
 * the unit tests can link them). Runs as the invoking user; trusts
 * nothing the server sends. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "io.h"
#include "parse.h"
#include "wspath.h"
#include "banned.h"

int
cli_err(const char *what, const char *fmt, ...)
{
	va_list ap;

	(void) fflush(stdout);
	fprintf(stderr, "jobcell: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
cli_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jobcell %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'jobcell %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int
cli_bad_option(const char *cmd)
{
	/* getopt_long has already named the option on stderr. */
	fprintf(stderr, "Try 'jobcell %s --help'.\n", cmd);
	return EXIT_USAGE;
}

void
cli_put_safe(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p == '\\')
			fputs("\\\\", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

int
cli_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strcmp(path, "-") == 0)
		return read_all(STDIN_FILENO, max, ret, ret_len);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return read_all(fd, max, ret, ret_len);
}

/* Signals counted by on_signal and those the program has dealt with;
 * sig_atomic_t because a handler writes it (C11 7.14.1.1). */
static volatile sig_atomic_t sig_count;
static sig_atomic_t sig_seen;

static void
on_signal(int sig)
{
	if (sig_count < 3)
		sig_count++;
	if (sig_count >= 3) {
		/* A third Ctrl-C: the user means it, whatever we are stuck
		 * in. Both calls are async-signal-safe. */
		(void) signal(sig, SIG_DFL);
		(void) raise(sig);
	}
}

int
cli_interrupt_catch(void)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct sigaction sa = { 0 }, old;

	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;	/* reads and writes go on; nanosleep
					 * and poll still return EINTR */
	if (sigemptyset(&sa.sa_mask) < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (sigaction(sigs[i], NULL, &old) < 0)
			return -errno;
		/* A signal our parent ignores (a background job of a
		 * script) stays ignored, as with any well-behaved tool. */
		if (old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	}
	return 0;
}

bool
cli_interrupted(void)
{
	return sig_count != sig_seen;
}

void
cli_interrupt_clear(void)
{
	sig_seen = sig_count;
}

int
cli_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (!cli_interrupted() && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return cli_interrupted() ? -EINTR : 0;
}

int
cli_opt_i64(const char *cmd, const char *opt, const char *s, int64_t min,
    int64_t max, int64_t *ret)
{
	if (parse_i64(s, min, max, ret) < 0)
		return cli_usage_err(cmd, "%s wants a whole number %" PRId64
		    "..%" PRId64 ", not '%s'", opt, min, max, s);
	return 0;
}

int
cli_parse_size_mb(const char *s, int64_t max_mb, int64_t *ret)
{
	char num[24];
	size_t n = strlen(s);
	int64_t mult = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'g':
	case 'G':
		mult = 1024;
		num[--n] = '\0';
		break;
	case 'm':
	case 'M':
		num[--n] = '\0';
		break;
	default:
		break;
	}
	if (parse_i64(num, 1, max_mb, &v) < 0)
		return -EINVAL;
	if (__builtin_mul_overflow(v, mult, &v) || v > max_mb)
		return -ERANGE;
	*ret = v;
	return 0;
}

int
cli_file_spec(const char *spec, char *local, size_t local_size, char *path,
    size_t path_size)
{
	const char *colon = strchr(spec, ':');
	const char *base;
	size_t n = colon ? (size_t) (colon - spec) : strlen(spec);

	if (n == 0 || n >= local_size)
		return -EINVAL;
	memcpy(local, spec, n);
	local[n] = '\0';
	if (colon) {
		if (str_copy(path, path_size, colon + 1) < 0)
			return -EINVAL;
	} else {
		base = strrchr(local, '/');
		if (str_copy(path, path_size, base ? base + 1 : local) < 0)
			return -EINVAL;
	}
	return wspath_valid(path) ? 0 : -EINVAL;
}

bool
cli_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CLI_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) s[i]) && s[i] != '_' &&
		    s[i] != '-')
			return false;
	return true;
}

int
cli_common_opt(struct cli_global *g, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_PROFILE:
		g->profile = arg;
		return 1;
	case CLI_OPT_JSON:
		g->json = true;
		return 1;
	default:
		return 0;
	}
}

void
cli_json_str(const struct jr_doc *doc, int obj, const char *key, char *buf,
    size_t size, const char *dflt)
{
	int t = jr_obj_get(doc, obj, key);

	if (t >= 0 && jr_type(doc, t) == JR_STRING &&
	    jr_str(doc, t, buf, size, NULL) == 0)
		return;
	(void) str_copy(buf, size, dflt);	/* defaults are short */
}

int
cli_json_i64(const struct jr_doc *doc, int obj, const char *key,
    int64_t *ret)
{
	int t = jr_obj_get(doc, obj, key);

	if (t < 0)
		return -ENOENT;
	if (jr_type(doc, t) == JR_NULL)
		return -ENOENT;
	return jr_i64(doc, t, ret);
}

bool
cli_json_bool(const struct jr_doc *doc, int obj, const char *key)
{
	int t = jr_obj_get(doc, obj, key);
	bool b = false;

	if (t < 0 || jr_bool(doc, t, &b) < 0)
		return false;
	return b;
}

/* One scalar as text: strings unquoted, null as "-", anything else as the
 * number/bool it is. Arrays of strings are joined with ", ". */
static void
put_scalar(FILE *f, const struct jr_doc *doc, int t)
{
	char buf[1024];
	int64_t v;
	bool b;

	switch (jr_type(doc, t)) {
	case JR_STRING:
		if (jr_str(doc, t, buf, sizeof(buf), NULL) == 0)
			cli_put_safe(f, buf);
		else
			fputs("(unprintable)", f);
		break;
	case JR_NUMBER:
		if (jr_i64(doc, t, &v) == 0)
			fprintf(f, "%" PRId64, v);
		else
			fputs("(number)", f);
		break;
	case JR_BOOL:
		fputs(jr_bool(doc, t, &b) == 0 && b ? "true" : "false", f);
		break;
	case JR_NULL:
		fputc('-', f);
		break;
	case JR_ARRAY:
		for (int i = 0; i < jr_len(doc, t); i++) {
			int e = jr_child(doc, t, i);

			if (e < 0)
				break;
			if (i > 0)
				fputs(", ", f);
			if (jr_type(doc, e) == JR_OBJECT ||
			    jr_type(doc, e) == JR_ARRAY)
				fputs("{...}", f);
			else
				put_scalar(f, doc, e);
		}
		break;
	case JR_OBJECT:
		fputs("{...}", f);
		break;
	}
}

/* Width of the widest "prefix.key" under obj (one level of nesting). */
static size_t
kv_width(const struct jr_doc *doc, int obj, size_t prefix)
{
	char key[128];
	size_t w = 0;

	for (int i = 0; i < jr_len(doc, obj); i++) {
		int k = jr_child(doc, obj, i);
		size_t len = 0;

		if (k < 0 || jr_str(doc, k, key, sizeof(key), &len) < 0)
			continue;
		if (prefix == 0 && jr_type(doc, k + 1) == JR_OBJECT) {
			size_t inner = kv_width(doc, k + 1, len + 1);

			if (inner > w)
				w = inner;
		} else if (prefix + len > w) {
			w = prefix + len;
		}
	}
	return w;
}

static void
kv_lines(FILE *f, const struct jr_doc *doc, int obj, const char *prefix,
    size_t width)
{
	char key[128], full[300];

	for (int i = 0; i < jr_len(doc, obj); i++) {
		int k = jr_child(doc, obj, i);
		int n;

		if (k < 0 || jr_str(doc, k, key, sizeof(key), NULL) < 0)
			continue;
		n = snprintf(full, sizeof(full), "%s%s%s", prefix,
		    *prefix ? "." : "", key);
		if (n < 0 || (size_t) n >= sizeof(full))
			continue;
		if (!*prefix && jr_type(doc, k + 1) == JR_OBJECT) {
			kv_lines(f, doc, k + 1, full, width);
			continue;
		}
		cli_put_safe(f, full);
		fputc(':', f);
		for (size_t pad = (size_t) n; pad < width + 1; pad++)
			fputc(' ', f);
		put_scalar(f, doc, k + 1);
		fputc('\n', f);
	}
}

void
cli_print_kv(FILE *f, const struct jr_doc *doc, int obj)
{
	if (jr_type(doc, obj) != JR_OBJECT)
		return;
	kv_lines(f, doc, obj, "", kv_width(doc, obj, 0));
}

int
cli_input_spec(const char *spec, char *local, size_t local_size, char *dest,
    size_t dest_size)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t) (colon - spec) : strlen(spec);
	char real[PATH_MAX];
	const char *base;

	if (n == 0 || n >= local_size)
		return -EINVAL;
	memcpy(local, spec, n);
	local[n] = '\0';
	if (colon) {
		if (str_copy(dest, dest_size, colon + 1) < 0)
			return -EINVAL;
		return wspath_valid(dest) ? 0 : -EINVAL;
	}
	/* the base name, as --file does; "." or "dir/" name the directory
	 * itself, so ask the file system which one that is */
	while (n > 1 && local[n - 1] == '/')
		n--;
	{
		char tmp[JC_PATH_MAX];

		memcpy(tmp, local, n);
		tmp[n] = '\0';
		base = strrchr(tmp, '/');
		base = base ? base + 1 : tmp;
		if (wspath_valid(base))
			return str_copy(dest, dest_size, base) < 0 ? -EINVAL :
								     0;
	}
	if (!realpath(local, real))
		return -errno;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (str_copy(dest, dest_size, base) < 0)
		return -EINVAL;
	return wspath_valid(dest) ? 0 : -EINVAL;
}

int
cli_base64(const void *data, size_t len, char **ret)
{
	size_t out;
	char *b;

	/* EVP_EncodeBlock(3): 4 bytes per 3, a NUL, no newlines */
	if (len > INT_MAX / 2)
		return -E2BIG;
	out = (len + 2) / 3 * 4 + 1;
	if (!(b = malloc(out)))
		return -ENOMEM;
	(void) EVP_EncodeBlock((unsigned char *) b, data, (int) len);
	*ret = b;
	return 0;
}

int
download_part_name(const char *leaf, const char *hex, char *buf, size_t size)
{
	int n;

	if (strlen(leaf) + 5 <= WSPATH_PART_MAX)
		n = snprintf(buf, size, "%s.part", leaf);
	else
		n = snprintf(buf, size, ".jobcell-%.32s.part", hex);
	return n < 0 || (size_t) n >= size ? -E2BIG : 0;
}
