/* router.c - maps method + path to a route of DESIGN section 4, and reads
 * query parameters. Pure string work on bytes nginx passed us; no I/O. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "banned.h"

struct route {
	const char *method;
	const char *pattern;	/* "{id}" matches one id-shaped segment */
	enum route_id id;
};

static const struct route routes[] = {
	{ "GET", "/v1/health", ROUTE_HEALTH },
	{ "GET", "/v1/me", ROUTE_ME },
	{ "POST", "/v1/jobs", ROUTE_JOBS_CREATE },
	{ "GET", "/v1/jobs", ROUTE_JOBS_LIST },
	{ "POST", "/v1/run", ROUTE_RUN },
	{ "GET", "/v1/jobs/{id}", ROUTE_JOB_GET },
	{ "POST", "/v1/jobs/{id}/cancel", ROUTE_JOB_CANCEL },
	{ "GET", "/v1/jobs/{id}/logs", ROUTE_JOB_LOGS },
	{ "GET", "/v1/jobs/{id}/output", ROUTE_JOB_OUTPUT },
	{ "GET", "/v1/jobs/{id}/artifacts", ROUTE_JOB_ARTIFACTS },
	{ "GET", "/v1/jobs/{id}/artifacts/{rest}", ROUTE_JOB_ARTIFACT },
	{ "GET", "/v1/runtimes", ROUTE_RUNTIMES },
	{ "GET", "/api/v2/runtimes", ROUTE_PISTON_RUNTIMES },
	{ "POST", "/api/v2/execute", ROUTE_PISTON_EXECUTE },
	{ "POST", "/v1/images", ROUTE_IMAGES_CREATE },
	{ "GET", "/v1/images", ROUTE_IMAGES_LIST },
	{ "DELETE", "/v1/images/{rest}", ROUTE_IMAGE_DELETE },
	{ "GET", "/metrics", ROUTE_METRICS },
	{ "PUT", "/v1/blobs/sha256:{id}", ROUTE_BLOB_PUT },
	{ "HEAD", "/v1/blobs/sha256:{id}", ROUTE_BLOB_HEAD },
};

static bool
id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* 1 if path matches pattern, copying the {id} segment into id[] and
 * pointing *rest at what a final {rest} matched (not empty). */
static int
pattern_match(const char *pattern, const char *path, char *id, size_t size,
    const char **rest)
{
	const char *p = pattern, *s = path;

	while (*p) {
		if (strcmp(p, "{rest}") == 0) {
			if (*s == '\0')
				return 0;
			*rest = s;
			return 1;
		}
		if (strncmp(p, "{id}", 4) == 0) {
			size_t n = 0;

			while (id_char(s[n]))
				n++;
			if (n == 0 || n >= size)
				return 0;
			memcpy(id, s, n);
			id[n] = '\0';
			s += n;
			p += 4;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *s == '\0';
}

int
router_match(const char *method, const char *path, struct route_match *ret)
{
	static const char *const allow_for[] = {
		[ROUTE_HEALTH] = "GET",
		[ROUTE_ME] = "GET",
		[ROUTE_JOBS_CREATE] = "GET, POST",
		[ROUTE_JOBS_LIST] = "GET, POST",
		[ROUTE_RUN] = "POST",
		[ROUTE_JOB_GET] = "GET",
		[ROUTE_JOB_CANCEL] = "POST",
		[ROUTE_JOB_LOGS] = "GET",
		[ROUTE_JOB_OUTPUT] = "GET",
		[ROUTE_JOB_ARTIFACTS] = "GET",
		[ROUTE_JOB_ARTIFACT] = "GET",
		[ROUTE_BLOB_PUT] = "HEAD, PUT",
		[ROUTE_BLOB_HEAD] = "HEAD, PUT",
		[ROUTE_METRICS] = "GET",
		[ROUTE_RUNTIMES] = "GET",
		[ROUTE_PISTON_RUNTIMES] = "GET",
		[ROUTE_PISTON_EXECUTE] = "POST",
		[ROUTE_IMAGES_CREATE] = "GET, POST",
		[ROUTE_IMAGES_LIST] = "GET, POST",
		[ROUTE_IMAGE_DELETE] = "DELETE",
	};
	char id[ROUTE_ID_MAX + 1];
	const char *rest = NULL;
	bool path_known = false;
	enum route_id known = ROUTE_HEALTH;

	if (!method || !path)
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		id[0] = '\0';
		rest = NULL;
		if (!pattern_match(routes[i].pattern, path, id, sizeof(id),
			&rest))
			continue;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(routes[i].method, "GET") == 0)) {
			ret->id = routes[i].id;
			memcpy(ret->job_id, id, sizeof(id));
			ret->rest = rest;
			ret->allow = allow_for[routes[i].id];
			return 0;
		}
		path_known = true;
		known = routes[i].id;
	}
	if (path_known) {
		ret->allow = allow_for[known];
		return -EPERM;
	}
	return -ENOENT;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
query_get(const char *query, const char *name, char *buf, size_t size)
{
	size_t nlen = strlen(name);
	const char *q = query;

	if (!q || size == 0)
		return -ENOENT;
	while (*q) {
		const char *end = strchr(q, '&');
		size_t seg = end ? (size_t) (end - q) : strlen(q);

		if (seg >= nlen && strncmp(q, name, nlen) == 0 &&
		    (seg == nlen || q[nlen] == '=')) {
			const char *v = seg == nlen ? q + nlen : q + nlen + 1;
			const char *vend = q + seg;
			size_t o = 0;

			while (v < vend) {
				char c = *v;

				if (c == '%') {
					int hi, lo;

					if (vend - v < 3 ||
					    (hi = hexval(v[1])) < 0 ||
					    (lo = hexval(v[2])) < 0)
						return -EINVAL;
					c = (char) (hi * 16 + lo);
					v += 3;
				} else {
					if (c == '+')
						c = ' ';
					v++;
				}
				if (c == '\0')
					return -EINVAL;
				if (o + 1 >= size)
					return -E2BIG;
				buf[o++] = c;
			}
			buf[o] = '\0';
			return 0;
		}
		if (!end)
			break;
		q = end + 1;
	}
	return -ENOENT;
}
