-- Schema version 4 -> 5: runtimes and code jobs (issue 14).
-- The runtimes a live supervisor can run now: each jobcell-worker
-- supervisor reads its runtimes.d at start and on SIGHUP, finds each
-- toolchain's version by running it, and replaces its own rows here. The
-- API lists and resolves only the rows of supervisors with a recent
-- heartbeat. argv columns are JSON arrays of words; "{file}" stands for
-- the code's path in the cell.
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
	PRIMARY KEY (supervisor_pid, name)
) WITHOUT ROWID;
-- A code job's runtime and the result of its compile step.
ALTER TABLE jobs ADD COLUMN runtime TEXT;
ALTER TABLE jobs ADD COLUMN runtime_version TEXT;
ALTER TABLE jobs ADD COLUMN compile_exit_code INTEGER;
ALTER TABLE jobs ADD COLUMN compile_signal INTEGER;
ALTER TABLE jobs ADD COLUMN compile_timed_out INTEGER;
ALTER TABLE jobs ADD COLUMN compile_duration_ms INTEGER;
-- Log streams 3 and 4: the compile step's stdout and stderr. A CHECK
-- cannot be altered: the table is rebuilt (SQLite's ALTER TABLE, "making
-- other kinds of table schema changes").
CREATE TABLE job_logs_5 (
	job_id		TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	seq		INTEGER NOT NULL,
	stream		INTEGER NOT NULL CHECK (stream IN (1, 2, 3, 4)),
	ts		INTEGER NOT NULL,
	data		BLOB NOT NULL,
	PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
INSERT INTO job_logs_5 (job_id, seq, stream, ts, data)
	SELECT job_id, seq, stream, ts, data FROM job_logs;
DROP TABLE job_logs;
ALTER TABLE job_logs_5 RENAME TO job_logs;
PRAGMA user_version = 5;
