/* fuzz_ini.c - libFuzzer target: the one INI reader (lib/ini.c) and its
 * two users, the server config (lib/config.c) and the CLI's profile file
 * (cli/profile.c), on arbitrary text. Properties:
 * - the reader ends; its keys and values carry no blanks at either end,
 *   no newline, and line numbers only grow; the items written back as
 *   "[section]" and "key = value" lines read back as the same items;
 * - a profile file that parses, formatted and parsed again, formats to
 *   the same text (what `jobcell init` writes is what it reads);
 * - the server config either loads or says why, in a message. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "ini.h"
#include "io.h"
#include "jc_config.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN (64 * 1024)
#define MAX_ITEMS 512

struct item {
	enum ini_kind kind;
	const char *a, *b;	/* section, or key and value */
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
check_trimmed(const char *s)
{
	size_t n = strlen(s);

	if (strchr(s, '\n') || (n > 0 && (blank(s[0]) || blank(s[n - 1]) ||
	    s[n - 1] == '\r')))
		abort();
}

/* Reads text; fills it[] (at most MAX_ITEMS); returns how many, and
 * whether the text ended in an error. */
static size_t
read_items(char *text, struct item *it, bool *ret_err)
{
	struct ini_reader rd;
	struct ini_item x;
	unsigned last = 0;
	size_t n = 0;
	int r;

	ini_init(&rd, text);
	*ret_err = false;
	while ((r = ini_next(&rd, &x)) == 1) {
		if (rd.line <= last && last != 0)
			abort();
		last = rd.line;
		if (x.kind == INI_PAIR) {
			check_trimmed(x.key);
			check_trimmed(x.value);
			if (n < MAX_ITEMS)
				it[n++] = (struct item) { x.kind, x.key,
				    x.value };
		} else {
			if (strchr(x.section, '\n') || strchr(x.section, ']'))
				abort();
			if (n < MAX_ITEMS)
				it[n++] = (struct item) { x.kind, x.section,
				    NULL };
		}
	}
	if (r != 0 && r != -EINVAL)
		abort();
	*ret_err = r < 0;
	return n;
}

static void
check_ini(const char *in, size_t len)
{
	static struct item first[MAX_ITEMS], again[MAX_ITEMS];
	char *text = strndup(in, len), *text2;
	struct strbuf sb;
	size_t n, m;
	bool err, err2;

	if (!text)
		abort();
	n = read_items(text, first, &err);
	strbuf_init(&sb, 4 * MAX_IN);
	for (size_t i = 0; i < n; i++) {
		if (first[i].kind == INI_SECTION)
			(void) strbuf_addf(&sb, "[%s]\n", first[i].a);
		else
			(void) strbuf_addf(&sb, "%s = %s\n", first[i].a,
			    first[i].b);
	}
	if (!(text2 = strdup(sb.buf)))
		abort();
	m = read_items(text2, again, &err2);
	if (err2 || m != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (again[i].kind != first[i].kind ||
		    strcmp(again[i].a, first[i].a) != 0 ||
		    (first[i].b && strcmp(again[i].b, first[i].b) != 0))
			abort();
	strbuf_release(&sb);
	free(text2);
	free(text);
}

static void
check_profiles(const char *in, size_t len)
{
	struct profile_file a = { 0 }, b = { 0 };
	struct strbuf one, two;
	char *text = strndup(in, len), *copy = NULL;

	if (!text)
		abort();
	if (profile_file_parse(&a, text) == 0) {
		strbuf_init(&one, 4 * MAX_IN);
		strbuf_init(&two, 4 * MAX_IN);
		if (profile_file_format(&a, &one) != 0)
			abort();
		/* The reader edits its text: give it a copy. */
		if (!(copy = strdup(one.buf)) ||
		    profile_file_parse(&b, copy) != 0)
			abort();	/* what we write, we read */
		if (profile_file_format(&b, &two) != 0 ||
		    strcmp(two.buf, one.buf) != 0 || a.n != b.n ||
		    strcmp(a.active, b.active) != 0)
			abort();
		strbuf_release(&one);
		strbuf_release(&two);
		free(copy);
	}
	profile_file_release(&a);
	profile_file_release(&b);
	free(text);
}

static void
check_config(const uint8_t *data, size_t size)
{
	struct config c;
	char path[64], errmsg[512];
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC), r;

	if (fd < 0)
		return;	/* no memfd: nothing to test this run */
	if (write_full(fd, data, size) == 0 &&
	    (size_t) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) <
	    sizeof(path)) {
		config_defaults(&c);
		errmsg[0] = '\0';
		r = config_load(&c, path, errmsg, sizeof(errmsg));
		if (r < 0 && !errmsg[0])
			abort();	/* an error says why */
		if (r == 0 && config_check(&c, errmsg, sizeof(errmsg)) != 0)
			abort();	/* what loads is consistent */
	}
	(void) close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *quiet;

	/* The profile reader explains each refusal on stderr: millions of
	 * lines. Only stdio's stream goes quiet; sanitizer reports write
	 * to fd 2 themselves. */
	if (!quiet && (quiet = fopen("/dev/null", "w")))
		stderr = quiet;
	if (size > MAX_IN)
		return 0;
	check_ini((const char *) data, size);
	check_profiles((const char *) data, size);
	check_config(data, size);
	return 0;
}
