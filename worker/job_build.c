/* job_build.c - the worker's side of an image build (issue 14): the
 * stored spec {"build":{"tag","context","dockerfile","dockerfile_text",
 * "build_args"},"network"} read back, and the context blob opened, for
 * cell_docker_build_ops (cell/docker_build.c). Runs in a jobcell-worker
 * process; trusts the spec as far as the API checked it, and checks the
 * context's name again before it is a path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_reader.h"
#include "worker.h"
#include "banned.h"

#define BUILD_TEXT_MAX (512u * 1024)

void
job_build_release(struct job_build *b)
{
	free(b->tag);
	free(b->context);
	free(b->dockerfile);
	free(b->dockerfile_text);
	free(b->build_args);
	if (b->context_fd >= 0)
		(void) close(b->context_fd);
	*b = (struct job_build){ .context_fd = -1 };
}

static bool
hex64(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && s[n] == '\0';
}

int
job_build_parse(const struct claimed_job *j, struct job_build *ret)
{
	struct jr_doc *doc = NULL;
	int root, b, t, r = 0;

	*ret = (struct job_build){ .context_fd = -1 };
	if ((r = jr_parse(j->spec, j->spec_len, JC_MAX_JSON_TOKENS, &doc)) < 0)
		return r;
	root = jr_root(doc);
	if ((b = jr_obj_get(doc, root, "build")) < 0) {
		doc = jr_free(doc);
		return 0;
	}
	if (jr_type(doc, b) != JR_OBJECT ||
	    (t = jr_obj_get(doc, b, "tag")) < 0 ||
	    jr_str_dup(doc, t, 512, &ret->tag, NULL) < 0 ||
	    (t = jr_obj_get(doc, b, "context")) < 0 ||
	    jr_str_dup(doc, t, 64, &ret->context, NULL) < 0 ||
	    !hex64(ret->context) ||
	    (t = jr_obj_get(doc, b, "dockerfile")) < 0 ||
	    jr_str_dup(doc, t, 4096, &ret->dockerfile, NULL) < 0)
		r = -EINVAL;
	if (r == 0 && (t = jr_obj_get(doc, b, "dockerfile_text")) >= 0 &&
	    jr_str_dup(doc, t, BUILD_TEXT_MAX, &ret->dockerfile_text,
		&ret->dockerfile_len) < 0)
		r = -EINVAL;
	if (r == 0 && (t = jr_obj_get(doc, b, "build_args")) >= 0 &&
	    jr_str_dup(doc, t, BUILD_TEXT_MAX, &ret->build_args, NULL) < 0)
		r = -EINVAL;
	if (r == 0 && (t = jr_obj_get(doc, root, "network")) >= 0 &&
	    jr_bool(doc, t, &ret->network) < 0)
		r = -EINVAL;
	doc = jr_free(doc);
	if (r < 0) {
		job_build_release(ret);
		return r;
	}
	return 1;
}

int
job_build_spec(const struct worker_config *cfg, const struct claimed_job *j,
    struct job_build *b, struct cell_spec *spec, char *msg, size_t size)
{
	char p[JC_PATH_MAX];

	if (!cfg->data_dir) {
		(void) snprintf(msg, size,
		    "the image could not be built: this "
		    "worker has no [storage] data_dir (the context's blob)");
		return -ENOTSUP;
	}
	if ((size_t) snprintf(p, sizeof(p), "%s/blobs/%lld/%s", cfg->data_dir,
		(long long) j->consumer_id, b->context) >= sizeof(p))
		return -ENAMETOOLONG;
	if ((b->context_fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		int r = -errno;

		(void) snprintf(msg, size,
		    "the image could not be built: the "
		    "context blob sha256:%s is gone (%s)",
		    b->context, strerror(-r));
		return r;
	}
	b->cb = (struct cell_build){ .context_fd = b->context_fd,
		.tag = b->tag,
		.dockerfile = b->dockerfile,
		.dockerfile_text = b->dockerfile_text,
		.dockerfile_len = b->dockerfile_len,
		.build_args = b->build_args };
	*spec = (struct cell_spec){ .job_id = j->id,
		.stdin_fd = -1,
		.host_uid = cfg->uid_base + (uid_t) cfg->slot,
		.host_gid = cfg->uid_base + (gid_t) cfg->slot,
		.memory_mb = (uint64_t) j->memory_mb,
		.cpus = (uint64_t) j->cpus,
		.network = b->network,
		.max_run_ms = j->timeout_ms + cfg->kill_grace_ms,
		.build = &b->cb };
	return 0;
}
