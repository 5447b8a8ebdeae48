#!/usr/bin/env bats
# Requests that wait for a job (POST /v1/run, log follows) must not starve
# the API (issue 12, section 2): one consumer's waiters, abandoned or live,
# leave another consumer's requests and /v1/health answered; a client that
# leaves frees its place; each consumer has its own share of waiters and
# of streams, and past it gets 503 at once.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/lifecycle

WAITERS=8	# max_waiters_per_consumer
STREAMS=8	# max_streams_per_consumer

setup_file() {
	lc_stack_start "[api]" "max_waiters_per_consumer = $WAITERS" \
	    "max_streams_per_consumer = $STREAMS"
	new_consumer alice
	new_consumer bob BOB_KEY
}

teardown_file() {
	stack_stop
}

teardown() {
	local p
	for p in ${W_BG_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
	W_BG_PIDS=""
	cancel_all "$JOBCELL_KEY"
	cancel_all "$BOB_KEY"
}

# cancel_all KEY: cancel every unfinished job of that consumer, so the
# next test has the worker slots.
cancel_all() {
	local id
	api --key "$1" GET '/v1/jobs?limit=200' || return 0
	for id in $(json_get '.jobs[] | select(.status == "queued" or .status == "running") | .id' "$api_body"); do
		api --key "$1" POST "/v1/jobs/$id/cancel" || true
	done
}

# run_bg NAME [KEY]: POST /v1/run of a job named NAME that sleeps far
# longer than any test waits, in the background; the reply goes to
# $BATS_TEST_TMPDIR/run.NAME (status in .code). W_PID is curl's pid.
run_bg() {
	local f=$BATS_TEST_TMPDIR/run.$1 key=${2:-$JOBCELL_KEY}
	printf '{"command":"sleep 600","timeout":900,"name":"%s"}' "$1" >"$f.req"
	curl -sS --cacert "$JOBCELL_CACERT" --max-time 900 \
	    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
	    --data-binary "@$f.req" -o "$f" -w '%{http_code}' \
	    "$JOBCELL_URL/v1/run" >"$f.code" 2>"$f.err" 3>&- &
	W_PID=$!
	W_BG_PIDS="${W_BG_PIDS:-} $W_PID"
}

# has_job NAME [KEY]: the consumer has a job named NAME (a request past the
# share is refused before anything is submitted).
has_job() {
	api --key "${2:-$JOBCELL_KEY}" GET '/v1/jobs?limit=200' || return 1
	[[ $(json_get "[.jobs[] | select(.name == \"$1\")] | length" "$api_body") -ge 1 ]]
}

# jobs_named PREFIX: how many of alice's jobs have a name starting so.
jobs_named() {
	api GET '/v1/jobs?limit=200' >/dev/null || { echo 0; return; }
	json_get "[.jobs[] | select(.name | startswith(\"$1\"))] | length" "$api_body"
}

have_jobs() {
	[[ $(jobs_named "$1") == "$2" ]]
}

# accepted_or_refused NAME: the run of NAME was parked (its job exists) or
# refused (curl ended); 0 and W_ACCEPTED=1|0.
accepted_or_refused() {
	if has_job "$1"; then
		W_ACCEPTED=1
		return 0
	fi
	if dead "$W_PID"; then
		W_ACCEPTED=0
		return 0
	fi
	return 1
}

# new_waiter_accepted NAME: a new /v1/run of alice's is parked, not 503.
new_waiter_accepted() {
	run_bg "$1"
	wait_for 30 accepted_or_refused "$1" || return 1
	((W_ACCEPTED))
}

# quick ARGS...: api with a bounded wait: the old code, its threads all
# held by waiters, never answered these while the jobs (600 s) ran.
quick() {
	JOBCELL_TEST_CURL_TIMEOUT=20 api "$@"
}

@test "abandoned and live /v1/run waiters of one consumer leave /v1/health and another consumer answered; abandoned places are freed" {
	local i abandoned=() live=()
	# Six runs whose clients give up (killed below) and two that stay.
	for i in 1 2 3 4 5 6; do
		run_bg "gone-$i"
		abandoned+=("$W_PID")
	done
	for i in 1 2; do
		run_bg "live-$i"
		live+=("$W_PID")
	done
	wait_for 60 have_jobs gone- 6 || fail "the abandoned runs were not all submitted"
	wait_for 60 have_jobs live- 2 || fail "the live runs were not all submitted"

	# Another consumer and health answer while eight waiters wait.
	quick --key "$BOB_KEY" GET /v1/me
	assert_api_status 200
	quick --no-key GET /v1/health
	assert_api_status 200
	# Alice is at her share: one more run is refused at once, unsubmitted.
	quick POST /v1/run '{"command":"true","name":"over-share"}'
	assert_api_error 503 unavailable
	run -0 api_header retry-after
	run has_job over-share
	assert_failure
	# Bob's share is his own.
	run_bg bob-1 "$BOB_KEY"
	wait_for 30 has_job bob-1 "$BOB_KEY" || fail "bob's run was not accepted"

	# The clients of six runs leave: their places come free.
	for i in "${abandoned[@]}"; do
		kill "$i"
	done
	for i in "${abandoned[@]}"; do
		wait_for 10 dead "$i" || fail "curl $i did not end"
	done
	wait_for 30 new_waiter_accepted again-1 || fail "a new run of alice's was refused after her abandoned runs left"
	quick --key "$BOB_KEY" GET /v1/me
	assert_api_status 200

	# A live waiter still gets its answer when its job ends.
	api GET '/v1/jobs?limit=200'
	local live_id
	live_id=$(json_get '.jobs[] | select(.name == "live-1") | .id' "$api_body")
	api POST "/v1/jobs/$live_id/cancel"
	assert_api_status 200
	wait_for 60 dead "${live[0]}" || fail "the live waiter was not answered"
	run -0 cat "$BATS_TEST_TMPDIR/run.live-1.code"
	assert_output 201
	run -0 json_get '[.id, .status] | join(" ")' "$(cat "$BATS_TEST_TMPDIR/run.live-1")"
	assert_output "$live_id cancelled"
}

# follows_ok PREFIX N: N follows PREFIX.1..N have their 200.
follows_ok() {
	local i
	for ((i = 1; i <= $2; i++)); do
		[[ $(http_status "$1.$i.h" 2>/dev/null) == 200 ]] || return 1
	done
}

# follow_as KEY ID FILE: follow_bg with another consumer's key.
follow_as() {
	JOBCELL_KEY=$1 follow_bg "$2" "" "$3"
	W_BG_PIDS="${W_BG_PIDS:-} $LC_FOLLOW_PID"
}

@test "six follows by one consumer do not make another consumer get 503; past its own share a consumer gets 503" {
	local id bob_id i f=$BATS_TEST_TMPDIR/follow
	# Jobs that print: over HTTP/2 nginx sends a stream's headers with its
	# first line.
	submit '{"command":"while :; do echo tick; sleep 1; done","timeout":900}'
	id=$job_id
	for i in 1 2 3 4 5 6; do
		follow_as "$JOBCELL_KEY" "$id" "$f.a.$i"
	done
	wait_for 30 follows_ok "$f.a" 6 || fail "alice's six follows were not all accepted"
	api --key "$BOB_KEY" POST /v1/jobs '{"command":"while :; do echo tock; sleep 1; done","timeout":900}'
	assert_api_status 201
	bob_id=$(json_get .id "$api_body")
	follow_as "$BOB_KEY" "$bob_id" "$f.b.1"
	wait_for 30 follows_ok "$f.b" 1 || fail "bob's follow was not accepted: $(cat "$f.b.1.h" "$f.b.1")"

	# Alice fills her share; the next one is refused, bob's are not.
	for ((i = 7; i <= STREAMS; i++)); do
		follow_as "$JOBCELL_KEY" "$id" "$f.a.$i"
	done
	wait_for 30 follows_ok "$f.a" "$STREAMS" || fail "alice's follows up to her share were not all accepted"
	quick GET "/v1/jobs/$id/logs?follow=1"
	assert_api_error 503 unavailable
	run -0 api_header retry-after
	follow_as "$BOB_KEY" "$bob_id" "$f.b.2"
	wait_for 30 follows_ok "$f.b" 2 || fail "bob's second follow was refused: $(cat "$f.b.2.h" "$f.b.2")"
	quick --no-key GET /v1/health
	assert_api_status 200
}
