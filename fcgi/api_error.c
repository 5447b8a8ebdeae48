/* api_error.c - the one place where failures become HTTP statuses and the
 * error codes of DESIGN section 4. Detail about internal failures goes to the
 * log, never to the client. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "parse.h"
#include "banned.h"

int
api_err_set(struct api_err *e, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->retry_after_s = 0;
	e->allow[0] = '\0';
	(void) str_copy(e->code, sizeof(e->code), code);
	va_start(ap, fmt);
	/* A message cut short is still a sentence worth sending. */
	(void) vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return status >= 500 ? -EIO : -EINVAL;
}

int
api_err_internal(struct api_err *e, int r)
{
	switch (r) {
	case -ENOSPC:
		/* Not the client's fault and not over in a second: the
		 * operator must free space. Nothing was stored. */
		api_err_set(e, 503, "unavailable",
		    "the server is out of disk space; retry later");
		e->retry_after_s = 30;
		return r;
	case -EBUSY:
	case -EAGAIN:
		api_err_set(e, 503, "unavailable",
		    "the server is busy; retry shortly");
		e->retry_after_s = 1;
		return r;
	case -ENOMEM:
	case -E2BIG:
	default:
		api_err_set(e, 503, "unavailable",
		    "the server could not complete the request");
		e->retry_after_s = 1;
		return r;
	}
}

const char *
api_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304:
		return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}
