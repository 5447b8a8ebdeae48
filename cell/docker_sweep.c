/* docker_sweep.c - the docker backend's housekeeping, for the supervisor:
 * whether the daemon answers, and the sweep of containers and networks
 * that jobs left behind (their worker died before it could remove them).
 * Trusts nothing in a listing but labels that parse. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cell_int.h"
#include "cleanup.h"
#include "docker_int.h"
#include "json_reader.h"
#include "log.h"
#include "parse.h"
#include "strbuf.h"
#include "banned.h"

/* The labels of one listed container; false if they are not ours. */
static bool
sweep_labels(const struct jr_doc *doc, int obj, char *id, size_t id_size,
    char *job, size_t job_size, long *ret_worker)
{
	char worker[24];
	int64_t pid;
	int tok, labels;

	if (jr_type(doc, obj) != JR_OBJECT ||
	    (tok = jr_obj_get(doc, obj, "Id")) < 0 ||
	    jr_str(doc, tok, id, id_size, NULL) < 0 || !docker_id_ok(id) ||
	    (labels = jr_obj_get(doc, obj, "Labels")) < 0 ||
	    jr_type(doc, labels) != JR_OBJECT)
		return false;
	job[0] = '\0';
	if ((tok = jr_obj_get(doc, labels, "jobcell.job")) >= 0 &&
	    (jr_str(doc, tok, job, job_size, NULL) < 0 || !docker_job_id_ok(job)))
		job[0] = '\0';
	*ret_worker = 0;
	if ((tok = jr_obj_get(doc, labels, "jobcell.worker")) >= 0 &&
	    jr_str(doc, tok, worker, sizeof(worker), NULL) >= 0 &&
	    parse_i64(worker, 1, INT32_MAX, &pid) == 0)
		*ret_worker = (long) pid;
	return true;
}

/* One kind of labelled object: "containers" (removed forcibly) or
 * "networks" (after their containers). How many were removed, or -errno
 * if the daemon could not be asked. */
static int
sweep_kind(struct docker *api, bool networks, int timeout_ms,
    bool (*keep)(const char *job_id, long worker_pid, void *arg), void *arg)
{
	_cleanup_strbuf_ struct strbuf path, reply;
	struct jr_doc *doc = NULL;
	const char *what = networks ? "network" : "container";
	int r, n, removed = 0;

	strbuf_init(&path, 512);
	strbuf_init(&reply, DOCKER_REPLY_MAX);
	if ((r = networks ? strbuf_addstr(&path, "/networks?filters=") :
	    strbuf_addf(&path, "/containers/json?all=1&limit=%d&filters=",
	    DOCKER_SWEEP_MAX)) < 0 ||
	    (r = docker_query_escape(&path, "{\"label\":[\"jobcell.job\"]}")) < 0)
		return r;
	if ((r = docker_call(api, "GET", path.buf, NULL, timeout_ms,
	    &reply)) < 0)
		return r;
	if (r != 200)
		return -EIO;
	if ((r = jr_parse(reply.buf, reply.len, JC_MAX_JSON_TOKENS, &doc)) < 0 ||
	    jr_type(doc, jr_root(doc)) != JR_ARRAY) {
		doc = jr_free(doc);
		return -EPROTO;
	}
	n = jr_len(doc, jr_root(doc));
	for (int i = 0; i < n && i < DOCKER_SWEEP_MAX; i++) {
		char id[DOCKER_ID_LEN + 1], job[JOB_ID_MAX + 1];
		long worker;

		if (!sweep_labels(doc, jr_child(doc, jr_root(doc), i), id,
		    sizeof(id), job, sizeof(job), &worker))
			continue;
		if (job[0] && worker > 0 && keep(job, worker, arg))
			continue;
		r = networks ? docker_network_remove(api, id) :
		    docker_remove_container(api, id);
		if (r < 0) {
			log_warn("%s %.12s of job %s: cannot remove it: %s, "
			    "retrying later", what, id, job[0] ? job : "?",
			    docker_daemon_failure(r));
			continue;
		}
		log_info("%s %.12s of job %s (worker %ld): removed", what, id,
		    job[0] ? job : "?", worker);
		removed++;
	}
	doc = jr_free(doc);
	return removed;
}

static int
sweep(const char *socket_path, int timeout_ms,
    bool (*keep)(const char *job_id, long worker_pid, void *arg), void *arg)
{
	struct docker api;
	int r, k;

	if ((r = docker_init(&api, socket_path)) < 0)
		return r;
	if ((r = docker_negotiate(&api, timeout_ms)) >= 0 &&
	    (r = sweep_kind(&api, false, timeout_ms, keep, arg)) >= 0 &&
	    (k = sweep_kind(&api, true, timeout_ms, keep, arg)) >= 0)
		r += k;
	docker_release(&api);
	return r;
}

/* Lists the containers labelled jobcell.job (at most DOCKER_SWEEP_MAX) and
 * removes, forcibly, each one for which keep(job_id, worker_pid, arg) is
 * false (labels that do not parse count as false); then the same for the
 * jobs' networks. How many went, or -errno if the daemon could not be
 * asked. */
int
docker_ops_sweep(bool (*keep)(const char *job_id, long worker_pid, void *arg),
    void *arg)
{
	return sweep(cell_host.docker_socket, DOCKER_SWEEP_MS, keep, arg);
}

/* 0 if the daemon answers a ping within DOCKER_PING_MS, -errno if not (or
 * if this host runs no docker backend: -ENOTSUP). */
int
docker_ops_available(void)
{
	struct docker api;
	int r;

	if (!cell_host.docker_socket)
		return -ENOTSUP;
	if ((r = docker_init(&api, cell_host.docker_socket)) == 0) {
		r = docker_ping(&api, DOCKER_PING_MS);
		docker_release(&api);
	}
	return r;
}
