/* docker_build.c - image builds (issue 14, DESIGN section 4 "Images") as a
 * cell backend, so a build is a job like any other: its output is the
 * job's logs, its wall time, cancel and drain are job_run's. Runs in a
 * jobcell-worker process; the build itself in a forked helper. Trusts
 * nothing the daemon sends: lines are capped, only known fields read.
 *
 * How it works: start() forks a helper (PDEATHSIG: the worker's death ends
 * it). The helper renames the bases in the Dockerfile if asked (the
 * context copied through libarchive into a memfd, that one member
 * replaced; a zstd context is copied so too: the daemon cannot read
 * one), then POSTs /build?t=TAG&networkmode=none&memory=...&rm=1&
 * forcerm=1 with the context as the body (the legacy builder: its answer
 * is a stream of JSON lines). Each {"stream":…} goes to the stdout pipe,
 * each {"error":…} to the stderr pipe, {"aux":{"ID":…}} is kept; at the
 * end it inspects the tag for the id and size and writes one report on
 * a pipe, then exits. signal() kills the helper: the daemon sees the
 * connection close and cancels the build, removing its containers
 * (forcerm); no tag is made. exit_fd is the helper's pidfd. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive_dl.h"
#include "cell_int.h"
#include "cleanup.h"
#include "docker_api.h"
#include "dockerfile.h"
#include "io.h"
#include "json_reader.h"
#include "parse.h"
#include "banned.h"

/* libarchive's functions: loaded by the entry point below, before it
 * forks the confined child that reads (archive_dl.h). */
static const struct archive_dl *la;

#define BUILD_LINE_MAX (256u * 1024) /* one JSON line of the builder */
#define BUILD_PING_MS 5000
#define BUILD_INSPECT_MS 10000
#define BUILD_QUERY_MAX 8192
#define COPY_BLOCK (64u * 1024)

enum { REPORT_BUILT = 1, REPORT_FAILED = 2, REPORT_LOST = 3 };

/* The helper's one report (< PIPE_BUF: written at once). */
struct build_report {
	int32_t kind;
	char msg[240];
	char image_id[80];
	int64_t size;
};

struct build_cell {
	pid_t pid;
	int pidfd;
	int report_fd;
	struct build_report rep;
	bool have_report;
};

/* ---- the helper ---- */

struct build_stream {
	int out_fd, err_fd;
	struct strbuf line;
	char error[240]; /* the builder's last error */
	char image_id[80];
};

static void
put(int fd, const char *s, size_t len)
{
	(void) write_full(fd, s, len); /* a closed pipe: the job is over */
}

static void
take_line(struct build_stream *b, const char *s, size_t len)
{
	struct jr_doc *doc = NULL;
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	int root, tok, aux;

	if (len == 0)
		return;
	if (jr_parse(s, len, 256, &doc) < 0 ||
	    jr_type(doc, (root = jr_root(doc))) != JR_OBJECT) {
		put(b->out_fd, s, len); /* not ours to judge: shown as is */
		put(b->out_fd, "\n", 1);
		doc = jr_free(doc);
		return;
	}
	if ((tok = jr_obj_get(doc, root, "stream")) >= 0 &&
	    jr_str_dup(doc, tok, BUILD_LINE_MAX, &text, &n) == 0)
		put(b->out_fd, text, n);
	else if ((tok = jr_obj_get(doc, root, "status")) >= 0 &&
	    jr_str_dup(doc, tok, BUILD_LINE_MAX, &text, &n) == 0) {
		put(b->out_fd, text, n);
		put(b->out_fd, "\n", 1);
	} else if ((tok = jr_obj_get(doc, root, "error")) >= 0 &&
	    jr_str_dup(doc, tok, BUILD_LINE_MAX, &text, &n) == 0) {
		put(b->err_fd, text, n);
		put(b->err_fd, "\n", 1);
		(void) str_copy(b->error, sizeof(b->error), text);
	}
	if ((aux = jr_obj_get(doc, root, "aux")) >= 0 &&
	    jr_type(doc, aux) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, aux, "ID")) >= 0)
		(void) jr_str(doc, tok, b->image_id, sizeof(b->image_id), NULL);
	doc = jr_free(doc);
}

/* docker_post_stream's fn: the answer, split into lines. */
static int
on_data(const char *data, size_t len, void *arg)
{
	struct build_stream *b = arg;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			take_line(b, b->line.buf, b->line.len);
			strbuf_reset(&b->line);
		} else if (data[i] != '\r' &&
		    strbuf_addch(&b->line, data[i]) < 0) {
			/* A line past its cap: shown as it is, cut. */
			put(b->out_fd, b->line.buf, b->line.len);
			strbuf_reset(&b->line);
		}
	}
	return 0;
}

/* The context with the Dockerfile member replaced, as a plain tar written
 * to fd. In the confined child of rewrite_context. 0 or -errno with msg. */
static int
rewrite_into(const struct cell_build *b, int fd, char *msg, size_t size)
{
	struct archive *in = la->read_new(), *out = la->write_new();
	struct archive_entry *e;
	_cleanup_free_ char *buf = malloc(COPY_BLOCK);
	int r = 0, ar;

	if (!in || !out || !buf) {
		r = -ENOMEM;
		goto done;
	}
	/* The built-in decoders only: filter_all also runs outside programs
	 * (lrzip, lzop, grzip). */
	if (la->read_support_filter_gzip(in) != ARCHIVE_OK ||
	    la->read_support_filter_xz(in) != ARCHIVE_OK ||
	    la->read_support_filter_zstd(in) != ARCHIVE_OK ||
	    la->read_support_filter_bzip2(in) != ARCHIVE_OK ||
	    la->read_support_format_tar(in) != ARCHIVE_OK ||
	    la->read_open_fd(in, b->context_fd, COPY_BLOCK) != ARCHIVE_OK ||
	    la->write_set_format_pax_restricted(out) != ARCHIVE_OK ||
	    la->write_open_fd(out, fd) != ARCHIVE_OK) {
		r = -EIO;
		goto done;
	}
	while ((ar = la->read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *p = la->entry_pathname(e);
		bool ours = p && b->dockerfile_text &&
		    la->entry_filetype(e) == AE_IFREG &&
		    strcmp(dockerfile_member_name(p), b->dockerfile) == 0;

		if (ours)
			la->entry_set_size(e, (la_int64_t) b->dockerfile_len);
		if (la->write_header(out, e) != ARCHIVE_OK) {
			r = -EIO;
			goto done;
		}
		if (ours) {
			if (la->write_data(out, b->dockerfile_text,
				b->dockerfile_len) < 0) {
				r = -EIO;
				goto done;
			}
			continue;
		}
		for (;;) {
			la_ssize_t n = la->read_data(in, buf, COPY_BLOCK);

			if (n == 0)
				break;
			if (n < 0 ||
			    la->write_data(out, buf, (size_t) n) != n) {
				r = -EIO;
				goto done;
			}
		}
	}
	if (ar != ARCHIVE_EOF || la->write_close(out) != ARCHIVE_OK)
		r = -EIO;
done:
	if (r < 0)
		(void) snprintf(msg, size,
		    "cannot prepare the build context: %s",
		    in && la->error_string(in) ? la->error_string(in) :
						 strerror(-r));
	if (in)
		la->read_free(in);
	if (out)
		la->write_free(out);
	return r;
}

struct rewrite_report {
	int32_t err;   /* positive errno, 0: done */
	char msg[240]; /* the reason, for the job's error */
};

/* Its heap and mappings (the worker's inherited ones included): room for
 * zstd's default window, as the workspace unpacker has. */
#define REWRITE_DATA_MAX (256ull << 20)

/* The context with the Dockerfile member replaced, as a plain tar in a
 * memfd at offset 0: *ret_fd. libarchive reads the consumer's bytes in a
 * forked child confined as the workspace unpacker is (cell_confine: an
 * empty root, the slot's ids, no capabilities), never in this root
 * process; the child inherits only the context, the memfd and its report
 * pipe. 0 or -errno with msg. */
static int
rewrite_context(const struct cell_build *b, uid_t uid, gid_t gid, int *ret_fd,
    char *msg, size_t size)
{
	_cleanup_close_ int fd = memfd_create("context", MFD_CLOEXEC);
	_cleanup_close_ int rep_r = -1, rep_w = -1;
	struct rewrite_report rep = { 0 };
	struct stat st;
	int fds[2], status;
	const char *why;
	ssize_t n;
	pid_t pid;

	if (!la && !(la = archive_dl_load(&why))) {
		(void) snprintf(msg, size,
		    "cannot prepare the build context: %s", why);
		return -ELIBACC;
	}
	if (fd < 0 || fstat(b->context_fd, &st) < 0 ||
	    pipe2(fds, O_CLOEXEC) < 0) {
		(void) snprintf(msg, size,
		    "cannot prepare the build context: %s", strerror(errno));
		return -errno;
	}
	rep_r = fds[0];
	rep_w = fds[1];
	if ((pid = fork()) < 0) {
		(void) snprintf(msg, size,
		    "cannot prepare the build context: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int keep[3] = { b->context_fd, fd, rep_w };
		const char *step = "cannot close the worker's fds";
		/* The rewritten tar: the context's size, its headers again,
		 * and the new Dockerfile. */
		uint64_t fsize = (uint64_t) st.st_size * 2 + (64ull << 20);
		int r;

		(void) prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L,
		    0L);
		if ((r = cell_close_fds_except(keep, 3)) < 0 ||
		    (r = cell_confine(-1, uid, gid, fsize, REWRITE_DATA_MAX,
			 &step)) < 0) {
			(void) snprintf(rep.msg, sizeof(rep.msg),
			    "cannot prepare the build context: %s: %s", step,
			    strerror(-r));
		} else
			r = rewrite_into(b, fd, rep.msg, sizeof(rep.msg));
		rep.err = r < 0 ? -r : 0;
		(void) write_full(rep_w, &rep, sizeof(rep));
		_exit(r < 0 ? 1 : 0);
	}
	close_fd(&rep_w);
	n = read_full(rep_r, &rep, sizeof(rep));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (n != (ssize_t) sizeof(rep) || !WIFEXITED(status) ||
	    (rep.err == 0 && WEXITSTATUS(status) != 0)) {
		(void) snprintf(msg, size,
		    "cannot prepare the build context: its reader ended "
		    "without a report (status 0x%x)",
		    (unsigned) status);
		return -EIO;
	}
	if (rep.err != 0) {
		(void) str_copy(msg, size, rep.msg);
		return -rep.err;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	*ret_fd = steal_fd(&fd);
	return 0;
}

static bool
is_zstd(int fd)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	unsigned char m[4];

	return pread(fd, m, sizeof(m), 0) == (ssize_t) sizeof(m) &&
	    memcmp(m, magic, sizeof(m)) == 0;
}

static int
build_query(const struct cell_spec *s, struct strbuf *q)
{
	const struct cell_build *b = s->build;
	int r;

	if ((r = strbuf_addstr(q, "/build?t=")) < 0 ||
	    (r = docker_query_escape(q, b->tag)) < 0 ||
	    (r = strbuf_addstr(q, "&dockerfile=")) < 0 ||
	    (r = docker_query_escape(q, b->dockerfile)) < 0 ||
	    (r = strbuf_addf(q, "&networkmode=%s&rm=1&forcerm=1&pull=0",
		 s->network ? "default" : "none")) < 0)
		return r;
	if (s->memory_mb > 0 &&
	    (r = strbuf_addf(q, "&memory=%llu&memswap=%llu",
		 (unsigned long long) s->memory_mb * 1048576,
		 (unsigned long long) s->memory_mb * 1048576)) < 0)
		return r;
	if (s->cpus > 0 &&
	    (r = strbuf_addf(q, "&cpuperiod=100000&cpuquota=%llu",
		 (unsigned long long) s->cpus * 100000)) < 0)
		return r;
	if (b->build_args &&
	    ((r = strbuf_addstr(q, "&buildargs=")) < 0 ||
		(r = docker_query_escape(q, b->build_args)) < 0))
		return r;
	return 0;
}

/* GET /images/TAG/json: the id and size of what the build tagged. */
static int
inspect(struct docker *d, const char *tag, struct build_report *rep)
{
	_cleanup_strbuf_ struct strbuf path, reply;
	struct jr_doc *doc = NULL;
	int r, tok;

	strbuf_init(&path, BUILD_QUERY_MAX);
	strbuf_init(&reply, DOCKER_REPLY_MAX);
	if ((r = strbuf_addstr(&path, "/images/")) < 0 ||
	    (r = strbuf_addstr(&path, tag)) < 0 ||
	    (r = strbuf_addstr(&path, "/json")) < 0)
		return r;
	if ((r = docker_call(d, "GET", path.buf, NULL, BUILD_INSPECT_MS,
		 &reply)) != 200)
		return r < 0 ? r : -ENOENT;
	if ((r = jr_parse(reply.buf, reply.len, 65536, &doc)) < 0)
		return r;
	if ((tok = jr_obj_get(doc, jr_root(doc), "Id")) >= 0)
		(void) jr_str(doc, tok, rep->image_id, sizeof(rep->image_id),
		    NULL);
	if ((tok = jr_obj_get(doc, jr_root(doc), "Size")) >= 0)
		(void) jr_i64(doc, tok, &rep->size);
	doc = jr_free(doc);
	return 0;
}

static void
helper_report(int fd, const struct build_report *rep)
{
	(void) write_full(fd, rep, sizeof(*rep));
}

__attribute__((noreturn)) static void
helper_main(const struct cell_spec *s, int out_w, int err_w, int rep_w)
{
	struct build_report rep = { .kind = REPORT_LOST };
	struct build_stream b = { .out_fd = out_w, .err_fd = err_w };
	_cleanup_strbuf_ struct strbuf q;
	struct docker d;
	int ctx = s->build->context_fd, r;

	strbuf_init(&b.line, BUILD_LINE_MAX);
	strbuf_init(&q, BUILD_QUERY_MAX);
	/* The daemon reads plain, gzip, bzip2 and xz contexts; a zstd one
	 * (the CLI's packs) or a renamed base goes through libarchive. */
	if ((s->build->dockerfile_text || is_zstd(ctx)) &&
	    (r = rewrite_context(s->build, s->host_uid, s->host_gid, &ctx,
		 rep.msg, sizeof(rep.msg))) < 0) {
		rep.kind = REPORT_FAILED;
		helper_report(rep_w, &rep);
		_exit(1);
	}
	if ((r = docker_init(&d, cell_host.docker_socket)) < 0 ||
	    (r = docker_negotiate(&d, BUILD_PING_MS)) < 0 ||
	    (r = build_query(s, &q)) < 0) {
		(void) snprintf(rep.msg, sizeof(rep.msg),
		    "the docker daemon at %s cannot build: %s",
		    cell_host.docker_socket, strerror(-r));
		helper_report(rep_w, &rep);
		_exit(1);
	}
	/* The job's wall time bounds the build (job_run kills us first). */
	r = docker_post_stream(&d, q.buf, ctx,
	    "Content-Type: application/x-tar",
	    s->max_run_ms > 0 && s->max_run_ms < INT32_MAX ?
		(int) s->max_run_ms :
		INT32_MAX,
	    on_data, &b);
	if (b.line.len > 0)
		take_line(&b, b.line.buf, b.line.len);
	if (r < 0) {
		(void) snprintf(rep.msg, sizeof(rep.msg),
		    "the build was lost: the docker daemon failed: %s",
		    strerror(-r));
	} else if (r != 200) {
		rep.kind = REPORT_FAILED;
		(void) str_copy(rep.msg, sizeof(rep.msg),
		    d.err[0] ? d.err : "the docker daemon refused the build");
		put(err_w, rep.msg, strlen(rep.msg));
		put(err_w, "\n", 1);
	} else if (b.error[0]) {
		rep.kind = REPORT_FAILED;
		(void) str_copy(rep.msg, sizeof(rep.msg), b.error);
	} else if ((r = inspect(&d, s->build->tag, &rep)) < 0) {
		rep.kind = REPORT_FAILED;
		(void) snprintf(rep.msg, sizeof(rep.msg),
		    "the build made no image %s (%s)", s->build->tag,
		    strerror(-r));
	} else
		rep.kind = REPORT_BUILT;
	helper_report(rep_w, &rep);
	_exit(rep.kind == REPORT_BUILT ? 0 : 1);
}

/* ---- the worker's side ---- */

static int
bd_start(const struct cell_spec *spec, struct cell *ret, char *msg, size_t size)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
	struct build_cell *bc = NULL;
	pid_t parent = getpid();
	int r;

	if (!spec->build || !cell_host.docker_socket) {
		(void) snprintf(msg, size,
		    "the image could not be built: this "
		    "worker has no docker daemon");
		return -ENOTSUP;
	}
	if (!(bc = calloc(1, sizeof(*bc)))) {
		(void) snprintf(msg, size, "the image could not be built: %s",
		    strerror(ENOMEM));
		return -ENOMEM;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	if ((bc->pid = fork()) < 0) {
		r = -errno;
		goto fail;
	}
	if (bc->pid == 0) {
		/* Ends with the worker; a TERM or KILL from signal() ends
		 * the build (the default actions). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		(void) signal(SIGTERM, SIG_DFL);
		(void) signal(SIGPIPE, SIG_IGN);
		(void) close(out[0]);
		(void) close(err[0]);
		(void) close(rep[0]);
		helper_main(spec, out[1], err[1], rep[1]);
	}
	(void) close(out[1]);
	(void) close(err[1]);
	(void) close(rep[1]);
	bc->report_fd = rep[0];
	bc->pidfd = (int) syscall(SYS_pidfd_open, bc->pid, 0);
	if (fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(err[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(rep[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		(void) kill(bc->pid, SIGKILL);
		(void) waitpid(bc->pid, NULL, 0);
		(void) close(out[0]);
		(void) close(err[0]);
		(void) close(rep[0]);
		if (bc->pidfd >= 0)
			(void) close(bc->pidfd);
		free(bc);
		(void) snprintf(msg, size, "the image could not be built: %s",
		    strerror(-r));
		return r;
	}
	*ret = (struct cell){ .ops = &cell_docker_build_ops,
		.stdout_fd = out[0],
		.stderr_fd = err[0],
		.exit_fd = bc->pidfd,
		.compile_out_fd = -1,
		.compile_err_fd = -1,
		.priv = bc };
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			(void) close(out[i]);
		if (err[i] >= 0)
			(void) close(err[i]);
		if (rep[i] >= 0)
			(void) close(rep[i]);
	}
	free(bc);
	(void) snprintf(msg, size, "the image could not be built: %s",
	    strerror(-r));
	return r;
}

static int
bd_signal(struct cell *c, int sig)
{
	struct build_cell *bc = c->priv;

	if (bc->pid <= 0)
		return -ESRCH;
	return kill(bc->pid, sig) < 0 ? -errno : 0;
}

static int
bd_try_wait(struct cell *c, struct cell_result *ret)
{
	struct build_cell *bc = c->priv;
	int status = 0;
	pid_t p;

	if (bc->pid <= 0)
		return -ECHILD;
	if ((p = waitpid(bc->pid, &status, WNOHANG)) == 0)
		return 0;
	if (p < 0)
		return -errno;
	bc->pid = -1;
	if (read(bc->report_fd, &bc->rep, sizeof(bc->rep)) ==
	    (ssize_t) sizeof(bc->rep))
		bc->have_report = true;
	*ret = (struct cell_result){ .outcome = CELL_EXITED };
	bc->rep.msg[sizeof(bc->rep.msg) - 1] = '\0';
	bc->rep.image_id[sizeof(bc->rep.image_id) - 1] = '\0';
	if (!bc->have_report) {
		if (WIFSIGNALED(status)) {
			ret->outcome = CELL_SIGNALED;
			ret->signal = WTERMSIG(status);
		} else
			ret->exit_code = WIFEXITED(status) ?
			    WEXITSTATUS(status) :
			    1;
		return 1;
	}
	switch (bc->rep.kind) {
	case REPORT_BUILT:
		(void) str_copy(ret->image_id, sizeof(ret->image_id),
		    bc->rep.image_id);
		ret->image_size = bc->rep.size;
		break;
	case REPORT_FAILED:
		ret->exit_code = 1;
		(void) str_copy(ret->error, sizeof(ret->error), bc->rep.msg);
		break;
	default:
		ret->outcome = CELL_LOST;
		(void) str_copy(ret->error, sizeof(ret->error), bc->rep.msg);
		break;
	}
	return 1;
}

static void
bd_collect(struct cell *c, struct cell_result *res, struct cell_usage *ret)
{
	(void) c;
	(void) res;
	*ret = (struct cell_usage){ .has_usage = false };
}

static void
bd_release(struct cell *c)
{
	struct build_cell *bc = c->priv;

	if (!bc)
		return;
	if (bc->pid > 0) {
		(void) kill(bc->pid, SIGKILL);
		(void) waitpid(bc->pid, NULL, 0);
	}
	if (c->stdout_fd >= 0)
		(void) close(c->stdout_fd);
	if (c->stderr_fd >= 0)
		(void) close(c->stderr_fd);
	(void) close(bc->report_fd);
	if (bc->pidfd >= 0)
		(void) close(bc->pidfd);
	c->stdout_fd = c->stderr_fd = c->exit_fd = -1;
	free(bc);
	c->priv = NULL;
}

/* One call about image ref on the daemon at socket_path: METHOD
 * /images/REF{suffix}. The HTTP status, or -errno. */
static int
image_call(const char *socket_path, const char *method, const char *ref,
    const char *suffix)
{
	_cleanup_strbuf_ struct strbuf path;
	struct docker d;
	int r;

	strbuf_init(&path, BUILD_QUERY_MAX);
	if (!image_ref_ok(ref) || strstr(ref, ".."))
		return -EINVAL;
	if ((r = docker_init(&d, socket_path)) < 0)
		return r;
	if ((r = docker_negotiate(&d, BUILD_PING_MS)) >= 0 &&
	    (r = strbuf_addf(&path, "/images/%s%s", ref, suffix)) >= 0)
		r = docker_call(&d, method, path.buf, NULL, BUILD_INSPECT_MS,
		    NULL);
	docker_release(&d);
	return r;
}

int
cell_docker_image_remove(const char *socket_path, const char *ref)
{
	int r = image_call(socket_path, "DELETE", ref, "");

	if (r == 200 || r == 404)
		return 0;
	return r == 409 ? -EBUSY : r < 0 ? r : -EIO;
}

int
cell_docker_image_exists(const char *socket_path, const char *ref)
{
	int r = image_call(socket_path, "GET", ref, "/json");

	if (r == 200)
		return 1;
	return r == 404 ? 0 : r < 0 ? r : -EIO;
}

const struct cell_ops cell_docker_build_ops = {
	.name = "docker",
	.flags = 0,
	.start = bd_start,
	.signal = bd_signal,
	.try_wait = bd_try_wait,
	.collect = bd_collect,
	.release = bd_release,
};
