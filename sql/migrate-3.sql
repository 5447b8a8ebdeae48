-- Schema version 2 -> 3: per-consumer counters for the quotas, kept by
-- triggers, so that a submission's quota check reads one row instead of
-- counting the consumer's jobs (which cost O(jobs today) per submission).
ALTER TABLE consumers ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consumers ADD COLUMN day_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consumers ADD COLUMN day_count INTEGER NOT NULL DEFAULT 0;
UPDATE consumers SET
	queued = (SELECT COUNT(*) FROM jobs
		  WHERE consumer_id = consumers.id AND status = 'queued'),
	day_start = CAST(strftime('%s', 'now') AS INTEGER) / 86400 * 86400000,
	day_count = (SELECT COUNT(*) FROM jobs WHERE consumer_id = consumers.id
		     AND created_at >= CAST(strftime('%s', 'now') AS INTEGER)
		     / 86400 * 86400000);
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
PRAGMA user_version = 3;
