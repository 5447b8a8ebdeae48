-- Schema version 6 -> 7: a docker runtime whose daemon has not answered
-- since its supervisor started (or since its last probe) is published
-- unprobed (probed = 0, version ''): it exists, so a job naming it gets
-- 503 "unavailable" (come back later) rather than 400 "no such runtime";
-- it is not listed, and it is probed once the daemon answers.
ALTER TABLE runtimes ADD COLUMN probed INTEGER NOT NULL DEFAULT 1;
PRAGMA user_version = 7;
