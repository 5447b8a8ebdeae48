#!/usr/bin/env bats
# Jobs as a user sees them: submit, wait, status, exact output, the
# request forms (command, argv, stdin, env), failures and timeouts,
# listing, validation errors, and isolation between consumers.

bats_require_minimum_version 1.5.0

load ../lib/common

setup_file() {
	stack_start
	new_consumer alice ALICE_KEY
	new_consumer bob BOB_KEY
}

teardown_file() {
	stack_stop
}

setup() {
	export JOBCELL_KEY=$ALICE_KEY
}

@test "submit a command: 201 with the job and a Location header" {
	api POST /v1/jobs '{"command":"echo hi","name":"first"}'
	assert_api_status 201
	run -0 api_header content-type
	assert_output --regexp '^application/json'
	local id
	id=$(json_get .id "$api_body")
	assert_regex "$id" '^[A-Za-z0-9_-]+$'
	run -0 api_header location
	assert_output --regexp "/v1/jobs/$id\$"
	run -0 json_get .name "$api_body"
	assert_output first
	run -0 json_get .status "$api_body"
	assert_output --regexp '^(queued|running|succeeded)$'
	run -0 json_get '.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' "$api_body"
	assert_output true
	# The Location names the same job.
	api GET "/v1/jobs/$id"
	assert_api_status 200
	run -0 json_get .id "$api_body"
	assert_output "$id"
}

@test "a command runs to succeeded and its stdout comes back byte for byte" {
	run_job '{"command":"printf '"'"'h\u00e9llo \u2713 \u65e5\u672c\\nsecond line\\n\\nno newline at the end'"'"'"}'
	run -0 json_get .status "$job"
	assert_output succeeded
	run -0 json_get .exit_code "$job"
	assert_output 0
	run -0 json_get .timed_out "$job"
	assert_output false
	run -0 json_get '[.started_at, .finished_at] | map(type) | join(",")' "$job"
	assert_output string,string
	run -0 json_get '.duration_ms | type' "$job"
	assert_output number

	api GET "/v1/jobs/$job_id/output?stream=stdout"
	assert_api_status 200
	run -0 api_header content-type
	assert_output --regexp '^application/octet-stream'
	printf 'h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\nsecond line\n\nno newline at the end' \
	    >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/want" "$api_body_file"
}

@test "stdout and stderr are kept apart" {
	run_job '{"command":"echo out; echo err >&2; echo out2"}'
	run -0 json_get .status "$job"
	assert_output succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	job_output "$job_id" stderr "$BATS_TEST_TMPDIR/err"
	printf 'out\nout2\n' >"$BATS_TEST_TMPDIR/want-out"
	printf 'err\n' >"$BATS_TEST_TMPDIR/want-err"
	run -0 cmp "$BATS_TEST_TMPDIR/want-out" "$BATS_TEST_TMPDIR/out"
	run -0 cmp "$BATS_TEST_TMPDIR/want-err" "$BATS_TEST_TMPDIR/err"
}

@test "output keeps bytes that are not UTF-8, and NUL" {
	run_job '{"command":"printf '"'"'a\\377\\376b\\000c\\r\\n'"'"'"}'
	run -0 json_get .status "$job"
	assert_output succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	printf 'a\377\376b\000c\r\n' >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "argv runs without a shell" {
	run_job '{"argv":["printf","%s|","a b","$HOME","`id`;x"]}'
	run -0 json_get .status "$job"
	assert_output succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output 'a b|$HOME|`id`;x|'
}

@test "stdin reaches the job; without it the job reads nothing" {
	run_job '{"command":"cat","stdin":"line 1\nline 2 \u00fc\nlast"}'
	run -0 json_get .status "$job"
	assert_output succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	printf 'line 1\nline 2 \xc3\xbc\nlast' >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"

	# No stdin: cat sees end of file at once instead of hanging.
	run_job '{"command":"cat; echo done","timeout":10}' 20
	run -0 json_get .status "$job"
	assert_output succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output done
}

@test "env sets variables for the job" {
	run_job '{"command":"printf \"%s|%s\" \"$GREETING\" \"$OTHER\"","env":{"GREETING":"hello world","OTHER":"x=y"}}'
	run -0 json_get .status "$job"
	assert_output succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output 'hello world|x=y'
}

@test "the job does not inherit the service's environment" {
	# The stack was started from bats: its BATS_* variables are in the
	# services' environment and must not reach the job, nor FastCGI params.
	run_job '{"command":"env"}'
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -1 grep -E '^(BATS_|JOBCELL_(URL|CACERT|DB|KEY|STACK_DIR|CONSUMER|AUTH)=|HTTP_|REQUEST_|DOCUMENT_|QUERY_STRING=|CONTENT_|SCRIPT_NAME=|REMOTE_)' \
	    "$BATS_TEST_TMPDIR/out"
}

@test "a non-zero exit is failed with its exit code" {
	run_job '{"command":"echo before; exit 7"}'
	run -0 json_get .status "$job"
	assert_output failed
	run -0 json_get .exit_code "$job"
	assert_output 7
	run -0 json_get .timed_out "$job"
	assert_output false
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output before
}

@test "a job that ignores TERM past its timeout ends timed_out with 124" {
	local t0=$SECONDS
	run_job '{"command":"sh -c '"'"'trap \"\" TERM; echo started; sleep 60'"'"'","timeout":1}' 30
	run -0 json_get .status "$job"
	assert_output timed_out
	run -0 json_get .exit_code "$job"
	assert_output 124
	run -0 json_get .timed_out "$job"
	assert_output true
	# 1 s timeout + the kill grace + dispatch; far from the 60 s sleep.
	(( SECONDS - t0 < 20 )) || fail "timed out job took $((SECONDS - t0))s to end"
	run -0 json_get '.duration_ms < 20000' "$job"
	assert_output true
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output started
}

@test "GET /v1/jobs lists the caller's jobs, newest first" {
	submit '{"command":"true","name":"older"}'
	local older=$job_id
	submit '{"command":"true","name":"newer"}'
	local newer=$job_id
	api GET '/v1/jobs?limit=200'
	assert_api_status 200
	run -0 json_get '.jobs | type' "$api_body"
	assert_output array
	run -0 json_get 'has("next")' "$api_body"
	assert_output true
	local i_old i_new
	i_old=$(json_get "[.jobs[].id] | index(\"$older\")" "$api_body")
	i_new=$(json_get "[.jobs[].id] | index(\"$newer\")" "$api_body")
	[[ $i_old =~ ^[0-9]+$ && $i_new =~ ^[0-9]+$ ]] ||
		fail "both jobs should be listed: $api_body"
	(( i_new < i_old )) || fail "newest first: $newer at $i_new, $older at $i_old"
	# limit bounds the page.
	api GET '/v1/jobs?limit=1'
	assert_api_status 200
	run -0 json_get '.jobs | length' "$api_body"
	assert_output 1
}

@test "invalid JSON is 400 invalid_json" {
	api POST /v1/jobs '{"command":'
	assert_api_error 400 invalid_json
	api POST /v1/jobs 'not json'
	assert_api_error 400 invalid_json
	api POST /v1/jobs ''
	assert_api_status 400
}

@test "an unknown field is 400 invalid_request naming it" {
	api POST /v1/jobs '{"command":"true","timout":5}'
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial timout
}

@test "a request needs exactly one of command and argv" {
	api POST /v1/jobs '{}'
	assert_api_error 400 invalid_request
	api POST /v1/jobs '{"command":"true","argv":["true"]}'
	assert_api_error 400 invalid_request
	api POST /v1/jobs '{"argv":[]}'
	assert_api_error 400 invalid_request
	api POST /v1/jobs '{"command":42}'
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial command
}

@test "bad field values are 400 invalid_request naming the field" {
	api POST /v1/jobs '{"command":"true","timeout":0}'
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial timeout
	api POST /v1/jobs '{"command":"true","env":{"1BAD":"x"}}'
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial env
}

@test "a refused request leaves no job behind" {
	api GET '/v1/jobs?limit=200'
	assert_api_status 200
	local before
	before=$(json_get '.jobs | length' "$api_body")
	api POST /v1/jobs '{"command":"true","bogus":1}'
	assert_api_status 400
	api GET '/v1/jobs?limit=200'
	run -0 json_get '.jobs | length' "$api_body"
	assert_output "$before"
}

@test "another consumer's job is 404, like one that does not exist" {
	submit '{"command":"echo private"}'
	local alice_job=$job_id
	wait_job "$alice_job"

	export JOBCELL_KEY=$BOB_KEY
	api GET "/v1/jobs/$alice_job"
	assert_api_error 404 not_found
	api GET "/v1/jobs/$alice_job/output?stream=stdout"
	assert_api_error 404 not_found
	api GET "/v1/jobs/$alice_job/logs"
	assert_api_error 404 not_found
	api POST "/v1/jobs/$alice_job/cancel"
	assert_api_error 404 not_found
	api GET '/v1/jobs?limit=200'
	assert_api_status 200
	run -0 json_get "[.jobs[].id] | index(\"$alice_job\")" "$api_body"
	assert_output null

	api GET /v1/jobs/doesnotexist0000000000000
	assert_api_error 404 not_found
}

# _db_status ID: the job's status as the database has it (a disabled
# consumer cannot ask the API).
_db_status() {
	sqlite3 -cmd '.timeout 10000' "$JOBCELL_DB" "SELECT status FROM jobs WHERE id = '$1'"
}

_db_status_is() {
	[[ $(_db_status "$1") == "$2" ]]
}

# _job_procs ID: the cgroup.procs file of the job's (namespace) cell.
_job_procs() {
	local d=/sys/fs/cgroup/pids/jobcell/$1
	[[ -d /sys/fs/cgroup/pids ]] || d=/sys/fs/cgroup/jobcell/$1
	echo "$d/cgroup.procs"
}

@test "a disabled consumer's queued jobs are not started; enabled, they run" {
	new_consumer carol CAROL_KEY
	run -0 jobcell_admin set-quota --name carol --max-concurrent 1
	export JOBCELL_KEY=$CAROL_KEY
	submit '{"command":"sleep 300","timeout":600}'
	local first=$job_id procs i
	wait_for 20 _db_status_is "$first" running || fail "the first job did not start"
	local -a queued=()
	for i in 1 2 3; do
		submit '{"command":"echo queued"}'
		queued+=("$job_id")
	done
	run -0 jobcell_admin disable-consumer --name carol
	api GET /v1/me
	assert_api_error 403 forbidden
	# Its running job keeps its slot (documented): it is still running.
	run -0 _db_status "$first"
	assert_output running
	# End it from the host, as an operator would: kill its cell. Its slot
	# frees at once, and the queued jobs are the oldest work there is.
	procs=$(_job_procs "$first")
	wait_for 10 grep -q . "$procs" || fail "no processes in $procs"
	local -a pids=()
	mapfile -t pids <"$procs"
	for i in "${pids[@]}"; do kill -KILL "$i" 2>/dev/null || true; done
	wait_for 30 _db_status_is "$first" failed || fail "the first job is $(_db_status "$first")"
	# Another consumer's job, submitted after carol's, runs to its end;
	# the fair order would have started carol's older ones first.
	export JOBCELL_KEY=$BOB_KEY
	run_job '{"command":"echo canary"}'
	[[ $(json_get .status "$job") == succeeded ]] || fail "canary: $job"
	for i in "${queued[@]}"; do
		run -0 _db_status "$i"
		assert_output queued
	done
	# Enabled again, they run.
	run -0 jobcell_admin enable-consumer --name carol
	for i in "${queued[@]}"; do
		wait_for 60 _db_status_is "$i" succeeded || fail "job $i is $(_db_status "$i") after enable"
	done
}
