/* strbuf.h - growable, NUL-terminated byte buffer with a hard maximum.
 * buf is never NULL after strbuf_init(); growing past max is -E2BIG. */
#ifndef JOBCELL_STRBUF_H
#define JOBCELL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;	/* always NUL-terminated; "" before the first write */
	size_t len;	/* bytes used, excluding the NUL */
	size_t alloc;	/* bytes allocated (0: buf points at a static "") */
	size_t max;	/* hard bound on len */
};

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_release(struct strbuf *sb);		/* frees contents; reusable */
void strbuf_reset(struct strbuf *sb);		/* len = 0, keeps memory */
/* All return 0, -E2BIG past max, or -ENOMEM; on error sb is unchanged. */
int strbuf_grow(struct strbuf *sb, size_t extra);
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Hands buf to the caller (free() it) and re-initialises sb. NULL on OOM. */
char *strbuf_detach(struct strbuf *sb, size_t *ret_len);

static inline void
cleanup_strbufp(struct strbuf *sb)
{
	strbuf_release(sb);
}
#define _cleanup_strbuf_ __attribute__((cleanup(cleanup_strbufp)))

#endif
