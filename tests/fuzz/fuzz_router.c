/* fuzz_router.c - libFuzzer target: the API's router and query parsing
 * (fcgi/router.c) on arbitrary bytes. Input: METHOD '\n' PATH '\n' QUERY.
 * Checks properties, not only "no crash":
 * - a match names a route whose {id} is 1..ROUTE_ID_MAX id characters and
 *   appears in the path; a 405 names an Allow list without the method;
 * - query_get answers one of its documented codes and a found value has no
 *   NUL and fits its buffer;
 * - any byte string (but NUL) percent-encoded into a query comes back
 *   unchanged from query_get, next to other parameters. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 4096

static bool
id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* 1 if word is one of the ", "-separated words of list. */
static bool
listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t w = strcspn(p, ",");

		if (w == n && memcmp(p, word, n) == 0)
			return true;
		p += w;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return false;
}

static void
check_route(const char *method, const char *path)
{
	struct route_match m = { 0 };
	int r = router_match(method, path, &m);
	size_t n;

	if (r == 0) {
		n = strlen(m.job_id);
		if (n > ROUTE_ID_MAX || strncmp(path, "/v1/", 4) != 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!id_char(m.job_id[i]))
				abort();
		if (n > 0 && !strstr(path, m.job_id))
			abort();
	} else if (r == -EPERM) {
		if (!m.allow || !m.allow[0] || listed(m.allow, method))
			abort();
	} else if (r != -ENOENT) {
		abort();
	}
}

static void
check_query(const char *query, const char *name)
{
	char buf[64];
	int r = query_get(query, name, buf, sizeof(buf));

	if (r == 0) {
		if (strlen(buf) >= sizeof(buf))
			abort();
	} else if (r != -ENOENT && r != -E2BIG && r != -EINVAL) {
		abort();
	}
}

/* value[0..len) (no NUL) percent-encoded between two other parameters
 * must read back as itself. */
static void
check_roundtrip(const char *value, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char query[3 * MAX_IN + 32], buf[MAX_IN + 1];
	size_t o = 0;
	int r;

	memcpy(query + o, "x=1&after=", 10);
	o += 10;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) value[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			query[o++] = (char) c;
		} else {
			query[o++] = '%';
			query[o++] = hex[c >> 4];
			query[o++] = hex[c & 15];
		}
	}
	memcpy(query + o, "&limit=2", 9);	/* with its NUL */
	r = query_get(query, "after", buf, sizeof(buf));
	if (r != 0 || strlen(buf) != len || memcmp(buf, value, len) != 0)
		abort();
	r = query_get(query, "limit", buf, sizeof(buf));
	if (r != 0 || strcmp(buf, "2") != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"after", "limit", "status", "before", "follow", "stream", "",
	};
	char in[MAX_IN + 1], empty[1] = "", *method, *path, *query, *nl;
	size_t vlen;

	if (size > MAX_IN)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	method = in;
	path = empty;
	query = empty;
	if ((nl = strchr(method, '\n'))) {
		*nl = '\0';
		path = nl + 1;
		if ((nl = strchr(path, '\n'))) {
			*nl = '\0';
			query = nl + 1;
		}
	}
	check_route(method, path);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_query(query, names[i]);
	check_query(query, method);	/* a name from the input */
	vlen = strlen(query);
	check_roundtrip(query, vlen);
	return 0;
}
