/* json_writer.h - streaming JSON writer into a strbuf.
 * Escapes everything (control bytes as \u00XX, invalid UTF-8 as U+FFFD),
 * caps depth at JC_MAX_JSON_DEPTH and keeps a sticky error: call every
 * jw_* function without checking, then check jw_finish() once. Commas are
 * inserted automatically. Not thread-safe per writer; writers are cheap. */
#ifndef JOBCELL_JSON_WRITER_H
#define JOBCELL_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jc_limits.h"
#include "strbuf.h"

struct jw {
	struct strbuf *sb;
	int err;			/* first error (-E2BIG, -ENOMEM, -EINVAL) */
	int depth;
	bool first[JC_MAX_JSON_DEPTH + 1];	/* no value yet at this depth */
	bool after_key;			/* a key was just written */
	uint64_t obj_mask;		/* bit d: the container at depth d is
					 * an object (added: keys vs values) */
};

void jw_init(struct jw *w, struct strbuf *sb);	/* appends to sb */
void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);
void jw_key(struct jw *w, const char *key);	/* inside an object */
void jw_str(struct jw *w, const char *s);	/* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t len);	/* bytes, lossy */
void jw_i64(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* key + value shorthands */
void jw_kv_str(struct jw *w, const char *key, const char *s);
void jw_kv_i64(struct jw *w, const char *key, int64_t v);
void jw_kv_bool(struct jw *w, const char *key, bool v);
void jw_kv_null(struct jw *w, const char *key);
/* 0, or the sticky error; -EINVAL also if objects/arrays are left open. */
int jw_finish(struct jw *w);

#endif
