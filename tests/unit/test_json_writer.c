/* test_json_writer.c - unit tests for lib/json_writer.c: escaping of
 * quotes, backslashes, control bytes and invalid UTF-8, automatic commas,
 * the depth cap, misuse caught by the sticky error, a bounded strbuf, and
 * a round trip of random bytes through lib/json_reader.c. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "json_writer.h"
#include "jc_limits.h"
#include "strbuf.h"
#include "tap.h"
#include "utf8.h"
#include "banned.h"

#define SROW(s, want) { s, sizeof(s) - 1, want }
#define FFFD "\xef\xbf\xbd"	/* U+FFFD in UTF-8 */

static void
test_escapes(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} rows[] = {
		SROW("", "\"\""),
		SROW("plain", "\"plain\""),
		SROW("a\"b\\c/d", "\"a\\\"b\\\\c/d\""),
		SROW("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""),
		SROW("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""),
		SROW("a\0b", "\"a\\u0000b\""),			/* NUL kept */
		SROW("\xe2\x82\xac \xf0\x9f\x98\x80",
		    "\"\xe2\x82\xac \xf0\x9f\x98\x80\""),
		SROW("\xff", "\"\xef\xbf\xbd\""),			/* invalid byte */
		SROW("\xc0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\""),	/* overlong */
		SROW("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\""),
		SROW("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""),
		SROW("ab\xe2\x82", "\"ab" FFFD FFFD "\""),	/* truncated */
		SROW("\x80x", "\"\xef\xbf\xbdx\""),
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_strbuf_ struct strbuf sb;
		struct jw w;

		strbuf_init(&sb, 1024);
		jw_init(&w, &sb);
		jw_strn(&w, rows[i].in, rows[i].len);
		is_int(jw_finish(&w), 0, "row %zu: finish", i);
		is_str(sb.buf, rows[i].want, "row %zu: escaped", i);
		ok(utf8_valid(sb.buf, sb.len), "row %zu: output is UTF-8", i);
	}
}

static void
test_structure(void)
{
	_cleanup_strbuf_ struct strbuf sb;
	struct jw w;

	strbuf_init(&sb, 4096);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "id", "x");
	jw_kv_i64(&w, "min", INT64_MIN);
	jw_kv_i64(&w, "max", INT64_MAX);
	jw_kv_bool(&w, "t", true);
	jw_kv_bool(&w, "f", false);
	jw_kv_null(&w, "n");
	jw_kv_str(&w, "s", NULL);
	jw_key(&w, "a");
	jw_arr_open(&w);
	jw_i64(&w, 1);
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_strn(&w, NULL, 0);
	jw_arr_close(&w);
	jw_key(&w, "k\"\n");
	jw_null(&w);
	jw_obj_close(&w);
	is_int(jw_finish(&w), 0, "structure: finish");
	is_str(sb.buf, "{\"id\":\"x\",\"min\":-9223372036854775808,"
	    "\"max\":9223372036854775807,\"t\":true,\"f\":false,\"n\":null,"
	    "\"s\":null,\"a\":[1,[],{},\"\"],\"k\\\"\\n\":null}",
	    "structure: output");

	strbuf_reset(&sb);
	jw_init(&w, &sb);
	jw_i64(&w, 0);
	is_int(jw_finish(&w), 0, "bare scalar");
	is_str(sb.buf, "0", "bare scalar output");
}

/* Each misuse must set -EINVAL (or the named error) and stop writing. */
enum misuse {
	M_NOTHING, M_TWO_TOP, M_KEY_TOP, M_KEY_IN_ARRAY, M_VALUE_NO_KEY,
	M_TWO_KEYS, M_CLOSE_KEY, M_WRONG_CLOSE, M_CLOSE_NONE, M_LEFT_OPEN,
	M_NULL_KEY, M_NULL_BYTES,
};

static void
misuse_run(struct jw *w, enum misuse m)
{
	switch (m) {
	case M_NOTHING:
		break;
	case M_TWO_TOP:
		jw_null(w);
		jw_null(w);
		break;
	case M_KEY_TOP:
		jw_key(w, "a");
		break;
	case M_KEY_IN_ARRAY:
		jw_arr_open(w);
		jw_key(w, "a");
		jw_arr_close(w);
		break;
	case M_VALUE_NO_KEY:
		jw_obj_open(w);
		jw_i64(w, 1);
		jw_obj_close(w);
		break;
	case M_TWO_KEYS:
		jw_obj_open(w);
		jw_key(w, "a");
		jw_key(w, "b");
		break;
	case M_CLOSE_KEY:
		jw_obj_open(w);
		jw_key(w, "a");
		jw_obj_close(w);
		break;
	case M_WRONG_CLOSE:
		jw_obj_open(w);
		jw_arr_close(w);
		break;
	case M_CLOSE_NONE:
		jw_obj_close(w);
		break;
	case M_LEFT_OPEN:
		jw_arr_open(w);
		jw_obj_open(w);
		jw_obj_close(w);
		break;
	case M_NULL_KEY:
		jw_obj_open(w);
		jw_key(w, NULL);
		break;
	case M_NULL_BYTES:
		jw_strn(w, NULL, 3);
		break;
	}
}

static void
test_misuse(void)
{
	static const struct {
		enum misuse m;
		const char *name;
	} rows[] = {
		{ M_NOTHING, "nothing written" },
		{ M_TWO_TOP, "two top-level values" },
		{ M_KEY_TOP, "key at top level" },
		{ M_KEY_IN_ARRAY, "key in an array" },
		{ M_VALUE_NO_KEY, "object value without a key" },
		{ M_TWO_KEYS, "two keys in a row" },
		{ M_CLOSE_KEY, "close after a key" },
		{ M_WRONG_CLOSE, "close the wrong kind" },
		{ M_CLOSE_NONE, "close with nothing open" },
		{ M_LEFT_OPEN, "left open" },
		{ M_NULL_KEY, "NULL key" },
		{ M_NULL_BYTES, "NULL bytes with a length" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_strbuf_ struct strbuf sb;
		struct jw w;

		strbuf_init(&sb, 1024);
		jw_init(&w, &sb);
		misuse_run(&w, rows[i].m);
		is_int(jw_finish(&w), -EINVAL, "misuse: %s", rows[i].name);
	}
}

static void
test_depth(void)
{
	for (int extra = 0; extra <= 1; extra++) {
		_cleanup_strbuf_ struct strbuf sb;
		int n = JC_MAX_JSON_DEPTH + extra;
		struct jw w;

		strbuf_init(&sb, 4096);
		jw_init(&w, &sb);
		for (int d = 0; d < n; d++) {
			if (d % 2) {
				jw_obj_open(&w);
				jw_key(&w, "k");
			} else {
				jw_arr_open(&w);
			}
		}
		if ((n - 1) % 2)
			jw_null(&w);	/* the innermost key's value */
		for (int d = n - 1; d >= 0; d--) {
			if (d % 2)
				jw_obj_close(&w);
			else
				jw_arr_close(&w);
		}
		is_int(jw_finish(&w), extra ? -E2BIG : 0, "depth %d", n);
		if (!extra) {
			struct jr_doc *doc = NULL;

			is_int(jr_parse(sb.buf, sb.len, 1000, &doc), 0,
			    "depth %d reads back", n);
			doc = jr_free(doc);
		}
	}
}

static void
test_bounded(void)
{
	for (size_t max = 0; max <= 12; max++) {
		_cleanup_strbuf_ struct strbuf sb;
		struct jw w;
		int r;

		strbuf_init(&sb, max);
		jw_init(&w, &sb);
		jw_obj_open(&w);
		jw_kv_str(&w, "a", "bcd");	/* {"a":"bcd"} is 11 bytes */
		jw_obj_close(&w);
		r = jw_finish(&w);
		is_int(r, max >= 11 ? 0 : -E2BIG, "strbuf max %zu", max);
		ok(sb.len <= max, "max %zu: len within bound", max);
		jw_null(&w);	/* sticky: still the first error */
		if (r < 0)
			is_int(jw_finish(&w), -E2BIG, "max %zu: error sticks", max);
	}
}

/* Random bytes in, valid JSON out: the reader must accept every output
 * and read back exactly the valid-UTF-8 input. */
static void
test_round_trip(void)
{
	unsigned seed = 12345, failed = 0, exact = 0;

	for (int iter = 0; iter < 2000; iter++) {
		_cleanup_strbuf_ struct strbuf sb;
		struct jr_doc *doc = NULL;
		char in[64], out[512];
		size_t n, len = 0;
		struct jw w;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(in);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly printable, some control, some high bytes */
			in[i] = (char) ((seed >> 16) % 4 ? (seed >> 8) & 0xff :
			    0x20 + (seed >> 20) % 95);
			if (in[i] == '\0')
				in[i] = '\x01';
		}
		strbuf_init(&sb, 4096);
		jw_init(&w, &sb);
		jw_arr_open(&w);
		jw_strn(&w, in, n);
		jw_arr_close(&w);
		if (jw_finish(&w) < 0 ||
		    jr_parse(sb.buf, sb.len, 10, &doc) < 0 ||
		    jr_str(doc, jr_child(doc, 0, 0), out, sizeof(out), &len) < 0)
			failed++;
		else if (utf8_valid(in, n) && (len != n ||
		    memcmp(in, out, n) != 0))
			failed++;
		else if (utf8_valid(in, n))
			exact++;
		doc = jr_free(doc);
	}
	is_int(failed, 0, "2000 random strings read back");
	diag("%u of them valid UTF-8, compared exactly", exact);
}

int
main(void)
{
	test_escapes();
	test_structure();
	test_misuse();
	test_depth();
	test_bounded();
	test_round_trip();
	return done_testing();
}
