/* config.c - the jobcell config file: its sections and keys over the INI
 * lines of ini.c ("[section]", "key = value", '#' or ';' comments). Used by
 * every program at start and on SIGHUP; trusts the file's owner but not
 * its contents (every value is range-checked). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ini.h"
#include "io.h"
#include "jc_config.h"
#include "log.h"
#include "parse.h"
#include "banned.h"

enum key_type { KEY_PATH, KEY_INT, KEY_BOOL, KEY_STR };

struct key_def {
	const char *section, *name;
	enum key_type type;
	size_t offset;
	int64_t min, max;	/* KEY_STR: max is the buffer size */
};

#define OFF(f) offsetof(struct config, f)
static const struct key_def keys[] = {
	{ "api", "db", KEY_PATH, OFF(api_db), 0, 0 },
	{ "api", "socket", KEY_PATH, OFF(api_socket), 0, 0 },
	{ "api", "doorbell", KEY_PATH, OFF(api_doorbell), 0, 0 },
	{ "api", "threads", KEY_INT, OFF(api_threads), 1, JC_MAX_THREADS },
	{ "api", "max_streams", KEY_INT, OFF(api_max_streams), 1,
	    JC_MAX_STREAMS },
	{ "api", "max_streams_per_consumer", KEY_INT,
	    OFF(api_max_streams_per_consumer), 1, JC_MAX_STREAMS },
	{ "api", "max_waiters", KEY_INT, OFF(api_max_waiters), 1,
	    JC_MAX_WAITERS },
	{ "api", "max_waiters_per_consumer", KEY_INT,
	    OFF(api_max_waiters_per_consumer), 1, JC_MAX_WAITERS },
	{ "worker", "db", KEY_PATH, OFF(worker_db), 0, 0 },
	{ "worker", "doorbell", KEY_PATH, OFF(worker_doorbell), 0, 0 },
	{ "worker", "slots", KEY_INT, OFF(worker_slots), 1, JC_MAX_SLOTS },
	{ "worker", "uid_base", KEY_INT, OFF(worker_uid_base), 1000,
	    0x7fffffffLL - JC_MAX_SLOTS },
	{ "worker", "output_cap", KEY_INT, OFF(worker_output_cap), 1024,
	    INT64_C(1) << 40 },
	{ "worker", "kill_grace_ms", KEY_INT, OFF(worker_kill_grace_ms), 0,
	    600000 },
	{ "worker", "drain_grace_ms", KEY_INT, OFF(worker_drain_grace_ms), 0,
	    3600000 },
	{ "worker", "docker_socket", KEY_PATH, OFF(worker_docker_socket), 0,
	    0 },
	{ "worker", "runtimes_dir", KEY_PATH, OFF(worker_runtimes_dir), 0, 0 },
	{ "worker", "swarm_endpoint", KEY_STR, OFF(worker_swarm_endpoint), 0,
	    sizeof(((struct config *) 0)->worker_swarm_endpoint) },
	{ "worker", "swarm_slots", KEY_INT, OFF(worker_swarm_slots), 1,
	    JC_MAX_SLOTS },
	{ "worker", "swarm_tls_ca", KEY_PATH, OFF(worker_swarm_tls_ca), 0, 0 },
	{ "worker", "swarm_tls_cert", KEY_PATH, OFF(worker_swarm_tls_cert), 0,
	    0 },
	{ "worker", "swarm_tls_key", KEY_PATH, OFF(worker_swarm_tls_key), 0,
	    0 },
	{ "worker", "swarm_constraints", KEY_STR, OFF(limits.swarm_constraints),
	    0, sizeof(((struct config_limits *) 0)->swarm_constraints) },
	{ "worker", "sandbox", KEY_STR, OFF(worker_sandbox), 0,
	    sizeof(((struct config *) 0)->worker_sandbox) },
	{ "worker", "docker_image", KEY_STR, OFF(limits.docker_image), 0,
	    sizeof(((struct config_limits *) 0)->docker_image) },
	{ "worker", "docker_images", KEY_STR, OFF(limits.docker_images), 0,
	    sizeof(((struct config_limits *) 0)->docker_images) },
	{ "limits", "timeout_default", KEY_INT, OFF(limits.timeout_default_s),
	    1, 86400 },
	{ "limits", "timeout_max", KEY_INT, OFF(limits.timeout_max_s), 1,
	    86400 },
	{ "limits", "memory_default_mb", KEY_INT, OFF(limits.memory_default_mb),
	    1, 1 << 20 },
	{ "limits", "memory_max_mb", KEY_INT, OFF(limits.memory_max_mb), 1,
	    1 << 20 },
	{ "limits", "cpus_default", KEY_INT, OFF(limits.cpus_default), 1,
	    1024 },
	{ "limits", "cpus_max", KEY_INT, OFF(limits.cpus_max), 1, 1024 },
	{ "limits", "pids_default", KEY_INT, OFF(limits.pids_default), 1,
	    1 << 22 },
	{ "limits", "pids_max", KEY_INT, OFF(limits.pids_max), 1, 1 << 22 },
	{ "limits", "disk_default_mb", KEY_INT, OFF(limits.disk_default_mb), 1,
	    1 << 20 },
	{ "limits", "disk_max_mb", KEY_INT, OFF(limits.disk_max_mb), 1,
	    1 << 20 },
	{ "limits", "network", KEY_BOOL, OFF(limits.network_allowed), 0, 1 },
	{ "limits", "sandbox", KEY_STR, OFF(limits.sandbox), 0,
	    sizeof(((struct config_limits *) 0)->sandbox) },
	{ "storage", "data_dir", KEY_PATH, OFF(storage_data_dir), 0, 0 },
	{ "storage", "max_blob_mb", KEY_INT, OFF(storage_max_blob_mb), 1,
	    1 << 24 },
	{ "storage", "artifacts_max_mb", KEY_INT, OFF(storage_artifacts_max_mb),
	    1, 1 << 24 },
	{ "storage", "artifacts_max_files", KEY_INT,
	    OFF(storage_artifacts_max_files), 1, 100000 },
	{ "retention", "jobs_days", KEY_INT, OFF(retention_jobs_days), 1,
	    36500 },
	{ "retention", "artifacts_hours", KEY_INT,
	    OFF(retention_artifacts_hours), 1, 876000 },
	{ "retention", "blobs_hours", KEY_INT, OFF(retention_blobs_hours), 1,
	    876000 },
	{ "retention", "images_days", KEY_INT, OFF(retention_images_days), 1,
	    36500 },
	{ "retention", "gc_interval_s", KEY_INT, OFF(retention_gc_interval_s),
	    1, 86400 },
	{ "api", "log_level", KEY_STR, OFF(api_log_level), 0,
	    sizeof(((struct config *) 0)->api_log_level) },
	{ "worker", "log_level", KEY_STR, OFF(worker_log_level), 0,
	    sizeof(((struct config *) 0)->worker_log_level) },
};

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->api_threads = 8;
	c->worker_slots = 2;
	c->worker_uid_base = 200000;
	c->worker_swarm_slots = 4;
	c->worker_output_cap = JC_OUTPUT_CAP_DEFAULT;
	c->worker_kill_grace_ms = JC_KILL_GRACE_MS;
	c->worker_drain_grace_ms = JC_DRAIN_GRACE_MS;
	c->limits.timeout_default_s = JC_TIMEOUT_DEFAULT_S;
	c->limits.timeout_max_s = JC_TIMEOUT_MAX_S;
	c->limits.memory_default_mb = 512;
	c->limits.memory_max_mb = 4096;
	c->limits.cpus_default = 1;
	c->limits.cpus_max = 2;
	c->limits.pids_default = 128;
	c->limits.pids_max = 1024;
	c->limits.disk_default_mb = 256;
	c->limits.disk_max_mb = 2048;
	c->limits.network_allowed = false;
	memcpy(c->limits.sandbox, "namespace", sizeof("namespace"));
	c->storage_max_blob_mb = 2048;
	c->storage_artifacts_max_mb = 4096;
	c->storage_artifacts_max_files = 1000;
	c->retention_jobs_days = 30;
	c->retention_artifacts_hours = 168;
	c->retention_blobs_hours = 24;
	c->retention_gc_interval_s = 300;
	c->retention_images_days = 30;
}

int
config_sandboxes(const char *list, unsigned *ret)
{
	unsigned mask = 0;
	const char *p = list;

	for (;;) {
		size_t n;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		n = strcspn(p, " \t,");
		if (n == 9 && memcmp(p, "namespace", 9) == 0)
			mask |= SANDBOX_NAMESPACE;
		else if (n == 6 && memcmp(p, "docker", 6) == 0)
			mask |= SANDBOX_DOCKER;
		else if (n == 5 && memcmp(p, "swarm", 5) == 0)
			mask |= SANDBOX_SWARM;
		else
			return -EINVAL;
		p += n;
	}
	if (!mask)
		return -EINVAL;
	*ret = mask;
	return 0;
}

static int
set_value(struct config *c, const struct key_def *k, const char *v,
    const char *where, char *errmsg, size_t size)
{
	char *field = (char *) c + k->offset;
	int64_t n;

	switch (k->type) {
	case KEY_PATH:
		if (*v == '\0' || str_copy(field, CONFIG_PATH_MAX, v) < 0) {
			(void) snprintf(errmsg, size, "%s: '%s' must be a path "
			    "of 1..%d bytes", where, k->name, CONFIG_PATH_MAX - 1);
			return -EINVAL;
		}
		return 0;
	case KEY_STR:
		if (strcmp(k->name, "log_level") == 0 &&
		    log_level_from_name(v, &(enum log_level){ 0 }) < 0) {
			(void) snprintf(errmsg, size, "%s: 'log_level' must be "
			    "err, warn, info or debug", where);
			return -EINVAL;
		}
		if (*v == '\0' || str_copy(field, (size_t) k->max, v) < 0) {
			(void) snprintf(errmsg, size, "%s: '%s' must be 1..%lld "
			    "bytes", where, k->name, (long long) k->max - 1);
			return -EINVAL;
		}
		return 0;
	case KEY_INT:
		if (parse_i64(v, k->min, k->max, &n) < 0) {
			(void) snprintf(errmsg, size, "%s: '%s' must be a whole "
			    "number from %lld to %lld", where, k->name,
			    (long long) k->min, (long long) k->max);
			return -EINVAL;
		}
		memcpy(field, &n, sizeof(n));
		return 0;
	case KEY_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
		    strcmp(v, "1") == 0)
			*(bool *) (void *) field = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 ||
		    strcmp(v, "0") == 0)
			*(bool *) (void *) field = false;
		else {
			(void) snprintf(errmsg, size, "%s: '%s' must be true or "
			    "false", where, k->name);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

/* Applies one item of the file to c; section is the current one ("" before
 * the first). */
static int
apply_item(struct config *c, const struct ini_item *it, char *section,
    size_t section_size, const char *where, char *errmsg, size_t size)
{
	if (it->kind == INI_SECTION) {
		char *s = ini_trim(it->section);

		if (strcmp(s, "api") != 0 && strcmp(s, "worker") != 0 &&
		    strcmp(s, "limits") != 0 && strcmp(s, "storage") != 0 &&
		    strcmp(s, "retention") != 0) {
			(void) snprintf(errmsg, size,
			    "%s: unknown section '%.64s' "
			    "(expected api, worker, limits, storage or "
			    "retention)",
			    where, s);
			return -EINVAL;
		}
		return str_copy(section, section_size, s);
	}
	if (section[0] == '\0') {
		(void) snprintf(errmsg, size, "%s: '%.64s' is outside a section",
		    where, it->key);
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, it->key) == 0)
			return set_value(c, &keys[i], it->value, where, errmsg,
			    size);
	(void) snprintf(errmsg, size, "%s: unknown key '%.64s' in [%s]", where,
	    it->key, section);
	return -EINVAL;
}

int
config_check(const struct config *c, char *errmsg, size_t size)
{
	const struct config_limits *l = &c->limits;
	static const char *const names[] = { "timeout", "memory_mb", "cpus",
	    "pids", "disk_mb" };
	const int64_t defs[] = { l->timeout_default_s, l->memory_default_mb,
	    l->cpus_default, l->pids_default, l->disk_default_mb };
	const int64_t maxs[] = { l->timeout_max_s, l->memory_max_mb,
	    l->cpus_max, l->pids_max, l->disk_max_mb };

	unsigned mask;

	if (c->worker_sandbox[0] && config_sandboxes(c->worker_sandbox,
	    &mask) < 0) {
		(void) snprintf(errmsg, size,
		    "[worker]: sandbox '%s' must be "
		    "namespace, docker, swarm, or several",
		    c->worker_sandbox);
		return -EINVAL;
	}
	if (strcmp(l->sandbox, "namespace") != 0 &&
	    strcmp(l->sandbox, "docker") != 0 &&
	    strcmp(l->sandbox, "swarm") != 0) {
		(void) snprintf(errmsg, size,
		    "[limits]: sandbox '%s' must be "
		    "namespace, docker or swarm",
		    l->sandbox);
		return -EINVAL;
	}
	if (l->docker_image[0] && !image_ref_ok(l->docker_image)) {
		(void) snprintf(errmsg, size, "[worker]: docker_image '%.64s' is "
		    "not an image reference", l->docker_image);
		return -EINVAL;
	}
	if (l->docker_images[0]) {
		char list[sizeof(l->docker_images)], *save = NULL;

		memcpy(list, l->docker_images, sizeof(list));
		for (char *w = strtok_r(list, " \t,", &save); w;
		    w = strtok_r(NULL, " \t,", &save))
			if (!image_ref_ok(w)) {
				(void) snprintf(errmsg, size, "[worker]: "
				    "docker_images: '%.64s' is not an image "
				    "reference", w);
				return -EINVAL;
			}
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (defs[i] > maxs[i]) {
			(void) snprintf(errmsg, size, "[limits]: the default %s "
			    "(%lld) is above its maximum (%lld)", names[i],
			    (long long) defs[i], (long long) maxs[i]);
			return -EINVAL;
		}
	return 0;
}

int
config_load(struct config *c, const char *path, char *errmsg, size_t size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char section[16] = "", where[CONFIG_PATH_MAX + 32];
	size_t len = 0;
	struct config tmp = *c;
	struct ini_reader rd;
	struct ini_item it;
	int r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		r = -errno;
		(void) snprintf(errmsg, size, "%s: %s", path, strerror(-r));
		return r;
	}
	if ((r = read_all(fd, CONFIG_MAX_BYTES, &buf, &len)) < 0) {
		if (r == -E2BIG)
			(void) snprintf(errmsg, size, "%s: larger than %d bytes",
			    path, CONFIG_MAX_BYTES);
		else
			(void) snprintf(errmsg, size, "%s: %s", path,
			    strerror(-r));
		return r;
	}
	if (memchr(buf, '\0', len)) {
		(void) snprintf(errmsg, size, "%s: contains a NUL byte", path);
		return -EINVAL;
	}
	ini_init(&rd, buf);
	while ((r = ini_next(&rd, &it)) != 0) {
		(void) snprintf(where, sizeof(where), "%s:%u", path, rd.line);
		if (r < 0) {
			(void) snprintf(errmsg, size, it.kind == INI_SECTION ?
			    "%s: a section line must be '[name]'" :
			    "%s: expected 'key = value'", where);
			return r;
		}
		if ((r = apply_item(&tmp, &it, section, sizeof(section), where,
		    errmsg, size)) < 0)
			return r;
	}
	if ((r = config_check(&tmp, errmsg, size)) < 0) {
		char detail[256];

		(void) snprintf(detail, sizeof(detail), "%s", errmsg);
		(void) snprintf(errmsg, size, "%s: %s", path, detail);
		return r;
	}
	*c = tmp;
	return 0;
}

int
config_resolve(const char *path, struct config *c, char *errmsg, size_t size)
{
	int r;

	config_defaults(c);
	if (path)
		return config_load(c, path, errmsg, size);
	r = config_load(c, CONFIG_DEFAULT_PATH, errmsg, size);
	return r == -ENOENT ? 0 : r;
}
