/* job_artifacts.c - a job's artifacts from the worker's side: the globs
 * from the stored spec, the job's directory DATA/artifacts/<job id>/ in
 * the store, the collection (artifacts.c) once the job's processes are
 * dead, and the verdict of "artifacts_required". Runs in a jobcell-worker
 * process (root, single-threaded). Trusts the spec (the API checked it)
 * but not the workspace (artifacts.c). The rows are written with the
 * job's result, in jobstore_finish's transaction. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_reader.h"
#include "log.h"
#include "worker.h"
#include "banned.h"

void
job_artifacts_release(struct job_artifacts *a)
{
	for (size_t i = 0; i < a->npatterns; i++)
		free(a->patterns[i]);
	free(a->patterns);
	artifact_set_release(&a->set);
	memset(a, 0, sizeof(*a));
}

int
job_artifacts_parse(const struct claimed_job *j, struct job_artifacts *ret)
{
	struct job_artifacts a = { 0 };
	struct jr_doc *doc = NULL;
	int arr, req, n, r;

	if ((r = jr_parse(j->spec, j->spec_len, JC_MAX_JSON_TOKENS, &doc)) < 0)
		return r;
	arr = jr_obj_get(doc, jr_root(doc), "artifacts");
	req = jr_obj_get(doc, jr_root(doc), "artifacts_required");
	r = 0;
	if (arr < 0)
		goto out;
	if (jr_type(doc, arr) != JR_ARRAY ||
	    (n = jr_len(doc, arr)) > WSGLOB_MAX_PATTERNS ||
	    (req >= 0 && jr_bool(doc, req, &a.required) < 0)) {
		r = -EINVAL;
		goto out;
	}
	if (!(a.patterns = calloc((size_t) n + 1, sizeof(char *)))) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		size_t len;

		if ((r = jr_str_dup(doc, jr_child(doc, arr, i), WSGLOB_MAX,
		    &a.patterns[i], &len)) < 0)
			goto out;
		a.npatterns++;
		if ((r = wsglob_check_len(a.patterns[i], len)) < 0)
			goto out;
	}
	a.asked = n > 0;
	r = a.asked;
out:
	doc = jr_free(doc);
	if (r < 0)
		job_artifacts_release(&a);
	else
		*ret = a;
	return r;
}

/* Removes the files of DATA/artifacts/<job id> (flat: "1", "2", ...) and
 * the directory. */
void
job_artifacts_discard(const struct worker_config *cfg, const char *job_id)
{
	char p[JC_PATH_MAX];
	_cleanup_close_ int dfd = -1;
	DIR *d;
	struct dirent *de;

	if (!cfg->data_dir || (size_t) snprintf(p, sizeof(p),
	    "%s/artifacts/%s", cfg->data_dir, job_id) >= sizeof(p))
		return;
	if ((dfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(dfd)) != NULL) {
		dfd = -1;	/* the DIR's now */
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				(void) unlinkat(dirfd(d), de->d_name, 0);
		(void) closedir(d);
	}
	(void) rmdir(p);
}

/* DATA/artifacts/<job id>, made empty (a leftover of a crashed run of
 * this job is removed first): an O_DIRECTORY fd, or -errno. */
static int
job_dir(const struct worker_config *cfg, const char *job_id)
{
	char p[JC_PATH_MAX];
	int fd;

	if ((size_t) snprintf(p, sizeof(p), "%s/artifacts", cfg->data_dir) >=
	    sizeof(p))
		return -ENAMETOOLONG;
	/* 0755: nginx (another user) serves the files; the job ids below
	 * are unguessable, and DATA itself is the operator's to close. */
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	if ((size_t) snprintf(p, sizeof(p), "%s/artifacts/%s", cfg->data_dir,
	    job_id) >= sizeof(p))
		return -ENAMETOOLONG;
	job_artifacts_discard(cfg, job_id);
	if (mkdir(p, 0755) < 0)
		return -errno;
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	return fd;
}

int
job_artifacts_collect(const struct worker_config *cfg, const char *job_id,
    int ws_fd, struct job_artifacts *a, char *msg, size_t size)
{
	struct artifacts_spec spec = {
		.patterns = (const char *const *) a->patterns,
		.npatterns = a->npatterns,
		.max_bytes = cfg->artifacts_max_bytes,
		.max_files = cfg->artifacts_max_files,
	};
	_cleanup_close_ int out = -1;
	int r;

	if (!cfg->data_dir || ws_fd < 0) {
		(void) snprintf(msg, size, "artifacts cannot be collected: this "
		    "worker has no disk workspace ([storage] data_dir)");
		return -ENOTSUP;
	}
	if ((out = job_dir(cfg, job_id)) < 0) {
		r = out;
		(void) snprintf(msg, size, "artifacts cannot be stored: %s",
		    strerror(-r));
		return r;
	}
	if ((r = artifacts_collect(ws_fd, out, &spec, &a->set)) < 0) {
		(void) snprintf(msg, size, "artifacts cannot be stored: %s",
		    strerror(-r));
		job_artifacts_discard(cfg, job_id);
		return r;
	}
	a->collected = true;
	return 0;
}

const char *
job_artifacts_missing(const struct job_artifacts *a)
{
	if (!a->required)
		return NULL;
	for (size_t i = 0; i < a->npatterns; i++)
		if (!a->set.matched[i])
			return a->patterns[i];
	return NULL;
}
