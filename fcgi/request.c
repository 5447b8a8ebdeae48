/* request.c - reading one FastCGI request (params, capped body) and writing
 * responses. Runs on an API thread; only the FCGX_* API is used, so nothing
 * lands in environ (DESIGN section 8). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "parse.h"
#include "banned.h"

const char *
req_param(const struct req *rq, const char *name)
{
	return FCGX_GetParam(name, rq->fcgi->envp);
}

int
req_read_body(struct req *rq, struct api_err *err)
{
	const char *cl = req_param(rq, "CONTENT_LENGTH");
	int64_t want = 0;
	char buf[16384];
	int n;

	if (cl && *cl && parse_i64(cl, 0, INT64_MAX, &want) < 0)
		return api_err_set(err, 400, "invalid_request",
		    "the Content-Length header is not a number");
	if (want > (int64_t) rq->body.max)
		return api_err_set(err, 413, "payload_too_large",
		    "the body is larger than %zu bytes", rq->body.max);
	while ((n = FCGX_GetStr(buf, sizeof(buf), rq->fcgi->in)) > 0) {
		if (strbuf_add(&rq->body, buf, (size_t) n) < 0)
			return api_err_set(err, 413, "payload_too_large",
			    "the body is larger than %zu bytes", rq->body.max);
	}
	return 0;
}

int
fcgi_put_headers(FCGX_Stream *out, int status, const char *content_type,
    const char *headers)
{
	if (FCGX_FPrintF(out, "Status: %d %s\r\n", status,
	    api_status_text(status)) < 0)
		return -EIO;
	if (content_type && FCGX_FPrintF(out,
	    "Content-Type: %s\r\n", content_type) < 0)
		return -EIO;
	if (FCGX_PutS("Cache-Control: no-store\r\n", out) < 0)
		return -EIO;
	if (headers && *headers && FCGX_PutS(headers, out) < 0)
		return -EIO;
	if (FCGX_PutS("\r\n", out) < 0)
		return -EIO;
	return 0;
}

int
reply_raw_header(struct req *rq, int status, const char *content_type,
    const char *headers)
{
	rq->status = status;	/* for the request counters (metrics.c) */
	return fcgi_put_headers(rq->fcgi->out, status, content_type, headers);
}

int
sink_flush(struct sink *k, bool all)
{
	int r;

	if (k->err < 0)
		return k->err;
	if (!all && k->buf->len < SINK_FLUSH_BYTES)
		return 0;
	if (!k->headers_sent) {
		if ((r = fcgi_put_headers(k->out, k->status, k->content_type,
		    k->headers)) < 0)
			return k->err = r;
		k->headers_sent = true;
	}
	if (k->buf->len > 0 && FCGX_PutStr(k->buf->buf, (int) k->buf->len,
	    k->out) < 0)
		return k->err = -EPIPE;
	k->sent += k->buf->len;
	strbuf_reset(k->buf);
	return 0;
}

int
reply_json(struct req *rq, int status, const char *headers,
    const struct strbuf *body)
{
	int r;

	rq->status = status;	/* for the request counters (metrics.c) */
	if ((r = fcgi_put_headers(rq->fcgi->out, status, "application/json",
	    headers)) < 0)
		return r;
	if (body && body->len > 0 &&
	    FCGX_PutStr(body->buf, (int) body->len, rq->fcgi->out) < 0)
		return -EIO;
	if (FCGX_PutS("\n", rq->fcgi->out) < 0)
		return -EIO;
	return 0;
}

int
reply_error(struct req *rq, const struct api_err *e)
{
	_cleanup_strbuf_ struct strbuf sb;
	char headers[128] = "";
	struct jw w;

	strbuf_init(&sb, 4096);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_key(&w, "error");
	jw_obj_open(&w);
	jw_kv_str(&w, "code", e->code);
	jw_kv_str(&w, "message", e->message);
	jw_obj_close(&w);
	jw_obj_close(&w);
	if (jw_finish(&w) < 0)
		return -EIO;
	if (e->retry_after_s > 0)
		(void) snprintf(headers, sizeof(headers), "Retry-After: %d\r\n",
		    e->retry_after_s);
	else if (e->allow[0])
		(void) snprintf(headers, sizeof(headers), "Allow: %s\r\n",
		    e->allow);
	else if (e->status == 401)
		(void) snprintf(headers, sizeof(headers),
		    "WWW-Authenticate: Bearer\r\n");
	return reply_json(rq, e->status, headers, &sb);
}
