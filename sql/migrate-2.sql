-- Schema version 1 -> 2: supervisors say which sandboxes they run now, so
-- /v1/health lists docker only while a worker reaches a docker daemon.
ALTER TABLE supervisors ADD COLUMN sandboxes TEXT NOT NULL DEFAULT 'namespace';
PRAGMA user_version = 2;
