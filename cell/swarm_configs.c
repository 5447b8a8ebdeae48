/* swarm_configs.c - a swarm job's files, inputs and stdin as swarm
 * configs (swarm_cell.c, "Files, stdin, cwd"): jobcell-cell-unpack
 * itself, its files stream (the job's files and inputs, their blobs read
 * and compressed tars inflated here) and stdin, made before the service
 * and removed after it. Runs in a jobcell-worker process. Trusts from the
 * manager only the id of a config it made; every blob is bounded by what
 * a config holds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cell_int.h"
#include "cleanup.h"
#include "docker_int.h"
#include "jc_limits.h"
#include "json_reader.h"
#include "swarm_int.h"
#include "banned.h"

int
swarm_config_remove(struct docker *api, const char *name)
{
	char path[160];
	int r;

	(void) snprintf(path, sizeof(path), "/configs/%s", name);
	r = docker_call(api, "DELETE", path, NULL, REMOVE_TIMEOUT_MS, NULL);
	if (r < 0)
		return r;
	return r == 200 || r == 204 || r == 404 ? 0 : -EIO;
}

void
swarm_config_name(char *buf, size_t size, const char *job_id, size_t which)
{
	static const char *const suffix[SWARM_CONFIGS_MAX] = { "unpack",
		"files", "stdin" };

	(void) snprintf(buf, size, "jobcell-%s-%s", job_id, suffix[which]);
}

/* The whole of a file or fd (the unpacker, the job's stdin) into sb. */
static int
slurp(int fd, struct strbuf *sb)
{
	char buf[65536];
	ssize_t n;
	int r;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((r = strbuf_add(sb, buf, (size_t) n)) < 0)
			return r;
	}
	return 0;
}

/* A compressed tar input, decompressed by a confined child (inflate.c)
 * to at most what a config holds: blob then holds the plain tar. The
 * blob's bytes are the job's own; the limit is said in the sentence. */
static int
inflate_blob(const struct cell_spec *spec, const char *name,
    struct strbuf *blob, char *msg, size_t size)
{
	struct strbuf out;
	char why[240];
	int r;

	strbuf_init(&out, JC_SWARM_CONFIG_MAX);
	r = cell_inflate(blob->buf, blob->len, spec->host_uid, spec->host_gid,
	    SWARM_INFLATE_MS, &out, why, sizeof(why));
	if (r < 0) {
		docker_setmsg(msg, size,
		    r == -E2BIG ? "%s: a %s tar archive that %s, the most a "
				  "swarm job carries" :
				  "%s: a %s tar archive that %s",
		    name, swarm_compression(blob->buf, blob->len), why);
		strbuf_release(&out);
		return r;
	}
	strbuf_release(blob);
	*blob = out; /* ownership moves */
	return 0;
}

/* The files stream: the job's files and inputs (their blobs read here,
 * each bounded by what a config holds), for the unpacker. */
static int
files_stream(const struct cell_spec *spec, struct strbuf *sb, char *msg,
    size_t size)
{
	struct strbuf blob[JC_MAX_INPUTS];
	/* Zeroed: gcc cannot see that only the first n are read. */
	struct swarm_blob b[JC_MAX_INPUTS] = { 0 };
	size_t n = 0;
	int r = 0;

	if (spec->ninputs > JC_MAX_INPUTS)
		return -E2BIG;
	for (; n < spec->ninputs; n++) {
		const struct cell_input *in = &spec->inputs[n];

		strbuf_init(&blob[n], JC_SWARM_CONFIG_MAX);
		if ((r = slurp(in->fd, &blob[n])) < 0) {
			docker_setmsg(msg, size,
			    "%s: cannot read its blob or it is over %d bytes, "
			    "the most a swarm job carries: %s",
			    in->name, JC_SWARM_CONFIG_MAX, strerror(-r));
			n++;
			break;
		}
		if (in->tar && swarm_compression(blob[n].buf, blob[n].len) &&
		    (r = inflate_blob(spec, in->name, &blob[n], msg, size)) <
			0) {
			n++;
			break;
		}
		b[n] = (struct swarm_blob){ .name = in->name,
			.path = in->path,
			.tar = in->tar,
			.executable = in->executable,
			.data = blob[n].buf,
			.len = blob[n].len };
	}
	if (r == 0 &&
	    (r = swarm_files_stream(spec, b, n, sb, msg, size)) == -E2BIG)
		docker_setmsg(msg, size,
		    "the job's files and inputs are over %d bytes, the most "
		    "a swarm job carries",
		    JC_SWARM_CONFIG_MAX);
	for (size_t i = 0; i < n; i++)
		strbuf_release(&blob[i]);
	return r;
}

/* One config of the job: POST /configs/create; its id and name into cfg. */
static int
create_config(struct swarm_configs *cfg, struct docker *api, const char *job_id,
    size_t which, const struct strbuf *data, char *msg, size_t size)
{
	_cleanup_strbuf_ struct strbuf body, reply;
	struct jr_doc *doc = NULL;
	char *id = cfg->id[cfg->n], *name = cfg->name[cfg->n];
	int r, tok;

	strbuf_init(&body, 2 * JC_SWARM_CONFIG_MAX);
	strbuf_init(&reply, 64 * 1024);
	swarm_config_name(name, sizeof(cfg->name[0]), job_id, which);
	if ((r = swarm_config_body(name, job_id, (long) getpid(), data->buf,
		 data->len, &body)) < 0) {
		docker_setmsg(msg, size, "cannot build the config %s: %s", name,
		    strerror(-r));
		return r;
	}
	r = docker_call(api, "POST", "/configs/create", &body, STEP_TIMEOUT_MS,
	    &reply);
	if (r != 201 && r != 200) {
		docker_setmsg(msg, size,
		    "the swarm refused the job's config %s: %s", name,
		    r < 0	    ? docker_daemon_failure(r) :
			api->err[0] ? api->err :
				      "no reason");
		return r < 0 ? r : -EIO;
	}
	r = -EPROTO;
	if (jr_parse(reply.buf, reply.len, 64, &doc) == 0 &&
	    jr_type(doc, jr_root(doc)) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, jr_root(doc), "ID")) >= 0 &&
	    jr_str(doc, tok, id, SWARM_ID_MAX + 1, NULL) >= 0 &&
	    swarm_id_ok(id))
		r = 0;
	doc = jr_free(doc);
	if (r < 0) {
		docker_setmsg(msg, size,
		    "the swarm's answer held no config id");
		(void) swarm_config_remove(api, name);
		return r;
	}
	cfg->n++;
	return 0;
}

int
swarm_configs_create(struct swarm_configs *cfg, struct docker *api,
    const char *job_id, const struct cell_spec *spec,
    struct swarm_config_ref *refs, const char **ret_stdin_in, char *msg,
    size_t size)
{
	static const char *const target[SWARM_CONFIGS_MAX] = {
		SWARM_UNPACKER_IN, SWARM_STREAM_IN, SWARM_STDIN_IN
	};
	static const unsigned mode[SWARM_CONFIGS_MAX] = { 0555, 0444, 0444 };
	_cleanup_strbuf_ struct strbuf data;
	_cleanup_close_ int fd = -1;
	int r;

	strbuf_init(&data, JC_SWARM_CONFIG_MAX); /* before any return */
	*ret_stdin_in = NULL;
	if (spec->nfiles == 0 && spec->ninputs == 0 && !spec->cwd &&
	    spec->stdin_fd < 0)
		return 0;
	if (!cell_host.docker_unpacker ||
	    (fd = open(cell_host.docker_unpacker, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (r = slurp(fd, &data)) < 0) {
		docker_setmsg(msg, size,
		    "the job has files, stdin or a cwd and this "
		    "worker has no readable %s under %d bytes",
		    CELL_UNPACKER_NAME, JC_SWARM_CONFIG_MAX);
		return -ENOENT;
	}
	if ((r = create_config(cfg, api, job_id, 0, &data, msg, size)) < 0)
		return r;
	strbuf_reset(&data);
	if ((r = files_stream(spec, &data, msg, size)) < 0)
		return r;
	if ((r = create_config(cfg, api, job_id, 1, &data, msg, size)) < 0)
		return r;
	strbuf_reset(&data);
	if (spec->stdin_fd >= 0) {
		if ((r = slurp(spec->stdin_fd, &data)) < 0) {
			docker_setmsg(msg, size,
			    "the job's stdin cannot be read or is over %d "
			    "bytes: %s",
			    JC_SWARM_CONFIG_MAX, strerror(-r));
			return r;
		}
		/* An empty stdin is the container's own (/dev/null). */
		if (data.len > 0 &&
		    (r = create_config(cfg, api, job_id, 2, &data, msg, size)) <
			0)
			return r;
		if (data.len > 0)
			*ret_stdin_in = SWARM_STDIN_IN;
	}
	for (size_t i = 0; i < cfg->n; i++) /* unpack, files[, stdin] */
		refs[i] = (struct swarm_config_ref){ .id = cfg->id[i],
			.name = cfg->name[i],
			.target = target[i],
			.mode = mode[i] };
	return (int) cfg->n;
}
