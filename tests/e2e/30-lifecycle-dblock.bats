#!/usr/bin/env bats
# The database held locked by another process: writes wait a bounded time,
# then the API answers 503 with Retry-After; reads keep working (WAL
# readers); the running job still ends once the lock is released.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/lifecycle

setup_file() {
	lc_stack_start
	new_consumer alice
}

teardown_file() {
	stack_stop
}

teardown() {
	db_lock_release
}

@test "a locked database: submit answers 503 with Retry-After, reads still work, the running job ends after the lock goes" {
	submit '{"command":"echo before; sleep 2; echo after"}'
	local id=$job_id
	wait_output "$id" before

	db_lock_hold
	local api_pid
	api_pid=$(svc_pid api)
	api POST /v1/jobs '{"command":"echo refused"}'
	assert_api_error 503 unavailable
	run -0 api_header retry-after
	assert_output --regexp '^[0-9]+$'
	# The API answered (not nginx for a crashed API).
	run -0 json_get .error.message "$api_body"
	assert_output --partial busy
	alive "$api_pid" || fail "jobcell-api died"
	# Nothing was stored for the refused submission.
	run -0 db_query "SELECT COUNT(*) FROM jobs WHERE spec LIKE '%refused%'"
	assert_output 0
	# Reads do not wait for the writer.
	api GET "/v1/jobs/$id"
	assert_api_status 200
	api GET "/v1/jobs/$id/logs"
	assert_api_status 200
	api GET /v1/jobs
	assert_api_status 200
	api GET /v1/health
	assert_api_status 200
	db_lock_release

	wait_job "$id" 60
	run -0 json_get .status "$job"
	assert_output succeeded
	job_output "$id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output $'before\nafter'
	run -0 logs_consistent "$id"
	# And submissions are accepted again.
	run_job '{"command":"echo again"}'
	run -0 json_get .status "$job"
	assert_output succeeded
}

@test "a cancel while the database is locked answers 503; once unlocked the cancel goes through" {
	submit '{"command":"echo up; sleep 300"}'
	local id=$job_id
	wait_output "$id" up
	db_lock_hold
	api POST "/v1/jobs/$id/cancel"
	assert_api_error 503 unavailable
	run -0 api_header retry-after
	db_lock_release
	api POST "/v1/jobs/$id/cancel"
	assert_api_status 200
	wait_job "$id"
	run -0 json_get .status "$job"
	assert_output cancelled
}
