-- Schema version 5 -> 6: images built by consumers (issue 14, DESIGN
-- section 4 "Images"). A job's kind: 'command' (every job so far) or
-- 'image' (a build through the Docker Engine API's build endpoint).
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'command';
-- How many images a consumer may keep (429 quota_exceeded past it).
ALTER TABLE consumers ADD COLUMN max_images INTEGER NOT NULL DEFAULT 10;
-- A consumer's images, <name>:<tag> in the API, jobcell/<consumer id>/
-- <name>:<tag> in the daemon. A row is made with the build's job
-- (image_id NULL until it succeeds; a failed first build deletes it);
-- DELETE and the collector's expiry set deleted, and the supervisor then
-- removes the image from the daemon and the row.
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
-- A docker runtime's image (runtimes.d: sandbox = docker, image = ...).
ALTER TABLE runtimes ADD COLUMN image TEXT;
PRAGMA user_version = 6;
