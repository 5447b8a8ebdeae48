/* test_json_reader.c - unit tests for lib/json_reader.c: the grammar that
 * strict jsmn lets through (missing commas, bad numbers, trailing values,
 * bad escapes and UTF-8), depth and token caps, child walking across
 * nested subtrees, unescaped key matching and every accessor's errors.
 * Ends with random mutations of a valid document (no crash, no leak). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "jc_limits.h"
#include "strbuf.h"
#include "tap.h"
#include "banned.h"

#define ROW(s, r) { s, sizeof(s) - 1, r }

static int
parse_only(const char *js, size_t len, size_t max_tokens)
{
	struct jr_doc *doc = NULL;
	int r = jr_parse(js, len, max_tokens, &doc);

	if (r == 0 && !doc)
		r = -EFAULT;
	doc = jr_free(doc);
	return r;
}

static void
test_grammar(void)
{
	static const struct {
		const char *in;
		size_t len;
		int r;
	} rows[] = {
		/* empty and whitespace */
		ROW("", -EINVAL), ROW(" \t\r\n", -EINVAL),
		ROW("\xef\xbb\xbf{}", -EINVAL),		/* BOM */
		ROW("\f{}", -EINVAL),			/* not JSON whitespace */
		/* scalars at the top */
		ROW("{}", 0), ROW("[]", 0), ROW(" {} \n", 0), ROW("42", 0),
		ROW(" 42 ", 0), ROW("\"s\"", 0), ROW("true", 0),
		ROW("false", 0), ROW("null", 0),
		ROW("tru", -EINVAL), ROW("truex", -EINVAL), ROW("True", -EINVAL),
		ROW("nul", -EINVAL), ROW("nulll", -EINVAL),
		/* numbers: RFC 8259 section 6 */
		ROW("0", 0), ROW("-0", 0), ROW("-1.5e-3", 0), ROW("1E+2", 0),
		ROW("01", -EINVAL), ROW("-01", -EINVAL), ROW("1.", -EINVAL),
		ROW(".5", -EINVAL), ROW("1e", -EINVAL), ROW("1e+", -EINVAL),
		ROW("-", -EINVAL), ROW("+1", -EINVAL), ROW("0x1", -EINVAL),
		ROW("NaN", -EINVAL), ROW("Infinity", -EINVAL),
		ROW("-Infinity", -EINVAL), ROW("1.5.5", -EINVAL),
		ROW("[1e5e5]", -EINVAL), ROW("[--1]", -EINVAL),
		ROW("[1-2]", -EINVAL),
		/* structure that strict jsmn accepts */
		ROW("[1 2]", -EINVAL), ROW("[1,]", -EINVAL), ROW("[,1]", -EINVAL),
		ROW("[,]", -EINVAL), ROW("{\"a\" 1}", -EINVAL),
		ROW("{\"a\":1,}", -EINVAL), ROW("{\"a\":1 \"b\":2}", -EINVAL),
		ROW("{,\"a\":1}", -EINVAL), ROW("{\"a\"::1}", -EINVAL),
		ROW("[\"a\":1]", -EINVAL), ROW("{1:2}", -EINVAL),
		ROW("{\"a\"}", -EINVAL), ROW("{\"a\":}", -EINVAL),
		ROW("{\"a\",\"b\"}", -EINVAL), ROW("{true:1}", -EINVAL),
		ROW("{[]:1}", -EINVAL),
		ROW("[}", -EINVAL), ROW("{]", -EINVAL), ROW("[", -EINVAL),
		ROW("]", -EINVAL), ROW("{", -EINVAL), ROW("}", -EINVAL),
		ROW("[[]", -EINVAL), ROW("[]]", -EINVAL),
		ROW("\"a\":1", -EINVAL),
		/* exactly one top-level value */
		ROW("{\"a\":1}}", -EINVAL), ROW("[1] [2]", -EINVAL),
		ROW("1 2", -EINVAL), ROW("{} x", -EINVAL),
		ROW("\"a\" \"b\"", -EINVAL), ROW("{}{}", -EINVAL),
		ROW("{}\0", -EINVAL), ROW("{}\0{\"evil\":1}", -EINVAL),
		ROW("[1]\0", -EINVAL), ROW("1\0", -EINVAL),
		ROW("{\"a\":1}\n", 0),
		ROW("{\"a\":[1,{\"b\":null}],\"c\":{\"d\":[[]]}}", 0),
		/* strings: escapes */
		ROW("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0),
		ROW("\"\\x41\"", -EINVAL), ROW("\"\\'\"", -EINVAL),
		ROW("\"\\u12\"", -EINVAL), ROW("\"\\u12G4\"", -EINVAL),
		ROW("\"\\u\"", -EINVAL), ROW("\"\\\"", -EINVAL), ROW("\"\\", -EINVAL),
		ROW("\"\\U0041\"", -EINVAL), ROW("\"\\u00e9\"", 0),
		ROW("\"\\ud83d\\ude00\"", 0),		/* surrogate pair */
		ROW("\"\\ud800\"", -EINVAL),		/* lone high */
		ROW("\"\\udc00\"", -EINVAL),		/* lone low */
		ROW("\"\\ude00\\ud83d\"", -EINVAL),	/* reversed pair */
		ROW("\"\\ud800\\u0041\"", -EINVAL),	/* high + non-low */
		ROW("\"\\ud800\\ud800\"", -EINVAL),
		ROW("\"\\ud800x\"", -EINVAL),
		ROW("\"\\ud800\\\"", -EINVAL),
		ROW("\"\\u0000\"", 0),		/* parses; jr_str refuses */
		/* strings: raw bytes */
		ROW("\"a\tb\"", -EINVAL), ROW("\"a\nb\"", -EINVAL),
		ROW("\"a\0b\"", -EINVAL), ROW("\"\x1f\"", -EINVAL),
		ROW("\"\x7f\"", 0),		/* DEL needs no escape in JSON */
		ROW("\"\xe2\x82\xac\"", 0), ROW("\"\xf4\x8f\xbf\xbf\"", 0),
		ROW("\"\xc0\xaf\"", -EINVAL),		/* overlong */
		ROW("\"\xe0\x80\xaf\"", -EINVAL),	/* overlong */
		ROW("\"\xed\xa0\x80\"", -EINVAL),	/* surrogate */
		ROW("\"\xf4\x90\x80\x80\"", -EINVAL),	/* > U+10FFFF */
		ROW("\"\xe2\x82\"", -EINVAL),		/* truncated */
		ROW("\"\xe2\x82", -EINVAL),
		ROW("\"\x80\"", -EINVAL), ROW("\"\xff\"", -EINVAL),
		ROW("{\"\xff\":1}", -EINVAL),		/* bad key */
		ROW("\"abc", -EINVAL), ROW("[\"abc]", -EINVAL),
		/* bytes outside strings */
		ROW("[1,\xc2\xa0" "2]", -EINVAL),	/* NBSP is not space */
		ROW("[\x01]", -EINVAL),
		ROW("[1]\x1a", -EINVAL),
		ROW("/*c*/1", -EINVAL), ROW("[1]//", -EINVAL),
		ROW("['a']", -EINVAL), ROW("{a:1}", -EINVAL),
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(parse_only(rows[i].in, rows[i].len, 100), rows[i].r,
		    "grammar row %zu: '%.*s'", i, (int) rows[i].len, rows[i].in);
	is_int(parse_only(NULL, 0, 100), -EINVAL, "NULL input");
}

/* Nesting to n levels of arrays, objects or both. */
static void
nest(struct strbuf *sb, int n, int kind)
{
	for (int d = 0; d < n; d++)
		(void) strbuf_addstr(sb, kind == 0 || (kind == 2 && d % 2) ?
		    "[" : "{\"k\":");
	(void) strbuf_addstr(sb, "1");
	for (int d = n - 1; d >= 0; d--)
		(void) strbuf_addch(sb, kind == 0 || (kind == 2 && d % 2) ?
		    ']' : '}');
}

static void
test_caps(void)
{
	static const char *const kinds[] = { "arrays", "objects", "mixed" };
	_cleanup_strbuf_ struct strbuf sb;
	_cleanup_free_ char *deep = NULL;
	size_t big = 1000000;

	strbuf_init(&sb, 10 * 1024 * 1024);
	for (int kind = 0; kind < 3; kind++) {
		for (int n = JC_MAX_JSON_DEPTH - 1; n <= JC_MAX_JSON_DEPTH + 2; n++) {
			strbuf_reset(&sb);
			nest(&sb, n, kind);
			is_int(parse_only(sb.buf, sb.len, 1000),
			    n <= JC_MAX_JSON_DEPTH ? 0 : -E2BIG,
			    "%d nested %s", n, kinds[kind]);
		}
	}
	/* a million '[' must not recurse or allocate per level */
	deep = malloc(big);
	if (deep) {
		memset(deep, '[', big);
		is_int(parse_only(deep, big, JC_MAX_JSON_TOKENS), -E2BIG,
		    "a million '['");
	}

	/* token cap: [1,2,3] is 4 tokens, {"a":1} is 3 */
	is_int(parse_only("[1,2,3]", 7, 4), 0, "4 tokens, max 4");
	is_int(parse_only("[1,2,3]", 7, 3), -E2BIG, "4 tokens, max 3");
	is_int(parse_only("{\"a\":1}", 7, 3), 0, "3 tokens, max 3");
	is_int(parse_only("{\"a\":1}", 7, 2), -E2BIG, "3 tokens, max 2");
	is_int(parse_only("1", 1, 0), -E2BIG, "max 0 tokens");
	is_int(parse_only("[1,2,3]", 7, SIZE_MAX), 0, "max SIZE_MAX tokens");

	/* at the real cap: an array of 19999 elements is 20000 tokens */
	for (size_t extra = 0; extra <= 1; extra++) {
		struct jr_doc *doc = NULL;
		size_t n = JC_MAX_JSON_TOKENS - 1 + extra;
		int r, bad = 0;

		strbuf_reset(&sb);
		(void) strbuf_addch(&sb, '[');
		for (size_t i = 0; i < n; i++)
			(void) strbuf_addf(&sb, i ? ",%zu" : "%zu", i);
		(void) strbuf_addch(&sb, ']');
		r = jr_parse(sb.buf, sb.len, JC_MAX_JSON_TOKENS, &doc);
		is_int(r, extra ? -E2BIG : 0, "array of %zu at the token cap", n);
		if (r == 0) {
			is_int(jr_len(doc, 0), (int64_t) n, "its length");
			for (size_t i = 0; i < n; i++) {
				int64_t v = -1;

				if (jr_i64(doc, jr_child(doc, 0, (int) i), &v) < 0 ||
				    v != (int64_t) i)
					bad++;
			}
			is_int(bad, 0, "every element by jr_child");
		}
		doc = jr_free(doc);
	}
}

static const char doc_text[] =
    "{\"name\":\"a\\u00e9\\ud83d\\ude00\xe2\x82\xac\","
    "\"n\":-9223372036854775808,"
    "\"arr\":[1,[2,[3,3]],{\"x\":[4,{\"y\":4}]},5],"
    "\"t\":true,\"f\":false,\"nul\":null,"
    "\"k\\u0065y\":1,"
    "\"esc\":\"a\\u0000b\","
    "\"obj\":{\"dup\":1,\"dup\":2},"
    "\"empty\":\"\","
    "\"quote\":\"\\\"\\\\\\/\\n\"}";

static void
test_walk(const struct jr_doc *doc)
{
	static const struct {
		const char *key;
		enum jr_type type;
		int len;
	} rows[] = {
		{ "name", JR_STRING, 0 }, { "n", JR_NUMBER, 0 },
		{ "arr", JR_ARRAY, 4 }, { "t", JR_BOOL, 0 }, { "f", JR_BOOL, 0 },
		{ "nul", JR_NULL, 0 }, { "key", JR_NUMBER, 0 },
		{ "esc", JR_STRING, 0 }, { "obj", JR_OBJECT, 2 },
		{ "empty", JR_STRING, 0 }, { "quote", JR_STRING, 0 },
	};
	int root = jr_root(doc), arr, v;
	int64_t n = 0;

	is_int(jr_type(doc, root), JR_OBJECT, "root is an object");
	is_int(jr_len(doc, root), (int64_t) ARRAY_SIZE(rows), "root members");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int key = jr_child(doc, root, (int) i);

		ok(key > 0 && jr_str_eq(doc, key, rows[i].key),
		    "key %zu is '%s' (after unescaping)", i, rows[i].key);
		is_int(jr_next_value(doc, key), key + 1, "value of key %zu", i);
		v = jr_obj_get(doc, root, rows[i].key);
		is_int(v, key + 1, "jr_obj_get '%s'", rows[i].key);
		is_int(jr_type(doc, v), rows[i].type, "type of '%s'", rows[i].key);
		is_int(jr_len(doc, v), rows[i].len, "len of '%s'", rows[i].key);
	}
	is_int(jr_child(doc, root, (int) ARRAY_SIZE(rows)), -ENOENT,
	    "child past the end");
	is_int(jr_child(doc, root, -1), -ENOENT, "child -1");
	is_int(jr_obj_get(doc, root, "k\\u0065y"), -ENOENT,
	    "escaped spelling does not match");
	is_int(jr_obj_get(doc, root, "missing"), -ENOENT, "missing key");
	is_int(jr_obj_get(doc, root, ""), -ENOENT, "empty key");
	is_int(jr_obj_get(doc, root, "nam"), -ENOENT, "prefix of a key");
	is_int(jr_obj_get(doc, root, "names"), -ENOENT, "key plus one");
	is_int(jr_obj_get(doc, jr_obj_get(doc, root, "obj"), "dup"), -EEXIST,
	    "duplicate key");

	/* children after nested subtrees */
	arr = jr_obj_get(doc, root, "arr");
	is_int(jr_type(doc, jr_child(doc, arr, 1)), JR_ARRAY, "arr[1]");
	is_int(jr_len(doc, jr_child(doc, arr, 1)), 2, "arr[1] len");
	is_int(jr_type(doc, jr_child(doc, arr, 2)), JR_OBJECT, "arr[2]");
	is_int(jr_i64(doc, jr_child(doc, arr, 3), &n), 0, "arr[3]");
	is_int(n, 5, "arr[3] is 5, past both subtrees");
	v = jr_child(doc, jr_child(doc, jr_child(doc, arr, 1), 1), 1);
	is_int(jr_i64(doc, v, &n), 0, "arr[1][1][1]");
	is_int(n, 3, "arr[1][1][1] value");
	v = jr_obj_get(doc, jr_child(doc, arr, 2), "x");
	v = jr_obj_get(doc, jr_child(doc, v, 1), "y");
	is_int(jr_i64(doc, v, &n), 0, "arr[2].x[1].y");
	is_int(n, 4, "arr[2].x[1].y value");

	/* tokens that are not what the call wants */
	is_int(jr_child(doc, jr_obj_get(doc, root, "n"), 0), -ENOENT,
	    "child of a scalar");
	is_int(jr_child(doc, jr_child(doc, root, 0), 0), -ENOENT,
	    "child of a key");
	is_int(jr_obj_get(doc, arr, "x"), -EINVAL, "jr_obj_get on an array");
	is_int(jr_next_value(doc, arr), -EINVAL, "next value of a non-key");
	is_int(jr_next_value(doc, jr_obj_get(doc, root, "name")), -EINVAL,
	    "next value of a string value");
	is_int(jr_child(doc, -1, 0), -EINVAL, "token -1");
	is_int(jr_child(doc, 100000, 0), -EINVAL, "token past the end");
	is_int(jr_len(doc, 100000), 0, "len of a bad token");
	is_int(jr_obj_get(doc, -5, "x"), -EINVAL, "jr_obj_get bad token");
}

static void
test_strings(const struct jr_doc *doc)
{
	static const char name[] = "a\xc3\xa9\xf0\x9f\x98\x80\xe2\x82\xac";
	int root = jr_root(doc);
	int tname = jr_obj_get(doc, root, "name");
	int tesc = jr_obj_get(doc, root, "esc");
	int tnum = jr_obj_get(doc, root, "n");
	char buf[64];
	size_t len = 99;
	char *p = NULL;

	is_int(jr_str(doc, tname, buf, sizeof(buf), &len), 0, "jr_str name");
	is_str(buf, name, "name decoded (escapes, pair, raw UTF-8)");
	is_int((int64_t) len, (int64_t) strlen(name), "name length");
	is_int(jr_str(doc, tname, buf, strlen(name) + 1, NULL), 0,
	    "exact fit");
	is_int(jr_str(doc, tname, buf, strlen(name), NULL), -E2BIG,
	    "one byte short");
	is_str(buf, "", "buffer emptied on error");
	is_int(jr_str(doc, tname, buf, 0, NULL), -E2BIG, "size 0");
	is_int(jr_str(doc, tesc, buf, sizeof(buf), NULL), -EILSEQ,
	    "\\u0000 refused");
	is_int(jr_str(doc, tnum, buf, sizeof(buf), NULL), -EINVAL,
	    "jr_str of a number");
	is_int(jr_str(doc, jr_obj_get(doc, root, "empty"), buf, 1, &len), 0,
	    "empty string in 1 byte");
	is_int((int64_t) len, 0, "empty string length");
	is_int(jr_str(doc, jr_obj_get(doc, root, "quote"), buf, sizeof(buf),
	    NULL), 0, "short escapes");
	is_str(buf, "\"\\/\n", "short escapes decoded");

	is_int(jr_str_dup(doc, tname, strlen(name), &p, &len), 0,
	    "dup at exactly max");
	is_str(p, name, "dup contents");
	free(p);
	p = NULL;
	is_int(jr_str_dup(doc, tname, strlen(name) - 1, &p, NULL), -E2BIG,
	    "dup at max - 1");
	ok(p == NULL, "no output on error");
	is_int(jr_str_dup(doc, tname, SIZE_MAX, &p, NULL), 0, "dup max SIZE_MAX");
	free(p);
	p = NULL;
	is_int(jr_str_dup(doc, tesc, 100, &p, NULL), -EILSEQ, "dup of \\u0000");
	is_int(jr_str_dup(doc, tnum, 100, &p, NULL), -EINVAL, "dup of a number");
	ok(p == NULL, "no output on error");

	ok(jr_str_eq(doc, tname, name), "jr_str_eq");
	ok(!jr_str_eq(doc, tname, "a"), "jr_str_eq prefix");
	ok(!jr_str_eq(doc, tesc, "a"), "jr_str_eq stops at \\u0000");
	ok(!jr_str_eq(doc, tesc, "ab"), "jr_str_eq with \\u0000 inside");
	ok(!jr_str_eq(doc, tnum, "-9223372036854775808"), "jr_str_eq number");
	ok(!jr_str_eq(doc, tname, NULL), "jr_str_eq NULL");
}

static void
test_keys(const struct jr_doc *doc)
{
	static const char *const all[] = { "name", "n", "arr", "t", "f", "nul",
	    "key", "esc", "obj", "empty", "quote", NULL };
	static const char *const no_arr[] = { "name", "n", "t", "f", "nul",
	    "key", "esc", "obj", "empty", "quote", NULL };
	static const char *const dup[] = { "dup", NULL };
	static const char *const none[] = { NULL };
	int root = jr_root(doc);
	char bad[32];

	is_int(jr_obj_check_keys(doc, root, all, bad, sizeof(bad)), 0,
	    "all keys allowed");
	is_int(jr_obj_check_keys(doc, root, no_arr, bad, sizeof(bad)), -EINVAL,
	    "unknown key");
	is_str(bad, "arr", "unknown key named");
	is_int(jr_obj_check_keys(doc, jr_obj_get(doc, root, "obj"), dup, bad,
	    sizeof(bad)), -EEXIST, "duplicate key");
	is_str(bad, "dup", "duplicate key named");
	is_int(jr_obj_check_keys(doc, root, none, bad, sizeof(bad)), -EINVAL,
	    "nothing allowed");
	is_str(bad, "name", "first key named");
	is_int(jr_obj_check_keys(doc, root, NULL, NULL, 0), -EINVAL,
	    "NULL allowed list, no buffer");
	is_int(jr_obj_check_keys(doc, jr_obj_get(doc, root, "arr"), all, bad,
	    sizeof(bad)), -EINVAL, "not an object");
}

static void
test_bad_keys(void)
{
	static const struct {
		const char *in;
		size_t size;
		int r;
		const char *bad;
	} rows[] = {
		{ "{\"ok\":1,\"a\\u0000b\":1}", 32, -EILSEQ, "a?b" },
		{ "{\"a\\nb\\u007f\":1}", 32, -EINVAL, "a?b?" },
		{ "{\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\":1}", 8, -EINVAL,
		    "\xc3\xa9\xc3\xa9\xc3\xa9" },		/* cut on a boundary */
		{ "{\"abcdefgh\":1}", 4, -EINVAL, "abc" },
		{ "{\"abc\":1}", 1, -EINVAL, "" },
		{ "{\"ok\":1,\"ok\":2}", 32, -EEXIST, "ok" },
		{ "{\"o\\u006b\":1,\"ok\":2}", 32, -EEXIST, "ok" },
		{ "{}", 32, 0, "" },
	};
	static const char *const allowed[] = { "ok", NULL };

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct jr_doc *doc = NULL;
		char bad[32];

		memset(bad, 'Z', sizeof(bad));
		if (jr_parse(rows[i].in, strlen(rows[i].in), 100, &doc) < 0) {
			ok(false, "bad key row %zu parses", i);
			continue;
		}
		is_int(jr_obj_check_keys(doc, 0, allowed, bad, rows[i].size),
		    rows[i].r, "bad key row %zu: result", i);
		is_str(bad, rows[i].bad, "bad key row %zu: named", i);
		doc = jr_free(doc);
	}
}

static void
test_scalars(void)
{
	static const struct {
		const char *in;
		int r;
		int64_t v;
	} rows[] = {
		{ "0", 0, 0 }, { "-0", 0, 0 }, { "42", 0, 42 }, { "-42", 0, -42 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "9223372036854775808", -ERANGE, 0 },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "-9223372036854775809", -ERANGE, 0 },
		{ "123456789012345678901234567890123456789012345678901234567890",
		    -ERANGE, 0 },
		{ "2.0", -EINVAL, 0 }, { "1e3", -EINVAL, 0 }, { "1E400", -EINVAL, 0 },
		{ "99999999999999999999e0", -EINVAL, 0 }, { "-0.0", -EINVAL, 0 },
		{ "true", -EINVAL, 0 }, { "null", -EINVAL, 0 },
		{ "\"1\"", -EINVAL, 0 }, { "[1]", -EINVAL, 0 }, { "{}", -EINVAL, 0 },
	};
	static const struct {
		const char *in;
		int r;
		bool v;
	} brows[] = {
		{ "true", 0, true }, { "false", 0, false }, { "null", -EINVAL, 0 },
		{ "0", -EINVAL, 0 }, { "1", -EINVAL, 0 }, { "\"true\"", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct jr_doc *doc = NULL;
		int64_t v = -7;
		int r;

		if (jr_parse(rows[i].in, strlen(rows[i].in), 100, &doc) < 0) {
			ok(false, "'%s' parses", rows[i].in);
			continue;
		}
		r = jr_i64(doc, 0, &v);
		is_int(r, rows[i].r, "jr_i64 '%s'", rows[i].in);
		is_int(v, r == 0 ? rows[i].v : -7, "jr_i64 '%s' value", rows[i].in);
		doc = jr_free(doc);
	}
	for (size_t i = 0; i < ARRAY_SIZE(brows); i++) {
		struct jr_doc *doc = NULL;
		bool v = !brows[i].v;
		int r;

		if (jr_parse(brows[i].in, strlen(brows[i].in), 100, &doc) < 0) {
			ok(false, "'%s' parses", brows[i].in);
			continue;
		}
		r = jr_bool(doc, 0, &v);
		is_int(r, brows[i].r, "jr_bool '%s'", brows[i].in);
		if (r == 0)
			ok(v == brows[i].v, "jr_bool '%s' value", brows[i].in);
		doc = jr_free(doc);
	}
}

/* Flip, drop and insert bytes of a valid document: any result, no crash;
 * what parses must give consistent trees. */
static void
test_mutations(void)
{
	static const char alphabet[] = "{}[]\",:\\u0 1e.-tfn\x80\xff\n";
	unsigned seed = 4242, accepted = 0, inconsistent = 0;
	size_t base = sizeof(doc_text) - 1;

	for (int iter = 0; iter < 20000; iter++) {
		char buf[sizeof(doc_text) + 8];
		struct jr_doc *doc = NULL;
		size_t len = base, at;
		char c;

		memcpy(buf, doc_text, base);
		for (int m = 0; m < 3; m++) {
			seed = seed * 1103515245u + 12345u;
			at = (seed >> 8) % len;
			c = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
			switch ((seed >> 16) % 3) {
			case 0:
				buf[at] = c;
				break;
			case 1:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			default:
				if (len < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = c;
					len++;
				}
				break;
			}
		}
		if (jr_parse(buf, len, 1000, &doc) == 0) {
			int root = jr_root(doc);

			accepted++;
			for (int i = 0; i < jr_len(doc, root); i++) {
				int k = jr_child(doc, root, i);
				char s[256];

				if (k <= root)
					inconsistent++;
				if (jr_type(doc, root) == JR_OBJECT &&
				    jr_next_value(doc, k) != k + 1)
					inconsistent++;
				(void) jr_str(doc, k, s, sizeof(s), NULL);
			}
		}
		doc = jr_free(doc);
	}
	is_int(inconsistent, 0, "mutated documents: trees consistent");
	diag("%u of 20000 mutations still parsed", accepted);
}

int
main(void)
{
	struct jr_doc *doc = NULL;
	int r;

	test_grammar();
	test_caps();
	r = jr_parse(doc_text, sizeof(doc_text) - 1, JC_MAX_JSON_TOKENS, &doc);
	is_int(r, 0, "the test document parses");
	if (r == 0) {
		test_walk(doc);
		test_strings(doc);
		test_keys(doc);
	}
	doc = jr_free(doc);
	test_bad_keys();
	test_scalars();
	test_mutations();
	return done_testing();
}
