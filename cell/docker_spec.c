/* docker_spec.c - the docker cell's container, as data: the body of POST
 * /containers/create (every setting that keeps the job in its cell, spelt
 * out) and the files stream for jobcell-cell-unpack. Pure functions, no
 * daemon and no I/O: tests/unit/test_docker_spec.c holds their golden
 * JSON. Runs in a jobcell-worker process. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cell_int.h"
#include "cleanup.h"
#include "docker_int.h"
#include "json_writer.h"
#include "strbuf.h"
#include "banned.h"

bool
docker_job_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' &&
		    s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '_' || s[n] == '-'))
			return false;
	return n > 0 && n <= JOB_ID_MAX;
}

/* The tmpfs options of /tmp and /work: sized, executable (jobs build and
 * run programs there), owned by the job's user. */
static int
tmpfs_opts(char *buf, size_t size, const struct cell_spec *s,
    const char *exec, const char *mode)
{
	/* Inodes bounded as in a namespace cell: 256 per MiB, at least
	 * 1024 (tmpfs's default follows the host's RAM). */
	unsigned long long mb = (unsigned long long) s->disk_mb;
	int n = snprintf(buf, size, "rw,%s,nosuid,nodev,size=%llum,"
	    "nr_inodes=%llu,uid=%lu,gid=%lu,mode=%s", exec, mb,
	    mb < 4 ? 1024 : mb * 256, (unsigned long) s->host_uid,
	    (unsigned long) s->host_gid, mode);

	return n < 0 || (size_t) n >= size ? -E2BIG : 0;
}

/* POST /containers/create's body. Every setting that keeps the job in its
 * cell is here, spelt out even where it is Docker's default, so a daemon
 * configured otherwise cannot loosen it. */
bool
docker_needs_unpacker(const struct cell_spec *s)
{
	return s->nfiles > 0 || s->cwd;
}

/* HostConfig.Ulimits: as a namespace cell's rlimits. */
static void
ulimits(struct jw *w, const struct cell_spec *s)
{
	jw_key(w, "Ulimits");
	jw_arr_open(w);
	jw_obj_open(w);
	jw_kv_str(w, "Name", "nofile");
	jw_kv_i64(w, "Soft", CELL_NOFILE);
	jw_kv_i64(w, "Hard", CELL_NOFILE);
	jw_obj_close(w);
	jw_obj_open(w);
	jw_kv_str(w, "Name", "sigpending");
	jw_kv_i64(w, "Soft", CELL_SIGPENDING);
	jw_kv_i64(w, "Hard", CELL_SIGPENDING);
	jw_obj_close(w);
	jw_obj_open(w);
	jw_kv_str(w, "Name", "core");
	jw_kv_i64(w, "Soft", 0);
	jw_kv_i64(w, "Hard", 0);
	jw_obj_close(w);
	if (s->disk_mb) {	/* no file larger than the scratch space */
		jw_obj_open(w);
		jw_kv_str(w, "Name", "fsize");
		jw_kv_i64(w, "Soft", (int64_t) s->disk_mb << 20);
		jw_kv_i64(w, "Hard", (int64_t) s->disk_mb << 20);
		jw_obj_close(w);
	}
	jw_arr_close(w);
}

/* HostConfig of the create body: the cell's walls and limits. */
static int
host_config(struct jw *w, const struct cell_spec *s,
    const struct docker_create *o, const char *work, const char *tmp,
    const char *shm)
{
	const char *network = o->network;
	int r;

	jw_key(w, "HostConfig");
	jw_obj_open(w);
	jw_kv_str(w, "NetworkMode", network ? network : "none");
	if (o->cgroup_parent)
		jw_kv_str(w, "CgroupParent", o->cgroup_parent);
	jw_key(w, "CapDrop");
	jw_arr_open(w);
	jw_str(w, "ALL");
	jw_arr_close(w);
	jw_key(w, "SecurityOpt");
	jw_arr_open(w);
	jw_str(w, "no-new-privileges");
	if (o->seccomp_profile) {
		_cleanup_strbuf_ struct strbuf opt;

		strbuf_init(&opt, 64 * 1024);
		if ((r = strbuf_addf(&opt, "seccomp=%s", o->seccomp_profile)) < 0)
			return r;
		jw_str(w, opt.buf);
	}
	jw_arr_close(w);
	/* HostConfig.MaskedPaths replaces Docker's default list: the cells'
	 * list (cell.c: Docker's own, kcore, keys, timer_list, ..., and
	 * ours) with the whole of /sys, which Docker mounts from the host (read-only, but the host's
	 * devices, modules and cgroups): an empty read-only tmpfs instead. */
	jw_key(w, "MaskedPaths");
	jw_arr_open(w);
	for (size_t i = 0; i < cell_proc_masked_n; i++)
		jw_str(w, cell_proc_masked[i]);
	jw_str(w, "/sys");
	jw_arr_close(w);
	jw_kv_bool(w, "Privileged", false);
	jw_kv_bool(w, "ReadonlyRootfs", true);
	jw_kv_bool(w, "Init", true);
	jw_kv_bool(w, "AutoRemove", false);
	jw_kv_str(w, "IpcMode", "private");
	jw_key(w, "Binds");
	jw_arr_open(w);	/* nothing of the host, never the socket; */
	/* Docker writes the host's resolvers into /etc/resolv.conf even
	 * without a network: an empty one instead (a network of the job's
	 * own gets the daemon's resolver). */
	if (!network)
		jw_str(w, "/dev/null:/etc/resolv.conf:ro");
	if (docker_needs_unpacker(s)) {	/* only our unpacker, read-only */
		char bind[DOCKER_SOCKET_MAX + 256];

		if ((size_t) snprintf(bind, sizeof(bind), "%s:%s:ro",
		    o->unpacker, DOCKER_UNPACKER_IN) >= sizeof(bind))
			return -ENAMETOOLONG;
		jw_str(w, bind);
	}
	jw_arr_close(w);
	/* The disk workspace (workspace.c): its file system, mounted by
	 * dockerd from the loop device through an anonymous volume of the
	 * local driver (removed with the container, v=1), not a bind of the
	 * worker's mount point, which dockerd cannot see when the worker runs
	 * in a mount namespace of its own (the packaged systemd unit). A
	 * second mount of a mounted device shares its super block: the
	 * worker fills and collects the very same files. */
	if (s->workspace) {
		jw_key(w, "Mounts");
		jw_arr_open(w);
		jw_obj_open(w);
		jw_kv_str(w, "Type", "volume");
		jw_kv_str(w, "Target", "/work");
		jw_key(w, "VolumeOptions");
		jw_obj_open(w);
		/* Not the image's /work copied in, nor its owner and mode
		 * over the workspace's (the slot's own, 0700). */
		jw_kv_bool(w, "NoCopy", true);
		jw_key(w, "DriverConfig");
		jw_obj_open(w);
		jw_kv_str(w, "Name", "local");
		jw_key(w, "Options");
		jw_obj_open(w);
		jw_kv_str(w, "type", "ext4");
		jw_kv_str(w, "device", cell_workspace_device(s->workspace));
		jw_kv_str(w, "o", "nosuid,nodev,noatime");
		jw_obj_close(w);
		jw_obj_close(w);
		jw_obj_close(w);
		jw_obj_close(w);
		jw_arr_close(w);
	}
	jw_key(w, "Tmpfs");
	jw_obj_open(w);
	jw_kv_str(w, "/tmp", tmp);
	if (!s->workspace)
		jw_kv_str(w, "/work", work);
	jw_kv_str(w, "/dev/shm", shm);
	jw_obj_close(w);
	if (s->memory_mb) {
		jw_kv_i64(w, "Memory", (int64_t) s->memory_mb << 20);
		jw_kv_i64(w, "MemorySwap", (int64_t) s->memory_mb << 20);
	}
	if (s->cpus)	/* 1e9 per CPU */
		jw_kv_i64(w, "NanoCpus", (int64_t) (s->cpus * 1000000000u));
	if (s->pids)	/* + 1: the container's init counts too */
		jw_kv_i64(w, "PidsLimit", (int64_t) s->pids + 1);
	ulimits(w, s);
	/* Output reaches us through attach; no log file on the host that a
	 * chatty job could grow without bound. */
	jw_key(w, "LogConfig");
	jw_obj_open(w);
	jw_kv_str(w, "Type", "none");
	jw_obj_close(w);
	jw_obj_close(w);
	return 0;
}

int
docker_create_body(const struct cell_spec *s, const struct docker_create *o,
    struct strbuf *sb)
{
	char work[192], tmp[192], shm[192], worker[32], user[48];
	bool in = s->stdin_fd >= 0 || docker_needs_unpacker(s);
	struct jw w;
	int r;

	if ((r = tmpfs_opts(work, sizeof(work), s, "exec", "0755")) < 0 ||
	    (r = tmpfs_opts(tmp, sizeof(tmp), s, "exec", "1777")) < 0 ||
	    (r = tmpfs_opts(shm, sizeof(shm), s, "noexec", "1777")) < 0)
		return r;
	/* Numeric: the image need not know the uid; never root. */
	(void) snprintf(user, sizeof(user), "%lu:%lu", (unsigned long) s->host_uid,
	    (unsigned long) s->host_gid);
	(void) snprintf(worker, sizeof(worker), "%ld", o->worker_id);
	jw_init(&w, sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "Image", o->image);
	jw_key(&w, "Entrypoint");
	jw_arr_open(&w);	/* [] (not null): no image ENTRYPOINT */
	if (docker_needs_unpacker(s))
		jw_str(&w, DOCKER_UNPACKER_IN);
	jw_arr_close(&w);
	jw_key(&w, "Cmd");
	jw_arr_open(&w);
	for (size_t i = 0; s->argv[i]; i++)
		jw_str(&w, s->argv[i]);
	jw_arr_close(&w);
	jw_key(&w, "Env");
	jw_arr_open(&w);
	for (size_t i = 0; s->envp && s->envp[i]; i++)
		jw_str(&w, s->envp[i]);
	jw_arr_close(&w);
	jw_kv_str(&w, "User", user);
	jw_kv_str(&w, "WorkingDir", "/work");
	jw_kv_str(&w, "Hostname", "cell");
	jw_kv_bool(&w, "Tty", false);
	jw_kv_bool(&w, "AttachStdin", in);
	jw_kv_bool(&w, "OpenStdin", in);
	jw_kv_bool(&w, "StdinOnce", in);
	jw_kv_bool(&w, "AttachStdout", true);
	jw_kv_bool(&w, "AttachStderr", true);
	jw_key(&w, "Labels");
	jw_obj_open(&w);
	jw_kv_str(&w, "jobcell.job", s->job_id);
	jw_kv_str(&w, "jobcell.worker", worker);
	jw_obj_close(&w);
	if ((r = host_config(&w, s, o, work, tmp, shm)) < 0)
		return r;
	jw_obj_close(&w);
	return jw_finish(&w);
}

static int
put_u32(struct strbuf *sb, size_t v)
{
	unsigned char b[4] = { (unsigned char) (v >> 24),
		(unsigned char) (v >> 16), (unsigned char) (v >> 8),
		(unsigned char) v };

	return v > UINT32_MAX ? -E2BIG : strbuf_add(sb, b, sizeof(b));
}

/* The stream jobcell-cell-unpack reads before the job's stdin
 * (cell_unpack.c): "JCF2", {len, path, flags, len, data}..., 0, len, cwd;
 * flags: 1 = executable. */
int
docker_files_stream(const struct cell_spec *s, struct strbuf *sb)
{
	int r;

	if ((r = strbuf_add(sb, "JCF2", 4)) < 0)
		return r;
	for (size_t i = 0; i < s->nfiles; i++) {
		const struct cell_file *f = &s->files[i];

		if ((r = put_u32(sb, strlen(f->path))) < 0 ||
		    (r = strbuf_addstr(sb, f->path)) < 0 ||
		    (r = put_u32(sb, f->executable ? 1 : 0)) < 0 ||
		    (r = put_u32(sb, f->len)) < 0 ||
		    (r = strbuf_add(sb, f->data, f->len)) < 0)
			return r;
	}
	if ((r = put_u32(sb, 0)) < 0 ||
	    (r = put_u32(sb, s->cwd ? strlen(s->cwd) : 0)) < 0)
		return r;
	return s->cwd ? strbuf_addstr(sb, s->cwd) : 0;
}
