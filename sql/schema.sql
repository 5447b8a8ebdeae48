-- jobcell schema, version 7 (PRAGMA user_version = 7).
-- Applied by lib/db.c in one transaction when user_version is 0; an older
-- database is brought up to date by sql/migrate-N.sql, N = 2 ... 7.
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE consumers (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	key_id		TEXT NOT NULL UNIQUE,	-- public half of the key, lookup handle
	key_hash	BLOB NOT NULL,		-- SHA-256 of the secret half
	disabled	INTEGER NOT NULL DEFAULT 0,
	max_concurrent	INTEGER NOT NULL DEFAULT 2,
	max_per_day	INTEGER NOT NULL DEFAULT 10000,
	max_queued	INTEGER NOT NULL DEFAULT 1000,
	created_at	INTEGER NOT NULL,
	-- Kept by the triggers below (the quota check reads them):
	queued		INTEGER NOT NULL DEFAULT 0,	-- its jobs now queued
	day_start	INTEGER NOT NULL DEFAULT 0,	-- UTC day of day_count
	day_count	INTEGER NOT NULL DEFAULT 0,	-- jobs submitted that day
	max_storage_mb	INTEGER NOT NULL DEFAULT 10240,
	-- logs + blobs + artifacts stored now, kept by the storage_* triggers:
	storage_bytes	INTEGER NOT NULL DEFAULT 0,
	max_images	INTEGER NOT NULL DEFAULT 10	-- images it may keep
);

CREATE TABLE jobs (
	id		TEXT PRIMARY KEY,	-- 26 chars, time-sortable
	consumer_id	INTEGER NOT NULL REFERENCES consumers(id) ON DELETE CASCADE,
	name		TEXT,
	status		TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
			('queued','running','succeeded','failed','timed_out',
			 'cancelled','error')),
	spec		TEXT NOT NULL,		-- validated request: argv + env JSON
	stdin		BLOB,
	timeout_ms	INTEGER NOT NULL,
	memory_mb	INTEGER NOT NULL,
	cpus		INTEGER NOT NULL,
	pids		INTEGER NOT NULL,
	disk_mb		INTEGER NOT NULL,
	sandbox		TEXT NOT NULL DEFAULT 'namespace',
	idempotency_key	TEXT,
	exit_code	INTEGER,
	signal		INTEGER,
	timed_out	INTEGER NOT NULL DEFAULT 0,
	oom_killed	INTEGER NOT NULL DEFAULT 0,
	error		TEXT,
	created_at	INTEGER NOT NULL,
	started_at	INTEGER,
	finished_at	INTEGER,
	worker		TEXT,			-- "<host pid>" of the worker holding it
	lease_until	INTEGER,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	cpu_ms		INTEGER,
	max_rss_kb	INTEGER,
	log_bytes	INTEGER NOT NULL DEFAULT 0,
	log_truncated	INTEGER NOT NULL DEFAULT 0,
	next_seq	INTEGER NOT NULL DEFAULT 1,
	artifacts_truncated INTEGER NOT NULL DEFAULT 0,
	-- code jobs: the runtime and the result of the compile step
	runtime		TEXT,
	runtime_version	TEXT,
	compile_exit_code INTEGER,
	compile_signal	INTEGER,
	compile_timed_out INTEGER,
	compile_duration_ms INTEGER,
	kind		TEXT NOT NULL DEFAULT 'command'	-- or 'image' (a build)
);
CREATE INDEX jobs_consumer ON jobs (consumer_id, id);
CREATE INDEX jobs_consumer_day ON jobs (consumer_id, created_at);
CREATE INDEX jobs_queue ON jobs (status, consumer_id, id);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (consumer_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;

CREATE TABLE job_logs (
	job_id		TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	seq		INTEGER NOT NULL,	-- 1, 2, 3 ... per job, no gaps
	-- 1 stdout, 2 stderr; 3, 4: the compile step's stdout, stderr
	stream		INTEGER NOT NULL CHECK (stream IN (1, 2, 3, 4)),
	ts		INTEGER NOT NULL,
	data		BLOB NOT NULL,
	PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

-- One row per running jobcell-worker supervisor, refreshed as a heartbeat;
-- /v1/health sums the slots of the live ones and lists the sandboxes any
-- of them runs now (docker only while its daemon answered the last beat).
CREATE TABLE supervisors (
	pid		INTEGER PRIMARY KEY,
	slots		INTEGER NOT NULL,
	started_at	INTEGER NOT NULL,
	heartbeat_at	INTEGER NOT NULL,
	sandboxes	TEXT NOT NULL DEFAULT 'namespace'	-- space-separated
);

-- The quota counters of consumers (queued, day_start/day_count: jobs
-- submitted on the UTC day starting at day_start, ms) follow the jobs
-- table whatever program changes it.
CREATE TRIGGER jobs_counters_insert AFTER INSERT ON jobs BEGIN
	UPDATE consumers SET
		queued = queued + (NEW.status = 'queued'),
		day_count = CASE
			WHEN NEW.created_at / 86400000 * 86400000 > day_start THEN 1
			WHEN NEW.created_at / 86400000 * 86400000 = day_start
			THEN day_count + 1
			ELSE day_count END,
		day_start = MAX(day_start, NEW.created_at / 86400000 * 86400000)
	WHERE id = NEW.consumer_id;
END;
CREATE TRIGGER jobs_counters_status AFTER UPDATE OF status ON jobs
WHEN (OLD.status = 'queued') != (NEW.status = 'queued') BEGIN
	UPDATE consumers SET queued = queued - (OLD.status = 'queued') +
		(NEW.status = 'queued')
	WHERE id = NEW.consumer_id;
END;
CREATE TRIGGER jobs_counters_delete AFTER DELETE ON jobs
WHEN OLD.status = 'queued' BEGIN
	UPDATE consumers SET queued = queued - 1 WHERE id = OLD.consumer_id;
END;

-- A blob of one consumer: DATA/blobs/<consumer_id>/<digest hex>.
CREATE TABLE blobs (
	consumer_id	INTEGER NOT NULL REFERENCES consumers(id) ON DELETE CASCADE,
	digest		TEXT NOT NULL,		-- 64 lowercase hex chars
	size		INTEGER NOT NULL,
	created_at	INTEGER NOT NULL,
	last_used_at	INTEGER NOT NULL,	-- upload, HEAD hit or job submit
	PRIMARY KEY (consumer_id, digest)
) WITHOUT ROWID;
-- The blobs a job's inputs name: a blob with a row here for a job that is
-- not final is never collected.
CREATE TABLE job_blobs (
	job_id		TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	consumer_id	INTEGER NOT NULL,
	digest		TEXT NOT NULL,
	PRIMARY KEY (job_id, digest)
) WITHOUT ROWID;
CREATE INDEX job_blobs_blob ON job_blobs (consumer_id, digest);
-- A collected artifact: DATA/artifacts/<job_id>/<file>.
CREATE TABLE artifacts (
	job_id		TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	consumer_id	INTEGER NOT NULL,	-- the job's (kept for the quota)
	path		TEXT NOT NULL,		-- relative to the workspace
	file		TEXT NOT NULL,		-- name under the job's directory
	size		INTEGER NOT NULL,
	sha256		TEXT NOT NULL,		-- 64 lowercase hex chars
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL,
	PRIMARY KEY (job_id, path)
) WITHOUT ROWID;
CREATE INDEX artifacts_expiry ON artifacts (expires_at);
CREATE TRIGGER storage_blob_insert AFTER INSERT ON blobs BEGIN
	UPDATE consumers SET storage_bytes = storage_bytes + NEW.size
	WHERE id = NEW.consumer_id;
END;
CREATE TRIGGER storage_blob_delete AFTER DELETE ON blobs BEGIN
	UPDATE consumers SET storage_bytes = storage_bytes - OLD.size
	WHERE id = OLD.consumer_id;
END;
CREATE TRIGGER storage_artifact_insert AFTER INSERT ON artifacts BEGIN
	UPDATE consumers SET storage_bytes = storage_bytes + NEW.size
	WHERE id = NEW.consumer_id;
END;
CREATE TRIGGER storage_artifact_delete AFTER DELETE ON artifacts BEGIN
	UPDATE consumers SET storage_bytes = storage_bytes - OLD.size
	WHERE id = OLD.consumer_id;
END;
CREATE TRIGGER storage_logs_update AFTER UPDATE OF log_bytes ON jobs
WHEN NEW.log_bytes != OLD.log_bytes BEGIN
	UPDATE consumers SET storage_bytes = storage_bytes + NEW.log_bytes -
		OLD.log_bytes
	WHERE id = NEW.consumer_id;
END;
CREATE TRIGGER storage_logs_delete AFTER DELETE ON jobs
WHEN OLD.log_bytes != 0 BEGIN
	UPDATE consumers SET storage_bytes = storage_bytes - OLD.log_bytes
	WHERE id = OLD.consumer_id;
END;

-- The runtimes a live supervisor can run now (sql/migrate-5.sql).
CREATE TABLE runtimes (
	supervisor_pid	INTEGER NOT NULL,
	name		TEXT NOT NULL,
	version		TEXT NOT NULL,
	aliases		TEXT NOT NULL DEFAULT '',	-- space-separated
	sandbox		TEXT NOT NULL DEFAULT 'namespace',
	file		TEXT NOT NULL,		-- the code's file name in /work
	compile		TEXT,			-- JSON argv, or NULL: none
	run		TEXT NOT NULL,		-- JSON argv
	compile_timeout_ms INTEGER NOT NULL,
	compile_memory_mb INTEGER NOT NULL,
	image		TEXT,			-- sandbox docker: the image
	-- 0: a docker runtime not probed yet, its daemon has not answered;
	-- version '' (sql/migrate-7.sql)
	probed		INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (supervisor_pid, name)
) WITHOUT ROWID;

-- A consumer's images (sql/migrate-6.sql).
CREATE TABLE images (
	consumer_id	INTEGER NOT NULL REFERENCES consumers(id) ON DELETE CASCADE,
	name		TEXT NOT NULL,
	tag		TEXT NOT NULL,
	job_id		TEXT NOT NULL,		-- the last build
	image_id	TEXT,			-- "sha256:…" once built
	size		INTEGER NOT NULL DEFAULT 0,
	created_at	INTEGER NOT NULL,
	last_used_at	INTEGER NOT NULL,
	deleted		INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (consumer_id, name, tag)
);
CREATE INDEX images_job ON images(job_id);
PRAGMA user_version = 7;
