/* jc_config.h - the one jobcell config file (INI: [api], [worker], [limits],
 * [storage], [retention]),
 * read by every program; command-line flags override it. Every key of
 * every section is known here and checked whatever program reads it, so
 * a typo anywhere is an error naming the file and line. */
#ifndef JOBCELL_JC_CONFIG_H
#define JOBCELL_JC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jc_limits.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/jobcell/jobcell.conf"
#define CONFIG_MAX_BYTES (256 * 1024)
#define CONFIG_PATH_MAX 1024

struct config_limits {
	int64_t timeout_default_s, timeout_max_s;
	int64_t memory_default_mb, memory_max_mb;
	int64_t cpus_default, cpus_max;
	int64_t pids_default, pids_max;
	int64_t disk_default_mb, disk_max_mb;
	bool network_allowed;
	char sandbox[16];	/* the sandbox of a job that names none */
	/* [worker] docker_image, docker_images: what a docker job may run;
	 * kept here because the API validates jobs against them. */
	char docker_image[JC_MAX_IMAGE_BYTES + 1];	/* "": none */
	char docker_images[JC_MAX_IMAGES_BYTES + 1];	/* space-separated
							 * allowed list; "":
							 * any local image */
	/* [worker] swarm_constraints: the placement constraints a swarm job
	 * may name (comma-separated); "": none allowed. */
	char swarm_constraints[1024];
};

struct config {
	/* [api] */
	char api_db[CONFIG_PATH_MAX];
	char api_socket[CONFIG_PATH_MAX];
	char api_doorbell[CONFIG_PATH_MAX];
	int64_t api_threads;
	int64_t api_max_streams;	/* follow streams in all; 0: default */
	int64_t api_max_streams_per_consumer;	/* 0: default */
	int64_t api_max_waiters;	/* parked POST /v1/run in all */
	int64_t api_max_waiters_per_consumer;
	/* [worker] */
	char worker_db[CONFIG_PATH_MAX];
	char worker_doorbell[CONFIG_PATH_MAX];
	int64_t worker_slots;
	int64_t worker_uid_base;
	int64_t worker_output_cap;
	int64_t worker_kill_grace_ms;
	int64_t worker_drain_grace_ms;	/* SIGTERM: running jobs get this long */
	char worker_docker_socket[CONFIG_PATH_MAX];	/* "": no docker */
	/* The runtimes' INI files (issue 14); "": runtimes.d beside the
	 * config file, or SYSCONFDIR/jobcell/runtimes.d without one. */
	char worker_runtimes_dir[CONFIG_PATH_MAX];
	/* [worker] swarm_*: the swarm backend (cell.h, cell_host_config) */
	char worker_swarm_endpoint[CONFIG_PATH_MAX]; /* "": no swarm */
	int64_t worker_swarm_slots; /* swarm jobs in flight, own slots */
	char worker_swarm_tls_ca[CONFIG_PATH_MAX];
	char worker_swarm_tls_cert[CONFIG_PATH_MAX];
	char worker_swarm_tls_key[CONFIG_PATH_MAX];
	char worker_sandbox[32];	/* the backends it runs; "": namespace,
					 * and docker if docker_socket is set */
	/* [limits] */
	struct config_limits limits;
	/* [storage]: blobs, artifacts and disk workspaces live under data_dir
	 * (DATA/uploads: nginx's body files, DATA/blobs/<consumer id>/<hex>,
	 * DATA/artifacts/<job id>/, DATA/work: the workspaces); "": none of
	 * them (uploads 503, jobs with inputs/artifacts refused, /work tmpfs). */
	char storage_data_dir[CONFIG_PATH_MAX];
	int64_t storage_max_blob_mb;	     /* one upload */
	int64_t storage_artifacts_max_mb;    /* all artifacts of one job */
	int64_t storage_artifacts_max_files; /* artifacts of one job */
	/* [retention]: how long things are kept; the supervisor collects
	 * every gc_interval_s, `jobcell-admin gc` at once. */
	int64_t retention_jobs_days; /* finished jobs and their logs */
	int64_t retention_artifacts_hours;
	int64_t retention_blobs_hours; /* blobs no live job references,
					 * counted from their last use */
	int64_t retention_gc_interval_s;
	int64_t retention_images_days; /* consumers' images, from their last
					* use (issue 14) */
	/* [api] log_level, [worker] log_level: "err", "warn", "info" or
	 * "debug" (log_level_from_name()); "": info. */
	char api_log_level[8];
	char worker_log_level[8];
};

/* The sandboxes of a [worker] sandbox / --sandbox list. */
#define SANDBOX_NAMESPACE	1u
#define SANDBOX_DOCKER		2u
#define SANDBOX_SWARM 4u
/* "namespace", "docker", "swarm", or several separated by spaces or commas: *ret is
 * their SANDBOX_* mask. 0, or -EINVAL (empty, or an unknown word). */
int config_sandboxes(const char *list, unsigned *ret);

/* Built-in defaults (empty strings for paths). */
void config_defaults(struct config *c);
/* Reads path over the current contents of c. 0; -ENOENT (missing file);
 * -EINVAL with "FILE:LINE: what is wrong" in errmsg; -E2BIG file too big;
 * other -errno from reading. Checks cross-field rules (default <= max). */
int config_load(struct config *c, const char *path, char *errmsg,
    size_t errmsg_size);
/* Defaults, then path if given (any error, even a missing file, fails),
 * else CONFIG_DEFAULT_PATH if it exists. */
int config_resolve(const char *path, struct config *c, char *errmsg,
    size_t errmsg_size);
/* Checks that every default is within 1..max; -EINVAL with errmsg. */
int config_check(const struct config *c, char *errmsg, size_t errmsg_size);

#endif
