/* test_ini.c - unit tests for lib/ini.c: each row is a text and what the
 * reader makes of it, written as "[section]" and "key=value" items, then
 * "!S@N" or "!P@N" for a malformed section or pair line N, or "." for the
 * end. Hostile rows: empty, blanks only, CR LF, no final newline, '=' in
 * values, empty keys, brackets in odd places, an over-long line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ini.h"
#include "parse.h"
#include "strbuf.h"
#include "tap.h"
#include "banned.h"

/* Renders everything the reader returns for text. */
static void
render(const char *text, struct strbuf *out)
{
	_cleanup_free_ char *copy = strdup(text);
	struct ini_reader rd;
	struct ini_item it;
	int r;

	if (!copy) {
		(void) strbuf_addstr(out, "ENOMEM");
		return;
	}
	ini_init(&rd, copy);
	while ((r = ini_next(&rd, &it)) == 1) {
		if (it.kind == INI_SECTION)
			(void) strbuf_addf(out, "[%s]", it.section);
		else
			(void) strbuf_addf(out, "%s=%s;", it.key, it.value);
	}
	if (r < 0)
		(void) strbuf_addf(out, "!%c@%u", it.kind == INI_SECTION ? 'S' :
		    'P', rd.line);
	else
		(void) strbuf_addch(out, '.');
}

static void
test_rows(void)
{
	static const struct {
		const char *text, *want;
	} rows[] = {
		{ "", "." },
		{ "\n\n\n", "." },
		{ " \t \r\n", "." },
		{ "# c\n; c\n  # indented\n", "." },
		{ "[a]\nk = v\n", "[a]k=v;." },
		{ "[a]\r\nk=v\r\n", "[a]k=v;." },
		{ "k = v", "k=v;." },			/* no final newline */
		{ "  k  =  v  w  \n", "k=v  w;." },	/* inner blanks kept */
		/* the first '=' splits */
		{ "k = a=b\n", "k=a=b;." },
		{ "k =\n", "k=;." },			/* empty value */
		{ "= v\n", "=v;." },			/* empty key */
		{ "k = v # not a comment\n", "k=v # not a comment;." },
		{ "[ a ]\n", "[ a ]." },		/* as written */
		{ "[]\n", "[]." },
		{ "[a] \t\r\n", "[a]." },
		{ "[a\n", "!S@1" },
		{ "[a] x\n", "!S@1" },
		{ "[a]]\n", "!S@1" },
		{ "\n\n[a]b\n", "!S@3" },
		{ "k\n", "!P@1" },
		{ "[a]\nk = v\nnot a pair\nk = w\n", "[a]k=v;!P@3" },
		{ "]\n", "!P@1" },
		/* a BOM is no blank: it stays in the key */
		{ "\xef\xbb\xbfk = v\n", "\xef\xbb\xbfk=v;." },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_strbuf_ struct strbuf out;

		strbuf_init(&out, 4096);
		render(rows[i].text, &out);
		is_str(out.buf, rows[i].want, "row %zu '%s'", i, rows[i].text);
	}
}

static void
test_long_line(void)
{
	enum { N = 300000 };
	_cleanup_free_ char *text = malloc(N + 16);
	struct ini_reader rd;
	struct ini_item it;

	if (!text) {
		ok(false, "malloc");
		return;
	}
	memcpy(text, "k = ", 4);
	memset(text + 4, 'v', N);
	memcpy(text + 4 + N, "\n[s]\n", 6);
	ini_init(&rd, text);
	is_int(ini_next(&rd, &it), 1, "a %d-byte value is read", N);
	is_int((int64_t) strlen(it.value), N, "whole");
	is_int(ini_next(&rd, &it), 1, "the next line follows");
	is_int(rd.line, 2, "as line 2");
	is_int(ini_next(&rd, &it), 0, "then the end");
	is_int(ini_next(&rd, &it), 0, "and the end again");
}

static void
test_trim(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "", "" }, { " ", "" }, { "\t a b \t\r", "a b" },
		{ "\r", "" }, { "a\r\r", "a" }, { "\ra", "\ra" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[32];

		(void) str_copy(buf, sizeof(buf), rows[i].in);
		is_str(ini_trim(buf), rows[i].want, "ini_trim('%s')",
		    rows[i].in);
	}
}

int
main(void)
{
	test_rows();
	test_long_line();
	test_trim();
	return done_testing();
}
