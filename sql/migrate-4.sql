-- Schema version 3 -> 4: blobs, artifacts and storage quotas (issue 13).
-- Blob and artifact bytes live as files under [storage] data_dir, never
-- in SQLite; these rows say who owns which file.
ALTER TABLE consumers ADD COLUMN max_storage_mb INTEGER NOT NULL DEFAULT 10240;
-- Bytes this consumer stores now (logs + blobs + artifacts), kept by the
-- triggers below; checked against max_storage_mb on submit and upload.
ALTER TABLE consumers ADD COLUMN storage_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN artifacts_truncated INTEGER NOT NULL DEFAULT 0;
UPDATE consumers SET storage_bytes = (SELECT COALESCE(SUM(log_bytes), 0)
	FROM jobs WHERE consumer_id = consumers.id);
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
PRAGMA user_version = 4;
