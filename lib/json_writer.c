/* json_writer.c - streaming JSON output into a strbuf for the API's replies
 * and the programs' --json output. Trusts no string it writes: quotes,
 * backslashes and control bytes are escaped and invalid UTF-8 becomes
 * U+FFFD. Misuse (a value where a key belongs, unbalanced closes, depth past
 * JC_MAX_JSON_DEPTH) sets the sticky error instead of writing bad JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json_writer.h"
#include "utf8.h"
#include "banned.h"

_Static_assert(JC_MAX_JSON_DEPTH < 64, "obj_mask holds one bit per depth");

static void
jw_fail(struct jw *w, int r)
{
	if (r < 0 && w->err == 0)
		w->err = r;
}

static bool
jw_in_obj(const struct jw *w)
{
	return w->depth > 0 && (w->obj_mask & (UINT64_C(1) << w->depth));
}

void
jw_init(struct jw *w, struct strbuf *sb)
{
	memset(w, 0, sizeof(*w));
	w->sb = sb;
	w->first[0] = true;
}

static void
jw_raw(struct jw *w, const char *s, size_t len)
{
	if (w->err == 0)
		jw_fail(w, strbuf_add(w->sb, s, len));
}

/* Everything that starts a value comes here: one top-level value, object
 * members only after a key, commas between array elements. */
static bool
jw_value_begin(struct jw *w)
{
	if (w->err)
		return false;
	if (w->depth == 0) {
		if (!w->first[0]) {
			jw_fail(w, -EINVAL);	/* second top-level value */
			return false;
		}
		w->first[0] = false;
		return true;
	}
	if (jw_in_obj(w)) {
		if (!w->after_key) {
			jw_fail(w, -EINVAL);	/* value without a key */
			return false;
		}
		w->after_key = false;
		return true;
	}
	if (!w->first[w->depth])
		jw_raw(w, ",", 1);
	w->first[w->depth] = false;
	return w->err == 0;
}

/* Writes s[0..len) as a quoted JSON string; runs of plain bytes are copied
 * in one go. */
static void
jw_quoted(struct jw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *) s;
	size_t i = 0, run = 0;

	jw_raw(w, "\"", 1);
	while (i < len && w->err == 0) {
		unsigned char c = p[i];
		char esc[6];
		size_t n, elen = 2;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (n = utf8_seq_len(p + i, len - i)) > 0) {
			i += n;
			continue;
		}
		jw_raw(w, s + run, i - run);
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			if (c >= 0x80) {
				/* lossy: one U+FFFD per invalid byte */
				memcpy(esc, "\xef\xbf\xbd", 3);
				elen = 3;
				break;
			}
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
			break;
		}
		jw_raw(w, esc, elen);
		run = ++i;
	}
	jw_raw(w, s + run, i - run);
	jw_raw(w, "\"", 1);
}

static void
jw_open(struct jw *w, bool obj)
{
	if (!jw_value_begin(w))
		return;
	if (w->depth >= JC_MAX_JSON_DEPTH) {
		jw_fail(w, -E2BIG);
		return;
	}
	w->depth++;
	w->first[w->depth] = true;
	if (obj)
		w->obj_mask |= UINT64_C(1) << w->depth;
	else
		w->obj_mask &= ~(UINT64_C(1) << w->depth);
	jw_raw(w, obj ? "{" : "[", 1);
}

static void
jw_close(struct jw *w, bool obj)
{
	if (w->err)
		return;
	if (w->depth == 0 || jw_in_obj(w) != obj || w->after_key) {
		jw_fail(w, -EINVAL);	/* nothing open, wrong kind, or key
					 * without a value */
		return;
	}
	w->depth--;
	jw_raw(w, obj ? "}" : "]", 1);
}

void
jw_obj_open(struct jw *w)
{
	jw_open(w, true);
}

void
jw_obj_close(struct jw *w)
{
	jw_close(w, true);
}

void
jw_arr_open(struct jw *w)
{
	jw_open(w, false);
}

void
jw_arr_close(struct jw *w)
{
	jw_close(w, false);
}

void
jw_key(struct jw *w, const char *key)
{
	if (w->err)
		return;
	if (!key || !jw_in_obj(w) || w->after_key) {
		jw_fail(w, -EINVAL);
		return;
	}
	if (!w->first[w->depth])
		jw_raw(w, ",", 1);
	w->first[w->depth] = false;
	jw_quoted(w, key, strlen(key));
	jw_raw(w, ":", 1);
	w->after_key = true;
}

/* NULL with len 0 is "": sqlite3_column_blob() returns NULL for an empty
 * blob. */
void
jw_strn(struct jw *w, const char *s, size_t len)
{
	if (!s && len > 0) {
		jw_fail(w, -EINVAL);
		return;
	}
	if (jw_value_begin(w))
		jw_quoted(w, s ? s : "", len);
}

void
jw_str(struct jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void
jw_i64(struct jw *w, int64_t v)
{
	char buf[24];	/* "-9223372036854775808" */
	int n;

	if (!jw_value_begin(w))
		return;
	n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	if (n < 0 || (size_t) n >= sizeof(buf)) {
		jw_fail(w, -EINVAL);
		return;
	}
	jw_raw(w, buf, (size_t) n);
}

void
jw_bool(struct jw *w, bool v)
{
	if (jw_value_begin(w))
		jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void
jw_null(struct jw *w)
{
	if (jw_value_begin(w))
		jw_raw(w, "null", 4);
}

void
jw_kv_str(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void
jw_kv_i64(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_i64(w, v);
}

void
jw_kv_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void
jw_kv_null(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}

/* Also -EINVAL when nothing was written: an empty body is not JSON. */
int
jw_finish(struct jw *w)
{
	if (w->err)
		return w->err;
	if (w->depth != 0 || w->after_key || w->first[0])
		return -EINVAL;
	return 0;
}
