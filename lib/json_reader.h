/* json_reader.h - bounded JSON reading on top of jsmn (the only includer of
 * <jsmn.h> is json_reader.c). A document is parsed once (strict mode, token
 * and depth caps); values are addressed by token index and read only through
 * these accessors, which check type, length, escapes and UTF-8.
 * A parsed doc is immutable and may be read from one thread at a time. */
#ifndef JOBCELL_JSON_READER_H
#define JOBCELL_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jr_doc;

enum jr_type { JR_OBJECT, JR_ARRAY, JR_STRING, JR_NUMBER, JR_BOOL, JR_NULL };

/* Parses js[0..len) (need not be NUL-terminated; the doc keeps a pointer, so
 * js must outlive it). Exactly one top-level value, nothing but whitespace
 * after it. Returns 0; -EINVAL malformed JSON; -E2BIG more than max_tokens
 * tokens or deeper than JC_MAX_JSON_DEPTH; -ENOMEM. */
int jr_parse(const char *js, size_t len, size_t max_tokens,
    struct jr_doc **ret_doc);
struct jr_doc *jr_free(struct jr_doc *doc);	/* accepts NULL, returns NULL */

int jr_root(const struct jr_doc *doc);		/* always 0 */
enum jr_type jr_type(const struct jr_doc *doc, int tok);
/* Members of an object / elements of an array; 0 for scalars. */
int jr_len(const struct jr_doc *doc, int tok);
/* Token of the i-th element of an array, or of the i-th KEY of an object
 * (its value is jr_next_value(doc, key) == key + 1). -ENOENT past the end. */
int jr_child(const struct jr_doc *doc, int tok, int i);
/* Value token of an object key token (key + 1); -EINVAL if key is not a
 * key. (Added with json_reader.c: the comment above names it.) */
int jr_next_value(const struct jr_doc *doc, int key);
/* Value token of the member named key in object obj; -ENOENT if absent,
 * -EINVAL if obj is not an object, -EEXIST if the key appears twice (no
 * first-or-last guessing). Keys are compared after unescaping. */
int jr_obj_get(const struct jr_doc *doc, int obj, const char *key);
/* Checks obj's keys: every key must be in allowed (NULL-terminated) and
 * appear once. Returns 0; -EINVAL unknown key; -EEXIST duplicate key;
 * -EILSEQ a key that is not valid UTF-8 or contains NUL. On error the
 * offending key (unescaped, truncated to fit, control bytes replaced by '?')
 * is written to bad_key[bad_key_size]. */
int jr_obj_check_keys(const struct jr_doc *doc, int obj,
    const char *const *allowed, char *bad_key, size_t bad_key_size);
/* True if the string token equals s after unescaping. */
bool jr_str_eq(const struct jr_doc *doc, int tok, const char *s);

/* Unescaped string value into buf[size] (NUL-terminated). -EINVAL not a
 * string (or a bad escape); -E2BIG does not fit; -EILSEQ invalid UTF-8 or a
 * NUL byte (raw or \u0000). ret_len (may be NULL) gets the byte length. */
int jr_str(const struct jr_doc *doc, int tok, char *buf, size_t size,
    size_t *ret_len);
/* Same, allocated; at most max bytes (else -E2BIG). Caller frees. */
int jr_str_dup(const struct jr_doc *doc, int tok, size_t max, char **ret,
    size_t *ret_len);
/* Integral number (no fraction/exponent unless it is integral, e.g. 2.0 is
 * refused: -EINVAL) fitting int64: -EINVAL not a number; -ERANGE too big. */
/* Same as jr_str_dup but \u0000 is allowed (data, not a C string: use
 * ret_len, which is required). For log data read back by clients. */
int jr_bytes_dup(const struct jr_doc *doc, int tok, size_t max, char **ret,
    size_t *ret_len);
int jr_i64(const struct jr_doc *doc, int tok, int64_t *ret);
int jr_bool(const struct jr_doc *doc, int tok, bool *ret);

#endif
