/* blob.c - local inputs on their way to a job: a directory is packed
 * (pack.c), a file is sent as it is; either is hashed and sent to
 * PUT /v1/blobs/sha256:{hex} only when HEAD says the server does not have
 * it yet (DESIGN 4). Runs in the client; trusts only the HTTP status of
 * the replies. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "io.h"
#include "banned.h"

int
blob_ensure(struct http *h, const char *what, int fd, uint64_t size,
    const char *hex, const char *label, bool *ret_uploaded)
{
	struct http_resp resp;
	struct progress prog;
	char path[64 + SHA256_HEX_LEN];
	int r;

	*ret_uploaded = false;
	(void) snprintf(path, sizeof(path), "/v1/blobs/sha256:%s", hex);
	http_resp_init(&resp, CLI_RESP_MAX);
	r = http_request(h, "HEAD", path, NULL, 0, CLI_RESP_MAX, &resp);
	if (r < 0) {
		http_err(what, h, r);
		goto out;
	}
	if (resp.status == 200)
		goto out; /* already there: nothing to send */
	if (resp.status != 404) {
		r = -EPROTO;
		cli_err(what, "HEAD %s: HTTP %ld", path, resp.status);
		goto out;
	}
	progress_init(&prog, label, size);
	r = http_put_fd(h, path, fd, size, &prog, &resp);
	progress_end(&prog, r == 0 && resp.status / 100 == 2);
	if (r < 0) {
		http_err(what, h, r);
		goto out;
	}
	if (resp.status != 200 && resp.status != 201) {
		r = -EPROTO;
		http_report(what, &resp);
		goto out;
	}
	*ret_uploaded = true;
out:
	http_resp_release(&resp);
	return r;
}

/* Reads dir/.jobcellignore, if there, into ig. */
static int
ignore_load(const char *what, const char *dir, struct ignore *ig)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	unsigned line = 0;
	int r;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cli_err(what, "cannot open '%s': %s", dir,
			   strerror(errno)),
		       -errno;
	fd = openat(dfd, IGNORE_FILE,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP))
		return 0; /* none (a link to one is not read) */
	if (fd < 0)
		return cli_err(what, "cannot read '%s/%s': %s", dir,
			   IGNORE_FILE, strerror(errno)),
		       -errno;
	if ((r = read_all(fd, PROJECT_FILE_MAX, &text, &len)) < 0)
		return cli_err(what, "cannot read '%s/%s': %s", dir,
			   IGNORE_FILE,
			   r == -E2BIG ? "too large" : strerror(-r)),
		       r;
	if ((r = ignore_add_text(ig, text, len, &line)) < 0)
		return cli_err(what, "%s/%s: line %u: %s", dir, IGNORE_FILE,
			   line,
			   r == -ENOMEM	   ? "out of memory" :
			       r == -E2BIG ? "too many rules" :
					     "bad pattern"),
		       r;
	return 0;
}

int
input_prepare(struct http *h, const char *what, const char *local,
    const struct ignore *extra, struct cli_input *ret)
{
	_cleanup_close_ int fd = -1;
	struct ignore ig = { 0 };
	struct pack_stats st = { 0 };
	struct stat s;
	char hex[SHA256_HEX_LEN + 1];
	int64_t size = 0;
	bool uploaded;
	int r;

	*ret = (struct cli_input){ 0 };
	if (stat(local, &s) < 0)
		return cli_err(what, "cannot read input '%s': %s", local,
			   strerror(errno)),
		       -errno;
	if (S_ISDIR(s.st_mode)) {
		/* the extra rules first: .jobcellignore's come later and win */
		if (extra && extra->n > 0) {
			ig.rules = reallocarray(NULL, extra->n,
			    sizeof(*ig.rules));
			if (!ig.rules) {
				r = -ENOMEM;
				goto out;
			}
			memcpy(ig.rules, extra->rules,
			    extra->n * sizeof(*ig.rules));
			ig.n = ig.cap = extra->n;
		}
		if ((r = ignore_load(what, local, &ig)) < 0)
			goto out;
		if ((r = pack_tree(what, local, &ig, &st, &fd)) < 0)
			goto out;
		ret->is_tar = true;
	} else if (S_ISREG(s.st_mode)) {
		fd = open(local, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			r = -errno;
			cli_err(what, "cannot read input '%s': %s", local,
			    strerror(-r));
			goto out;
		}
		ret->executable = (s.st_mode & 0111) != 0;
	} else {
		r = -EINVAL;
		cli_err(what,
		    "input '%s' is not a directory or a regular "
		    "file",
		    local);
		goto out;
	}
	if ((r = blob_sha256_fd(fd, hex, &size)) < 0) {
		cli_err(what, "cannot read input '%s': %s", local,
		    strerror(-r));
		goto out;
	}
	ret->size = (uint64_t) size;
	(void) snprintf(ret->digest, sizeof(ret->digest), "sha256:%s", hex);
	r = blob_ensure(h, what, fd, ret->size, hex, local, &uploaded);
out:
	ignore_release(&ig);
	return r;
}
