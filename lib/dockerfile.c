/* dockerfile.c - the image references of a Dockerfile (dockerfile.h). A
 * small reader of Docker's syntax as its documentation gives it ("Dockerfile
 * reference": parser directives are comments to us, the escape character
 * is '\', a comment line inside a continuation is dropped); whatever it
 * does not understand in a FROM or --from= is refused, never guessed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dockerfile.h"
#include "banned.h"

#define WORDS_MAX 16 /* words of an instruction we look at */

struct word {
	size_t off, len;
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* At p: '\' then only blanks up to a newline (or the end): a
 * continuation; returns the offset after that newline, else 0. */
static size_t
continuation(const char *t, size_t len, size_t p)
{
	if (p >= len || t[p] != '\\')
		return 0;
	for (p++; p < len && blank(t[p]); p++)
		;
	if (p < len && t[p] != '\n')
		return 0;
	return p < len ? p + 1 : p;
}

/* Skips blank and comment lines starting at p (inside a continuation). */
static size_t
skip_comment_lines(const char *t, size_t len, size_t p)
{
	for (;;) {
		size_t q = p;

		while (q < len && blank(t[q]))
			q++;
		if (q < len && t[q] == '#') {
			while (q < len && t[q] != '\n')
				q++;
			p = q < len ? q + 1 : q;
			continue;
		}
		if (q < len && t[q] == '\n' && q > p) {
			p = q + 1;
			continue;
		}
		return p;
	}
}

/* One logical line from *pos: its words (up to WORDS_MAX), *pos moved
 * past it. Returns the word count (more words than WORDS_MAX are read
 * and dropped). */
static size_t
read_line(const char *t, size_t len, size_t *pos, struct word *w)
{
	size_t p = *pos, n = 0, c;

	for (;;) {
		while (p < len && blank(t[p]))
			p++;
		if ((c = continuation(t, len, p)) > 0) {
			p = skip_comment_lines(t, len, c);
			continue;
		}
		if (p >= len || t[p] == '\n')
			break;
		size_t start = p;

		while (p < len && !blank(t[p]) && t[p] != '\n' &&
		    !continuation(t, len, p))
			p++;
		if (n < WORDS_MAX)
			w[n] = (struct word){ start, p - start };
		n++;
	}
	*pos = p < len ? p + 1 : p;
	return n < WORDS_MAX ? n : WORDS_MAX;
}

static bool
word_is(const char *t, const struct word *w, const char *s)
{
	return w->len == strlen(s) && strncasecmp(t + w->off, s, w->len) == 0;
}

static bool
ref_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("._/:@-", c) != NULL;
}

/* Stage names so far: the "AS" words of earlier FROMs. */
struct stages {
	struct word w[DOCKERFILE_MAX_REFS];
	size_t n;
};

static bool
is_stage(const char *t, const struct stages *st, size_t nfrom, size_t off,
    size_t len)
{
	bool digits = len > 0 && len < 4;
	size_t v = 0;

	for (size_t i = 0; i < len && digits; i++) {
		digits = t[off + i] >= '0' && t[off + i] <= '9';
		v = v * 10 + (size_t) (t[off + i] - '0');
	}
	if (digits) /* --from=N: stage N, which must come earlier */
		return v < nfrom;
	for (size_t i = 0; i < st->n; i++)
		if (st->w[i].len == len &&
		    strncasecmp(t + st->w[i].off, t + off, len) == 0)
			return true;
	return false;
}

static int
add_ref(const char *t, size_t off, size_t len, unsigned line,
    const struct stages *st, struct dockerfile *df, char *msg, size_t size)
{
	struct dockerfile_ref *r;

	if (df->nrefs >= DOCKERFILE_MAX_REFS) {
		(void) snprintf(msg, size,
		    "the Dockerfile names more than %d "
		    "images and stages",
		    DOCKERFILE_MAX_REFS);
		return -EINVAL;
	}
	if (len == 0 || len >= DOCKERFILE_REF_MAX) {
		(void) snprintf(msg, size,
		    "line %u: an image reference must be "
		    "1 to %d bytes",
		    line, DOCKERFILE_REF_MAX - 1);
		return -EINVAL;
	}
	r = &df->refs[df->nrefs];
	*r = (struct dockerfile_ref){ .off = off, .len = len, .line = line };
	memcpy(r->image, t + off, len);
	r->image[len] = '\0';
	if (memchr(t + off, '$', len)) {
		(void) snprintf(msg, size,
		    "line %u: '%s': variables (ARG) in "
		    "FROM and --from are not supported; name the image",
		    line, r->image);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!ref_char_ok(t[off + i])) {
			(void) snprintf(msg, size,
			    "line %u: an image reference "
			    "may hold only [A-Za-z0-9._/:@-]",
			    line);
			return -EINVAL;
		}
	r->stage = is_stage(t, st, df->nfrom, off, len);
	df->nrefs++;
	return 0;
}

/* FROM [--flag=...] image [AS name] */
static int
from_line(const char *t, const struct word *w, size_t n, unsigned line,
    struct stages *st, struct dockerfile *df, char *msg, size_t size)
{
	size_t i = 1;
	int r;

	while (i < n && w[i].len > 2 && strncmp(t + w[i].off, "--", 2) == 0)
		i++;
	if (i >= n) {
		(void) snprintf(msg, size, "line %u: FROM names no image",
		    line);
		return -EINVAL;
	}
	if ((r = add_ref(t, w[i].off, w[i].len, line, st, df, msg, size)) < 0)
		return r;
	if (i + 2 < n && word_is(t, &w[i + 1], "as") &&
	    st->n < DOCKERFILE_MAX_REFS)
		st->w[st->n++] = w[i + 2];
	df->nfrom++;
	return 0;
}

/* COPY/ADD --from=x ... */
static int
copy_line(const char *t, const struct word *w, size_t n, unsigned line,
    const struct stages *st, struct dockerfile *df, char *msg, size_t size)
{
	int r;

	for (size_t i = 1; i < n; i++) {
		if (w[i].len < 2 || strncmp(t + w[i].off, "--", 2) != 0)
			break;
		if (w[i].len >= 7 &&
		    strncasecmp(t + w[i].off, "--from=", 7) == 0 &&
		    (r = add_ref(t, w[i].off + 7, w[i].len - 7, line, st, df,
			 msg, size)) < 0)
			return r;
	}
	return 0;
}

int
dockerfile_parse(const char *text, size_t len, struct dockerfile *ret,
    char *msg, size_t size)
{
	struct stages st = { .n = 0 };
	size_t pos = 0;
	unsigned line = 1;
	int r;

	if (len > DOCKERFILE_MAX_BYTES) {
		(void) snprintf(msg, size, "the Dockerfile is over %u KiB",
		    DOCKERFILE_MAX_BYTES / 1024);
		return -E2BIG;
	}
	if (memchr(text, '\0', len)) {
		(void) snprintf(msg, size, "the Dockerfile holds a NUL byte");
		return -EINVAL;
	}
	ret->nrefs = ret->nfrom = 0;
	while (pos < len) {
		struct word w[WORDS_MAX];
		size_t start = pos, n;
		unsigned here = line;

		pos = skip_comment_lines(text, len, pos);
		for (size_t i = start; i < pos; i++)
			here += text[i] == '\n';
		if (pos < len && text[pos] == '\n') { /* an empty line */
			pos++;
			line = here + 1;
			continue;
		}
		start = pos;
		n = read_line(text, len, &pos, w);
		line = here;
		for (size_t i = start; i < pos; i++)
			line += text[i] == '\n';
		if (n == 0)
			continue;
		if (word_is(text, &w[0], "from"))
			r = from_line(text, w, n, here, &st, ret, msg, size);
		else if (word_is(text, &w[0], "copy") ||
		    word_is(text, &w[0], "add"))
			r = copy_line(text, w, n, here, &st, ret, msg, size);
		else
			r = 0;
		if (r < 0)
			return r;
	}
	if (ret->nfrom == 0) {
		(void) snprintf(msg, size, "the Dockerfile has no FROM");
		return -EINVAL;
	}
	return 0;
}

int
dockerfile_rewrite(const char *text, size_t len, const struct dockerfile *df,
    const char *const *repl, struct strbuf *out)
{
	size_t at = 0;
	int r;

	for (size_t i = 0; i < df->nrefs; i++) {
		const struct dockerfile_ref *ref = &df->refs[i];

		if (!repl[i])
			continue;
		if ((r = strbuf_add(out, text + at, ref->off - at)) < 0 ||
		    (r = strbuf_addstr(out, repl[i])) < 0)
			return r;
		at = ref->off + ref->len;
	}
	return strbuf_add(out, text + at, len - at);
}

const char *
dockerfile_member_name(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}
