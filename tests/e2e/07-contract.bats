#!/usr/bin/env bats
# The API contract of DESIGN section 4 through nginx: every error code,
# paging, idempotency, cancel, /v1/run, /v1/me, key rotation and disable,
# and that no consumer can reach another's jobs on any endpoint.

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

# A job of alice's that stays running until cancelled.
long_job() {
	submit '{"command":"sleep 60","timeout":120}'
	wait_for 20 job_running "$job_id" || fail "job $job_id never ran"
}

# jqc FILTER JSON: compact jq output, for comparing several fields at once.
jqc() {
	jq -c "$1" <<<"$2"
}

job_running() {
	api GET "/v1/jobs/$1"
	[[ $(json_get .status "$api_body") == running ]]
}

@test "every error code has the JSON shape and the status of DESIGN" {
	api POST /v1/jobs '{"command":'
	assert_api_error 400 invalid_json
	api POST /v1/jobs '{"command":"true","bogus":1}'
	assert_api_error 400 invalid_request
	api --no-key GET /v1/me
	assert_api_error 401 unauthorized
	api GET /v1/jobs/doesnotexist00000000000000
	assert_api_error 404 not_found
	api DELETE /v1/jobs
	assert_api_error 405 method_not_allowed
	run -0 api_header allow
	assert_output --partial POST
	api -H 'Content-Type: text/plain' POST /v1/jobs 'command=true'
	assert_api_error 415 unsupported_media_type
	head -c 3000000 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/big"
	api POST /v1/jobs "{\"command\":\"$(cat "$BATS_TEST_TMPDIR/big")\"}"
	assert_api_error 413 payload_too_large
	run_job '{"command":"true"}'
	api POST "/v1/jobs/$job_id/cancel"
	assert_api_error 409 conflict
}

@test "a disabled consumer is 403 forbidden, enabled again it works" {
	new_consumer carol CAROL_KEY
	jobcell_admin disable-consumer --name carol
	api --key "$CAROL_KEY" GET /v1/me
	assert_api_error 403 forbidden
	jobcell_admin enable-consumer --name carol
	api --key "$CAROL_KEY" GET /v1/me
	assert_api_status 200
}

@test "a rotated key fails at once and the new one works" {
	new_consumer dave DAVE_KEY
	local old=$DAVE_KEY new
	api --key "$old" GET /v1/me
	assert_api_status 200
	new=$(jobcell_admin rotate-key --name dave --json | jq -er .key)
	api --key "$old" GET /v1/me
	assert_api_error 401 unauthorized
	api --key "$new" GET /v1/me
	assert_api_status 200
	run -0 json_get .name "$api_body"
	assert_output dave
}

@test "malformed keys all get the same 401 body" {
	local first="" k
	for k in "x" "${ALICE_KEY%%.*}" "${ALICE_KEY}x" "${ALICE_KEY:0:17}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	    "../../etc" "${ALICE_KEY//./ }"; do
		api --key "$k" GET /v1/jobs
		assert_api_error 401 unauthorized
		run -0 api_header www-authenticate
		assert_output --partial Bearer
		[[ -z $first ]] && first=$api_body
		assert_equal "$api_body" "$first"
	done
}

@test "GET /v1/me shows limits and usage" {
	new_consumer erin ERIN_KEY
	jobcell_admin set-quota --name erin --max-concurrent 3 --max-per-day 50 --max-queued 7
	api --key "$ERIN_KEY" GET /v1/me
	assert_api_status 200
	run -0 jqc '[.name, .limits.max_concurrent, .limits.max_per_day, .limits.max_queued, .usage.running, .usage.queued, .usage.today]' "$api_body"
	assert_output '["erin",3,50,7,0,0,0]'
	JOBCELL_KEY=$ERIN_KEY run_job '{"command":"true"}'
	api --key "$ERIN_KEY" GET /v1/me
	run -0 json_get .usage.today "$api_body"
	assert_output 1
}

@test "another consumer's job is 404 on every endpoint, like a missing one" {
	submit '{"command":"echo secret"}'
	local id=$job_id missing=00000000000000000000000000
	wait_job "$id"
	local path
	for path in "" /logs /output "/output?stream=stderr" "/logs?follow=1"; do
		api --key "$BOB_KEY" GET "/v1/jobs/$id$path"
		assert_api_error 404 not_found
		local theirs=$api_body
		api --key "$BOB_KEY" GET "/v1/jobs/$missing$path"
		assert_api_error 404 not_found
		assert_equal "$theirs" "$api_body"
	done
	api --key "$BOB_KEY" POST "/v1/jobs/$id/cancel"
	assert_api_error 404 not_found
	api --key "$BOB_KEY" GET /v1/jobs
	run -0 json_get "[.jobs[].id] | index(\"$id\")" "$api_body"
	assert_output null
}

@test "a spoofed consumer header changes nothing" {
	local alice_id
	alice_id=$(consumer_id alice)
	api --no-key -H "X-Jobcell-Consumer: $alice_id" -H "JOBCELL_CONSUMER: $alice_id" GET /v1/jobs
	assert_api_error 401 unauthorized
	api --key "$BOB_KEY" -H "X-Jobcell-Consumer: $alice_id" -H "Jobcell-Consumer: $alice_id" GET /v1/me
	assert_api_status 200
	run -0 json_get .name "$api_body"
	assert_output bob
}

@test "listing pages newest first with limit, before and status" {
	new_consumer frank FRANK_KEY
	export JOBCELL_KEY=$FRANK_KEY
	local ids=() i
	for i in 1 2 3 4 5; do
		submit "{\"command\":\"exit $((i % 2))\"}"
		ids+=("$job_id")
	done
	for i in "${ids[@]}"; do wait_job "$i"; done
	api GET '/v1/jobs?limit=2'
	assert_api_status 200
	run -0 jqc '[.jobs[].id]' "$api_body"
	assert_output "[\"${ids[4]}\",\"${ids[3]}\"]"
	run -0 json_get .next "$api_body"
	assert_output "${ids[3]}"
	api GET "/v1/jobs?limit=2&before=${ids[3]}"
	run -0 jqc '[.jobs[].id]' "$api_body"
	assert_output "[\"${ids[2]}\",\"${ids[1]}\"]"
	api GET "/v1/jobs?limit=2&before=${ids[1]}"
	run -0 jqc '[.jobs[].id, .next]' "$api_body"
	assert_output "[\"${ids[0]}\",null]"
	api GET '/v1/jobs?status=failed'
	run -0 jqc '[.jobs[].id]' "$api_body"
	assert_output "[\"${ids[4]}\",\"${ids[2]}\",\"${ids[0]}\"]"
	for q in limit=0 limit=201 limit=x status=done before=../x; do
		api GET "/v1/jobs?$q"
		assert_api_error 400 invalid_request
	done
}

@test "Idempotency-Key: a repeat returns the first job with 200" {
	api -H 'Idempotency-Key: build-42' POST /v1/jobs '{"command":"echo once"}'
	assert_api_status 201
	local first
	first=$(json_get .id "$api_body")
	api -H 'Idempotency-Key: build-42' POST /v1/jobs '{"command":"echo twice"}'
	assert_api_status 200
	run -0 json_get .id "$api_body"
	assert_output "$first"
	# Keys are per consumer.
	api --key "$BOB_KEY" -H 'Idempotency-Key: build-42' POST /v1/jobs '{"command":"true"}'
	assert_api_status 201
	api -H 'Idempotency-Key: has space' POST /v1/jobs '{"command":"true"}'
	assert_api_error 400 invalid_request
	wait_job "$first"
	run -0 sqlite3 "$JOBCELL_DB" "SELECT COUNT(*) FROM jobs WHERE idempotency_key = 'build-42'"
	assert_output 2
}

@test "cancel: a queued job at once, a running job through its worker" {
	new_consumer gina GINA_KEY
	jobcell_admin set-quota --name gina --max-concurrent 1
	export JOBCELL_KEY=$GINA_KEY
	long_job
	local running=$job_id
	submit '{"command":"echo never"}'
	local queued=$job_id
	api GET "/v1/jobs/$queued"
	run -0 json_get .status "$api_body"
	assert_output queued
	api POST "/v1/jobs/$queued/cancel"
	assert_api_status 200
	run -0 json_get .status "$api_body"
	assert_output cancelled
	api POST "/v1/jobs/$running/cancel"
	assert_api_status 200
	wait_job "$running" 20
	run -0 json_get .status "$job"
	assert_output cancelled
	api GET "/v1/jobs/$queued/output"
	assert_equal "$api_body" ""
}

@test "POST /v1/run waits and returns the job with its output" {
	api POST /v1/run '{"command":"printf out; printf err >&2; exit 4"}'
	assert_api_status 201
	run -0 jqc '[.status, .exit_code, .stdout, .stderr, .stdout_truncated]' "$api_body"
	assert_output '["failed",4,"out","err",false]'
	api POST /v1/run '{"command":"true","nope":1}'
	assert_api_error 400 invalid_request
}

@test "POST /v1/run with output past its cap: the first MiB exactly, characters whole, the flag set" {
	# 1.5 MB of two-byte characters, stored in many chunks: the reply is
	# written chunk by chunk, and no character may break at a chunk edge.
	api POST /v1/run '{"command":"yes \"h\u00e9llo w\u00f6rld\" | head -c 1500000; printf e >&2"}'
	assert_api_status 201
	run -0 jqc '[.status, .stdout_truncated, .stderr, .stderr_truncated]' "$api_body"
	assert_output '["succeeded",true,"e",false]'
	jq -j .stdout "$api_body_file" >"$BATS_TEST_TMPDIR/got"
	yes 'héllo wörld' | head -c 1048576 >"$BATS_TEST_TMPDIR/want"
	# The cap may cut the last character: compare all but its bytes.
	run -0 cmp -n 1048570 "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	run -0 bash -c "head -n -1 '$BATS_TEST_TMPDIR/got' | grep -vx 'héllo wörld' | wc -l"
	assert_output 0
}

@test "max_concurrent: a consumer's jobs run one after another" {
	new_consumer hank HANK_KEY
	jobcell_admin set-quota --name hank --max-concurrent 1
	export JOBCELL_KEY=$HANK_KEY
	local ids=() i
	for i in 1 2 3; do
		submit '{"command":"sleep 0.3"}'
		ids+=("$job_id")
	done
	for i in "${ids[@]}"; do wait_job "$i"; done
	# Each started only after the one before it finished.
	run -0 sqlite3 "$JOBCELL_DB" "SELECT COUNT(*) FROM jobs a JOIN jobs b ON a.consumer_id = b.consumer_id AND a.id < b.id WHERE a.consumer_id = $(consumer_id hank) AND b.started_at < a.finished_at"
	assert_output 0
}

@test "max_queued: past it, 429 quota_exceeded with Retry-After" {
	new_consumer ivan IVAN_KEY
	jobcell_admin set-quota --name ivan --max-concurrent 1 --max-queued 2
	export JOBCELL_KEY=$IVAN_KEY
	long_job
	local running=$job_id
	submit '{"command":"true"}'
	local q1=$job_id
	submit '{"command":"true"}'
	api POST /v1/jobs '{"command":"true"}'
	assert_api_error 429 quota_exceeded
	run -0 api_header retry-after
	assert_output --regexp '^[0-9]+$'
	api POST "/v1/jobs/$q1/cancel"
	assert_api_status 200
	submit '{"command":"true"}'
	api POST "/v1/jobs/$running/cancel"
}

@test "max_per_day: 50 parallel submissions against a quota of 5 accept exactly 5" {
	new_consumer judy JUDY_KEY
	jobcell_admin set-quota --name judy --max-per-day 5
	local i
	for i in $(seq 1 50); do
		curl -s -o /dev/null -w '%{http_code}\n' --cacert "$JOBCELL_CACERT" \
		    -H "Authorization: Bearer $JUDY_KEY" -H 'Content-Type: application/json' \
		    --data-binary '{"command":"true"}' "$JOBCELL_URL/v1/jobs" \
		    >"$BATS_TEST_TMPDIR/code.$i" &
	done
	wait
	run -0 bash -c "cat '$BATS_TEST_TMPDIR'/code.* | sort | uniq -c | awk '{print \$2\"x\"\$1}' | tr '\n' ' '"
	assert_output '201x5 429x45 '
	run -0 sqlite3 "$JOBCELL_DB" "SELECT COUNT(*) FROM jobs WHERE consumer_id = $(consumer_id judy)"
	assert_output 5
}

@test "fair dispatch: one consumer's backlog does not hold up another's job" {
	new_consumer kim KIM_KEY
	new_consumer lee LEE_KEY
	jobcell_admin set-quota --name kim --max-concurrent 2
	local i ids=()
	for i in $(seq 1 8); do
		JOBCELL_KEY=$KIM_KEY submit '{"command":"sleep 2"}'
		ids+=("$job_id")
	done
	JOBCELL_KEY=$LEE_KEY submit '{"command":"true"}'
	local lee=$job_id
	JOBCELL_KEY=$LEE_KEY wait_job "$lee"
	# Both slots may be busy with kim's jobs when lee's arrives; the next
	# free slot goes to lee, not to the rest of kim's backlog: no job of
	# kim's was claimed between lee's submission and lee's start. (The
	# API stamps created_at while holding the write lock, and a claim
	# stamped later must wait for that lock, so it sees lee's job.)
	run -0 sqlite3 "$JOBCELL_DB" "SELECT COUNT(*) FROM jobs k, jobs l WHERE l.id = '$lee' AND k.consumer_id = $(consumer_id kim) AND k.started_at > l.created_at AND k.started_at < l.started_at"
	assert_output 0
	run -0 sqlite3 "$JOBCELL_DB" "SELECT COUNT(*) FROM jobs WHERE consumer_id = $(consumer_id kim) AND status = 'queued'"
	(( output > 0 )) || fail "kim's backlog was gone before lee's job ran: the case proves nothing"
	for i in "${ids[@]}"; do
		JOBCELL_KEY=$KIM_KEY api POST "/v1/jobs/$i/cancel"
	done
	for i in "${ids[@]}"; do JOBCELL_KEY=$KIM_KEY wait_job "$i"; done
}

@test "repeated failed authentication is throttled with 429" {
	local i codes
	local -a urls=()
	for i in $(seq 1 60); do
		urls+=(-o /dev/null "$JOBCELL_URL/v1/me")
	done
	# One curl, requests in parallel over HTTP/2: a burst far above the
	# 5/s allowance however slow the machine is.
	codes=$(curl -s -Z --parallel-max 60 -w '%{http_code} ' --cacert "$JOBCELL_CACERT" \
	    -H 'Authorization: Bearer wrong' "${urls[@]}")
	[[ $codes == *429* ]] || fail "60 failed authentications were never throttled: $codes"
	[[ $codes == *401* ]] || fail "no failure got its 401 before the throttle: $codes"
	# A valid key is not throttled meanwhile.
	api GET /v1/me
	assert_api_status 200
	# The 429 has the JSON error shape and says when to retry.
	api --key wrong GET /v1/me
	if [[ $api_status == 429 ]]; then
		assert_api_error 429 quota_exceeded
		run -0 api_header retry-after
	fi
}
