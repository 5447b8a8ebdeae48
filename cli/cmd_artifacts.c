/* cmd_artifacts.c - `jobcell artifacts ID` (the listing) and `jobcell
 * download ID [PATH...] [-o DIR]`: each file is written under DIR at its
 * relative path and nowhere else. The server's paths are not trusted:
 * each must pass wspath_check, and is created through wspath_open_parent,
 * which opens every part with O_NOFOLLOW (or openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so neither "..", an absolute path nor a symlink
 * already in DIR can take a write elsewhere. A file is downloaded to
 * NAME.part, resumed from that file's size with Range, and renamed to NAME
 * only once its sha256 matches the listing. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "parse.h"
#include "io.h"
#include "banned.h"

struct artifact {
	char path[WSPATH_MAX + 1]; /* as sent, checked with bad */
	int bad;		   /* wspath_check's verdict, or -EINVAL
					 * for a bad size or sha256 */
	int64_t size;
	char sha256[SHA256_HEX_LEN + 1];
	char expires[40];
	bool executable; /* if the server says so */
};

struct artifact_list {
	struct artifact *v;
	size_t n;
	bool truncated;
};

static void
artifact_list_release(struct artifact_list *l)
{
	free(l->v);
	*l = (struct artifact_list){ 0 };
}

/* GET /v1/jobs/{id}/artifacts into l (resp keeps the body for --json). */
static int
artifacts_fetch(struct http *h, const char *what, const char *id,
    struct http_resp *resp, struct artifact_list *l)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	char path[128];
	int r, arr, n;

	(void) snprintf(path, sizeof(path), "/v1/jobs/%s/artifacts", id);
	r = http_request(h, "GET", path, NULL, 0, CLI_ARTIFACTS_RESP_MAX, resp);
	if (r < 0)
		return http_err(what, h, r), r;
	if (resp->status != 200)
		return http_report(what, resp), -EPROTO;
	r = jr_parse(resp->body.buf, resp->body.len, CLI_ARTIFACTS_TOKENS,
	    &doc);
	if (r < 0 || jr_type(doc, jr_root(doc)) != JR_OBJECT ||
	    (arr = jr_obj_get(doc, jr_root(doc), "artifacts")) < 0 ||
	    jr_type(doc, arr) != JR_ARRAY)
		return cli_err(what,
			   "the server sent a malformed artifact "
			   "list"),
		       -EPROTO;
	l->truncated = cli_json_bool(doc, jr_root(doc), "truncated");
	n = jr_len(doc, arr);
	if (n > 0 && !(l->v = calloc((size_t) n, sizeof(*l->v))))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct artifact *a = &l->v[l->n++];
		int t = jr_child(doc, arr, i), p;

		if (jr_type(doc, t) != JR_OBJECT ||
		    (p = jr_obj_get(doc, t, "path")) < 0 ||
		    jr_str(doc, p, a->path, sizeof(a->path), NULL) < 0) {
			(void) str_copy(a->path, sizeof(a->path), "?");
			a->bad = -EINVAL;
			continue;
		}
		a->bad = wspath_check(a->path);
		cli_json_str(doc, t, "sha256", a->sha256, sizeof(a->sha256),
		    "");
		cli_json_str(doc, t, "expires_at", a->expires,
		    sizeof(a->expires), "");
		a->executable = cli_json_bool(doc, t, "executable");
		if (a->bad == 0 &&
		    (cli_json_i64(doc, t, "size", &a->size) < 0 ||
			a->size < 0 || blob_hex_check(a->sha256) < 0))
			a->bad = -EPROTO;
	}
	return 0;
}

static void
artifacts_usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell artifacts ID [--json]\n\n"
	    "Lists a job's artifacts: size in bytes, the start of the "
	    "sha256, when the\nserver deletes it, and the path. --json "
	    "prints the server's listing.\n");
}

int
cmd_artifacts(struct cli_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct artifact_list l = { 0 };
	struct http_resp resp;
	struct http h;
	const char *id;
	int c, code = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		if (c == 'h') {
			artifacts_usage(stdout);
			return EXIT_OK;
		}
		return cli_bad_option("artifacts");
	}
	if (argc - optind != 1)
		return cli_usage_err("artifacts", "want exactly one job id");
	id = argv[optind];
	if (!cli_id_valid(id))
		return cli_usage_err("artifacts", "'%s' is not a job id", id);
	if (http_open(g, "artifacts", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_ARTIFACTS_RESP_MAX);
	if (artifacts_fetch(&h, "artifacts", id, &resp, &l) < 0)
		goto out;
	if (g->json) {
		cli_print_body(&resp);
	} else {
		if (l.n > 0)
			printf("%12s  %-12s  %-24s  %s\n", "SIZE", "SHA256",
			    "EXPIRES", "PATH");
		for (size_t i = 0; i < l.n; i++) {
			const struct artifact *a = &l.v[i];

			printf("%12" PRId64 "  %-12.12s  %-24s  ", a->size,
			    a->sha256, a->expires);
			cli_put_safe(stdout, a->path);
			fputc('\n', stdout);
		}
	}
	if (l.truncated)
		fprintf(stderr,
		    "jobcell: artifacts: the list is truncated: the "
		    "job made more than the server keeps\n");
	code = EXIT_OK;
out:
	artifact_list_release(&l);
	http_resp_release(&resp);
	http_release(&h);
	return code;
}

/* The URL path of an artifact: each part percent-encoded. */
static int
artifact_url(struct http *h, const char *id, const char *path, char *buf,
    size_t size)
{
	char part[WSPATH_PART_MAX + 1];
	size_t len;
	int n;

	n = snprintf(buf, size, "/v1/jobs/%s/artifacts", id);
	if (n < 0 || (size_t) n >= size)
		return -E2BIG;
	len = (size_t) n;
	while (*path) {
		const char *slash = strchr(path, '/');
		size_t pl = slash ? (size_t) (slash - path) : strlen(path);
		char *esc;

		if (pl >= sizeof(part))
			return -E2BIG;
		memcpy(part, path, pl);
		part[pl] = '\0';
		if (!(esc = curl_easy_escape(h->curl, part, (int) pl)))
			return -ENOMEM;
		n = snprintf(buf + len, size - len, "/%s", esc);
		curl_free(esc);
		if (n < 0 || (size_t) n >= size - len)
			return -E2BIG;
		len += (size_t) n;
		path += pl + (slash ? 1 : 0);
	}
	return 0;
}

static int
pwrite_full(int fd, const char *data, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t) n;
		off += n;
	}
	return 0;
}

/* One transfer's state, for on_data. */
struct dl {
	struct http *h;
	int fd;
	uint64_t pos, size;
	EVP_MD_CTX *ctx;
	bool checked; /* the status of this reply was looked at */
	int err;
};

static int
on_data(const char *data, size_t len, void *p)
{
	struct dl *d = p;
	int r;

	if (!d->checked) {
		d->checked = true;
		if (http_status_now(d->h) != 206 && d->pos > 0) {
			/* a whole body: the server ignored our Range */
			if (ftruncate(d->fd, 0) < 0)
				return -errno;
			d->pos = 0;
			if (EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
				return -EIO;
		}
	}
	if (len > d->size - d->pos)
		return d->err = -EPROTO; /* more than the listing said */
	if ((r = pwrite_full(d->fd, data, len, (off_t) d->pos)) < 0)
		return d->err = r;
	if (EVP_DigestUpdate(d->ctx, data, len) != 1)
		return -EIO;
	d->pos += len;
	return 0;
}

/* Hashes the first n bytes of fd into ctx (fresh). */
static int
hash_prefix(int fd, uint64_t n, EVP_MD_CTX *ctx)
{
	char buf[64 * 1024];
	uint64_t off = 0;

	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -EIO;
	while (off < n) {
		size_t want = n - off < sizeof(buf) ? (size_t) (n - off) :
						      sizeof(buf);
		ssize_t k = pread(fd, buf, want, (off_t) off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		if (EVP_DigestUpdate(ctx, buf, (size_t) k) != 1)
			return -EIO;
		off += (uint64_t) k;
	}
	return 0;
}

static bool
digest_is(EVP_MD_CTX *ctx, const char *want)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[SHA256_HEX_LEN + 1];

	if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32)
		return false;
	blob_hex(md, hex);
	return strcmp(hex, want) == 0;
}

static void
say_path(const char *what, const char *verb, const char *dirname,
    const char *out)
{
	fprintf(stderr, "jobcell: %s: %s '", what, verb);
	if (strcmp(dirname, ".") != 0) {
		cli_put_safe(stderr, dirname);
		fputc('/', stderr);
	}
	cli_put_safe(stderr, out);
	fputc('\'', stderr);
}

/* Downloads artifact a to out (relative to dirfd). 0 or -errno, with the
 * error printed. */
static int
download_one(struct http *h, const char *what, const char *id, int dirfd,
    const char *dirname, const struct artifact *a, const char *out)
{
	_cleanup_close_ int pfd = -1, fd = -1;
	char url[4 * WSPATH_MAX + 128], part[WSPATH_PART_MAX + 1];
	struct http_resp resp;
	struct progress prog;
	struct stat st;
	const char *leaf;
	mode_t mode = a->executable ? 0755 : 0644;
	uint64_t size = (uint64_t) a->size, have;
	struct dl d = { .h = h, .size = size };
	int r, attempt;

	if ((r = artifact_url(h, id, a->path, url, sizeof(url))) < 0)
		return cli_err(what, "artifact path too long"), r;
	pfd = wspath_open_parent(dirfd, out, WSPATH_MKDIR, &leaf);
	if (pfd < 0) {
		say_path(what, "refusing to write", dirname, out);
		fprintf(stderr, ": %s\n",
		    pfd == -ELOOP || pfd == -ENOTDIR ?
			"a symlink or a file is in the way" :
			strerror(-pfd));
		return pfd;
	}
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			say_path(what, "cannot write", dirname, out);
			fprintf(stderr, ": a directory is in the way\n");
			return -EISDIR;
		}
		if (S_ISREG(st.st_mode)) {
			char hex[SHA256_HEX_LEN + 1];
			int64_t n;

			mode = st.st_mode & 07777; /* keep the user's */
			fd = openat(pfd, leaf,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
				O_NONBLOCK);
			if (fd >= 0 && (uint64_t) st.st_size == size &&
			    blob_sha256_fd(fd, hex, &n) == 0 &&
			    (uint64_t) n == size &&
			    strcmp(hex, a->sha256) == 0) {
				say_path(what, "up to date:", dirname, out);
				fputc('\n', stderr);
				return 0;
			}
			if (fd >= 0)
				(void) close(fd);
			fd = -1;
		}
	}
	if ((r = download_part_name(leaf, a->sha256, part, sizeof(part))) < 0)
		return cli_err(what, "artifact name too long"), r;
	fd = openat(pfd, part,
	    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    0600);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = fd < 0 ? -errno : -EINVAL;
		say_path(what, "cannot write", dirname, out);
		fprintf(stderr, ".part: %s\n",
		    r == -ELOOP	     ? "a symlink is in the way" :
			r == -EINVAL ? "not a regular file" :
				       strerror(-r));
		return r;
	}
	if (!(d.ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	d.fd = fd;
	http_resp_init(&resp, CLI_RESP_MAX);
	have = (uint64_t) st.st_size;
	for (attempt = 0; attempt < 2; attempt++) {
		if (have > size || attempt > 0) {
			if (ftruncate(fd, 0) < 0) {
				r = -errno;
				break;
			}
			have = 0;
		}
		if ((r = hash_prefix(fd, have, d.ctx)) < 0)
			break;
		d.pos = have;
		d.checked = false;
		d.err = 0;
		if (have < size) {
			progress_init(&prog, out, size);
			r = http_get_range(h, url, have, on_data, &d, &prog,
			    &resp);
			progress_end(&prog,
			    r == 0 && resp.status / 100 == 2 && d.pos == size);
			if (r < 0) {
				if (r == -EPROTO)
					cli_err(what,
					    "the server sent more "
					    "than the %" PRIu64 " bytes listed",
					    size);
				else
					http_err(what, h, r);
				break;
			}
			if (resp.status == 416 && attempt == 0)
				continue; /* our .part is stale */
			if (resp.status != 200 && resp.status != 206) {
				r = -EPROTO;
				http_report(what, &resp);
				break;
			}
			if (d.pos != size) {
				r = -EIO;
				say_path(what, "incomplete download of",
				    dirname, out);
				fprintf(stderr,
				    " (%" PRIu64 " of %" PRIu64
				    " bytes; run again to resume)\n",
				    d.pos, size);
				break;
			}
		}
		if (digest_is(d.ctx, a->sha256)) {
			r = 0;
			break;
		}
		r = -EBADMSG;
		if (have == 0 || attempt > 0)
			break;
		/* a resumed file may have started from stale bytes: once
		 * more from the start */
	}
	EVP_MD_CTX_free(d.ctx);
	http_resp_release(&resp);
	if (r == -EBADMSG) {
		(void) unlinkat(pfd, part, 0); /* never left as complete */
		say_path(what, "sha256 mismatch for", dirname, out);
		fprintf(stderr,
		    ": the bytes received are not the artifact "
		    "listed\n");
		return r;
	}
	if (r < 0)
		return r;
	if (fchmod(fd, mode) < 0 || renameat(pfd, part, pfd, leaf) < 0) {
		r = -errno;
		say_path(what, "cannot write", dirname, out);
		fprintf(stderr, ": %s\n", strerror(-r));
		return r;
	}
	return 0;
}

int
artifacts_download(struct http *h, const char *what, const char *id, int dirfd,
    const char *dirname, char **names, size_t n_names, const char *strip)
{
	struct artifact_list l = { 0 };
	struct http_resp resp;
	size_t strip_len = strip ? strlen(strip) : 0;
	int code = EXIT_OK;

	http_resp_init(&resp, CLI_ARTIFACTS_RESP_MAX);
	if (artifacts_fetch(h, what, id, &resp, &l) < 0) {
		code = EXIT_FAIL;
		goto out;
	}
	http_resp_release(&resp);
	for (size_t i = 0; i < n_names; i++) {
		bool found = false;

		for (size_t j = 0; j < l.n && !found; j++)
			found = strcmp(l.v[j].path, names[i]) == 0;
		if (!found) {
			fprintf(stderr,
			    "jobcell: %s: job %s has no artifact "
			    "'",
			    what, id);
			cli_put_safe(stderr, names[i]);
			fputs("'\n", stderr);
			code = EXIT_FAIL;
		}
	}
	for (size_t j = 0; j < l.n; j++) {
		const struct artifact *a = &l.v[j];
		bool wanted = n_names == 0;

		for (size_t i = 0; i < n_names && !wanted; i++)
			wanted = strcmp(a->path, names[i]) == 0;
		if (!wanted)
			continue;
		if (a->bad < 0) {
			fprintf(stderr,
			    "jobcell: %s: refusing the artifact "
			    "'",
			    what);
			cli_put_safe(stderr, a->path);
			fprintf(stderr, "': %s\n",
			    a->bad == -EPROTO ?
				"bad size or sha256 in the listing" :
				"not a relative path inside the directory");
			code = EXIT_FAIL;
			continue;
		}
		if (strip_len &&
		    (strncmp(a->path, strip, strip_len) != 0 ||
			!a->path[strip_len]))
			continue;
		if (download_one(h, what, id, dirfd, dirname, a,
			a->path + strip_len) < 0) {
			code = EXIT_FAIL;
			if (cli_interrupted())
				break;
		}
	}
	if (l.truncated)
		fprintf(stderr,
		    "jobcell: %s: the artifact list is truncated: "
		    "the job made more than the server keeps\n",
		    what);
out:
	http_resp_release(&resp);
	artifact_list_release(&l);
	return code;
}

/* mkdir -p of the user's own -o DIR (which may hold symlinks: it is
 * theirs; only what lies below it is guarded). */
static int
mkdir_parents(const char *dir)
{
	char p[JC_PATH_MAX];

	if (str_copy(p, sizeof(p), dir) < 0)
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void
download_usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell download ID [PATH...] [-o DIR]\n\n"
	    "Downloads a job's artifacts (all, or the PATHs named) into DIR "
	    "(default: the\ncurrent directory), each at its relative path. "
	    "Every file's sha256 is checked;\nan interrupted download is "
	    "kept as PATH.part and resumed by the next run.\nNothing is "
	    "written outside DIR or through a symlink in it.\n"
	    "  -o, --output DIR    where to write (created if missing)\n"
	    "  --profile P         use profile P\n"
	    "  --help              this help\n");
}

int
cmd_download(struct cli_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_close_ int dirfd = -1;
	const char *dir = ".", *id;
	struct http h;
	int c, code, r;

	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			download_usage(stdout);
			return EXIT_OK;
		case 'o':
			dir = optarg;
			break;
		default:
			return cli_bad_option("download");
		}
	}
	if (optind >= argc)
		return cli_usage_err("download", "want a job id");
	id = argv[optind++];
	if (!cli_id_valid(id))
		return cli_usage_err("download", "'%s' is not a job id", id);
	for (int i = optind; i < argc; i++)
		if (!wspath_valid(argv[i]))
			return cli_usage_err("download",
			    "refusing '%s': not a "
			    "relative path inside the output directory",
			    argv[i]);
	if (!*dir)
		return cli_usage_err("download", "-o wants a directory");
	if ((r = mkdir_parents(dir)) < 0)
		return cli_err("download", "cannot create '%s': %s", dir,
		    strerror(-r));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cli_err("download", "cannot open '%s': %s", dir,
		    strerror(errno));
	if (cli_interrupt_catch() < 0)
		return cli_err("download", "cannot catch Ctrl-C");
	if (http_open(g, "download", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	code = artifacts_download(&h, "download", id, dirfd, dir, argv + optind,
	    (size_t) (argc - optind), NULL);
	if (cli_interrupted()) {
		fprintf(stderr,
		    "jobcell: download: interrupted; run it again "
		    "to resume\n");
		code = EXIT_INTERRUPTED;
	}
	http_release(&h);
	return code;
}
