/* strbuf.c - growable NUL-terminated buffer with a hard maximum, used by
 * every program for anything built from outside bytes (bodies, replies, log
 * chunks). Trusts its caller's max; every growth is overflow-checked. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "banned.h"

#define STRBUF_MIN_ALLOC 64

/* Shared, never written: alloc == 0 means buf points here. */
static char strbuf_empty[1];

void
strbuf_init(struct strbuf *sb, size_t max)
{
	sb->buf = strbuf_empty;
	sb->len = 0;
	sb->alloc = 0;
	sb->max = max;
}

void
strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, sb->max);
}

void
strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}

int
strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t want, cap, need;
	char *p;

	if (__builtin_add_overflow(sb->len, extra, &want) || want > sb->max ||
	    want == SIZE_MAX)
		return -E2BIG;
	need = want + 1;
	if (need <= sb->alloc)
		return 0;
	cap = sb->alloc ? sb->alloc : STRBUF_MIN_ALLOC;
	while (cap < need)
		if (__builtin_mul_overflow(cap, 2, &cap))
			cap = need;
	if (cap - 1 > sb->max)
		cap = sb->max + 1;
	if (sb->alloc) {
		if (!(p = realloc(sb->buf, cap)))
			return -ENOMEM;
	} else {
		if (!(p = malloc(cap)))
			return -ENOMEM;
		p[0] = '\0';
	}
	sb->buf = p;
	sb->alloc = cap;
	return 0;
}

/* data must not point into sb->buf (growing may move it). */
int
strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	int r;

	if (len == 0)
		return 0;
	if ((r = strbuf_grow(sb, len)) < 0)
		return r;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int
strbuf_addstr(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int
strbuf_addch(struct strbuf *sb, char c)
{
	return strbuf_add(sb, &c, 1);
}

int
strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	size_t avail = sb->alloc ? sb->alloc - sb->len : 0;
	va_list cp;
	int n, r;

	/* First try in place; vsnprintf(NULL, 0) just measures. */
	va_copy(cp, ap);
	n = vsnprintf(avail ? sb->buf + sb->len : NULL, avail, fmt, cp);
	va_end(cp);
	if (n < 0) {
		r = -EINVAL;	/* encoding error (%ls) */
		goto fail;
	}
	if ((size_t) n < avail) {
		if ((size_t) n > sb->max - sb->len) {
			r = -E2BIG;
			goto fail;
		}
		sb->len += (size_t) n;
		return 0;
	}
	if ((r = strbuf_grow(sb, (size_t) n)) < 0)
		goto fail;
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0 || (size_t) n >= sb->alloc - sb->len) {
		r = -EINVAL;	/* the arguments changed under us */
		goto fail;
	}
	sb->len += (size_t) n;
	return 0;
fail:
	if (sb->alloc)
		sb->buf[sb->len] = '\0';	/* undo a partial write */
	return r;
}

int
strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return r;
}

char *
strbuf_detach(struct strbuf *sb, size_t *ret_len)
{
	size_t len = sb->len;
	char *p;

	if (sb->alloc) {
		p = sb->buf;
	} else if (!(p = calloc(1, 1))) {
		return NULL;
	}
	strbuf_init(sb, sb->max);
	if (ret_len)
		*ret_len = len;
	return p;
}
