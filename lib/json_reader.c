/* json_reader.c - bounded JSON reading for request bodies and config; the
 * only includer of <jsmn.h>. Runs in jobcell-api threads and the CLI on
 * bytes from the network: trusts nothing. Strict jsmn still accepts missing
 * commas and colons, bad numbers, bad UTF-8 and trailing values, so every
 * document first passes our own RFC 8259 grammar check (with the depth and
 * token caps); jsmn then only cuts it into tokens, which are cross-checked
 * before any accessor may walk them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "cleanup.h"
#include "json_reader.h"
#include "jc_limits.h"
#include "utf8.h"
#include "banned.h"

/* Not <limits.h>: with -Ilib that name finds lib/limits.h. */
_Static_assert(sizeof(int) == 4, "jsmn offsets are int; INT32_MAX is INT_MAX");

struct jr_doc {
	const char *js;
	size_t len;
	int ntok;
	jsmntok_t *tok;
	int *child_off;	/* children[child_off[t] + i]: i-th child of t */
	int *children;
};

/* ---- grammar check ---------------------------------------------------- */

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t
skip_ws(const char *js, size_t len, size_t i)
{
	while (i < len && is_ws(js[i]))
		i++;
	return i;
}

static int
hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Decodes the escape at js[*i] ('\\') within [.., end) into a code point;
 * a high surrogate must be followed by an escaped low one. */
static int
escape_decode(const char *js, size_t end, size_t *i, uint32_t *ret_cp)
{
	size_t p = *i;
	int hi, lo;

	if (end - p < 2)
		return -EINVAL;
	switch (js[p + 1]) {
	case '"': *ret_cp = '"'; break;
	case '\\': *ret_cp = '\\'; break;
	case '/': *ret_cp = '/'; break;
	case 'b': *ret_cp = '\b'; break;
	case 'f': *ret_cp = '\f'; break;
	case 'n': *ret_cp = '\n'; break;
	case 'r': *ret_cp = '\r'; break;
	case 't': *ret_cp = '\t'; break;
	case 'u':
		if (end - p < 6 || (hi = hex4(js + p + 2)) < 0)
			return -EINVAL;
		if (hi >= 0xdc00 && hi <= 0xdfff)
			return -EINVAL;		/* lone low surrogate */
		if (hi < 0xd800 || hi > 0xdbff) {
			*ret_cp = (uint32_t) hi;
			*i = p + 6;
			return 0;
		}
		if (end - p < 12 || js[p + 6] != '\\' || js[p + 7] != 'u' ||
		    (lo = hex4(js + p + 8)) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return -EINVAL;		/* lone high surrogate */
		*ret_cp = 0x10000 + (((uint32_t) hi - 0xd800) << 10) +
		    ((uint32_t) lo - 0xdc00);
		*i = p + 12;
		return 0;
	default:
		return -EINVAL;
	}
	*i = p + 2;
	return 0;
}

/* js[i] is '"'; returns the index after the closing quote or -EINVAL. */
static ssize_t
scan_string(const char *js, size_t len, size_t i)
{
	const unsigned char *u = (const unsigned char *) js;

	for (i++; i < len;) {
		uint32_t cp;
		size_t n;

		if (u[i] == '"')
			return (ssize_t) i + 1;
		if (u[i] < 0x20)
			return -EINVAL;	/* raw control byte or NUL */
		if (u[i] == '\\') {
			if (escape_decode(js, len, &i, &cp) < 0)
				return -EINVAL;
		} else if (u[i] >= 0x80) {
			if ((n = utf8_seq_len(u + i, len - i)) == 0)
				return -EINVAL;
			i += n;
		} else {
			i++;
		}
	}
	return -EINVAL;	/* unterminated */
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static ssize_t
scan_number(const char *js, size_t len, size_t i)
{
	if (i < len && js[i] == '-')
		i++;
	if (i >= len || !is_digit(js[i]))
		return -EINVAL;
	if (js[i] == '0')
		i++;
	else
		while (i < len && is_digit(js[i]))
			i++;
	if (i < len && js[i] == '.') {
		if (++i >= len || !is_digit(js[i]))
			return -EINVAL;
		while (i < len && is_digit(js[i]))
			i++;
	}
	if (i < len && (js[i] == 'e' || js[i] == 'E')) {
		i++;
		if (i < len && (js[i] == '+' || js[i] == '-'))
			i++;
		if (i >= len || !is_digit(js[i]))
			return -EINVAL;
		while (i < len && is_digit(js[i]))
			i++;
	}
	return (ssize_t) i;
}

static ssize_t
scan_literal(const char *js, size_t len, size_t i)
{
	static const char *const lits[] = { "true", "false", "null" };

	for (size_t k = 0; k < ARRAY_SIZE(lits); k++) {
		size_t n = strlen(lits[k]);

		if (len - i >= n && memcmp(js + i, lits[k], n) == 0)
			return (ssize_t) (i + n);
	}
	return -EINVAL;
}

enum scan_state { SCAN_VALUE, SCAN_KEY, SCAN_AFTER_VALUE };

/* Checks the whole grammar without recursion (the stack is the depth cap)
 * and counts the tokens jsmn will make: one per value and one per key.
 * Returns 0 with the count and whether the root is a bare primitive. */
static int
validate(const char *js, size_t len, size_t max_tokens, size_t *ret_ntok,
    bool *ret_root_prim)
{
	char stack[JC_MAX_JSON_DEPTH];
	enum scan_state st = SCAN_VALUE;
	size_t i = skip_ws(js, len, 0), ntok = 0;
	bool root_prim = false;
	int depth = 0;
	ssize_t e;

	for (;;) {
		switch (st) {
		case SCAN_KEY:
			if (i >= len || js[i] != '"')
				return -EINVAL;
			if (++ntok > max_tokens)
				return -E2BIG;
			if ((e = scan_string(js, len, i)) < 0)
				return (int) e;
			i = skip_ws(js, len, (size_t) e);
			if (i >= len || js[i] != ':')
				return -EINVAL;
			i = skip_ws(js, len, i + 1);
			st = SCAN_VALUE;
			break;
		case SCAN_VALUE:
			if (i >= len)
				return -EINVAL;
			if (++ntok > max_tokens)
				return -E2BIG;
			if (js[i] == '{' || js[i] == '[') {
				if (depth >= JC_MAX_JSON_DEPTH)
					return -E2BIG;
				stack[depth++] = js[i] == '{' ? '}' : ']';
				i = skip_ws(js, len, i + 1);
				if (i < len && js[i] == stack[depth - 1]) {
					depth--;	/* empty container */
					i++;
					st = SCAN_AFTER_VALUE;
				} else {
					st = stack[depth - 1] == '}' ?
					    SCAN_KEY : SCAN_VALUE;
				}
				break;
			}
			if (js[i] == '"') {
				e = scan_string(js, len, i);
			} else if (js[i] == '-' || is_digit(js[i])) {
				e = scan_number(js, len, i);
				root_prim = depth == 0;
			} else {
				e = scan_literal(js, len, i);
				root_prim = depth == 0;
			}
			if (e < 0)
				return (int) e;
			i = (size_t) e;
			st = SCAN_AFTER_VALUE;
			break;
		case SCAN_AFTER_VALUE:
			i = skip_ws(js, len, i);
			if (depth == 0) {
				if (i != len)
					return -EINVAL;	/* trailing */
				*ret_ntok = ntok;
				*ret_root_prim = root_prim;
				return 0;
			}
			if (i >= len)
				return -EINVAL;
			if (js[i] == stack[depth - 1]) {
				depth--;
				i++;
			} else if (js[i] == ',') {
				i = skip_ws(js, len, i + 1);
				st = stack[depth - 1] == '}' ?
				    SCAN_KEY : SCAN_VALUE;
			} else {
				return -EINVAL;
			}
			break;
		}
	}
}

/* ---- tokens ----------------------------------------------------------- */

/* jsmn's tree must be what the grammar said: every parent before its
 * child, object children are keys with exactly one value right after them,
 * and every size matches its children. Then builds the child index. */
static int
index_tokens(struct jr_doc *doc)
{
	const jsmntok_t *t = doc->tok;
	int n = doc->ntok, off = 0;
	_cleanup_free_ int *fill = NULL;

	if (!(fill = calloc((size_t) n, sizeof(int))) ||
	    !(doc->child_off = calloc((size_t) n, sizeof(int))) ||
	    !(doc->children = calloc((size_t) n, sizeof(int))))
		return -ENOMEM;
	for (int k = 0; k < n; k++) {
		int p = t[k].parent;

		if (t[k].start < 0 || t[k].end < t[k].start ||
		    (size_t) t[k].end > doc->len || t[k].size < 0)
			return -EINVAL;
		if (k == 0) {
			if (p != -1)
				return -EINVAL;
			continue;
		}
		if (p < 0 || p >= k)
			return -EINVAL;
		if (t[p].type == JSMN_OBJECT) {
			if (t[k].type != JSMN_STRING || t[k].size != 1)
				return -EINVAL;
		} else if (t[p].type == JSMN_STRING) {
			if (k != p + 1 || t[p].parent < 0 ||
			    t[t[p].parent].type != JSMN_OBJECT)
				return -EINVAL;
		} else if (t[p].type != JSMN_ARRAY) {
			return -EINVAL;
		}
		fill[p]++;
	}
	for (int k = 0; k < n; k++) {
		if (fill[k] != t[k].size)
			return -EINVAL;
		doc->child_off[k] = off;
		off += t[k].size;	/* total is n - 1: one parent each */
		fill[k] = 0;
	}
	for (int k = 1; k < n; k++) {
		int p = t[k].parent;

		doc->children[doc->child_off[p] + fill[p]++] = k;
	}
	return 0;
}

static void
jr_freep(struct jr_doc **doc)
{
	(void) jr_free(*doc);
}

int
jr_parse(const char *js, size_t len, size_t max_tokens,
    struct jr_doc **ret_doc)
{
	_cleanup_(jr_freep) struct jr_doc *doc = NULL;
	jsmn_parser parser;
	size_t ntok = 0;
	bool root_prim = false;
	int r;

	if (!js)
		return -EINVAL;
	if (len > INT32_MAX)
		return -E2BIG;	/* jsmn offsets are int */
	if (max_tokens > INT32_MAX / 4)
		max_tokens = INT32_MAX / 4;
	if ((r = validate(js, len, max_tokens, &ntok, &root_prim)) < 0)
		return r;
	if (!(doc = calloc(1, sizeof(*doc))))
		return -ENOMEM;
	doc->js = js;
	doc->len = len;
	doc->ntok = (int) ntok;
	if (!(doc->tok = calloc(ntok, sizeof(jsmntok_t))))
		return -ENOMEM;
	if (root_prim) {
		/* Strict jsmn wants a delimiter after a primitive, so a bare
		 * top-level "42" is PART; the grammar check already ran. */
		size_t s = skip_ws(js, len, 0), e = s;

		while (e < len && !is_ws(js[e]))
			e++;
		doc->tok[0] = (jsmntok_t) { .type = JSMN_PRIMITIVE,
		    .start = (int) s, .end = (int) e, .size = 0, .parent = -1 };
	} else {
		jsmn_init(&parser);
		r = jsmn_parse(&parser, js, len, doc->tok, (unsigned int) ntok);
		if (r != (int) ntok)
			return r == JSMN_ERROR_NOMEM ? -E2BIG : -EINVAL;
	}
	if ((r = index_tokens(doc)) < 0)
		return r;
	*ret_doc = steal_ptr(&doc);
	return 0;
}

struct jr_doc *
jr_free(struct jr_doc *doc)
{
	if (doc) {
		free(doc->tok);
		free(doc->child_off);
		free(doc->children);
		free(doc);
	}
	return NULL;
}

static bool
tok_ok(const struct jr_doc *doc, int tok)
{
	return doc && tok >= 0 && tok < doc->ntok;
}

int
jr_root(const struct jr_doc *doc)
{
	(void) doc;
	return 0;
}

enum jr_type
jr_type(const struct jr_doc *doc, int tok)
{
	const jsmntok_t *t;

	if (!tok_ok(doc, tok))
		return JR_NULL;
	t = &doc->tok[tok];
	switch (t->type) {
	case JSMN_OBJECT:
		return JR_OBJECT;
	case JSMN_ARRAY:
		return JR_ARRAY;
	case JSMN_STRING:
		return JR_STRING;
	case JSMN_PRIMITIVE:
		if (doc->js[t->start] == 't' || doc->js[t->start] == 'f')
			return JR_BOOL;
		if (doc->js[t->start] == 'n')
			return JR_NULL;
		return JR_NUMBER;
	case JSMN_UNDEFINED:
		break;
	}
	return JR_NULL;	/* unreachable: index_tokens checked the tree */
}

static bool
is_container(const struct jr_doc *doc, int tok)
{
	return tok_ok(doc, tok) && (doc->tok[tok].type == JSMN_OBJECT ||
	    doc->tok[tok].type == JSMN_ARRAY);
}

int
jr_len(const struct jr_doc *doc, int tok)
{
	return is_container(doc, tok) ? doc->tok[tok].size : 0;
}

int
jr_child(const struct jr_doc *doc, int tok, int i)
{
	if (!tok_ok(doc, tok))
		return -EINVAL;
	if (!is_container(doc, tok) || i < 0 || i >= doc->tok[tok].size)
		return -ENOENT;
	return doc->children[doc->child_off[tok] + i];
}

int
jr_next_value(const struct jr_doc *doc, int key)
{
	if (!tok_ok(doc, key) || doc->tok[key].type != JSMN_STRING ||
	    doc->tok[key].size != 1)
		return -EINVAL;
	return key + 1;	/* index_tokens checked it is the only child */
}

/* ---- strings ---------------------------------------------------------- */

static int
utf8_encode(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char) cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char) (0xc0 | (cp >> 6));
		out[1] = (unsigned char) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char) (0xe0 | (cp >> 12));
		out[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char) (0xf0 | (cp >> 18));
	out[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char) (0x80 | (cp & 0x3f));
	return 4;
}

/* One decoded character of a string token: 1..4 bytes into out. Checks
 * again what the grammar checked, since it costs nothing here.
 * -EINVAL bad escape; -EILSEQ invalid UTF-8, a control byte or NUL. */
static int
str_next_nul(const struct jr_doc *doc, size_t *pos, size_t end,
    unsigned char out[4], bool allow_nul)
{
	const unsigned char *u = (const unsigned char *) doc->js;
	uint32_t cp;
	size_t n;

	if (u[*pos] == '\\') {
		if (escape_decode(doc->js, end, pos, &cp) < 0)
			return -EINVAL;
		if (cp == 0 && !allow_nul)
			return -EILSEQ;	/* \u0000 would cut a C string */
		return utf8_encode(cp, out);
	}
	if (u[*pos] < 0x20)
		return -EILSEQ;
	if ((n = utf8_seq_len(u + *pos, end - *pos)) == 0)
		return -EILSEQ;
	memcpy(out, u + *pos, n);
	*pos += n;
	return (int) n;
}

static int
str_next(const struct jr_doc *doc, size_t *pos, size_t end,
    unsigned char out[4])
{
	return str_next_nul(doc, pos, end, out, false);
}

/* Decodes string token tok into out[size] (NULL: only measure). */
static int
str_decode_nul(const struct jr_doc *doc, int tok, char *out, size_t size,
    size_t *ret_len, bool allow_nul)
{
	size_t pos, end, o = 0;

	if (!tok_ok(doc, tok) || doc->tok[tok].type != JSMN_STRING)
		return -EINVAL;
	pos = (size_t) doc->tok[tok].start;
	end = (size_t) doc->tok[tok].end;
	while (pos < end) {
		unsigned char c[4];
		int n = str_next_nul(doc, &pos, end, c, allow_nul);

		if (n < 0)
			return n;
		if (out) {
			if ((size_t) n >= size - o)
				return -E2BIG;
			memcpy(out + o, c, (size_t) n);
		}
		o += (size_t) n;
	}
	if (out) {
		if (o >= size)
			return -E2BIG;
		out[o] = '\0';
	}
	if (ret_len)
		*ret_len = o;
	return 0;
}

static int
str_decode(const struct jr_doc *doc, int tok, char *out, size_t size,
    size_t *ret_len)
{
	return str_decode_nul(doc, tok, out, size, ret_len, false);
}

int
jr_str(const struct jr_doc *doc, int tok, char *buf, size_t size,
    size_t *ret_len)
{
	size_t len = 0;
	int r;

	if (size == 0)
		return -E2BIG;
	if ((r = str_decode(doc, tok, buf, size, &len)) < 0) {
		buf[0] = '\0';
		return r;
	}
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int
str_dup(const struct jr_doc *doc, int tok, size_t max, char **ret,
    size_t *ret_len, bool allow_nul)
{
	_cleanup_free_ char *p = NULL;
	size_t raw, size, len = 0;
	int r;

	if (!tok_ok(doc, tok) || doc->tok[tok].type != JSMN_STRING)
		return -EINVAL;
	/* unescaping never lengthens, so raw bytes bound the result */
	raw = (size_t) (doc->tok[tok].end - doc->tok[tok].start);
	size = (raw < max ? raw : max) + 1;
	if (size == 0)
		return -E2BIG;	/* max == SIZE_MAX and raw == max */
	if (!(p = malloc(size)))
		return -ENOMEM;
	if ((r = str_decode_nul(doc, tok, p, size, &len, allow_nul)) < 0)
		return r;
	*ret = steal_ptr(&p);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int
jr_str_dup(const struct jr_doc *doc, int tok, size_t max, char **ret,
    size_t *ret_len)
{
	return str_dup(doc, tok, max, ret, ret_len, false);
}

int
jr_bytes_dup(const struct jr_doc *doc, int tok, size_t max, char **ret,
    size_t *ret_len)
{
	return str_dup(doc, tok, max, ret, ret_len, true);
}

bool
jr_str_eq(const struct jr_doc *doc, int tok, const char *s)
{
	size_t pos, end, o = 0, slen;

	if (!s || !tok_ok(doc, tok) || doc->tok[tok].type != JSMN_STRING)
		return false;
	slen = strlen(s);
	pos = (size_t) doc->tok[tok].start;
	end = (size_t) doc->tok[tok].end;
	while (pos < end) {
		unsigned char c[4];
		int n = str_next(doc, &pos, end, c);

		if (n < 0 || (size_t) n > slen - o || memcmp(s + o, c,
		    (size_t) n) != 0)
			return false;
		o += (size_t) n;
	}
	return o == slen;
}

/* ---- objects ---------------------------------------------------------- */

int
jr_obj_get(const struct jr_doc *doc, int obj, const char *key)
{
	int found = -ENOENT;

	if (!tok_ok(doc, obj) || doc->tok[obj].type != JSMN_OBJECT || !key)
		return -EINVAL;
	for (int i = 0; i < doc->tok[obj].size; i++) {
		int k = doc->children[doc->child_off[obj] + i];

		if (!jr_str_eq(doc, k, key))
			continue;
		if (found >= 0)
			return -EEXIST;	/* no first-or-last guessing */
		found = k + 1;
	}
	return found;
}

/* The offending key for a message: decoded, cut at a character boundary,
 * control bytes and NUL shown as '?'. Never fails. */
static void
bad_key_copy(const struct jr_doc *doc, int tok, char *buf, size_t size)
{
	size_t pos = (size_t) doc->tok[tok].start;
	size_t end = (size_t) doc->tok[tok].end, o = 0;

	if (!buf || size == 0)
		return;
	while (pos < end) {
		unsigned char c[4];
		size_t save = pos;
		int n = str_next(doc, &pos, end, c);

		if (n < 0) {
			c[0] = '?';
			n = 1;
			if (pos == save)
				pos++;	/* skip an undecodable byte */
		} else if (n == 1 && (c[0] < 0x20 || c[0] == 0x7f)) {
			c[0] = '?';
		}
		if ((size_t) n >= size - o)
			break;
		memcpy(buf + o, c, (size_t) n);
		o += (size_t) n;
	}
	buf[o] = '\0';
}

/* One key against allowed[0..m): -EILSEQ, -EINVAL unknown, -EEXIST seen. */
static int
check_key(const struct jr_doc *doc, int k, const char *const *allowed,
    size_t m, bool *seen)
{
	size_t j;
	int r;

	if ((r = str_decode(doc, k, NULL, 0, NULL)) < 0)
		return r == -EINVAL ? -EINVAL : -EILSEQ;
	for (j = 0; j < m; j++)
		if (jr_str_eq(doc, k, allowed[j]))
			break;
	if (j == m)
		return -EINVAL;
	if (seen[j])
		return -EEXIST;
	seen[j] = true;
	return 0;
}

int
jr_obj_check_keys(const struct jr_doc *doc, int obj,
    const char *const *allowed, char *bad_key, size_t bad_key_size)
{
	_cleanup_free_ bool *seen = NULL;
	size_t m = 0;
	int r;

	if (bad_key && bad_key_size > 0)
		bad_key[0] = '\0';
	if (!tok_ok(doc, obj) || doc->tok[obj].type != JSMN_OBJECT)
		return -EINVAL;
	while (allowed && allowed[m])
		m++;
	if (!(seen = calloc(m + 1, sizeof(bool))))
		return -ENOMEM;
	for (int i = 0; i < doc->tok[obj].size; i++) {
		int k = doc->children[doc->child_off[obj] + i];

		if ((r = check_key(doc, k, allowed, m, seen)) < 0) {
			bad_key_copy(doc, k, bad_key, bad_key_size);
			return r;
		}
	}
	return 0;
}

/* ---- scalars ---------------------------------------------------------- */

int
jr_i64(const struct jr_doc *doc, int tok, int64_t *ret)
{
	const char *p, *end;
	bool neg = false;
	int64_t v = 0;
	bool range = false;

	if (jr_type(doc, tok) != JR_NUMBER || !tok_ok(doc, tok))
		return -EINVAL;
	p = doc->js + doc->tok[tok].start;
	end = doc->js + doc->tok[tok].end;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p == end)
		return -EINVAL;
	/* Accumulate negatively so INT64_MIN fits; keep scanning after an
	 * overflow so "1e999" is -EINVAL (not integral), not -ERANGE. */
	for (; p < end; p++) {
		int d;

		if (!is_digit(*p))
			return -EINVAL;	/* fraction or exponent */
		d = *p - '0';
		if (range || v < (INT64_MIN + d) / 10)
			range = true;
		else
			v = v * 10 - d;
	}
	if (!neg && v == INT64_MIN)
		range = true;
	if (range)
		return -ERANGE;
	*ret = neg ? v : -v;
	return 0;
}

int
jr_bool(const struct jr_doc *doc, int tok, bool *ret)
{
	if (jr_type(doc, tok) != JR_BOOL || !tok_ok(doc, tok))
		return -EINVAL;
	*ret = doc->js[doc->tok[tok].start] == 't';
	return 0;
}
